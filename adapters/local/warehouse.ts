// The local warehouse: one DuckDB database file (<dataDir>/warehouse.duckdb) holding every table of
// the schema source. It implements three ports on one connection, because DuckDB has a single writer:
// - Warehouse: `run`/`query` of mart SQL, passed through an optional dialect `translate` hook;
// - RawSink: idempotent bulk writes of ingest outcomes (DuckDB appender, one transaction per write);
// - DedupeIndex: the exact (merchant_id, event_id) → first entry index, claimed in transactions.
// It also counts end states straight from the tables, for the published = accepted + rejected +
// duplicates invariant.
import {
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTypeId,
  DECIMAL,
  BIGINT,
  BOOLEAN,
  DATE,
  DOUBLE,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  JSDuckDBValueConverter,
  dateValue,
  decimalValue,
  listValue,
  timestampTZValue,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type JS,
} from '@duckdb/node-api';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { EntryRef, ReasonCode } from '../../pipeline/contracts/outcomes.js';
import type {
  DedupeClaim,
  DedupeIndex,
  DedupeVerdict,
  IngestWrite,
  RawSink,
  SqlParams,
  Warehouse,
} from '../../pipeline/ports.js';
import { duckdbColumnType, duckdbDdl, duckdbTableName, quoteIdent } from '../../pipeline/schema/ddl-duckdb.js';
import { DIM_TABLES } from '../../pipeline/schema/dims.js';
import { RAW_TABLES, rawArrivals, rawDuplicates, rawEvents, rawOrderLines, rawRejectedEvents } from '../../pipeline/schema/raw.js';
import type { Column, ColumnType, TableDef } from '../../pipeline/schema/types.js';

/** A dialect hook: BigQuery SQL from sql/ in, DuckDB SQL out (provided by the dialect layer). */
export type TranslateSql = (sql: string) => string;

export interface LocalWarehouseOptions {
  /** Database file, or `:memory:`. */
  path: string;
  translate?: TranslateSql;
  /** Tables to create; default: every table the schema source exports (see loadSchemaTables). */
  tables?: TableDef[];
}

export interface StoredEntryCounts {
  accepted: number;
  rejected: Partial<Record<ReasonCode, number>>;
  duplicates: number;
}

/** Local bookkeeping tables, not part of the BigQuery schema (GCP keeps the dedupe index in Bigtable). */
const STATE_DDL = [
  'CREATE SCHEMA IF NOT EXISTS state',
  // One key column so that look-ups and the uniqueness check use DuckDB's ART index.
  `CREATE TABLE IF NOT EXISTS state.dedupe_index (
     dedupe_key VARCHAR PRIMARY KEY,
     merchant_id VARCHAR NOT NULL,
     event_id VARCHAR NOT NULL,
     content_hash VARCHAR NOT NULL,
     message_id VARCHAR NOT NULL,
     entry_index BIGINT NOT NULL,
     claimed_at TIMESTAMPTZ NOT NULL
   )`,
];

const KEY_LOOKUP_CHUNK = 1000;

/** The messages whose rows a write replaces. */
function messageIdsOf(batch: IngestWrite): Set<string> {
  return new Set([
    ...batch.accepted.map((r) => r.message_id),
    ...batch.rejected.map((r) => r.message_id),
    ...batch.duplicates.map((r) => r.message_id),
    ...batch.arrivals.map((r) => r.message_id),
  ]);
}

function namesAMessageTwice(writes: IngestWrite[]): boolean {
  const seen = new Set<string>();
  for (const w of writes) {
    for (const id of messageIdsOf(w)) {
      if (seen.has(id)) return true;
      seen.add(id);
    }
  }
  return false;
}

/** The unit separator cannot occur in validated ids, so the joined key is unambiguous. */
const dedupeKey = (merchantId: string, eventId: string): string => `${merchantId}\u001f${eventId}`;

