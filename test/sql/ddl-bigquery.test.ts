// BigQuery DDL generated from the schema source.
import assert from 'node:assert/strict';
import { bigQueryDdl, bqString, createTableDdl } from '../../pipeline/schema/ddl-bigquery.js';
import { ALL_TABLES, MART_TABLES, martRuns, martHourlyStoreSales } from '../../pipeline/schema/marts.js';
import { rawArrivals, rawEvents } from '../../pipeline/schema/raw.js';
import { dimMerchants } from '../../pipeline/schema/dims.js';

describe('BigQuery DDL', () => {
  it('partitions raw.events by day of event_ts, clusters it and requires a partition filter', () => {
    const ddl = createTableDdl(rawEvents);
    assert.match(ddl, /^create table if not exists raw\.events \(\n  event_id string not null options \(description = 'Client-made event id; with merchant_id the dedupe key'\),/);
    assert.match(ddl, /\n  promo_ids array<string> options \(description = 'Promotions applied to the order'\),\n/);
    assert.ok(ddl.endsWith(
      "\n)\npartition by timestamp_trunc(event_ts, day)\ncluster by merchant_id, event_type\noptions (description = 'One row per accepted event. Never changed by marts; partitions are reprocessed, not edited.', require_partition_filter = true)",
    ));
  });

  it('partitions daily marts by their DATE column and prefixes a project when given', () => {
    const ddl = createTableDdl(MART_TABLES.find((t) => t.id === 'marts.mart_daily_merchant_sales')!, { project: 'p-1' });
    assert.match(ddl, /^create table if not exists `p-1\.marts\.mart_daily_merchant_sales` \(/);
    assert.match(ddl, /\npartition by local_date\ncluster by merchant_id\n/);
    assert.doesNotMatch(ddl, /require_partition_filter/);
  });

  it('escapes quotes in descriptions', () => {
    assert.equal(bqString("the merchant's zone \\ ok"), "'the merchant\\'s zone \\\\ ok'");
    assert.match(createTableDdl(dimMerchants), /options \(description = 'IANA time zone; merchant-local days use it'\)/);
  });

  it('creates each dataset once, then every table of raw, dims and marts', () => {
    const stmts = bigQueryDdl(ALL_TABLES);
    assert.deepStrictEqual(stmts.slice(0, 3), ['create schema if not exists raw', 'create schema if not exists dims', 'create schema if not exists marts']);
    assert.equal(stmts.length, 3 + ALL_TABLES.length);
    const ids = ALL_TABLES.map((t) => t.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const t of [rawEvents, rawArrivals, dimMerchants, martHourlyStoreSales, martRuns]) assert.ok(ids.includes(t.id), t.id);
  });

  it('declares partition, clustering and unique-key columns that exist in each table', () => {
    for (const t of ALL_TABLES) {
      const names = new Set(t.columns.map((c) => c.name));
      for (const c of [...(t.clustering ?? []), ...t.uniqueKey, ...(t.partition ? [t.partition.column] : [])]) assert.ok(names.has(c), `${t.id}.${c}`);
    }
  });
});
