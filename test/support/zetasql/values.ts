// Values across the two engines: fixture rows (plain JS, typed by the schema) become ZetaSQL
// ValueProtos and DuckDB inserts; results of both engines come back as one canonical form so they
// can be compared exactly — INT64 as bigint whatever width DuckDB chose (BIGINT, HUGEINT), NUMERIC
// as its exact decimal text, TIMESTAMP as a UTC ISO instant with microseconds, DATE as its text.
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import {
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
} from '@duckdb/node-api';
import { TypeKind } from '@fivetrandevelopers/zetasql';
import type { TypeProto, TypeProto__Output } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js';
import type { ValueProto, ValueProto__Output } from '@fivetrandevelopers/zetasql/lib/types/zetasql/ValueProto.js';
import type { ColumnType } from '../../../pipeline/schema/types.js';

/** A fixture cell: TIMESTAMP as ISO 8601 with offset, NUMERIC as decimal text, DATE as YYYY-MM-DD. */
export type FixtureValue = string | number | bigint | boolean | null | string[];
export type FixtureRow = Record<string, FixtureValue>;

/** The canonical, engine-independent form of a result cell. */
export type Cell = null | bigint | number | string | boolean | Cell[];

const NUMERIC_SCALE = 9;
const BIGNUMERIC_SCALE = 38;

// ---------------------------------------------------------------- fixture input

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/;

/** Microseconds since the epoch of an ISO 8601 instant (offset required, microsecond precision). */
export function isoToMicros(text: string): bigint {
  const m = ISO.exec(text);
  if (!m) throw new Error(`not an ISO 8601 instant with offset: ${text}`);
  const [, y, mo, d, h, mi, s, frac = '', zone] = m as unknown as string[];
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
  }
  return (BigInt(ms) - BigInt(offsetMinutes) * 60_000n) * 1000n + BigInt(frac.padEnd(6, '0'));
}

