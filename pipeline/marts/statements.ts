// The statements a mart run issues, in order, with their parameters bound: the one list the runner
// executes and the offline bytes estimator reads. `scheduledRunStatements` is an hourly run for a
// given set of touched cells (what scheduled-script.ts runs in BigQuery and runner.ts locally);
// `reprocessStatements` a range rebuild (`reprocess` / `marts` without --revalidate).
import type { SqlParams } from '../ports.js';
import { floorHour, HOUR_MS } from '../time.js';
import { DEFAULT_MART_CONFIG, type MartConfig } from './config.js';
import { ASSERTIONS, MARTS, assertionSql, martSpec, readSql } from './manifest.js';
import { hourRange, planCellWindows, sqlParams, windowParams, type CellPlanInput, type MartWindow, type TouchedCell } from './windows.js';

export interface PlannedStatement {
  /** File stem of sql/ (`mart_hourly_store_sales`, `assert_…`), or a bookkeeping name (`arrivals`, `mart_runs`). */
  stem: string;
  /** Path of the statement's file from the repository root; absent for bookkeeping statements written in TypeScript. */
  file?: string;
  role: 'bookkeeping' | 'mart' | 'assertion';
  /** BigQuery text as issued. */
  sql: string;
  /** The parameters the text names, bound. */
  params: SqlParams;
  /** The window a mart or assertion statement is bound to. */
  window?: MartWindow;
}

/** Parameters of a window as the mart statements bind them (horizon from config). */
export function martParams(w: MartWindow, config: Pick<MartConfig, 'horizonDays'> = DEFAULT_MART_CONFIG): SqlParams {
  const horizonStart = new Date(w.windowStart.getTime() - config.horizonDays * 24 * HOUR_MS);
  return {
    ...windowParams(w),
    // Only a range build carries closing stock in from raw; a cell window carries in from the mart's own rows.
    carry_from: w.scope ? w.windowStart : horizonStart,
    horizon_start: horizonStart,
  };
}

/** The mart statement of a window and its assertions after it. */
export function windowStatements(w: MartWindow, config?: Pick<MartConfig, 'horizonDays'>): PlannedStatement[] {
  const spec = martSpec(w.mart);
  const all = martParams(w, config);
  const out: PlannedStatement[] = [];
  const sql = readSql(spec.file);
  out.push({ stem: spec.stem, file: spec.file, role: 'mart', sql, params: sqlParams(sql, all), window: w });
  for (const a of ASSERTIONS.filter((x) => x.mart === w.mart)) {
    const text = assertionSql(a);
    out.push({ stem: a.stem, ...(a.file ? { file: a.file } : {}), role: 'assertion', sql: text, params: sqlParams(text, all), window: w });
  }
  return out;
}

/** Windows in manifest order, each mart's in time order (a later inventory window reads an earlier one's rows). */
export function sortWindows(windows: MartWindow[]): MartWindow[] {
  const order = new Map(MARTS.map((m, i) => [m.stem, i]));
  return [...windows].sort((a, b) => order.get(a.mart)! - order.get(b.mart)! || a.windowStart.getTime() - b.windowStart.getTime());
}

// ------------------------------------------------------------------------------------------------
// Bookkeeping statements of the scheduled run (runner.ts issues exactly these)

export const BOOKKEEPING = {
  /** Each mart's watermark: arrivals received before it are built into that mart. */
  watermarks: `select mart, max(arrivals_through) as arrivals_through, max(finalized_through) as finalized_through
from marts.mart_runs
where kind = 'scheduled' and arrivals_through is not null and started_at >= @runs_since
group by mart`,
  /** Touched cells: one row per (merchant, event hour) with the newest receipt, received in the re-read span. */
  arrivals: `select merchant_id, event_hour, max(received_at) as received_at
from raw.arrivals
where received_at >= @arrivals_from and received_at < @arrivals_to
group by merchant_id, event_hour`,
  zones: `select merchant_id, time_zone from dims.merchants
union all
select merchant_id, time_zone from dims.stores`,
  /** Promotions announced in the touched cells' hours (their own days are rebuilt). */
  promotions: `select merchant_id, promo_starts_at, promo_ends_at, event_ts
from staging.stg_events
where event_type = 'promotion'
  and event_ts >= @window_start
  and event_ts < @window_end
  and merchant_id in unnest(@merchants)`,
} as const;

