// Tests of normalization: whole raw.events and raw.order_lines rows, UTC conversion of offset and
// DST times, IP truncation, the canonical form and the content hash.
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Event, LineItem, OrderBody } from '../../../pipeline/contracts/events.js';
import { canonicalBodyJson, canonicalJson, contentHash, contentHashInput, normalizeEvent, sorterOf, utcHourStart } from '../../../pipeline/ingest/normalize.js';
import { rawEvents, rawOrderLines } from '../../../pipeline/schema/raw.js';
import { RECEIVED_AT, dimensions, inventory, order, pageView, promotion, track } from './fixtures.js';

const normalize = (input: unknown, entryIndex = 0) => {
  const event = Event.parse(input);
  return normalizeEvent(event, { dimensions, messageId: 'm-1', entryIndex, receivedAt: RECEIVED_AT, eventTsMs: Date.parse(event.event_ts) });
};

const emptyRow = {
  store_id: null,
  store_city: null,
  store_region: null,
  store_time_zone: null,
  order_id: null,
  order_status: null,
  channel: null,
  fulfilment: null,
  delivery_partner: null,
  currency: null,
  gross_minor: null,
  discount_minor: null,
  net_minor: null,
  refund_minor: null,
  item_count: null,
  promo_ids: [],
  client_ip_truncated: null,
  sku: null,
  item_kind: null,
  quantity_on_hand: null,
  quantity_delta: null,
  inventory_reason: null,
  promo_id: null,
  promo_kind: null,
  promo_starts_at: null,
  promo_ends_at: null,
  promo_store_ids: [],
  url: null,
  referrer: null,
  track_name: null,
  visitor_id: null,
  session_id: null,
  device: null,
  country: null,
};

