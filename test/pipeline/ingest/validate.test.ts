// Tests of validateEntry: one per reason code with the exact rejected value, the order of checks,
// hostile JSON, and the values of accepted entries.
import assert from 'node:assert/strict';
import { Event } from '../../../pipeline/contracts/events.js';
import { resolveIngestConfig } from '../../../pipeline/ingest/config.js';
import { validateEntry, type ValidationContext } from '../../../pipeline/ingest/validate.js';
import { RECEIVED_AT, attributes, dimensions, inventory, order, pageView, promotion, track } from './fixtures.js';

const ctx = (over: Partial<ValidationContext> = {}): ValidationContext => ({
  dimensions,
  attributes: attributes(),
  receivedAtMs: RECEIVED_AT.getTime(),
  ...over,
});
const json = (v: unknown) => JSON.stringify(v);
const rejected = (reason: string, detail: string, merchant_id: string | null, event_id: string | null, event_type: string | null) => ({
  ok: false,
  reason,
  detail,
  merchant_id,
  event_id,
  event_type,
});

describe('validateEntry', () => {
  it('accepts a valid event of every type with zod’s output, defaults filled in', () => {
    for (const make of [order, inventory, promotion, pageView, track]) {
      const input = make();
      const result = validateEntry(json(input), ctx());
      const event = Event.parse(input);
      const store = event.store_id === undefined ? undefined : dimensions.stores.get(`${event.merchant_id}/${event.store_id}`);
      assert.ok(event.store_id === undefined || store !== undefined);
      assert.deepStrictEqual(result, { ok: true, event, eventTsMs: Date.parse(input.event_ts), merchant: dimensions.merchants.get(event.merchant_id), store });
    }
  });

  it('rejects unparsable text as invalid_json', () => {
    assert.deepStrictEqual(
      validateEntry('{"event_id": "e1",', ctx()),
      rejected('invalid_json', 'not valid JSON: Expected double-quoted property name in JSON at position 18', null, null, null),
    );
  });

  it('rejects an entry over the byte limit as payload_too_large, counting UTF-8 bytes', () => {
    const e = order();
    e.body.delivery_partner = 'é'.repeat(30); // 60 bytes in 30 characters
    const text = json(e);
    const bytes = Buffer.byteLength(text);
    const config = resolveIngestConfig({ maxEventBytes: bytes - 1 });
    assert.deepStrictEqual(
      validateEntry(text, ctx({ config })),
      rejected('payload_too_large', `entry is ${bytes} bytes; the limit is ${bytes - 1} bytes`, 'pizzaco', 'ord-1', 'order'),
    );
    assert.equal(validateEntry(text, ctx({ config: resolveIngestConfig({ maxEventBytes: bytes }) })).ok, true);
  });

  it('rejects a schema violation as schema_mismatch listing every failing path', () => {
    const e = order() as Record<string, unknown> & ReturnType<typeof order>;
    (e.body.line_items[0] as Record<string, unknown>).quantity = 0;
    (e.body as Record<string, unknown>).currency = 'euro';
    e.colour = 'red';
    assert.deepStrictEqual(
      validateEntry(json(e), ctx()),
      rejected(
        'schema_mismatch',
        'body.currency: must be an ISO 4217 code such as EUR; body.line_items.0.quantity: Too small: expected number to be >=1; ' +
          'body.gross_minor: must equal the sum of quantity × unit_price_minor (300); (root): Unrecognized key: "colour"',
        'pizzaco',
        'ord-1',
        'order',
      ),
    );
  });

  it('rejects a JSON value that is not an object as schema_mismatch', () => {
    assert.deepStrictEqual(validateEntry('[1,2]', ctx()), rejected('schema_mismatch', '(root): Invalid input: expected object, received array', null, null, null));
  });

  it('rejects numbers beyond the safe integer range as schema_mismatch', () => {
    const text = json(order()).replace('"unit_price_minor":300', '"unit_price_minor":1e400');
    assert.deepStrictEqual(
      validateEntry(text, ctx()),
      rejected('schema_mismatch', 'body.line_items.1.unit_price_minor: Invalid input: expected number, received Infinity', 'pizzaco', 'ord-1', 'order'),
    );
    const big = json(order()).replace('"unit_price_minor":300', '"unit_price_minor":90071992547409930');
    const result = validateEntry(big, ctx());
    assert.equal(result.ok === false && result.reason, 'schema_mismatch');
  });

  it('rejects __proto__ and constructor keys without polluting any prototype', () => {
    const e = track();
    const text = json(e).replace('"properties":{', '"properties":{"__proto__":{"polluted":true},');
    assert.deepStrictEqual(validateEntry(text, ctx()), rejected('schema_mismatch', 'body.properties.__proto__: forbidden key', 'webshop', 'tr-1', 'track'));
    const escaped = json(e).replace('"properties":{', '"properties":{"\\u0063onstructor":1,');
    assert.deepStrictEqual(validateEntry(escaped, ctx()), rejected('schema_mismatch', 'body.properties.constructor: forbidden key', 'webshop', 'tr-1', 'track'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('rejects deep nesting as schema_mismatch without overflowing the stack', () => {
    const e = track() as { body: { properties: unknown } };
    const text = json(e).replace('"properties":{', `"properties":{"deep":${'['.repeat(20_000)}${']'.repeat(20_000)},`);
    const result = validateEntry(text, ctx());
    assert.deepStrictEqual(result, rejected('schema_mismatch', 'body.properties.deep: Invalid input', 'webshop', 'tr-1', 'track'));
  });

  it('rejects rows of a POS CSV that could not form an event as schema_mismatch with their errors', () => {
    const e = { ...order(), pos_csv_errors: ['line 2: quantity must be an integer, got "two"'] };
    assert.deepStrictEqual(
      validateEntry(json(e), ctx()),
      rejected('schema_mismatch', 'POS CSV: line 2: quantity must be an integer, got "two"', 'pizzaco', 'ord-1', 'order'),
    );
  });

  it('rejects instants the warehouse cannot store as schema_mismatch', () => {
    assert.deepStrictEqual(
      validateEntry(json({ ...inventory(), event_ts: '0001-01-01T00:00:00+05:30' }), ctx({ attributes: attributes({ backfill: '1' }) })),
      rejected('schema_mismatch', 'event_ts: must lie between 0001-01-01 and 9999-12-31 UTC', 'pizzaco', 'inv-1', 'inventory'),
    );
    const p = promotion();
    p.body.ends_at = '9999-12-31T23:59:59-01:00';
    assert.deepStrictEqual(
      validateEntry(json(p), ctx()),
      rejected('schema_mismatch', 'body.ends_at: must lie between 0001-01-01 and 9999-12-31 UTC', 'pizzaco', 'promo-1', 'promotion'),
    );
  });

  it('rejects a merchant missing from the dimensions as unknown_merchant', () => {
    assert.deepStrictEqual(
      validateEntry(json({ ...order(), merchant_id: 'nobody' }), ctx()),
      rejected('unknown_merchant', 'merchant nobody is not in the dimensions', 'nobody', 'ord-1', 'order'),
    );
  });

  it('rejects an event naming another merchant than its key as merchant_mismatch', () => {
    assert.deepStrictEqual(
      validateEntry(json(order()), ctx({ attributes: attributes({ key_merchant_id: 'webshop' }) })),
      rejected('merchant_mismatch', 'event names merchant pizzaco but was sent with a key of merchant webshop', 'pizzaco', 'ord-1', 'order'),
    );
  });

  it('rejects a store of another merchant as unknown_store', () => {
    assert.deepStrictEqual(
      validateEntry(json({ ...order(), store_id: 'mum01' }), ctx()),
      rejected('unknown_store', 'store mum01 is not a store of merchant pizzaco', 'pizzaco', 'ord-1', 'order'),
    );
  });

  it('rejects a promotion naming an unknown store as unknown_store', () => {
    const p = promotion();
    p.body.store_ids = ['s001', 's999'];
    assert.deepStrictEqual(
      validateEntry(json(p), ctx()),
      rejected('unknown_store', 'promotion names store s999, which is not a store of merchant pizzaco', 'pizzaco', 'promo-1', 'promotion'),
    );
  });

  it('rejects an order in another currency than its merchant’s as currency_mismatch', () => {
    const e = order();
    e.body.currency = 'USD';
    assert.deepStrictEqual(
      validateEntry(json(e), ctx()),
      rejected('currency_mismatch', 'order currency USD differs from merchant currency EUR', 'pizzaco', 'ord-1', 'order'),
    );
  });

  it('rejects an event older than the maximum age as event_too_old, measured against received_at', () => {
    const e = { ...inventory(), event_ts: '2026-11-14T11:59:59Z' };
    assert.deepStrictEqual(
      validateEntry(json(e), ctx()),
      rejected('event_too_old', 'event_ts is 7d 0h 0m 1s before received_at; the maximum age is 7d 0h 0m 0s (load history as a backfill)', 'pizzaco', 'inv-1', 'inventory'),
    );
    assert.equal(validateEntry(json({ ...e, event_ts: '2026-11-14T12:00:00Z' }), ctx()).ok, true);
  });

  it('accepts an event of any age in a backfill message', () => {
    const e = { ...inventory(), event_ts: '2020-01-01T00:00:00Z' };
    assert.equal(validateEntry(json(e), ctx({ attributes: attributes({ backfill: '1' }) })).ok, true);
  });

  it('uses event_ts, not the promotion’s start, for the age of a promotion', () => {
    const p = promotion();
    p.body.starts_at = '2026-01-01T00:00:00Z';
    assert.equal(validateEntry(json(p), ctx()).ok, true);
  });

  it('rejects an event further ahead than the skew as event_in_future', () => {
    const e = { ...inventory(), event_ts: '2026-11-21T12:05:01Z' };
    assert.deepStrictEqual(
      validateEntry(json(e), ctx({ attributes: attributes({ backfill: '1' }) })),
      rejected('event_in_future', 'event_ts is 5m 1s after received_at; the allowed skew is 5m 0s', 'pizzaco', 'inv-1', 'inventory'),
    );
    assert.equal(validateEntry(json({ ...e, event_ts: '2026-11-21T12:05:00Z' }), ctx()).ok, true);
  });

  it('rejects a client IP inside a fraud subnet or equal to a fraud address as fraud_ip, IPv4 and IPv6', () => {
    for (const ip of ['198.51.100.200', '203.0.113.7']) {
      const e = order();
      e.body.client_ip = ip;
      assert.deepStrictEqual(validateEntry(json(e), ctx()), rejected('fraud_ip', 'client_ip is on the fraud IP list', 'pizzaco', 'ord-1', 'order'));
    }
    const v = pageView();
    v.body.client_ip = '2001:db8:bad:ffff::1';
    assert.deepStrictEqual(validateEntry(json(v), ctx()), rejected('fraud_ip', 'client_ip is on the fraud IP list', 'webshop', 'pv-1', 'page_view'));
    for (const ip of ['203.0.113.8', '198.51.101.1', '2001:db8:bae::1']) {
      const e = pageView();
      e.body.client_ip = ip;
      assert.equal(validateEntry(json(e), ctx()).ok, true, ip);
    }
  });

  it('rejects web page views and track events from a bot user agent as bot, body first, then the message attribute', () => {
    const ua = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    const v = pageView();
    v.body.user_agent = ua;
    assert.deepStrictEqual(validateEntry(json(v), ctx()), rejected('bot', `user agent ${JSON.stringify(ua)} matches the bot rule`, 'webshop', 'pv-1', 'page_view'));
    const t = track();
    assert.deepStrictEqual(
      validateEntry(json(t), ctx({ attributes: attributes({ user_agent: 'HeadlessChrome/120' }) })),
      rejected('bot', 'user agent "HeadlessChrome/120" matches the bot rule', 'webshop', 'tr-1', 'track'),
    );
    // A human user agent in the body wins over a bot-like attribute; orders are never bot traffic.
    assert.equal(validateEntry(json(pageView()), ctx({ attributes: attributes({ user_agent: 'curl/8.0' }) })).ok, true);
    assert.equal(validateEntry(json({ ...pageView(), source: 'server' }), ctx({ attributes: attributes({ user_agent: 'curl/8.0' }) })).ok, true);
  });

  it('reports the first failing check in REASON_CODES order when an event fails several', () => {
    // Unknown store, wrong currency, too old, fraud IP: unknown_store comes first.
    const e = { ...order(), store_id: 'nope', event_ts: '2026-01-01T00:00:00Z' };
    e.body.currency = 'USD';
    e.body.client_ip = '203.0.113.7';
    assert.equal((validateEntry(json(e), ctx()) as { reason: string }).reason, 'unknown_store');
    // Wrong key merchant and unknown merchant: unknown_merchant comes first.
    const u = { ...order(), merchant_id: 'nobody' };
    assert.equal((validateEntry(json(u), ctx({ attributes: attributes({ key_merchant_id: 'pizzaco' }) })) as { reason: string }).reason, 'unknown_merchant');
    // Too large and broken: invalid_json comes first.
    const broken = '{' + ' '.repeat(70_000);
    assert.equal((validateEntry(broken, ctx()) as { reason: string }).reason, 'invalid_json');
    // In the future and from a fraud IP: event_in_future comes first; fraud before bot.
    const f = { ...pageView(), event_ts: '2026-11-22T00:00:00Z' };
    f.body.client_ip = '198.51.100.1';
    f.body.user_agent = 'bingbot/2.0';
    assert.equal((validateEntry(json(f), ctx()) as { reason: string }).reason, 'event_in_future');
    assert.equal((validateEntry(json({ ...f, event_ts: '2026-11-21T11:00:00Z' }), ctx()) as { reason: string }).reason, 'fraud_ip');
  });

  it('never throws, whatever the text', () => {
    for (const text of ['', 'null', '"x"', '1e999', '{}', '{"event_type":"order","body":null}', '\u0000', '{"a":'.repeat(1000)]) {
      const result = validateEntry(text, ctx());
      assert.equal(result.ok, false, text);
    }
  });
});
