// Child process of the SIGKILL test: opens the local runtime and publishes and consumes in a loop
// (with injected transient sink faults) until it is killed; `finish` drains and prints the counts.
// Usage: tsx crash-child.ts <dataDir> loop|finish <seed>
import { openLocalRuntime } from '../../../runtime/local-stores.js';
import { createRunner } from '../../../pipeline/runner/consume.js';
import type { RawSink } from '../../../pipeline/ports.js';
import { fakeProcessingFailedWrite, fakeStage } from '../../pipeline/runner/fake-stage.js';

const [dataDir, mode, seedText] = process.argv.slice(2) as [string, 'loop' | 'finish', string];
let seed = Number(seedText) >>> 0 || 1;
const random = () => {
  // xorshift32: each child run differs, yet a failing run can be replayed from its seed
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};

const rt = await openLocalRuntime({ path: dataDir });
const flakySink: RawSink = {
  write: async (w) => {
    if (mode === 'loop' && random() < 0.15) throw new Error('injected sink fault');
    await rt.warehouse.write(w);
  },
};
const runner = createRunner({
  bus: rt.bus,
  stage: fakeStage({ dedupe: rt.warehouse, sink: flakySink }),
  sink: rt.warehouse,
  processingFailedWrite: fakeProcessingFailedWrite,
  backoff: { initialMs: 1, maxMs: 20 },
  maxAttempts: 50,
});

if (mode === 'finish') {
  await runner.drain();
  const counts = await rt.warehouse.entryCounts();
  const twice = await rt.warehouse.query(`SELECT merchant_id, event_id, count(*) AS n FROM raw.events GROUP BY ALL HAVING count(*) > 1`);
  let archived = 0;
  for await (const m of rt.archive.read({ from: new Date(0), to: new Date(8.64e15) })) archived += m.entries.length;
  const result = { published: rt.bus.publishedEntries(), ...counts, twice, pending: rt.bus.pendingCount(), archived };
  await rt.close();
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  process.stdout.write('ready\n');
  for (let round = 0; ; round++) {
    const messages = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
      receivedAt: new Date(),
      attributes: { source: 'server' as const, run_id: `run-${process.pid}` },
      entries: Array.from({ length: 1 + Math.floor(random() * 20) }, () => {
        if (random() < 0.05) return '{broken';
        // A small id pool makes duplicates and conflicting duplicates common.
        const id = `e${Math.floor(random() * 400)}`;
        return JSON.stringify({ merchant_id: `m${id.length % 2}`, event_id: id, v: random() < 0.9 ? 1 : 2 });
      }),
    }));
    await rt.bus.publish(messages);
    if (round % 2 === 1) await runner.drain();
  }
}
