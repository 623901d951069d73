// Tests of the ingest stage with in-memory dedupe index and sink: end states of every entry,
// redelivery, duplicates within and across messages, transient failures, processing_failed.
import assert from 'node:assert/strict';
import { Event } from '../../../pipeline/contracts/events.js';
import { contentHash, normalizeEvent } from '../../../pipeline/ingest/normalize.js';
import { createIngestStage, processingFailedWrite } from '../../../pipeline/ingest/stage.js';
import type { Clock, InboundMessage } from '../../../pipeline/ports.js';
import { InMemoryDedupeIndex } from '../../support/in-memory-dedupe-index.js';
import { InMemoryRawSink } from '../../support/in-memory-raw-sink.js';
import { RECEIVED_AT, dimensions, inventory, message, order, pageView } from './fixtures.js';

const NOW = new Date('2026-11-21T12:00:05Z');
const clock: Clock = { now: () => NOW };
const json = (v: unknown) => JSON.stringify(v);

function setup() {
  const dedupe = new InMemoryDedupeIndex();
  const sink = new InMemoryRawSink();
  const stage = createIngestStage({ dimensions: async () => dimensions, dedupe, sink, clock });
  return { dedupe, sink, stage };
}

const acceptedRow = (input: unknown, messageId: string, entryIndex: number) => {
  const event = Event.parse(input);
  return normalizeEvent(event, { dimensions, messageId, entryIndex, receivedAt: RECEIVED_AT, eventTsMs: Date.parse(event.event_ts) });
};

