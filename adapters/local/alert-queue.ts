// The local stand-in for the alerts Pub/Sub topic and its pushing function: a second instance of the
// durable local bus (<dataDir>/alerts.mdb, its own archive beside it), one message per alert, and a
// worker that delivers each with pipeline/alerts/delivery.ts. A failed attempt is nacked with the
// backoff delay, so the bus holds the alert until its next attempt; delivered or finally failed
// alerts are acked. A crash at any point leaves the message unacked: it is delivered again, and the
// delivery record stops a second send of an alert that already went out.
import { LocalArchive } from './archive.js';
import { LocalBus } from './bus.js';
import { createWebhookPost, deliverAlert, type DeliveryOutcome, type HttpPost } from '../../pipeline/alerts/delivery.js';
import { LOCAL_WEBHOOKS } from '../../pipeline/alerts/webhook-url.js';
import type { AlertQueue } from '../../pipeline/alerts/evaluate.js';
import type { AlertPayload } from '../../pipeline/alerts/state.js';
import type { AlertStore } from '../../pipeline/alerts/store.js';
import { systemClock, type Clock, type Logger } from '../../pipeline/ports.js';

export class LocalAlertQueue implements AlertQueue {
  /** The local runtime's webhooks: a receiver on this machine is allowed too (pipeline/alerts/webhook-url.ts). */
  private readonly post = createWebhookPost(LOCAL_WEBHOOKS);

  private constructor(
    readonly bus: LocalBus,
    private readonly archive: LocalArchive,
    private readonly clock: Clock,
  ) {}

  /** `path`: the bus file (e.g. <dataDir>/alerts.mdb); `timer`: the bus's real-time clock for retry delays. */
  static async open(opts: { path: string; clock?: Clock; timer?: () => number }): Promise<LocalAlertQueue> {
    const archive = new LocalArchive(`${opts.path}-archive`);
    try {
      const bus = await LocalBus.open({ path: opts.path, archive, ...(opts.timer ? { timer: opts.timer } : {}) });
      return new LocalAlertQueue(bus, archive, opts.clock ?? systemClock);
    } catch (err) {
      await archive.close();
      throw err;
    }
  }

  async enqueue(payloads: AlertPayload[]): Promise<void> {
    if (payloads.length === 0) return;
    const receivedAt = this.clock.now();
    await this.bus.publish(payloads.map((p) => ({ receivedAt, attributes: { source: 'server' }, entries: [JSON.stringify(p)] })));
  }

  /**
   * Delivers every alert that is due now (one pass over the available messages); returns the
   * outcomes. The local server calls it in a loop; tests call it with their own clock and timer.
   */
  async deliverDue(deps: { alerts: AlertStore; clock?: Clock; post?: HttpPost; logger?: Logger }): Promise<DeliveryOutcome[]> {
    const outcomes: DeliveryOutcome[] = [];
    for (let batch = await this.bus.receive(16); batch.length > 0; batch = await this.bus.receive(16)) {
      for (const msg of batch) {
        try {
          const payload = JSON.parse(msg.entries[0]!) as AlertPayload;
          const outcome = await deliverAlert({ alerts: deps.alerts, clock: deps.clock ?? this.clock, post: deps.post ?? this.post }, payload);
          outcomes.push(outcome);
          if (outcome.kind === 'retry') {
            deps.logger?.warn({ alert_id: payload.id, attempts: outcome.attempts, error: outcome.error }, 'alert webhook failed; retrying');
            this.bus.nack(msg.id, { delayMs: outcome.delayMs });
          } else if (outcome.kind === 'not_due') {
            this.bus.nack(msg.id, { delayMs: outcome.inMs });
          } else {
            await this.bus.ack(msg.id);
          }
        } catch (err) {
          // The store itself failed: give the message back to try again shortly.
          deps.logger?.error({ err: (err as Error).message, message_id: msg.id }, 'alert delivery failed');
          this.bus.nack(msg.id, { delayMs: 5_000 });
        }
      }
    }
    return outcomes;
  }

  /** Runs deliverDue whenever a message becomes due, until the signal aborts. */
  async run(deps: { alerts: AlertStore; logger?: Logger; signal: AbortSignal }): Promise<void> {
    while (!deps.signal.aborted) {
      await this.deliverDue(deps);
      const wait = this.bus.nextAvailableInMs();
      await this.bus.waitForWork(Math.min(wait ?? 60_000, 60_000));
    }
  }

  async close(): Promise<void> {
    await this.bus.close();
    await this.archive.close();
  }
}
