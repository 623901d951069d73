// Profiling harness, not part of `npm run bench`: one ingest_e2e round (bench/ingest-e2e.ts) over N
// generated events, printing events/s, wall and CPU seconds of the round, and CPU seconds per thread
// (the JS thread apart from DuckDB's, lmdb's and libuv's). Run it under the profiler:
//   node --cpu-prof --import tsx bench/profile-e2e.ts 200000
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestFileOnce, writeNdjson } from './ingest-e2e.js';
import { benchWorkload } from './workload.js';

const events = Number(process.argv[2] ?? 200_000);
const dir = await mkdtemp(join(tmpdir(), 'tillstream-prof-'));
try {
  const w = benchWorkload({ events, merchants: 20 });
  const file = join(dir, 'e2e.ndjson');
  await writeNdjson(w, file);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const rate = await ingestFileOnce(w, file, join(dir, 'e2e'));
  const u = process.cpuUsage(u0);
  process.stdout.write(`${Math.round(rate)} events/s, wall ${((performance.now() - t0) / 1000).toFixed(2)} s, cpu ${((u.user + u.system) / 1e6).toFixed(2)} s\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
// Per-thread CPU from /proc (Linux), the whole process's life: the generation of the workload included.
const byName = new Map<string, number>();
for (const tid of readdirSync('/proc/self/task')) {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const k = tid === String(process.pid) ? 'main' : name;
  byName.set(k, (byName.get(k) ?? 0) + ticks / 100);
}
process.stdout.write([...byName].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v.toFixed(1)}s`).join(' ') + '\n');
