import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const infraDir = fileURLToPath(new URL('../../infra-cdktf/', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));

describe('infra-cdktf app (npm run synth)', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'tillstream-synth-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes both environments offline into one stack folder each', async () => {
    await run(tsx, ['main.ts'], { cwd: infraDir, env: { ...process.env, CDKTF_OUTDIR: out, TILLSTREAM_ENV: '' } });
    assert.deepEqual(readdirSync(join(out, 'stacks')).sort(), ['tillstream-dev', 'tillstream-prod']);
    const prod = JSON.parse(readFileSync(join(out, 'stacks/tillstream-prod/cdk.tf.json'), 'utf8'));
    assert.equal(prod.provider.google[0].project, 'tillstream-prod');
  });

  it('synthesizes only the environment Cloud Build asks for, with its project and release', async () => {
    await run(tsx, ['main.ts'], {
      cwd: infraDir,
      env: { ...process.env, CDKTF_OUTDIR: out, TILLSTREAM_ENV: 'dev', TILLSTREAM_PROJECT: 'acme-tillstream-dev', TILLSTREAM_FUNCTIONS_OBJECT: 'functions/b-7.zip' },
    });
    assert.deepEqual(readdirSync(join(out, 'stacks')), ['tillstream-dev']);
    const dev = JSON.parse(readFileSync(join(out, 'stacks/tillstream-dev/cdk.tf.json'), 'utf8'));
    assert.equal(dev.provider.google[0].project, 'acme-tillstream-dev');
    const objects = Object.values(dev.resource.google_cloudfunctions2_function as Record<string, { build_config: { source: { storage_source: { object: string } } } }>).map(
      (f) => f.build_config.source.storage_source.object,
    );
    assert.deepEqual(objects, Array.from({ length: 6 }, () => 'functions/b-7.zip'));
  });

  it('fails with a clear message for an unknown environment', async () => {
    await assert.rejects(run(tsx, ['main.ts'], { cwd: infraDir, env: { ...process.env, CDKTF_OUTDIR: out, TILLSTREAM_ENV: 'staging' } }), (err: { stderr: string }) => {
      assert.match(err.stderr, /TILLSTREAM_ENV must be one of dev, prod, not "staging"/);
      return true;
    });
  });
});
