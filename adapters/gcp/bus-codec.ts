// How an InboundMessage travels through Pub/Sub, and how a delivered message becomes one again.
// data = JSON {"entries": [<entry text>, …]}; attributes = MessageAttributes plus received_at (ISO).
// Decoding never throws: a message that is not a Tillstream batch comes back as `malformed`, with its
// data as the one entry, so the function can reject it as invalid_json and acknowledge it (a retry
// would fail the same way forever).
import { z } from 'zod';
import { SOURCES } from '../../pipeline/contracts/events.js';
import type { InboundMessage, MessageAttributes } from '../../pipeline/ports.js';
import { describeIssues } from '../../pipeline/errors.js';

/** Pub/Sub allows 1024 bytes per attribute value; a longer user agent is cut, not refused. */
const MAX_ATTRIBUTE_BYTES = 1024;

export interface EncodedMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

export function encodeMessage(message: Pick<InboundMessage, 'receivedAt' | 'attributes' | 'entries'>): EncodedMessage {
  const attributes: Record<string, string> = { received_at: message.receivedAt.toISOString() };
  for (const [k, v] of Object.entries(message.attributes)) {
    if (v === undefined) continue;
    attributes[k] = truncateUtf8(String(v), MAX_ATTRIBUTE_BYTES);
  }
  return { data: Buffer.from(JSON.stringify({ entries: message.entries })), attributes };
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let cut = Buffer.from(text).subarray(0, maxBytes).toString('utf8');
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  while (Buffer.byteLength(cut) > maxBytes || cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return cut;
}

const Attributes = z.object({
  source: z.enum(SOURCES),
  received_at: z.iso.datetime({ offset: true }),
  key_merchant_id: z.string().min(1).optional(),
  user_agent: z.string().optional(),
  backfill: z.literal('1').optional(),
  run_id: z.string().min(1).optional(),
});
const Data = z.object({ entries: z.array(z.string()) });

/** A message as delivered by Pub/Sub (pull, push or CloudEvent), before decoding. */
export interface DeliveredMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
  /** 1 on first delivery; Pub/Sub reports it only when the subscription has a dead-letter policy. */
  deliveryAttempt: number;
}

export type DecodedMessage = { ok: true; message: InboundMessage } | { ok: false; message: InboundMessage; error: string };

export function decodeMessage(d: DeliveredMessage): DecodedMessage {
  const attrs = Attributes.safeParse(d.attributes);
  const text = d.data.toString('utf8');
  let data: z.infer<typeof Data> | undefined;
  let dataError = '';
  try {
    const parsed = Data.safeParse(JSON.parse(text));
    if (parsed.success) data = parsed.data;
    else dataError = 'data must be {"entries": [string, …]}';
  } catch (err) {
    dataError = `data is not JSON: ${(err as Error).message}`;
  }
  if (attrs.success && data) {
    const a = attrs.data;
    const attributes: MessageAttributes = { source: a.source };
    if (a.key_merchant_id !== undefined) attributes.key_merchant_id = a.key_merchant_id;
    if (a.user_agent !== undefined) attributes.user_agent = a.user_agent;
    if (a.backfill !== undefined) attributes.backfill = a.backfill;
    if (a.run_id !== undefined) attributes.run_id = a.run_id;
    return {
      ok: true,
      message: { id: d.id, receivedAt: new Date(a.received_at), attributes, entries: data.entries, deliveryAttempt: d.deliveryAttempt },
    };
  }
  const problems = [
    ...(attrs.success ? [] : attrs.error.issues.map((i) => `attribute ${i.path.join('.') || '?'}: ${i.message}`)),
    ...(data ? [] : [dataError]),
  ];
  const source = SOURCES.find((s) => s === d.attributes.source) ?? 'server';
  const receivedAt = attrs.success ? new Date(attrs.data.received_at) : d.publishTime;
  return {
    ok: false,
    error: `not a Tillstream batch message: ${problems.join('; ')}`,
    message: { id: d.id, receivedAt, attributes: { source }, entries: [text], deliveryAttempt: d.deliveryAttempt },
  };
}

// ---------------------------------------------------------------- push deliveries

/** The JSON body a Pub/Sub push subscription posts (wrapped payload). */
const PushBody = z.object({
  message: z.object({
    data: z.string().default(''),
    attributes: z.record(z.string(), z.string()).nullish(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
    publish_time: z.string().optional(),
  }),
  subscription: z.string().optional(),
  deliveryAttempt: z.number().int().nullish(),
});

/**
 * Reads a push body — `{message, subscription, deliveryAttempt?}`, which is also the `data` of a
 * `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent — into a DeliveredMessage.
 * Returns an error string when the body is not a Pub/Sub push at all.
 */
export function readPushBody(body: unknown, fallbackId?: string): DeliveredMessage | string {
  const parsed = PushBody.safeParse(body);
  if (!parsed.success) return `not a Pub/Sub push body: ${describeIssues(parsed.error.issues)}`;
  const m = parsed.data.message;
  const id = m.messageId ?? m.message_id ?? fallbackId;
  if (!id) return 'not a Pub/Sub push body: message.messageId is missing';
  const published = m.publishTime ?? m.publish_time;
  return {
    id,
    data: Buffer.from(m.data, 'base64'),
    attributes: m.attributes ?? {},
    publishTime: published ? new Date(published) : new Date(),
    deliveryAttempt: parsed.data.deliveryAttempt && parsed.data.deliveryAttempt > 0 ? parsed.data.deliveryAttempt : 1,
  };
}
