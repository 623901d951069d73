// The mart runner: rebuilds mart windows with the statements of sql/ (one MERGE per mart and window,
// idempotent: a window run twice leaves the same rows), runs the assertions of each rebuilt window,
// and records the windows in marts.mart_runs. `scheduledRun` is the hourly run: it reads the cells
// touched by arrivals since each mart's watermark (re-reading an overlap, so a row committed after a
// run read arrivals but stamped before it is built by the next run) and rebuilds those cells and
// what depends on them (windows.ts), never the hour in progress.
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock, type SqlParams, type Warehouse } from '../ports.js';
import { DEFAULT_MART_CONFIG, type MartConfig } from './config.js';
import { MARTS, REPORTING, STAGING, martSpec, readSql, type MartSpec } from './manifest.js';
import { INVENTORY_MART, hasSeries, snapshotSql } from './changes.js';
import { BOOKKEEPING, martParams, planScheduledWindows, sortWindows, windowStatements } from './statements.js';
import { HOUR_MS, floorHour } from '../time.js';
import { hourRange, sqlParams, windowCondition, type MartWindow, type TouchedCell } from './windows.js';

export type { MartWindow } from './windows.js';

export interface WindowBuild extends MartWindow {
  /** Rows of the mart inside the window before and after the rebuild. */
  rowsBefore: number;
  rowsAfter: number;
}

export type RunKind = 'scheduled' | 'build' | 'reprocess';

export interface WindowObserver {
  before(w: MartWindow): Promise<number>;
  after(w: MartWindow): Promise<number>;
}

export interface BuildResult {
  runId: string;
  /** The run's started_at in marts.mart_runs (and its snapshot's in marts.mart_run_rows). */
  startedAt: Date;
  windows: WindowBuild[];
}

export interface BuildOptions {
  runId?: string;
  /** The run's start as recorded; default now. */
  startedAt?: Date;
  kind?: RunKind;
  clock?: Clock;
  config?: MartConfig;
  /** Called with each window just before it is rebuilt (the cycle collects the rows and keys it replaces). */
  beforeWindow?: (w: MartWindow) => Promise<void>;
  /**
   * Reads each window's rows before and after its rebuild and answers their counts, instead of the
   * runner counting them: the mart cycle reads each window once on each side and keeps the rows.
   */
  observe?: WindowObserver;
  /** Called as each window starts (the windows built so far, the run's total, the mart being built) and once at the end. */
  onWindow?: WindowProgress;
  /** Recorded with scheduled runs. */
  arrivalsThrough?: Date;
  finalizedThrough?: Date;
}

export type WindowProgress = (p: { done: number; total: number; mart: string }) => void;

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

/**
 * Marks a warehouse whose views are deployed with it — BigQuery, where Terraform creates and replaces
 * them (infra-cdktf/sql-views.ts) — so no run replaces them: a run then needs no right to create
 * datasets or views, and never rewrites an authorized view.
 */
export function viewsDeployed(warehouse: Warehouse): void {
  prepared.add(warehouse);
}

export { windowCondition } from './windows.js';

/** The parameters of a window that `sql` names. */
export const windowParams = (w: MartWindow, sql: string, config?: MartConfig): SqlParams => sqlParams(sql, martParams(w, config));

async function countRows(warehouse: Warehouse, spec: MartSpec, w: MartWindow, config?: MartConfig): Promise<number> {
  const sql = `select count(*) as row_count from ${spec.table.id} where ${windowCondition(spec)}`;
  const [row] = await warehouse.query<{ row_count: number | bigint }>(sql, windowParams(w, sql, config));
  return Number(row?.row_count ?? 0);
}

/** Runs the assertions of a mart for one window; throws AssertionFailed with the bad rows. */
export async function runAssertions(warehouse: Warehouse, w: MartWindow, config?: MartConfig): Promise<void> {
  for (const a of windowStatements(w, config).filter((s) => s.role === 'assertion')) {
    const bad = await warehouse.query(a.sql, a.params);
    if (bad.length > 0) throw new AssertionFailed(a.stem, w, bad);
  }
}