export function microsToIso(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const sub = micros - ms * 1000n;
  const base = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${base.slice(0, 23)}${sub.toString().padStart(3, '0')}Z`;
}

export function dateToDays(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new Error(`not a date: ${text}`);
  return Date.UTC(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10))) / 86_400_000;
}

export function daysToDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** Exact decimal text → integer scaled by 10^scale; more fractional digits than scale is an error. */
export function decimalToScaled(text: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new Error(`not a decimal: ${text}`);
  const frac = m[3] ?? '';
  if (frac.replace(/0+$/, '').length > scale) throw new Error(`${text} has more than ${scale} decimals`);
  const v = BigInt(m[2]! + frac.padEnd(scale, '0').slice(0, scale));
  return m[1] === '-' ? -v : v;
}

/** Scaled integer → shortest exact decimal text (`12.5`, `-0.001`, `3`). */
export function scaledToDecimal(value: bigint, scale: number): string {
  const neg = value < 0n;
  const digits = (neg ? -value : value).toString().padStart(scale + 1, '0');
  const int = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** ZetaSQL's NUMERIC/BIGNUMERIC wire form: little-endian two's complement of the scaled value. */
export function scaledToBytes(value: bigint): Buffer {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    out.push(byte);
    v >>= 8n;
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Buffer.from(out);
}

export function bytesToScaled(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return bytes[bytes.length - 1]! & 0x80 ? v - (1n << BigInt(bytes.length * 8)) : v;
}

function scalarToZeta(type: ColumnType, value: Exclude<FixtureValue, null | string[]>, column: string): ValueProto {
  switch (type) {
    case 'STRING':
      return { stringValue: String(value) };
    case 'INT64':
      return { int64Value: BigInt(value as number | bigint).toString() };
    case 'FLOAT64':
      return { doubleValue: Number(value) };
    case 'BOOL':
      return { boolValue: Boolean(value) };
    case 'NUMERIC':
      return { numericValue: scaledToBytes(decimalToScaled(String(value), NUMERIC_SCALE)) };
    case 'DATE':
      return { dateValue: dateToDays(String(value)) };
    case 'TIMESTAMP': {
      const micros = isoToMicros(String(value));
      const seconds = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
      return { timestampValue: { seconds: seconds.toString(), nanos: Number(micros - seconds * 1_000_000n) * 1000 } };
    }
    default:
      throw new Error(`column ${column}: unsupported type ${type as string}`);
  }
}

/** One fixture cell as a ZetaSQL value; a NULL is a ValueProto with nothing set. */
export function toZetaValue(type: ColumnType, repeated: boolean, value: FixtureValue | undefined, column: string): ValueProto {
  if (repeated) {
    const items = value ?? [];
    if (!Array.isArray(items)) throw new Error(`column ${column} is REPEATED: give an array`);
    return { arrayValue: { element: items.map((v) => scalarToZeta(type, v, column)) } };
  }
  if (value === null || value === undefined) return {};
  if (Array.isArray(value)) throw new Error(`column ${column} is not REPEATED`);
  return scalarToZeta(type, value, column);
}

// ---------------------------------------------------------------- canonical output

/** 15 significant digits: sums of doubles may differ in the last bits with summation order. */
const canonicalDouble = (n: number): number => (Number.isFinite(n) ? Number(n.toPrecision(15)) : n);

export function fromZetaValue(type: TypeProto__Output, value: ValueProto__Output): Cell {
  if (!value.value) return null;
  switch (value.value) {
    case 'int32Value':
    case 'uint32Value':
      return BigInt(value[value.value]!);
    case 'int64Value':
    case 'uint64Value':
      return BigInt(value[value.value]!.toString());
    case 'doubleValue':
    case 'floatValue':
      return canonicalDouble(value[value.value]!);
    case 'boolValue':
      return value.boolValue!;
    case 'stringValue':
      return value.stringValue!;
    case 'jsonValue':
      return value.jsonValue!;
    case 'numericValue':
      return scaledToDecimal(bytesToScaled(value.numericValue!), NUMERIC_SCALE);
    case 'bignumericValue':
      return scaledToDecimal(bytesToScaled(value.bignumericValue!), BIGNUMERIC_SCALE);
    case 'dateValue':
      return daysToDate(value.dateValue!);
    case 'timestampValue': {
      const ts = value.timestampValue!;
      return microsToIso(BigInt(ts.seconds.toString()) * 1_000_000n + BigInt(Math.trunc(ts.nanos / 1000)));
    }
    case 'arrayValue':
      return value.arrayValue!.element.map((e) => fromZetaValue(type.arrayType!.elementType!, e));
    default:
      throw new Error(`ZetaSQL result value of kind ${value.value} is not supported by the harness`);
  }
}

export function fromDuckValue(value: DuckDBValue): Cell {
  if (value === null) return null;
  if (typeof value === 'bigint' || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return canonicalDouble(value);
  if (value instanceof DuckDBDecimalValue) return scaledToDecimal(value.value, value.scale);
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) return microsToIso(value.micros);
  if (value instanceof DuckDBDateValue) return daysToDate(value.days);
  if (value instanceof DuckDBListValue) return value.items.map(fromDuckValue);
  throw new Error(`DuckDB result value ${String(value)} is not supported by the harness`);
}

/** Integer DuckDB values arrive as JS numbers for narrow types; the canonical INT64 is a bigint. */
export function fromDuckValueTyped(family: string, value: DuckDBValue): Cell {
  if (family === 'INT64' && typeof value === 'number') return BigInt(value);
  if (family === 'NUMERIC' && value instanceof DuckDBDecimalValue && value.scale > NUMERIC_SCALE) {
    throw new Error(`DuckDB decimal with scale ${value.scale} where BigQuery has NUMERIC (scale 9)`);
  }
  if (family.startsWith('ARRAY<') && value instanceof DuckDBListValue) {
    const inner = family.slice(6, -1);
    return value.items.map((v) => fromDuckValueTyped(inner, v));
  }
  return fromDuckValue(value);
}

// ---------------------------------------------------------------- type families

const ZETA_FAMILIES: Record<number, string> = {
  1: 'INT64', // INT32
  2: 'INT64',
  3: 'INT64', // UINT32
  4: 'INT64', // UINT64
  5: 'BOOL',
  6: 'FLOAT64',
  7: 'FLOAT64',
  8: 'STRING',
  9: 'BYTES',
  10: 'DATE',
  19: 'TIMESTAMP',
  20: 'TIME',
  21: 'DATETIME',
  23: 'NUMERIC',
  24: 'BIGNUMERIC',
  26: 'JSON',
  27: 'INTERVAL',
};

/** The BigQuery type of a ZetaSQL result column, as one comparable name. */
export function zetaFamily(type: TypeProto__Output | TypeProto): string {
  // Requests name kinds ('TYPE_INT64'), responses number them (2).
  const kind = typeof type.typeKind === 'number' ? type.typeKind : type.typeKind === undefined ? undefined : TypeKind[type.typeKind as keyof typeof TypeKind];
  if (kind === 16) return `ARRAY<${zetaFamily(type.arrayType!.elementType!)}>`;
  if (kind === undefined || !(kind in ZETA_FAMILIES)) return `ZETASQL_TYPE_${String(type.typeKind)}`;
  return ZETA_FAMILIES[kind]!;
}

/**
 * The BigQuery type a DuckDB result column stands for. A naive TIMESTAMP is BigQuery's DATETIME —
 * not an instant — so it does not pass for TIMESTAMP; DECIMAL passes for NUMERIC only at scale ≤ 9.
 */
export function duckFamily(type: DuckDBType): string {
  switch (type.typeId) {
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return 'INT64';
    case DuckDBTypeId.BOOLEAN:
      return 'BOOL';
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return 'FLOAT64';
    case DuckDBTypeId.VARCHAR:
      return 'STRING';
    case DuckDBTypeId.BLOB:
      return 'BYTES';
    case DuckDBTypeId.DATE:
      return 'DATE';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'TIMESTAMP';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'DATETIME';
    case DuckDBTypeId.DECIMAL:
      return 'NUMERIC';
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return `ARRAY<${duckFamily((type as unknown as { valueType: DuckDBType }).valueType)}>`;
    default:
      return `DUCKDB_${type.toString()}`;
  }
}

// ---------------------------------------------------------------- result sets

export interface ResultSet {
  /** Column names and BigQuery types, in select order. */
  columns: { name: string; type: string }[];
  /** Rows as objects keyed by column name, sorted by their canonical text. */
  rows: Record<string, Cell>[];
}

const cellText = (c: Cell): string => JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** Sorts rows so that two engines' unordered results compare equal. */
export function sortRows(rows: Record<string, Cell>[], columns: string[]): Record<string, Cell>[] {
  const keyed = rows.map((r) => ({ r, k: cellText(columns.map((c) => r[c] ?? null)) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((x) => x.r);
}