describe('createIngestStage', () => {
  it('tells the caller its claims are queued before the index answers them, and a message with none at once', async () => {
    const { sink } = setup();
    const inner = new InMemoryDedupeIndex();
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    const claimed: string[] = [];
    const dedupe = {
      claim: async (cs: Parameters<InMemoryDedupeIndex['claim']>[0]) => {
        claimed.push(...cs.map((c) => c.eventId));
        await held;
        return inner.claim(cs);
      },
    };
    const stage = createIngestStage({ dimensions: async () => dimensions, dedupe, sink, clock });
    const seen: string[] = [];
    const running = stage(message('m-1', [json(order())]), { ordered: () => seen.push(`ordered after claiming [${claimed.join()}]`) });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ['ordered after claiming [ord-1]']);
    answer();
    assert.equal((await running).accepted, 1);
    const none = await stage(message('m-2', ['{broken']), { ordered: () => seen.push('ordered without claims') });
    assert.equal(none.rejected.invalid_json, 1);
    assert.deepEqual(seen, ['ordered after claiming [ord-1]', 'ordered without claims']);
  });

  it('gives every entry of a message exactly one end state and writes the rows of each', async () => {
    const { stage, sink, dedupe } = setup();
    const otherStore = { ...order(), event_id: 'ord-2', store_id: 'nope' };
    const msg = message('m-1', [json(order()), '{broken', json(otherStore), json(inventory()), json(pageView())]);
    const result = await stage(msg);

    const o = acceptedRow(order(), 'm-1', 0);
    const inv = acceptedRow(inventory(), 'm-1', 3);
    const pv = acceptedRow(pageView(), 'm-1', 4);
    const rejectedBase = { message_id: 'm-1', source: 'online', received_at: RECEIVED_AT, rejected_at: NOW };
    assert.deepStrictEqual(result, {
      entries: 5,
      accepted: 3,
      rejected: { invalid_json: 1, unknown_store: 1 },
      duplicates: 0,
      write: {
        accepted: [o.row, inv.row, pv.row],
        orderLines: o.orderLines,
        rejected: [
          {
            ...rejectedBase,
            entry_index: 1,
            reason: 'invalid_json',
            detail: `not valid JSON: Expected property name or '}' in JSON at position 1`,
            merchant_id: null,
            event_id: null,
            event_type: null,
            payload: '{broken',
          },
          {
            ...rejectedBase,
            entry_index: 2,
            reason: 'unknown_store',
            detail: 'store nope is not a store of merchant pizzaco',
            merchant_id: 'pizzaco',
            event_id: 'ord-2',
            event_type: 'order',
            payload: json(otherStore),
          },
        ],
        duplicates: [],
        arrivals: [
          // ord-1 (11:55Z) and inv-1 (11:30Z) share an hour, whose last event is ord-1; the page view (11:59Z) is another merchant's.
          { message_id: 'm-1', merchant_id: 'pizzaco', event_hour: new Date('2026-11-21T11:00:00Z'), received_at: RECEIVED_AT, last_event_at: new Date('2026-11-21T11:55:00Z') },
          { message_id: 'm-1', merchant_id: 'webshop', event_hour: new Date('2026-11-21T11:00:00Z'), received_at: RECEIVED_AT, last_event_at: new Date('2026-11-21T11:59:00Z') },
        ],
      },
    });
    assert.equal(sink.writes, 1);
    assert.deepStrictEqual(sink.counts(), { accepted: 3, rejected: { invalid_json: 1, unknown_store: 1 }, duplicates: 0 });
    // One claim call, for the valid entries only.
    assert.deepStrictEqual(
      dedupe.calls.map((c) => c.map((x) => [x.eventId, x.entry.index])),
      [
        [
          ['ord-1', 0],
          ['inv-1', 3],
          ['pv-1', 4],
        ],
      ],
    );
  });

  it('yields the same write and no new end state when the same message is delivered again', async () => {
    const { stage, sink } = setup();
    const msg = message('m-1', [json(order()), json(inventory()), 'nope']);
    const first = await stage(msg);
    const before = sink.counts();
    const second = await stage({ ...msg, deliveryAttempt: 2 });
    assert.deepStrictEqual(second, first);
    assert.deepStrictEqual(sink.counts(), before);
    assert.deepStrictEqual(before, { accepted: 2, rejected: { invalid_json: 1 }, duplicates: 0 });
  });

  it('records an exact copy in a later message as a duplicate of the first', async () => {
    const { stage, sink } = setup();
    await stage(message('m-1', [json(inventory())]));
    const result = await stage(message('m-2', [json(order()), json(inventory())]));
    assert.deepStrictEqual([result.accepted, result.rejected, result.duplicates], [1, {}, 1]);
    assert.deepStrictEqual(result.write.duplicates, [
      { message_id: 'm-2', entry_index: 1, merchant_id: 'pizzaco', event_id: 'inv-1', first_message_id: 'm-1', first_entry_index: 0, received_at: RECEIVED_AT },
    ]);
    assert.deepStrictEqual(result.write.accepted.map((r) => r.event_id), ['ord-1']);
    assert.deepStrictEqual(sink.counts(), { accepted: 2, rejected: {}, duplicates: 1 });
  });

  it('treats a copy whose key order or omitted defaults differ as the same content', async () => {
    const { stage } = setup();
    await stage(message('m-1', [json(order())]));
    const copy = order();
    (copy.body.line_items[1] as { discount_minor?: number }).discount_minor = 0;
    const result = await stage(message('m-2', [json(Object.fromEntries(Object.entries(copy).reverse()))]));
    assert.equal(result.duplicates, 1);
  });

  it('rejects a copy with different content in a later message as conflicting_duplicate naming the first entry', async () => {
    const { stage, sink } = setup();
    await stage(message('m-1', ['x', json(inventory())]));
    const changed = { ...inventory(), body: { ...inventory().body, quantity_on_hand: 41 } };
    const result = await stage(message('m-2', [json(changed)]));
    assert.deepStrictEqual(result.write.rejected, [
      {
        message_id: 'm-2',
        entry_index: 0,
        reason: 'conflicting_duplicate',
        detail: 'event inv-1 of merchant pizzaco was first received with different content in message m-1, entry 1',
        merchant_id: 'pizzaco',
        event_id: 'inv-1',
        event_type: 'inventory',
        source: 'online',
        payload: json(changed),
        received_at: RECEIVED_AT,
        rejected_at: NOW,
      },
    ]);
    assert.deepStrictEqual(sink.counts(), { accepted: 1, rejected: { invalid_json: 1, conflicting_duplicate: 1 }, duplicates: 0 });
  });

  it('lets the first of two copies in one message win, the second a duplicate or a conflict', async () => {
    const { stage, dedupe } = setup();
    const changed = { ...inventory(), body: { ...inventory().body, delta: -6 } };
    const result = await stage(message('m-1', [json(inventory()), json(inventory()), json(changed)]));
    assert.deepStrictEqual([result.accepted, result.rejected, result.duplicates], [1, { conflicting_duplicate: 1 }, 1]);
    assert.deepStrictEqual(result.write.duplicates.map((d) => [d.entry_index, d.first_message_id, d.first_entry_index]), [[1, 'm-1', 0]]);
    assert.deepStrictEqual(result.write.rejected.map((r) => [r.entry_index, r.detail]), [
      [2, 'event inv-1 of merchant pizzaco was first received with different content in message m-1, entry 0'],
    ]);
    assert.equal(dedupe.calls.length, 1);
    // Delivered again, the same entries keep the same end states.
    const again = await stage(message('m-1', [json(inventory()), json(inventory()), json(changed)]));
    assert.deepStrictEqual(again, result);
  });

  it('decides later copies in a message against another message that owns the event', async () => {
    const { stage } = setup();
    const x = inventory();
    const y = { ...x, body: { ...x.body, delta: -6 } };
    const z = { ...x, body: { ...x.body, delta: -7 } };
    await stage(message('m-1', [json(x)]));
    // m-2: y conflicts with m-1; the x after it is a duplicate of m-1's entry, y again a conflict, z a conflict.
    const result = await stage(message('m-2', [json(y), json(x), json(y), json(z)]));
    assert.deepStrictEqual(
      [
        result.write.duplicates.map((d) => [d.entry_index, d.first_message_id, d.first_entry_index]),
        result.write.rejected.map((r) => [r.entry_index, r.reason, r.detail]),
      ],
      [
        [[1, 'm-1', 0]],
        [
          [0, 'conflicting_duplicate', 'event inv-1 of merchant pizzaco was first received with different content in message m-1, entry 0'],
          [2, 'conflicting_duplicate', 'event inv-1 of merchant pizzaco was first received with different content in message m-1, entry 0'],
          [3, 'conflicting_duplicate', 'event inv-1 of merchant pizzaco was first received with different content in message m-1, entry 0'],
        ],
      ],
    );
  });

  it('propagates a failing sink, and a retry of the message then writes each entry once', async () => {
    const { stage, sink } = setup();
    const msg = message('m-1', [json(order()), json(order())]);
    sink.failNext = new Error('warehouse unavailable');
    await assert.rejects(stage(msg), new Error('warehouse unavailable'));
    const result = await stage({ ...msg, deliveryAttempt: 2 });
    assert.deepStrictEqual([result.accepted, result.duplicates], [1, 1]);
    assert.deepStrictEqual(sink.counts(), { accepted: 1, rejected: {}, duplicates: 1 });
  });

  it('propagates a failing dedupe index without writing', async () => {
    const sink = new InMemoryRawSink();
    const stage = createIngestStage({
      dimensions: async () => dimensions,
      dedupe: { claim: async () => Promise.reject(new Error('bigtable timeout')) },
      sink,
      clock,
    });
    await assert.rejects(stage(message('m-1', [json(order())])), new Error('bigtable timeout'));
    assert.equal(sink.writes, 0);
  });

  it('writes a message with no valid entry without asking the dedupe index', async () => {
    const { stage, dedupe } = setup();
    const result = await stage(message('m-1', ['[]', '']));
    assert.deepStrictEqual([result.rejected, dedupe.calls.length], [{ schema_mismatch: 1, invalid_json: 1 }, 0]);
  });

  it('applies its configuration', async () => {
    const dedupe = new InMemoryDedupeIndex();
    const sink = new InMemoryRawSink();
    const stage = createIngestStage({ dimensions: async () => dimensions, dedupe, sink, clock, config: { maxEventAgeMs: 60_000 } });
    const result = await stage(message('m-1', [json(inventory())]));
    assert.deepStrictEqual(result.rejected, { event_too_old: 1 });
  });

  it('refuses a bad configuration naming the key', () => {
    assert.throws(
      () => createIngestStage({ dimensions: async () => dimensions, dedupe: new InMemoryDedupeIndex(), sink: new InMemoryRawSink(), clock, config: { botPattern: '(' } }),
      new Error('invalid ingest configuration: botPattern: must be a valid regular expression'),
    );
  });

  it('cuts the stored payload of an oversize entry to the size limit', async () => {
    const { stage } = setup();
    const big = json({ ...order(), filler: 'x'.repeat(70_000) });
    const result = await stage(message('m-1', [big]));
    assert.deepStrictEqual([result.write.rejected[0]!.reason, result.write.rejected[0]!.payload], ['payload_too_large', big.slice(0, 64 * 1024)]);
  });
});

