// The bus consumer with the real ingest stage on the local stores, through injected transient faults.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalRuntime, type LocalRuntime } from '../../../runtime/local-stores.js';
import { generateWorkload } from '../../../demo/generator.js';
import { createIngestStage, processingFailedWrite } from '../../../pipeline/ingest/stage.js';
import { batchEntries } from '../../../pipeline/ingest/entries.js';
import type { RawSink } from '../../../pipeline/ports.js';
import { createRunner } from '../../../pipeline/runner/consume.js';

describe('runner with the real ingest stage on the local stores', function () {
  this.timeout(120_000);
  const anchor = new Date('2026-11-21T12:00:00Z');
  const clock = { now: () => anchor };
  let dir: string;
  let rt: LocalRuntime;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-ingest-'));
    rt = await openLocalRuntime({ path: dir, clock });
  });
  afterEach(async () => {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function load(entries: string[], runId: string, perMessage: number) {
    const batches = batchEntries(entries, { maxEntries: perMessage });
    await rt.bus.publish(batches.map((b) => ({ receivedAt: anchor, attributes: { source: 'server' as const, run_id: runId }, entries: b })));
  }
  const counts = async (runId: string) => ({
    published: rt.bus.publishedEntries({ runId }),
    ...(await rt.warehouse.entryCounts({ messageIds: rt.bus.runMessageIds(runId) })),
  });

  it('ends every generated entry as the generator expects, through transient faults, and a second load only adds duplicates', async () => {
    const workload = generateWorkload({ events: 1500, seed: 'runner-it', anchor });
    await rt.dimensions.load(workload.dimensions);
    let writes = 0;
    const flaky: RawSink = {
      write: async (w) => {
        if (++writes % 4 === 0) throw new Error('injected fault');
        await rt.warehouse.write(w);
      },
    };
    const stage = createIngestStage({ dimensions: () => rt.dimensions.get(), dedupe: rt.warehouse, sink: flaky, clock });
    const runner = createRunner({ bus: rt.bus, stage, sink: rt.warehouse, processingFailedWrite, clock, backoff: { initialMs: 1, maxMs: 10 }, batchSize: 8 });
    await load(workload.entries, 'first', 100);
    const stats = await runner.drain();
    assert.equal(stats.failed, 0);
    assert.ok(stats.retried > 0);
    assert.deepEqual(await counts('first'), workload.manifest.expected);

    await load(workload.entries, 'second', 100);
    await runner.drain();
    const second = await counts('second');
    const firstExpected = workload.manifest.expected;
    const accepted = firstExpected.accepted;
    // Every entry accepted the first time is now a duplicate; everything else ends as before.
    assert.deepEqual(second, { ...firstExpected, accepted: 0, duplicates: firstExpected.duplicates + accepted });
    const twice = await rt.warehouse.query(`SELECT merchant_id, event_id FROM raw.events GROUP BY ALL HAVING count(*) > 1`);
    assert.deepEqual(twice, []);
  });
});
