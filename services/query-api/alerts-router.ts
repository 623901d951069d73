// Alert routes of the query API (docs/alerts.md): a merchant's alert settings — the webhook and the
// rules — managed with that merchant's manage key or an admin key, and the alerts history, which a
// read key may also see. State lives in the series store (pipeline/alerts/store.ts), so these routes
// read nothing the rest of the API does not. Mounted by app.ts.
import express, { Router, type RequestHandler, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import { AlertRule, AlertSettings } from '../../pipeline/alerts/rules.js';
import { deleteRule, getSettings, putRule, setWebhook, SettingsError } from '../../pipeline/alerts/settings.js';
import type { AlertPayload } from '../../pipeline/alerts/state.js';
import { createAlertStore, HISTORY_LIMIT } from '../../pipeline/alerts/store.js';
import { GCP_WEBHOOKS, type WebhookPolicy } from '../../pipeline/alerts/webhook-url.js';
import { authenticate, bearerToken } from '../../pipeline/auth/keys.js';
import { systemClock, type Clock, type KeyKind, type KeyRecord, type KeyStore, type SeriesStore } from '../../pipeline/ports.js';
import { HttpError, badParameter, notFound } from '../http/errors.js';
import { MerchantIdParam } from './params.js';

export interface AlertsRouterDeps {
  series: SeriesStore;
  keys: KeyStore;
  pepper: Buffer;
  clock?: Clock;
  rateLimit?: { windowMs?: number; limit?: number } | false;
  /** Where webhooks may point (pipeline/alerts/webhook-url.ts); gcp's rule, https to public addresses, unless given. */
  webhooks?: WebhookPolicy;
}

const MANAGE: readonly KeyKind[] = ['manage', 'admin'];
const READ: readonly KeyKind[] = ['read', 'manage', 'admin'];

function keyOf(res: Response): KeyRecord {
  return res.locals.alertsKey as KeyRecord;
}

export function createAlertsRouter(deps: AlertsRouterDeps): Router {
  const clock = deps.clock ?? systemClock;
  const alerts = createAlertStore(deps.series);
  const router = Router();
  const json = express.json({ limit: '64kb', type: () => true });

  const requireKey = (kinds: readonly KeyKind[]): RequestHandler => async (req, res, next) => {
    const unauthorized = (message: string) => new HttpError(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': 'Bearer realm="tillstream"' } });
    const presented = bearerToken(req.headers.authorization);
    if (!presented) throw unauthorized('send a manage key as Authorization: Bearer <key>');
    const result = await authenticate(deps.keys, deps.pepper, presented, clock.now());
    if (!result.ok) throw unauthorized(result.failure === 'expired' ? 'the key has expired' : result.failure === 'revoked' ? 'the key has been revoked' : 'the key is not valid');
    if (!kinds.includes(result.record.kind)) throw new HttpError(403, 'forbidden', `a ${result.record.kind} key cannot do this; use a ${kinds[0]} key`);
    // A merchant's key reaches only its merchant; any other path answers 404, existing or not.
    const merchantId = String(req.params.merchantId);
    if (result.record.kind !== 'admin' && result.record.merchant_id !== merchantId) throw notFound('no such merchant');
    if (!MerchantIdParam.safeParse(merchantId).success) throw notFound('no such merchant');
    res.locals.alertsKey = result.record;
    next();
  };
  const limiter: RequestHandler =
    deps.rateLimit === false
      ? (_req, _res, next) => next()
      : rateLimit({
          windowMs: deps.rateLimit?.windowMs ?? 60_000,
          limit: deps.rateLimit?.limit ?? 120,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          keyGenerator: (_req, res) => keyOf(res).id,
          handler: (_req, _res, next) => next(new HttpError(429, 'rate_limited', 'too many requests for this key; retry after the number of seconds in Retry-After')),
          validate: false,
        });
  const jsonBody: RequestHandler = (req, res, next) => {
    if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
    json(req, res, (err?: unknown) => {
      if (err) {
        const e = err as { type?: string; status?: number };
        next(e.type === 'entity.too.large' ? new HttpError(413, 'payload_too_large', 'the body is larger than 64 kB') : new HttpError(400, 'invalid_body', 'the body is not valid JSON'));
      } else next();
    });
  };
  const asHttp = (err: unknown): never => {
    if (err instanceof SettingsError) throw err.kind === 'not_found' ? notFound(err.message) : new HttpError(400, 'invalid_body', err.message);
    throw err;
  };
  const manage = [requireKey(MANAGE), limiter];
  const base = '/v1/merchants/:merchantId/alerts';

  router.get(`${base}/rules`, ...manage, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await getSettings(alerts, String(req.params.merchantId)));
  });
  router.put(`${base}/webhook`, ...manage, jsonBody, async (req, res) => {
    const body = z.strictObject({ url: z.unknown(), rotate_secret: z.boolean().optional() }).safeParse(req.body);
    if (!body.success) throw new HttpError(400, 'invalid_body', 'expected {"url": "https://…", "rotate_secret"?: true}');
    const out = await setWebhook(alerts, String(req.params.merchantId), body.data.url, { rotateSecret: body.data.rotate_secret, policy: deps.webhooks ?? GCP_WEBHOOKS }).catch(asHttp);
    res.set('Cache-Control', 'no-store').json(out);
  });
  router.post(`${base}/rules`, ...manage, jsonBody, async (req, res) => {
    const m = String(req.params.merchantId);
    const existing = await getSettings(alerts, m);
    const id = (req.body as { id?: unknown } | null)?.id;
    if (existing.rules.some((r) => r.id === id)) throw new HttpError(400, 'invalid_body', `rule ${String(id)} exists; PUT ${base.replace(':merchantId', m)}/rules/${String(id)} replaces it`);
    const { rule } = await putRule(alerts, m, req.body).catch(asHttp);
    res.status(201).set('Cache-Control', 'no-store').json(rule);
  });
  router.put(`${base}/rules/:ruleId`, ...manage, jsonBody, async (req, res) => {
    const body = req.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid_body', 'expected a rule object');
    if (body.id !== undefined && body.id !== req.params.ruleId) throw badParameter('id', 'the body id differs from the path');
    const { rule, created } = await putRule(alerts, String(req.params.merchantId), { ...body, id: req.params.ruleId }).catch(asHttp);
    res.status(created ? 201 : 200).set('Cache-Control', 'no-store').json(rule);
  });
  router.delete(`${base}/rules/:ruleId`, ...manage, async (req, res) => {
    await deleteRule(alerts, String(req.params.merchantId), String(req.params.ruleId)).catch(asHttp);
    res.status(204).end();
  });
  router.get(base, requireKey(READ), limiter, async (req, res) => {
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT) throw badParameter('limit', `limit must be an integer from 1 to ${HISTORY_LIMIT}`);
    const unknown = Object.keys(req.query as object).find((k) => k !== 'limit');
    if (unknown) throw badParameter(unknown, `unknown parameter ${unknown}`);
    res.set('Cache-Control', 'no-store').json({ alerts: await alerts.history(String(req.params.merchantId), { limit }) });
  });
  return router;
}

