// The query API on the gcp series store (Bigtable emulator): one ReadRows call per request, counted at the
// Bigtable client — the series range and the merchant's documents travel in one row set.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import request from 'supertest';
import { bigtableClient, ensureTable, KEYS_FAMILIES, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { cachedKeyStore, createBigtableKeyStore } from '../../../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { resolveDimensions } from '../../../pipeline/contracts/dimensions.js';
import { mirrorDimensionDocuments } from '../../../pipeline/series/mirror.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../../adapters/gcp/support/emulators.js';
import { countReadRows } from '../../support/read-rows-counter.js';
import { NOW, PEPPER, addKey, m1Orders, seedSeries } from './fixtures.js';

describe('query API reads on Bigtable (emulator)', function () {
  this.timeout(60_000);
  const suffix = `${process.pid}-${Date.now()}`;
  let app: ReturnType<typeof createQueryApi>;
  let readKey: string;
  let counter: ReturnType<typeof countReadRows>;
  let series: ReturnType<typeof createBigtableSeriesStore>;
  const dims = (s1Zone: string) =>
    resolveDimensions({
      merchants: [{ id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' }],
      stores: [
        { id: 's1', merchant_id: 'm1', name: 'Mitte', time_zone: s1Zone },
        { id: 's2', merchant_id: 'm1', name: 'Soho', time_zone: 'Europe/London' },
      ],
      fraud_ips: [],
    });

  before(async () => {
    await useEmulators();
    const client = bigtableClient(TEST_PROJECT);
    const instance = client.instance(TEST_INSTANCE);
    series = createBigtableSeriesStore(await ensureTable(instance, `series-reads-${suffix}`, SERIES_FAMILIES));
    const keys = cachedKeyStore(createBigtableKeyStore(await ensureTable(instance, `keys-reads-${suffix}`, KEYS_FAMILIES)), { ttlMs: 60_000 });
    await seedSeries(series);
    await mirrorDimensionDocuments(series, dims('Europe/Berlin'));
    readKey = (await addKey(keys, 'read', 'm1')).key;
    app = createQueryApi({ series, keys, pepper: PEPPER, clock: { now: () => NOW }, logger: pino({ level: 'silent' }), rateLimit: false, dashboard: false });
    counter = countReadRows(client);
  });
  after(() => counter?.restore());

  const get = (path: string) => request(app).get(`/v1/merchants/m1/${path}`).set('Authorization', `Bearer ${readKey}`);
  /** ReadRows calls the client started while `fn` ran. */
  const readsOf = async (fn: () => Promise<unknown>): Promise<number> => {
    const before = counter.count();
    await fn();
    return counter.count() - before;
  };

  it('answers a warm metrics request with exactly one ReadRows call, documents and store check included', async () => {
    // The first request also looks the key up (cached afterwards).
    assert.equal(await readsOf(() => get('metrics?series=sales&granularity=hour&from=2026-11-14T12:00:00Z&to=2026-11-21T12:00:00Z')), 2);
    let body: { time_zone: string; points: { start: string; values: { orders: number }; provisional: boolean }[] } | undefined;
    const reads = await readsOf(async () => {
      const res = await get('metrics?series=sales&metrics=orders&granularity=hour&from=2026-11-21T08:00:00Z&to=2026-11-21T12:00:00Z');
      assert.equal(res.status, 200);
      body = res.body;
    });
    assert.equal(reads, 1);
    // Rows from the range, provisional marks from the freshness document read in the same call.
    assert.deepEqual(body!.points, [
      { start: '2026-11-21T08:00:00Z', values: { orders: m1Orders(Date.parse('2026-11-21T08:00:00Z')) }, provisional: false },
      { start: '2026-11-21T09:00:00Z', values: { orders: m1Orders(Date.parse('2026-11-21T09:00:00Z')) }, provisional: false },
      { start: '2026-11-21T10:00:00Z', values: { orders: 9 }, provisional: true },
      { start: '2026-11-21T11:00:00Z', values: { orders: 9 }, provisional: true },
    ]);
    const store = await readsOf(async () => {
      const res = await get('metrics?series=sales&metrics=orders&granularity=day&from=2026-11-19&to=2026-11-22&store=s2');
      assert.deepEqual([res.status, res.body.time_zone], [200, 'Europe/London']);
    });
    assert.equal(store, 1);
    assert.equal(await readsOf(async () => assert.equal((await get('metrics?series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z&store=nope')).status, 404)), 1);
    // A comparison and a ranking are one read too: the previous period lies just before the range, and a
    // ranking reads its range's ranked rows (pipeline/series/ranked.ts).
    const compared = await readsOf(async () => {
      const res = await get('metrics?series=sales&metrics=orders&range=yesterday&compare=previous_period');
      assert.deepEqual([res.status, res.body.from, res.body.comparison.from], [200, '2026-11-19T23:00:00Z', '2026-11-18T23:00:00Z']);
    });
    assert.equal(compared, 1);
    const top = await readsOf(async () => {
      const res = await get('top?series=products&by=units&from=2026-11-21T00:00:00Z&to=2026-11-21T12:00:00Z');
      assert.deepEqual(res.body.items, [{ rank: 1, key: 'PIZZA/Margherita #1', values: { units: 4, orders: 3, gross_revenue_minor: 4000, net_revenue_minor: 3800 } }]);
    });
    assert.equal(top, 1);
    assert.equal(await readsOf(() => get('stores')), 1);
    assert.equal(await readsOf(() => get('freshness')), 1);
  });

  it('sees dimensions loaded again at the next request, at the cost of one more ReadRows call then', async () => {
    await get('stores');
    await mirrorDimensionDocuments(series, dims('Asia/Tokyo'));
    let zone = '';
    const reads = await readsOf(async () => {
      zone = (await get('metrics?series=sales&metrics=orders&granularity=day&from=2026-11-19&to=2026-11-22&store=s1')).body.time_zone;
    });
    assert.deepEqual([zone, reads], ['Asia/Tokyo', 2]);
    assert.equal(await readsOf(() => get('metrics?series=sales&metrics=orders&granularity=day&from=2026-11-19&to=2026-11-22&store=s1')), 1);
  });
});
