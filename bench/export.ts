// Export figure: cells/s written into the Bigtable emulator by the exporter's write path
// (writeSeries over the Bigtable series store: each bucket's mart family replaced, requests batched
// and flow-controlled by the store) against a bare loop of batched MutateRows calls (1,000 rows per
// request, one request at a time) writing the same cells into a fresh table. Each run is its own
// process, so its peak RSS (getrusage maxRSS) is its own: the exporter at 1× and 10× the cells.
// `npm run bench -- --only export` measures it alone and updates it in latest.json.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../adapters/gcp/bigtable-series-store.js';
import { writeSeries } from '../pipeline/marts/exporter.js';
import { encodeRowKey, hourBucket } from '../pipeline/series/row-key.js';
import { startEmulators } from '../scripts/emulators/run.js';

export interface ExportFigures {
  cells_per_s: number;
  baseline_cells_per_s: number;
  ratio: number;
  peak_rss_mb_1x: number;
  peak_rss_mb_10x: number;
  cells_1x: number;
}

const METRICS = ['orders', 'items', 'gross_revenue_minor', 'discount_minor', 'net_revenue_minor', 'refund_minor', 'refunds', 'cancellations', 'online_orders', 'pos_orders'];
const HOUR_MS = 3_600_000;
const START = Date.parse('2026-11-01T00:00:00Z');

/** `rows` hourly sales buckets over 1,000 merchants, ten metrics each (what a window of the sales mart maps to). */
function seriesCells(rows: number): Map<string, { key: string; cells: Record<string, number> }> {
  const out = new Map<string, { key: string; cells: Record<string, number> }>();
  for (let i = 0; i < rows; i++) {
    const key = encodeRowKey({ merchantId: `m${String(i % 1000).padStart(5, '0')}`, series: 'sales', dims: {}, grain: 'h' }, hourBucket(new Date(START + Math.floor(i / 1000) * HOUR_MS)));
    out.set(key, { key, cells: Object.fromEntries(METRICS.map((m, j) => [m, i + j])) });
  }
  return out;
}

/** One measured run in this process: prints {cells, seconds, peak_rss_mb}. */
async function child(mode: 'exporter' | 'baseline', rows: number): Promise<void> {
  const table = await ensureTable(bigtableClient('bench').instance('bench'), `export-${mode}-${process.pid}`, SERIES_FAMILIES);
  const written = seriesCells(rows);
  const t0 = performance.now();
  if (mode === 'exporter') {
    await writeSeries(createBigtableSeriesStore(table), written as never, { finalizedBefore: new Date(START) });
  } else {
    const entries = [...written.values()].map((c) => ({
      rowKey: Buffer.from(c.key),
      mutations: Object.entries(c.cells).map(([q, v]) => ({ setCell: { familyName: 'm', columnQualifier: Buffer.from(q), timestampMicros: -1, value: Buffer.from(String(v)) } })),
    }));
    for (let i = 0; i < entries.length; i += 1000) await table.mutate(entries.slice(i, i + 1000), { rawMutation: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ cells: rows * METRICS.length, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

async function run(host: string, mode: 'exporter' | 'baseline', rows: number): Promise<{ cells: number; seconds: number; peak_rss_mb: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), mode, String(rows)], {
    env: { ...process.env, BIGTABLE_EMULATOR_HOST: host, METADATA_SERVER_DETECTION: 'none' },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

export async function measureExport(opts: { rows: number; log: (s: string) => void }): Promise<ExportFigures> {
  const emulators = await startEmulators();
  try {
    const base = await run(emulators.bigtableHost, 'baseline', opts.rows);
    opts.log(`  baseline ${base.cells} cells: ${base.seconds.toFixed(2)} s, ${base.peak_rss_mb.toFixed(0)} MB`);
    const one = await run(emulators.bigtableHost, 'exporter', opts.rows);
    opts.log(`  exporter ${one.cells} cells: ${one.seconds.toFixed(2)} s, ${one.peak_rss_mb.toFixed(0)} MB`);
    const ten = await run(emulators.bigtableHost, 'exporter', opts.rows * 10);
    opts.log(`  exporter ${ten.cells} cells: ${ten.seconds.toFixed(2)} s, ${ten.peak_rss_mb.toFixed(0)} MB`);
    const cellsPerS = Math.round(one.cells / one.seconds);
    const baselinePerS = Math.round(base.cells / base.seconds);
    return {
      cells_per_s: cellsPerS,
      baseline_cells_per_s: baselinePerS,
      ratio: Number((cellsPerS / baselinePerS).toFixed(2)),
      peak_rss_mb_1x: Math.round(one.peak_rss_mb),
      peak_rss_mb_10x: Math.round(ten.peak_rss_mb),
      cells_1x: one.cells,
    };
  } finally {
    await emulators.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && (process.argv[2] === 'exporter' || process.argv[2] === 'baseline')) {
  await child(process.argv[2], Number(process.argv[3]));
  process.exit(0);
}
