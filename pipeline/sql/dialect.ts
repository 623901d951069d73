// BigQuery Standard SQL → DuckDB: the small, tested rewrite list that lets the local runtime execute
// the very files of sql/ (there is no second copy of any mart). It is a scanner, not a parser: it
// skips strings, comments and quoted identifiers, rewrites a handful of function calls (arguments
// first, so calls nest), parameters, types and `* except`. Anything the list does not know passes
// through unchanged; sql/ keeps to constructs that both engines accept or that are listed here.
//
// DuckDB connections that run the output must use `SET TimeZone = 'UTC'`: BigQuery truncates
// timestamps in UTC, DuckDB in the session time zone.

type CallRule = (args: string[], name: string) => string;

const UNIT = /^(microsecond|millisecond|second|minute|hour|day|week|month|quarter|year)$/i;

/** `INTERVAL <expr> <unit>` → DuckDB `INTERVAL (<expr>) <unit>` (DuckDB wants a literal or a parenthesized expression). */
function interval(arg: string): { amount: string; unit: string } {
  const m = /^interval\s+([\s\S]+?)\s+([a-z_]+)$/i.exec(arg.trim());
  if (!m || !UNIT.test(m[2]!)) throw new Error(`expected INTERVAL <n> <unit>, got: ${arg.trim()}`);
  return { amount: m[1]!.trim(), unit: m[2]!.toUpperCase() };
}
const intervalSql = (arg: string): string => {
  const { amount, unit } = interval(arg);
  return /^\d+$/.test(amount) ? `INTERVAL ${amount} ${unit}` : `INTERVAL (${amount}) ${unit}`;
};

function arity(name: string, args: string[], ...allowed: number[]): void {
  if (!allowed.includes(args.length)) throw new Error(`${name.toUpperCase()} with ${args.length} arguments is not supported by the dialect layer`);
}

const shift = (op: '+' | '-', cast?: string): CallRule => (args, name) => {
  arity(name, args, 2);
  const expr = `((${args[0]}) ${op} ${intervalSql(args[1]!)})`;
  return cast ? `CAST(${expr} AS ${cast})` : expr;
};

