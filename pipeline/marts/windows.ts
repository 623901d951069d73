// Mart windows: which rows of which mart a run rebuilds, and the SQL predicates and parameters that
// select them. A scheduled run rebuilds the touched cells — (merchant, UTC hour) and (merchant, local
// day) pairs from raw.arrivals — not one range for every merchant; a range build (`marts`,
// `reprocess`) rebuilds every merchant in its range. Both are one shape: bounds [start, end) for
// partition pruning, plus a scope — the merchants and cells rebuilt, and an instant from which every
// merchant's rows are rebuilt (`all_from`; the window's start for a range build, its end when only
// cells are rebuilt). The exporter and the runner both read windows through this module.
import type { SqlParams } from '../ports.js';
import { DAY_MS, HOUR_MS, addDays, ceilHour, floorHour, localDate, zoneOffsetMs } from '../time.js';
import type { MartSpec } from './manifest.js';

/** A late order changes the baselines of the eight following weeks: 56 days, plus one for the widest local day. */
export const BASELINE_REACH_MS = 57 * DAY_MS;
/** A touched local day changes the promotion days of the same weekday in the eight weeks after it. */
export const BASELINE_WEEKS = 8;

/**
 * A window's cells start within one span of this many UTC days from the epoch (its era), so a window
 * reaches at most this plus the three days of a local-day cell: one BigQuery job may modify at most
 * 4,000 partitions of a table (https://cloud.google.com/bigquery/quotas#partitioned_tables), and the
 * marts are partitioned by day. Without it, one inventory event a dozen years old made every hourly
 * run's inventory MERGE span its whole history, and fail, every hour. The script splits the same way.
 */
export const WINDOW_ERA_DAYS = 3650;
export const eraOf = (ms: number): number => Math.floor(Math.floor(ms / DAY_MS) / WINDOW_ERA_DAYS);
const eraStartMs = (era: number): number => era * WINDOW_ERA_DAYS * DAY_MS;

export interface TimeRange {
  start: Date;
  end: Date;
}

/** The cells a window is limited to (a scheduled run's touched cells). */
export interface WindowScope {
  /** Merchants with a cell in the window (the clustering filter). */
  merchants: string[];
  /** `merchant|YYYY-MM-DDTHH` (UTC hour) for hourly marts, `merchant|YYYY-MM-DD` (local date) for daily marts. */
  cells: string[];
  /** Every merchant's rows from this instant on are rebuilt too (inventory's latest hours); default the window end. */
  allFrom?: Date;
}

export interface MartWindow {
  /** Mart file stem, e.g. `mart_hourly_store_sales`. */
  mart: string;
  /** Bounds: every rebuilt hour (or every hour of a rebuilt local day) lies in [windowStart, windowEnd). */
  windowStart: Date;
  windowEnd: Date;
  /** Absent: every merchant's rows in the bounds. */
  scope?: WindowScope;
}

/** `YYYY-MM-DDTHH` of a UTC hour: the text `format_timestamp('%Y-%m-%dT%H', ts)` gives in BigQuery and DuckDB (UTC sessions). */
export const hourKey = (d: Date): string => d.toISOString().slice(0, 13);
export const cellKey = (merchantId: string, bucket: string): string => `${merchantId}|${bucket}`;

/** Sorted, merged ranges; ranges closer than `gapMs` are joined (rebuilding the gap is harmless). */
export function mergeRanges(ranges: TimeRange[], gapMs = 0): TimeRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start.getTime() - b.start.getTime());
  const out: TimeRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start.getTime() <= last.end.getTime() + gapMs) {
      if (r.end > last.end) last.end = new Date(r.end.getTime());
    } else out.push({ start: new Date(r.start.getTime()), end: new Date(r.end.getTime()) });
  }
  return out;
}

/** Hour starts → merged one-hour ranges. */
export function hoursToRanges(hours: Date[]): TimeRange[] {
  return mergeRanges(hours.map((h) => ({ start: floorHour(h), end: new Date(floorHour(h).getTime() + HOUR_MS) })));
}

/**
 * The ranges a mart rebuilds when `touched` hours changed, for every merchant (reprocess
 * --revalidate); nothing at or after `limit` (the start of the hour in progress) is rebuilt.
 */
