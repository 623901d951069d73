// API figure over a realistic mix of reads: merchants drawn Zipf-like (rank^-1.1), ranges of 1, 7 and
// 31 days, hourly and daily, the merchant's totals or one store, 80 % wholly finalized (ending a day
// or more before the clock's hour) and 20 % ending at the hour in progress (provisional buckets).
// The query API runs in its own process twice — with the response caching a gcp deployment runs
// (server.ts: cache on, read once per path first, as a running deployment's cache holds what its
// readers ask for; provisional answers still expire after 10 s) and without — and a bare node:http
// server answers the same bytes per path.
// Each is driven at full speed by autocannon (rps, ratio to bare); the cached API and bare node:http are
// then sent 2,000 requests/s, evenly spaced and open loop (fixed-rate.ts), for their latency (p99 at
// that rate, from when each request was due; the bare server's is what the machine and the client add
// to any server).
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Rng, cumulative } from '../demo/random.js';
import { autocannon, startServer, stopServer, type AutocannonResult } from './api.js';
import { fixedRate, type FixedRateResult } from './fixed-rate.js';
import { cpuSecondsOf } from './stats.js';
import type { SeriesStore } from '../pipeline/ports.js';
import type { FreshnessDocument } from '../pipeline/series/documents.js';
import { documentKey } from '../pipeline/series/row-key.js';
import { MART_RUN_MINUTE, PROVISIONAL_MAX_AGE_S } from '../services/query-api/cache.js';
import { ANCHOR } from './workload.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface MixStore {
  merchant_id: string;
  store_id: string;
}

export interface ApiMixFigures {
  mix: string;
  distinct_requests: number;
  response_bytes_avg: number;
  seconds: number;
  connections: number;
  cached_rps: number;
  uncached_rps: number;
  baseline_rps: number;
  cached_ratio: number;
  uncached_ratio: number;
  /** Latency of the cached API at a fixed rate, open loop, from when each request was due. */
  rate_rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Latency of bare node:http at the same rate: what the machine (client included) adds to any server. */
  baseline_p50_ms: number;
  baseline_p99_ms: number;
  /** The client's own lateness at the 99th percentile of the cached run (part of p99_ms). */
  send_delay_p99_ms: number;
  /** Answers of the mix holding a provisional bucket (kept 10 s and built again), of `distinct_requests`. */
  provisional_answers: number;
  non_2xx: number;
  errors: number;
  /** The machine's 1-minute load average when the runs started and when they ended (it is shared). */
  load_avg: [number, number];
  /**
   * The server process's CPU (user + system) per request of the full-speed runs, µs: what the server
   * itself spends, steadier on a shared machine than requests/s, which also depend on what else runs.
   */
  cached_cpu_us: number;
  uncached_cpu_us: number;
  baseline_cpu_us: number;
}

