// The server side of the API figure, run in its own process so that autocannon and the server do not
// share one event loop. `app`: the query API over a series store (LMDB), with the heap growth the
// service's process sets (server.ts), rate limits and response caching off and request logs on
// (written to a discarding destination, so their cost counts).
// `bare`: node:http answering each path with the bytes the query API gave for it. Prints one JSON
// line, {"port", "key"}, once it listens.
// `app-cached`: the same with the response caching a gcp deployment runs (server.ts: cache on gcp). Both
// serve through createQueryApiListener as server.ts does: metrics reads are answered ahead of express,
// kept answers and, when not kept, the route's own answer.
// Usage: tsx bench/api-server.ts app | app-cached <series path> | bare <bodies.json>
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { openLmdbSeriesStore } from '../adapters/local/series-store.js';
import { QUERY_API_HEAP_GROWING_PERCENT, setHeapGrowingPercent } from '../runtime/heap-growth.js';
import { defaultLogger } from '../services/http/logging.js';
import { createQueryApiListener } from '../services/query-api/app.js';
import { MemoryKeyStore, PEPPER, addKey } from '../test/services/query-api/fixtures.js';
import { ANCHOR } from './workload.js';

const [mode, path] = process.argv.slice(2);
let server: Server;
let key = '';
// The clock runs from the anchor as the server runs, so kept provisional answers expire after their 10 s
// as in a deployment (the anchor is 12:00, so finalized ones stay kept: the next mart run is at 12:05).
const started = performance.now();
if ((mode === 'app' || mode === 'app-cached') && path) {
  // the heap growth the service's process sets (server.ts main)
  setHeapGrowingPercent(QUERY_API_HEAP_GROWING_PERCENT);
  const series = openLmdbSeriesStore({ path });
  const keys = new MemoryKeyStore();
  key = (await addKey(keys, 'admin')).key;
  // the service's own logger (server.ts), written to a discarding destination
  const logger = defaultLogger({ dest: '/dev/null', level: 'info' });
  const app = createQueryApiListener({ series, keys, pepper: PEPPER, clock: { now: () => new Date(ANCHOR.getTime() + (performance.now() - started)) }, logger, rateLimit: false, cache: mode === 'app-cached', answerCache: mode === 'app-cached', dashboard: false });
  server = createServer(app);
} else if (mode === 'bare' && path) {
  const bodies = new Map<string, Buffer>(Object.entries(JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>).map(([p, b]) => [p, Buffer.from(b)]));
  server = createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
} else {
  throw new Error('usage: api-server.ts app <series path> | bare <bodies.json>');
}
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, key }) + '\n');
});
// BENCH_LOOP_DELAY=1: on SIGTERM, one stderr line with the event loop's delay (p50, p99, max, ms) and
// the GC pauses over the run, to tell what stalls the loop (a long GC, a rebuild, a large answer).
const loop = process.env.BENCH_LOOP_DELAY ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
const gcs: number[] = [];
const gcKinds = new Map<number, { n: number; ms: number; max: number }>();
if (loop) {
  loop.enable();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.push(e.duration);
      const kind = (e as unknown as { detail: { kind: number } }).detail.kind;
      const k = gcKinds.get(kind) ?? { n: 0, ms: 0, max: 0 };
      gcKinds.set(kind, { n: k.n + 1, ms: k.ms + e.duration, max: Math.max(k.max, e.duration) });
    }
  }).observe({ entryTypes: ['gc'] });
}
process.on('SIGTERM', () => {
  if (loop) {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    gcs.sort((a, b) => a - b);
    const over = (t: number) => gcs.filter((d) => d > t).length;
    process.stderr.write(`${mode} loop delay p50 ${ms(loop.percentile(50))} p99 ${ms(loop.percentile(99))} p99.9 ${ms(loop.percentile(99.9))} max ${ms(loop.max)} ms; gc ${gcs.length} pauses, ${Math.round(gcs.reduce((a, b) => a + b, 0))} ms, max ${gcs.at(-1)?.toFixed(1)} ms, over 2 ms ${over(2)}, over 4 ms ${over(4)}; by kind (1 minor, 2 major, 4 incremental, 8 weak callbacks) ${JSON.stringify([...gcKinds].map(([k, v]) => [k, v.n, Math.round(v.ms), Math.round(v.max * 10) / 10]))}; heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB, external ${Math.round(process.memoryUsage().external / 2 ** 20)} MB\n`);
  }
  server.close(() => process.exit(0));
});
