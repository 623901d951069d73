// Late and concurrent arrivals on the local warehouse: the watermark cannot skip a row committed
// after a run read arrivals but stamped before it; a run that fails part way loses no arrivals for
// the marts after the failure; a late backfill of one merchant rebuilds only that merchant's cells.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { runMartCycle } from '../../../pipeline/marts/hourly.js';
import { scheduledRun } from '../../../pipeline/marts/runner.js';
import type { Clock, SeriesMutation, SeriesStore, Warehouse } from '../../../pipeline/ports.js';
import { loadDimensions, loadEvents, martTable, openWarehouse, order, type FixtureEvent } from './support.js';

const DIMS = {
  merchants: [
    { id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' },
    { id: 'm_la', name: 'Pizza LA', time_zone: 'America/Los_Angeles', currency: 'USD' },
  ],
  stores: [
    { id: 's1', merchant_id: 'm_ny', name: 'Midtown', city: 'New York', region: 'NY' },
    { id: 's2', merchant_id: 'm_la', name: 'Venice', city: 'Los Angeles', region: 'CA' },
  ],
};

const at = (iso: string): Clock => ({ now: () => new Date(iso) });
const sale = (merchant: 'm_ny' | 'm_la', t: string, receivedAt?: string, price = 1000): FixtureEvent => ({
  event: order({ merchant, store: merchant === 'm_ny' ? 's1' : 's2', at: t, currency: 'USD', lines: [{ sku: 'pz', quantity: 1, unit_price_minor: price }] }),
  ...(receivedAt ? { receivedAt, messageId: `msg-${merchant}-${t}-${receivedAt}` } : {}),
});
const ordersByHour = async (wh: LocalWarehouse, mart = 'mart_hourly_store_sales') =>
  (await martTable(wh, mart)).map((r) => [r.merchant_id, r.hour_start ?? r.local_date, r.orders]);

/** A series store that records the row keys each mutation touches. */
function recording(inner: SeriesStore): SeriesStore & { keys: Set<string> } {
  const keys = new Set<string>();
  const mutate = async (ms: SeriesMutation[]) => {
    for (const m of ms) keys.add(m.key);
    await inner.mutate(ms);
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'keys') return keys;
      if (prop === 'mutate') return mutate;
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as SeriesStore & { keys: Set<string> };
}

describe('late and concurrent arrivals', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let dir: string;
  let series: LmdbSeriesStore;

  beforeEach(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, DIMS);
    dir = mkdtempSync(join(tmpdir(), 'tillstream-late-'));
    series = openLmdbSeriesStore({ path: join(dir, 'series') });
  });
  afterEach(async () => {
    await wh.close();
    await series.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds on the next run a row committed after a run started but stamped before it', async () => {
    await loadEvents(wh, dims, [sale('m_ny', '2026-03-06T08:05:00Z')]);
    await scheduledRun({ warehouse: wh, clock: at('2026-03-06T11:10:00Z') });
    assert.deepStrictEqual(await ordersByHour(wh), [['m_ny', '2026-03-06T08:00:00.000Z', 1]]);
    // A late POS order of 08:50, received at 11:09 — before that run started — and committed only
    // now (a slow delivery): the run at 11:10 could not see it, and 08:00 is no longer a latest hour.
    await loadEvents(wh, dims, [sale('m_ny', '2026-03-06T08:50:00Z', '2026-03-06T11:09:00Z')]);
    await scheduledRun({ warehouse: wh, clock: at('2026-03-06T12:10:00Z') });
    assert.deepStrictEqual(await ordersByHour(wh), [['m_ny', '2026-03-06T08:00:00.000Z', 2]]);
  });

  it('loses nothing when a run fails in its third mart: the next run builds every mart', async () => {
    await loadEvents(wh, dims, [sale('m_ny', '2026-03-06T09:05:00Z')]);
    await scheduledRun({ warehouse: wh, clock: at('2026-03-06T10:10:00Z') });
    await loadEvents(wh, dims, [sale('m_ny', '2026-03-06T10:20:00Z'), sale('m_la', '2026-03-06T10:40:00Z')]);
    let failed = 0;
    const failing: Warehouse = {
      run: async (sql, params) => {
        if (/merge into marts\.mart_hourly_traffic/.test(sql)) {
          failed++;
          throw new Error('the third mart fails');
        }
        return wh.run(sql, params);
      },
      query: (sql, params) => wh.query(sql, params),
    };
    await assert.rejects(scheduledRun({ warehouse: failing, clock: at('2026-03-06T11:10:00Z') }), /rebuilding mart_hourly_traffic/);
    assert.equal(failed, 1);
    await scheduledRun({ warehouse: wh, clock: at('2026-03-06T12:10:00Z') });
    const expected = [
      ['m_la', '2026-03-06T10:00:00.000Z', 1],
      ['m_ny', '2026-03-06T09:00:00.000Z', 1],
      ['m_ny', '2026-03-06T10:00:00.000Z', 1],
    ];
    assert.deepStrictEqual(await ordersByHour(wh), expected);
    // the marts after the failed one hold the arrivals of the failed run too
    assert.deepStrictEqual(await ordersByHour(wh, 'mart_daily_store_sales'), [
      ['m_la', '2026-03-06', 1],
      ['m_ny', '2026-03-06', 2],
    ]);
  });

  it("rebuilds and exports only the late merchant's cells for a week-old backfill", async () => {
    await loadEvents(wh, dims, [
      sale('m_ny', '2026-03-06T10:05:00Z'),
      sale('m_la', '2026-03-06T10:15:00Z'),
      sale('m_ny', '2026-03-13T09:05:00Z'),
      sale('m_la', '2026-03-13T09:15:00Z'),
    ]);
    await runMartCycle({ warehouse: wh, series, clock: at('2026-03-13T10:05:00Z') });
    // An hour later: m_ny's POS backfill of a week ago, and the current hour's sales of both.
    await loadEvents(wh, dims, [
      sale('m_ny', '2026-03-06T10:30:00Z', '2026-03-13T10:30:00Z', 500),
      sale('m_ny', '2026-03-13T10:10:00Z'),
      sale('m_la', '2026-03-13T10:20:00Z'),
    ]);
    const rec = recording(series);
    const cycle = await runMartCycle({ warehouse: wh, series: rec, clock: at('2026-03-13T11:05:00Z') });
    const oldWeek = [...rec.keys].filter((k) => /#(h#2026030[0-9]|d#2026030[0-9])/.test(k));
    // a week back only m_ny's buckets of that hour and day are written
    assert.deepStrictEqual(oldWeek.sort(), [
      'm_ny#products#sku=pz#h#2026030610',
      'm_ny#products#sku=pz#store=s1#h#2026030610',
      'm_ny#sales#d#20260306',
      'm_ny#sales#h#2026030610',
      'm_ny#sales#store=s1#d#20260306',
      'm_ny#sales#store=s1#h#2026030610',
    ]);
    // rows rebuilt a week back: only m_ny's cells (a window may also hold this hour's cells of both
    // merchants: the local runner builds one window per mart), and no merchant wholesale from then
    const weekOld = cycle.run.windows.filter((w) => w.windowStart < new Date('2026-03-10T00:00:00Z'));
    assert.ok(weekOld.length > 0);
    for (const w of weekOld) {
      const oldCells = w.scope!.cells.filter((c) => c.split('|')[1]! < '2026-03-10');
      assert.ok(oldCells.length > 0, w.mart);
      assert.deepStrictEqual(oldCells.filter((c) => !c.startsWith('m_ny|')), [], w.mart);
      assert.ok((w.scope!.allFrom ?? w.windowEnd) > new Date('2026-03-13T00:00:00Z'), w.mart);
    }
    assert.deepStrictEqual(
      (await ordersByHour(wh)).filter((r) => String(r[1]).startsWith('2026-03-06')),
      [
        ['m_la', '2026-03-06T10:00:00.000Z', 1],
        ['m_ny', '2026-03-06T10:00:00.000Z', 2],
      ],
    );
  });
});
