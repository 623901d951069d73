// The SeriesStore port on Bigtable. Row keys come from the shared codec (pipeline/series/row-key.ts),
// so one API request is one ReadRows over a contiguous key range, exactly like the local LMDB store.
// Metric values are cells: family 'm' (marts) or 'p' (partials), qualifier = metric name, value = the
// number as decimal text (an empty value is null). Documents are JSON in family 'd' of their own rows.
// Every family keeps one version; reads also ask for the latest cell only, since GC runs lazily.
// Speed-layer markers (family 'p', qualifiers starting with '~', see pipeline/speed/writer.ts) are only
// ever tested by conditional mutations, and counters ('!' qualifiers other than '!gen', 64-bit
// big-endian integers written by ReadModifyWriteRow) are only read by their increments, so range
// reads leave both out on the server.
import type { Table } from '@google-cloud/bigtable';
import type { CellValue, ConditionalMutation, CounterIncrement, SeriesMutation, SeriesRow, SeriesStore } from '../../pipeline/ports.js';
import { mapLimit } from './bigtable.js';

const DOC_FAMILY = 'd';
const DOC_COLUMN = 'json';
/**
 * MutateRows batching and flow control. A request carries at most 100,000 mutations
 * (https://cloud.google.com/bigtable/quotas#limits-operations); we cut earlier, by rows and bytes, so
 * one failed request retries little. Requests run in parallel, bounded both in count and in bytes in
 * flight, so a large export neither waits on one round trip at a time nor queues unbounded memory
 * in the client (the flow control Bigtable recommends for bulk writes:
 * https://cloud.google.com/bigtable/docs/writes#flow-control).
 */
export const MUTATE_FLOW = { rowsPerRequest: 1000, mutationsPerRequest: 100_000, bytesPerRequest: 4 << 20, requestsInFlight: 8, bytesInFlight: 32 << 20 };

type ProtoMutation =
  | { setCell: { familyName: string; columnQualifier: Buffer; timestampMicros: number; value: Buffer } }
  | { deleteFromFamily: { familyName: string } }
  | { deleteFromColumn: { familyName: string; columnQualifier: Buffer } }
  | { deleteFromRow: Record<string, never> };

export function encodeCellValue(v: CellValue): Buffer {
  return v === null ? Buffer.alloc(0) : Buffer.from(String(v));
}
export function decodeCellValue(b: Buffer): CellValue {
  return b.length === 0 ? null : Number(b.toString('utf8'));
}

// -1 asks Bigtable to stamp the server time, so writers' clocks never decide which version is newest.
const SERVER_TIME = -1;

/**
 * One entry per row with all of its mutations, in order: a MutateRows entry is atomic, and entries of
 * one request may be applied in any order, even for the same row
 * (https://cloud.google.com/bigtable/docs/reference/data/rpc/google.bigtable.v2#mutaterowsrequest).
 */
function mutateEntries(mutations: SeriesMutation[]): MutateEntry[] {
  const rows = new Map<string, ProtoMutation[]>();
  for (const m of mutations) {
    let list = rows.get(m.key);
    if (!list) rows.set(m.key, (list = []));
    if (m.kind === 'delete_row') list.push(DELETE_ROW);
    else if (m.kind === 'delete_family') list.push(deleteFamily(m.family));
    else if (m.kind === 'delete_cells') {
      for (const q of m.qualifiers) list.push({ deleteFromColumn: { familyName: m.family, columnQualifier: qualifierBytes(q) } });
    } else {
      for (const q in m.cells) {
        list.push({ setCell: { familyName: m.family, columnQualifier: qualifierBytes(q), timestampMicros: SERVER_TIME, value: encodeCellValue(m.cells[q] as CellValue) } });
      }
    }
  }
  const entries: MutateEntry[] = [];
  for (const [key, list] of rows) if (list.length > 0) entries.push(new MutateEntry(Buffer.from(key), list));
  return entries;
}

