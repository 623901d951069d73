// The inventory mart's bounded read on DuckDB: a window reads raw events of its own hours and carries
// closing stock in from the mart's row of the hour before (or, for a store and sku without one, from
// its last event of the 400 days before the window). Built window after window it must equal the
// oracle's one-pass result; a late event before a window is picked up by the scheduled run's
// 'later_hours' rebuild; raw history before a built hour is not read at all.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { buildMarts, buildWindows, scheduledRun } from '../../../pipeline/marts/runner.js';
import * as oracle from '../../support/oracle.js';
import { inventory, loadDimensions, loadEvents, martTable, openWarehouse, ordered, type FixtureEvent } from '../../pipeline/marts/support.js';
import { WORKLOAD_DIMS, workload } from '../../pipeline/marts/workload.js';

const STEM = 'mart_hourly_store_inventory';
const DIMS = {
  merchants: [{ id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' }],
  stores: [{ id: 's1', merchant_id: 'm_ny', name: 'Midtown', city: 'New York', region: 'NY' }],
  low_stock_threshold: 5,
};
const stock = (sku: string, at: string, onHand: number, receivedAt?: string): FixtureEvent => ({
  event: inventory({ merchant: 'm_ny', store: 's1', sku, at, onHand }),
  ...(receivedAt ? { receivedAt } : {}),
});
const rowsOf = async (wh: LocalWarehouse) =>
  (await martTable(wh, STEM)).map((r) => [r.sku, r.hour_start, r.closing_quantity, r.low_stock, r.last_event_at]);

describe('mart_hourly_store_inventory: bounded carry-in', function () {
  let wh: LocalWarehouse;

  afterEach(async () => wh?.close());

  it('built window after window (out of order in one call) equals the oracle over the whole range', async () => {
    wh = await openWarehouse();
    const dims = await loadDimensions(wh, WORKLOAD_DIMS);
    const events = await loadEvents(wh, dims, workload(20261121, 3000, new Date('2026-03-05T12:00:00Z'), 4 * 24 + 6));
    const start = Date.parse('2026-03-06T00:00:00Z');
    const hour = 3_600_000;
    // Windows of 7 hours, given newest first: the runner builds them in time order.
    const windows = Array.from({ length: 12 }, (_, i) => ({
      mart: STEM,
      windowStart: new Date(start + i * 7 * hour),
      windowEnd: new Date(start + (i + 1) * 7 * hour),
    })).reverse();
    await buildWindows(wh, windows);
    const want = ordered(STEM, oracle.hourlyStoreInventory(events, { start: new Date(start), end: new Date(start + 84 * hour) }, 10));
    assert.ok(want.length >= 100, `the workload gives rows to compare (${want.length})`);
    assert.deepStrictEqual(await martTable(wh, STEM), want);
  });

  it('carries in from the mart row of the previous hour, not from raw history before it', async () => {
    wh = await openWarehouse();
    const dims = await loadDimensions(wh, DIMS);
    await loadEvents(wh, dims, [stock('dough', '2026-03-05T20:00:00Z', 40), stock('dough', '2026-03-06T02:10:00Z', 4), stock('cheese', '2026-03-06T00:40:00Z', 6)]);
    await buildMarts(wh, { windowStart: new Date('2026-03-06T00:00:00Z'), windowEnd: new Date('2026-03-06T02:00:00Z'), marts: [STEM] });
    // Raw before the next window goes away: the next window must not need it.
    await wh.run('delete from raw.events where event_ts < @cut', { cut: new Date('2026-03-06T02:00:00Z') });
    await buildMarts(wh, { windowStart: new Date('2026-03-06T02:00:00Z'), windowEnd: new Date('2026-03-06T04:00:00Z'), marts: [STEM] });
    assert.deepStrictEqual(await rowsOf(wh), [
      ['cheese', '2026-03-06T00:00:00.000Z', 6, 0, '2026-03-06T00:40:00.000Z'],
      ['cheese', '2026-03-06T01:00:00.000Z', 6, 0, '2026-03-06T00:40:00.000Z'],
      ['cheese', '2026-03-06T02:00:00.000Z', 6, 0, '2026-03-06T00:40:00.000Z'],
      ['cheese', '2026-03-06T03:00:00.000Z', 6, 0, '2026-03-06T00:40:00.000Z'],
      ['dough', '2026-03-06T00:00:00.000Z', 40, 0, '2026-03-05T20:00:00.000Z'],
      ['dough', '2026-03-06T01:00:00.000Z', 40, 0, '2026-03-05T20:00:00.000Z'],
      ['dough', '2026-03-06T02:00:00.000Z', 4, 1, '2026-03-06T02:10:00.000Z'],
      ['dough', '2026-03-06T03:00:00.000Z', 4, 1, '2026-03-06T02:10:00.000Z'],
    ]);
  });

  it('falls back to raw only for items without a previous row, within 400 days of the window', async () => {
    wh = await openWarehouse();
    const dims = await loadDimensions(wh, DIMS);
    await loadEvents(wh, dims, [
      stock('old', '2025-01-31T09:00:00Z', 9), // 400 days before the window start, exactly: carried
      stock('older', '2025-01-31T08:59:59Z', 8), // one second beyond the horizon: not carried
      stock('recent', '2026-03-05T08:00:00Z', 3),
    ]);
    await buildMarts(wh, { windowStart: new Date('2026-03-07T09:00:00Z'), windowEnd: new Date('2026-03-07T10:00:00Z'), marts: [STEM] });
    assert.deepStrictEqual(await rowsOf(wh), [
      ['old', '2026-03-07T09:00:00.000Z', 9, 0, '2025-01-31T09:00:00.000Z'],
      ['recent', '2026-03-07T09:00:00.000Z', 3, 1, '2026-03-05T08:00:00.000Z'],
    ]);
  });

  it('a late event before the last window changes every later hour on the next scheduled run', async () => {
    wh = await openWarehouse();
    const dims = await loadDimensions(wh, DIMS);
    await loadEvents(wh, dims, [stock('dough', '2026-03-06T08:30:00Z', 20), stock('dough', '2026-03-06T12:15:00Z', 12)]);
    await scheduledRun({ warehouse: wh, clock: { now: () => new Date('2026-03-06T13:05:00Z') } });
    await scheduledRun({ warehouse: wh, clock: { now: () => new Date('2026-03-06T14:05:00Z') } });
    // Received at 14:40, it happened at 10:20: the run at 15:05 must rebuild 10:00 onward.
    await loadEvents(wh, dims, [stock('dough', '2026-03-06T10:20:00Z', 2, '2026-03-06T14:40:00Z')]);
    const run = await scheduledRun({ warehouse: wh, clock: { now: () => new Date('2026-03-06T15:05:00Z') } });
    assert.deepStrictEqual(
      run.windows.filter((w) => w.mart === STEM).map((w) => [w.windowStart.toISOString(), w.windowEnd.toISOString()]),
      // the merchant's hours up to every merchant's latest two, then those: the second carries in what the first rebuilt
      [
        ['2026-03-06T10:00:00.000Z', '2026-03-06T13:00:00.000Z'],
        ['2026-03-06T13:00:00.000Z', '2026-03-06T15:00:00.000Z'],
      ],
    );
    assert.deepStrictEqual(await rowsOf(wh), [
      ['dough', '2026-03-06T08:00:00.000Z', 20, 0, '2026-03-06T08:30:00.000Z'],
      ['dough', '2026-03-06T09:00:00.000Z', 20, 0, '2026-03-06T08:30:00.000Z'],
      ['dough', '2026-03-06T10:00:00.000Z', 2, 1, '2026-03-06T10:20:00.000Z'],
      ['dough', '2026-03-06T11:00:00.000Z', 2, 1, '2026-03-06T10:20:00.000Z'],
      ['dough', '2026-03-06T12:00:00.000Z', 12, 0, '2026-03-06T12:15:00.000Z'],
      ['dough', '2026-03-06T13:00:00.000Z', 12, 0, '2026-03-06T12:15:00.000Z'],
      ['dough', '2026-03-06T14:00:00.000Z', 12, 0, '2026-03-06T12:15:00.000Z'],
    ]);
  });
});
