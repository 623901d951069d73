// The local payload archive: reads by received_at across daily segments, torn lines, crash-recovery copies.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArchive } from '../../../adapters/local/archive.js';
import { LocalBus } from '../../../adapters/local/bus.js';
import type { InboundMessage } from '../../../pipeline/ports.js';

const m = (id: string, at: string, entries = [`entry-${id}`]): InboundMessage => ({
  id,
  receivedAt: new Date(at),
  attributes: { source: 'pos' },
  entries,
  deliveryAttempt: 1,
});

async function readAll(archive: LocalArchive, from: string, to: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const x of archive.read({ from: new Date(from), to: new Date(to) })) ids.push(x.id);
  return ids;
}

describe('LocalArchive', () => {
  let dir: string;
  let archive: LocalArchive;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-archive-'));
    archive = new LocalArchive(join(dir, 'archive'));
  });
  afterEach(async () => {
    await archive.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes appends made while another is on its way in call order, each whole, across segments', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => String(i + 1).padStart(12, '0'));
    // Three messages per call, alternating days: each call is written in one piece and in call order.
    await Promise.all(
      Array.from({ length: 20 }, (_, c) =>
        archive.appendMany(ids.slice(3 * c, 3 * c + 3).map((id, k) => m(id, k % 2 === 0 ? '2026-11-20T01:00:00Z' : '2026-11-21T01:00:00Z'))),
      ),
    );
    const day20 = ids.filter((_, i) => (i % 3) % 2 === 0);
    const day21 = ids.filter((_, i) => (i % 3) % 2 === 1);
    assert.deepEqual(await readAll(archive, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'), day20);
    assert.deepEqual(await readAll(archive, '2026-11-21T00:00:00Z', '2026-11-22T00:00:00Z'), day21);
  });

  it('writes each message as its documented JSON line byte for byte (multi-byte, escaped, no entries), also when a small append follows a large one', async () => {
    const big = m('000000000001', '2026-11-20T01:00:00Z', [`{"title":"Bestellung – ${'ü𝄞'.repeat(40_000)}"}`, 'plain']);
    const small = { ...m('000000000002', '2026-11-20T02:00:00Z', ['{"city":"Zürich"}', 'say "hi"\\ \n\t\u0001 \ud800 end']), attributes: { source: 'pos' as const, run_id: 'r"1' } };
    const empty = m('000000000003', '2026-11-20T03:00:00Z', []);
    await archive.appendMany([big]);
    await archive.appendMany([small, empty]);
    const read: InboundMessage[] = [];
    for await (const x of archive.read({ from: new Date('2026-11-20T00:00:00Z'), to: new Date('2026-11-21T00:00:00Z') })) read.push(x);
    assert.deepEqual(read.map((x) => [x.id, x.attributes, x.entries]), [big, small, empty].map((x) => [x.id, x.attributes, x.entries]));
    // Byte for byte the documented line: JSON.stringify of {id, received_at, attributes, entries}.
    const line = (x: InboundMessage) => JSON.stringify({ id: x.id, received_at: x.receivedAt.toISOString(), attributes: x.attributes, entries: x.entries });
    assert.equal(await readFile(join(dir, 'archive', '2026-11-20.ndjson'), 'utf8'), `${line(big)}\n${line(small)}\n${line(empty)}\n`);
  });

  it('reads back messages by received_at, half-open, across daily segments', async () => {
    await archive.appendMany([
      m('000000000001', '2026-11-19T23:00:00Z'),
      m('000000000002', '2026-11-20T00:00:00Z'),
      m('000000000003', '2026-11-20T12:00:00Z'),
    ]);
    await archive.append(m('000000000004', '2026-11-21T00:00:00Z'));
    assert.deepEqual(await readAll(archive, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'), ['000000000002', '000000000003']);
    assert.deepEqual(await readAll(archive, '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'), ['000000000001', '000000000002', '000000000003', '000000000004']);
    const read: InboundMessage[] = [];
    for await (const x of archive.read({ from: new Date('2026-11-21T00:00:00Z'), to: new Date('2026-11-21T00:00:00.001Z') })) read.push(x);
    assert.deepEqual(read, [m('000000000004', '2026-11-21T00:00:00Z')]);
    assert.deepEqual(await readFile(join(dir, 'archive', '2026-11-20.ndjson'), 'utf8'),
      '{"id":"000000000002","received_at":"2026-11-20T00:00:00.000Z","attributes":{"source":"pos"},"entries":["entry-000000000002"]}\n' +
      '{"id":"000000000003","received_at":"2026-11-20T12:00:00.000Z","attributes":{"source":"pos"},"entries":["entry-000000000003"]}\n');
  });

  it('reads nothing from an archive that was never written', async () => {
    assert.deepEqual(await readAll(archive, '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'), []);
  });

  it('tolerates a torn last line and cuts it off before the next append', async () => {
    await archive.append(m('000000000001', '2026-11-20T01:00:00Z'));
    await archive.close();
    const file = join(dir, 'archive', '2026-11-20.ndjson');
    await appendFile(file, '{"id":"000000000002","received_at":"2026-11-2');
    archive = new LocalArchive(join(dir, 'archive'));
    assert.deepEqual(await readAll(archive, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'), ['000000000001']);
    await archive.append(m('000000000002', '2026-11-20T02:00:00Z'));
    assert.deepEqual(await readAll(archive, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'), ['000000000001', '000000000002']);
    assert.equal((await readFile(file, 'utf8')).split('\n').length, 3);
  });

  it('skips a message written twice by crash recovery', async () => {
    await archive.appendMany([m('000000000001', '2026-11-20T01:00:00Z'), m('000000000002', '2026-11-20T01:00:00Z')]);
    await archive.appendMany([m('000000000002', '2026-11-20T01:00:00Z'), m('000000000003', '2026-11-20T01:00:00Z')]);
    assert.deepEqual(await readAll(archive, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'), ['000000000001', '000000000002', '000000000003']);
  });

  it('the bus re-archives on open what was committed but not yet archived', async () => {
    // Simulates a crash between the bus commit and the archive append: the archive loses its lines.
    const bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
    await bus.publish([{ receivedAt: new Date('2026-11-20T01:00:00Z'), attributes: { source: 'pos' }, entries: ['x'] }]);
    await bus.close();
    await archive.close();
    await rm(join(dir, 'archive'), { recursive: true });
    const { open } = await import('lmdb');
    const env = open({ path: join(dir, 'bus.mdb') });
    await env.openDB('meta', {}).remove('archived_through');
    await env.close();
    archive = new LocalArchive(join(dir, 'archive'));
    const reopened = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
    try {
      assert.deepEqual(await readAll(archive, '2026-11-20T00:00:00Z', '2026-11-21T00:00:00Z'), ['000000000001']);
    } finally {
      await reopened.close();
    }
  });
});