// Deletions carry no data of their row, so every entry shares them (nothing changes a sent mutation).
const DELETE_ROW: ProtoMutation = Object.freeze({ deleteFromRow: Object.freeze({}) });
const DELETE_FAMILY = new Map<string, ProtoMutation>();
function deleteFamily(familyName: string): ProtoMutation {
  let m = DELETE_FAMILY.get(familyName);
  if (!m) DELETE_FAMILY.set(familyName, (m = Object.freeze({ deleteFromFamily: Object.freeze({ familyName }) })));
  return m;
}

/**
 * Qualifier bytes by name: metric names repeat in every row, so each is converted once. Bounded, since
 * speed-layer marker qualifiers are per message.
 */
const QUALIFIERS = new Map<string, Buffer>();
function qualifierBytes(q: string): Buffer {
  let b = QUALIFIERS.get(q);
  if (!b) {
    b = Buffer.from(q);
    if (QUALIFIERS.size < 4096) QUALIFIERS.set(q, b);
  }
  return b;
}

export function createBigtableSeriesStore(table: Table): SeriesStore {
  const flow = new MutateFlow();
  return {
    async mutate(mutations: SeriesMutation[]): Promise<void> {
      const entries = mutateEntries(mutations);
      try {
        await mutateFlowControlled(table, flow, entries);
      } catch (err) {
        throw new Error(`writing ${entries.length} series rows to Bigtable failed`, { cause: err });
      }
    },

    async readRange(range, opts): Promise<SeriesRow[]> {
      return (await readRows(table, range, [], opts?.limit)).rows;
    },

    readRangeWithDocuments: (range, documentKeys) => readRows(table, range, documentKeys),

    async checkAndMutate(entries: ConditionalMutation[]): Promise<boolean[]> {
      // One CheckAndMutateRow per entry. Entries of one row run in their order; rows run in parallel.
      const byRow = new Map<string, number[]>();
      entries.forEach((e, i) => {
        const list = byRow.get(e.key);
        if (list) list.push(i);
        else byRow.set(e.key, [i]);
      });
      const applied = new Array<boolean>(entries.length).fill(false);
      try {
        await mapLimit([...byRow.values()], CONDITIONAL_CONCURRENCY, async (indexes) => {
          for (const i of indexes) applied[i] = await checkAndMutateRow(table, entries[i]!);
        });
      } catch (err) {
        throw new Error(`conditional writes to ${byRow.size} series rows in Bigtable failed`, { cause: err });
      }
      return applied;
    },

    async increment(entries: CounterIncrement[]): Promise<number[]> {
      // One ReadModifyWriteRow per entry, in parallel: the cell is a 64-bit big-endian signed integer,
      // and the answer is the value after the increment (https://cloud.google.com/bigtable/docs/reference/data/rpc/google.bigtable.v2#readmodifywriterule).
      try {
        return await mapLimit(entries, CONDITIONAL_CONCURRENCY, async ({ key, family, qualifier, by }) => Number((await table.row(key).increment(`${family}:${qualifier}`, by))[0]));
      } catch (err) {
        throw new Error(`incrementing counters of ${entries.length} series rows in Bigtable failed`, { cause: err });
      }
    },

    async getDocument<T>(key: string): Promise<T | undefined> {
      return (await readRows(table, { start: '', end: '' }, [key])).documents.get(key) as T | undefined;
    },

    async putDocument(key: string, value: unknown): Promise<void> {
      await table.mutate(
        [
          {
            rowKey: Buffer.from(key),
            mutations: [
              { setCell: { familyName: DOC_FAMILY, columnQualifier: Buffer.from(DOC_COLUMN), timestampMicros: SERVER_TIME, value: Buffer.from(JSON.stringify(value)) } },
            ],
          },
        ],
        { rawMutation: true },
      );
    },
  };
}

/**
 * A MutateRows entry. A class rather than a plain object because the client deep-copies the plain
 * objects and arrays of every request before sending it (`extend(true, {}, reqOpts)` in
 * @google-cloud/bigtable's Bigtable#request) and passes other objects by reference: entries are
 * never changed once built, and the copy of 1,000 rows' mutations cost the exporter as much CPU as
 * encoding them (bench/export.ts profile).
 */
class MutateEntry {
  constructor(
    readonly rowKey: Buffer,
    readonly mutations: ProtoMutation[],
  ) {}
}

