// Reading a Pub/Sub delivery from an HTTP request. The pipeline owns its push subscriptions (DESIGN.md,
// "GCP specifics"): each posts the wrapped push body `{message, subscription, deliveryAttempt}` to a
// function's HTTPS endpoint with an OIDC token. The same functions also take the delivery as a
// CloudEvent (`google.cloud.pubsub.topic.v1.messagePublished`, whose data is that push body), in
// binary or structured mode, so an Eventarc trigger or a test can drive them the same way.
//
// The functions are HTTP functions rather than functions-framework CloudEvent functions because the
// framework converts a raw push body into a CloudEvent and drops `deliveryAttempt` on the way, and
// an HTTP function chooses its status: 2xx acknowledges, 5xx makes the subscription retry.
import type { Request } from '@google-cloud/functions-framework';
import { readPushBody, type DeliveredMessage } from '../adapters/gcp/bus-codec.js';

export type DeliveryFormat = 'push' | 'cloudevent-binary' | 'cloudevent-structured';
export type PushRead = { ok: true; format: DeliveryFormat; delivery: DeliveredMessage } | { ok: false; error: string };

function jsonBody(req: Request): unknown {
  const body: unknown = req.body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      return JSON.parse(body.toString());
    } catch {
      return undefined;
    }
  }
  return body;
}

export function readPushRequest(req: Request): PushRead {
  const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const ceId = req.headers['ce-id'];
  if (req.headers['ce-specversion']) {
    const d = readPushBody(jsonBody(req), typeof ceId === 'string' ? ceId : undefined);
    return typeof d === 'string' ? { ok: false, error: `CloudEvent data: ${d}` } : { ok: true, format: 'cloudevent-binary', delivery: d };
  }
  if (contentType === 'application/cloudevents+json') {
    const event = jsonBody(req) as { id?: unknown; data?: unknown; data_base64?: unknown } | undefined;
    let data = event?.data;
    if (data === undefined && typeof event?.data_base64 === 'string') {
      try {
        data = JSON.parse(Buffer.from(event.data_base64, 'base64').toString('utf8'));
      } catch {
        data = undefined;
      }
    }
    const d = readPushBody(data, typeof event?.id === 'string' ? event.id : undefined);
    return typeof d === 'string' ? { ok: false, error: `CloudEvent data: ${d}` } : { ok: true, format: 'cloudevent-structured', delivery: d };
  }
  const d = readPushBody(jsonBody(req));
  return typeof d === 'string' ? { ok: false, error: d } : { ok: true, format: 'push', delivery: d };
}
