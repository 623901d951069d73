// The local key store and the data directory's pepper file.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKeyStore, loadOrCreatePepper } from '../../../adapters/local/key-store.js';
import { authenticate, createKey } from '../../../pipeline/auth/keys.js';

describe('LocalKeyStore and pepper', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-keys-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('creates a 32-byte pepper with mode 0600 once and reuses it', async () => {
    const file = join(dir, 'pepper');
    const p1 = await loadOrCreatePepper(file);
    assert.equal(p1.length, 32);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreatePepper(file), p1);
  });

  it('refuses a damaged pepper', async () => {
    await writeFile(join(dir, 'pepper'), 'short');
    await assert.rejects(loadOrCreatePepper(join(dir, 'pepper')), /holds 5 bytes, expected 32/);
  });

  it('stores records, finds them by hash, lists and revokes, across instances', async () => {
    const pepper = await loadOrCreatePepper(join(dir, 'pepper'));
    const store = new LocalKeyStore(join(dir, 'keys.json'));
    const now = new Date('2026-11-21T10:00:00Z');
    const { key, record } = createKey(pepper, { kind: 'ingest', merchantId: 'm1', now });
    await store.put(record);
    assert.deepEqual(await authenticate(store, pepper, key, now), { ok: true, record });
    assert.ok(!(await readFile(join(dir, 'keys.json'), 'utf8')).includes(key));
    const other = new LocalKeyStore(join(dir, 'keys.json'));
    assert.deepEqual(await other.list(), [record]);
    assert.equal(await other.revoke(record.id, new Date('2026-11-21T11:00:00Z')), true);
    assert.equal(await other.revoke('key_missing', new Date()), false);
    assert.deepEqual(await authenticate(store, pepper, key, now), { ok: false, failure: 'revoked' });
    assert.equal((await store.list())[0]?.revoked_at, '2026-11-21T11:00:00.000Z');
  });
});
