// `tillstream reprocess` and `tillstream marts` with TILLSTREAM_RUNTIME=gcp: a BigQuery dry run of every
// statement first, nothing run without --yes (exit 3), then the run on the gcp ports. Bigtable is the
// emulator. BigQuery has no emulator: its client is stubbed at createQueryJob with the adapter's
// documented request shapes (a dry run is a query job with `dryRun: true` whose metadata carries
// statistics.totalBytesProcessed; window bounds travel as @window_start/@window_end params), and the
// jobs that are not dry runs execute the same SQL on a DuckDB warehouse through the dialect layer, so
// the marts are really built and the cells in Bigtable come from real mart rows.
import assert from 'node:assert/strict';
import { LAST_MERCHANT } from '../../pipeline/marts/windows.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { managedwriter } from '@google-cloud/bigquery-storage';
import sinon from 'sinon';
import { bigtableClient, dedupeFamilies, ensureTable, SERIES_FAMILIES } from '../../adapters/gcp/bigtable.js';
import { parseGcpConfig } from '../../adapters/gcp/config.js';
import { createGcpRuntime, type GcpRuntime } from '../../runtime/gcp.js';
import { createBigtableSeriesStore } from '../../adapters/gcp/bigtable-series-store.js';
import { appendRows } from '../../adapters/local/duckdb-values.js';
import type { LocalWarehouse } from '../../adapters/local/warehouse.js';
import { martsCommand, reprocessCommand } from '../../cli/commands/marts.js';
import { UsageError } from '../../cli/context.js';
import { openLocalPipeline } from '../../runtime/local-writer.js';
import { createCommandContext } from '../../cli/runtime-select.js';
import { MIN_BILLED_BYTES } from '../../pipeline/marts/dry-run.js';
import { martRows, seriesCellsOf } from '../../pipeline/marts/exporter.js';
import { rankedTwinKey } from '../../pipeline/series/ranked.js';
import { MARTS } from '../../pipeline/marts/manifest.js';
import { prepareMarts } from '../../pipeline/marts/runner.js';
import { DimensionsFile, resolveDimensions } from '../../pipeline/contracts/dimensions.js';
import { FAMILY_MART, type ArchiveReader, type DimensionsStore, type InboundMessage, type SqlParams } from '../../pipeline/ports.js';
import { RAW_TABLES } from '../../pipeline/schema/raw.js';
import { TEST_INSTANCE, TEST_PROJECT, gcpRuntimeEnv, useEmulators } from '../adapters/gcp/support/emulators.js';
import { loadDimensions, loadEvents, openWarehouse, order } from '../pipeline/marts/support.js';

