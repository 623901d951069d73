// The mart runner: rebuilds mart windows with the statements of sql/ (one MERGE per mart and window,
// idempotent: a window run twice leaves the same rows), runs the assertions of each rebuilt window,
// and records the windows in marts.mart_runs. `scheduledRun` is the hourly run: it finds the hours
// touched by events received since the previous run (raw.arrivals) and rebuilds them, the two
// latest hours and everything that depends on them, never the hour in progress.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type SqlParams, type Warehouse } from '../ports.js';
import { ASSERTIONS, MARTS, REPORTING, STAGING, martSpec, readSql, type MartSpec } from './manifest.js';
import { HOUR_MS, ceilHour, floorHour } from '../time.js';
import { hoursToRanges, mergeRanges, windowsForRule, type TimeRange } from './windows.js';

export interface MartWindow {
  /** Mart file stem, e.g. `mart_hourly_store_sales`. */
  mart: string;
  windowStart: Date;
  windowEnd: Date;
}

export interface WindowBuild extends MartWindow {
  /** Rows of the mart inside the window before and after the rebuild. */
  rowsBefore: number;
  rowsAfter: number;
}

export type RunKind = 'scheduled' | 'build' | 'reprocess';

export interface BuildResult {
  runId: string;
  windows: WindowBuild[];
}

export interface BuildOptions {
  runId?: string;
  kind?: RunKind;
  clock?: Clock;
  /** Called with each window just before it is rebuilt (the exporter collects the keys it replaces). */
  beforeWindow?: (w: MartWindow) => Promise<void>;
  /** Recorded with scheduled runs. */
  arrivalsThrough?: Date;
  finalizedThrough?: Date;
}

export class AssertionFailed extends Error {
  constructor(
    readonly assertion: string,
    readonly window: MartWindow,
    readonly rows: Record<string, unknown>[],
  ) {
    super(`assertion ${assertion} failed for ${window.windowStart.toISOString()}..${window.windowEnd.toISOString()}: ${rows.length} bad row(s), first ${JSON.stringify(rows[0])}`);
    this.name = 'AssertionFailed';
  }
}

const prepared = new WeakSet<Warehouse>();

/** Creates the staging and reporting views (idempotent). In BigQuery they are deployed once; locally on first use. */
export async function prepareMarts(warehouse: Warehouse): Promise<void> {
  if (prepared.has(warehouse)) return;
  await warehouse.run('create schema if not exists staging');
  await warehouse.run('create schema if not exists reporting');
  for (const f of [...STAGING, ...REPORTING]) await warehouse.run(readSql(f.file));
  prepared.add(warehouse);
}

/** The rows of a mart inside a window: the same condition the MERGE deletes by. */
export function windowCondition(spec: MartSpec): string {
  if (spec.grain === 'hour') return 'hour_start >= @window_start and hour_start < @window_end';
  return [
    'local_date >= date_sub(date(@window_start), interval 1 day)',
    'local_date <= date_add(date(@window_end), interval 1 day)',
    'local_date >= date(@window_start, time_zone)',
    'local_date <= date(timestamp_sub(@window_end, interval 1 microsecond), time_zone)',
  ].join(' and ');
}

export const windowParams = (w: { windowStart: Date; windowEnd: Date }): SqlParams => ({ window_start: w.windowStart, window_end: w.windowEnd });

async function countRows(warehouse: Warehouse, spec: MartSpec, w: MartWindow): Promise<number> {
  const [row] = await warehouse.query<{ row_count: number | bigint }>(
    `select count(*) as row_count from ${spec.table.id} where ${windowCondition(spec)}`,
    windowParams(w),
  );
  return Number(row?.row_count ?? 0);
}

/** Runs the assertions of a mart for one window; throws AssertionFailed with the bad rows. */
export async function runAssertions(warehouse: Warehouse, w: MartWindow): Promise<void> {
  for (const a of ASSERTIONS.filter((x) => x.mart === w.mart)) {
    const bad = await warehouse.query(readSql(a.file), windowParams(w));
    if (bad.length > 0) throw new AssertionFailed(a.stem, w, bad);
  }
}

