// The gcp hourly path end to end on the local stores: the scheduled script (run statement by
// statement, test/pipeline/marts/script-runner.ts) and the export job's task (createRunExporter) after
// each run that succeeded. A script that stops part way, or an export that fails for good, must leave
// nothing unexported once the next run's export is done: the API answers as over a dense export.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import type { SeriesStore } from '../../../pipeline/ports.js';
import { createRunExporter } from '../../../services/export-job/export-run.js';
import type { FinishedRun } from '../../../services/export-job/run.js';
import { answers, denseExport, requestsOf } from '../../pipeline/marts/api-answers.js';
import { runScheduledScript } from '../../pipeline/marts/script-runner.js';
import { recording, rewrittenKeys, writesByKey } from '../../pipeline/marts/series-writes.js';
import { inventory, loadDimensions, loadEvents, openWarehouse, order, pageView, type FixtureEvent } from '../../pipeline/marts/support.js';

const MERCHANTS = ['m_a', 'm_b', 'm_c'];
const DIMS = {
  merchants: MERCHANTS.map((id) => ({ id, name: id, time_zone: id === 'm_b' ? 'Asia/Kolkata' : 'UTC', currency: 'EUR' })),
  stores: MERCHANTS.flatMap((m) => [
    { id: 's1', merchant_id: m, name: 'One' },
    { id: 's2', merchant_id: m, name: 'Two' },
  ]),
};

/** Orders, page views and counts of every merchant in hours 8–12, received a minute after each. */
function workload(quantity: (h: number) => number, receivedAt?: string): FixtureEvent[] {
  const out: FixtureEvent[] = [];
  for (const m of MERCHANTS) {
    for (let h = 8; h < 13; h++) {
      const t = `2026-03-06T${String(h).padStart(2, '0')}:${receivedAt ? '20' : '10'}:00Z`;
      const at = (e: FixtureEvent['event']): FixtureEvent => ({ event: e, ...(receivedAt ? { receivedAt } : {}) });
      out.push(at(order({ merchant: m, store: h % 2 ? 's1' : 's2', at: t, currency: 'EUR', lines: [{ sku: 'pz', quantity: quantity(h), unit_price_minor: 900 }] })));
      out.push(at(pageView({ merchant: m, at: t, visitor: `v${h}${receivedAt ? 'late' : ''}`, session: `s${h}` })));
      if (h % 2 === 0) out.push(at(inventory({ merchant: m, store: 's1', at: t, sku: 'pz', onHand: 20 - h - (receivedAt ? 5 : 0) })));
    }
  }
  return out;
}

