import assert from 'node:assert/strict';
import { bigtableClient, ensureTable, KEYS_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { cachedKeyStore, createBigtableKeyStore } from '../../../adapters/gcp/bigtable-key-store.js';
import { authenticate, createKey, newPepper } from '../../../pipeline/auth/keys.js';
import type { KeyStore } from '../../../pipeline/ports.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from './support/emulators.js';

describe('gcp Bigtable key store (emulator)', function () {
  this.timeout(30_000);
  let store: KeyStore;
  let n = 0;
  const pepper = newPepper();

  before(async () => {
    await useEmulators();
  });
  beforeEach(async () => {
    store = createBigtableKeyStore(await ensureTable(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE), `keys-${++n}`, KEYS_FAMILIES));
  });

  it('authenticates a stored key by its hash and lists records without keys', async () => {
    const a = createKey(pepper, { kind: 'ingest', merchantId: 'm1', now: new Date('2026-11-21T10:00:00Z') });
    const b = createKey(pepper, { kind: 'browser', merchantId: 'm1', origins: ['https://shop.example'], now: new Date('2026-11-21T11:00:00Z') });
    await store.put(a.record);
    await store.put(b.record);
    assert.deepEqual(await authenticate(store, pepper, a.key, new Date('2026-11-21T12:00:00Z')), { ok: true, record: a.record });
    assert.deepEqual(await store.findByHash('0'.repeat(64)), undefined);
    assert.deepEqual(await store.list(), [a.record, b.record]);
  });

  it('revokes by id, idempotently, and reports an unknown id', async () => {
    const a = createKey(pepper, { kind: 'read', merchantId: 'm1' });
    await store.put(a.record);
    const at = new Date('2026-11-21T12:00:00Z');
    assert.equal(await store.revoke(a.record.id, at), true);
    assert.equal(await store.revoke(a.record.id, new Date('2026-11-22T00:00:00Z')), true);
    assert.deepEqual(await store.findByHash(a.record.hash), { ...a.record, revoked_at: '2026-11-21T12:00:00.000Z' });
    assert.deepEqual(await authenticate(store, pepper, a.key), { ok: false, failure: 'revoked' });
    assert.equal(await store.revoke('key_unknown', at), false);
  });
});

describe('gcp cached key store', () => {
  it('reads each hash at most once per interval, unknown ones included, and forgets on revoke', async () => {
    let reads = 0;
    const pepper = newPepper();
    const a = createKey(pepper, { kind: 'ingest', merchantId: 'm1' });
    const records = new Map([[a.record.hash, a.record]]);
    const inner: KeyStore = {
      async put(r) {
        records.set(r.hash, r);
      },
      async findByHash(h) {
        reads++;
        return records.get(h);
      },
      async list() {
        return [...records.values()];
      },
      async revoke(id, at) {
        for (const r of records.values()) if (r.id === id) records.set(r.hash, { ...r, revoked_at: at.toISOString() });
        return true;
      },
    };
    let t = 0;
    const cached = cachedKeyStore(inner, { ttlMs: 1000, maxEntries: 2, now: () => t });
    assert.deepEqual(await cached.findByHash(a.record.hash), a.record);
    assert.equal(await cached.findByHash('unknown'), undefined);
    await cached.findByHash(a.record.hash);
    await cached.findByHash('unknown');
    assert.equal(reads, 2);
    t = 1000;
    await cached.findByHash(a.record.hash);
    assert.equal(reads, 3);
    await cached.revoke(a.record.id, new Date('2026-11-21T00:00:00Z'));
    assert.equal((await cached.findByHash(a.record.hash))?.revoked_at, '2026-11-21T00:00:00.000Z');
    assert.equal(reads, 4);
  });
});
