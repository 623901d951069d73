// Pieces of the sql/ statements the two-engine check runs on its own: the SELECT that feeds a
// mart's MERGE (the reference evaluator cannot run MERGE; the SELECT holds all the logic, the MERGE
// only swaps the window's rows) and the SELECT of a CREATE VIEW.

/** Index just past a string literal, comment or quoted identifier starting at i; -1 if none starts there. */
function skipOpaque(sql: string, i: number): number {
  const c = sql[i]!;
  if (c === "'" || c === '"' || c === '`') {
    let j = i + 1;
    while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if ((c === '-' && sql[i + 1] === '-') || c === '#') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return -1;
}

/** Index of the `)` that closes the `(` at `open`. */
function closingParen(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; ) {
    const skip = skipOpaque(sql, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    if (sql[i] === '(') depth++;
    else if (sql[i] === ')' && --depth === 0) return i;
    i++;
  }
  throw new Error('unbalanced parentheses');
}

/** Position of the first keyword `word` outside literals and comments, at or after `from`. */
function findKeyword(sql: string, word: string, from = 0): number {
  const re = new RegExp(`^${word}(?![A-Za-z0-9_])`, 'i');
  for (let i = from; i < sql.length; ) {
    const skip = skipOpaque(sql, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    if (!/[A-Za-z0-9_]/.test(sql[i - 1] ?? ' ') && re.test(sql.slice(i, i + word.length + 1))) return i;
    i++;
  }
  return -1;
}

/** The subquery of `MERGE … USING ( <select> ) AS s ON …`. */
export function mergeSourceSelect(sql: string): string {
  const merge = findKeyword(sql, 'merge');
  const using = merge < 0 ? -1 : findKeyword(sql, 'using', merge);
  if (using < 0) throw new Error('not a MERGE … USING (…) statement');
  const open = sql.indexOf('(', using);
  if (open < 0 || sql.slice(using + 5, open).trim() !== '') throw new Error('MERGE source is not a parenthesized query');
  return sql.slice(open + 1, closingParen(sql, open)).trim();
}

const CREATE_VIEW = /^\s*create\s+(?:or\s+replace\s+)?view\s+(?:if\s+not\s+exists\s+)?`?([\w-]+(?:\.[\w-]+)+)`?\s*(?:options\s*\([^)]*\)\s*)?as\s/i;

/** Strips leading comments so a statement's first keyword can be matched. */
function withoutLeadingComments(sql: string): string {
  return sql.replace(/^(?:\s+|--[^\n]*\n?|#[^\n]*\n?|\/\*[\s\S]*?\*\/)*/, '');
}

/** `{ id, select }` of a `CREATE [OR REPLACE] VIEW id AS <select>` statement; undefined otherwise. */
export function viewDefinition(sql: string): { id: string; select: string } | undefined {
  const body = withoutLeadingComments(sql);
  const m = CREATE_VIEW.exec(body);
  if (!m) return undefined;
  return { id: m[1]!.split('.').slice(-2).join('.'), select: body.slice(m[0].length).replace(/;\s*$/, '').trim() };
}

/** `@name` parameters a statement uses, outside literals and comments. */
export function parameterNames(sql: string): string[] {
  const names = new Set<string>();
  for (let i = 0; i < sql.length; ) {
    const skip = skipOpaque(sql, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i, i + 130));
    if (m) {
      names.add(m[1]!);
      i += m[0].length;
    } else i++;
  }
  return [...names];
}

/** The table a `MERGE [INTO] dataset.table` statement writes. */
export function mergeTarget(sql: string): string {
  const merge = findKeyword(sql, 'merge');
  const m = merge < 0 ? null : /^merge\s+(?:into\s+)?`?([\w-]+(?:\.[\w-]+)+)`?/i.exec(sql.slice(merge));
  if (!m) throw new Error('not a MERGE statement');
  return m[1]!.split('.').slice(-2).join('.');
}
