// Ingest figure: the stage core (decode, validate, normalize, build rows) over the demo mix on one
// core, against bare JSON.parse of the same payloads, each repeated three times (medians quoted).
import { createIngestPipeline } from '../runtime/ingest-pipeline.js';
import type { Dimensions } from '../pipeline/contracts/dimensions.js';
import { InMemoryDedupeIndex } from '../test/support/in-memory-dedupe-index.js';
import { median } from './result.js';
import { ANCHOR, type BenchWorkload } from './workload.js';

/**
 * The stage with an in-memory dedupe index (its verdicts are part of the stage) and a sink that only
 * counts rows: storing them is the load figure's work, and keeping 200k rows alive here would time the GC.
 */
function coreStage(dimensions: Dimensions) {
  let rows = 0;
  const stage = createIngestPipeline({
    dimensions: async () => dimensions,
    dedupe: new InMemoryDedupeIndex(),
    sink: { write: async (w) => void (rows += w.accepted.length + w.rejected.length + w.duplicates.length) },
    clock: { now: () => ANCHOR },
  });
  return { stage, rows: () => rows };
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Bare JSON.parse of every entry; the demo mix's malformed entries throw, as they would in the stage. */
function parseAll(entries: readonly string[]): number {
  let ok = 0;
  for (const e of entries) {
    try {
      if (JSON.parse(e) !== undefined) ok++;
    } catch {
      // counted as parsed work all the same
    }
  }
  return ok;
}

export async function measureIngest(w: BenchWorkload, log: (s: string) => void): Promise<{ events: number; events_per_s: number; baseline_json_parse_per_s: number }> {
  const stageRates: number[] = [];
  const parseRates: number[] = [];
  // One warm-up pass of each, so both are measured after the JIT settled.
  for (let round = -1; round < 3; round++) {
    let t0 = performance.now();
    let parsed = 0;
    for (const m of w.messages) parsed += parseAll(m.entries);
    const parseRate = w.entries / seconds(t0);
    if (parsed === 0) throw new Error('JSON.parse baseline parsed nothing');
    // Fresh in-memory ports per round: every event is new to the dedupe index each time.
    const { stage, rows } = coreStage(w.dimensions);
    t0 = performance.now();
    for (const m of w.messages) await stage(m);
    const stageRate = w.entries / seconds(t0);
    if (rows() !== w.entries) throw new Error(`the stage wrote ${rows()} rows for ${w.entries} entries`);
    if (round < 0) continue;
    parseRates.push(parseRate);
    stageRates.push(stageRate);
    log(`  round ${round + 1}: stage ${Math.round(stageRate)}/s, JSON.parse ${Math.round(parseRate)}/s`);
  }
  return { events: w.entries, events_per_s: Math.round(median(stageRates)), baseline_json_parse_per_s: Math.round(median(parseRates)) };
}
