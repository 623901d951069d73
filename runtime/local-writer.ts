// The local writer: the stores of the data directory (runtime/local-stores.ts) wired to the ingest
// pipeline and the bus runner. `tillstream start` holds one for its lifetime; the other commands open
// one for a single run when no `tillstream start` is running (and otherwise go through it, see
// services/local-command.ts). Readers that must not take the writer lock use runtime/local-reader.ts.
import { ALERTS_FILE, openLocalAlerts, type LocalAlerts } from './local-alerts.js';
import { randomUUID } from 'node:crypto';
import { DATA_FILES, openLocalRuntime as openLocalStores, type LocalRuntime as LocalStores } from './local-stores.js';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../adapters/local/series-store.js';
import type { EntryCounts } from '../pipeline/contracts/outcomes.js';
import { processingFailedWrite, type IngestConfig, type IngestStage } from '../pipeline/ingest/stage.js';
import { systemClock, type Clock, type Logger } from '../pipeline/ports.js';
import { createRunner, DEFAULT_MAX_ATTEMPTS, type Runner } from '../pipeline/runner/consume.js';
import { toDuckDb } from '../pipeline/sql/dialect.js';
import { createIngestPipeline } from './ingest-pipeline.js';

/** The local stores plus the series store, the ingest stage and the bus runner wired to them. */
export interface LocalPipeline extends LocalStores {
  /** The run of the process that opened the pipeline. */
  readonly runId: string;
  readonly clock: Clock;
  readonly series: LmdbSeriesStore;
  readonly stage: IngestStage;
  readonly runner: Runner;
  /** Alert evaluation and delivery (runtime/local-alerts.ts). */
  readonly alerts: LocalAlerts;
  /** The mart cycle's hook (pipeline/marts/hourly.ts): evaluates alerts over the hours a run finalized. */
  readonly onFinalized: (finalizedThrough: Date) => Promise<unknown>;
  /** A fresh run id: each command's entries are counted apart, even through a running server. */
  newRunId(): string;
  /** Counts of one run's entries: published where they entered, the rest from the stores. */
  runCounts(runId: string): Promise<EntryCounts>;
}

export interface OpenLocalPipelineOptions {
  dataDir?: string;
  command: string;
  clock?: Clock;
  logger?: Logger;
  ingest?: Partial<IngestConfig>;
  maxAttempts?: number;
}

export async function openLocalPipeline(opts: OpenLocalPipelineOptions): Promise<LocalPipeline> {
  const clock = opts.clock ?? systemClock;
  const stores = await openLocalStores({ path: opts.dataDir, command: opts.command, clock, translate: toDuckDb });
  let series: LmdbSeriesStore;
  try {
    series = openLmdbSeriesStore({ path: stores.dataDir.file(DATA_FILES.series) });
  } catch (err) {
    await stores.close();
    throw err;
  }
  const { bus, warehouse, dimensions } = stores;
  let alerts: LocalAlerts;
  try {
    alerts = await openLocalAlerts({ path: stores.dataDir.file(ALERTS_FILE), warehouse, series, clock, logger: opts.logger });
  } catch (err) {
    await series.close();
    await stores.close();
    throw err;
  }
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const stage = createIngestPipeline(
    { dimensions: () => dimensions.get(), dedupe: warehouse, sink: warehouse, series, clock, logger: opts.logger },
    { ingest: opts.ingest, maxAttempts },
  );
  const runner = createRunner({
    bus,
    stage,
    sink: warehouse,
    processingFailedWrite: (msg, error, now) => processingFailedWrite(msg, error, now, opts.ingest),
    clock,
    maxAttempts,
    logger: opts.logger,
  });
  const newRunId = () => `run_${clock.now().toISOString().replace(/[-:.]/g, '')}_${randomUUID().slice(0, 8)}`;
  return {
    ...stores,
    runId: newRunId(),
    clock,
    series,
    stage,
    runner,
    alerts,
    onFinalized: (finalizedThrough) => alerts.onFinalized(finalizedThrough),
    newRunId,
    async runCounts(runId) {
      const published = bus.publishedEntries({ runId });
      const stored = await warehouse.entryCounts({ messageIds: bus.runMessageIds(runId) });
      return { published, ...stored };
    },
    async close() {
      await alerts.close();
      await series.close();
      await stores.close();
    },
  };
}
