// ZetaSQL catalogs built from the one schema source (every TableDef exported by
// pipeline/schema/*.ts), so the SQL is checked against the same columns that create the tables.
//
// Each table appears twice: nested (`raw` → `events`, how `raw.events` resolves) and at the top
// level under its full id (how `` `raw.events` `` resolves — BigQuery treats both spellings as one
// table, ZetaSQL does not). Only top-level tables can carry rows, so evaluation addresses tables as
// `` `raw.events` `` (see toEvaluationSql).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SimpleCatalogProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/SimpleCatalogProto.js';
import type { SimpleTableProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/SimpleTableProto.js';
import type { TypeProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js';
import type { TableContent } from '@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/TableContent.js';
import type { Column, ColumnType, TableDef } from '../../../pipeline/schema/types.js';
import { BIGQUERY_LANGUAGE, zetaSql } from './server.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const SCALAR_KINDS: Record<ColumnType, TypeProto['typeKind']> = {
  STRING: 'TYPE_STRING',
  INT64: 'TYPE_INT64',
  NUMERIC: 'TYPE_NUMERIC',
  FLOAT64: 'TYPE_DOUBLE',
  BOOL: 'TYPE_BOOL',
  TIMESTAMP: 'TYPE_TIMESTAMP',
  DATE: 'TYPE_DATE',
};

export function zetaType(column: Pick<Column, 'type' | 'mode'>): TypeProto {
  const scalar: TypeProto = { typeKind: SCALAR_KINDS[column.type] };
  return column.mode === 'REPEATED' ? { typeKind: 'TYPE_ARRAY', arrayType: { elementType: scalar } } : scalar;
}

/** A table as the catalog sees it: a full id and typed columns (schema tables and views alike). */
export interface CatalogTable {
  id: string;
  columns: { name: string; type: TypeProto }[];
}

export function catalogTable(def: TableDef): CatalogTable {
  return { id: def.id, columns: def.columns.map((c) => ({ name: c.name, type: zetaType(c) })) };
}

function isTableDef(value: unknown): value is TableDef {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TableDef).id === 'string' &&
    Array.isArray((value as TableDef).columns) &&
    Array.isArray((value as TableDef).uniqueKey)
  );
}

let schemaTables: Promise<TableDef[]> | undefined;

/**
 * Every TableDef exported by a module of pipeline/schema, found by shape so that a new schema
 * module (or list) is picked up without touching the harness.
 */
export function loadSchemaTables(): Promise<TableDef[]> {
  schemaTables ??= (async () => {
    const dir = path.join(REPO_ROOT, 'pipeline', 'schema');
    const byId = new Map<string, TableDef>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()) {
      const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as Record<string, unknown>;
      for (const value of Object.values(mod)) {
        for (const candidate of Array.isArray(value) ? value : [value]) {
          if (isTableDef(candidate)) byId.set(candidate.id, candidate);
        }
      }
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  })();
  return schemaTables;
}

function simpleTable(name: string, table: CatalogTable): SimpleTableProto {
  return { name, fullName: table.id, column: table.columns.map((c) => ({ name: c.name, type: c.type })) };
}

/** A catalog with every table nested by dataset and, under its full id, at the top level. */
export function buildCatalog(tables: CatalogTable[]): SimpleCatalogProto {
  const datasets = new Map<string, SimpleTableProto[]>();
  for (const t of tables) {
    const [dataset, name] = t.id.split('.') as [string, string | undefined];
    // a name without a dataset (a script's temporary table) lives at the top level only
    if (name === undefined) continue;
    datasets.set(dataset, [...(datasets.get(dataset) ?? []), simpleTable(name, t)]);
  }
  return {
    name: 'tillstream',
    builtinFunctionOptions: { languageOptions: BIGQUERY_LANGUAGE },
    table: tables.map((t) => simpleTable(t.id, t)),
    catalog: [...datasets].map(([name, table]) => ({ name, table })),
  };
}

/** Registers a catalog (with rows for its top-level tables, if given); returns its id. */
export async function registerCatalog(tables: CatalogTable[], content: Record<string, TableContent> = {}): Promise<string> {
  const zs = await zetaSql();
  const res = await zs.call('registerCatalog', { simpleCatalog: buildCatalog(tables), tableContent: content });
  return res.registeredId.toString();
}

/**
 * Rewrites `dataset.table` references of known tables to `` `dataset.table` `` so evaluation reads
 * the top-level tables that carry rows. Only exact known ids outside quotes and identifiers
 * are touched; `alias.column` never matches a table id.
 */
export function toEvaluationSql(sql: string, tableIds: Iterable<string>): string {
  const ids = [...tableIds].sort((a, b) => b.length - a.length);
  if (ids.length === 0) return sql;
  const pattern = new RegExp(`(?<![\\w.\`])(${ids.map((id) => id.replace('.', '\\s*\\.\\s*')).join('|')})(?![\\w\`])`, 'gi');
  return mapOutsideLiterals(sql, (code) => code.replace(pattern, (m) => `\`${m.replace(/\s+/g, '')}\``));
}

/** Applies fn to the parts of sql that are not string literals, quoted identifiers or comments. */
function mapOutsideLiterals(sql: string, fn: (code: string) => string): string {
  const token = /('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)/g;
  let out = '';
  let last = 0;
  for (const m of sql.matchAll(token)) {
    out += fn(sql.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + fn(sql.slice(last));
}
