// How far V8 lets the old generation grow past what the last full collection left before it collects
// again, set per kind of process once it knows what it is: V8 reads the factor at every collection
// (https://github.com/v8/v8/blob/main/src/flags/flag-definitions.h, heap_growing_percent), so unlike
// the heap's size limits it can be set after the process started.
import { setFlagsFromString } from 'node:v8';

/**
 * The query API's. Left alone, V8 picks the factor from how fast it collects against how fast the
 * program allocates, and the API's live set is small (~25 MB: kept answers live outside the heap in
 * their Buffers) and quick to collect, so it grew the heap by only 1.1–1.5× and finalized a full
 * collection every 0.5–6 s, each a 2–8 ms pause. Those were most of the pauses over 4 ms of the api
 * mix at 2,000 requests/s (15 and 12 in 20 s; with 300 %: 6 and 2, bench/README.md), and every
 * request arriving during one waits it out. Four times a live set this size is ~100 MB, well inside
 * an instance's memory.
 */
export const QUERY_API_HEAP_GROWING_PERCENT = 300;

export function setHeapGrowingPercent(percent: number): void {
  if (!Number.isInteger(percent) || percent < 1) throw new Error(`heap growing percent must be a positive integer, got ${percent}`);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
