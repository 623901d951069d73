// Kept metrics answers (cache.ts AnswerCache) and the listener that serves them ahead of express
// (kept-answers.ts): the same bytes and headers as the routes, nothing read again, and every refusal —
// key, kind, merchant, rate limit — exactly as the routes give it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { KeyStore, SeriesStore } from '../../../pipeline/ports.js';
import { createQueryApi, createQueryApiListener, type QueryApiDeps } from '../../../services/query-api/app.js';
import { metricsMerchantOf } from '../../../services/query-api/kept-answers.js';
import { MemoryKeyStore, NOW, PEPPER, addKey, key, seedSeries } from './fixtures.js';
import { encodeRowKey, hourBucket } from '../../../pipeline/series/row-key.js';

const silent = pino({ level: 'silent' });
const FINALIZED = '/v1/merchants/m1/metrics?series=sales&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-21T02:00:00Z';
const PROVISIONAL = '/v1/merchants/m1/metrics?series=sales&metrics=orders&granularity=hour&from=2026-11-21T10:00:00Z&to=2026-11-21T13:00:00Z';

describe('kept answers', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let keys: MemoryKeyStore;
  let readKey: string;
  let m2Key: string;
  let reads = 0;
  let now = NOW.getTime();
  const counting = (): SeriesStore => ({ ...series, readRangeWithDocuments: (r, k) => (reads++, series.readRangeWithDocuments(r, k)) });
  const deps = (extra: Partial<QueryApiDeps> = {}): QueryApiDeps => ({ series: counting(), keys, pepper: PEPPER, clock: { now: () => new Date(now) }, logger: silent, answerCache: true, ...extra });
  const at = (api: RequestListener, url: string, key = readKey) => request(api).get(url).set('Authorization', `Bearer ${key}`);
  /** Everything a client sees of an answer but the Date header. */
  const shown = (r: request.Response) => {
    const { date: _date, ...headers } = r.headers;
    return { status: r.status, text: r.text, headers };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kept-answers-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    await seedSeries(series);
    keys = new MemoryKeyStore();
    readKey = (await addKey(keys, 'read', 'm1')).key;
    m2Key = (await addKey(keys, 'read', 'm2')).key;
  });
  beforeEach(() => {
    now = NOW.getTime();
  });
  after(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the merchant of a metrics path and nothing else', () => {
    assert.equal(metricsMerchantOf('/v1/merchants/m1/metrics?series=sales'), 'm1');
    assert.equal(metricsMerchantOf('/v1/merchants/caf%C3%A9/metrics'), 'café');
    for (const url of ['/v1/merchants/m1/metricsx?a', '/v1/merchants//metrics', '/v1/merchants/m1/stores', '/v1/merchants/m1/metrics/', '/V1/merchants/m1/metrics', '/v1/merchants/%C0/metrics', '/health']) {
      assert.equal(metricsMerchantOf(url), undefined, url);
    }
  });

  it('answers a kept answer with the bytes and headers the routes send, over http and behind a trusted https proxy, reading nothing', async () => {
    for (const proxied of [false, true]) {
      // (rate limit headers apart: each app counts its own requests)
      const extra = { rateLimit: false as const, ...(proxied ? { trustProxy: 1 } : {}) };
      const listener = createQueryApiListener(deps(extra));
      const routes = createQueryApi(deps({ ...extra, answerCache: false }));
      for (const url of [FINALIZED, PROVISIONAL]) {
        const get = (api: RequestListener) => at(api, url).set('X-Forwarded-Proto', 'https');
        const first = await get(listener);
        const before = reads;
        const kept = await get(listener);
        assert.equal(reads, before, url);
        assert.deepEqual(shown(kept), shown(await get(routes)), url);
        assert.equal(kept.headers['strict-transport-security'], proxied ? 'max-age=31536000; includeSubDomains' : undefined);
        assert.deepEqual(shown(kept), shown(first));
      }
    }
  });

  it('keeps one answer for every spelling of JSON in Accept, and CSV apart', async () => {
    const api = createQueryApi(deps());
    const json = await at(api, FINALIZED).set('Accept', '*/*');
    const before = reads;
    for (const accept of ['application/json', 'application/json, text/plain, */*', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8']) {
      assert.equal((await at(api, FINALIZED).set('Accept', accept)).text, json.text, accept);
    }
    assert.equal((await at(api, FINALIZED)).text, json.text);
    assert.equal(reads, before);
    const csv = await at(api, FINALIZED).set('Accept', 'text/csv');
    assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(reads, before + 1);
    assert.equal((await at(api, FINALIZED).set('Accept', 'text/csv')).text, csv.text);
    assert.equal(reads, before + 1);
  });

  it('refuses a kept answer to a missing, revoked or wrong-kind key and to another merchant, as the routes do', async () => {
    const listener = createQueryApiListener(deps());
    const routes = createQueryApi(deps({ answerCache: false }));
    const revoked = await addKey(keys, 'read', 'm1');
    const ingest = await addKey(keys, 'ingest', 'm1');
    assert.equal((await at(listener, FINALIZED, revoked.key)).status, 200);
    await keys.revoke(revoked.record.id, NOW);
    const cases: [string, (api: RequestListener) => request.Test][] = [
      ['missing', (api) => request(api).get(FINALIZED)],
      ['revoked', (api) => at(api, FINALIZED, revoked.key)],
      ['ingest', (api) => at(api, FINALIZED, ingest.key)],
      ['other merchant', (api) => at(api, FINALIZED, m2Key)],
    ];
    for (const [name, call] of cases) {
      const refused = await call(listener);
      assert.deepEqual(shown(refused), shown(await call(routes)), name);
      assert.ok([401, 403, 404].includes(refused.status), `${name}: ${refused.status}`);
    }
  });

  it('answers 304 to the ETag of a kept answer and no body to HEAD', async () => {
    const listener = createQueryApiListener(deps());
    const first = await at(listener, FINALIZED);
    const before = reads;
    const revalidated = await at(listener, FINALIZED).set('If-None-Match', first.headers.etag!);
    assert.deepEqual([revalidated.status, revalidated.text, revalidated.headers.etag], [304, '', first.headers.etag]);
    const head = await request(listener).head(FINALIZED).set('Authorization', `Bearer ${readKey}`);
    assert.deepEqual([head.status, head.headers['content-length'], head.headers.etag, head.text], [200, first.headers['content-length'], first.headers.etag, undefined]);
    assert.equal(reads, before);
  });

  /** Until the series store has been read `n` times (a background refresh runs in turns of its own). */
  const readsReach = async (n: number, tries = 200) => {
    for (let i = 0; i < tries && reads < n; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    return reads;
  };

  it('builds a provisional answer again in the background when asked for in its last 3 s, and a finalized one after the next mart run', async () => {
    for (const api of [createQueryApiListener(deps()), createQueryApi(deps())]) {
      now = NOW.getTime();
      await at(api, PROVISIONAL);
      await at(api, FINALIZED);
      const before = reads;
      now += 6_000;
      assert.equal((await at(api, PROVISIONAL)).headers['cache-control'], 'private, max-age=4');
      assert.equal(await readsReach(before + 1, 10), before, 'not yet in its last 3 s');
      // 8 s: the kept answer is sent, and built again after it
      now += 2_000;
      const kept = await at(api, PROVISIONAL);
      assert.equal(kept.headers['cache-control'], 'private, max-age=2');
      assert.equal(await readsReach(before + 1), before + 1);
      // 10 s: the answer built at 8 s, read by nobody waiting
      now += 2_000;
      const refreshed = await at(api, PROVISIONAL);
      assert.equal(refreshed.headers['cache-control'], 'private, max-age=8');
      assert.equal(refreshed.text, kept.text);
      assert.equal(reads, before + 1);
      // not asked for in its last 3 s: it expires, and the next request reads while it waits
      now += 9_000;
      assert.equal((await at(api, PROVISIONAL)).headers['cache-control'], 'private, max-age=10');
      assert.equal(reads, before + 2);
      // NOW is 12:03: the finalized answer is kept until the 12:05 run, and not built again ahead of it
      now = NOW.getTime() + 118_000;
      assert.equal((await at(api, FINALIZED)).headers['cache-control'], 'private, max-age=2');
      assert.equal(await readsReach(before + 3, 10), before + 2);
      now = Date.parse('2026-11-21T12:05:00Z');
      await at(api, FINALIZED);
      assert.equal(reads, before + 3);
    }
  });

  it('builds a provisional answer again once for all the requests in its last seconds, with what was written since', async () => {
    const listener = createQueryApiListener(deps());
    const first = await at(listener, PROVISIONAL);
    const before = reads;
    const row = encodeRowKey(key('m1', 'sales', {}, 'h'), hourBucket(new Date('2026-11-21T11:00:00Z')));
    await series.mutate([{ kind: 'set', key: row, family: 'p', cells: { orders: 10, net_revenue_minor: 9000, gross_revenue_minor: 9900, discount_minor: 900 } }]);
    try {
      now += 8_000;
      const during = await Promise.all([1, 2, 3, 4, 5].map(() => at(listener, PROVISIONAL)));
      for (const r of during) assert.equal(r.text, first.text, 'the kept answer, until the new one is built');
      assert.equal(await readsReach(before + 2, 10), before + 1);
      const after = await at(listener, PROVISIONAL);
      assert.notEqual(after.text, first.text);
      assert.equal((JSON.parse(after.text) as { points: { start: string; values: { orders: number } }[] }).points.find((p) => p.start === '2026-11-21T11:00:00Z')!.values.orders, 10);
    } finally {
      await series.mutate([{ kind: 'set', key: row, family: 'p', cells: { orders: 9, net_revenue_minor: 9000, gross_revenue_minor: 9900, discount_minor: 900 } }]);
    }
  });

  it('keeps answering a provisional answer whose background build failed until it expires, then answers the error', async () => {
    let failing = false;
    const flaky: SeriesStore = { ...counting(), readRangeWithDocuments: (r, k) => (reads++, failing ? Promise.reject(new Error('series store unavailable')) : series.readRangeWithDocuments(r, k)) };
    const listener = createQueryApiListener(deps({ series: flaky }));
    const first = await at(listener, PROVISIONAL);
    const before = reads;
    failing = true;
    now += 8_000;
    assert.equal((await at(listener, PROVISIONAL)).text, first.text);
    assert.equal(await readsReach(before + 1), before + 1);
    now += 1_000;
    const again = await at(listener, PROVISIONAL);
    assert.deepEqual([again.status, again.text], [200, first.text]);
    now += 1_000;
    const expired = await at(listener, PROVISIONAL);
    assert.equal(expired.status, 500);
  });

  it('counts each request once against the rate limit, kept or not, and answers 429 as the routes do', async () => {
    const listener = createQueryApiListener(deps({ rateLimit: { windowMs: 60_000, limit: 3 } }));
    const ok = await at(listener, FINALIZED);
    assert.equal(ok.status, 200);
    assert.equal((await at(listener, FINALIZED)).status, 200);
    const third = await at(listener, FINALIZED);
    assert.equal(third.status, 200);
    assert.equal(third.headers.ratelimit, ok.headers.ratelimit!.replace('r=2', 'r=0'));
    const fourth = await at(listener, FINALIZED);
    assert.deepEqual([fourth.status, fourth.body], [429, { error: { code: 'rate_limited', message: 'too many requests for this key; retry after the number of seconds in Retry-After' } }]);
    assert.match(fourth.headers['retry-after']!, /^[1-6]?\d$/);
    assert.equal(fourth.headers['x-content-type-options'], 'nosniff');
    assert.equal(fourth.headers['ratelimit-policy'], ok.headers['ratelimit-policy']);
    // another key has its own count
    assert.equal((await at(listener, '/v1/merchants/m2/metrics?series=sales&granularity=day&from=2026-11-20&to=2026-11-21', m2Key)).status, 200);
  });

  it('builds an answer once for the requests that ask for it while it is being built', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let authenticated = 0;
    const waiting: SeriesStore = { ...counting(), readRangeWithDocuments: async (r, k) => (reads++, await gate, series.readRangeWithDocuments(r, k)) };
    const watched: KeyStore = { ...keys, put: (r) => keys.put(r), list: () => keys.list(), revoke: (id, at) => keys.revoke(id, at), findByHash: async (h) => ((authenticated += 1), keys.findByHash(h)) };
    const api = createQueryApi(deps({ series: waiting, keys: watched }));
    const before = reads;
    const answers = Promise.all([1, 2, 3].map(() => at(api, FINALIZED)));
    // once all three are past the key check, nothing but the one read holds them
    while (authenticated < 3) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    open();
    const [a, b, c] = await answers;
    assert.deepEqual([a!.status, b!.status, c!.status], [200, 200, 200]);
    assert.equal(b!.text, a!.text);
    assert.equal(c!.text, a!.text);
    assert.equal(reads, before + 1);
  });

  it('logs one line per kept answer, as for any request', async () => {
    const lines: { req: { id: number; url: string }; res: { status: number } }[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const listener = createQueryApiListener(deps({ logger }));
    await at(listener, FINALIZED);
    await at(listener, FINALIZED);
    await at(listener, '/v1/merchants/m1/stores');
    assert.deepEqual(
      lines.map((l) => [l.req.url, l.res.status]),
      [
        [FINALIZED, 200],
        [FINALIZED, 200],
        ['/v1/merchants/m1/stores', 200],
      ],
    );
    assert.equal(new Set(lines.map((l) => l.req.id)).size, 3);
  });
});
