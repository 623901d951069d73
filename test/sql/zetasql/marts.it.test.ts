// The SQL of sql/ run twice on the same fixture rows: by ZetaSQL's reference evaluator (BigQuery's
// semantics) on the BigQuery text, and by DuckDB on the dialect layer's translation — the local
// runtime's path. Results must be equal exactly: same columns with the same BigQuery types, same
// rows. In dependency order:
//   staging views → each mart's MERGE source, in the manifest's order (the evaluator cannot run MERGE) → the marts filled
//   (ZetaSQL: with that result; DuckDB: by running the translated MERGE itself, twice) →
//   reporting views over the marts → assertions over the marts (zero rows in both engines).
import assert from 'node:assert/strict';
import type { DuckDBValue } from '@duckdb/node-api';
import type { TableContent } from '@fivetrandevelopers/zetasql/lib/types/zetasql/local_service/TableContent.js';
import { ASSERTIONS, MARTS, assertionSql } from '../../../pipeline/marts/manifest.js';
import type { RawEventRow } from '../../../pipeline/ports.js';
import { toDuckDb } from '../../../pipeline/sql/dialect.js';
import { breakdownOf } from '../../../pipeline/speed/partials.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { listSqlFiles, type SqlFile } from '../../support/zetasql/analyze.js';
import { loadSchemaTables } from '../../support/zetasql/catalog.js';
import { duckParams, openFixtureDb, runDuckQuery, type DuckFixtureDb } from '../../support/zetasql/duckdb.js';
import { evaluateZeta, registerEvaluationCatalog, resultAsTableContent, type EvaluationCatalog, type ZetaResult } from '../../support/zetasql/evaluate.js';
import { buildFixtures, STORES_WITHOUT_EVENTS, type FixtureSet } from '../../support/zetasql/fixtures.js';
import { mergeSourceSelect, mergeTarget, viewDefinition } from '../../support/zetasql/statements.js';
import type { ResultSet } from '../../support/zetasql/values.js';

const files = listSqlFiles();
const isView = (f: SqlFile) => viewDefinition(f.sql) !== undefined;
const stagingViews = files.filter((f) => isView(f) && !f.path.startsWith('sql/reporting/'));
const reportingViews = files.filter((f) => isView(f) && f.path.startsWith('sql/reporting/'));
// in the manifest's dependency order: promotion performance reads marts built before it
const martOrder = (f: SqlFile) => MARTS.findIndex((m) => m.file === f.path);
const martFiles = files.filter((f) => f.path.startsWith('sql/marts/')).sort((a, b) => martOrder(a) - martOrder(b));
// every assertion the runner issues: the files of sql/assertions/ and the unique-key checks generated from the tables
const assertionFiles: SqlFile[] = ASSERTIONS.map((a) => ({ path: a.file ?? `${a.stem} (generated)`, sql: assertionSql(a) }));

/** Only the parameters the DuckDB text uses: DuckDB refuses values for absent ones. */
function paramsFor(duckSql: string, all: Record<string, DuckDBValue>): Record<string, DuckDBValue> {
  return Object.fromEntries(Object.entries(all).filter(([name]) => new RegExp(`\\$${name}\\b`).test(duckSql)));
}

function assertSameResult(duck: ResultSet, zeta: ResultSet): void {
  assert.deepEqual(duck.columns, zeta.columns, 'columns (name and BigQuery type) differ');
  assert.deepEqual(duck.rows, zeta.rows);
}

/** Both engines' results for one statement, or why it could not be run. */
interface Outcome {
  zeta?: ZetaResult;
  duck?: ResultSet;
  error?: Error;
}

function settled(outcome: Outcome | undefined, path: string): Required<Pick<Outcome, 'zeta' | 'duck'>> {
  assert.ok(outcome, `${path} was not run`);
  if (outcome.error) throw outcome.error;
  return { zeta: outcome.zeta!, duck: outcome.duck! };
}

