// Alert entry points of the gcp runtime (docs/alerts.md; infra-cdktf/constructs/alerts.ts):
// - deliverAlert: the push endpoint of the alerts subscription. One alert per message; 2xx acks it
//   (delivered, finally failed, or done by an earlier copy), an error status has Pub/Sub bring it
//   back after its backoff. Pub/Sub's backoff stops at 600 s and its dead-letter policy at 100
//   attempts (https://cloud.google.com/pubsub/docs/handling-failures), while a webhook is retried
//   for a day with waits up to 2 hours: before the attempts run out, the alert is published again
//   (a fresh message, attempt 1) and the old copy acked. A body that is not an alert answers 400 and
//   ends in the dead-letter topic.
// - evaluateAlerts: called by Cloud Scheduler every 15 minutes; evaluates the scheduled rules as of
//   the job's scheduled time (X-CloudScheduler-ScheduleTime), so a retried call repeats the same
//   evaluation, which claims nothing twice.
import type { HttpFunction } from '@google-cloud/functions-framework';
import { deliverAlert, type HttpPost } from '../pipeline/alerts/delivery.js';
import type { AlertQueue, EvaluationSummary } from '../pipeline/alerts/evaluate.js';
import type { AlertPayload } from '../pipeline/alerts/state.js';
import type { AlertStore } from '../pipeline/alerts/store.js';
import { errorDetail } from '../pipeline/errors.js';
import type { Clock, Logger } from '../pipeline/ports.js';

/** Republish before Pub/Sub's 100th attempt dead-letters an alert that is only waiting. */
export const REPUBLISH_AT_ATTEMPT = 90;
const QUARTER_HOUR_MS = 15 * 60_000;

interface PushBody {
  message?: { data?: string; messageId?: string };
  deliveryAttempt?: number;
}

function decode(body: unknown): AlertPayload | undefined {
  const data = (body as PushBody | undefined)?.message?.data;
  if (typeof data !== 'string') return undefined;
  try {
    const p = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as AlertPayload;
    return typeof p?.id === 'string' && typeof p.merchant_id === 'string' && typeof p.type === 'string' ? p : undefined;
  } catch {
    return undefined;
  }
}

export function createDeliverAlertHandler(deps: { alerts: AlertStore; queue: AlertQueue; clock: Clock; logger: Logger; post?: HttpPost }): HttpFunction {
  return async (req, res) => {
    const payload = decode(req.body);
    if (!payload) {
      deps.logger.error({ message_id: (req.body as PushBody | undefined)?.message?.messageId }, 'alerts message is not an alert');
      res.status(400).json({ error: { code: 'invalid_body', message: 'not an alert' } });
      return;
    }
    try {
      const outcome = await deliverAlert({ alerts: deps.alerts, clock: deps.clock, post: deps.post }, payload);
      if (outcome.kind === 'retry' || outcome.kind === 'not_due') {
        const attempt = Number((req.body as PushBody).deliveryAttempt ?? 1);
        if (attempt >= REPUBLISH_AT_ATTEMPT) {
          await deps.queue.enqueue([payload]);
          res.status(204).end();
          return;
        }
        if (outcome.kind === 'retry') deps.logger.warn({ alert_id: payload.id, attempts: outcome.attempts, error: outcome.error }, 'alert webhook failed; retrying');
        res.status(503).json({ error: { code: 'internal', message: outcome.kind === 'retry' ? 'webhook failed; retried later' : 'next attempt not due yet' } });
        return;
      }
      if (outcome.kind === 'failed') deps.logger.error({ alert_id: payload.id, attempts: outcome.attempts, error: outcome.error }, 'alert webhook failed for a day; recorded as failed');
      res.status(204).end();
    } catch (err) {
      deps.logger.error({ alert_id: payload.id, err: errorDetail(err) }, 'alert delivery failed');
      res.status(500).json({ error: { code: 'internal', message: 'delivery failed; retried' } });
    }
  };
}

export function createEvaluateAlertsHandler(deps: { evaluate: (asOf: Date) => Promise<EvaluationSummary>; clock: Clock; logger: Logger }): HttpFunction {
  return async (req, res) => {
    const header = req.get('x-cloudscheduler-scheduletime');
    const scheduled = header ? new Date(header) : undefined;
    // Without the scheduler's header (a manual call), the quarter hour just begun.
    const asOf = scheduled && !Number.isNaN(scheduled.getTime()) ? scheduled : new Date(Math.floor(deps.clock.now().getTime() / QUARTER_HOUR_MS) * QUARTER_HOUR_MS);
    try {
      const summary = await deps.evaluate(asOf);
      deps.logger.info({ as_of: asOf.toISOString(), ...summary }, 'scheduled alert rules evaluated');
      res.status(200).json({ as_of: asOf.toISOString(), ...summary });
    } catch (err) {
      deps.logger.error({ as_of: asOf.toISOString(), err: errorDetail(err) }, 'scheduled alert evaluation failed');
      res.status(500).json({ error: { code: 'internal', message: 'evaluation failed' } });
    }
  };
}
