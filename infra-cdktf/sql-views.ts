// Views deployed from sql/: the files say `create or replace view <dataset>.<name> as <query>`;
// Terraform wants the query alone, with every table project-qualified (a view's unqualified
// references would resolve against whichever project runs the query).
const DATASETS = ['raw', 'staging', 'marts', 'reporting', 'dims'];

export interface ViewDef {
  dataset: string;
  name: string;
  query: string;
  /** Datasets the query reads, for authorizing the view on them. */
  reads: string[];
}

const TABLE_REF = new RegExp(`\\b(from|join)(\\s+)\`?(${DATASETS.join('|')})\\.([A-Za-z_][A-Za-z0-9_]*)\`?`, 'gi');

export function viewFromSql(file: string, sql: string, projectId: string): ViewDef {
  const m = /^(?:\s*--[^\n]*\n|\s*\n)*\s*create\s+(?:or\s+replace\s+)?view\s+`?([a-z_]+)\.([A-Za-z_][A-Za-z0-9_]*)`?\s+as\s+([\s\S]*)$/i.exec(sql);
  if (!m) throw new Error(`${file}: expected "create or replace view <dataset>.<name> as <query>"`);
  const [, dataset, name, body] = m as unknown as [string, string, string, string];
  const reads = new Set<string>();
  const query = body.replace(/[\s;]+$/, '').replace(TABLE_REF, (_all, kw: string, space: string, ds: string, table: string) => {
    reads.add(ds.toLowerCase());
    return `${kw}${space}\`${projectId}.${ds.toLowerCase()}.${table}\``;
  });
  return { dataset, name, query, reads: [...reads].sort() };
}