/** `run` with the server's CPU per request it answered, µs. */
async function withCpu(pid: number, run: () => Promise<AutocannonResult>): Promise<{ result: AutocannonResult; cpuUs: number }> {
  const before = cpuSecondsOf(pid);
  const result = await run();
  return { result, cpuUs: Math.round(((cpuSecondsOf(pid) - before) * 1e6) / Math.max(1, result.requests.total)) };
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The hours a deployment's last scheduled mart run finalized, written into the merchants' freshness
 * documents. The benchmark builds its history with a reprocess, which finalizes nothing (only a scheduled
 * run that started after an hour ended finalizes it, DESIGN.md "Time"; reprocess runs record no
 * finalized_through), so without this every bucket of the mix is provisional and every answer is kept
 * 10 s and built again, not the 80 % finalized the mix is meant to have. At the anchor (12:00) the last
 * run is the 11:05 one: hours ending at or before 11:00 are final.
 */
export async function finalizeAsScheduled(series: SeriesStore, merchants: string[], now: Date = ANCHOR): Promise<void> {
  const through = new Date(Math.floor((now.getTime() - MART_RUN_MINUTE * 60_000) / HOUR_MS) * HOUR_MS).toISOString();
  for (const m of new Set(merchants)) {
    const key = documentKey(m, 'freshness');
    const doc = await series.getDocument<FreshnessDocument>(key);
    if (!doc) throw new Error(`merchant ${m} has no freshness document`);
    await series.putDocument(key, { ...doc, finalized_through: through });
  }
}

/** `count` request paths of the mix over the stores' merchants (ranked by their order in `stores`). */
export function mixPaths(stores: MixStore[], count: number, seed = 'api-mix'): string[] {
  const merchants = [...new Set(stores.map((s) => s.merchant_id))];
  if (merchants.length === 0) throw new Error('no merchants to read');
  const storesOf = new Map(merchants.map((m) => [m, stores.filter((s) => s.merchant_id === m).map((s) => s.store_id)]));
  const weights = cumulative(merchants.map((_, i) => (i + 1) ** -1.1));
  const rng = new Rng(seed);
  const nowHour = Math.floor(ANCHOR.getTime() / HOUR_MS) * HOUR_MS;
  const paths = new Set<string>();
  for (let tries = 0; paths.size < count && tries < count * 20; tries++) {
    const m = merchants[rng.weightedIndex(weights)]!;
    const days = rng.pick([1, 7, 31]);
    const hourly = rng.chance(0.5);
    // Finalized: ends 1 to 10 days before the hour in progress; otherwise ends with it.
    const endMs = rng.chance(0.8) ? nowHour - rng.int(1, 10) * DAY_MS : nowHour + HOUR_MS;
    const store = rng.chance(0.5) ? storesOf.get(m)![rng.int(0, storesOf.get(m)!.length - 1)] : undefined;
    const range = hourly
      ? `granularity=hour&from=${iso(endMs - days * DAY_MS)}&to=${iso(endMs)}`
      : `granularity=day&from=${date(endMs - days * DAY_MS)}&to=${date(endMs + DAY_MS)}`;
    paths.add(`/v1/merchants/${encodeURIComponent(m)}/metrics?series=sales&${range}${store ? `&store=${encodeURIComponent(store)}` : ''}`);
  }
  return [...paths];
}

const run = (port: number, paths: string[], opts: { seconds: number; connections: number; headers?: Record<string, string> }): Promise<AutocannonResult> =>
  autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: opts.connections,
    duration: opts.seconds,
    ...(opts.headers ? { headers: opts.headers } : {}),
    requests: paths.map((path) => ({ method: 'GET', path })),
  });

