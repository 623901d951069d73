// The benchmark workload: the demo event mix (demo/generator.ts) cut into bus messages, and the rows
// the ingest stage makes of it. Every section measures against these same payloads and rows.
import { generateWorkload } from '../demo/generator.js';
import { resolveDimensions, type Dimensions } from '../pipeline/contracts/dimensions.js';
import { batchEntries } from '../pipeline/ingest/entries.js';
import { createIngestPipeline } from '../runtime/ingest-pipeline.js';
import type { InboundMessage, IngestWrite } from '../pipeline/ports.js';
import type { DimensionsFile } from '../pipeline/contracts/dimensions.js';
import { InMemoryDedupeIndex } from '../test/support/in-memory-dedupe-index.js';
import { InMemoryRawSink } from '../test/support/in-memory-raw-sink.js';

/** Received-at of every message: the generator's anchor, so its age rules give the manifest's outcomes. */
export const ANCHOR = new Date('2026-11-21T12:00:00Z');
/** Days the generator simulates before the anchor. */
export const SPAN_DAYS = 6;

export interface BenchWorkload {
  dimensionsFile: DimensionsFile;
  dimensions: Dimensions;
  messages: InboundMessage[];
  entries: number;
}

export function benchWorkload(opts: { events: number; merchants: number; seed?: string }): BenchWorkload {
  const w = generateWorkload({ events: opts.events, merchants: opts.merchants, seed: opts.seed ?? 'bench', anchor: ANCHOR, days: SPAN_DAYS });
  const messages = batchEntries(w.entries).map(
    (entries, i): InboundMessage => ({ id: `bench-${String(i).padStart(6, '0')}`, receivedAt: ANCHOR, attributes: { source: 'server' }, entries, deliveryAttempt: 1 }),
  );
  return { dimensionsFile: w.dimensions, dimensions: resolveDimensions(w.dimensions), messages, entries: w.entries.length };
}

/** The stage core over in-memory ports: only decoding, validation, normalization and row building cost. */
export function memoryStage(dimensions: Dimensions) {
  const sink = new InMemoryRawSink();
  const writes: IngestWrite[] = [];
  const stage = createIngestPipeline({
    dimensions: async () => dimensions,
    dedupe: new InMemoryDedupeIndex(),
    sink: { write: async (w) => { writes.push(w); await sink.write(w); } },
    clock: { now: () => ANCHOR },
  });
  return { stage, sink, writes };
}

/** The writes the stage makes of the workload, one per message. */
export async function stageWrites(w: BenchWorkload): Promise<IngestWrite[]> {
  const { stage, writes } = memoryStage(w.dimensions);
  for (const m of w.messages) await stage(m);
  return writes;
}