describe('normalizeEvent', () => {
  it('writes every raw.events column, in schema order, and every raw.order_lines column', () => {
    const { row, orderLines } = normalize(order());
    assert.deepStrictEqual(Object.keys(row), rawEvents.columns.map((c) => c.name));
    assert.deepStrictEqual(Object.keys(orderLines[0]!), rawOrderLines.columns.map((c) => c.name));
  });

  it('turns an order into its row (UTC time, store attributes, truncated IP) and one line row per item', () => {
    const { row, orderLines } = normalize(order(), 3);
    const eventTs = new Date('2026-11-21T11:55:00Z');
    assert.deepStrictEqual(row, {
      ...emptyRow,
      event_id: 'ord-1',
      merchant_id: 'pizzaco',
      event_type: 'order',
      source: 'online',
      schema_version: 1,
      event_ts: eventTs,
      received_at: RECEIVED_AT,
      message_id: 'm-1',
      entry_index: 3,
      store_id: 's001',
      store_city: 'Berlin',
      store_region: 'BE',
      merchant_time_zone: 'Europe/Berlin',
      store_time_zone: 'Europe/Berlin',
      order_id: 'o-1',
      order_status: 'completed',
      channel: 'online',
      fulfilment: 'delivery',
      delivery_partner: 'bikes',
      currency: 'EUR',
      gross_minor: 2600,
      discount_minor: 150,
      net_minor: 2450,
      refund_minor: 0,
      item_count: 3,
      promo_ids: ['p-1'],
      client_ip_truncated: '192.0.2.0',
      visitor_id: 'v-1',
      session_id: 'sess-1',
      body_json:
        '{"channel":"online","client_ip":"192.0.2.0","currency":"EUR","delivery_partner":"bikes","discount_minor":150,"fulfilment":"delivery","gross_minor":2600,' +
        '"line_items":[{"category":"pizza","discount_minor":100,"quantity":2,"sku":"MARG-L","unit_price_minor":1150},{"category":"drinks","discount_minor":0,"quantity":1,"sku":"COLA","unit_price_minor":300}],' +
        '"net_minor":2450,"order_id":"o-1","promo_ids":["p-1"],"refund_minor":0,"session_id":"sess-1","status":"completed","visitor_id":"v-1"}',
    });
    const line = { merchant_id: 'pizzaco', event_id: 'ord-1', event_ts: eventTs, received_at: RECEIVED_AT, store_id: 's001', order_id: 'o-1', order_status: 'completed' };
    assert.deepStrictEqual(orderLines, [
      { ...line, line_index: 0, sku: 'MARG-L', category: 'pizza', quantity: 2, unit_price_minor: 1150, discount_minor: 100 },
      { ...line, line_index: 1, sku: 'COLA', category: 'drinks', quantity: 1, unit_price_minor: 300, discount_minor: 0 },
    ]);
  });

  it('converts a +05:30 time to UTC and keeps the store and merchant zones', () => {
    const e = { ...order(), merchant_id: 'curryhouse', store_id: 'mum01', event_ts: '2026-11-21T17:15:00+05:30' };
    e.body.currency = 'INR';
    const { row } = normalize(e);
    assert.deepStrictEqual(
      [row.event_ts, row.merchant_time_zone, row.store_time_zone, row.store_city, utcHourStart((row.event_ts as Date).getTime())],
      [new Date('2026-11-21T11:45:00Z'), 'Asia/Kolkata', 'Asia/Kolkata', 'Mumbai', new Date('2026-11-21T11:00:00Z')],
    );
  });

  it('converts local times on both sides of a DST change to the right UTC instants', () => {
    // Berlin springs forward at 02:00 local on 2026-03-29: 01:30+01:00 and 03:30+02:00 are one hour apart.
    const before = normalize({ ...inventory(), event_ts: '2026-03-29T01:30:00+01:00' }).row;
    const after = normalize({ ...inventory(), event_ts: '2026-03-29T03:30:00+02:00' }).row;
    assert.deepStrictEqual([before.event_ts, after.event_ts], [new Date('2026-03-29T00:30:00Z'), new Date('2026-03-29T01:30:00Z')]);
    // The store's own zone (London) travels with the row for local-day marts.
    assert.deepStrictEqual([after.store_time_zone, after.merchant_time_zone], ['Europe/London', 'Europe/Berlin']);
  });

  it('fills the inventory columns', () => {
    const { row, orderLines } = normalize(inventory());
    assert.deepStrictEqual(
      [row.sku, row.item_kind, row.quantity_on_hand, row.quantity_delta, row.inventory_reason, row.store_city, orderLines],
      ['DOUGH', 'raw_material', 40, -5, 'sale', 'London', []],
    );
  });

  it('fills the promotion columns with UTC instants', () => {
    const { row } = normalize(promotion());
    assert.deepStrictEqual(
      [row.promo_id, row.promo_kind, row.promo_starts_at, row.promo_ends_at, row.promo_store_ids, row.store_id],
      ['p-1', 'price_reduction', new Date('2026-11-21T23:00:00Z'), new Date('2026-11-28T23:00:00Z'), ['s001'], null],
    );
  });

  it('fills the page view and track columns and truncates an IPv6 client IP to /48 in body_json too', () => {
    const pv = normalize(pageView()).row;
    assert.deepStrictEqual(
      [pv.url, pv.referrer, pv.visitor_id, pv.session_id, pv.device, pv.country, pv.client_ip_truncated],
      ['https://shop.example/products/42', 'https://search.example/?q=shoes', 'v-9', 'sess-9', 'mobile', 'US', '2001:db8:85a3::'],
    );
    assert.equal(JSON.parse(pv.body_json as string).client_ip, '2001:db8:85a3::');
    assert.equal((pv.body_json as string).includes('1234'), false);
    const tr = normalize(track()).row;
    assert.deepStrictEqual([tr.track_name, tr.url, tr.device, tr.client_ip_truncated], ['add_to_cart', 'https://shop.example/products/42', 'other', null]);
  });

  it('stores an empty referrer as NULL', () => {
    const e = pageView();
    e.body.referrer = '';
    assert.equal(normalize(e).row.referrer, null);
  });
});

describe('utcHourStart', () => {
  it('returns the start of the UTC hour', () => {
    assert.deepStrictEqual(utcHourStart(Date.parse('2026-11-21T11:59:59.999Z')), new Date('2026-11-21T11:00:00Z'));
    assert.deepStrictEqual(utcHourStart(Date.parse('1969-12-31T23:30:00Z')), new Date('1969-12-31T23:00:00Z'));
  });
});

