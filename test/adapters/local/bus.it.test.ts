// The durable local bus: publish ids and per-run counts, leases, nack and redelivery, persistence across reopen.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArchive } from '../../../adapters/local/archive.js';
import { LocalBus } from '../../../adapters/local/bus.js';
import type { InboundMessage } from '../../../pipeline/ports.js';
import { mapsOf } from '../../support/file-maps.js';

const msg = (entries: string[], runId?: string, receivedAt = new Date('2026-11-21T10:00:00Z')): Omit<InboundMessage, 'id' | 'deliveryAttempt'> => ({
  receivedAt,
  attributes: { source: 'online', ...(runId ? { run_id: runId } : {}) },
  entries,
});

describe('LocalBus', () => {
  let dir: string;
  let bus: LocalBus;
  let archive: LocalArchive;
  const openBus = async () => {
    archive = new LocalArchive(join(dir, 'archive'));
    bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
  };
  const reopen = async () => {
    await bus.close();
    await archive.close();
    await openBus();
  };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-bus-'));
    await openBus();
  });
  afterEach(async () => {
    await bus.close();
    await archive.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes with increasing ids and counts published entries per run', async () => {
    assert.deepEqual(await bus.publish([msg(['a', 'b'], 'r1'), msg(['c'], 'r2')]), ['000000000001', '000000000002']);
    assert.deepEqual(await bus.publish([msg(['d', 'e', 'f'], 'r1'), msg(['g'])]), ['000000000003', '000000000004']);
    assert.equal(bus.publishedEntries(), 7);
    assert.equal(bus.publishedEntries({ runId: 'r1' }), 5);
    assert.equal(bus.publishedEntries({ runId: 'r2' }), 1);
    assert.equal(bus.publishedEntries({ runId: 'r3' }), 0);
    assert.deepEqual(bus.runMessageIds('r1'), ['000000000001', '000000000003']);
  });

  it('maps its file once however far it grows, so no page is resident twice', async () => {
    const entry = 'x'.repeat(2000);
    for (let t = 0; t < 20; t++) await bus.publish(Array.from({ length: 100 }, () => msg([entry, entry])));
    assert.equal(bus.publishedEntries(), 4000);
    assert.equal(mapsOf(join(dir, 'bus.mdb')), 1);
  });

  it('counts every entry of concurrent publishes', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => bus.publish([msg(['a', 'b'], 'r1'), msg(['c'], `r${i % 2}`)])));
    assert.equal(new Set(ids.flat()).size, 100);
    assert.equal(bus.publishedEntries(), 150);
    assert.equal(bus.publishedEntries({ runId: 'r1' }), 125);
    assert.equal(bus.pendingCount(), 100);
  });

  it('keeps published messages and counts across close and reopen', async () => {
    await bus.publish([msg(['a', 'b'], 'r1')]);
    await reopen();
    assert.equal(bus.publishedEntries({ runId: 'r1' }), 2);
    const got = await bus.receive(10);
    assert.deepEqual(got, [{ id: '000000000001', receivedAt: new Date('2026-11-21T10:00:00Z'), attributes: { source: 'online', run_id: 'r1' }, entries: ['a', 'b'], deliveryAttempt: 1 }]);
    assert.deepEqual(await bus.publish([msg(['c'])]), ['000000000002']);
  });

  it('leases a batch bounded by entries, taking a first message larger than the bound alone', async () => {
    await bus.publish([msg(['a', 'b', 'c']), msg(['d', 'e']), msg(['f']), msg(['g', 'h', 'i', 'j']), msg(['k'])]);
    const ids = (ms: InboundMessage[]) => ms.map((m) => m.id);
    assert.deepEqual(ids(await bus.receive(10, 5)), ['000000000001', '000000000002']);
    assert.deepEqual(ids(await bus.receive(10, 2)), ['000000000003']);
    assert.deepEqual(ids(await bus.receive(10, 2)), ['000000000004']);
    assert.deepEqual(ids(await bus.receive(10, 2)), ['000000000005']);
  });

  it('leases a message once, and redelivers it after nack with the attempt counted', async () => {
    await bus.publish([msg(['a']), msg(['b'])]);
    const first = await bus.receive(1);
    assert.deepEqual(first.map((m) => [m.id, m.deliveryAttempt]), [['000000000001', 1]]);
    assert.deepEqual((await bus.receive(5)).map((m) => [m.id, m.deliveryAttempt]), [['000000000002', 1]]);
    assert.deepEqual(await bus.receive(5), []);
    bus.nack('000000000001');
    assert.deepEqual((await bus.receive(5)).map((m) => [m.id, m.deliveryAttempt]), [['000000000001', 2]]);
  });

  it('holds a nacked message back for its delay', async () => {
    let now = Date.parse('2026-11-21T10:00:00Z');
    await bus.close();
    bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive, timer: () => now });
    await bus.publish([msg(['a'])]);
    const [m] = await bus.receive();
    bus.nack(m!.id, { delayMs: 1000 });
    assert.deepEqual(await bus.receive(), []);
    assert.equal(bus.nextAvailableInMs(), 1000);
    now += 1000;
    assert.deepEqual((await bus.receive()).map((x) => x.deliveryAttempt), [2]);
  });

  it('redelivers unacked messages after a restart, counting attempts durably', async () => {
    await bus.publish([msg(['a']), msg(['b']), msg(['c'])]);
    const got = await bus.receive(3);
    await bus.ack(got[1]!.id);
    await reopen();
    assert.equal(bus.pendingCount(), 2);
    assert.deepEqual((await bus.receive(10)).map((m) => [m.id, m.deliveryAttempt]), [
      ['000000000001', 2],
      ['000000000003', 2],
    ]);
    await reopen();
    assert.deepEqual((await bus.receive(10)).map((m) => m.deliveryAttempt), [3, 3]);
  });

  it('acked messages are gone but stay in the message log', async () => {
    await bus.publish([msg(['a', 'b'], 'r1', new Date('2026-11-21T10:00:00Z'))]);
    const [m] = await bus.receive();
    await bus.ack(m!.id);
    await reopen();
    assert.equal(bus.pendingCount(), 0);
    assert.deepEqual(await bus.receive(), []);
    assert.deepEqual(bus.messageLog('000000000001'), { id: '000000000001', run_id: 'r1', entries: 2, received_at: '2026-11-21T10:00:00.000Z', source: 'online' });
  });

  it('archives every published message before publish resolves', async () => {
    await bus.publish([msg(['a'], undefined, new Date('2026-11-20T23:59:59Z')), msg(['b', 'c'], undefined, new Date('2026-11-21T00:00:00Z'))]);
    const read = [];
    for await (const m of archive.read({ from: new Date('2026-11-20T00:00:00Z'), to: new Date('2026-11-22T00:00:00Z') })) read.push([m.id, m.entries]);
    assert.deepEqual(read, [
      ['000000000001', ['a']],
      ['000000000002', ['b', 'c']],
    ]);
  });

  it('wakes a waiting consumer on publish', async () => {
    const waited = bus.waitForWork(10_000);
    await bus.publish([msg(['a'])]);
    await waited;
    assert.equal((await bus.receive()).length, 1);
  });
});
