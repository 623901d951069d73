import assert from 'node:assert/strict';
import { PubSub } from '@google-cloud/pubsub';
import request from 'supertest';
import { encodeMessage } from '../../adapters/gcp/bus-codec.js';
import { bigtableClient, dedupeFamilies, ensureTable } from '../../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex } from '../../adapters/gcp/bigtable-dedupe.js';
import { createPubSubPublisher, subscribe } from '../../adapters/gcp/pubsub-bus.js';
import { createIngestEventsHandler } from '../../functions/ingest-events.js';
import { createIngestStage } from '../../pipeline/ingest/stage.js';
import type { DedupeIndex, MessageAttributes } from '../../pipeline/ports.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../adapters/gcp/support/emulators.js';
import { dimensions, inventory, order, RECEIVED_AT } from '../pipeline/ingest/fixtures.js';
import { InMemoryRawSink } from '../support/in-memory-raw-sink.js';
import { deliver, MemoryLogger, SHAPES, testServer, type PushMessage } from './support.js';

const attributes: MessageAttributes = { source: 'online', key_merchant_id: 'pizzaco' };
const message = (messageId: string, entries: string[]): PushMessage => ({ messageId, ...encodeMessage({ receivedAt: RECEIVED_AT, attributes, entries }) });

describe('ingestEvents function (emulators)', function () {
  this.timeout(60_000);
  let dedupe: DedupeIndex;
  let sink: InMemoryRawSink;
  let logger: MemoryLogger;
  let tables = 0;

  before(async () => {
    await useEmulators();
  });
  beforeEach(async () => {
    dedupe = createBigtableDedupeIndex(await ensureTable(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE), `fn-dedupe-${++tables}`, dedupeFamilies(8 * 86_400)));
    sink = new InMemoryRawSink();
    logger = new MemoryLogger();
  });

  const server = (maxDeliveryAttempts = 5) =>
    testServer(
      createIngestEventsHandler({
        stage: createIngestStage({ dimensions: async () => dimensions, dedupe, sink, clock: { now: () => new Date('2026-11-21T12:00:02Z') } }),
        sink,
        clock: { now: () => new Date('2026-11-21T12:00:02Z') },
        maxDeliveryAttempts,
        logger,
      }),
    );

  for (const shape of SHAPES) {
    it(`processes a batch delivered as ${shape} and acknowledges it; a redelivery changes no count`, async () => {
      const srv = server();
      const m = message('1001', [JSON.stringify(order()), JSON.stringify(inventory()), '{broken', JSON.stringify(order())]);
      const expected = { message_id: '1001', delivery_attempt: 1, outcome: 'processed', entries: 4, accepted: 2, rejected: { invalid_json: 1 }, duplicates: 1 };
      const first = await deliver(srv, shape, m);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, expected);
      const again = await deliver(srv, shape, m, 2);
      assert.deepEqual([again.status, again.body], [200, { ...expected, delivery_attempt: 2 }]);
      assert.deepEqual(sink.counts(), { accepted: 2, rejected: { invalid_json: 1 }, duplicates: 1 });
      assert.deepEqual([...sink.events.keys()], ['pizzaco/ord-1', 'pizzaco/inv-1']);
    });
  }

  it('rejects a message that is not a batch as one invalid_json entry and acknowledges it', async () => {
    const srv = server();
    const m: PushMessage = { messageId: '2001', data: Buffer.from('{"events": 1}'), attributes: { source: 'online' }, publishTime: '2026-11-21T12:00:01.000Z' };
    for (const shape of SHAPES) {
      const res = await deliver(srv, shape, m);
      assert.deepEqual([res.status, res.body], [
        200,
        { message_id: '2001', delivery_attempt: 1, outcome: 'malformed', entries: 1, accepted: 0, rejected: { invalid_json: 1 }, duplicates: 0 },
      ]);
    }
    assert.deepEqual(sink.counts(), { accepted: 0, rejected: { invalid_json: 1 }, duplicates: 0 });
    assert.deepEqual(sink.rejected.get('2001/0'), {
      message_id: '2001',
      entry_index: 0,
      reason: 'invalid_json',
      detail: 'not a Tillstream batch message: attribute received_at: Invalid input: expected string, received undefined; data must be {"entries": [string, …]}',
      merchant_id: null,
      event_id: null,
      event_type: null,
      source: 'online',
      payload: '{"events": 1}',
      received_at: new Date('2026-11-21T12:00:01.000Z'),
      rejected_at: new Date('2026-11-21T12:00:02Z'),
    });
  });

  it('answers 500 on a transient warehouse failure, then accepts the redelivery exactly once', async () => {
    const srv = server();
    const m = message('3001', [JSON.stringify(order()), JSON.stringify(inventory())]);
    sink.failNext = new Error('backendError: try again');
    const first = await deliver(srv, 'push', m, 1);
    assert.deepEqual([first.status, first.body], [500, { error: { code: 'internal', message: 'ingest failed; will be retried' } }]);
    assert.deepEqual(sink.counts(), { accepted: 0, rejected: {}, duplicates: 0 });
    const second = await deliver(srv, 'push', m, 2);
    assert.deepEqual([second.status, second.body.outcome, second.body.accepted, second.body.duplicates], [200, 'processed', 2, 0]);
    assert.deepEqual(sink.counts(), { accepted: 2, rejected: {}, duplicates: 0 });
    assert.equal(sink.writes, 1);
    assert.deepEqual(logger.lines.map((l) => [l.level, l.msg]), [['warn', 'ingest failed; the subscription will redeliver']]);
  });

  it('rejects every entry as processing_failed on the last delivery attempt and acknowledges', async () => {
    const srv = server(5);
    const m = message('4001', [JSON.stringify(order()), '{broken']);
    sink.failNext = new Error('still down');
    const last = await deliver(srv, 'cloudevent-structured', m, 5);
    assert.deepEqual([last.status, last.body], [
      200,
      { message_id: '4001', delivery_attempt: 5, outcome: 'processing_failed', entries: 2, accepted: 0, rejected: { processing_failed: 2 }, duplicates: 0 },
    ]);
    assert.deepEqual(sink.counts(), { accepted: 0, rejected: { processing_failed: 2 }, duplicates: 0 });
    assert.deepEqual(
      [...sink.rejected.values()].map((r) => [r.entry_index, r.event_id, r.detail]),
      [
        [0, 'ord-1', 'failed after 5 delivery attempts: still down'],
        [1, null, 'failed after 5 delivery attempts: still down'],
      ],
    );
  });

  it('keeps the message for the dead-letter topic when even the processing_failed write fails', async () => {
    const srv = server(5);
    let failures = 2;
    const write = sink.write.bind(sink);
    sink.write = async (b) => {
      if (failures-- > 0) throw new Error('down');
      return write(b);
    };
    const res = await deliver(srv, 'push', message('5001', [JSON.stringify(order())]), 5);
    assert.deepEqual([res.status, res.body], [500, { error: { code: 'internal', message: 'writing processing_failed rows failed' } }]);
    assert.deepEqual(sink.counts(), { accepted: 0, rejected: {}, duplicates: 0 });
  });

  it('answers 400 to a request that is not a Pub/Sub delivery', async () => {
    const res = await request(server()).post('/').send({ hello: 'world' });
    assert.deepEqual([res.status, res.body], [
      400,
      { error: { code: 'invalid_body', message: 'not a Pub/Sub push body: message: Invalid input: expected object, received undefined' } },
    ]);
  });

  it('takes a message published by the gcp publisher and pulled from the emulator as the push subscription delivers it', async () => {
    const pubsub = new PubSub({ projectId: TEST_PROJECT });
    const [topic] = await pubsub.createTopic(`fn-events-${Date.now()}`);
    const [sub] = await topic.createSubscription(`${topic.name.split('/').pop()}-sub`, { ackDeadlineSeconds: 10 });
    const publisher = createPubSubPublisher({ pubsub, topic: topic.name.split('/').pop()!, limits: { maxEntries: 1 } });
    const ids = await publisher.publish([{ receivedAt: RECEIVED_AT, attributes, entries: [JSON.stringify(order()), JSON.stringify(order())] }]);
    const srv = server();
    // The function's acknowledged answer per message. Delivery is at least once: on a slow machine the
    // emulator may hand a message out again while its first delivery is still being answered, and that
    // delivery's answer (not an ack) only puts it back; wait for an acknowledged answer to each message.
    const answered = new Map<string, unknown>();
    await new Promise<void>((resolve) => {
      const handle = subscribe({
        subscription: sub,
        handle: async (d) => {
          // What a push subscription posts for this message, with the function's answer as the ack.
          const raw = d.message;
          const res = await deliver(srv, 'push', { messageId: raw.id, ...encodeMessage(raw) });
          if (res.status === 200 && !answered.has(raw.id)) answered.set(raw.id, res.body);
          if (answered.size === 2) void handle.close().then(resolve);
          return res.status === 200 ? 'ack' : 'nack';
        },
      });
    });
    await pubsub.close();
    assert.deepEqual(
      [...answered.values()].map((b) => (b as { outcome: string }).outcome),
      ['processed', 'processed'],
    );
    assert.deepEqual(sink.counts(), { accepted: 1, rejected: {}, duplicates: 1 });
    const owner = [...sink.events.values()][0]!.message_id;
    assert.ok(ids.includes(owner));
  });
});