describe('canonicalJson and contentHash', () => {
  it('sorts keys at every level', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('builds the same canonical text from the event’s known shape as from sorting its keys', () => {
    const t = track();
    const withProps = { ...t, body: { ...t.body, properties: { z: 1, a: 'x', m: null, b: true } } };
    for (const input of [order(), inventory(), promotion(), pageView(), withProps, { ...promotion(), body: { ...promotion().body, name: 'Winter' } }]) {
      const event = Event.parse(input);
      assert.equal(canonicalBodyJson(event), canonicalJson(event.body), input.event_type);
    }
  });

  it('knows every body key of the wire schema, so no field is left out of the hash', () => {
    const expected = Object.fromEntries(
      Event.options.map((o) => [o.shape.event_type.value, Object.keys(o.shape.body.shape).sort()]),
    );
    const event = (type: string, body: Record<string, unknown>) => ({ event_type: type, body }) as unknown as Event;
    for (const [type, keys] of Object.entries(expected)) {
      // Every key set to a marker must show up in the canonical text.
      const body = Object.fromEntries(keys.map((k) => [k, k === 'line_items' ? [] : `v-${k}`]));
      const text = canonicalBodyJson(event(type, body));
      for (const k of keys) assert.ok(text.includes(`"${k}":`), `${type}.${k} is missing from the canonical form`);
    }
    const itemKeys = Object.keys(LineItem.shape);
    const text = canonicalBodyJson(event('order', { line_items: [Object.fromEntries(itemKeys.map((k) => [k, `v-${k}`]))] }));
    for (const k of itemKeys) assert.ok(text.includes(`"${k}":"v-${k}"`), `line item ${k} is missing from the canonical form`);
  });

  it('takes the canonical key order from the schema, so a field added to the contract is hashed without touching normalize', () => {
    const Extended = OrderBody.extend({
      table: z.strictObject({ zone: z.string(), number: z.int() }).optional(),
      allergens: z.array(z.strictObject({ name: z.string(), code: z.string() })).default([]),
    });
    const value = {
      ...{ status: 'completed', order_id: 'o1', channel: 'pos', fulfilment: 'dine_in', currency: 'EUR', gross_minor: 100, discount_minor: 0, net_minor: 100 },
      line_items: [{ unit_price_minor: 100, sku: 'p', quantity: 1, category: 'pizza', discount_minor: 0 }],
      table: { zone: 'terrace', number: 4 },
      allergens: [{ name: 'gluten', code: 'A' }],
    };
    const parsed = Extended.parse(value);
    assert.equal(JSON.stringify(sorterOf(Extended)(parsed)), canonicalJson(parsed));
    assert.match(JSON.stringify(sorterOf(Extended)(parsed)), /"allergens":\[\{"code":"A","name":"gluten"\}\].*"table":\{"number":4,"zone":"terrace"\}/);
  });

  it('gives equal hashes for the same event whatever its key order or omitted defaults', () => {
    const a = order();
    const b = JSON.parse(JSON.stringify(a)) as ReturnType<typeof order>;
    (b.body.line_items[1] as { discount_minor?: number }).discount_minor = 0;
    const reordered = Object.fromEntries(Object.entries(b).reverse());
    assert.equal(contentHash(Event.parse(a)), contentHash(Event.parse(reordered)));
  });

  it('hashes the canonical body and every envelope field', () => {
    const e = Event.parse(inventory());
    assert.equal(
      contentHashInput(e),
      '{"delta":-5,"item_kind":"raw_material","quantity_on_hand":40,"reason":"sale","sku":"DOUGH"}\ninv-1\n2026-11-21T11:30:00Z\ninventory\npizzaco\n1\nserver\ns002',
    );
    const variants = [{ ...e, store_id: undefined }, { ...e, source: 'pos' as const }, { ...e, event_ts: '2026-11-21T12:30:00+01:00' }, { ...e, event_id: 'inv-2' }];
    for (const v of variants) assert.notEqual(contentHash(v), contentHash(e));
  });

  it('gives different hashes for different content', () => {
    const a = order();
    const b = order();
    b.body.line_items[1]!.quantity = 2;
    b.body.gross_minor = 2900;
    b.body.net_minor = 2750;
    assert.notEqual(contentHash(Event.parse(a)), contentHash(Event.parse(b)));
    assert.match(contentHash(Event.parse(a)), /^[A-Za-z0-9_-]{43}$/);
  });
});
