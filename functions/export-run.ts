// What exportMarts runs for a finished scheduled-query run: the mart run(s) the script recorded in
// marts.mart_runs between the transfer run's scheduled time and its end, each exported by the
// exporter (pipeline/marts/exporter.ts exportMartRun) for every merchant — the same function a
// sharded export job calls per merchant range — then alert evaluation for the finalized hours.
import { exportMartRun } from '../pipeline/marts/exporter.js';
import type { CycleDeps } from '../pipeline/marts/hourly.js';
import type { SeriesStore, Warehouse } from '../pipeline/ports.js';
import type { FinishedRun } from './export-marts.js';

/** The script's run ids: its run log rows start after the transfer run's scheduled time and before it ended. */
export async function runIdsOf(warehouse: Warehouse, run: FinishedRun, now: Date): Promise<string[]> {
  const rows = await warehouse.query<{ run_id: string }>(
    `select distinct run_id
     from marts.mart_runs
     where kind = 'scheduled' and started_at >= @run_time and started_at <= @run_end
     order by run_id`,
    { run_time: run.runTime, run_end: run.endTime ?? now },
  );
  return rows.map((r) => r.run_id);
}

export function createRunExporter(deps: { warehouse: Warehouse; series: SeriesStore; now?: () => Date; onFinalized?: CycleDeps['onFinalized'] }) {
  return async (run: FinishedRun) => {
    const now = (deps.now ?? (() => new Date()))();
    let windows = 0;
    let cells = 0;
    let documents = 0;
    let finalized: Date | undefined;
    for (const runId of await runIdsOf(deps.warehouse, run, now)) {
      const r = await exportMartRun(deps, { runId, merchantFrom: '' });
      windows += r.windows;
      cells += r.cells;
      documents += r.documents;
      if (r.finalizedThrough && (!finalized || r.finalizedThrough > finalized)) finalized = r.finalizedThrough;
    }
    if (finalized) await deps.onFinalized?.(finalized);
    return { windows, cells, documents };
  };
}
