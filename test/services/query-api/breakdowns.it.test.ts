// Breakdowns (/top) and comparisons (compare=previous_period, range presets) against an independent
// computation: the seeded mart workload (a New York merchant across the 2026-03-08 DST change, +05:30 and
// +05:45 merchants) is built into marts on DuckDB, exported to LMDB as in production, and every number the
// API answers is checked against the plain-TypeScript oracle (test/support/oracle.ts) over the raw events.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import * as oracle from '../../support/oracle.js';
import { loadDimensions, loadEvents, openWarehouse } from '../../pipeline/marts/support.js';
import { WORKLOAD_DIMS, workload } from '../../pipeline/marts/workload.js';
import { serveMarts, type ServedMarts } from './served-marts.js';

const NY = 'America/New_York';
const HOUR = 3_600_000;
const window = { start: new Date('2026-03-05T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') };
const NOW = new Date('2026-03-09T16:30:00Z'); // 12:30 in New York (EDT), the day after the change

type Row = oracle.OracleRow;
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
/** Rows of the oracle grouped by `key`, `metric` summed, for rows `keep` selects. */
function sumBy(rows: Row[], key: string, metrics: string[], keep: (r: Row) => boolean): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) {
    if (!keep(r) || r[key] === null) continue;
    const k = String(r[key]);
    const acc = out.get(k) ?? Object.fromEntries(metrics.map((m) => [m, 0]));
    for (const m of metrics) acc[m]! += num(r[m]);
    out.set(k, acc);
  }
  return out;
}
/** A local date of New York for an hour row, by Intl (not by the API's hour arithmetic). */
const nyDate = (r: Row): string => oracle.localDate(Date.parse(String(r.hour_start)), NY);
const inDays = (from: string, to: string) => (r: Row) => nyDate(r) >= from && nyDate(r) < to;
const changePct = (cur: number, prev: number): number | null => (prev === 0 ? null : ((cur - prev) / Math.abs(prev)) * 100);

