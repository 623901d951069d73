// Every mart built on DuckDB equals the plain-TypeScript oracle (test/support/oracle.ts) on a seeded
// workload: three merchants in America/New_York (with its DST change), Asia/Kolkata (+05:30) and
// Asia/Kathmandu (+05:45), orders with refunds and cancellations, late POS batches, web traffic,
// inventory and second copies of events in raw.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import type { EventInput } from '../../../pipeline/contracts/events.js';
import { buildMarts } from '../../../pipeline/marts/runner.js';
import * as oracle from '../../support/oracle.js';
import { inventory, loadDimensions, loadEvents, martTable, openWarehouse, order, ordered, pageView, type FixtureEvent } from './support.js';

/** mulberry32: a small seeded generator, so the workload is the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const WORKLOAD_DIMS = {
  merchants: [
    { id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' },
    { id: 'm_in', name: 'Retail IN', time_zone: 'Asia/Kolkata', currency: 'INR' },
    { id: 'm_np', name: 'Shop NP', time_zone: 'Asia/Kathmandu', currency: 'NPR' },
  ],
  stores: [
    { id: 's1', merchant_id: 'm_ny', name: 'Midtown' },
    { id: 's2', merchant_id: 'm_ny', name: 'Delhi', time_zone: 'Asia/Kolkata' },
    { id: 's_empty', merchant_id: 'm_ny', name: 'Closed' },
    { id: 'k1', merchant_id: 'm_in', name: 'Mumbai' },
    { id: 'k2', merchant_id: 'm_in', name: 'Pune' },
    { id: 'n1', merchant_id: 'm_np', name: 'Thamel' },
  ],
  low_stock_threshold: 10,
};

const STORES: Record<string, (string | undefined)[]> = { m_ny: ['s1', 's2', undefined], m_in: ['k1', 'k2'], m_np: ['n1', undefined] };
const CURRENCY: Record<string, string> = { m_ny: 'USD', m_in: 'INR', m_np: 'NPR' };
const SKUS = ['pz-margherita', 'pz-pepperoni', 'soda', 'tee shirt/large'];

/** `n` events from `start` over `hours`, deterministic for a seed. */
export function workload(seed: number, n: number, start: Date, hours: number): FixtureEvent[] {
  const rnd = seeded(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: FixtureEvent[] = [];
  const completed: { merchant: string; store?: string; orderId: string; at: number; net: number }[] = [];
  for (let i = 0; i < n; i++) {
    const merchant = pick(Object.keys(STORES));
    const at = start.getTime() + Math.floor(rnd() * hours * 3600) * 1000;
    const iso = new Date(at).toISOString();
    const r = rnd();
    let event: EventInput;
    if (r < 0.45) {
      const store = pick(STORES[merchant]!);
      const orderId = `o${i}`;
      const lines = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({
        sku: pick(SKUS),
        category: rnd() < 0.5 ? 'food' : 'drink',
        quantity: 1 + Math.floor(rnd() * 3),
        unit_price_minor: 100 + Math.floor(rnd() * 2000),
        discount_minor: rnd() < 0.2 ? 50 : 0,
      }));
      const source = store ? pick(['pos', 'online'] as const) : 'web';
      const session = source !== 'pos' && rnd() < 0.6 ? `sess${Math.floor(rnd() * 40)}` : undefined;
      event = order({ merchant, store, at: iso, orderId, currency: CURRENCY[merchant]!, source, fulfilment: pick(['pickup', 'delivery', 'dine_in'] as const), lines, discount: rnd() < 0.1 ? 500 : 0, session });
      const b = (event as { body: { net_minor: number } }).body;
      completed.push({ merchant, store, orderId, at, net: b.net_minor });
    } else if (r < 0.55 && completed.length > 0) {
      const o = pick(completed);
      const later = new Date(o.at + Math.floor(rnd() * 5 * 3600) * 1000).toISOString();
      const status = rnd() < 0.5 ? 'refunded' : 'cancelled';
      event = order({ merchant: o.merchant, store: o.store, at: later, orderId: o.orderId, currency: CURRENCY[o.merchant]!, status, refund: Math.max(1, Math.floor(o.net * rnd())) });
    } else if (r < 0.85) {
      event = pageView({ merchant, at: iso, visitor: `v${Math.floor(rnd() * 30)}`, session: `sess${Math.floor(rnd() * 40)}`, track: rnd() < 0.25 });
    } else {
      const store = pick(STORES[merchant]!.filter((s): s is string => s !== undefined));
      event = inventory({ merchant, store, at: rnd() < 0.1 ? new Date(at - 2 * 86_400_000).toISOString() : iso, sku: pick(SKUS), onHand: Math.floor(rnd() * 30) - 2 });
    }
    // POS batches arrive late (up to 15 minutes); a few events arrive twice (a second copy in raw).
    const lag = (event as { source: string }).source === 'pos' ? 60_000 + Math.floor(rnd() * 900_000) : 1000;
    const receivedAt = new Date(Date.parse((event as { event_ts: string }).event_ts) + lag).toISOString();
    out.push({ event, receivedAt, messageId: `msg-${Math.floor(i / 25)}` });
    if (rnd() < 0.02) out.push({ event, receivedAt: new Date(Date.parse(receivedAt) + 3_600_000).toISOString(), messageId: `copy-${i}` });
  }
  return out;
}

describe('marts against the TypeScript oracle', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let events: oracle.OracleEvent[];
  const window = { start: new Date('2026-03-06T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') };

  before(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, WORKLOAD_DIMS);
    // Events start before the window (inventory carried in, days overlapping its start) and end inside it.
    events = await loadEvents(wh, dims, workload(20261121, 3000, new Date('2026-03-05T12:00:00Z'), 4 * 24 + 6));
    await buildMarts(wh, { windowStart: window.start, windowEnd: window.end });
  });
  after(async () => wh.close());

  const cases: [string, () => oracle.OracleRow[]][] = [
    ['mart_hourly_store_sales', () => oracle.hourlyStoreSales(events, window)],
    ['mart_hourly_product_sales', () => oracle.hourlyProductSales(events, window)],
    ['mart_hourly_traffic', () => oracle.hourlyTraffic(events, window)],
    ['mart_hourly_store_inventory', () => oracle.hourlyStoreInventory(events, window, 10)],
    ['mart_daily_merchant_sales', () => oracle.dailySales(events, dims, window, 'merchant')],
    ['mart_daily_store_sales', () => oracle.dailySales(events, dims, window, 'store')],
    ['mart_daily_merchant_traffic', () => oracle.dailyTraffic(events, dims, window)],
  ];
  for (const [stem, expected] of cases) {
    it(`${stem} equals the oracle row for row`, async () => {
      const want = ordered(stem, expected());
      assert.ok(want.length >= 10, `the workload gives ${stem} rows to compare (${want.length})`);
      assert.deepStrictEqual(await martTable(wh, stem), want);
    });
  }
});
