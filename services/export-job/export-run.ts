// What one task of the export job runs for a finished scheduled-query run: the mart run(s) the script
// recorded in marts.mart_runs between the transfer run's scheduled time and its end, each exported by
// the exporter (pipeline/marts/exporter.ts exportMartRun) for the task's range of merchants
// (pipeline/marts/shards.ts); then, in the first task only, alert evaluation for the finalized hours.
import { exportMartRun, runRecord } from '../../pipeline/marts/exporter.js';
import type { CycleDeps } from '../../pipeline/marts/hourly.js';
import { merchantShards, type TaskShard } from '../../pipeline/marts/shards.js';
import type { MartWindow } from '../../pipeline/marts/windows.js';
import type { SeriesStore, Warehouse } from '../../pipeline/ports.js';
import type { FinishedRun } from './run.js';

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

/** The merchants whose cells the run rebuilt: the quantiles every task cuts its range at. */
export function touchedMerchants(windows: MartWindow[]): string[] {
  return [...new Set(windows.flatMap((w) => w.scope?.merchants ?? []))];
}

/**
 * One task's export of a finished run. Every task reads the same record (the run has ended, so it no
 * longer changes) and cuts the same ranges; the task exports its own. The mart alert rules
 * (onFinalized) read the marts, not the series, and keep one watermark for all merchants: the first
 * task alone evaluates them, so an execution evaluates them once.
 */
export function createRunExporter(deps: { warehouse: Warehouse; series: SeriesStore; now?: () => Date; onFinalized?: CycleDeps['onFinalized'] }) {
  return async (run: FinishedRun, shard: TaskShard = { index: 0, count: 1 }) => {
    const now = (deps.now ?? (() => new Date()))();
    let windows = 0;
    let cells = 0;
    let deletedRows = 0;
    let documents = 0;
    let finalized: Date | undefined;
    const ranges = [];
    for (const runId of await runIdsOf(deps.warehouse, run, now)) {
      const record = await runRecord(deps.warehouse, runId, now);
      const range = merchantShards(touchedMerchants(record.windows), shard.count)[shard.index]!;
      ranges.push(range);
      const r = await exportMartRun({ warehouse: deps.warehouse, series: deps.series, now: () => now }, { runId, ...range });
      windows += r.windows;
      cells += r.cells;
      deletedRows += r.deletedRows;
      documents += r.documents;
      if (r.finalizedThrough && (!finalized || r.finalizedThrough > finalized)) finalized = r.finalizedThrough;
    }
    if (finalized && shard.index === 0) await deps.onFinalized?.(finalized);
    return {
      task: shard.index,
      tasks: shard.count,
      ranges,
      windows,
      cells,
      deleted_rows: deletedRows,
      documents,
      ...(finalized ? { finalized_through: finalized.toISOString(), lag_seconds: Math.round((now.getTime() - finalized.getTime()) / 1000) } : {}),
    };
  };
}