const DIMENSIONS = {
  merchants: [{ id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' }],
  stores: [
    { id: 's1', merchant_id: 'pizzaco', name: 'Mitte', city: 'Berlin', region: 'BE' },
    { id: 's2', merchant_id: 'pizzaco', name: 'Altona', city: 'Hamburg', region: 'HH' },
  ],
  fraud_ips: [],
};

/** A raw row's key, as the read side keys it (what insertAll's insertId was). */
function rowKey(table: string, r: Record<string, unknown>): string {
  if (table === 'raw.order_lines') return `${String(r.merchant_id)}:${String(r.event_id)}:${String(r.line_index)}`;
  if (table === 'raw.arrivals') return `${String(r.message_id)}:${String(r.merchant_id)}:${new Date(r.event_hour as Date).toISOString()}`;
  if (table === 'raw.events') return `${String(r.merchant_id)}:${String(r.event_id)}`;
  return `${String(r.message_id)}:${String(r.entry_index)}`;
}

/** What the stubbed dry run answers: a fixed size per table a statement reads, so totals are exact. */
function stubBytes(sql: string): number {
  const tables = sql.match(/\b(raw|staging|marts|dims)\.[a-z_]+/g) ?? [];
  return /^\s*(create|insert)\b/i.test(sql) ? 0 : new Set(tables).size * 3_000_000;
}

interface Job {
  query: string;
  dryRun: boolean;
  params?: SqlParams;
}

describe('tillstream reprocess and marts with TILLSTREAM_RUNTIME=gcp', function () {
  this.timeout(120_000);
  const sandbox = sinon.createSandbox();
  const suffix = `${process.pid}-${Date.now()}`;
  const seriesTable = `series-reprocess-${suffix}`;
  let env: NodeJS.ProcessEnv;
  let duck: LocalWarehouse;
  let jobs: Job[];

  before(async () => {
    const emulators = await useEmulators();
    await ensureTable(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE), seriesTable, SERIES_FAMILIES);
    env = gcpRuntimeEnv(emulators, {
      TILLSTREAM_SERIES_TABLE: seriesTable,
    });
    duck = await openWarehouse();
    // The staging and reporting views, as Terraform deploys them in BigQuery (a gcp run never replaces them).
    await prepareMarts(duck);
    const dims = await loadDimensions(duck, DIMENSIONS);
    await loadEvents(duck, dims, [
      { event: order({ merchant: 'pizzaco', store: 's1', at: '2026-11-20T10:05:00Z', currency: 'EUR', lines: [{ sku: 'margherita', quantity: 2, unit_price_minor: 850 }] }) },
      { event: order({ merchant: 'pizzaco', store: 's1', at: '2026-11-20T10:40:00Z', currency: 'EUR', lines: [{ sku: 'funghi', quantity: 1, unit_price_minor: 1100 }] }) },
      { event: order({ merchant: 'pizzaco', store: 's2', at: '2026-11-20T11:15:00Z', currency: 'EUR', lines: [{ sku: 'margherita', quantity: 1, unit_price_minor: 850 }] }) },
    ]);
  });
  after(async () => {
    await duck?.close();
  });

  beforeEach(() => {
    jobs = [];
    sandbox.stub(BigQuery.prototype, 'createQueryJob').callsFake((async (options: { query: string; dryRun?: boolean; params?: SqlParams; location?: string; useLegacySql?: boolean }) => {
      assert.deepEqual([options.location, options.useLegacySql], ['EU', false]);
      jobs.push({ query: options.query, dryRun: options.dryRun === true, params: options.params });
      if (options.dryRun) return [{ metadata: { statistics: { totalBytesProcessed: String(stubBytes(options.query)) } } }, {}];
      return [{ metadata: {}, getQueryResults: async () => [await duck.query(options.query, options.params)] }, {}];
    }) as never);
  });
  afterEach(() => sandbox.restore());

  async function run(command: 'reprocess' | 'marts', argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const ctx = createCommandContext({
      name: command,
      env,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      openLocal: () => Promise.reject(new Error('the local data directory must not be opened')),
    });
    try {
      const exit = await (command === 'reprocess' ? reprocessCommand : martsCommand)(argv, ctx);
      return { exit, out, err };
    } finally {
      await ctx.close();
    }
  }

  const RANGE = ['--from', '2026-11-20T10:00:00Z', '--to', '2026-11-20T12:00:00Z'];
  const dryJobs = () => jobs.filter((j) => j.dryRun);
  const realJobs = () => jobs.filter((j) => !j.dryRun);

  it('without --yes dry-runs every statement, prints bytes and cost, runs nothing and exits 3', async () => {
    const r = await run('reprocess', RANGE);
    assert.equal(r.exit, 3);
    assert.ok(jobs.length > 0);
    assert.deepEqual(realJobs(), []);
    // Every mart's rebuild is dry-run once, bound to the range's whole hours.
    const rebuilds = dryJobs().filter((j) => /^\s*(--[^\n]*\n\s*)*merge\b/im.test(j.query) || /\bmerge\s+into\b/i.test(j.query));
    assert.equal(rebuilds.length, MARTS.length);
    // A range build rebuilds every merchant from the range start (all_from), so no cell list applies.
    const range = { window_start: new Date('2026-11-20T10:00:00Z'), window_end: new Date('2026-11-20T12:00:00Z'), all_from: new Date('2026-11-20T10:00:00Z'), merchants: [''], cells: [''], merchant_from: '', merchant_to: LAST_MERCHANT };
    const horizonStart = new Date(Date.parse('2026-11-20T10:00:00Z') - 400 * 86_400_000);
    for (const j of rebuilds) {
      const extra = /mart_hourly_store_inventory/.test(j.query) ? { carry_from: horizonStart } : /mart_daily_promotion_performance/.test(j.query) ? { horizon_start: horizonStart } : {};
      assert.deepEqual(j.params, { ...range, ...extra });
    }
    const printed = JSON.parse(r.out.at(-1)!) as { dry_run: { statements: number; bytes_processed: number; bytes_billed: number; estimated_cost_usd: number }; ran: boolean };
    assert.equal(printed.ran, false);
    assert.ok(printed.dry_run.bytes_processed > 0);
    // Each run that scans is billed at least 10 MB; the stub answers multiples of 3 MB.
    assert.ok(printed.dry_run.bytes_billed > printed.dry_run.bytes_processed && printed.dry_run.bytes_billed >= MIN_BILLED_BYTES);
    assert.equal(printed.dry_run.estimated_cost_usd, Number(((printed.dry_run.bytes_billed / 1024 ** 4) * 6.25).toFixed(4)));
    assert.ok(r.err.some((l) => l.startsWith(`total: ${printed.dry_run.bytes_processed} bytes scanned (`) && / estimated on-demand cost \$\d+\.\d\d$/.test(l)), r.err.join('\n'));
    assert.equal(
      r.err.at(-1),
      `tillstream reprocess: confirm with --yes to scan ${r.err.find((l) => l.startsWith('total: '))!.match(/\(([^)]+)\)/)![1]} (about $${printed.dry_run.estimated_cost_usd.toFixed(2)}), or pass --max-bytes N to run whenever the scan is at most N bytes; nothing was run`,
    );
  });

  it('refuses a run above --max-bytes even with --yes, and runs one within it', async () => {
    const over = await run('reprocess', [...RANGE, '--yes', '--max-bytes', '1000']);
    assert.equal(over.exit, 3);
    assert.deepEqual(realJobs(), []);
    const bytes = (JSON.parse(over.out.at(-1)!) as { dry_run: { bytes_processed: number } }).dry_run.bytes_processed;
    assert.equal(over.err.at(-1), `tillstream reprocess: the run would scan ${bytes} bytes, more than --max-bytes 1000; nothing was run`);
    jobs = [];
    const within = await run('reprocess', [...RANGE, '--max-bytes', String(bytes)]);
    assert.equal(within.exit, 0, within.err.join('\n'));
    assert.ok(realJobs().length > 0);
    await assert.rejects(run('reprocess', [...RANGE, '--max-bytes', '10GB']), (e: unknown) => e instanceof UsageError && e.message === '--max-bytes must be a whole number of bytes, e.g. 50000000000');
  });

  it('with --yes dry-runs first, then runs exactly the statements it estimated and writes the series cells to Bigtable', async () => {
    const r = await run('reprocess', [...RANGE, '--yes']);
    assert.equal(r.exit, 0, r.err.join('\n'));
    const firstReal = jobs.findIndex((j) => !j.dryRun);
    assert.ok(firstReal > 0);
    assert.ok(jobs.slice(firstReal).every((j) => !j.dryRun), 'no dry run after the first real job');
    // The replay issued the same statements as the run: same texts, and the estimate is the run's bytes.
    assert.deepEqual([...new Set(dryJobs().map((j) => j.query))].sort(), [...new Set(realJobs().map((j) => j.query))].sort());
    const total = r.err.find((l) => l.startsWith('total: '))!;
    assert.equal(total.split(' ')[1], String(realJobs().reduce((n, j) => n + stubBytes(j.query), 0)));

    const report = JSON.parse(r.out.at(-1)!) as { windows: number; marts: Record<string, { rows_before: number; rows_after: number; rows_added: number; rows_removed: number }>; series_cells: number; series_rows_deleted: number };
    assert.equal(report.windows, MARTS.length);
    // Two store-hours; an earlier build of the range (another test) leaves the same rows: idempotent.
    const sales = report.marts.mart_hourly_store_sales!;
    assert.deepEqual([sales.rows_after, sales.rows_removed, sales.rows_added], [2, 0, 2 - sales.rows_before]);

    // Bigtable holds exactly the cells of the rebuilt mart rows.
    const expected = new Map<string, Record<string, number | null>>();
    for (const spec of MARTS) {
      const w = { mart: spec.stem, windowStart: new Date('2026-11-20T10:00:00Z'), windowEnd: new Date('2026-11-20T12:00:00Z') };
      for (const c of seriesCellsOf(spec, await martRows(duck, w))) expected.set(c.key, c.cells);
    }
    const series = createBigtableSeriesStore(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE).table(seriesTable));
    const rows = await series.readRange({ start: 'pizzaco#', end: 'pizzaco$' });
    const stored = new Map(rows.filter((row) => row.cells[FAMILY_MART]).map((row) => [row.key, row.cells[FAMILY_MART]!]));
    assert.equal(report.series_cells, [...expected.values()].reduce((n, c) => n + Object.keys(c).length, 0));
    // with the ranked rows of those a ranking reads (pipeline/series/ranked.ts), holding the same cells
    for (const [key, cells] of [...expected]) if (rankedTwinKey(key)) expected.set(rankedTwinKey(key)!, cells);
    assert.deepEqual(stored, expected);
    assert.equal(stored.get('pizzaco#sales#store=s1#h#2026112010')?.orders, 2);
    assert.equal(stored.get('pizzaco#sales#store=s2#h#2026112011')?.orders, 1);
  });

  it('marts --from --to dry-runs first and builds only with --yes', async () => {
    const refused = await run('marts', RANGE);
    assert.equal(refused.exit, 3);
    assert.deepEqual(realJobs(), []);
    jobs = [];
    const built = await run('marts', [...RANGE, '--yes']);
    assert.equal(built.exit, 0, built.err.join('\n'));
    const firstReal = jobs.findIndex((j) => !j.dryRun);
    assert.ok(firstReal > 0 && jobs.slice(firstReal).every((j) => !j.dryRun));
    const report = JSON.parse(built.out.at(-1)!) as { windows: { mart: string; from: string; to: string; rows_after: number }[] };
    assert.deepEqual(
      report.windows.map((w) => [w.mart, w.from, w.to]),
      MARTS.map((m) => [m.stem, '2026-11-20T10:00:00.000Z', '2026-11-20T12:00:00.000Z']),
    );
    assert.equal(report.windows.find((w) => w.mart === 'mart_hourly_store_sales')!.rows_after, 2);
  });
});


