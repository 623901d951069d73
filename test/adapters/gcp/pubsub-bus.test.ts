// The Pub/Sub publisher against Pub/Sub's written message limits (test/infra-cdktf/platform-facts.ts):
// a topic double that refuses what the service refuses, so a publish the emulator would take but
// Pub/Sub would not fails here. The entries as sent are not what travels: JSON escaping grows them.
import assert from 'node:assert/strict';
import type { PubSub } from '@google-cloud/pubsub';
import request from 'supertest';
import { createPubSubPublisher, PUBSUB_MAX_MESSAGE_BYTES } from '../../../adapters/gcp/pubsub-bus.js';
import { decodeMessage } from '../../../adapters/gcp/bus-codec.js';
import { createCollectHandler } from '../../../functions/collect.js';
import { createIngestPosBatchHandler } from '../../../functions/ingest-pos-batch.js';
import { createKey, newPepper } from '../../../pipeline/auth/keys.js';
import { MessageTooLargeError } from '../../../pipeline/ports.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../../services/collector/router.js';
import { InMemoryKeyStore } from '../../support/in-memory-command-stores.js';
import { deliver, MemoryLogger, testServer } from '../../functions/support.js';
import { PUBSUB_MESSAGE_LIMITS } from '../../infra-cdktf/platform-facts.js';

interface Sent {
  data: Buffer;
  attributes: Record<string, string>;
}

/** A PubSub whose topics take what the service takes and refuse the rest as it does (INVALID_ARGUMENT). */
function limitedPubSub(): { pubsub: PubSub; sent: Sent[] } {
  const sent: Sent[] = [];
  const topic = () => ({
    async publishMessage(m: Sent): Promise<string> {
      const attrs = Object.entries(m.attributes);
      const refused =
        m.data.length > PUBSUB_MESSAGE_LIMITS.maxMessageBytes ||
        attrs.length > PUBSUB_MESSAGE_LIMITS.maxAttributes ||
        attrs.some(([k, v]) => Buffer.byteLength(k) > PUBSUB_MESSAGE_LIMITS.maxAttributeKeyBytes || Buffer.byteLength(v) > PUBSUB_MESSAGE_LIMITS.maxAttributeValueBytes);
      if (refused) throw Object.assign(new Error('3 INVALID_ARGUMENT: Request payload size exceeds the limit'), { code: 3 });
      sent.push(m);
      return String(sent.length);
    },
  });
  return { pubsub: { topic } as unknown as PubSub, sent };
}

const receivedAt = new Date('2026-11-21T10:00:00Z');
/** An unparsable NDJSON line of control characters: each is six bytes (\u0001) once JSON-encoded. */
const controlLine = (chars: number) => '\u0001'.repeat(chars);

describe('gcp pubsub publisher against Pub/Sub message limits', () => {
  it('bounds its messages by the documented limit', () => {
    assert.ok(PUBSUB_MAX_MESSAGE_BYTES <= PUBSUB_MESSAGE_LIMITS.maxMessageBytes);
  });

  it('refuses a call with an entry whose message is over 10 MB, before sending any of its messages', async () => {
    const { pubsub, sent } = limitedPubSub();
    const publisher = createPubSubPublisher({ pubsub, topic: 't' });
    // 2 MB as sent, 12 MB as carried.
    const big = controlLine(2_000_000);
    await assert.rejects(
      publisher.publish([
        { receivedAt, attributes: { source: 'online' }, entries: ['{"a":1}'] },
        { receivedAt, attributes: { source: 'online' }, entries: [big] },
      ]),
      (err: Error) => err instanceof MessageTooLargeError && /an entry of 2000000 bytes encodes to a message of 120000\d\d bytes/.test(err.message),
    );
    assert.deepEqual(sent, []);
  });

  it('splits a batch whose encoding is over 10 MB into messages within it, every entry whole and in order', async () => {
    const { pubsub, sent } = limitedPubSub();
    // Three lines of 1 MB fit one 4 MB batch as sent, and take 18 MB as carried.
    const publisher = createPubSubPublisher({ pubsub, topic: 't', limits: { maxBytes: 4_000_000 } });
    const lines = [controlLine(1_000_000), '{"b":2}', controlLine(999_999)];
    const ids = await publisher.publish([{ receivedAt, attributes: { source: 'online' }, entries: lines }]);
    assert.equal(ids.length, 2);
    assert.ok(sent.every((m) => m.data.length <= PUBSUB_MESSAGE_LIMITS.maxMessageBytes));
    const carried = sent.flatMap((m, i) => {
      const decoded = decodeMessage({ id: String(i), data: m.data, attributes: m.attributes, publishTime: receivedAt, deliveryAttempt: 1 });
      assert.ok(decoded.ok);
      return decoded.message.entries;
    });
    assert.deepEqual(carried, lines);
  });

  it('makes the collector function refuse, with 413 and nothing enqueued, a body within its limit whose entry Pub/Sub cannot carry', async () => {
    const { pubsub, sent } = limitedPubSub();
    const pepper = newPepper();
    const keys = new InMemoryKeyStore();
    const ingest = createKey(pepper, { kind: 'ingest', merchantId: 'pizzaco' });
    await keys.put(ingest.record);
    const srv = testServer(createCollectHandler({ publisher: createPubSubPublisher({ pubsub, topic: 'tillstream-events' }), keys, pepper, rateLimitPerMinute: false }));
    const body = `{"event_id":"e1"}\n${controlLine(2_000_000)}\n`;
    assert.ok(Buffer.byteLength(body) < DEFAULT_MAX_BODY_BYTES);
    const res = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/x-ndjson').send(body);
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.deepEqual(sent, []);
  });

  it('makes ingestPosBatch acknowledge, with an error logged and nothing published, a POS file with an entry Pub/Sub cannot carry, instead of retrying it into the dead-letter topic', async () => {
    const { pubsub, sent } = limitedPubSub();
    const logger = new MemoryLogger();
    const entries = ['{"event_id":"e1"}', controlLine(2_000_000)];
    const srv = testServer(createIngestPosBatchHandler({ read: async () => ({ entries }), publisher: createPubSubPublisher({ pubsub, topic: 'tillstream-pos' }), logger }));
    const res = await deliver(srv, 'push', {
      messageId: 'n1',
      data: Buffer.from(JSON.stringify({ bucket: 'pos', name: 'pizzaco/1015.ndjson', timeCreated: '2026-11-21T10:15:00Z' })),
      attributes: { eventType: 'OBJECT_FINALIZE' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.outcome, 'entry_too_large');
    assert.deepEqual(sent, []);
    assert.deepEqual(logger.lines.map((l) => [l.level, l.msg]), [['error', 'POS file has an entry too large to publish']]);
  });
});
