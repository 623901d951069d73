// Child process of the runtime crash test: the local runtime (openLocalPipeline: bus, stage, runner,
// warehouse, series store, the mart cycle) working through a seeded workload in small publish chunks,
// draining the bus after each and running a mart cycle every third chunk. It resumes from what the
// bus says was published, so a run killed at any moment and started again ends with the same input.
// Prints `phase:<name>` lines as it goes (the parent kills it inside a chosen phase) and, when all is
// done, one JSON line with the counts, the mart digests and the series digest.
//   argv: dataDir anchorIso shiftMs events seed
import { openLocalPipeline } from '../../runtime/local-writer.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';
import { mirrorDimensionDocuments } from '../../pipeline/series/mirror.js';
import { martDigest, seriesDigest, shiftedClock, totalCounts, workloadMessages } from './support.js';

const [dataDir, anchorIso, shiftText, eventsText, seed] = process.argv.slice(2);
const CHUNK = 8;
const say = (line: string) => process.stdout.write(`${line}\n`);

const clock = shiftedClock(Number(shiftText));
const rt = await openLocalPipeline({ dataDir: dataDir!, command: 'crash-test', clock });
const { workload, messages } = workloadMessages({ events: Number(eventsText), seed: seed!, anchor: new Date(anchorIso!), receivedAt: new Date(0) });
await rt.dimensions.load(workload.dimensions);
await mirrorDimensionDocuments(rt.series, await rt.dimensions.get());

// Resume after the last committed publish: a publish call is one transaction, so the published count is a prefix of whole chunks.
const published = rt.bus.publishedEntries();
let next = 0;
for (let seen = 0; next < messages.length && seen < published; next++) seen += messages[next]!.entries.length;
say(`resume:${next}`);
let chunkNo = 0;
while (next < messages.length) {
  say('phase:publish');
  const receivedAt = clock.now();
  await rt.bus.publish(messages.slice(next, next + CHUNK).map((m) => ({ ...m, receivedAt })));
  next += CHUNK;
  say('phase:ingest');
  await rt.runner.drain();
  if (chunkNo++ % 3 === 2) {
    say('phase:marts');
    await runMartCycle(rt);
  }
}
say('all-published');
say('phase:ingest');
await rt.runner.drain();
say('phase:marts');
await runMartCycle(rt);
const result = {
  counts: await totalCounts(rt),
  pending: rt.bus.pendingCount(),
  marts: await martDigest(rt.warehouse),
  series: await seriesDigest(rt.series),
  eventsTwice: await rt.warehouse.query<{ n: number }>('select count(*) as n from (select merchant_id, event_id from raw.events group by 1, 2 having count(*) > 1)'),
};
await rt.close();
say(JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
