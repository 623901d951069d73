// Metrics answers as written (points.ts pointsJson, the bytes the route sends): the same bytes as
// JSON.stringify of the points buildPoints builds from rows read afresh, for hours and days, merchant
// and store, provisional hours, DST days and ranges without rows, on the first read and on every read
// after, through the route and the listener ahead of express; and no answer outlives what it was built
// from beyond its max-age: a re-exported, deleted or partially updated row, a finalized_through that
// moves, a new dimensions version, a provisional answer's 10 s. Any answer or point kept between reads
// must keep these true.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { MerchantDocument, StoresDocument } from '../../../pipeline/series/documents.js';
import { documentKey, encodeRowKey, rowRange } from '../../../pipeline/series/row-key.js';
import { createQueryApi, createQueryApiListener, type QueryApiDeps } from '../../../services/query-api/app.js';
import { parseMetricsQuery } from '../../../services/query-api/params.js';
import { bucketRange, bucketSlots, buildPoints } from '../../../services/query-api/points.js';
import { resolveRange } from '../../../services/query-api/ranges.js';
import { MemoryKeyStore, NOW, PEPPER, addKey, key, salesCells, seedSeries } from './fixtures.js';

const silent = pino({ level: 'silent' });

describe('metrics answers as written', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let keys: MemoryKeyStore;
  let adminKey: string;
  let now: Date;
  const clock = { now: () => now };
  const make = (extra: Partial<QueryApiDeps> = {}) => createQueryApi({ series, keys, pepper: PEPPER, clock, logger: silent, rateLimit: false, ...extra });
  const get = (app: Parameters<typeof request>[0], url: string) => request(app).get(url).set('Authorization', `Bearer ${adminKey}`);

  /** The answer as the route wrote it before kept points: JSON.stringify of buildPoints over rows read afresh. */
  async function written(merchantId: string, query: string): Promise<string> {
    const q = parseMetricsQuery(Object.fromEntries(new URLSearchParams(query)));
    const merchant = await series.getDocument<MerchantDocument>(documentKey(merchantId, 'merchant'));
    const stores = await series.getDocument<StoresDocument>(documentKey(merchantId, 'stores'));
    const store = stores?.stores.find((s) => s.id === q.dims.store);
    const timeZone = store && q.grain === 'd' ? store.time_zone : (merchant?.time_zone ?? 'UTC');
    const current = resolveRange(q, timeZone, now);
    const rows = await series.readRange(rowRange({ merchantId, series: q.series.name, dims: q.dims, grain: q.grain }, ...bucketRange(current)));
    const freshness = await series.getDocument<{ finalized_through: string }>(documentKey(merchantId, 'freshness'));
    const points = buildPoints({ slots: bucketSlots(current, timeZone), rows, metrics: q.metrics, finalizedThroughMs: Date.parse(freshness!.finalized_through) });
    return JSON.stringify({ merchant_id: merchantId, series: q.series.name, granularity: q.grain === 'h' ? 'hour' : 'day', time_zone: q.grain === 'h' ? 'UTC' : timeZone, points });
  }

  beforeEach(async () => {
    now = NOW;
    dir = await mkdtemp(join(tmpdir(), 'metrics-answers-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    // 40 days: back to 2026-10-12, across the end of summer time in Berlin and London (2026-10-25).
    await seedSeries(series, { days: 40 });
    keys = new MemoryKeyStore();
    adminKey = (await addKey(keys, 'admin')).key;
  });
  afterEach(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the bytes of stringified built points, on the first read and every read after, with caching on or off', async () => {
    const cases: [string, string][] = [
      // 31 days of hours, the merchant's totals, across the DST change
      ['m1', 'series=sales&granularity=hour&from=2026-10-20T00:00:00Z&to=2026-11-20T00:00:00Z'],
      // one store's hours, ending with provisional hours that hold partials (10:00, 11:00) and one without a row
      ['m1', 'series=sales&granularity=hour&from=2026-11-20T12:00:00Z&to=2026-11-21T13:00:00Z&store=s1'],
      ['m1', 'series=sales&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T13:00:00Z'],
      // days in Berlin and in a London store across the DST day of 23 hours, and the provisional day
      ['m1', 'series=sales&granularity=day&from=2026-10-20&to=2026-11-22'],
      ['m1', 'series=sales&granularity=day&from=2026-10-24&to=2026-10-27&store=s2'],
      ['m1', 'series=sales&granularity=day&from=2026-11-18&to=2026-11-22&store=s2'],
      // a subset of the metrics, in another order, and a ratio derived from partials
      ['m1', 'series=sales&metrics=average_order_value_minor,orders&granularity=hour&from=2026-11-21T08:00:00Z&to=2026-11-21T12:00:00Z'],
      ['m1', 'series=traffic&metrics=orders_per_session,page_views&granularity=hour&from=2026-11-19T00:00:00Z&to=2026-11-20T00:00:00Z'],
      // ranges without a single row: before the data, and a merchant in another zone with none of the series
      ['m1', 'series=sales&granularity=hour&from=2026-09-01T00:00:00Z&to=2026-09-08T00:00:00Z'],
      ['m1', 'series=sales&granularity=day&from=2026-09-01&to=2026-09-08&store=s2'],
      ['m2', 'series=traffic&granularity=day&from=2026-11-01&to=2026-11-08'],
    ];
    for (const cache of [false, true]) {
      // the app's route and the listener ahead of express both answer from the same kept points
      for (const app of [make({ cache, answerCache: false }), createQueryApiListener({ series, keys, pepper: PEPPER, clock, logger: silent, rateLimit: false, cache, answerCache: false, dashboard: false })]) {
        for (let pass = 0; pass < 2; pass++) {
          for (const [merchantId, query] of cases) {
            const res = await get(app, `/v1/merchants/${merchantId}/metrics?${query}`);
            assert.equal(res.status, 200, query);
            assert.equal(res.text, await written(merchantId, query), `${query} (pass ${pass}, cache ${cache})`);
          }
        }
      }
    }
  });

  it('answers a finalized hour as re-exported, a provisional one with its new partials, and a row deleted as empty', async () => {
    const app = make({ cache: false });
    const hours = 'series=sales&metrics=orders,net_revenue_minor&granularity=hour&from=2026-11-21T08:00:00Z&to=2026-11-21T12:00:00Z';
    const url = `/v1/merchants/m1/metrics?${hours}`;
    const before = await get(app, url);
    assert.deepEqual(
      (before.body as { points: { values: { orders: number } }[] }).points.map((p) => p.values.orders),
      [4, 5, 9, 9],
    );
    // a mart run rebuilt 08:00 and exported it again; the speed layer counted more orders of 11:00; 09:00 was replaced by nothing
    await series.mutate([
      { kind: 'set', key: encodeRowKey(key('m1', 'sales', {}, 'h'), '2026112108'), family: 'm', cells: salesCells(40) },
      { kind: 'set', key: encodeRowKey(key('m1', 'sales', {}, 'h'), '2026112111'), family: 'p', cells: { orders: 12, net_revenue_minor: 12000 } },
      { kind: 'delete_row', key: encodeRowKey(key('m1', 'sales', {}, 'h'), '2026112109') },
    ]);
    const after = await get(app, url);
    assert.equal(after.text, await written('m1', hours));
    assert.deepEqual(
      (after.body as { points: { values: { orders: number; net_revenue_minor: number }; provisional: boolean }[] }).points.map((p) => [p.values.orders, p.values.net_revenue_minor, p.provisional]),
      [
        [40, salesCells(40).net_revenue_minor, false],
        [0, 0, false],
        [9, 9000, true],
        [12, 12000, true],
      ],
    );
  });

  it('answers an hour as final once finalized_through reaches it, though its row is unchanged', async () => {
    const app = make({ cache: false });
    const hours = 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T09:00:00Z&to=2026-11-21T12:00:00Z';
    const points = async () => ((await get(app, `/v1/merchants/m1/metrics?${hours}`)).body as { points: { values: { orders: number }; provisional: boolean }[] }).points.map((p) => [p.values.orders, p.provisional]);
    assert.deepEqual(await points(), [[5, false], [9, true], [9, true]]);
    // the 10:00 mart run finalized 10:00 (its mart cells: 1 order); 11:00 keeps its partials
    await series.putDocument(documentKey('m1', 'freshness'), { newest_event_at: '2026-11-21T11:58:00.000Z', finalized_through: '2026-11-21T11:00:00.000Z' });
    assert.deepEqual(await points(), [[5, false], [1, false], [9, true]]);
  });

  it('answers days in the zone of the dimensions version read with the request', async () => {
    const app = make({ cache: false });
    const days = 'series=sales&metrics=orders&granularity=day&from=2026-11-19&to=2026-11-21';
    await series.putDocument(documentKey('m1', 'dimensions'), { version: 'v1' });
    const first = (await get(app, `/v1/merchants/m1/metrics?${days}`)).body as { time_zone: string; points: { start: string }[] };
    assert.equal(first.time_zone, 'Europe/Berlin');
    assert.equal((await get(app, `/v1/merchants/m1/metrics?${days}`)).text, await written('m1', days));
    // the merchant moved to another zone: a new dimensions version names it
    await series.putDocument(documentKey('m1', 'merchant'), { id: 'm1', name: 'Pizza One', time_zone: 'America/New_York', currency: 'EUR' });
    await series.putDocument(documentKey('m1', 'dimensions'), { version: 'v2' });
    const res = await get(app, `/v1/merchants/m1/metrics?${days}`);
    assert.equal((res.body as { time_zone: string }).time_zone, 'America/New_York');
    assert.equal(res.text, await written('m1', days));
  });

  it('keeps a provisional answer at most 10 seconds, then answers the partials written since', async () => {
    const app = make({ cache: true, answerCache: true });
    const hours = 'series=sales&metrics=orders&granularity=hour&from=2026-11-21T10:00:00Z&to=2026-11-21T12:00:00Z';
    const orders = async () => ((await get(app, `/v1/merchants/m1/metrics?${hours}`)).body as { points: { values: { orders: number } }[] }).points.map((p) => p.values.orders);
    assert.deepEqual(await orders(), [9, 9]);
    await series.mutate([{ kind: 'set', key: encodeRowKey(key('m1', 'sales', {}, 'h'), '2026112111'), family: 'p', cells: { orders: 15 } }]);
    now = new Date(NOW.getTime() + 9_000);
    assert.deepEqual(await orders(), [9, 9], 'kept within its max-age of 10 s');
    now = new Date(NOW.getTime() + 10_000);
    assert.deepEqual(await orders(), [9, 15]);
    assert.equal((await get(app, `/v1/merchants/m1/metrics?${hours}`)).text, await written('m1', hours));
  });
});
