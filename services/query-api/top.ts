// Ranked breakdowns: GET /v1/merchants/{id}/top — the top N products (sku) or stores of a range by an
// additive metric, the rest summed as "other", computed exactly from the hourly series already exported
// (products by sku, sales by store). One read: every hourly row of the dimension under the merchant, the
// range's buckets kept (the key layout puts the sku or store before the bucket, so the read spans the
// series' history and the bucket filter runs here).
import { z } from 'zod';
import { Id } from '../../pipeline/contracts/events.js';
import type { MetricDef } from '../../pipeline/metrics/catalog.js';
import { seriesDef } from '../../pipeline/metrics/catalog.js';
import type { CellValue, SeriesRow } from '../../pipeline/ports.js';
import { decodeRowKey, hourBucket, seriesPrefix } from '../../pipeline/series/row-key.js';
import { HOUR_MS, isCalendarDate } from '../../pipeline/time.js';
import { badParameter } from '../http/errors.js';
import { FormatParam, RANGE_PRESETS, explicitRange, parseQueryString, type RangePreset } from './params.js';
import { cellsFor } from './points.js';
import { daysAsRange, presetDays, type ConcreteRange } from './ranges.js';

/** Series with a ranked dimension, and that dimension. */
export const TOP_SERIES = { products: 'sku', sales: 'store' } as const;
export type TopSeries = keyof typeof TOP_SERIES;
export const MAX_TOP_LIMIT = 100;

export const TopQuery = z.strictObject({
  series: z.enum(['products', 'sales']).describe('products: ranked by sku; sales: ranked by store'),
  by: z.string().describe('The additive metric of the series to rank by, e.g. net_revenue_minor or units'),
  limit: z.string().regex(/^\d+$/).optional().describe(`How many to list before "other" (1–${MAX_TOP_LIMIT}, default 10)`),
  from: z.string().optional().describe("Start, inclusive: a local date YYYY-MM-DD (the merchant's days) or an ISO 8601 instant on a whole hour"),
  to: z.string().optional().describe('End, exclusive: same form as from'),
  range: z.enum(RANGE_PRESETS).optional().describe("A range of the merchant's local days instead of from and to"),
  store: Id.optional().describe('products only: the skus of one store'),
  format: FormatParam.optional(),
});

export interface TopRequest {
  series: TopSeries;
  dimension: 'sku' | 'store';
  by: MetricDef;
  metrics: MetricDef[];
  limit: number;
  /** products: one store's rows (the sku and store series) instead of the merchant's. */
  store?: string;
  /** As asked; absent, the Accept header decides. */
  format?: 'json' | 'csv';
  /** Local days (resolved in the merchant's zone) or UTC hours as given. */
  days?: { from: string; to: string };
  preset?: RangePreset;
  hours?: ConcreteRange;
}

export function parseTopQuery(query: Record<string, unknown>): TopRequest {
  const q = parseQueryString(TopQuery, query);
  const series = seriesDef(q.series)!;
  const metrics = series.metrics.filter((m) => m.kind === 'additive');
  const by = metrics.find((m) => m.name === q.by);
  if (!by) throw badParameter('by', `series ${q.series} ranks by one of its additive metrics: ${metrics.map((m) => m.name).join(', ')}`);
  const limit = q.limit === undefined ? 10 : Number(q.limit);
  if (!(limit >= 1 && limit <= MAX_TOP_LIMIT)) throw badParameter('limit', `limit must be from 1 to ${MAX_TOP_LIMIT}`);
  if (q.store !== undefined && q.series !== 'products') throw badParameter('store', 'store narrows series=products only; series=sales ranks the stores');
  const base = { series: q.series, dimension: TOP_SERIES[q.series], by, metrics, limit, store: q.store, format: q.format } as const;
  if (q.range !== undefined) {
    const given = (['from', 'to'] as const).find((p) => q[p] !== undefined);
    if (given) throw badParameter(given, 'give either range or from and to, not both');
    return { ...base, preset: q.range };
  }
  for (const param of ['from', 'to'] as const) if (q[param] === undefined) throw badParameter(param, `${param} is required unless range is given`);
  if (isCalendarDate(q.from!)) return { ...base, days: explicitRange('d', q.from!, q.to!) };
  const hours = explicitRange('h', q.from!, q.to!);
  return { ...base, hours: { grain: 'h', ...hours } };
}

/** The UTC hours the request covers, once the merchant's zone is known. */
export function topHours(t: TopRequest, timeZone: string, now: Date): { hours: ConcreteRange; days?: { from: string; to: string } } {
  if (t.hours) return { hours: t.hours };
  const days = t.days ?? presetDays(t.preset!, now, timeZone);
  return { hours: daysAsRange('h', days, timeZone), days };
}

/** The key range holding every hourly row of the series' ranked dimension for the merchant. */
export function topKeyRange(merchantId: string, t: TopRequest): { start: string; end: string } {
  // 'm#products#' from the codec, then the dimension: rows with it (and possibly more dimensions after) follow.
  const base = seriesPrefix({ merchantId, series: t.series, dims: {}, grain: 'h' }).slice(0, -'h#'.length);
  return { start: `${base}${t.dimension}=`, end: `${base}${t.dimension}>` };
}

export interface TopItem {
  rank: number;
  key: string;
  values: Record<string, number>;
}

export interface TopResult {
  items: TopItem[];
  other: { count: number; values: Record<string, number> };
  totals: Record<string, number>;
}

/** Sums the rows of the hours [from, to) per dimension value and ranks them: by `by` descending, then key. */
export function rankTop(t: TopRequest, rows: SeriesRow[], hours: ConcreteRange, finalizedThroughMs: number | null): TopResult {
  const fromBucket = hourBucket(new Date(hours.fromMs!));
  const toBucket = hourBucket(new Date(hours.toMs!));
  const sums = new Map<string, Record<string, number>>();
  const zero = (): Record<string, number> => Object.fromEntries(t.metrics.map((m) => [m.name, 0]));
  for (const row of rows) {
    const k = decodeRowKey(row.key);
    const dimNames = Object.keys(k.dims).sort().join(',');
    if (k.grain !== 'h' || dimNames !== (t.store === undefined ? t.dimension : `${t.dimension},store`)) continue;
    if (t.store !== undefined && k.dims.store !== t.store) continue;
    if (k.bucket < fromBucket || k.bucket >= toBucket) continue;
    const startMs = Date.UTC(Number(k.bucket.slice(0, 4)), Number(k.bucket.slice(4, 6)) - 1, Number(k.bucket.slice(6, 8)), Number(k.bucket.slice(8, 10)));
    const provisional = finalizedThroughMs === null || startMs + HOUR_MS > finalizedThroughMs;
    const { cells } = cellsFor(row, provisional);
    const key = k.dims[t.dimension]!;
    let acc = sums.get(key);
    if (!acc) sums.set(key, (acc = zero()));
    for (const m of t.metrics) acc[m.name]! += num(cells[m.name]);
  }
  const ranked = [...sums].sort(([ka, a], [kb, b]) => b[t.by.name]! - a[t.by.name]! || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const totals = zero();
  const other = zero();
  for (const [i, [, v]] of ranked.entries()) {
    for (const m of t.metrics) {
      totals[m.name]! += v[m.name]!;
      if (i >= t.limit) other[m.name]! += v[m.name]!;
    }
  }
  return {
    items: ranked.slice(0, t.limit).map(([key, values], i) => ({ rank: i + 1, key, values })),
    other: { count: Math.max(0, ranked.length - t.limit), values: other },
    totals,
  };
}

const num = (v: CellValue | undefined): number => (typeof v === 'number' ? v : 0);
