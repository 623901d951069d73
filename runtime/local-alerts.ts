// Alerts in the local runtime: the evaluator wired to the warehouse and series store, the durable
// alert queue in the data directory (<dataDir>/alerts.mdb), and, while `tillstream start` serves, the
// delivery worker and the 15-minute schedule of feed-silence and freshness rules. The mart cycle calls
// `onFinalized` after each run (pipeline/marts/hourly.ts), which evaluates the hours it finalized.
import { LocalAlertQueue } from '../adapters/local/alert-queue.js';
import { evaluateScheduledAlerts, martAlertHook, type EvaluationSummary } from '../pipeline/alerts/evaluate.js';
import { createAlertStore, type AlertStore } from '../pipeline/alerts/store.js';
import type { Clock, Logger, SeriesStore, Warehouse } from '../pipeline/ports.js';

export const ALERTS_FILE = 'alerts.mdb';
/** Feed silence and freshness are evaluated every 15 minutes, the POS batch interval. */
export const SCHEDULED_EVERY_MS = 15 * 60_000;

export interface LocalAlerts {
  store: AlertStore;
  queue: LocalAlertQueue;
  onFinalized(finalizedThrough: Date): Promise<EvaluationSummary>;
  evaluateScheduled(asOf: Date): Promise<EvaluationSummary>;
  /** Delivers queued alerts and runs the scheduled rules until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export async function openLocalAlerts(deps: { path: string; warehouse: Warehouse; series: SeriesStore; clock: Clock; logger?: Logger }): Promise<LocalAlerts> {
  const queue = await LocalAlertQueue.open({ path: deps.path, clock: deps.clock });
  const store = createAlertStore(deps.series);
  const evalDeps = { warehouse: deps.warehouse, alerts: store, queue, logger: deps.logger };
  const hook = martAlertHook({ ...evalDeps, series: deps.series });
  const evaluateScheduled = (asOf: Date) => evaluateScheduledAlerts(evalDeps, asOf);
  return {
    store,
    queue,
    onFinalized: hook,
    evaluateScheduled,
    async run(signal) {
      const ticks = (async () => {
        while (!signal.aborted) {
          // On the quarter hour, as the gcp scheduler job; the tick time is the evaluation instant.
          const now = deps.clock.now().getTime();
          const next = Math.ceil((now + 1) / SCHEDULED_EVERY_MS) * SCHEDULED_EVERY_MS;
          const fired = await new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(true), next - now);
            signal.addEventListener('abort', () => { clearTimeout(t); resolve(false); }, { once: true });
          });
          if (!fired) return;
          await evaluateScheduled(new Date(next)).catch((err: unknown) => deps.logger?.error({ err: String(err) }, 'scheduled alert evaluation failed'));
        }
      })();
      await Promise.all([ticks, queue.run({ alerts: store, logger: deps.logger, signal })]);
    },
    close: () => queue.close(),
  };
}
