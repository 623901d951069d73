import assert from 'node:assert/strict';
import type { Instance } from '@google-cloud/bigtable';
import { bigtableClient, dedupeFamilies, ensureTable } from '../../../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex, dedupeRowKey, journalRowKey, type BigtableDedupeIndex } from '../../../adapters/gcp/bigtable-dedupe.js';
import type { DedupeClaim } from '../../../pipeline/ports.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from './support/emulators.js';

const claim = (eventId: string, contentHash: string, messageId: string, index: number, merchantId = 'm1'): DedupeClaim => ({
  merchantId,
  eventId,
  contentHash,
  entry: { messageId, index },
});

describe('gcp Bigtable dedupe index (emulator)', function () {
  this.timeout(30_000);
  let instance: Instance;
  let index: BigtableDedupeIndex;
  /** The owners' rows are stored: what the stage tells the index after its raw write. */
  const stored = (...cs: DedupeClaim[]) => index.confirm(cs.map((c) => ({ merchantId: c.merchantId, eventId: c.eventId, entry: c.entry })));
  let n = 0;

  before(async () => {
    await useEmulators();
    instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
  });
  beforeEach(async () => {
    index = createBigtableDedupeIndex(await ensureTable(instance, `dedupe-${++n}`, dedupeFamilies(8 * 86_400)));
  });

  it('gives new, same_entry, duplicate and conflict verdicts', async () => {
    assert.deepEqual(await index.claim([claim('e1', 'h1', '1001', 0), claim('e2', 'h2', '1001', 1)]), [{ kind: 'new' }, { kind: 'new' }]);
    await stored(claim('e1', 'h1', '1001', 0), claim('e2', 'h2', '1001', 1));
    assert.deepEqual(
      await index.claim([
        claim('e1', 'h1', '1001', 0), // the owner, redelivered
        claim('e1', 'h1', '2002', 0), // same content, later copy
        claim('e2', 'hX', '2002', 1), // same id, other content
        claim('e2', 'h2', '2002', 2, 'm2'), // another merchant's e2 is another event
      ]),
      [{ kind: 'same_entry' }, { kind: 'duplicate', first: { messageId: '1001', index: 0 } }, { kind: 'conflict', first: { messageId: '1001', index: 1 } }, { kind: 'new' }],
    );
  });

  it('lets the first copy within one batch win; until its row is stored, later copies are pending', async () => {
    assert.deepEqual(await index.claim([claim('e1', 'h1', 'msg-7', 3), claim('e1', 'h1', 'msg-7', 4), claim('e1', 'h9', 'msg-7', 5)]), [
      { kind: 'new' },
      { kind: 'pending', first: { messageId: 'msg-7', index: 3 } },
      { kind: 'pending', first: { messageId: 'msg-7', index: 3 } },
    ]);
    await stored(claim('e1', 'h1', 'msg-7', 3));
    assert.deepEqual(await index.claim([claim('e1', 'h1', 'msg-7', 4), claim('e1', 'h9', 'msg-7', 5)]), [
      { kind: 'duplicate', first: { messageId: 'msg-7', index: 3 } },
      { kind: 'conflict', first: { messageId: 'msg-7', index: 3 } },
    ]);
  });

  it('gives exactly one new verdict when many entries race for one event', async () => {
    const verdicts = (await Promise.all(Array.from({ length: 20 }, (_, i) => index.claim([claim('race', 'h', `m${i}`, 0)])))).flat();
    assert.equal(verdicts.filter((v) => v.kind === 'new').length, 1);
    assert.equal(verdicts.filter((v) => v.kind === 'pending').length, 19);
  });

  it('counts only the current owner confirming, so a resend after a released claim owns the event', async () => {
    await index.claim([claim('e5', 'h5', 'failed-msg', 2)]);
    // Another entry's confirmation does not make the claim stored.
    await index.confirm([{ merchantId: 'm1', eventId: 'e5', entry: { messageId: 'other', index: 2 } }]);
    assert.deepEqual(await index.claim([claim('e5', 'h5', 'resend', 0)]), [{ kind: 'pending', first: { messageId: 'failed-msg', index: 2 } }]);
    // The failed message gives the claim back; the resend owns the event and a late confirmation of the old owner changes nothing.
    await index.release!([{ merchantId: 'm1', eventId: 'e5', entry: { messageId: 'failed-msg', index: 2 } }]);
    assert.deepEqual(await index.claim([claim('e5', 'h5', 'resend', 0)]), [{ kind: 'new' }]);
    await index.confirm([{ merchantId: 'm1', eventId: 'e5', entry: { messageId: 'failed-msg', index: 2 } }]);
    assert.deepEqual(await index.claim([claim('e5', 'h5', 'third', 0)]), [{ kind: 'pending', first: { messageId: 'resend', index: 0 } }]);
  });

  it('lets a later copy take over a claim its owner left unconfirmed past the abandonment age, exactly once', async () => {
    let now = Date.parse('2026-11-21T12:00:00Z');
    const table = await ensureTable(instance, `dedupe-${++n}`, dedupeFamilies(8 * 86_400));
    const aged = createBigtableDedupeIndex(table, { abandonAfterMs: 2 * 3_600_000, nowMs: () => now });
    await aged.claim([claim('e7', 'h7', 'killed', 0)]);
    now += 3_600_000;
    assert.deepEqual(await aged.claim([claim('e7', 'h7', 'copy-1', 0)]), [{ kind: 'pending', first: { messageId: 'killed', index: 0 } }]);
    now += 2 * 3_600_000;
    // Two copies race for the abandoned event: one owns it, the other waits for that new owner.
    const raced = (await Promise.all([aged.claim([claim('e7', 'h7', 'copy-2', 0)]), aged.claim([claim('e7', 'h7', 'copy-3', 0)])])).flat();
    assert.deepEqual(raced.map((v) => v.kind).sort(), ['new', 'pending']);
    // The old owner, should it come back, no longer owns the event; a confirmed claim is never taken over.
    const owner = raced[0]!.kind === 'new' ? 'copy-2' : 'copy-3';
    await aged.confirm([{ merchantId: 'm1', eventId: 'e7', entry: { messageId: 'killed', index: 0 } }]);
    assert.equal((await aged.claim([claim('e7', 'h7', 'killed', 0)]))[0]!.kind, 'pending');
    await aged.confirm([{ merchantId: 'm1', eventId: 'e7', entry: { messageId: owner, index: 0 } }]);
    now += 30 * 3_600_000;
    assert.deepEqual(await aged.claim([claim('e7', 'h7', 'killed', 0)]), [{ kind: 'duplicate', first: { messageId: owner, index: 0 } }]);
  });

  it('lets a copy own an event whose claim garbage collection took and whose confirmation it left', async () => {
    // Bigtable collects each cell by its own timestamp, whenever its tablet compacts: the claim's owner
    // and hash (written first) can be gone while the confirmation (written after them) is still there.
    // https://cloud.google.com/bigtable/docs/garbage-collection
    const table = await ensureTable(instance, `dedupe-${++n}`, dedupeFamilies(8 * 86_400));
    const gc = createBigtableDedupeIndex(table);
    await gc.claim([claim('e9', 'h9', 'first', 0)]);
    await gc.confirm([{ merchantId: 'm1', eventId: 'e9', entry: { messageId: 'first', index: 0 } }]);
    await table.row(dedupeRowKey('m1', 'e9')).deleteCells(['c:o', 'c:h']);
    assert.deepEqual(await gc.claim([claim('e9', 'h9', 'late-copy', 0)]), [{ kind: 'new' }]);
    // The copy now owns it like any claim: unconfirmed, so the next copy waits; confirmed, a duplicate.
    assert.deepEqual(await gc.claim([claim('e9', 'h9', 'third', 0)]), [{ kind: 'pending', first: { messageId: 'late-copy', index: 0 } }]);
    await gc.confirm([{ merchantId: 'm1', eventId: 'e9', entry: { messageId: 'late-copy', index: 0 } }]);
    assert.deepEqual(await gc.claim([claim('e9', 'h9', 'third', 0)]), [{ kind: 'duplicate', first: { messageId: 'late-copy', index: 0 } }]);
  });

  it('spreads a merchant\'s sequential event ids over the key space with a stable hash prefix', () => {
    const keys = Array.from({ length: 64 }, (_, i) => dedupeRowKey('bigmerchant', `ord-${String(i).padStart(6, '0')}`));
    assert.match(keys[0]!, /^[0-9a-f]{4}#bigmerchant#ord-000000$/);
    assert.equal(dedupeRowKey('bigmerchant', 'ord-000000'), keys[0]);
    // Sequential ids no longer sort together: their prefixes take many distinct values.
    assert.ok(new Set(keys.map((k) => k.slice(0, 2))).size > 30, keys.join(' '));
    assert.match(journalRowKey('123456'), /^[0-9a-f]{4}#~m#123456$/);
  });

  it('records and reads back a message journal, merging parts and repeated records', async () => {
    assert.deepEqual(await index.read('77'), {});
    await index.record('77', { accepted: [2, 0] });
    await index.record('77', { rejected: { 1: 'schema_mismatch' } });
    await index.record('77', { accepted: [0, 2] });
    await index.record('78', { duplicates: [0] });
    assert.deepEqual(await index.read('77'), { accepted: [0, 2], rejected: { 1: 'schema_mismatch' } });
    await index.record('77', { processing_failed: [3] });
    assert.deepEqual(await index.read('77'), { accepted: [0, 2], rejected: { 1: 'schema_mismatch' }, processing_failed: [3] });
  });

  it('reads back the dedupe answers recorded for a message with its parts', async () => {
    await index.record('88', { verdicts: { 0: { kind: 'new' }, 2: { kind: 'duplicate', first: { messageId: '80', index: 1 } } } });
    await index.record('88', { duplicates: [2] });
    assert.deepEqual(await index.read('88'), { duplicates: [2], verdicts: { 0: { kind: 'new' }, 2: { kind: 'duplicate', first: { messageId: '80', index: 1 } } } });
  });

  it('keeps 8-byte values as text', async () => {
    // '123456' + NUL + '0' is 8 bytes: the client would read it as a 64-bit number unless told not to.
    await index.claim([claim('e8', 'abcdefgh', '123456', 0)]);
    await stored(claim('e8', 'abcdefgh', '123456', 0));
    assert.deepEqual(await index.claim([claim('e8', 'abcdefgh', '123456', 0), claim('e8', 'abcdefgh', '999', 0)]), [
      { kind: 'same_entry' },
      { kind: 'duplicate', first: { messageId: '123456', index: 0 } },
    ]);
  });

  it('releases a claim only for its owner, after which the next copy owns the event', async () => {
    await index.claim([claim('e1', 'h1', 'a.b-c(1)', 0)]);
    await stored(claim('e1', 'h1', 'a.b-c(1)', 0));
    await index.release!([{ merchantId: 'm1', eventId: 'e1', entry: { messageId: 'other', index: 0 } }]);
    assert.deepEqual(await index.claim([claim('e1', 'h1', 'x', 0)]), [{ kind: 'duplicate', first: { messageId: 'a.b-c(1)', index: 0 } }]);
    await index.release!([{ merchantId: 'm1', eventId: 'e1', entry: { messageId: 'a.b-c(1)', index: 0 } }]);
    assert.deepEqual(await index.claim([claim('e1', 'h2', 'x', 0)]), [{ kind: 'new' }]);
  });
});
