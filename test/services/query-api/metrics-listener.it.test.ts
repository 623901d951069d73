// The metrics route served ahead of express (kept-answers.ts, createQueryApiListener): for every request —
// answers fresh and kept, with and without caching, HEAD, over a trusted https proxy, and every refusal
// and error (400, 401, 403, 404 before and after the read, 429, a failed read) — the listener sends the
// bytes the express route sends, headers in the same order; and an answer it can give never enters express.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { SeriesStore } from '../../../pipeline/ports.js';
import { createQueryApi, createQueryApiListener, type QueryApiDeps } from '../../../services/query-api/app.js';
import { MemoryKeyStore, NOW, PEPPER, addKey, seedSeries } from './fixtures.js';

const silent = pino({ level: 'silent' });
const m1 = (query: string) => `/v1/merchants/m1/metrics?${query}`;
const HOURS = 'series=sales&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-21T02:00:00Z';

interface Sent {
  method?: string;
  url: string;
  headers?: Record<string, string>;
}

/** A response as a client receives it: status line, headers in order as sent (Date apart), body bytes. */
interface Received {
  status: number;
  headers: string[];
  body: string;
}

async function listen(listener: RequestListener): Promise<{ server: Server; port: number }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function send(port: number, sent: Sent): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: sent.method ?? 'GET', path: sent.url, headers: sent.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!;
          if (name.toLowerCase() === 'date') continue;
          // each app has its own rate limit window, opened some milliseconds apart: the seconds left may differ by one
          const value = /^(ratelimit|retry-after)$/i.test(name) ? res.rawHeaders[i + 1]!.replace(/t=\d+/, 't=…').replace(/^\d+$/, '…') : res.rawHeaders[i + 1]!;
          headers.push(`${name}: ${value}`);
        }
        resolve({ status: res.statusCode!, headers, body: Buffer.concat(chunks).toString('latin1') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('metrics served ahead of express', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let keys: MemoryKeyStore;
  let readKey: string;
  let m2Key: string;
  let adminKey: string;
  let ingestKey: string;
  const deps = (extra: Partial<QueryApiDeps> = {}): QueryApiDeps => ({ series, keys, pepper: PEPPER, clock: { now: () => NOW }, logger: silent, ...extra });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metrics-listener-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    await seedSeries(series);
    keys = new MemoryKeyStore();
    readKey = (await addKey(keys, 'read', 'm1')).key;
    m2Key = (await addKey(keys, 'read', 'm2')).key;
    adminKey = (await addKey(keys, 'admin')).key;
    ingestKey = (await addKey(keys, 'ingest', 'm1')).key;
  });
  after(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  /** Reads and refusals of the metrics route, in the order sent (a rate limit of 20 refuses the last ones). */
  const requests = (): Sent[] => {
    const reads: Sent[] = [
      { url: m1(HOURS), headers: bearer(readKey) },
      { url: m1(HOURS), headers: { ...bearer(readKey), 'x-forwarded-proto': 'https' } },
      { method: 'HEAD', url: m1(HOURS), headers: bearer(readKey) },
      { url: m1('series=sales&metrics=orders,net_revenue_minor&granularity=hour&from=2026-11-21T08:00:00Z&to=2026-11-21T13:00:00Z'), headers: bearer(readKey) },
      { url: m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22'), headers: { ...bearer(readKey), accept: 'application/json' } },
      { url: m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22&store=s2'), headers: bearer(readKey) },
      { url: m1('series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T12:00:00Z&store=s1'), headers: bearer(readKey) },
      { url: m1('series=sales&range=last_7_days&compare=previous_period'), headers: bearer(readKey) },
      { url: m1('series=traffic&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T12:00:00Z'), headers: bearer(adminKey) },
      { url: m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22&format=csv'), headers: bearer(readKey) },
      { url: m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22'), headers: { ...bearer(readKey), accept: 'text/csv' } },
      // refusals before the read
      { url: m1(HOURS) },
      { url: m1(HOURS), headers: { authorization: 'Basic abc' } },
      { url: m1(HOURS), headers: bearer('ts_read_notakey') },
      { url: m1(HOURS), headers: bearer(ingestKey) },
      { url: m1(HOURS), headers: bearer(m2Key) },
      { url: m1('series=sales&from=2026-11-20T00:00:00Z&to=2026-11-21T02:00:00Z'), headers: bearer(readKey) },
      { url: m1(`${HOURS}&key=abc`), headers: bearer(readKey) },
      { url: m1('series=nope&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-21T02:00:00Z'), headers: bearer(readKey) },
      { url: m1(`${HOURS}&page=${'x'.repeat(4100)}`), headers: bearer(readKey) },
      { url: '/v1/merchants/bad%20id/metrics?series=sales&granularity=day&from=2026-11-19&to=2026-11-22', headers: bearer(adminKey) },
      { method: 'POST', url: m1(HOURS), headers: bearer(readKey) },
      // refusals after the read
      { url: m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22&store=s9'), headers: bearer(readKey) },
      { url: '/v1/merchants/m9/metrics?series=sales&granularity=day&from=2026-11-19&to=2026-11-22', headers: bearer(adminKey) },
    ];
    // the same reads again (kept answers where caching keeps them), then past the rate limit
    return [...reads, ...reads.slice(0, 9), ...reads.slice(0, 4)];
  };

  const compare = async (name: string, listenerDeps: QueryApiDeps, routesDeps: QueryApiDeps): Promise<Received[]> => {
    const fast = await listen(createQueryApiListener(listenerDeps));
    const routes = await listen(createQueryApi(routesDeps));
    const received: Received[] = [];
    try {
      for (const sent of requests()) {
        const a = await send(fast.port, sent);
        const b = await send(routes.port, sent);
        assert.deepEqual(a, b, `${name}: ${sent.method ?? 'GET'} ${sent.url.slice(0, 160)} ${JSON.stringify(sent.headers ?? {})}`);
        received.push(a);
      }
    } finally {
      fast.server.close();
      routes.server.close();
    }
    return received;
  };

  it('sends the bytes the express route sends, for answers, refusals and errors, cached or not', async () => {
    const seen = new Set<number>();
    for (const [name, extra] of [
      ['caching off', { cache: false }],
      ['caching on, nothing kept', { cache: true }],
      ['answers kept', { cache: true, answerCache: true }],
      ['behind a trusted proxy, answers kept', { cache: true, answerCache: true, trustProxy: 1 }],
    ] as const) {
      const limited = { rateLimit: { windowMs: 60_000, limit: 20 }, ...extra };
      for (const r of await compare(name, deps(limited), deps({ ...limited, answerCache: false }))) seen.add(r.status);
      for (const r of await compare(`${name}, no rate limit`, deps({ ...extra, rateLimit: false }), deps({ ...extra, rateLimit: false, answerCache: false }))) seen.add(r.status);
    }
    // the set covers what it claims to
    assert.deepEqual([...seen].sort(), [200, 400, 401, 403, 404, 429]);
  });

  it('answers a failed read as the route does: 500 with the one error body', async () => {
    const failing: SeriesStore = { ...series, readRangeWithDocuments: () => Promise.reject(new Error('the store is gone')) };
    const received = await compare('failing store', deps({ series: failing, cache: false }), deps({ series: failing, cache: false }));
    const read = received[0]!;
    assert.deepEqual([read.status, read.body], [500, '{"error":{"code":"internal","message":"internal error"}}']);
  });

  it('answers a metrics read it can give without entering express, and hands refusals to it', async () => {
    const entered: string[] = [];
    const mount = [((req, _res, next) => (entered.push(req.url), next())) as NonNullable<QueryApiDeps['mount']>[number]];
    for (const cache of [false, true]) {
      entered.length = 0;
      const api = await listen(createQueryApiListener(deps({ cache, answerCache: cache, mount })));
      try {
        const read = await send(api.port, { url: m1(HOURS), headers: bearer(readKey) });
        assert.equal(read.status, 200);
        const day = await send(api.port, { url: m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22'), headers: bearer(readKey) });
        assert.equal(day.status, 200);
        assert.deepEqual(entered, [], `cache ${cache}`);
        assert.equal((await send(api.port, { url: m1(HOURS) })).status, 401);
        assert.equal((await send(api.port, { url: m1('series=sales'), headers: bearer(readKey) })).status, 400);
        assert.deepEqual(entered, [m1(HOURS), m1('series=sales')], `cache ${cache}`);
      } finally {
        api.server.close();
      }
    }
  });

  it('logs one line for a request it counted and then handed to express with an error', async () => {
    const lines: { req: { url: string }; res: { status: number } }[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const api = await listen(createQueryApiListener(deps({ logger, cache: false, rateLimit: { windowMs: 60_000, limit: 1 } })));
    try {
      const unknownStore = m1('series=sales&granularity=day&from=2026-11-19&to=2026-11-22&store=s9');
      assert.equal((await send(api.port, { url: unknownStore, headers: bearer(readKey) })).status, 404);
      assert.equal((await send(api.port, { url: m1(HOURS), headers: bearer(readKey) })).status, 429);
      assert.equal((await send(api.port, { url: m1(HOURS), headers: bearer(m2Key) })).status, 404);
      assert.deepEqual(
        lines.map((l) => [l.req.url, l.res.status]),
        [
          [unknownStore, 404],
          [m1(HOURS), 429],
          [m1(HOURS), 404],
        ],
      );
    } finally {
      api.server.close();
    }
  });
});
