// `tillstream dimensions load` and `tillstream keys create|list|revoke` with TILLSTREAM_RUNTIME=gcp: the
// keys and series live in Bigtable (emulator), the pepper comes from TILLSTREAM_KEY_PEPPER, and the
// dimensions go to the Cloud Storage object and BigQuery dims tables (sinon on the clients' documented
// methods, as the dimensions store's own tests do). The local path stays the default.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Table as BigQueryTable } from '@google-cloud/bigquery';
import { File } from '@google-cloud/storage';
import sinon from 'sinon';
import { bigtableClient, ensureTable, KEYS_FAMILIES, SERIES_FAMILIES } from '../../adapters/gcp/bigtable.js';
import { createBigtableKeyStore } from '../../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../../adapters/gcp/bigtable-series-store.js';
import { authenticate } from '../../pipeline/auth/keys.js';
import type { KeyRecord } from '../../pipeline/ports.js';
import { documentKey } from '../../pipeline/series/row-key.js';
import { dimensionsCommand } from '../../cli/commands/dimensions.js';
import { keysCommand } from '../../cli/commands/keys.js';
import { UsageError } from '../../cli/context.js';
import { openLocalPipeline } from '../../runtime/local-writer.js';
import { LocalKeyStore } from '../../adapters/local/key-store.js';
import { createCommandContext } from '../../cli/runtime-select.js';
import { TEST_INSTANCE, TEST_PROJECT, gcpRuntimeEnv, useEmulators } from '../adapters/gcp/support/emulators.js';

const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');
const PEPPER = Buffer.alloc(32, 0x3c);

