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
import duckdb from '@duckdb/node-bindings';
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

const CHUNK_ROWS = 2048; // DuckDB's vector size
const INLINE_BYTES = 12; // string_t keeps strings of up to 12 bytes in its 16-byte slot, after a 4-byte length

/**
 * Zero-filled scratch bytes, one reused buffer per use: DuckDB copies what it is given
 * (copy_data_to_vector), so the same memory serves every column and chunk instead of new arrays for
 * the garbage collector. Uses never nest within one kind (a list's child strings use 'slots', its
 * entries 'entries').
 */
const scratchBuffers = new Map<string, Uint8Array<ArrayBuffer>>();
function scratch(kind: 'slots' | 'words' | 'entries' | 'validity', bytes: number, fill = 0): Uint8Array<ArrayBuffer> {
  let buf = scratchBuffers.get(kind);
  if (!buf || buf.length < bytes) scratchBuffers.set(kind, (buf = new Uint8Array(Math.max(bytes, CHUNK_ROWS * 16))));
  return buf.subarray(0, bytes).fill(fill);
}

/** A validity mask with every row valid (DuckDB keeps one bit per row, in 64-bit words). */
function allValid(n: number): Uint8Array<ArrayBuffer> {
  return scratch('validity', Math.ceil(n / 64) * 8, 0xff);
}

function flushValidity(vector: duckdb.Vector, validity: Uint8Array<ArrayBuffer> | null): void {
  if (!validity) return;
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, validity.buffer, validity.byteOffset, validity.byteLength);
}

/**
 * Writes n strings (null allowed) into a VARCHAR vector. A string of at most 12 ASCII characters is
 * written inline as DuckDB lays it out (length, then the bytes, zero-padded: duckdb_string_t in
 * https://github.com/duckdb/duckdb/blob/main/src/include/duckdb.h, and the vector access rules of
 * https://duckdb.org/docs/stable/clients/c/vector); any other string goes through
 * duckdb_vector_assign_string_element as the client writes it, so the stored bytes are the same.
 */
function fillStrings(vector: duckdb.Vector, get: (i: number) => unknown, n: number, required: string | null): void {
  const slots = scratch('slots', n * 16);
  const words = new DataView(slots.buffer);
  let validity: Uint8Array<ArrayBuffer> | null = null;
  let long: number[] | null = null;
  let longValues: string[] | null = null;
  for (let i = 0; i < n; i++) {
    const raw = get(i);
    if (raw == null) {
      if (required) throw new Error(`${required} is required but the row has none`);
      validity ??= allValid(n);
      validity[i >> 3]! &= ~(1 << (i & 7));
      continue;
    }
    const s = typeof raw === 'string' ? raw : String(raw);
    const len = s.length;
    let inline = len <= INLINE_BYTES;
    for (let k = 0; inline && k < len; k++) {
      const c = s.charCodeAt(k);
      if (c > 0x7f) inline = false;
    }
    if (inline) {
      const at = i * 16;
      words.setUint32(at, len, true);
      for (let k = 0; k < len; k++) slots[at + 4 + k] = s.charCodeAt(k);
    } else {
      (long ??= []).push(i);
      (longValues ??= []).push(s);
    }
  }
  duckdb.copy_data_to_vector(vector, 0, slots.buffer, 0, slots.byteLength);
  if (long) for (let k = 0; k < long.length; k++) duckdb.vector_assign_string_element(vector, long[k]!, longValues![k]!);
  flushValidity(vector, validity);
}

/** Writes a 64-bit integer given as a number (exact when safe) or a bigint, little-endian. */
function setInt64(words: DataView, at: number, v: number | bigint): void {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    words.setUint32(at, v >>> 0, true);
    words.setInt32(at + 4, Math.floor(v / 4_294_967_296), true);
  } else {
    words.setBigInt64(at, BigInt(v), true);
  }
}

function fillInt64(vector: duckdb.Vector, get: (i: number) => unknown, n: number, required: string | null, toWord: (v: unknown) => number | bigint): void {
  const data = scratch('words', n * 8);
  const words = new DataView(data.buffer);
  let validity: Uint8Array<ArrayBuffer> | null = null;
  for (let i = 0; i < n; i++) {
    const v = get(i);
    if (v == null) {
      if (required) throw new Error(`${required} is required but the row has none`);
      validity ??= allValid(n);
      validity[i >> 3]! &= ~(1 << (i & 7));
      continue;
    }
    setInt64(words, i * 8, toWord(v));
  }
  duckdb.copy_data_to_vector(vector, 0, data.buffer, 0, data.byteLength);
  flushValidity(vector, validity);
}

/**
 * INT64 as the client converts it: BigInt(v), so a fraction or a non-numeric string throws, and so does
 * a value beyond 64 bits (the client refuses it; setBigInt64 would keep its low 64 bits, storing 2^63
 * as -2^63).
 */
function int64Word(column: string): (v: unknown) => number | bigint {
  return (v) => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    const b = BigInt(v as number | string | bigint);
    if (BigInt.asIntN(64, b) !== b) throw new Error(`column ${column}: ${String(v)} is out of the INT64 range`);
    return b;
  };
}

