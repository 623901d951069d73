// What an export wrote to a series store, for tests that count writes per key: a store that records
// the mutations it is given, and the mart-family writes and deletions among them by key.
import { FAMILY_MART, type SeriesMutation, type SeriesStore } from '../../../pipeline/ports.js';
import { isRankedKey } from '../../../pipeline/series/ranked.js';

/** A series store that records the mutations it is given. */
export function recording(inner: SeriesStore): SeriesStore & { mutations: SeriesMutation[] } {
  const mutations: SeriesMutation[] = [];
  return Object.assign(Object.create(inner) as SeriesStore, {
    mutations,
    mutate: async (ms: SeriesMutation[]) => {
      mutations.push(...ms);
      await inner.mutate(ms);
    },
  });
}

/** A mutation that clears a key's mart cells: its family deleted, or the whole row (a finalized hour's). */
export const clearsMart = (m: SeriesMutation): boolean => m.kind === 'delete_row' || (m.kind === 'delete_family' && m.family === FAMILY_MART);

/**
 * How often each key's mart cells were set, and deleted without a set (a put is a delete_family or
 * delete_row and a set of the key; a removal the delete alone), and the cells set in all.
 */
export function writesByKey(mutations: SeriesMutation[]): { sets: Map<string, number>; deletes: Map<string, number>; cells: number } {
  const sets = new Map<string, number>();
  const deletes = new Map<string, number>();
  let cells = 0;
  for (const m of mutations) {
    // Ranked rows repeat their rows' mutations (withRankedTwins, tested on its own): the rows are counted.
    if (m.kind !== 'set' || m.family !== FAMILY_MART || isRankedKey(m.key)) continue;
    sets.set(m.key, (sets.get(m.key) ?? 0) + 1);
    cells += Object.keys(m.cells).length;
  }
  const putDeletes = new Map(sets);
  for (const m of mutations) {
    if (!clearsMart(m) || isRankedKey(m.key)) continue;
    const left = putDeletes.get(m.key) ?? 0;
    if (left > 0) putDeletes.set(m.key, left - 1);
    else deletes.set(m.key, (deletes.get(m.key) ?? 0) + 1);
  }
  return { sets, deletes, cells };
}

/** Keys written or deleted more than once, or both written and deleted: none, where a job writes each key once. */
export function rewrittenKeys(mutations: SeriesMutation[]): string[] {
  const { sets, deletes } = writesByKey(mutations);
  const keys = new Set([...sets.keys(), ...deletes.keys()]);
  return [...keys].filter((k) => (sets.get(k) ?? 0) + (deletes.get(k) ?? 0) > 1).sort();
}
