// What one task of the export job runs for a finished scheduled-query run: the mart run(s) the script
// recorded in marts.mart_runs between the transfer run's scheduled time and its end, each exported by
// the exporter (pipeline/marts/exporter.ts) for the task's range of merchants (pipeline/marts/shards.ts)
// and logged (pipeline/marts/export-log.ts), after the earlier runs the log does not hold; then, in the
// first task only, alert evaluation for the finalized hours.
import { exportDocuments, exportRunSeries, runRecord, type MerchantRange } from '../../pipeline/marts/exporter.js';
import { exportEarlierRuns, logExport, pendingEarlierRuns, rangeOf } from '../../pipeline/marts/export-log.js';
import type { CycleDeps } from '../../pipeline/marts/hourly.js';
import type { TaskShard } from '../../pipeline/marts/shards.js';
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

/**
 * One task's export of a finished run. Every task reads the same record (the run has ended, so it no
 * longer changes) and cuts the same ranges; the task exports its own. After the run, the task exports
 * its range of every earlier run not logged as exported (export-log.ts): one whose script stopped part
 * way, or whose export failed for good; a key is written once, in the newest run's state. The mart alert rules (onFinalized) read the marts, not the
 * series, and keep one watermark for all merchants: the first task alone evaluates them, so an
 * execution evaluates them once.
 */
export function createRunExporter(deps: { warehouse: Warehouse; series: SeriesStore; now?: () => Date; onFinalized?: CycleDeps['onFinalized'] }) {
  return async (run: FinishedRun, shard: TaskShard = { index: 0, count: 1 }) => {
    const { warehouse, series } = deps;
    const now = (deps.now ?? (() => new Date()))();
    const ids = await runIdsOf(warehouse, run, now);
    const records = await Promise.all(ids.map((id) => runRecord(warehouse, id, now)));
    const before = new Date(Math.min(run.runTime.getTime(), ...records.map((r) => r.startedAt.getTime())));
    const pending = await pendingEarlierRuns(warehouse, { before, now, shard, exclude: ids });
    // More than one run in the job: each key once, the newest run's (export-log.ts exportEarlierRuns).
    const written = pending.length + ids.length > 1 ? new Set<string>() : undefined;
    let windows = 0;
    let cells = 0;
    let deletedRows = 0;
    let finalized: Date | undefined;
    const ranges: MerchantRange[] = [];
    const inventoryThrough = new Map<string, Date>();
    for (const i of ids.keys()) ranges.push(rangeOf(records[i]!, shard));
    const newestFirst = [...ids.keys()].sort((a, b) => records[b]!.startedAt.getTime() - records[a]!.startedAt.getTime());
    for (const i of newestFirst) {
      const record = records[i]!;
      const r = await exportRunSeries({ warehouse, series }, { runId: ids[i]!, ...ranges[i]! }, record, { written });
      for (const [m, t] of r.inventoryThrough) if (!(inventoryThrough.get(m)! >= t)) inventoryThrough.set(m, t);
      await logExport(warehouse, { runId: ids[i]!, startedAt: record.startedAt }, ranges[i]!, now);
      windows += record.windows.length;
      cells += r.cells;
      deletedRows += r.deletedRows;
      if (record.finalizedThrough && (!finalized || record.finalizedThrough > finalized)) finalized = record.finalizedThrough;
    }
    const earlier = await exportEarlierRuns({ warehouse, series }, pending, { now, written });
    windows += earlier.windows;
    cells += earlier.cells;
    deletedRows += earlier.deletedRows;
    for (const [m, t] of earlier.inventoryThrough) if (!(inventoryThrough.get(m)! >= t)) inventoryThrough.set(m, t);
    let documents = 0;
    for (const [i, record] of records.entries()) {
      const arrivals = earlier.arrivalsFrom && earlier.arrivalsFrom < record.arrivals.from ? { ...record.arrivals, from: earlier.arrivalsFrom } : record.arrivals;
      documents += await exportDocuments({ warehouse, series }, arrivals, ranges[i]!, inventoryThrough);
    }
    if (finalized && shard.index === 0) await deps.onFinalized?.(finalized);
    return {
      task: shard.index,
      tasks: shard.count,
      ranges,
      ...(earlier.runs.length ? { earlier_runs: earlier.runs } : {}),
      windows,
      cells,
      deleted_rows: deletedRows,
      documents,
      ...(finalized ? { finalized_through: finalized.toISOString(), lag_seconds: Math.round((now.getTime() - finalized.getTime()) / 1000) } : {}),
    };
  };
}
