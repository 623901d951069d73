// API figure: 7-day hourly store sales reads (168 points, every sales metric) rotating over at least
// 1,000 distinct (merchant, store, range) requests, driven by autocannon against the query API in its
// own process, then against a bare node:http server answering the same bytes for the same paths.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ANCHOR } from './workload.js';

// autocannon ships no types; its documented programmatic API is used as is.
export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
export const autocannon = createRequire(import.meta.url)('autocannon') as (opts: object) => Promise<AutocannonResult>;

const HOUR_MS = 3_600_000;
const WEEK_MS = 168 * HOUR_MS;

export interface StoreRef {
  merchant_id: string;
  store_id: string;
}

/** Paths over the stores, 7-day ranges ending at hours stepping back from the anchor, ≥ `min` in all. */
export function requestPaths(stores: StoreRef[], min: number, oldestEnd: Date): string[] {
  if (stores.length === 0) throw new Error('no stores to read');
  const newestEnd = Math.floor(ANCHOR.getTime() / HOUR_MS) * HOUR_MS;
  const ends = Math.ceil(min / stores.length);
  const stepHours = Math.max(1, Math.floor((newestEnd - oldestEnd.getTime()) / HOUR_MS / ends));
  const paths: string[] = [];
  for (let j = 0; j < ends; j++) {
    const to = newestEnd - j * stepHours * HOUR_MS;
    const from = new Date(to - WEEK_MS).toISOString().replace('.000Z', 'Z');
    const toIso = new Date(to).toISOString().replace('.000Z', 'Z');
    for (const s of stores) paths.push(`/v1/merchants/${encodeURIComponent(s.merchant_id)}/metrics?series=sales&granularity=hour&from=${from}&to=${toIso}&store=${encodeURIComponent(s.store_id)}`);
  }
  return paths;
}

export async function startServer(args: string[]): Promise<{ child: ChildProcess; port: number; key: string }> {
  // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(import.meta.dirname, 'api-server.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the API server exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const { port, key } = JSON.parse(line) as { port: number; key: string };
  return { child, port, key };
}

export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export interface ApiFigures {
  seconds: number;
  connections: number;
  distinct_requests: number;
  response_bytes_avg: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  baseline_rps: number;
  baseline_p50_ms: number;
  baseline_p99_ms: number;
  non_2xx: number;
  errors: number;
}

export async function measureApi(opts: { seriesPath: string; paths: string[]; seconds: number; connections: number; dir: string; log: (s: string) => void }): Promise<ApiFigures> {
  const { paths, seconds, connections, log } = opts;
  const bodies: Record<string, string> = {};
  const app = await startServer(['app', opts.seriesPath]);
  let appRun: AutocannonResult;
  let bytes = 0;
  try {
    const headers = { authorization: `Bearer ${app.key}` };
    // Every path once: each must answer 200 with 168 points, and its bytes are what the bare server will send.
    for (const p of paths) {
      const res = await fetch(`http://127.0.0.1:${app.port}${p}`, { headers });
      const text = await res.text();
      if (res.status !== 200 || (JSON.parse(text) as { points: unknown[] }).points.length !== 168) throw new Error(`probe of ${p} failed: ${res.status} ${text.slice(0, 200)}`);
      bodies[p] = text;
      bytes += Buffer.byteLength(text);
    }
    log(`  ${paths.length} distinct requests, ${Math.round(bytes / paths.length)} bytes each on average; query API for ${seconds} s…`);
    appRun = await autocannon({ url: `http://127.0.0.1:${app.port}`, connections, duration: seconds, headers, requests: paths.map((path) => ({ method: 'GET', path })) });
  } finally {
    await stopServer(app.child);
  }
  log(`  query API: ${Math.round(appRun.requests.average)} rps, p50 ${appRun.latency.p50} ms, p99 ${appRun.latency.p99} ms; bare node:http for ${seconds} s…`);
  const bodiesFile = join(opts.dir, 'api-bodies.json');
  await writeFile(bodiesFile, JSON.stringify(bodies));
  const bare = await startServer(['bare', bodiesFile]);
  let bareRun: AutocannonResult;
  try {
    bareRun = await autocannon({ url: `http://127.0.0.1:${bare.port}`, connections, duration: seconds, requests: paths.map((path) => ({ method: 'GET', path })) });
  } finally {
    await stopServer(bare.child);
  }
  log(`  bare node:http: ${Math.round(bareRun.requests.average)} rps, p50 ${bareRun.latency.p50} ms, p99 ${bareRun.latency.p99} ms`);
  return {
    seconds,
    connections,
    distinct_requests: paths.length,
    response_bytes_avg: Math.round(bytes / paths.length),
    rps: Math.round(appRun.requests.average),
    p50_ms: appRun.latency.p50,
    p99_ms: appRun.latency.p99,
    baseline_rps: Math.round(bareRun.requests.average),
    baseline_p50_ms: bareRun.latency.p50,
    baseline_p99_ms: bareRun.latency.p99,
    non_2xx: appRun.non2xx + bareRun.non2xx,
    errors: appRun.errors + bareRun.errors,
  };
}
