// Proves the ZetaSQL harness itself: that analysis with BigQuery options catches what BigQuery
// would reject, with line and column, and that the two-engine comparison both agrees on a correct
// translation and catches a wrong one, on the shared fixture rows.
import assert from 'node:assert/strict';
import { analyzeStatement, formatAnalysisError } from '../../support/zetasql/analyze.js';
import { catalogTable, loadSchemaTables, registerCatalog } from '../../support/zetasql/catalog.js';
import { duckParams, openFixtureDb, runDuckQuery, type DuckFixtureDb } from '../../support/zetasql/duckdb.js';
import { evaluateZeta, registerEvaluationCatalog, type EvaluationCatalog } from '../../support/zetasql/evaluate.js';
import { buildFixtures, type FixtureSet } from '../../support/zetasql/fixtures.js';

const HOURLY_BQ = `
select
  merchant_id,
  timestamp_trunc(event_ts, hour) as hour_start,
  count(*) as events,
  countif(event_type = 'order') as order_events,
  sum(net_minor) as net_minor
from raw.events
where event_ts >= @window_start and event_ts < @window_end
group by merchant_id, hour_start
`;

// The same query written for DuckDB by hand: the harness proof does not depend on the dialect layer.
const HOURLY_DUCK = `
select
  merchant_id,
  date_trunc('hour', event_ts) as hour_start,
  count(*) as events,
  count(*) filter (where event_type = 'order') as order_events,
  sum(net_minor) as net_minor
from raw.events
where event_ts >= $window_start and event_ts < $window_end
group by merchant_id, hour_start
`;

const LOCAL_DAY_BQ = `
select store_id, date(event_ts, store_time_zone) as local_date, count(*) as orders
from raw.events
where event_type = 'order' and store_id is not null
group by store_id, local_date
`;

const LOCAL_DAY_DUCK = `
select store_id, (event_ts at time zone store_time_zone)::date as local_date, count(*) as orders
from raw.events
where event_type = 'order' and store_id is not null
group by store_id, local_date
`;

// Wrong on purpose: a UTC date instead of the store's local date.
const LOCAL_DAY_DUCK_WRONG = LOCAL_DAY_DUCK.replace('(event_ts at time zone store_time_zone)::date', 'event_ts::date');