/** Rebuilds the given windows (in manifest order), asserts them and records them in marts.mart_runs. */
export async function buildWindows(warehouse: Warehouse, windows: MartWindow[], opts: BuildOptions = {}): Promise<BuildResult> {
  await prepareMarts(warehouse);
  const clock = opts.clock ?? systemClock;
  const runId = opts.runId ?? randomUUID();
  const startedAt = clock.now();
  const order = new Map(MARTS.map((m, i) => [m.stem, i]));
  const sorted = [...windows].sort((a, b) => order.get(a.mart)! - order.get(b.mart)! || a.windowStart.getTime() - b.windowStart.getTime());
  const built: WindowBuild[] = [];
  for (const w of sorted) {
    const spec = martSpec(w.mart);
    if (spec.grain === 'hour' && (w.windowStart.getTime() % HOUR_MS !== 0 || w.windowEnd.getTime() % HOUR_MS !== 0)) {
      throw new Error(`${w.mart}: hourly windows must be whole hours, got ${w.windowStart.toISOString()}..${w.windowEnd.toISOString()}`);
    }
    if (w.windowEnd <= w.windowStart) continue;
    await opts.beforeWindow?.(w);
    const rowsBefore = await countRows(warehouse, spec, w);
    try {
      await warehouse.run(readSql(spec.file), windowParams(w));
    } catch (err) {
      throw new Error(`rebuilding ${w.mart} for ${w.windowStart.toISOString()}..${w.windowEnd.toISOString()}`, { cause: err });
    }
    await runAssertions(warehouse, w);
    const rowsAfter = await countRows(warehouse, spec, w);
    await recordWindow(warehouse, { runId, kind: opts.kind ?? 'build', startedAt, finishedAt: clock.now(), window: w, arrivalsThrough: opts.arrivalsThrough, finalizedThrough: opts.finalizedThrough });
    built.push({ ...w, rowsBefore, rowsAfter });
  }
  return { runId, windows: built };
}

async function recordWindow(
  warehouse: Warehouse,
  r: { runId: string; kind: RunKind; startedAt: Date; finishedAt: Date; window: MartWindow; arrivalsThrough?: Date; finalizedThrough?: Date },
): Promise<void> {
  const params: SqlParams = {
    run_id: r.runId,
    kind: r.kind,
    mart: r.window.mart,
    window_start: r.window.windowStart,
    window_end: r.window.windowEnd,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
  };
  // Absent instants are written as literal nulls: an untyped null parameter has no type to bind.
  const optional = (name: 'arrivals_through' | 'finalized_through', v?: Date): string => {
    if (!v) return 'null';
    params[name] = v;
    return `@${name}`;
  };
  await warehouse.run(
    `insert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, arrivals_through, finalized_through)
     values (@run_id, @kind, @mart, @window_start, @window_end, @started_at, @finished_at, ${optional('arrivals_through', r.arrivalsThrough)}, ${optional('finalized_through', r.finalizedThrough)})`,
    params,
  );
}

/**
 * Rebuilds marts over one range: hourly marts over its whole hours, daily marts over every local
 * day it overlaps. Idempotent. `marts` picks a subset (file stems); default all.
 */
export async function buildMarts(
  warehouse: Warehouse,
  range: { windowStart: Date; windowEnd: Date; marts?: string[] },
  opts: BuildOptions = {},
): Promise<BuildResult> {
  const specs = range.marts ? range.marts.map(martSpec) : MARTS;
  const windowStart = floorHour(range.windowStart);
  const windowEnd = ceilHour(range.windowEnd);
  return buildWindows(
    warehouse,
    specs.map((s) => ({ mart: s.stem, windowStart, windowEnd })),
    opts,
  );
}

export interface ScheduledRunResult extends BuildResult {
  startedAt: Date;
  /** Arrivals received before this instant are covered; the next run starts from here. */
  arrivalsThrough: Date;
  /** Start of the hour in progress: every hour before it is final after this run. */
  finalizedThrough: Date;
  /** Distinct UTC hours touched by arrivals since the previous run. */
  touchedHours: Date[];
}

interface PreviousRun {
  arrivals_through: Date | null;
  finalized_through: Date | null;
}

