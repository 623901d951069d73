// The query API bundle (scripts/build-query-api.mjs) as the Cloud Run image runs it: built into a directory
// outside the repository (no node_modules above it to fall back on), started with plain `node` — no tsx, no
// TypeScript — against the Bigtable emulator. It answers /health, the dashboard with uPlot, and a metric the
// gcp series store holds; and nothing of cdktf (or any other infrastructure code) is in it.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bigtableClient, ensureTable, KEYS_FAMILIES, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableKeyStore } from '../../../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { createKey } from '../../../pipeline/auth/keys.js';
import { documentKey, encodeRowKey, hourBucket } from '../../../pipeline/series/row-key.js';
import { TEST_INSTANCE, TEST_PROJECT, gcpRuntimeEnv, useEmulators } from '../../adapters/gcp/support/emulators.js';

const BUILD = new URL('../../../scripts/build-query-api.mjs', import.meta.url).pathname;
const PEPPER = Buffer.alloc(32, 0x3c);

describe('query API bundle', function () {
  this.timeout(120_000);
  let dir: string;
  let out: string;
  let proc: ChildProcess | undefined;
  let url: string;
  let readKey: string;
  let stderr = '';
  const suffix = `${process.pid}-${Date.now()}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'query-api-bundle-'));
    out = join(dir, 'app');
    const { stdout } = await promisify(execFile)(process.execPath, [BUILD, '--out', out]);
    assert.equal((JSON.parse(stdout.trim().split('\n').at(-1)!) as { out: string }).out, out);

    const emulators = await useEmulators();
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    const series = createBigtableSeriesStore(await ensureTable(instance, `series-bundle-${suffix}`, SERIES_FAMILIES));
    const keys = createBigtableKeyStore(await ensureTable(instance, `keys-bundle-${suffix}`, KEYS_FAMILIES));
    await series.mutate([{ kind: 'set', key: encodeRowKey({ merchantId: 'm1', series: 'sales', dims: {}, grain: 'h' }, hourBucket(new Date('2026-11-20T08:00:00Z'))), family: 'm', cells: { orders: 3 } }]);
    await series.putDocument(documentKey('m1', 'merchant'), { id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' });
    await series.putDocument(documentKey('m1', 'freshness'), { newest_event_at: '2026-11-20T11:30:00.000Z', finalized_through: '2026-11-20T11:00:00.000Z' });
    const created = createKey(PEPPER, { kind: 'read', merchantId: 'm1' });
    await keys.put(created.record);
    readKey = created.key;

    // The image's environment: only what the container sets, run from the bundle's own directory.
    proc = spawn(process.execPath, [join(out, 'server.mjs')], {
      cwd: out,
      env: gcpRuntimeEnv(emulators, {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: '0',
        TILLSTREAM_SERIES_TABLE: `series-bundle-${suffix}`,
        TILLSTREAM_KEYS_TABLE: `keys-bundle-${suffix}`,
        TILLSTREAM_KEY_PEPPER: PEPPER.toString('hex'),
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr!.setEncoding('utf8');
    url = await new Promise<string>((resolve, reject) => {
      proc!.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        const m = /"url":"(http:[^"]+)"/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      proc!.once('exit', (code) => reject(new Error(`the bundle exited with ${code} before listening:\n${stderr}`)));
    });
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('starts with plain node outside the repository and answers /health 200', async () => {
    const res = await fetch(`${url}/health`);
    assert.deepEqual([res.status, await res.json()], [200, { status: 'ok' }]);
  });

  it('reads the Bigtable emulator through the bundled client and serves the dashboard with uPlot', async () => {
    const metrics = await fetch(`${url}/v1/merchants/m1/metrics?series=sales&metrics=orders&granularity=hour&from=2026-11-20T08:00:00Z&to=2026-11-20T10:00:00Z`, { headers: { authorization: `Bearer ${readKey}` } });
    assert.equal(metrics.status, 200, stderr);
    assert.deepEqual(((await metrics.json()) as { points: unknown[] }).points, [
      { start: '2026-11-20T08:00:00Z', values: { orders: 3 }, provisional: false },
      { start: '2026-11-20T09:00:00Z', values: { orders: 0 }, provisional: false },
    ]);
    for (const path of ['/', '/dashboard/dashboard.js', '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css', '/openapi.json']) {
      assert.equal((await fetch(url + path)).status, 200, path);
    }
  });

  it('holds no cdktf, constructs, TypeScript or tsx, by its inputs and by its text', async () => {
    const meta = JSON.parse(await readFile(join(out, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.some((i) => i.includes('node_modules/@google-cloud/bigtable/')), 'the Bigtable client is bundled');
    assert.deepEqual(inputs.filter((i) => /node_modules\/(cdktf|@cdktf|constructs|typescript|tsx|esbuild)\//.test(i) || i.startsWith('infra-cdktf/')), []);
    const files = (await readdir(out)).filter((f) => f.endsWith('.mjs'));
    for (const f of files) assert.doesNotMatch(await readFile(join(out, f), 'utf8'), /cdktf/, f);
  });

  it('is what the image builds: the Dockerfile copies every source directory the bundle reads and runs it with plain node', async () => {
    const dockerfile = await readFile(new URL('../../../infra-cdktf/build/query-api.Dockerfile', import.meta.url), 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => m[1]!);
    const meta = JSON.parse(await readFile(join(out, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const sourceDirs = new Set(Object.keys(meta.inputs).filter((i) => !i.includes('node_modules/')).map((i) => i.split('/')[0]!));
    assert.deepEqual([...sourceDirs].filter((d) => !copied.includes(d)), []);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(finalStage, /^CMD \["node", "server\.mjs"\]$/m);
    assert.doesNotMatch(finalStage, /tsx|npm ci|node_modules/);
  });
});
