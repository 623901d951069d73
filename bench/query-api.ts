// Benchmark: a 7-day hourly metrics read (168 buckets, every sales metric) through the whole query API —
// auth, validation, one LMDB range read, point building, ETag, request log — over real HTTP with autocannon.
// Usage: npx tsx bench/query-api.ts [--seconds 10] [--connections 10]; writes bench/results/query-api.json.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openLmdbSeriesStore } from '../adapters/local/series-store.js';
import { createQueryApi } from '../services/query-api/app.js';
import { MemoryKeyStore, NOW, PEPPER, addKey, seedSeries } from '../test/services/query-api/fixtures.js';

// autocannon ships no types; its documented programmatic API is used as is.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: object) => Promise<{
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  throughput: { average: number };
}>;

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '10' } } });
const dir = await mkdtemp(join(tmpdir(), 'bench-query-api-'));
const series = openLmdbSeriesStore({ dataDir: dir });
await seedSeries(series, { days: 30 });
const keys = new MemoryKeyStore();
const { key } = await addKey(keys, 'read', 'm1');
// Request logs stay on, written to a discarding destination, so their cost is counted.
const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const app = createQueryApi({ series, keys, pepper: PEPPER, clock: { now: () => NOW }, logger, rateLimit: false });
const server = await new Promise<Server>((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/merchants/m1/metrics?series=sales&granularity=hour&from=2026-11-14T12:00:00Z&to=2026-11-21T12:00:00Z`;
const probe = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
const body = await probe.text();
if (probe.status !== 200 || (JSON.parse(body) as { points: unknown[] }).points.length !== 168) throw new Error(`probe failed: ${probe.status} ${body.slice(0, 200)}`);

const result = await autocannon({ url, connections: Number(values.connections), duration: Number(values.seconds), headers: { authorization: `Bearer ${key}` } });
server.close();
await series.close();
await rm(dir, { recursive: true, force: true });

const summary = {
  benchmark: 'query-api 7-day hourly read (sales, 14 metrics, 168 points)',
  connections: Number(values.connections),
  seconds: Number(values.seconds),
  response_bytes: Buffer.byteLength(body),
  requests_per_second: Math.round(result.requests.average),
  latency_ms: { p50: result.latency.p50, p99: result.latency.p99, average: result.latency.average },
  requests: result.requests.total,
  non_2xx: result.non2xx,
  errors: result.errors,
  measured_at: new Date().toISOString(),
};
await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
await writeFile(join(import.meta.dirname, 'results', 'query-api.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(JSON.stringify(summary));
