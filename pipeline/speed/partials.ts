// Partial aggregates of one message: the additive metrics its accepted events add to each hourly
// series row (sales per merchant and per store, products per sku and per sku and store, traffic per
// merchant), computed with the definitions of the hourly marts (sql/marts/mart_hourly_*.sql):
//   - sales: completed orders count orders, items, gross, discount and completed net; a refund or
//     cancellation (a later order event with that status) adds its refund_minor and counts once per
//     order and bucket, the latest status event winning; net_revenue_minor = completed net − refunds;
//   - products: lines of completed orders only; orders = distinct order ids; net = gross − line discounts;
//   - traffic: page views, and completed orders that carry a session id;
//   - pages, referrers, devices and countries: page views per value of each.
// Distinct counts (visitors, sessions) and ratios are not partial: the marts compute them.
// The result is a pure function of the write's accepted rows and order lines, so a redelivered
// message yields the same partials, which is what makes message-keyed cells idempotent.
// Within a message the mart rules hold exactly; across messages two rules cannot be applied by a
// sum (an order whose refund and cancellation arrive in different messages in one hour, an order id
// completed twice in one hour): provisional numbers may differ there until the marts confirm the hour.
import type { IngestWrite, OrderLineRow, RawEventRow } from '../ports.js';
import { TRAFFIC_BREAKDOWNS } from '../metrics/catalog.js';
import { encodeRowKey, hourBucket, type SeriesName } from '../series/row-key.js';
import { floorHour } from '../time.js';

