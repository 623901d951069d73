// The alert SQL of sql/alerts/ run by ZetaSQL's reference evaluator (BigQuery's semantics) and by
// DuckDB through the dialect layer (the local runtime's path) on the same fixture rows: results must
// be equal exactly. The marts they read are filled in each engine by that engine from the shared
// fixtures over five weeks (the sales baseline needs four), for the spring and the autumn DST switches.
import assert from 'node:assert/strict';
import type { DuckDBValue } from '@duckdb/node-api';
import type { TableContent } from '@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/TableContent.js';
import { ALERT_SQL } from '../../../pipeline/alerts/evaluate.js';
import { readSql } from '../../../pipeline/marts/manifest.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { toDuckDb } from '../../../pipeline/sql/dialect.js';
import { listSqlFiles } from '../../support/zetasql/analyze.js';
import { loadSchemaTables } from '../../support/zetasql/catalog.js';
import { duckParams, openFixtureDb, runDuckQuery, type DuckFixtureDb } from '../../support/zetasql/duckdb.js';
import { evaluateZeta, registerEvaluationCatalog, resultAsTableContent, type EvaluationCatalog, type ZetaResult } from '../../support/zetasql/evaluate.js';
import { buildFixtures, windowBindings, type FixtureSet, type Window } from '../../support/zetasql/fixtures.js';
import { mergeSourceSelect, mergeTarget, viewDefinition } from '../../support/zetasql/statements.js';
import type { FixtureRow, ResultSet } from '../../support/zetasql/values.js';

const MART_FILES = ['sql/marts/mart_hourly_store_sales.sql', 'sql/marts/mart_hourly_store_inventory.sql'];
// Range builds, bound as the runner binds them (every merchant, horizon before the window).
const FILL_WINDOWS: Window[] = [windowBindings('2026-02-01T00:00:00Z', '2026-03-10T00:00:00Z'), windowBindings('2026-09-26T00:00:00Z', '2026-11-03T00:00:00Z')];

/** Windows each alert file is run for; `nonEmpty` ones must return rows, so equality is not of two empty sets. */
const CASES: { file: string; windows: { w: Window; nonEmpty: boolean }[] }[] = [
  {
    file: ALERT_SQL.low_stock,
    windows: [
      { w: { window_start: '2026-03-07T00:00:00Z', window_end: '2026-03-09T00:00:00Z' }, nonEmpty: true },
      { w: { window_start: '2026-03-08T06:00:00Z', window_end: '2026-03-08T08:00:00Z' }, nonEmpty: true },
    ],
  },
  {
    file: ALERT_SQL.sales_drop,
    windows: [
      { w: { window_start: '2026-03-06T00:00:00Z', window_end: '2026-03-10T00:00:00Z' }, nonEmpty: true },
      // Across the spring switch in New York (2026-03-08 02:00 → 03:00) and one +05:45 hour.
      { w: { window_start: '2026-03-08T00:00:00Z', window_end: '2026-03-09T12:00:00Z' }, nonEmpty: true },
      { w: { window_start: '2026-03-07T18:00:00Z', window_end: '2026-03-07T19:00:00Z' }, nonEmpty: false },
      { w: { window_start: '2026-10-24T00:00:00Z', window_end: '2026-11-03T00:00:00Z' }, nonEmpty: false },
    ],
  },
  {
    file: ALERT_SQL.feed_silent,
    windows: [
      // As of 16:20 UTC on Monday 2026-03-09 (12:20 EDT; 4 weeks before it was EST): the weekly POS store trades then.
      { w: { window_start: '2026-03-08T16:20:00Z', window_end: '2026-03-09T16:20:00Z' }, nonEmpty: true },
      { w: { window_start: '2026-03-07T12:00:00Z', window_end: '2026-03-08T12:00:00Z' }, nonEmpty: false },
    ],
  },
  {
    file: ALERT_SQL.freshness,
    windows: [
      { w: { window_start: '2026-03-07T00:00:00Z', window_end: '2026-03-09T00:00:00Z' }, nonEmpty: true },
      { w: { window_start: '2026-03-08T16:00:00Z', window_end: '2026-03-08T17:30:00Z' }, nonEmpty: false },
    ],
  },
];