// ---------------------------------------------------------------- OpenAPI

const Delivery = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.int(),
    last_error: z.string().nullable().optional(),
    first_attempt_at: z.string().optional(),
    next_attempt_at: z.string().optional(),
    delivered_at: z.string().optional(),
    failed_at: z.string().optional(),
  })
  .nullable()
  .describe('Webhook delivery: retried with backoff for a day, then failed; null before the first attempt');
export const AlertPayloadSchema = z.object({
  id: z.string().describe('Stable id: a redelivered webhook carries the same id (deduplicate on it)'),
  type: z.enum(['alert.fired', 'alert.cleared']),
  merchant_id: z.string(),
  rule_id: z.string(),
  kind: z.enum(['low_stock', 'sales_drop', 'feed_silent', 'freshness']),
  subject: z.object({ store_id: z.string().nullable().optional(), sku: z.string().nullable().optional() }),
  at: z.string().describe('ISO instant: the hour the condition started or ended, or the evaluation time'),
  fired_id: z.string().optional().describe('On alert.cleared: the id of the alert it ends'),
  details: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
}) satisfies z.ZodType<AlertPayload>;

export function alertsOpenApi(json: (schema: z.ZodType, io?: 'input' | 'output') => object, errorResponse: (d: string) => object): { schemas: Record<string, object>; paths: Record<string, object> } {
  const security = [{ bearer: [] }];
  const merchantParam = { name: 'merchantId', in: 'path', required: true, schema: json(MerchantIdParam) };
  const ruleParam = { name: 'ruleId', in: 'path', required: true, schema: { type: 'string' } };
  const body = (ref: string) => ({ required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
  const ok = (description: string, ref: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });
  const errors = {
    '400': errorResponse('Invalid body (`invalid_body`, with the paths zod rejected) or parameter'),
    '401': errorResponse('Missing, unknown, expired or revoked key'),
    '403': errorResponse('Not a manage or admin key'),
    '404': errorResponse("Another merchant's path, or an unknown rule"),
    '415': errorResponse('Body not application/json'),
    '429': errorResponse('Rate limited; retry after `Retry-After` seconds'),
  };
  return {
    schemas: {
      AlertRule: json(AlertRule, 'input'),
      AlertSettings: json(AlertSettings.extend({ merchant_id: z.string() })),
      AlertWebhook: json(z.strictObject({ url: z.url(), rotate_secret: z.boolean().optional() }), 'input'),
      AlertWebhookSet: json(z.object({ webhook_url: z.string(), signing_secret: z.string().optional().describe('Shown only when made: on the first set and on rotation') })),
      AlertHistory: json(z.object({ alerts: z.array(AlertPayloadSchema.extend({ delivery: Delivery })) })),
      AlertPayload: json(AlertPayloadSchema),
    },
    paths: {
      '/v1/merchants/{merchantId}/alerts': {
        get: {
          operationId: 'getAlerts',
          summary: 'Alerts history, newest first, with delivery status (read, manage or admin key)',
          security,
          parameters: [merchantParam, { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: HISTORY_LIMIT, default: 100 } }],
          responses: { '200': ok('The history', 'AlertHistory'), ...errors },
        },
      },
      '/v1/merchants/{merchantId}/alerts/rules': {
        get: { operationId: 'getAlertRules', summary: 'Webhook URL and rules (manage or admin key)', security, parameters: [merchantParam], responses: { '200': ok('Settings', 'AlertSettings'), ...errors } },
        post: { operationId: 'createAlertRule', summary: 'Add a rule', security, parameters: [merchantParam], requestBody: body('AlertRule'), responses: { '201': ok('The rule', 'AlertRule'), ...errors } },
      },
      '/v1/merchants/{merchantId}/alerts/rules/{ruleId}': {
        put: { operationId: 'putAlertRule', summary: 'Create or replace a rule', security, parameters: [merchantParam, ruleParam], requestBody: body('AlertRule'), responses: { '200': ok('Replaced', 'AlertRule'), '201': ok('Created', 'AlertRule'), ...errors } },
        delete: { operationId: 'deleteAlertRule', summary: 'Delete a rule (its open alerts clear at the next evaluation)', security, parameters: [merchantParam, ruleParam], responses: { '204': { description: 'Deleted' }, ...errors } },
      },
      '/v1/merchants/{merchantId}/alerts/webhook': {
        put: {
          operationId: 'putAlertWebhook',
          summary: 'Set the webhook URL; the signing secret is returned when made (first set, or rotate_secret)',
          description: 'Each webhook POST carries `Tillstream-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`; see docs/alerts.md.',
          security,
          parameters: [merchantParam],
          requestBody: body('AlertWebhook'),
          responses: { '200': ok('Set', 'AlertWebhookSet'), ...errors },
        },
      },
    },
  };
}
