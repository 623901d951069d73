import assert from 'node:assert/strict';
import { createStartExportHandler, type FinishedRun } from '../../functions/start-export.js';
import { decodeRun, encodeRun } from '../../services/export-job/run.js';
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

describe('startExport function', () => {
  it('starts the export job for a succeeded run, whatever shape delivers it', async () => {
    const runs: FinishedRun[] = [];
    const srv = testServer(createStartExportHandler({ start: async (r) => (runs.push(r), { execution: 'operations/e1' }), logger: new MemoryLogger() }));
    for (const shape of SHAPES) {
      const res = await deliver(srv, shape, transferRun('SUCCEEDED'));
      assert.deepEqual([res.status, res.body], [
        200,
        { message_id: 'run-SUCCEEDED', outcome: 'export_started', run: 'projects/1/locations/eu/transferConfigs/marts/runs/abc', execution: 'operations/e1' },
      ]);
    }
    assert.deepEqual(runs[0], {
      name: 'projects/1/locations/eu/transferConfigs/marts/runs/abc',
      state: 'SUCCEEDED',
      runTime: new Date('2026-11-21T12:05:00Z'),
      endTime: new Date('2026-11-21T12:07:30Z'),
    });
  });

  it('acknowledges a failed run without starting the job, and retries a failed start', async () => {
    let calls = 0;
    const logger = new MemoryLogger();
    const srv = testServer(
      createStartExportHandler({
        start: async () => {
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
    assert.deepEqual([retried.status, retried.body], [500, { error: { code: 'internal', message: 'starting the export failed; will be retried' } }]);
    assert.equal(calls, 1);
  });

  it('fixes the end of a run without endTime at the notification, so every task reads the same record', async () => {
    const runs: FinishedRun[] = [];
    const srv = testServer(createStartExportHandler({ start: async (r) => (runs.push(r), {}), logger: new MemoryLogger() }));
    const message = { ...transferRun('SUCCEEDED'), publishTime: '2026-11-21T12:08:00.000Z' };
    message.data = Buffer.from(JSON.stringify({ name: 'r', state: 'SUCCEEDED', runTime: '2026-11-21T12:05:00Z' }));
    await deliver(srv, 'push', message);
    assert.deepEqual(runs, [{ name: 'r', state: 'SUCCEEDED', runTime: new Date('2026-11-21T12:05:00Z'), endTime: new Date('2026-11-21T12:08:00.000Z') }]);
    // What the execution's override carries is what every task reads back.
    assert.deepEqual(decodeRun(encodeRun(runs[0]!)), runs[0]);
  });
});

