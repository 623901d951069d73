// The OpenAPI 3.1 document at /openapi.json, generated from the zod schemas the services validate with
// (z.toJSONSchema, draft 2020-12, which OpenAPI 3.1 embeds) — the query API's routes and the collector's
// POST /v1/events — with the metrics catalog published in its description and enums.
import { z } from 'zod';
import { Event } from '../../pipeline/contracts/events.js';
import { CATALOG } from '../../pipeline/metrics/catalog.js';
import { ERROR_CODES } from '../http/errors.js';
import { alertsOpenApi } from './alerts-router.js';
import { rejectionsOpenApi } from './rejections-router.js';
import { MAX_DAYS, MAX_HOURS, MerchantIdParam, MetricsQuery } from './params.js';
import { LowStockQuery, PromotionsQuery } from './stock.js';
import { TopQuery } from './top.js';

const Nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const ErrorBodySchema = z.object({
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string(), param: z.string().optional() }),
});
export const MetricsResponseSchema = z.object({
  merchant_id: z.string(),
  series: z.enum(CATALOG.map((s) => s.name) as [string, ...string[]]),
  granularity: z.enum(['hour', 'day']),
  time_zone: z.string().describe('UTC for hours; the zone of the local days otherwise'),
  points: z.array(
    z.object({
      start: z.string().describe('ISO 8601 instant of the UTC hour, or the local date YYYY-MM-DD'),
      values: z.record(z.string(), Nullable(z.number())).describe('Metric → value: 0 for additive metrics without data, null for ratios without a denominator'),
      provisional: z.boolean().describe('true until a mart run has finalized the bucket'),
    }),
  ),
});
const Totals = z.record(z.string(), Nullable(z.number()));
/** With compare=previous_period (and from/to also with range=). */
export const MetricsComparisonSchema = z.object({
  from: z.string().describe('The range answered, resolved (a preset in the merchant\'s days)'),
  to: z.string(),
  totals: Totals.describe('Additive metrics summed; ratios from the summed cells; distinct counts only for a single bucket (null otherwise); gauges the last value'),
  comparison: z.object({
    from: z.string().describe('The previous period of the same length, just before from'),
    to: z.string(),
    totals: Totals,
    change_pct: Totals.describe('(current − previous) / |previous| × 100; null when previous is 0 or null'),
    points: MetricsResponseSchema.shape.points,
  }),
});
const TopValues = z
  .record(z.string(), Nullable(z.number()))
  .describe('Every additive metric of the series, summed; distinct counts (visitors, sessions) only for a range of one bucket, else null');
