import assert from 'node:assert/strict';
import { authenticate, bearerToken, createKey, hashKey, parseDuration, redactKey } from '../../../pipeline/auth/keys.js';
import { cachedKeyStore } from '../../../adapters/gcp/bigtable-key-store.js';
import { InMemoryKeyStore } from '../../support/in-memory-command-stores.js';

const PEPPER = Buffer.alloc(32, 1);
const NOW = new Date('2026-11-21T12:00:00Z');

describe('API keys (pipeline/auth/keys.ts)', () => {
  it('creates a key of 32 random bytes with its kind’s prefix, and a record holding only its HMAC', () => {
    const { key, record } = createKey(PEPPER, { kind: 'browser', merchantId: 'm1', origins: ['https://shop.example'], expiresInMs: 3_600_000, now: NOW });
    assert.match(key, /^tsb_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key.slice(4), 'base64url').length, 32);
    assert.match(record.id, /^key_[0-9a-f]{16}$/);
    assert.deepEqual({ ...record, id: '' }, {
      id: '',
      kind: 'browser',
      merchant_id: 'm1',
      origins: ['https://shop.example'],
      hash: hashKey(PEPPER, key),
      created_at: '2026-11-21T12:00:00.000Z',
      expires_at: '2026-11-21T13:00:00.000Z',
      revoked_at: null,
    });
    assert.notEqual(createKey(PEPPER, { kind: 'admin' }).key, createKey(PEPPER, { kind: 'admin' }).key);
  });

  it('refuses a merchant on an admin key, none on the others, origins off browser keys and origins with a path', () => {
    assert.throws(() => createKey(PEPPER, { kind: 'admin', merchantId: 'm1' }), /an admin key has no merchant/);
    assert.throws(() => createKey(PEPPER, { kind: 'read' }), /a read key needs --merchant/);
    assert.throws(() => createKey(PEPPER, { kind: 'browser', merchantId: 'm1' }), /a browser key needs at least one --origin/);
    assert.throws(() => createKey(PEPPER, { kind: 'read', merchantId: 'm1', origins: ['https://a.example'] }), /only browser keys are bound to origins/);
    assert.throws(() => createKey(PEPPER, { kind: 'browser', merchantId: 'm1', origins: ['https://a.example/shop'] }), /without a path: https:\/\/a\.example\/shop/);
  });

  it('parses durations in days, hours and minutes, and names a bad one', () => {
    assert.deepEqual([parseDuration('90d'), parseDuration('12h'), parseDuration('30m')], [90 * 86_400_000, 12 * 3_600_000, 30 * 60_000]);
    for (const bad of ['90', '1w', '-1d', '1.5h', '']) assert.throws(() => parseDuration(bad), /bad duration/, bad);
  });

  it('authenticates a stored key and says why any other presented key fails', async () => {
    const store = new InMemoryKeyStore();
    const live = createKey(PEPPER, { kind: 'read', merchantId: 'm1', now: NOW });
    const expiring = createKey(PEPPER, { kind: 'read', merchantId: 'm1', now: NOW, expiresInMs: 60_000 });
    const revoked = createKey(PEPPER, { kind: 'read', merchantId: 'm1', now: NOW });
    for (const k of [live, expiring, revoked]) await store.put(k.record);
    await store.revoke(revoked.record.id, NOW);
    const later = new Date(NOW.getTime() + 60_000);
    assert.deepEqual(await authenticate(store, PEPPER, live.key, later), { ok: true, record: live.record });
    assert.deepEqual(await authenticate(store, PEPPER, expiring.key, later), { ok: false, failure: 'expired' });
    assert.deepEqual(await authenticate(store, PEPPER, revoked.key, later), { ok: false, failure: 'revoked' });
    assert.deepEqual(await authenticate(store, PEPPER, undefined, later), { ok: false, failure: 'missing' });
    assert.deepEqual(await authenticate(store, PEPPER, 'tsr_short', later), { ok: false, failure: 'malformed' });
    assert.deepEqual(await authenticate(store, PEPPER, createKey(PEPPER, { kind: 'admin' }).key, later), { ok: false, failure: 'unknown' });
    // The same key under another pepper is another hash: unknown.
    assert.deepEqual(await authenticate(store, Buffer.alloc(32, 2), live.key, later), { ok: false, failure: 'unknown' });
  });

  it('refuses a key revoked after it was accepted, as soon as the store shows the revocation', async () => {
    const store = new InMemoryKeyStore();
    const k = createKey(PEPPER, { kind: 'read', merchantId: 'm1', now: NOW });
    await store.put(k.record);
    // Accepted repeatedly (its hash is remembered), then revoked by another process writing the store.
    for (let i = 0; i < 3; i++) assert.deepEqual(await authenticate(store, PEPPER, k.key, NOW), { ok: true, record: k.record });
    await store.revoke(k.record.id, NOW);
    assert.deepEqual(await authenticate(store, PEPPER, k.key, NOW), { ok: false, failure: 'revoked' });

    // Behind the request paths' read-through cache: refused once the cache's own TTL has passed, not later.
    const backing = new InMemoryKeyStore();
    const c = createKey(PEPPER, { kind: 'read', merchantId: 'm1', now: NOW });
    await backing.put(c.record);
    let nowMs = NOW.getTime();
    const cached = cachedKeyStore(backing, { ttlMs: 30_000, now: () => nowMs });
    assert.equal((await authenticate(cached, PEPPER, c.key, NOW)).ok, true);
    await backing.revoke(c.record.id, NOW); // not through `cached`: another instance revoked it
    nowMs += 30_000;
    assert.deepEqual(await authenticate(cached, PEPPER, c.key, NOW), { ok: false, failure: 'revoked' });
  });

  it('checks a remembered key against the store each time, under its own pepper only', async () => {
    const k = createKey(PEPPER, { kind: 'read', merchantId: 'm1', now: NOW });
    const store = new InMemoryKeyStore();
    await store.put(k.record);
    assert.equal((await authenticate(store, PEPPER, k.key, NOW)).ok, true);
    // Gone from the store (another store, or the record deleted): unknown, though its hash was remembered.
    assert.deepEqual(await authenticate(new InMemoryKeyStore(), PEPPER, k.key, NOW), { ok: false, failure: 'unknown' });
    // Another pepper's store holding the hash this pepper gives: still unknown under that pepper.
    const other = Buffer.alloc(32, 3);
    const otherStore = new InMemoryKeyStore();
    await otherStore.put({ ...k.record, hash: hashKey(PEPPER, k.key) });
    assert.deepEqual(await authenticate(otherStore, other, k.key, NOW), { ok: false, failure: 'unknown' });
  });

  it('reads a bearer token with any case of the scheme, and nothing else', () => {
    assert.equal(bearerToken('Bearer tsr_abc'), 'tsr_abc');
    assert.equal(bearerToken('bearer   tsr_abc'), 'tsr_abc');
    for (const h of [undefined, '', 'Basic dXNlcg==', 'Bearer', 'Bearer a b', 'Bearer a,b']) assert.equal(bearerToken(h), undefined, String(h));
  });

  it('redacts keys and the key query parameter from log text', () => {
    const { key } = createKey(PEPPER, { kind: 'ingest', merchantId: 'm1' });
    assert.equal(redactKey(`auth ${key} at /v1/events?key=${key}&x=1`), 'auth tsi_…redacted at /v1/events?key=redacted&x=1');
  });
});
