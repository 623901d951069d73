// The mart statements of sql/marts/ executed on DuckDB through the dialect layer, over hand-made
// fixtures whose expected rows are written out in full: DST days, +05:30 and +05:45 zones, refunds
// and cancellations, late POS batches, inventory carried forward, promotions, stores without events.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import { buildMarts } from '../../../pipeline/marts/runner.js';
import { inventory, loadDimensions, loadEvents, martTable, openWarehouse, order, pageView, promotion, sortRows, type FixtureEvent } from './support.js';

const DIMS = {
  merchants: [
    { id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' },
    { id: 'm_in', name: 'Retail IN', time_zone: 'Asia/Kolkata', currency: 'INR' },
    { id: 'm_np', name: 'Shop NP', time_zone: 'Asia/Kathmandu', currency: 'NPR' },
  ],
  stores: [
    { id: 's1', merchant_id: 'm_ny', name: 'Midtown', city: 'New York', region: 'NY' },
    { id: 's_delhi', merchant_id: 'm_ny', name: 'Delhi', city: 'Delhi', region: 'DL', time_zone: 'Asia/Kolkata' },
    { id: 's_empty', merchant_id: 'm_ny', name: 'Closed', city: 'Boston', region: 'MA' },
    { id: 'k1', merchant_id: 'm_in', name: 'Mumbai', city: 'Mumbai', region: 'MH' },
    { id: 'n1', merchant_id: 'm_np', name: 'Thamel', city: 'Kathmandu', region: 'BA' },
  ],
  low_stock_threshold: 5,
};

const WINDOW = { windowStart: new Date('2026-03-06T00:00:00Z'), windowEnd: new Date('2026-03-11T00:00:00Z') };

describe('marts on DuckDB', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;

  beforeEach(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, DIMS);
  });
  afterEach(async () => wh.close());

  async function build(events: FixtureEvent[], window = WINDOW) {
    await loadEvents(wh, dims, events);
    return buildMarts(wh, window);
  }

  it('counts completed orders in their hour and refunds and cancellations in theirs, with negative revenue', async () => {
    await build([
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T10:05:00Z', orderId: 'o1', currency: 'USD', source: 'online', fulfilment: 'delivery', lines: [{ sku: 'pz', quantity: 2, unit_price_minor: 1500, discount_minor: 500 }] }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T10:40:00Z', orderId: 'o2', currency: 'USD', fulfilment: 'dine_in', lines: [{ sku: 'pz', quantity: 1, unit_price_minor: 1500 }] }) },
      // o1 partly refunded, then refunded again an hour later; o2 cancelled then refunded in the same hour: latest wins
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T11:10:00Z', orderId: 'o1', currency: 'USD', status: 'refunded', refund: 700 }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T12:10:00Z', orderId: 'o2', currency: 'USD', status: 'cancelled', refund: 1500 }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T12:20:00Z', orderId: 'o2', currency: 'USD', status: 'refunded', refund: 100 }) },
      // a web-shop order without a store
      { event: order({ merchant: 'm_ny', at: '2026-03-06T10:15:00Z', currency: 'USD', source: 'web', lines: [{ sku: 'tee', quantity: 3, unit_price_minor: 999 }] }) },
    ]);
    const zero = { online_orders: 0, pos_orders: 0, pickup_orders: 0, delivery_orders: 0, dine_in_orders: 0 };
    assert.deepStrictEqual(await martTable(wh, 'mart_hourly_store_sales'), sortRows([
      { merchant_id: 'm_ny', store_id: null, hour_start: '2026-03-06T10:00:00.000Z', orders: 1, items: 3, gross_revenue_minor: 2997, discount_minor: 0, refund_minor: 0, net_revenue_minor: 2997, refunds: 0, cancellations: 0, ...zero, online_orders: 1, pickup_orders: 1, average_order_value_minor: 2997 },
      { merchant_id: 'm_ny', store_id: 's1', hour_start: '2026-03-06T10:00:00.000Z', orders: 2, items: 3, gross_revenue_minor: 4500, discount_minor: 500, refund_minor: 0, net_revenue_minor: 4000, refunds: 0, cancellations: 0, ...zero, online_orders: 1, pos_orders: 1, delivery_orders: 1, dine_in_orders: 1, average_order_value_minor: 2000 },
      { merchant_id: 'm_ny', store_id: 's1', hour_start: '2026-03-06T11:00:00.000Z', orders: 0, items: 0, gross_revenue_minor: 0, discount_minor: 0, refund_minor: 700, net_revenue_minor: -700, refunds: 1, cancellations: 0, ...zero, average_order_value_minor: null },
      { merchant_id: 'm_ny', store_id: 's1', hour_start: '2026-03-06T12:00:00.000Z', orders: 0, items: 0, gross_revenue_minor: 0, discount_minor: 0, refund_minor: 1600, net_revenue_minor: -1600, refunds: 1, cancellations: 0, ...zero, average_order_value_minor: null },
    ]));
    assert.deepStrictEqual(await martTable(wh, 'mart_hourly_product_sales'), sortRows([
      { merchant_id: 'm_ny', store_id: null, sku: 'tee', hour_start: '2026-03-06T10:00:00.000Z', category: 'food', units: 3, orders: 1, gross_revenue_minor: 2997, discount_minor: 0, net_revenue_minor: 2997 },
      { merchant_id: 'm_ny', store_id: 's1', sku: 'pz', hour_start: '2026-03-06T10:00:00.000Z', category: 'food', units: 3, orders: 2, gross_revenue_minor: 4500, discount_minor: 500, net_revenue_minor: 4000 },
    ]));
  });

  it('takes merchant days in the merchant zone across a DST change, and a 23-hour day equals the sum of its local hours', async () => {
    // New York springs forward on 2026-03-08: that local day is 05:00Z .. next 04:00Z, 23 hours.
    const at = ['2026-03-08T04:59:59Z', '2026-03-08T05:00:00Z', '2026-03-08T06:59:59Z', '2026-03-08T07:00:00Z', '2026-03-09T03:59:59Z', '2026-03-09T04:00:00Z'];
    await build(at.map((t, i) => ({ event: order({ merchant: 'm_ny', store: 's1', at: t, currency: 'USD', lines: [{ sku: 'pz', quantity: 1, unit_price_minor: 100 * (i + 1) }] }) })));
    const daily = (await martTable(wh, 'mart_daily_merchant_sales')).map((r) => [r.local_date, r.time_zone, r.orders, r.gross_revenue_minor]);
    assert.deepStrictEqual(daily, [
      ['2026-03-07', 'America/New_York', 1, 100],
      ['2026-03-08', 'America/New_York', 4, 200 + 300 + 400 + 500],
      ['2026-03-09', 'America/New_York', 1, 600],
    ]);
    const hours = (await martTable(wh, 'mart_hourly_store_sales')).filter(
      (r) => String(r.hour_start) >= '2026-03-08T05:00:00.000Z' && String(r.hour_start) < '2026-03-09T04:00:00.000Z',
    );
    const day = (await martTable(wh, 'mart_daily_merchant_sales')).find((r) => r.local_date === '2026-03-08')!;
    for (const metric of ['orders', 'items', 'gross_revenue_minor', 'discount_minor', 'refund_minor', 'net_revenue_minor', 'pos_orders', 'pickup_orders']) {
      assert.equal(hours.reduce((s, r) => s + Number(r[metric]), 0), day[metric], metric);
    }
  });

  it('takes days of +05:30 and +05:45 zones at their local midnight, and store days in the store zone', async () => {
    await build([
      // Asia/Kolkata midnight of 2026-03-08 is 2026-03-07T18:30Z
      { event: order({ merchant: 'm_in', store: 'k1', at: '2026-03-07T18:29:59Z', currency: 'INR' }) },
      { event: order({ merchant: 'm_in', store: 'k1', at: '2026-03-07T18:30:00Z', currency: 'INR' }) },
      // Asia/Kathmandu midnight of 2026-03-08 is 2026-03-07T18:15Z
      { event: order({ merchant: 'm_np', store: 'n1', at: '2026-03-07T18:14:59Z', currency: 'NPR' }) },
      { event: order({ merchant: 'm_np', store: 'n1', at: '2026-03-07T18:15:00Z', currency: 'NPR' }) },
      { event: order({ merchant: 'm_np', store: 'n1', at: '2026-03-07T18:29:59Z', currency: 'NPR' }) },
      // a New York merchant's store in Delhi: the store day is Kolkata's, the merchant day New York's
      { event: order({ merchant: 'm_ny', store: 's_delhi', at: '2026-03-07T19:00:00Z', currency: 'USD' }) },
    ]);
    const merchantDays = (await martTable(wh, 'mart_daily_merchant_sales')).map((r) => [r.merchant_id, r.local_date, r.time_zone, r.orders]);
    assert.deepStrictEqual(merchantDays, [
      ['m_in', '2026-03-07', 'Asia/Kolkata', 1],
      ['m_in', '2026-03-08', 'Asia/Kolkata', 1],
      ['m_np', '2026-03-07', 'Asia/Kathmandu', 1],
      ['m_np', '2026-03-08', 'Asia/Kathmandu', 2],
      ['m_ny', '2026-03-07', 'America/New_York', 1],
    ]);
    const storeDays = (await martTable(wh, 'mart_daily_store_sales')).map((r) => [r.merchant_id, r.store_id, r.local_date, r.time_zone, r.orders]);
    assert.deepStrictEqual(storeDays, [
      ['m_in', 'k1', '2026-03-07', 'Asia/Kolkata', 1],
      ['m_in', 'k1', '2026-03-08', 'Asia/Kolkata', 1],
      ['m_np', 'n1', '2026-03-07', 'Asia/Kathmandu', 1],
      ['m_np', 'n1', '2026-03-08', 'Asia/Kathmandu', 2],
      ['m_ny', 's_delhi', '2026-03-08', 'Asia/Kolkata', 1],
    ]);
    // the +05:45 hour 18:00Z holds orders of two local days: hours do not tile days there
    const hourly = (await martTable(wh, 'mart_hourly_store_sales')).filter((r) => r.merchant_id === 'm_np').map((r) => [r.hour_start, r.orders]);
    assert.deepStrictEqual(hourly, [['2026-03-07T18:00:00.000Z', 3]]);
  });

  it('writes no rows for stores without events', async () => {
    await build([{ event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T10:00:00Z', currency: 'USD' }) }]);
    for (const m of MARTS) {
      const rows = await martTable(wh, m.stem);
      assert.equal(rows.filter((r) => r.store_id === 's_empty').length, 0, m.stem);
    }
  });

  it('counts visitors and sessions exactly at each grain, never summed from hours', async () => {
    await build([
      { event: pageView({ merchant: 'm_ny', at: '2026-03-06T15:00:00Z', visitor: 'v1', session: 'a' }) },
      { event: pageView({ merchant: 'm_ny', at: '2026-03-06T15:30:00Z', visitor: 'v1', session: 'a' }) },
      { event: pageView({ merchant: 'm_ny', at: '2026-03-06T16:10:00Z', visitor: 'v1', session: 'b' }) },
      { event: pageView({ merchant: 'm_ny', at: '2026-03-06T16:20:00Z', visitor: 'v2', session: 'c', track: true }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T16:30:00Z', currency: 'USD', source: 'online', session: 'b', visitor: 'v1' }) },
    ]);
    assert.deepStrictEqual(await martTable(wh, 'mart_hourly_traffic'), [
      { merchant_id: 'm_ny', hour_start: '2026-03-06T15:00:00.000Z', page_views: 2, visitors: 1, sessions: 1, orders_with_session: 0, orders_per_session: 0 },
      { merchant_id: 'm_ny', hour_start: '2026-03-06T16:00:00.000Z', page_views: 1, visitors: 2, sessions: 2, orders_with_session: 1, orders_per_session: 0.5 },
    ]);
    assert.deepStrictEqual(await martTable(wh, 'mart_daily_merchant_traffic'), [
      { merchant_id: 'm_ny', local_date: '2026-03-06', time_zone: 'America/New_York', page_views: 3, visitors: 2, sessions: 3, orders_with_session: 1, orders_per_session: 1 / 3 },
    ]);
  });

  it('carries closing stock forward from before the window, breaking ties by event id', async () => {
    await loadEvents(wh, dims, [
      { event: inventory({ merchant: 'm_ny', store: 's1', sku: 'dough', at: '2026-03-05T20:00:00Z', onHand: 40 }) },
      // two events at the same instant: the greater event id wins
      { event: inventory({ merchant: 'm_ny', store: 's1', sku: 'dough', at: '2026-03-06T01:30:00Z', onHand: 7, eventId: 'inv-b' }) },
      { event: inventory({ merchant: 'm_ny', store: 's1', sku: 'dough', at: '2026-03-06T01:30:00Z', onHand: 3, eventId: 'inv-a' }) },
      { event: inventory({ merchant: 'm_ny', store: 's1', sku: 'cheese', at: '2026-03-06T02:00:00Z', onHand: 2 }) },
    ]);
    await buildMarts(wh, { windowStart: new Date('2026-03-06T00:00:00Z'), windowEnd: new Date('2026-03-06T04:00:00Z') });
    const rows = (await martTable(wh, 'mart_hourly_store_inventory')).map((r) => [r.sku, r.hour_start, r.closing_quantity, r.low_stock, r.last_event_at]);
    assert.deepStrictEqual(rows, [
      ['cheese', '2026-03-06T02:00:00.000Z', 2, 1, '2026-03-06T02:00:00.000Z'],
      ['cheese', '2026-03-06T03:00:00.000Z', 2, 1, '2026-03-06T02:00:00.000Z'],
      ['dough', '2026-03-06T00:00:00.000Z', 40, 0, '2026-03-05T20:00:00.000Z'],
      ['dough', '2026-03-06T01:00:00.000Z', 7, 0, '2026-03-06T01:30:00.000Z'],
      ['dough', '2026-03-06T02:00:00.000Z', 7, 0, '2026-03-06T01:30:00.000Z'],
      ['dough', '2026-03-06T03:00:00.000Z', 7, 0, '2026-03-06T01:30:00.000Z'],
    ]);
  });

  /** What promotion performance reads besides orders: the store hours of its baseline weeks and the promotion definitions. */
  async function buildPromotionInputs() {
    await buildMarts(wh, { windowStart: new Date('2025-12-31T00:00:00Z'), windowEnd: new Date('2026-03-08T00:00:00Z'), marts: ['mart_hourly_store_sales', 'mart_hourly_promotions'] });
  }

  it('compares a promotion day with the same hours of the four previous weeks without it', async () => {
    // Friday 2026-03-06, 17:00-19:00 New York time (22:00-24:00Z), store s1 only.
    const weekAgo = (iso: string, weeks: number) => new Date(Date.parse(iso) - weeks * 7 * 86_400_000).toISOString();
    const events: FixtureEvent[] = [
      { event: promotion({ merchant: 'm_ny', at: '2026-01-01T00:00:00Z', promoId: 'p1', startsAt: '2026-03-06T22:00:00Z', endsAt: '2026-03-07T00:00:00Z', stores: ['s1'] }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T22:30:00Z', currency: 'USD', lines: [{ sku: 'pz', quantity: 1, unit_price_minor: 3000 }] }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T23:30:00Z', currency: 'USD', lines: [{ sku: 'pz', quantity: 1, unit_price_minor: 3000 }] }) },
      // outside the promotion hours: not counted
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T21:59:59Z', currency: 'USD' }) },
    ];
    // baseline weeks 1..4 with 1, 2, 0, 1 orders of 1000 in the same hours; week 5 is not used
    const perWeek = [1, 2, 0, 1, 5];
    perWeek.forEach((n, i) => {
      for (let k = 0; k < n; k++) events.push({ event: order({ merchant: 'm_ny', store: 's1', at: weekAgo(`2026-03-06T22:${10 + k}:00Z`, i + 1), currency: 'USD' }) });
    });
    await loadEvents(wh, dims, events);
    await buildPromotionInputs();
    await buildMarts(wh, { windowStart: new Date('2026-03-06T00:00:00Z'), windowEnd: new Date('2026-03-08T00:00:00Z'), marts: ['mart_daily_promotion_performance'] });
    assert.deepStrictEqual(await martTable(wh, 'mart_daily_promotion_performance'), [
      {
        merchant_id: 'm_ny',
        promo_id: 'p1',
        store_id: 's1',
        local_date: '2026-03-06',
        time_zone: 'America/New_York',
        promo_kind: 'price_reduction',
        window_start_at: '2026-03-06T22:00:00.000Z',
        window_end_at: '2026-03-07T00:00:00.000Z',
        promo_orders: 2,
        promo_net_revenue_minor: 6000,
        baseline_weeks: 4,
        baseline_orders: 1,
        baseline_net_revenue_minor: 1000,
        net_revenue_uplift_minor: 5000,
        net_revenue_lift_ratio: 6,
      },
    ]);
  });

  it('counts promotion sales to the minute and a baseline hour it covers in part by the covered share', async () => {
    // Friday 2026-03-06, 22:30-24:00Z, store s1; redefined later (the latest definition wins).
    const weekAgo = (iso: string, weeks: number) => new Date(Date.parse(iso) - weeks * 7 * 86_400_000).toISOString();
    const events: FixtureEvent[] = [
      { event: promotion({ merchant: 'm_ny', at: '2026-01-01T00:00:00Z', promoId: 'p1', startsAt: '2026-03-06T20:00:00Z', endsAt: '2026-03-07T00:00:00Z', stores: ['s1'] }) },
      { event: promotion({ merchant: 'm_ny', at: '2026-02-01T09:00:00Z', promoId: 'p1', startsAt: '2026-03-06T22:30:00Z', endsAt: '2026-03-07T00:00:00Z', stores: ['s1'] }) },
      // on the day: 22:10 is before the promotion, 22:40 inside it
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T22:10:00Z', currency: 'USD' }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T22:40:00Z', currency: 'USD' }) },
    ];
    // each baseline week: two orders in the 22:00 hour, before 22:30 (the hour counts with half its sales), and one at 23:30
    for (let w = 1; w <= 4; w++) {
      for (const at of ['2026-03-06T22:05:00Z', '2026-03-06T22:20:00Z', '2026-03-06T23:30:00Z']) events.push({ event: order({ merchant: 'm_ny', store: 's1', at: weekAgo(at, w), currency: 'USD' }) });
    }
    await loadEvents(wh, dims, events);
    await buildPromotionInputs();
    await buildMarts(wh, { windowStart: new Date('2026-03-06T00:00:00Z'), windowEnd: new Date('2026-03-08T00:00:00Z'), marts: ['mart_daily_promotion_performance'] });
    const rows = (await martTable(wh, 'mart_daily_promotion_performance')).map((r) => [r.window_start_at, r.promo_orders, r.promo_net_revenue_minor, r.baseline_weeks, r.baseline_orders, r.baseline_net_revenue_minor]);
    assert.deepStrictEqual(rows, [['2026-03-06T22:30:00.000Z', 1, 1000, 4, 2, 2000]]);
  });

  it('leaves weeks in which the promotion ran out of its baseline', async () => {
    // A promotion running from 2026-02-20 to 2026-03-07: for 2026-03-06 the baseline skips the two
    // previous weeks (the promotion ran then) and averages weeks three to six.
    await loadEvents(wh, dims, [
      { event: promotion({ merchant: 'm_ny', at: '2026-02-01T00:00:00Z', promoId: 'p-long', startsAt: '2026-02-20T22:00:00Z', endsAt: '2026-03-07T00:00:00Z' }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-02-27T20:00:00Z', currency: 'USD' }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-02-13T20:00:00Z', currency: 'USD' }) },
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-02-06T20:00:00Z', currency: 'USD' }) },
    ]);
    await buildPromotionInputs();
    await buildMarts(wh, { windowStart: new Date('2026-03-06T06:00:00Z'), windowEnd: new Date('2026-03-06T07:00:00Z'), marts: ['mart_daily_promotion_performance'] });
    const rows = (await martTable(wh, 'mart_daily_promotion_performance')).map((r) => [r.store_id, r.local_date, r.window_start_at, r.window_end_at, r.promo_orders, r.baseline_weeks, r.baseline_orders, r.baseline_net_revenue_minor, r.net_revenue_uplift_minor, r.net_revenue_lift_ratio]);
    // every store of the merchant (the promotion names none), each in its own zone
    assert.deepStrictEqual(rows, [
      ['s1', '2026-03-06', '2026-03-06T05:00:00.000Z', '2026-03-07T00:00:00.000Z', 0, 4, 0.5, 500, -500, 0],
      ['s_delhi', '2026-03-06', '2026-03-05T18:30:00.000Z', '2026-03-06T18:30:00.000Z', 0, 4, 0, 0, 0, null],
      ['s_empty', '2026-03-06', '2026-03-06T05:00:00.000Z', '2026-03-07T00:00:00.000Z', 0, 4, 0, 0, 0, null],
    ]);
  });

  it('leaves the same rows when a window is rebuilt twice', async () => {
    await build([
      { event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-08T06:00:00Z', currency: 'USD' }) },
      { event: order({ merchant: 'm_in', store: 'k1', at: '2026-03-08T06:00:00Z', currency: 'INR' }) },
      { event: pageView({ merchant: 'm_np', at: '2026-03-08T06:00:00Z', visitor: 'v', session: 's' }) },
      { event: inventory({ merchant: 'm_np', store: 'n1', sku: 'x', at: '2026-03-08T06:00:00Z', onHand: 9 }) },
    ]);
    const first = await Promise.all(MARTS.map((m) => martTable(wh, m.stem)));
    await buildMarts(wh, WINDOW);
    await buildMarts(wh, { windowStart: new Date('2026-03-08T00:00:00Z'), windowEnd: new Date('2026-03-08T12:00:00Z') });
    const again = await Promise.all(MARTS.map((m) => martTable(wh, m.stem)));
    assert.deepStrictEqual(again, first);
    assert.ok(first[0]!.length > 0 && first[4]!.length > 0);
  });

  it('keeps the copy received first when raw holds an event twice', async () => {
    const e = order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T10:00:00Z', currency: 'USD', eventId: 'dup-1' });
    await build([
      { event: e, receivedAt: '2026-03-06T10:01:00Z', messageId: 'first' },
      { event: e, receivedAt: '2026-03-06T10:05:00Z', messageId: 'second' },
    ]);
    const rows = (await martTable(wh, 'mart_hourly_store_sales')).map((r) => [r.hour_start, r.orders, r.gross_revenue_minor]);
    assert.deepStrictEqual(rows, [['2026-03-06T10:00:00.000Z', 1, 1000]]);
  });
});
