// `tillstream ingest` shows its long steps on stderr — ingesting and building marts, as plain lines
// when stderr is not a terminal — and nothing of them with --quiet; stdout's last line is the summary either way.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backfillWorkload } from '../../bench/backfill.js';
import { BIN, type Summary } from './support.js';

describe('progress of tillstream ingest', function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'progress-e2e-'));
    const w = backfillWorkload({ orders: 300, end: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000), days: 400 });
    await writeFile(join(dir, 'orders.ndjson'), w.ndjson);
    await writeFile(join(dir, 'dims.json'), JSON.stringify(w.dimensions));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const tillstream = (data: string, args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TILLSTREAM_DATA_DIR: join(dir, data) };
    delete env.TILLSTREAM_RUNTIME;
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r;
  };

  it('prints the ingest and mart build steps as plain lines, and none with --quiet', () => {
    for (const quiet of [false, true]) {
      const data = quiet ? 'quiet' : 'loud';
      tillstream(data, ['dimensions', 'load', join(dir, 'dims.json')]);
      const r = tillstream(data, ['ingest', '--file', join(dir, 'orders.ndjson'), '--backfill', ...(quiet ? ['--quiet'] : [])]);
      const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
      assert.deepStrictEqual([summary.published, summary.accepted], [300, 300]);
      const steps = r.stderr.split('\n').filter((l) => /^(ingesting|building marts) /.test(l));
      if (quiet) {
        assert.deepStrictEqual(steps, []);
        continue;
      }
      assert.match(steps.filter((l) => l.startsWith('ingesting')).at(-1)!, /100% \| (\d+)\/\1 messages \| [\d.,]+ messages\/s/);
      assert.match(steps.filter((l) => l.startsWith('building marts')).at(-1)!, /100% \| (\d+)\/\1 windows/);
      assert.doesNotMatch(r.stderr, /\x1b\[/);
    }
  });
});
