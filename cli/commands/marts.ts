// `tillstream marts --from T1 --to T2 [--marts a,b]` builds marts for a range (half-open ISO instants)
// and exports them; `tillstream reprocess` does the same after a bug, optionally re-validating the
// archived payloads first, and prints what changed.
//
// With TILLSTREAM_RUNTIME=gcp both run on the deployment (BigQuery, Bigtable, the payload archive),
// and BigQuery bills by bytes scanned: so they first dry-run every statement the run would issue
// (pipeline/marts/dry-run.ts), print the bytes and the on-demand cost, and go on only with --yes or
// when the total is within --max-bytes. Otherwise nothing runs and the exit code is 3.
import { parseArgs } from 'node:util';
import { DEFAULT_INGEST_CONFIG } from '../../pipeline/ingest/config.js';
import { createDryRunWarehouse, discardingSeriesStore, formatBytes, type DryRunEstimate, type DryRunFn } from '../../pipeline/marts/dry-run.js';
import { viewsDeployed } from '../../pipeline/marts/runner.js';
import { runCycle, type CycleResult } from '../../pipeline/marts/hourly.js';
import { MARTS } from '../../pipeline/marts/manifest.js';
import { clearChunkRows, type ChunkRows } from '../../pipeline/marts/replacing-sink.js';
import { reprocess, type ReprocessDeps, type ReprocessOptions, type ReprocessReport } from '../../pipeline/marts/reprocess.js';
import { rangeWindows } from '../../pipeline/marts/statements.js';
import { ceilHour, floorHour, HOUR_MS } from '../../pipeline/time.js';
import type { ArrivalRow, Clock, InboundMessage, IngestWrite, SeriesStore, Warehouse } from '../../pipeline/ports.js';
import { UsageError, type Command, type CommandContext } from '../context.js';
import { martBuildProgress, NO_PROGRESS, type ProgressStep } from '../progress.js';

/** The gcp runtime's module, loaded only when a command runs on gcp: its Google clients take seconds to load, which every local command would pay. */
const gcpRuntimeModule = () => import('../../runtime/gcp.js');

/** Exit code when a gcp run was estimated but not confirmed (no --yes, or over --max-bytes). */
export const EXIT_NOT_CONFIRMED = 3;

export function parseRange(values: { from?: string; to?: string }): { from: Date; to: Date } {
  const parse = (name: string, text: string | undefined): Date => {
    if (!text || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
      throw new UsageError(`--${name} must be an ISO 8601 instant with an offset, e.g. 2026-11-20T00:00:00Z`);
    }
    return new Date(text);
  };
  const from = parse('from', values.from);
  const to = parse('to', values.to);
  if (to <= from) throw new UsageError('--to must be after --from (the range is half-open)');
  return { from, to };
}

