// `tillstream` command-line entry: picks the command, opens the local runtime on demand (or goes
// through a running `tillstream start`, the only writer of the data directory) or, with
// TILLSTREAM_RUNTIME=gcp, the deployment's stores (cli/runtime-select.ts), maps errors to exit codes.
import { join } from 'node:path';
import { readLiveLock, resolveDataDir } from '../adapters/local/data-dir.js';
import { COMMANDS } from './commands/index.js';
import { HELP, helpRequest, version } from './help.js';
import { isUsageError } from './context.js';
import { errorDetail } from '../pipeline/errors.js';
import { openLocalPipeline } from '../runtime/local-writer.js';
import { DATA_FILES } from '../runtime/local-stores.js';
import { createCommandContext } from './runtime-select.js';
import { createProgress, NO_PROGRESS } from './progress.js';

function usage(): string {
  return [
    'usage: tillstream <command> [options]   (tillstream <command> --help for its options and examples; --version; --quiet: no progress on stderr)',
    ...Object.values(COMMANDS).map((c) => `  ${c.summary}`),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  // --quiet, accepted by every command: no progress on stderr (results and errors still print).
  const quiet = argv.includes('--quiet');
  if (quiet) argv = argv.filter((a) => a !== '--quiet');
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') return process.stdout.write(version() + '\n'), 0;
  if (name === 'help' && rest[0] && COMMANDS[rest[0]]) return main([rest[0], '--help']);
  const spec = name ? COMMANDS[name] : undefined;
  if (!spec) {
    const asked = name === 'help' || name === '--help' || name === '-h';
    (asked ? process.stdout : process.stderr).write((name && !asked ? `unknown command ${name}\n` : '') + usage() + '\n');
    return asked ? 0 : 2;
  }
  // Every command answers -h/--help and --version before parsing its options (cli/help.ts).
  const asked = helpRequest(rest);
  if (asked === 'version') return process.stdout.write(version() + '\n'), 0;
  if (asked === 'help' && HELP[name!]) return process.stdout.write(HELP[name!] + '\n'), 0;
  const out = (line: string) => process.stdout.write(line + '\n');
  const err = (line: string) => process.stderr.write(line + '\n');
  try {
    const progress = quiet ? NO_PROGRESS : createProgress({ stream: process.stderr });
    const ctx = createCommandContext({ name: name!, out, err, progress, openLocal: () => openLocalPipeline({ command: `tillstream ${name}` }) });
    if (spec.usesDataDir && name !== 'start' && ctx.runtimeName === 'local') {
      const dataDir = resolveDataDir();
      const live = await readLiveLock(dataDir).catch(() => undefined);
      if (live?.url && live.pid !== process.pid) {
        const { forwardCommand, withAbsolutePaths } = await import('./forward.js');
        const result = await forwardCommand(live.url, join(dataDir, DATA_FILES.pepper), withAbsolutePaths(spec, argv, process.cwd()));
        result.stderr.forEach(err);
        result.stdout.forEach(out);
        return result.exit;
      }
    }
    try {
      return await spec.run(rest, ctx);
    } finally {
      await ctx.close();
    }
  } catch (e) {
    if (isUsageError(e)) {
      err(`tillstream ${name}: ${e.message}`);
      return 2;
    }
    err(`tillstream ${name}: ${errorDetail(e)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
