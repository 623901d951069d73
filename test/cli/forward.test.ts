import assert from 'node:assert/strict';
import { runForwarded, withAbsolutePaths, type ForwardableCommand } from '../../cli/forward.js';
import { UsageError } from '../../cli/context.js';
import type { LocalPipeline } from '../../runtime/local-writer.js';

describe('forwarded commands', () => {
  describe('withAbsolutePaths', () => {
    const spec: ForwardableCommand = { run: async () => 0, usesDataDir: true, paths: { options: ['--file', '--out'], positions: [1] } };

    it('resolves path options, in both forms, and path operands against the caller’s directory', () => {
      assert.deepEqual(withAbsolutePaths(spec, ['cmd', 'load', 'a.json', '--file', '../b.ndjson', '--out=c/d.txt', '--source', 'pos'], '/srv/shop/here'), [
        'cmd',
        'load',
        '/srv/shop/here/a.json',
        '--file',
        '/srv/shop/b.ndjson',
        '--out=/srv/shop/here/c/d.txt',
        '--source',
        'pos',
      ]);
    });

    it('leaves absolute paths, other options and operands, and a dangling option as they are', () => {
      assert.deepEqual(withAbsolutePaths(spec, ['cmd', 'load', '/abs/a.json', '--backfill', 'extra', '--file'], '/srv/shop/here'), ['cmd', 'load', '/abs/a.json', '--backfill', 'extra', '--file']);
      assert.deepEqual(withAbsolutePaths({ run: async () => 0, usesDataDir: true }, ['cmd', 'x', '--file', 'y'], '/w'), ['cmd', 'x', '--file', 'y']);
    });
  });

  describe('runForwarded', () => {
    const rt = { marker: 'the running pipeline' } as unknown as LocalPipeline;
    const commands: Record<string, ForwardableCommand> = {
      echo: {
        usesDataDir: true,
        run: async (argv, ctx) => {
          assert.equal(await ctx.runtime(), rt);
          ctx.err('to stderr');
          ctx.out(argv.join(' '));
          return 3;
        },
      },
      usage: { usesDataDir: true, run: async () => Promise.reject(new UsageError('wrong')) },
      broken: { usesDataDir: true, run: async () => Promise.reject(new Error('outer', { cause: new Error('inner') })) },
      generate: { usesDataDir: false, run: async () => 0 },
      start: { usesDataDir: true, run: async () => 0 },
    };

    it('runs the command against the running pipeline and returns its output and exit code', async () => {
      assert.deepEqual(await runForwarded(commands, rt, ['echo', 'a', 'b']), { exit: 3, stdout: ['a b'], stderr: ['to stderr'] });
    });

    it('maps a usage error to exit 2 and any other error to exit 1 with its causes, each after the command’s name', async () => {
      assert.deepEqual(await runForwarded(commands, rt, ['usage']), { exit: 2, stdout: [], stderr: ['tillstream usage: wrong'] });
      assert.deepEqual(await runForwarded(commands, rt, ['broken']), { exit: 1, stdout: [], stderr: ['tillstream broken: outer (cause: inner)'] });
    });

    it('declines unknown commands, those without the data directory, and start', async () => {
      for (const name of ['nope', 'generate', 'start']) assert.equal(await runForwarded(commands, rt, [name]), undefined, name);
    });
  });
});
