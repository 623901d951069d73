// The BigQuery script of the scheduled query: the runner's cell rule in SQL, every mart of the
// manifest per window with its assertions after it, bound to the parameters each file names, each
// mart reading arrivals from its own watermark, each window recorded before its rebuild and the
// watermarks written once, at the end.
import assert from 'node:assert/strict';
import { ASSERTIONS, MARTS, martSpec, readSql } from '../../../pipeline/marts/manifest.js';
import { scheduledScript } from '../../../pipeline/marts/scheduled-script.js';

describe('scheduledScript', () => {
  const script = scheduledScript();

  it('runs every mart statement in manifest order, once per window, bound to the parameters it names', () => {
    const loops = MARTS.map((m) => script.indexOf(`-- ${m.stem}\nfor w in (select * from windows where mart = '${m.stem}' order by window_start) do\n`));
    const positions = MARTS.map((m) => script.indexOf(`execute immediate """\n${readSql(m.file).trim()}\n"""\nusing `));
    assert.ok(loops.every((p, i) => p > 0 && positions[i]! > p && script.indexOf('end for;', p) > positions[i]!), 'every mart is embedded verbatim in a loop over its windows');
    assert.deepStrictEqual([...positions].sort((a, b) => a - b), positions);
    const bound = (stem: string) => new RegExp(`"""\\nusing ([^;]*);`).exec(script.slice(script.indexOf(`execute immediate """\n${readSql(martSpec(stem).file).trim()}`)))![1];
    assert.equal(bound('mart_hourly_store_sales'), 'w.window_start as window_start, w.window_end as window_end, w.all_from as all_from, w.merchant_from as merchant_from, w.merchant_to as merchant_to, w.merchants as merchants, w.cells as cells');
    assert.equal(
      bound('mart_hourly_store_inventory'),
      'w.window_start as window_start, w.window_end as window_end, w.all_from as all_from, w.merchant_from as merchant_from, w.merchant_to as merchant_to, w.merchants as merchants, w.cells as cells, w.window_start as carry_from',
    );
    assert.match(bound('mart_daily_promotion_performance')!, /timestamp_sub\(w\.window_start, interval run_horizon_days day\) as horizon_start/);
  });

  it('runs each assertion after its mart and fails the run on bad rows', () => {
    for (const a of ASSERTIONS) {
      const at = script.indexOf(`if bad_rows > 0 then raise using message = format('${a.stem}: %d bad rows', bad_rows); end if;`);
      assert.ok(at > script.indexOf(`-- ${a.mart}\nfor w`), a.stem);
    }
  });

  it('reads each mart\'s cells from its own watermark less the overlap, and never raw.events', () => {
    for (const m of MARTS) assert.match(script, new RegExp(`inner join watermarks as wm on wm\\.mart = '${m.stem}'`), m.stem);
    assert.match(script, /coalesce\(timestamp_sub\(runs\.arrivals_through, interval 3600 second\), run_since\) as since/);
    const configured = scheduledScript({ horizonDays: 30, arrivalsOverlapMs: 600_000 });
    assert.match(configured, /declare run_horizon_days int64 default 30;/);
    assert.match(configured, /interval 600 second\), run_since\) as since/);
    const own = script.replace(/execute immediate """[\s\S]*?"""/g, '');
    assert.doesNotMatch(own, /raw\.events/);
    // the horizon is stated once, from config
    assert.deepStrictEqual(own.match(/\b400\b/g), ['400']);
  });

  it('records each window before its snapshot and rebuild, and the watermarks once, after every mart, with a row for each mart', () => {
    for (const m of MARTS) {
      const loop = script.indexOf(`-- ${m.stem}\nfor w in`);
      const record = script.indexOf(
        "\ninsert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, all_from, merchants, cells)\nvalues (run_id, 'scheduled', w.mart, w.window_start, w.window_end, run_started_at, current_timestamp(), w.all_from, w.merchants, w.cells);\n",
        loop,
      );
      const next = script.indexOf('execute immediate', loop);
      assert.ok(loop > 0 && record > loop && record < next && next < script.indexOf('end for;', loop), m.stem);
    }
    // no watermark in a window's record: a run that stops part way moves none
    assert.equal(script.match(/insert into marts\.mart_runs \(run_id, kind, mart, window_start, window_end, started_at, finished_at, all_from, merchants, cells\)/g)!.length, MARTS.length);
    const marks = script.match(/insert into marts\.mart_runs \([^)]*arrivals_through[^)]*\)/g)!;
    assert.equal(marks.length, 1);
    const log = script.indexOf(marks[0]!);
    for (const m of MARTS) assert.ok(log > script.lastIndexOf(`'${m.stem}' order by window_start) do`), m.stem);
    assert.match(script.slice(log), /select run_id, 'scheduled', mart, run_hour, run_hour, run_started_at, current_timestamp\(\), run_arrivals_from, run_started_at, run_hour, [^\n]*\nfrom unnest\(\[[^\]]*'mart_daily_promotion_performance'\]\) as mart;$/);
  });

  it('snapshots the series keys and value fingerprints of each window before its rebuild, for the exporter to export only what changed', () => {
    for (const m of MARTS) {
      const loop = script.indexOf(`-- ${m.stem}\nfor w in`);
      const snapshot = script.indexOf(`insert into marts.mart_run_rows (run_id, mart, started_at, window_start, merchant_id, store_id, sku, dimension, dimension_value, promo_id, hour_start, local_date, row_hash)\nselect @run_id, '${m.stem}'`, loop);
      const statement = script.indexOf(`execute immediate """\n${readSql(m.file).trim()}`, loop);
      // marts without series (promotion definitions) have no rows to snapshot
      assert.equal(snapshot > loop && snapshot < statement, m.series, m.stem);
    }
    assert.match(
      script,
      /select @run_id, 'mart_daily_store_sales', @run_started_at, @window_start, merchant_id, store_id, null, null, null, null, null, local_date, farm_fingerprint\(concat\(coalesce\(cast\(orders as string\), '~'\), '\|', /,
    );
    assert.match(script, /\nusing run_id as run_id, run_started_at as run_started_at, w\.window_start as window_start, /);
  });

  it('drops the exporter\'s snapshots older than a week as whole day partitions, before the run log', () => {
    const drop = script.indexOf('\ndelete from marts.mart_run_rows where started_at < timestamp(date_sub(date(run_started_at), interval 7 day));\n');
    assert.ok(drop > script.lastIndexOf('end for;') && drop < script.lastIndexOf('insert into marts.mart_runs '), 'after every mart, before the watermarks');
    assert.equal(script.match(/delete from marts\.mart_run_rows/g)!.length, 1);
  });
});

