import assert from 'node:assert/strict';
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import { createPubSubPublisher, subscribe } from '../../../adapters/gcp/pubsub-bus.js';
import type { DecodedMessage } from '../../../adapters/gcp/bus-codec.js';
import { TEST_PROJECT, useEmulators } from './support/emulators.js';

describe('gcp pubsub bus (emulator)', function () {
  this.timeout(60_000);
  let pubsub: PubSub;
  let n = 0;

  before(async () => {
    await useEmulators();
    pubsub = new PubSub({ projectId: TEST_PROJECT });
  });
  after(async () => pubsub?.close());

  async function topicWithSubscription(): Promise<{ topic: string; sub: Subscription }> {
    const name = `bus-${++n}-${Date.now()}`;
    const [topic] = await pubsub.createTopic(name);
    const [sub] = await topic.createSubscription(`${name}-sub`, { ackDeadlineSeconds: 10 });
    return { topic: name, sub };
  }

  /** Collects deliveries until `until` says stop; each delivery is answered by `verdict`. */
  async function collect(sub: Subscription, until: (seen: DecodedMessage[]) => boolean, verdict: (d: DecodedMessage, seen: DecodedMessage[]) => 'ack' | 'nack') {
    const seen: DecodedMessage[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const handle = subscribe({
      subscription: sub,
      maxMessages: 5,
      handle: async (d) => {
        seen.push(d);
        const v = verdict(d, seen);
        if (until(seen)) done();
        return v;
      },
    });
    await finished;
    await handle.close();
    return seen;
  }

  it('publishes entries as batch messages bounded by count and decodes them back with their attributes', async () => {
    const { topic, sub } = await topicWithSubscription();
    const publisher = createPubSubPublisher({ pubsub, topic, limits: { maxEntries: 2 } });
    const receivedAt = new Date('2026-11-21T10:00:00.123Z');
    const ids = await publisher.publish([
      { receivedAt, attributes: { source: 'online', key_merchant_id: 'm1', user_agent: 'UA/1' }, entries: ['{"a":1}', '{"b":2}', 'not json'] },
    ]);
    assert.equal(ids.length, 2);
    const seen = await collect(sub, (s) => s.length === 2, () => 'ack');
    const byFirstEntry = seen.map((d) => d.message).sort((a, b) => a.entries.length - b.entries.length);
    assert.deepEqual(
      seen.map((d) => d.ok),
      [true, true],
    );
    assert.deepEqual(new Set(byFirstEntry.map((m) => m.id)), new Set(ids));
    assert.deepEqual(
      byFirstEntry.map(({ id: _id, ...rest }) => rest),
      [
        { receivedAt, attributes: { source: 'online', key_merchant_id: 'm1', user_agent: 'UA/1' }, entries: ['not json'], deliveryAttempt: 1 },
        { receivedAt, attributes: { source: 'online', key_merchant_id: 'm1', user_agent: 'UA/1' }, entries: ['{"a":1}', '{"b":2}'], deliveryAttempt: 1 },
      ],
    );
  });

  it('splits by bytes: an oversize entry travels alone and nothing is cut', async () => {
    const { topic, sub } = await topicWithSubscription();
    const big = 'x'.repeat(300);
    const publisher = createPubSubPublisher({ pubsub, topic, limits: { maxEntries: 100, maxBytes: 200 } });
    const ids = await publisher.publish([{ receivedAt: new Date('2026-11-21T10:00:00Z'), attributes: { source: 'pos' }, entries: ['a', big, 'b'] }]);
    assert.equal(ids.length, 3);
    const seen = await collect(sub, (s) => s.length === 3, () => 'ack');
    assert.deepEqual(seen.map((d) => d.message.entries).sort(), [['a'], ['b'], [big]]);
  });

  it('redelivers a nacked message with the same id and stops after the ack', async () => {
    const { topic, sub } = await topicWithSubscription();
    const publisher = createPubSubPublisher({ pubsub, topic });
    const [id] = await publisher.publish([{ receivedAt: new Date('2026-11-21T10:00:00Z'), attributes: { source: 'web' }, entries: ['{}'] }]);
    const seen = await collect(
      sub,
      (s) => s.length === 2,
      (_d, s) => (s.length === 1 ? 'nack' : 'ack'),
    );
    assert.deepEqual(
      seen.map((d) => d.message.id),
      [id, id],
    );
    // Acknowledged: a fresh pull finds no other message. Pub/Sub is at-least-once, so a copy of the acked
    // message may still come once if the ack raced the redelivery (the stages are idempotent for that);
    // it must then carry the same id and be the only one.
    const again: DecodedMessage[] = [];
    const handle = subscribe({ subscription: pubsub.subscription(sub.name), handle: async (d) => (again.push(d), 'ack') });
    await new Promise((r) => setTimeout(r, 2500));
    await handle.close();
    assert.ok(again.length <= 1, `${again.length} deliveries after the ack`);
    assert.deepEqual(again.map((d) => d.message.id), again.length ? [id] : []);
  });

  it('decodes a message that is not a Tillstream batch as malformed, keeping its data as the one entry', async () => {
    const { topic, sub } = await topicWithSubscription();
    const publishTime = Date.now();
    const id = await pubsub.topic(topic).publishMessage({ data: Buffer.from('{"entries": "nope"}'), attributes: { source: 'online' } });
    const [d] = await collect(sub, (s) => s.length === 1, () => 'ack');
    assert.ok(d && !d.ok);
    assert.equal(d.message.id, id);
    assert.deepEqual(d.message.entries, ['{"entries": "nope"}']);
    assert.deepEqual(d.message.attributes, { source: 'online' });
    assert.equal(d.error, 'not a Tillstream batch message: attribute received_at: Invalid input: expected string, received undefined; data must be {"entries": [string, …]}');
    assert.ok(Math.abs(d.message.receivedAt.getTime() - publishTime) < 60_000);
  });
});
