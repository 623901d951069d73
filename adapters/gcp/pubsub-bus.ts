// The bus in GCP: Pub/Sub. The publisher turns entries into batch messages bounded by count and bytes
// (so the function count scales with batches, not events) and resolves once Pub/Sub has stored them.
// The subscriber (streaming pull with flow control) serves tools and tests; in production the
// pipeline-owned push subscriptions deliver to the functions instead (functions/pubsub-push.ts).
import { PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { batchEntries, type BatchLimits } from '../../pipeline/ingest/entries.js';
import type { Publisher } from '../../pipeline/ports.js';
import { decodeMessage, encodeMessage, type DecodedMessage } from './bus-codec.js';

export interface PubSubPublisherOptions {
  pubsub: PubSub;
  topic: string;
  limits?: Partial<BatchLimits>;
}

/**
 * A Publisher over one topic. A message whose entries exceed the limits is split into several
 * messages with the same attributes; the returned ids are those of every message published, in order.
 */
export function createPubSubPublisher(opts: PubSubPublisherOptions): Publisher & { topic: Topic } {
  // The client's own batching groups our (already batched) messages into publish RPCs.
  const topic = opts.pubsub.topic(opts.topic, { batching: { maxMessages: 100, maxMilliseconds: 10 } });
  return {
    topic,
    async publish(messages) {
      const pending: Promise<string>[] = [];
      for (const m of messages) {
        for (const entries of batchEntries(m.entries, opts.limits)) {
          const { data, attributes } = encodeMessage({ receivedAt: m.receivedAt, attributes: m.attributes, entries });
          pending.push(topic.publishMessage({ data, attributes }));
        }
      }
      try {
        return await Promise.all(pending);
      } catch (err) {
        throw new Error(`publishing to Pub/Sub topic ${opts.topic} failed`, { cause: err });
      }
    },
  };
}

export type Verdict = 'ack' | 'nack';

export interface PubSubSubscriberOptions {
  subscription: Subscription;
  /** Decides each delivery; throwing counts as nack (the message is redelivered). */
  handle: (decoded: DecodedMessage) => Promise<Verdict>;
  /** Flow control: at most this many messages in flight. */
  maxMessages?: number;
  onError?: (err: Error) => void;
}

export function fromPubSubMessage(m: Message): DecodedMessage {
  return decodeMessage({
    id: m.id,
    data: m.data,
    attributes: m.attributes ?? {},
    publishTime: new Date(m.publishTime.getTime()),
    deliveryAttempt: m.deliveryAttempt > 0 ? m.deliveryAttempt : 1,
  });
}

/** Streaming pull with flow control; returns a handle that stops pulling and waits for in-flight work. */
export function subscribe(opts: PubSubSubscriberOptions): { close(): Promise<void> } {
  const sub = opts.subscription;
  sub.setOptions({ flowControl: { maxMessages: opts.maxMessages ?? 10, allowExcessMessages: false } });
  const inFlight = new Set<Promise<void>>();
  const onMessage = (m: Message) => {
    const work = (async () => {
      let verdict: Verdict = 'nack';
      try {
        verdict = await opts.handle(fromPubSubMessage(m));
      } catch (err) {
        opts.onError?.(err as Error);
      }
      if (verdict === 'ack') m.ack();
      else m.nack();
    })();
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };
  const onError = (err: Error) => opts.onError?.(err);
  sub.on('message', onMessage);
  sub.on('error', onError);
  return {
    async close() {
      sub.off('message', onMessage);
      await Promise.all(inFlight);
      await sub.close();
      sub.off('error', onError);
    },
  };
}

/** Creates a PubSub client once per process; the emulator is picked up from PUBSUB_EMULATOR_HOST. */
let client: PubSub | undefined;
export function pubsubClient(projectId: string): PubSub {
  return (client ??= new PubSub({ projectId }));
}

