// Run in a child process by start.test.ts: allocates batches that each stay alive for a few rounds,
// as the runner's do, and prints the old generation's peak committed size in MB. With `start` as its
// argument, `tillstream start --once` runs first (and fails at opening the data directory).
import { getHeapSpaceStatistics } from 'node:v8';
import { createStartCommand } from '../../../cli/commands/start.js';

if (process.argv[2] === 'start') {
  const ctx = { runtime: () => Promise.reject(new Error('no data directory in this test')), out: () => undefined, err: () => undefined };
  await createStartCommand()(['--once'], ctx).catch(() => undefined);
}
const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_size;
const live: { id: string; at: number[] }[][] = [];
let peak = 0;
for (let round = 0; round < 600; round++) {
  const batch: { id: string; at: number[] }[] = [];
  for (let i = 0; i < 20_000; i++) batch.push({ id: `entry-${round}-${i}`, at: [round, i] });
  live.push(batch);
  if (live.length > 8) live.shift();
  peak = Math.max(peak, oldSpace());
}
process.stdout.write(JSON.stringify({ peak_old_space_mb: Math.round(peak / 2 ** 20) }) + '\n');
