// Commands run while `tillstream start` runs go through it (it is the only writer of the data
// directory). The two processes have different working directories, so a relative path given to the
// command must name the caller's file, not one beside the server.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, sumRejected, type Summary } from './support.js';


describe('tillstream commands forwarded to a running start', function () {
  let dir: string;
  let dataDir: string;
  let work: string;
  let server: ChildProcess;
  let serverLog = '';
  const env = () => ({ ...process.env, TILLSTREAM_DATA_DIR: dataDir, PORT: '0' });
  const tillstream = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: work, env: env(), encoding: 'utf8', timeout: 240_000 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-forward-'));
    dataDir = join(dir, 'data');
    work = join(dir, 'work');
    const serverCwd = join(dir, 'server');
    await Promise.all([mkdir(work), mkdir(serverCwd)]);
    // A file of the same name beside the server: reading it instead of the caller's would be the bug.
    await writeFile(join(serverCwd, 'w.ndjson'), '{"not": "the caller\'s file"}\n');
    server = spawn(process.execPath, [BIN, 'start', '--events', '200'], { cwd: serverCwd, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (b: Buffer) => (serverLog += b.toString()));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        serverLog += b.toString();
        if (/dashboard: http:\/\/\S+\//.test(out)) resolve();
      });
      server.once('exit', (code) => reject(new Error(`tillstream start exited with ${code}:\n${serverLog}`)));
    });
  });

  afterEach(function () {
    // The server's progress stays out of the output unless a test fails.
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- tillstream start output ---\n${serverLog}\n`);
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('loads dimensions and ingests files named relative to the caller’s directory', async () => {
    const gen = tillstream(['generate', '--out', 'w.ndjson', '--events', '300', '--seed', 'forward']);
    assert.equal(gen.status, 0, gen.stderr);
    const lines = (await readFile(join(work, 'w.ndjson'), 'utf8')).trim().split('\n');

    const dims = tillstream(['dimensions', 'load', 'w.dimensions.json']);
    assert.equal(dims.status, 0, dims.stderr);

    const r = tillstream(['ingest', '--file', 'w.ndjson', '--source', 'pos']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`published ${lines.length} entries from ${join(work, 'w.ndjson').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in`));
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
    assert.equal(s.published, lines.length);
    assert.equal(s.published, s.accepted + sumRejected(s) + s.duplicates);
    assert.ok(s.accepted > 0);
  });

  it('takes the --file=F form as well', () => {
    const r = tillstream(['ingest', '--file=w.ndjson', '--source', 'pos']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
    // The same file again: every entry is counted, none accepted twice.
    assert.equal(s.accepted, 0);
    assert.ok(s.published > 1);
  });
});
