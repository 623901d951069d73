// The query API process (services/query-api/server.ts) as the container runs it: a child process,
// configured only by its environment, answering over real HTTP. With TILLSTREAM_RUNTIME=gcp it reads
// series the gcp series store wrote and authenticates keys the gcp key store holds (Bigtable
// emulator); by default it reads a local data directory. SIGTERM ends it with exit code 0.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigtableClient, ensureTable, KEYS_FAMILIES, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableKeyStore } from '../../../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { openDataDir } from '../../../adapters/local/data-dir.js';
import { LocalKeyStore, loadOrCreatePepper } from '../../../adapters/local/key-store.js';
import { DATA_FILES } from '../../../runtime/local-stores.js';
import { openLmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { createKey } from '../../../pipeline/auth/keys.js';
import type { KeyStore, SeriesStore } from '../../../pipeline/ports.js';
import { documentKey, encodeRowKey, hourBucket } from '../../../pipeline/series/row-key.js';
import { TEST_INSTANCE, TEST_PROJECT, gcpRuntimeEnv, useEmulators } from '../../adapters/gcp/support/emulators.js';

const SERVER = new URL('../../../services/query-api/server.ts', import.meta.url).pathname;
const PEPPER = Buffer.alloc(32, 0x5a);
const HOURS = ['2026-11-20T08:00:00Z', '2026-11-20T09:00:00Z', '2026-11-20T10:00:00Z'];
const METRICS = '/v1/merchants/m1/metrics?series=sales&metrics=orders,net_revenue_minor&granularity=hour&from=2026-11-20T08:00:00Z&to=2026-11-20T11:00:00Z';
const EXPECTED = {
  merchant_id: 'm1',
  series: 'sales',
  granularity: 'hour',
  time_zone: 'UTC',
  points: [
    { start: '2026-11-20T08:00:00Z', values: { orders: 3, net_revenue_minor: 3600 }, provisional: false },
    { start: '2026-11-20T09:00:00Z', values: { orders: 0, net_revenue_minor: 0 }, provisional: false },
    { start: '2026-11-20T10:00:00Z', values: { orders: 5, net_revenue_minor: 6000 }, provisional: false },
  ],
};

/** What the exporter would have written for m1: two hours of sales, the merchant and freshness documents. */
async function seed(series: SeriesStore): Promise<void> {
  const row = (iso: string) => encodeRowKey({ merchantId: 'm1', series: 'sales', dims: {}, grain: 'h' }, hourBucket(new Date(iso)));
  await series.mutate([
    { kind: 'set', key: row(HOURS[0]!), family: 'm', cells: { orders: 3, net_revenue_minor: 3600 } },
    { kind: 'set', key: row(HOURS[2]!), family: 'm', cells: { orders: 5, net_revenue_minor: 6000 } },
  ]);
  await series.putDocument(documentKey('m1', 'merchant'), { id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' });
  await series.putDocument(documentKey('m1', 'freshness'), { newest_event_at: '2026-11-20T11:30:00.000Z', finalized_through: '2026-11-20T11:00:00.000Z' });
}

async function addReadKey(keys: KeyStore, pepper: Buffer): Promise<string> {
  const created = createKey(pepper, { kind: 'read', merchantId: 'm1' });
  await keys.put(created.record);
  return created.key;
}

interface Child {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
}

/** Starts server.ts as the image does (node --import tsx), on a free port; resolves once it listens. */
async function startServer(env: NodeJS.ProcessEnv): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', SERVER], { env: { PATH: process.env.PATH, PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not listen within 20 s:\n${err}`)), 20_000);
    proc.stderr!.on('data', (chunk: string) => {
      err += chunk;
      const m = /"url":"(http:[^"]+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before listening:\n${err}`));
    });
  });
  return { proc, url, stderr: () => err };
}

async function stopServer(child: Child): Promise<number | null> {
  if (child.proc.exitCode !== null) return child.proc.exitCode;
  const exited = once(child.proc, 'exit');
  child.proc.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

const get = (base: string, path: string, key?: string) => fetch(base + path, key ? { headers: { authorization: `Bearer ${key}` } } : {});

describe('query API server', function () {
  this.timeout(60_000);

  describe('TILLSTREAM_RUNTIME=gcp (Bigtable emulator)', () => {
    let child: Child | undefined;
    let readKey: string;
    let env: NodeJS.ProcessEnv;
    const suffix = `${process.pid}-${Date.now()}`;

    before(async () => {
      const emulators = await useEmulators();
      const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
      const series = createBigtableSeriesStore(await ensureTable(instance, `series-api-${suffix}`, SERIES_FAMILIES));
      const keys = createBigtableKeyStore(await ensureTable(instance, `keys-api-${suffix}`, KEYS_FAMILIES));
      await seed(series);
      readKey = await addReadKey(keys, PEPPER);
      env = gcpRuntimeEnv(emulators, {
        TILLSTREAM_SERIES_TABLE: `series-api-${suffix}`,
        TILLSTREAM_KEYS_TABLE: `keys-api-${suffix}`,
        TILLSTREAM_KEY_PEPPER: PEPPER.toString('hex'),
      });
      child = await startServer(env);
    });
    after(async () => {
      if (child) await stopServer(child);
    });

    it('answers /health and /ready, and a metric the gcp series store holds to a key of the gcp key store', async () => {
      const health = await get(child!.url, '/health');
      assert.deepEqual([health.status, await health.json()], [200, { status: 'ok' }]);
      const ready = await get(child!.url, '/ready');
      assert.deepEqual([ready.status, await ready.json()], [200, { status: 'ready' }]);
      const res = await get(child!.url, METRICS, readKey);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), EXPECTED);
      // Finalized hours are cacheable on Cloud Run.
      assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=\d+$/);
    });

    it('refuses a missing key and a key made with another pepper', async () => {
      const none = await get(child!.url, METRICS);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'unauthorized');
      const foreign = createKey(Buffer.alloc(32, 1), { kind: 'read', merchantId: 'm1' }).key;
      const bad = await get(child!.url, METRICS, foreign);
      assert.equal(bad.status, 401);
    });

    it('stops on SIGTERM with exit code 0', async () => {
      const code = await stopServer(child!);
      assert.equal(code, 0);
      assert.match(child!.stderr(), /query API stopped/);
      child = undefined;
    });

    it('refuses to start without the pepper, naming the variable', async () => {
      const { TILLSTREAM_KEY_PEPPER: _, ...withoutPepper } = env;
      await assert.rejects(startServer(withoutPepper), /TILLSTREAM_KEY_PEPPER is missing/);
    });
  });

  describe('default runtime (local data directory)', () => {
    let dir: string;
    let child: Child | undefined;
    let readKey: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'query-api-server-'));
      // What `tillstream start` leaves behind: series, keys and pepper in the data directory.
      const dataDir = await openDataDir({ path: dir, write: false });
      const series = openLmdbSeriesStore({ path: dataDir.file(DATA_FILES.series) });
      await seed(series);
      await series.close();
      const pepper = await loadOrCreatePepper(dataDir.file(DATA_FILES.pepper));
      readKey = await addReadKey(new LocalKeyStore(dataDir.file(DATA_FILES.keys)), pepper);
      await dataDir.close();
      child = await startServer({ TILLSTREAM_DATA_DIR: dir });
    });
    after(async () => {
      if (child) await stopServer(child);
      await rm(dir, { recursive: true, force: true });
    });

    it('reads the LMDB series store with the data directory keys, uncached, and stops on SIGTERM', async () => {
      const res = await get(child!.url, METRICS, readKey);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), EXPECTED);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(await stopServer(child!), 0);
      child = undefined;
    });
  });
});