describe('processingFailedWrite', () => {
  it('rejects every entry of the message as processing_failed with the error and its cause, claiming nothing', () => {
    const msg: InboundMessage = message('m-9', [json(order()), 'garbage'], { deliveryAttempt: 5, attributes: { source: 'pos' } });
    const error = new Error('writing ingest rows', { cause: new TypeError('socket hang up') });
    const base = { message_id: 'm-9', reason: 'processing_failed', source: 'pos', received_at: RECEIVED_AT, rejected_at: NOW };
    const detail = 'failed after 5 delivery attempts: writing ingest rows (cause: TypeError: socket hang up)';
    assert.deepStrictEqual(processingFailedWrite(msg, error, NOW), {
      accepted: [],
      orderLines: [],
      rejected: [
        { ...base, entry_index: 0, detail, merchant_id: 'pizzaco', event_id: 'ord-1', event_type: 'order', payload: json(order()) },
        { ...base, entry_index: 1, detail, merchant_id: null, event_id: null, event_type: null, payload: 'garbage' },
      ],
      duplicates: [],
      arrivals: [],
    });
  });

  it('lets a later successful run of the same entries be accepted, because nothing was claimed', async () => {
    const { stage, sink } = setup();
    const msg = message('m-9', [json(order())]);
    await sink.write(processingFailedWrite(msg, new Error('boom'), NOW));
    const result = await stage(message('m-10', [json(order())]));
    assert.deepStrictEqual([result.accepted, contentHash(Event.parse(order())).length], [1, 43]);
  });
});
