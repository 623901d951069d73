// Fixture rows for the two-engine SQL check: raw.events, raw.order_lines, raw.arrivals and the
// dimension tables, built deterministically (a seeded generator plus hand-placed edge cases) so
// that every mart has rows to disagree about. The cases a mart gets wrong most easily are here on
// purpose:
//   - DST days: America/New_York springs forward on 2026-03-08 (local day of 23 hours), with
//     orders at 01:59:59 EST and 03:00:00 EDT and on both sides of both local midnights, and falls
//     back on 2026-11-01 (25 hours, 01:30 twice); Europe/London falls back on 2026-10-25;
//   - zones not on the hour: Asia/Kolkata (+05:30) and Asia/Kathmandu (+05:45), with orders one
//     second either side of their local midnight (a +05:30 day does not tile into UTC hours);
//   - refunds (partial) and cancellations in a later hour than the order, and the latest status;
//   - late POS events: event_ts hours before received_at, inside the window;
//   - a second copy of an accepted event (same merchant_id, event_id, later received_at) that the
//     staging view must drop;
//   - inventory carried forward from before the window, with ties on event_ts;
//   - promotions (one store, all stores) with four earlier weeks of baseline traffic;
//   - page views and track events with repeated visitors and sessions, orders carrying sessions;
//   - orders without a store (a web shop), and stores with no events at all.
import { martParams } from '../../../pipeline/marts/statements.js';
import type { WindowScope } from '../../../pipeline/marts/windows.js';
import { mulberry32 } from '../random.js';
import type { FixtureRow } from './values.js';

/** Query parameter values (instants as ISO text); a type alias (not an interface) so it is a Record. */
export type Window = {
  window_start: string;
  window_end: string;
  [name: string]: string | string[];
};

/** Every parameter a mart statement binds for a window, as the runner binds them (martParams). */
export function windowBindings(start: string, end: string, scope?: WindowScope): Window {
  const params = martParams({ mart: 'mart_hourly_store_sales', windowStart: new Date(start), windowEnd: new Date(end), scope });
  const text = (v: unknown): string | string[] => (v instanceof Date ? v.toISOString() : (v as string | string[]));
  return { ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, text(v)])), window_start: start, window_end: end };
}

export interface FixtureSet {
  /** The window the marts are rebuilt for (`@window_start`, `@window_end`), ISO instants. */
  window: Window;
  /** Other windows a run may get: across the spring DST switch, one hour of a +05:45 day, the autumn switches. */
  extraWindows: Window[];
  /** Rows per table id (`raw.events`, `dims.stores`, …). */
  tables: Record<string, FixtureRow[]>;
}

interface Store {
  merchant_id: string;
  store_id: string;
  name: string;
  city: string | null;
  region: string | null;
  time_zone: string;
}

const MERCHANTS = [
  { merchant_id: 'm_pizza', name: 'Pizza Chain', time_zone: 'America/New_York', currency: 'USD' },
  { merchant_id: 'm_retail', name: 'Retailer', time_zone: 'Asia/Kolkata', currency: 'INR' },
  { merchant_id: 'm_web', name: 'Web Shop', time_zone: 'Europe/London', currency: 'GBP' },
];

const STORES: Store[] = [
  { merchant_id: 'm_pizza', store_id: 's_nyc', name: 'Manhattan', city: 'New York', region: 'NY', time_zone: 'America/New_York' },
  { merchant_id: 'm_pizza', store_id: 's_la', name: 'Venice', city: 'Los Angeles', region: 'CA', time_zone: 'America/Los_Angeles' },
  { merchant_id: 'm_pizza', store_id: 's_closed', name: 'Closed for works', city: 'Boston', region: 'MA', time_zone: 'America/New_York' },
  { merchant_id: 'm_retail', store_id: 's_mumbai', name: 'Mumbai', city: 'Mumbai', region: 'MH', time_zone: 'Asia/Kolkata' },
  { merchant_id: 'm_retail', store_id: 's_kathmandu', name: 'Kathmandu', city: 'Kathmandu', region: null, time_zone: 'Asia/Kathmandu' },
  { merchant_id: 'm_retail', store_id: 's_quiet', name: 'Quiet', city: null, region: null, time_zone: 'Asia/Kolkata' },
];

