// What exportMarts runs for a finished scheduled-query run: the windows that run recorded in
// marts.mart_runs (with their cells), exported through the mart cycle (pipeline/marts/hourly.ts)
// with the keys the script snapshotted before each rebuild (marts.mart_run_keys), so buckets that
// vanished are deleted as locally; then the documents, freshness from the arrivals the run read.
import { seriesCellsOf } from '../pipeline/marts/exporter.js';
import { runCycle, type CycleDeps } from '../pipeline/marts/hourly.js';
import { recordedWindow } from '../pipeline/marts/runner.js';
import type { MartWindow } from '../pipeline/marts/windows.js';
import type { SeriesStore, Warehouse } from '../pipeline/ports.js';
import type { FinishedRun } from './export-marts.js';

export interface RunWindows {
  windows: MartWindow[];
  /** The arrivals the run read were received in [from, to). */
  arrivals: { from: Date; to: Date };
  /** The run's finalized_through: speed-layer partials of hours before it are retired. */
  finalizedThrough?: Date;
}

/** The script's run log rows start after the transfer run's scheduled time and before it ended. */
export async function recordOfRun(warehouse: Warehouse, run: FinishedRun, now: Date): Promise<RunWindows> {
  const rows = await warehouse.query<{
    mart: string;
    window_start: Date;
    window_end: Date;
    all_from: Date | null;
    merchants: string[] | null;
    cells: string[] | null;
    arrivals_from: Date | null;
    arrivals_through: Date | null;
    finalized_through: Date | null;
  }>(
    `select mart, window_start, window_end, all_from, merchants, cells, arrivals_from, arrivals_through, finalized_through
     from marts.mart_runs
     where kind = 'scheduled' and started_at >= @run_time and started_at <= @run_end
     order by mart, window_start`,
    { run_time: run.runTime, run_end: run.endTime ?? now },
  );
  const times = (pick: (r: (typeof rows)[number]) => Date | null | undefined) => rows.map(pick).filter((d): d is Date => d != null).map((d) => new Date(d).getTime());
  const from = times((r) => r.arrivals_from);
  const to = times((r) => r.arrivals_through);
  const finalized = times((r) => r.finalized_through);
  return {
    windows: rows.filter((r) => new Date(r.window_end) > new Date(r.window_start)).map(recordedWindow),
    arrivals: { from: new Date(from.length ? Math.min(...from) : run.runTime.getTime()), to: new Date(to.length ? Math.max(...to) : (run.endTime ?? now).getTime()) },
    ...(finalized.length ? { finalizedThrough: new Date(Math.max(...finalized)) } : {}),
  };
}

/** The series keys the run's windows held before the script rebuilt them: buckets among them not written now vanished. */
export async function previousKeysOfRun(warehouse: Warehouse, run: FinishedRun, now: Date): Promise<Set<string>> {
  const snapshot = await warehouse.query<{ mart: string; row_key: string }>(
    `select mart, row_key
     from marts.mart_run_keys
     where started_at >= @run_time and started_at <= @run_end`,
    { run_time: run.runTime, run_end: run.endTime ?? now },
  );
  const keys = new Set<string>();
  for (const s of snapshot) for (const c of seriesCellsOf({ stem: s.mart }, [JSON.parse(s.row_key) as Record<string, unknown>])) keys.add(c.key);
  return keys;
}

/** The windows a run recorded, each with its cells. */
export async function windowsOfRun(warehouse: Warehouse, run: FinishedRun, now: Date): Promise<MartWindow[]> {
  return (await recordOfRun(warehouse, run, now)).windows;
}

export function createRunExporter(deps: { warehouse: Warehouse; series: SeriesStore; now?: () => Date; onFinalized?: CycleDeps['onFinalized'] }) {
  return async (run: FinishedRun) => {
    const now = (deps.now ?? (() => new Date()))();
    const { windows, arrivals, finalizedThrough } = await recordOfRun(deps.warehouse, run, now);
    const previousKeys = await previousKeysOfRun(deps.warehouse, run, now);
    const result = await runCycle(deps, { kind: 'export', windows, arrivals, finalizedBefore: finalizedThrough, previousKeys });
    return { windows: windows.length, cells: result.cells, documents: result.documents };
  };
}
