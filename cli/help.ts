// `tillstream <command> --help`: what each command does, its options and examples that run against
// the demo data of a fresh `npm start` (merchant pizzaroma). `-h`, `--help` and `--version` are
// answered before a command parses its own options, so every command takes them.
import { readFileSync } from 'node:fs';
import { ALERTS_USAGE } from './commands/alerts.js';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `tillstream ${pkg.version}`;
}

export const HELP: Record<string, string> = {
  start: `usage: tillstream start [--once] [--events N] [--port P]
Runs the local pipeline in one process: opens the data directory (.tillstream/, or TILLSTREAM_DATA_DIR),
generates a demo workload the first time, ingests, builds the marts, then serves the collector, the
query API and the dashboard on one port and rebuilds the marts every hour at :05.
  --once       one run without serving; the last stdout line is a JSON summary (exit 1 if the counts break the invariant)
  --events N   size of the first demo workload (default 50000, or TILLSTREAM_DEMO_EVENTS)
  --port P     port to serve on (default PORT, or 8080); a busy port is refused before any work (exit 2)
examples:
  npx tillstream start
  npx tillstream start --once --events 5000
  PORT=8081 npx tillstream start`,
  generate: '', // demo/generate-command.ts prints its own (GENERATE_USAGE)
  ingest: `usage: tillstream ingest --file F [--source pos] [--format ndjson|csv] [--backfill]
Loads a batch file — NDJSON (one event per line) or a POS CSV (docs/events.md) — read as a stream, so
its size is bounded by the disk, not memory. Prints the first rejected entries with their file lines.
  --source S   online, pos, web or server (default pos)
  --format F   ndjson or csv (default: from the file name)
  --backfill   the events are history: the "too old" check is off
  --quiet      no progress on stderr (a live bar on a terminal, a line every few seconds otherwise)
exit codes: 0 some entry accepted or duplicate, 4 every entry rejected, 1 counts break the invariant, 2 usage
examples:
  npx tillstream ingest --file events.ndjson --source pos
  npx tillstream ingest --file batch.csv`,
  dimensions: `usage: tillstream dimensions load FILE.json
Upserts merchants, stores, fraud IPs and the low-stock threshold (docs/dimensions.md).
examples:
  npx tillstream dimensions load events.dimensions.json`,
  keys: `usage: tillstream keys create --kind K [--merchant ID] [--origin O]… [--expires-in 90d]
       tillstream keys list
       tillstream keys revoke ID
Creates API keys (shown once; the new key is the last stdout line), lists them (never the key), revokes one.
  --kind K        read, manage, ingest, browser or admin
  --merchant ID   the merchant the key reaches (all but admin keys)
  --origin O      for browser keys, an allowed origin (repeatable)
  --expires-in D  a number and d, h, m or s: 90d, 12h, 30s
examples:
  npx tillstream keys create --kind read --merchant pizzaroma
  npx tillstream keys create --kind ingest --merchant pizzaroma --expires-in 1h
  npx tillstream keys list`,
  rejections: `usage: tillstream rejections [--merchant ID] [--since 7d] [--samples N] [--json]
Entries rejected recently: counts by reason code, then the newest samples with the reason's detail and
the payload as sent.
  --merchant ID  one merchant (default all)
  --since D      how far back, by receive time: 7d, 12h, 30m (default 7d)
  --samples N    how many samples, 0 to 100 (default 10)
  --json         one JSON object on stdout
examples:
  npx tillstream rejections
  npx tillstream rejections --merchant pizzaroma --since 1h --json`,
  alerts: ALERTS_USAGE,
  marts: `usage: tillstream marts --from T1 --to T2 [--marts a,b] [--yes] [--max-bytes N]
Builds the marts of a half-open range of ISO instants and exports their series. With
TILLSTREAM_RUNTIME=gcp it first dry-runs every BigQuery statement and runs only with --yes or within
--max-bytes (otherwise exit 3).
examples:
  npx tillstream marts --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z
  npx tillstream marts --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z --marts mart_hourly_store_sales`,
  reprocess: `usage: tillstream reprocess --from T1 --to T2 [--marts a,b] [--revalidate] [--yes] [--max-bytes N]
Rebuilds history after a bug: the marts of the range, and with --revalidate the archived payloads
received in it are validated again first. Prints what changed.
examples:
  npx tillstream reprocess --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z
  npx tillstream reprocess --from 2026-11-20T00:00:00Z --to 2026-11-21T00:00:00Z --revalidate`,
};

/** The help of a command line asking for it (`-h`/`--help` before any `--`), or undefined. */
export function helpRequest(argv: readonly string[]): 'help' | 'version' | undefined {
  for (const a of argv) {
    if (a === '--') return undefined;
    if (a === '-h' || a === '--help') return 'help';
    if (a === '--version' || a === '-V') return 'version';
  }
  return undefined;
}
