import assert from 'node:assert/strict';
import { generateStepsInWorker } from '../../demo/generator-thread.js';
import { generateSteps, type PosBatch, type WorkloadManifest, type WorkloadSink } from '../../demo/generator.js';

describe('demo generator on a worker thread', () => {
  const opts = { events: 3000, seed: 'tillstream-demo', anchor: new Date('2026-11-21T12:00:00Z') };

  /** Every sink call in order, step by step, and the manifest. */
  async function record(generate: (sink: WorkloadSink) => Iterator<void, WorkloadManifest> | AsyncIterator<void, WorkloadManifest>) {
    const calls: (['entry', string] | ['posBatch', PosBatch])[][] = [];
    let step: (['entry', string] | ['posBatch', PosBatch])[] = [];
    const steps = generate({
      entry: (line) => step.push(['entry', line]),
      posBatch: (batch) => step.push(['posBatch', batch]),
    });
    for (;;) {
      const r = await steps.next();
      if (r.done) return { calls, manifest: r.value };
      calls.push(step);
      step = [];
    }
  }

  it('replays into the sink the calls of each step that generating in thread makes, and returns the same manifest', async () => {
    const inThread = await record((sink) => generateSteps(opts, sink));
    const worker = await record((sink) => generateStepsInWorker(opts, sink));
    assert.ok(inThread.calls.length > 100);
    assert.ok(inThread.calls.flat().filter(([kind]) => kind === 'posBatch').length > 10);
    assert.deepStrictEqual(worker, inThread);
  });

  it('fails next() with the generator\'s error', async () => {
    const steps = generateStepsInWorker({ ...opts, days: 9 }, { entry: () => undefined, posBatch: () => undefined });
    await assert.rejects(steps.next(), (e: unknown) => e instanceof Error && e.message === 'generating the demo workload failed: days must be between 0.25 and 6.5, got 9');
  });
});
