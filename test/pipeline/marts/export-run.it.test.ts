// exportMartRun and the mart cycle's export on the local warehouse and series store: one mart run
// exported per merchant shard (shards that tile the merchant space write what one export of the whole
// run writes); a run writes only the series keys its rebuild changed; inventory as change points that
// the query API fills forward — every answer equal to the answer over a dense export of the same marts.
import assert from 'node:assert/strict';
import { isRankedKey, rankedTwinKey } from '../../../pipeline/series/ranked.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { exportDocuments, exportMartRun, exportRunSeries } from '../../../pipeline/marts/exporter.js';
import { exportEarlierRuns, logExport, pendingEarlierRuns } from '../../../pipeline/marts/export-log.js';
import { runMartCycle } from '../../../pipeline/marts/hourly.js';
import { reprocess } from '../../../pipeline/marts/reprocess.js';
import { scheduledRun } from '../../../pipeline/marts/runner.js';
import type { MartWindow } from '../../../pipeline/marts/windows.js';
import type { Clock, SeriesStore } from '../../../pipeline/ports.js';
import { answers, denseExport, requestsOf } from './api-answers.js';
import { recording, rewrittenKeys, writesByKey } from './series-writes.js';
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

/** A seeded generator (mulberry32), so the workload is the same on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
    // A late page view of m_a's 09:00 hour: its traffic hour and day change (and the page, referrer,
    // device and country it falls in), nothing else does — though
    // the run rebuilds m_a's 09:00 sales, products and day, and every merchant's latest inventory hours.
    await loadEvents(wh, dims, [{ event: pageView({ merchant: 'm_a', at: '2026-03-06T09:30:00Z', visitor: 'late', session: 'late' }), receivedAt: '2026-03-06T13:30:00Z' }]);
    series.mutations.length = 0;
    const second = await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T13:40:00Z') });
    assert.ok(second.run.windows.some((w) => w.mart === 'mart_hourly_store_sales' && w.scope?.cells.includes('m_a|2026-03-06T09')), 'the sales hour was rebuilt');
    assert.ok(second.run.windows.some((w) => w.mart === 'mart_hourly_store_inventory'), 'inventory hours were rebuilt');
    const sets = series.mutations.filter((m) => m.kind === 'set' && !isRankedKey(m.key));
    // The ranked rows of those a ranking reads are set with them, with the same cells, and no other: by the
    // LMDB store itself, which mirrors them (the exporter sends none), as a copy of each row.
    assert.equal(series.mirrorsRankedTwins, true);
    assert.deepStrictEqual(series.mutations.filter((m) => isRankedKey(m.key)), []);
    const ranked = sets.filter((m) => rankedTwinKey(m.key) !== undefined);
    assert.ok(ranked.length > 0);
    const rowAt = async (k: string) => (await series.readRange({ start: k, end: k + '\u0000' }))[0]?.cells;
    for (const m of ranked) assert.deepStrictEqual(await rowAt(rankedTwinKey(m.key)!), await rowAt(m.key), m.key);
    assert.deepStrictEqual(sets.map((m) => m.key).sort(), [
      'm_a#countries#country=(unknown)#d#20260306',
      'm_a#countries#country=(unknown)#h#2026030609',
      'm_a#devices#device=other#d#20260306',
      'm_a#devices#device=other#h#2026030609',
      'm_a#pages#page=/p#d#20260306',
      'm_a#pages#page=/p#h#2026030609',
      'm_a#referrers#referrer=(direct)#d#20260306',
      'm_a#referrers#referrer=(direct)#h#2026030609',
      'm_a#traffic#d#20260306',
      'm_a#traffic#h#2026030609',
    ]);
    assert.equal(second.cells, sets.reduce((n, m) => n + (m.kind === 'set' ? Object.keys(m.cells).length : 0), 0));
    // The finalized hours written are replaced whole (their partials retired with them); no row is removed.
    assert.deepStrictEqual(
      series.mutations.filter((m) => m.kind === 'delete_row').map((m) => m.key).sort(),
      sets.map((m) => m.key).filter((k) => k.includes('#h#')).sort(),
    );

    const dense = openSeries('dense');
    await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
    const paths = [...requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z'), ...requestsOf(MERCHANTS, '2026-03-06T10:00:00Z', '2026-03-06T12:00:00Z')];
    const now = new Date('2026-03-06T13:45:00Z');
    const expected = await answers(dense, MERCHANTS, paths, now);
    assert.deepStrictEqual(await answers(series, MERCHANTS, paths, now), expected);
    // the answers hold data, so the comparison means something
    assert.ok(JSON.stringify(expected).includes('"closing_quantity":12'), 'inventory answered');
  });

  it('exports inventory as change points that the API fills forward to the answers of a dense export, over a seeded workload with gaps', async () => {
    // Three days of inventory counts at random hours (many hours and a whole day without an event,
    // repeated quantities that change nothing, counts crossing the low-stock threshold of 10), built by
    // hourly runs that each see the events received by then, then a late count that changes a day back.
    const rnd = random(15);
    const events: FixtureEvent[] = [];
    for (let h = 0; h < 72; h++) {
      if (h >= 30 && h < 52) continue; // a gap across a UTC midnight
      for (const m of ['m_a', 'm_b']) {
        for (const store of ['s1', 's2']) {
          for (const sku of ['pz', 'cola']) {
            if (rnd() > 0.18) continue;
            const onHand = rnd() < 0.4 ? 12 : Math.floor(rnd() * 20);
            const t = new Date(Date.parse('2026-03-04T00:00:00Z') + h * 3_600_000 + Math.floor(rnd() * 59) * 60_000).toISOString();
            events.push({ event: inventory({ merchant: m, store, at: t, sku, onHand }), receivedAt: new Date(Date.parse(t) + 90_000).toISOString() });
          }
        }
      }
    }
    const series = recording(openSeries('points'));
    const hour = (h: number) => new Date(Date.parse('2026-03-04T00:00:00Z') + h * 3_600_000).toISOString();
    const until = (h: number) => events.filter((e) => e.receivedAt! < hour(h));
    await loadEvents(wh, dims, until(20));
    await runMartCycle({ warehouse: wh, series, clock: at(hour(20).replace(':00:00', ':10:00')) });
    let loaded = until(20).length;
    for (const h of [21, 22, 40, 55, 56, 60, 72]) {
      await loadEvents(wh, dims, until(h).slice(loaded));
      loaded = until(h).length;
      await runMartCycle({ warehouse: wh, series, clock: at(hour(h).replace(':00:00', ':10:00')) });
    }
    const late = { event: inventory({ merchant: 'm_b', store: 's2', at: hour(50), sku: 'pz', onHand: 3 }), receivedAt: hour(72).replace(':00:00', ':20:00') };
    await loadEvents(wh, dims, [late]);
    series.mutations.length = 0;
    await runMartCycle({ warehouse: wh, series, clock: at(hour(72).replace(':00:00', ':30:00')) });
    const extended = series.mutations.filter((m) => m.kind === 'set' && m.key.includes('#inventory#'));
    // the late count changes m_b's s2 pz from hour 50 on: a point there and where the next count differs, not a row per hour
    assert.ok(extended.length >= 1 && extended.length <= 3, `${extended.length} inventory points written`);

    const rows = await wh.query<{ n: number }>('select count(*) as n from marts.mart_hourly_store_inventory');
    const points = (await series.readRange(ALL)).filter((r) => r.key.includes('#inventory#'));
    assert.ok(points.length * 4 < Number(rows[0]!.n), `${points.length} points for ${rows[0]!.n} mart rows`);

    const dense = openSeries('dense');
    await denseExport(wh, dense, '2026-03-03T00:00:00Z', '2026-03-08T00:00:00Z');
    // Ranges starting between change points, inside the gap, at midnight, before the first count and
    // reaching past the last hour built.
    const ranges: [number, number][] = [[-3, 75], [5, 9], [13, 14], [23, 25], [31, 50], [47, 53], [24, 48], [50, 73], [71, 76]];
    const paths = ranges.flatMap(([a, b]) =>
      ['m_a', 'm_b'].flatMap((m) =>
        ['s1', 's2'].flatMap((store) => ['pz', 'cola'].map((sku) => `/v1/merchants/${m}/metrics?series=inventory&metrics=closing_quantity,low_stock&sku=${sku}&store=${store}&granularity=hour&from=${hour(a)}&to=${hour(b)}`)),
      ),
    );
    paths.push('/v1/merchants/m_a/low-stock', '/v1/merchants/m_b/low-stock', '/v1/merchants/m_b/low-stock?store=s2');
    const now = new Date(hour(72).replace(':00:00', ':40:00'));
    const expected = await answers(dense, ['m_a', 'm_b'], paths, now);
    assert.deepStrictEqual(await answers(series, ['m_a', 'm_b'], paths, now), expected);
    const filled = JSON.stringify(expected);
    assert.ok(filled.includes('"closing_quantity":12') && filled.includes('"low_stock":1') && filled.includes('"closing_quantity":null'), 'answers hold levels, lows and hours before the first count');
  });

  it('deletes the inventory points of an item whose events a reprocess removed, so the API fills nothing forward, as over a dense export', async () => {
    // m_a's cola in store s2 is counted twice, then its counts are found to be another shop's and
    // removed from raw; the reprocess rebuilds the day, where the item has no row any more.
    const counts = [
      inventory({ merchant: 'm_a', store: 's2', at: '2026-03-06T09:15:00Z', sku: 'cola', onHand: 30 }),
      inventory({ merchant: 'm_a', store: 's2', at: '2026-03-06T11:15:00Z', sku: 'cola', onHand: 8 }),
    ];
    await loadEvents(wh, dims, [...workload(), ...counts.map((event) => ({ event }))]);
    const series = openSeries('series');
    await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T13:20:00Z') });
    const paths = requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z');
    const now = new Date('2026-03-06T13:45:00Z');
    const cola = paths.findIndex((p) => p.includes('m_a/') && p.includes('series=inventory') && p.includes('sku=cola&store=s2'));
    assert.match(JSON.stringify((await answers(series, MERCHANTS, paths, now))[cola]), /"closing_quantity":8,"low_stock":1/, 'the item is answered before the reprocess');
    await wh.run('delete from raw.events where event_id in (@a, @b)', { a: counts[0]!.event_id, b: counts[1]!.event_id });
    await reprocess({ warehouse: wh, series, clock: at('2026-03-06T13:40:00Z') }, { from: new Date('2026-03-06T00:00:00Z'), to: new Date('2026-03-06T13:00:00Z') });
    const dense = openSeries('dense');
    await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
    const expected = await answers(dense, MERCHANTS, paths, now);
    assert.doesNotMatch(JSON.stringify(expected[cola]), /"closing_quantity":\d/, 'a dense export has no count of the item');
    assert.deepStrictEqual(await answers(series, MERCHANTS, paths, now), expected);
  });

  it('exports, with the next run, what a run rebuilt before it stopped in its export', async () => {
    await loadEvents(wh, dims, workload());
    const broken: SeriesStore = Object.assign(Object.create(openSeries('broken')) as SeriesStore, {
      mutate: async () => {
        throw new Error('series store unavailable');
      },
    });
    await assert.rejects(runMartCycle({ warehouse: wh, series: broken, clock: at('2026-03-06T13:20:00Z') }), /series store unavailable/);
    // The next run rebuilds the same windows (the first recorded no watermark), which now hold what
    // they will hold: compared with its own snapshot nothing changed; the first run, never logged as
    // exported, is exported against its snapshot.
    const series = recording(openSeries('recovered'));
    const next = await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T13:40:00Z') });
    assert.ok(next.cells > 100, `${next.cells} cells`);
    // The two runs' windows are the same: each key is written once, in the newest run's state.
    const { sets, deletes, cells } = writesByKey(series.mutations);
    const again = rewrittenKeys(series.mutations);
    assert.deepStrictEqual(again, [], `${again.length} of ${sets.size + deletes.size} keys written more than once; ${cells} cells`);
    assert.equal(next.cells, cells);
    const dense = openSeries('dense');
    await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
    const paths = requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z');
    const now = new Date('2026-03-06T13:45:00Z');
    assert.deepStrictEqual(await answers(series, MERCHANTS, paths, now), await answers(dense, MERCHANTS, paths, now));
  });

  /** Orders, page views and stock counts of both stores' hours, received at `received` (quantity `q` tells batches apart). */
  function lateBatch(hours: number[], received: string, q: number): FixtureEvent[] {
    const out: FixtureEvent[] = [];
    for (const m of MERCHANTS) {
      for (const h of hours) {
        const t = `2026-03-06T${String(h).padStart(2, '0')}:${String(10 + q).padStart(2, '0')}:00Z`;
        out.push({ receivedAt: received, event: order({ merchant: m, store: h % 2 ? 's1' : 's2', at: t, currency: 'EUR', lines: [{ sku: 'pz', quantity: q, unit_price_minor: 900 }] }) });
        out.push({ receivedAt: received, event: pageView({ merchant: m, at: t, visitor: `v${h}-${q}`, session: `s${h}-${q}` }) });
        out.push({ receivedAt: received, event: inventory({ merchant: m, store: 's1', at: t, sku: 'pz', onHand: 20 - h - q }) });
      }
    }
    return out;
  }

  // A run stopped anywhere (a SIGKILL) leaves its recorded windows and snapshots; the next run exports
  // only what its own snapshot shows changed, then each run the log does not hold against that run's
  // snapshot — no export of every row. Kill points: before the k-th window's record (its earlier windows
  // rebuilt), in its export (every window rebuilt), and two runs in a row, with arrivals between them
  // that overlap the stopped run's windows.
  const LOGGED_OWN = -1;
  const KILLS: { name: string; stops: number[]; first?: boolean }[] = [
    { name: 'before its 3rd window', stops: [2] },
    { name: 'before its 7th window', stops: [6] },
    { name: 'in its export', stops: [Infinity] },
    { name: 'before its 5th window, then the next in its export', stops: [4, Infinity] },
    { name: 'in its export, then the next before its 2nd window', stops: [Infinity, 1] },
    // The log is not in run order: the next run logs its own export, then stops before the earlier run's.
    { name: 'in its export, then the next after logging its own export', stops: [Infinity, LOGGED_OWN] },
    // The same as the deployment's first runs: no logged run is older than the unlogged one.
    { name: 'first, in its export, then the next after logging its own export', stops: [Infinity, LOGGED_OWN], first: true },
  ];
  for (const kill of KILLS) {
    it(`exports against their own snapshots what runs stopped ${kill.name} rebuilt: the series answer as a dense export`, async () => {
      await loadEvents(wh, dims, lateBatch([8, 9, 10, 11, 12], '2026-03-06T13:01:00Z', 1));
      const series = openSeries('series');
      if (!kill.first) await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T13:20:00Z') });
      const batches = [lateBatch([9, 10, 11], '2026-03-06T13:25:00Z', 2), lateBatch([10, 11, 12], '2026-03-06T13:35:00Z', 3)];
      for (const [i, stop] of kill.stops.entries()) {
        await loadEvents(wh, dims, batches[i]!);
        let windows = 0;
        const stopped = () => {
          throw new Error('killed');
        };
        const clock = at(`2026-03-06T13:${30 + i * 10}:00Z`);
        const beforeComplete = async (r: { runId: string; startedAt: Date; windows: MartWindow[]; finalizedThrough?: Date }) => {
          if (stop === LOGGED_OWN) {
            await exportRunSeries({ warehouse: wh, series }, { runId: r.runId, merchantFrom: '' }, r);
            await logExport(wh, r, { merchantFrom: '' }, clock.now());
          }
          stopped();
        };
        await assert.rejects(scheduledRun({ warehouse: wh, clock, beforeWindow: async () => (windows++ === stop ? stopped() : undefined), beforeComplete }), /killed/);
        assert.ok(stop === Infinity || stop === LOGGED_OWN || windows === stop + 1, `the run had ${windows} windows, stopped before the ${stop + 1}th`);
      }
      await loadEvents(wh, dims, lateBatch([8, 12], '2026-03-06T13:50:00Z', 4));
      const now = at('2026-03-06T14:00:00Z');
      let pending = 0;
      const through = new Map<string, Date>();
      let from: Date | undefined;
      const run = await scheduledRun({
        warehouse: wh,
        clock: now,
        beforeComplete: async (r) => {
          const earlier = await pendingEarlierRuns(wh, { before: r.startedAt, now: now.now(), exclude: [r.runId] });
          pending = earlier.length;
          const written = new Set<string>();
          const own = await exportRunSeries({ warehouse: wh, series }, { runId: r.runId, merchantFrom: '' }, r, { written });
          await logExport(wh, r, { merchantFrom: '' }, now.now());
          const rest = await exportEarlierRuns({ warehouse: wh, series }, earlier, { now: now.now(), written });
          for (const [m, t] of [...own.inventoryThrough, ...rest.inventoryThrough]) if (!(through.get(m)! >= t)) through.set(m, t);
          from = rest.arrivalsFrom;
        },
      });
      // The documents as the cycle writes them (hourly.ts runCycle).
      await exportDocuments({ warehouse: wh, series }, { from: from && from < run.arrivalsFrom ? from : run.arrivalsFrom, to: run.arrivalsThrough }, undefined, through);
      assert.equal(pending, kill.stops.filter((s) => s !== LOGGED_OWN).length, 'every run the log does not hold is exported');
      const dense = openSeries('dense');
      await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
      const paths = requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z');
      const when = new Date('2026-03-06T14:05:00Z');
      assert.deepStrictEqual(await answers(series, MERCHANTS, paths, when), await answers(dense, MERCHANTS, paths, when));
    });
  }

  // The local runtime runs every hourly cycle of a process with the process's pipeline as the cycle's
  // deps (`runMartCycle(rt)`), and that pipeline carries the run id its ingested entries are counted
  // under. A cycle is a mart run of its own whatever its deps carry: under the process's id, a second
  // cycle stopped part way was covered by the first cycle's entry in the export log, so the next
  // process never exported it, and its own snapshot of the same windows showed no change.
  const PROCESS_STOPS: { name: string; inExport: boolean; beforeWindow?: number }[] = [
    { name: 'in its export', inExport: true },
    { name: 'before its 3rd window', inExport: false, beforeWindow: 2 },
  ];
  for (const stop of PROCESS_STOPS) {
    it(`exports, with the next process's cycle, what a process's second cycle rebuilt before it stopped ${stop.name}: the series answer as a dense export`, async () => {
      await loadEvents(wh, dims, lateBatch([8, 9, 10, 11, 12], '2026-03-06T13:01:00Z', 1));
      const series = openSeries('series');
      // What a process hands its cycles, as the local pipeline does: its stores and its run id.
      const first = { warehouse: wh, series, runId: 'run_process_1' };
      const done = await runMartCycle({ ...first, clock: at('2026-03-06T13:20:00Z') });
      await loadEvents(wh, dims, lateBatch([9, 10, 11], '2026-03-06T13:25:00Z', 2));
      const broken: SeriesStore = Object.assign(Object.create(series) as SeriesStore, {
        mutate: async () => {
          throw new Error('killed');
        },
      });
      let windows = 0;
      const stopped = runMartCycle({
        ...first,
        ...(stop.inExport ? { series: broken } : {}),
        clock: at('2026-03-06T13:30:00Z'),
        onWindow: () => {
          if (windows++ === stop.beforeWindow) throw new Error('killed');
        },
      });
      await assert.rejects(stopped, /killed/);
      await loadEvents(wh, dims, lateBatch([8, 12], '2026-03-06T13:50:00Z', 4));
      const second = { warehouse: wh, series, runId: 'run_process_2' };
      const next = await runMartCycle({ ...second, clock: at('2026-03-06T14:00:00Z') });
      const dense = openSeries('dense');
      await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
      const paths = requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z');
      const when = new Date('2026-03-06T14:05:00Z');
      assert.deepStrictEqual(await answers(series, MERCHANTS, paths, when), await answers(dense, MERCHANTS, paths, when));
      const ids = await wh.query<{ run_id: string }>('select distinct run_id from marts.mart_runs order by run_id');
      assert.equal(ids.length, 3, `every cycle is a run of its own: ${ids.map((r) => r.run_id).join(', ')}`);
      assert.notEqual(done.run.runId, next.run.runId);
    });
  }
});
