// The ingest stage as every runtime runs it: validation, dedupe and the raw sink, wrapped by the speed
// layer that writes each message's partial aggregates before the message may be acknowledged. Typed
// once here; the local writer, the ingestEvents function, reprocessing on either runtime and the
// benchmarks all take it from this function and differ only in the ports they pass.
import type { Dimensions } from '../pipeline/contracts/dimensions.js';
import { createIngestStage, type IngestConfig, type IngestStage } from '../pipeline/ingest/stage.js';
import type { Clock, DedupeIndex, IngestJournal, Logger, RawSink, SeriesStore } from '../pipeline/ports.js';
import { DEFAULT_MAX_ATTEMPTS } from '../pipeline/runner/consume.js';
import { createPartialWriter, type PartialWriterOptions } from '../pipeline/speed/writer.js';
import { withSpeedLayer } from '../pipeline/speed/writer.js';

export interface IngestPorts {
  dimensions: () => Promise<Dimensions>;
  dedupe: DedupeIndex;
  sink: RawSink;
  /** Records each part a multi-table sink stored, so a redelivery resumes (the gcp sink writes table by table). */
  journal?: IngestJournal;
  /** The speed layer's store; without one the stage runs bare (benchmarks compare the two). */
  series?: SeriesStore;
  clock: Clock;
  logger?: Logger;
}

export interface IngestPipelineConfig {
  ingest?: Partial<IngestConfig>;
  /** The delivery attempt that is the last: there a failed partial write is given up, not retried. */
  maxAttempts?: number;
  /** Options of the speed layer's writer other than its store and clock. */
  speed?: Omit<PartialWriterOptions, 'series' | 'clock'>;
}

export function createIngestPipeline(ports: IngestPorts, config: IngestPipelineConfig = {}): IngestStage {
  const stage = createIngestStage({
    dimensions: ports.dimensions,
    dedupe: ports.dedupe,
    sink: ports.sink,
    clock: ports.clock,
    ...(ports.journal ? { journal: ports.journal } : {}),
    ...(config.ingest ? { config: config.ingest } : {}),
  });
  if (!ports.series) return stage;
  return withSpeedLayer(stage, createPartialWriter({ ...config.speed, series: ports.series, clock: ports.clock }), {
    maxAttempts: config.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    ...(ports.logger ? { logger: ports.logger } : {}),
  });
}