/** Promotions announced in the touched hours: their own days (and baselines) must be rebuilt too. */
async function touchedPromotionRanges(warehouse: Warehouse, touched: TimeRange[]): Promise<TimeRange[]> {
  if (touched.length === 0) return [];
  const rows = await warehouse.query<{ promo_starts_at: Date; promo_ends_at: Date; event_ts: Date }>(
    `select promo_starts_at, promo_ends_at, event_ts
     from staging.stg_events
     where event_type = 'promotion' and event_ts >= @window_start and event_ts < @window_end`,
    { window_start: touched[0]!.start, window_end: touched[touched.length - 1]!.end },
  );
  const inTouched = (t: Date) => touched.some((r) => t >= r.start && t < r.end);
  return rows
    .filter((r) => inTouched(new Date(r.event_ts)))
    .map((r) => ({ start: floorHour(new Date(r.promo_starts_at)), end: ceilHour(new Date(r.promo_ends_at)) }));
}

/**
 * The hourly run. Rebuilds exactly the hours touched by arrivals received since the previous
 * scheduled run, plus the two latest complete hours (and any hour a skipped run left provisional),
 * then the dependants per mart (later inventory hours, local days, promotion baselines). The hour
 * in progress is never built, so it is never finalized.
 */
export async function scheduledRun(deps: {
  warehouse: Warehouse;
  clock?: Clock;
  runId?: string;
  beforeWindow?: BuildOptions['beforeWindow'];
  /**
   * Runs after every window is built and before the run's watermarks are recorded (the export). A run
   * that stops before its watermarks are recorded — a crash mid-build or mid-export — leaves the next
   * run starting from the previous complete run, so nothing it touched is left unbuilt or unexported.
   */
  beforeComplete?: (result: ScheduledRunResult) => Promise<void>;
}): Promise<ScheduledRunResult> {
  const { warehouse } = deps;
  const clock = deps.clock ?? systemClock;
  await prepareMarts(warehouse);
  const startedAt = clock.now();
  const current = floorHour(startedAt);
  const [previous] = await warehouse.query<PreviousRun>(
    `select max(arrivals_through) as arrivals_through, max(finalized_through) as finalized_through
     from marts.mart_runs
     where kind = 'scheduled'`,
  );
  const since = previous?.arrivals_through ? new Date(previous.arrivals_through) : new Date(0);
  const arrivals = await warehouse.query<{ event_hour: Date }>(
    `select distinct event_hour
     from raw.arrivals
     where received_at >= @since and received_at < @until`,
    { since, until: startedAt },
  );
  const touchedHours = arrivals.map((a) => new Date(a.event_hour)).sort((a, b) => a.getTime() - b.getTime());

  const pending: TimeRange[] = [];
  // The two latest complete hours, and every hour a late or skipped run left unfinalized.
  const provisionalFrom = new Date(
    Math.min(current.getTime() - 2 * HOUR_MS, previous?.finalized_through ? new Date(previous.finalized_through).getTime() : Infinity),
  );
  pending.push({ start: provisionalFrom, end: current });
  const touched = mergeRanges([...hoursToRanges(touchedHours), ...pending]);
  const promotions = await touchedPromotionRanges(warehouse, touched);

  const windows: MartWindow[] = [];
  for (const spec of MARTS) {
    const base = spec.rebuild === 'baseline_days' ? mergeRanges([...touched, ...promotions]) : touched;
    for (const r of windowsForRule(spec, base, current)) windows.push({ mart: spec.stem, windowStart: r.start, windowEnd: r.end });
  }
  const result = await buildWindows(warehouse, windows, { runId: deps.runId, kind: 'scheduled', clock, beforeWindow: deps.beforeWindow });
  const run: ScheduledRunResult = { ...result, startedAt, arrivalsThrough: startedAt, finalizedThrough: current, touchedHours };
  await deps.beforeComplete?.(run);
  // The watermarks go on the run's rows only now that it is complete: max() over them ignores an interrupted run.
  await warehouse.run(
    `update marts.mart_runs set arrivals_through = @arrivals_through, finalized_through = @finalized_through where run_id = @run_id`,
    { arrivals_through: startedAt, finalized_through: current, run_id: result.runId },
  );
  return run;
}
