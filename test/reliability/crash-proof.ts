// Crash proof of the local runtime (issue 8, item 1; run by crash.it.test.ts and crash.long.test.ts): the runtime (crash-child.ts) is killed with SIGKILL
// at random moments — while publishing, while the runner ingests, while a mart cycle rebuilds and
// exports — and started again each time. Afterwards the counts from the stores reconcile, nothing is
// stored twice, and the marts and the series store equal those of a clean run on the same input.
// The adapter-level kill test (test/adapters/local/crash.it.test.ts) covers the bus and warehouse alone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { totalRejected, type EntryCounts } from '../../pipeline/contracts/outcomes.js';
import { hourFloor, seededRandom, shiftFor } from './support.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const TSX = createRequire(import.meta.url).resolve('tsx');
const PHASES = ['publish', 'ingest', 'marts'] as const;

interface ChildResult {
  counts: EntryCounts;
  pending: number;
  marts: Record<string, { rows: number; sha256: string }>;
  series: { rows: number; cells: number; sha256: string };
  eventsTwice: { n: number }[];
}

interface Outcome {
  killed: boolean;
  /** The phase the child was in when it was killed. */
  phase?: string;
  result?: ChildResult;
}

/** Runs the child; with `kill`, SIGKILLs it `delayMs` after it enters the phase (or at once if it has passed it). */
function runChild(args: string[], kill?: { phase: string; delayMs: number }): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', TSX, CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let phase = '';
    let allPublished = false;
    let armed = false;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n').slice(0, -1)) {
        if (line === 'all-published') allPublished = true;
        if (line.startsWith('phase:')) phase = line.slice(6);
      }
      // Once everything is published there is no publish phase left: the next phase will do.
      if (kill && !armed && (phase === kill.phase || (allPublished && kill.phase === 'publish' && phase !== ''))) {
        armed = true;
        setTimeout(() => proc.kill('SIGKILL'), kill.delayMs);
      }
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') return resolve({ killed: true, phase });
      if (code !== 0) return reject(new Error(`crash child exited with ${code}: ${err}`));
      resolve({ killed: false, result: JSON.parse(out.trim().split('\n').pop()!) as ChildResult });
    });
  });
}

export function describeCrash({ events: EVENTS, kills: KILLS }: { events: number; kills: number }): void {
  describe(`local runtime killed with SIGKILL ${KILLS} times and restarted`, function () {
    this.timeout(900_000);
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tillstream-runtime-crash-'));
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it(`reconciles every count and ends with a clean run's marts and series after ${KILLS} kills`, async () => {
      const shift = shiftFor(5);
      const anchor = hourFloor(new Date(Date.now() - shift)).toISOString();
      const common = (d: string) => [d, anchor, String(shift), String(EVENTS), 'crash-proof'];

      const clean = await runChild(common(join(dir, 'clean')));
      assert.ok(clean.result, 'the clean run finishes');

      const random = seededRandom(8);
      const crashed = join(dir, 'crashed');
      const kills: string[] = [];
      let final: ChildResult | undefined;
      while (kills.length < KILLS) {
        const phase = PHASES[kills.length % PHASES.length]!;
        // Mart cycles take a few seconds: a kill anywhere inside one; publishing and ingest are shorter.
        const delayMs = Math.floor(random() * (phase === 'marts' ? 2500 : phase === 'publish' ? 20 : 400));
        const o = await runChild(common(crashed), { phase, delayMs });
        if (o.killed) kills.push(o.phase!);
        else final = o.result; // finished before the kill: run again, every later run has its mart cycle to kill
      }
      final = (await runChild(common(crashed))).result!;
      console.log(`      ${kills.length} kills survived (phases: ${kills.join(', ')}); ${final.counts.published} entries checked`);

      const c = final.counts;
      assert.equal(c.published, EVENTS);
      assert.equal(c.accepted + totalRejected(c) + c.duplicates, c.published, JSON.stringify(c));
      assert.equal(c.rejected.processing_failed, undefined);
      assert.equal(final.pending, 0);
      assert.deepEqual(final.eventsTwice, [{ n: 0 }]);
      assert.deepEqual(c, clean.result!.counts);
      assert.deepEqual(final.marts, clean.result!.marts);
      assert.deepEqual(final.series, clean.result!.series);
      // Publishing takes milliseconds, so a kill aimed at it may land in the ingest after it; these two always happen.
      for (const p of ['ingest', 'marts']) assert.ok(kills.includes(p), `a kill landed in ${p}`);
    });
  });
}
