// exportMartRun and the mart cycle's export on the local warehouse and series store: one mart run
// exported per merchant shard (shards that tile the merchant space write what one export of the whole
// run writes); a run writes only the series keys its rebuild changed; inventory as change points that
// the query API fills forward — every answer equal to the answer over a dense export of the same marts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { pino } from 'pino';
import request from 'supertest';
import { exportDocuments, exportMartRun, exportWindows } from '../../../pipeline/marts/exporter.js';
import { runMartCycle } from '../../../pipeline/marts/hourly.js';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import { scheduledRun } from '../../../pipeline/marts/runner.js';
import type { Clock, SeriesMutation, SeriesStore } from '../../../pipeline/ports.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, addKey } from '../../services/query-api/fixtures.js';
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

/** A series store that records the mutations it is given. */
function recording(inner: SeriesStore): SeriesStore & { mutations: SeriesMutation[] } {
  const mutations: SeriesMutation[] = [];
  return Object.assign(Object.create(inner) as SeriesStore, {
    mutations,
    mutate: async (ms: SeriesMutation[]) => {
      mutations.push(...ms);
      await inner.mutate(ms);
    },
  });
}

/** A seeded generator (mulberry32), so the workload is the same on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The metrics requests of every series and dimension set of the workload's merchants over [from, to). */
function requestsOf(merchants: string[], from: string, to: string): string[] {
  const day = (iso: string) => iso.slice(0, 10);
  const hours = `granularity=hour&from=${from}&to=${to}`;
  const days = `granularity=day&from=${day(from)}&to=${day(new Date(Date.parse(to) + 86_400_000).toISOString())}`;
  const out: string[] = [];
  for (const m of merchants) {
    const base = `/v1/merchants/${m}/metrics?`;
    out.push(`${base}series=sales&metrics=orders,net_revenue_minor,average_order_value_minor&${hours}`);
    out.push(`${base}series=sales&metrics=orders,net_revenue_minor&${days}`);
    for (const store of ['s1', 's2']) {
      out.push(`${base}series=sales&metrics=orders,items,refund_minor&store=${store}&${hours}`);
      out.push(`${base}series=sales&metrics=orders&store=${store}&${days}`);
      for (const sku of ['pz', 'cola']) {
        out.push(`${base}series=products&metrics=units,net_revenue_minor&sku=${sku}&store=${store}&${hours}`);
        out.push(`${base}series=inventory&metrics=closing_quantity,low_stock&sku=${sku}&store=${store}&${hours}`);
      }
    }
    out.push(`${base}series=products&metrics=units&sku=pz&${hours}`);
    out.push(`${base}series=traffic&metrics=page_views,visitors,sessions&${hours}`);
    out.push(`${base}series=traffic&metrics=page_views,visitors&${days}`);
  }
  return out;
}

/** The query API's answers to `paths` over a series store (one read key per merchant). */
async function answers(series: SeriesStore, merchants: string[], paths: string[], now: Date): Promise<unknown[]> {
  const keys = new MemoryKeyStore();
  const bearer = new Map<string, string>();
  for (const m of merchants) bearer.set(m, (await addKey(keys, 'read', m)).key);
  const app = createQueryApi({ series, keys, pepper: Buffer.alloc(32, 7), clock: { now: () => now }, logger: pino({ level: 'silent' }), dashboard: false });
  const out: unknown[] = [];
  for (const p of paths) {
    const res = await request(app).get(p).set('Authorization', `Bearer ${bearer.get(p.split('/')[3]!)}`);
    assert.equal(res.status, 200, `${p}: ${JSON.stringify(res.body)}`);
    out.push(res.body);
  }
  return out;
}

/** Every mart row of [from, to) written densely, the way the exporter wrote it before change points and change-only runs. */
async function denseExport(wh: LocalWarehouse, series: SeriesStore, from: string, to: string): Promise<void> {
  await exportWindows({ warehouse: wh, series }, MARTS.map((m) => ({ mart: m.stem, windowStart: new Date(from), windowEnd: new Date(to) })));
  await exportDocuments({ warehouse: wh, series });
}

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

  it('writes only the series keys whose mart rows a run changed, and the API answers as over a dense export', async () => {
    await loadEvents(wh, dims, workload());
    const series = recording(openSeries('changes'));
    await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T13:20:00Z') });
    assert.ok(series.mutations.length > 100, `${series.mutations.length} mutations on the first run`);
    // A late page view of m_a's 09:00 hour: its traffic hour and day change, nothing else does — though
    // the run rebuilds m_a's 09:00 sales, products and day, and every merchant's latest inventory hours.
    await loadEvents(wh, dims, [{ event: pageView({ merchant: 'm_a', at: '2026-03-06T09:30:00Z', visitor: 'late', session: 'late' }), receivedAt: '2026-03-06T13:30:00Z' }]);
    series.mutations.length = 0;
    const second = await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T13:40:00Z') });
    assert.ok(second.run.windows.some((w) => w.mart === 'mart_hourly_store_sales' && w.scope?.cells.includes('m_a|2026-03-06T09')), 'the sales hour was rebuilt');
    assert.ok(second.run.windows.some((w) => w.mart === 'mart_hourly_store_inventory'), 'inventory hours were rebuilt');
    assert.deepStrictEqual(
      series.mutations.filter((m) => m.kind === 'set').map((m) => m.key).sort(),
      ['m_a#traffic#d#20260306', 'm_a#traffic#h#2026030609'],
    );
    assert.equal(second.cells, 10);

    const dense = openSeries('dense');
    await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
    const paths = [...requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z'), ...requestsOf(MERCHANTS, '2026-03-06T10:00:00Z', '2026-03-06T12:00:00Z')];
    const now = new Date('2026-03-06T13:45:00Z');
    const expected = await answers(dense, MERCHANTS, paths, now);
    assert.deepStrictEqual(await answers(series, MERCHANTS, paths, now), expected);
    // the answers hold data, so the comparison means something
    assert.ok(JSON.stringify(expected).includes('"closing_quantity":12'), 'inventory answered');
  });
});
