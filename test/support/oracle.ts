// A plain-TypeScript oracle for the marts: the hourly and daily metrics computed straight from
// event objects, written independently of the SQL, so that a seeded workload can check every mart
// row for row. Same definitions as the SQL headers: completed orders count in their hour or day;
// refunds and cancellations in their own bucket with negative revenue; the latest status event of
// an order in a bucket wins; distinct counts are exact per bucket; days are local days of the
// merchant (or the store) computed from event times, never from hours.
import type { Dimensions } from '../../pipeline/contracts/dimensions.js';
import { storeKey } from '../../pipeline/contracts/dimensions.js';
import type { Event } from '../../pipeline/contracts/events.js';

export interface OracleEvent {
  event: Event;
  receivedAt: Date;
}

export type OracleRow = Record<string, string | number | null>;

const HOUR = 3_600_000;
const hourOf = (ms: number): string => new Date(Math.floor(ms / HOUR) * HOUR).toISOString();

const dateFormats = new Map<string, Intl.DateTimeFormat>();
/** The local calendar date of an instant in a zone, `YYYY-MM-DD`. */
export function localDate(ms: number, timeZone: string): string {
  let f = dateFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, f);
  }
  return f.format(new Date(ms));
}

/** Keeps the copy of each (merchant_id, event_id) received first, as the staging view does. */
export function firstCopies(events: OracleEvent[]): OracleEvent[] {
  const first = new Map<string, OracleEvent>();
  for (const e of events) {
    const k = `${e.event.merchant_id}/${e.event.event_id}`;
    const seen = first.get(k);
    if (!seen || e.receivedAt < seen.receivedAt) first.set(k, e);
  }
  return [...first.values()];
}

const ts = (e: Event): number => Date.parse(e.event_ts);

function zones(dims: Dimensions, e: Event): { merchant: string; store: string } {
  const merchant = dims.merchants.get(e.merchant_id)!.time_zone;
  const store = e.store_id ? dims.stores.get(storeKey(e.merchant_id, e.store_id))?.time_zone ?? merchant : merchant;
  return { merchant, store };
}

interface SalesAcc {
  orders: number;
  items: number;
  gross: number;
  discount: number;
  completedNet: number;
  refund: number;
  online: number;
  pos: number;
  pickup: number;
  delivery: number;
  dineIn: number;
  /** order id → latest status event in the bucket */
  status: Map<string, { ts: number; eventId: string; status: string }>;
}

const newSales = (): SalesAcc => ({ orders: 0, items: 0, gross: 0, discount: 0, completedNet: 0, refund: 0, online: 0, pos: 0, pickup: 0, delivery: 0, dineIn: 0, status: new Map() });

function addOrder(acc: SalesAcc, e: Extract<Event, { event_type: 'order' }>): void {
  const b = e.body;
  if (b.status === 'completed') {
    acc.orders++;
    acc.items += b.line_items.reduce((s, li) => s + li.quantity, 0);
    acc.gross += b.gross_minor;
    acc.discount += b.discount_minor;
    acc.completedNet += b.net_minor;
    if (e.source === 'online' || e.source === 'web') acc.online++;
    if (e.source === 'pos') acc.pos++;
    if (b.fulfilment === 'pickup') acc.pickup++;
    if (b.fulfilment === 'delivery') acc.delivery++;
    if (b.fulfilment === 'dine_in') acc.dineIn++;
    return;
  }
  acc.refund += b.refund_minor;
  const seen = acc.status.get(b.order_id);
  const t = ts(e);
  if (!seen || t > seen.ts || (t === seen.ts && e.event_id > seen.eventId)) acc.status.set(b.order_id, { ts: t, eventId: e.event_id, status: b.status });
}

function salesColumns(acc: SalesAcc): OracleRow {
  const statuses = [...acc.status.values()].map((s) => s.status);
  return {
    orders: acc.orders,
    items: acc.items,
    gross_revenue_minor: acc.gross,
    discount_minor: acc.discount,
    refund_minor: acc.refund,
    net_revenue_minor: acc.completedNet - acc.refund,
    refunds: statuses.filter((s) => s === 'refunded').length,
    cancellations: statuses.filter((s) => s === 'cancelled').length,
    online_orders: acc.online,
    pos_orders: acc.pos,
    pickup_orders: acc.pickup,
    delivery_orders: acc.delivery,
    dine_in_orders: acc.dineIn,
    average_order_value_minor: acc.orders === 0 ? null : acc.completedNet / acc.orders,
  };
}

function group<T>(map: Map<string, { key: OracleRow; acc: T }>, key: OracleRow, init: () => T): T {
  const k = JSON.stringify(key);
  let g = map.get(k);
  if (!g) {
    g = { key, acc: init() };
    map.set(k, g);
  }
  return g.acc;
}

