// The demo workload generated on a worker thread: `tillstream start` publishes and ingests on its
// main thread, and generating a million-event demo there took ~10 % of that thread (and its garbage
// a share of the collections). The worker runs `generateSteps` and posts each step's entries and POS
// batches; the main thread replays them into the caller's sink in the order the generator wrote
// them, so a sink sees exactly the calls it would see in thread. The worker generates at most
// `ahead` steps before the main thread has taken them, so memory stays about a step's entries.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { generateSteps, type GenerateOptions, type PosBatch, type WorkloadManifest, type WorkloadSink } from './generator.js';

/** What the worker needs: everything but the callbacks and annotations, which do not cross threads. */
export type ThreadGenerateOptions = Omit<GenerateOptions, 'onProgress' | 'annotate'>;

type FromWorker =
  /** A step's entries in order, and each POS batch with the index of its first entry among them. */
  | { kind: 'step'; lines: string[]; batches: [number, PosBatch][] }
  | { kind: 'done'; manifest: WorkloadManifest };

/**
 * Node 20 resolves a worker's entry before any loader hook runs in the worker (a `.ts` entry fails
 * with "Unknown file extension"), so the entry is this JavaScript file, which registers tsx in the
 * worker and then runs `serveSteps` below.
 */
const ENTRY = new URL('./generator-thread.mjs', import.meta.url);

/**
 * `generateSteps` on a worker thread: each `next()` replays one step (an hour of the workload) into
 * `sink`. A failure of the generator, or the worker ending before the last step, rejects `next()`
 * with an error that says so; `return()` stops the worker (call it when abandoning the iterator).
 */
export function generateStepsInWorker(opts: ThreadGenerateOptions, sink: WorkloadSink, ahead = 2): AsyncIterator<void, WorkloadManifest> & { return(): Promise<IteratorResult<void, WorkloadManifest>> } {
  if (sink.annotate) throw new Error('annotations are not generated on the worker thread');
  const worker = new Worker(ENTRY, { workerData: { opts } });
  const received: FromWorker[] = [];
  let failure: Error | undefined;
  let finished = false;
  let wake: (() => void) | undefined;
  const woken = () => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: FromWorker) => {
    received.push(m);
    woken();
  });
  worker.on('error', (err) => {
    failure ??= new Error(`generating the demo workload failed: ${err.message}`, { cause: err });
    woken();
  });
  worker.on('exit', (code) => {
    if (!finished) failure ??= new Error(`the demo workload's generator thread exited with code ${code} before the workload was complete`);
    woken();
  });
  for (let i = 0; i < ahead; i++) worker.postMessage('next');

  const stop = async (): Promise<void> => {
    finished = true;
    await worker.terminate();
  };
  let manifest: WorkloadManifest | undefined;
  return {
    async next() {
      if (manifest) return { done: true, value: manifest };
      while (received.length === 0) {
        if (failure) {
          await stop();
          throw failure;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const m = received.shift()!;
      if (m.kind === 'done') {
        manifest = m.manifest;
        await stop();
        return { done: true, value: manifest };
      }
      worker.postMessage('next');
      let b = 0;
      m.lines.forEach((line, i) => {
        for (; b < m.batches.length && m.batches[b]![0] === i; b++) sink.posBatch(m.batches[b]![1]);
        sink.entry(line);
      });
      for (; b < m.batches.length; b++) sink.posBatch(m.batches[b]![1]);
      return { done: false, value: undefined };
    },
    async return() {
      await stop();
      return { done: true, value: manifest as WorkloadManifest };
    },
  };
}

/** The worker's side: generates a step for each message from the main thread and posts it. */
export function serveSteps(): void {
  const port = parentPort;
  if (!port) throw new Error('serveSteps runs on the demo generator\'s worker thread');
  const { opts } = workerData as { opts: ThreadGenerateOptions };
  let lines: string[] = [];
  let batches: [number, PosBatch][] = [];
  const steps = generateSteps(opts, {
    entry(line) {
      lines.push(line);
    },
    posBatch(batch) {
      batches.push([lines.length, batch]);
    },
  });
  // A throw here is the worker's uncaught exception: the main thread's `error` event.
  port.on('message', () => {
    const r = steps.next();
    if (r.done) {
      port.postMessage({ kind: 'done', manifest: r.value } satisfies FromWorker);
      return;
    }
    port.postMessage({ kind: 'step', lines, batches } satisfies FromWorker);
    lines = [];
    batches = [];
  });
}
