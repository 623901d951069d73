// The command table of `tillstream`.
import type { ForwardableCommand } from '../forward.js';
import type { Command } from '../context.js';

/**
 * A command whose module is imported when it runs, so a command loads its own modules only: every
 * command loaded the server, the query API and the alert modules of `start` (`--help` took 1.15 CPU s
 * against 0.96 now; `ingest` before it opens its stores 1.29 against 1.20). The forwarding code
 * (express, for the server's side) loads only with `start` or to reach a running one.
 */
const lazy =
  (load: () => Promise<Command>): Command =>
  async (argv, ctx) =>
    (await load())(argv, ctx);

export interface CommandSpec extends ForwardableCommand {
  summary: string;
}

export const COMMANDS: Record<string, CommandSpec> = {
  // The running process runs forwarded commands from this table; handed over as a function, so neither
  // the start command nor the server imports the table.
  start: {
    run: lazy(async () => {
      const [{ createStartCommand }, { runForwarded }] = await Promise.all([import('./start.js'), import('../forward.js')]);
      return createStartCommand({ dispatch: (rt, argv) => runForwarded(COMMANDS, rt, argv) });
    }),
    usesDataDir: true, summary: 'start [--once] [--events N] [--port P]   run the local pipeline, collector, query API and dashboard' },
  generate: {
    run: lazy(async () => {
      const { runGenerateCommand } = await import('../../demo/generate-command.js');
      return (argv) => runGenerateCommand(argv);
    }),
    usesDataDir: false,
    summary: 'generate --out F [--events N] [--merchants N] [--seed S] [--anchor T]   write a demo workload and its dimensions',
  },
  ingest: { run: lazy(async () => (await import('./ingest.js')).ingestCommand), usesDataDir: true, paths: { options: ['--file'] }, summary: 'ingest --file F --source pos [--format ndjson|csv] [--backfill]   load a batch file' },
  dimensions: { run: lazy(async () => (await import('./dimensions.js')).dimensionsCommand), usesDataDir: true, paths: { positions: [1] }, summary: 'dimensions load F   upsert merchants, stores, fraud IPs' },
  keys: { run: lazy(async () => (await import('./keys.js')).keysCommand), usesDataDir: true, summary: 'keys create --kind K [--merchant ID] [--origin O]… [--expires-in 90d] | keys list | keys revoke ID' },
  rejections: { run: lazy(async () => (await import('./rejections.js')).rejectionsCommand), usesDataDir: true, summary: 'rejections [--merchant ID] [--since 7d] [--samples N] [--json]   recent rejected entries: counts by reason and samples' },
  alerts: { run: lazy(async () => (await import('./alerts.js')).alertsCommand), usesDataDir: true, summary: 'alerts rules|put|remove|webhook|history|evaluate --merchant ID …   alert rules, webhook and history (docs/alerts.md)' },
  marts: { run: lazy(async () => (await import('./marts.js')).martsCommand), usesDataDir: true, summary: 'marts --from T1 --to T2 [--marts a,b] [--yes] [--max-bytes N]   build marts for a range and export them (gcp: dry run first)' },
  reprocess: { run: lazy(async () => (await import('./marts.js')).reprocessCommand), usesDataDir: true, summary: 'reprocess --from T1 --to T2 [--marts a,b] [--revalidate] [--yes] [--max-bytes N]   rebuild history (gcp: dry run first)' },
};
