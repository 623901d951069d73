// The bus in GCP: Pub/Sub. The publisher turns entries into batch messages bounded by count and bytes
// (so the function count scales with batches, not events) and resolves once Pub/Sub has stored them.
// The subscriber (streaming pull with flow control) serves tools and tests; in production the
// pipeline-owned push subscriptions deliver to the functions instead (functions/pubsub-push.ts).
import { PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { batchEntries, type BatchLimits } from '../../pipeline/ingest/entries.js';
import { MessageTooLargeError, type InboundMessage, type Publisher } from '../../pipeline/ports.js';
import { decodeMessage, encodeMessage, type DecodedMessage, type EncodedMessage } from './bus-codec.js';

export interface PubSubPublisherOptions {
  pubsub: PubSub;
  topic: string;
  limits?: Partial<BatchLimits>;
}

/**
 * Pub/Sub refuses a message whose data is over 10 MB, and a publish request over 10 MB in total
 * (INVALID_ARGUMENT; https://cloud.google.com/pubsub/quotas#resource_limits). The bound is on the
 * encoded message, not on the entries: JSON escaping grows a quote or backslash twofold and a control
 * character of an unparsable NDJSON line sixfold (\u0001), so a body well inside the collector's limit
 * can encode past it. Counted here with the attributes, in decimal megabytes.
 */
export const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;

const encodedBytes = (m: EncodedMessage): number =>
  m.data.length + Object.entries(m.attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

/**
 * The messages of a batch: one, or, when its encoding is over Pub/Sub's limit, its halves, each split
 * again as needed. A single entry over the limit cannot travel: MessageTooLargeError.
 */
function encodeWithin(message: Pick<InboundMessage, 'receivedAt' | 'attributes'>, entries: string[], out: EncodedMessage[]): void {
  const encoded = encodeMessage({ ...message, entries });
  const bytes = encodedBytes(encoded);
  if (bytes <= PUBSUB_MAX_MESSAGE_BYTES) {
    out.push(encoded);
    return;
  }
  if (entries.length === 1) {
    throw new MessageTooLargeError(
      `an entry of ${Buffer.byteLength(entries[0]!)} bytes encodes to a message of ${bytes} bytes, above Pub/Sub's ${PUBSUB_MAX_MESSAGE_BYTES}-byte message limit`,
    );
  }
  const half = Math.ceil(entries.length / 2);
  encodeWithin(message, entries.slice(0, half), out);
  encodeWithin(message, entries.slice(half), out);
}

/**
 * A Publisher over one topic. A message whose entries exceed the limits is split into several
 * messages with the same attributes; the returned ids are those of every message published, in order.
 * Every message is encoded and measured before any is sent, so a call refused for an entry Pub/Sub
 * cannot carry (MessageTooLargeError) has enqueued nothing.
 */
export function createPubSubPublisher(opts: PubSubPublisherOptions): Publisher & { topic: Topic } {
  // The client's own batching groups our (already batched) messages into publish RPCs.
  const topic = opts.pubsub.topic(opts.topic, { batching: { maxMessages: 100, maxMilliseconds: 10 } });
  return {
    topic,
    async publish(messages) {
      const encoded: EncodedMessage[] = [];
      for (const m of messages) {
        for (const entries of batchEntries(m.entries, opts.limits)) encodeWithin(m, entries, encoded);
      }
      try {
        return await Promise.all(encoded.map(({ data, attributes }) => topic.publishMessage({ data, attributes })));
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

