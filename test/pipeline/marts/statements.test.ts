// The ordered statement list of a run (what the runner executes and the bytes estimator reads).
import assert from 'node:assert/strict';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import { reprocessStatements, scheduledRunStatements } from '../../../pipeline/marts/statements.js';
import { LAST_MERCHANT } from '../../../pipeline/marts/windows.js';

const d = (s: string) => new Date(s);
const zones = new Map([
  ['m_a', ['UTC']],
  ['m_b', ['Asia/Kolkata']],
]);

describe('run statements', () => {
  it('lists bookkeeping reads, then each mart and its assertions, bound to the touched cells', () => {
    const list = scheduledRunStatements({
      startedAt: d('2026-03-10T12:05:00Z'),
      arrivalsFrom: d('2026-03-10T10:05:00Z'),
      finalizedThrough: d('2026-03-10T12:00:00Z'),
      cells: [
        { merchantId: 'm_a', hour: d('2026-03-10T11:00:00Z') },
        { merchantId: 'm_b', hour: d('2026-03-03T18:00:00Z') },
      ],
      zones,
    });
    assert.deepStrictEqual(list.slice(0, 4).map((s) => s.stem), ['watermarks', 'arrivals', 'zones', 'promotions']);
    const marts = list.filter((s) => s.role === 'mart');
    assert.deepStrictEqual([...new Set(marts.map((s) => s.stem))], MARTS.map((m) => m.stem));
    const sales = marts.filter((s) => s.stem === 'mart_hourly_store_sales');
    // the week-old cell and the new one are two windows, each pruned to its own partitions
    assert.deepStrictEqual(sales.map((s) => [s.params.window_start, s.params.window_end, s.params.merchants, s.params.cells, s.params.merchant_from, s.params.merchant_to]), [
      [d('2026-03-03T18:00:00Z'), d('2026-03-03T19:00:00Z'), ['m_b'], ['m_b|2026-03-03T18'], 'm_b', 'm_b'],
      [d('2026-03-10T11:00:00Z'), d('2026-03-10T12:00:00Z'), ['m_a'], ['m_a|2026-03-10T11'], 'm_a', 'm_a'],
    ]);
    // a +05:30 hour 18:00–19:00 UTC overlaps two local days
    const daily = marts.filter((s) => s.stem === 'mart_daily_merchant_sales').map((s) => s.params.cells);
    assert.deepStrictEqual(daily, [['m_b|2026-03-03', 'm_b|2026-03-04'], ['m_a|2026-03-10']]);
    // every assertion follows its mart, bound to the same window
    for (const [i, s] of list.entries()) if (s.role === 'assertion') assert.equal(list[i - 1]!.window, s.window);
  });

  it('binds a range build to every merchant of the range, with the horizon from config', () => {
    const list = reprocessStatements({ from: d('2026-03-01T00:30:00Z'), to: d('2026-03-02T00:00:00Z'), marts: ['mart_hourly_store_sales'], config: { horizonDays: 30, arrivalsOverlapMs: 0 } });
    assert.deepStrictEqual(list.map((s) => s.stem), ['mart_hourly_store_sales', 'assert_mart_hourly_store_sales__unique_key', 'assert_mart_hourly_store_sales__net_revenue']);
    assert.deepStrictEqual(list[0]!.params, { window_start: d('2026-03-01T00:00:00Z'), window_end: d('2026-03-02T00:00:00Z'), all_from: d('2026-03-01T00:00:00Z'), merchants: [''], cells: [''], merchant_from: '', merchant_to: LAST_MERCHANT });
    const inventory = reprocessStatements({ from: d('2026-03-01T00:00:00Z'), to: d('2026-03-02T00:00:00Z'), marts: ['mart_hourly_store_inventory'], config: { horizonDays: 30, arrivalsOverlapMs: 0 } });
    assert.deepStrictEqual(inventory[0]!.params.carry_from, d('2026-01-30T00:00:00Z'));
  });

  it('carries inventory in from the mart only in an hourly run: no raw read before the window', () => {
    const list = scheduledRunStatements({ startedAt: d('2026-03-10T12:05:00Z'), arrivalsFrom: d('2026-03-10T10:05:00Z'), cells: [{ merchantId: 'm_a', hour: d('2026-03-10T08:00:00Z') }], zones });
    const inventory = list.filter((s) => s.stem === 'mart_hourly_store_inventory');
    // the merchant's hours before the all-merchant hours (no all_from inside: two days past its end), then every merchant's
    assert.deepStrictEqual(inventory.map((s) => [s.params.window_start, s.params.carry_from, s.params.all_from, s.params.cells, s.params.merchant_from, s.params.merchant_to]), [
      [d('2026-03-10T08:00:00Z'), d('2026-03-10T08:00:00Z'), d('2026-03-12T10:00:00Z'), ['m_a|2026-03-10T08', 'm_a|2026-03-10T09'], 'm_a', 'm_a'],
      [d('2026-03-10T10:00:00Z'), d('2026-03-10T10:00:00Z'), d('2026-03-10T10:00:00Z'), [''], '', LAST_MERCHANT],
    ]);
  });
});
