// Property-based proofs (issue 8, item 4) with fast-check: the entry validator never throws, always
// answers a reason from the closed list, and accepts every valid event; the row-key codec round-trips,
// orders buckets in time order, and never puts a key of one merchant inside another merchant's range.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resolveDimensions } from '../../pipeline/contracts/dimensions.js';
import { REASON_CODES } from '../../pipeline/contracts/outcomes.js';
import { validateEntry, type ValidationContext } from '../../pipeline/ingest/validate.js';
import { dayBucket, decodeRowKey, encodeRowKey, hourBucket, rowRange, seriesPrefix, type SeriesKey } from '../../pipeline/series/row-key.js';
import { INJECTIONS } from '../support/hostile-corpus.js';

const RECEIVED = Date.parse('2026-11-21T12:00:00Z');
const ctx: ValidationContext = {
  dimensions: resolveDimensions({
    merchants: [
      { id: 'm1', name: 'One', time_zone: 'Europe/Berlin', currency: 'EUR' },
      { id: 'm2', name: 'Two', time_zone: 'Asia/Kolkata', currency: 'INR' },
    ],
    stores: [{ id: 's1', merchant_id: 'm1', name: 'Mitte' }],
    fraud_ips: ['203.0.113.0/24'],
  }),
  attributes: { source: 'online', key_merchant_id: 'm1' },
  receivedAtMs: RECEIVED,
};
const REASONS = new Set<string>(REASON_CODES);

const idChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-'.split(''));
const id = fc.tuple(fc.constantFrom(...'abcXYZ019'.split('')), fc.array(idChar, { maxLength: 40 })).map(([h, t]) => h + t.join(''));
/** Free text as catalogs and pages hold it: any printable characters, SQL and path fragments included. */
const text = (max: number) =>
  fc.oneof(fc.constantFrom(...INJECTIONS.map((s) => s.replace(/[\u0000-\u001f\u007f]/g, '')).filter((s) => s.length > 0)), fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' }))
    .filter((s) => /^[^\u0000-\u001f\u007f]+$/.test(s) && s.length <= max);
/** Inside the accepted window: at most 7 days before received_at and at most 5 minutes after it. */
const eventTs = fc.integer({ min: RECEIVED - 7 * 86_400_000 + 1000, max: RECEIVED + 4 * 60_000 }).map((ms) => new Date(ms).toISOString());
const envelope = { event_id: id, merchant_id: fc.constant('m1'), event_ts: eventTs, source: fc.constantFrom('online', 'pos', 'server'), schema_version: fc.constant(1) };

const lineItem = fc.record({ sku: text(128), category: text(128), quantity: fc.integer({ min: 1, max: 1000 }), unit_price_minor: fc.integer({ min: 0, max: 1_000_000 }), discount_minor: fc.constant(0) });
const order = fc.record({ ...envelope, store_id: fc.constant('s1'), items: fc.array(lineItem, { minLength: 1, maxLength: 5 }), order_id: id }).map(({ items, order_id, ...e }) => {
  const gross = items.reduce((s, li) => s + li.quantity * li.unit_price_minor, 0);
  return { ...e, event_type: 'order', body: { order_id, status: 'completed', channel: 'online', fulfilment: 'delivery', currency: 'EUR', line_items: items, gross_minor: gross, discount_minor: 0, net_minor: gross, refund_minor: 0, promo_ids: [] } };
});
const inventory = fc.record({ ...envelope, sku: text(128), on_hand: fc.integer({ min: -1000, max: 1_000_000 }), delta: fc.integer({ min: -1000, max: 1000 }), reason: fc.constantFrom('sale', 'restock', 'waste', 'adjust') }).map(
  ({ sku, on_hand, delta, reason, ...e }) => ({ ...e, event_type: 'inventory', store_id: 's1', body: { sku, quantity_on_hand: on_hand, delta, reason } }),
);
const pageView = fc.record({ ...envelope, path: fc.webPath(), title: text(200), visitor_id: id, session_id: id }).map(({ path, title, visitor_id, session_id, ...e }) => ({
  ...e,
  event_type: 'page_view',
  body: { url: `https://shop.example${path.startsWith('/') ? path : `/${path}`}`, title, visitor_id, session_id },
}));
const track = fc.record({ ...envelope, name: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), note: text(100), n: fc.integer(), visitor_id: id, session_id: id }).map(({ name, note, n, visitor_id, session_id, ...e }) => ({
  ...e,
  event_type: 'track',
  body: { name, properties: { note, n, ok: true, nothing: null }, visitor_id, session_id },
}));
const validEvent = fc.oneof(order, inventory, pageView, track);