/** A POS store that trades every Monday 12:00-13:00 local (New York), so it has usual hours to be silent in. */
function weeklyPosOrders(fixtures: FixtureSet): FixtureRow[] {
  const template = fixtures.tables['raw.events']!.find((e) => e.event_type === 'order' && e.source === 'pos' && e.order_status === 'completed');
  assert.ok(template, 'fixtures have no completed POS order to copy');
  // Mondays 2026-02-09 .. 03-02 at 12:10 EST (17:10Z); 03-09 at 12:10 EDT (16:10Z), received 16:15Z.
  const at = ['2026-02-09T17:10:00Z', '2026-02-16T17:10:00Z', '2026-02-23T17:10:00Z', '2026-03-02T17:10:00Z', '2026-03-09T16:10:00Z'];
  return at.map((ts, i) => ({
    ...template,
    event_id: `weekly-pos-${i}`,
    merchant_id: 'm_pizza',
    store_id: 's_nyc',
    store_city: 'New York',
    store_region: 'NY',
    store_time_zone: 'America/New_York',
    merchant_time_zone: 'America/New_York',
    event_ts: ts,
    received_at: new Date(Date.parse(ts) + 5 * 60_000).toISOString(),
    message_id: `weekly-pos-msg-${i}`,
    order_id: `weekly-pos-order-${i}`,
  }));
}

function paramsFor(duckSql: string, w: Window): Record<string, DuckDBValue> {
  const all = duckParams(w);
  return Object.fromEntries(Object.entries(all).filter(([name]) => new RegExp(`\\$${name}\\b`).test(duckSql)));
}

function assertSameResult(duck: ResultSet, zeta: ResultSet): void {
  assert.deepEqual(duck.columns, zeta.columns, 'columns (name and BigQuery type) differ');
  assert.deepEqual(duck.rows, zeta.rows);
}

describe('sql/alerts gives the same rows in ZetaSQL and DuckDB', () => {
  let fixtures: FixtureSet;
  let schema: TableDef[];
  let duck: DuckFixtureDb;
  let catalog: EvaluationCatalog;

  before(async () => {
    fixtures = buildFixtures();
    fixtures.tables['raw.events']!.push(...weeklyPosOrders(fixtures));
    schema = await loadSchemaTables();
    duck = await openFixtureDb(schema, fixtures.tables);
    const views: ZetaResult[] = [];
    const contents: Record<string, TableContent> = {};
    catalog = await registerEvaluationCatalog(schema, fixtures.tables);

    // Staging views, each after the views it reads.
    const pending = listSqlFiles().filter((f) => f.path.startsWith('sql/staging/')).map((f) => ({ file: f, view: viewDefinition(f.sql)! }));
    while (pending.length > 0) {
      const ready = pending.filter((p) => !pending.some((o) => o !== p && p.view.select.includes(o.view.id)));
      assert.ok(ready.length > 0, 'staging views depend on each other in a cycle');
      for (const p of ready) {
        views.push(await evaluateZeta(catalog, p.view.select, {}, p.view.id));
        await duck.connection.run(`CREATE SCHEMA IF NOT EXISTS ${p.view.id.split('.')[0]}`);
        await duck.connection.run(toDuckDb(p.file.sql));
        pending.splice(pending.indexOf(p), 1);
      }
      catalog = await registerEvaluationCatalog(schema, fixtures.tables, views, contents);
    }

    // The marts the alert SQL reads: ZetaSQL from its own results, DuckDB by the translated MERGE.
    for (const path of MART_FILES) {
      const sql = readSql(path);
      const def = schema.find((t) => t.id === mergeTarget(sql))!;
      const rows: NonNullable<TableContent['tableData']>['row'] = [];
      for (const w of FILL_WINDOWS) {
        const zeta = await evaluateZeta(catalog, mergeSourceSelect(sql), w);
        rows.push(...resultAsTableContent(zeta, def).tableData!.row!);
        const merge = toDuckDb(sql);
        await duck.connection.run(merge, paramsFor(merge, w));
      }
      contents[def.id] = { tableData: { row: rows } };
    }
    catalog = await registerEvaluationCatalog(schema, fixtures.tables, views, contents);
  });

  after(() => duck?.close());

  it('runs every file of sql/alerts', () => {
    const files = listSqlFiles().filter((f) => f.path.startsWith('sql/alerts/')).map((f) => f.path);
    assert.deepEqual(files, CASES.map((c) => c.file).sort());
  });

  for (const c of CASES) {
    for (const { w, nonEmpty } of c.windows) {
      it(`${c.file} for ${w.window_start}..${w.window_end}: same rows${nonEmpty ? ' (and some)' : ''}`, async () => {
        const sql = readSql(c.file);
        const zeta = await evaluateZeta(catalog, sql, w);
        const duckSql = toDuckDb(sql);
        const duckResult = await runDuckQuery(duck, duckSql, paramsFor(duckSql, w));
        if (nonEmpty) assert.ok(zeta.rows.length > 0, `${c.file} returned no rows on the fixtures`);
        assertSameResult(duckResult, zeta);
      });
    }
  }
});
