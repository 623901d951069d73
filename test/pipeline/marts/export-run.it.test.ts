// exportMartRun on the local warehouse and series store: one mart run exported per merchant shard.
// Shards that tile the merchant space write exactly what one export of the whole run writes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { exportMartRun } from '../../../pipeline/marts/exporter.js';
import { scheduledRun } from '../../../pipeline/marts/runner.js';
import type { Clock } from '../../../pipeline/ports.js';
import { inventory, loadDimensions, loadEvents, openWarehouse, order, pageView, type FixtureEvent } from './support.js';

const MERCHANTS = ['m_a', 'm_b', 'm_c'];
const DIMS = {
  merchants: MERCHANTS.map((id) => ({ id, name: id, time_zone: id === 'm_b' ? 'Asia/Kolkata' : 'UTC', currency: 'EUR' })),
  stores: MERCHANTS.flatMap((m) => [
    { id: 's1', merchant_id: m, name: 'One' },
    { id: 's2', merchant_id: m, name: 'Two' },
  ]),
};

const at = (iso: string): Clock => ({ now: () => new Date(iso) });
const ALL = { start: '!', end: '~' };

function workload(): FixtureEvent[] {
  const out: FixtureEvent[] = [];
  for (const m of MERCHANTS) {
    for (let h = 8; h < 13; h++) {
      const t = `2026-03-06T${String(h).padStart(2, '0')}:10:00Z`;
      out.push({ event: order({ merchant: m, store: h % 2 ? 's1' : 's2', at: t, currency: 'EUR', lines: [{ sku: 'pz', quantity: h - 7, unit_price_minor: 900 }] }) });
      out.push({ event: pageView({ merchant: m, at: t, visitor: `v${h}`, session: `s${h}` }) });
      if (h % 2 === 0) out.push({ event: inventory({ merchant: m, store: 's1', at: t, sku: 'pz', onHand: 20 - h }) });
    }
  }
  return out;
}

describe('exportMartRun', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let dir: string;
  const stores: LmdbSeriesStore[] = [];

  beforeEach(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, DIMS);
    dir = mkdtempSync(join(tmpdir(), 'tillstream-export-run-'));
  });
  afterEach(async () => {
    await wh.close();
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const openSeries = (name: string) => {
    const s = openLmdbSeriesStore({ path: join(dir, name) });
    stores.push(s);
    return s;
  };

  it('writes, shard by shard over a tiling of merchant ranges, exactly what one export of the whole run writes', async () => {
    await loadEvents(wh, dims, workload());
    await scheduledRun({ warehouse: wh, clock: at('2026-03-06T13:20:00Z'), runId: 'run-1' });
    const whole = openSeries('whole');
    const all = await exportMartRun({ warehouse: wh, series: whole, now: () => new Date('2026-03-06T13:30:00Z') }, { runId: 'run-1', merchantFrom: '' });
    const sharded = openSeries('sharded');
    // m_b falls in the middle shard only: from is inclusive, to exclusive
    const shards = [{ merchantFrom: '', merchantTo: 'm_b' }, { merchantFrom: 'm_b', merchantTo: 'm_c' }, { merchantFrom: 'm_c' }];
    const parts = [];
    for (const s of shards) parts.push(await exportMartRun({ warehouse: wh, series: sharded, now: () => new Date('2026-03-06T13:30:00Z') }, { runId: 'run-1', ...s }));
    assert.ok(all.cells > 100, `${all.cells} cells`);
    assert.deepStrictEqual(parts.map((p) => p.documents), [3, 3, 3]);
    assert.equal(parts.reduce((n, p) => n + p.cells, 0), all.cells);
    assert.equal(parts.reduce((n, p) => n + p.rows, 0), all.rows);
    assert.deepStrictEqual(await sharded.readRange(ALL), await whole.readRange(ALL));
    const merchantsOf = async (s: LmdbSeriesStore) => [...new Set((await s.readRange(ALL)).map((r) => r.key.split('#')[0]))].sort();
    assert.deepStrictEqual(await merchantsOf(sharded), MERCHANTS);
  });
});
