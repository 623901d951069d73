// Offline analysis of the sql/ files by ZetaSQL, the front end of BigQuery: every file is one
// statement, analyzed on its own against a catalog of the schema's tables plus the views the
// other files create (views are added in waves, so a view over a view resolves too). Errors come
// back as `sql/marts/x.sql:LINE:COL message`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AnalyzeResponse__Output } from '@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/AnalyzeResponse.js';
import type { TypeProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js';
import { catalogTable, loadSchemaTables, registerCatalog, REPO_ROOT, type CatalogTable } from './catalog.js';
import { analyzerOptions, BIGQUERY_LANGUAGE, zetaSql } from './server.js';

export interface SqlFile {
  /** Path relative to the repository root, with `/` separators, e.g. `sql/marts/x.sql`. */
  path: string;
  sql: string;
}

/** Every `.sql` file under sql/, sorted by path. Synchronous so mocha can make one `it` per file. */
export function listSqlFiles(root = path.join(REPO_ROOT, 'sql')): SqlFile[] {
  const out: SqlFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.sql')) out.push({ path: path.relative(REPO_ROOT, full).split(path.sep).join('/'), sql: readFileSync(full, 'utf8') });
    }
  };
  walk(root);
  return out;
}

export interface AnalysisError {
  line: number;
  column: number;
  message: string;
}

export type AnalysisResult = { ok: true; statement: AnalyzeResponse__Output } | { ok: false; error: AnalysisError };

/** `Unrecognized name: x [at 2:3]` → { line: 2, column: 3, message: 'Unrecognized name: x' }. */
export function parseZetaError(details: string): AnalysisError {
  const m = /^(.*?)\s*\[at (\d+):(\d+)\]\s*$/s.exec(details);
  return m ? { line: Number(m[2]), column: Number(m[3]), message: m[1]! } : { line: 1, column: 1, message: details };
}

export function formatAnalysisError(file: string, error: AnalysisError): string {
  return `${file}:${error.line}:${error.column} ${error.message}`;
}

/**
 * Each file's analysis, in order: 'ok', or its error as `file:line:column message`. Asserting it equals
 * `files.map(() => 'ok')` names every statement that does not analyze.
 */
export async function analysisOutcomes(files: SqlFile[]): Promise<string[]> {
  const analysis = await analyzeSqlFiles(files);
  return files.map((f) => {
    const r = analysis.results.get(f.path);
    return r?.ok ? 'ok' : r ? formatAnalysisError(f.path, r.error) : 'missing';
  });
}

/** A single trailing `;` is allowed in a file; ZetaSQL's single-statement analysis is not. */
export function statementText(sql: string): string {
  return sql.replace(/;\s*$/, '');
}

export async function analyzeStatement(sql: string, catalogId: string): Promise<AnalysisResult> {
  const zs = await zetaSql();
  try {
    const statement = await zs.call('analyze', { options: analyzerOptions(), registeredCatalogId: catalogId, sqlStatement: statementText(sql) });
    return { ok: true, statement };
  } catch (err) {
    const details = (err as { details?: string }).details;
    if (typeof details !== 'string' || (err as { code?: number }).code !== 3) throw err;
    return { ok: false, error: parseZetaError(details) };
  }
}

/** Full ids (`dataset.table`) of the tables a statement reads or writes. */
export async function tableNames(sql: string): Promise<string[]> {
  const zs = await zetaSql();
  const res = await zs.call('extractTableNamesFromStatement', { sqlStatement: statementText(sql), options: BIGQUERY_LANGUAGE });
  return res.tableName.map((t) => t.tableNameSegment.join('.'));
}

interface ViewColumn {
  name: string;
  column: { type: TypeProto } | null;
}

/** The view a CREATE VIEW statement defines: its id and output columns; undefined otherwise. */
export function createdView(result: AnalysisResult): CatalogTable | undefined {
  if (!result.ok) return undefined;
  const create = result.statement.resolvedStatement as unknown as {
    resolvedCreateStatementNode?: {
      resolvedCreateViewBaseNode?: {
        resolvedCreateViewStmtNode?: { parent: { parent: { namePath: string[] }; outputColumnList: ViewColumn[] } };
      };
    };
  };
  const view = create.resolvedCreateStatementNode?.resolvedCreateViewBaseNode?.resolvedCreateViewStmtNode?.parent;
  if (!view) return undefined;
  return {
    id: view.parent.namePath.join('.'),
    columns: view.outputColumnList.map((c) => ({ name: c.name, type: c.column!.type })),
  };
}

export interface SqlAnalysis {
  results: Map<string, AnalysisResult>;
  /** Views created by the files, in creation order. */
  views: CatalogTable[];
  /** Statement text of each view, by view id. */
  viewSql: Map<string, string>;
  /** The final catalog (schema tables and every view). */
  catalogId: string;
  /** Catalog registrations it took (one per wave of views). */
  registrations: number;
}

/**
 * Analyzes every file. A file that reads a view another file creates waits for that view; files
 * are analyzed in waves, the catalog re-registered once per wave with the views found so far.
 */
export async function analyzeSqlFiles(files: SqlFile[]): Promise<SqlAnalysis> {
  const schema = (await loadSchemaTables()).map(catalogTable);
  const known = new Set(schema.map((t) => t.id));
  const results = new Map<string, AnalysisResult>();
  const views: CatalogTable[] = [];
  const viewSql = new Map<string, string>();

  // Which files create which view, and which tables each file reads (parse only, no catalog).
  const refs = new Map<string, string[]>();
  const creates = new Map<string, string>();
  for (const f of files) {
    try {
      refs.set(f.path, await tableNames(f.sql));
    } catch (err) {
      const details = (err as { details?: string }).details;
      if (typeof details !== 'string') throw err;
      results.set(f.path, { ok: false, error: parseZetaError(details) });
      continue;
    }
    const m = /^\s*(?:--[^\n]*\n|\/\*[\s\S]*?\*\/|\s)*create\s+(?:or\s+replace\s+)?(?:materialized\s+)?view\s+(?:if\s+not\s+exists\s+)?`?([\w-]+(?:\.[\w-]+)+)`?/i.exec(f.sql);
    if (m) creates.set(m[1]!, f.path);
  }

  let pending = files.filter((f) => !results.has(f.path));
  let catalogId = await registerCatalog(schema);
  let registrations = 1;
  while (pending.length > 0) {
    // Ready: every table it reads that some file creates is already in the catalog.
    const ready = pending.filter((f) => (refs.get(f.path) ?? []).every((t) => known.has(t) || !creates.has(t) || creates.get(t) === f.path));
    // A cycle (or a view that failed) leaves files never ready: analyze them anyway to report.
    const batch = ready.length > 0 ? ready : pending;
    const added: CatalogTable[] = [];
    for (const f of batch) {
      const result = await analyzeStatement(f.sql, catalogId);
      results.set(f.path, result);
      const view = createdView(result);
      if (view) {
        added.push(view);
        viewSql.set(view.id, f.sql);
      }
    }
    pending = pending.filter((f) => !batch.includes(f));
    if (added.length > 0) {
      views.push(...added);
      for (const v of added) known.add(v.id);
      catalogId = await registerCatalog([...schema, ...views]);
      registrations += 1;
    }
    if (ready.length === 0) {
      // Files waiting on views that failed: they were analyzed above, against what exists.
      pending = [];
    }
  }
  return { results, views, viewSql, catalogId, registrations };
}