export function windowsForRule(spec: Pick<MartSpec, 'rebuild'>, touched: TimeRange[], limit: Date): TimeRange[] {
  const clip = (rs: TimeRange[]) =>
    rs.map((r) => ({ start: r.start, end: r.end > limit ? limit : r.end })).filter((r) => r.end > r.start);
  switch (spec.rebuild) {
    case 'hours':
      return clip(mergeRanges(touched));
    case 'local_days':
      // The statement widens each window to whole local days; windows less than a day apart share days.
      return clip(mergeRanges(touched, DAY_MS));
    case 'later_hours': {
      const first = clip(mergeRanges(touched))[0];
      return first ? [{ start: first.start, end: limit }] : [];
    }
    case 'baseline_days':
      return clip(mergeRanges(touched.map((r) => ({ start: r.start, end: new Date(r.end.getTime() + BASELINE_REACH_MS) })), DAY_MS));
  }
}

// ------------------------------------------------------------------------------------------------
// Touched cells → windows (the scheduled run's rule; scheduled-script.ts states the same in SQL)

/** One (merchant, UTC hour) an arrival touched. */
export interface TouchedCell {
  merchantId: string;
  hour: Date;
}

export interface CellPlanInput {
  cells: TouchedCell[];
  /** Start of the hour in progress: nothing at or after it is built. */
  limit: Date;
  /** Inventory rebuilds every merchant's hours from here (the previous run's finalized_through) so every item has a row each hour. */
  allFrom: Date;
  /** Time zones of each merchant: its own and its stores' (local days are taken in each). */
  zones: Map<string, string[]>;
  /** Promotions announced in the touched cells: their days (and baselines) are rebuilt too. */
  promotions?: { merchantId: string; startsAt: Date; endsAt: Date }[];
  /**
   * One window per mart over all its cells, however far apart. The local warehouse (DuckDB) pays per
   * statement and has no partitions to prune, so a backfill of scattered hours costs with its rows,
   * not with its windows; BigQuery bills the partitions between a window's bounds, so the scheduled
   * script and its estimate keep a window per stretch of nearby partitions (the default).
   */
  coalesce?: boolean;
  /**
   * Inventory: the first hour each merchant's inventory mart can hold a row (its first inventory
   * event or its first mart row, whichever is earlier), where the caller knows it (the local runner).
   * A merchant's hours before it rebuild to nothing from nothing, and a merchant without one has no
   * inventory at all: neither is rebuilt. Absent: every touched merchant from its first touched hour.
   */
  inventoryStart?: Map<string, Date>;
}

/** Local dates an hour overlaps in a zone: one, or two where the zone's offset is not whole hours. */
function localDatesOfHour(hour: Date, zone: string): string[] {
  const first = localDate(hour, zone);
  const last = localDate(new Date(hour.getTime() + HOUR_MS - 1), zone);
  return first === last ? [first] : [first, last];
}

/**
 * Zone offsets at UTC midnights (zone|instant → offset). Intl costs microseconds per look-up and a
 * backfill touches tens of thousands of hours in each of a merchant's zones, while offsets change a
 * few times a year: where a zone's offset is the same at a day's two midnights it holds all that day
 * (no zone changes twice within a day), and an hour's local dates follow from it; otherwise (a
 * transition that day, or at its end) each hour is looked up.
 */
const midnightOffsets = new Map<string, Map<number, number>>();
const isoDates = new Map<number, string>();
const MEMO_KEPT = 200_000;

function offsetAt(ms: number, zone: string): number {
  let byZone = midnightOffsets.get(zone);
  if (!byZone) midnightOffsets.set(zone, (byZone = new Map()));
  let off = byZone.get(ms);
  if (off === undefined) {
    if (byZone.size >= MEMO_KEPT) byZone.clear();
    off = zoneOffsetMs(ms, zone);
    byZone.set(ms, off);
  }
  return off;
}

/**
 * The local dates (in each of its zones) of each merchant's touched hours before `limitMs`. Hours
 * are taken per UTC day: where the zone's offset holds all day, that day's hours overlap at most two
 * local dates — the first of its earliest hour and the last of its latest; on a day with a
 * transition each hour is looked up. A run's daily marts share one computation (same cells array,
 * limit and zones).
 */
const localDaysMemo = new WeakMap<readonly TouchedCell[], { limitMs: number; zones: Map<string, string[]>; days: Map<string, Set<string>> }>();