export class LocalWarehouse implements Warehouse, RawSink, DedupeIndex {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly claimQueue: Pending<DedupeClaim[], DedupeVerdict[]>[] = [];
  private readonly writeQueue: Pending<IngestWrite, void>[] = [];

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly translate: TranslateSql,
    readonly tables: readonly TableDef[],
  ) {}

  static async open(opts: LocalWarehouseOptions): Promise<LocalWarehouse> {
    const tables = opts.tables ?? (await loadSchemaTables());
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(opts.path);
    } catch (err) {
      throw new Error(`opening the DuckDB warehouse ${opts.path} (is another process using it?)`, { cause: err });
    }
    const conn = await instance.connect();
    // DuckDB truncates TIMESTAMPTZ in the session zone; BigQuery always works in UTC.
    await conn.run("SET TimeZone = 'UTC'");
    for (const t of tables) {
      await conn.run(duckdbDdl(t));
      await addMissingColumns(conn, t, opts.path);
    }
    for (const stmt of STATE_DDL) await conn.run(stmt);
    return new LocalWarehouse(instance, conn, opts.translate ?? ((sql) => sql), tables);
  }

  /** Runs fn with the connection to itself: every statement of the warehouse goes through here. */
  exclusive<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the warehouse is closed'));
    const run = () => fn(this.conn);
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Runs fn inside one transaction with the connection to itself; rolls back if fn throws. */
  transaction<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.exclusive((conn) => inTransaction(conn, fn));
  }

  /**
   * Group commit: calls that arrive while the connection is busy are handled together, in arrival
   * order, by one `flush` (one transaction, one WAL sync) once it is their turn.
   */
  private enqueue<I, O>(queue: Pending<I, O>[], input: I, flush: (conn: DuckDBConnection, batch: Pending<I, O>[]) => Promise<void>): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (queue.length > 1) return; // a flush is scheduled already and will take this one too
      this.exclusive((conn) => flush(conn, queue.splice(0))).catch((err: unknown) => {
        for (const p of queue.splice(0)) p.reject(err); // closed before the flush could run
      });
    });
  }

  // ---------------------------------------------------------------- Warehouse

  async run(sql: string, params?: SqlParams): Promise<void> {
    const text = this.translate(sql);
    const replace = windowReplace(text);
    await this.exclusive(async (conn) => {
      try {
        if (replace) {
          // The same rows as the MERGE, without DuckDB's nested-loop join of the whole mart against the window.
          const values = params ? toDuckParams(params) : undefined;
          await inTransaction(conn, async (c) => {
            await c.run(replace.remove, values && pick(values, replace.remove));
            await c.run(replace.insert, values && pick(values, replace.insert));
          });
          return;
        }
        await conn.run(text, params ? toDuckParams(params) : undefined);
      } catch (err) {
        throw new Error(`running SQL on the local warehouse: ${firstLine(text)}`, { cause: err });
      }
    });
  }

  async query<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
    const text = this.translate(sql);
    return this.exclusive(async (conn) => {
      try {
        const reader = await conn.runAndReadAll(text, params ? toDuckParams(params) : undefined);
        return reader.convertRowObjects(resultConverter) as T[];
      } catch (err) {
        throw new Error(`querying the local warehouse: ${firstLine(text)}`, { cause: err });
      }
    });
  }

  // ---------------------------------------------------------------- RawSink

  /**
   * Writes one or more messages' outcomes in one transaction. A write replaces everything written
   * before for the messages it names (their rows in raw.events, raw.order_lines, raw.rejected_events,
   * raw.duplicates and raw.arrivals), so a redelivery — or a revalidation that moves an entry between
   * end states — leaves exactly the rows of the last write.
   */
  write(batch: IngestWrite): Promise<void> {
    if (batch.accepted.length + batch.orderLines.length + batch.rejected.length + batch.duplicates.length + batch.arrivals.length === 0) {
      return Promise.resolve();
    }
    return this.enqueue(this.writeQueue, batch, (conn, pending) => this.flushWrites(conn, pending));
  }

  private async flushWrites(conn: DuckDBConnection, pending: Pending<IngestWrite, void>[]): Promise<void> {
    // Two writes of one message in a group (concurrent redeliveries) cannot be merged: each replaces the
    // message's rows, so merged they would append its rows twice. Written one by one, the last one wins.
    if (pending.length > 1 && namesAMessageTwice(pending.map((p) => p.input))) return this.writeOneByOne(conn, pending);
    const merged: IngestWrite = {
      accepted: pending.flatMap((p) => p.input.accepted),
      orderLines: pending.flatMap((p) => p.input.orderLines),
      rejected: pending.flatMap((p) => p.input.rejected),
      duplicates: pending.flatMap((p) => p.input.duplicates),
      arrivals: pending.flatMap((p) => p.input.arrivals),
    };
    try {
      await inTransaction(conn, (c) => this.writeRows(c, merged));
      for (const p of pending) p.resolve();
      return;
    } catch (err) {
      if (pending.length === 1) {
        pending[0]!.reject(err);
        return;
      }
    }
    // One bad write must not fail the others: write them one by one.
    await this.writeOneByOne(conn, pending);
  }

  private async writeOneByOne(conn: DuckDBConnection, pending: Pending<IngestWrite, void>[]): Promise<void> {
    for (const p of pending) {
      try {
        await inTransaction(conn, (c) => this.writeRows(c, p.input));
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
  }

  private async writeRows(conn: DuckDBConnection, batch: IngestWrite): Promise<void> {
    const ids = [...messageIdsOf(batch)];
    if (ids.length > 0 && (await this.anyWritten(conn, ids))) await this.deleteMessages(conn, ids);
    await appendRows(conn, rawEvents, batch.accepted);
    await appendRows(conn, rawOrderLines, batch.orderLines);
    await appendRows(conn, rawRejectedEvents, batch.rejected);
    await appendRows(conn, rawDuplicates, batch.duplicates);
    await appendRows(conn, rawArrivals, batch.arrivals);
  }

  /** Cheap on the common path: message ids grow with time, so DuckDB's zone maps skip old row groups. */
  private async anyWritten(conn: DuckDBConnection, ids: string[]): Promise<boolean> {
    const inList = placeholders(ids.length);
    const parts = [rawEvents, rawRejectedEvents, rawDuplicates, rawArrivals].map(
      (t) => `(SELECT 1 FROM ${duckdbTableName(t)} WHERE message_id IN (${inList}) LIMIT 1)`,
    );
    const reader = await conn.runAndReadAll(`SELECT count(*) AS n FROM (${parts.join(' UNION ALL ')})`, ids);
    return Number(reader.getRows()[0]?.[0] ?? 0) > 0;
  }

  private async deleteMessages(conn: DuckDBConnection, ids: string[]): Promise<void> {
    const inList = placeholders(ids.length);
    // Order lines carry no message id: find them through their order's raw.events row.
    await conn.run(
      `DELETE FROM ${duckdbTableName(rawOrderLines)} WHERE (merchant_id, event_id) IN (
         SELECT merchant_id, event_id FROM ${duckdbTableName(rawEvents)} WHERE message_id IN (${inList}))`,
      ids,
    );
    for (const t of [rawEvents, rawRejectedEvents, rawDuplicates, rawArrivals]) {
      await conn.run(`DELETE FROM ${duckdbTableName(t)} WHERE message_id IN (${inList})`, ids);
    }
  }

  // ---------------------------------------------------------------- DedupeIndex

  claim(claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
    if (claims.length === 0) return Promise.resolve([]);
    return this.enqueue(this.claimQueue, claims, async (conn, pending) => {
      try {
        // Claims of all waiting callers in one transaction, in arrival order: the same verdicts as one by one.
        const verdicts = await inTransaction(conn, (c) => this.claimAll(c, pending.flatMap((p) => p.input)));
        let offset = 0;
        for (const p of pending) {
          p.resolve(verdicts.slice(offset, offset + p.input.length));
          offset += p.input.length;
        }
      } catch (err) {
        for (const p of pending) p.reject(err);
      }
    });
  }

  private async claimAll(conn: DuckDBConnection, claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
    const keys = [...new Set(claims.map((c) => dedupeKey(c.merchantId, c.eventId)))];
    const owners = new Map<string, { contentHash: string; entry: EntryRef }>();
    for (let i = 0; i < keys.length; i += KEY_LOOKUP_CHUNK) {
      const chunk = keys.slice(i, i + KEY_LOOKUP_CHUNK);
      const reader = await conn.runAndReadAll(
        `SELECT dedupe_key, content_hash, message_id, entry_index FROM state.dedupe_index WHERE dedupe_key IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const [key, hash, messageId, index] of reader.getRows()) {
        owners.set(String(key), { contentHash: String(hash), entry: { messageId: String(messageId), index: Number(index) } });
      }
    }
    const verdicts: DedupeVerdict[] = [];
    const fresh: DedupeClaim[] = [];
    for (const c of claims) {
      const key = dedupeKey(c.merchantId, c.eventId);
      const owner = owners.get(key);
      if (!owner) {
        owners.set(key, { contentHash: c.contentHash, entry: c.entry });
        fresh.push(c);
        verdicts.push({ kind: 'new' });
      } else if (owner.entry.messageId === c.entry.messageId && owner.entry.index === c.entry.index) {
        verdicts.push({ kind: 'same_entry' });
      } else if (owner.contentHash === c.contentHash) {
        verdicts.push({ kind: 'duplicate', first: { ...owner.entry } });
      } else {
        verdicts.push({ kind: 'conflict', first: { ...owner.entry } });
      }
    }
    if (fresh.length > 0) {
      const appender = await conn.createAppender('dedupe_index', 'state');
      const now = toTimestampTz(new Date());
      try {
        for (const c of fresh) {
          appender.appendVarchar(dedupeKey(c.merchantId, c.eventId));
          appender.appendVarchar(c.merchantId);
          appender.appendVarchar(c.eventId);
          appender.appendVarchar(c.contentHash);
          appender.appendVarchar(c.entry.messageId);
          appender.appendBigInt(BigInt(c.entry.index));
          appender.appendTimestampTZ(now);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    }
    return verdicts;
  }

  async release(keys: { merchantId: string; eventId: string; entry: EntryRef }[]): Promise<void> {
    if (keys.length === 0) return;
    await this.transaction(async (conn) => {
      for (const k of keys) {
        await conn.run('DELETE FROM state.dedupe_index WHERE dedupe_key = $1 AND message_id = $2 AND entry_index = $3', [
          dedupeKey(k.merchantId, k.eventId),
          k.entry.messageId,
          BigInt(k.entry.index),
        ]);
      }
    });
  }

  // ---------------------------------------------------------------- counts for the invariant

  /**
   * Accepted, rejected (by reason) and duplicate entries as the tables hold them; restricted to the
   * given messages (a run's) when `messageIds` is set.
   */
  async entryCounts(opts: { messageIds?: readonly string[] } = {}): Promise<StoredEntryCounts> {
    return this.exclusive(async (conn) => {
      let filter = '';
      if (opts.messageIds) {
        await conn.run('CREATE TEMP TABLE IF NOT EXISTS count_scope (message_id VARCHAR)');
        await conn.run('DELETE FROM count_scope');
        const appender = await conn.createAppender('count_scope', 'main', 'temp');
        try {
          for (const id of opts.messageIds) {
            appender.appendVarchar(id);
            appender.endRow();
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
        filter = ' WHERE message_id IN (SELECT message_id FROM count_scope)';
      }
      const scalar = async (sql: string): Promise<number> => Number((await conn.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
      const accepted = await scalar(`SELECT count(*) FROM ${duckdbTableName(rawEvents)}${filter}`);
      const duplicates = await scalar(`SELECT count(*) FROM ${duckdbTableName(rawDuplicates)}${filter}`);
      const rows = (
        await conn.runAndReadAll(`SELECT reason, count(*) FROM ${duckdbTableName(rawRejectedEvents)}${filter} GROUP BY reason ORDER BY reason`)
      ).getRows();
      const rejected: Partial<Record<ReasonCode, number>> = {};
      for (const [reason, n] of rows) if (Number(n) > 0) rejected[String(reason) as ReasonCode] = Number(n);
      return { accepted, rejected, duplicates };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => undefined);
    this.closed = true;
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/**
 * A table created by an earlier schema gets the nullable columns added since; a missing required
 * column cannot be filled in, so that data directory has to be rebuilt.
 */
async function addMissingColumns(conn: DuckDBConnection, table: TableDef, path: string): Promise<void> {
  const [schema, name] = table.id.split('.') as [string, string];
  const reader = await conn.runAndReadAll(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [schema, name],
  );
  const present = new Set(reader.getRows().map(([c]) => String(c)));
  for (const c of table.columns) {
    if (present.has(c.name)) continue;
    if (c.mode === 'REQUIRED') {
      throw new Error(
        `the warehouse ${path} has a table ${table.id} without its required column ${c.name}: it was built by an older schema. ` +
          'Delete the data directory and load the data again.',
      );
    }
    await conn.run(`ALTER TABLE ${duckdbTableName(table)} ADD COLUMN ${quoteIdent(c.name)} ${duckdbColumnType(c)}`);
  }
}

/**
 * The mart statements of sql/marts replace a window: `merge into T as target using (Q) as rebuilt on
 * false when not matched by source and <window> then delete when not matched then insert (…) values
 * (…)`. With a join condition of false every rebuilt row is inserted and every target row inside the
 * window deleted, which is a DELETE of the window and an INSERT of Q in one transaction. DuckDB plans
 * the MERGE as a nested-loop join of the whole target against Q (cost: mart size × window rows), so
 * the local warehouse runs the equivalent pair instead; BigQuery keeps the MERGE.
 */
const WINDOW_MERGE =
  /^\s*((?:--[^\n]*\n\s*)*)merge\s+into\s+([\w.]+)\s+as\s+target\s+using\s+\(([\s\S]*)\)\s+as\s+rebuilt\s+on\s+false\s+when\s+not\s+matched\s+by\s+source\s+and\s+([\s\S]+?)\s+then\s+delete\s+when\s+not\s+matched\s+then\s+insert\s*\(([^()]*)\)\s*values\s*\(([^()]*)\)\s*;?\s*$/i;

export function windowReplace(sql: string): { remove: string; insert: string } | undefined {
  const m = WINDOW_MERGE.exec(sql);
  if (!m) return undefined;
  const [, , table, query, window, columns, values] = m as unknown as [string, string, string, string, string, string, string];
  return {
    remove: `DELETE FROM ${table} AS target WHERE ${window.trim()}`,
    insert: `INSERT INTO ${table} (${columns.trim()}) SELECT ${values.trim()} FROM (${query.trim()}) AS rebuilt`,
  };
}

/** The named parameters a statement uses: DuckDB refuses values for parameters a statement lacks. */
function pick(values: Record<string, DuckDBValue>, sql: string): Record<string, DuckDBValue> {
  const out: Record<string, DuckDBValue> = {};
  for (const [k, v] of Object.entries(values)) if (new RegExp(`\\$${k}(?![A-Za-z0-9_])`).test(sql)) out[k] = v;
  return out;
}

interface Pending<I, O> {
  input: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

async function inTransaction<T>(conn: DuckDBConnection, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const out = await fn(conn);
    await conn.run('COMMIT');
    return out;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------- schema discovery

const isTableDef = (v: unknown): v is TableDef =>
  typeof v === 'object' && v !== null && typeof (v as TableDef).id === 'string' && (v as TableDef).id.includes('.') && Array.isArray((v as TableDef).columns);

/**
 * Every table the schema source (pipeline/schema/*) exports, raw and dims first. Discovered rather
 * than listed so that a new schema module (marts, for example) gets its tables without touching this file.
 */
export async function loadSchemaTables(): Promise<TableDef[]> {
  const dir = new URL('../../pipeline/schema/', import.meta.url);
  const byId = new Map<string, TableDef>();
  for (const t of [...RAW_TABLES, ...DIM_TABLES]) byId.set(t.id, t);
  const files = (await readdir(fileURLToPath(dir))).filter((f) => /\.(ts|js|mjs)$/.test(f) && !f.endsWith('.d.ts')).sort();
  for (const f of files) {
    const mod = (await import(new URL(f, dir).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      for (const t of Array.isArray(value) ? value : [value]) if (isTableDef(t) && !byId.has(t.id)) byId.set(t.id, t);
    }
  }
  return [...byId.values()];
}

// ---------------------------------------------------------------- values in and out

function firstLine(sql: string): string {
  const line = sql.trim().split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

const placeholders = (n: number): string => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');

const toTimestampTz = (d: Date) => timestampTZValue(BigInt(d.getTime()) * 1000n);

function toDate(v: unknown, column: string): Date {
  const d = v instanceof Date ? v : new Date(v as string | number);
  if (Number.isNaN(d.getTime())) throw new Error(`column ${column}: ${String(v)} is not a timestamp`);
  return d;
}

/** Exact decimal text (or number) → value × 10^9 as a bigint, rounding half away from zero. */
export function toScaledNumeric(v: string | number | bigint, scale = 9): bigint {
  if (typeof v === 'bigint') return v * 10n ** BigInt(scale);
  const text = typeof v === 'number' ? (Number.isInteger(v) ? v.toFixed(0) : v.toFixed(scale + 1)) : v.trim();
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`${String(v)} is not a decimal number`);
  const negative = m[1] === '-';
  const frac = (m[3] ?? '').padEnd(scale + 1, '0');
  let scaled = BigInt((m[2] || '0') + frac.slice(0, scale));
  if (Number(frac[scale]) >= 5) scaled += 1n;
  return negative ? -scaled : scaled;
}

function daysSinceEpoch(v: unknown, column: string): number {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`) / 86_400_000;
  return Math.floor(toDate(v, column).getTime() / 86_400_000);
}

const BASE_TYPES: Record<ColumnType, DuckDBType> = {
  STRING: VARCHAR,
  INT64: BIGINT,
  NUMERIC: DECIMAL(38, 9),
  FLOAT64: DOUBLE,
  BOOL: BOOLEAN,
  TIMESTAMP: TIMESTAMPTZ,
  DATE: DATE,
};

function scalarValue(type: ColumnType, v: unknown, column: string): DuckDBValue {
  switch (type) {
    case 'STRING':
      return String(v);
    case 'INT64':
      return BigInt(v as number | string | bigint);
    case 'NUMERIC':
      return decimalValue(toScaledNumeric(v as string | number), 38, 9);
    case 'FLOAT64':
      return Number(v);
    case 'BOOL':
      return Boolean(v);
    case 'TIMESTAMP':
      return toTimestampTz(toDate(v, column));
    case 'DATE':
      return dateValue(daysSinceEpoch(v, column));
  }
}

type ToValue = (value: unknown) => DuckDBValue;

/** Converts a column's JS value to its DuckDB value; chosen once per table so the row loop stays tight. */
function columnConverter(c: Column): ToValue {
  if (c.mode === 'REPEATED') {
    // BigQuery has no NULL arrays: a missing list is empty.
    return (v) => listValue(v == null ? [] : (v as unknown[]).map((x) => (x == null ? null : scalarValue(c.type, x, c.name))));
  }
  if (c.type === 'STRING') return (v) => (v == null ? null : typeof v === 'string' ? v : String(v));
  return (v) => (v == null ? null : scalarValue(c.type, v, c.name));
}

interface TableWriter {
  types: DuckDBType[];
  converters: ToValue[];
}
const writersByTable = new WeakMap<TableDef, TableWriter>();
const CHUNK_ROWS = 2048; // DuckDB's vector size

/**
 * Appends rows (objects keyed by column name; missing keys are NULL) to a table of the schema source.
 * Column-wise data chunks rather than one appender call per value: numbers and timestamps are copied
 * to DuckDB in one call per column, which makes bulk loads markedly faster than value-by-value appends.
 */
export async function appendRows(conn: DuckDBConnection, table: TableDef, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  let writer = writersByTable.get(table);
  if (!writer) {
    writer = {
      types: table.columns.map((c) => (c.mode === 'REPEATED' ? LIST(BASE_TYPES[c.type]) : BASE_TYPES[c.type])),
      converters: table.columns.map(columnConverter),
    };
    writersByTable.set(table, writer);
  }
  const [schema, name] = table.id.split('.') as [string, string];
  const appender = await conn.createAppender(name, schema);
  const columns = table.columns;
  try {
    for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.length - offset);
      const chunk = DuckDBDataChunk.create(writer.types, n);
      for (let ci = 0; ci < columns.length; ci++) {
        const c = columns[ci]!;
        const convert = writer.converters[ci]!;
        const values: DuckDBValue[] = new Array(n);
        for (let ri = 0; ri < n; ri++) {
          const v = (rows[offset + ri] as Record<string, unknown>)[c.name];
          if (v == null && c.mode === 'REQUIRED') throw new Error(`${table.id}.${c.name} is required but the row has none`);
          values[ri] = convert(v);
        }
        chunk.setColumnValues(ci, values);
      }
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** SqlParams → DuckDB values: integers as BIGINT, Dates as TIMESTAMPTZ, string arrays as VARCHAR[]. */
export function toDuckParams(params: SqlParams): Record<string, DuckDBValue> {
  const out: Record<string, DuckDBValue> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v instanceof Date) out[k] = toTimestampTz(v);
    else if (Array.isArray(v)) out[k] = listValue(v);
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out[k] = BigInt(v);
    else out[k] = v;
  }
  return out;
}

const INTEGER_IDS = new Set([DuckDBTypeId.BIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.UHUGEINT]);

/**
 * Query results as plain JS: 64-bit integers become numbers when exact (counts, minor units) and
 * stay bigint beyond 2^53; timestamps are Dates; DECIMAL is a number; lists are arrays.
 */
const resultConverter: DuckDBValueConverter<JS> = (value, type, converter) => {
  if (value !== null && INTEGER_IDS.has(type.typeId)) {
    const n = value as bigint;
    return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
  }
  return JSDuckDBValueConverter(value, type, converter);
};

