// The export job bundle (scripts/build-export-job.mjs) as the Cloud Run job image runs it: built into a
// directory outside the repository (no node_modules or sql/ above it to fall back on), started with plain
// `node`. A task started without its run, or outside its execution's task range, exits 1 naming the
// variable (Cloud Run then retries or fails the task); the bundle carries the SQL files its alert rules
// read, and nothing of cdktf.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const BUILD = new URL('../../../scripts/build-export-job.mjs', import.meta.url).pathname;
const run = promisify(execFile);

describe('export job bundle', function () {
  this.timeout(120_000);
  let dir: string;
  let out: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-job-bundle-'));
    out = join(dir, 'app');
    const { stdout } = await run(process.execPath, [BUILD, '--out', out]);
    assert.equal((JSON.parse(stdout.trim().split('\n').at(-1)!) as { out: string }).out, out);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** Runs the task as the container would, with only these variables; its exit code and its JSON log lines. */
  async function task(env: Record<string, string>): Promise<{ code: number; logs: { message: string; err?: string; severity: string }[] }> {
    const result = await run(process.execPath, [join(out, 'main.mjs')], { cwd: out, env: { PATH: process.env.PATH, NODE_ENV: 'production', TILLSTREAM_RUNTIME: 'gcp', METADATA_SERVER_DETECTION: 'none', ...env } }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    return { code: result.code, logs: result.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  }

  it('exits 1 naming TILLSTREAM_EXPORT_RUN when started without a run', async () => {
    const r = await task({ CLOUD_RUN_TASK_INDEX: '0', CLOUD_RUN_TASK_COUNT: '2' });
    assert.equal(r.code, 1);
    assert.deepEqual(r.logs.map((l) => [l.severity, l.message]), [['ERROR', 'export task failed; Cloud Run retries it']]);
    assert.match(r.logs[0]!.err!, /^TILLSTREAM_EXPORT_RUN is not set/);
  });

  it('exits 1 naming CLOUD_RUN_TASK_INDEX when the index is outside the execution', async () => {
    const runEnv = JSON.stringify({ name: 'r', state: 'SUCCEEDED', runTime: '2026-11-21T12:05:00Z', endTime: '2026-11-21T12:07:00Z' });
    const r = await task({ TILLSTREAM_EXPORT_RUN: runEnv, CLOUD_RUN_TASK_INDEX: '2', CLOUD_RUN_TASK_COUNT: '2' });
    assert.equal(r.code, 1);
    assert.match(r.logs[0]!.err!, /CLOUD_RUN_TASK_INDEX: "2" is not an index below CLOUD_RUN_TASK_COUNT 2/);
  });

  it('carries the alert rules\' SQL beside the bundle, and no cdktf, constructs, TypeScript or tsx', async () => {
    assert.deepEqual((await readdir(join(out, 'sql', 'alerts'))).sort(), (await readdir(new URL('../../../sql/alerts/', import.meta.url))).sort());
    const meta = JSON.parse(await readFile(join(out, 'meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.includes('services/export-job/main.ts'));
    assert.deepEqual(inputs.filter((i) => /node_modules\/(cdktf|@cdktf|constructs|typescript|tsx|esbuild)\//.test(i) || i.startsWith('infra-cdktf/')), []);
    const dockerfile = await readFile(new URL('../../../infra-cdktf/build/export-job.Dockerfile', import.meta.url), 'utf8');
    assert.match(dockerfile, /^CMD \["node", "main\.mjs"\]$/m);
  });
});