describe('scheduled script and export job', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let dir: string;
  const stores: LmdbSeriesStore[] = [];

  beforeEach(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, DIMS);
    dir = mkdtempSync(join(tmpdir(), 'tillstream-script-export-'));
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

  /** The scheduled script started at `iso` (stopped right after its first rebuild, if asked). */
  async function script(iso: string, opts: { stopAfterFirstRebuild?: boolean; stopBeforeWatermarks?: boolean } = {}) {
    let rebuilt = 0;
    await runScheduledScript(wh, {
      startedAt: new Date(iso),
      runId: `run-${iso}`,
      ...(opts.stopAfterFirstRebuild ? { stopAfter: (s) => s.mart !== undefined && /^merge into marts\./m.test(s.sql) && ++rebuilt === 1 } : {}),
      ...(opts.stopBeforeWatermarks ? { stopAfter: (s) => /^delete from marts\.mart_run_rows/.test(s.sql) } : {}),
    });
  }

  /** A task of the export job (by default its only one) for the transfer run of the script started at `iso` (scheduled then, ended minutes later). */
  function exportJob(iso: string, series: SeriesStore, shard = { index: 0, count: 1 }) {
    const startedAt = new Date(iso);
    const run: FinishedRun = { name: `runs/${iso}`, state: 'SUCCEEDED', runTime: startedAt, endTime: new Date(startedAt.getTime() + 300_000) };
    return createRunExporter({ warehouse: wh, series, now: () => new Date(startedAt.getTime() + 600_000) })(run, shard);
  }

  async function assertDense(series: SeriesStore, now: string) {
    const dense = openSeries('dense');
    await denseExport(wh, dense, '2026-03-05T00:00:00Z', '2026-03-07T00:00:00Z');
    const paths = requestsOf(MERCHANTS, '2026-03-06T05:00:00Z', '2026-03-06T16:00:00Z');
    const expected = await answers(dense, MERCHANTS, paths, new Date(now));
    assert.deepStrictEqual(await answers(series, MERCHANTS, paths, new Date(now)), expected);
    return JSON.stringify(expected);
  }

  it('exports what a script rebuilt before it stopped right after its first window, with the next run\'s export', async () => {
    const series = openSeries('series');
    await loadEvents(wh, dims, workload((h) => h - 7));
    await script('2026-03-06T13:10:00Z');
    await exportJob('2026-03-06T13:10:00Z', series);
    // Late events change every hour of every mart; the next script rebuilds the first sales window and
    // stops: its transfer run fails, and no export starts for it (functions/start-export.ts).
    await loadEvents(wh, dims, workload(() => 9, '2026-03-06T13:30:00Z'));
    await assert.rejects(script('2026-03-06T14:10:00Z', { stopAfterFirstRebuild: true }), /injected: the script stops after merge into marts\.mart_hourly_store_sales/);
    // The run after it reads the same arrivals again and rebuilds the same windows; its snapshot of the
    // sales window is of rows already rebuilt.
    await script('2026-03-06T15:10:00Z');
    const next = await exportJob('2026-03-06T15:10:00Z', series);
    const answered = await assertDense(series, '2026-03-06T15:15:00Z');
    assert.ok(answered.includes('"orders":2'), 'the late orders are answered');
    assert.deepStrictEqual(next.earlier_runs, ['run-2026-03-06T14:10:00Z']);
  });

  it('writes each key once in an export of an earlier run and the current one over the same windows, the newest run\'s state', async () => {
    const series = openSeries('series');
    await loadEvents(wh, dims, workload((h) => h - 7));
    await script('2026-03-06T13:10:00Z');
    await exportJob('2026-03-06T13:10:00Z', series);
    await loadEvents(wh, dims, workload(() => 9, '2026-03-06T13:30:00Z'));
    // The 14:10 script rebuilds every window and stops before its watermarks: the 15:10 run reads the
    // same arrivals again and rebuilds the same windows, and its export exports both runs.
    await assert.rejects(script('2026-03-06T14:10:00Z', { stopBeforeWatermarks: true }), /injected: the script stops after delete from marts\.mart_run_rows/);
    await script('2026-03-06T15:10:00Z');
    const recorded = recording(series);
    const next = await exportJob('2026-03-06T15:10:00Z', recorded);
    assert.deepStrictEqual(next.earlier_runs, ['run-2026-03-06T14:10:00Z']);
    const { sets, deletes, cells } = writesByKey(recorded.mutations);
    const again = rewrittenKeys(recorded.mutations);
    assert.deepStrictEqual(again, [], `${again.length} of ${sets.size + deletes.size} keys written more than once; ${cells} cells`);
    assert.equal(next.cells, cells);
    await assertDense(series, '2026-03-06T15:15:00Z');
  });

  it('exports, with the next run\'s export, a run whose export failed for good', async () => {
    const series = openSeries('series');
    await loadEvents(wh, dims, workload((h) => h - 7));
    await script('2026-03-06T13:10:00Z');
    await exportJob('2026-03-06T13:10:00Z', series);
    await loadEvents(wh, dims, workload(() => 9, '2026-03-06T13:30:00Z'));
    await script('2026-03-06T14:10:00Z');
    // Its export fails on every attempt (the job's retries spent).
    const broken: SeriesStore = Object.assign(Object.create(series) as SeriesStore, {
      mutate: async () => {
        throw new Error('series store unavailable');
      },
    });
    for (let attempt = 0; attempt < 4; attempt++) await assert.rejects(exportJob('2026-03-06T14:10:00Z', broken), /series store unavailable/);
    // A quiet hour: the next run touches nothing its predecessor did.
    await script('2026-03-06T15:10:00Z');
    const next = await exportJob('2026-03-06T15:10:00Z', series);
    const answered = await assertDense(series, '2026-03-06T15:15:00Z');
    assert.ok(answered.includes('"orders":2'), 'the late orders are answered');
    assert.deepStrictEqual(next.earlier_runs, ['run-2026-03-06T14:10:00Z']);
  });

  it('exports, with the next run\'s export, the merchants of a run whose one task failed for good, whatever the next execution\'s task count', async () => {
    const series = openSeries('series');
    await loadEvents(wh, dims, workload((h) => h - 7));
    await script('2026-03-06T13:10:00Z');
    await exportJob('2026-03-06T13:10:00Z', series);
    await loadEvents(wh, dims, workload(() => 9, '2026-03-06T13:30:00Z'));
    await script('2026-03-06T14:10:00Z');
    // Two tasks: the first exports m_a, the second (m_b on) fails on every attempt.
    const broken: SeriesStore = Object.assign(Object.create(series) as SeriesStore, {
      mutate: async () => {
        throw new Error('series store unavailable');
      },
    });
    assert.deepStrictEqual((await exportJob('2026-03-06T14:10:00Z', series, { index: 0, count: 2 })).ranges, [{ merchantFrom: '', merchantTo: 'm_b' }]);
    await assert.rejects(exportJob('2026-03-06T14:10:00Z', broken, { index: 1, count: 2 }), /series store unavailable/);
    // The next execution runs three tasks, each a merchant: the two whose range of the earlier run is not logged export it.
    await script('2026-03-06T15:10:00Z');
    const tasks = [];
    for (const index of [0, 1, 2]) tasks.push(await exportJob('2026-03-06T15:10:00Z', series, { index, count: 3 }));
    await assertDense(series, '2026-03-06T15:15:00Z');
    assert.deepStrictEqual(tasks.map((t) => t.earlier_runs ?? []), [[], ['run-2026-03-06T14:10:00Z'], ['run-2026-03-06T14:10:00Z']]);
  });
});
