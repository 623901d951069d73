// `tillstream` command-line entry: picks the command, opens the local runtime on demand (or goes
// through a running `tillstream start`, the only writer of the data directory), maps errors to exit codes.
import { join } from 'node:path';
import { readLiveLock, resolveDataDir } from '../adapters/local/data-dir.js';
import { COMMANDS } from './commands/index.js';
import { UsageError, type CommandContext } from './context.js';
import { describeError, forwardCommand } from './forward.js';
import { openLocalPipeline, type LocalPipeline } from './local-pipeline.js';

function usage(): string {
  return ['usage: tillstream <command>', ...Object.values(COMMANDS).map((c) => `  ${c.summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const spec = name ? COMMANDS[name] : undefined;
  if (!spec) {
    process.stderr.write((name && name !== 'help' && name !== '--help' ? `unknown command ${name}\n` : '') + usage() + '\n');
    return name === 'help' || name === '--help' ? 0 : 2;
  }
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(line + '\n');
  try {
    if (spec.usesDataDir && name !== 'start') {
      const dataDir = resolveDataDir();
      const live = await readLiveLock(dataDir).catch(() => undefined);
      if (live?.url && live.pid !== process.pid) {
        const result = await forwardCommand(live.url, join(dataDir, 'pepper'), argv);
        result.stderr.forEach(err);
        result.stdout.forEach(out);
        return result.exit;
      }
    }
    let rt: LocalPipeline | undefined;
    const ctx: CommandContext = {
      runtime: async () => (rt ??= await openLocalPipeline({ command: `tillstream ${name}` })),
      out,
      err,
    };
    try {
      return await spec.run(rest, ctx);
    } finally {
      await rt?.close();
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && e.name === 'TypeError' && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      err(`tillstream ${name}: ${e.message}`);
      return 2;
    }
    err(`tillstream ${name}: ${describeError(e)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
