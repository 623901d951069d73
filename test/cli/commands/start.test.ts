import assert from 'node:assert/strict';
import { createStartCommand } from '../../../cli/commands/start.js';
import { UsageError, type CommandContext } from '../../../cli/context.js';

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
});
