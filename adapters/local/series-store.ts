// The local series store: the SeriesStore port on LMDB, the embedded stand-in for the Bigtable series table.
// Keys are the row-key codec's strings stored as their UTF-8 bytes with LMDB's byte-wise key order, so a
// range read returns exactly the rows Bigtable's ReadRows would. One LMDB entry per row holding every family
// (value = { m: {qualifier: value}, p: {…} }, msgpack): a request's range read is one cursor walk decoding one
// value per bucket, instead of one entry per cell. Documents live in their own sub-database.
// Ranked twins (pipeline/series/ranked.ts) are mirrored: writing or deleting a ranked row stores the row's
// new bytes under its twin key, or deletes the twin, in the same transaction, so a twin is always a byte
// copy of its row and writers send no mutations of their own for it (mirrorsRankedTwins).
import { join } from 'node:path';
import { asBinary, open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { lmdbMapOptions } from './lmdb-map.js';
import { rankedTwinKey } from '../../pipeline/series/ranked.js';
import type { CellCondition, CellValue, ConditionalMutation, CounterIncrement, SeriesMutation, SeriesRow, SeriesStore } from '../../pipeline/ports.js';

type Families = Record<string, Record<string, CellValue>>;

export interface LmdbSeriesStore extends SeriesStore {
  /** Number of rows (not documents); for tests and summaries. */
  rowCount(): number;
  close(): Promise<void>;
}

const toKey = (s: string): Buffer => Buffer.from(s, 'utf8');
/** Below every row key ('\u0000' never starts an escaped component), so no range read returns it. */
const STRUCTURES_KEY = Buffer.from([0]);

/** Opens (creating if needed) the series store at `<dataDir>/series`. */
export function openLmdbSeriesStore(opts: { dataDir: string } | { path: string }): LmdbSeriesStore {
  const path = 'path' in opts ? opts.path : join(opts.dataDir, 'series');
  const root: RootDatabase = open({ path, maxDbs: 4, ...lmdbMapOptions() });
  // Shared msgpack structures: rows of one series repeat the same qualifiers, so each is stored as a record
  // referencing a shared structure, which makes a range read's decoding several times cheaper.
  // The speed layer's partial family is the exception: its qualifiers name messages (`orders@<id>`,
  // markers `~<id>`), so no two rows share its shape and every write would define a new structure
  // that each later read decodes again; it is written as a plain map.
  // lmdb hands msgpackr options such as useRecords to its encoder (open.js), though its types omit them.
  // Maps decode as objects (with useRecords a function, msgpackr would otherwise return Map instances).
  const rowOptions: DatabaseOptions & { name: string; useRecords: (o: object) => boolean; mapsAsObjects: boolean } = {
    name: 'rows',
    keyEncoding: 'binary',
    encoding: 'msgpack',
    sharedStructuresKey: STRUCTURES_KEY,
    useRecords: (o) => !hasMessageQualifiers(o),
    mapsAsObjects: true,
  };
  const rows: Database<Families, Buffer> = root.openDB(rowOptions);
  const encoder = (rows as unknown as { encoder: { encode(value: unknown): Uint8Array } }).encoder; // typed `any` in lmdb's declarations
  const docs: Database<unknown, Buffer> = root.openDB({ name: 'documents', keyEncoding: 'binary', encoding: 'msgpack' });

  // Mutations are folded per row first, so each row is read once and written once, in mutation order.
  // `touched` holds the rows read in the transaction (changed in place), `dirty` the ones to write back.
  interface Txn {
    touched: Map<string, Families | undefined>;
    dirty: Set<string>;
  }
  const current = (t: Txn, key: string): Families | undefined => {
    if (!t.touched.has(key)) {
      // Each get decodes a fresh object (no value cache is configured), so it can be changed in place.
      t.touched.set(key, rows.get(toKey(key)));
    }
    return t.touched.get(key);
  };
  const applyAll = (t: Txn, mutations: SeriesMutation[]): void => {
    for (const mut of mutations) {
      t.dirty.add(mut.key);
      // A deleted row is not read: whatever it held is gone (the exporter replaces finalized hours so).
      if (mut.kind === 'delete_row') {
        t.touched.set(mut.key, undefined);
        continue;
      }
      const row = current(t, mut.key);
      if (mut.kind === 'delete_family') {
        if (row) delete row[mut.family];
      } else if (mut.kind === 'delete_cells') {
        const family = row?.[mut.family];
        if (family) for (const q of mut.qualifiers) delete family[q];
      } else {
        // In place: copying the family for each set made a hot row's writes quadratic in its cells.
        Object.assign(cellsOf(t, mut.key, mut.family), mut.cells);
      }
    }
  };
  /** A family's cells in the transaction's copy of the row, created if absent, to be changed in place; the row is written back. */
  const cellsOf = (t: Txn, key: string, family: string): Record<string, CellValue> => {
    let row = current(t, key);
    if (!row) t.touched.set(key, (row = {}));
    t.dirty.add(key);
    return (row[family] ??= {});
  };
  const commit = (t: Txn): void => {
    for (const key of t.dirty) {
      const row = t.touched.get(key);
      const k = toKey(key);
      const twin = rankedTwinKey(key);
      // A row without cells does not exist, as in Bigtable.
      if (row && prune(row)) {
        if (twin === undefined) rows.put(k, row);
        else {
          // One encoding for both entries, by the store's own encoder (so a new shared structure is saved
          // as a put would save it), the bytes written under both keys: reading the row's bytes back
          // after its put cost an LMDB read and a copy per ranked row. lmdb stores a Binary's bytes as
          // they are and copies them into the transaction at once, before the next encoding reuses them.
          const bytes = asBinary(encoder.encode(row) as Uint8Array) as unknown as Families;
          rows.put(k, bytes);
          rows.put(toKey(twin), bytes);
        }
      } else {
        rows.remove(k);
        if (twin !== undefined) rows.remove(toKey(twin));
      }
    }
  };

  // Group commit of conditional writes and counters: calls that arrive while a write transaction is
  // pending run together, in arrival order, in one transaction sharing one view of the rows, so a row
  // that several messages of a batch touch is decoded and encoded once per group rather than twice per
  // message. Each call sees the calls before it, exactly as one transaction per call would.
  interface Queued {
    run: (t: Txn) => unknown;
    resolve: (out: unknown) => void;
    reject: (err: unknown) => void;
  }
  let queue: Queued[] = [];
  const inOwnTransaction = (q: Queued): void => {
    rows
      .transaction(() => {
        const t: Txn = { touched: new Map(), dirty: new Set() };
        const out = q.run(t);
        commit(t);
        return out;
      })
      .then(q.resolve, q.reject);
  };
  const grouped = <T>(run: (t: Txn) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push({ run, resolve: resolve as (out: unknown) => void, reject });
      if (queue.length > 1) return; // the pending transaction takes this call too
      let group: Queued[] = [];
      // The callback runs once lmdb's write turn comes, and takes every call queued by then.
      rows
        .transaction(() => {
          group = queue;
          queue = [];
          const t: Txn = { touched: new Map(), dirty: new Set() };
          const results = group.map((q) => q.run(t));
          commit(t);
          return results;
        })
        .then(
          (results) => group.forEach((q, i) => q.resolve(results[i])),
          (err: unknown) => {
            if (group.length === 0) for (const q of queue.splice(0)) q.reject(err); // the transaction never ran
            else if (group.length === 1) group[0]!.reject(err);
            else for (const q of group) inOwnTransaction(q); // one failing call must not fail the others
          },
        );
    });

  const readRange = ({ start, end }: { start: string; end: string }, limit = Infinity): SeriesRow[] => {
    const out: SeriesRow[] = [];
    const [from, to] = [toKey(start), toKey(end)];
    if (Buffer.compare(from, to) >= 0) return out;
    for (const { key, value } of rows.getRange({ start: from, end: to })) {
      if (key.equals(STRUCTURES_KEY)) continue;
      if (out.length >= limit) break;
      out.push({ key: key.toString('utf8'), cells: value });
    }
    return out;
  };

  return {
    mirrorsRankedTwins: true,

    async mutate(mutations: SeriesMutation[]): Promise<void> {
      if (mutations.length === 0) return;
      await rows.transaction(() => {
        const t: Txn = { touched: new Map(), dirty: new Set() };
        applyAll(t, mutations);
        commit(t);
      });
    },

    // One transaction for the whole batch: each entry's test sees the entries before it, as
    // sequential CheckAndMutateRow calls would.
    async checkAndMutate(entries: ConditionalMutation[]): Promise<boolean[]> {
      if (entries.length === 0) return [];
      return grouped((t) =>
        entries.map((e) => {
          if (!holds(current(t, e.key), e.condition)) return false;
          applyAll(t, e.mutations);
          return true;
        }),
      );
    },

    async increment(entries: CounterIncrement[]): Promise<number[]> {
      if (entries.length === 0) return [];
      return grouped((t) =>
        entries.map(({ key, family, qualifier, by }) => {
          // The cell set in place, without a mutation object and a cells object per counter.
          const cells = cellsOf(t, key, family);
          const next = (cells[qualifier] ?? 0) + by;
          cells[qualifier] = next;
          return next;
        }),
      );
    },

    async readRange(range, opts): Promise<SeriesRow[]> {
      return readRange(range, opts?.limit);
    },

    async readRangeWithDocuments(range, documentKeys) {
      const documents = new Map<string, unknown>();
      for (const key of documentKeys) {
        const value = docs.get(toKey(key));
        if (value !== undefined) documents.set(key, value);
      }
      return { rows: readRange(range), documents };
    },

    async getDocument<T>(key: string): Promise<T | undefined> {
      return docs.get(toKey(key)) as T | undefined;
    },

    async putDocument(key: string, value: unknown): Promise<void> {
      await docs.put(toKey(key), value);
    },

    rowCount(): number {
      return rows.getCount() - (rows.doesExist(STRUCTURES_KEY) ? 1 : 0);
    },

    async close(): Promise<void> {
      await root.close();
    },
  };
}

/** A family keyed by message (the speed layer's cells and markers, cells.ts), judged by its first keys. */
function hasMessageQualifiers(o: object): boolean {
  let seen = 0;
  for (const k in o) {
    if (k.charCodeAt(0) === 0x7e /* ~ */ || k.charCodeAt(0) === 0x21 /* ! */ || k.includes('@')) return true;
    if (++seen === 4) return false;
  }
  return false;
}

function holds(row: Families | undefined, c: CellCondition): boolean {
  const value = row?.[c.family]?.[c.qualifier];
  return c.equals === undefined ? value === undefined : value === c.equals;
}

/** Drops empty families in place, so a stored row holds only families with cells; false if none is left. */
function prune(row: Families): boolean {
  let any = false;
  for (const family in row) {
    if (hasKeys(row[family]!)) any = true;
    else delete row[family];
  }
  return any;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
