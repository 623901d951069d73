// BigQuery DDL generated from the one schema source: partitioning, clustering, required partition
// filters and descriptions come from the TableDefs, so the warehouse, the ZetaSQL catalog and the
// DuckDB tables never drift apart. Raw tables carry no partition expiration: reprocessing needs them.
import type { Column, TableDef } from './types.js';

/** A BigQuery string literal; descriptions may hold quotes. */
export function bqString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

export function bqColumnType(c: Column): string {
  return c.mode === 'REPEATED' ? `array<${c.type.toLowerCase()}>` : c.type.toLowerCase();
}

function columnDdl(c: Column): string {
  // REPEATED columns cannot be NOT NULL in BigQuery; an empty array stands for "none".
  const notNull = c.mode === 'REQUIRED' ? ' not null' : '';
  return `  ${c.name} ${bqColumnType(c)}${notNull} options (description = ${bqString(c.description)})`;
}

export function partitionExpression(t: TableDef): string | undefined {
  if (!t.partition) return undefined;
  const col = t.columns.find((c) => c.name === t.partition!.column);
  if (!col) throw new Error(`${t.id}: partition column ${t.partition.column} is not a column`);
  if (col.type === 'DATE') return col.name;
  if (col.type === 'TIMESTAMP') return `timestamp_trunc(${col.name}, day)`;
  throw new Error(`${t.id}: cannot partition by a ${col.type} column`);
}

/** `create table if not exists` for one table; `project` prefixes the dataset when given. */
export function createTableDdl(t: TableDef, opts: { project?: string } = {}): string {
  const name = opts.project ? `\`${opts.project}.${t.id}\`` : t.id;
  const lines = [`create table if not exists ${name} (`, t.columns.map(columnDdl).join(',\n'), ')'];
  const partition = partitionExpression(t);
  if (partition) lines.push(`partition by ${partition}`);
  if (t.clustering?.length) lines.push(`cluster by ${t.clustering.join(', ')}`);
  const options = [`description = ${bqString(t.description)}`];
  if (t.requirePartitionFilter) options.push('require_partition_filter = true');
  lines.push(`options (${options.join(', ')})`);
  return lines.join('\n');
}

/** One `create schema if not exists` per dataset, then one `create table` per table. */
export function bigQueryDdl(tables: TableDef[], opts: { project?: string } = {}): string[] {
  const datasets = [...new Set(tables.map((t) => t.id.split('.')[0]!))];
  return [
    ...datasets.map((d) => `create schema if not exists ${opts.project ? `\`${opts.project}.${d}\`` : d}`),
    ...tables.map((t) => createTableDdl(t, opts)),
  ];
}

// Every table of the deployment (raw, dims, marts), for DDL generation and the ZetaSQL catalog.
export { ALL_TABLES } from './marts.js';
