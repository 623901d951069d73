// The browser SDK bundles: size budget, contents and exported functions.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { SDK_GZIP_BUDGET_BYTES, buildSdk, type SdkBuild } from '../../sdk/build.js';

const API = ['flush', 'grantConsent', 'init', 'page', 'revokeConsent', 'track', 'version'];

describe('sdk bundle', () => {
  let dir: string;
  let built: SdkBuild;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdk-bundle-'));
    built = await buildSdk({ outdir: dir });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stays within 5 kB gzipped in both formats', () => {
    for (const format of ['iife', 'esm'] as const) {
      assert.ok(built.gzipBytes[format] <= SDK_GZIP_BUDGET_BYTES, `${format}: ${built.gzipBytes[format]} bytes gzipped, budget ${SDK_GZIP_BUDGET_BYTES}`);
      assert.ok(built.gzipBytes[format] > 1000, `${format}: ${built.gzipBytes[format]} bytes gzipped is too small to be the SDK`);
    }
  });

  it('bundles only the SDK sources: the shared event types are erased and zod stays out', async () => {
    assert.deepEqual(built.inputs, ['sdk/src/index.ts', 'sdk/src/version.ts']);
    for (const file of Object.values(built.files)) assert.doesNotMatch(await readFile(file, 'utf8'), /zod|ZodError|safeParse/);
  });

  it('the script-tag build defines the global Tillstream with the public functions', async () => {
    const context: Record<string, unknown> = {};
    runInNewContext(await readFile(built.files.iife, 'utf8'), context);
    const sdk = context.Tillstream as Record<string, unknown>;
    assert.deepEqual(Object.keys(sdk).sort(), API);
    assert.equal(sdk.version, '1.0.0');
  });

  it('the ES module exports the same functions', async () => {
    const mod = (await import(pathToFileURL(built.files.esm).href)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(mod).sort(), API);
  });
});