const CALLS: Record<string, CallRule> = {
  timestamp_trunc: (args, name) => {
    arity(name, args, 2);
    return `date_trunc('${args[1]!.toLowerCase()}', ${args[0]})`;
  },
  date_trunc: (args, name) => {
    arity(name, args, 2);
    return `CAST(date_trunc('${args[1]!.toLowerCase()}', ${args[0]}) AS DATE)`;
  },
  safe_divide: (args, name) => {
    arity(name, args, 2);
    return `(CASE WHEN (${args[1]}) = 0 THEN NULL ELSE (${args[0]}) / (${args[1]}) END)`;
  },
  date: (args, name) => {
    arity(name, args, 1, 2, 3);
    if (args.length === 1) return `CAST(${args[0]} AS DATE)`;
    if (args.length === 2) return `CAST(((${args[0]}) AT TIME ZONE (${args[1]})) AS DATE)`;
    return `make_date(${args.join(',')})`;
  },
  datetime: (args, name) => {
    arity(name, args, 1, 2);
    return args.length === 1 ? `CAST(${args[0]} AS TIMESTAMP)` : `((${args[0]}) AT TIME ZONE (${args[1]}))`;
  },
  timestamp: (args, name) => {
    arity(name, args, 1, 2);
    return args.length === 1 ? `CAST(${args[0]} AS TIMESTAMPTZ)` : `(CAST(${args[0]} AS TIMESTAMP) AT TIME ZONE (${args[1]}))`;
  },
  timestamp_sub: shift('-'),
  timestamp_add: shift('+'),
  datetime_sub: shift('-'),
  datetime_add: shift('+'),
  date_sub: shift('-', 'DATE'),
  date_add: shift('+', 'DATE'),
  generate_timestamp_array: (args, name) => {
    arity(name, args, 3);
    return `generate_series(${args[0]}, ${args[1]}, ${intervalSql(args[2]!)})`;
  },
  generate_date_array: (args, name) => {
    arity(name, args, 2, 3);
    const step = args[2] ? intervalSql(args[2]) : 'INTERVAL 1 DAY';
    return `list_transform(generate_series(CAST(${args[0]} AS TIMESTAMP), CAST(${args[1]} AS TIMESTAMP), ${step}), lambda generated_day: CAST(generated_day AS DATE))`;
  },
  json_value: (args, name) => {
    arity(name, args, 1, 2);
    return `json_extract_string(${args[0]}, ${args[1] ?? `'$'`})`;
  },
  format_timestamp: (args, name) => {
    arity(name, args, 2, 3);
    const ts = args.length === 3 ? `((${args[1]}) AT TIME ZONE (${args[2]}))` : args[1];
    return `strftime(${ts}, ${args[0]})`;
  },
  current_timestamp: (args, name) => {
    arity(name, args, 0);
    return 'current_timestamp';
  },
  array_length: (args, name) => {
    arity(name, args, 1);
    return `len(${args[0]})`;
  },
  // BigQuery answers the regexp's one capturing group; DuckDB the whole match unless asked for group 1.
  // (No match: BigQuery NULL, DuckDB ''; sql/ keeps to patterns that always match, or wraps in nullif.)
  regexp_extract: (args, name) => {
    arity(name, args, 2);
    return `regexp_extract(${args[0]}, ${args[1]}, 1)`;
  },
  // Only microseconds: BigQuery truncates the difference toward zero, DuckDB counts unit boundaries
  // crossed, and the two agree only for the smallest unit.
  timestamp_diff: (args, name) => {
    arity(name, args, 3);
    if (args[2]!.toLowerCase() !== 'microsecond') throw new Error('TIMESTAMP_DIFF is supported by the dialect layer in MICROSECOND only');
    return `date_diff('microsecond', ${args[1]}, ${args[0]})`;
  },
  // A 64-bit fingerprint of a string: only ever compared with fingerprints the same engine made.
  farm_fingerprint: (args, name) => {
    arity(name, args, 1);
    return `CAST(hash(${args[0]}) >> 1 AS BIGINT)`;
  },
  // Microseconds since the epoch (a BIGINT in both engines): bucketing instants without a time zone.
  unix_micros: (args, name) => {
    arity(name, args, 1);
    return `epoch_us(${args[0]})`;
  },
  // Integer division; both engines truncate toward zero (BigQuery DIV(-20, 3) = -6, DuckDB -20 // 3 = -6).
  div: (args, name) => {
    arity(name, args, 2);
    return `((${args[0]}) // (${args[1]}))`;
  },
  logical_or: (args) => `bool_or(${args.join(',')})`,
  logical_and: (args) => `bool_and(${args.join(',')})`,
};

const TYPES: Record<string, string> = {
  // Bare NUMERIC is DECIMAL(18,3) in DuckDB: silent rounding. BigQuery NUMERIC is (38, 9).
  numeric: 'DECIMAL(38,9)',
  float64: 'DOUBLE',
};

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdent = (c: string): boolean => /[A-Za-z0-9_]/.test(c);

/** Index just past a string, comment or quoted identifier starting at i, or -1 if none starts there. */
function skipOpaque(sql: string, i: number): number {
  const c = sql[i]!;
  if (c === "'" || c === '"') {
    let j = i + 1;
    while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return -1;
}

/** Splits the argument list of the call whose '(' is at `open`; returns the args and the index after ')'. */
function readArgs(sql: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < sql.length; ) {
    const skip = skipOpaque(sql, i);
    if (skip >= 0) {
      i = skip;
      continue;
    }
    const c = sql[i]!;
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      depth--;
      if (depth === 0) {
        const last = sql.slice(start, i);
        if (args.length > 0 || last.trim() !== '') args.push(last);
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push(sql.slice(start, i));
      start = i + 1;
    }
    i++;
  }
  throw new Error('unbalanced parentheses in SQL');
}

function prevNonSpace(out: string): string {
  const m = /(\S)\s*$/.exec(out);
  return m ? m[1]! : '';
}