export interface ScheduledPlanInput {
  /** When the run started: the hour in progress is never built. */
  startedAt: Date;
  /** The hours every merchant's inventory is extended from (the previous run's finalized_through); default two hours back. */
  finalizedThrough?: Date;
  /** Cells touched by the arrivals the run reads, per mart (or the same for all: `cells`). */
  cells: TouchedCell[] | Map<string, TouchedCell[]>;
  zones: CellPlanInput['zones'];
  promotions?: CellPlanInput['promotions'];
  marts?: string[];
  /** One window per mart (CellPlanInput.coalesce): the local runner's plan; BigQuery's keeps a window per stretch. */
  coalesce?: boolean;
  /** CellPlanInput.inventoryStart (the local runner's plan). */
  inventoryStart?: CellPlanInput['inventoryStart'];
}

/** The windows of a scheduled run, in execution order. */
export function planScheduledWindows(input: ScheduledPlanInput): MartWindow[] {
  const limit = floorHour(input.startedAt);
  const twoBack = new Date(limit.getTime() - 2 * HOUR_MS);
  const allFrom = input.finalizedThrough && input.finalizedThrough < twoBack ? input.finalizedThrough : twoBack;
  const specs = input.marts ? input.marts.map(martSpec) : MARTS;
  return sortWindows(
    specs.flatMap((s) => {
      const cells = Array.isArray(input.cells) ? input.cells : (input.cells.get(s.stem) ?? []);
      return planCellWindows(s, { cells, limit, allFrom, zones: input.zones, promotions: input.promotions, coalesce: input.coalesce, inventoryStart: input.inventoryStart });
    }),
  );
}

/**
 * Every statement an hourly run issues for the given touched cells, in order: bookkeeping reads,
 * then per mart its statement and assertions per window, then the run log. For the offline estimator
 * (and the tests); the runner executes the same windows through `windowStatements`.
 */
export function scheduledRunStatements(input: ScheduledPlanInput & { arrivalsFrom: Date; config?: MartConfig }): PlannedStatement[] {
  const config = input.config ?? DEFAULT_MART_CONFIG;
  const windows = planScheduledWindows(input);
  const all = Array.isArray(input.cells) ? input.cells : [...input.cells.values()].flat();
  const hours = all.map((c) => c.hour.getTime());
  const merchants = [...new Set(all.map((c) => c.merchantId))].sort();
  const out: PlannedStatement[] = [
    { stem: 'watermarks', role: 'bookkeeping', sql: BOOKKEEPING.watermarks, params: { runs_since: new Date(input.startedAt.getTime() - config.horizonDays * 24 * HOUR_MS) } },
    { stem: 'arrivals', role: 'bookkeeping', sql: BOOKKEEPING.arrivals, params: { arrivals_from: input.arrivalsFrom, arrivals_to: input.startedAt } },
    { stem: 'zones', role: 'bookkeeping', sql: BOOKKEEPING.zones, params: {} },
  ];
  if (hours.length > 0) {
    out.push({
      stem: 'promotions',
      role: 'bookkeeping',
      sql: BOOKKEEPING.promotions,
      params: { window_start: new Date(hours.reduce((a, b) => Math.min(a, b))), window_end: new Date(hours.reduce((a, b) => Math.max(a, b)) + HOUR_MS), merchants },
    });
  }
  for (const w of windows) out.push(...windowStatements(w, config));
  return out;
}

/** The windows of a range rebuild: every merchant, hourly marts over the range's whole hours, daily marts over the local days it overlaps. */
export function rangeWindows(input: { from: Date; to: Date; marts?: string[] }): MartWindow[] {
  const range = hourRange(input.from, input.to);
  if (range.end <= range.start) return [];
  const specs = input.marts ? input.marts.map(martSpec) : MARTS;
  return specs.map((s) => ({ mart: s.stem, windowStart: range.start, windowEnd: range.end }));
}

/** Every statement a range rebuild issues (reprocess without --revalidate, `marts --from --to`). */
export function reprocessStatements(input: { from: Date; to: Date; marts?: string[]; config?: MartConfig }): PlannedStatement[] {
  return rangeWindows(input).flatMap((w) => windowStatements(w, input.config));
}