/** TIMESTAMP as microseconds since the epoch, from a Date or anything `new Date` reads. */
function timestampWord(column: string): (v: unknown) => number | bigint {
  return (v) => {
    const ms = toDate(v, column).getTime();
    return Number.isSafeInteger(ms * 1000) ? ms * 1000 : BigInt(ms) * 1000n;
  };
}

/** A REPEATED STRING column: list entries (offset, length) per row, the strings in its child vector. */
function fillStringLists(vector: duckdb.Vector, get: (i: number) => unknown, n: number): void {
  const entries = scratch('entries', n * 16);
  const words = new DataView(entries.buffer);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const list = get(i) as readonly unknown[] | null | undefined;
    const len = list == null ? 0 : list.length; // BigQuery has no NULL arrays: a missing list is empty
    setInt64(words, i * 16, total);
    setInt64(words, i * 16 + 8, len);
    total += len;
  }
  duckdb.list_vector_reserve(vector, total);
  duckdb.list_vector_set_size(vector, total);
  if (total > 0) {
    const flat: unknown[] = new Array(total);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const list = get(i) as readonly unknown[] | null | undefined;
      if (list != null) for (const x of list) flat[k++] = x;
    }
    fillStrings(duckdb.list_vector_get_child(vector), (j) => flat[j], total, null);
  }
  duckdb.copy_data_to_vector(vector, 0, entries.buffer, 0, entries.byteLength);
}

/**
 * How a column reaches its vector. Strings, integers, timestamps and string lists are filled in bulk:
 * a strings' column writes its 16-byte slots (length and inline bytes of short ASCII strings) and its
 * validity mask in one copy each and hands only the other strings to DuckDB one by one; integers and
 * timestamps are written as 64-bit words without a BigInt per value. The client's own vectors keep
 * two arrays per column and chunk and set every validity bit through BigInts, which made these appends
 * about a fifth of the ingest's JS time. The other types go through the client's vectors.
 */
interface ColumnWriter {
  type: DuckDBType;
  fill?: (vector: duckdb.Vector, get: (i: number) => unknown, n: number) => void;
  convert: ToValue;
  /**
   * The column's value of a row. Compiled per column (the name a literal, never input) so each read
   * is a plain property load: rows[i][name] with the name varying across columns made one
   * megamorphic load site for every cell.
   */
  read: (row: object) => unknown;
}

function columnWriter(table: TableDef, c: Column): ColumnWriter {
  const type = c.mode === 'REPEATED' ? LIST(BASE_TYPES[c.type]) : BASE_TYPES[c.type];
  const required = c.mode === 'REQUIRED' ? `${table.id}.${c.name}` : null;
  const convert = columnConverter(c);
  const read = new Function('r', `return r[${JSON.stringify(c.name)}];`) as (row: object) => unknown;
  if (c.mode === 'REPEATED') return c.type === 'STRING' ? { type, convert, read, fill: (v, get, n) => fillStringLists(v, get, n) } : { type, convert, read };
  switch (c.type) {
    case 'STRING':
      return { type, convert, read, fill: (v, get, n) => fillStrings(v, get, n, required) };
    case 'INT64': {
      const word = int64Word(`${table.id}.${c.name}`);
      return { type, convert, read, fill: (v, get, n) => fillInt64(v, get, n, required, word) };
    }
    case 'TIMESTAMP': {
      const word = timestampWord(c.name);
      return { type, convert, read, fill: (v, get, n) => fillInt64(v, get, n, required, word) };
    }
    default:
      return { type, convert, read };
  }
}

const writersByTable = new WeakMap<TableDef, ColumnWriter[]>();

/**
 * Appends rows (objects keyed by column name; missing keys are NULL) to a table of the schema source,
 * column-wise, one data chunk of up to 2,048 rows at a time, in the caller's transaction.
 */
export async function appendRows(conn: DuckDBConnection, table: TableDef, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  let writers = writersByTable.get(table);
  if (!writers) {
    writers = table.columns.map((c) => columnWriter(table, c));
    writersByTable.set(table, writers);
  }
  const [schema, name] = table.id.split('.') as [string, string];
  const appender = await conn.createAppender(name, schema);
  const columns = table.columns;
  const types = writers.map((w) => w.type);
  try {
    for (let offset = 0; offset < rows.length; offset += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.length - offset);
      const chunk = DuckDBDataChunk.create(types, n);
      for (let ci = 0; ci < columns.length; ci++) {
        const c = columns[ci]!;
        const w = writers[ci]!;
        const read = w.read;
        const get = (ri: number) => read(rows[offset + ri]!);
        if (w.fill) {
          w.fill(duckdb.data_chunk_get_vector(chunk.chunk, ci), get, n);
          continue;
        }
        const values: DuckDBValue[] = new Array(n);
        for (let ri = 0; ri < n; ri++) {
          const v = get(ri);
          if (v == null && c.mode === 'REQUIRED') throw new Error(`${table.id}.${c.name} is required but the row has none`);
          values[ri] = w.convert(v);
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

