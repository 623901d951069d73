// `tillstream marts --from T1 --to T2 [--marts a,b]` builds marts for a range (half-open ISO instants)
// and exports them; `tillstream reprocess` does the same after a bug, optionally re-validating the
// archived payloads first, and prints what changed.
import { parseArgs } from 'node:util';
import { collectSeriesKeys, exportDocuments, exportWindows } from '../../pipeline/marts/exporter.js';
import { MARTS } from '../../pipeline/marts/manifest.js';
import { reprocess } from '../../pipeline/marts/reprocess.js';
import { buildMarts } from '../../pipeline/marts/runner.js';
import { UsageError, type Command } from '../context.js';

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

export const martsCommand: Command = async (argv, ctx) => {
  const { values } = parseArgs({ args: argv, options: { from: { type: 'string' }, to: { type: 'string' }, marts: { type: 'string' } }, strict: true });
  const { from, to } = parseRange(values);
  const marts = parseMartList(values.marts);
  const rt = await ctx.runtime();
  const previousKeys = new Set<string>();
  const build = await buildMarts(rt.warehouse, { windowStart: from, windowEnd: to, marts }, {
    kind: 'build',
    clock: rt.clock,
    beforeWindow: async (w) => {
      await collectSeriesKeys(rt.warehouse, w, previousKeys);
    },
  });
  const exported = await exportWindows({ warehouse: rt.warehouse, series: rt.series }, build.windows, { previousKeys });
  await exportDocuments({ warehouse: rt.warehouse, series: rt.series });
  ctx.out(JSON.stringify({
    windows: build.windows.map((w) => ({ mart: w.mart, from: w.windowStart.toISOString(), to: w.windowEnd.toISOString(), rows_before: w.rowsBefore, rows_after: w.rowsAfter })),
    series_cells: exported.cells,
  }));
  return 0;
};

export const reprocessCommand: Command = async (argv, ctx) => {
  const { values } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, to: { type: 'string' }, marts: { type: 'string' }, revalidate: { type: 'boolean', default: false } },
    strict: true,
  });
  const { from, to } = parseRange(values);
  const marts = parseMartList(values.marts);
  const rt = await ctx.runtime();
  ctx.err(`reprocessing ${from.toISOString()} .. ${to.toISOString()}${values.revalidate ? ' (re-validating archived payloads by received_at first)' : ''}…`);
  const report = await reprocess(
    { warehouse: rt.warehouse, series: rt.series, clock: rt.clock, archive: rt.archive, dedupe: rt.warehouse, stage: rt.stage },
    { from, to, marts, revalidate: values.revalidate },
  );
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
  return 0;
};