export const TopResponseSchema = z.object({
  merchant_id: z.string(),
  series: z.enum(['products', 'sales', 'pages', 'referrers', 'devices', 'countries']),
  dimension: z.enum(['sku', 'store', 'page', 'referrer', 'device', 'country']),
  by: z.string(),
  store: z.string().optional().describe('The store the products were ranked in, when asked'),
  from: z.string(),
  to: z.string(),
  time_zone: z.string().describe("The merchant's zone when from and to are local days, else UTC"),
  granularity: z.enum(['hour', 'day']).describe("hour: the hourly rows of `hours` were summed; day: the daily rows of the merchant's local days from–to (web traffic series asked in days)"),
  hours: z.object({ from: z.string(), to: z.string() }).describe('The UTC hours that cover the range'),
  items: z.array(z.object({ rank: z.int(), key: z.string().describe('The sku, store id, page path, referring host, device or country'), values: TopValues })),
  other: z.object({ count: z.int().describe('How many more were summed into other'), values: TopValues }),
  totals: TopValues,
});
export const LowStockResponseSchema = z.object({
  merchant_id: z.string(),
  store: z.string().optional().describe('The store asked for, when asked'),
  items: z.array(
    z.object({
      store_id: z.string(),
      sku: z.string(),
      closing_quantity: z.int().describe('Quantity on hand at the end of the newest hour'),
      low_since: z.string().describe('Start of the first UTC hour of the run of low hours that lasts until now'),
      as_of: z.string().describe('End of the newest hour built for the store and sku'),
    }),
  ).describe('Store and sku pairs whose closing quantity is below the low-stock threshold, lowest quantity first, then longest low'),
});
const PromotionFiguresSchema = z.object({
  days: z.int().describe('Store-local days in the range on which the promotion ran'),
  promo_orders: z.int(),
  promo_net_revenue_minor: z.number().describe('Net revenue while the promotion ran, minor units'),
  days_with_baseline: z.int().describe('Days with a baseline (same store, weekday and hours of earlier weeks without the promotion); the comparison covers these'),
  baseline_net_revenue_minor: Nullable(z.number()).describe('Baseline net revenue of the days with a baseline; null without one'),
  net_revenue_uplift_minor: Nullable(z.number()).describe('Net revenue minus baseline over the days with a baseline'),
  net_revenue_lift_ratio: Nullable(z.number()).describe('Net revenue over baseline of the days with a baseline; null when that baseline is 0 or missing'),
});
export const PromotionsResponseSchema = z.object({
  merchant_id: z.string(),
  from: z.string(),
  to: z.string(),
  promotions: z.array(
    PromotionFiguresSchema.extend({
      promo_id: z.string(),
      first_day: z.string(),
      last_day: z.string(),
      stores: z.array(PromotionFiguresSchema.extend({ store_id: z.string() })),
    }),
  ).describe('Largest uplift first; promotions without a baseline last'),
});
export const MerchantResponseSchema = z.object({
  id: z.string(),
  name: Nullable(z.string()),
  time_zone: z.string().describe('IANA zone of the merchant\'s local days'),
  currency: Nullable(z.string()).describe('ISO 4217 code; amounts are in its minor units (none for JPY)'),
});
export const StoresResponseSchema = z.object({
  stores: z.array(z.object({ id: z.string(), name: z.string(), city: Nullable(z.string()), region: Nullable(z.string()), time_zone: z.string() })),
});
export const FreshnessResponseSchema = z.object({
  newest_event_at: Nullable(z.string()).describe('Newest event time processed for the merchant'),
  finalized_through: Nullable(z.string()).describe('Hours starting before this instant are final (the mart watermark)'),
  lag_seconds: Nullable(z.int()).describe('Seconds from finalized_through to now'),
});
export const MeResponseSchema = z.object({ kind: z.enum(['read', 'manage', 'admin']), merchant_id: Nullable(z.string()) });
export const CatalogResponseSchema = z.object({
  series: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      dimensions: z.array(z.array(z.string())),
      granularities: z.array(z.enum(['hour', 'day'])),
      metrics: z.array(z.object({ name: z.string(), kind: z.enum(['additive', 'ratio', 'distinct', 'gauge']), description: z.string() })),
    }),
  ),
});
export const CollectorAcceptedSchema = z.object({
  received: z.int().describe('Entries taken from the body'),
  messages: z.int().describe('Bus messages they were batched into'),
});

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output'): object => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const errorResponse = (description: string): object => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const ok = (description: string, ref: string): object => ({
  description,
  headers: {
    ETag: { schema: { type: 'string' } },
    'Cache-Control': { schema: { type: 'string' }, description: 'Finalized data: until the next mart run (hourly at :05); provisional: at most 10 s' },
  },
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const READ_ERRORS = {
  '400': errorResponse('A parameter is invalid (`invalid_parameter`, naming `param`)'),
  '401': errorResponse('Missing, unknown, expired or revoked key'),
  '403': errorResponse('A key of a kind that cannot read (ingest, browser)'),
  '404': errorResponse("Another merchant's path, whether it exists or not; an unknown route"),
  '429': { ...errorResponse('Rate limited; retry after `Retry-After` seconds'), headers: { 'Retry-After': { schema: { type: 'integer' } } } },
};
const merchantParam = { name: 'merchantId', in: 'path', required: true, schema: json(MerchantIdParam) };
const security = [{ bearer: [] }];

