// The functions package as Cloud Build makes it (infra-cdktf/build/package-functions.ts): our code in
// one bundle, the npm packages it imports named at the repository's versions, and a bundle the
// functions framework can load and serve — checked by running the framework on the staged package.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('functions package', function () {
  this.timeout(120_000);
  let dir: string;
  let staged: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'functions-package-'));
    execFileSync(process.execPath, ['--import', 'tsx', 'infra-cdktf/build/package-functions.ts', '--out', join(dir, 'functions.zip')], { cwd: ROOT, stdio: 'pipe' });
    staged = join(dir, 'functions');
    // The packages the runtime's build would install: the repository's own.
    await symlink(join(ROOT, 'node_modules'), join(staged, 'node_modules'), 'dir');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('zips the bundle with a package.json naming what it imports at the repository versions', async () => {
    const listing = execFileSync('python3', ['-m', 'zipfile', '-l', join(dir, 'functions.zip')], { encoding: 'utf8' });
    assert.deepEqual(
      listing
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .filter(Boolean)
        .sort(),
      ['index.js', 'index.js.map', 'package.json'],
    );
    const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const pkg = JSON.parse(await readFile(join(staged, 'package.json'), 'utf8')) as { type: string; main: string; dependencies: Record<string, string> };
    const names = [
      '@google-cloud/bigquery',
      // Raw rows go through the Storage Write API.
      '@google-cloud/bigquery-storage',
      '@google-cloud/bigtable',
      '@google-cloud/functions-framework',
      '@google-cloud/pubsub',
      '@google-cloud/storage',
      'avsc',
      'csv-parse',
      'express',
      'express-rate-limit',
      // startExport calls the Cloud Run Admin API (jobs.run) through the Google auth library.
      'google-auth-library',
      // deliverAlert's webhook guard judges resolved addresses by their ranges.
      'ipaddr.js',
      // The key check remembers each known key's HMAC (pipeline/auth/keys.ts).
      'lru-cache',
      'pino',
      'zod',
    ];
    assert.deepEqual([pkg.type, pkg.main, pkg.dependencies], ['module', 'index.js', Object.fromEntries(names.map((n) => [n, root.dependencies[n]]))]);
    // No package is inlined: the bundle is our code alone.
    const bundle = await readFile(join(staged, 'index.js'), 'utf8');
    assert.doesNotMatch(bundle, /node_modules\//);
  });

  /** Runs the framework on the staged package for one target; answers the POST helper and the logs. */
  async function serve(target: string, path: string, run: (post: (body: string) => Promise<Response>, logs: () => string) => Promise<void>) {
    const port = await freePort();
    const framework = join(staged, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
    const child: ChildProcess = spawn(process.execPath, [framework, `--target=${target}`, `--port=${port}`], {
      cwd: staged,
      env: { PATH: process.env.PATH, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    child.stdout!.on('data', (c: Buffer) => (logs += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
    try {
      const url = `http://127.0.0.1:${port}${path}`;
      const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await fetch(url, { method: 'OPTIONS' }).then(() => true, () => false);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(up, `the framework did not answer:\n${logs}`);
      await run(post, () => logs);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
  }

  it('loads in the functions framework, which hands the collector its requests with the body unread', async () => {
    await serve('collect', '/v1/events', async (post, logs) => {
      // The framework's parsers would refuse this body (400) before the function ran; the collector is
      // reached first and, without the deployment's variables, answers 500 and logs what is missing.
      const broken = await post('[{"a":1},');
      assert.deepEqual([broken.status, await broken.json()], [500, { error: { code: 'internal', message: 'the function is not configured' } }]);
      for (let i = 0; i < 50 && !logs().includes('function cannot start'); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(logs(), /"function":"collect".*TILLSTREAM_GCP_PROJECT is missing/);
    });
  });

  it('loads in the functions framework and answers a push body it cannot parse with the contract error', async () => {
    await serve('ingestEvents', '/', async (post) => {
      const broken = await post('{"message":');
      assert.deepEqual([broken.status, await broken.json()], [400, { error: { code: 'invalid_body', message: 'request body is not valid JSON' } }]);
    });
  });
});
