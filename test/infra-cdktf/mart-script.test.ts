import assert from 'node:assert/strict';
import { MARTS } from '../../pipeline/marts/manifest.js';
import { bindWindowParameters, buildMartScript, scriptParts, trimStatement } from '../../infra-cdktf/mart-script.js';
import { MART_SCHEDULE } from '../../infra-cdktf/constructs/marts.js';

describe('infra-cdktf mart script', () => {
  it('binds the window parameters to script variables', () => {
    assert.equal(
      bindWindowParameters('f.sql', 'where t >= @window_start and t < @window_end and u < timestamp_add(@window_end, interval 1 hour)'),
      'where t >= run_window_start and t < run_window_end and u < timestamp_add(run_window_end, interval 1 hour)',
    );
  });

  it('refuses a parameter the schedule cannot supply, naming the file', () => {
    assert.throws(() => bindWindowParameters('sql/marts/x.sql', 'where a = @merchant and b < @window_end and c = @merchant'), {
      message: 'sql/marts/x.sql: the scheduled script cannot bind @merchant',
    });
  });

  it('drops trailing semicolons and trailing comment lines, so the joining ; is never commented out', () => {
    assert.equal(trimStatement('select 1\nfrom t;\n-- the end\n\n'), 'select 1\nfrom t');
    assert.equal(trimStatement('-- header\nselect 1;;  \n'), '-- header\nselect 1');
  });

  it('lists each mart followed by its assertions', () => {
    const parts = scriptParts([MARTS[0]!]);
    assert.deepEqual(
      parts.map((p) => [p.kind, p.file]),
      [
        ['mart', 'sql/marts/mart_hourly_store_sales.sql'],
        ['assertion', 'sql/assertions/assert_mart_hourly_store_sales__unique_key.sql'],
        ['assertion', 'sql/assertions/assert_mart_hourly_store_sales__net_revenue.sql'],
      ],
    );
    assert.match(parts[1]!.statement, /^assert not exists \(\n[\s\S]*\n\) as 'assert_mart_hourly_store_sales__unique_key: bad rows in the rebuilt window'$/);
  });

  it('looks back the given number of days on the first run and declares every variable it uses', () => {
    const script = buildMartScript({ firstRunLookbackDays: 3, marts: [MARTS[0]!] });
    assert.ok(script.includes('timestamp_sub(run_started_at, interval 3 day)'));
    for (const v of ['run_id', 'run_started_at', 'arrivals_through', 'arrivals_from', 'newest_hour_end', 'run_window_start', 'run_window_end']) {
      assert.match(script, new RegExp(`^declare ${v} `, 'm'), v);
    }
    assert.ok(script.endsWith(`select run_id, 'scheduled', mart, window_start, window_end, run_started_at, current_timestamp(), arrivals_through, timestamp_trunc(run_started_at, hour)\nfrom rebuilt;\n`));
  });

  it('schedules the run at minute 5 of each hour', () => {
    assert.equal(MART_SCHEDULE, 'every 1 hours from 00:05 to 23:05');
  });
});
