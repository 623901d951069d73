// The low-stock list and the promotions' uplift through the API, on a seeded workload built into marts on
// DuckDB and exported to LMDB as in production: the low-stock list against the plain-TypeScript oracle of
// closing inventory (test/support/oracle.ts), the promotions against the promotion mart's own rows summed
// here, so the exporter's series and the route's sums are both checked.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import * as oracle from '../../support/oracle.js';
import { inventory, loadDimensions, loadEvents, martTable, openWarehouse, promotion } from '../../pipeline/marts/support.js';
import { WORKLOAD_DIMS, workload } from '../../pipeline/marts/workload.js';
import { serveMarts, type ServedMarts } from './served-marts.js';

/** Code-point order, as row keys sort (not the locale's). */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// The whole history is built: the promotion baselines are read from the hourly sales of earlier weeks.
const window = { start: new Date('2026-02-01T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') };
const NOW = new Date('2026-03-10T16:30:00Z');

describe('low stock and promotion uplift through the API', function () {
  this.timeout(180_000);
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let events: oracle.OracleEvent[];
  let served: ServedMarts;

  before(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, WORKLOAD_DIMS);
    // Five weeks of sales before and through the window, so promotion days have baseline weeks.
    const history = workload(20261205, 2500, new Date('2026-02-01T00:00:00Z'), 32 * 24);
    const recent = workload(20261206, 3000, new Date('2026-03-05T00:00:00Z'), 6 * 24);
    const promos = [
      promotion({ merchant: 'm_ny', at: '2026-03-01T10:00:00Z', promoId: 'p-weekend', startsAt: '2026-03-07T14:00:00Z', endsAt: '2026-03-09T02:00:00Z', stores: ['s1'] }),
      promotion({ merchant: 'm_ny', at: '2026-03-01T10:00:00Z', promoId: 'p-all', startsAt: '2026-03-06T12:00:00Z', endsAt: '2026-03-06T20:00:00Z' }),
      promotion({ merchant: 'm_ny', at: '2026-03-01T10:00:00Z', promoId: 'p-later', startsAt: '2026-03-10T12:00:00Z', endsAt: '2026-03-10T20:00:00Z', stores: ['s2'] }),
      // flour in s1 goes low on the 7th and stays low (a further drop keeps its start); s2 restocks; cheese goes low late.
      inventory({ merchant: 'm_ny', store: 's1', at: '2026-03-05T10:00:00Z', sku: 'flour', onHand: 50 }),
      inventory({ merchant: 'm_ny', store: 's1', at: '2026-03-07T15:20:00Z', sku: 'flour', onHand: 8 }),
      inventory({ merchant: 'm_ny', store: 's1', at: '2026-03-09T09:00:00Z', sku: 'flour', onHand: 4 }),
      inventory({ merchant: 'm_ny', store: 's2', at: '2026-03-06T08:00:00Z', sku: 'flour', onHand: 5 }),
      inventory({ merchant: 'm_ny', store: 's2', at: '2026-03-08T10:00:00Z', sku: 'flour', onHand: 30 }),
      inventory({ merchant: 'm_ny', store: 's2', at: '2026-03-10T20:59:00Z', sku: 'cheese', onHand: 3 }),
    ].map((event) => ({ event }));
    events = await loadEvents(wh, dims, [...history, ...recent, ...promos]);
    served = await serveMarts(wh, window, { merchant: 'm_ny', newestEventAt: '2026-03-10T23:59:00.000Z', now: NOW });
  });
  after(async () => {
    await served?.close();
    await wh?.close();
  });

  const get = (path: string, accept?: string) => served.get(path, accept);

  /** The oracle's low items: each store and sku's newest hour, when low, with the first hour of its low run. */
  function expectedLowStock(store?: string) {
    const rows = oracle.hourlyStoreInventory(events, window, WORKLOAD_DIMS.low_stock_threshold).filter((r) => r.merchant_id === 'm_ny' && (store === undefined || r.store_id === store));
    const byItem = new Map<string, oracle.OracleRow[]>();
    for (const r of rows) byItem.set(`${r.store_id}|${r.sku}`, [...(byItem.get(`${r.store_id}|${r.sku}`) ?? []), r]);
    const out = [];
    for (const list of byItem.values()) {
      list.sort((a, b) => Date.parse(String(a.hour_start)) - Date.parse(String(b.hour_start)));
      const last = list.at(-1)!;
      if (last.low_stock !== 1) continue;
      let i = list.length - 1;
      while (i > 0 && list[i - 1]!.low_stock === 1) i--;
      out.push({
        store_id: String(last.store_id),
        sku: String(last.sku),
        closing_quantity: Number(last.closing_quantity),
        low_since: new Date(String(list[i]!.hour_start)).toISOString(),
        as_of: new Date(Date.parse(String(last.hour_start)) + 3_600_000).toISOString(),
      });
    }
    return out.sort((a, b) => a.closing_quantity - b.closing_quantity || cmp(a.low_since, b.low_since) || cmp(a.store_id, b.store_id) || cmp(a.sku, b.sku));
  }

  it('lists the store and sku pairs that close below the threshold now, with the hour their low run began', async () => {
    const want = expectedLowStock();
    assert.ok(want.length >= 2, `the workload leaves ${want.length} items low`);
    // Not low from its first hour on: "since" is where the low run began, not the first row.
    assert.deepEqual(
      want.filter((w) => ['flour', 'cheese'].includes(w.sku)).map((w) => [w.store_id, w.sku, w.closing_quantity, w.low_since]),
      [
        ['s2', 'cheese', 3, '2026-03-10T20:00:00.000Z'],
        ['s1', 'flour', 4, '2026-03-07T15:00:00.000Z'],
      ],
    );
    const res = await get('low-stock');
    assert.deepStrictEqual(res.body, { merchant_id: 'm_ny', items: want });
    const s2 = await get('low-stock?store=s2');
    assert.deepStrictEqual(s2.body, { merchant_id: 'm_ny', store: 's2', items: expectedLowStock('s2') });
    const csv = await get('low-stock', 'text/csv');
    assert.deepEqual(csv.text.trimEnd().split('\r\n'), [
      'store_id,sku,closing_quantity,low_since,as_of',
      ...want.map((w) => [w.store_id, w.sku.includes(',') ? `"${w.sku}"` : w.sku, w.closing_quantity, w.low_since, w.as_of].join(',')),
    ]);
    const unknown = await served.send('low-stock?store=nope');
    assert.equal(unknown.status, 404);
  });

  it("sums each promotion's days in the range per store and in all, against the baseline of the days that have one", async () => {
    const rows = (await martTable(wh, 'mart_daily_promotion_performance')).filter((r) => r.merchant_id === 'm_ny');
    const from = '2026-03-05';
    const to = '2026-03-10';
    const inRange = rows.filter((r) => String(r.local_date) >= from && String(r.local_date) < to);
    assert.ok(inRange.some((r) => r.baseline_net_revenue_minor !== null), 'some promotion day has a baseline');
    const sum = (list: oracle.OracleRow[]) => {
      const based = list.filter((r) => r.baseline_net_revenue_minor !== null);
      const baseline = based.reduce((n, r) => n + Number(r.baseline_net_revenue_minor), 0);
      const net = based.reduce((n, r) => n + Number(r.promo_net_revenue_minor), 0);
      return {
        days: list.length,
        promo_orders: list.reduce((n, r) => n + Number(r.promo_orders), 0),
        promo_net_revenue_minor: list.reduce((n, r) => n + Number(r.promo_net_revenue_minor), 0),
        days_with_baseline: based.length,
        baseline_net_revenue_minor: based.length ? baseline : null,
        net_revenue_uplift_minor: based.length ? net - baseline : null,
        net_revenue_lift_ratio: based.length && baseline !== 0 ? net / baseline : null,
      };
    };
    const promoIds = [...new Set(inRange.map((r) => String(r.promo_id)))];
    assert.deepEqual(promoIds.sort(), ['p-all', 'p-weekend'], 'p-later runs after the range');
    const want = promoIds
      .map((promo_id) => {
        const list = inRange.filter((r) => r.promo_id === promo_id);
        const days = list.map((r) => String(r.local_date)).sort();
        const stores = [...new Set(list.map((r) => String(r.store_id)))].sort();
        return { promo_id, first_day: days[0], last_day: days.at(-1), ...sum(list), stores: stores.map((store_id) => ({ store_id, ...sum(list.filter((r) => r.store_id === store_id)) })) };
      })
      .sort((a, b) => (b.net_revenue_uplift_minor ?? -Infinity) - (a.net_revenue_uplift_minor ?? -Infinity) || cmp(a.promo_id, b.promo_id));
    const res = await get(`promotions?from=${from}&to=${to}`);
    assert.deepStrictEqual(res.body, { merchant_id: 'm_ny', from, to, promotions: want });
    // p-all ran in every store of the merchant.
    assert.deepEqual(want.find((p) => p.promo_id === 'p-all')!.stores.map((s) => s.store_id), ['s1', 's2', 's_empty']);

    // One promotion in one store, day by day, as the metrics route answers it (the store's local days).
    const daily = await get(`metrics?series=promotions&promo=p-weekend&store=s1&granularity=day&from=${from}&to=${to}`);
    const weekend = inRange.filter((r) => r.promo_id === 'p-weekend' && r.store_id === 's1');
    type Point = { start: string; values: Record<string, number | null> };
    const ran = new Set(weekend.map((r) => r.local_date));
    assert.deepEqual(
      (daily.body.points as Point[]).filter((p) => ran.has(p.start)).map((p) => [p.start, p.values.promo_net_revenue_minor, p.values.baseline_net_revenue_minor]),
      weekend.map((r) => [r.local_date, r.promo_net_revenue_minor, r.baseline_net_revenue_minor]).sort(),
    );
    assert.ok(weekend.length >= 2);

    const preset = await get('promotions?range=today');
    assert.deepEqual(preset.body.promotions.map((p: { promo_id: string }) => p.promo_id), ['p-later']);
    const bad = await served.send('promotions?from=2026-03-05');
    assert.deepEqual([bad.status, bad.body.error.param], [400, 'to']);
  });
});
