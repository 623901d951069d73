// The BigQuery script of the hourly scheduled query (at :05). It applies the rule of the local
// runner (windows.ts planCellWindows, runner.ts readRunInput) in SQL: each mart's watermark less the
// overlap, the (merchant, hour) cells touched by the arrivals received since, each mart's cells by
// its rule (hours; later hours of inventory and every merchant from @all_from; local days in every
// zone of the merchant; the same weekdays of the eight weeks after for promotion baselines, and the
// days of promotions announced in touched cells), grouped into windows of nearby partitions. Then
// each statement of the manifest runs per window with EXECUTE IMMEDIATE … USING the window's
// bounds and cell arrays as query parameters (each statement stays a single file that ZetaSQL
// analyzes on its own, and BigQuery prunes partitions on its parameters). Each window is recorded
// in marts.mart_runs just before its snapshot and rebuild, and the watermarks in one INSERT at the
// end: a run that fails part way moves no watermark, so the next run reads its arrivals again and no
// mart loses any, and the windows it did rebuild are exported, against its own snapshot, by the next
// export (export-log.ts) — the next run's snapshot of them would show no change. Each DML statement
// of a script commits on its own, so a failed script keeps its records and rebuilt windows
// (https://cloud.google.com/bigquery/docs/data-manipulation-language#limitations). Not a
// multi-statement transaction: the record-first rule is the local runner's too (runner.ts
// buildWindows), and a transaction would hold every window's DML of the run until its commit.
// https://cloud.google.com/bigquery/docs/multi-statement-queries (temporary tables, variables)
// https://cloud.google.com/bigquery/docs/reference/standard-sql/procedural-language (FOR…IN, EXECUTE IMMEDIATE)
import { DEFAULT_MART_CONFIG, type MartConfig } from './config.js';
import { ASSERTIONS, MARTS, assertionSql, readSql, type MartSpec } from './manifest.js';
import { BASELINE_WEEKS, WINDOW_ERA_DAYS } from './windows.js';
import { hasSeries, snapshotSql } from './changes.js';

/** Days the exporter's snapshots (marts.mart_run_rows) are kept: a run is exported within minutes, its job retried within hours. */
export const SNAPSHOT_DAYS = 7;

const quote = (sql: string): string => {
  if (sql.includes('"""')) throw new Error('a statement of sql/ contains """ and cannot be embedded in the scheduled script');
  return `"""\n${sql.trim()}\n"""`;
};

/** What each window binds, as the runner's martParams: a cell window rebuilds its cells, every merchant from all_from. */
const BINDINGS: Record<string, string> = {
  run_id: 'run_id',
  run_started_at: 'run_started_at',
  window_start: 'w.window_start',
  window_end: 'w.window_end',
  all_from: 'w.all_from',
  merchant_from: 'w.merchant_from',
  merchant_to: 'w.merchant_to',
  merchants: 'w.merchants',
  cells: 'w.cells',
  carry_from: 'w.window_start',
  horizon_start: 'timestamp_sub(w.window_start, interval run_horizon_days day)',
};

/** `using …` for the parameters a statement names. */
function using(sql: string): string {
  const names = Object.keys(BINDINGS).filter((n) => new RegExp(`@${n}(?![A-Za-z0-9_])`).test(sql));
  return `using ${names.map((n) => `${BINDINGS[n]} as ${n}`).join(', ')}`;
}

const HOUR_KEY = `format_timestamp('%Y-%m-%dT%H', h)`;
/** The local dates an hour overlaps in a zone (one, or two where the offset is not whole hours). */
const HOUR_DATES = (hour: string, zone: string) => `[date(${hour}, ${zone}), date(timestamp_add(${hour}, interval 3599999 millisecond), ${zone})]`;
/** A local-day cell's bounds: a day either side of its UTC date covers it in any zone; none reaches past the hour in progress. */
const DAY_CELL = (mart: string) => `select distinct '${mart}' as mart, merchant_id, concat(merchant_id, '|', cast(d as string)) as cell,
    timestamp_sub(timestamp(d), interval 1 day) as cell_start, least(timestamp_add(timestamp(d), interval 2 day), run_hour) as cell_end`;

