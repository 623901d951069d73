// The DuckDB side of the two-engine check: an in-memory database with the schema's tables (the same
// DDL the local warehouse uses), loaded with the fixture rows, queried in a UTC session.
import {
  BIGINT,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBInstance,
  LIST,
  TIMESTAMPTZ,
  VARCHAR,
  dateValue,
  listValue,
  decimalValue,
  timestampTZValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { duckdbDdl } from '../../../pipeline/schema/ddl-duckdb.js';
import type { Column, ColumnType, TableDef } from '../../../pipeline/schema/types.js';
import {
  dateToDays,
  decimalToScaled,
  duckFamily,
  fromDuckValueTyped,
  isoToMicros,
  sortRows,
  type FixtureRow,
  type FixtureValue,
  type ResultSet,
} from './values.js';

export interface DuckFixtureDb {
  connection: DuckDBConnection;
  close(): void;
}

const DUCK_TYPES: Record<ColumnType, DuckDBType> = {
  STRING: VARCHAR,
  INT64: BIGINT,
  FLOAT64: DOUBLE,
  BOOL: BOOLEAN,
  NUMERIC: DECIMAL(38, 9),
  TIMESTAMP: TIMESTAMPTZ,
  DATE: DATE,
};

/** A fixture cell as the DuckDB value of its column's type: exact, no casts from text. */
function duckValue(type: ColumnType, value: Exclude<FixtureValue, null | string[]>): DuckDBValue {
  switch (type) {
    case 'STRING':
      return String(value);
    case 'INT64':
      return BigInt(value as number | bigint);
    case 'FLOAT64':
      return Number(value);
    case 'BOOL':
      return Boolean(value);
    case 'NUMERIC':
      return decimalValue(decimalToScaled(String(value), 9), 38, 9);
    case 'TIMESTAMP':
      return timestampTZValue(isoToMicros(String(value)));
    case 'DATE':
      return dateValue(dateToDays(String(value)));
  }
}

function appendCell(appender: DuckDBAppender, column: Column, value: FixtureValue | undefined): void {
  if (column.mode === 'REPEATED') {
    // BigQuery has no NULL array: a missing REPEATED value is an empty one.
    const items = (value ?? []) as Exclude<FixtureValue, null | string[]>[];
    appender.appendList(items.map((v) => duckValue(column.type, v)), LIST(DUCK_TYPES[column.type]));
  } else if (value === null || value === undefined) {
    appender.appendNull();
  } else {
    appender.appendValue(duckValue(column.type, value as Exclude<FixtureValue, null | string[]>), DUCK_TYPES[column.type]);
  }
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
    const [schemaName, tableName] = table.id.split('.') as [string, string];
    const appender = await connection.createAppender(tableName, schemaName);
    for (const row of data) {
      for (const column of table.columns) appendCell(appender, column, row[column.name]);
      appender.endRow();
    }
    appender.closeSync();
  }
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Query parameters as DuckDB values: ISO instants become TIMESTAMPTZ, lists lists of text. */
export function duckParams(params: Record<string, string | string[]>): Record<string, DuckDBValue> {
  const instant = /^\d{4}-\d{2}-\d{2}T/;
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Array.isArray(v) ? listValue(v) : instant.test(v) ? timestampTZValue(isoToMicros(v)) : v]));
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