function localDaysOf(cells: readonly TouchedCell[], limitMs: number, zones: Map<string, string[]>): Map<string, Set<string>> {
  const memo = localDaysMemo.get(cells);
  if (memo && memo.limitMs === limitMs && memo.zones === zones) return memo.days;
  const byDay = new Map<string, Map<number, number[]>>();
  for (const c of cells) {
    const h = floorHour(c.hour).getTime();
    if (h >= limitMs) continue;
    const day = h - (((h % DAY_MS) + DAY_MS) % DAY_MS);
    let m = byDay.get(c.merchantId);
    if (!m) byDay.set(c.merchantId, (m = new Map()));
    const hours = m.get(day);
    if (hours) hours.push(h);
    else m.set(day, [h]);
  }
  const days = new Map<string, Set<string>>();
  for (const [merchant, m] of byDay) {
    const out = new Set<string>();
    for (const zone of zones.get(merchant) ?? ['UTC']) {
      for (const [day, hours] of m) {
        const off = offsetAt(day, zone);
        if (off === offsetAt(day + DAY_MS, zone)) {
          let lo = hours[0]!;
          let hi = lo;
          for (const h of hours) (lo = Math.min(lo, h)), (hi = Math.max(hi, h));
          out.add(isoDate(Math.floor((lo + off) / DAY_MS)));
          out.add(isoDate(Math.floor((hi + HOUR_MS - 1 + off) / DAY_MS)));
        } else {
          for (const h of hours) for (const d of localDatesOfHour(new Date(h), zone)) out.add(d);
        }
      }
    }
    days.set(merchant, out);
  }
  localDaysMemo.set(cells, { limitMs, zones, days });
  return days;
}

/** `YYYY-MM-DD` of a day number (days since 1970-01-01). */
function isoDate(dayNumber: number): string {
  let s = isoDates.get(dayNumber);
  if (s === undefined) {
    if (isoDates.size >= MEMO_KEPT) isoDates.clear();
    s = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
    isoDates.set(dayNumber, s);
  }
  return s;
}

/** Bounds covering the hours of local `dates` in any zone (offsets are at most ±14 h, so a day and a half either side). */
function boundsOfDates(dates: string[]): TimeRange[] {
  return dates.map((d) => {
    const midnight = Date.parse(`${d}T00:00:00Z`);
    return { start: new Date(midnight - DAY_MS), end: new Date(midnight + 2 * DAY_MS) };
  });
}

/**
 * Cells grouped into windows of nearby hours (a window per stretch of partitions, so each statement
 * prunes to its own), or into one window (`gapMs` Infinity), never across an era (WINDOW_ERA_DAYS).
 */
function groupCells(mart: string, cells: { merchantId: string; key: string; range: TimeRange }[], gapMs = DAY_MS): MartWindow[] {
  const eras = new Map<number, { merchantId: string; key: string; range: TimeRange }[]>();
  for (const c of cells) {
    const era = eraOf(c.range.start.getTime());
    (eras.get(era) ?? eras.set(era, []).get(era)!).push(c);
  }
  return [...eras].sort(([a], [b]) => a - b).flatMap(([, list]) => groupNearby(mart, list, gapMs));
}

/** Each cell lies in exactly one merged range, and both are taken in time order, so grouping is one pass. */
function groupNearby(mart: string, cells: { merchantId: string; key: string; range: TimeRange }[], gapMs: number): MartWindow[] {
  const ranges = mergeRanges(cells.map((c) => c.range), gapMs);
  const sorted = [...cells].sort((a, b) => a.range.start.getTime() - b.range.start.getTime());
  let next = 0;
  return ranges.map((r) => {
    const merchants = new Set<string>();
    const keys = new Set<string>();
    for (; next < sorted.length && sorted[next]!.range.start < r.end; next++) {
      const c = sorted[next]!;
      merchants.add(c.merchantId);
      keys.add(cellKey(c.merchantId, c.key));
    }
    return { mart, windowStart: r.start, windowEnd: r.end, scope: { merchants: [...merchants].sort(), cells: [...keys].sort() } };
  });
}

/**
 * The windows each mart rebuilds for a run's touched cells:
 * - hourly marts: the touched (merchant, hour) cells;
 * - inventory: each touched merchant's hours from its first touched hour on, and every merchant's
 *   hours from `allFrom` (closing stock carries forward, from the mart's own previous rows);
 * - daily marts: the local days (in every zone of the merchant) the touched hours overlap;
 * - promotion performance: those days, the same weekdays of the eight weeks after them (their
 *   baselines include the touched day) and the days of promotions announced in the touched cells.
 * Nothing at or after `limit` is built.
 */
export function planCellWindows(spec: Pick<MartSpec, 'stem' | 'rebuild'>, input: CellPlanInput): MartWindow[] {
  // The marts of one rule share a run's cells (readRunInput), and so their windows: planned once.
  if (spec.rebuild === 'hours' || spec.rebuild === 'local_days') {
    const plans = sharedPlans.get(input.cells) ?? sharedPlans.set(input.cells, new Map()).get(input.cells)!;
    const memo = plans.get(spec.rebuild);
    if (memo && memo.limitMs === input.limit.getTime() && memo.zones === input.zones && memo.coalesce === input.coalesce) {
      return memo.windows.map((w) => ({ ...w, mart: spec.stem }));
    }
    const windows = planCellWindowsOnce(spec, input);
    plans.set(spec.rebuild, { limitMs: input.limit.getTime(), zones: input.zones, coalesce: input.coalesce, windows });
    return windows;
  }
  return planCellWindowsOnce(spec, input);
}