export interface OracleWindow {
  start: Date;
  end: Date;
}

const inWindow = (ms: number, w: OracleWindow) => ms >= w.start.getTime() && ms < w.end.getTime();

/** Local days of a zone that overlap the window, as the daily statements define their windows. */
function dayInWindow(day: string, zone: string, w: OracleWindow): boolean {
  return day >= localDate(w.start.getTime(), zone) && day <= localDate(w.end.getTime() - 1, zone);
}

export function hourlyStoreSales(events: OracleEvent[], w: OracleWindow): OracleRow[] {
  const groups = new Map<string, { key: OracleRow; acc: SalesAcc }>();
  for (const { event: e } of firstCopies(events)) {
    if (e.event_type !== 'order' || !inWindow(ts(e), w)) continue;
    addOrder(group(groups, { merchant_id: e.merchant_id, store_id: e.store_id ?? null, hour_start: hourOf(ts(e)) }, newSales), e);
  }
  return [...groups.values()].map((g) => ({ ...g.key, ...salesColumns(g.acc) }));
}

export function dailySales(events: OracleEvent[], dims: Dimensions, w: OracleWindow, by: 'merchant' | 'store'): OracleRow[] {
  const groups = new Map<string, { key: OracleRow; acc: SalesAcc }>();
  for (const { event: e } of firstCopies(events)) {
    if (e.event_type !== 'order') continue;
    if (by === 'store' && !e.store_id) continue;
    const zone = zones(dims, e)[by];
    const day = localDate(ts(e), zone);
    if (!dayInWindow(day, zone, w)) continue;
    const key: OracleRow = by === 'merchant' ? { merchant_id: e.merchant_id, local_date: day, time_zone: zone } : { merchant_id: e.merchant_id, store_id: e.store_id!, local_date: day, time_zone: zone };
    addOrder(group(groups, key, newSales), e);
  }
  return [...groups.values()].map((g) => ({ ...g.key, ...salesColumns(g.acc) }));
}

interface TrafficAcc {
  pageViews: number;
  visitors: Set<string>;
  sessions: Set<string>;
  ordersWithSession: number;
}

function traffic(events: OracleEvent[], bucket: (e: Event) => OracleRow | undefined): OracleRow[] {
  const groups = new Map<string, { key: OracleRow; acc: TrafficAcc }>();
  for (const { event: e } of firstCopies(events)) {
    const isWeb = e.event_type === 'page_view' || e.event_type === 'track';
    const isOrderWithSession = e.event_type === 'order' && e.body.status === 'completed' && e.body.session_id !== undefined;
    if (!isWeb && !isOrderWithSession) continue;
    const key = bucket(e);
    if (!key) continue;
    const acc = group(groups, key, () => ({ pageViews: 0, visitors: new Set<string>(), sessions: new Set<string>(), ordersWithSession: 0 }));
    if (e.event_type === 'page_view' || e.event_type === 'track') {
      if (e.event_type === 'page_view') acc.pageViews++;
      acc.visitors.add(e.body.visitor_id);
      acc.sessions.add(e.body.session_id);
    } else acc.ordersWithSession++;
  }
  return [...groups.values()].map((g) => ({
    ...g.key,
    page_views: g.acc.pageViews,
    visitors: g.acc.visitors.size,
    sessions: g.acc.sessions.size,
    orders_with_session: g.acc.ordersWithSession,
    orders_per_session: g.acc.sessions.size === 0 ? null : g.acc.ordersWithSession / g.acc.sessions.size,
  }));
}

export function hourlyTraffic(events: OracleEvent[], w: OracleWindow): OracleRow[] {
  return traffic(events, (e) => (inWindow(ts(e), w) ? { merchant_id: e.merchant_id, hour_start: hourOf(ts(e)) } : undefined));
}

export function dailyTraffic(events: OracleEvent[], dims: Dimensions, w: OracleWindow): OracleRow[] {
  return traffic(events, (e) => {
    const zone = zones(dims, e).merchant;
    const day = localDate(ts(e), zone);
    return dayInWindow(day, zone, w) ? { merchant_id: e.merchant_id, local_date: day, time_zone: zone } : undefined;
  });
}

/**
 * The value of a page view in each breakdown dimension, by the WHATWG URL parser (the SQL uses regular
 * expressions): the path; the referring host without www. ('(direct)' without one, '(internal)' when it is
 * the page's own host); the device; the country ('(unknown)' when absent).
 */
