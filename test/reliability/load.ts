// The load proof (issue 8, item 6), shared by the short variant in `npm test` (load.it.test.ts) and the
// long one in `npm run test:long` (load.long.test.ts): the query API of the local runtime under an
// autocannon run at up to a target rate (autocannon in its own process, so it does not share the
// server's event loop), then a burst of events into the collector on loopback, drained through the
// runner. The caller asserts no 5xx, no lost events and bounded memory; the rates are reported only.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { openLocalPipeline } from '../../runtime/local-writer.js';
import { createKey } from '../../pipeline/auth/keys.js';
import type { EntryCounts } from '../../pipeline/contracts/outcomes.js';
import { createCollector } from '../../services/collector/router.js';
import { createQueryApi } from '../../services/query-api/app.js';
import { seedSeries } from '../services/query-api/fixtures.js';
import { totalCounts } from './support.js';

const AUTOCANNON = join(createRequire(import.meta.url).resolve('autocannon/package.json'), '..', 'autocannon.js');

export interface QueryLoadResult {
  durationS: number;
  requests: number;
  ratePerS: number;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  rssGrowthMb: number;
}

export interface BurstResult {
  events: number;
  requests: number;
  statuses: Record<number, number>;
  counts: EntryCounts;
  seconds: number;
  rssGrowthMb: number;
}

const mb = (bytes: number) => Math.round(bytes / 1e6);

export async function withLoadRuntime<T>(fn: (ctx: { base: string; readKey: string; ingestKey: string; counts: () => Promise<EntryCounts>; drain: () => Promise<unknown> }) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-load-'));
  const rt = await openLocalPipeline({ dataDir: join(dir, 'data'), command: 'load-test' });
  try {
    await rt.dimensions.load({ merchants: [{ id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' }], stores: [{ id: 's1', merchant_id: 'm1', name: 'Mitte' }], fraud_ips: [] });
    await seedSeries(rt.series);
    const read = createKey(rt.pepper, { kind: 'read', merchantId: 'm1' });
    const ingest = createKey(rt.pepper, { kind: 'ingest', merchantId: 'm1' });
    await rt.keys.put(read.record);
    await rt.keys.put(ingest.record);
    // Request logs are written (the cost is real) into a sink that keeps nothing.
    const logger = pino({ level: 'info' }, new Writable({ write: (_c, _e, cb) => cb() }));
    const collector = createCollector({ publisher: rt.bus, keys: rt.keys, pepper: rt.pepper, rateLimitPerMinute: false });
    const app = createQueryApi({ series: rt.series, keys: rt.keys, pepper: rt.pepper, logger, rateLimit: false, mount: [collector] });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      return await fn({ base, readKey: read.key, ingestKey: ingest.key, counts: () => totalCounts(rt), drain: () => rt.runner.drain() });
    } finally {
      await new Promise((r) => server.close(r));
    }
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** autocannon against the metrics route (the heaviest: one range read and a point per hour) for durationS at up to rate req/s. */
export async function queryLoad(base: string, readKey: string, opts: { durationS: number; rate: number; connections?: number }): Promise<QueryLoadResult> {
  const url = `${base}/v1/merchants/m1/metrics?series=sales&metrics=orders,net_revenue_minor,average_order_value_minor&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-21T12:00:00Z`;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const args = [AUTOCANNON, '--json', '-c', String(opts.connections ?? 50), '-d', String(opts.durationS), '-R', String(opts.rate), '-H', `Authorization=Bearer ${readKey}`, url];
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`autocannon exited with ${code}: ${stderr}`))));
  });
  const r = JSON.parse(out) as { requests: { total: number }; duration: number; errors: number; timeouts: number; non2xx: number; '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  return {
    durationS: r.duration,
    requests: r.requests.total,
    ratePerS: Math.round(r.requests.total / r.duration),
    statusCounts: { '2xx': r['2xx'], '3xx': r['3xx'], '4xx': r['4xx'], '5xx': r['5xx'] },
    errors: r.errors,
    timeouts: r.timeouts,
    rssGrowthMb: mb(process.memoryUsage().rss - rss0),
  };
}

/** `events` valid events in bodies of 500, `concurrency` requests in flight, then drained to their end states. */
export async function collectorBurst(ctx: { base: string; ingestKey: string; drain: () => Promise<unknown>; counts: () => Promise<EntryCounts> }, opts: { events: number; concurrency?: number }): Promise<BurstResult> {
  const perBody = 500;
  const bodies = Math.ceil(opts.events / perBody);
  const at = new Date(Date.now() - 3_600_000).toISOString();
  const body = (b: number) => {
    const lines: string[] = [];
    for (let i = b * perBody; i < Math.min(opts.events, (b + 1) * perBody); i++) {
      lines.push(JSON.stringify({ event_id: `burst-${i}`, merchant_id: 'm1', event_type: 'page_view', event_ts: at, source: 'server', schema_version: 1, body: { url: `https://shop.example/p/${i % 997}`, visitor_id: `v${i % 5000}`, session_id: `s${i % 9000}`, device: 'desktop' } }));
    }
    return lines.join('\n');
  };
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const statuses: Record<number, number> = {};
  let next = 0;
  const worker = async () => {
    for (let b = next++; b < bodies; b = next++) {
      const res = await fetch(`${ctx.base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ctx.ingestKey}`, 'content-type': 'application/x-ndjson' }, body: body(b) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  await ctx.drain();
  const seconds = (performance.now() - t0) / 1000;
  return { events: opts.events, requests: bodies, statuses, counts: await ctx.counts(), seconds: Math.round(seconds * 10) / 10, rssGrowthMb: mb(process.memoryUsage().rss - rss0) };
}


