// The mart cycle, once for every caller: windows in, rows rebuilt, changed keys exported, documents
// written. The local hourly run (`tillstream start`, `--once`), `tillstream marts` and `reprocess`
// call `runCycle`. The runner snapshots each window before its rebuild (marts.mart_run_rows), and the
// exporter writes what the rebuild changed (exporter.ts exportRunSeries) — the code the gcp export
// runs per merchant shard after the scheduled query (services/export-job/export-run.ts). A scheduled
// cycle also exports the earlier runs the export log does not hold (export-log.ts). An explicit build
// or reprocess exports every row of its windows: it is also how a damaged series store is repaired.
import { systemClock, type Clock, type SeriesStore, type Warehouse } from '../ports.js';
import { HOUR_MS } from '../time.js';
import { DEFAULT_MART_CONFIG, type MartConfig } from './config.js';
import { exportDocuments, exportRunSeries, martRows } from './exporter.js';
import { exportEarlierRuns, logExport, pendingEarlierRuns, type EarlierExport } from './export-log.js';
import { MARTS } from './manifest.js';
import { buildWindows, scheduledRun, type RunKind, type ScheduledRunResult, type WindowBuild, type WindowObserver, type WindowProgress } from './runner.js';
import type { MartWindow } from './windows.js';

type Row = Record<string, unknown>;

/** A window's identity across the copies the runner makes of it. */
const windowKey = (w: MartWindow): string => `${w.mart}|${w.windowStart.getTime()}|${w.windowEnd.getTime()}|${w.scope?.cells.join(',') ?? '*'}|${w.scope?.allFrom?.getTime() ?? ''}`;

export interface CycleDeps {
  warehouse: Warehouse;
  series: SeriesStore;
  clock?: Clock;
  config?: MartConfig;
  /** Called once a scheduled or exported run has finalized the hours before this instant (alert evaluation). */
  onFinalized?: (finalizedThrough: Date) => Promise<unknown>;
  /** Called as windows are built (the command line's progress bar). */
  onWindow?: WindowProgress;
}

export type CyclePlan =
  /**
   * The hourly run: touched cells from raw.arrivals (runner.ts). Each is a run of its own, with an id
   * of its own: the export log, the snapshots and the watermarks are kept per run id, so a cycle that
   * shared an id with an earlier one (the local runtime once passed its process's id to every cycle) and
   * stopped part way counted as exported with the earlier one's log entry, and was never exported.
   */
  | { kind: 'scheduled' }
  /** Given windows rebuilt now (`marts`, `reprocess`); `compare` keeps the rows on both sides for a report. */
  | { kind: Exclude<RunKind, 'scheduled'>; windows: MartWindow[]; compare?: boolean };

export interface MartChange {
  rowsBefore: number;
  rowsAfter: number;
  /** Rows present after and not before (by content), and the reverse; an updated row counts in both. */
  rowsAdded: number;
  rowsRemoved: number;
}

export interface CycleResult {
  runId?: string;
  /** The scheduled run, for a scheduled cycle. */
  run?: ScheduledRunResult;
  windows: (MartWindow & Partial<Pick<WindowBuild, 'rowsBefore' | 'rowsAfter'>>)[];
  /** Cells written to the series store (the `series_cells` of the --once summary). */
  cells: number;
  /** Series rows deleted because their bucket lost all its mart rows. */
  deletedRows: number;
  documents: number;
  /** With `compare`: per mart, rows before and after. */
  changes?: Record<string, MartChange>;
}

/** Reads each window's rows on both sides of its rebuild, for a report of what changed (reprocess). */
function observer(warehouse: Warehouse) {
  const before = new Map<string, Row[]>();
  const after = new Map<string, Row[]>();
  const observe: WindowObserver = {
    async before(w) {
      const rows = await martRows(warehouse, w);
      before.set(windowKey(w), rows);
      return rows.length;
    },
    async after(w) {
      const rows = await martRows(warehouse, w);
      after.set(windowKey(w), rows);
      return rows.length;
    },
  };
  return { observe, before, after };
}

/** The snapshot of an exported local run is of no further use. */
const dropSnapshot = (warehouse: Warehouse, runId: string) => warehouse.run('delete from marts.mart_run_rows where run_id = @run_id', { run_id: runId });

