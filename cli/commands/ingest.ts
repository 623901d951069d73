// `tillstream ingest --file F --source pos [--format ndjson|csv] [--backfill]`: a POS batch file (or any
// NDJSON/CSV export) enters like a collector body: split into entries, published to the bus in bounded
// messages, ingested, then the marts of the touched hours are rebuilt. Loading the same file twice adds
// its entries to `published` and to `duplicates` and changes no metric.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { SOURCES, type SourceName } from '../../pipeline/contracts/events.js';
import { batchEntries, PosCsvError, posCsvToEntries, splitNdjson } from '../../pipeline/ingest/entries.js';
import { UsageError, type Command } from '../context.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';

export const ingestCommand: Command = async (argv, ctx) => {
  const { values } = parseArgs({
    args: argv,
    options: { file: { type: 'string' }, source: { type: 'string' }, format: { type: 'string' }, backfill: { type: 'boolean', default: false } },
    strict: true,
  });
  if (!values.file) throw new UsageError('usage: tillstream ingest --file F --source pos [--format ndjson|csv] [--backfill]');
  const source = (values.source ?? 'pos') as SourceName;
  if (!SOURCES.includes(source)) throw new UsageError(`--source must be one of ${SOURCES.join(', ')}`);
  const format = values.format ?? (extname(values.file).toLowerCase() === '.csv' ? 'csv' : 'ndjson');
  if (format !== 'csv' && format !== 'ndjson') throw new UsageError('--format must be ndjson or csv');

  let text: string;
  try {
    text = await readFile(values.file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${values.file}: ${(err as Error).message}`);
  }
  let entries: string[];
  try {
    entries = format === 'csv' ? posCsvToEntries(text) : splitNdjson(text);
  } catch (err) {
    if (err instanceof PosCsvError) throw new UsageError(`${values.file}: ${err.message}`);
    throw err;
  }

  const rt = await ctx.runtime();
  const runId = rt.newRunId();
  const receivedAt = rt.clock.now();
  const attributes = { source, run_id: runId, ...(values.backfill ? { backfill: '1' as const } : {}) };
  const ids = await rt.bus.publish(batchEntries(entries).map((batch) => ({ receivedAt, attributes, entries: batch })));
  ctx.err(`published ${entries.length} entries from ${values.file} in ${ids.length} messages; ingesting`);
  await rt.runner.drain();
  const marts = await runMartCycle(rt);
  const counts = await rt.runCounts(runId);
  ctx.out(JSON.stringify({ ...counts, series_cells: marts.cells }));
  return 0;
};
