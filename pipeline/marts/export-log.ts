// The export log (marts.mart_exports): which runs the exporter has written to the series store, per
// range of merchants. An export writes its own run and then every earlier scheduled run whose range
// it is not logged for — a run whose script stopped part way (it recorded each window before
// rebuilding it, with no watermark: runner.ts, scheduled-script.ts) or whose export failed for good —
// each against that run's own snapshot (changes.ts), so what such a run rebuilt reaches the series
// store with the next export, whatever the next run's own snapshot shows. The same code runs locally
// (hourly.ts) and in the export job's tasks (services/export-job/export-run.ts).
import type { SeriesStore, Warehouse } from '../ports.js';
import { HOUR_MS } from '../time.js';
import { exportRunSeries, runRecord, type MerchantRange, type RunRecord } from './exporter.js';
import { merchantShards, type TaskShard } from './shards.js';
import type { MartWindow } from './windows.js';

/** Days an unexported run is looked for: its snapshot (marts.mart_run_rows) is kept as long (scheduled-script.ts SNAPSHOT_DAYS). */
export const EXPORT_LOOKBACK_DAYS = 7;

/** What an export reads of the look-back (bench/bq-scan prices both): the scheduled runs with a window, and the export log. */
export const LOOKBACK_SQL = {
  runs: `select run_id, min(started_at) as started_at, countif(arrivals_through is not null) > 0 as complete
from marts.mart_runs
where kind = 'scheduled' and started_at >= @since and started_at < @before
group by run_id
having countif(window_end > window_start) > 0
order by started_at, run_id`,
  logged: `select run_id, run_started_at, merchant_from, merchant_to
from marts.mart_exports
where run_started_at >= @since and run_started_at < @before`,
};

export interface LoggedRun {
  runId: string;
  startedAt: Date;
}

/**
 * Scheduled runs started in [since, before) with at least one window, and the ranges each is logged
 * as exported for. Both statements are bounded by the tables' partitions (started_at,
 * run_started_at).
 */
export async function unexportedRuns(warehouse: Warehouse, opts: { since: Date; before: Date }): Promise<(LoggedRun & { complete: boolean; logged: MerchantRange[] })[]> {
  const runs = await warehouse.query<{ run_id: string; started_at: Date; complete: boolean }>(
    LOOKBACK_SQL.runs,
    { since: opts.since, before: opts.before },
  );
  const logged = await warehouse.query<{ run_id: string; run_started_at: Date; merchant_from: string; merchant_to: string | null }>(
    LOOKBACK_SQL.logged,
    { since: opts.since, before: opts.before },
  );
  const byRun = new Map<string, MerchantRange[]>();
  for (const l of logged) {
    const list = byRun.get(l.run_id) ?? byRun.set(l.run_id, []).get(l.run_id)!;
    list.push({ merchantFrom: l.merchant_from, ...(l.merchant_to !== null ? { merchantTo: l.merchant_to } : {}) });
  }
  // Every run of the look-back counts, logged or not. The log is written per run as each export ends, not
  // in run order: an export logs its own run, then writes the earlier unlogged ones, and a kill or a
  // failed task in between leaves a newer run logged and an older one not. A rule that took the runs
  // before the oldest logged one (or, with an empty log, up to the newest complete one) as exported from
  // before the log was kept dropped that older run for good: the SIGKILL test ended 601 series rows
  // short, and fails again with that rule restored. A deployment that gains the log exports its last
  // week of runs once more, each against its own snapshot: overwrites. Runs and log entries are matched
  // by run id alone, so no two runs may share one (the script's generate_uuid(), a random id per local
  // cycle: hourly.ts); a cycle that reused its process's id was taken as logged with that process's
  // first cycle, and the SIGKILL test lost what it rebuilt.
  return runs.map((r) => ({ runId: r.run_id, startedAt: new Date(r.started_at), complete: r.complete, logged: byRun.get(r.run_id) ?? [] }));
}

/** Whether the ranges cover `range` (ranges are half-open over merchant ids; an absent end is past every id). */
export function covers(ranges: MerchantRange[], range: MerchantRange): boolean {
  let from = range.merchantFrom;
  for (;;) {
    if (range.merchantTo !== undefined && from >= range.merchantTo) return true;
    const next = ranges.filter((r) => r.merchantFrom <= from && (r.merchantTo === undefined || r.merchantTo > from));
    if (next.length === 0) return false;
    if (next.some((r) => r.merchantTo === undefined)) return true;
    from = next.map((r) => r.merchantTo!).reduce((a, b) => (a > b ? a : b));
  }
}

