// `backfill`: a history load as a new user runs it — 10,000 POS orders spread evenly over four years,
// loaded with `tillstream ingest --backfill` into a fresh data directory (dimensions loaded first),
// timed end to end from the command line, marts included. The orders belong to the demo world's three
// named merchants (three currencies and zones), one order every ~3.5 hours, so the marts are built
// over thousands of scattered hours and local days: the figure shows whether the mart build costs
// per window or per row.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildWorld, worldDimensions } from '../demo/world.js';
import { Rng } from '../demo/random.js';

export interface BackfillFigures {
  orders: number;
  /** Wall seconds of `tillstream ingest --backfill`, marts included. */
  seconds: number;
  /** Days the orders span. */
  span_days: number;
  /** Accepted events the command reported. */
  accepted: number;
  series_cells: number;
  /** CPU seconds of the command (user + system, from its resource usage): other work on the machine inflates the wall figure, much less this. */
  cpu_seconds: number;
  /** 1-minute load average at the end: other work on the machine depresses the figure. */
  load_avg_1m: number;
}

const DAY_MS = 86_400_000;
const BIN = join(import.meta.dirname, '..', 'cli', 'bin.mjs');
const CPU_OF = join(import.meta.dirname, 'cpu-of.cjs');

/** NDJSON of `orders` completed POS orders, one every span/orders, ending at `end`; and the dimensions they need. */
export function backfillWorkload(opts: { orders: number; end: Date; days: number; seed?: string }): { ndjson: string; dimensions: ReturnType<typeof worldDimensions> } {
  const world = buildWorld(opts.seed ?? 'bench-backfill', 0);
  const merchants = world.merchants.filter((m) => m.stores.length > 0).slice(0, 3);
  const rng = new Rng(opts.seed ?? 'bench-backfill');
  const start = opts.end.getTime() - opts.days * DAY_MS;
  const step = (opts.days * DAY_MS) / opts.orders;
  const lines: string[] = [];
  for (let i = 0; i < opts.orders; i++) {
    const m = merchants[i % merchants.length]!;
    const store = m.stores[rng.int(0, m.stores.length - 1)]!;
    const items = Array.from({ length: rng.int(1, 3) }, () => m.catalog[rng.int(0, m.catalog.length - 1)]!);
    const lineItems = [...new Map(items.map((it) => [it.sku, { sku: it.sku, category: it.category, quantity: rng.int(1, 3), unit_price_minor: it.price_minor }])).values()];
    const gross = lineItems.reduce((s, li) => s + li.quantity * li.unit_price_minor, 0);
    lines.push(
      JSON.stringify({
        event_id: `bf-${String(i).padStart(6, '0')}`,
        merchant_id: m.id,
        event_type: 'order',
        event_ts: new Date(Math.round(start + i * step)).toISOString(),
        source: 'pos',
        schema_version: 1,
        store_id: store.id,
        body: { order_id: `bf-o-${i}`, status: 'completed', channel: 'pos', fulfilment: 'pickup', currency: m.currency, line_items: lineItems, gross_minor: gross, discount_minor: 0, net_minor: gross },
      }),
    );
  }
  return { ndjson: lines.join('\n') + '\n', dimensions: worldDimensions(world) };
}

/** Runs the command; its stdout and the CPU seconds it used (bench/cpu-of.cjs reports its own resource usage at exit). */
function tillstream(args: string[], env: NodeJS.ProcessEnv, log: (s: string) => void): Promise<{ out: string; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', CPU_OF, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let cpu = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (cpu += d.toString()));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve({ out, cpuSeconds: Number(cpu.trim() || 'NaN') });
      log(err);
      reject(new Error(`tillstream ${args[0]} exited ${code}`));
    });
  });
}

/** Writes the workload into `dir`, loads the dimensions, then times `tillstream ingest --backfill`. */
export async function measureBackfill(opts: { dir: string; orders?: number; days?: number; log: (s: string) => void }): Promise<BackfillFigures> {
  const orders = opts.orders ?? 10_000;
  const days = opts.days ?? 4 * 365;
  // Ends at the start of this hour: every order lies in a finished hour, so the run builds them all.
  const end = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const w = backfillWorkload({ orders, end, days });
  const file = join(opts.dir, 'backfill.ndjson');
  const dims = join(opts.dir, 'backfill.dimensions.json');
  await writeFile(file, w.ndjson);
  await writeFile(dims, JSON.stringify(w.dimensions));
  const env: NodeJS.ProcessEnv = { ...process.env, TILLSTREAM_DATA_DIR: join(opts.dir, 'data') };
  delete env.TILLSTREAM_RUNTIME;
  await tillstream(['dimensions', 'load', dims], env, opts.log);
  const t0 = performance.now();
  const { out, cpuSeconds } = await tillstream(['ingest', '--file', file, '--source', 'pos', '--backfill', '--quiet'], env, opts.log);
  const seconds = (performance.now() - t0) / 1000;
  const summary = JSON.parse(out.trim().split('\n').at(-1)!) as { accepted: number; series_cells: number };
  const load = Math.round(loadavg()[0]! * 100) / 100;
  opts.log(`  backfill: ${orders} orders over ${days} days in ${seconds.toFixed(1)} s, ${cpuSeconds.toFixed(1)} CPU s (${summary.accepted} accepted, ${summary.series_cells} series cells; load ${load})`);
  return { orders, seconds: Math.round(seconds * 100) / 100, span_days: days, accepted: summary.accepted, series_cells: summary.series_cells, cpu_seconds: Math.round(cpuSeconds * 100) / 100, load_avg_1m: load };
}
