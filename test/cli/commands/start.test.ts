import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStartCommand, publishDemo } from '../../../cli/commands/start.js';
import { UsageError, type CommandContext } from '../../../cli/context.js';
import { generateWorkload } from '../../../demo/generator.js';
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

  it('publishes the demo from its file as it arrives: each POS batch its own messages, the stretches between them collector bodies, in receive order', async () => {
    const anchor = new Date('2026-11-21T12:00:00Z');
    const w = generateWorkload({ events: 4000, seed: 'tillstream-demo', anchor });
    assert.ok(w.posBatches.length > 10);
    // What the demo publishes, built from the whole workload in memory.
    const expected: [string, string[]][] = [];
    let next = 0;
    const stretch = (end: number) => {
      if (end > next) for (const b of batchEntries(w.entries.slice(next, end))) expected.push(['online', b]);
    };
    for (const b of [...w.posBatches].sort((x, y) => x.first_entry - y.first_entry)) {
      stretch(b.first_entry);
      for (const e of batchEntries(w.entries.slice(b.first_entry, b.first_entry + b.count))) expected.push(['pos', e]);
      next = b.first_entry + b.count;
    }
    stretch(w.entries.length);

    const dir = await mkdtemp(join(tmpdir(), 'tillstream-demo-'));
    try {
      const file = join(dir, 'demo.ndjson');
      await writeFile(file, w.entries.join('\n') + '\n');
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
      const result = await publishDemo(rt as never, file, w.posBatches, 'r1');
      assert.deepStrictEqual(result, { entries: w.entries.length, messages: expected.length });
      assert.deepStrictEqual(published.map((m) => [m.attributes.source, m.entries]), expected);
      assert.ok(published.every((m) => m.attributes.run_id === 'r1' && m.receivedAt.getTime() === anchor.getTime()));
      assert.ok(consumedWhilePublishing);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('publishes the demo at most a bounded backlog ahead of the runner, and every message still once', async () => {
    const anchor = new Date('2026-11-21T12:00:00Z');
    const w = generateWorkload({ events: 20000, seed: 'tillstream-demo', anchor });
    const dir = await mkdtemp(join(tmpdir(), 'tillstream-demo-'));
    try {
      const file = join(dir, 'demo.ndjson');
      await writeFile(file, w.entries.join('\n') + '\n');
      let published = 0;
      let consumed = 0;
      const backlogs: number[] = [];
      const rt = {
        clock: { now: () => anchor },
        bus: {
          publish: async (ms: unknown[]) => {
            backlogs.push(published - consumed); // unconsumed messages when a publish starts
            return ms.map(() => String(++published));
          },
          pendingCount: () => published - consumed,
        },
        runner: {
          // Consumes three messages every few milliseconds, far slower than the file is read.
          run: async (signal: AbortSignal) => {
            while (!signal.aborted) {
              consumed = Math.min(published, consumed + 3);
              await new Promise((resolve) => setTimeout(resolve, 2));
            }
            return { processed: consumed, retried: 0, failed: 0 };
          },
        },
      };
      const maxBacklog = 50;
      const result = await publishDemo(rt as never, file, w.posBatches, 'r1', maxBacklog);
      assert.equal(result.messages, published);
      assert.equal(result.entries, w.entries.length);
      assert.ok(backlogs.length > 2, `published in ${backlogs.length} groups`);
      assert.ok(Math.max(...backlogs) <= maxBacklog, `a publish started with ${Math.max(...backlogs)} messages unconsumed`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
