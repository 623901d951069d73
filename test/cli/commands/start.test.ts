import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createStartCommand, publishDemo } from '../../../cli/commands/start.js';
import { UsageError, type CommandContext } from '../../../cli/context.js';
import { generateSteps, generateWorkload, type WorkloadSink } from '../../../demo/generator.js';
import { batchEntries } from '../../../pipeline/ingest/entries.js';
import type { InboundMessage } from '../../../pipeline/ports.js';

describe('tillstream start', () => {
  it('refuses a bad --events or port before opening the data directory', async () => {
    let opened = 0;
    const ctx: CommandContext = {
      runtime: () => {
        opened++;
        return Promise.reject(new Error('not opened in this test'));
      },
      out: () => undefined,
      err: () => undefined,
    };
    const start = createStartCommand();
    for (const [argv, message] of [
      [['--events', '0'], '--events must be a positive integer'],
      [['--events', '2.5'], '--events must be a positive integer'],
      [['--port', '70000'], 'PORT must be a port number'],
      [['--port', 'http'], 'PORT must be a port number'],
    ] as const) {
      await assert.rejects(start([...argv], ctx), (e: unknown) => e instanceof UsageError && e.message === message, argv.join(' '));
    }
    assert.equal(opened, 0);
  });

  it('publishes the demo as it is generated: each POS batch its own messages, the other entries collector bodies of up to 500 entries, in receive order', async () => {
    const anchor = new Date('2026-11-21T12:00:00Z');
    const w = generateWorkload({ events: 4000, seed: 'tillstream-demo', anchor });
    assert.ok(w.posBatches.length > 10);
    // What the demo publishes, built from the whole workload in memory: walking the entries in
    // receive order, a POS batch is published as it ends, a body once it holds 500 entries.
    const expected: [string, string[]][] = [];
    const batchAt = new Map(w.posBatches.map((b) => [b.first_entry, b]));
    let body: string[] = [];
    const endBody = () => {
      for (const b of batchEntries(body)) expected.push(['online', b]);
      body = [];
    };
    for (let i = 0; i < w.entries.length; ) {
      const batch = batchAt.get(i);
      if (batch) {
        for (const e of batchEntries(w.entries.slice(i, i + batch.count))) expected.push(['pos', e]);
        i += batch.count;
        continue;
      }
      body.push(w.entries[i++]!);
      if (body.length === 500) endBody();
    }
    endBody();
    assert.ok(expected.filter(([source, e]) => source === 'online' && e.length === 500).length >= 5);

    const published: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[] = [];
    let consumedWhilePublishing = false;
    const rt = {
      clock: { now: () => anchor },
      bus: { publish: async (ms: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[]) => ms.map((m) => String(published.push(m))), pendingCount: () => 0 },
      runner: {
        run: async (signal: AbortSignal) => {
          consumedWhilePublishing = !signal.aborted;
          if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          return { processed: 0, retried: 0, failed: 0 };
        },
      },
    };
    const result = await publishDemo(rt as never, (sink) => generateSteps({ events: 4000, seed: 'tillstream-demo', anchor }, sink), 'r1');
    assert.deepStrictEqual(result, { entries: w.entries.length, messages: expected.length });
    assert.deepStrictEqual(published.map((m) => [m.attributes.source, m.entries]), expected);
    assert.ok(published.every((m) => m.attributes.run_id === 'r1' && m.receivedAt.getTime() === anchor.getTime()));
    assert.ok(consumedWhilePublishing);
  });

  it('publishes the demo at most a bounded backlog of entries ahead of the runner, while it is generated, and every message once, reporting the entries consumed', async () => {
    const anchor = new Date('2026-11-21T12:00:00Z');
    const sizes: number[] = []; // entries of each published message
    let consumed = 0; // messages, consumed in publish order
    const backlogs: number[] = [];
    let stepsBeforeLastPublish = 0;
    let steps = 0;
    const rt = {
      clock: { now: () => anchor },
      bus: {
        publish: async (ms: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[]) => {
          // unconsumed entries when a publish starts
          backlogs.push(sizes.slice(consumed).reduce((a, b) => a + b, 0));
          stepsBeforeLastPublish = steps;
          return ms.map((m) => String(sizes.push(m.entries.length)));
        },
        pendingCount: () => sizes.length - consumed,
      },
      runner: {
        // Consumes three messages every few milliseconds, far slower than the workload is generated.
        run: async (signal: AbortSignal) => {
          while (!signal.aborted) {
            consumed = Math.min(sizes.length, consumed + 3);
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
          return { processed: consumed, retried: 0, failed: 0 };
        },
      },
    };
    const maxBacklog = 2000;
    const generate = (sink: WorkloadSink) => {
      const it = generateSteps({ events: 20000, seed: 'tillstream-demo', anchor }, sink);
      return { next: () => (steps++, it.next()) };
    };
    const progress: [number, number][] = [];
    const result = await publishDemo(rt as never, generate, 'r1', maxBacklog, (consumed, generated) => progress.push([consumed, generated]));
    assert.equal(result.messages, sizes.length);
    // Progress: entries consumed never go back, trail what was generated, and end at every entry.
    assert.ok(progress.every(([c, g], i) => c <= g && (i === 0 || c >= progress[i - 1]![0])));
    assert.ok(progress.some(([c, g]) => c > 0 && c < g && g < 20000));
    assert.deepStrictEqual(progress.at(-1), [20000, 20000]);
    assert.equal(consumed, sizes.length);
    assert.equal(result.entries, 20000);
    assert.equal(sizes.reduce((a, b) => a + b, 0), 20000);
    assert.ok(backlogs.length > 2, `published in ${backlogs.length} groups`);
    // Generated as it is published, not all before the first publish.
    assert.ok(stepsBeforeLastPublish > 2, `the last publish came after ${stepsBeforeLastPublish} steps`);
    assert.ok(backlogs[0] === 0 && backlogs.slice(1).some((n) => n > 0));
    // A publish starts only once the backlog is at most the bound; the messages it adds may pass it.
    assert.ok(Math.max(...backlogs) <= maxBacklog, `a publish started with ${Math.max(...backlogs)} entries unconsumed`);
  });
});

describe('tillstream start heap', function () {
  // two processes that each allocate a few hundred MB: seconds on a quiet machine, more beside other work
  this.timeout(120_000);
  const peakOldSpace = (args: string[]): number => {
    const child = join(import.meta.dirname, 'start-heap-child.ts');
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, ...args], { encoding: 'utf8' });
    return (JSON.parse(out.trim().split('\n').pop()!) as { peak_old_space_mb: number }).peak_old_space_mb;
  };

  it('collects garbage of batches that outlive young collections before the old generation grows to several times its live set', () => {
    // The same allocations in two processes, one of which ran `start` first.
    const before = peakOldSpace([]);
    const after = peakOldSpace(['start']);
    assert.ok(after <= before * 0.7, `old generation peak ${after} MB after start against ${before} MB without`);
  });
});
