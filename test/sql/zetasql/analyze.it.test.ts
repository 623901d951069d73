// Every file under sql/ is analyzed by ZetaSQL with BigQuery's language options, against a catalog
// built from pipeline/schema plus the views sql/ creates. One test per file; a failure reads
// `sql/marts/x.sql:LINE:COL message`.
import assert from 'node:assert/strict';
import { analyzeSqlFiles, formatAnalysisError, listSqlFiles, type SqlAnalysis } from '../../support/zetasql/analyze.js';

const files = listSqlFiles();

describe('sql/ analyzed by ZetaSQL (BigQuery language options)', () => {
  let analysis: SqlAnalysis;

  before(async () => {
    analysis = await analyzeSqlFiles(files);
  });

  it('has SQL files to analyze', () => {
    assert.ok(files.length > 0, 'no .sql files under sql/');
  });

  for (const file of files) {
    it(`analyzes ${file.path}`, () => {
      const result = analysis.results.get(file.path);
      assert.ok(result, `${file.path} was not analyzed`);
      if (!result.ok) assert.fail(formatAnalysisError(file.path, result.error));
    });
  }
});

describe('analysis of sql/ reports errors where they are', () => {
  it('fails a misspelled column in a statement over a view with file, line and column', async () => {
    const staging = listSqlFiles().filter((f) => f.path.startsWith('sql/staging/'));
    const broken = {
      path: 'sql/marts/mart_broken.sql',
      sql: [
        '-- mart_broken: a deliberately misspelled column',
        'select',
        '  merchant_id,',
        '  timestamp_trunc(event_ts, hour) as hour_start,',
        '  countif(order_statuss = "completed") as orders',
        'from staging.stg_events',
        'where event_ts >= @window_start and event_ts < @window_end',
        'group by merchant_id, hour_start',
        '',
      ].join('\n'),
    };
    const result = await analyzeSqlFiles([...staging, broken]);
    const outcome = result.results.get(broken.path)!;
    assert.equal(outcome.ok ? 'ok' : formatAnalysisError(broken.path, outcome.error), 'sql/marts/mart_broken.sql:5:11 Unrecognized name: order_statuss; Did you mean order_status?');
    assert.ok(result.views.some((v) => v.id === 'staging.stg_events'), 'the staging view was not registered');
  });
});
