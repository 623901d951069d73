// `tillstream ingest --file F --source pos [--format ndjson|csv] [--backfill]`: a POS batch file (or any
// NDJSON/CSV export) enters like a collector body: split into entries, published to the bus in bounded
// messages, ingested, then the marts of the touched hours are rebuilt. The file is streamed
// (runtime/file-ingest.ts), so its size is bounded by the disk, not by memory. Loading the same file
// twice adds its entries to `published` and to `duplicates` and changes no metric.
// Exit codes: 0 when at least one entry was accepted or was a duplicate (or the file had none);
// 4 when every entry was rejected; 1 when the counts break the invariant; 2 for a usage error.
import { access, constants } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseArgs } from 'node:util';
import { SOURCES, type SourceName } from '../../pipeline/contracts/events.js';
import { invariantHolds, totalRejected } from '../../pipeline/contracts/outcomes.js';
import { PosCsvError } from '../../pipeline/ingest/entries.js';
import { UsageError, type Command } from '../context.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';
import { firstRejections, publishFile } from '../../runtime/file-ingest.js';
import { exportRejectionDocuments } from '../../runtime/rejections.js';
import { martBuildProgress, NO_PROGRESS } from '../progress.js';

/** How often the ingest bar reads the runner's count of processed messages. */
const POLL_MS = 250;

/** Exit code when a file's entries were all rejected (README, "Exit codes"). */
export const EXIT_ALL_REJECTED = 4;
/** Rejections printed with their lines; the rest are counted (tillstream rejections lists them). */
const SHOWN_REJECTIONS = 10;

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
  try {
    await access(values.file, constants.R_OK);
  } catch (err) {
    throw new UsageError(`cannot read ${values.file}: ${(err as Error).message}`);
  }

  const rt = await ctx.runtime();
  const runId = rt.newRunId();
  const receivedAt = rt.clock.now();
  const attributes = { source, run_id: runId, ...(values.backfill ? { backfill: '1' as const } : {}) };
  const progress = ctx.progress ?? NO_PROGRESS;
  // Messages processed by this command's runner, against those published so far (the file is read as it is ingested).
  const processedAtStart = rt.runner.stats.processed + rt.runner.stats.failed;
  const processed = () => rt.runner.stats.processed + rt.runner.stats.failed - processedAtStart;
  let publishedMessages = 0;
  const ingesting = progress.start('ingesting', 0, 'messages');
  const poll = setInterval(() => ingesting.update(processed(), publishedMessages), POLL_MS);
  let published;
  try {
    published = await publishFile(rt, {
      file: values.file,
      format,
      receivedAt,
      attributes,
      onProgress: (p) => (publishedMessages = p.messages),
    });
    publishedMessages = published.messages;
    await rt.runner.drain();
  } catch (err) {
    if (err instanceof PosCsvError) throw new UsageError(`${values.file}: ${err.message}`);
    throw err;
  } finally {
    clearInterval(poll);
    ingesting.update(processed(), publishedMessages);
    ingesting.stop();
  }
  ctx.err(`published ${published.entries} entries from ${values.file} in ${published.messages} messages, ingested; building marts`);
  const building = martBuildProgress(progress);
  let marts;
  try {
    marts = await runMartCycle({ ...rt, onWindow: building.onWindow });
  } finally {
    building.stop();
  }
  await exportRejectionDocuments(rt, rt.clock.now());
  const counts = await rt.runCounts(runId);
  const rejected = totalRejected(counts);
  if (rejected > 0) {
    const shown = await firstRejections(rt, runId, published, SHOWN_REJECTIONS);
    ctx.err(`${rejected} of ${counts.published} entries rejected${rejected > shown.length ? ` (the first ${shown.length}; tillstream rejections lists them all)` : ''}:`);
    for (const r of shown) ctx.err(`  ${r.line === undefined ? '' : `line ${r.line}: `}${r.reason}${r.detail ? `: ${r.detail}` : ''}`);
  }
  ctx.out(JSON.stringify({ ...counts, series_cells: marts.cells }));
  if (!invariantHolds(counts)) {
    ctx.err(`INVARIANT BROKEN: published ${counts.published} ≠ accepted ${counts.accepted} + rejected ${rejected} + duplicates ${counts.duplicates}`);
    return 1;
  }
  if (counts.published > 0 && counts.accepted === 0 && counts.duplicates === 0) {
    ctx.err(`nothing from ${values.file} was accepted (exit ${EXIT_ALL_REJECTED})`);
    return EXIT_ALL_REJECTED;
  }
  return 0;
};