export async function measureApiMix(opts: { seriesPath: string; paths: string[]; seconds: number; connections: number; rate: number; dir: string; log: (s: string) => void }): Promise<ApiMixFigures> {
  const { paths, seconds, connections, log } = opts;
  const bodies: Record<string, string> = {};
  let bytes = 0;
  let non2xx = 0;
  let errors = 0;
  const count = (r: AutocannonResult) => ((non2xx += r.non2xx), (errors += r.errors), r);
  const countRate = (r: FixedRateResult) => ((non2xx += r.non2xx), (errors += r.errors), r);
  const loadAtStart = loadavg()[0]!;
  let provisionalAnswers = 0;

  const uncached = await startServer(['app', opts.seriesPath]);
  let uncachedRun: AutocannonResult;
  let uncachedCpuUs: number;
  let cachedCpuUs: number;
  let bareCpuUs: number;
  try {
    const headers = { authorization: `Bearer ${uncached.key}` };
    for (const p of paths) {
      const res = await fetch(`http://127.0.0.1:${uncached.port}${p}`, { headers });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`probe of ${p} failed: ${res.status} ${text.slice(0, 200)}`);
      bodies[p] = text;
      bytes += Buffer.byteLength(text);
    }
    log(`  ${paths.length} distinct requests, ${Math.round(bytes / paths.length)} bytes each on average; uncached query API for ${seconds} s…`);
    const measured = await withCpu(uncached.child.pid!, () => run(uncached.port, paths, { seconds, connections, headers }));
    uncachedRun = count(measured.result);
    uncachedCpuUs = measured.cpuUs;
  } finally {
    await stopServer(uncached.child);
  }
  log(`  uncached: ${Math.round(uncachedRun.requests.average)} rps, ${uncachedCpuUs} µs CPU a request, p99 ${uncachedRun.latency.p99} ms; cached query API for ${seconds} s…`);

  const cached = await startServer(['app-cached', opts.seriesPath]);
  let cachedRun: AutocannonResult;
  let rateRun: FixedRateResult;
  try {
    const headers = { authorization: `Bearer ${cached.key}` };
    // Steady state: a deployment's cache holds what its readers asked for; each path is read once first.
    for (const p of paths) {
      const res = await fetch(`http://127.0.0.1:${cached.port}${p}`, { headers });
      await res.arrayBuffer();
      if (res.headers.get('cache-control') === `private, max-age=${PROVISIONAL_MAX_AGE_S}`) provisionalAnswers++;
    }
    const measured = await withCpu(cached.child.pid!, () => run(cached.port, paths, { seconds, connections, headers }));
    cachedRun = count(measured.result);
    cachedCpuUs = measured.cpuUs;
    log(`  cached: ${Math.round(cachedRun.requests.average)} rps, ${cachedCpuUs} µs CPU a request, p99 ${cachedRun.latency.p99} ms; cached at ${opts.rate} rps for ${seconds} s…`);
    rateRun = countRate(await fixedRate({ port: cached.port, paths, rate: opts.rate, seconds, headers }));
  } finally {
    await stopServer(cached.child);
  }
  log(`  cached at ${opts.rate} rps: ${rateRun.requests} requests, p50 ${rateRun.p50_ms} ms, p99 ${rateRun.p99_ms} ms (client lateness p99 ${rateRun.send_delay_p99_ms} ms); bare node:http for ${seconds} s…`);

  const bodiesFile = join(opts.dir, 'api-mix-bodies.json');
  await writeFile(bodiesFile, JSON.stringify(bodies));
  const bare = await startServer(['bare', bodiesFile]);
  let bareRun: AutocannonResult;
  let bareRateRun: FixedRateResult;
  try {
    const measured = await withCpu(bare.child.pid!, () => run(bare.port, paths, { seconds, connections }));
    bareRun = count(measured.result);
    bareCpuUs = measured.cpuUs;
    log(`  bare node:http: ${Math.round(bareRun.requests.average)} rps, ${bareCpuUs} µs CPU a request; at ${opts.rate} rps for ${seconds} s…`);
    bareRateRun = countRate(await fixedRate({ port: bare.port, paths, rate: opts.rate, seconds }));
  } finally {
    await stopServer(bare.child);
  }
  log(`  bare node:http at ${opts.rate} rps: p50 ${bareRateRun.p50_ms} ms, p99 ${bareRateRun.p99_ms} ms`);
  const ratio = (a: number) => Math.round((a / bareRun.requests.average) * 100) / 100;
  return {
    mix: 'merchants Zipf (rank^-1.1); 1, 7 and 31 days; hour and day; merchant or one store; 80 % finalized, 20 % ending at the hour in progress',
    distinct_requests: paths.length,
    response_bytes_avg: Math.round(bytes / paths.length),
    seconds,
    connections,
    cached_rps: Math.round(cachedRun.requests.average),
    uncached_rps: Math.round(uncachedRun.requests.average),
    baseline_rps: Math.round(bareRun.requests.average),
    cached_ratio: ratio(cachedRun.requests.average),
    uncached_ratio: ratio(uncachedRun.requests.average),
    rate_rps: opts.rate,
    p50_ms: rateRun.p50_ms,
    p99_ms: rateRun.p99_ms,
    baseline_p50_ms: bareRateRun.p50_ms,
    baseline_p99_ms: bareRateRun.p99_ms,
    send_delay_p99_ms: rateRun.send_delay_p99_ms,
    provisional_answers: provisionalAnswers,
    non_2xx: non2xx,
    errors,
    load_avg: [Math.round(loadAtStart * 10) / 10, Math.round(loadavg()[0]! * 10) / 10],
    cached_cpu_us: cachedCpuUs,
    uncached_cpu_us: uncachedCpuUs,
    baseline_cpu_us: bareCpuUs,
  };
}
