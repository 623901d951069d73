// GET /v1/merchants/{merchantId}/rejections: a merchant's entries rejected in the last 7 days —
// counts by reason code and the newest samples with the detail and the payload as sent (what
// Snowplow Micro shows as bad events). Read, manage and admin keys, like the metrics. The report is a
// document in the series store (runtime/rejections.ts writes it after each mart run), so this route,
// like every other, reads the series store alone. Mounted by app.ts.
import { Router, type RequestHandler } from 'express';
import type { RejectionsDocument } from '../../runtime/rejections.js';
import { documentKey } from '../../pipeline/series/row-key.js';
import { systemClock, type Clock, type KeyStore, type SeriesStore } from '../../pipeline/ports.js';
import { HttpError, notFound } from '../http/errors.js';
import { assertMerchantAccess, readerOf, requireReader } from './auth.js';
import { MerchantIdParam } from './params.js';

export interface RejectionsRouterDeps {
  series: SeriesStore;
  keys: KeyStore;
  pepper: Buffer;
  clock?: Clock;
}

export function createRejectionsRouter(deps: RejectionsRouterDeps): Router {
  const router = Router();
  const reader = requireReader({ keys: deps.keys, pepper: deps.pepper, clock: deps.clock ?? systemClock });
  const noQuery: RequestHandler = (req, _res, next) => {
    const name = Object.keys(req.query as object)[0];
    if (name !== undefined) throw new HttpError(400, 'invalid_parameter', `unknown parameter "${name}"`, { param: name });
    next();
  };
  router.get('/v1/merchants/:merchantId/rejections', reader, noQuery, async (req, res) => {
    const merchantId = String(req.params.merchantId);
    assertMerchantAccess(readerOf(res), merchantId);
    if (!MerchantIdParam.safeParse(merchantId).success) throw notFound('no such merchant');
    const doc = await deps.series.getDocument<RejectionsDocument>(documentKey(merchantId, 'rejections'));
    res.setHeader('Cache-Control', 'private, max-age=60');
    res.json(doc ?? { merchant_id: merchantId, as_of: null, from: null, to: null, total: 0, by_reason: {}, samples: [] });
  });
  return router;
}

/** The route's part of the OpenAPI document (openapi.ts spreads it in). */
export function rejectionsOpenApi(errorResponse: (description: string) => unknown) {
  const sample = {
    type: 'object',
    properties: {
      received_at: { type: 'string', format: 'date-time' },
      reason: { type: 'string', description: 'A reason code (docs/events.md)' },
      detail: { type: ['string', 'null'], description: 'Why, for a person: failing paths, limits' },
      merchant_id: { type: ['string', 'null'] },
      event_id: { type: ['string', 'null'] },
      event_type: { type: ['string', 'null'] },
      source: { type: 'string' },
      payload: { type: 'string', description: 'The entry as sent, cut to 300 characters' },
    },
    required: ['received_at', 'reason', 'detail', 'merchant_id', 'event_id', 'event_type', 'source', 'payload'],
  };
  return {
    schemas: {
      Rejections: {
        type: 'object',
        properties: {
          merchant_id: { type: 'string' },
          as_of: { type: ['string', 'null'], format: 'date-time', description: 'When the report was made (after a mart run); null before the first' },
          from: { type: ['string', 'null'], format: 'date-time' },
          to: { type: ['string', 'null'], format: 'date-time' },
          total: { type: 'integer' },
          by_reason: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Reason code → entries, most frequent first' },
          samples: { type: 'array', items: sample, description: 'The newest rejected entries, newest first' },
        },
        required: ['merchant_id', 'as_of', 'from', 'to', 'total', 'by_reason', 'samples'],
      },
    },
    paths: {
      '/v1/merchants/{merchantId}/rejections': {
        get: {
          operationId: 'getRejections',
          summary: "A merchant's rejected entries of the last 7 days: counts by reason and the newest samples",
          security: [{ bearer: [] }],
          parameters: [{ name: 'merchantId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'The report, as of the last mart run', content: { 'application/json': { schema: { $ref: '#/components/schemas/Rejections' } } } },
            '401': errorResponse('Missing or bad key'),
            '403': errorResponse('Not a read, manage or admin key'),
            '404': errorResponse('No such merchant for this key'),
          },
        },
      },
    },
  };
}