/** Touched cells of a mart: arrivals received since its own watermark, before the hour in progress. */
const touchedFor = (mart: string) => `select t.merchant_id, t.event_hour
  from touched as t
  inner join watermarks as wm on wm.mart = '${mart}'
  where t.received_at >= wm.since and t.event_hour < run_hour`;

function cellsOf(m: MartSpec): string {
  switch (m.rebuild) {
    case 'hours':
      return `insert into cells
select '${m.stem}', merchant_id, concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_hour)), event_hour, timestamp_add(event_hour, interval 1 hour)
from (${touchedFor(m.stem)});`;
    case 'later_hours':
      return `insert into cells
select '${m.stem}', f.merchant_id, concat(f.merchant_id, '|', ${HOUR_KEY}), h, timestamp_add(h, interval 1 hour)
from (select merchant_id, min(event_hour) as first_hour from (${touchedFor(m.stem)}) group by merchant_id) as f
cross join unnest(generate_timestamp_array(f.first_hour, timestamp_sub(run_all_from, interval 1 hour), interval 1 hour)) as h;`;
    case 'local_days':
      return `insert into cells
${DAY_CELL(m.stem)}
from (
  select c.merchant_id, d
  from (${touchedFor(m.stem)}) as c
  left join zones as z on z.merchant_id = c.merchant_id
  cross join unnest(${HOUR_DATES('c.event_hour', "coalesce(z.time_zone, 'UTC')")}) as d
)
where timestamp_sub(timestamp(d), interval 14 hour) < run_hour;`;
    case 'baseline_days':
      return `insert into cells
${DAY_CELL(m.stem)}
from (
  select c.merchant_id, date_add(d0, interval 7 * k day) as d
  from (${touchedFor(m.stem)}) as c
  left join zones as z on z.merchant_id = c.merchant_id
  cross join unnest(${HOUR_DATES('c.event_hour', "coalesce(z.time_zone, 'UTC')")}) as d0
  cross join unnest(generate_array(0, ${BASELINE_WEEKS})) as k
  union all
  select p.merchant_id, d
  from promotions as p
  left join zones as z on z.merchant_id = p.merchant_id
  cross join unnest(generate_date_array(
    date(p.promo_starts_at, coalesce(z.time_zone, 'UTC')),
    date(timestamp_sub(p.promo_ends_at, interval 1 millisecond), coalesce(z.time_zone, 'UTC'))
  )) as d
)
where timestamp_sub(timestamp(d), interval 14 hour) < run_hour;`;
  }
}

/** A window's record, written just before its rebuild: no watermarks yet (the run's last statement writes them). */
const RECORD_WINDOW = `insert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, all_from, merchants, cells)
values (run_id, 'scheduled', w.mart, w.window_start, w.window_end, run_started_at, current_timestamp(), w.all_from, w.merchants, w.cells);`;

