// One mart cycle of the local runtime: the scheduled run (touched hours since the last run, the two
// latest hours, their dependants), then the export of the rebuilt windows to the series store and the
// documents the query API reads. Run at :05 every hour and after every load.
import { collectSeriesKeys, exportDocuments, exportWindows } from '../pipeline/marts/exporter.js';
import { scheduledRun, type BuildResult } from '../pipeline/marts/runner.js';
import type { LocalPipeline } from './local-pipeline.js';

export interface MartCycleResult {
  build: BuildResult;
  seriesCells: number;
}

export async function runMartCycle(rt: LocalPipeline): Promise<MartCycleResult> {
  const previousKeys = new Set<string>();
  const build = await scheduledRun({
    warehouse: rt.warehouse,
    clock: rt.clock,
    runId: rt.runId,
    // Keys a window held before its rebuild: buckets that lose all their rows are deleted from the series.
    beforeWindow: async (w) => {
      await collectSeriesKeys(rt.warehouse, w, previousKeys);
    },
  });
  const exported = await exportWindows({ warehouse: rt.warehouse, series: rt.series }, build.windows, { previousKeys });
  await exportDocuments({ warehouse: rt.warehouse, series: rt.series });
  return { build, seriesCells: exported.cells };
}

/** Rows in each mart after the run, by mart file stem. */
export async function martRowCounts(rt: LocalPipeline): Promise<Record<string, number>> {
  const { MARTS } = await import('../pipeline/marts/manifest.js');
  const counts: Record<string, number> = {};
  for (const spec of MARTS) {
    const [row] = await rt.warehouse.query<{ n: bigint | number }>(`select count(*) as n from ${spec.table.id}`);
    counts[spec.stem] = Number(row?.n ?? 0);
  }
  return counts;
}