/** Rebuilds the given windows (in manifest order), asserts them and records them in marts.mart_runs. */
export async function buildWindows(warehouse: Warehouse, windows: MartWindow[], opts: BuildOptions = {}): Promise<BuildResult> {
  const observe = opts.observe ?? { before: (w) => countRows(warehouse, martSpec(w.mart), w, opts.config), after: (w) => countRows(warehouse, martSpec(w.mart), w, opts.config) };
  return rebuildWindows(warehouse, windows, opts, async (w, rebuild) => {
    const rowsBefore = await observe.before(w);
    await rebuild();
    return { ...w, rowsBefore, rowsAfter: await observe.after(w) };
  });
}

/**
 * The rebuild of buildWindows; `around` runs each window's rebuild (its statement and assertions,
 * after its record and snapshot) and answers what the result lists for it: buildWindows adds the row
 * counts, a scheduled run without an observer nothing.
 */
async function rebuildWindows<W extends MartWindow>(
  warehouse: Warehouse,
  windows: MartWindow[],
  opts: BuildOptions,
  around: (w: MartWindow, rebuild: () => Promise<void>) => Promise<W>,
): Promise<{ runId: string; startedAt: Date; windows: W[] }> {
  await prepareMarts(warehouse);
  const clock = opts.clock ?? systemClock;
  const runId = opts.runId ?? randomUUID();
  const startedAt = opts.startedAt ?? clock.now();
  const built: W[] = [];
  const sorted = sortWindows(windows);
  for (const [done, w] of sorted.entries()) {
    opts.onWindow?.({ done, total: sorted.length, mart: w.mart });
    const spec = martSpec(w.mart);
    if (spec.grain === 'hour' && (w.windowStart.getTime() % HOUR_MS !== 0 || w.windowEnd.getTime() % HOUR_MS !== 0)) {
      throw new Error(`${w.mart}: hourly windows must be whole hours, got ${w.windowStart.toISOString()}..${w.windowEnd.toISOString()}`);
    }
    if (w.windowEnd <= w.windowStart) continue;
    await opts.beforeWindow?.(w);
    // Recorded before it is rebuilt: a run that stops anywhere after this leaves the window and its
    // snapshot, and the next export exports it against that snapshot (export-log.ts) — the next run's
    // own snapshot of a window this run rebuilt would show no change.
    await recordWindow(warehouse, { runId, kind: opts.kind ?? 'build', startedAt, finishedAt: clock.now(), window: w, arrivalsThrough: opts.arrivalsThrough, finalizedThrough: opts.finalizedThrough });
    if (hasSeries(spec)) {
      // The window's rows as they were: the exporter exports only what this rebuild changes (changes.ts).
      const snapshot = snapshotSql(w.mart);
      await warehouse.run(snapshot, sqlParams(snapshot, { ...martParams(w, opts.config), run_id: runId, run_started_at: startedAt }));
    }
    const [statement, ...assertions] = windowStatements(w, opts.config);
    built.push(
      await around(w, async () => {
        try {
          await warehouse.run(statement!.sql, statement!.params);
        } catch (err) {
          throw new Error(`rebuilding ${w.mart} for ${w.windowStart.toISOString()}..${w.windowEnd.toISOString()}`, { cause: err });
        }
        for (const a of assertions) {
          const bad = await warehouse.query(a.sql, a.params);
          if (bad.length > 0) throw new AssertionFailed(a.stem, w, bad);
        }
      }),
    );
  }
  opts.onWindow?.({ done: sorted.length, total: sorted.length, mart: '' });
  return { runId, startedAt, windows: built };
}

