// The ZetaSQL side of the two-engine check: fixture rows registered as the contents of top-level
// catalog tables (once per content set), queries prepared and run by the reference evaluator.
import type { TableContent } from '@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/TableContent.js';
import type { ValueProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/ValueProto.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { catalogTable, registerCatalog, toEvaluationSql, zetaType, type CatalogTable } from './catalog.js';
import { QUERY_PARAMETERS, analyzerOptions, zetaSql } from './server.js';
import { fromZetaValue, isoToMicros, sortRows, toZetaValue, zetaFamily, type FixtureRow, type ResultSet } from './values.js';

/** A query result with the raw ZetaSQL values kept, so it can become another table's contents. */
export interface ZetaResult extends ResultSet {
  table: CatalogTable;
  content: TableContent;
}

/** Table contents from fixture rows, typed by the schema's column definitions. */
export function fixtureContent(def: TableDef, rows: FixtureRow[]): TableContent {
  const known = new Set(def.columns.map((c) => c.name));
  return {
    tableData: {
      row: rows.map((row) => {
        const unknown = Object.keys(row).filter((k) => !known.has(k));
        if (unknown.length) throw new Error(`fixture row for ${def.id} has unknown columns: ${unknown.join(', ')}`);
        return { cell: def.columns.map((c) => toZetaValue(c.type, c.mode === 'REPEATED', row[c.name], `${def.id}.${c.name}`)) };
      }),
    },
  };
}

export interface EvaluationCatalog {
  id: string;
  tables: CatalogTable[];
}

/**
 * Registers tables with contents: schema tables from fixture rows unless `tableContents` gives
 * theirs (a mart filled with its statement's result), views from earlier results.
 */
export async function registerEvaluationCatalog(
  defs: TableDef[],
  rows: Record<string, FixtureRow[]>,
  views: ZetaResult[] = [],
  tableContents: Record<string, TableContent> = {},
): Promise<EvaluationCatalog> {
  const content: Record<string, TableContent> = {};
  for (const def of defs) content[def.id] = tableContents[def.id] ?? fixtureContent(def, rows[def.id] ?? []);
  for (const v of views) content[v.table.id] = v.content;
  const tables = [...defs.map(catalogTable), ...views.map((v) => v.table)];
  return { id: await registerCatalog(tables, content), tables };
}

function paramValue(value: string | string[], name: string): ValueProto {
  if (Array.isArray(value)) return { arrayValue: { element: value.map((v) => ({ stringValue: v })) } };
  if (QUERY_PARAMETERS[name]?.typeKind === 'TYPE_STRING') return { stringValue: value };
  const micros = isoToMicros(value);
  const seconds = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
  return { timestampValue: { seconds: seconds.toString(), nanos: Number(micros - seconds * 1_000_000n) * 1000 } };
}

/**
 * Runs a query on the reference evaluator. `resultId` names the result when it is a view's rows
 * for a later catalog. Table references are rewritten to the top-level tables that hold rows.
 */
export async function evaluateZeta(
  catalog: EvaluationCatalog,
  sql: string,
  params: Record<string, string | string[]>,
  resultId = 'result.query',
): Promise<ZetaResult> {
  const zs = await zetaSql();
  const text = toEvaluationSql(sql, catalog.tables.map((t) => t.id));
  let prepared;
  try {
    prepared = await zs.call('prepareQuery', { sql: text, options: analyzerOptions(), registeredCatalogId: catalog.id });
  } catch (err) {
    throw new Error(`ZetaSQL could not prepare:\n${text}\n${(err as { details?: string }).details ?? String(err)}`, { cause: err });
  }
  const state = prepared.prepared!;
  try {
    const evaluated = await zs.call('evaluateQuery', {
      preparedQueryId: state.preparedQueryId,
      params: state.referencedParameters.map((name) => {
        const value = params[name];
        if (value === undefined) throw new Error(`no value for query parameter @${name}`);
        return { name, value: paramValue(value, name) };
      }),
    });
    const columns = state.columns.map((c) => ({ name: c.name, type: c.type! }));
    const raw = evaluated.content?.tableData?.row ?? [];
    const rows = raw.map((r) => Object.fromEntries(columns.map((c, i) => [c.name, fromZetaValue(c.type, r.cell[i]!)])));
    return {
      columns: columns.map((c) => ({ name: c.name, type: zetaFamily(c.type) })),
      rows: sortRows(rows, columns.map((c) => c.name)),
      table: { id: resultId, columns: columns.map((c) => ({ name: c.name, type: c.type })) },
      content: { tableData: { row: raw } },
    };
  } catch (err) {
    throw new Error(`ZetaSQL could not evaluate:\n${text}\n${(err as { details?: string }).details ?? (err as Error).message}`, { cause: err });
  } finally {
    await zs.call('unprepareQuery', { preparedQueryId: state.preparedQueryId });
  }
}

/**
 * A query result as the contents of a schema table: columns matched by name, in the table's order.
 * A column the table has and the result lacks is an error (the MERGE could not fill it).
 */
export function resultAsTableContent(result: ZetaResult, def: TableDef): TableContent {
  const index = new Map(result.table.columns.map((c, i) => [c.name, i]));
  const missing = def.columns.filter((c) => !index.has(c.name)).map((c) => c.name);
  if (missing.length) throw new Error(`result has no column ${missing.join(', ')} of ${def.id}`);
  // The table's cells must be of the table's types: a MERGE would coerce INT64 into FLOAT64 silently.
  const mismatched = def.columns
    .map((c) => ({ name: c.name, want: zetaFamily(zetaType(c)), got: zetaFamily(result.table.columns[index.get(c.name)!]!.type) }))
    .filter((c) => c.want !== c.got)
    .map((c) => `${c.name} is ${c.got}, the table says ${c.want}`);
  if (mismatched.length) throw new Error(`result does not fit ${def.id}: ${mismatched.join('; ')}`);
  const rows = result.content.tableData?.row ?? [];
  return { tableData: { row: rows.map((r) => ({ cell: def.columns.map((c) => r.cell![index.get(c.name)!]!) })) } };
}
