// What the speed layer costs ingest: the demo mix through the local runtime's ingest stage (DuckDB
// raw tables and dedupe index) without and with the speed layer (partials to the LMDB series store,
// compaction included), in the same process, rounds alternating, each on a fresh data directory.
// Usage: npx tsx bench/speed-layer.ts [--events 10000]; prints the result as JSON.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA_FILES, openLocalRuntime } from '../runtime/local-stores.js';
import { openLmdbSeriesStore } from '../adapters/local/series-store.js';
import { createPartialWriter } from '../pipeline/speed/writer.js';
import { createIngestPipeline } from '../runtime/ingest-pipeline.js';
import { toDuckDb } from '../pipeline/sql/dialect.js';
import { median } from './result.js';
import { ANCHOR, benchWorkload, stageWrites, type BenchWorkload } from './workload.js';

export interface SpeedLayerCost {
  events: number;
  /** Median events per second over the rounds. */
  without_speed_layer_per_s: number;
  with_speed_layer_per_s: number;
  /** (without − with) / without, percent. */
  cost_pct: number;
  /** The partial writer alone (partials, conditional writes, compaction) over the stage's writes, events per second. */
  speed_layer_alone_per_s: number;
  rounds: number;
}

/** The speed layer's own work over the writes the stage makes of the workload, on a fresh LMDB store. */
async function writerOnly(w: BenchWorkload): Promise<number> {
  const writes = await stageWrites(w);
  const dir = await mkdtemp(join(tmpdir(), 'bench-speed-writer-'));
  const series = openLmdbSeriesStore({ path: join(dir, 'series') });
  try {
    const writer = createPartialWriter({ series, finalizedThrough: async () => null });
    const t0 = performance.now();
    for (let i = 0; i < writes.length; i++) await writer.write(w.messages[i]!.id, writes[i]!);
    return w.entries / ((performance.now() - t0) / 1000);
  } finally {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function oneRound(w: BenchWorkload, speed: boolean): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-speed-'));
  const clock = { now: () => ANCHOR };
  const stores = await openLocalRuntime({ path: dir, command: 'bench', clock, translate: toDuckDb });
  const series = openLmdbSeriesStore({ path: stores.dataDir.file(DATA_FILES.series) });
  try {
    await stores.dimensions.load(w.dimensionsFile);
    const stage = createIngestPipeline(
      { dimensions: () => stores.dimensions.get(), dedupe: stores.warehouse, sink: stores.warehouse, clock, ...(speed ? { series } : {}) },
      { speed: { finalizedThrough: async () => null } },
    );
    const t0 = performance.now();
    let entries = 0;
    for (const m of w.messages) entries += (await stage(m)).entries;
    const rate = entries / ((performance.now() - t0) / 1000);
    if (entries !== w.entries) throw new Error('the stage lost entries');
    return rate;
  } finally {
    await series.close();
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measureSpeedLayerCost(opts: { events?: number; rounds?: number; log?: (s: string) => void } = {}): Promise<SpeedLayerCost> {
  const w = benchWorkload({ events: opts.events ?? 10_000, merchants: 0, seed: 'speed-layer' });
  const rounds = opts.rounds ?? 5;
  const without: number[] = [];
  const withSpeed: number[] = [];
  const alone: number[] = [];
  // One warm-up round of each, then alternating rounds so drift affects both alike.
  for (let r = -1; r < rounds; r++) {
    const a = await oneRound(w, false);
    const b = await oneRound(w, true);
    const c = await writerOnly(w);
    opts.log?.(`round ${r}: without ${a.toFixed(0)}/s, with ${b.toFixed(0)}/s, speed layer alone ${c.toFixed(0)}/s`);
    if (r < 0) continue;
    without.push(a);
    withSpeed.push(b);
    alone.push(c);
  }
  const wo = median(without);
  const wi = median(withSpeed);
  return { events: w.entries, without_speed_layer_per_s: Math.round(wo), with_speed_layer_per_s: Math.round(wi), cost_pct: Math.round(((wo - wi) / wo) * 1000) / 10, speed_layer_alone_per_s: Math.round(median(alone)), rounds };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } } });
  const result = await measureSpeedLayerCost({ events: Number(values.events), rounds: Number(values.rounds), log: (s) => process.stderr.write(s + '\n') });
  process.stdout.write(JSON.stringify(result) + '\n');
}
