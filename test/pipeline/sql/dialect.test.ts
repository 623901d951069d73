// The BigQuery → DuckDB rewrite list, one behaviour per rewrite, whole output strings.
import assert from 'node:assert/strict';
import { toDuckDb, windowReplace } from '../../../pipeline/sql/dialect.js';
import { WINDOW_MERGE_SQL } from './window-merge-fixture.js';

describe('toDuckDb', () => {
  it('rewrites TIMESTAMP_TRUNC to date_trunc with the part as a string', () => {
    assert.equal(toDuckDb('select timestamp_trunc(event_ts, HOUR) from t'), "select date_trunc('hour', event_ts) from t");
  });

  it('rewrites SAFE_DIVIDE to a CASE that yields NULL on a zero denominator', () => {
    assert.equal(toDuckDb('safe_divide(a, sum(b))'), '(CASE WHEN (sum(b)) = 0 THEN NULL ELSE (a) / (sum(b)) END)');
  });

  it('rewrites DATE(ts, zone) to a cast of the local time, and DATE(ts) to a cast', () => {
    assert.equal(toDuckDb("date(event_ts, 'Asia/Kolkata')"), "CAST(((event_ts) AT TIME ZONE ('Asia/Kolkata')) AS DATE)");
    assert.equal(toDuckDb('date(@window_start)'), 'CAST($window_start AS DATE)');
    assert.equal(toDuckDb("date '2026-03-08'"), "date '2026-03-08'");
  });

  it('rewrites DATETIME(ts, zone) and TIMESTAMP(local, zone) between instants and wall-clock times', () => {
    assert.equal(toDuckDb('datetime(ts, tz)'), '((ts) AT TIME ZONE (tz))');
    assert.equal(toDuckDb('timestamp(d, tz)'), '(CAST(d AS TIMESTAMP) AT TIME ZONE (tz))');
    assert.equal(toDuckDb('cast(x as timestamp)'), 'cast(x as timestamp)');
  });

  it('rewrites TIMESTAMP_SUB/ADD and DATETIME_SUB to interval arithmetic, parenthesizing computed amounts', () => {
    assert.equal(toDuckDb('timestamp_sub(@window_end, interval 1 microsecond)'), '(($window_end) - INTERVAL 1 MICROSECOND)');
    assert.equal(toDuckDb('timestamp_add(t, INTERVAL 48 HOUR)'), '((t) + INTERVAL 48 HOUR)');
    assert.equal(toDuckDb('datetime_sub(x, interval w.days_back day)'), '((x) - INTERVAL (w.days_back) DAY)');
  });

  it('keeps DATE_SUB/DATE_ADD dates (DuckDB would give timestamps)', () => {
    assert.equal(toDuckDb('date_add(local_date, interval 1 day)'), 'CAST(((local_date) + INTERVAL 1 DAY) AS DATE)');
  });

  it('nests rewrites: arguments are translated first', () => {
    assert.equal(
      toDuckDb('date(timestamp_sub(@window_end, interval 1 microsecond), time_zone)'),
      'CAST((((($window_end) - INTERVAL 1 MICROSECOND)) AT TIME ZONE (time_zone)) AS DATE)',
    );
  });

  it('maps NUMERIC to DECIMAL(38,9) and FLOAT64 to DOUBLE', () => {
    assert.equal(toDuckDb('cast(x as numeric), cast(y as FLOAT64), cast(z as numeric(10, 2))'), 'cast(x as DECIMAL(38,9)), cast(y as DOUBLE), cast(z as DECIMAL(10, 2))');
  });

  it('strips backticks and the project of a table name', () => {
    assert.equal(toDuckDb('select * from `my-project.raw.events` join `raw.order_lines` using (k)'), 'select * from raw.events join raw.order_lines using (k)');
  });

  it('rewrites JSON_VALUE to json_extract_string, which drops the quotes', () => {
    assert.equal(toDuckDb("json_value(body_json, '$.name')"), "json_extract_string(body_json, '$.name')");
  });

  it('rewrites REGEXP_EXTRACT to answer the capturing group, as BigQuery does', () => {
    assert.equal(toDuckDb("regexp_extract(url, '^https?://([^/]*)')"), "regexp_extract(url, '^https?://([^/]*)', 1)");
  });

  it('names the column of an aliased UNNEST, as BigQuery does', () => {
    assert.equal(toDuckDb('from unnest(xs) as x where x = 1'), 'from unnest(xs) as x(x) where x = 1');
    assert.equal(toDuckDb('from unnest(xs) as t(x)'), 'from unnest(xs) as t(x)');
    assert.equal(toDuckDb('where m in unnest(@ms) and c not in unnest(@cs)'), 'where m in (SELECT unnest($ms)) and c not in (SELECT unnest($cs))');
  });

  it('rewrites GENERATE_TIMESTAMP_ARRAY and GENERATE_DATE_ARRAY to generate_series', () => {
    assert.equal(toDuckDb('generate_timestamp_array(a, b, interval 1 hour)'), 'generate_series(a, b, INTERVAL 1 HOUR)');
    assert.equal(
      toDuckDb('generate_date_array(a, b)'),
      'list_transform(generate_series(CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP), INTERVAL 1 DAY), lambda generated_day: CAST(generated_day AS DATE))',
    );
  });

  it('turns @params into $params and * EXCEPT into * EXCLUDE', () => {
    assert.equal(toDuckDb('select * except (rank) from t where ts >= @window_start'), 'select * EXCLUDE (rank) from t where ts >= $window_start');
  });

  it('leaves strings and comments alone', () => {
    const sql = "-- timestamp_trunc(x, hour) @p\nselect 'safe_divide(a, b) @x' /* `a.b` */ from t";
    assert.equal(toDuckDb(sql), sql);
  });

  it('rewrites TIMESTAMP_DIFF in microseconds to date_diff with the operands swapped, and refuses coarser units', () => {
    assert.equal(toDuckDb('timestamp_diff(b_end, a_start, microsecond)'), "date_diff('microsecond', a_start, b_end)");
    // BigQuery truncates toward zero, DuckDB counts unit boundaries: 00:59 to 01:01 is 0 hours in one and 1 in the other
    assert.throws(() => toDuckDb('timestamp_diff(b, a, hour)'), /MICROSECOND only/);
  });

  it('rewrites UNIX_MICROS to epoch_us and DIV to integer division', () => {
    assert.equal(toDuckDb('div(unix_micros(event_ts), 900000000)'), '((epoch_us(event_ts)) // (900000000))');
  });

  it('refuses an arity it does not know rather than guessing', () => {
    assert.throws(() => toDuckDb('timestamp_trunc(ts, hour, "UTC")'), /TIMESTAMP_TRUNC with 3 arguments is not supported/);
  });
});

describe('windowReplace', () => {
  // Moved from the local warehouse's tests, which run the pair against DuckDB.
  it('turns a window-replacing MERGE into a DELETE of the window and an INSERT of the rebuilt rows, and leaves other MERGEs', () => {
    const merge = WINDOW_MERGE_SQL;
    assert.deepEqual(windowReplace(merge), {
      remove: 'DELETE FROM m.t AS target WHERE target.h >= $lo\n  and target.h < $hi',
      insert: "INSERT INTO m.t (k, h, n) SELECT rebuilt.k, rebuilt.h, rebuilt.n FROM (with source as (select 'x' as k, 2 as h, 7 as n union all select 'y', 3, 8)\nselect * from source) AS rebuilt",
    });
    assert.equal(windowReplace('merge into m.t as target using (select 1) as rebuilt on target.k = rebuilt.k when matched then delete'), undefined);
  });
});
