// Tests of splitting bodies, NDJSON, POS CSV files into entries, and of batching entries into messages.
import assert from 'node:assert/strict';
import {
  POS_CSV_ERRORS_KEY,
  PosCsvError,
  batchEntries,
  posCsvToEntries,
  splitJsonArrayBody,
  splitNdjson,
  splitNdjsonBytes,
} from '../../../pipeline/ingest/entries.js';
import { Event } from '../../../pipeline/contracts/events.js';

describe('splitJsonArrayBody', () => {
  it('returns each element as its own text, exactly as sent', () => {
    const body = ' [ {"a": "x,]}\\"", "b": [1, {"c": 2}]},\n  [1,2] ,3, "s", null ] ';
    assert.deepStrictEqual(splitJsonArrayBody(body), {
      ok: true,
      entries: ['{"a": "x,]}\\"", "b": [1, {"c": 2}]}', '[1,2]', '3', '"s"', 'null'],
    });
  });

  it('returns no entries for an empty array', () => {
    assert.deepStrictEqual(splitJsonArrayBody('[ ]'), { ok: true, entries: [] });
  });

  it('reports a body-level error for a broken array', () => {
    assert.deepStrictEqual(splitJsonArrayBody('[{"a":1},'), { ok: false, error: 'body is not valid JSON: Unexpected end of JSON input' });
  });

  it('reports a body-level error when the body is not an array', () => {
    assert.deepStrictEqual(splitJsonArrayBody('{"event_id":"e1"}'), { ok: false, error: 'body must be a JSON array of events' });
  });

  it('splits a deeply nested element without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const result = splitJsonArrayBody(`[1,${deep}]`);
    assert.deepStrictEqual(result, { ok: true, entries: ['1', deep] });
  });

  it('keeps escaped backslashes before a closing quote inside strings', () => {
    assert.deepStrictEqual(splitJsonArrayBody('["a\\\\",{"k":"\\\\"}]'), { ok: true, entries: ['"a\\\\"', '{"k":"\\\\"}'] });
  });
});

describe('splitNdjson', () => {
  it('returns one entry per non-blank line, LF or CRLF, keeping unparsable lines', () => {
    assert.deepStrictEqual(splitNdjson('{"a":1}\r\n\n  \n{broken\n{"b":2}'), ['{"a":1}', '{broken', '{"b":2}']);
  });

  it('returns no entries for an empty text', () => {
    assert.deepStrictEqual(splitNdjson(''), []);
    assert.deepStrictEqual(splitNdjson('\n\r\n'), []);
  });
});

describe('splitNdjsonBytes', () => {
  it('returns the entries splitNdjson returns for the decoded text, broken UTF-8 and Unicode blanks included', () => {
    const bodies = [
      Buffer.from('{"a":1}\r\n\n  \n{broken\n{"b":2}'),
      Buffer.from('\ufeff{"t":"Zürich – café 𝄞"}\n{"a":1}\r\n'),
      Buffer.from('\u00a0\n\u2028\r\n\u3000\t\n{"x":"\u2028"}\n \r \n'),
      Buffer.from('\r\r\n\r'),
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe2, 0x80]), Buffer.from('\n'), Buffer.from([0xff, 0xc3]), Buffer.from('\r\n"'), Buffer.from([0xf0, 0x9d, 0x84])]),
      Buffer.from(''),
      Buffer.from('\n\r\n'),
    ];
    for (const body of bodies) assert.deepStrictEqual(splitNdjsonBytes(body), splitNdjson(body.toString('utf8')), JSON.stringify(body.toString('utf8')));
    assert.deepStrictEqual(splitNdjsonBytes(bodies[1]!), ['\ufeff{"t":"Zürich – café 𝄞"}', '{"a":1}']);
    assert.deepStrictEqual(splitNdjsonBytes(bodies[4]!), ['{"a":"\ufffd', '\ufffd\ufffd', '"\ufffd']);
  });
});

const HEADER =
  'merchant_id,store_id,order_id,event_id,event_ts,status,channel,fulfilment,currency,sku,category,quantity,unit_price_minor,line_discount_minor,order_discount_minor,refund_minor,promo_ids';

