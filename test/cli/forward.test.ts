// A command forwarded to the running `tillstream start` answers as it would in its own process:
// the `tillstream <cmd>:` prefix and the same exit codes (cli/main.ts).
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { runForwarded, type ForwardableCommand } from '../../cli/forward.js';
import { UsageError } from '../../cli/context.js';
import type { LocalPipeline } from '../../runtime/local-writer.js';

const COMMANDS: Record<string, ForwardableCommand> = {
  strict: { usesDataDir: true, run: async (argv) => (parseArgs({ args: argv, options: {}, strict: true }), 0) },
  usage: { usesDataDir: true, run: async () => { throw new UsageError('--from must be an ISO 8601 instant'); } },
  broken: { usesDataDir: true, run: async () => { throw new Error('disk full'); } },
  fine: { usesDataDir: true, run: async (_argv, ctx) => (ctx.out('ok'), 4) },
};
const rt = {} as LocalPipeline;

describe('runForwarded', () => {
  it('prefixes errors with the command and keeps the exit codes of a local run', async () => {
    assert.deepStrictEqual(await runForwarded(COMMANDS, rt, ['usage']), { exit: 2, stdout: [], stderr: ['tillstream usage: --from must be an ISO 8601 instant'] });
    assert.deepStrictEqual(await runForwarded(COMMANDS, rt, ['strict', '--nope']), {
      exit: 2,
      stdout: [],
      stderr: ["tillstream strict: Unknown option '--nope'"],
    });
    assert.deepStrictEqual(await runForwarded(COMMANDS, rt, ['broken']), { exit: 1, stdout: [], stderr: ['tillstream broken: disk full'] });
    assert.deepStrictEqual(await runForwarded(COMMANDS, rt, ['fine']), { exit: 4, stdout: ['ok'], stderr: [] });
  });
});
