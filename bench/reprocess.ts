// Reprocess figure: `tillstream reprocess` without revalidation (every mart rebuilt from raw
// partitions over the range, compared with what it replaced, re-exported to the series store) over
// the 7 and the 30 days before the anchor. The marts are built and exported over the whole raw span
// first, so each timed run replaces existing rows as a real reprocess does. Linearity = seconds per
// day at 30 days over seconds per day at 7 days.
import type { LocalPipeline } from '../runtime/local-writer.js';
import { reprocess } from '../pipeline/marts/reprocess.js';
import { median } from './result.js';
import { ANCHOR } from './workload.js';

const DAY_MS = 86_400_000;
const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** The initial build and export over [start, ANCHOR): also what the API figure reads. */
export async function initialBuild(rt: LocalPipeline, start: Date): Promise<{ cells: number }> {
  const r = await reprocess({ warehouse: rt.warehouse, series: rt.series, clock: rt.clock }, { from: start, to: ANCHOR });
  return { cells: r.cells };
}

export async function measureReprocess(rt: LocalPipeline, spans: number[], repeats: number, log: (s: string) => void): Promise<{ days: number; seconds: number }[]> {
  const out: { days: number; seconds: number }[] = [];
  for (const days of spans) {
    const runs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const r = await reprocess({ warehouse: rt.warehouse, series: rt.series, clock: rt.clock }, { from: new Date(ANCHOR.getTime() - days * DAY_MS), to: ANCHOR });
      runs.push(seconds(t0));
      const changed = Object.values(r.marts).reduce((n, m) => n + m.rowsAdded + m.rowsRemoved, 0);
      log(`  ${days} days: ${runs.at(-1)!.toFixed(2)} s, ${r.windows.length} windows, ${r.cells} cells, ${changed} mart rows changed`);
    }
    out.push({ days, seconds: median(runs) });
  }
  return out;
}
