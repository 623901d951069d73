// The local warehouse: one DuckDB database file (<dataDir>/warehouse.duckdb) holding every table of
// the schema source (pipeline/schema/marts.ts ALL_TABLES, listed there). It runs mart SQL (the
// Warehouse port), passed through the dialect's `translate` hook. The other roles on the same file
// have their own modules and share its one connection (duckdb-session.ts), because DuckDB has a single
// writer: the raw sink (raw-sink.ts), the dedupe index (dedupe-index.ts) and the entry counter
// (entry-counter.ts). This class hands each port to its role so one object can be passed as all three.
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { DedupeClaim, DedupeIndex, DedupeVerdict, IngestWrite, RawSink, SqlParams, Warehouse } from '../../pipeline/ports.js';
import { duckdbColumnType, duckdbDdl, duckdbTableName, quoteIdent } from '../../pipeline/schema/ddl-duckdb.js';
import { ALL_TABLES } from '../../pipeline/schema/marts.js';
import type { TableDef } from '../../pipeline/schema/types.js';
import { windowReplace } from '../../pipeline/sql/dialect.js';
import type { EntryRef } from '../../pipeline/contracts/outcomes.js';
import { LocalDedupeIndex, STATE_DDL } from './dedupe-index.js';
import { DuckDbSession, inTransaction } from './duckdb-session.js';
import { resultConverter, toDuckParams } from './duckdb-values.js';
import { countEntries, type StoredEntryCounts } from './entry-counter.js';
import { LocalRawSink } from './raw-sink.js';

export type { StoredEntryCounts } from './entry-counter.js';

/** A dialect hook: BigQuery SQL from sql/ in, DuckDB SQL out (provided by the dialect layer). */
/** WAL size at which DuckDB checkpoints on its own (default 16 MB); see LocalWarehouse.open. */
export const CHECKPOINT_THRESHOLD = '64MB';

/**
 * What DuckDB's buffer manager may hold: table blocks it caches and the operators' hash tables and
 * sorts (which spill to a temporary file past it). The local runtime shares its process with the V8
 * heap and the LMDB maps, and during ingest the buffer pool fills with the blocks it appended whatever
 * the limit, so the limit is mostly what DuckDB adds to a long run's resident memory. In a million-event
 * `start --once`: at 768 MB the peak RSS was 1,703–1,719 MB (DuckDB's anonymous memory 878–940 MB), at
 * 400 MB 1,434 MB (606 MB), with the same ingest and mart times; rebuilding every hourly mart over
 * 10M raw events spills either way (93 s at 400 MB, 108 s at 768 MB on a shared machine). Blocks
 * already in the file are dropped and read again, so the limit costs reads, not data
 * (https://duckdb.org/docs/current/configuration/overview, memory_limit).
 */
export const MEMORY_LIMIT = '400MB';

/** See LocalWarehouse.open. */
export const ALLOCATOR_FLUSH_THRESHOLD = '32MB';

export type TranslateSql = (sql: string) => string;

export interface LocalWarehouseOptions {
  /** Database file, or `:memory:`. */
  path: string;
  translate?: TranslateSql;
  /** Tables to create; default: every table of the schema source (ALL_TABLES). */
  tables?: TableDef[];
}

export class LocalWarehouse implements Warehouse, RawSink, DedupeIndex {
  private readonly sink: LocalRawSink;
  private readonly dedupe: LocalDedupeIndex;

  private constructor(
    private readonly session: DuckDbSession,
    private readonly translate: TranslateSql,
    readonly tables: readonly TableDef[],
  ) {
    this.sink = new LocalRawSink(session);
    this.dedupe = new LocalDedupeIndex(session);
  }

