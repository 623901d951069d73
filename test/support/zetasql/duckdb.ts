// The DuckDB side of the two-engine check: an in-memory database with the schema's tables (the same
// DDL the local warehouse uses), loaded with the fixture rows, queried in a UTC session.
import { DuckDBInstance, LIST, listValue, timestampTZValue, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { duckdbColumnType, duckdbDdl, duckdbTableName, quoteIdent } from '../../../pipeline/schema/ddl-duckdb.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { duckFamily, fromDuckValueTyped, isoToMicros, sortRows, type FixtureRow, type FixtureValue, type ResultSet } from './values.js';

export interface DuckFixtureDb {
  connection: DuckDBConnection;
  close(): void;
}

function toDuckParam(value: FixtureValue | undefined, repeated: boolean): DuckDBValue {
  if (repeated) return listValue(((value ?? []) as string[]).map((v) => String(v)));
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'bigint' || typeof value === 'boolean' || typeof value === 'number') return value;
  return String(value);
}

/** Creates every table of `tables` and inserts the fixture rows given for it. */
export async function openFixtureDb(tables: TableDef[], rows: Record<string, FixtureRow[]>): Promise<DuckFixtureDb> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  // date_trunc on TIMESTAMPTZ follows the session zone: without this, results follow the machine.
  await connection.run("SET TimeZone = 'UTC'");
  for (const table of tables) {
    await connection.run(duckdbDdl(table));
    const data = rows[table.id] ?? [];
    if (data.length === 0) continue;
    const known = new Set(table.columns.map((c) => c.name));
    for (const row of data) {
      const unknown = Object.keys(row).filter((k) => !known.has(k));
      if (unknown.length) throw new Error(`fixture row for ${table.id} has unknown columns: ${unknown.join(', ')}`);
    }
    const placeholders = table.columns.map((c, i) => `CAST($${i + 1} AS ${duckdbColumnType(c)})`);
    const insert = await connection.prepare(
      `INSERT INTO ${duckdbTableName(table)} (${table.columns.map((c) => quoteIdent(c.name)).join(', ')}) VALUES (${placeholders.join(', ')})`,
    );
    // An empty list has no item type of its own; the others are typed by their JS value and cast.
    const types = table.columns.map((c) => (c.mode === 'REPEATED' ? LIST(VARCHAR) : undefined)) as DuckDBType[];
    for (const row of data) {
      insert.bind(table.columns.map((c) => toDuckParam(row[c.name], c.mode === 'REPEATED')), types);
      await insert.run();
    }
  }
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Query parameters as DuckDB values: ISO instants become TIMESTAMPTZ. */
export function duckParams(params: Record<string, string>): Record<string, DuckDBValue> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, timestampTZValue(isoToMicros(v))]));
}

export async function runDuckQuery(db: DuckFixtureDb, sql: string, params: Record<string, DuckDBValue> = {}): Promise<ResultSet> {
  let reader;
  try {
    reader = await db.connection.runAndReadAll(sql, params);
  } catch (err) {
    throw new Error(`DuckDB failed on:\n${sql}\n${(err as Error).message}`, { cause: err });
  }
  const names = reader.columnNames();
  const columns = reader.columnTypes().map((t, i) => ({ name: names[i]!, type: duckFamily(t) }));
  const rows = reader.getRows().map((r) => Object.fromEntries(columns.map((c, i) => [c.name, fromDuckValueTyped(c.type, r[i]!)])));
  return { columns, rows: sortRows(rows, names) };
}
