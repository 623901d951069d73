// The command table of `tillstream`.
import { runGenerateCommand } from '../../demo/generate-command.js';
import { runForwarded, type ForwardableCommand } from '../forward.js';
import { alertsCommand } from './alerts.js';
import { dimensionsCommand } from './dimensions.js';
import { ingestCommand } from './ingest.js';
import { keysCommand } from './keys.js';
import { rejectionsCommand } from './rejections.js';
import { martsCommand, reprocessCommand } from './marts.js';
import { createStartCommand } from './start.js';

export interface CommandSpec extends ForwardableCommand {
  summary: string;
}

export const COMMANDS: Record<string, CommandSpec> = {
  // The running process runs forwarded commands from this table; handed over as a function, so neither
  // the start command nor the server imports the table.
  start: {
    run: createStartCommand({ dispatch: (rt, argv) => runForwarded(COMMANDS, rt, argv) }),
    usesDataDir: true, summary: 'start [--once] [--events N] [--port P]   run the local pipeline, collector, query API and dashboard' },
  generate: {
    run: (argv) => runGenerateCommand(argv),
    usesDataDir: false,
    summary: 'generate --out F [--events N] [--merchants N] [--seed S] [--anchor T]   write a demo workload and its dimensions',
  },
  ingest: { run: ingestCommand, usesDataDir: true, paths: { options: ['--file'] }, summary: 'ingest --file F --source pos [--format ndjson|csv] [--backfill]   load a batch file' },
  dimensions: { run: dimensionsCommand, usesDataDir: true, paths: { positions: [1] }, summary: 'dimensions load F   upsert merchants, stores, fraud IPs' },
  keys: { run: keysCommand, usesDataDir: true, summary: 'keys create --kind K [--merchant ID] [--origin O]… [--expires-in 90d] | keys list | keys revoke ID' },
  rejections: { run: rejectionsCommand, usesDataDir: true, summary: 'rejections [--merchant ID] [--since 7d] [--samples N] [--json]   recent rejected entries: counts by reason and samples' },
  alerts: { run: alertsCommand, usesDataDir: true, summary: 'alerts rules|put|remove|webhook|history|evaluate --merchant ID …   alert rules, webhook and history (docs/alerts.md)' },
  marts: { run: martsCommand, usesDataDir: true, summary: 'marts --from T1 --to T2 [--marts a,b] [--yes] [--max-bytes N]   build marts for a range and export them (gcp: dry run first)' },
  reprocess: { run: reprocessCommand, usesDataDir: true, summary: 'reprocess --from T1 --to T2 [--marts a,b] [--revalidate] [--yes] [--max-bytes N]   rebuild history (gcp: dry run first)' },
};