  static async open(opts: LocalWarehouseOptions): Promise<LocalWarehouse> {
    const tables = opts.tables ?? ALL_TABLES;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(opts.path);
    } catch (err) {
      throw new Error(`opening the DuckDB warehouse ${opts.path} (is another process using it?)`, { cause: err });
    }
    const conn = await instance.connect();
    // DuckDB truncates TIMESTAMPTZ in the session zone; BigQuery always works in UTC.
    await conn.run("SET TimeZone = 'UTC'");
    // Ingest commits every batch; at DuckDB's default 16 MB of WAL, nearly every commit also ran a
    // checkpoint (a 200k-event file ingest spent 17–19 s of its 57–63 s in COMMIT, 7 s at 64 MB). A
    // commit is durable in the WAL either way; a larger threshold only checkpoints less often, at the
    // cost of up to this much WAL replayed on open after a crash and held in memory until the next
    // checkpoint.
    await conn.run(`SET checkpoint_threshold = '${CHECKPOINT_THRESHOLD}'`);
    // DuckDB's own default is 80 % of the machine's memory, and the local runtime shares its process
    // with the V8 heap and the LMDB maps; see MEMORY_LIMIT.
    await conn.run(`SET memory_limit = '${MEMORY_LIMIT}'`);
    // What DuckDB frees goes back to the system instead of staying in its allocator's caches: the
    // allocator is flushed after any task that peaked above ALLOCATOR_FLUSH_THRESHOLD (default 128 MB)
    // and purged by background threads (off by default), so the process's resident memory falls back
    // after a checkpoint or a mart statement (https://duckdb.org/docs/current/configuration/overview,
    // allocator_flush_threshold, allocator_background_threads).
    await conn.run(`SET allocator_flush_threshold = '${ALLOCATOR_FLUSH_THRESHOLD}'`);
    await conn.run('SET allocator_background_threads = true');
    for (const t of tables) await conn.run(duckdbDdl(t));
    // Every table's columns in one read: a read of information_schema per table cost ~4 ms each,
    // ~0.1 CPU s of every command's start.
    const present = new Map<string, Set<string>>();
    const reader = await conn.runAndReadAll('SELECT table_schema, table_name, column_name FROM information_schema.columns');
    for (const [schema, name, column] of reader.getRows()) {
      const id = `${String(schema)}.${String(name)}`;
      (present.get(id) ?? present.set(id, new Set()).get(id)!).add(String(column));
    }
    for (const t of tables) await addMissingColumns(conn, t, present.get(t.id) ?? new Set(), opts.path);
    for (const stmt of STATE_DDL) await conn.run(stmt);
    return new LocalWarehouse(new DuckDbSession(instance, conn), opts.translate ?? ((sql) => sql), tables);
  }

  /** Runs fn with the connection to itself: every statement of the warehouse goes through here. */
  exclusive<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.session.exclusive(fn);
  }

  /** Runs fn inside one transaction with the connection to itself; rolls back if fn throws. */
  transaction<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.session.transaction(fn);
  }

  // ---------------------------------------------------------------- Warehouse

  async run(sql: string, params?: SqlParams): Promise<void> {
    const bound = joinLongLists(this.translate(sql), params);
    const text = bound.text;
    params = bound.params;
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
    const { text, params: values } = joinLongLists(this.translate(sql), params);
    params = values;
    return this.exclusive(async (conn) => {
      try {
        const reader = await conn.runAndReadAll(text, params ? toDuckParams(params) : undefined);
        return reader.convertRowObjects(resultConverter) as T[];
      } catch (err) {
        throw new Error(`querying the local warehouse: ${firstLine(text)}`, { cause: err });
      }
    });
  }

  /** Streams the result a DuckDB chunk (2,048 rows) at a time, holding the connection until the last. */
  async queryPages<T = Record<string, unknown>>(sql: string, params: SqlParams | undefined, onPage: (rows: T[]) => Promise<void>): Promise<void> {
    const { text, params: values } = joinLongLists(this.translate(sql), params);
    params = values;
    await this.exclusive(async (conn) => {
      let result;
      try {
        result = await conn.stream(text, params ? toDuckParams(params) : undefined);
      } catch (err) {
        throw new Error(`querying the local warehouse: ${firstLine(text)}`, { cause: err });
      }
      for await (const rows of result.yieldConvertedRowObjects(resultConverter)) await onPage(rows as T[]);
    });
  }

  // ---------------------------------------------------------------- the other roles

  /** RawSink (raw-sink.ts): replaces the rows of the messages it names. */
  write(batch: IngestWrite): Promise<void> {
    return this.sink.write(batch);
  }

  /** DedupeIndex (dedupe-index.ts). */
  claim(claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
    return this.dedupe.claim(claims);
  }

  release(keys: { merchantId: string; eventId: string; entry: EntryRef }[]): Promise<void> {
    return this.dedupe.release(keys);
  }

  /** End states as the raw tables hold them (entry-counter.ts); a run's when `messageIds` is set. */
  entryCounts(opts: { messageIds?: readonly string[] } = {}): Promise<StoredEntryCounts> {
    return countEntries(this.session, opts);
  }

  close(): Promise<void> {
    return this.session.close();
  }
}

/**
 * A table created by an earlier schema gets the nullable columns added since; a missing required
 * column cannot be filled in, so that data directory has to be rebuilt.
 */
async function addMissingColumns(conn: DuckDBConnection, table: TableDef, present: ReadonlySet<string>, path: string): Promise<void> {
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

/** The named parameters a statement uses: DuckDB refuses values for parameters a statement lacks. */
/** Lists at least this long are bound as one joined string (joinLongLists). */
const JOINED_LIST_MIN = 256;
const SEPARATOR = '\x1f';

/**
 * Binds each long list of strings (a backfill's cells: tens of thousands) as one string that the
 * statement splits, instead of a LIST value: the client builds a LIST element by element (about half
 * a second per 100,000 strings, paid again by every statement of a window), a string in one piece.
 * The list is the same to the statement: `string_split` gives a VARCHAR[] of the same elements.
 */
function joinLongLists(text: string, params?: SqlParams): { text: string; params?: SqlParams } {
  if (!params) return { text, params };
  let out: SqlParams | undefined;
  for (const [name, v] of Object.entries(params)) {
    if (!Array.isArray(v) || v.length < JOINED_LIST_MIN || !v.every((x) => typeof x === 'string' && !x.includes(SEPARATOR))) continue;
    out ??= { ...params };
    out[name] = v.join(SEPARATOR);
    text = text.replace(new RegExp(`\\$${name}(?![A-Za-z0-9_])`, 'g'), `string_split($${name}, chr(31))`);
  }
  return { text, params: out ?? params };
}

function pick(values: Record<string, DuckDBValue>, sql: string): Record<string, DuckDBValue> {
  const out: Record<string, DuckDBValue> = {};
  for (const [k, v] of Object.entries(values)) if (new RegExp(`\\$${k}(?![A-Za-z0-9_])`).test(sql)) out[k] = v;
  return out;
}

function firstLine(sql: string): string {
  const line = sql.trim().split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