export function parseMartList(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const stems = text.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(MARTS.map((m) => m.stem));
  const unknown = stems.filter((s) => !known.has(s));
  if (unknown.length) throw new UsageError(`unknown mart(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  return stems;
}

/** The gate's flags, shared by `marts` and `reprocess` (accepted locally too, where nothing is billed). */
const GATE_OPTIONS = { yes: { type: 'boolean', default: false }, 'max-bytes': { type: 'string' } } as const;

export interface Gate {
  yes: boolean;
  maxBytes?: number;
}

export function parseGate(values: { yes?: boolean; 'max-bytes'?: string }): Gate {
  const text = values['max-bytes'];
  if (text === undefined) return { yes: values.yes ?? false };
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError('--max-bytes must be a whole number of bytes, e.g. 50000000000');
  return { yes: values.yes ?? false, maxBytes: Number(text) };
}

/**
 * Prints the estimate and decides. --max-bytes is a ceiling: above it nothing runs, even with --yes;
 * within it the run goes ahead. Without --max-bytes, only --yes lets it run.
 */
export function confirmEstimate(ctx: Pick<CommandContext, 'out' | 'err'>, command: string, estimate: DryRunEstimate, gate: Gate): boolean {
  ctx.err(`dry run: ${estimate.statements.reduce((n, s) => n + s.runs, 0)} BigQuery statements (${estimate.statements.length} distinct)`);
  for (const s of estimate.statements) if (s.bytes > 0) ctx.err(`  ${formatBytes(s.bytes)}${s.runs > 1 ? ` × ${s.runs}` : ''}  ${s.label}`);
  const cost = `$${estimate.estimatedCostUsd.toFixed(2)}`;
  ctx.err(`total: ${estimate.bytesProcessed} bytes scanned (${formatBytes(estimate.bytesProcessed)}), ${formatBytes(estimate.bytesBilled)} billed, estimated on-demand cost ${cost}`);
  const refuse = (why: string): false => {
    ctx.err(`tillstream ${command}: ${why}; nothing was run`);
    ctx.out(JSON.stringify({ dry_run: { statements: estimate.statements.reduce((n, s) => n + s.runs, 0), bytes_processed: estimate.bytesProcessed, bytes_billed: estimate.bytesBilled, estimated_cost_usd: Number(estimate.estimatedCostUsd.toFixed(4)) }, ran: false }));
    return false;
  };
  if (gate.maxBytes !== undefined) {
    if (estimate.bytesProcessed > gate.maxBytes) return refuse(`the run would scan ${estimate.bytesProcessed} bytes, more than --max-bytes ${gate.maxBytes}`);
    return true;
  }
  if (!gate.yes) return refuse(`confirm with --yes to scan ${formatBytes(estimate.bytesProcessed)} (about ${cost}), or pass --max-bytes N to run whenever the scan is at most N bytes`);
  return true;
}

interface MartsDeps {
  warehouse: Warehouse;
  series: SeriesStore;
  clock: Clock;
  onWindow?: ReprocessDeps['onWindow'];
}

/** One `marts` run: the mart cycle over the range's windows (rebuild, export, documents). */
async function buildAndExport(deps: MartsDeps, range: { from: Date; to: Date; marts?: string[] }): Promise<CycleResult> {
  return runCycle(deps, { kind: 'build', windows: rangeWindows(range) });
}

export const martsCommand: Command = async (argv, ctx) => {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, to: { type: 'string' }, marts: { type: 'string' }, ...GATE_OPTIONS }, strict: true });
  const { from, to } = parseRange(values);
  const marts = parseMartList(values.marts);
  const gate = parseGate(values);
  let deps: MartsDeps;
  if (ctx.gcp) {
    const rt = await ctx.gcp();
    const { warehouse, series, clock } = (await gcpRuntimeModule()).gcpMartDeps(rt);
    const dry = createDryRunWarehouse((sql, params) => warehouse.dryRun(sql, params));
    // Estimates what the gcp run issues: Terraform owns the views, the run never replaces them.
    viewsDeployed(dry);
    await buildAndExport({ warehouse: dry, series: discardingSeriesStore, clock }, { from, to, marts });
    if (!confirmEstimate(ctx, 'marts', dry.estimate(), gate)) return EXIT_NOT_CONFIRMED;
    deps = { warehouse, series, clock };
  } else {
    const rt = await ctx.runtime();
    deps = { warehouse: rt.warehouse, series: rt.series, clock: rt.clock };
  }
  const building = martBuildProgress(ctx.progress ?? NO_PROGRESS);
  let cycle;
  try {
    cycle = await buildAndExport({ ...deps, onWindow: building.onWindow }, { from, to, marts });
  } finally {
    building.stop();
  }
  ctx.out(JSON.stringify({
    windows: cycle.windows.map((w) => ({ mart: w.mart, from: w.windowStart.toISOString(), to: w.windowEnd.toISOString(), rows_before: w.rowsBefore, rows_after: w.rowsAfter })),
    series_cells: cycle.cells,
  }));
  return 0;
};

/**
 * The dry-run replay of a reprocess. Without --revalidate it is the reprocess itself on the dry
 * warehouse. With it, which hours change is known only once entries are validated again; the replay
 * reads the archive as the run would (dry-running each chunk's look-ups) and assumes every message
 * touches every hour from the maximum event age before --from to the future skew after --to — where a
 * non-backfill event received in the range can lie — so the rebuild estimate is an upper bound. Each
 * chunk's rows are cleared as the gcp run clears them (the chunk deletes of replacing-sink.ts, over
 * the partitions the clock rule allows: with no rows, the replay knows no older event hours); the
 * streaming inserts that follow are billed by rows, not scanned bytes.
 */
export async function estimateReprocess(deps: Required<Pick<ReprocessDeps, 'archive'>> & { dryRun: DryRunFn; clock: Clock }, opts: ReprocessOptions): Promise<DryRunEstimate> {
  const dry = createDryRunWarehouse(deps.dryRun);
  viewsDeployed(dry);
  let stage: ReprocessDeps['stage'];
  if (opts.revalidate) {
    const arrivals: ArrivalRow[] = [];
    const last = ceilHour(new Date(opts.to.getTime() + DEFAULT_INGEST_CONFIG.futureSkewMs));
    for (let t = floorHour(new Date(opts.from.getTime() - DEFAULT_INGEST_CONFIG.maxEventAgeMs)).getTime(); t < last.getTime(); t += HOUR_MS) {
      arrivals.push({ message_id: '', merchant_id: '', event_hour: new Date(t), received_at: opts.from });
    }
    stage = async (_msg: InboundMessage): Promise<{ write: IngestWrite }> => ({ write: { accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals } });
  }
  const clearAhead = opts.revalidate ? (chunk: ChunkRows) => clearChunkRows(dry, chunk) : undefined;
  await reprocess({ warehouse: dry, series: discardingSeriesStore, clock: deps.clock, archive: deps.archive, stage, clearAhead }, opts);
  return dry.estimate();
}

/** The report both runtimes print: progress on stderr, one JSON line on stdout. */
function printReprocessReport(ctx: Pick<CommandContext, 'out' | 'err'>, report: ReprocessReport): void {
  for (const [mart, c] of Object.entries(report.marts)) {
    ctx.err(`  ${mart}: ${c.rowsBefore} → ${c.rowsAfter} rows (+${c.rowsAdded} −${c.rowsRemoved})`);
  }
  if (report.revalidation) {
    const moved = Object.entries(report.revalidation.moved).map(([k, n]) => `${k} ${n}`).join(', ') || 'nothing moved';
    ctx.err(`  re-validated ${report.revalidation.entries} entries of ${report.revalidation.messages} messages: ${moved}`);
  }
  // stdout is machine-read: snake_case keys, as in the `marts` command and the `--once` summary.
  const changes = Object.fromEntries(
    Object.entries(report.marts).map(([mart, c]) => [mart, { rows_before: c.rowsBefore, rows_after: c.rowsAfter, rows_added: c.rowsAdded, rows_removed: c.rowsRemoved }]),
  );
  ctx.out(JSON.stringify({
    windows: report.windows.length,
    marts: changes,
    series_cells: report.cells,
    series_rows_deleted: report.deletedRows,
    ...(report.revalidation ? { revalidation: report.revalidation } : {}),
  }));
}

export const reprocessCommand: Command = async (argv, ctx) => {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, to: { type: 'string' }, marts: { type: 'string' }, revalidate: { type: 'boolean', default: false }, ...GATE_OPTIONS },
    strict: true,
  });
  const { from, to } = parseRange(values);
  const marts = parseMartList(values.marts);
  const gate = parseGate(values);
  const opts: ReprocessOptions = { from, to, marts, revalidate: values.revalidate };
  let deps: ReprocessDeps;
  if (ctx.gcp) {
    const rt = await ctx.gcp();
    const gcp = (await gcpRuntimeModule()).gcpMartDeps(rt);
    ctx.err(`dry run of reprocessing ${from.toISOString()} .. ${to.toISOString()} on BigQuery${values.revalidate ? ' (reading the payload archive; rebuild estimated over the maximum event age before --from)' : ''}…`);
    const estimate = await estimateReprocess({ archive: gcp.archive, clock: gcp.clock, dryRun: (sql, params) => gcp.warehouse.dryRun(sql, params) }, opts);
    if (!confirmEstimate(ctx, 'reprocess', estimate, gate)) return EXIT_NOT_CONFIRMED;
    deps = gcp;
  } else {
    const rt = await ctx.runtime();
    deps = { warehouse: rt.warehouse, series: rt.series, clock: rt.clock, archive: rt.archive, dedupe: rt.warehouse, stage: rt.stage };
  }
  ctx.err(`reprocessing ${from.toISOString()} .. ${to.toISOString()}${values.revalidate ? ' (re-validating archived payloads by received_at first)' : ''}…`);
  const progress = ctx.progress ?? NO_PROGRESS;
  const building = martBuildProgress(progress, 'rebuilding marts');
  // The archive is read as a stream, so the total is what has been read so far.
  let revalidating: ProgressStep | undefined;
  const onRevalidated = (p: { entries: number }) => (revalidating ??= progress.start('re-validating', 0, 'entries')).update(p.entries, p.entries);
  try {
    printReprocessReport(ctx, await reprocess({ ...deps, onWindow: (p) => (revalidating?.stop(), building.onWindow(p)), onRevalidated }, opts));
  } finally {
    revalidating?.stop();
    building.stop();
  }
  return 0;
};
