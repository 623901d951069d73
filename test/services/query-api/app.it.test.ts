// The query API app over an LMDB series store and an in-memory key store: every route, status, error body and cache header.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import type { Express } from 'express';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { SeriesStore } from '../../../pipeline/ports.js';
import type { StoresDocument } from '../../../pipeline/series/documents.js';
import { documentKey } from '../../../pipeline/series/row-key.js';
import { createQueryApi, type QueryApiDeps } from '../../../services/query-api/app.js';
import { FINALIZED_THROUGH, MemoryKeyStore, NOW, PEPPER, addKey, m1Orders, salesCells, seedSeries, trafficCells } from './fixtures.js';

const HOUR = 3_600_000;
const silent = pino({ level: 'silent' });
const clock = { now: () => NOW };
const metricsUrl = (merchant: string, query: string): string => `/v1/merchants/${merchant}/metrics?${query}`;

describe('query API', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let keys: MemoryKeyStore;
  let app: Express;
  let readKey: string;
  let adminKey: string;
  let m2Key: string;
  const make = (extra: Partial<QueryApiDeps> = {}): Express => createQueryApi({ series, keys, pepper: PEPPER, clock, logger: silent, ...extra });
  const get = (url: string, key = readKey) => request(app).get(url).set('Authorization', `Bearer ${key}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'query-api-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    await seedSeries(series);
    keys = new MemoryKeyStore();
    readKey = (await addKey(keys, 'read', 'm1')).key;
    adminKey = (await addKey(keys, 'admin')).key;
    m2Key = (await addKey(keys, 'read', 'm2')).key;
    app = make();
  });
  after(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('GET /v1/merchants/{id}/metrics', () => {
    it('answers every hour of the range, zeros and nulls where no data, finalized hours from the marts', async () => {
      const res = await get(metricsUrl('m1', 'series=sales&metrics=orders,net_revenue_minor,average_order_value_minor&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T10:00:00Z'));
      assert.equal(res.status, 200);
      const points = [];
      for (let t = Date.parse('2026-11-21T00:00:00Z'); t < Date.parse('2026-11-21T10:00:00Z'); t += HOUR) {
        const n = m1Orders(t);
        const c = salesCells(n);
        points.push({
          start: new Date(t).toISOString().replace('.000Z', 'Z'),
          values: n === 0 ? { orders: 0, net_revenue_minor: 0, average_order_value_minor: null } : { orders: n, net_revenue_minor: c.net_revenue_minor, average_order_value_minor: c.average_order_value_minor },
          provisional: false,
        });
      }
      assert.deepEqual(res.body, { merchant_id: 'm1', series: 'sales', granularity: 'hour', time_zone: 'UTC', points });
      assert.deepEqual(res.body.points[2], { start: '2026-11-21T02:00:00Z', values: { orders: 3, net_revenue_minor: 3300, average_order_value_minor: 1200 }, provisional: false });
      assert.deepEqual(res.body.points[3], { start: '2026-11-21T03:00:00Z', values: { orders: 0, net_revenue_minor: 0, average_order_value_minor: null }, provisional: false });
    });

    it('marks hours after finalized_through provisional and reads them from the partial family', async () => {
      const res = await get(metricsUrl('m1', 'series=sales&metrics=orders,net_revenue_minor,average_order_value_minor&granularity=hour&from=2026-11-21T09:00:00Z&to=2026-11-21T13:00:00Z'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.points, [
        { start: '2026-11-21T09:00:00Z', values: { orders: 5, net_revenue_minor: 6000, average_order_value_minor: 1200 }, provisional: false },
        { start: '2026-11-21T10:00:00Z', values: { orders: 9, net_revenue_minor: 9000, average_order_value_minor: 1000 }, provisional: true },
        { start: '2026-11-21T11:00:00Z', values: { orders: 9, net_revenue_minor: 9000, average_order_value_minor: 1000 }, provisional: true },
        { start: '2026-11-21T12:00:00Z', values: { orders: 0, net_revenue_minor: 0, average_order_value_minor: null }, provisional: true },
      ]);
      assert.equal(res.headers['cache-control'], 'private, max-age=10');
    });

    it('answers all metrics of the series in catalog order when metrics is omitted', async () => {
      const res = await get(metricsUrl('m1', 'series=traffic&granularity=hour&from=2026-11-21T01:00:00Z&to=2026-11-21T02:00:00Z'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.points, [{ start: '2026-11-21T01:00:00Z', values: trafficCells(20), provisional: false }]);
      assert.deepEqual(Object.keys(res.body.points[0].values), ['page_views', 'visitors', 'sessions', 'orders_with_session', 'orders_per_session']);
    });

    it('answers local days of the merchant with local dates, the day in progress provisional', async () => {
      const res = await get(metricsUrl('m1', 'series=sales&metrics=orders,refund_minor&granularity=day&from=2026-11-18&to=2026-11-22'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        merchant_id: 'm1',
        series: 'sales',
        granularity: 'day',
        time_zone: 'Europe/Berlin',
        points: [
          { start: '2026-11-18', values: { orders: 0, refund_minor: 0 }, provisional: false },
          { start: '2026-11-19', values: { orders: 40, refund_minor: 0 }, provisional: false },
          // 2026-11-20 ends at 23:00 UTC (Berlin, UTC+1), well before finalized_through.
          { start: '2026-11-20', values: { orders: 50, refund_minor: 0 }, provisional: false },
          { start: '2026-11-21', values: { orders: 20, refund_minor: 0 }, provisional: true },
        ],
      });
    });

    it("answers a store's days in the store's own time zone", async () => {
      const res = await get(metricsUrl('m1', 'series=sales&metrics=orders&granularity=day&from=2026-11-20&to=2026-11-21&store=s2'));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { merchant_id: 'm1', series: 'sales', granularity: 'day', time_zone: 'Europe/London', points: [{ start: '2026-11-20', values: { orders: 5 }, provisional: false }] });
    });

    it('reads a store series apart from the merchant total', async () => {
      const res = await get(metricsUrl('m1', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T03:00:00Z&store=s1'));
      assert.deepEqual(res.body.points, [
        { start: '2026-11-21T00:00:00Z', values: { orders: 1 }, provisional: false },
        { start: '2026-11-21T01:00:00Z', values: { orders: 1 }, provisional: false },
        { start: '2026-11-21T02:00:00Z', values: { orders: 2 }, provisional: false },
      ]);
    });

    it('reads sku series whose sku needs escaping, and gauges as null where unknown', async () => {
      const sku = encodeURIComponent('PIZZA/Margherita #1');
      const products = await get(metricsUrl('m1', `series=products&metrics=units,net_revenue_minor&granularity=hour&from=2026-11-21T09:00:00Z&to=2026-11-21T10:00:00Z&sku=${sku}`));
      assert.deepEqual(products.body.points, [{ start: '2026-11-21T09:00:00Z', values: { units: 4, net_revenue_minor: 3800 }, provisional: false }]);
      const inventory = await get(metricsUrl('m1', 'series=inventory&granularity=hour&from=2026-11-21T08:00:00Z&to=2026-11-21T10:00:00Z&sku=DOUGH&store=s1'));
      assert.deepEqual(inventory.body.points, [
        { start: '2026-11-21T08:00:00Z', values: { closing_quantity: null, low_stock: null }, provisional: false },
        { start: '2026-11-21T09:00:00Z', values: { closing_quantity: 17, low_stock: 0 }, provisional: false },
      ]);
    });

    it('accepts instants with an offset', async () => {
      const res = await get(metricsUrl('m1', `series=sales&metrics=orders&granularity=hour&from=${encodeURIComponent('2026-11-21T07:30:00+05:30')}&to=2026-11-21T03:00:00Z`));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.points, [{ start: '2026-11-21T02:00:00Z', values: { orders: 3 }, provisional: false }]);
    });

    /** A merchant of its own (the shared app's cache never sees it), with versioned dimensions and a read key. */
    async function versionedMerchant(id: string): Promise<{ key: string; moveStore(zone: string, version: string | null): Promise<void> }> {
      await series.putDocument(documentKey(id, 'merchant'), { id, name: 'Versioned', time_zone: 'Europe/Berlin', currency: 'EUR' });
      const storesOf = (zone: string): StoresDocument => ({ stores: [{ id: 's1', name: 'One', city: null, region: null, time_zone: zone }] });
      await series.putDocument(documentKey(id, 'stores'), storesOf('Europe/Berlin'));
      await series.putDocument(documentKey(id, 'dimensions'), { version: 'v1' });
      return {
        key: (await addKey(keys, 'read', id)).key,
        async moveStore(zone, version) {
          await series.putDocument(documentKey(id, 'stores'), storesOf(zone));
          if (version !== null) await series.putDocument(documentKey(id, 'dimensions'), { version });
        },
      };
    }

    it('reads the store once per request, documents included, and once more only when the dimensions version changes', async () => {
      const calls: string[] = [];
      const counting: SeriesStore = {
        ...series,
        readRange: (r) => (calls.push('readRange'), series.readRange(r)),
        readRangeWithDocuments: (r, k) => (calls.push('readRangeWithDocuments'), series.readRangeWithDocuments(r, k)),
        getDocument: (k) => (calls.push('getDocument'), series.getDocument(k)),
        putDocument: (k, v) => series.putDocument(k, v),
        mutate: (m) => series.mutate(m),
      };
      const api = make({ series: counting });
      // Unversioned documents (as seeded for m1) travel in the same read.
      const res = await request(api).get(metricsUrl('m1', 'series=sales&granularity=hour&from=2026-11-14T12:00:00Z&to=2026-11-21T12:00:00Z')).set('Authorization', `Bearer ${readKey}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.points.length, 168);
      assert.deepEqual(calls, ['readRangeWithDocuments']);
      // Versioned dimensions are cached: every request still reads once, the store check included.
      const m = await versionedMerchant('mv1');
      const day = async () => (await request(api).get(metricsUrl('mv1', 'series=sales&metrics=orders&granularity=day&from=2026-11-20&to=2026-11-22&store=s1')).set('Authorization', `Bearer ${m.key}`)).body.time_zone as string;
      calls.length = 0;
      assert.deepEqual([await day(), await day()], ['Europe/Berlin', 'Europe/Berlin']);
      assert.deepEqual(calls, ['readRangeWithDocuments', 'readRangeWithDocuments']);
      // New dimensions under a new version are answered at once, at the cost of one more read.
      await m.moveStore('Asia/Tokyo', 'v2');
      calls.length = 0;
      assert.equal(await day(), 'Asia/Tokyo');
      assert.deepEqual(calls, ['readRangeWithDocuments', 'readRangeWithDocuments']);
    });

    it('trusts cached dimensions for the TTL only while their version stays the same', async () => {
      let now = NOW.getTime();
      const api = make({ clock: { now: () => new Date(now) }, documentsTtlMs: 60_000 });
      const m = await versionedMerchant('mv2');
      const day = async () => (await request(api).get(metricsUrl('mv2', 'series=sales&metrics=orders&granularity=day&from=2026-11-20&to=2026-11-22&store=s1')).set('Authorization', `Bearer ${m.key}`)).body.time_zone as string;
      assert.equal(await day(), 'Europe/Berlin');
      await m.moveStore('Asia/Tokyo', null);
      now += 59_000;
      assert.equal(await day(), 'Europe/Berlin');
      now += 1_000;
      assert.equal(await day(), 'Asia/Tokyo');
    });

    it('sends a strong ETag, answers 304 to it, and caches finalized ranges until the next mart run', async () => {
      const url = metricsUrl('m1', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T02:00:00Z');
      const first = await get(url);
      // NOW is 12:03; the next mart run starts at 12:05.
      assert.equal(first.headers['cache-control'], 'private, max-age=120');
      // Answers depend on the key, and on Accept (CSV).
      assert.equal(first.headers.vary, 'Authorization, Accept');
      assert.match(first.headers.etag!, /^"[A-Za-z0-9_-]{32}"$/);
      const again = await get(url).set('If-None-Match', first.headers.etag!);
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
    });
    it('answers no-store without an ETag when caching is off', async () => {
      const res = await request(make({ cache: false }))
        .get(metricsUrl('m1', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'))
        .set('Authorization', `Bearer ${readKey}`);
      assert.deepEqual([res.status, res.headers['cache-control'], res.headers.etag], [200, 'no-store', undefined]);
    });

    it('answers the same body, type and length whether caching is on or off, and no body to HEAD', async () => {
      const url = metricsUrl('m1', 'series=sales&granularity=hour&from=2026-11-20T22:00:00Z&to=2026-11-21T13:00:00Z');
      const uncached = make({ cache: false });
      const off = await request(uncached).get(url).set('Authorization', `Bearer ${readKey}`);
      const on = await get(url);
      assert.equal(off.status, 200);
      assert.equal(off.text, on.text);
      assert.equal(off.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(off.headers['content-type'], on.headers['content-type']);
      assert.equal(off.headers['content-length'], String(Buffer.byteLength(off.text)));
      assert.equal(off.headers['x-content-type-options'], 'nosniff');
      const head = await request(uncached).head(url).set('Authorization', `Bearer ${readKey}`);
      assert.deepEqual([head.status, head.headers['content-length'], head.text], [200, off.headers['content-length'], undefined]);
    });

    it('keeps answers in the process as long as clients may: a repeat reads nothing, the same bytes and headers, access still checked', async () => {
      let now = NOW.getTime();
      let reads = 0;
      const counting: SeriesStore = { ...series, readRangeWithDocuments: (r, k) => (reads++, series.readRangeWithDocuments(r, k)), getDocument: (k) => series.getDocument(k), putDocument: (k, v) => series.putDocument(k, v), mutate: (m) => series.mutate(m), readRange: (r) => series.readRange(r) };
      const kept = make({ series: counting, answerCache: true, clock: { now: () => new Date(now) } });
      const plain = make({ clock: { now: () => new Date(now) } });
      const finalized = metricsUrl('m1', 'series=sales&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-21T02:00:00Z');
      const provisional = metricsUrl('m1', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T10:00:00Z&to=2026-11-21T13:00:00Z');
      const csv = metricsUrl('m1', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T02:00:00Z&format=csv');
      const at = (api: Express, url: string, key = readKey) => request(api).get(url).set('Authorization', `Bearer ${key}`);
      const shown = (r: request.Response) => [r.status, r.text, r.headers['content-type'], r.headers['cache-control'], r.headers.etag, r.headers.vary, r.headers['content-disposition']];
      for (const url of [finalized, provisional, csv]) {
        const first = await at(kept, url);
        assert.deepEqual(shown(first), shown(await at(plain, url)), url);
        const before = reads;
        now += 5_000;
        const again = await at(kept, url);
        assert.equal(reads, before, url);
        assert.deepEqual([again.status, again.text, again.headers.etag, again.headers['content-disposition']], [first.status, first.text, first.headers.etag, first.headers['content-disposition']]);
        // the max-age left: 120 s to the 12:05 run less 5 s, or the 10 s of a provisional answer less 5 s
        assert.equal(again.headers['cache-control'], url === provisional ? 'private, max-age=5' : 'private, max-age=115');
        // another merchant's key is refused before any kept answer is looked at
        assert.equal((await at(kept, url, m2Key)).status, 404);
        now -= 5_000;
      }
      // a provisional answer is kept 10 s, then read again
      const before = reads;
      now += 10_000;
      assert.equal((await at(kept, provisional)).status, 200);
      assert.equal(reads, before + 1);
    });

    it('caches a finalized day range until the next mart run', async () => {
      const res = await get(metricsUrl('m1', 'series=traffic&granularity=day&from=2026-11-19&to=2026-11-21'));
      assert.deepEqual(res.body.points.map((p: { provisional: boolean }) => p.provisional), [false, false]);
      assert.equal(res.headers['cache-control'], 'private, max-age=120');
    });
  });

  describe('other routes', () => {
    it("answers the merchant's name, zone and currency, and 404 for another merchant", async () => {
      const res = await get('/v1/merchants/m1');
      assert.deepEqual([res.status, res.body], [200, { id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' }]);
      assert.equal((await get('/v1/merchants/m2')).status, 404);
      assert.deepEqual((await get('/v1/merchants/m2', adminKey)).body, { id: 'm2', name: 'Curry Two', time_zone: 'Asia/Kolkata', currency: 'INR' });
      assert.equal((await get('/v1/merchants/m1?x=1')).status, 400);
    });

    it('lists the stores of the merchant', async () => {
      const res = await get('/v1/merchants/m1/stores');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        stores: [
          { id: 's1', name: 'Mitte', city: 'Berlin', region: 'BE', time_zone: 'Europe/Berlin' },
          { id: 's2', name: 'Soho', city: 'London', region: 'ENG', time_zone: 'Europe/London' },
        ],
      });
    });

    it('answers freshness with the lag from finalized_through to now', async () => {
      const res = await get('/v1/merchants/m1/freshness');
      assert.deepEqual(res.body, { newest_event_at: '2026-11-21T11:58:00.000Z', finalized_through: FINALIZED_THROUGH, lag_seconds: 7380 });
      assert.equal(res.headers['cache-control'], 'private, max-age=10');
    });

    it("answers a read key's own merchant before its first export with empty series", async () => {
      const fresh = await addKey(keys, 'read', 'm7');
      const res = await get(metricsUrl('m7', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'), fresh.key);
      assert.deepEqual(res.body, { merchant_id: 'm7', series: 'sales', granularity: 'hour', time_zone: 'UTC', points: [{ start: '2026-11-21T00:00:00Z', values: { orders: 0 }, provisional: true }] });
      assert.deepEqual((await get('/v1/merchants/m7/freshness', fresh.key)).body, { newest_event_at: null, finalized_through: null, lag_seconds: null });
    });

    it('tells a key its kind and merchant', async () => {
      assert.deepEqual((await get('/v1/me')).body, { kind: 'read', merchant_id: 'm1' });
      assert.deepEqual((await get('/v1/me', adminKey)).body, { kind: 'admin', merchant_id: null });
    });

    it('publishes the catalog without a key', async () => {
      const res = await request(app).get('/v1/metrics');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.series.map((s: { name: string }) => s.name), ['sales', 'products', 'traffic', 'inventory', 'pages', 'referrers', 'devices', 'countries', 'promotions']);
      assert.deepEqual(res.body.series[2], {
        name: 'traffic',
        description: 'Page views, visitors and sessions',
        dimensions: [[]],
        granularities: ['hour', 'day'],
        metrics: [
          { name: 'page_views', kind: 'additive', description: 'Page views' },
          { name: 'visitors', kind: 'distinct', description: 'Distinct visitors' },
          { name: 'sessions', kind: 'distinct', description: 'Distinct sessions' },
          { name: 'orders_with_session', kind: 'additive', description: 'Completed online orders that carry a session id' },
          { name: 'orders_per_session', kind: 'ratio', description: 'Completed online orders with a session per session' },
        ],
      });
    });

    it('answers /health and /ready without a key', async () => {
      assert.deepEqual((await request(app).get('/health')).body, { status: 'ok' });
      assert.deepEqual((await request(app).get('/ready')).body, { status: 'ready' });
      const notReady = await request(make({ ready: () => false })).get('/ready');
      assert.deepEqual([notReady.status, notReady.body], [503, { status: 'unavailable' }]);
    });

    it('serves an OpenAPI 3.1 document covering every route, the collector included', async () => {
      const res = await request(app).get('/openapi.json');
      assert.equal(res.status, 200);
      assert.equal(res.body.openapi, '3.1.0');
      assert.deepEqual(Object.keys(res.body.paths).sort(), [
        '/',
        '/health',
        '/openapi.json',
        '/ready',
        '/sdk/v1/{file}',
        '/v1/events',
        '/v1/me',
        '/v1/merchants/{merchantId}',
        '/v1/merchants/{merchantId}/alerts',
        '/v1/merchants/{merchantId}/alerts/rules',
        '/v1/merchants/{merchantId}/alerts/rules/{ruleId}',
        '/v1/merchants/{merchantId}/alerts/webhook',
        '/v1/merchants/{merchantId}/freshness',
        '/v1/merchants/{merchantId}/low-stock',
        '/v1/merchants/{merchantId}/metrics',
        '/v1/merchants/{merchantId}/promotions',
        '/v1/merchants/{merchantId}/rejections',
        '/v1/merchants/{merchantId}/stores',
        '/v1/merchants/{merchantId}/top',
        '/v1/metrics',
      ]);
      const params = res.body.paths['/v1/merchants/{merchantId}/metrics'].get.parameters.map((p: { name: string; required: boolean }) => `${p.name}:${p.required}`);
      // granularity, from and to are required unless range is given (checked by the handler).
      assert.deepEqual(params, ['merchantId:true', 'series:true', 'metrics:false', 'granularity:false', 'from:false', 'to:false', 'range:false', 'compare:false', 'store:false', 'sku:false', 'page:false', 'referrer:false', 'device:false', 'country:false', 'promo:false', 'format:false']);
      const top = res.body.paths['/v1/merchants/{merchantId}/top'].get.parameters.map((p: { name: string; required: boolean }) => `${p.name}:${p.required}`);
      assert.deepEqual(top, ['merchantId:true', 'series:true', 'by:true', 'limit:false', 'from:false', 'to:false', 'range:false', 'store:false', 'format:false']);
      assert.deepEqual(Object.keys(res.body.components.schemas.Top.properties), ['merchant_id', 'series', 'dimension', 'by', 'store', 'from', 'to', 'time_zone', 'granularity', 'hours', 'items', 'other', 'totals']);
      assert.deepEqual(res.body.components.schemas.Event.oneOf?.length ?? res.body.components.schemas.Event.anyOf?.length, 5);
      assert.match(res.body.info.description, /\*\*sales\*\* \(hour, day\): `orders` \(additive\)/);
    });

    it('sets security headers', async () => {
      const res = await request(app).get('/health');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.match(res.headers['content-security-policy']!, /script-src 'self'/);
      assert.equal(res.headers['x-powered-by'], undefined);
    });

    it('sends HSTS and upgrade-insecure-requests only over https, as a trusted proxy reports it', async () => {
      const plain = await request(app).get('/health');
      assert.equal(plain.headers['strict-transport-security'], undefined);
      assert.doesNotMatch(plain.headers['content-security-policy']!, /upgrade-insecure-requests/);
      // Without 'trust proxy' anybody could send the header: it is ignored.
      const spoofed = await request(app).get('/health').set('X-Forwarded-Proto', 'https');
      assert.equal(spoofed.headers['strict-transport-security'], undefined);
      const proxied = await request(make({ trustProxy: 1 })).get('/health').set('X-Forwarded-Proto', 'https');
      assert.equal(proxied.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.match(proxied.headers['content-security-policy']!, /upgrade-insecure-requests/);
      const proxiedHttp = await request(make({ trustProxy: 1 })).get('/').set('X-Forwarded-Proto', 'http');
      assert.equal(proxiedHttp.headers['strict-transport-security'], undefined);
    });
  });

  describe('statuses and errors', () => {
    const url = metricsUrl('m1', 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z');
    const unauthorized = (message: string) => ({ error: { code: 'unauthorized', message } });

    it('answers 401 to a missing, malformed, unknown, expired or revoked key', async () => {
      const missing = await request(app).get(url);
      assert.deepEqual([missing.status, missing.body], [401, unauthorized('send a read key as Authorization: Bearer <key>')]);
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="tillstream"');
      const basic = await request(app).get(url).set('Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`);
      assert.deepEqual([basic.status, basic.body], [401, unauthorized('the Authorization header must be "Bearer <key>"')]);
      const unknown = await get(url, 'tsr_' + 'A'.repeat(43));
      assert.deepEqual([unknown.status, unknown.body], [401, unauthorized('the key is not valid')]);
      const garbage = await get(url, 'not-a-key');
      assert.deepEqual([garbage.status, garbage.body], [401, unauthorized('the key is not valid')]);
      const expired = await addKey(keys, 'read', 'm1', { now: new Date('2026-11-01T00:00:00Z'), expiresInMs: 86_400_000 });
      const exp = await get(url, expired.key);
      assert.deepEqual([exp.status, exp.body], [401, unauthorized('the key has expired')]);
      const revoked = await addKey(keys, 'read', 'm1');
      await keys.revoke(revoked.record.id, NOW);
      const rev = await get(url, revoked.key);
      assert.deepEqual([rev.status, rev.body], [401, unauthorized('the key has been revoked')]);
    });

    it('takes the Authorization scheme in any case (RFC 9110): bearer, BEARER', async () => {
      for (const scheme of ['bearer', 'BEARER', 'BeArEr', 'Bearer  ']) {
        const res = await request(app).get(url).set('Authorization', `${scheme} ${readKey}`);
        assert.equal(res.status, 200, scheme);
      }
      const other = await request(app).get(url).set('Authorization', `Bearerx ${readKey}`);
      assert.deepEqual([other.status, other.body], [401, unauthorized('the Authorization header must be "Bearer <key>"')]);
    });

    it('answers 403 to ingest and browser keys', async () => {
      for (const kind of ['ingest', 'browser'] as const) {
        const k = await addKey(keys, kind, 'm1');
        const res = await get(url, k.key);
        assert.deepEqual([res.status, res.body], [403, { error: { code: 'forbidden', message: `a ${kind} key cannot read; use a read key` } }]);
      }
    });

    it("answers 404 to any other merchant's path, existing or not, however it is written", async () => {
      const notFound = { error: { code: 'not_found', message: 'no such merchant' } };
      const attempts = [
        metricsUrl('m2', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'),
        metricsUrl('m9', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'),
        metricsUrl('%6D%32', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'),
        metricsUrl('M1', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'),
        metricsUrl('m1%2F..%2Fm2', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'),
        metricsUrl('m1%23sales', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z'),
        metricsUrl('m2', 'bad=1'),
        '/v1/merchants/m2/stores',
        '/v1/merchants/m2/freshness',
        '/V1/MERCHANTS/m2/stores',
      ];
      for (const attempt of attempts) {
        const res = await get(attempt);
        assert.deepEqual([attempt, res.status, res.body], [attempt, 404, notFound]);
      }
      // Dot segments are resolved before routing: they never reach another merchant either.
      const dots = await get('/v1/merchants/m1/../m2/stores');
      assert.equal(dots.status, 404);
      assert.notDeepEqual(dots.body, (await get('/v1/merchants/m2/stores', m2Key)).body);
    });

    it('ignores merchant ids smuggled in headers and refuses them in the query', async () => {
      const headers = await get('/v1/merchants/m1/stores').set('X-Merchant-Id', 'm2').set('X-Forwarded-Host', 'm2.example').set('Forwarded', 'for=1.2.3.4');
      assert.equal(headers.body.stores[0].name, 'Mitte');
      const query = await get(url + '&merchant_id=m2');
      assert.deepEqual([query.status, query.body], [400, { error: { code: 'invalid_parameter', message: 'unknown parameter "merchant_id"', param: 'merchant_id' } }]);
      const twoKeys = await request(app).get('/v1/merchants/m2/stores').set('Authorization', `Bearer ${readKey}, Bearer ${m2Key}`);
      assert.equal(twoKeys.status, 401);
      const keyInQuery = await request(app).get(`/v1/merchants/m2/stores?key=${m2Key}`);
      assert.equal(keyInQuery.status, 401);
    });

    it('lets an admin key read every merchant but answers 404 for unknown ones', async () => {
      const m2 = await get(metricsUrl('m2', 'series=sales&metrics=orders&granularity=day&from=2026-11-21&to=2026-11-22'), adminKey);
      assert.deepEqual(m2.body, { merchant_id: 'm2', series: 'sales', granularity: 'day', time_zone: 'Asia/Kolkata', points: [{ start: '2026-11-21', values: { orders: 0 }, provisional: true }] });
      const m9 = await get('/v1/merchants/m9/stores', adminKey);
      assert.deepEqual([m9.status, m9.body], [404, { error: { code: 'not_found', message: 'no such merchant' } }]);
    });

    it('answers 400 naming the parameter for every invalid parameter', async () => {
      const cases: [string, string, string][] = [
        ['granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'series', 'series: Invalid option: expected one of "sales"|"products"|"traffic"|"inventory"|"pages"|"referrers"|"devices"|"countries"|"promotions"'],
        ['series=weather&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'series', 'series: Invalid option: expected one of "sales"|"products"|"traffic"|"inventory"|"pages"|"referrers"|"devices"|"countries"|"promotions"'],
        ['series=sales&metrics=orders,visitors&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'metrics', 'series sales has no metric "visitors"'],
        ['series=sales&metrics=orders,,items&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'metrics', 'metrics must be a comma-separated list of metric names'],
        ['series=sales&granularity=minute&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'granularity', 'granularity: Invalid option: expected one of "hour"|"day"'],
        ['series=products&sku=A&granularity=day&from=2026-11-20&to=2026-11-21', 'granularity', 'series products has no granularity "day"'],
        ['series=sales&granularity=hour&from=2026-11-21T00:30:00Z&to=2026-11-21T01:00:00Z', 'from', 'from must fall on a whole UTC hour'],
        ['series=sales&granularity=hour&from=2026-11-21&to=2026-11-21T01:00:00Z', 'from', 'from must be an ISO 8601 instant with an offset, e.g. 2026-11-20T00:00:00Z, for granularity hour'],
        ['series=sales&granularity=hour&from=2026-11-21T00:00:00&to=2026-11-21T01:00:00Z', 'from', 'from must be an ISO 8601 instant with an offset, e.g. 2026-11-20T00:00:00Z, for granularity hour'],
        ['series=sales&granularity=hour&from=2026-11-21T01:00:00Z&to=2026-11-21T01:00:00Z', 'to', 'to must be after from'],
        ['series=sales&granularity=hour&from=2026-10-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'to', 'a range of hours may span at most 744 hours (31 days)'],
        ['series=sales&granularity=day&from=2026-02-28&to=2026-02-30', 'to', 'to must be a local date YYYY-MM-DD for granularity day'],
        ['series=sales&granularity=day&from=2020-01-01&to=2026-01-01', 'to', 'a range of days may span at most 1098 days (3 years)'],
        ['series=sales&granularity=day&from=2026-11-21&to=2026-11-20', 'to', 'to must be after from'],
        ['series=sales&granularity=day&to=2026-11-20', 'from', 'from is required unless range is given'],
        ['series=sales&range=today&from=2026-11-20', 'from', 'give either range or from and to, not both'],
        ['series=sales&range=last_week', 'range', 'range: Invalid option: expected one of "today"|"yesterday"|"last_7_days"|"last_30_days"|"month_to_date"'],
        ['series=sales&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-20T01:00:00Z&compare=last_year', 'compare', 'compare: Invalid input: expected "previous_period"'],
        ['series=traffic&store=s1&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'store', 'series traffic takes these dimensions: none'],
        ['series=products&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'sku', 'series products takes these dimensions: sku; or sku and store'],
        ['series=sales&store=bad%20id&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'store', 'store: must be 1-128 of A-Z a-z 0-9 _ . : - starting with a letter or digit'],
        ['series=sales&series=traffic&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z', 'series', 'parameter "series" must be given once'],
        ['series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z&key=abc', 'key', 'unknown parameter "key"'],
      ];
      for (const [query, param, message] of cases) {
        const res = await get(metricsUrl('m1', query));
        assert.deepEqual([query, res.status, res.body], [query, 400, { error: { code: 'invalid_parameter', message, param } }]);
      }
      const long = await get(metricsUrl('m1', 'series=sales&metrics=' + 'orders,'.repeat(700) + 'orders'));
      assert.deepEqual([long.status, long.body], [400, { error: { code: 'invalid_parameter', message: 'the request URL is longer than 4096 characters', param: 'url' } }]);
    });

    it('answers 404 for an unknown store of the merchant', async () => {
      const res = await get(metricsUrl('m1', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z&store=s404'));
      assert.deepEqual([res.status, res.body], [404, { error: { code: 'not_found', message: 'no such store' } }]);
    });

    it('answers 404 in the error shape for unknown routes and methods', async () => {
      for (const res of [await request(app).get('/v2/anything'), await request(app).delete('/v1/merchants/m1/stores'), await get('/v1/merchants/m1/nothing-here')]) {
        assert.deepEqual([res.status, res.body], [404, { error: { code: 'not_found', message: 'no such route' } }]);
      }
    });

    it('answers 429 with Retry-After once a key exceeds its limit, per key', async () => {
      const limited = make({ rateLimit: { windowMs: 60_000, limit: 2 } });
      const call = (key: string) => request(limited).get('/v1/merchants/m1/stores').set('Authorization', `Bearer ${key}`);
      assert.equal((await call(readKey)).status, 200);
      assert.equal((await call(readKey)).status, 200);
      const third = await call(readKey);
      assert.deepEqual([third.status, third.body], [429, { error: { code: 'rate_limited', message: 'too many requests for this key; retry after the number of seconds in Retry-After' } }]);
      assert.match(third.headers['retry-after']!, /^[1-6]?\d$/);
      assert.equal((await request(limited).get('/v1/merchants/m2/stores').set('Authorization', `Bearer ${m2Key}`)).status, 200);
    });

    it('answers 500 without internals when the store fails, and logs the cause', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }));
      const fire = async (): Promise<never> => { throw new Error('disk on fire at /secret/path'); };
      const broken: SeriesStore = { ...series, readRange: fire, readRangeWithDocuments: fire, getDocument: (k) => series.getDocument(k), putDocument: (k, v) => series.putDocument(k, v), mutate: (m) => series.mutate(m) };
      const res = await request(make({ series: broken, logger })).get(url).set('Authorization', `Bearer ${readKey}`);
      assert.deepEqual([res.status, res.body], [500, { error: { code: 'internal', message: 'internal error' } }]);
      assert.doesNotMatch(res.text, /secret|fire|at /);
      assert.ok(lines.some((l) => l.includes('disk on fire')));
    });

    it('logs one structured line per request with latency and no key', async () => {
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }));
      const logged = make({ logger });
      await request(logged).get(`/v1/merchants/m1/stores?key=${readKey}`).set('Authorization', `Bearer ${readKey}`);
      await request(logged).get('/v1/merchants/m1/stores').set('Authorization', `Bearer ${readKey}`);
      assert.equal(lines.length, 2);
      const secret = readKey.slice(4);
      for (const line of lines) assert.ok(!line.includes(secret), line);
      const first = JSON.parse(lines[0]!);
      assert.equal(first.req.url, '/v1/merchants/m1/stores?key=redacted');
      assert.equal(first.res.status, 400);
      assert.equal(typeof first.responseTime, 'number');
      const second = JSON.parse(lines[1]!);
      assert.deepEqual([second.req.method, second.req.url, second.res.status, second.level], ['GET', '/v1/merchants/m1/stores', 200, 30]);
      assert.equal(second.req.headers, undefined);
    });
  });
});