/** Translates one statement (or several) of BigQuery SQL into DuckDB SQL. */
export function toDuckDb(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const skip = skipOpaque(sql, i);
    if (skip >= 0) {
      out += sql.slice(i, skip);
      i = skip;
      continue;
    }
    const c = sql[i]!;
    if (c === '`') {
      const end = sql.indexOf('`', i + 1);
      if (end < 0) throw new Error('unterminated quoted identifier');
      // `project.dataset.table` → dataset.table: DuckDB has no projects and rejects backticks.
      const parts = sql.slice(i + 1, end).split('.');
      out += parts.slice(-2).join('.');
      i = end + 1;
      continue;
    }
    if (c === '@' && isIdentStart(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && isIdent(sql[j]!)) j++;
      out += '$' + sql.slice(i + 1, j);
      i = j;
      continue;
    }
    if (isIdentStart(c) && !isIdent(sql[i - 1] ?? ' ')) {
      let j = i;
      while (j < sql.length && isIdent(sql[j]!)) j++;
      const word = sql.slice(i, j);
      const lower = word.toLowerCase();
      let k = j;
      while (k < sql.length && /\s/.test(sql[k]!)) k++;
      const qualified = sql[i - 1] === '.';
      const rule = CALLS[lower];
      if (rule && sql[k] === '(' && !qualified) {
        const { args, end } = readArgs(sql, k);
        out += rule(args.map((a) => toDuckDb(a).trim()), lower);
        i = end;
        continue;
      }
      if (lower === 'unnest' && sql[k] === '(' && !qualified && /\bin\s*$/i.test(out)) {
        // BigQuery `x in unnest(@list)` (a filter BigQuery can prune clusters by); DuckDB's unnest there would return rows.
        const { end } = readArgs(sql, k);
        out += `(SELECT unnest${toDuckDb(sql.slice(k, end))})`;
        i = end;
        continue;
      }
      if (lower === 'unnest' && sql[k] === '(' && !qualified) {
        const { end } = readArgs(sql, k);
        out += word + toDuckDb(sql.slice(k, end));
        i = end;
        // BigQuery `unnest(x) as v` names the column v; DuckDB names the table, so give it `v(v)`.
        const alias = /^\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()/i.exec(sql.slice(i));
        if (alias) {
          out += `${alias[0]}(${alias[1]})`;
          i += alias[0].length;
        }
        continue;
      }
      if (lower === 'except' && prevNonSpace(out) === '*') {
        out += 'EXCLUDE';
        i = j;
        continue;
      }
      if (TYPES[lower] && !qualified) {
        out += lower === 'numeric' && sql[k] === '(' ? 'DECIMAL' : TYPES[lower];
        i = j;
        continue;
      }
      out += word;
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/**
 * The mart statements of sql/marts replace a window: `merge into T as target using (Q) as rebuilt on
 * false when not matched by source and <window> then delete when not matched then insert (…) values
 * (…)`. With a join condition of false every rebuilt row is inserted and every target row inside the
 * window deleted, which is a DELETE of the window and an INSERT of Q in one transaction. DuckDB plans
 * the MERGE as a nested-loop join of the whole target against Q (cost: mart size × window rows), so
 * the local warehouse (adapters/local/warehouse.ts) runs the equivalent pair instead; BigQuery keeps
 * the MERGE. Applied to SQL already translated by toDuckDb.
 */
const WINDOW_MERGE =
  /^\s*((?:--[^\n]*\n\s*)*)merge\s+into\s+([\w.]+)\s+as\s+target\s+using\s+\(([\s\S]*)\)\s+as\s+rebuilt\s+on\s+false\s+when\s+not\s+matched\s+by\s+source\s+and\s+([\s\S]+?)\s+then\s+delete\s+when\s+not\s+matched\s+then\s+insert\s*\(([^()]*)\)\s*values\s*\(([^()]*)\)\s*;?\s*$/i;

export function windowReplace(sql: string): { remove: string; insert: string } | undefined {
  const m = WINDOW_MERGE.exec(sql);
  if (!m) return undefined;
  const [, , table, query, window, columns, values] = m as unknown as [string, string, string, string, string, string, string];
  return {
    remove: `DELETE FROM ${table} AS target WHERE ${window.trim()}`,
    insert: `INSERT INTO ${table} (${columns.trim()}) SELECT ${values.trim()} FROM (${query.trim()}) AS rebuilt`,
  };
}
