// A seeded corpus of hostile input for the ingest path: bad events (entries inside bodies the collector
// accepts, lines of files) and bad requests (bodies the collector must refuse whole), each case with the
// end state or HTTP status the contracts promise for it. Every category yields `perCategory` distinct
// cases; the same seed always gives the same corpus. Events name merchant `m1` (store `s1`, EUR) and are
// stamped relative to `now`, so a pipeline with those dimensions and an ingest key of `m1` decides each
// case exactly as `expected` says.
import type { ReasonCode } from '../../pipeline/contracts/outcomes.js';
import { mulberry32 } from './random.js';

export type Expected = 'accepted' | ReasonCode;

export const EVENT_CATEGORIES = [
  'valid',
  'malformed_json',
  'truncated_json',
  'wrong_types',
  'missing_fields',
  'oversize_fields',
  'oversize_events',
  'deep_nesting',
  'invalid_utf8',
  'prototype_keys',
  'huge_numbers',
  'nan_like_strings',
  'far_timestamps',
  'unknown_merchants',
  'sql_and_path_fragments',
] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];

export const REQUEST_CATEGORIES = ['broken_json_body', 'oversize_body', 'wrong_content_type', 'invalid_utf8_body', 'not_an_array_body', 'deeply_nested_body'] as const;
export type RequestCategory = (typeof REQUEST_CATEGORIES)[number];

export interface HostileEvent {
  category: EventCategory;
  /** The entry as bytes on the wire (invalid UTF-8 only survives as bytes). */
  bytes: Buffer;
  expected: Expected;
  /** Set when the case is accepted: its event id, to find its row. */
  eventId?: string;
}

export interface HostileRequest {
  category: RequestCategory;
  contentType: string;
  body: Buffer;
  /** Status and error code the collector must answer; nothing of the body may be enqueued. */
  status: number;
  code: string;
}

export interface CorpusOptions {
  seed: number;
  perCategory: number;
  now: Date;
  /** The ingest configuration's event size limit the expectations assume. */
  maxEventBytes: number;
  /** The collector's body limit the oversize bodies exceed. */
  maxBodyBytes: number;
}

/** Strings that must travel as data, never as SQL, paths, markup or format directives. */
export const INJECTIONS = [
  "'; DROP TABLE raw.events; --",
  "' OR '1'='1",
  '" OR ""="',
  '1; DELETE FROM state.dedupe_index',
  "Robert'); DROP TABLE marts.mart_hourly_store_sales;--",
  '../../../../etc/passwd',
  '..\\..\\windows\\system32',
  '/dev/null',
  '%2e%2e%2f%2e%2e%2f',
  '$(rm -rf /)',
  '`id`',
  '${7*7}',
  '{{constructor.constructor("return 1")()}}',
  '<script>alert(1)</script>',
  '%s%s%s%n',
  "@window_start'; --",
  'm1#sales#h#2026112114',
  '\u202e\u0000',
  'UNION SELECT key FROM keys',
  '*/ select 1 /*',
];

const DAY = 86_400_000;

