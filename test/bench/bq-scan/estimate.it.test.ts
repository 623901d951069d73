// The estimator on small statements whose BigQuery behaviour the docs state (the URLs are in
// bench/bq-scan/estimate.ts): what prunes partitions, what does not, what block pruning needs and
// which columns a scan reads.
import assert from 'node:assert/strict';
import type { SimpleTableProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/SimpleTableProto.js';
import type { TypeProto } from '@fivetrandevelopers/zetasql/lib/types/zetasql/TypeProto.js';
import { createEstimator, MIN_BILLED_BYTES_PER_TABLE, type Estimator, type Profile, type TableProfile } from '../../../bench/bq-scan/estimate.js';
import { BIGQUERY_LANGUAGE, zetaSql } from '../../support/zetasql/server.js';

const DAY = 86_400_000;
const ts: TypeProto = { typeKind: 'TYPE_TIMESTAMP' };
const str: TypeProto = { typeKind: 'TYPE_STRING' };
const int: TypeProto = { typeKind: 'TYPE_INT64' };

// d.events: partitioned by day on event_ts, clustered by merchant_id, event_type.
// d.ingested: partitioned by ingestion time (_PARTITIONTIME), with an event_ts column of its own.
// d.merchants: a small unpartitioned dimension.
const TABLES: { name: string; columns: [string, TypeProto][]; pseudo?: [string, TypeProto][] }[] = [
  { name: 'events', columns: [['merchant_id', str], ['event_type', str], ['event_ts', ts], ['amount', int], ['note', str]] },
  { name: 'ingested', columns: [['merchant_id', str], ['event_ts', ts], ['amount', int]], pseudo: [['_PARTITIONTIME', ts]] },
  { name: 'merchants', columns: [['merchant_id', str], ['since', ts]] },
  // A view over events, inlined by the estimator like BigQuery inlines it.
  { name: 'events_view', columns: [['merchant_id', str], ['event_type', str], ['event_ts', ts], ['amount', int], ['note', str]] },
];

const simple = (name: string, t: (typeof TABLES)[number]): SimpleTableProto => ({
  name,
  fullName: `d.${t.name}`,
  column: [...t.columns.map(([n, type]) => ({ name: n, type })), ...(t.pseudo ?? []).map(([n, type]) => ({ name: n, type, isPseudoColumn: true }))],
});

// Ten days of history, 1,000 rows a day; every column 10 bytes a row, so one column of one day is 10,000 bytes.
const NOW = Date.parse('2026-03-11T00:00:00Z');
const DAYS = Array.from({ length: 10 }, (_, i) => NOW - (10 - i) * DAY);
const table = (id: string, extra: Partial<TableProfile>, columns: string[]): TableProfile => ({
  id,
  partitions: DAYS,
  rows: () => 1000,
  columnBytes: Object.fromEntries(columns.map((c) => [c, 10])),
  ...extra,
});
const TABLE_PROFILES: TableProfile[] = [
  table('d.events', {
    partition: { column: 'event_ts', granularity: 'DAY' },
    clustering: ['merchant_id', 'event_type'],
    // Four merchants of equal size; two event types of equal size.
    clusterShare: (column, c) => {
      if (c.values) return c.values.length / (column === 'merchant_id' ? 4 : 2);
      if (column === 'merchant_id' && (c.from || c.to)) return ['m1', 'm2', 'm3', 'm4'].filter((m) => m >= (c.from ?? '') && m <= (c.to ?? '\u{10ffff}')).length / 4;
      return undefined;
    },
  }, ['merchant_id', 'event_type', 'event_ts', 'amount', 'note']),
  table('d.ingested', { partition: { column: '_PARTITIONTIME', granularity: 'DAY' } }, ['merchant_id', 'event_ts', 'amount', '_PARTITIONTIME']),
  { ...table('d.merchants', {}, ['merchant_id', 'since']), partitions: [0] },
];
const profile: Profile = { now: new Date(NOW), table: (id) => TABLE_PROFILES.find((t) => t.id === id) };
const COLUMN_DAY = 10 * 1000;

describe('BigQuery scan estimator', function () {
  this.timeout(120_000);
  let est: Estimator;

  before(async () => {
    const zs = await zetaSql();
    const res = await zs.call('registerCatalog', {
      simpleCatalog: {
        name: 'estimator_test',
        builtinFunctionOptions: { languageOptions: BIGQUERY_LANGUAGE },
        catalog: [{ name: 'd', table: TABLES.map((t) => simple(t.name, t)) }],
        table: TABLES.map((t) => simple(`d.${t.name}`, t)),
      },
      tableContent: {},
    });
    est = createEstimator({
      catalogId: res.registeredId.toString(),
      views: new Map([['d.events_view', 'select * from d.events']]),
      profile,
    });
  });

  const only = async (sql: string, params = {}) => {
    const e = await est.estimate(sql, params);
    assert.equal(e.reads.length, 1, JSON.stringify(e.reads));
    return e.reads[0]!;
  };

  it('prunes to the partitions a constant range on the partitioning column keeps', async () => {
    const r = await only("select amount from d.events where event_ts >= timestamp '2026-03-08' and event_ts < timestamp '2026-03-10'");
    assert.deepEqual([r.partitionsKept, r.partitionRange, r.columns], [2, ['2026-03-08', '2026-03-09'], ['amount', 'event_ts']]);
    assert.equal(r.bytes, 2 * 2 * COLUMN_DAY);
  });

  it('prunes by query parameters and functions of them (a script variable is bound as one)', async () => {
    const r = await only('select amount from d.events where event_ts >= timestamp_sub(@window_start, interval 24 hour) and event_ts < @window_end', {
      window_start: new Date('2026-03-09T05:00:00Z'),
      window_end: new Date('2026-03-09T06:00:00Z'),
    });
    assert.deepEqual(r.partitionRange, ['2026-03-08', '2026-03-09']);
  });

  it('does not prune when the bound comes from a subquery, and the subquery scans its own table', async () => {
    const e = await est.estimate('select amount from d.events where event_ts >= (select max(since) from d.merchants)');
    const events = e.reads.find((r) => r.table === 'd.events')!;
    assert.equal(events.partitionsKept, 10);
    assert.ok(events.notes.some((n) => n.startsWith('event_ts: compared with a subquery')), events.notes.join('; '));
    assert.deepEqual(e.reads.map((r) => r.table).sort(), ['d.events', 'd.merchants']);
  });

  it('does not prune through a join: the bound is another table\'s column', async () => {
    const e = await est.estimate('select e.amount from d.events as e join d.merchants as m on e.merchant_id = m.merchant_id and e.event_ts >= m.since');
    const events = e.reads.find((r) => r.table === 'd.events')!;
    assert.equal(events.partitionsKept, 10);
    assert.ok(events.notes.some((n) => n.startsWith('event_ts: compared with a column')), events.notes.join('; '));
  });

  it('does not prune when the partitioning column is wrapped in an expression', async () => {
    const r = await only("select amount from d.events where timestamp_add(event_ts, interval 1 hour) >= timestamp '2026-03-09'");
    assert.equal(r.partitionsKept, 10);
  });

  it('prunes through a CTE, a view and a window partitioned by the column, not through a window that is not', async () => {
    const cte = await only("with x as (select * from d.events) select amount from x where event_ts >= timestamp '2026-03-09'");
    assert.equal(cte.partitionsKept, 2);
    const view = await only("select amount from d.events_view where event_ts >= timestamp '2026-03-09'");
    assert.deepEqual([view.partitionsKept, view.columns], [2, ['amount', 'event_ts']]);
    const byKey = await only(
      "select amount from (select *, row_number() over (partition by event_ts order by amount) as n from d.events) where event_ts >= timestamp '2026-03-09' and n = 1",
    );
    assert.equal(byKey.partitionsKept, 2);
    const notKey = await only(
      "select amount from (select *, row_number() over (partition by merchant_id order by amount) as n from d.events) where event_ts >= timestamp '2026-03-09' and n = 1",
    );
    assert.equal(notKey.partitionsKept, 10);
  });

  it('prunes an ingestion-time table by _PARTITIONTIME, not by a timestamp column of its own', async () => {
    const byPseudo = await only("select amount from d.ingested where _PARTITIONTIME = timestamp '2026-03-05'");
    assert.deepEqual([byPseudo.partitionsKept, byPseudo.partitionRange], [1, ['2026-03-05', '2026-03-05']]);
    const byColumn = await only("select amount from d.ingested where event_ts >= timestamp '2026-03-09'");
    assert.equal(byColumn.partitionsKept, 10);
  });

  it('prunes blocks by a filter on the leading clustering column, not by one on the second column alone', async () => {
    const leading = await only("select amount from d.events where event_ts >= timestamp '2026-03-10' and merchant_id = 'm1'");
    assert.deepEqual([leading.clusterColumns, leading.clusterShare, leading.bytes, leading.unclusteredBytes], [['merchant_id'], 0.25, (3 * COLUMN_DAY) / 4, 3 * COLUMN_DAY]);
    const both = await only("select amount from d.events where event_ts >= timestamp '2026-03-10' and merchant_id in unnest(@ms) and event_type = 'order'", { ms: ['m1', 'm2'] });
    assert.deepEqual([both.clusterColumns, both.clusterShare], [['merchant_id', 'event_type'], 0.25]);
    const range = await only("select amount from d.events where event_ts >= timestamp '2026-03-10' and merchant_id >= @from and merchant_id <= @to", { from: 'm2', to: 'm3' });
    assert.deepEqual([range.clusterColumns, range.clusterShare], [['merchant_id'], 0.5]);
    const second = await only("select amount from d.events where event_ts >= timestamp '2026-03-10' and event_type = 'order'");
    assert.deepEqual([second.clusterColumns, second.clusterShare, second.bytes], [[], 1, 3 * COLUMN_DAY]);
  });

  it('reads only the referenced columns, whole, of each kept partition', async () => {
    const r = await only("select merchant_id, count(*) from d.events where event_ts >= timestamp '2026-03-10' group by merchant_id");
    assert.deepEqual([r.columns, r.bytes], [['event_ts', 'merchant_id'], 2 * COLUMN_DAY]);
  });

  it('reads the columns a window function partitions and orders by, also through a view', async () => {
    const r = await only(
      "select note from (select *, row_number() over (partition by merchant_id order by amount) as n from d.events_view) where event_ts >= timestamp '2026-03-10' and n = 1",
    );
    assert.deepEqual(r.columns, ['amount', 'event_ts', 'merchant_id', 'note']);
  });

  it('counts a table read by two CTE references once, over the partitions either keeps', async () => {
    const r = await only(
      "with x as (select * from d.events) select amount from x where event_ts >= timestamp '2026-03-10' union all select amount from x where event_ts >= timestamp '2026-03-09'",
    );
    assert.deepEqual([r.partitionsKept, r.bytes], [2, 2 * 2 * COLUMN_DAY]);
  });

  it('bills at least 10 MB for each table a statement references', async () => {
    const e = await est.estimate('select count(*) from d.merchants');
    assert.equal(e.reads[0]!.bytes, 0);
    assert.equal(e.bytes, MIN_BILLED_BYTES_PER_TABLE);
  });

  it('counts every column of the MERGE target\'s partitions that a DELETE clause scans, pruned by its search condition', async () => {
    const e = await est.estimate(
      `merge d.events as t using (select * from d.ingested where _PARTITIONTIME >= @window_start) as s on false
       when not matched by source and t.event_ts >= @window_start then delete
       when not matched then insert (merchant_id, event_type, event_ts, amount, note) values (s.merchant_id, 'x', s.event_ts, s.amount, null)`,
      { window_start: new Date('2026-03-10T00:00:00Z') },
    );
    const target = e.reads.find((r) => r.table === 'd.events')!;
    assert.deepEqual([target.dmlTarget, target.partitionsKept, target.bytes], [true, 1, 5 * COLUMN_DAY]);
    const source = e.reads.find((r) => r.table === 'd.ingested')!;
    assert.equal(source.partitionsKept, 1);
  });

  it('prunes the blocks of a MERGE target by a merchant range in its DELETE clause\'s search condition', async () => {
    const merge = (range: string) =>
      est.estimate(
        `merge d.events as t using (select * from d.ingested where _PARTITIONTIME >= @window_start) as s on false
         when not matched by source and t.event_ts >= @window_start${range} then delete
         when not matched then insert (merchant_id, event_type, event_ts, amount, note) values (s.merchant_id, 'x', s.event_ts, s.amount, null)`,
        { window_start: new Date('2026-03-10T00:00:00Z'), from: 'm2', to: 'm3' },
      );
    const narrowed = (await merge(' and t.merchant_id >= @from and t.merchant_id <= @to')).reads.find((r) => r.table === 'd.events')!;
    assert.deepEqual([narrowed.clusterColumns, narrowed.clusterShare, narrowed.bytes], [['merchant_id'], 0.5, (5 * COLUMN_DAY) / 2]);
    const whole = (await merge('')).reads.find((r) => r.table === 'd.events')!;
    assert.deepEqual([whole.clusterShare, whole.bytes], [1, 5 * COLUMN_DAY]);
  });
});
