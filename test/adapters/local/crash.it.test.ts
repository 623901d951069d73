// The local runtime killed with SIGKILL again and again: the invariant holds and no event is stored twice.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

function start(dataDir: string, mode: 'loop' | 'finish', seed: number): { proc: ChildProcess; out: Promise<string> } {
  const proc = spawn(process.execPath, ['--import', tsx, child, dataDir, mode, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string>((resolve, reject) => {
    proc.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve(out);
      else reject(new Error(`child ${mode} exited with ${code ?? signal}: ${err}`));
    });
  });
  return { proc, out: done };
}

async function waitForOutput(proc: ChildProcess, text: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    proc.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) resolve();
    });
    proc.on('exit', () => reject(new Error(`child exited before printing ${text}`)));
  });
}

describe('local runtime under SIGKILL', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-crash-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('keeps published = accepted + rejected + duplicates and stores no event twice, through repeated kills', async () => {
    const kills = 6;
    for (let i = 0; i < kills; i++) {
      const { proc, out } = start(dir, 'loop', 1000 + i);
      await waitForOutput(proc, 'ready');
      // A random moment inside the publish/consume loop.
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 900)));
      proc.kill('SIGKILL');
      await out;
    }
    const { out } = start(dir, 'finish', 1);
    const result = JSON.parse((await out).trim().split('\n').pop()!) as {
      published: number;
      accepted: number;
      rejected: Record<string, number>;
      duplicates: number;
      twice: unknown[];
      pending: number;
      archived: number;
    };
    const rejected = Object.values(result.rejected).reduce((s, n) => s + n, 0);
    assert.ok(result.published > 0, 'something was published');
    assert.equal(result.pending, 0);
    assert.deepEqual(result.twice, []);
    assert.equal(result.accepted + rejected + result.duplicates, result.published, JSON.stringify(result));
    assert.equal(result.archived, result.published);
    assert.equal(result.rejected.processing_failed, undefined);
  });
});