function breakdownValues(body: { url: string; referrer?: string; device: string; country?: string }): [string, string][] {
  const page = new URL(body.url);
  let referrer = '(direct)';
  if (body.referrer) {
    const host = new URL(body.referrer).hostname;
    referrer = host === page.hostname ? '(internal)' : host.replace(/^www\./, '');
  }
  return [
    ['page', page.pathname || '/'],
    ['referrer', referrer],
    ['device', body.device],
    ['country', body.country ?? '(unknown)'],
  ];
}

function trafficBreakdown(events: OracleEvent[], bucket: (e: Event) => OracleRow | undefined): OracleRow[] {
  const groups = new Map<string, { key: OracleRow; acc: { pageViews: number; visitors: Set<string>; sessions: Set<string> } }>();
  for (const { event: e } of firstCopies(events)) {
    if (e.event_type !== 'page_view') continue;
    const key = bucket(e);
    if (!key) continue;
    for (const [dimension, value] of breakdownValues(e.body)) {
      const acc = group(groups, { merchant_id: e.merchant_id, dimension, dimension_value: value, ...key }, () => ({ pageViews: 0, visitors: new Set<string>(), sessions: new Set<string>() }));
      acc.pageViews++;
      acc.visitors.add(e.body.visitor_id);
      acc.sessions.add(e.body.session_id);
    }
  }
  return [...groups.values()].map((g) => ({ ...g.key, page_views: g.acc.pageViews, visitors: g.acc.visitors.size, sessions: g.acc.sessions.size }));
}

export function hourlyTrafficBreakdown(events: OracleEvent[], w: OracleWindow): OracleRow[] {
  return trafficBreakdown(events, (e) => (inWindow(ts(e), w) ? { hour_start: hourOf(ts(e)) } : undefined));
}

export function dailyTrafficBreakdown(events: OracleEvent[], dims: Dimensions, w: OracleWindow): OracleRow[] {
  return trafficBreakdown(events, (e) => {
    const zone = zones(dims, e).merchant;
    const day = localDate(ts(e), zone);
    return dayInWindow(day, zone, w) ? { local_date: day, time_zone: zone } : undefined;
  });
}

export function hourlyProductSales(events: OracleEvent[], w: OracleWindow): OracleRow[] {
  const groups = new Map<string, { key: OracleRow; acc: { category: string; units: number; orders: Set<string>; gross: number; discount: number } }>();
  for (const { event: e } of firstCopies(events)) {
    if (e.event_type !== 'order' || e.body.status !== 'completed' || !inWindow(ts(e), w)) continue;
    for (const li of e.body.line_items) {
      const acc = group(groups, { merchant_id: e.merchant_id, store_id: e.store_id ?? null, sku: li.sku, hour_start: hourOf(ts(e)) }, () => ({ category: li.category, units: 0, orders: new Set<string>(), gross: 0, discount: 0 }));
      if (li.category > acc.category) acc.category = li.category;
      acc.units += li.quantity;
      acc.orders.add(e.body.order_id);
      acc.gross += li.quantity * li.unit_price_minor;
      acc.discount += li.discount_minor;
    }
  }
  return [...groups.values()].map((g) => ({
    ...g.key,
    category: g.acc.category,
    units: g.acc.units,
    orders: g.acc.orders.size,
    gross_revenue_minor: g.acc.gross,
    discount_minor: g.acc.discount,
    net_revenue_minor: g.acc.gross - g.acc.discount,
  }));
}

/** Closing stock for every hour of the window of every store and sku seen at or before that hour's end. */
export function hourlyStoreInventory(events: OracleEvent[], w: OracleWindow, lowStockThreshold: number): OracleRow[] {
  const byItem = new Map<string, Extract<Event, { event_type: 'inventory' }>[]>();
  for (const { event: e } of firstCopies(events)) {
    if (e.event_type !== 'inventory' || !e.store_id || ts(e) >= w.end.getTime()) continue;
    const k = JSON.stringify([e.merchant_id, e.store_id, e.body.sku]);
    byItem.set(k, [...(byItem.get(k) ?? []), e]);
  }
  const rows: OracleRow[] = [];
  for (const [k, list] of byItem) {
    const [merchant_id, store_id, sku] = JSON.parse(k) as [string, string, string];
    list.sort((a, b) => ts(a) - ts(b) || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0));
    for (let h = w.start.getTime(); h < w.end.getTime(); h += HOUR) {
      const last = list.filter((e) => ts(e) < h + HOUR).pop();
      if (!last) continue;
      rows.push({
        merchant_id,
        store_id,
        sku,
        hour_start: new Date(h).toISOString(),
        closing_quantity: last.body.quantity_on_hand,
        low_stock: last.body.quantity_on_hand < lowStockThreshold ? 1 : 0,
        last_event_at: new Date(ts(last)).toISOString(),
      });
    }
  }
  return rows;
}
