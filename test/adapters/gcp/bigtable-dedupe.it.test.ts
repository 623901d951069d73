import assert from 'node:assert/strict';
import type { Instance } from '@google-cloud/bigtable';
import { bigtableClient, dedupeFamilies, ensureTable } from '../../../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex } from '../../../adapters/gcp/bigtable-dedupe.js';
import type { DedupeClaim, DedupeIndex } from '../../../pipeline/ports.js';
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
  let index: DedupeIndex;
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

  it('lets the first copy within one batch win', async () => {
    assert.deepEqual(await index.claim([claim('e1', 'h1', 'msg-7', 3), claim('e1', 'h1', 'msg-7', 4), claim('e1', 'h9', 'msg-7', 5)]), [
      { kind: 'new' },
      { kind: 'duplicate', first: { messageId: 'msg-7', index: 3 } },
      { kind: 'conflict', first: { messageId: 'msg-7', index: 3 } },
    ]);
  });

  it('gives exactly one new verdict when many entries race for one event', async () => {
    const verdicts = (await Promise.all(Array.from({ length: 20 }, (_, i) => index.claim([claim('race', 'h', `m${i}`, 0)])))).flat();
    assert.equal(verdicts.filter((v) => v.kind === 'new').length, 1);
    assert.equal(verdicts.filter((v) => v.kind === 'duplicate').length, 19);
  });

  it('keeps 8-byte values as text', async () => {
    // '123456' + NUL + '0' is 8 bytes: the client would read it as a 64-bit number unless told not to.
    await index.claim([claim('e8', 'abcdefgh', '123456', 0)]);
    assert.deepEqual(await index.claim([claim('e8', 'abcdefgh', '123456', 0), claim('e8', 'abcdefgh', '999', 0)]), [
      { kind: 'same_entry' },
      { kind: 'duplicate', first: { messageId: '123456', index: 0 } },
    ]);
  });

  it('releases a claim only for its owner, after which the next copy owns the event', async () => {
    await index.claim([claim('e1', 'h1', 'a.b-c(1)', 0)]);
    await index.release!([{ merchantId: 'm1', eventId: 'e1', entry: { messageId: 'other', index: 0 } }]);
    assert.deepEqual(await index.claim([claim('e1', 'h1', 'x', 0)]), [{ kind: 'duplicate', first: { messageId: 'a.b-c(1)', index: 0 } }]);
    await index.release!([{ merchantId: 'm1', eventId: 'e1', entry: { messageId: 'a.b-c(1)', index: 0 } }]);
    assert.deepEqual(await index.claim([claim('e1', 'h2', 'x', 0)]), [{ kind: 'new' }]);
  });
});