describe('validator properties', () => {
  it('never throws and always answers a reason from the closed list, whatever the text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.json({ maxDepth: 6 }), fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null')), (t) => {
        const v = validateEntry(t, ctx);
        if (!v.ok) assert.ok(REASONS.has(v.reason), v.reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on a valid event with one value replaced by anything, and answers a listed reason', () => {
    const anything = fc.oneof(fc.anything({ maxDepth: 3 }), fc.constantFrom<unknown>(NaN, Infinity, -0, 1e308, 2 ** 60, '', 'NaN', '__proto__', ...INJECTIONS));
    fc.assert(
      fc.property(validEvent, fc.nat(), anything, fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra'), (event, at, value, key) => {
        const e = structuredClone(event) as Record<string, unknown>;
        const body = e.body as Record<string, unknown>;
        const targets: [Record<string, unknown>, string][] = [...Object.keys(e).map((k) => [e, k] as [Record<string, unknown>, string]), ...Object.keys(body).map((k) => [body, k] as [Record<string, unknown>, string]), [body, key]];
        const [obj, k] = targets[at % targets.length]!;
        obj[k] = value;
        const t = JSON.stringify(e);
        if (t === undefined) return;
        const v = validateEntry(t, ctx);
        if (!v.ok) assert.ok(REASONS.has(v.reason), v.reason);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts every valid event, SQL and path fragments in its free text included', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const v = validateEntry(JSON.stringify(event), ctx);
        assert.ok(v.ok, v.ok ? '' : `${v.reason}: ${v.detail}`);
        assert.equal(v.event.event_id, event.event_id);
      }),
      { numRuns: 2000 },
    );
  });
});

const anyText = fc.string({ maxLength: 20, unit: 'binary' });
const seriesKey = fc.record({
  merchantId: fc.oneof(anyText, id, fc.constantFrom('m1', 'm1#', 'm1%23', 'm', 'm1#sales', 'm1=', '%', '#')),
  series: fc.constantFrom('sales', 'products', 'traffic', 'inventory' as const),
  dims: fc.dictionary(fc.constantFrom('store', 'sku'), fc.oneof(anyText, fc.constantFrom(...INJECTIONS)), { maxKeys: 2 }),
  grain: fc.constantFrom('h' as const, 'd' as const),
}) as fc.Arbitrary<SeriesKey>;
const HOUR = 3_600_000;
const hour = fc.integer({ min: Date.parse('1970-01-01T00:00:00Z') / HOUR, max: Date.parse('9999-12-31T23:00:00Z') / HOUR }).map((h) => new Date(h * HOUR));
const bucketOf = (k: SeriesKey, d: Date) => (k.grain === 'h' ? hourBucket(d) : dayBucket(d.toISOString().slice(0, 10)));

describe('row-key codec properties', () => {
  it('decodes every encoded key to the same merchant, series, dimensions, grain and bucket', () => {
    fc.assert(
      fc.property(seriesKey, hour, (k, d) => {
        const bucket = bucketOf(k, d);
        assert.deepEqual(decodeRowKey(encodeRowKey(k, bucket)), { ...k, dims: { ...k.dims }, bucket });
      }),
      { numRuns: 3000 },
    );
  });

  it('orders the keys of one series as their buckets are ordered in time, and a range holds exactly its buckets', () => {
    fc.assert(
      fc.property(seriesKey, hour, hour, hour, (k, a, b, c) => {
        const [x, y] = a <= b ? [a, b] : [b, a];
        const kx = encodeRowKey(k, bucketOf(k, x));
        const ky = encodeRowKey(k, bucketOf(k, y));
        if (bucketOf(k, x) === bucketOf(k, y)) assert.equal(kx, ky);
        else assert.ok(kx < ky && Buffer.compare(Buffer.from(kx), Buffer.from(ky)) < 0);
        // [x, y): c's key is inside exactly when its bucket is.
        const range = rowRange(k, bucketOf(k, x), bucketOf(k, y));
        const kc = encodeRowKey(k, bucketOf(k, c));
        const inside = bucketOf(k, c) >= bucketOf(k, x) && bucketOf(k, c) < bucketOf(k, y);
        assert.equal(kc >= range.start && kc < range.end, inside);
      }),
      { numRuns: 3000 },
    );
  });

  it("never puts a key of one merchant inside another merchant's series or range", () => {
    fc.assert(
      fc.property(seriesKey, seriesKey, hour, hour, hour, (a, b, d, from, to) => {
        fc.pre(a.merchantId !== b.merchantId);
        const key = encodeRowKey(a, bucketOf(a, d));
        assert.ok(!key.startsWith(seriesPrefix(b)), `${key} starts with ${seriesPrefix(b)}`);
        const range = rowRange(b, bucketOf(b, from), bucketOf(b, to));
        // Byte order (LMDB, Bigtable) and UTF-16 order agree on this: neither holds the key in the range.
        assert.ok(!(key >= range.start && key < range.end), `${key} in ${range.start}..${range.end}`);
        const [kb, sb, eb] = [key, range.start, range.end].map((s) => Buffer.from(s));
        assert.ok(!(Buffer.compare(kb!, sb!) >= 0 && Buffer.compare(kb!, eb!) < 0));
      }),
      { numRuns: 5000 },
    );
  });
});
