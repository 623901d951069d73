// Ranked rows: a bucket-major second row for every row a ranking (/v1/merchants/{id}/top) reads, so a
// ranking of a range is one scan of that range's buckets instead of the dimension's whole history.
// The series row key puts the dimension value before the grain and bucket
//   m1#products#sku=pz#h#2026112114            (row-key.ts)
// and its ranked twin moves the ranked dimension after the bucket, keeping any narrowing dimension
// (products: the store) before it:
//   m1#products#~h#2026112114#sku=pz
//   m1#products#~h#store=s1#2026112114#sku=pz
// so `m1#products#~h#2026112100` … `m1#products#~h#2026112200` holds exactly one UTC day's sku rows.
// A twin holds the same cells as its row. A store that mirrors twins (SeriesStore.mirrorsRankedTwins: the
// local LMDB store) writes the row's bytes under the twin key in the row's own transaction; for any other
// store (Bigtable) every writer applies each mutation of a ranked row to its twin too (withRankedTwins:
// the exporter's writes, deletes and partial retirements; the speed layer writes and compacts a twin as a
// row of its own). Either way a reprocess that deletes a bucket deletes its twin. rankedTwinToWrite is
// the one place a writer asks which of the two holds.
// '~' never starts a dimension name, so no series row key has a component like the twin's third one.
import type { SeriesMutation, SeriesRow, SeriesStore } from '../ports.js';
import { FAMILY_MART } from '../ports.js';
import { decodeRowKey, dimensionValue, escape, type Grain, type SeriesKey } from './row-key.js';

/** Series with a ranked dimension, and that dimension. */
export const RANKED_DIMENSIONS = { products: 'sku', sales: 'store', pages: 'page', referrers: 'referrer', devices: 'device', countries: 'country' } as const;
export type RankedSeries = keyof typeof RANKED_DIMENSIONS;
/** A dimension a ranking may narrow by (products: one store's skus), kept before the bucket. */
const NARROWING: Partial<Record<RankedSeries, string>> = { products: 'store' };
/** Grains a ranking reads: hours for all; local days for the web breakdowns (the others sum hours). */
const RANKED_GRAINS: Record<RankedSeries, readonly Grain[]> = { products: ['h'], sales: ['h'], pages: ['h', 'd'], referrers: ['h', 'd'], devices: ['h', 'd'], countries: ['h', 'd'] };

const TWIN_MARK = '~';

/**
 * The ranked twin of a series row key, or undefined when no ranking reads the row: its series has a
 * ranked dimension, it carries that dimension and at most the series' narrowing one, and its grain is
 * one rankings read. Works on the encoded key (components stay escaped as they are).
 */
export function rankedTwinKey(key: string): string | undefined {
  const parts = key.split('#');
  if (parts.length < 5 || parts.length > 6) return undefined;
  const series = parts[1] as RankedSeries;
  const ranked = RANKED_DIMENSIONS[series];
  if (ranked === undefined) return undefined;
  const grain = parts[parts.length - 2] as Grain;
  if (!RANKED_GRAINS[series].includes(grain)) return undefined;
  const dims = parts.slice(2, -2);
  let rankedPart: string | undefined;
  let narrowing: string | undefined;
  for (const d of dims) {
    const name = d.slice(0, d.indexOf('='));
    if (name === ranked) rankedPart = d;
    else if (name === NARROWING[series]) narrowing = d;
    else return undefined;
  }
  if (rankedPart === undefined) return undefined;
  return `${parts[0]}#${series}#${TWIN_MARK}${grain}#${narrowing === undefined ? '' : narrowing + '#'}${parts[parts.length - 1]}#${rankedPart}`;
}

/** Whether a key is a ranked twin (its third component starts with '~'). */
export function isRankedKey(key: string): boolean {
  const first = key.indexOf('#');
  const second = key.indexOf('#', first + 1);
  return first >= 0 && second >= 0 && key.charCodeAt(second + 1) === 0x7e /* ~ */;
}

/** The series key and bucket a twin stands for: its row's key, put back in the row layout and decoded as one. */
export function decodeRankedKey(key: string): SeriesKey & { bucket: string } {
  const parts = key.split('#');
  const mark = parts[2];
  if (parts.length < 5 || !mark?.startsWith(TWIN_MARK)) throw new Error(`not a ranked row key: ${key}`);
  const [bucket, ranked] = parts.slice(-2);
  return decodeRowKey([parts[0], parts[1], ...parts.slice(3, -2), ranked, mark.slice(TWIN_MARK.length), bucket].join('#'));
}

/** The series key and bucket of a series row or of a ranked twin. */
export function decodeSeriesRowKey(key: string): SeriesKey & { bucket: string } {
  return isRankedKey(key) ? decodeRankedKey(key) : decodeRowKey(key);
}

/** The twins' key range of buckets [fromBucket, toBucket) of a ranked series, optionally narrowed (products: one store). */
export function rankedRange(k: { merchantId: string; series: RankedSeries; grain: Grain; narrowedTo?: string }, fromBucket: string, toBucket: string): { start: string; end: string } {
  const by = NARROWING[k.series];
  if (k.narrowedTo !== undefined && by === undefined) throw new Error(`series ${k.series} is not narrowed by any dimension`);
  const prefix = `${escape(k.merchantId)}#${k.series}#${TWIN_MARK}${k.grain}#${k.narrowedTo === undefined ? '' : `${by}=${dimensionValue(k.narrowedTo)}#`}`;
  return { start: prefix + fromBucket, end: prefix + toBucket };
}

