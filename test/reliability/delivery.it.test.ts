// Redelivery and transient-fault proofs (issue 8, items 2 and 3), in one process against the real local
// stores. A clean run — the workload published to the bus, drained by the runner, one mart cycle — is the
// reference. Then:
// - every message is delivered three times, in a shuffled interleaving (each message's first delivery in
//   publish order, its two redeliveries anywhere after it, some of them concurrent with each other):
//   the counts, the marts and the whole series store equal the clean run's;
// - the warehouse (RawSink, DedupeIndex, Warehouse) and the series store fail at random (seeded) behind
//   the ports: the runner retries with backoff, failed mart cycles are run again as the scheduler would,
//   and the final state equals the clean run's;
// - a permanent failure ends as processing_failed rows carrying the error, and the counts still reconcile.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openLocalPipeline, type LocalPipeline } from '../../runtime/local-writer.js';
import type { EntryCounts } from '../../pipeline/contracts/outcomes.js';
import { createIngestStage, processingFailedWrite } from '../../pipeline/ingest/stage.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';
import type { DedupeIndex, InboundMessage, RawSink, SeriesStore, Warehouse } from '../../pipeline/ports.js';
import { backoffDelay, createRunner, DEFAULT_BACKOFF } from '../../pipeline/runner/consume.js';
import { mirrorDimensionDocuments } from '../../pipeline/series/mirror.js';
import { createPartialWriter, withSpeedLayer } from '../../pipeline/speed/writer.js';
import { hourFloor, martDigest, seededRandom, seriesDigest, shiftFor, shiftedClock, shuffle, totalCounts, workloadMessages, type OutboundMessage } from './support.js';

const EVENTS = 2500;

interface Snapshot {
  counts: EntryCounts;
  marts: Awaited<ReturnType<typeof martDigest>>;
  series: Awaited<ReturnType<typeof seriesDigest>>;
}

async function snapshot(rt: LocalPipeline): Promise<Snapshot> {
  return { counts: await totalCounts(rt), marts: await martDigest(rt.warehouse), series: await seriesDigest(rt.series) };
}

/** Injects failures in front of the real implementation: each call fails with probability p (seeded). */
class FaultInjector {
  readonly failures = new Map<string, number>();
  calls = 0;
  /** Calls that fail for certain before the random ones resume (so a phase is sure to meet a fault). */
  failNext = 0;
  private readonly random: () => number;
  constructor(
    seed: number,
    /** Failure probability per call; changeable between phases. */
    public p: number,
  ) {
    this.random = seededRandom(seed);
  }
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.calls++;
    const forced = this.failNext > 0;
    if (forced) this.failNext--;
    if (forced || this.random() < this.p) {
      this.failures.set(what, (this.failures.get(what) ?? 0) + 1);
      throw new Error(`${what} unavailable (injected fault)`);
    }
    return fn();
  }
  get total(): number {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }
}

type LocalWarehouse = LocalPipeline['warehouse'];

function faultyWarehouse(wh: LocalWarehouse, f: FaultInjector): RawSink & DedupeIndex & Warehouse {
  return {
    write: (batch) => f.call('RawSink.write', () => wh.write(batch)),
    claim: (claims) => f.call('DedupeIndex.claim', () => wh.claim(claims)),
    run: (sql, params) => f.call('Warehouse.run', () => wh.run(sql, params)),
    query: <T>(sql: string, params?: Parameters<Warehouse['query']>[1]) => f.call('Warehouse.query', () => wh.query<T>(sql, params)),
  };
}

function faultySeries(series: SeriesStore, f: FaultInjector): SeriesStore {
  return {
    mutate: (m) => f.call('SeriesStore.mutate', () => series.mutate(m)),
    readRange: (r) => f.call('SeriesStore.readRange', () => series.readRange(r)),
    readRangeWithDocuments: (r, k) => f.call('SeriesStore.readRangeWithDocuments', () => series.readRangeWithDocuments(r, k)),
    checkAndMutate: (e) => f.call('SeriesStore.checkAndMutate', () => series.checkAndMutate!(e)),
    increment: (e) => f.call('SeriesStore.increment', () => series.increment!(e)),
    getDocument: <T>(k: string) => f.call('SeriesStore.getDocument', () => series.getDocument<T>(k)),
    putDocument: (k, v) => f.call('SeriesStore.putDocument', () => series.putDocument(k, v)),
  };
}