export function generateHostileCorpus(opts: CorpusOptions): { events: HostileEvent[]; requests: HostileRequest[] } {
  const random = mulberry32(opts.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const now = opts.now.getTime();
  let serial = 0;
  const id = (prefix: string) => `${prefix}-${opts.seed}-${++serial}`;
  const recent = () => new Date(now - int(60_000, 3 * DAY)).toISOString();

  /** A valid event of one of the types, unique by its ids. */
  function validEvent(): Record<string, unknown> {
    const base = { event_id: id('e'), merchant_id: 'm1', event_ts: recent(), source: pick(['online', 'server', 'pos'] as const), schema_version: 1 };
    switch (int(0, 3)) {
      case 0: {
        const qty = int(1, 9);
        const price = int(50, 5000);
        return {
          ...base,
          event_type: 'order',
          store_id: 's1',
          body: {
            order_id: id('o'),
            status: 'completed',
            channel: 'online',
            fulfilment: 'pickup',
            currency: 'EUR',
            line_items: [{ sku: `SKU-${int(1, 99)}`, category: 'pizza', quantity: qty, unit_price_minor: price, discount_minor: 0 }],
            gross_minor: qty * price,
            discount_minor: 0,
            net_minor: qty * price,
            refund_minor: 0,
            promo_ids: [],
          },
        };
      }
      case 1:
        return { ...base, event_type: 'inventory', store_id: 's1', body: { sku: `SKU-${int(1, 99)}`, item_kind: 'product', quantity_on_hand: int(0, 500), delta: int(-5, 5), reason: 'adjust' } };
      case 2:
        return {
          ...base,
          event_type: 'page_view',
          body: { url: `https://shop.example/p/${int(1, 9999)}`, title: `Page ${int(1, 999)}`, visitor_id: id('v'), session_id: id('s'), device: 'desktop' },
        };
      default:
        return { ...base, event_type: 'track', body: { name: 'add_to_cart', properties: { item: `i${int(1, 99)}`, n: int(1, 5) }, visitor_id: id('v'), session_id: id('s'), device: 'mobile' } };
    }
  }

  const utf8 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
  /** Bytes over the event limit are rejected for size before anything else is looked at. */
  const bySize = (bytes: Buffer, otherwise: Expected): Expected => (bytes.length > opts.maxEventBytes ? 'payload_too_large' : otherwise);
  const schemaCase = (category: EventCategory, event: unknown): HostileEvent => {
    const bytes = utf8(event);
    return { category, bytes, expected: bySize(bytes, 'schema_mismatch') };
  };

  /** Paths of string, number and object fields of an event that a schema checks. */
  function requiredPaths(e: Record<string, unknown>): string[][] {
    const envelope = ['event_id', 'merchant_id', 'event_type', 'event_ts', 'source', 'schema_version', 'body'].map((k) => [k]);
    const body: Record<string, string[]> = {
      order: ['order_id', 'status', 'channel', 'fulfilment', 'currency', 'line_items'],
      inventory: ['sku', 'quantity_on_hand', 'delta', 'reason'],
      page_view: ['url', 'visitor_id', 'session_id'],
      track: ['name', 'visitor_id', 'session_id'],
    };
    return [...envelope, ...body[e.event_type as string]!.map((k) => ['body', k])];
  }
  const setPath = (o: Record<string, unknown>, path: string[], value: unknown): void => {
    let at = o;
    for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
    if (value === undefined) delete at[path[path.length - 1]!];
    else at[path[path.length - 1]!] = value;
  };
  const numericPaths = (e: Record<string, unknown>): string[][] => {
    const common = [['schema_version']];
    if (e.event_type === 'order') return [...common, ['body', 'gross_minor'], ['body', 'net_minor']];
    if (e.event_type === 'inventory') return [...common, ['body', 'quantity_on_hand'], ['body', 'delta']];
    return common;
  };
  /** Checked string fields that are ids, enums, instants or URLs (catalog codes take any printable text). */
  const stringPaths = (e: Record<string, unknown>): string[][] => requiredPaths(e).filter((p) => typeof getPath(e, p) === 'string' && p.join('.') !== 'body.sku');
  const getPath = (o: Record<string, unknown>, path: string[]): unknown => path.reduce<unknown>((at, k) => (at as Record<string, unknown>)?.[k], o);

  const events: HostileEvent[] = [];
  const n = opts.perCategory;
  for (let i = 0; i < n; i++) {
    // valid: accepted
    {
      const e = validEvent();
      events.push({ category: 'valid', bytes: utf8(e), expected: 'accepted', eventId: e.event_id as string });
    }
    // malformed_json: a valid event with one token broken
    {
      const text = JSON.stringify(validEvent());
      const breakers = [
        (t: string) => t.replace(/":/, '"'),
        (t: string) => t.replace(/,"/, ',,"'),
        (t: string) => t.replace(/"/, "'"),
        (t: string) => `${t}}`,
        (t: string) => t.replace(/"schema_version":1/, '"schema_version":1.'),
        (t: string) => t.replace(/:"/, ':"\\x'),
        (t: string) => t.replace('}', ']'),
        (t: string) => `{${t}`,
        (t: string) => t.replace(/"schema_version":1/, '"schema_version":01'),
        (t: string) => t.replace(/:"/, ':"\u0001'),
      ];
      const broken = breakers[i % breakers.length]!(text) + ' '.repeat(Math.floor(i / breakers.length) % 3);
      events.push({ category: 'malformed_json', bytes: utf8(broken), expected: 'invalid_json' });
    }
    // truncated_json: a strict prefix of a valid event (an object's prefix never parses)
    {
      const text = JSON.stringify(validEvent());
      events.push({ category: 'truncated_json', bytes: utf8(text.slice(0, int(1, text.length - 1))), expected: 'invalid_json' });
    }
    // wrong_types
    {
      const e = validEvent();
      const path = pick(requiredPaths(e));
      const current = getPath(e, path);
      const wrong = [42, -1.5, true, null, [], [1, 'a'], {}, { a: 1 }, 'text'].filter((v) => typeof v !== typeof current || (Array.isArray(current) && !Array.isArray(v)));
      setPath(e, path, pick(wrong.filter((v) => !(path.join('.') === 'body.line_items' && Array.isArray(v) && v.length === 0))));
      events.push(schemaCase('wrong_types', e));
    }
    // missing_fields
    {
      const e = validEvent();
      setPath(e, pick(requiredPaths(e)), undefined);
      events.push(schemaCase('missing_fields', e));
    }
    // oversize_fields: one field over its length limit, the event itself under the size limit
    {
      const e = validEvent();
      const len = int(130, Math.min(3000, opts.maxEventBytes - 600));
      const long = 'x'.repeat(len);
      const options: [string[], unknown][] = [
        [['event_id'], `e${long}`],
        [['merchant_id'], `m${long}`],
      ];
      if (e.event_type === 'page_view') options.push([['body', 'url'], `https://shop.example/${'a'.repeat(2100)}`], [['body', 'title'], 't'.repeat(513 + (len % 500))]);
      if (e.event_type === 'track') options.push([['body', 'name'], `a${'b'.repeat(64 + (len % 100))}`], [['body', 'properties'], { p: 'v'.repeat(513 + (len % 500)) }]);
      if (e.event_type === 'inventory') options.push([['body', 'sku'], `S${long}`]);
      const [path, value] = pick(options);
      setPath(e, path, value);
      events.push(schemaCase('oversize_fields', e));
    }
    // oversize_events: over the event size limit (still well-formed otherwise)
    {
      const e = validEvent();
      (e as Record<string, unknown>).padding = 'p'.repeat(opts.maxEventBytes + int(1, 2000));
      const bytes = utf8(e);
      events.push({ category: 'oversize_events', bytes, expected: 'payload_too_large' });
    }
    // deep_nesting: arrays or objects nested hundreds to thousands deep in a field
    {
      const e = validEvent();
      const depth = int(200, Math.floor((opts.maxEventBytes - 800) / 6));
      const nested = i % 2 === 0 ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const text = JSON.stringify(e).replace(/"body":\{/, `"body":{"nested":${nested},`);
      events.push({ category: 'deep_nesting', bytes: utf8(text), expected: bySize(utf8(text), 'schema_mismatch') });
    }
    // invalid_utf8: bytes that are not UTF-8 inside an id (decoded as U+FFFD, which no id may hold) or in place of JSON syntax
    {
      const e = validEvent();
      const bad = pick([Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x90, 0x28, 0xbc]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf])]);
      const text = JSON.stringify(e);
      if (i % 2 === 0) {
        const at = text.indexOf(e.event_id as string) + int(1, 3);
        events.push({ category: 'invalid_utf8', bytes: Buffer.concat([utf8(text.slice(0, at)), bad, utf8(text.slice(at))]), expected: 'schema_mismatch' });
      } else {
        const at = text.indexOf('"event_ts"');
        events.push({ category: 'invalid_utf8', bytes: Buffer.concat([utf8(text.slice(0, at)), bad, utf8(text.slice(at + 1))]), expected: 'invalid_json' });
      }
    }
    // prototype_keys: __proto__ / constructor / prototype at any depth, plain or escaped
    {
      const e = validEvent();
      const key = pick(['__proto__', 'constructor', 'prototype', '\\u005f_proto__', 'constructo\\u0072']);
      const value = pick(['{"admin":true}', '{"polluted":1}', 'null', '"x"', '{"toString":1}', '[1]']);
      const text = JSON.stringify(e);
      const spots = [
        (t: string) => t.replace(/^\{/, `{"${key}":${value},`),
        (t: string) => t.replace(/"body":\{/, `"body":{"${key}":${value},`),
        (t: string) => t.replace(/\}$/, `,"${key}":${value}}`),
      ];
      if (e.event_type === 'track') spots.push((t) => t.replace(/"properties":\{/, `"properties":{"${key}":${value},`));
      const hostile = pick(spots)(text) + ' '.repeat(i % 4);
      events.push({ category: 'prototype_keys', bytes: utf8(hostile), expected: 'schema_mismatch' });
    }
    // huge_numbers: out of range, beyond safe integers, non-integers, overflowing to Infinity
    {
      const e = validEvent();
      const literal = pick(['1e21', '9007199254740993', '1e308', '1e400', '-1e400', '-1e20', '0.5', '1.5e-300', '123456789012345678901234567890', '1000000001', '-1000000001']);
      const path = pick(numericPaths(e));
      const text = JSON.stringify(e).replace(`"${path[path.length - 1]}":${JSON.stringify(getPath(e, path))}`, `"${path[path.length - 1]}":${literal}`);
      events.push({ category: 'huge_numbers', bytes: utf8(`${text}${' '.repeat(i % 5)}`), expected: 'schema_mismatch' });
    }
    // nan_like_strings in numeric fields and instants
    {
      const e = validEvent();
      const s = pick(['NaN', 'Infinity', '-Infinity', '1e309', '0x1F', 'null', 'undefined', '', ' 1', '1_000', '١٢٣', 'NaN-like']);
      const path = i % 3 === 0 ? ['event_ts'] : pick(numericPaths(e));
      setPath(e, path, `${s}${'\u200b'.repeat(i % 3)}`);
      events.push(schemaCase('nan_like_strings', e));
    }
    // far_timestamps: older than the age limit, ahead of the skew, or outside what the warehouse can hold
    {
      const e = validEvent();
      const kind = i % 4;
      let expected: Expected;
      if (kind === 0) {
        e.event_ts = new Date(now - 8 * DAY - int(0, 365 * 50) * DAY).toISOString();
        expected = 'event_too_old';
      } else if (kind === 1) {
        // At least an hour ahead, so the minutes the test takes to send it cannot bring it inside the skew.
        e.event_ts = new Date(now + int(60, 60 * 24 * 365 * 100) * 60_000).toISOString();
        expected = 'event_in_future';
      } else if (kind === 2) {
        e.event_ts = `0000-0${int(1, 9)}-1${int(0, 9)}T00:00:00Z`;
        expected = 'schema_mismatch';
      } else {
        e.event_ts = `+${int(10000, 275760)}-01-01T00:00:00Z`;
        expected = 'schema_mismatch';
      }
      events.push({ category: 'far_timestamps', bytes: utf8(e), expected });
    }
    // unknown_merchants
    {
      const e = validEvent();
      e.merchant_id = `m${int(2, 9)}-unknown-${i}`;
      events.push({ category: 'unknown_merchants', bytes: utf8(e), expected: 'unknown_merchant' });
    }
    // sql_and_path_fragments: in ids they break the id pattern; in free text they are data and accepted verbatim
    {
      const e = validEvent();
      const fragment = `${pick(INJECTIONS)}${i}`;
      const free: string[][] = [];
      if (e.event_type === 'order') free.push(['body', 'line_items', '0', 'sku'], ['body', 'line_items', '0', 'category']);
      if (e.event_type === 'inventory') free.push(['body', 'sku']);
      if (e.event_type === 'page_view') free.push(['body', 'title']);
      if (e.event_type === 'track') free.push(['body', 'properties', 'note']);
      const inId = i % 2 === 0 || free.length === 0;
      const path = inId ? pick(stringPaths(e)) : pick(free);
      // Catalog codes hold no control characters; the fragments with them go into ids only.
      const clean = fragment.replace(/[\u0000-\u001f\u007f]/g, '');
      setPath(e, path, inId ? fragment : clean);
      const expected: Expected = inId ? 'schema_mismatch' : 'accepted';
      events.push({ category: 'sql_and_path_fragments', bytes: utf8(e), expected, ...(expected === 'accepted' ? { eventId: e.event_id as string } : {}) });
    }
  }

  const requests: HostileRequest[] = [];
  for (let i = 0; i < n; i++) {
    const good = JSON.stringify([validEvent()]);
    requests.push({
      category: 'broken_json_body',
      contentType: 'application/json',
      body: utf8(pick([good.slice(0, int(1, good.length - 1)), `${good},`, good.replace('[', '[,'), `[${good}`, good.replace(/"(\w+)":/, '$1:'), `${good}]`]) + ' '.repeat(i % 7)),
      status: 400,
      code: 'invalid_body',
    });
    requests.push({
      category: 'oversize_body',
      contentType: pick(['application/json', 'application/x-ndjson']),
      body: utf8(`[${JSON.stringify({ ...validEvent(), pad: 'x'.repeat(opts.maxBodyBytes + int(1, 4000)) })}]`),
      status: 413,
      code: 'payload_too_large',
    });
    requests.push({
      category: 'wrong_content_type',
      contentType: pick(['application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png', 'application/jsonp', 'application/json-seq']) + (i % 3 === 0 ? '' : `; charset=${pick(['utf-8', 'latin1', 'x'])}${i}`),
      body: utf8(good),
      status: 415,
      code: 'unsupported_media_type',
    });
    {
      const bad = pick([Buffer.from([0xff, 0xfe]), Buffer.from([0xc3, 0x28]), Buffer.from([0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])]);
      const at = int(0, 1);
      // Outside strings, bytes that are not UTF-8 break the array's syntax.
      const body = at === 0 ? Buffer.concat([bad, utf8(good)]) : Buffer.concat([utf8(good.slice(0, 1)), bad, utf8(good.slice(1))]);
      requests.push({ category: 'invalid_utf8_body', contentType: 'application/json', body: Buffer.concat([body, utf8(' '.repeat(i % 9))]), status: 400, code: 'invalid_body' });
    }
    requests.push({
      category: 'not_an_array_body',
      contentType: 'application/json',
      body: utf8(pick([JSON.stringify(validEvent()), '{"__proto__":{"admin":true}}', '1e999', 'null', '"[]"', 'true', '{"constructor":{"prototype":{}}}', '-0']) + ' '.repeat(i % 11)),
      status: 400,
      code: 'invalid_body',
    });
    {
      const depth = Math.floor(opts.maxBodyBytes / 2) + int(1, 4000);
      requests.push({ category: 'deeply_nested_body', contentType: 'application/json', body: utf8(`${'['.repeat(depth)}${']'.repeat(depth)}`), status: 413, code: 'payload_too_large' });
    }
  }
  return { events, requests };
}
