// Ingest figure: the stage core (decode, validate, normalize, build rows) over the demo mix on one
// core, against bare JSON.parse of the same payloads, each repeated three times (medians quoted).
import { median } from './result.js';
import { memoryStage, type BenchWorkload } from './workload.js';

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
    const { stage } = memoryStage(w.dimensions);
    t0 = performance.now();
    let seen = 0;
    for (const m of w.messages) seen += (await stage(m)).entries;
    const stageRate = w.entries / seconds(t0);
    if (seen !== w.entries) throw new Error('the stage lost entries');
    if (round < 0) continue;
    parseRates.push(parseRate);
    stageRates.push(stageRate);
    log(`  round ${round + 1}: stage ${Math.round(stageRate)}/s, JSON.parse ${Math.round(parseRate)}/s`);
  }
  return { events: w.entries, events_per_s: Math.round(median(stageRates)), baseline_json_parse_per_s: Math.round(median(parseRates)) };
}