function entryBytes(e: MutateEntry): number {
  let n = e.rowKey.length;
  for (const m of e.mutations) {
    if ('setCell' in m) n += m.setCell.familyName.length + m.setCell.columnQualifier.length + m.setCell.value.length + 16;
    else n += 16;
  }
  return n;
}

/**
 * The requests and bytes in flight of every mutate call of one store: callers may keep several calls
 * going (the exporter does, so reading overlaps writing) and together they stay within MUTATE_FLOW.
 * Waiting requests are admitted in arrival order; a request always fits when none is in flight.
 */
class MutateFlow {
  private requests = 0;
  private bytes = 0;
  private readonly waiting: { bytes: number; admit: () => void }[] = [];

  constructor(private readonly limits: Pick<typeof MUTATE_FLOW, 'requestsInFlight' | 'bytesInFlight'> = MUTATE_FLOW) {}

  private fits(bytes: number): boolean {
    return this.requests === 0 || (this.requests < this.limits.requestsInFlight && this.bytes + bytes <= this.limits.bytesInFlight);
  }

  /** Resolves once a request of `bytes` may be sent; call release(bytes) when it has finished. */
  acquire(bytes: number): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.requests++;
      this.bytes += bytes;
      return undefined;
    }
    return new Promise((admit) => this.waiting.push({ bytes, admit }));
  }

  release(bytes: number): void {
    this.requests--;
    this.bytes -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.requests++;
      this.bytes += next.bytes;
      next.admit();
    }
  }
}

/**
 * Sends entries as MutateRows requests of whole rows within MUTATE_FLOW's per-request bounds, each as
 * soon as `flow` admits it; resolves when all have finished, rejects with the first failure (requests
 * not yet admitted then are not sent).
 */
async function mutateFlowControlled(table: Table, flow: MutateFlow, entries: MutateEntry[]): Promise<void> {
  const f = MUTATE_FLOW;
  let failure: { err: unknown } | undefined;
  const sent: Promise<void>[] = [];
  const send = async (batch: MutateEntry[], bytes: number) => {
    await flow.acquire(bytes);
    if (failure) {
      flow.release(bytes);
      return;
    }
    // The client flattens one level of nesting (mutateInternal: arrify(entries).reduce(concat)); a
    // flat array of n entries is concatenated one entry at a time, n copies of a growing array, a
    // nested one in a single concat.
    sent.push(
      table.mutate([batch], { rawMutation: true }).then(
        () => flow.release(bytes),
        (err: unknown) => {
          flow.release(bytes);
          failure ??= { err };
        },
      ),
    );
  };
  let batch: MutateEntry[] = [];
  let bytes = 0;
  let mutations = 0;
  for (const e of entries) {
    const b = entryBytes(e);
    if (batch.length > 0 && (batch.length >= f.rowsPerRequest || bytes + b > f.bytesPerRequest || mutations + e.mutations.length > f.mutationsPerRequest)) {
      await send(batch, bytes);
      if (failure) break;
      batch = [];
      bytes = 0;
      mutations = 0;
    }
    batch.push(e);
    bytes += b;
    mutations += e.mutations.length;
  }
  if (!failure && batch.length > 0) await send(batch, bytes);
  await Promise.all(sent);
  if (failure) throw failure.err;
}

type RowData = Record<string, Record<string, { value: Buffer }[]>>;

/**
 * One ReadRows call: the series rows of [start, end) and the document rows named, in one row set (a
 * RowSet holds row keys and row ranges together: https://cloud.google.com/bigtable/docs/reference/data/rpc/google.bigtable.v2#rowset).
 * Document rows hold only family 'd', series rows 'm' and 'p', alert rows 'a', so one filter serves all.
 */
