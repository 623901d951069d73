// The mart logic run twice on the same fixture rows: by ZetaSQL's reference evaluator (BigQuery's
// semantics) on the BigQuery text, and by DuckDB on the dialect layer's translation — the local
// runtime's path. The results must be equal exactly: same columns with the same BigQuery types,
// same rows. Staging views are checked the same way and feed the marts in both engines.
import assert from 'node:assert/strict';
import type { DuckDBValue } from '@duckdb/node-api';
import { toDuckDb } from '../../../pipeline/sql/dialect.js';
import type { TableDef } from '../../../pipeline/schema/types.js';
import { listSqlFiles } from '../../support/zetasql/analyze.js';
import { loadSchemaTables } from '../../support/zetasql/catalog.js';
import { duckParams, openFixtureDb, runDuckQuery, type DuckFixtureDb } from '../../support/zetasql/duckdb.js';
import { evaluateZeta, registerEvaluationCatalog, type EvaluationCatalog, type ZetaResult } from '../../support/zetasql/evaluate.js';
import { buildFixtures, STORES_WITHOUT_EVENTS, type FixtureSet } from '../../support/zetasql/fixtures.js';
import { mergeSourceSelect, parameterNames, viewDefinition } from '../../support/zetasql/statements.js';
import type { ResultSet } from '../../support/zetasql/values.js';

const files = listSqlFiles();
const viewFiles = files.filter((f) => viewDefinition(f.sql) !== undefined && !f.path.startsWith('sql/reporting/'));
const martFiles = files.filter((f) => f.path.startsWith('sql/marts/'));

/** Only the parameters the DuckDB text uses: DuckDB refuses values for absent ones. */
function paramsFor(duckSql: string, all: Record<string, DuckDBValue>): Record<string, DuckDBValue> {
  return Object.fromEntries(Object.entries(all).filter(([name]) => new RegExp(`\\$${name}\\b`).test(duckSql)));
}

function assertSameResult(duck: ResultSet, zeta: ResultSet): void {
  assert.deepEqual(duck.columns, zeta.columns, 'columns (name and BigQuery type) differ');
  assert.deepEqual(duck.rows, zeta.rows);
}

describe('mart SQL gives the same rows in ZetaSQL and DuckDB', () => {
  let fixtures: FixtureSet;
  let schema: TableDef[];
  let duck: DuckFixtureDb;
  let catalog: EvaluationCatalog;
  const viewResults = new Map<string, { zeta: ZetaResult; duck: ResultSet }>();

  before(async () => {
    fixtures = buildFixtures();
    schema = await loadSchemaTables();
    duck = await openFixtureDb(schema, fixtures.tables);
    catalog = await registerEvaluationCatalog(schema, fixtures.tables);
    // Views in an order where each reads only tables or views already built.
    const pending = viewFiles.map((f) => ({ file: f, view: viewDefinition(f.sql)! }));
    const built: ZetaResult[] = [];
    while (pending.length > 0) {
      const pendingIds = new Set(pending.map((p) => p.view.id));
      const ready = pending.filter((p) => ![...pendingIds].some((id) => id !== p.view.id && p.view.select.includes(id)));
      if (ready.length === 0) throw new Error(`views depend on each other in a cycle: ${[...pendingIds].join(', ')}`);
      for (const p of ready) {
        const zeta = await evaluateZeta(catalog, p.view.select, fixtures.window, p.view.id);
        const schemaName = p.view.id.split('.')[0]!;
        await duck.connection.run(`CREATE SCHEMA IF NOT EXISTS ${schemaName}`);
        await duck.connection.run(toDuckDb(p.file.sql));
        const duckResult = await runDuckQuery(duck, `select * from ${p.view.id}`);
        viewResults.set(p.file.path, { zeta, duck: duckResult });
        built.push(zeta);
        pending.splice(pending.indexOf(p), 1);
      }
      catalog = await registerEvaluationCatalog(schema, fixtures.tables, built);
    }
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

  for (const file of viewFiles) {
    it(`view ${file.path}: same rows`, () => {
      const result = viewResults.get(file.path);
      assert.ok(result, `${file.path} was not built`);
      assert.ok(result.zeta.rows.length > 0, 'the view returned no rows on the fixtures');
      assertSameResult(result.duck, result.zeta);
    });
  }

  it('the staging view drops the second copy of an event', () => {
    const stg = [...viewResults.values()].find((v) => v.zeta.table.id === 'staging.stg_events');
    assert.ok(stg, 'staging.stg_events not built');
    const copies = fixtures.tables['raw.events']!.filter((e) => e.message_id === 'msg-redelivered');
    assert.equal(copies.length, 1);
    const kept = stg.zeta.rows.filter((r) => r.event_id === copies[0]!.event_id).map((r) => r.message_id);
    assert.equal(kept.length, 1);
    assert.notEqual(kept[0], 'msg-redelivered');
  });

  for (const file of martFiles) {
    it(`mart ${file.path}: the SELECT feeding its MERGE gives the same rows`, async () => {
      const select = mergeSourceSelect(file.sql);
      const zeta = await evaluateZeta(catalog, select, fixtures.window);
      const duckSql = toDuckDb(select);
      for (const name of parameterNames(select)) {
        assert.ok(name in fixtures.window, `${file.path} uses @${name}, which the fixtures give no value`);
      }
      const duckResult = await runDuckQuery(duck, duckSql, paramsFor(duckSql, duckParams(fixtures.window)));
      assert.ok(zeta.rows.length > 0, `${file.path} returned no rows on the fixtures`);
      assertSameResult(duckResult, zeta);
    });
  }

  it('catches a DuckDB session outside UTC (hour buckets move in a +05:30 session)', async () => {
    const file = martFiles.find((f) => f.path.endsWith('/mart_hourly_store_sales.sql')) ?? martFiles[0];
    assert.ok(file, 'no mart files');
    const select = mergeSourceSelect(file.sql);
    const zeta = await evaluateZeta(catalog, select, fixtures.window);
    const duckSql = toDuckDb(select);
    await duck.connection.run("SET TimeZone = 'Asia/Kolkata'");
    try {
      const shifted = await runDuckQuery(duck, duckSql, paramsFor(duckSql, duckParams(fixtures.window)));
      assert.notDeepEqual(shifted.rows, zeta.rows);
    } finally {
      await duck.connection.run("SET TimeZone = 'UTC'");
    }
  });
});
