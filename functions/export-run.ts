// What exportMarts runs for a finished scheduled-query run: the windows that run recorded in
// marts.mart_runs, exported to the series store, then the documents the query API reads.
import { exportDocuments, exportWindows } from '../pipeline/marts/exporter.js';
import type { MartWindow } from '../pipeline/marts/runner.js';
import type { SeriesStore, Warehouse } from '../pipeline/ports.js';
import type { FinishedRun } from './export-marts.js';

/** The script's run log rows start after the transfer run's scheduled time and before it ended. */
export async function windowsOfRun(warehouse: Warehouse, run: FinishedRun, now: Date): Promise<MartWindow[]> {
  const rows = await warehouse.query<{ mart: string; window_start: Date; window_end: Date }>(
    `select distinct mart, window_start, window_end
     from marts.mart_runs
     where kind = 'scheduled' and started_at >= @run_time and started_at <= @run_end
     order by mart, window_start`,
    { run_time: run.runTime, run_end: run.endTime ?? now },
  );
  return rows.map((r) => ({ mart: r.mart, windowStart: new Date(r.window_start), windowEnd: new Date(r.window_end) }));
}

export function createRunExporter(deps: { warehouse: Warehouse; series: SeriesStore; now?: () => Date }) {
  return async (run: FinishedRun) => {
    const windows = await windowsOfRun(deps.warehouse, run, (deps.now ?? (() => new Date()))());
    const result = await exportWindows(deps, windows);
    const documents = await exportDocuments(deps);
    return { windows: windows.length, cells: result.cells, rows: result.rows, documents };
  };
}