describe('sql/ gives the same rows in ZetaSQL and DuckDB', () => {
  let fixtures: FixtureSet;
  let schema: TableDef[];
  let duck: DuckFixtureDb;
  let catalog: EvaluationCatalog;
  let duckParamValues: Record<string, DuckDBValue>;
  const outcomes = new Map<string, Outcome>();
  const martTables = new Map<string, Outcome>();

  async function runBoth(sql: string, resultId?: string): Promise<Outcome> {
    try {
      const zeta = await evaluateZeta(catalog, sql, fixtures.window, resultId);
      const duckSql = toDuckDb(sql);
      const duckResult = await runDuckQuery(duck, duckSql, paramsFor(duckSql, duckParamValues));
      return { zeta, duck: duckResult };
    } catch (err) {
      return { error: err as Error };
    }
  }

  /** Creates views in both engines, in an order where each reads only what is already built. */
  async function buildViews(viewFiles: SqlFile[], built: ZetaResult[], contents: Record<string, TableContent>): Promise<void> {
    const pending = viewFiles.map((f) => ({ file: f, view: viewDefinition(f.sql)! }));
    while (pending.length > 0) {
      const ids = pending.map((p) => p.view.id);
      const ready = pending.filter((p) => !ids.some((id) => id !== p.view.id && p.view.select.includes(id)));
      if (ready.length === 0) throw new Error(`views depend on each other in a cycle: ${ids.join(', ')}`);
      for (const p of ready) {
        const outcome = await runBoth(p.view.select, p.view.id);
        if (!outcome.error) {
          try {
            await duck.connection.run(`CREATE SCHEMA IF NOT EXISTS ${p.view.id.split('.')[0]}`);
            await duck.connection.run(toDuckDb(p.file.sql));
            // What a reader of the DuckDB view sees, not only the SELECT run on its own.
            outcome.duck = await runDuckQuery(duck, `select * from ${p.view.id}`);
            built.push(outcome.zeta!);
          } catch (err) {
            outcome.error = err as Error;
          }
        }
        outcomes.set(p.file.path, outcome);
        pending.splice(pending.indexOf(p), 1);
      }
      catalog = await registerEvaluationCatalog(schema, fixtures.tables, built, contents);
    }
  }

  before(async () => {
    fixtures = buildFixtures();
    schema = await loadSchemaTables();
    duckParamValues = duckParams(fixtures.window);
    duck = await openFixtureDb(schema, fixtures.tables);
    catalog = await registerEvaluationCatalog(schema, fixtures.tables);
    const views: ZetaResult[] = [];
    const contents: Record<string, TableContent> = {};

    await buildViews(stagingViews, views, contents);

    for (const file of martFiles) {
      // a mart that reads other marts sees them as filled so far
      if (/\bmarts\.mart_/.test(mergeSourceSelect(file.sql))) catalog = await registerEvaluationCatalog(schema, fixtures.tables, views, contents);
      const outcome = await runBoth(mergeSourceSelect(file.sql));
      outcomes.set(file.path, outcome);
      if (outcome.error) continue;
      // Fill the mart: ZetaSQL with the result, DuckDB by running the whole translated MERGE.
      const target = mergeTarget(file.sql);
      const def = schema.find((t) => t.id === target);
      const table: Outcome = {};
      try {
        if (!def) throw new Error(`${file.path} writes ${target}, which pipeline/schema does not define`);
        contents[target] = resultAsTableContent(outcome.zeta!, def);
        const merge = toDuckDb(file.sql);
        await duck.connection.run(merge, paramsFor(merge, duckParamValues));
      } catch (err) {
        table.error = err as Error;
      }
      martTables.set(file.path, table);
    }
    catalog = await registerEvaluationCatalog(schema, fixtures.tables, views, contents);

    await buildViews(reportingViews, views, contents);

    for (const file of assertionFiles) outcomes.set(file.path, await runBoth(file.sql));
  });

  after(() => duck?.close());

  it('has fixture rows for stores without events and a dimension row for each', () => {
    const stores = fixtures.tables['dims.stores']!.map((s) => s.store_id);
    const withEvents = new Set(fixtures.tables['raw.events']!.map((e) => e.store_id));
    assert.deepEqual(
      STORES_WITHOUT_EVENTS.map((s) => [stores.includes(s), withEvents.has(s)]),
      STORES_WITHOUT_EVENTS.map(() => [true, false]),
    );
  });

  for (const file of stagingViews) {
    it(`view ${file.path}: same rows`, () => {
      const { zeta, duck: duckResult } = settled(outcomes.get(file.path), file.path);
      assert.ok(zeta.rows.length > 0, 'the view returned no rows on the fixtures');
      assertSameResult(duckResult, zeta);
    });
  }

  it('staging drops the second copy of an event and keeps the one received first', () => {
    const stg = [...outcomes.values()].find((v) => v.zeta?.table.id === 'staging.stg_events');
    assert.ok(stg?.zeta, 'staging.stg_events not built');
    const copy = fixtures.tables['raw.events']!.find((e) => e.message_id === 'msg-redelivered');
    assert.ok(copy);
    const kept = stg.zeta.rows.filter((r) => r.event_id === copy.event_id).map((r) => [r.message_id, r.received_at]);
    assert.equal(kept.length, 1);
    assert.notEqual(kept[0]![0], 'msg-redelivered');
  });

  it('the traffic breakdown takes the path of the URL and the referring host (www. dropped, direct and internal named)', () => {
    const { zeta } = settled(outcomes.get('sql/marts/mart_hourly_traffic_breakdown.sql'), 'mart_hourly_traffic_breakdown');
    const values = (dimension: string) =>
      [...new Set(zeta.rows.filter((r) => r.merchant_id === 'm_web' && r.dimension === dimension).map((r) => r.dimension_value))].sort();
    assert.deepEqual(values('page'), ['/', '/menu']);
    assert.deepEqual(values('referrer'), ['(direct)', '(internal)', 'news.example', 'search.example']);
    assert.deepEqual(values('country'), ['(unknown)', 'DE', 'GB']);
    // Every page view counts once in each dimension.
    const views = (dimension: string) => zeta.rows.filter((r) => r.dimension === dimension).reduce((n, r) => n + Number(r.page_views), 0);
    assert.deepEqual(['referrer', 'device', 'country'].map(views), ['page', 'page', 'page'].map(views));
  });

  it("the speed layer's breakdownOf gives every page view the page, referrer, device and country of staging.stg_page_views", () => {
    const { zeta } = settled(outcomes.get('sql/staging/stg_page_views.sql'), 'stg_page_views');
    const raw = new Map(fixtures.tables['raw.events']!.filter((e) => e.event_type === 'page_view').map((e) => [e.event_id, e]));
    assert.deepEqual(zeta.rows.map((r) => r.event_id).sort(), [...raw.keys()].sort());
    const fromView = zeta.rows.map((r) => [r.event_id, { page: r.page, referrer: r.referrer, device: r.device, country: r.country }]);
    const fromSpeedLayer = zeta.rows.map((r) => [r.event_id, breakdownOf(raw.get(r.event_id as string) as unknown as RawEventRow)]);
    assert.deepEqual(fromSpeedLayer, fromView);
  });

  for (const file of martFiles) {
    it(`mart ${file.path}: the SELECT feeding its MERGE gives the same rows`, () => {
      const { zeta, duck: duckResult } = settled(outcomes.get(file.path), file.path);
      assert.ok(zeta.rows.length > 0, `${file.path} returned no rows on the fixtures`);
      assertSameResult(duckResult, zeta);
    });

    it(`mart ${file.path}: the same rows for other windows (DST switches, one +05:45 hour)`, async () => {
      const select = mergeSourceSelect(file.sql);
      const duckSql = toDuckDb(select);
      for (const window of fixtures.extraWindows) {
        const zeta = await evaluateZeta(catalog, select, window);
        const duckResult = await runDuckQuery(duck, duckSql, paramsFor(duckSql, duckParams(window)));
        assertSameResult(duckResult, zeta);
      }
    });

    it(`mart ${file.path}: the MERGE run twice in DuckDB leaves exactly those rows`, async () => {
      const table = martTables.get(file.path);
      assert.ok(table, `${file.path} was not merged`);
      if (table.error) throw table.error;
      const target = mergeTarget(file.sql);
      const expected = await evaluateZeta(catalog, `select * from ${target}`, {});
      const once = await runDuckQuery(duck, `select * from ${target}`);
      assertSameResult(once, expected);
      const merge = toDuckDb(file.sql);
      await duck.connection.run(merge, paramsFor(merge, duckParamValues));
      assert.deepEqual((await runDuckQuery(duck, `select * from ${target}`)).rows, once.rows, 'a second run of the window changed the mart');
    });
  }

  for (const file of reportingViews) {
    it(`view ${file.path}: same rows over the marts`, () => {
      const { zeta, duck: duckResult } = settled(outcomes.get(file.path), file.path);
      assert.ok(zeta.rows.length > 0, 'the view returned no rows on the fixtures');
      assertSameResult(duckResult, zeta);
    });
  }

  for (const file of assertionFiles) {
    it(`assertion ${file.path}: no bad rows in either engine`, () => {
      const { zeta, duck: duckResult } = settled(outcomes.get(file.path), file.path);
      assert.deepEqual({ zeta: zeta.rows, duck: duckResult.rows }, { zeta: [], duck: [] });
      assert.deepEqual(duckResult.columns, zeta.columns);
    });
  }

  it('catches a DuckDB session outside UTC (hour buckets move in a +05:30 session)', async () => {
    const file = martFiles.find((f) => f.path.endsWith('/mart_hourly_store_sales.sql')) ?? martFiles[0];
    assert.ok(file, 'no mart files');
    const select = mergeSourceSelect(file.sql);
    const { zeta } = settled(outcomes.get(file.path), file.path);
    const duckSql = toDuckDb(select);
    await duck.connection.run("SET TimeZone = 'Asia/Kolkata'");
    try {
      const shifted = await runDuckQuery(duck, duckSql, paramsFor(duckSql, duckParamValues));
      assert.notDeepEqual(shifted.rows, zeta.rows);
    } finally {
      await duck.connection.run("SET TimeZone = 'UTC'");
    }
  });
});