describe('ZetaSQL harness', () => {
  let catalogId: string;
  let fixtures: FixtureSet;
  let evaluation: EvaluationCatalog;
  let duck: DuckFixtureDb;

  before(async () => {
    const tables = await loadSchemaTables();
    catalogId = await registerCatalog(tables.map(catalogTable));
    fixtures = buildFixtures();
    evaluation = await registerEvaluationCatalog(tables, fixtures.tables);
    duck = await openFixtureDb(tables, fixtures.tables);
  });

  after(() => duck?.close());

  describe('analysis', () => {
    it('fails a misspelled column with file, line and column', async () => {
      const sql = 'select\n  merchant_id,\n  count(*) as n\nfrom raw.events\nwhere merchnt_id = "m1"\ngroup by merchant_id\n';
      const result = await analyzeStatement(sql, catalogId);
      assert.equal(result.ok, false);
      assert.equal(
        formatAnalysisError('sql/marts/broken.sql', (result as { ok: false; error: never }).error),
        'sql/marts/broken.sql:5:7 Unrecognized name: merchnt_id; Did you mean merchant_id?',
      );
    });

    it('fails a type error with its position', async () => {
      const result = await analyzeStatement('select event_ts + 1 from raw.events', catalogId);
      assert.deepEqual(result.ok ? null : { line: result.error.line, column: result.error.column }, { line: 1, column: 8 });
    });

    it('accepts both spellings of a table, parameters, QUALIFY and a MERGE', async () => {
      for (const sql of [
        'select count(*) from `raw.events` where event_ts >= @window_start',
        'select event_id from raw.events where event_ts < @window_end qualify row_number() over (partition by merchant_id order by received_at) = 1',
        `merge marts.mart_hourly_store_sales t using (select merchant_id, store_id, timestamp_trunc(event_ts, hour) as hour_start from raw.events group by 1, 2, 3) s
         on t.merchant_id = s.merchant_id and t.hour_start = s.hour_start
         when not matched by source and t.hour_start >= @window_start then delete`,
        "assert (select count(*) from dims.merchants) > 0 as 'merchants loaded'",
        "create or replace view staging.v as select * except (body_json) from raw.events",
      ]) {
        const result = await analyzeStatement(sql, catalogId);
        assert.deepEqual(result.ok ? 'ok' : result.error, 'ok', sql);
      }
    });

    it('rejects what BigQuery rejects: undeclared parameters, GROUP BY ALL, a bare QUALIFY alias', async () => {
      const messages: string[] = [];
      for (const sql of [
        'select 1 from raw.events where event_ts > @since',
        'select merchant_id, count(*) from raw.events group by all',
        'select 1 as one qualify true',
      ]) {
        const result = await analyzeStatement(sql, catalogId);
        messages.push(result.ok ? 'accepted' : result.error.message);
      }
      assert.deepEqual(messages, [
        "Query parameter 'since' not found",
        'GROUP BY ALL is not supported',
        // Parsed as a clause (QUALIFY is reserved), not as the alias "qualify".
        'Query without FROM clause cannot have an QUALIFY clause',
      ]);
    });
  });

  describe('evaluation against DuckDB', () => {
    it('gives the same hourly counts in both engines, on every fixture hour', async () => {
      const zeta = await evaluateZeta(evaluation, HOURLY_BQ, fixtures.window);
      const duckResult = await runDuckQuery(duck, HOURLY_DUCK, duckParams({ window_start: fixtures.window.window_start, window_end: fixtures.window.window_end }));
      assert.ok(zeta.rows.length > 50, `only ${zeta.rows.length} rows`);
      assert.deepEqual(duckResult.columns, zeta.columns);
      assert.deepEqual(duckResult.rows, zeta.rows);
    });

    it('puts the hours around the DST switch where the fixture rows say', async () => {
      const zeta = await evaluateZeta(evaluation, HOURLY_BQ, fixtures.window);
      const hours = ['2026-03-08T06:00:00.000000Z', '2026-03-08T07:00:00.000000Z'];
      const actual = zeta.rows.filter((r) => r.merchant_id === 'm_pizza' && hours.includes(r.hour_start as string)).map((r) => [r.hour_start, r.events]);
      // Counted straight from the rows: 06:59:59Z (01:59:59 EST) and 07:00:00Z (03:00 EDT) are two UTC hours.
      const expected = hours.map((h) => {
        const start = Date.parse(h);
        const n = fixtures.tables['raw.events']!.filter((e) => e.merchant_id === 'm_pizza' && Date.parse(e.event_ts as string) >= start && Date.parse(e.event_ts as string) < start + 3_600_000).length;
        return [h, BigInt(n)];
      });
      assert.deepEqual(actual, expected);
      assert.ok(expected.every(([, n]) => (n as bigint) > 0n));
    });

    it('agrees on local dates in +05:30, +05:45 and DST zones', async () => {
      const zeta = await evaluateZeta(evaluation, LOCAL_DAY_BQ, {});
      const duckResult = await runDuckQuery(duck, LOCAL_DAY_DUCK);
      assert.deepEqual(duckResult.rows, zeta.rows);
      const kathmandu = zeta.rows.filter((r) => r.store_id === 's_kathmandu' && ['2026-03-07', '2026-03-08'].includes(r.local_date as string));
      assert.equal(kathmandu.length, 2);
    });

    it('catches a translation that is wrong only in some zones', async () => {
      const zeta = await evaluateZeta(evaluation, LOCAL_DAY_BQ, {});
      const wrong = await runDuckQuery(duck, LOCAL_DAY_DUCK_WRONG);
      assert.notDeepEqual(wrong.rows, zeta.rows);
    });
  });
});
