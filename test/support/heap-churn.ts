// A process whose old generation fills with garbage at a steady pace over a fixed live set, run with
// --trace-gc by heap-growth.test.ts: `tsx heap-churn.ts [percent]` sets that heap growth first.
import { setImmediate as turn } from 'node:timers/promises';
import { setHeapGrowingPercent } from '../../runtime/heap-growth.js';

if (process.argv[2]) setHeapGrowingPercent(Number(process.argv[2]));
const live: { i: number; s: string }[] = [];
for (let i = 0; i < 400_000; i++) live.push({ i, s: `live-${i}` });
// Each object outlives a scavenge or two (the ring holds 300k), so it is promoted and dies old.
const ring: ({ i: number; s: string } | undefined)[] = new Array(300_000);
for (let r = 0; r < 600; r++) {
  for (let i = 0; i < 20_000; i++) ring[(r * 20_000 + i) % ring.length] = { i, s: `churn-${i}` };
  await turn();
}
process.stdout.write(`done ${live.length + ring.length}\n`);
