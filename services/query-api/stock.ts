// What a shop owner checks after sales: GET /v1/merchants/{id}/low-stock — the store and sku pairs whose
// closing quantity is below the low-stock threshold now, and since when — and GET
// /v1/merchants/{id}/promotions — each promotion's sales against its baseline over a range of days. Both
// read exported series only (inventory: mart_hourly_store_inventory; promotions:
// mart_daily_promotion_performance), one range read each, like every other route.
import { z } from 'zod';
import { Id } from '../../pipeline/contracts/events.js';
import { FAMILY_MART, type CellValue, type SeriesRow } from '../../pipeline/ports.js';
import { bucketToStart, dayBucket, decodeRowKey, seriesPrefix, type SeriesName } from '../../pipeline/series/row-key.js';
import { HOUR_MS, isCalendarDate } from '../../pipeline/time.js';
import { badParameter } from '../http/errors.js';
import { FormatParam, RANGE_PRESETS, explicitRange, parseQueryString, type RangePreset } from './params.js';
import { presetDays } from './ranges.js';

/** Code-point order, as row keys sort (not the locale's). */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Every row of a series with dimensions under the merchant: `m#<series>#` up to the next series name. */
export function seriesKeyRange(merchantId: string, series: SeriesName): { start: string; end: string } {
  const base = seriesPrefix({ merchantId, series, dims: {}, grain: 'h' }).slice(0, -'h#'.length);
  // '#' + 1 is '$': the first key after every key of the series.
  return { start: base, end: base.slice(0, -1) + '$' };
}

const mart = (row: SeriesRow): Record<string, CellValue> => row.cells[FAMILY_MART] ?? {};

// ------------------------------------------------------------------------------------------------ low stock

export const LowStockQuery = z.strictObject({
  store: Id.optional().describe("One store's skus only"),
  format: FormatParam.optional(),
});

export interface LowStockItem {
  store_id: string;
  sku: string;
  closing_quantity: number;
  /** Start of the first hour of the low run that lasts until the newest hour. */
  low_since: string;
  /** End of the newest hour exported for the store and sku. */
  as_of: string;
}

/**
 * The low items: for each store and sku, its newest hourly row; listed when that row is low, with the
 * start of the run of low rows it ends. Rows come in key order (sku, store, then hour), so each pair's
 * hours are contiguous and ascending. The walk needs only rows, not every hour: a series that keeps only
 * the hours where the level changed gives the same answer, given `inventoryThrough` (the end of the
 * merchant's last inventory hour, where the last point's level still holds). Lowest quantity first, then the longest low.
 */
export function lowStock(rows: SeriesRow[], store?: string, inventoryThrough?: string): LowStockItem[] {
  const out: LowStockItem[] = [];
  let pair = '';
  let current: { store: string; sku: string; since: string | null; last: string; quantity: number; low: boolean } | undefined;
  const flush = () => {
    if (current?.low && current.since !== null) {
      // Change points (the inventory extent given): the level holds up to the extent, past the last point.
      const asOf = Math.max(Date.parse(bucketToStart('h', current.last)) + HOUR_MS, inventoryThrough ? Date.parse(inventoryThrough) : 0);
      out.push({ store_id: current.store, sku: current.sku, closing_quantity: current.quantity, low_since: bucketToStart('h', current.since), as_of: new Date(asOf).toISOString() });
    }
  };
  for (const row of rows) {
    const k = decodeRowKey(row.key);
    if (k.grain !== 'h' || k.dims.sku === undefined || k.dims.store === undefined) continue;
    if (store !== undefined && k.dims.store !== store) continue;
    const cells = mart(row);
    if (typeof cells.closing_quantity !== 'number') continue;
    const id = `${k.dims.sku}\u0000${k.dims.store}`;
    if (id !== pair) {
      flush();
      pair = id;
      current = { store: k.dims.store, sku: k.dims.sku, since: null, last: k.bucket, quantity: 0, low: false };
    }
    const low = cells.low_stock === 1;
    current!.since = low ? (current!.low ? current!.since : k.bucket) : null;
    current!.low = low;
    current!.last = k.bucket;
    current!.quantity = cells.closing_quantity;
  }
  flush();
  return out.sort(
    (a, b) => a.closing_quantity - b.closing_quantity || cmp(a.low_since, b.low_since) || cmp(a.store_id, b.store_id) || cmp(a.sku, b.sku),
  );
}

// ------------------------------------------------------------------------------------------------ promotions

export const PromotionsQuery = z.strictObject({
  from: z.string().optional().describe('First store-local day, inclusive (YYYY-MM-DD)'),
  to: z.string().optional().describe('Last store-local day, exclusive (YYYY-MM-DD)'),
  range: z.enum(RANGE_PRESETS).optional().describe("A range of the merchant's local days instead of from and to"),
  format: FormatParam.optional(),
});

export interface PromotionsRequest {
  days?: { from: string; to: string };
  preset?: RangePreset;
  format?: 'json' | 'csv';
}

