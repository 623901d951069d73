// What a new user meets in the first hour (README "Running it"): a busy port, a file whose entries are
// all rejected, a restart of `tillstream start` on a directory that already holds data.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'cli', 'bin.mjs');

function tillstream(env: Record<string, string>, args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 });
}

describe('the first hour with tillstream', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'first-hour-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('says a busy port is busy, with the fix, before doing any work (exit 2, no data directory made)', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      const dataDir = join(dir, 'busy');
      const r = tillstream({ TILLSTREAM_DATA_DIR: dataDir, PORT: String(port) }, ['start', '--events', '200']);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(
        r.stderr,
        `tillstream start: port ${port} is already in use (another program, or another tillstream start, listens on it); nothing was done. ` +
          `Stop that program, or pick a free port: PORT=${port + 1} npm start, or tillstream start --port ${port + 1}\n`,
      );
      await assert.rejects(readdir(dataDir), { code: 'ENOENT' });
    } finally {
      taken.close();
    }
  });

  it('prints the first rejections with their lines and exits 4 when nothing of a file was accepted', async () => {
    const dataDir = join(dir, 'rejected');
    const file = join(dir, 'all-bad.ndjson');
    await writeFile(file, ['{"event_id":"e1","merchant_id":"nobody"}', '', 'not json', '{"event_id":"e3","merchant_id":"x","event_type":"track"}'].join('\n') + '\n');
    const r = tillstream({ TILLSTREAM_DATA_DIR: dataDir }, ['ingest', '--file', file, '--source', 'pos']);
    assert.equal(r.status, 4, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { published: number; accepted: number; rejected: Record<string, number> };
    assert.deepEqual([summary.published, summary.accepted, summary.rejected], [3, 0, { invalid_json: 1, schema_mismatch: 2 }]);
    const lines = r.stderr.split('\n');
    const shown = lines.slice(lines.findIndex((l) => l === '3 of 3 entries rejected:') + 1, -2);
    assert.deepEqual(shown.map((l) => l.replace(/^(  line \d+: \w+).*$/, '$1')), ['  line 1: schema_mismatch', '  line 3: invalid_json', '  line 4: schema_mismatch']);
    assert.match(lines.at(-2)!, /^nothing from .*all-bad\.ndjson was accepted \(exit 4\)$/);

    const report = tillstream({ TILLSTREAM_DATA_DIR: dataDir }, ['rejections', '--json', '--samples', '2']);
    assert.equal(report.status, 0, report.stderr);
    const parsed = JSON.parse(report.stdout) as { total: number; by_reason: Record<string, number>; samples: { reason: string; payload: string }[] };
    assert.deepEqual([parsed.total, parsed.by_reason], [3, { schema_mismatch: 2, invalid_json: 1 }]);
    assert.equal(parsed.samples.length, 2);
    const human = tillstream({ TILLSTREAM_DATA_DIR: dataDir }, ['rejections', '--merchant', 'nobody']);
    assert.equal(human.stdout.split('\n')[0], `1 entries rejected for merchant nobody since ${human.stdout.match(/since (\S+)/)![1]}`);
    assert.match(human.stdout, /^ {4}\{"event_id":"e1","merchant_id":"nobody"\}$/m);
  });

  it('on a restart, says what the directory holds and how to make a read key', async () => {
    const dataDir = join(dir, 'restart');
    const first = tillstream({ TILLSTREAM_DATA_DIR: dataDir }, ['start', '--once', '--events', '300']);
    assert.equal(first.status, 0, first.stderr);
    const child = spawn(process.execPath, [BIN, 'start'], { env: { ...process.env, TILLSTREAM_DATA_DIR: dataDir, PORT: '0' } });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('keys create')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`start exited ${code}: ${stderr}`)));
      });
    } finally {
      child.kill('SIGTERM');
    }
    assert.match(stderr, /data directory .*restart already holds 3\d\d published entries \(accepted \d+, rejected \d+, duplicates \d+\), 3 merchants and 1 active keys; no demo is generated/);
    assert.match(stdout, /^this run: published 0 {2}accepted 0/m);
    assert.match(stdout, /make one for the dashboard with: npx tillstream keys create --kind read --merchant \S+$/m);
  });
});