const DIMENSIONS = {
  merchants: [{ id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' }],
  stores: [{ id: 's1', merchant_id: 'pizzaco', name: 'Mitte', city: 'Berlin', region: 'BE' }],
  fraud_ips: ['203.0.113.7'],
};

describe('tillstream dimensions and keys with TILLSTREAM_RUNTIME=gcp', function () {
  this.timeout(60_000);
  const sandbox = sinon.createSandbox();
  const suffix = `${process.pid}-${Date.now()}`;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let objects: Map<string, { data: string; generation: number }>;
  let loads: string[];

  before(async () => {
    const emulators = await useEmulators();
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    await ensureTable(instance, `series-cli-${suffix}`, SERIES_FAMILIES);
    await ensureTable(instance, `keys-cli-${suffix}`, KEYS_FAMILIES);
    env = gcpRuntimeEnv(emulators, {
      TILLSTREAM_SERIES_TABLE: `series-cli-${suffix}`,
      TILLSTREAM_KEYS_TABLE: `keys-cli-${suffix}`,
      TILLSTREAM_DIMENSIONS_BUCKET: 'tillstream-config',
      TILLSTREAM_KEY_PEPPER: PEPPER.toString('hex'),
    });
    dir = await mkdtemp(join(tmpdir(), 'cli-gcp-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    // An in-memory bucket behind the documented File methods, and BigQuery load jobs recorded.
    objects = new Map();
    loads = [];
    const notFound = () => Object.assign(new Error('No such object'), { code: 404 });
    sandbox.stub(File.prototype, 'download').callsFake((async function (this: File) {
      const o = objects.get(`${this.bucket.name}/${this.name}`);
      if (!o) throw notFound();
      return [Buffer.from(o.data)];
    }) as never);
    sandbox.stub(File.prototype, 'getMetadata').callsFake((async function (this: File) {
      const o = objects.get(`${this.bucket.name}/${this.name}`);
      if (!o) throw notFound();
      return [{ generation: String(o.generation) }];
    }) as never);
    sandbox.stub(File.prototype, 'save').callsFake((async function (this: File, data: string) {
      const name = `${this.bucket.name}/${this.name}`;
      objects.set(name, { data, generation: (objects.get(name)?.generation ?? 0) + 1 });
    }) as never);
    sandbox.stub(BigQueryTable.prototype, 'load').callsFake((async function (this: BigQueryTable) {
      loads.push(`${this.dataset.id}.${this.id}`);
      return [{}];
    }) as never);
  });
  afterEach(() => sandbox.restore());

  /** Runs a command in this process with the selector's context, as main.ts builds it. */
  async function run(command: 'dimensions' | 'keys', argv: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const ctx = createCommandContext({
      name: command,
      env: { ...env, ...extraEnv },
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      openLocal: () => Promise.reject(new Error('the local data directory must not be opened')),
    });
    try {
      const exit = await (command === 'keys' ? keysCommand : dimensionsCommand)(argv, ctx);
      return { exit, out, err };
    } finally {
      await ctx.close();
    }
  }

  it('loads dimensions into the Cloud Storage object and the dims tables, and mirrors documents into Bigtable', async () => {
    const file = join(dir, 'dims.json');
    await writeFile(file, JSON.stringify(DIMENSIONS));
    const r = await run('dimensions', ['load', file]);
    assert.deepEqual([r.exit, r.out], [0, ['{"merchants":1,"stores":1,"fraud_ips":1}']]);
    assert.deepEqual(JSON.parse(objects.get('tillstream-config/dimensions/current.json')!.data), DIMENSIONS);
    assert.deepEqual(loads, ['dims.merchants', 'dims.stores', 'dims.settings']);
    const series = createBigtableSeriesStore(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE).table(`series-cli-${suffix}`));
    assert.deepEqual(await series.getDocument(documentKey('pizzaco', 'merchant')), { id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' });
    assert.deepEqual(await series.getDocument(documentKey('pizzaco', 'stores')), {
      stores: [{ id: 's1', name: 'Mitte', city: 'Berlin', region: 'BE', time_zone: 'Europe/Berlin' }],
    });
  });

  it('creates a key in the Bigtable key store with the mounted pepper, lists it without the key, revokes it', async () => {
    objects.set('tillstream-config/dimensions/current.json', { data: JSON.stringify(DIMENSIONS), generation: 1 });
    const created = await run('keys', ['create', '--kind', 'read', '--merchant', 'pizzaco', '--expires-in', '90d']);
    assert.equal(created.exit, 0);
    const key = created.out.at(-1)!;
    assert.match(key, /^tsr_[A-Za-z0-9_-]{43}$/);
    const keys = createBigtableKeyStore(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE).table(`keys-cli-${suffix}`));
    const auth = await authenticate(keys, PEPPER, key);
    assert.equal(auth.ok, true);
    const record = (auth as { record: KeyRecord }).record;
    assert.deepEqual([record.kind, record.merchant_id, record.revoked_at], ['read', 'pizzaco', null]);
    assert.deepEqual(created.err, [`created read key ${record.id} for merchant pizzaco; it is shown once:`]);

    const listed = await run('keys', ['list']);
    assert.equal(listed.exit, 0);
    const rows = listed.out.filter((l) => l.startsWith(`${record.id}\t`) || l.startsWith('id\t'));
    assert.deepEqual(rows, ['id\tkind\tmerchant\tcreated\texpires\trevoked', [record.id, 'read', 'pizzaco', record.created_at, record.expires_at, '-'].join('\t')]);
    assert.ok(!listed.out.join('\n').includes(key));

    const revoked = await run('keys', ['revoke', record.id]);
    assert.deepEqual([revoked.exit, revoked.out], [0, [`revoked ${record.id}`]]);
    assert.deepEqual(await authenticate(keys, PEPPER, key), { ok: false, failure: 'revoked' });
    await assert.rejects(run('keys', ['revoke', 'key_nonexistent']), (e: unknown) => e instanceof UsageError && e.message === 'no key with id key_nonexistent');
  });

  it('refuses a merchant the gcp dimensions do not know, and a missing pepper by its variable', async () => {
    await assert.rejects(run('keys', ['create', '--kind', 'read', '--merchant', 'nobody']), (e: unknown) => e instanceof UsageError && /unknown merchant nobody/.test(e.message));
    await assert.rejects(run('keys', ['list'], { TILLSTREAM_KEY_PEPPER: '' }), /TILLSTREAM_KEY_PEPPER is missing/);
  });

  it('refuses commands without a gcp variant instead of opening a local data directory', async () => {
    const ctx = createCommandContext({ name: 'ingest', env, out: () => undefined, err: () => undefined, openLocal: () => Promise.reject(new Error('opened')) });
    await assert.rejects(ctx.runtime(), (e: unknown) => e instanceof UsageError && e.message === 'runs on the local runtime only; unset TILLSTREAM_RUNTIME (it is "gcp")');
    assert.throws(() => createCommandContext({ name: 'keys', env: { TILLSTREAM_RUNTIME: 'cloud' }, out: () => undefined, err: () => undefined, openLocal: () => Promise.reject(new Error('opened')) }), /TILLSTREAM_RUNTIME: must be one of local, gcp, got "cloud"/);
  });

  it('runs through the tillstream command: keys create and list reach Bigtable, no data directory is made', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'cli-gcp-cwd-'));
    const tillstream = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    try {
      const created = await tillstream(['keys', 'create', '--kind', 'admin']);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.trim().split('\n').at(-1)!;
      const keys = createBigtableKeyStore(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE).table(`keys-cli-${suffix}`));
      const auth = await authenticate(keys, PEPPER, key);
      assert.equal(auth.ok && auth.record.kind, 'admin');
      const listed = await tillstream(['keys', 'list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`^${auth.ok ? auth.record.id : '-'}\\tadmin\\t-\\t`, 'm'));
      const batch = join(dir, 'batch.ndjson');
      await writeFile(batch, '{}\n');
      const refused = await tillstream(['ingest', '--file', batch, '--source', 'pos']);
      assert.deepEqual([refused.code, refused.stderr.trim()], [2, 'tillstream ingest: runs on the local runtime only; unset TILLSTREAM_RUNTIME (it is "gcp")']);
      assert.deepEqual(await readdir(cwd), []);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('keeps the local data directory the default: keys go to its keys file, hashed with its pepper', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cli-local-'));
    const out: string[] = [];
    const ctx = createCommandContext({ name: 'keys', env: {}, out: (l) => out.push(l), err: () => undefined, openLocal: () => openLocalPipeline({ dataDir, command: 'tillstream keys' }) });
    try {
      assert.equal(ctx.runtimeName, 'local');
      assert.equal(await keysCommand(['create', '--kind', 'admin'], ctx), 0);
      const stores = await ctx.stores!();
      assert.equal(stores.runtime, 'local');
      const auth = await authenticate(new LocalKeyStore(join(dataDir, 'keys.json')), stores.pepper, out.at(-1)!);
      assert.equal(auth.ok && auth.record.kind, 'admin');
    } finally {
      await ctx.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