export function parsePromotionsQuery(query: Record<string, unknown>): PromotionsRequest {
  const q = parseQueryString(PromotionsQuery, query);
  if (q.range !== undefined) {
    const given = (['from', 'to'] as const).find((p) => q[p] !== undefined);
    if (given) throw badParameter(given, 'give either range or from and to, not both');
    return { preset: q.range, format: q.format };
  }
  for (const param of ['from', 'to'] as const) {
    if (q[param] === undefined) throw badParameter(param, `${param} is required unless range is given`);
    if (!isCalendarDate(q[param]!)) throw badParameter(param, `${param} must be a local date YYYY-MM-DD`);
  }
  const days = explicitRange('d', q.from!, q.to!);
  return { days: { from: days.from, to: days.to }, format: q.format };
}

export function promotionDays(p: PromotionsRequest, timeZone: string, now: Date): { from: string; to: string } {
  return p.days ?? presetDays(p.preset!, now, timeZone);
}

/** Sales of a promotion (in one store, or all) over its days in the range, against the baseline. */
export interface PromotionFigures {
  /** Store-local days on which the promotion ran. */
  days: number;
  promo_orders: number;
  promo_net_revenue_minor: number;
  /** Days that have a baseline (an earlier week without the promotion); the comparison covers these only. */
  days_with_baseline: number;
  baseline_net_revenue_minor: number | null;
  /** Net revenue of the days with a baseline minus their baseline. */
  net_revenue_uplift_minor: number | null;
  /** Net revenue of the days with a baseline over their baseline; null when that baseline is 0 or missing. */
  net_revenue_lift_ratio: number | null;
}

export interface PromotionItem extends PromotionFigures {
  promo_id: string;
  first_day: string;
  last_day: string;
  stores: (PromotionFigures & { store_id: string })[];
}

interface Acc {
  days: number;
  orders: number;
  net: number;
  baselineDays: number;
  baseline: number;
  netWithBaseline: number;
}

const emptyAcc = (): Acc => ({ days: 0, orders: 0, net: 0, baselineDays: 0, baseline: 0, netWithBaseline: 0 });

function figures(a: Acc): PromotionFigures {
  const has = a.baselineDays > 0;
  return {
    days: a.days,
    promo_orders: a.orders,
    promo_net_revenue_minor: a.net,
    days_with_baseline: a.baselineDays,
    baseline_net_revenue_minor: has ? a.baseline : null,
    net_revenue_uplift_minor: has ? a.netWithBaseline - a.baseline : null,
    net_revenue_lift_ratio: has && a.baseline !== 0 ? a.netWithBaseline / a.baseline : null,
  };
}

/**
 * The promotions with a day in [from, to): each store's days summed, and the promotion's over its stores.
 * Baseline, uplift and lift are taken over the days that have a baseline only (a day without one has
 * nothing to compare with). Largest uplift first; promotions without a baseline last, then by id.
 */
export function promotionsOf(rows: SeriesRow[], days: { from: string; to: string }): PromotionItem[] {
  const from = dayBucket(days.from);
  const to = dayBucket(days.to);
  const promos = new Map<string, { total: Acc; first: string; last: string; stores: Map<string, Acc> }>();
  for (const row of rows) {
    const k = decodeRowKey(row.key);
    if (k.grain !== 'd' || k.dims.promo === undefined || k.dims.store === undefined) continue;
    if (k.bucket < from || k.bucket >= to) continue;
    const c = mart(row);
    if (typeof c.promo_net_revenue_minor !== 'number') continue;
    let p = promos.get(k.dims.promo);
    if (!p) promos.set(k.dims.promo, (p = { total: emptyAcc(), first: k.bucket, last: k.bucket, stores: new Map() }));
    if (k.bucket < p.first) p.first = k.bucket;
    if (k.bucket > p.last) p.last = k.bucket;
    let s = p.stores.get(k.dims.store);
    if (!s) p.stores.set(k.dims.store, (s = emptyAcc()));
    for (const acc of [p.total, s]) {
      acc.days++;
      acc.orders += c.promo_orders ?? 0;
      acc.net += c.promo_net_revenue_minor;
      if (typeof c.baseline_net_revenue_minor === 'number') {
        acc.baselineDays++;
        acc.baseline += c.baseline_net_revenue_minor;
        acc.netWithBaseline += c.promo_net_revenue_minor;
      }
    }
  }
  const items: PromotionItem[] = [...promos].map(([promo_id, p]) => ({
    promo_id,
    first_day: bucketToStart('d', p.first),
    last_day: bucketToStart('d', p.last),
    ...figures(p.total),
    stores: [...p.stores].sort(([a], [b]) => cmp(a, b)).map(([store_id, a]) => ({ store_id, ...figures(a) })),
  }));
  return items.sort((a, b) => {
    const [ua, ub] = [a.net_revenue_uplift_minor, b.net_revenue_uplift_minor];
    if (ua !== ub) {
      if (ua === null) return 1;
      if (ub === null) return -1;
      return ub - ua;
    }
    return cmp(a.promo_id, b.promo_id);
  });
}