const rowSet = (rows: Row[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const r of rows) {
    const k = JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
};
const missingFrom = (a: Map<string, number>, b: Map<string, number>): number => {
  let n = 0;
  for (const [k, c] of a) n += Math.max(0, c - (b.get(k) ?? 0));
  return n;
};

function compareRows(windows: WindowBuild[], before: Map<string, Row[]>, after: Map<string, Row[]>): Record<string, MartChange> {
  const out: Record<string, MartChange> = {};
  for (const w of windows) {
    const old = rowSet(before.get(windowKey(w)) ?? []);
    const now = rowSet(after.get(windowKey(w)) ?? []);
    const c = (out[w.mart] ??= { rowsBefore: 0, rowsAfter: 0, rowsAdded: 0, rowsRemoved: 0 });
    c.rowsBefore += w.rowsBefore;
    c.rowsAfter += w.rowsAfter;
    c.rowsAdded += missingFrom(now, old);
    c.rowsRemoved += missingFrom(old, now);
  }
  return out;
}

export async function runCycle(deps: CycleDeps, plan: CyclePlan): Promise<CycleResult> {
  const { warehouse, series } = deps;
  const clock = deps.clock ?? systemClock;
  const config = deps.config ?? DEFAULT_MART_CONFIG;
  const everyMerchant = { merchantFrom: '' };
  if (plan.kind === 'scheduled') {
    let exported = { cells: 0, deletedRows: 0, inventoryThrough: new Map<string, Date>() };
    let earlier: EarlierExport | undefined;
    const run = await scheduledRun({
      warehouse,
      clock,
      config,
      onWindow: deps.onWindow,
      // The export is part of the run: a run killed before its export completes is not recorded as done.
      // This run, and the earlier runs the export log does not hold (one that stopped part way, or whose
      // export failed: export-log.ts), each against its own snapshot, newest first, each key once.
      // finalizedThrough: the speed layer's partials of the hours this run finalized are retired.
      beforeComplete: async (r) => {
        const pending = await pendingEarlierRuns(warehouse, { before: r.startedAt, now: clock.now(), exclude: [r.runId] });
        const written = pending.length > 0 ? new Set<string>() : undefined;
        // Only what this run's own snapshot shows changed, even after runs the log does not hold: those
        // are exported against their own snapshots (the windows they rebuilt show no change here).
        exported = await exportRunSeries({ warehouse, series }, { runId: r.runId, ...everyMerchant }, r, { written });
        await logExport(warehouse, r, everyMerchant, clock.now());
        earlier = await exportEarlierRuns({ warehouse, series }, pending, { now: clock.now(), written });
      },
    });
    for (const id of [...(earlier?.runs ?? []), run.runId]) await dropSnapshot(warehouse, id);
    const through = new Map(earlier?.inventoryThrough);
    for (const [m, t] of exported.inventoryThrough) if (!(through.get(m)! >= t)) through.set(m, t);
    const from = earlier?.arrivalsFrom && earlier.arrivalsFrom < run.arrivalsFrom ? earlier.arrivalsFrom : run.arrivalsFrom;
    const documents = await exportDocuments({ warehouse, series }, { from, to: run.arrivalsThrough }, undefined, through);
    await deps.onFinalized?.(run.finalizedThrough);
    return {
      runId: run.runId,
      run,
      windows: run.windows,
      cells: exported.cells + (earlier?.cells ?? 0),
      deletedRows: exported.deletedRows + (earlier?.deletedRows ?? 0),
      documents,
    };
  }
  const seen = plan.compare ? observer(warehouse) : undefined;
  const build = await buildWindows(warehouse, plan.windows, { kind: plan.kind, clock, config, onWindow: deps.onWindow, ...(seen ? { observe: seen.observe } : {}) });
  const exported = await exportRunSeries({ warehouse, series }, { runId: build.runId, ...everyMerchant, all: true }, build);
  await dropSnapshot(warehouse, build.runId);
  // Raw is unchanged by a build: the freshness of every merchant is its newest arrival within the horizon.
  const now = clock.now();
  const documents = await exportDocuments(
    { warehouse, series },
    { from: new Date(now.getTime() - config.horizonDays * 24 * HOUR_MS), to: new Date(now.getTime() + HOUR_MS) },
    undefined,
    exported.inventoryThrough,
  );
  return {
    runId: build.runId,
    windows: build.windows,
    cells: exported.cells,
    deletedRows: exported.deletedRows,
    documents,
    ...(seen ? { changes: compareRows(build.windows, seen.before, seen.after) } : {}),
  };
}

export interface MartCycleResult {
  run: ScheduledRunResult;
  /** Cells written to the series store by this cycle (the `series_cells` of the --once summary). */
  cells: number;
  documents: number;
}

/**
 * One hourly cycle (the local scheduler, `tillstream start --once`). The local pipeline passed as its
 * deps carries the run id its entries are counted under: the cycle's mart run takes an id of its own.
 */
export async function runMartCycle(deps: CycleDeps): Promise<MartCycleResult> {
  const r = await runCycle(deps, { kind: 'scheduled' });
  return { run: r.run!, cells: r.cells, documents: r.documents };
}

/** Rows in each mart (file stem → rows), for the `mart_rows` of the --once summary. */
export async function martRowCounts(warehouse: Warehouse): Promise<Record<string, number>> {
  const parts = MARTS.map((m) => `select '${m.stem}' as mart, count(*) as row_count from ${m.table.id}`);
  const rows = await warehouse.query<{ mart: string; row_count: number | bigint }>(parts.join('\nunion all\n'));
  const byMart = new Map(rows.map((r) => [r.mart, Number(r.row_count)]));
  return Object.fromEntries(MARTS.map((m) => [m.stem, byMart.get(m.stem) ?? 0]));
}