async function recordWindow(
  warehouse: Warehouse,
  r: { runId: string; kind: RunKind; startedAt: Date; finishedAt: Date; window: MartWindow; arrivalsThrough?: Date; finalizedThrough?: Date },
): Promise<void> {
  const scope = martParams(r.window);
  const params: SqlParams = {
    run_id: r.runId,
    kind: r.kind,
    mart: r.window.mart,
    window_start: r.window.windowStart,
    window_end: r.window.windowEnd,
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    all_from: scope.all_from!,
    merchants: scope.merchants!,
    cells: scope.cells!,
  };
  // Absent instants are written as literal nulls: an untyped null parameter has no type to bind.
  const optional = (name: 'arrivals_through' | 'finalized_through', v?: Date): string => {
    if (!v) return 'null';
    params[name] = v;
    return `@${name}`;
  };
  await warehouse.run(
    `insert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, arrivals_through, finalized_through, all_from, merchants, cells)
     values (@run_id, @kind, @mart, @window_start, @window_end, @started_at, @finished_at, ${optional('arrivals_through', r.arrivalsThrough)}, ${optional('finalized_through', r.finalizedThrough)}, @all_from, @merchants, @cells)`,
    params,
  );
}

/** A window as mart_runs recorded it: a range build when every merchant was rebuilt from its start. */
export function recordedWindow(r: { mart: string; window_start: Date; window_end: Date; all_from?: Date | null; merchants?: string[] | null; cells?: string[] | null }): MartWindow {
  const w = { mart: r.mart, windowStart: new Date(r.window_start), windowEnd: new Date(r.window_end) };
  if (r.all_from == null || new Date(r.all_from) <= w.windowStart) return w;
  const allFrom = new Date(r.all_from);
  const real = (xs: string[] | null | undefined) => (xs ?? []).filter((x) => x !== '');
  return { ...w, scope: { merchants: real(r.merchants), cells: real(r.cells), ...(allFrom < w.windowEnd ? { allFrom } : {}) } };
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
  const { start, end } = hourRange(range.windowStart, range.windowEnd);
  return buildWindows(
    warehouse,
    specs.map((s) => ({ mart: s.stem, windowStart: start, windowEnd: end })),
    opts,
  );
}

export interface ScheduledRunResult extends Omit<BuildResult, 'windows'> {
  /**
   * The windows built, in order; with their row counts only when the run was given an observer:
   * nothing reads them otherwise, and counting a backfill's windows (a query before and after each,
   * over every cell) cost a quarter of a CPU second.
   */
  windows: (MartWindow & Partial<Pick<WindowBuild, 'rowsBefore' | 'rowsAfter'>>)[];
  startedAt: Date;
  /** The arrivals read were received in [arrivalsFrom, arrivalsThrough). */
  arrivalsFrom: Date;
  /** Arrivals received before this instant are covered; the next run starts from here (less the overlap). */
  arrivalsThrough: Date;
  /** Start of the hour in progress: every hour before it is final after this run. */
  finalizedThrough: Date;
  /** Distinct UTC hours touched by the arrivals this run read. */
  touchedHours: Date[];
  /** The (merchant, hour) cells those arrivals touched. */
  touchedCells: TouchedCell[];
}

interface Watermark {
  mart: string;
  arrivals_through: Date | null;
  finalized_through: Date | null;
}

/**
 * What a scheduled run reads before it builds: each mart's watermark, the cells touched by arrivals
 * since then (re-reading `arrivalsOverlapMs` before it), the merchants' zones and the promotions
 * announced in touched cells. Bookkeeping reads raw.arrivals, mart_runs and dims only — and the
 * promotion events of the touched merchants and hours.
 */
