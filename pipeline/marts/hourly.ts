// One complete mart cycle as the local scheduler (and `tillstream start --once`) runs it: the
// scheduled run, the export of its windows (replacing the buckets it rebuilt, deleting the ones
// that vanished) and the documents the query API reads. In GCP the same steps are the scheduled
// query (scheduled-script.ts) and the exporter function triggered by its notification.
import { systemClock, type Clock, type SeriesStore, type Warehouse } from '../ports.js';
import { collectSeriesKeys, exportDocuments, exportWindows } from './exporter.js';
import { MARTS } from './manifest.js';
import { scheduledRun, type ScheduledRunResult } from './runner.js';

export interface MartCycleResult {
  run: ScheduledRunResult;
  /** Cells written to the series store by this cycle (the `series_cells` of the --once summary). */
  cells: number;
  documents: number;
}

export async function runMartCycle(deps: { warehouse: Warehouse; series: SeriesStore; clock?: Clock; runId?: string }): Promise<MartCycleResult> {
  const previousKeys = new Set<string>();
  let exported = { cells: 0 };
  const run = await scheduledRun({
    warehouse: deps.warehouse,
    clock: deps.clock ?? systemClock,
    runId: deps.runId,
    beforeWindow: async (w) => {
      await collectSeriesKeys(deps.warehouse, w, previousKeys);
    },
    // The export is part of the run: a run killed before its export completes is not recorded as done.
    beforeComplete: async (r) => {
      // finalizedBefore: the speed layer's partials of the hours this run finalized are retired.
      exported = await exportWindows({ warehouse: deps.warehouse, series: deps.series }, r.windows, { previousKeys, finalizedBefore: r.finalizedThrough });
    },
  });
  const documents = await exportDocuments({ warehouse: deps.warehouse, series: deps.series });
  return { run, cells: exported.cells, documents };
}

/** Rows in each mart (file stem → rows), for the `mart_rows` of the --once summary. */
export async function martRowCounts(warehouse: Warehouse): Promise<Record<string, number>> {
  const parts = MARTS.map((m) => `select '${m.stem}' as mart, count(*) as row_count from ${m.table.id}`);
  const rows = await warehouse.query<{ mart: string; row_count: number | bigint }>(parts.join('\nunion all\n'));
  const byMart = new Map(rows.map((r) => [r.mart, Number(r.row_count)]));
  return Object.fromEntries(MARTS.map((m) => [m.stem, byMart.get(m.stem) ?? 0]));
}