/** The twin key a writer must write beside a row on this store: none when the store mirrors twins itself. */
export function rankedTwinToWrite(store: Pick<SeriesStore, 'mirrorsRankedTwins'>, key: string): string | undefined {
  return store.mirrorsRankedTwins === true ? undefined : rankedTwinKey(key);
}

/**
 * The mutations with each ranked row's mutations repeated on its twin, right after the original, so the
 * twin goes through the same sets and deletes in the same order as its row. Other rows' pass unchanged,
 * and so does everything for a store that mirrors twins itself.
 */
export function withRankedTwins(store: Pick<SeriesStore, 'mirrorsRankedTwins'>, mutations: SeriesMutation[]): SeriesMutation[] {
  if (store.mirrorsRankedTwins === true) return mutations;
  const out: SeriesMutation[] = [];
  let lastKey: string | undefined;
  let lastTwin: string | undefined;
  for (const m of mutations) {
    out.push(m);
    // A row's mutations come together (delete_family, set, retirement): its twin key is built once.
    if (m.key !== lastKey) {
      lastKey = m.key;
      lastTwin = rankedTwinKey(m.key);
    }
    if (lastTwin !== undefined) out.push({ ...m, key: lastTwin });
  }
  return out;
}

/** The key range of a merchant's rows of a ranked series' dimension (the row layout: the whole history). */
function dimensionRange(merchantId: string, series: RankedSeries): { start: string; end: string } {
  const base = `${escape(merchantId)}#${series}#${RANKED_DIMENSIONS[series]}`;
  return { start: `${base}=`, end: `${base}>` };
}

/** Rows read per call while copying, so a merchant's history never sits in memory at once. */
export const BACKFILL_PAGE_ROWS = 5_000;

/** How far a copy got: the rows it copied, and where the next one goes on when it stopped before the end. */
export interface BackfillProgress {
  copied: number;
  /** The last row key copied when the copy stopped at its budget; absent once the merchant's rows are all copied. */
  next?: string;
}

/**
 * Writes the twin of every ranked row a merchant already has (rows written before twins existed), page by
 * page, in key order: the mart family only, replaced as the exporter writes it. The speed layer's partials
 * are not copied: their per-message markers are not readable on Bigtable, so a twin holding a copy of a
 * row's partials would count again a redelivered message its row had already folded. An hour still in
 * progress at the copy is therefore answered from the rows until a mart run finalizes it (the freshness
 * document's ranked_from, services/query-api/top.ts), when the exporter writes its twin's mart cells.
 * Stops after the page that reaches `maxRows` (answering where it stopped) and goes on after `after`.
 * Idempotent.
 */
export async function backfillRankedRows(
  series: SeriesStore,
  merchantId: string,
  opts: { pageRows?: number; maxRows?: number; after?: string } = {},
): Promise<BackfillProgress> {
  const pageRows = opts.pageRows ?? BACKFILL_PAGE_ROWS;
  let copied = 0;
  // The series' ranges in key order, so one key says how far the copy got across all of them.
  const ranges = (Object.keys(RANKED_DIMENSIONS) as RankedSeries[]).map((name) => dimensionRange(merchantId, name)).sort((a, b) => (a.start < b.start ? -1 : 1));
  for (const { start: from, end } of ranges) {
    let start = opts.after !== undefined && opts.after + '\u0000' > from ? opts.after + '\u0000' : from;
    while (start < end) {
      const page: SeriesRow[] = await series.readRange({ start, end }, { limit: pageRows });
      const mutations: SeriesMutation[] = [];
      for (const row of page) {
        const twin = rankedTwinKey(row.key);
        if (twin === undefined) continue;
        if (series.mirrorsRankedTwins === true) {
          // A store that mirrors twins copies a row's bytes to its twin whenever it writes the row, so the
          // copy rewrites the row as it is (an empty set): the twin gets all of it, partials and markers
          // included, and counts a redelivered message exactly as its row does.
          mutations.push({ kind: 'set', key: row.key, family: FAMILY_MART, cells: {} });
          copied++;
          continue;
        }
        const mart = row.cells[FAMILY_MART];
        mutations.push({ kind: 'delete_family', key: twin, family: FAMILY_MART });
        if (mart !== undefined && Object.keys(mart).length > 0) mutations.push({ kind: 'set', key: twin, family: FAMILY_MART, cells: mart });
        copied++;
      }
      if (mutations.length > 0) await series.mutate(mutations);
      if (page.length === 0) break;
      const last = page[page.length - 1]!.key;
      const lastPage = page.length < pageRows;
      if (opts.maxRows !== undefined && copied >= opts.maxRows && !(lastPage && end === ranges.at(-1)!.end)) return { copied, next: last };
      if (lastPage) break;
      start = last + '\u0000';
    }
  }
  return { copied };
}
