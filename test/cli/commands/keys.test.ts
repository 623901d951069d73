import assert from 'node:assert/strict';
import { keysCommand } from '../../../cli/commands/keys.js';
import { UsageError, type CommandContext } from '../../../cli/context.js';
import { hashKey } from '../../../pipeline/auth/keys.js';
import { inMemoryCommandStores } from '../../support/in-memory-command-stores.js';

const NOW = new Date('2026-11-21T12:00:00Z');

describe('tillstream keys', () => {
  let stores: ReturnType<typeof inMemoryCommandStores>;
  let out: string[];
  let err: string[];
  let ctx: CommandContext;
  beforeEach(async () => {
    stores = inMemoryCommandStores(NOW);
    await stores.dimensions.load({ merchants: [{ id: 'm1', name: 'M1', time_zone: 'Europe/Berlin', currency: 'EUR' }], stores: [], fraud_ips: [] });
    out = [];
    err = [];
    ctx = { runtime: () => Promise.reject(new Error('keys uses the selected stores')), stores: async () => stores, out: (l) => out.push(l), err: (l) => err.push(l) };
  });

  it('create prints the key alone as the last stdout line and stores only its HMAC', async () => {
    assert.equal(await keysCommand(['create', '--kind', 'read', '--merchant', 'm1', '--expires-in', '90d'], ctx), 0);
    assert.equal(out.length, 1);
    const key = out[0]!;
    assert.match(key, /^tsr_[A-Za-z0-9_-]{43}$/);
    const [record] = await stores.keys.list();
    assert.deepEqual({ ...record, id: undefined }, {
      id: undefined,
      kind: 'read',
      merchant_id: 'm1',
      origins: [],
      hash: hashKey(stores.pepper, key),
      created_at: '2026-11-21T12:00:00.000Z',
      expires_at: '2027-02-19T12:00:00.000Z',
      revoked_at: null,
    });
    assert.ok(!JSON.stringify(record).includes(key));
    assert.deepEqual(err, [`created read key ${record!.id} for merchant m1; it is shown once:`]);
  });

  it('list prints every record, tab-separated, never a key; revoke marks one revoked', async () => {
    await keysCommand(['create', '--kind', 'admin'], ctx);
    const key = out.pop()!;
    const [record] = await stores.keys.list();
    assert.equal(await keysCommand(['revoke', record!.id], ctx), 0);
    assert.deepEqual(out, [`revoked ${record!.id}`]);
    out = [];
    assert.equal(await keysCommand(['list'], ctx), 0);
    assert.deepEqual(out, ['id\tkind\tmerchant\tcreated\texpires\trevoked', `${record!.id}\tadmin\t-\t2026-11-21T12:00:00.000Z\t-\t2026-11-21T12:00:00.000Z`]);
    assert.ok(!out.join('\n').includes(key));
  });

  it('refuses what it cannot do with a usage error, storing nothing', async () => {
    const refusals: [string[], RegExp][] = [
      [['create', '--kind', 'owner'], /--kind must be one of ingest, read, manage, browser, admin/],
      [['create', '--kind', 'read', '--merchant', 'nobody'], /unknown merchant nobody: load it first/],
      [['create', '--kind', 'read'], /a read key needs --merchant/],
      [['create', '--kind', 'browser', '--merchant', 'm1'], /a browser key needs at least one --origin/],
      [['create', '--kind', 'read', '--merchant', 'm1', '--expires-in', 'soon'], /bad duration "soon"/],
      [['revoke', 'key_nope'], /no key with id key_nope/],
      [['revoke'], /usage: tillstream keys revoke ID/],
      [['rotate'], /usage: tillstream keys create\|list\|revoke/],
    ];
    for (const [argv, message] of refusals) {
      await assert.rejects(keysCommand(argv, ctx), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));
    }
    assert.deepEqual(await stores.keys.list(), []);
  });
});
