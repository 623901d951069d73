// The speed layer's writer alone over a `start --once`-shaped workload: the demo mix cut into messages as
// `start` publishes it (each POS batch its own messages, everything else 500-entry collector bodies),
// the stage's writes made in memory first, then written to a fresh LMDB series store the way the runner
// hands them over (a runner batch's messages concurrently, so the store group-commits them). Reports the
// process CPU and wall seconds of the write phase alone, the store's rows and file size afterwards.
// Usage: npx tsx bench/speed-writer.ts [--events 250000] [--days 1.5] [--rounds 3] [--store a.ts,b.ts]
//   [--compact-every N]
// `--store` names modules exporting openLmdbSeriesStore (relative to bench/), measured in alternation.
// `--days` keeps the events per hour of a larger run: 250,000 events over 1.5 days are the hourly density
// of `once_1m` (a million over the generator's default 6 days).
import { statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSteps, demoDimensions } from '../demo/generator.js';
import { resolveDimensions } from '../pipeline/contracts/dimensions.js';
import { batchEntries, DEFAULT_BATCH_LIMITS } from '../pipeline/ingest/entries.js';
import type { InboundMessage, IngestWrite } from '../pipeline/ports.js';
import { createPartialWriter, type PartialWriterOptions } from '../pipeline/speed/writer.js';
import type { LmdbSeriesStore } from '../adapters/local/series-store.js';
import { memoryStage } from './workload.js';

const ANCHOR = new Date('2026-11-21T12:00:00Z');
const SEED = 'tillstream-demo';
/** The runner's batch (pipeline/runner/consume.ts): messages up to this many entries are handled at once. */
const RUNNER_BATCH_ENTRIES = 16_384;

export interface OnceShapedWrites {
  messages: { id: string; entries: number; write: IngestWrite }[];
}

/** The stage's writes of the demo, cut into messages as `start` publishes it (cli/commands/start.ts publishDemo). */
export async function onceShapedWrites(events: number, days: number): Promise<OnceShapedWrites> {
  const dimensions = resolveDimensions(demoDimensions(SEED));
  const { stage } = memoryStage(dimensions);
  const cut: string[][] = [];
  let body: string[] = [];
  let pos: string[] = [];
  let posLeft = 0;
  const endBody = () => {
    cut.push(...batchEntries(body));
    body = [];
  };
  const steps = generateSteps({ events, seed: SEED, anchor: ANCHOR, days }, {
    entry(line) {
      if (posLeft > 0) {
        pos.push(line);
        if (--posLeft === 0) {
          cut.push(...batchEntries(pos));
          pos = [];
        }
        return;
      }
      body.push(line);
      if (body.length >= DEFAULT_BATCH_LIMITS.maxEntries) endBody();
    },
    posBatch(b) {
      posLeft = b.count;
    },
  });
  while (!steps.next().done);
  endBody();
  const messages: OnceShapedWrites['messages'] = [];
  for (let i = 0; i < cut.length; i++) {
    const msg: InboundMessage = { id: `once-${String(i).padStart(6, '0')}`, receivedAt: ANCHOR, attributes: { source: 'server' }, entries: cut[i]!, deliveryAttempt: 1 };
    const r = await stage(msg);
    messages.push({ id: msg.id, entries: cut[i]!.length, write: r.write });
  }
  return { messages };
}

export interface WriterRound {
  store: string;
  cpu_s: number;
  wall_s: number;
  rows: number;
  /** Bytes of the store's files afterwards: LMDB keeps the high-water mark of its pages, so larger rows rewritten grow it. */
  file_mb: number;
}

/** One round of the writer over the messages on a fresh store opened by `open`. */
export async function writerRound(w: OnceShapedWrites, open: (path: string) => LmdbSeriesStore, label: string, compaction: Pick<PartialWriterOptions, 'compactEvery'> = {}): Promise<WriterRound> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-speed-writer-'));
  const series = open(join(dir, 'series'));
  let closed = false;
  try {
    const writer = createPartialWriter({ series, finalizedThrough: async () => null, ...compaction });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < w.messages.length; ) {
      const batch: OnceShapedWrites['messages'] = [];
      for (let n = 0; i < w.messages.length && n + w.messages[i]!.entries <= RUNNER_BATCH_ENTRIES; i++) {
        n += w.messages[i]!.entries;
        batch.push(w.messages[i]!);
      }
      await Promise.all(batch.map((m) => writer.write(m.id, m.write)));
    }
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const rows = series.rowCount();
    await series.close();
    closed = true;
    const bytes = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0);
    return { store: label, cpu_s: Math.round((c.user + c.system) / 1e4) / 100, wall_s: Math.round(wall * 100) / 100, rows, file_mb: Math.round(bytes / 1e5) / 10 };
  } finally {
    if (!closed) await series.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '250000' },
      days: { type: 'string', default: '1.5' },
      rounds: { type: 'string', default: '3' },
      store: { type: 'string', default: '../adapters/local/series-store.ts' },
      'compact-every': { type: 'string' },
    },
  });
  const stores = await Promise.all(
    values.store.split(',').map(async (p) => {
      const mod = (await import(p.startsWith('.') ? new URL(p, import.meta.url).href : resolve(p))) as { openLmdbSeriesStore: (o: { path: string }) => LmdbSeriesStore };
      return { label: p, open: (path: string) => mod.openLmdbSeriesStore({ path }) };
    }),
  );
  const w = await onceShapedWrites(Number(values.events), Number(values.days));
  process.stderr.write(`${w.messages.length} messages\n`);
  for (let r = 0; r < Number(values.rounds); r++) {
    const compaction = {
      ...(values['compact-every'] ? { compactEvery: Number(values['compact-every']) } : {}),
    };
    for (const s of stores) process.stdout.write(JSON.stringify(await writerRound(w, s.open, s.label, compaction)) + '\n');
  }
}