/** The last plan of each rule without per-mart inputs, per cells array (the windows' scopes are shared, never changed). */
const sharedPlans = new WeakMap<readonly TouchedCell[], Map<string, { limitMs: number; zones: Map<string, string[]>; coalesce?: boolean; windows: MartWindow[] }>>();

function planCellWindowsOnce(spec: Pick<MartSpec, 'stem' | 'rebuild'>, input: CellPlanInput): MartWindow[] {
  const limitMs = input.limit.getTime();
  const touched = input.cells.filter((c) => c.hour.getTime() < limitMs);
  const hourCell = (merchantId: string, hour: Date) => ({ merchantId, key: hourKey(hour), range: { start: hour, end: new Date(hour.getTime() + HOUR_MS) } });
  const zonesOf = (m: string) => input.zones.get(m) ?? ['UTC'];
  const gapMs = input.coalesce ? Infinity : DAY_MS;
  switch (spec.rebuild) {
    case 'hours':
      return groupCells(spec.stem, touched.map((c) => hourCell(c.merchantId, floorHour(c.hour))), gapMs);
    case 'later_hours': {
      const first = new Map<string, number>();
      for (const c of touched) first.set(c.merchantId, Math.min(first.get(c.merchantId) ?? Infinity, floorHour(c.hour).getTime()));
      if (input.inventoryStart) {
        for (const [m, from] of first) {
          const start = input.inventoryStart.get(m);
          if (start === undefined) first.delete(m);
          else first.set(m, Math.max(from, floorHour(start).getTime()));
        }
      }
      const allFromMs = Math.min(input.allFrom.getTime(), limitMs);
      const late = [...first].filter(([, from]) => from < allFromMs);
      // Windows run in this order: the touched merchants' hours before allFrom, one window per era
      // (their merchant range only, so a late backfill of one merchant reads that merchant's blocks,
      // not every merchant's), then every merchant from allFrom on. Each window's carry-in reads the
      // rows the one before it has just rebuilt.
      const out: MartWindow[] = [];
      if (late.length > 0) {
        const start = late.reduce((min, [, from]) => Math.min(min, from), Infinity);
        for (let era = eraOf(start); eraStartMs(era) < allFromMs; era++) {
          const chunkStart = Math.max(start, eraStartMs(era));
          const chunkEnd = Math.min(allFromMs, eraStartMs(era + 1));
          // Distinct by construction (one run of hours per merchant): no set needed.
          const merchants: string[] = [];
          const keys: string[] = [];
          let windowStart = chunkEnd;
          for (const [m, from] of late) {
            if (from >= chunkEnd) continue;
            merchants.push(m);
            const t0 = Math.max(from, chunkStart);
            windowStart = Math.min(windowStart, t0);
            for (let t = t0; t < chunkEnd; t += HOUR_MS) keys.push(cellKey(m, hourKey(new Date(t))));
          }
          if (keys.length > 0) out.push({ mart: spec.stem, windowStart: new Date(windowStart), windowEnd: new Date(chunkEnd), scope: { merchants: merchants.sort(), cells: keys.sort() } });
        }
      }
      if (allFromMs < limitMs) out.push({ mart: spec.stem, windowStart: new Date(allFromMs), windowEnd: input.limit, scope: { merchants: [], cells: [], allFrom: new Date(allFromMs) } });
      return out;
    }
    case 'local_days':
    case 'baseline_days': {
      // Copied: the baseline weeks and promotion days are added to this mart's own sets.
      const days = new Map([...localDaysOf(input.cells, limitMs, input.zones)].map(([m, ds]) => [m, new Set(ds)]));
      const add = (m: string, d: string) => (days.get(m) ?? days.set(m, new Set()).get(m)!).add(d);
      if (spec.rebuild === 'baseline_days') {
        for (const ds of days.values()) {
          for (const d of [...ds]) {
            // day numbers and the memoized isoDate: a backfill adds eight weeks to each of thousands of days
            const n = Date.parse(`${d}T00:00:00Z`) / DAY_MS;
            for (let w = 1; w <= BASELINE_WEEKS; w++) ds.add(isoDate(n + 7 * w));
          }
        }
        for (const p of input.promotions ?? []) {
          for (const z of zonesOf(p.merchantId)) {
            const last = localDate(new Date(p.endsAt.getTime() - 1), z);
            for (let d = localDate(p.startsAt, z); d <= last; d = addDays(d, 1)) add(p.merchantId, d);
          }
        }
      }
      // A local day is built once the hour in progress is past its start in some zone; the statement clips nothing, so keep days that began.
      const cells = [...days].flatMap(([m, ds]) =>
        [...ds].flatMap((d) => {
          const [range] = boundsOfDates([d]);
          if (Date.parse(`${d}T00:00:00Z`) - 14 * HOUR_MS >= limitMs) return [];
          return [{ merchantId: m, key: d, range: { start: range!.start, end: new Date(Math.min(range!.end.getTime(), limitMs)) } }];
        }),
      );
      return groupCells(spec.stem, cells, gapMs);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Predicates and parameters

const FORMAT_HOUR = `'%Y-%m-%dT%H'`;

/** The scope test of a row, given the SQL expressions of its merchant and bucket. */
export function scopeCondition(grain: 'hour' | 'day', merchant: string, bucket: string, zone = 'time_zone'): string {
  const key = grain === 'hour' ? `format_timestamp(${FORMAT_HOUR}, ${bucket})` : `cast(${bucket} as string)`;
  const from = grain === 'hour' ? `${bucket} >= @all_from` : `${bucket} >= date(@all_from, ${zone})`;
  return `(${from} or (${merchant} in unnest(@merchants) and concat(${merchant}, '|', ${key}) in unnest(@cells)))`;
}

/** The rows of a mart inside a window: the same condition the MERGE deletes by. */
export function windowCondition(spec: Pick<MartSpec, 'grain'>): string {
  // The merchant range is implied by the scope; stated on its own it prunes blocks of the leading clustering column.
  const merchants = 'merchant_id >= @merchant_from and merchant_id <= @merchant_to';
  if (spec.grain === 'hour') return `hour_start >= @window_start and hour_start < @window_end and ${merchants} and ${scopeCondition('hour', 'merchant_id', 'hour_start')}`;
  return [
    merchants,
    'local_date >= date_sub(date(@window_start), interval 1 day)',
    'local_date <= date_add(date(@window_end), interval 1 day)',
    'local_date >= date(@window_start, time_zone)',
    'local_date <= date(timestamp_sub(@window_end, interval 1 microsecond), time_zone)',
    scopeCondition('day', 'merchant_id', 'local_date'),
  ].join(' and ');
}

/** Above every merchant id (the highest code point): the open end of a range of merchants. */
export const LAST_MERCHANT = String.fromCodePoint(0x10ffff);

/** The merchants a window reads, as a range of the leading clustering column: its cells' merchants, unless every merchant is rebuilt from some hour. */
function merchantRange(w: Pick<MartWindow, 'windowStart' | 'windowEnd' | 'scope'>): [string, string] {
  const s = w.scope;
  if (!s || (s.allFrom && s.allFrom < w.windowEnd) || s.merchants.length === 0) return ['', LAST_MERCHANT];
  const sorted = [...s.merchants].sort();
  return [sorted[0]!, sorted[sorted.length - 1]!];
}

/** Every parameter a window binds; statements take the ones they name (sqlParams). */
export function windowParams(w: Pick<MartWindow, 'windowStart' | 'windowEnd' | 'scope'>): SqlParams {
  const [from, to] = merchantRange(w);
  return {
    merchant_from: from,
    merchant_to: to,
    window_start: w.windowStart,
    window_end: w.windowEnd,
    // A range build rebuilds every merchant from its start; a cell window only its cells (+ allFrom).
    // (two days past the end: no local day of the window starts after it in any zone)
    all_from: w.scope ? (w.scope.allFrom ?? new Date(w.windowEnd.getTime() + 2 * DAY_MS)) : w.windowStart,
    // Never empty: an empty list has no element type to bind in DuckDB. '' is no merchant id (ids are non-empty).
    merchants: w.scope?.merchants.length ? w.scope.merchants : [''],
    cells: w.scope?.cells.length ? w.scope.cells : [''],
  };
}

/** The parameters of `params` that `sql` names: DuckDB refuses values for absent ones, and the listing shows what binds. */
export function sqlParams(sql: string, params: SqlParams): SqlParams {
  return Object.fromEntries(Object.entries(params).filter(([name]) => new RegExp(`@${name}(?![A-Za-z0-9_])`).test(sql)));
}

/** Whole hours of a range: [floor(from), ceil(to)). */
export function hourRange(from: Date, to: Date): TimeRange {
  return { start: floorHour(from), end: ceilHour(to) };
}
