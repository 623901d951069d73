import assert from 'node:assert/strict';
import { createExportMartsHandler, type FinishedRun } from '../../functions/export-marts.js';
import { createRunExporter, runIdsOf } from '../../functions/export-run.js';
import { previousKeysOfRun } from '../../pipeline/marts/exporter.js';
import { discardingSeriesStore } from '../../pipeline/marts/dry-run.js';
import { FAMILY_MART, type SeriesMutation, type SeriesStore, type SqlParams, type Warehouse } from '../../pipeline/ports.js';
import { deliver, MemoryLogger, SHAPES, testServer, type PushMessage } from './support.js';

const transferRun = (state: string): PushMessage => ({
  messageId: `run-${state}`,
  data: Buffer.from(
    JSON.stringify({
      name: 'projects/1/locations/eu/transferConfigs/marts/runs/abc',
      state,
      runTime: '2026-11-21T12:05:00Z',
      scheduleTime: '2026-11-21T12:05:00Z',
      endTime: '2026-11-21T12:07:30Z',
      ...(state === 'FAILED' ? { errorStatus: { code: 3, message: 'ASSERT failed' } } : {}),
    }),
  ),
  attributes: { eventType: 'TRANSFER_RUN_FINISHED', payloadFormat: 'JSON_API_V1' },
});

describe('exportMarts function', () => {
  it('exports a succeeded run, whatever shape delivers it', async () => {
    const runs: FinishedRun[] = [];
    const srv = testServer(createExportMartsHandler({ exportRun: async (r) => (runs.push(r), { windows: 3, cells: 120 }), logger: new MemoryLogger() }));
    for (const shape of SHAPES) {
      const res = await deliver(srv, shape, transferRun('SUCCEEDED'));
      assert.deepEqual([res.status, res.body], [
        200,
        { message_id: 'run-SUCCEEDED', outcome: 'exported', run: 'projects/1/locations/eu/transferConfigs/marts/runs/abc', windows: 3, cells: 120 },
      ]);
    }
    assert.deepEqual(runs[0], {
      name: 'projects/1/locations/eu/transferConfigs/marts/runs/abc',
      state: 'SUCCEEDED',
      runTime: new Date('2026-11-21T12:05:00Z'),
      endTime: new Date('2026-11-21T12:07:30Z'),
    });
  });

  it('acknowledges a failed run without exporting, and retries a failed export', async () => {
    let calls = 0;
    const logger = new MemoryLogger();
    const srv = testServer(
      createExportMartsHandler({
        exportRun: async () => {
          calls++;
          throw new Error('Bigtable unavailable');
        },
        logger,
      }),
    );
    const failed = await deliver(srv, 'push', transferRun('FAILED'));
    assert.deepEqual([failed.status, failed.body], [200, { message_id: 'run-FAILED', outcome: 'skipped', run: 'projects/1/locations/eu/transferConfigs/marts/runs/abc', state: 'FAILED' }]);
    assert.equal(calls, 0);
    const retried = await deliver(srv, 'push', transferRun('SUCCEEDED'));
    assert.deepEqual([retried.status, retried.body], [500, { error: { code: 'internal', message: 'export failed; will be retried' } }]);
    assert.equal(calls, 1);
  });

  it('finds the mart runs the scheduled query recorded between its scheduled time and its end', async () => {
    const asked: { sql: string; params?: SqlParams }[] = [];
    const warehouse: Warehouse = {
      async run() {},
      async query<T>(sql: string, params?: SqlParams) {
        asked.push({ sql, ...(params ? { params } : {}) });
        return [{ run_id: 'r-1' }] as T[];
      },
    };
    const run: FinishedRun = { name: 'r', state: 'SUCCEEDED', runTime: new Date('2026-11-21T12:05:00Z'), endTime: null };
    assert.deepEqual(await runIdsOf(warehouse, run, new Date('2026-11-21T12:09:00Z')), ['r-1']);
    assert.deepEqual(asked[0]!.params, { run_time: new Date('2026-11-21T12:05:00Z'), run_end: new Date('2026-11-21T12:09:00Z') });
    assert.match(asked[0]!.sql, /from marts\.mart_runs/);
  });

  it('deletes the series buckets a run\'s rebuild emptied, from the keys the script snapshotted before it', async () => {
    const warehouse: Warehouse = {
      async run() {},
      async query<T>(sql: string, params?: SqlParams) {
        if (/select distinct run_id/.test(sql)) return [{ run_id: 'r-1' }] as T[];
        if (/from marts\.mart_run_keys/.test(sql)) {
          assert.equal(params?.run_id, 'r-1');
          return [
            { mart: 'mart_hourly_traffic', row_key: JSON.stringify({ merchant_id: 'm1', hour_start: '2026-11-21T10:00:00Z' }) },
            { mart: 'mart_daily_store_sales', row_key: JSON.stringify({ merchant_id: 'm1', store_id: 's1', local_date: '2026-11-21' }) },
          ] as T[];
        }
        return [] as T[];
      },
    };
    const run: FinishedRun = { name: 'r', state: 'SUCCEEDED', runTime: new Date('2026-11-21T12:05:00Z'), endTime: new Date('2026-11-21T12:07:00Z') };
    assert.deepEqual([...(await previousKeysOfRun(warehouse, 'r-1'))].sort(), ['m1#sales#store=s1#d#20261121', 'm1#traffic#h#2026112110']);
    const mutations: SeriesMutation[] = [];
    const series: SeriesStore = { ...discardingSeriesStore, mutate: async (ms) => void mutations.push(...ms) };
    await createRunExporter({ warehouse, series, now: () => new Date('2026-11-21T12:09:00Z') })(run);
    // no window was written (the fake holds no mart rows), so both buckets vanished
    assert.deepEqual(mutations.filter((m) => m.kind === 'delete_family' && m.family === FAMILY_MART).map((m) => m.key).sort(), ['m1#sales#store=s1#d#20261121', 'm1#traffic#h#2026112110']);
  });
});