describe('tillstream reprocess --revalidate with TILLSTREAM_RUNTIME=gcp', function () {
  this.timeout(120_000);
  const sandbox = sinon.createSandbox();
  const suffix = `${process.pid}-${Date.now()}`;
  const seriesTable = `series-revalidate-${suffix}`;
  const dedupeTable = `dedupe-revalidate-${suffix}`;
  const RECEIVED = '2026-11-20T10:30:00.000Z';
  // The store s3 opened after these events were first ingested: its order was rejected as unknown_store.
  const NOW_DIMENSIONS = { ...DIMENSIONS, stores: [...DIMENSIONS.stores, { id: 's3', merchant_id: 'pizzaco', name: 'Neu', city: 'Berlin', region: 'BE' }] };
  const first = order({ merchant: 'pizzaco', store: 's1', at: '2026-11-20T10:05:00Z', currency: 'EUR', eventId: 'rv-1', lines: [{ sku: 'margherita', quantity: 1, unit_price_minor: 850 }] });
  const second = order({ merchant: 'pizzaco', store: 's3', at: '2026-11-20T10:20:00Z', currency: 'EUR', eventId: 'rv-2', lines: [{ sku: 'funghi', quantity: 2, unit_price_minor: 1100 }] });
  const message: InboundMessage = { id: 'msg-rv', receivedAt: new Date(RECEIVED), attributes: { source: 'pos' }, entries: [JSON.stringify(first), JSON.stringify(second)], deliveryAttempt: 1 };
  let env: NodeJS.ProcessEnv;
  let duck: LocalWarehouse;
  let jobs: Job[];
  let inserts: string[];

  before(async () => {
    const emulators = await useEmulators();
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    await ensureTable(instance, seriesTable, SERIES_FAMILIES);
    await ensureTable(instance, dedupeTable, dedupeFamilies(7 * 86_400));
    env = gcpRuntimeEnv(emulators, {
      TILLSTREAM_SERIES_TABLE: seriesTable,
      TILLSTREAM_DEDUPE_TABLE: dedupeTable,
    });
    duck = await openWarehouse();
    // The staging and reporting views, as Terraform deploys them in BigQuery (a gcp run never replaces them).
    await prepareMarts(duck);
    const dims = await loadDimensions(duck, NOW_DIMENSIONS);
    // As first ingested: entry 0 accepted, entry 1 rejected.
    await loadEvents(duck, dims, [{ event: first, messageId: message.id, receivedAt: RECEIVED }]);
    await duck.run(
      `insert into raw.rejected_events (message_id, entry_index, reason, detail, merchant_id, event_id, event_type, source, payload, received_at, rejected_at)
       values (@m, 1, 'unknown_store', 'store s3', 'pizzaco', 'rv-2', 'order', 'pos', @payload, @r, @r)`,
      { m: message.id, payload: message.entries[1]!, r: new Date(RECEIVED) },
    );
  });
  after(async () => {
    await duck?.close();
  });

  beforeEach(() => {
    jobs = [];
    inserts = [];
    sandbox.stub(BigQuery.prototype, 'createQueryJob').callsFake((async (options: { query: string; dryRun?: boolean; params?: SqlParams }) => {
      jobs.push({ query: options.query, dryRun: options.dryRun === true, params: options.params });
      if (options.dryRun) return [{ metadata: { statistics: { totalBytesProcessed: String(stubBytes(options.query)) } } }, {}];
      return [{ metadata: {}, getQueryResults: async () => [await duck.query(options.query, options.params)] }, {}];
    }) as never);
    // Raw rows go through the Storage Write API (adapters/gcp/bigquery-storage-sink.ts): each table's
    // default-stream connection is a stand-in that remembers its table, and the JSON rows the writer
    // is given land in the same DuckDB tables, as the rows BigQuery would be sent (the request
    // encoding itself is tested in test/adapters/gcp/bigquery-storage-sink.test.ts).
    sandbox.stub(managedwriter.WriterClient.prototype, 'createStreamConnection').callsFake((async (req: { destinationTable: string }) => ({
      destinationTable: req.destinationTable,
      onSchemaUpdated: () => ({ off: () => undefined }),
      close: () => undefined,
    })) as never);
    sandbox.stub(managedwriter.JSONWriter.prototype, 'appendRows').callsFake(function (this: unknown, rows: Record<string, unknown>[]) {
      // The writer keeps its connection privately; the stand-in above put the table on it.
      const destination = (this as { _writer: { _streamConnection: { destinationTable: string } } })._writer._streamConnection.destinationTable;
      const table = RAW_TABLES.find((t) => t.id === `raw.${destination.split('/').pop()}`)!;
      return {
        getResult: async () => {
          inserts.push(...rows.map((r) => `${table.id} ${rowKey(table.id, r)}`));
          await duck.exclusive((conn) => appendRows(conn, table, rows));
          return { appendResult: {} };
        },
      } as never;
    });
  });
  afterEach(() => sandbox.restore());

  /** The gcp runtime with the archive and dimensions in memory (their Cloud Storage adapters have their own tests). */
  async function openGcp(e: NodeJS.ProcessEnv): Promise<GcpRuntime> {
    const archive: ArchiveReader = {
      async *read(range) {
        if (message.receivedAt >= range.from && message.receivedAt < range.to) yield message;
      },
    };
    const resolved = resolveDimensions(DimensionsFile.parse(NOW_DIMENSIONS));
    const dimensions: DimensionsStore = { load: async () => undefined, get: async () => resolved };
    return Object.create(createGcpRuntime(parseGcpConfig(e)), { archive: { value: archive }, dimensions: { value: dimensions } }) as GcpRuntime;
  }

  it('dry-runs the look-ups, the row replacement and the rebuild first; then moves the entry, replaces the message\'s rows and exports the new store', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const ctx = createCommandContext({ name: 'reprocess', env, out: (l) => out.push(l), err: (l) => err.push(l), openLocal: () => Promise.reject(new Error('opened')), openGcp });
    const exit = await reprocessCommand(['--from', '2026-11-20T10:00:00Z', '--to', '2026-11-20T11:00:00Z', '--revalidate', '--yes'], ctx);
    await ctx.close();
    assert.equal(exit, 0, err.join('\n'));
    const firstReal = jobs.findIndex((j) => !j.dryRun);
    assert.ok(firstReal > 0 && jobs.slice(firstReal).every((j) => !j.dryRun));
    assert.ok(dryJobs(jobs).some((j) => j.query.startsWith('delete from raw.rejected_events')));
    assert.deepEqual([...new Set(dryJobs(jobs).map((j) => j.query))].sort(), [...new Set(jobs.filter((j) => !j.dryRun).map((j) => j.query))].sort());

    const report = JSON.parse(out.at(-1)!) as { revalidation: unknown; marts: Record<string, { rows_after: number }> };
    assert.deepEqual(report.revalidation, { messages: 1, entries: 2, moved: { 'rejected:unknown_store→accepted': 1 } });
    // The message's rows were replaced: both entries accepted, no rejection left.
    assert.deepEqual(inserts.sort(), ['raw.arrivals msg-rv:pizzaco:2026-11-20T10:00:00.000Z', 'raw.events pizzaco:rv-1', 'raw.events pizzaco:rv-2', 'raw.order_lines pizzaco:rv-1:0', 'raw.order_lines pizzaco:rv-2:0']);
    assert.deepEqual(await duck.query("select entry_index, store_id from raw.events where message_id = 'msg-rv' order by entry_index"), [{ entry_index: 0, store_id: 's1' }, { entry_index: 1, store_id: 's3' }]);
    assert.deepEqual(await duck.query("select * from raw.rejected_events where message_id = 'msg-rv'"), []);

    const series = createBigtableSeriesStore(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE).table(seriesTable));
    const [s3] = await series.readRange({ start: 'pizzaco#sales#store=s3#h#2026112010', end: 'pizzaco#sales#store=s3#h#2026112011' });
    const cells = s3?.cells[FAMILY_MART];
    assert.deepEqual([cells?.orders, cells?.items, cells?.gross_revenue_minor, cells?.net_revenue_minor], [1, 2, 2200, 2200]);
  });
});

