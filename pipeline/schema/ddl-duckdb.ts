// DuckDB DDL derived from the one schema source, for the local warehouse. BigQuery types map to
// the DuckDB types that keep their meaning: TIMESTAMP is an instant (TIMESTAMPTZ, read in a UTC
// session), NUMERIC keeps BigQuery's 38 digits and 9 decimals (bare DuckDB NUMERIC would round to
// 3 decimals), REPEATED becomes a list. Dataset `raw` becomes DuckDB schema `raw`.
import type { Column, ColumnType, TableDef } from './types.js';

export const DUCKDB_TYPES: Record<ColumnType, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  NUMERIC: 'DECIMAL(38,9)',
  FLOAT64: 'DOUBLE',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  DATE: 'DATE',
};

export function duckdbColumnType(column: Pick<Column, 'type' | 'mode'>): string {
  const base = DUCKDB_TYPES[column.type];
  return column.mode === 'REPEATED' ? `${base}[]` : base;
}

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** `raw.events` → `raw.events` with each part quoted. */
export function duckdbTableName(table: Pick<TableDef, 'id'>): string {
  const [schema, name] = table.id.split('.') as [string, string];
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Statements that create the table (and its schema) if missing. No key constraints: uniqueness is
 * kept by the writers (dedupe index, window overwrite) and checked by assertions, as in BigQuery,
 * and DuckDB's unique indexes would slow bulk loads.
 */
export function duckdbDdl(table: TableDef): string {
  const [schema] = table.id.split('.') as [string, string];
  const columns = table.columns.map((c) => {
    // A REPEATED column is never NULL in BigQuery (empty array instead); REQUIRED means NOT NULL.
    const notNull = c.mode === 'REQUIRED' ? ' NOT NULL' : '';
    return `  ${quoteIdent(c.name)} ${duckdbColumnType(c)}${notNull}`;
  });
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};\nCREATE TABLE IF NOT EXISTS ${duckdbTableName(table)} (\n${columns.join(',\n')}\n);`;
}
