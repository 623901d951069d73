// Not run by `npm run bench`: each mart statement of a data directory's last run, timed on a copy of
// its warehouse, as the local warehouse runs it (the window's DELETE and INSERT), with the windows the
// run recorded in marts.mart_runs. Wall and process CPU seconds per round (DuckDB's threads run in
// this process, so CPU moves less than wall with the machine's load). With `--against DIR` (a copy of
// sql/marts from another commit, e.g. `git archive <commit> sql/marts | tar -x -C /tmp/old`), the
// two versions of each statement alternate and must leave the same rows (count and row hash).
//
//   node --import tsx bench/mart-statements.ts <data dir> [--rounds 3] [--against DIR] [--marts a,b]
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalWarehouse } from '../adapters/local/warehouse.js';
import { MARTS, readSql } from '../pipeline/marts/manifest.js';
import { recordedWindow } from '../pipeline/marts/runner.js';
import { martParams } from '../pipeline/marts/statements.js';
import { sqlParams } from '../pipeline/marts/windows.js';
import { toDuckDb } from '../pipeline/sql/dialect.js';
import { median } from './result.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' }, against: { type: 'string' }, marts: { type: 'string' } },
});
const dataDir = positionals[0];
if (!dataDir) throw new Error('usage: mart-statements.ts <data dir> [--rounds N] [--against DIR] [--marts a,b]');
const rounds = Number(values.rounds);
const scratch = mkdtempSync(join(tmpdir(), 'tillstream-mart-statements-'));
const copy = join(scratch, 'warehouse.duckdb');
copyFileSync(join(dataDir, 'warehouse.duckdb'), copy);
const warehouse = await LocalWarehouse.open({ path: copy, translate: toDuckDb });
try {
  const runs = await warehouse.query<{ mart: string; window_start: Date; window_end: Date; all_from: Date | null; merchants: string[] | null; cells: string[] | null }>(
    `select mart, window_start, window_end, all_from, merchants, cells from marts.mart_runs
     where run_id = (select run_id from marts.mart_runs order by started_at desc limit 1) and window_end > window_start`,
  );
  const wanted = values.marts?.split(',');
  const load = () => loadavg()[0]!.toFixed(1);
  console.log(`${runs.length} windows of the last run; load ${load()}`);
  for (const spec of MARTS.filter((m) => !wanted || wanted.includes(m.stem))) {
    const recorded = runs.find((r) => r.mart === spec.stem);
    if (!recorded) continue;
    const w = recordedWindow(recorded);
    const versions: [string, string][] = [['current', readSql(spec.file)]];
    if (values.against) versions.unshift(['against', readFileSync(join(values.against, `${spec.stem}.sql`), 'utf8')]);
    const wall = new Map<string, number[]>(versions.map(([v]) => [v, []]));
    const cpu = new Map<string, number[]>(versions.map(([v]) => [v, []]));
    const digests = new Map<string, string>();
    for (let i = 0; i < rounds; i++) {
      for (const [version, sql] of i % 2 ? [...versions].reverse() : versions) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await warehouse.run(sql, sqlParams(sql, martParams(w)));
        const c = process.cpuUsage(c0);
        wall.get(version)!.push((performance.now() - t0) / 1000);
        cpu.get(version)!.push((c.user + c.system) / 1e6);
        const [d] = await warehouse.query<{ n: bigint; h: bigint }>(`select count(*) as n, sum(hash(t)) as h from ${spec.table.id} as t`);
        digests.set(version, `${d!.n} rows, hash ${d!.h}`);
      }
    }
    const fig = (v: string) => `${median(wall.get(v)!).toFixed(2)} s wall (${wall.get(v)!.map((x) => x.toFixed(2)).join(' / ')}), ${median(cpu.get(v)!).toFixed(2)} CPU s`;
    console.log(`${spec.stem}: ${versions.map(([v]) => `${v} ${fig(v)}`).join('; ')}; ${[...new Set(digests.values())].length === 1 ? 'same rows' : 'ROWS DIFFER'} (${digests.get('current')}); load ${load()}`);
  }
} finally {
  await warehouse.close();
  rmSync(scratch, { recursive: true, force: true });
}
