// The once_1m figure: `tillstream start --once --events N` in a fresh data directory, as a user runs
// it (generate the demo workload, publish, ingest, build the marts, export, print the summary): wall
// seconds of the whole process and its peak resident set (getrusage's maxrss, reported by a preload
// at exit). The run counts only if it exits 0, which it does only when the invariant holds, and its
// summary accounts for every generated event.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invariantHolds, type EntryCounts } from '../pipeline/contracts/outcomes.js';

export interface OnceFigures {
  events: number;
  seconds: number;
  peak_rss_mb: number;
  /**
   * Seconds of the phases as the command reports them on stderr: ingest from the start of seeding
   * (generated, published and ingested together) to the last message consumed; marts and export.
   */
  ingest_s: number | null;
  marts_s: number | null;
}

const BIN = join(import.meta.dirname, '..', 'cli', 'main.ts');
const PEAK_RSS = join(import.meta.dirname, 'report-peak-rss.mjs');
/** With TILLSTREAM_MEMORY_PROFILE set, what is resident at the peak is sampled too (bench/sample-memory.mjs). */
const SAMPLER = process.env.TILLSTREAM_MEMORY_PROFILE ? ['--import', join(import.meta.dirname, 'sample-memory.mjs')] : [];

export async function measureOnce(opts: { events: number; log: (s: string) => void }): Promise<OnceFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-once-'));
  try {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', PEAK_RSS, ...SAMPLER, BIN, 'start', '--once', '--events', String(opts.events)], {
      env: { ...process.env, TILLSTREAM_DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim() && !line.startsWith('{') && !line.startsWith('peak_rss_kb')) opts.log(`  ${line}`);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`tillstream start --once exited with ${code}: ${err.slice(-2000)}`);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as EntryCounts;
    if (summary.published !== opts.events || !invariantHolds(summary)) throw new Error(`once: the summary does not account for ${opts.events} events: ${JSON.stringify(summary)}`);
    const kb = Number(/peak_rss_kb (\d+)/.exec(err)?.[1]);
    if (!Number.isFinite(kb)) throw new Error('once: the child reported no peak RSS');
    const phase = (re: RegExp) => {
      const m = re.exec(err);
      return m ? Number(m[1]) : null;
    };
    return {
      events: opts.events,
      seconds: Math.round(seconds * 10) / 10,
      peak_rss_mb: Math.round(kb / 1024),
      ingest_s: phase(/ingested in ([\d.]+) s/),
      marts_s: phase(/marts built and exported in ([\d.]+) s/),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
