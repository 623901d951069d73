// The bus consumer with a scripted stage: acks, retries with backoff, processing_failed after the last attempt.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArchive } from '../../../adapters/local/archive.js';
import { LocalBus } from '../../../adapters/local/bus.js';
import { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { backoffDelay, createRunner } from '../../../pipeline/runner/consume.js';
import type { DedupeIndex, InboundMessage, RawSink } from '../../../pipeline/ports.js';
import { fakeProcessingFailedWrite, fakeStage } from './fake-stage.js';

const ev = (id: string, v = 1) => JSON.stringify({ merchant_id: 'm1', event_id: id, v });

describe('runner (consume)', () => {
  let dir: string;
  let archive: LocalArchive;
  let bus: LocalBus;
  let wh: LocalWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-runner-'));
    archive = new LocalArchive(join(dir, 'archive'));
    bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
    wh = await LocalWarehouse.open({ path: join(dir, 'warehouse.duckdb') });
  });
  afterEach(async () => {
    await bus.close();
    await archive.close();
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  const publish = (entries: string[]) => bus.publish([{ receivedAt: new Date('2026-11-21T10:00:00Z'), attributes: { source: 'online', run_id: 'r1' }, entries }]);
  const counts = async () => ({ published: bus.publishedEntries({ runId: 'r1' }), ...(await wh.entryCounts({ messageIds: bus.runMessageIds('r1') })) });

  it('drains the bus: every entry reaches one end state and every message is acked', async () => {
    await publish([ev('e1'), ev('e2'), 'not json']);
    await publish([ev('e1'), ev('e2', 2), ev('e3')]);
    const runner = createRunner({ bus, stage: fakeStage({ dedupe: wh, sink: wh }), sink: wh, processingFailedWrite: fakeProcessingFailedWrite, backoff: { initialMs: 1 } });
    assert.deepEqual(await runner.drain(), { processed: 2, retried: 0, failed: 0 });
    assert.equal(bus.pendingCount(), 0);
    assert.deepEqual(await counts(), { published: 6, accepted: 3, rejected: { conflicting_duplicate: 1, invalid_json: 1 }, duplicates: 1 });
  });

  it('retries transient faults of the sink and the dedupe index with backoff until they land', async () => {
    let sinkCalls = 0;
    let claimCalls = 0;
    const flakySink: RawSink = {
      write: async (w) => {
        if (++sinkCalls % 3 !== 0) throw new Error('sink unavailable');
        return wh.write(w);
      },
    };
    const flakyDedupe: DedupeIndex = {
      claim: async (c) => {
        if (++claimCalls === 1) throw new Error('dedupe unavailable');
        return wh.claim(c);
      },
    };
    await publish([ev('e1'), ev('e2')]);
    await publish([ev('e2'), ev('e3')]);
    const attempts: number[] = [];
    const runner = createRunner({
      bus,
      stage: async (m: InboundMessage) => {
        attempts.push(m.deliveryAttempt);
        return fakeStage({ dedupe: flakyDedupe, sink: flakySink })(m);
      },
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
      backoff: { initialMs: 1, maxMs: 5 },
    });
    const stats = await runner.drain();
    assert.equal(stats.processed, 2);
    assert.equal(stats.failed, 0);
    assert.equal(stats.retried, attempts.length - 2);
    assert.deepEqual(await counts(), { published: 4, accepted: 3, rejected: {}, duplicates: 1 });
    assert.deepEqual((await wh.query('SELECT event_id, count(*) AS n FROM raw.events GROUP BY 1 ORDER BY 1')), [
      { event_id: 'e1', n: 1 },
      { event_id: 'e2', n: 1 },
      { event_id: 'e3', n: 1 },
    ]);
  });

  it('writes processing_failed for every entry after the last attempt, and acks', async () => {
    await publish([ev('e1'), 'x']);
    const seen: number[] = [];
    const runner = createRunner({
      bus,
      stage: async (m: InboundMessage) => {
        seen.push(m.deliveryAttempt);
        throw new Error('boom');
      },
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
      maxAttempts: 3,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    assert.deepEqual(await runner.drain(), { processed: 0, retried: 2, failed: 1 });
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(bus.pendingCount(), 0);
    assert.deepEqual(await counts(), { published: 2, accepted: 0, rejected: { processing_failed: 2 }, duplicates: 0 });
    assert.deepEqual(await wh.query(`SELECT detail FROM raw.rejected_events WHERE entry_index = 0`), [{ detail: 'failed after 3 attempts: Error: boom' }]);
  });

  it('does not ack a message whose stage failed after its write, and the redelivery changes nothing', async () => {
    await publish([ev('e1'), ev('e1')]);
    let calls = 0;
    const stage = fakeStage({ dedupe: wh, sink: wh });
    const runner = createRunner({
      bus,
      stage: async (m: InboundMessage) => {
        const out = await stage(m);
        if (++calls === 1) throw new Error('crashed after the write');
        return out;
      },
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
      backoff: { initialMs: 1 },
    });
    assert.deepEqual(await runner.drain(), { processed: 1, retried: 1, failed: 0 });
    assert.deepEqual(await counts(), { published: 2, accepted: 1, rejected: {}, duplicates: 1 });
  });

  it('fails a message whose attempts were used up by crashes without running the stage again', async () => {
    await publish([ev('e1')]);
    for (let i = 0; i < 2; i++) {
      await bus.receive(1); // delivered, then the process "dies" before an outcome
      await bus.close();
      bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
    }
    let ran = 0;
    const runner = createRunner({
      bus,
      stage: async () => {
        ran++;
      },
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
      maxAttempts: 2,
    });
    assert.deepEqual(await runner.drain(), { processed: 0, retried: 0, failed: 1 });
    assert.equal(ran, 0);
    assert.deepEqual(await counts(), { published: 1, accepted: 0, rejected: { processing_failed: 1 }, duplicates: 0 });
  });

  it('run() processes messages as they arrive until aborted', async () => {
    const ac = new AbortController();
    const done: string[] = [];
    const runner = createRunner({
      bus,
      stage: fakeStage({ dedupe: wh, sink: wh }),
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
      onDone: (m) => {
        done.push(m.id);
        if (done.length === 2) ac.abort();
      },
    });
    const running = runner.run(ac.signal);
    await publish([ev('e1')]);
    await new Promise((r) => setTimeout(r, 20));
    await publish([ev('e2')]);
    assert.deepEqual(await running, { processed: 2, retried: 0, failed: 0 });
    assert.deepEqual(done, ['000000000001', '000000000002']);
  });

  it('starts the next batch once every message of the one before has queued its claims, while that batch still writes', async () => {
    await publish([ev('e1')]);
    await publish([ev('e2')]);
    const stage = fakeStage({ dedupe: wh, sink: wh });
    let secondStarted!: () => void;
    const second = new Promise<'second batch started'>((resolve) => (secondStarted = () => resolve('second batch started')));
    let firstSaw = '';
    const runner = createRunner({
      bus,
      batchSize: 1,
      stage: async (m: InboundMessage, hooks) => {
        if (m.id === '000000000002') secondStarted();
        const out = await stage(m, hooks);
        if (m.id === '000000000001') {
          // Still writing (not acked): a runner taking one batch at a time would not start the second.
          firstSaw = await Promise.race([second, new Promise<string>((r) => setTimeout(() => r('no second batch within 5 s'), 5000))]);
        }
        return out;
      },
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
    });
    assert.deepEqual(await runner.drain(), { processed: 2, retried: 0, failed: 0 });
    assert.equal(firstSaw, 'second batch started');
    assert.equal(bus.pendingCount(), 0);
    assert.deepEqual(await counts(), { published: 2, accepted: 2, rejected: {}, duplicates: 0 });
  });

  it('never lets a batch started early claim ahead of the batch before it: the copy received first wins', async () => {
    await publish([ev('e1', 1)]);
    await publish([ev('e1', 2)]);
    const stage = fakeStage({ dedupe: wh, sink: wh });
    const outcome = new Map<string, string>();
    const runner = createRunner({
      bus,
      batchSize: 1,
      stage: async (m: InboundMessage, hooks) => {
        // The first message is slow to reach its claim (a cold dimensions read, say).
        if (m.id === '000000000001') await new Promise((r) => setTimeout(r, 100));
        const write = await stage(m, hooks);
        outcome.set(m.entries[0]!, write.accepted.length === 1 ? 'accepted' : (write.rejected[0]?.reason ?? 'other'));
        return write;
      },
      sink: wh,
      processingFailedWrite: fakeProcessingFailedWrite,
    });
    assert.deepEqual(await runner.drain(), { processed: 2, retried: 0, failed: 0 });
    assert.deepEqual(Object.fromEntries(outcome), { [ev('e1', 1)]: 'accepted', [ev('e1', 2)]: 'conflicting_duplicate' });
  });

  it('backs off exponentially up to a ceiling', () => {
    const opts = { initialMs: 100, maxMs: 1000, multiplier: 2 };
    assert.deepEqual([1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts)), [100, 200, 400, 800, 1000]);
  });
});