export function openApiDocument(): object {
  const paramsOf = (shape: Record<string, z.ZodType>) =>
    Object.entries(shape).map(([name, schema]) => ({
      name,
      in: 'query',
      required: !schema.safeParse(undefined).success,
      description: schema.description,
      schema: json(schema, 'input'),
    }));
  const queryParams = paramsOf(MetricsQuery.shape);
  const topParams = paramsOf(TopQuery.shape);
  const catalogText = CATALOG.map((s) => `- **${s.name}** (${s.grains.map((g) => (g === 'h' ? 'hour' : 'day')).join(', ')}): ${s.metrics.map((m) => `\`${m.name}\` (${m.kind})`).join(', ')}`).join('\n');

  const alerts = alertsOpenApi(json, errorResponse);
  const rejections = rejectionsOpenApi(errorResponse);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tillstream API',
      version: '1.0.0',
      description: `Merchants send events to the collector and read time-series metrics. Keys go in \`Authorization: Bearer <key>\` (browsers send their publishable key as \`?key=\` to the collector).\n\nMetric catalog:\n${catalogText}`,
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A read or admin key for reading; an ingest key for the collector' } },
      schemas: {
        Error: json(ErrorBodySchema),
        Metrics: json(MetricsResponseSchema),
        Stores: json(StoresResponseSchema),
        Merchant: json(MerchantResponseSchema),
        Freshness: json(FreshnessResponseSchema),
        MetricsComparison: json(MetricsComparisonSchema),
        Top: json(TopResponseSchema),
        LowStock: json(LowStockResponseSchema),
        Promotions: json(PromotionsResponseSchema),
        Me: json(MeResponseSchema),
        Catalog: json(CatalogResponseSchema),
        Event: json(Event, 'input'),
        CollectorAccepted: json(CollectorAcceptedSchema),
        ...alerts.schemas,
        ...rejections.schemas,
      },
    },
    paths: {
      '/v1/merchants/{merchantId}/metrics': {
        get: {
          operationId: 'getMetrics',
          summary: 'Metric series of a merchant',
          description: `Every bucket of the half-open range [from, to) is present. Hours are UTC hours (ranges up to ${MAX_HOURS} hours); days are local days of the merchant, or of the store with \`store=\` (ranges up to ${MAX_DAYS} days).`,
          security,
          parameters: [merchantParam, ...queryParams],
          responses: {
            '200': {
              description: 'The series; with compare=previous_period (or range) also the fields of MetricsComparison. `format=csv` or `Accept: text/csv` answers CSV (start, provisional, one column per metric; with a period column when compared).',
              content: {
                'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/Metrics' }, { $ref: '#/components/schemas/MetricsComparison' }] } },
                'text/csv': { schema: { type: 'string' } },
              },
            },
            ...READ_ERRORS,
          },
        },
      },
      '/v1/merchants/{merchantId}': {
        get: { operationId: 'getMerchant', summary: "A merchant's name, time zone and currency", security, parameters: [merchantParam], responses: { '200': ok('The merchant', 'Merchant'), ...READ_ERRORS } },
      },
      '/v1/merchants/{merchantId}/top': {
        get: {
          operationId: 'getTop',
          summary: 'Top products, stores, pages, referrers, devices or countries of a range, with the rest as "other"',
          description:
            'Exact sums over the range, ranked by `by` (descending, then by key), the first `limit` listed and the rest summed into `other`. Products (by sku) and sales (by store) sum their hourly series; local days are the merchant\'s, covered by the UTC hours that start in them. Web traffic (pages by URL path, referrers by referring host with `(direct)` and `(internal)`, devices, countries) sums page views: its hourly series for a range of hours, its daily series for the merchant\'s local days. Visitors and sessions are exact distinct counts at one grain, so they are answered for a range of exactly one hour or one local day (e.g. `range=today`) and are null otherwise. `format=csv` or `Accept: text/csv` answers CSV.',
          security,
          parameters: [merchantParam, ...topParams],
          responses: { '200': { description: 'The ranking', content: { 'application/json': { schema: { $ref: '#/components/schemas/Top' } }, 'text/csv': { schema: { type: 'string' } } } }, ...READ_ERRORS },
        },
      },
      '/v1/merchants/{merchantId}/low-stock': {
        get: {
          operationId: 'getLowStock',
          summary: 'Store and sku pairs low on stock now, and since when',
          description:
            "From the hourly closing inventory: each store and sku whose newest hour closes below the low-stock threshold (dimensions `low_stock_threshold`), with the start of the run of low hours it ends. `format=csv` or `Accept: text/csv` answers CSV.",
          security,
          parameters: [merchantParam, ...paramsOf(LowStockQuery.shape)],
          responses: { '200': { description: 'The low items', content: { 'application/json': { schema: { $ref: '#/components/schemas/LowStock' } }, 'text/csv': { schema: { type: 'string' } } } }, ...READ_ERRORS },
        },
      },
      '/v1/merchants/{merchantId}/promotions': {
        get: {
          operationId: 'getPromotions',
          summary: "Each promotion's sales against its baseline over a range of days",
          description:
            "From the daily promotion performance: per promotion and store, the store-local days in [from, to) on which it ran, summed; the baseline is the same store, weekday and hours averaged over the four previous weeks without that promotion, and uplift and lift cover the days that have one. `format=csv` or `Accept: text/csv` answers CSV (one line per promotion, store `all`, then one per store).",
          security,
          parameters: [merchantParam, ...paramsOf(PromotionsQuery.shape)],
          responses: { '200': { description: 'The promotions', content: { 'application/json': { schema: { $ref: '#/components/schemas/Promotions' } }, 'text/csv': { schema: { type: 'string' } } } }, ...READ_ERRORS },
        },
      },
      '/v1/merchants/{merchantId}/stores': {
        get: { operationId: 'getStores', summary: "A merchant's stores", security, parameters: [merchantParam], responses: { '200': ok('The stores', 'Stores'), ...READ_ERRORS } },
      },
      '/v1/merchants/{merchantId}/freshness': {
        get: { operationId: 'getFreshness', summary: 'How current the metrics are', security, parameters: [merchantParam], responses: { '200': ok('Freshness', 'Freshness'), ...READ_ERRORS } },
      },
      '/v1/metrics': {
        get: { operationId: 'getCatalog', summary: 'The metric catalog: series, dimensions, granularities and metrics', responses: { '200': ok('The catalog', 'Catalog') } },
      },
      '/v1/me': {
        get: { operationId: 'getMe', summary: 'The kind and merchant of the presented key', security, responses: { '200': ok('The key', 'Me'), '401': READ_ERRORS['401'], '403': READ_ERRORS['403'], '429': READ_ERRORS['429'] } },
      },
      '/v1/events': {
        options: {
          operationId: 'preflightEvents',
          summary: "CORS preflight for browsers; allowed only for an origin listed on the browser key in `?key=`",
          parameters: [{ name: 'key', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '204': { description: 'Allowed, with Access-Control-Allow-* headers' }, '403': { description: 'Origin or key not allowed' } },
        },
        post: {
          operationId: 'postEvents',
          summary: 'Send events (collector)',
          description:
            'A JSON array of events (`application/json`), NDJSON (`application/x-ndjson`), or a beacon body (`text/plain`). The batch is durably enqueued before the 202; each entry is then validated and ends accepted, rejected with a reason code, or duplicate.',
          security: [{ bearer: [] }, {}],
          parameters: [{ name: 'key', in: 'query', required: false, description: 'Publishable browser key, for beacons that cannot set headers', schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Event' } } },
              'application/x-ndjson': { schema: { type: 'string', description: 'One event per line' } },
              'text/plain': { schema: { type: 'string', description: 'A JSON array or NDJSON, from navigator.sendBeacon' } },
            },
          },
          responses: {
            '202': { description: 'Enqueued', content: { 'application/json': { schema: { $ref: '#/components/schemas/CollectorAccepted' } } } },
            '400': errorResponse('The body cannot be split into entries (`invalid_body`)'),
            '401': READ_ERRORS['401'],
            '403': errorResponse('Not an ingest or browser key, or a browser key from an unlisted origin'),
            '413': errorResponse('Body too large'),
            '415': errorResponse('Unsupported content type'),
            '429': READ_ERRORS['429'],
          },
        },
      },
      '/': { get: { operationId: 'dashboard', summary: 'The dashboard page (local runtime); it asks for a read key and calls the routes above', responses: { '200': { description: 'HTML', content: { 'text/html': {} } } } } },
      '/sdk/v1/{file}': {
        get: {
          operationId: 'sdkBundle',
          summary: 'The browser SDK bundle (docs/sdk.md), immutable for a year',
          parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', enum: ['tillstream.min.js', 'tillstream.mjs'] } }],
          responses: { '200': { description: 'JavaScript', content: { 'text/javascript': {} } }, '304': { description: 'Not modified (ETag)' }, '404': errorResponse('Unknown file') },
        },
      },
      '/health': { get: { operationId: 'health', summary: 'Liveness, without auth', responses: { '200': { description: '{"status":"ok"}' } } } },
      '/ready': {
        get: { operationId: 'ready', summary: 'Readiness: 200 once the stores are open', responses: { '200': { description: '{"status":"ready"}' }, '503': { description: 'Not ready' } } },
      },
      ...alerts.paths,
      ...rejections.paths,
      '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
