// Values between JavaScript and DuckDB for the local warehouse: rows of the schema source appended
// column-wise, SQL parameters in, query results out. BigQuery's types map as the DDL maps them
// (pipeline/schema/ddl-duckdb.ts): NUMERIC is DECIMAL(38, 9), TIMESTAMP is TIMESTAMPTZ.
import {
  DuckDBDataChunk,
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
import type { SqlParams } from '../../pipeline/ports.js';
import type { Column, ColumnType, TableDef } from '../../pipeline/schema/types.js';

export const toTimestampTz = (d: Date) => timestampTZValue(BigInt(d.getTime()) * 1000n);

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
export const resultConverter: DuckDBValueConverter<JS> = (value, type, converter) => {
  if (value !== null && INTEGER_IDS.has(type.typeId)) {
    const n = value as bigint;
    return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
  }
  return JSDuckDBValueConverter(value, type, converter);
};

