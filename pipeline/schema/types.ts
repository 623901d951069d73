// The one schema source: every table is declared once here, and both the BigQuery DDL / cdktf
// table resources and the DuckDB tables are derived from these declarations.

export type ColumnType = 'STRING' | 'INT64' | 'NUMERIC' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP' | 'DATE';
export type ColumnMode = 'REQUIRED' | 'NULLABLE' | 'REPEATED';

export interface Column {
  name: string;
  type: ColumnType;
  mode: ColumnMode;
  description: string;
}

export interface TableDef {
  /** `dataset.table`, e.g. `raw.events`. */
  id: `${string}.${string}`;
  description: string;
  columns: Column[];
  /** BigQuery DAY partitioning: a DATE column, or DATE(<timestamp column>). */
  partition?: { column: string; granularity: 'DAY' };
  clustering?: string[];
  requirePartitionFilter?: boolean;
  /** Unique key of a row; checked by assertions and used by idempotent writes. */
  uniqueKey: string[];
}

export const req = (name: string, type: ColumnType, description: string): Column => ({ name, type, mode: 'REQUIRED', description });
export const opt = (name: string, type: ColumnType, description: string): Column => ({ name, type, mode: 'NULLABLE', description });
export const rep = (name: string, type: ColumnType, description: string): Column => ({ name, type, mode: 'REPEATED', description });