const dryJobs = (jobs: Job[]) => jobs.filter((j) => j.dryRun);

describe('tillstream reprocess on the local runtime', function () {
  this.timeout(60_000);
  it('stays the default: no dry run, no gcp runtime, --yes accepted and the same report', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'reprocess-local-'));
    const out: string[] = [];
    const ctx = createCommandContext({ name: 'reprocess', env: {}, out: (l) => out.push(l), err: () => undefined, openLocal: () => openLocalPipeline({ dataDir, command: 'tillstream reprocess' }) });
    const createQueryJob = sinon.spy(BigQuery.prototype, 'createQueryJob');
    try {
      assert.equal(ctx.gcp, undefined);
      assert.equal(await reprocessCommand(['--from', '2026-11-20T10:00:00Z', '--to', '2026-11-20T11:00:00Z', '--yes', '--marts', 'mart_hourly_store_sales'], ctx), 0);
      assert.deepEqual(JSON.parse(out.at(-1)!), {
        windows: 1,
        marts: { mart_hourly_store_sales: { rows_before: 0, rows_after: 0, rows_added: 0, rows_removed: 0 } },
        series_cells: 0,
        series_rows_deleted: 0,
      });
      assert.equal(createQueryJob.callCount, 0);
    } finally {
      createQueryJob.restore();
      await ctx.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