/** Stores that never have an event: every mart must still run (and not invent rows) around them. */
export const STORES_WITHOUT_EVENTS = ['s_closed', 's_quiet'];

const SKUS = [
  { sku: 'pizza-margherita', category: 'pizza', price: 1299 },
  { sku: 'pizza-diavola', category: 'pizza', price: 1499 },
  { sku: 'soda 330ml', category: 'drinks', price: 250 },
  { sku: 'tea/chai', category: 'drinks', price: 120 },
];

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const HOUR = 3_600_000;
const MINUTE = 60_000;

export function buildFixtures(seed = 20260308): FixtureSet {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const events: FixtureRow[] = [];
  const lines: FixtureRow[] = [];
  const arrivals = new Map<string, FixtureRow>();
  let seq = 0;

  const merchantZone = (m: string) => MERCHANTS.find((x) => x.merchant_id === m)!.time_zone;
  const currencyOf = (m: string) => MERCHANTS.find((x) => x.merchant_id === m)!.currency;
  const storeOf = (id: string | null) => STORES.find((s) => s.store_id === id) ?? null;

  function envelope(merchantId: string, storeId: string | null, type: string, source: string, eventTs: string, receivedAt: string, body: object): FixtureRow {
    seq += 1;
    const store = storeOf(storeId);
    const messageId = `msg-${String(Math.floor(seq / 4)).padStart(5, '0')}`;
    const hour = iso(Math.floor(Date.parse(eventTs) / HOUR) * HOUR);
    arrivals.set(`${messageId}|${merchantId}|${hour}`, { message_id: messageId, merchant_id: merchantId, event_hour: hour, received_at: receivedAt });
    return {
      event_id: `e-${String(seq).padStart(5, '0')}`,
      merchant_id: merchantId,
      event_type: type,
      source,
      schema_version: 1,
      event_ts: eventTs,
      received_at: receivedAt,
      message_id: messageId,
      entry_index: seq % 4,
      store_id: storeId,
      store_city: store?.city ?? null,
      store_region: store?.region ?? null,
      merchant_time_zone: merchantZone(merchantId),
      store_time_zone: store?.time_zone ?? null,
      promo_ids: [],
      promo_store_ids: [],
      body_json: JSON.stringify(body),
    };
  }

  function order(opts: {
    merchantId: string;
    storeId: string | null;
    at: string;
    source?: string;
    receivedAt?: string;
    orderId?: string;
    status?: 'completed' | 'refunded' | 'cancelled';
    refund?: number;
    promoIds?: string[];
    sessionId?: string | null;
    visitorId?: string | null;
    items?: { sku: string; category: string; price: number; qty: number; discount: number }[];
  }): string {
    const status = opts.status ?? 'completed';
    const source = opts.source ?? (opts.storeId ? pick(['pos', 'online']) : 'web');
    const orderId = opts.orderId ?? `o-${String(seq + 1).padStart(5, '0')}`;
    const items =
      status === 'completed'
        ? (opts.items ??
          Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
            const s = pick(SKUS);
            const qty = 1 + Math.floor(random() * 3);
            return { ...s, qty, discount: random() < 0.25 ? 100 : 0 };
          }))
        : [];
    const gross = items.reduce((sum, li) => sum + li.qty * li.price, 0);
    const discount = items.reduce((sum, li) => sum + li.discount, 0);
    const receivedAt = opts.receivedAt ?? iso(Date.parse(opts.at) + 2000);
    const row = envelope(opts.merchantId, opts.storeId, 'order', source, opts.at, receivedAt, { order_id: orderId, status });
    Object.assign(row, {
      order_id: orderId,
      order_status: status,
      channel: source === 'pos' ? 'pos' : 'online',
      fulfilment: pick(['pickup', 'delivery', 'dine_in']),
      delivery_partner: null,
      currency: currencyOf(opts.merchantId),
      gross_minor: gross,
      discount_minor: discount,
      net_minor: gross - discount,
      refund_minor: opts.refund ?? 0,
      item_count: items.reduce((sum, li) => sum + li.qty, 0),
      promo_ids: opts.promoIds ?? [],
      client_ip_truncated: '198.51.100.0',
      visitor_id: opts.sessionId ? (opts.visitorId ?? `v-${opts.sessionId}`) : null,
      session_id: opts.sessionId ?? null,
    });
    if (row.fulfilment === 'delivery') row.delivery_partner = 'courier-co';
    events.push(row);
    items.forEach((li, i) =>
      lines.push({
        merchant_id: opts.merchantId,
        event_id: row.event_id as string,
        line_index: i,
        event_ts: opts.at,
        received_at: receivedAt,
        store_id: opts.storeId,
        order_id: orderId,
        order_status: status,
        sku: li.sku,
        category: li.category,
        quantity: li.qty,
        unit_price_minor: li.price,
        discount_minor: li.discount,
      }),
    );
    return orderId;
  }

  function inventory(merchantId: string, storeId: string, at: string, sku: string, onHand: number, delta: number, reason: string) {
    const row = envelope(merchantId, storeId, 'inventory', 'server', at, iso(Date.parse(at) + 1000), { sku });
    Object.assign(row, { sku, item_kind: 'product', quantity_on_hand: onHand, quantity_delta: delta, inventory_reason: reason });
    events.push(row);
  }

  function traffic(
    merchantId: string,
    type: 'page_view' | 'track',
    at: string,
    visitor: string,
    session: string,
    url: string,
    web: { referrer?: string | null; country?: string | null } = {},
  ) {
    const row = envelope(merchantId, null, type, 'web', at, iso(Date.parse(at) + 500), { url });
    Object.assign(row, {
      url,
      referrer: web.referrer === undefined ? 'https://search.example/' : web.referrer,
      track_name: type === 'track' ? 'add_to_cart' : null,
      visitor_id: visitor,
      session_id: session,
      device: pick(['desktop', 'mobile', 'tablet']),
      country: web.country === undefined ? 'GB' : web.country,
    });
    events.push(row);
  }

  function promotion(merchantId: string, promoId: string, kind: string, startsAt: string, endsAt: string, storeIds: string[]) {
    const row = envelope(merchantId, null, 'promotion', 'server', iso(Date.parse(startsAt) - 2 * 86_400_000), iso(Date.parse(startsAt) - 2 * 86_400_000 + 1000), { promo_id: promoId });
    Object.assign(row, { promo_id: promoId, promo_kind: kind, promo_starts_at: startsAt, promo_ends_at: endsAt, promo_store_ids: storeIds });
    events.push(row);
  }

  // --- Background: a few orders a day per active store from 2026-02-01 (baselines) to the window end.
  const busyStores = STORES.filter((s) => !STORES_WITHOUT_EVENTS.includes(s.store_id));
  const firstDay = Date.parse('2026-02-01T00:00:00Z');
  const lastDay = Date.parse('2026-03-10T00:00:00Z');
  for (let day = firstDay; day < lastDay; day += 86_400_000) {
    for (const store of busyStores) {
      const count = 1 + Math.floor(random() * 3);
      for (let i = 0; i < count; i++) {
        const at = iso(day + Math.floor(random() * 24) * HOUR + Math.floor(random() * 60) * MINUTE);
        order({ merchantId: store.merchant_id, storeId: store.store_id, at });
      }
    }
  }

  // --- DST: New York springs forward at 2026-03-08 07:00Z (02:00 EST → 03:00 EDT).
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-08T04:59:59Z' }); // 2026-03-07 23:59:59 EST
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-08T05:00:00Z' }); // 2026-03-08 00:00:00 EST
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-08T06:59:59Z' }); // 01:59:59 EST
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-08T07:00:00Z' }); // 03:00:00 EDT
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-09T03:59:59Z' }); // 2026-03-08 23:59:59 EDT
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-09T04:00:00Z' }); // 2026-03-09 00:00:00 EDT
  order({ merchantId: 'm_pizza', storeId: 's_la', at: '2026-03-08T09:59:59Z' }); // 01:59:59 PST
  order({ merchantId: 'm_pizza', storeId: 's_la', at: '2026-03-08T10:00:00Z' }); // 03:00:00 PDT

  // --- DST, the other way: New York falls back at 2026-11-01 06:00Z (02:00 EDT → 01:00 EST), a
  // local day of 25 hours with 01:xx twice; London fell back a week earlier (2026-10-25 01:00Z).
  for (const at of ['2026-11-01T03:59:59Z', '2026-11-01T04:00:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-02T04:59:59Z', '2026-11-02T05:00:00Z']) {
    order({ merchantId: 'm_pizza', storeId: 's_nyc', at });
  }
  order({ merchantId: 'm_pizza', storeId: 's_la', at: '2026-11-01T08:30:00Z' }); // 01:30 PDT
  order({ merchantId: 'm_pizza', storeId: 's_la', at: '2026-11-01T09:30:00Z' }); // 01:30 PST
  for (const at of ['2026-10-24T23:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z']) {
    order({ merchantId: 'm_web', storeId: null, at });
    traffic('m_web', 'page_view', at, 'v-autumn', `s-autumn-${at.slice(11, 13)}`, '/');
  }

  // --- +05:30 and +05:45 local midnights (2026-03-08 local starts at 03-07 18:30Z / 18:15Z).
  order({ merchantId: 'm_retail', storeId: 's_mumbai', at: '2026-03-07T18:29:59Z' });
  order({ merchantId: 'm_retail', storeId: 's_mumbai', at: '2026-03-07T18:30:00Z' });
  order({ merchantId: 'm_retail', storeId: 's_kathmandu', at: '2026-03-07T18:14:59Z' });
  order({ merchantId: 'm_retail', storeId: 's_kathmandu', at: '2026-03-07T18:15:00Z' });
  order({ merchantId: 'm_retail', storeId: 's_kathmandu', at: '2026-03-08T18:14:59.999999Z' });

  // --- Refunds and cancellations, later than their orders; one order refunded twice (partial).
  const refunded = order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-07T15:10:00Z' });
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-07T18:20:00Z', orderId: refunded, status: 'refunded', refund: 500 });
  order({ merchantId: 'm_pizza', storeId: 's_nyc', at: '2026-03-08T13:05:00Z', orderId: refunded, status: 'refunded', refund: 299 });
  const cancelled = order({ merchantId: 'm_retail', storeId: 's_mumbai', at: '2026-03-08T06:00:00Z' });
  order({ merchantId: 'm_retail', storeId: 's_mumbai', at: '2026-03-08T06:40:00Z', orderId: cancelled, status: 'cancelled', refund: 0 });
  const webRefund = order({ merchantId: 'm_web', storeId: null, at: '2026-03-06T11:00:00Z', sessionId: 'sess-1' });
  order({ merchantId: 'm_web', storeId: null, at: '2026-03-09T10:00:00Z', orderId: webRefund, status: 'refunded', refund: 1000 });

  // --- Late POS events: happened in the window, received hours later (a 15-minute batch gone late).
  for (const at of ['2026-03-08T12:01:00Z', '2026-03-08T12:14:00Z', '2026-03-08T12:44:00Z']) {
    order({ merchantId: 'm_pizza', storeId: 's_la', at, source: 'pos', receivedAt: '2026-03-08T16:30:00Z' });
  }

  // --- Web shop: orders without a store, page views and track events, repeated visitors/sessions.
  for (let day = Date.parse('2026-03-06T00:00:00Z'); day < lastDay; day += 86_400_000) {
    for (let v = 0; v < 4; v++) {
      const visitor = `v-${v}`;
      const session = `s-${iso(day).slice(0, 10)}-${v % 3}`;
      const at = day + (8 + v * 3) * HOUR;
      // Landing pages from an external site (www. and upper case), directly (no referrer, or ''), or
      // a bare path; the next page is referred by the shop itself (internal), with a query and fragment.
      const landing = [
        { url: 'https://shop.example/', referrer: 'https://www.Search.example/?q=pizza', country: 'GB' },
        { url: 'https://shop.example', referrer: null, country: null },
        { url: 'https://shop.example/?utm_source=news', referrer: '', country: 'DE' },
        { url: '/', referrer: 'http://user@news.example:8080/story#top', country: 'GB' },
      ][v]!;
      traffic('m_web', 'page_view', iso(at), visitor, session, landing.url, { referrer: landing.referrer, country: landing.country });
      traffic('m_web', 'page_view', iso(at + 5 * MINUTE), visitor, session, 'https://SHOP.example/menu?size=large#pizzas', { referrer: 'https://shop.example/', country: landing.country });
      if (v % 2 === 0) traffic('m_web', 'track', iso(at + 7 * MINUTE), visitor, session, '/menu');
      if (v === 1) order({ merchantId: 'm_web', storeId: null, at: iso(at + 9 * MINUTE), sessionId: session, visitorId: visitor });
    }
    order({ merchantId: 'm_web', storeId: null, at: iso(day + 20 * HOUR) }); // no session
  }

  // --- Inventory: levels before the window carry forward; two moves share an event_ts.
  inventory('m_pizza', 's_nyc', '2026-03-01T10:00:00Z', 'pizza-margherita', 40, 40, 'restock');
  inventory('m_pizza', 's_nyc', '2026-03-06T09:00:00Z', 'pizza-margherita', 35, -5, 'sale');
  inventory('m_pizza', 's_nyc', '2026-03-07T12:00:00Z', 'pizza-margherita', 30, -5, 'sale');
  inventory('m_pizza', 's_nyc', '2026-03-07T12:00:00Z', 'pizza-margherita', 8, -22, 'waste');
  inventory('m_pizza', 's_nyc', '2026-03-08T07:30:00Z', 'pizza-margherita', 50, 42, 'restock');
  inventory('m_pizza', 's_nyc', '2026-03-02T08:00:00Z', 'soda 330ml', 5, 5, 'restock');
  inventory('m_retail', 's_mumbai', '2026-03-07T18:30:00Z', 'tea/chai', 100, 100, 'restock');
  inventory('m_retail', 's_mumbai', '2026-03-08T02:00:00Z', 'tea/chai', 3, -97, 'sale');

  // --- Promotions: one store on the DST day, and one for all of the retailer's stores.
  promotion('m_pizza', 'p-spring', 'price_reduction', '2026-03-08T14:00:00Z', '2026-03-08T20:00:00Z', ['s_nyc']);
  for (const at of ['2026-03-08T14:30:00Z', '2026-03-08T16:45:00Z', '2026-03-08T19:59:59Z']) {
    order({ merchantId: 'm_pizza', storeId: 's_nyc', at, promoIds: ['p-spring'] });
  }
  for (const weeksBack of [1, 2, 3, 4]) {
    order({ merchantId: 'm_pizza', storeId: 's_nyc', at: iso(Date.parse('2026-03-08T15:00:00Z') - weeksBack * 7 * 86_400_000) });
  }
  promotion('m_retail', 'p-all', 'newspaper_ad', '2026-03-06T18:30:00Z', '2026-03-08T18:30:00Z', []);

  // --- A second copy of an accepted event (a redelivery that slipped past dedupe): later received_at.
  const original = events.find((e) => e.event_ts === '2026-03-08T07:00:00Z')!;
  events.push({ ...original, received_at: '2026-03-08T09:00:00Z', message_id: 'msg-redelivered', entry_index: 0 });

  return {
    window: windowBindings('2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z'),
    extraWindows: [
      windowBindings('2026-03-08T06:00:00Z', '2026-03-08T08:00:00Z'),
      windowBindings('2026-03-07T18:00:00Z', '2026-03-07T19:00:00Z'),
      windowBindings('2026-10-24T00:00:00Z', '2026-11-03T00:00:00Z'),
      // A scheduled run's cells: two hours and a local day of one merchant (hourly marts match the
      // hour cells, daily marts the day cell), and every merchant's hours from 2026-03-09T20.
      windowBindings('2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z', {
        merchants: ['m_pizza'],
        cells: ['m_pizza|2026-03-08T06', 'm_pizza|2026-03-08T07', 'm_pizza|2026-03-08'],
        allFrom: new Date('2026-03-09T20:00:00Z'),
      }),
    ],
    tables: {
      'raw.events': events,
      'raw.order_lines': lines,
      'raw.arrivals': [...arrivals.values()],
      'dims.merchants': MERCHANTS.map((m) => ({ ...m })),
      'dims.stores': STORES.map((s) => ({ ...s })),
      'dims.settings': [{ low_stock_threshold: 10 }],
    },
  };
}