export async function readRunInput(warehouse: Warehouse, startedAt: Date, config: MartConfig = DEFAULT_MART_CONFIG) {
  const runsSince = new Date(startedAt.getTime() - config.horizonDays * 24 * HOUR_MS);
  const marks = await warehouse.query<Watermark>(BOOKKEEPING.watermarks, { runs_since: runsSince });
  const byMart = new Map(marks.map((m) => [m.mart, m]));
  // A mart never run reads every arrival of the horizon; each other from its own watermark less the overlap.
  const sinceOf = (mart: string): Date => {
    const through = byMart.get(mart)?.arrivals_through;
    return through ? new Date(new Date(through).getTime() - config.arrivalsOverlapMs) : runsSince;
  };
  const arrivalsFrom = new Date(Math.min(...MARTS.map((m) => sinceOf(m.stem).getTime())));
  const arrivals = await warehouse.query<{ merchant_id: string; event_hour: Date; received_at: Date }>(BOOKKEEPING.arrivals, {
    arrivals_from: arrivalsFrom,
    arrivals_to: startedAt,
  });
  const cellsByMart = new Map<string, TouchedCell[]>();
  // Marts with the same watermark share one array, so the planner computes their local days once.
  const bySince = new Map<number, TouchedCell[]>();
  for (const m of MARTS) {
    const since = sinceOf(m.stem).getTime();
    let cells = bySince.get(since);
    if (!cells) {
      cells = arrivals.filter((a) => new Date(a.received_at).getTime() >= since).map((a) => ({ merchantId: a.merchant_id, hour: new Date(a.event_hour) }));
      bySince.set(since, cells);
    }
    cellsByMart.set(m.stem, cells);
  }
  const zones = new Map<string, string[]>();
  for (const z of await warehouse.query<{ merchant_id: string; time_zone: string }>(BOOKKEEPING.zones)) {
    const list = zones.get(z.merchant_id) ?? zones.set(z.merchant_id, []).get(z.merchant_id)!;
    if (!list.includes(z.time_zone)) list.push(z.time_zone);
  }
  const touched = arrivals.map((a) => ({ merchantId: a.merchant_id, hour: new Date(a.event_hour) }));
  let promotions: { merchantId: string; startsAt: Date; endsAt: Date }[] = [];
  if (touched.length > 0) {
    const hours = touched.map((c) => c.hour.getTime());
    const keys = new Set(touched.map((c) => `${c.merchantId}|${c.hour.getTime()}`));
    const rows = await warehouse.query<{ merchant_id: string; promo_starts_at: Date; promo_ends_at: Date; event_ts: Date }>(BOOKKEEPING.promotions, {
      window_start: new Date(hours.reduce((a, b) => Math.min(a, b))),
      window_end: new Date(hours.reduce((a, b) => Math.max(a, b)) + HOUR_MS),
      merchants: [...new Set(touched.map((c) => c.merchantId))].sort(),
    });
    promotions = rows
      .filter((r) => keys.has(`${r.merchant_id}|${floorHour(new Date(r.event_ts)).getTime()}`))
      .map((r) => ({ merchantId: r.merchant_id, startsAt: new Date(r.promo_starts_at), endsAt: new Date(r.promo_ends_at) }));
  }
  const finalized = marks.map((m) => m.finalized_through).filter((d): d is Date => d !== null).map((d) => new Date(d).getTime());
  const finalizedThrough = finalized.length === MARTS.length ? new Date(Math.min(...finalized)) : undefined;
  return { arrivalsFrom, cellsByMart, touched, zones, promotions, finalizedThrough };
}

/**
 * The first hour each merchant's inventory mart can hold a row: the hour of its first inventory
 * event in raw, or of its first mart row (a row whose events have since left raw is rebuilt away),
 * whichever is earlier. A merchant absent has neither. Read by the local plan only (DuckDB scans
 * these columns in milliseconds; BigQuery would bill every partition, so its script keeps the rule).
 */
export async function inventoryStarts(warehouse: Warehouse, merchants: string[]): Promise<Map<string, Date>> {
  if (merchants.length === 0) return new Map();
  const rows = await warehouse.query<{ merchant_id: string; first_at: Date }>(
    `select merchant_id, min(first_at) as first_at
from (
  select merchant_id, min(event_ts) as first_at from raw.events
  where event_type = 'inventory' and merchant_id in unnest(@merchants)
  group by merchant_id
  union all
  select merchant_id, min(hour_start) as first_at from ${martSpec(INVENTORY_MART).table.id}
  where merchant_id in unnest(@merchants)
  group by merchant_id
) as firsts
group by merchant_id`,
    { merchants },
  );
  return new Map(rows.map((r) => [r.merchant_id, floorHour(new Date(r.first_at))]));
}