/** One series row's additive values from one message (only metrics that are not zero). */
export interface PartialRow {
  key: string;
  merchantId: string;
  hourStart: Date;
  values: Record<string, number>;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

type Level = Map<string | number, Level | PartialRow>;

class Rows {
  readonly byKey = new Map<string, PartialRow>();
  // A message adds to the same few hundred rows again and again: their keys are encoded once each,
  // and found again through nested maps — merchant, series, each dimension's name and value, then the
  // hour's milliseconds — without building a lookup string per call.
  private readonly tree: Level = new Map();
  /** Hour buckets by hour start: a message spans a few hours and touches hundreds of rows in each. */
  private readonly buckets = new Map<number, string>();
  add(merchantId: string, series: SeriesName, dims: Record<string, string>, hourStart: Date, values: Record<string, number>): void {
    let level = below(below(this.tree, merchantId), series);
    for (const name in dims) level = below(below(level, name), dims[name]!);
    const hourMs = hourStart.getTime();
    let row = level.get(hourMs) as PartialRow | undefined;
    if (!row) {
      let bucket = this.buckets.get(hourMs);
      if (bucket === undefined) this.buckets.set(hourMs, (bucket = hourBucket(hourStart)));
      const key = encodeRowKey({ merchantId, series, dims, grain: 'h' }, bucket);
      row = this.byKey.get(key);
      if (!row) this.byKey.set(key, (row = { key, merchantId, hourStart, values: {} }));
      level.set(hourMs, row);
    }
    for (const name in values) {
      const v = values[name]!;
      if (v !== 0) row.values[name] = (row.values[name] ?? 0) + v;
    }
  }
}

/** The level under `key` (strings name merchants, series and dimensions; numbers are hours, the last level). */
function below(level: Level, key: string): Level {
  let next = level.get(key) as Level | undefined;
  if (!next) level.set(key, (next = new Map()));
  return next;
}

/** The partial aggregates of one message's write, one entry per series row it touches. */
export function partialsOf(write: Pick<IngestWrite, 'accepted' | 'orderLines'>): PartialRow[] {
  const rows = new Rows();
  salesPartials(write.accepted, rows);
  productPartials(write.orderLines, rows);
  trafficPartials(write.accepted, rows);
  // A row whose metrics all cancel out (say a zero-amount refund of nothing) still exists in the marts; keep it only if it says something.
  return [...rows.byKey.values()].filter((r) => Object.keys(r.values).length > 0);
}

function salesPartials(accepted: RawEventRow[], rows: Rows): void {
  // Status changes per (merchant, store, hour, order): the latest one counts as the refund or cancellation.
  const latestChange = new Map<string, RawEventRow>();
  for (const e of accepted) {
    if (e.event_type !== 'order') continue;
    const store = str(e.store_id);
    const hour = floorHour(e.event_ts);
    const status = str(e.order_status);
    const v: Record<string, number> = {};
    if (status === 'completed') {
      const source = str(e.source);
      const fulfilment = str(e.fulfilment);
      v.orders = 1;
      v.items = num(e.item_count);
      v.gross_revenue_minor = num(e.gross_minor);
      v.discount_minor = num(e.discount_minor);
      v.net_revenue_minor = num(e.net_minor);
      v.online_orders = source === 'online' || source === 'web' ? 1 : 0;
      v.pos_orders = source === 'pos' ? 1 : 0;
      v.pickup_orders = fulfilment === 'pickup' ? 1 : 0;
      v.delivery_orders = fulfilment === 'delivery' ? 1 : 0;
      v.dine_in_orders = fulfilment === 'dine_in' ? 1 : 0;
    } else {
      const refund = num(e.refund_minor);
      v.refund_minor = refund;
      v.net_revenue_minor = -refund;
      const k = [e.merchant_id, store ?? '\u0000', hour.getTime(), str(e.order_id)].join('\u0001');
      const prev = latestChange.get(k);
      if (!prev || later(e, prev)) latestChange.set(k, e);
    }
    addSales(rows, e.merchant_id, store, hour, v);
  }
  for (const e of latestChange.values()) {
    const status = str(e.order_status);
    addSales(rows, e.merchant_id, str(e.store_id), floorHour(e.event_ts), { refunds: status === 'refunded' ? 1 : 0, cancellations: status === 'cancelled' ? 1 : 0 });
  }
}

/** The mart's order: event_ts desc, event_id desc. */
function later(a: RawEventRow, b: RawEventRow): boolean {
  const d = a.event_ts.getTime() - b.event_ts.getTime();
  return d !== 0 ? d > 0 : a.event_id > b.event_id;
}

function addSales(rows: Rows, merchantId: string, store: string | null, hour: Date, v: Record<string, number>): void {
  // The merchant total sums every store's row and orders without a store, as the exporter does.
  if (store !== null) rows.add(merchantId, 'sales', { store }, hour, v);
  rows.add(merchantId, 'sales', {}, hour, v);
}

function productPartials(lines: OrderLineRow[], rows: Rows): void {
  const ordersSeen = new Set<string>();
  for (const l of lines) {
    if (str(l.order_status) !== 'completed') continue;
    const merchantId = String(l.merchant_id);
    const sku = String(l.sku);
    const store = str(l.store_id);
    const hour = floorHour(l.event_ts as Date);
    const quantity = num(l.quantity);
    const gross = quantity * num(l.unit_price_minor);
    // orders = COUNT(DISTINCT order_id) per (store, sku, hour): an order with two lines of one sku counts once.
    const orderKey = [merchantId, store ?? '\u0000', sku, hour.getTime(), str(l.order_id)].join('\u0001');
    const firstOfOrder = !ordersSeen.has(orderKey);
    ordersSeen.add(orderKey);
    const v = { units: quantity, orders: firstOfOrder ? 1 : 0, gross_revenue_minor: gross, net_revenue_minor: gross - num(l.discount_minor) };
    if (store !== null) rows.add(merchantId, 'products', { sku, store }, hour, v);
    rows.add(merchantId, 'products', { sku }, hour, v);
  }
}

// The page, referrer, device and country of a page view as sql/staging/stg_page_views.sql derives them
// for the breakdown marts, with its regular expressions (they mean the same in RE2 and JavaScript); the
// two-engine SQL test holds breakdownOf equal to the view on its fixture page views.
const URL_PATH = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)?([^?#]*)/;
const URL_HOST = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?)?([^:/?#]*)/;
const hostOf = (url: string | null): string | null => (url === null ? null : URL_HOST.exec(url)![1]!.toLowerCase() || null);

export function breakdownOf(e: RawEventRow): Record<keyof typeof TRAFFIC_BREAKDOWNS, string> {
  const url = str(e.url);
  const pageHost = hostOf(url);
  const referrerHost = hostOf(str(e.referrer));
  return {
    page: (url === null ? '' : URL_PATH.exec(url)![1]!) || '/',
    referrer: referrerHost === null ? '(direct)' : referrerHost === pageHost ? '(internal)' : referrerHost.replace(/^www[.]/, ''),
    device: str(e.device) ?? 'other',
    country: str(e.country) ?? '(unknown)',
  };
}

// Shared, never mutated (Rows.add only reads them): one object per message instead of several per page view.
const NO_DIMS: Record<string, string> = {};
const ONE_PAGE_VIEW = { page_views: 1 };
const ONE_ORDER_WITH_SESSION = { orders_with_session: 1 };
const BREAKDOWN_DIMENSIONS = Object.keys(TRAFFIC_BREAKDOWNS) as (keyof typeof TRAFFIC_BREAKDOWNS)[];

function trafficPartials(accepted: RawEventRow[], rows: Rows): void {
  // One dimension object per breakdown, its value replaced for each page view: Rows.add reads dims
  // only during the call (the key it encodes is a string), so four objects serve the whole message
  // instead of four per page view.
  const dims = BREAKDOWN_DIMENSIONS.map((d): Record<string, string> => ({ [d]: '' }));
  for (const e of accepted) {
    if (e.event_type === 'page_view') {
      const hour = floorHour(e.event_ts);
      rows.add(e.merchant_id, 'traffic', NO_DIMS, hour, ONE_PAGE_VIEW);
      const breakdown = breakdownOf(e);
      for (let i = 0; i < BREAKDOWN_DIMENSIONS.length; i++) {
        const dimension = BREAKDOWN_DIMENSIONS[i]!;
        const d = dims[i]!;
        d[dimension] = breakdown[dimension];
        rows.add(e.merchant_id, TRAFFIC_BREAKDOWNS[dimension], d, hour, ONE_PAGE_VIEW);
      }
    }
    else if (e.event_type === 'order' && str(e.order_status) === 'completed' && str(e.session_id) !== null) {
      rows.add(e.merchant_id, 'traffic', NO_DIMS, floorHour(e.event_ts), ONE_ORDER_WITH_SESSION);
    }
  }
}
