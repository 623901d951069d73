// Ranked breakdowns: GET /v1/merchants/{id}/top — the top N products (sku), stores, pages, referrers,
// devices or countries of a range by an additive metric, the rest summed as "other", computed exactly from
// the series already exported (products by sku and sales by store: their hourly series; web traffic: its
// hourly series for a range of hours, its daily series for the merchant's local days). One read: the
// ranked rows (pipeline/series/ranked.ts: bucket-major twins of the series rows) of the buckets the range
// can cover in any zone, the range's buckets kept once the merchant's zone is known. A merchant whose
// rows predate the twins (no ranked_rows in its freshness document, or a range reaching an hour in progress
// while they were copied: rankedRowsExact) is read as before: every row of the dimension under the merchant
// (topKeyRange), a second read.
// Distinct counts (visitors, sessions) are exact only at their own grain: they are answered for a range of
// exactly one bucket (one hour, or one local day) and are null otherwise, never summed.
import { z } from 'zod';
import { Id } from '../../pipeline/contracts/events.js';
import type { MetricDef } from '../../pipeline/metrics/catalog.js';
import { seriesDef } from '../../pipeline/metrics/catalog.js';
import type { CellValue, SeriesRow } from '../../pipeline/ports.js';
import type { FreshnessDocument } from '../../pipeline/series/documents.js';
import { RANKED_DIMENSIONS, decodeSeriesRowKey, rankedRange } from '../../pipeline/series/ranked.js';
import { bucketToStart, dayBucket, hourBucket, seriesPrefix } from '../../pipeline/series/row-key.js';
import { HOUR_MS, addDays, ceilHour, daysBetween, floorHour, isCalendarDate, startOfLocalDay } from '../../pipeline/time.js';
import { badParameter } from '../http/errors.js';
import { FormatParam, RANGE_PRESETS, explicitRange, parseQueryString, type RangePreset } from './params.js';
import { cellsFor } from './points.js';
import { daysAsRange, presetDays, type ConcreteRange } from './ranges.js';

/** Series with a ranked dimension, and that dimension. */
export const TOP_SERIES = RANKED_DIMENSIONS;
export type TopSeries = keyof typeof TOP_SERIES;
export type TopDimension = (typeof TOP_SERIES)[TopSeries];
/** Series whose daily rows answer a range of local days (the others sum the hours of those days). */
const DAILY_TOP_SERIES = new Set<TopSeries>(['pages', 'referrers', 'devices', 'countries']);
export const MAX_TOP_LIMIT = 100;

export const TopQuery = z.strictObject({
  series: z
    .enum(['products', 'sales', 'pages', 'referrers', 'devices', 'countries'])
    .describe('products: ranked by sku; sales: by store; pages: by URL path; referrers: by referring host; devices; countries (web traffic: page views)'),
  by: z.string().describe('The additive metric of the series to rank by, e.g. net_revenue_minor, units or page_views'),
  limit: z.string().regex(/^\d+$/).optional().describe(`How many to list before "other" (1–${MAX_TOP_LIMIT}, default 10)`),
  from: z.string().optional().describe("Start, inclusive: a local date YYYY-MM-DD (the merchant's days) or an ISO 8601 instant on a whole hour"),
  to: z.string().optional().describe('End, exclusive: same form as from'),
  range: z.enum(RANGE_PRESETS).optional().describe("A range of the merchant's local days instead of from and to"),
  store: Id.optional().describe('products only: the skus of one store'),
  format: FormatParam.optional(),
});