async function readRows(table: Table, { start, end }: { start: string; end: string }, documentKeys: readonly string[], limit?: number): Promise<{ rows: SeriesRow[]; documents: Map<string, unknown> }> {
  const hasRange = Buffer.compare(Buffer.from(start), Buffer.from(end)) < 0;
  const documents = new Map<string, unknown>();
  if (!hasRange && documentKeys.length === 0) return { rows: [], documents };
  const [found] = await table.getRows({
    ...(documentKeys.length > 0 ? { keys: [...documentKeys] } : {}),
    ...(hasRange ? { ranges: [{ start: { value: start, inclusive: true }, end: { value: end, inclusive: false } }] } : {}),
    filter: [{ family: /^(m|p|d|a)$/ }, { column: /(?:[^~!][\s\S]*|!gen)/ }, { column: { cellLimit: 1 } }],
    // rows_limit of ReadRowsRequest: the server stops after that many rows
    // (https://cloud.google.com/bigtable/docs/reference/data/rpc/google.bigtable.v2#readrowsrequest).
    ...(limit !== undefined && documentKeys.length === 0 ? { limit } : {}),
    decode: false,
  });
  const docKeys = new Set(documentKeys);
  const rows: SeriesRow[] = [];
  for (const row of found) {
    const key = Buffer.isBuffer(row.id) ? (row.id as Buffer).toString('utf8') : String(row.id);
    const data = row.data as RowData;
    if (docKeys.has(key)) {
      const cell = data[DOC_FAMILY]?.[DOC_COLUMN]?.[0];
      if (cell) documents.set(key, JSON.parse(Buffer.from(cell.value).toString('utf8')));
      continue;
    }
    const cells: SeriesRow['cells'] = {};
    for (const [family, columns] of Object.entries(data)) {
      if (family === DOC_FAMILY) continue;
      const out: Record<string, CellValue> = {};
      for (const [q, versions] of Object.entries(columns)) {
        const latest = versions[0];
        if (latest) out[q] = decodeCellValue(Buffer.from(latest.value));
      }
      if (Object.keys(out).length > 0) cells[family] = out;
    }
    // A document row inside the range (not asked for) is no series row, as the local store's separate documents are not.
    if (Object.keys(cells).length > 0) rows.push({ key, cells });
  }
  return { rows, documents };
}

/** Parallel CheckAndMutateRow calls per checkAndMutate batch. */
const CONDITIONAL_CONCURRENCY = 32;

/** The client's high-level mutation entries (a Buffer qualifier or value is taken as bytes, `timestamp: -1` = server time). */
type ClientMutation = { method: 'insert'; data: Record<string, Record<string, { value: Buffer; timestamp: number }>> } | { method: 'delete'; data?: string[] };

function clientMutations(key: string, mutations: SeriesMutation[]): ClientMutation[] {
  return mutations.map((m): ClientMutation => {
    if (m.key !== key) throw new Error(`a conditional mutation of row ${key} names another row: ${m.key}`);
    switch (m.kind) {
      case 'delete_row':
        return { method: 'delete' };
      case 'delete_family':
        return { method: 'delete', data: [m.family] };
      case 'delete_cells':
        return { method: 'delete', data: m.qualifiers.map((q) => `${m.family}:${q}`) };
      case 'set':
        return {
          method: 'insert',
          data: { [m.family]: Object.fromEntries(Object.entries(m.cells).map(([q, v]) => [q, { value: encodeCellValue(v), timestamp: SERVER_TIME }])) },
        };
    }
  });
}

async function checkAndMutateRow(table: Table, e: ConditionalMutation): Promise<boolean> {
  const c = e.condition;
  // Buffers are matched literally (the client escapes them into the RE2 filters); Bigtable regex filters match whole values.
  const predicate: object[] = [{ family: new RegExp(`^${c.family}$`) }, { column: Buffer.from(c.qualifier) }, { column: { cellLimit: 1 } }];
  if (c.equals !== undefined) predicate.push({ value: encodeCellValue(c.equals) });
  const mutations = clientMutations(e.key, e.mutations).filter((m) => m.method === 'delete' || Object.keys(Object.values(m.data)[0] ?? {}).length > 0);
  const [matched] = await table.row(e.key).filter(predicate as never, c.equals === undefined ? { onMatch: [], onNoMatch: mutations } : { onMatch: mutations, onNoMatch: [] });
  // "absent" holds when the predicate matched nothing; "equals" when it matched.
  return c.equals === undefined ? !matched : Boolean(matched);
}
