// looker/reporting-views.ts against the view files of sql/reporting/ and the manifest.
import assert from 'node:assert/strict';
import { MARTS, REPORTING, readSql } from '../../pipeline/marts/manifest.js';
import { REPORTING_VIEWS } from '../../looker/reporting-views.js';

describe('looker REPORTING_VIEWS', () => {
  it('covers exactly the reporting views of the manifest', () => {
    assert.deepEqual(REPORTING_VIEWS.map((v) => v.stem).sort(), REPORTING.map((f) => f.stem).sort());
  });

  it('names real marts', () => {
    const marts = MARTS.map((m) => m.stem);
    for (const v of REPORTING_VIEWS) assert.ok(marts.includes(v.mart), `${v.stem}: unknown mart ${v.mart}`);
  });

  it('states the grain each view file declares in its header', () => {
    for (const v of REPORTING_VIEWS) {
      const header = /^-- grain: (.*)$/m.exec(readSql(`sql/reporting/${v.stem}.sql`))?.[1] ?? '';
      assert.ok(header.startsWith(v.grain), `${v.stem}: contract says "${v.grain}", file says "${header}"`);
    }
  });

  it('matches each view file: it reads its mart and selects the key and date columns', () => {
    for (const v of REPORTING_VIEWS) {
      const sql = readSql(`sql/reporting/${v.stem}.sql`);
      assert.match(sql, new RegExp(`create or replace view reporting\\.${v.stem}\\b`), v.stem);
      assert.match(sql, new RegExp(`\\bmarts\\.${v.mart}\\b`), `${v.stem} does not read ${v.mart}`);
      for (const col of [...v.keyColumns, v.dateColumn]) assert.match(sql, new RegExp(`\\b${col}\\b`), `${v.stem} lacks ${col}`);
    }
  });
});