/** The script text; `config` gives the horizon and the arrivals overlap (as the runner's). */
export function scheduledScript(config: MartConfig = DEFAULT_MART_CONFIG): string {
  const stems = MARTS.map((m) => `'${m.stem}'`).join(', ');
  const inventory = MARTS.filter((m) => m.rebuild === 'later_hours').map((m) => `'${m.stem}'`).join(', ');
  const lines: string[] = [
    '-- Tillstream hourly mart run. Generated from pipeline/marts/manifest.ts; do not edit by hand.',
    'declare run_id string default generate_uuid();',
    'declare run_started_at timestamp default current_timestamp();',
    'declare run_hour timestamp default timestamp_trunc(run_started_at, hour);',
    `declare run_horizon_days int64 default ${config.horizonDays};`,
    'declare run_since timestamp default timestamp_sub(run_started_at, interval run_horizon_days day);',
    'declare run_arrivals_from timestamp;',
    'declare run_all_from timestamp;',
    'declare touched_from timestamp;',
    'declare touched_to timestamp;',
    'declare touched_merchants array<string>;',
    'declare bad_rows int64;',
    '',
    '-- Each mart\'s watermark less the overlap (a mart never run reads the horizon), and what it finalized.',
    'create temp table watermarks as',
    'select',
    '  mart,',
    `  coalesce(timestamp_sub(runs.arrivals_through, interval ${Math.round(config.arrivalsOverlapMs / 1000)} second), run_since) as since,`,
    '  runs.finalized_through',
    `from unnest([${stems}]) as mart`,
    'left join (',
    '  select mart as run_mart, max(arrivals_through) as arrivals_through, max(finalized_through) as finalized_through',
    '  from marts.mart_runs',
    "  where kind = 'scheduled' and arrivals_through is not null and started_at >= run_since",
    '  group by mart',
    ') as runs on runs.run_mart = mart;',
    'set run_arrivals_from = (select min(since) from watermarks);',
    '-- Inventory extends every merchant from here: the oldest finalized_through, at most two hours back.',
    'set run_all_from = (',
    '  select least(timestamp_sub(run_hour, interval 2 hour), coalesce(if(countif(finalized_through is null) = 0, min(finalized_through), null), run_hour))',
    '  from watermarks',
    ');',
    '',
    '-- The (merchant, hour) cells touched by arrivals since the oldest watermark, each with its newest receipt.',
    'create temp table touched as',
    'select merchant_id, event_hour, max(received_at) as received_at',
    'from raw.arrivals',
    'where received_at >= run_arrivals_from and received_at < run_started_at',
    'group by merchant_id, event_hour;',
    'set (touched_from, touched_to, touched_merchants) = (',
    '  select as struct min(event_hour), timestamp_add(max(event_hour), interval 1 hour), array_agg(distinct merchant_id)',
    '  from touched',
    ');',
    'create temp table zones as',
    'select distinct merchant_id, time_zone',
    'from (select merchant_id, time_zone from dims.merchants union all select merchant_id, time_zone from dims.stores);',
    '-- Promotions announced in touched cells: their days are rebuilt too.',
    'create temp table promotions as',
    'select e.merchant_id, e.promo_starts_at, e.promo_ends_at',
    'from staging.stg_events as e',
    "where e.event_type = 'promotion'",
    '  and e.event_ts >= touched_from',
    '  and e.event_ts < touched_to',
    '  and e.merchant_id in unnest(touched_merchants)',
    "  and concat(e.merchant_id, '|', format_timestamp('%Y-%m-%dT%H', e.event_ts)) in (",
    "    select concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_hour)) from touched",
    '  );',
    '',
    '-- Each mart\'s cells by its rule.',
    'create temp table cells (mart string, merchant_id string, cell string, cell_start timestamp, cell_end timestamp);',
    ...MARTS.map((m) => `-- ${m.stem}: ${m.rebuild}\n${cellsOf(m)}`),
    '',
    '-- Windows: cells less than a day apart share one (a statement per stretch of partitions), never across an era',
    `-- of ${WINDOW_ERA_DAYS} days (one job modifies at most 4,000 partitions; windows.ts WINDOW_ERA_DAYS). Inventory runs, in`,
    '-- this order: its touched merchants\' hours up to run_all_from (their merchant range only, a window per era),',
    '-- then every merchant from run_all_from to the hour in progress. A window rebuilds its cells only; every',
    '-- merchant from all_from (inventory\'s last window), or from two days past its end (nothing) otherwise.',
    'create temp table windows as',
    'with eras as (',
    `  select *, cast(floor(unix_date(date(cell_start)) / ${WINDOW_ERA_DAYS}) as int64) as era from cells`,
    '),',
    'ordered as (',
    '  select',
    '    *,',
    '    max(cell_end) over (partition by mart, era order by cell_start, cell_end rows between unbounded preceding and 1 preceding) as reach',
    `  from eras where mart not in (${inventory})`,
    '),',
    'islands as (',
    '  select',
    '    *,',
    '    countif(reach is null or cell_start > timestamp_add(reach, interval 1 day)) over (partition by mart, era order by cell_start, cell_end rows between unbounded preceding and current row) as island',
    '  from ordered',
    ')',
    'select',
    '  mart,',
    '  min(cell_start) as window_start,',
    '  max(cell_end) as window_end,',
    '  timestamp_add(max(cell_end), interval 2 day) as all_from,',
    '  array_agg(distinct merchant_id order by merchant_id) as merchants,',
    '  array_agg(distinct cell order by cell) as cells,',
    '  min(merchant_id) as merchant_from,',
    '  max(merchant_id) as merchant_to',
    'from islands',
    'group by mart, era, island',
    'union all',
    'select',
    '  mart,',
    '  min(cell_start),',
    '  max(cell_end),',
    '  timestamp_add(max(cell_end), interval 2 day),',
    '  array_agg(distinct merchant_id order by merchant_id),',
    '  array_agg(distinct cell order by cell),',
    '  min(merchant_id),',
    '  max(merchant_id)',
    `from eras where mart in (${inventory})`,
    'group by mart, era',
    'union all',
    'select',
    '  inventory_mart,',
    '  run_all_from,',
    '  run_hour,',
    '  run_all_from,',
    "  [''],",
    "  [''],",
    "  '',",
    '  code_points_to_string([1114111])',
    `from unnest([${inventory}]) as inventory_mart;`,
    '',
  ];
  for (const m of MARTS) {
    const sql = readSql(m.file);
    lines.push(`-- ${m.stem}`);
    lines.push(`for w in (select * from windows where mart = '${m.stem}' order by window_start) do`);
    // Recorded before it is rebuilt, without watermarks (as runner.ts buildWindows): a script that
    // stops anywhere after this leaves the window and its snapshot for the next export (export-log.ts).
    lines.push(RECORD_WINDOW);
    if (hasSeries(m)) {
      // The window's rows as they were, for the exporter to export only what the rebuild changed (changes.ts).
      const snapshot = snapshotSql(m.stem);
      lines.push(`execute immediate ${quote(snapshot)}`);
      lines.push(`${using(snapshot)};`);
    }
    lines.push(`execute immediate ${quote(sql)}`);
    lines.push(`${using(sql)};`);
    for (const a of ASSERTIONS.filter((x) => x.mart === m.stem)) {
      const check = `select count(*) from (\n${assertionSql(a).trim()}\n)`;
      lines.push(`execute immediate ${quote(check)}`);
      lines.push(`into bad_rows ${using(check)};`);
      lines.push(`if bad_rows > 0 then raise using message = format('${a.stem}: %d bad rows', bad_rows); end if;`);
    }
    lines.push('end for;', '');
  }
  lines.push(
    // Whole partitions (UTC days of started_at) only: BigQuery drops them without scanning a byte.
    // https://cloud.google.com/bigquery/docs/using-dml-with-partitioned-tables#using_dml_delete_to_delete_partitions
    `-- The exporter's snapshots of runs more than ${SNAPSHOT_DAYS} days old (an export that found its snapshot gone would write whole windows, not fewer cells).`,
    `delete from marts.mart_run_rows where started_at < timestamp(date_sub(date(run_started_at), interval ${SNAPSHOT_DAYS} day));`,
    '',
    '-- The watermarks, in one statement once every mart is built: a row per mart, with an empty window at the',
    '-- hour in progress (a run that stops before this records none, so the next run reads its arrivals again).',
    'insert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, arrivals_from, arrivals_through, finalized_through, all_from, merchants, cells)',
    "select run_id, 'scheduled', mart, run_hour, run_hour, run_started_at, current_timestamp(), run_arrivals_from, run_started_at, run_hour, timestamp_add(run_hour, interval 2 day), [''], ['']",
    `from unnest([${stems}]) as mart;`,
  );
  return lines.join('\n');
}
