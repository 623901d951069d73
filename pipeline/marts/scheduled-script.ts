// The BigQuery script of the hourly scheduled query (at :05): the statements of the manifest, in
// order, each bound to the run's window with EXECUTE IMMEDIATE … USING (each statement stays a
// single file that ZetaSQL analyzes on its own; the script only adds the run's bookkeeping).
// BigQuery rebuilds one contiguous window: from the earliest hour touched by arrivals since the
// previous run (or the two latest hours, or the oldest hour a skipped run left provisional) up to
// the hour in progress, which it never builds. The local runner (runner.ts) computes finer
// windows from the same arrivals; both are idempotent, so the results are the same rows.
import { ASSERTIONS, MARTS, readSql } from './manifest.js';

const quote = (sql: string): string => {
  if (sql.includes('"""')) throw new Error('a statement of sql/ contains """ and cannot be embedded in the scheduled script');
  return `"""\n${sql.trim()}\n"""`;
};

/** The script text; `project` qualifies nothing (datasets resolve in the scheduled query's project). */
export function scheduledScript(): string {
  const lines: string[] = [
    '-- Tillstream hourly mart run. Generated from pipeline/marts/manifest.ts; do not edit by hand.',
    'declare run_id string default generate_uuid();',
    'declare started_at timestamp default current_timestamp();',
    'declare current_hour timestamp default timestamp_trunc(started_at, hour);',
    'declare arrivals_since timestamp default (',
    "  select coalesce(max(arrivals_through), timestamp '1970-01-01') from marts.mart_runs where kind = 'scheduled'",
    ');',
    'declare provisional_from timestamp default (',
    "  select coalesce(max(finalized_through), current_hour) from marts.mart_runs where kind = 'scheduled'",
    ');',
    'declare window_start timestamp default (',
    '  select least(',
    '    coalesce(min(event_hour), current_hour),',
    '    timestamp_sub(current_hour, interval 2 hour),',
    '    provisional_from',
    '  )',
    '  from raw.arrivals',
    '  where received_at >= arrivals_since and received_at < started_at',
    ');',
    'declare bad_rows int64;',
    '',
  ];
  for (const m of MARTS) {
    lines.push(`-- ${m.stem}`);
    lines.push(`execute immediate ${quote(readSql(m.file))}`);
    lines.push('using window_start as window_start, current_hour as window_end;');
    for (const a of ASSERTIONS.filter((x) => x.mart === m.stem)) {
      lines.push(`execute immediate ${quote(`select count(*) from (\n${readSql(a.file).trim()}\n)`)}`);
      lines.push('into bad_rows using window_start as window_start, current_hour as window_end;');
      lines.push(`if bad_rows > 0 then raise using message = format('${a.stem}: %d bad rows', bad_rows); end if;`);
    }
    lines.push(
      'insert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, arrivals_through, finalized_through)',
      `values (run_id, 'scheduled', '${m.stem}', window_start, current_hour, started_at, current_timestamp(), started_at, current_hour);`,
      '',
    );
  }
  return lines.join('\n');
}
