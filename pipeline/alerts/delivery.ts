// Webhook delivery of one queued alert: a signed POST (signing.ts) to the merchant's webhook URL.
// A 2xx answer delivers it; anything else (an error status, a refused connection, a timeout) is
// retried with exponential backoff — 1 minute doubling up to 2 hours between attempts — for a day
// from the first attempt, then recorded as failed. The queue (Pub/Sub or the local bus) holds the
// message between attempts: the outcome says how long to hold it. A delivery already recorded as
// delivered or failed is not sent again, so a redelivered queue message sends nothing twice. The POST
// goes only where webhook-url.ts allows, checked again at each attempt.
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../ports.js';
import { SIGNATURE_HEADER, signatureHeader } from './signing.js';
import type { AlertPayload } from './state.js';
import type { AlertStore, DeliveryStatus } from './store.js';
import { checkBeforeConnect, GCP_WEBHOOKS, guardedLookup, type WebhookPolicy } from './webhook-url.js';

export const RETRY_FOR_MS = 24 * 3_600_000;
export const FIRST_RETRY_MS = 60_000;
export const MAX_RETRY_MS = 2 * 3_600_000;
export const REQUEST_TIMEOUT_MS = 10_000;

/** Delay before attempt `attempt + 1` after `attempt` failed attempts (1-based). */
export function retryDelayMs(attempt: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
}

export type DeliveryOutcome =
  | { kind: 'delivered'; attempts: number }
  | { kind: 'retry'; delayMs: number; attempts: number; error: string }
  | { kind: 'failed'; attempts: number; error: string }
  /** Its next attempt is not due yet (a copy delivered early: after a restart, or by Pub/Sub's shorter backoff). */
  | { kind: 'not_due'; inMs: number }
  /** Already delivered or failed by an earlier copy of the message. */
  | { kind: 'done_before'; status: DeliveryStatus['status'] };

export type HttpPost = (url: string, init: { headers: Record<string, string>; body: string; timeoutMs: number }) => Promise<{ status: number }>;

/**
 * The webhook POST: to a URL the policy allows (webhook-url.ts), connecting only to addresses it
 * checked as the connection resolved them, and never following a redirect — a signed alert goes to
 * the configured URL or nowhere (a 3xx is an answer like any other non-2xx: retried, then failed).
 */
export function createWebhookPost(policy: WebhookPolicy): HttpPost {
  return (raw, init) =>
    new Promise((resolve, reject) => {
      let url: URL;
      try {
        url = checkBeforeConnect(raw, policy);
      } catch (err) {
        reject(err);
        return;
      }
      const send = url.protocol === 'https:' ? https.request : http.request;
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
          lookup: guardedLookup(url, policy),
          // A fresh connection per alert: a pooled socket would skip the lookup's check.
          agent: false,
          signal: AbortSignal.timeout(init.timeoutMs),
        },
        (res) => {
          res.on('error', () => undefined);
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
}

export async function deliverAlert(
  deps: { alerts: AlertStore; clock: Clock; post?: HttpPost },
  payload: AlertPayload,
): Promise<DeliveryOutcome> {
  const { alerts, clock } = deps;
  const post = deps.post ?? createWebhookPost(GCP_WEBHOOKS);
  const m = payload.merchant_id;
  const before = await alerts.getDelivery(m, payload.id);
  if (before && before.status !== 'pending') return { kind: 'done_before', status: before.status };
  const now = clock.now();
  if (before?.status === 'pending' && Date.parse(before.next_attempt_at) > now.getTime()) return { kind: 'not_due', inMs: Date.parse(before.next_attempt_at) - now.getTime() };
  const attempts = (before?.attempts ?? 0) + 1;
  const firstAttemptAt = before?.status === 'pending' ? Date.parse(before.first_attempt_at) : now.getTime();

  const settings = await alerts.getSettings(m);
  let error: string;
  if (!settings?.webhook_url) {
    error = 'no webhook_url configured';
  } else {
    const body = JSON.stringify(payload);
    try {
      const res = await post(settings.webhook_url, {
        headers: { 'content-type': 'application/json', 'user-agent': 'tillstream-alerts/1', [SIGNATURE_HEADER]: signatureHeader(settings.signing_secret, body, now), 'Tillstream-Alert-Id': payload.id },
        body,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
      if (res.status >= 200 && res.status < 300) {
        await alerts.putDelivery(m, payload.id, { status: 'delivered', attempts, delivered_at: now.toISOString() });
        return { kind: 'delivered', attempts };
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).message;
    }
  }
  const delayMs = retryDelayMs(attempts);
  if (now.getTime() + delayMs - firstAttemptAt > RETRY_FOR_MS) {
    await alerts.putDelivery(m, payload.id, { status: 'failed', attempts, last_error: error, failed_at: now.toISOString() });
    return { kind: 'failed', attempts, error };
  }
  await alerts.putDelivery(m, payload.id, {
    status: 'pending',
    attempts,
    last_error: error,
    first_attempt_at: new Date(firstAttemptAt).toISOString(),
    next_attempt_at: new Date(now.getTime() + delayMs).toISOString(),
  });
  return { kind: 'retry', delayMs, attempts, error };
}
