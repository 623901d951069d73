// Freshness of the speed layer: how long an event POSTed to the collector of a running local server
// (`tillstream start`, its own process and data directory) takes to show in the query API. Each
// sample reads the current hour's completed orders, POSTs one completed order, then polls the API
// until the count includes it; the time from the POST to that answer is the sample.
// Usage: npx tsx bench/freshness.ts [--samples 50]; prints {p95_s, samples, …} as JSON.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { demoDimensions } from '../demo/generator.js';

export interface FreshnessOptions {
  /** Events to measure; default 50. */
  samples?: number;
  /** Size of the demo workload the server seeds itself with before it listens; default 2,000. */
  demoEvents?: number;
  /** Poll interval of the API, ms; default 100. */
  pollMs?: number;
  /** A sample not visible after this long fails the measurement; default 120 s. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface FreshnessResult {
  /** 95th percentile (nearest rank) of POST → visible in the API, seconds. */
  p95_s: number;
  samples: number;
  p50_s: number;
  max_s: number;
}

const BIN = join(import.meta.dirname, '..', 'cli', 'bin.mjs');
/** The seed `tillstream start` generates its demo workload with. */
const DEMO_SEED = 'tillstream-demo';
const HOUR_MS = 3_600_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

/** Starts `tillstream start` and resolves with its URL and the demo read key once it listens. */
function startServer(dataDir: string, demoEvents: number, log: (s: string) => void): Promise<{ child: ChildProcess; url: string; merchant: string; readKey: string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0', '--events', String(demoEvents)], {
    env: { ...process.env, TILLSTREAM_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let url: string | undefined;
    // Progress lines only; the request log is JSON.
    child.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim() && !line.startsWith('{')) log(`server: ${line}`);
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      url ??= /dashboard: (\S+?)\/?\n/.exec(out)?.[1];
      const key = /read key for demo merchant (\S+) \(shown once[^)]*\): (\S+)/.exec(out);
      if (url && key) resolve({ child, url, merchant: key[1]!, readKey: key[2]! });
    });
    child.once('exit', (code) => reject(new Error(`tillstream start exited with ${code} before it listened`)));
  });
}

export async function measureFreshness(opts: FreshnessOptions = {}): Promise<FreshnessResult> {
  const samples = opts.samples ?? 50;
  const pollMs = opts.pollMs ?? 100;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const log = opts.log ?? (() => {});
  const dir = await mkdtemp(join(tmpdir(), 'bench-freshness-'));
  const dataDir = join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    const server = await startServer(dataDir, opts.demoEvents ?? 2000, log);
    child = server.child;
    const { url, merchant, readKey } = server;
    const dims = demoDimensions(DEMO_SEED);
    const currency = dims.merchants.find((m) => m.id === merchant)?.currency;
    const store = dims.stores.find((s) => s.merchant_id === merchant)?.id;
    if (!currency || !store) throw new Error(`demo merchant ${merchant} not found in the demo dimensions`);
    // An ingest key, created through the running server.
    const created = spawnSync(process.execPath, [BIN, 'keys', 'create', '--kind', 'ingest', '--merchant', merchant], { env: { ...process.env, TILLSTREAM_DATA_DIR: dataDir }, encoding: 'utf8' });
    const ingestKey = created.stdout.trim().split('\n').pop();
    if (created.status !== 0 || !ingestKey) throw new Error(`keys create failed: ${created.stderr}`);

    const ordersIn = async (hourStart: number): Promise<number> => {
      const from = new Date(hourStart).toISOString();
      const to = new Date(hourStart + HOUR_MS).toISOString();
      const res = await fetch(`${url}/v1/merchants/${merchant}/metrics?series=sales&metrics=orders&granularity=hour&from=${from}&to=${to}`, {
        headers: { Authorization: `Bearer ${readKey}`, 'Cache-Control': 'no-cache' },
      });
      if (res.status !== 200) throw new Error(`metrics answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { points: { values: { orders: number } }[] }).points[0]!.values.orders;
    };

    const seconds: number[] = [];
    for (let i = 0; i < samples; i++) {
      const now = Date.now();
      const hourStart = now - (now % HOUR_MS);
      // An order near an hour's end could be counted in the next hour by the time it is measured: wait it out.
      if (hourStart + HOUR_MS - now < 5_000) {
        await sleep(hourStart + HOUR_MS - now + 100);
        i--;
        continue;
      }
      const before = await ordersIn(hourStart);
      const event = {
        event_id: `fresh-${i}-${randomUUID()}`,
        merchant_id: merchant,
        event_type: 'order',
        event_ts: new Date(now).toISOString(),
        source: 'online',
        schema_version: 1,
        store_id: store,
        body: {
          order_id: `fresh-${randomUUID()}`,
          status: 'completed',
          channel: 'online',
          fulfilment: 'pickup',
          currency,
          line_items: [{ sku: 'FRESHNESS-PROBE', category: 'bench', quantity: 1, unit_price_minor: 100, discount_minor: 0 }],
          gross_minor: 100,
          discount_minor: 0,
          net_minor: 100,
        },
      };
      const t0 = performance.now();
      const posted = await fetch(`${url}/v1/events`, { method: 'POST', headers: { Authorization: `Bearer ${ingestKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify([event]) });
      if (posted.status !== 202) throw new Error(`collector answered ${posted.status}: ${await posted.text()}`);
      for (;;) {
        if ((await ordersIn(hourStart)) > before) break;
        if (performance.now() - t0 > timeoutMs) throw new Error(`event ${event.event_id} not visible after ${timeoutMs} ms`);
        await sleep(pollMs);
      }
      seconds.push((performance.now() - t0) / 1000);
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    const round = (s: number) => Math.round(s * 1000) / 1000;
    return { p95_s: round(percentile(sorted, 95)), samples: seconds.length, p50_s: round(percentile(sorted, 50)), max_s: round(sorted[sorted.length - 1]!) };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { samples: { type: 'string', default: '50' } } });
  const result = await measureFreshness({ samples: Number(values.samples), log: (s) => process.stderr.write(s + '\n') });
  process.stdout.write(JSON.stringify(result) + '\n');
}
