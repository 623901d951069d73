// Every mart built on DuckDB equals the plain-TypeScript oracle (test/support/oracle.ts) on a seeded
// workload: three merchants in America/New_York (with its DST change), Asia/Kolkata (+05:30) and
// Asia/Kathmandu (+05:45), orders with refunds and cancellations, late POS batches, web traffic,
// inventory and second copies of events in raw.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { buildMarts } from '../../../pipeline/marts/runner.js';
import * as oracle from '../../support/oracle.js';
import { loadDimensions, loadEvents, martTable, openWarehouse, ordered } from './support.js';
import { WORKLOAD_DIMS, workload } from './workload.js';

describe('marts against the TypeScript oracle', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let events: oracle.OracleEvent[];
  const window = { start: new Date('2026-03-06T00:00:00Z'), end: new Date('2026-03-11T00:00:00Z') };

  before(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, WORKLOAD_DIMS);
    // Events start before the window (inventory carried in, days overlapping its start) and end inside it.
    events = await loadEvents(wh, dims, workload(20261121, 3000, new Date('2026-03-05T12:00:00Z'), 4 * 24 + 6));
    await buildMarts(wh, { windowStart: window.start, windowEnd: window.end });
  });
  after(async () => wh.close());

  const cases: [string, () => oracle.OracleRow[]][] = [
    ['mart_hourly_store_sales', () => oracle.hourlyStoreSales(events, window)],
    ['mart_hourly_product_sales', () => oracle.hourlyProductSales(events, window)],
    ['mart_hourly_traffic', () => oracle.hourlyTraffic(events, window)],
    ['mart_hourly_traffic_breakdown', () => oracle.hourlyTrafficBreakdown(events, window)],
    ['mart_hourly_store_inventory', () => oracle.hourlyStoreInventory(events, window, 10)],
    ['mart_daily_merchant_sales', () => oracle.dailySales(events, dims, window, 'merchant')],
    ['mart_daily_store_sales', () => oracle.dailySales(events, dims, window, 'store')],
    ['mart_daily_merchant_traffic', () => oracle.dailyTraffic(events, dims, window)],
    ['mart_daily_merchant_traffic_breakdown', () => oracle.dailyTrafficBreakdown(events, dims, window)],
  ];
  for (const [stem, expected] of cases) {
    it(`${stem} equals the oracle row for row`, async () => {
      const want = ordered(stem, expected());
      assert.ok(want.length >= 10, `the workload gives ${stem} rows to compare (${want.length})`);
      assert.deepStrictEqual(await martTable(wh, stem), want);
    });
  }
});
