// The BigQuery script of the scheduled query runs every mart of the manifest, in order, bound to the
// run's window, with its assertions after it and a mart_runs row per mart.
import assert from 'node:assert/strict';
import { ASSERTIONS, MARTS, readSql } from '../../../pipeline/marts/manifest.js';
import { scheduledScript } from '../../../pipeline/marts/scheduled-script.js';

describe('scheduledScript', () => {
  const script = scheduledScript();

  it('embeds every mart statement in manifest order, each bound to the run window', () => {
    const positions = MARTS.map((m) => script.indexOf(`execute immediate """\n${readSql(m.file).trim()}\n"""\nusing window_start as window_start, current_hour as window_end;`));
    assert.ok(positions.every((p) => p > 0), 'every mart is embedded verbatim');
    assert.deepStrictEqual([...positions].sort((a, b) => a - b), positions);
  });

  it('runs each assertion after its mart and fails the run on bad rows', () => {
    for (const a of ASSERTIONS) {
      const at = script.indexOf(`if bad_rows > 0 then raise using message = format('${a.stem}: %d bad rows', bad_rows); end if;`);
      assert.ok(at > script.indexOf(`-- ${a.mart}\n`), a.stem);
    }
  });

  it('records one mart_runs row per mart, finalizing through the hour in progress', () => {
    assert.equal(script.match(/insert into marts\.mart_runs /g)!.length, MARTS.length);
    assert.match(script, /values \(run_id, 'scheduled', 'mart_hourly_store_sales', window_start, current_hour, started_at, current_timestamp\(\), started_at, current_hour\);/);
  });
});