/**
 * The hourly run. Rebuilds the cells touched by arrivals received since each mart's watermark (less
 * the overlap) and their dependants per mart (later inventory hours, local days, promotion
 * baselines). The hour in progress is never built, so it is never finalized.
 */
export async function scheduledRun(deps: {
  warehouse: Warehouse;
  clock?: Clock;
  runId?: string;
  config?: MartConfig;
  beforeWindow?: BuildOptions['beforeWindow'];
  observe?: WindowObserver;
  onWindow?: WindowProgress;
  /**
   * Runs after every window is built and before the run's watermarks are recorded (the export). A run
   * that stops before its watermarks are recorded — a crash mid-build or mid-export — leaves the next
   * run starting from the previous complete run, so nothing it touched is left unbuilt or unexported.
   */
  beforeComplete?: (result: ScheduledRunResult) => Promise<void>;
}): Promise<ScheduledRunResult> {
  const { warehouse } = deps;
  const clock = deps.clock ?? systemClock;
  const config = deps.config ?? DEFAULT_MART_CONFIG;
  await prepareMarts(warehouse);
  const startedAt = clock.now();
  const current = floorHour(startedAt);
  const input = await readRunInput(warehouse, startedAt, config);
  // The same cells as the BigQuery script's plan, one window per mart: DuckDB pays per statement, not
  // per partition read, so a backfill of hours scattered over years is one statement per mart.
  // Inventory: only merchants with inventory, from their first inventory hour (a backfill of orders
  // alone would otherwise rebuild every hour since each merchant's first order: 105,000 cells of
  // nothing for four years of three merchants).
  const inventoryStart = await inventoryStarts(warehouse, [...new Set((input.cellsByMart.get(INVENTORY_MART) ?? []).map((c) => c.merchantId))].sort());
  const windows = planScheduledWindows({ startedAt, finalizedThrough: input.finalizedThrough, cells: input.cellsByMart, zones: input.zones, promotions: input.promotions, coalesce: true, inventoryStart });
  const buildOpts: BuildOptions = { runId: deps.runId, startedAt, kind: 'scheduled', clock, config, beforeWindow: deps.beforeWindow, observe: deps.observe, onWindow: deps.onWindow };
  const result = deps.observe ? await buildWindows(warehouse, windows, buildOpts) : await rebuildWindows(warehouse, windows, buildOpts, async (w, rebuild) => (await rebuild(), w));
  const touchedHours = [...new Set(input.touched.map((c) => c.hour.getTime()))].sort((a, b) => a - b).map((t) => new Date(t));
  const run: ScheduledRunResult = { ...result, startedAt, arrivalsFrom: input.arrivalsFrom, arrivalsThrough: startedAt, finalizedThrough: current, touchedHours, touchedCells: input.touched };
  await deps.beforeComplete?.(run);
  // The watermarks go on the run's rows only now that it is complete: max() over them ignores an
  // interrupted run, whose arrivals the next run reads again. A mart without a window this run gets
  // a row of its own, so its watermark moves too.
  for (const m of MARTS) {
    if (result.windows.some((w) => w.mart === m.stem)) continue;
    await recordWindow(warehouse, { runId: result.runId, kind: 'scheduled', startedAt, finishedAt: clock.now(), window: { mart: m.stem, windowStart: current, windowEnd: current } });
  }
  await warehouse.run(
    `update marts.mart_runs set arrivals_from = @arrivals_from, arrivals_through = @arrivals_through, finalized_through = @finalized_through where run_id = @run_id`,
    { arrivals_from: input.arrivalsFrom, arrivals_through: startedAt, finalized_through: current, run_id: result.runId },
  );
  return run;
}