describe('redelivery and transient faults', function () {
  this.timeout(300_000);
  const shift = shiftFor(10);
  const clock = shiftedClock(shift);
  const anchor = hourFloor(clock.now());
  let dir: string;
  let clean: Snapshot;
  let messages: OutboundMessage[];
  let dimensions: ReturnType<typeof workloadMessages>['workload']['dimensions'];

  async function open(name: string, opts: { maxAttempts?: number } = {}): Promise<LocalPipeline> {
    const rt = await openLocalPipeline({ dataDir: join(dir, name), command: 'reliability-test', clock, ...opts });
    await rt.dimensions.load(dimensions);
    await mirrorDimensionDocuments(rt.series, await rt.dimensions.get());
    return rt;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-delivery-'));
    ({ messages, workload: { dimensions } } = workloadMessages({ events: EVENTS, seed: 'delivery-proof', anchor, receivedAt: clock.now() }));
    const rt = await open('clean');
    try {
      await rt.bus.publish(messages);
      await rt.runner.drain();
      await runMartCycle(rt);
      clean = await snapshot(rt);
    } finally {
      await rt.close();
    }
    assert.equal(clean.counts.published, EVENTS);
    assert.ok(clean.counts.accepted > 0 && clean.counts.duplicates > 0);
    assert.ok(clean.series.rows > 0);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('leaves counts, marts and series unchanged when every message is delivered three times in shuffled order', async () => {
    const rt = await open('redelivered');
    try {
      await rt.bus.publish(messages);
      const received = await rt.bus.receive(messages.length);
      assert.equal(received.length, messages.length);
      // A random interleaving of three copies of each message in which first deliveries keep publish order
      // (the copy received first wins a duplicate, so the first deliveries fix which entry owns an event).
      const random = seededRandom(3);
      const slots = shuffle(received.flatMap((_, i) => [i, i, i]), random);
      const seen = new Map<number, number>();
      let firsts = 0;
      const order = new Map<number, number>();
      const deliveries: InboundMessage[] = slots.map((slot) => {
        if (!order.has(slot)) order.set(slot, firsts++);
        const index = order.get(slot)!;
        const attempt = (seen.get(index) ?? 0) + 1;
        seen.set(index, attempt);
        return { ...received[index]!, deliveryAttempt: attempt };
      });
      // Handed to the stage in groups of up to 8 at once, as the runner does; a group can hold two copies of one message.
      for (let i = 0; i < deliveries.length; ) {
        const group = deliveries.slice(i, i + 1 + Math.floor(random() * 8));
        await Promise.all(group.map((m) => rt.stage(m)));
        i += group.length;
      }
      for (const m of received) await rt.bus.ack(m.id);
      await runMartCycle(rt);
      const after = await snapshot(rt);
      console.log(`      ${deliveries.length} deliveries of ${messages.length} messages (${EVENTS} entries)`);
      assert.deepEqual(after, clean);
    } finally {
      await rt.close();
    }
  });

  it('retries injected warehouse and series store faults with backoff until everything lands as in a clean run', async () => {
    const rt = await open('faulty', { maxAttempts: 30 });
    const faults = new FaultInjector(11, 0.15);
    const warehouse = faultyWarehouse(rt.warehouse, faults);
    const series = faultySeries(rt.series, faults);
    try {
      const stage = withSpeedLayer(
        createIngestStage({ dimensions: () => rt.dimensions.get(), dedupe: warehouse, sink: warehouse, clock }),
        createPartialWriter({ series, clock }),
        { maxAttempts: 30 },
      );
      const runner = createRunner({
        bus: rt.bus,
        stage,
        sink: warehouse,
        processingFailedWrite: (msg, error, now) => processingFailedWrite(msg, error, now),
        clock,
        maxAttempts: 30,
        backoff: { initialMs: 2, maxMs: 40 },
      });
      await rt.bus.publish(messages);
      const stats = await runner.drain();
      assert.equal(stats.failed, 0);
      assert.equal(stats.processed, messages.length);
      assert.ok(stats.retried > 0, 'faults were retried');
      // A failed mart cycle is run again by the next scheduled run; here, at once with backoff. A cycle makes
      // hundreds of port calls, so its faults are rarer for a cycle to get through now and then.
      faults.p = 0.01;
      faults.failNext = 1; // the first cycle certainly meets a fault, whatever the call count of a cycle
      const callsBefore = faults.calls;
      let cycles = 0;
      for (;;) {
        cycles++;
        try {
          await runMartCycle({ warehouse, series, clock });
          break;
        } catch {
          assert.ok(cycles < 60, 'a mart cycle eventually succeeds');
          await sleep(backoffDelay(cycles, { ...DEFAULT_BACKOFF, initialMs: 2, maxMs: 40 }));
        }
      }
      const after = await snapshot(rt);
      console.log(`      ${faults.total} injected faults in ${faults.calls} port calls (${JSON.stringify(Object.fromEntries(faults.failures))}); ${stats.retried} message retries, ${cycles} mart cycles (${faults.calls - callsBefore} calls)`);
      assert.ok(cycles > 1, 'mart cycles failed and were run again');
      assert.deepEqual(after, clean);
    } finally {
      await rt.close();
    }
  });

  it('sends a message that keeps failing to processing_failed with the error in the detail', async () => {
    const rt = await open('permanent', { maxAttempts: 3 });
    try {
      const poisoned = messages.find((m) => m.entries.length > 3)!;
      const claimFails: DedupeIndex = {
        claim: async (claims) => {
          if (claims.some((c) => c.entry.messageId === '000000000002')) throw new Error('dedupe index rejected the batch (injected permanent fault)', { cause: new Error('row too large') });
          return rt.warehouse.claim(claims);
        },
      };
      const runner = createRunner({
        bus: rt.bus,
        stage: createIngestStage({ dimensions: () => rt.dimensions.get(), dedupe: claimFails, sink: rt.warehouse, clock }),
        sink: rt.warehouse,
        processingFailedWrite: (msg, error, now) => processingFailedWrite(msg, error, now),
        clock,
        maxAttempts: 3,
        backoff: { initialMs: 2, maxMs: 10 },
      });
      const others = messages.filter((m) => m !== poisoned).slice(0, 3);
      await rt.bus.publish([others[0]!, poisoned, ...others.slice(1)]);
      const stats = await runner.drain();
      assert.deepEqual(stats, { processed: 3, retried: 2, failed: 1 });
      const rows = await rt.warehouse.query<{ entry_index: number; reason: string; detail: string; payload: string }>(
        "select entry_index, reason, detail, payload from raw.rejected_events where message_id = '000000000002' order by entry_index",
      );
      const detail = 'failed after 3 delivery attempts: dedupe index rejected the batch (injected permanent fault) (cause: row too large)';
      assert.deepEqual(
        rows.map((r) => ({ ...r, entry_index: Number(r.entry_index) })),
        poisoned.entries.map((payload, i) => ({ entry_index: i, reason: 'processing_failed', detail, payload })),
      );
      const counts = await totalCounts(rt);
      const total = [others[0]!, poisoned, ...others.slice(1)].reduce((n, m) => n + m.entries.length, 0);
      assert.equal(counts.published, total);
      assert.equal(counts.rejected.processing_failed, poisoned.entries.length);
      assert.equal(counts.accepted + Object.values(counts.rejected).reduce((a, b) => a + b, 0) + counts.duplicates, total);
      assert.equal(rt.bus.pendingCount(), 0);
    } finally {
      await rt.close();
    }
  });
});
