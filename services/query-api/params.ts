// Request parameters of the query API, as zod schemas (the OpenAPI document is generated from them) and
// their validation into one typed query. Every failure names its parameter: 400 invalid_parameter.
import { z } from 'zod';
import { CatalogCode, Id } from '../../pipeline/contracts/events.js';
import { CATALOG, seriesDef, type MetricDef, type SeriesDef } from '../../pipeline/metrics/catalog.js';
import type { Grain } from '../../pipeline/series/row-key.js';
import { HOUR_MS, daysBetween, isCalendarDate } from '../../pipeline/time.js';
import { badParameter } from '../http/errors.js';

export const MAX_HOURS = 31 * 24;
/** Three years of local days, leap days included. */
export const MAX_DAYS = 3 * 366;

export const SERIES_NAMES = CATALOG.map((s) => s.name) as [string, ...string[]];
export const Granularity = z.enum(['hour', 'day']);

export const MerchantIdParam = Id.describe('Merchant id');

export const RANGE_PRESETS = ['today', 'yesterday', 'last_7_days', 'last_30_days', 'month_to_date'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];
const RangeParam = z
  .enum(RANGE_PRESETS)
  .describe("A range of the merchant's local days instead of from and to (last_7_days and last_30_days end with today); granularity defaults to hour for today and yesterday, day otherwise");
const CompareParam = z.enum(['previous_period']).describe('Adds totals and the previous period of the same length just before the range: its points, totals and the change in %');
export const FormatParam = z.enum(['json', 'csv']).describe('csv answers text/csv (so does Accept: text/csv)');

/** The query string of GET /v1/merchants/{merchantId}/metrics, as documented. */
export const MetricsQuery = z.strictObject({
  series: z.enum(SERIES_NAMES).describe('Series name; see GET /v1/metrics'),
  metrics: z
    .string()
    .optional()
    .describe('Comma-separated metric names of the series; all of its metrics when omitted'),
  granularity: Granularity.optional().describe("hour: UTC hours; day: local days (the merchant's zone, or the store's with store=). Required unless range is given"),
  from: z
    .string()
    .optional()
    .describe("Start, inclusive: an ISO 8601 instant on a whole hour for hours, a local date YYYY-MM-DD for days (with granularity=hour, dates ask for the hours of the merchant's local days). Required unless range is given"),
  to: z.string().optional().describe('End, exclusive: same form as from'),
  range: RangeParam.optional(),
  compare: CompareParam.optional(),
  store: Id.optional().describe('Store id, for series with a store dimension'),
  sku: CatalogCode.optional().describe('SKU, for series with a sku dimension'),
  page: z.string().min(1).max(2048).optional().describe('URL path, for series=pages (e.g. /menu)'),
  referrer: z.string().min(1).max(2048).optional().describe("Referring host, for series=referrers (e.g. search.example, or (direct), (internal))"),
  device: z.string().min(1).max(64).optional().describe('Device, for series=devices: desktop, mobile, tablet or other'),
  country: z.string().min(1).max(64).optional().describe("Country, for series=countries: ISO 3166-1 alpha-2, or (unknown)"),
  promo: Id.optional().describe('Promotion id, for series=promotions (with store)'),
  format: FormatParam.optional(),
});

/** Dimension parameters of the metrics route, each a dimension of some series of the catalog. */
const DIMENSION_PARAMS = ['store', 'sku', 'page', 'referrer', 'device', 'country', 'promo'] as const;

export interface MetricsRequest {
  series: SeriesDef;
  metrics: MetricDef[];
  grain: Grain;
  dims: Record<string, string>;
  /** Hours: epoch ms of [from, to); days: local dates [from, to). */
  from: string;
  to: string;
  fromMs?: number;
  toMs?: number;
  /** A preset range, resolved in the merchant's zone once it is known (resolveRange in ranges.ts). */
  range?: RangePreset;
  /** Local days asked in hours (from and to given as dates with granularity=hour), resolved the same way. */
  localDays?: { from: string; to: string };
  compare: boolean;
  /** As asked; absent, the Accept header decides. */
  format?: 'json' | 'csv';
}

/**
 * A query string checked against a zod object of string parameters: unknown or repeated parameters and
 * the first failing one answer 400, naming the parameter.
 */
export function parseQueryString<S extends z.ZodRawShape>(schema: z.ZodObject<S>, query: Record<string, unknown>): z.infer<z.ZodObject<S>> {
  for (const [name, value] of Object.entries(query)) {
    if (!(name in schema.shape)) throw badParameter(name, `unknown parameter "${name}"`);
    if (typeof value !== 'string') throw badParameter(name, `parameter "${name}" must be given once`);
  }
  const parsed = schema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = String(issue.path[0] ?? 'query');
    throw badParameter(param, `${param}: ${issue.message}`);
  }
  return parsed.data;
}