export interface TopRequest {
  series: TopSeries;
  dimension: TopDimension;
  by: MetricDef;
  /** Summed metrics (the additive ones) followed by the distinct counts answered for a single bucket. */
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
  const additive = series.metrics.filter((m) => m.kind === 'additive');
  const by = additive.find((m) => m.name === q.by);
  if (!by) throw badParameter('by', `series ${q.series} ranks by one of its additive metrics: ${additive.map((m) => m.name).join(', ')}`);
  const metrics = [...additive, ...series.metrics.filter((m) => m.kind === 'distinct')];
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

/** Whether the request is answered from daily rows: local days asked of a series with daily breakdown rows. */
export function topGrain(t: TopRequest): 'h' | 'd' {
  return t.hours === undefined && DAILY_TOP_SERIES.has(t.series) ? 'd' : 'h';
}

/** The UTC hours the request covers, once the merchant's zone is known. */
export function topHours(t: TopRequest, timeZone: string, now: Date): { hours: ConcreteRange; days?: { from: string; to: string } } {
  if (t.hours) return { hours: t.hours };
  const days = t.days ?? presetDays(t.preset!, now, timeZone);
  return { hours: daysAsRange('h', days, timeZone), days };
}

/**
 * The ranked rows' key range of every bucket the request can cover, whatever the merchant's zone turns
 * out to be (the read brings the zone along): hours as asked; local days from their start in UTC+14 to
 * their end in UTC−12, as the metrics requests' candidate span (ranges.ts). Rows outside the range the
 * zone gives are dropped by rankTop.
 */
export function topRankedRange(merchantId: string, t: TopRequest, now: Date): { start: string; end: string } {
  const grain = topGrain(t);
  const k = { merchantId, series: t.series, grain, ...(t.store !== undefined ? { narrowedTo: t.store } : {}) };
  if (t.hours) return rankedRange(k, hourBucket(new Date(t.hours.fromMs!)), hourBucket(new Date(t.hours.toMs!)));
  const days = EXTREME_ZONES.map((z) => t.days ?? presetDays(t.preset!, now, z));
  const from = days.map((d) => d.from).sort()[0]!;
  const to = days.map((d) => d.to).sort().at(-1)!;
  if (grain === 'd') return rankedRange(k, dayBucket(from), dayBucket(to));
  return rankedRange(k, hourBucket(floorHour(startOfLocalDay(from, EXTREME_ZONES[0]))), hourBucket(ceilHour(startOfLocalDay(to, EXTREME_ZONES[1]))));
}
/** The zones at both ends of the offsets in use: UTC+14 is a day ahead of UTC−12. */
const EXTREME_ZONES = ['Pacific/Kiritimati', 'Etc/GMT+12'] as const;

/**
 * Whether the ranked rows answer the hours exactly: the merchant's copy of its earlier rows is done
 * (ranked_rows), and no hour asked is both before ranked_from and not final. The copy brings mart cells
 * only, so such an hour's twins lack the partials written before the copy (pipeline/series/ranked.ts
 * backfillRankedRows); its rows hold them, and the mart replaces both once it is final.
 */
export function rankedRowsExact(freshness: Pick<FreshnessDocument, 'ranked_rows' | 'ranked_from' | 'finalized_through'> | undefined, hours: ConcreteRange): boolean {
  if (freshness?.ranked_rows !== true) return false;
  if (freshness.ranked_from === undefined) return true;
  const finalizedMs = freshness.finalized_through ? Date.parse(freshness.finalized_through) : -Infinity;
  // The hours in doubt: [finalized_through, ranked_from).
  return !(hours.fromMs! < Date.parse(freshness.ranked_from) && hours.toMs! > finalizedMs);
}

/** The key range holding every row of the series' ranked dimension for the merchant (the rows' own layout: its whole history). */
export function topKeyRange(merchantId: string, t: TopRequest): { start: string; end: string } {
  // 'm#products#' from the codec, then the dimension: rows with it (and possibly more dimensions after) follow.
  const base = seriesPrefix({ merchantId, series: t.series, dims: {}, grain: 'h' }).slice(0, -'h#'.length);
  return { start: `${base}${t.dimension}=`, end: `${base}${t.dimension}>` };
}

export interface TopItem {
  rank: number;
  key: string;
  values: Record<string, number | null>;
}

export interface TopResult {
  items: TopItem[];
  other: { count: number; values: Record<string, number | null> };
  totals: Record<string, number | null>;
}

/**
 * The buckets summed: UTC hours [from, to) as hour buckets, or local days [from, to) as day buckets, with
 * each bucket's end for the provisional check (a local day ends where the next begins in the merchant's zone).
 */
export interface TopBuckets {
  grain: 'h' | 'd';
  from: string;
  to: string;
  /** Epoch ms at which a bucket ends. */
  endMs(bucket: string): number;
  /** How many buckets the range holds (distinct counts are answered for exactly one). */
  count: number;
}

export function hourBuckets(hours: ConcreteRange): TopBuckets {
  return {
    grain: 'h',
    from: hourBucket(new Date(hours.fromMs!)),
    to: hourBucket(new Date(hours.toMs!)),
    endMs: (b) => Date.UTC(Number(b.slice(0, 4)), Number(b.slice(4, 6)) - 1, Number(b.slice(6, 8)), Number(b.slice(8, 10))) + HOUR_MS,
    count: (hours.toMs! - hours.fromMs!) / HOUR_MS,
  };
}

export function dayBuckets(days: { from: string; to: string }, timeZone: string): TopBuckets {
  return {
    grain: 'd',
    from: dayBucket(days.from),
    to: dayBucket(days.to),
    endMs: (b) => startOfLocalDay(addDays(bucketToStart('d', b), 1), timeZone).getTime(),
    count: daysBetween(days.from, days.to),
  };
}

/** Sums the rows of the buckets [from, to) per dimension value and ranks them: by `by` descending, then key. */
export function rankTop(t: TopRequest, rows: SeriesRow[], buckets: TopBuckets, finalizedThroughMs: number | null): TopResult {
  const sums = new Map<string, Record<string, number | null>>();
  const single = buckets.count === 1;
  const zero = (): Record<string, number | null> => Object.fromEntries(t.metrics.map((m) => [m.name, m.kind === 'additive' || single ? 0 : null]));
  for (const row of rows) {
    const k = decodeSeriesRowKey(row.key);
    const dimNames = Object.keys(k.dims).sort().join(',');
    if (k.grain !== buckets.grain || dimNames !== (t.store === undefined ? t.dimension : `${t.dimension},store`)) continue;
    if (t.store !== undefined && k.dims.store !== t.store) continue;
    if (k.bucket < buckets.from || k.bucket >= buckets.to) continue;
    const provisional = finalizedThroughMs === null || buckets.endMs(k.bucket) > finalizedThroughMs;
    const { cells } = cellsFor(row, provisional);
    const key = k.dims[t.dimension]!;
    let acc = sums.get(key);
    if (!acc) sums.set(key, (acc = zero()));
    for (const m of t.metrics) if (acc[m.name] !== null) acc[m.name]! += num(cells[m.name]);
  }
  const by = t.by.name;
  const ranked = [...sums].sort(([ka, a], [kb, b]) => b[by]! - a[by]! || (ka < kb ? -1 : ka > kb ? 1 : 0));
  // Distinct counts do not add up across values either (a visitor sees several pages): other and totals leave them null.
  const totals = Object.fromEntries(t.metrics.map((m) => [m.name, m.kind === 'additive' ? 0 : null]));
  const other = { ...totals };
  for (const [i, [, v]] of ranked.entries()) {
    for (const m of t.metrics) {
      if (m.kind !== 'additive') continue;
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