describe('posCsvToEntries', () => {
  it('turns the rows of one order into one valid order event', () => {
    const csv = [
      HEADER,
      'pizzaco,s001,o-1,pos-o-1,2026-11-21T12:03:00+01:00,completed,pos,dine_in,EUR,MARG-L,pizza,2,1150,100,50,,p-1;p-2',
      'pizzaco,s001,o-1,pos-o-1,2026-11-21T12:03:00+01:00,completed,pos,dine_in,EUR,COLA,drinks,1,300,,50,,p-1;p-2',
      'pizzaco,s001,o-0,pos-r-0,2026-11-21T12:05:00+01:00,refunded,pos,dine_in,EUR,,,,,,,500,',
    ].join('\n');
    const entries = posCsvToEntries(csv);
    assert.deepStrictEqual(
      entries.map((e) => JSON.parse(e)),
      [
        {
          event_id: 'pos-o-1',
          merchant_id: 'pizzaco',
          event_type: 'order',
          event_ts: '2026-11-21T12:03:00+01:00',
          source: 'pos',
          schema_version: 1,
          store_id: 's001',
          body: {
            order_id: 'o-1',
            status: 'completed',
            channel: 'pos',
            fulfilment: 'dine_in',
            currency: 'EUR',
            line_items: [
              { sku: 'MARG-L', category: 'pizza', quantity: 2, unit_price_minor: 1150, discount_minor: 100 },
              { sku: 'COLA', category: 'drinks', quantity: 1, unit_price_minor: 300, discount_minor: 0 },
            ],
            gross_minor: 2600,
            discount_minor: 150,
            net_minor: 2450,
            refund_minor: 0,
            promo_ids: ['p-1', 'p-2'],
          },
        },
        {
          event_id: 'pos-r-0',
          merchant_id: 'pizzaco',
          event_type: 'order',
          event_ts: '2026-11-21T12:05:00+01:00',
          source: 'pos',
          schema_version: 1,
          store_id: 's001',
          body: {
            order_id: 'o-0',
            status: 'refunded',
            channel: 'pos',
            fulfilment: 'dine_in',
            currency: 'EUR',
            line_items: [],
            gross_minor: 0,
            discount_minor: 0,
            net_minor: 0,
            refund_minor: 500,
            promo_ids: [],
          },
        },
      ],
    );
    for (const e of entries) assert.equal(Event.safeParse(JSON.parse(e)).success, true);
  });

  it('groups rows of one order that are not adjacent', () => {
    const csv = [
      HEADER,
      'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,A,a,1,100,,,,',
      'm1,s1,o2,e2,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,B,b,1,200,,,,',
      'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,C,c,1,300,,,,',
    ].join('\n');
    const entries = posCsvToEntries(csv).map((e) => JSON.parse(e) as { event_id: string; body: { gross_minor: number } });
    assert.deepStrictEqual(
      entries.map((e) => [e.event_id, e.body.gross_minor]),
      [
        ['e1', 400],
        ['e2', 200],
      ],
    );
  });

  it('keeps rows that cannot form an event as entries carrying their errors', () => {
    const csv = [
      HEADER,
      'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,A,a,two,100,,,,',
      'm1,s1,o1,e1,2026-11-21T10:00:00Z,completed,pos,pickup,USD,B,b,1,200,,,,',
      'm1,s1,o3,,2026-11-21T10:00:00Z,completed,pos,pickup,EUR,A,a,1,100,,,,',
      'm1,s1,o4,e4,2026-11-21T10:00:00Z',
    ].join('\n');
    const entries = posCsvToEntries(csv).map((e) => JSON.parse(e) as Record<string, unknown>);
    assert.deepStrictEqual(
      entries.map((e) => [e.event_id, e[POS_CSV_ERRORS_KEY]]),
      [
        ['e1', ['lines 2, 3: rows of one order disagree on currency ("EUR" vs "USD")', 'line 2: quantity must be an integer, got "two"']],
        ['', ['line 4: event_id is empty']],
        [
          'e4',
          ['line 5: has 5 fields, the header has 17'],
        ],
      ],
    );
  });

  it('returns no entries for a header-only file', () => {
    assert.deepStrictEqual(posCsvToEntries(`${HEADER}\n`), []);
  });

  it('throws PosCsvError for a header with missing or unknown columns', () => {
    assert.throws(
      () => posCsvToEntries('merchant_id,event_id,colour\nm1,e1,red\n'),
      new PosCsvError(
        'POS CSV header is not usable (missing columns: order_id, event_ts, status, channel, fulfilment, currency, sku, category, quantity, unit_price_minor; unknown columns: colour)',
      ),
    );
  });

  it('throws PosCsvError for a file whose quoting is broken', () => {
    assert.throws(() => posCsvToEntries(`${HEADER}\n"m1,s1`), (err: unknown) => err instanceof PosCsvError && /^POS CSV cannot be parsed: Quote Not Closed/.test(err.message));
  });
});

describe('batchEntries', () => {
  it('bounds batches by entry count', () => {
    assert.deepStrictEqual(batchEntries(['a', 'b', 'c', 'd', 'e'], { maxEntries: 2 }), [['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('bounds batches by UTF-8 bytes, counting one separator byte per entry', () => {
    // 'é' is 2 bytes: each entry below counts 2 + 1 = 3 bytes.
    assert.deepStrictEqual(batchEntries(['é', 'é', 'é'], { maxBytes: 6 }), [['é', 'é'], ['é']]);
  });

  it('sends an entry larger than the byte limit alone rather than dropping it', () => {
    assert.deepStrictEqual(batchEntries(['a', 'x'.repeat(20), 'b'], { maxBytes: 10 }), [['a'], ['x'.repeat(20)], ['b']]);
  });

  it('returns no batches for no entries', () => {
    assert.deepStrictEqual(batchEntries([]), []);
  });

  it('uses 500 entries per batch by default', () => {
    assert.deepStrictEqual(
      batchEntries(Array.from({ length: 1001 }, () => '{}')).map((b) => b.length),
      [500, 500, 1],
    );
  });
});