/** Validates the query string; throws HttpError 400 naming the first bad parameter. */
export function parseMetricsQuery(query: Record<string, unknown>): MetricsRequest {
  const q = parseQueryString(MetricsQuery, query);
  const series = seriesDef(q.series)!;
  if (q.range !== undefined) {
    const given = (['from', 'to'] as const).find((p) => q[p] !== undefined);
    if (given) throw badParameter(given, `give either range or from and to, not both`);
  } else {
    for (const param of ['granularity', 'from', 'to'] as const) if (q[param] === undefined) throw badParameter(param, `${param} is required unless range is given`);
  }
  const granularity = q.granularity ?? (q.range === 'today' || q.range === 'yesterday' ? 'hour' : 'day');
  const grain: Grain = granularity === 'hour' ? 'h' : 'd';
  if (!series.grains.includes(grain)) throw badParameter('granularity', `series ${series.name} has no granularity "${granularity}"`);
  const options = { compare: q.compare === 'previous_period', format: q.format } as const;

  let metrics = series.metrics;
  if (q.metrics !== undefined) {
    const names = q.metrics.split(',').map((s) => s.trim());
    if (names.some((n) => n === '')) throw badParameter('metrics', 'metrics must be a comma-separated list of metric names');
    metrics = [];
    for (const name of names) {
      const def = series.metrics.find((m) => m.name === name);
      if (!def) throw badParameter('metrics', `series ${series.name} has no metric "${name}"`);
      if (!metrics.includes(def)) metrics.push(def);
    }
  }

  const dims: Record<string, string> = {};
  for (const d of DIMENSION_PARAMS) if (q[d] !== undefined) dims[d] = q[d];
  const given = Object.keys(dims).sort().join(',');
  if (!series.dimensionSets.some((set) => set.join(',') === given)) {
    const allowed = series.dimensionSets.map((set) => (set.length ? set.join(' and ') : 'none')).join('; or ');
    const known = new Set(series.dimensionSets.flat());
    const extra = Object.keys(dims).find((d) => !known.has(d));
    const missing = [...known].find((d) => !(d in dims) && series.dimensionSets.every((set) => set.includes(d)));
    const param = extra ?? missing ?? Object.keys(dims)[0] ?? 'store';
    throw badParameter(param, `series ${series.name} takes these dimensions: ${allowed}`);
  }

  if (q.range !== undefined) return { series, metrics, grain, dims, from: '', to: '', range: q.range, ...options };
  // Hours of local days: from and to as dates with granularity=hour (the merchant's days, resolved with its zone).
  if (grain === 'h' && isCalendarDate(q.from!) && isCalendarDate(q.to!)) {
    const days = explicitRange('d', q.from!, q.to!);
    if (daysBetween(days.from, days.to) > MAX_HOURS / 24 - 1) throw badParameter('to', `a range of hours may span at most ${MAX_HOURS / 24 - 1} local days`);
    return { series, metrics, grain, dims, from: '', to: '', localDays: { from: days.from, to: days.to }, ...options };
  }
  return { series, metrics, grain, dims, ...explicitRange(grain, q.from!, q.to!), ...options };
}

/** from and to of a request that names them, checked and bounded. */
export function explicitRange(grain: Grain, from: string, to: string): { from: string; to: string; fromMs?: number; toMs?: number } {
  if (grain === 'h') {
    const fromMs = parseHour('from', from);
    const toMs = parseHour('to', to);
    if (toMs <= fromMs) throw badParameter('to', 'to must be after from');
    if ((toMs - fromMs) / HOUR_MS > MAX_HOURS) throw badParameter('to', `a range of hours may span at most ${MAX_HOURS} hours (31 days)`);
    return { from, to, fromMs, toMs };
  }
  for (const [param, value] of [['from', from], ['to', to]] as const) {
    if (!isCalendarDate(value)) throw badParameter(param, `${param} must be a local date YYYY-MM-DD for granularity day`);
  }
  const days = daysBetween(from, to);
  if (days <= 0) throw badParameter('to', 'to must be after from');
  if (days > MAX_DAYS) throw badParameter('to', `a range of days may span at most ${MAX_DAYS} days (3 years)`);
  return { from, to };
}

const Instant = z.iso.datetime({ offset: true });

function parseHour(param: string, text: string): number {
  if (!Instant.safeParse(text).success) throw badParameter(param, `${param} must be an ISO 8601 instant with an offset, e.g. 2026-11-20T00:00:00Z, for granularity hour`);
  const ms = Date.parse(text);
  if (ms % HOUR_MS !== 0) throw badParameter(param, `${param} must fall on a whole UTC hour`);
  return ms;
}
