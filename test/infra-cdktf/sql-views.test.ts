import assert from 'node:assert/strict';
import { viewFromSql } from '../../infra-cdktf/sql-views.js';

describe('infra-cdktf viewFromSql', () => {
  it('takes the query of a create-view file and project-qualifies every table it reads', () => {
    const sql = [
      '-- rpt_x: a view',
      '-- grain: one row per merchant',
      'create or replace view reporting.rpt_x as',
      'with source as (select * from marts.mart_hourly_store_sales),',
      'stores as (select * from `dims.stores`)',
      'select source.merchant_id from source',
      'left join stores on stores.merchant_id = source.merchant_id;',
      '',
    ].join('\n');
    assert.deepEqual(viewFromSql('sql/reporting/rpt_x.sql', sql, 'p-1'), {
      dataset: 'reporting',
      name: 'rpt_x',
      query: [
        'with source as (select * from `p-1.marts.mart_hourly_store_sales`),',
        'stores as (select * from `p-1.dims.stores`)',
        'select source.merchant_id from source',
        'left join stores on stores.merchant_id = source.merchant_id',
      ].join('\n'),
      reads: ['dims', 'marts'],
    });
  });

  it('leaves CTE names and column references alone', () => {
    const v = viewFromSql('f.sql', 'create view staging.v as\nwith raw_rows as (select * from raw.events)\nselect raw_rows.event_id from raw_rows', 'p-1');
    assert.equal(v.query, 'with raw_rows as (select * from `p-1.raw.events`)\nselect raw_rows.event_id from raw_rows');
    assert.deepEqual(v.reads, ['raw']);
  });

  it('refuses a file that does not create a view, naming it', () => {
    assert.throws(() => viewFromSql('sql/marts/m.sql', 'merge into marts.m using (select 1) on false', 'p'), {
      message: 'sql/marts/m.sql: expected "create or replace view <dataset>.<name> as <query>"',
    });
  });
});
