// The command table of `tillstream`.
import { runGenerateCommand } from '../../demo/generate-command.js';
import type { Command } from '../context.js';
import { dimensionsCommand } from './dimensions.js';
import { ingestCommand } from './ingest.js';
import { keysCommand } from './keys.js';
import { martsCommand, reprocessCommand } from './marts.js';
import { startCommand } from './start.js';

export interface CommandSpec {
  run: Command;
  /** Needs the data directory (and goes through a running `tillstream start` when there is one). */
  usesDataDir: boolean;
  summary: string;
}

export const COMMANDS: Record<string, CommandSpec> = {
  start: { run: startCommand, usesDataDir: true, summary: 'start [--once] [--events N] [--port P]   run the local pipeline, collector, query API and dashboard' },
  generate: {
    run: (argv) => runGenerateCommand(argv),
    usesDataDir: false,
    summary: 'generate --out F [--events N] [--merchants N] [--seed S] [--anchor T]   write a demo workload and its dimensions',
  },
  ingest: { run: ingestCommand, usesDataDir: true, summary: 'ingest --file F --source pos [--format ndjson|csv] [--backfill]   load a batch file' },
  dimensions: { run: dimensionsCommand, usesDataDir: true, summary: 'dimensions load F   upsert merchants, stores, fraud IPs' },
  keys: { run: keysCommand, usesDataDir: true, summary: 'keys create --kind K [--merchant ID] [--origin O]… [--expires-in 90d] | keys list | keys revoke ID' },
  marts: { run: martsCommand, usesDataDir: true, summary: 'marts --from T1 --to T2 [--marts a,b] [--yes] [--max-bytes N]   build marts for a range and export them (gcp: dry run first)' },
  reprocess: { run: reprocessCommand, usesDataDir: true, summary: 'reprocess --from T1 --to T2 [--marts a,b] [--revalidate] [--yes] [--max-bytes N]   rebuild history (gcp: dry run first)' },
};
