// The exporter's change queries and the runner's snapshot are BigQuery SQL too (the gcp export runs
// them on BigQuery; the local runtime through the dialect layer): analyzed here by ZetaSQL with
// BigQuery's language options, against the schema's tables.
import assert from 'node:assert/strict';
import { INVENTORY_MART, changedRowsSql, hasSeries, inventoryExtentSql, inventoryPointsSql, snapshotSql, vanishedRowsSql } from '../../../pipeline/marts/changes.js';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import { analysisOutcomes } from '../../support/zetasql/analyze.js';

describe('change queries analyzed by ZetaSQL (BigQuery language options)', function () {
  this.timeout(60_000);
  it('analyzes the snapshot, changed-rows, vanished-rows and inventory change-point statements of every exported mart', async () => {
    // The analyzer declares the window parameters; the run's and the shard's are bound as literals.
    const bind = (sql: string) =>
      sql
        .replaceAll('@run_id', "'run-1'")
        .replaceAll('@run_started_at', "timestamp '2026-11-20 10:05:00+00'")
        .replaceAll('@shard_from', "'m1'")
        .replaceAll('@shard_to', "'m5'");
    const files = MARTS.filter(hasSeries).flatMap((m) => [
      { path: `snapshot-${m.stem}.sql`, sql: bind(snapshotSql(m.stem)) },
      ...(m.stem === INVENTORY_MART
        ? [
            { path: 'inventory-points.sql', sql: bind(inventoryPointsSql()) },
            { path: 'inventory-points-all.sql', sql: bind(inventoryPointsSql({ all: true })) },
            { path: 'inventory-extent.sql', sql: bind(inventoryExtentSql()) },
          ]
        : [
            { path: `changed-${m.stem}.sql`, sql: bind(changedRowsSql(m.stem)) },
            { path: `changed-all-${m.stem}.sql`, sql: bind(changedRowsSql(m.stem, { all: true })) },
            { path: `vanished-${m.stem}.sql`, sql: bind(vanishedRowsSql(m.stem)) },
          ]),
    ]);
    assert.equal(files.length, (MARTS.filter(hasSeries).length - 1) * 3 + MARTS.filter(hasSeries).length + 3);
    assert.deepEqual(await analysisOutcomes(files), files.map(() => 'ok'));
  });
});