describe('breakdowns and comparisons against the oracle (DST included)', function () {
  this.timeout(120_000);
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let events: oracle.OracleEvent[];
  let served: ServedMarts;

  before(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, WORKLOAD_DIMS);
    events = await loadEvents(wh, dims, workload(20261204, 4000, new Date('2026-03-05T12:00:00Z'), 4 * 24 + 12));
    served = await serveMarts(wh, window, { merchant: 'm_ny', newestEventAt: '2026-03-09T23:59:00.000Z', now: NOW });
  });
  after(async () => {
    await served?.close();
    await wh?.close();
  });

  const get = (path: string, accept?: string) => served.get(path, accept);

  it('ranks products over local days spanning the DST change exactly, the rest as other', async () => {
    const from = '2026-03-07';
    const to = '2026-03-09';
    const metrics = ['units', 'orders', 'gross_revenue_minor', 'net_revenue_minor'];
    const want = [...sumBy(oracle.hourlyProductSales(events, window), 'sku', metrics, (r) => r.merchant_id === 'm_ny' && inDays(from, to)(r))].sort(
      ([ka, a], [kb, b]) => b.net_revenue_minor! - a.net_revenue_minor! || (ka < kb ? -1 : 1),
    );
    assert.ok(want.length >= 4, `the workload sells ${want.length} skus`);
    const res = await get(`top?series=products&by=net_revenue_minor&limit=2&from=${from}&to=${to}`);
    // New York's 2026-03-08 has 23 hours: 05:00Z on the 7th to 04:00Z on the 9th is 47 hours.
    assert.deepEqual([res.body.from, res.body.to, res.body.time_zone, res.body.hours], [from, to, NY, { from: '2026-03-07T05:00:00Z', to: '2026-03-09T04:00:00Z' }]);
    assert.deepEqual(
      res.body.items,
      want.slice(0, 2).map(([sku, values], i) => ({ rank: i + 1, key: sku, values })),
    );
    const rest = want.slice(2);
    assert.deepEqual(res.body.other, { count: rest.length, values: Object.fromEntries(metrics.map((m) => [m, rest.reduce((s, [, v]) => s + v[m]!, 0)])) });
    assert.deepEqual(res.body.totals, Object.fromEntries(metrics.map((m) => [m, want.reduce((s, [, v]) => s + v[m]!, 0)])));
  });

  it("ranks one store's products when asked, and refuses an unknown store", async () => {
    const metrics = ['units', 'orders', 'gross_revenue_minor', 'net_revenue_minor'];
    const want = [...sumBy(oracle.hourlyProductSales(events, window), 'sku', metrics, (r) => r.merchant_id === 'm_ny' && r.store_id === 's2' && inDays('2026-03-06', '2026-03-10')(r))].sort(
      ([ka, a], [kb, b]) => b.units! - a.units! || (ka < kb ? -1 : 1),
    );
    assert.ok(want.length >= 2);
    const res = await get('top?series=products&by=units&from=2026-03-06&to=2026-03-10&store=s2');
    assert.equal(res.body.store, 's2');
    assert.deepEqual(res.body.items.map((i: { key: string; values: object }) => [i.key, i.values]), want);
    const unknown = await served.send('top?series=products&by=units&from=2026-03-06&to=2026-03-10&store=nope');
    assert.equal(unknown.status, 404);
  });

  it('ranks stores by units of a preset range, and answers the same numbers as CSV', async () => {
    // last_7_days on 2026-03-09 in New York: 03-03 .. 03-09 inclusive.
    const res = await get('top?series=sales&by=orders&range=last_7_days');
    assert.deepEqual([res.body.from, res.body.to], ['2026-03-03', '2026-03-10']);
    const metrics = Object.keys(res.body.totals);
    const want = [...sumBy(oracle.hourlyStoreSales(events, window), 'store_id', metrics, (r) => r.merchant_id === 'm_ny' && inDays('2026-03-03', '2026-03-10')(r))].sort(
      ([ka, a], [kb, b]) => b.orders! - a.orders! || (ka < kb ? -1 : 1),
    );
    assert.deepEqual(res.body.items.map((i: { key: string; values: object }) => [i.key, i.values]), want);
    assert.equal(res.body.other.count, 0);
    const csv = await get('top?series=sales&by=orders&range=last_7_days', 'text/csv');
    assert.match(csv.headers['content-type']!, /^text\/csv/);
    assert.deepEqual(csv.text.trimEnd().split('\r\n'), [
      ['rank', 'store', ...metrics].join(','),
      ...want.map(([store, v], i) => [i + 1, store, ...metrics.map((m) => v[m])].join(',')),
      ['', 'total', ...metrics.map((m) => want.reduce((s, [, v]) => s + v[m]!, 0))].join(','),
    ]);
  });

  it('ranks pages by page views over local days spanning the DST change from the daily rows; visitors only for a single day', async () => {
    const from = '2026-03-07';
    const to = '2026-03-09';
    const daily = oracle.dailyTrafficBreakdown(events, dims, window).filter((r) => r.merchant_id === 'm_ny' && r.dimension === 'page');
    const want = [...sumBy(daily, 'dimension_value', ['page_views'], (r) => String(r.local_date) >= from && String(r.local_date) < to)].sort(
      ([ka, a], [kb, b]) => b.page_views! - a.page_views! || (ka < kb ? -1 : 1),
    );
    assert.ok(want.length >= 4, `the workload views ${want.length} pages`);
    const res = await get(`top?series=pages&by=page_views&limit=3&from=${from}&to=${to}`);
    assert.deepEqual([res.body.dimension, res.body.granularity, res.body.from, res.body.to, res.body.time_zone], ['page', 'day', from, to, NY]);
    // Two days: visitors and sessions are not summed over days, nor over pages.
    assert.deepEqual(
      res.body.items,
      want.slice(0, 3).map(([page, v], i) => ({ rank: i + 1, key: page, values: { page_views: v.page_views, visitors: null, sessions: null } })),
    );
    const rest = want.slice(3);
    assert.deepEqual(res.body.other, { count: rest.length, values: { page_views: rest.reduce((n, [, v]) => n + v.page_views!, 0), visitors: null, sessions: null } });
    // Every page view has a page: the pages add up to the traffic series' page views of those days.
    const traffic = oracle.dailyTraffic(events, dims, window).filter((r) => r.merchant_id === 'm_ny' && String(r.local_date) >= from && String(r.local_date) < to);
    assert.equal(res.body.totals.page_views, traffic.reduce((n, r) => n + num(r.page_views), 0));

    const one = await get('top?series=referrers&by=page_views&limit=100&from=2026-03-08&to=2026-03-09');
    const referrers = oracle
      .dailyTrafficBreakdown(events, dims, window)
      .filter((r) => r.merchant_id === 'm_ny' && r.dimension === 'referrer' && r.local_date === '2026-03-08')
      .sort((a, b) => num(b.page_views) - num(a.page_views) || (String(a.dimension_value) < String(b.dimension_value) ? -1 : 1));
    assert.ok(referrers.some((r) => r.dimension_value === '(internal)') && referrers.some((r) => r.dimension_value === 'search.example'));
    assert.deepEqual(
      one.body.items,
      referrers.map((r, i) => ({ rank: i + 1, key: r.dimension_value, values: { page_views: r.page_views, visitors: r.visitors, sessions: r.sessions } })),
    );
  });

  it('ranks devices over UTC hours from the hourly rows, and answers an hour with its exact visitors', async () => {
    const hourly = oracle.hourlyTrafficBreakdown(events, window).filter((r) => r.merchant_id === 'm_ny' && r.dimension === 'device');
    const res = await get('top?series=devices&by=page_views&from=2026-03-07T00:00:00Z&to=2026-03-08T12:00:00Z');
    const want = [...sumBy(hourly, 'dimension_value', ['page_views'], (r) => String(r.hour_start) >= '2026-03-07T00' && String(r.hour_start) < '2026-03-08T12')].sort(
      ([ka, a], [kb, b]) => b.page_views! - a.page_views! || (ka < kb ? -1 : 1),
    );
    assert.equal(res.body.granularity, 'hour');
    assert.deepEqual(res.body.items.map((i: { key: string; values: { page_views: number } }) => [i.key, i.values.page_views]), want.map(([d, v]) => [d, v.page_views]));
    const busiest = hourly.reduce((a, b) => (num(b.page_views) > num(a.page_views) ? b : a));
    const start = new Date(String(busiest.hour_start)).toISOString().replace('.000Z', 'Z');
    const hour = await get(`top?series=devices&by=page_views&from=${start}&to=${new Date(Date.parse(start) + HOUR).toISOString().replace('.000Z', 'Z')}`);
    const item = hour.body.items.find((i: { key: string }) => i.key === busiest.dimension_value);
    assert.deepEqual(item.values, { page_views: busiest.page_views, visitors: busiest.visitors, sessions: busiest.sessions });
  });

  it("answers one page's, referrer's, device's or country's series per day with its exact distinct counts", async () => {
    const daily = oracle.dailyTrafficBreakdown(events, dims, window).filter((r) => r.merchant_id === 'm_ny');
    for (const [series, param, dimension] of [['pages', 'page', 'page'], ['referrers', 'referrer', 'referrer'], ['devices', 'device', 'device'], ['countries', 'country', 'country']] as const) {
      const busiest = daily.filter((r) => r.dimension === dimension).reduce((a, b) => (num(b.page_views) > num(a.page_views) ? b : a));
      const value = String(busiest.dimension_value);
      const res = await get(`metrics?series=${series}&${param}=${encodeURIComponent(value)}&granularity=day&from=2026-03-06&to=2026-03-10`);
      assert.deepEqual(
        res.body.points.map((p: { start: string; values: object }) => [p.start, p.values]),
        ['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09'].map((d) => {
          const r = daily.find((x) => x.dimension === dimension && x.dimension_value === value && x.local_date === d);
          return [d, { page_views: num(r?.page_views), visitors: num(r?.visitors), sessions: num(r?.sessions) }];
        }),
        `${series} ${value}`,
      );
    }
    const missing = await served.send('metrics?series=pages&granularity=day&from=2026-03-06&to=2026-03-10');
    assert.deepEqual([missing.status, missing.body.error.param], [400, 'page']);
  });

  it('compares local days with the previous period: points, totals and change in % from the oracle', async () => {
    const res = await get('metrics?series=sales&metrics=orders,net_revenue_minor,refunds,average_order_value_minor&granularity=day&from=2026-03-08&to=2026-03-10&compare=previous_period');
    const daily = oracle.dailySales(events, dims, window, 'merchant').filter((r) => r.merchant_id === 'm_ny');
    const day = (d: string) => daily.find((r) => r.local_date === d);
    const totals = (days: string[]) => {
      const pick = (m: string) => days.reduce((s, d) => s + num(day(d)?.[m]), 0);
      const gross = pick('gross_revenue_minor');
      const orders = pick('orders');
      return { orders, net_revenue_minor: pick('net_revenue_minor'), refunds: pick('refunds'), average_order_value_minor: orders === 0 ? null : (gross - pick('discount_minor')) / orders };
    };
    const cur = totals(['2026-03-08', '2026-03-09']);
    const prev = totals(['2026-03-06', '2026-03-07']);
    assert.ok(cur.orders > 0 && prev.orders > 0);
    assert.deepEqual(res.body.points.map((p: { start: string; values: { orders: number } }) => [p.start, p.values.orders]), [
      ['2026-03-08', num(day('2026-03-08')?.orders)],
      ['2026-03-09', num(day('2026-03-09')?.orders)],
    ]);
    assert.deepEqual(res.body.totals, cur);
    assert.deepEqual([res.body.comparison.from, res.body.comparison.to], ['2026-03-06', '2026-03-08']);
    assert.deepEqual(res.body.comparison.totals, prev);
    assert.deepEqual(res.body.comparison.change_pct, {
      orders: changePct(cur.orders, prev.orders),
      net_revenue_minor: changePct(cur.net_revenue_minor, prev.net_revenue_minor),
      refunds: changePct(cur.refunds, prev.refunds),
      average_order_value_minor: changePct(cur.average_order_value_minor!, prev.average_order_value_minor!),
    });
    assert.deepEqual(res.body.comparison.points.map((p: { start: string }) => p.start), ['2026-03-06', '2026-03-07']);
  });

  it("resolves yesterday in the merchant's zone: the 23 hours of the DST day, compared with the 23 hours before", async () => {
    const res = await get('metrics?series=sales&metrics=orders,net_revenue_minor&range=yesterday&compare=previous_period');
    assert.deepEqual([res.body.granularity, res.body.from, res.body.to, res.body.points.length], ['hour', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 23]);
    assert.deepEqual([res.body.comparison.from, res.body.comparison.to, res.body.comparison.points.length], ['2026-03-07T06:00:00Z', '2026-03-08T05:00:00Z', 23]);
    const hourly = oracle.hourlyStoreSales(events, window).filter((r) => r.merchant_id === 'm_ny');
    const sumHours = (fromMs: number, toMs: number, m: string) => hourly.filter((r) => Date.parse(String(r.hour_start)) >= fromMs && Date.parse(String(r.hour_start)) < toMs).reduce((s, r) => s + num(r[m]), 0);
    const t0 = Date.parse('2026-03-08T05:00:00Z');
    assert.deepEqual(res.body.totals, { orders: sumHours(t0, t0 + 23 * HOUR, 'orders'), net_revenue_minor: sumHours(t0, t0 + 23 * HOUR, 'net_revenue_minor') });
    assert.deepEqual(res.body.comparison.totals, { orders: sumHours(t0 - 23 * HOUR, t0, 'orders'), net_revenue_minor: sumHours(t0 - 23 * HOUR, t0, 'net_revenue_minor') });
    // Every hour's orders, as the oracle counts them per hour.
    for (const p of res.body.points as { start: string; values: { orders: number } }[]) {
      assert.equal(p.values.orders, sumHours(Date.parse(p.start), Date.parse(p.start) + HOUR, 'orders'), p.start);
    }
  });

  it('answers the hours of custom local days (dates with granularity=hour), the DST day with its 23 hours', async () => {
    const res = await get('metrics?series=sales&metrics=orders&granularity=hour&from=2026-03-08&to=2026-03-09&compare=previous_period');
    assert.deepEqual([res.body.from, res.body.to, res.body.points.length], ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 23]);
    const yesterday = await get('metrics?series=sales&metrics=orders&range=yesterday&compare=previous_period');
    assert.deepEqual(res.body, yesterday.body);
  });

  it('answers metrics as CSV with the comparison rows marked', async () => {
    const json = (await get('metrics?series=sales&metrics=orders,net_revenue_minor&granularity=day&from=2026-03-08&to=2026-03-10&compare=previous_period')).body;
    const csv = await get('metrics?series=sales&metrics=orders,net_revenue_minor&granularity=day&from=2026-03-08&to=2026-03-10&compare=previous_period&format=csv');
    assert.match(csv.headers['content-disposition']!, /^attachment; filename="m_ny-sales-day-2026-03-08\.csv"$/);
    const line = (period: string) => (p: { start: string; provisional: boolean; values: { orders: number; net_revenue_minor: number } }) => [period, p.start, p.provisional, p.values.orders, p.values.net_revenue_minor].join(',');
    assert.deepEqual(csv.text.trimEnd().split('\r\n'), ['period,start,provisional,orders,net_revenue_minor', ...json.points.map(line('current')), ...json.comparison.points.map(line('previous'))]);
  });
});
