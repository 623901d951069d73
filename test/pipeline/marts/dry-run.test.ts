import assert from 'node:assert/strict';
import { createDryRunWarehouse, discardingSeriesStore, formatBytes, MIN_BILLED_BYTES, ON_DEMAND_USD_PER_TIB } from '../../../pipeline/marts/dry-run.js';
import type { SqlParams } from '../../../pipeline/ports.js';

describe('dry-run warehouse', () => {
  it('dry-runs each distinct statement once, counts every run, answers no rows and bills the on-demand minimum', async () => {
    const calls: [string, SqlParams | undefined][] = [];
    const bytes: Record<string, number> = { 'select a from raw.events': 50 * 1024 * 1024, 'select b\nfrom dims.stores': 1000, 'insert into marts.mart_runs values (1)': 0 };
    const dry = createDryRunWarehouse(async (sql, params) => {
      calls.push([sql, params]);
      return bytes[sql]!;
    });
    const w = { window_start: new Date('2026-11-20T10:00:00Z') };
    assert.deepEqual(await dry.query('select a from raw.events', w), []);
    assert.deepEqual(await dry.query('select a from raw.events', { window_start: new Date('2026-11-20T10:00:00Z') }), []);
    await dry.run('select b\nfrom dims.stores');
    await dry.run('insert into marts.mart_runs values (1)');
    assert.deepEqual(calls.map((c) => c[0]), ['select a from raw.events', 'select b\nfrom dims.stores', 'insert into marts.mart_runs values (1)']);
    const billed = 2 * 50 * 1024 * 1024 + MIN_BILLED_BYTES;
    assert.deepEqual(dry.estimate(), {
      statements: [
        { label: 'select a from raw.events', bytes: 50 * 1024 * 1024, runs: 2 },
        { label: 'select b', bytes: 1000, runs: 1 },
        { label: 'insert into marts.mart_runs values (1)', bytes: 0, runs: 1 },
      ],
      bytesProcessed: 2 * 50 * 1024 * 1024 + 1000,
      bytesBilled: billed,
      estimatedCostUsd: (billed / 1024 ** 4) * ON_DEMAND_USD_PER_TIB,
    });
  });

  it('stops dry-running a statement after a few parameter sets and counts the rest at its largest answer', async () => {
    let n = 0;
    const dry = createDryRunWarehouse(async (_sql, params) => {
      n++;
      return Number(params!.m) * 100;
    }, { maxDryRunsPerStatement: 2 });
    for (const m of [1, 3, 2, 2, 5]) await dry.query('select 1 from raw.events where message_id = @m', { m });
    assert.equal(n, 2);
    assert.deepEqual(dry.estimate().statements, [{ label: 'select 1 from raw.events where message_id = @m', bytes: Math.round((100 + 300 + 300 + 300 + 300) / 5), runs: 5 }]);
    assert.equal(dry.estimate().bytesProcessed, 1300);
  });

  it('names the statement whose dry run failed, keeping the cause', async () => {
    const cause = new Error('Not found: Table p:raw.evnts');
    const dry = createDryRunWarehouse(async () => {
      throw cause;
    });
    await assert.rejects(dry.run('select * from raw.evnts\nwhere true'), (e: Error) => e.message === 'dry run of "select * from raw.evnts" failed' && e.cause === cause);
  });

  it('keeps nothing in its series store and formats bytes in binary units', async () => {
    await discardingSeriesStore.putDocument('k', { a: 1 });
    assert.equal(await discardingSeriesStore.getDocument('k'), undefined);
    assert.deepEqual([formatBytes(512), formatBytes(1536), formatBytes(3 * 1024 ** 3), formatBytes(42.5 * 1024 ** 4)], ['512 B', '1.50 KiB', '3.00 GiB', '42.5 TiB']);
  });
});