/** Logs a run's range as exported. An INSERT only: appends never conflict with a concurrent export's. */
export async function logExport(warehouse: Warehouse, run: LoggedRun, range: MerchantRange, exportedAt: Date): Promise<void> {
  await warehouse.run(
    `insert into marts.mart_exports (run_id, run_started_at, merchant_from, merchant_to, exported_at)
     values (@run_id, @run_started_at, @merchant_from, ${range.merchantTo === undefined ? 'null' : '@merchant_to'}, @exported_at)`,
    {
      run_id: run.runId,
      run_started_at: run.startedAt,
      merchant_from: range.merchantFrom,
      ...(range.merchantTo === undefined ? {} : { merchant_to: range.merchantTo }),
      exported_at: exportedAt,
    },
  );
}

/** The merchants whose cells a run rebuilt: the quantiles every task cuts its range at. */
export function touchedMerchants(windows: MartWindow[]): string[] {
  return [...new Set(windows.flatMap((w) => w.scope?.merchants ?? []))];
}

export interface EarlierExport {
  /** Runs exported, oldest first (written newest first). */
  runs: string[];
  windows: number;
  cells: number;
  deletedRows: number;
  /** The end of each merchant's last inventory hour they wrote (for the freshness documents). */
  inventoryThrough: Map<string, Date>;
  /** The oldest arrivals a run among them recorded (one whose export failed; a run that stopped part way recorded none, and the next run reads its arrivals again). */
  arrivalsFrom?: Date;
}

/** The task's range of a run: cut at the run's touched merchants (shards.ts). */
export const rangeOf = (record: Pick<RunRecord, 'windows'>, shard: TaskShard = { index: 0, count: 1 }): MerchantRange =>
  merchantShards(touchedMerchants(record.windows), shard.count)[shard.index]!;

/** An earlier run to export for a task's range of it: not logged as exported for that range. */
export interface PendingRun extends LoggedRun {
  complete: boolean;
  record: RunRecord;
  range: MerchantRange;
}

/**
 * Every scheduled run started in the look-back before `before` that is not logged as exported for the
 * task's range of it, oldest first.
 */
export async function pendingEarlierRuns(
  warehouse: Warehouse,
  opts: { before: Date; now: Date; shard?: TaskShard; exclude?: Iterable<string> },
): Promise<PendingRun[]> {
  const exclude = new Set(opts.exclude ?? []);
  const since = new Date(opts.before.getTime() - EXPORT_LOOKBACK_DAYS * 24 * HOUR_MS);
  const out: PendingRun[] = [];
  for (const e of await unexportedRuns(warehouse, { since, before: opts.before })) {
    if (exclude.has(e.runId)) continue;
    const record = await runRecord(warehouse, e.runId, opts.now);
    const range = rangeOf(record, opts.shard);
    if (!covers(e.logged, range)) out.push({ runId: e.runId, startedAt: e.startedAt, complete: e.complete, record, range });
  }
  return out;
}

/**
 * Exports the pending earlier runs, each against its own snapshot, and logs each range once written. A
 * task that fails logs nothing it did not write, so the next export writes it. They go newest first,
 * after the job's own runs, and skip every key `written` holds (the keys the job wrote or deleted
 * already), adding theirs: overlapping windows write each key once per job, in the newest run's state
 * — every export reads the marts as they are now, so an older run's write of a key repeats a newer
 * one's, and its deletion of a key the newer run wrote cannot happen (a key vanished from the marts is
 * written by no run).
 */
export async function exportEarlierRuns(
  deps: { warehouse: Warehouse; series: SeriesStore },
  pending: PendingRun[],
  opts: { now: Date; written?: Set<string> },
): Promise<EarlierExport> {
  const out: EarlierExport = { runs: pending.map((e) => e.runId), windows: 0, cells: 0, deletedRows: 0, inventoryThrough: new Map() };
  for (const e of [...pending].reverse()) {
    const { record, range } = e;
    const r = await exportRunSeries(deps, { runId: e.runId, ...range }, record, { written: opts.written });
    await logExport(deps.warehouse, e, range, opts.now);
    out.windows += record.windows.length;
    out.cells += r.cells;
    out.deletedRows += r.deletedRows;
    for (const [m, t] of r.inventoryThrough) if (!(out.inventoryThrough.get(m)! >= t)) out.inventoryThrough.set(m, t);
    if (e.complete && !(out.arrivalsFrom! <= record.arrivals.from)) out.arrivalsFrom = record.arrivals.from;
  }
  return out;
}
