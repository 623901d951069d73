// Export figures.
// `export`: cells/s written into the Bigtable emulator by the exporter (exportMartRun: the run's
// windows read from the warehouse page by page, each bucket's mart family replaced, requests batched
// and flow-controlled by the store) against a bare loop of batched MutateRows calls (1,000 rows per
// request, one request at a time) writing the same cells into a fresh table. The mart rows are hourly
// traffic rows of 1,000 merchants in a DuckDB file, with a run record whose window holds them all and
// no snapshot (every row new: a first export). Each run is its own process, so its peak RSS
// (getrusage maxRSS) is its own, and runs with the Node.js settings of the prod export job's container
// (NODE_OPTIONS sized from its memory limit, infra-cdktf/export-job-heap.ts); the DuckDB file is served
// to it from a process of its own, as BigQuery serves the job its query's pages (remoteWarehouse):
// the exporter at 1× and 10× the cells, and — the figure before
// streaming — the window-holding export (exportWindows: every row of the window and its cells in
// memory before the first write) at the same sizes; and both 10× runs again with the V8 heap capped at
// 96 MB (on the command line, above the job's NODE_OPTIONS), which tells live memory from the heap's
// growth between collections. The baseline and the 1×
// and 10× exports run three times, alternating; their figures are the medians.
// `export_changed`: a seeded workload through the local mart cycle, then a late POS batch touching one
// merchant's three hours: the cells the next run writes, against the cells of those hours and their
// local days (the bound), and the cells a full export of the same run's windows writes.
// `npm run bench -- --only export` measures both and updates them in latest.json.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../adapters/gcp/bigtable-series-store.js';
import { openLmdbSeriesStore } from '../adapters/local/series-store.js';
import { LocalWarehouse } from '../adapters/local/warehouse.js';
import { DimensionsFile, resolveDimensions } from '../pipeline/contracts/dimensions.js';
import { Event, type EventInput } from '../pipeline/contracts/events.js';
import { normalizeEvent, utcHourStart } from '../pipeline/ingest/normalize.js';
import { exportMartRun, exportRunSeries, exportWindows, seriesCellsOf } from '../pipeline/marts/exporter.js';
import { runMartCycle } from '../pipeline/marts/hourly.js';
import { discardingSeriesStore } from '../pipeline/marts/dry-run.js';
import { decodeSeriesRowKey } from '../pipeline/series/ranked.js';
import type { IngestWrite, SeriesMutation, SeriesStore, SqlParams, Warehouse } from '../pipeline/ports.js';
import { toDuckDb } from '../pipeline/sql/dialect.js';
import { startEmulators } from '../scripts/emulators/run.js';
import { DEFAULTS } from '../infra-cdktf/config.js';
import { exportJobNodeEnv } from '../infra-cdktf/export-job-heap.js';

export interface ExportFigures {
  cells_per_s: number;
  baseline_cells_per_s: number;
  ratio: number;
  peak_rss_mb_1x: number;
  peak_rss_mb_10x: number;
  cells_1x: number;
  /** Runs of the baseline, the 1× and the 10× export; cells/s and peak RSS are their medians. */
  rounds: number;
  /** The Node.js settings every measured process ran with: the prod export job's (infra-cdktf/export-job-heap.ts). */
  node_options: string;
  /** The machine's 1-minute load average when the runs began and when they ended. */
  load_avg: [number, number];
  /** Before streaming: the window-holding export's peak RSS at the same sizes. */
  window_peak_rss_mb_1x: number;
  window_peak_rss_mb_10x: number;
  /** The 10× export again with the V8 heap capped at this many MB (--max-old-space-size). */
  heap_limit_mb: number;
  /** Peak RSS of the exporter's capped 10× run, or null when it ran out of heap. */
  capped_peak_rss_mb_10x: number | null;
  /** Peak RSS of the window-holding export's capped 10× run, or null when it ran out of heap. */
  window_capped_peak_rss_mb_10x: number | null;
}

export interface ExportChangedFigures {
  /** Cells the run after the late batch wrote. */
  cells_written: number;
  /** Cells of the three touched hours and their local days, every series (the bound). */
  bound_cells: number;
  /** Cells a full export of that run's windows writes (every row of every rebuilt window). */
  window_cells: number;
  events: number;
  merchants: number;
}

const HOUR_MS = 3_600_000;
const START = Date.parse('2026-11-01T00:00:00Z');
const MERCHANTS = 1000;
const TRAFFIC_CELLS = 5;
const HEAP_LIMIT_MB = 96;
/** What the prod export job's container runs with (NODE_OPTIONS from its memory limit): the measured processes run with it too. */
export const EXPORTER_ENV = exportJobNodeEnv(DEFAULTS.prod.exportJob.memory);
/** Alternating baseline and exporter runs whose medians are the figures. */
const ROUNDS = 3;

type Measured = { cells: number; seconds: number; peak_rss_mb: number };
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** `rows` hourly traffic rows of 1,000 merchants and the run record of a window holding them, in a DuckDB file. */
async function prepare(file: string, rows: number): Promise<void> {
  const wh = await LocalWarehouse.open({ path: file, translate: toDuckDb });
  try {
    const hours = Math.ceil(rows / MERCHANTS);
    await wh.exclusive((conn) =>
      conn.run(`insert into marts.mart_hourly_traffic (merchant_id, hour_start, page_views, visitors, sessions, orders_with_session, orders_per_session)
        select 'm' || lpad(cast(i % ${MERCHANTS} as varchar), 5, '0'), to_timestamp(${START / 1000} + (i // ${MERCHANTS}) * 3600), i, i % 97, i % 89, i % 7, (i % 7) / ((i % 89) + 1)
        from range(${rows}) as t(i)`),
    );
    await wh.run(
      `insert into marts.mart_runs (run_id, kind, mart, window_start, window_end, started_at, finished_at, all_from, merchants, cells)
       values ('bench', 'build', 'mart_hourly_traffic', @window_start, @window_end, @started_at, @started_at, @window_start, [''], [''])`,
      { window_start: new Date(START), window_end: new Date(START + hours * HOUR_MS), started_at: new Date(START + (hours + 1) * HOUR_MS) },
    );
    await wh.run('CHECKPOINT');
  } finally {
    await wh.close();
  }
}

/**
 * The warehouse as the export job meets BigQuery: in another process. BigQuery runs a query's joins
 * and sort on its side and sends the result page by page; a DuckDB file opened in the exporter's own
 * process would run them in it instead, and its hash tables and sort grow with the window (measured:
 * the exporter into a discarding store, heap alike, 182 MB at 100k cells and 220 MB at 1M). So the
 * DuckDB file is served by a child process (`serve`) and the exporter's process holds only the pages
 * it is handed, one at a time, each acknowledged before the next is sent.
 */
type WarehouseRequest = { id: number; op: 'run' | 'query' | 'pages'; sql: string; params?: SqlParams } | { id: number; op: 'ack' };
type WarehouseReply = { id: number; rows?: unknown[]; page?: unknown[]; done?: true; error?: string };

async function serveWarehouse(file: string): Promise<void> {
  const wh = await LocalWarehouse.open({ path: file, translate: toDuckDb });
  const acks = new Map<number, () => void>();
  const send = (m: WarehouseReply) => new Promise<void>((resolve, reject) => process.send!(m, (err: Error | null) => (err ? reject(err) : resolve())));
  process.on('message', (m: WarehouseRequest) => {
    if (m.op === 'ack') return acks.get(m.id)?.();
    const answer = async (): Promise<WarehouseReply> => {
      if (m.op === 'run') return (await wh.run(m.sql, m.params), { id: m.id, done: true });
      if (m.op === 'query') return { id: m.id, rows: await wh.query(m.sql, m.params) };
      // The next page is read while the exporter works on the one sent (a stream reads ahead too), and
      // sent once that one is acknowledged: the exporter holds at most the page it works on and one.
      let acked = Promise.resolve();
      await wh.queryPages(m.sql, m.params, async (page) => {
        await acked;
        acked = new Promise<void>((resolve) => acks.set(m.id, resolve));
        await send({ id: m.id, page });
      });
      await acked;
      acks.delete(m.id);
      return { id: m.id, done: true };
    };
    answer().then(send, (err: unknown) => send({ id: m.id, error: String((err as Error)?.stack ?? err) }));
  });
  process.on('disconnect', () => void wh.close().then(() => process.exit(0)));
  process.send!({ id: 0, done: true });
}

async function remoteWarehouse(file: string): Promise<Warehouse & { close(): Promise<void> }> {
  // Its own heap and flags: the job's NODE_OPTIONS are for the measured process, not its stand-in source.
  const server: ChildProcess = fork(fileURLToPath(import.meta.url), ['serve', '0', file], { execArgv: ['--import', 'tsx'], serialization: 'advanced', env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<number, (m: WarehouseReply) => void>();
  server.on('message', (m: WarehouseReply) => waiting.get(m.id)?.(m));
  // A warehouse process that dies fails whatever waits on it (its start included) instead of hanging the run.
  server.once('exit', (code) => {
    for (const answer of waiting.values()) answer({ id: -1, error: `the warehouse process exited with ${code}` });
  });
  await new Promise<void>((resolve, reject) => waiting.set(0, (m) => (waiting.delete(0), m.error ? reject(new Error(m.error)) : resolve())));
  let next = 1;
  const request = (op: 'run' | 'query' | 'pages', sql: string, params: SqlParams | undefined, onPage?: (rows: unknown[]) => Promise<void>) =>
    new Promise<WarehouseReply>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (m) => {
        if (m.page) {
          void onPage!(m.page).then(() => server.send({ id, op: 'ack' }), reject);
          return;
        }
        waiting.delete(id);
        if (m.error) reject(new Error(`the warehouse process: ${m.error}`));
        else resolve(m);
      });
      server.send({ id, op, sql, ...(params ? { params } : {}) });
    });
  return {
    run: async (sql, params) => void (await request('run', sql, params)),
    query: async <T,>(sql: string, params?: SqlParams) => (await request('query', sql, params)).rows as T[],
    queryPages: async <T,>(sql: string, params: SqlParams | undefined, onPage: (rows: T[]) => Promise<void>) => void (await request('pages', sql, params, onPage as (rows: unknown[]) => Promise<void>)),
    close: () => new Promise<void>((resolve) => (server.once('exit', () => resolve()), server.disconnect())),
  };
}

/** One measured run in this process: prints {cells, seconds, peak_rss_mb}. */
async function child(mode: 'exporter' | 'window' | 'baseline', rows: number, file: string): Promise<void> {
  const table = await ensureTable(bigtableClient('bench').instance('bench'), `export-${mode}-${process.pid}`, SERIES_FAMILIES);
  const series = createBigtableSeriesStore(table);
  let cells = 0;
  let t0 = performance.now();
  if (mode === 'baseline') {
    // The same cells, built in memory from the same rows, then written by a bare loop.
    const written = seriesCellsOf({ stem: 'mart_hourly_traffic' }, Array.from({ length: rows }, (_, i) => ({
      merchant_id: `m${String(i % MERCHANTS).padStart(5, '0')}`,
      hour_start: new Date(START + Math.floor(i / MERCHANTS) * HOUR_MS),
      page_views: i,
      visitors: i % 97,
      sessions: i % 89,
      orders_with_session: i % 7,
      orders_per_session: (i % 7) / ((i % 89) + 1),
    })));
    const entries = written.map((c) => ({
      rowKey: Buffer.from(c.key),
      mutations: Object.entries(c.cells).map(([q, v]) => ({ setCell: { familyName: 'm', columnQualifier: Buffer.from(q), timestampMicros: -1, value: Buffer.from(String(v)) } })),
    }));
    cells = written.length * TRAFFIC_CELLS;
    t0 = performance.now();
    for (let i = 0; i < entries.length; i += 1000) await table.mutate(entries.slice(i, i + 1000), { rawMutation: true });
  } else {
    const wh = await remoteWarehouse(file);
    t0 = performance.now();
    if (mode === 'exporter') cells = (await exportMartRun({ warehouse: wh, series, now: () => new Date(START) }, { runId: 'bench', merchantFrom: '' })).cells;
    else {
      const hours = Math.ceil(rows / MERCHANTS);
      cells = (await exportWindows({ warehouse: wh, series }, [{ mart: 'mart_hourly_traffic', windowStart: new Date(START), windowEnd: new Date(START + hours * HOUR_MS) }], { finalizedBefore: new Date(START) })).cells;
    }
    await wh.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ cells, seconds, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

async function run(host: string, mode: 'prepare' | 'exporter' | 'window' | 'baseline', rows: number, file: string, heapMb?: number): Promise<Measured> {
  const heap = heapMb ? [`--max-old-space-size=${heapMb}`] : [];
  const { stdout } = await promisify(execFile)(process.execPath, [...heap, '--import', 'tsx', fileURLToPath(import.meta.url), mode, String(rows), file], {
    env: { ...process.env, ...(mode === 'prepare' ? {} : EXPORTER_ENV), BIGTABLE_EMULATOR_HOST: host, METADATA_SERVER_DETECTION: 'none' },
    maxBuffer: 1 << 20,
  });
  return mode === 'prepare' ? { cells: 0, seconds: 0, peak_rss_mb: 0 } : JSON.parse(stdout.trim().split('\n').at(-1)!);
}

/** `cells` is the 1× size (10× is measured too); rows are a fifth of it (five traffic cells a row). */
export async function measureExport(opts: { cells: number; log: (s: string) => void }): Promise<ExportFigures> {
  const rows = Math.round(opts.cells / TRAFFIC_CELLS);
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-export-'));
  const emulators = await startEmulators();
  try {
    const one = join(dir, 'one.duckdb');
    const ten = join(dir, 'ten.duckdb');
    await run(emulators.bigtableHost, 'prepare', rows, one);
    await run(emulators.bigtableHost, 'prepare', rows * 10, ten);
    const show = (what: string, r: { cells: number; seconds: number; peak_rss_mb: number }) => opts.log(`  ${what} ${r.cells} cells: ${r.seconds.toFixed(2)} s, ${r.peak_rss_mb.toFixed(0)} MB`);
    // A shared machine's load moves single runs by a factor of two or more: the baseline and the
    // exporter alternate, ROUNDS times each, and the figures are their medians.
    const loadBefore = loadavg()[0]!;
    const base: Measured[] = [];
    const e1: Measured[] = [];
    const e10: Measured[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      base.push(await run(emulators.bigtableHost, 'baseline', rows, one));
      show('baseline', base.at(-1)!);
      e1.push(await run(emulators.bigtableHost, 'exporter', rows, one));
      show('exporter', e1.at(-1)!);
      e10.push(await run(emulators.bigtableHost, 'exporter', rows * 10, ten));
      show('exporter', e10.at(-1)!);
    }
    const w1 = await run(emulators.bigtableHost, 'window', rows, one);
    show('window-holding export', w1);
    const w10 = await run(emulators.bigtableHost, 'window', rows * 10, ten);
    show('window-holding export', w10);
    // Live memory, not the V8 heap's growth between collections: the same 10× exports with the heap capped.
    const capped = async (mode: 'exporter' | 'window') => {
      try {
        const r = await run(emulators.bigtableHost, mode, rows * 10, ten, HEAP_LIMIT_MB);
        show(`${mode} (heap ≤ ${HEAP_LIMIT_MB} MB)`, r);
        return Math.round(r.peak_rss_mb);
      } catch {
        opts.log(`  ${mode} (heap ≤ ${HEAP_LIMIT_MB} MB) ran out of heap`);
        return null;
      }
    };
    const c10 = await capped('exporter');
    const cw10 = await capped('window');
    const cellsPerS = Math.round(median(e1.map((r) => r.cells / r.seconds)));
    const baselinePerS = Math.round(median(base.map((r) => r.cells / r.seconds)));
    return {
      cells_per_s: cellsPerS,
      baseline_cells_per_s: baselinePerS,
      ratio: Number((cellsPerS / baselinePerS).toFixed(2)),
      peak_rss_mb_1x: Math.round(median(e1.map((r) => r.peak_rss_mb))),
      peak_rss_mb_10x: Math.round(median(e10.map((r) => r.peak_rss_mb))),
      cells_1x: e1[0]!.cells,
      rounds: ROUNDS,
      node_options: EXPORTER_ENV.NODE_OPTIONS,
      load_avg: [Number(loadBefore.toFixed(1)), Number(loadavg()[0]!.toFixed(1))],
      window_peak_rss_mb_1x: Math.round(w1.peak_rss_mb),
      window_peak_rss_mb_10x: Math.round(w10.peak_rss_mb),
      heap_limit_mb: HEAP_LIMIT_MB,
      capped_peak_rss_mb_10x: c10,
      window_capped_peak_rss_mb_10x: cw10,
    };
  } finally {
    await emulators.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A series store that counts the cells set and passes everything on. */
function counting(inner: SeriesStore): SeriesStore & { sets: Extract<SeriesMutation, { kind: 'set' }>[] } {
  const sets: Extract<SeriesMutation, { kind: 'set' }>[] = [];
  return Object.assign(Object.create(inner) as SeriesStore, {
    sets,
    // The cells an export sends to Bigtable, which keeps ranked twins as rows of their own: the exporter
    // sends the twins' mutations too (a mirroring LMDB store applies them over its own copy, the same cells).
    mirrorsRankedTwins: false,
    mutate: async (ms: SeriesMutation[]) => {
      for (const m of ms) if (m.kind === 'set') sets.push(m);
      await inner.mutate(ms);
    },
  });
}

/**
 * `merchants` merchants with two stores each, orders, page views and inventory counts every hour of two
 * days; the hourly cycle exports them; then a late POS batch of one merchant's three hours arrives.
 */
export async function measureExportChanged(opts: { merchants: number; log: (s: string) => void }): Promise<ExportChangedFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-export-changed-'));
  const wh = await LocalWarehouse.open({ path: join(dir, 'warehouse.duckdb'), translate: toDuckDb });
  const lmdb = openLmdbSeriesStore({ path: join(dir, 'series') });
  try {
    const day0 = Date.parse('2026-11-20T00:00:00Z');
    const ids = Array.from({ length: opts.merchants }, (_, i) => `m${String(i).padStart(4, '0')}`);
    for (const m of ids) {
      await wh.run('insert into dims.merchants (merchant_id, name, time_zone, currency) values (@m, @m, @tz, @c)', { m, tz: 'Europe/Berlin', c: 'EUR' });
      for (const s of ['s1', 's2']) await wh.run('insert into dims.stores (merchant_id, store_id, name, city, region, time_zone) values (@m, @s, @s, @s, @s, @tz)', { m, s, tz: 'Europe/Berlin' });
    }
    await wh.run('insert into dims.settings (low_stock_threshold) values (10)');
    const dims = resolveDimensions(DimensionsFile.parse({ merchants: ids.map((id) => ({ id, name: id, time_zone: 'Europe/Berlin', currency: 'EUR' })), stores: ids.flatMap((m) => ['s1', 's2'].map((id) => ({ id, merchant_id: m, name: id }))) }));
    let seq = 0;
    /** Each store's hours: an order, an inventory count and a page view. */
    const events = (merchants: string[], hours: number[], receivedAt: (h: number) => number, source: 'pos' | 'online') =>
      merchants.flatMap((m) =>
        hours.flatMap((h) =>
          ['s1', 's2'].flatMap((store) => {
            const at = new Date(day0 + h * HOUR_MS + 600_000 + (source === 'pos' ? 60_000 : 0)).toISOString();
            const quantity = 1 + (h % 2);
            const line = { sku: `sku${h % 3}`, category: 'pizza', quantity, unit_price_minor: 900, discount_minor: 0 };
            const inputs: EventInput[] = [
              { event_id: `e${++seq}`, merchant_id: m, event_type: 'order', event_ts: at, source, schema_version: 1, store_id: store, body: { order_id: `o${seq}`, status: 'completed', channel: source === 'pos' ? 'pos' : 'online', fulfilment: 'pickup', currency: 'EUR', line_items: [line], gross_minor: 900 * quantity, discount_minor: 0, net_minor: 900 * quantity, refund_minor: 0 } } as EventInput,
              { event_id: `e${++seq}`, merchant_id: m, event_type: 'inventory', event_ts: at, source: 'pos', schema_version: 1, store_id: store, body: { sku: 'dough', quantity_on_hand: 40 - (h % 24) - (source === 'pos' ? 1 : 0), delta: -1, reason: 'sale' } } as EventInput,
              { event_id: `e${++seq}`, merchant_id: m, event_type: 'page_view', event_ts: at, source: 'web', schema_version: 1, body: { url: 'https://shop.example/menu', visitor_id: `v${h}`, session_id: `s${h}` } } as EventInput,
            ];
            return inputs.map((event) => ({ event: Event.parse(event), receivedAt: new Date(receivedAt(h)) }));
          }),
        ),
      );
    /** Writes events as ingest does (raw.events, raw.order_lines, raw.arrivals), one message per receive time. */
    const write = async (batch: { event: Event; receivedAt: Date }[]) => {
      const messages = new Map<number, IngestWrite>();
      for (const { event, receivedAt } of batch) {
        const w = messages.get(receivedAt.getTime()) ?? messages.set(receivedAt.getTime(), { accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [] }).get(receivedAt.getTime())!;
        const eventTsMs = Date.parse(event.event_ts);
        const messageId = `msg-${receivedAt.toISOString()}`;
        const { row, orderLines } = normalizeEvent(event, { dimensions: dims, messageId, entryIndex: w.accepted.length, receivedAt, eventTsMs });
        w.accepted.push(row);
        w.orderLines.push(...orderLines);
        const hour = utcHourStart(eventTsMs);
        const arrival = w.arrivals.find((a) => a.merchant_id === event.merchant_id && a.event_hour.getTime() === hour.getTime());
        if (arrival) arrival.last_event_at = new Date(Math.max(arrival.last_event_at!.getTime(), eventTsMs));
        else w.arrivals.push({ message_id: messageId, merchant_id: event.merchant_id, event_hour: hour, received_at: receivedAt, last_event_at: new Date(eventTsMs) });
      }
      for (const w of messages.values()) await wh.write(w);
    };
    const hours = Array.from({ length: 46 }, (_, h) => h);
    const first = events(ids, hours, (h) => day0 + h * HOUR_MS + 900_000, 'online');
    await write(first);
    const series = counting(lmdb);
    await runMartCycle({ warehouse: wh, series, clock: { now: () => new Date(day0 + 46 * HOUR_MS + 300_000) } });
    // The late POS batch: one merchant, three hours of the first day.
    const late = events([ids[0]!], [9, 10, 11], () => day0 + 46 * HOUR_MS + 600_000, 'pos');
    await write(late);
    series.sets.length = 0;
    const second = await runMartCycle({ warehouse: wh, series, clock: { now: () => new Date(day0 + 46 * HOUR_MS + 900_000) } });
    const written = series.sets.reduce((n, m) => n + Object.keys(m.cells).length, 0);
    // The bound: every cell of the merchant's three hours and of their local days, in every series and
    // in the ranked rows a ranking reads (whose bucket is not the key's last component).
    const touched = new Set(['2026112009', '2026112010', '2026112011', '20261120']);
    let bound = 0;
    for (const row of await lmdb.readRange({ start: `${ids[0]}#`, end: `${ids[0]}#~` })) {
      if (touched.has(decodeSeriesRowKey(row.key).bucket)) bound += Object.keys(row.cells.m ?? {}).length;
    }
    const full = counting(discardingSeriesStore);
    await exportRunSeries({ warehouse: wh, series: full }, { runId: second.run.runId, merchantFrom: '', all: true }, { windows: second.run.windows, startedAt: second.run.startedAt });
    const figures = { cells_written: written, bound_cells: bound, window_cells: full.sets.reduce((n, m) => n + Object.keys(m.cells).length, 0), events: first.length + late.length, merchants: opts.merchants };
    opts.log(`  late batch of one merchant's 3 hours: ${figures.cells_written} cells written; bound ${figures.bound_cells}; a full export of the run's windows ${figures.window_cells}`);
    return figures;
  } finally {
    await wh.close();
    await lmdb.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') {
  await serveWarehouse(process.argv[4]!);
} else if (process.argv[1] === fileURLToPath(import.meta.url) && ['prepare', 'exporter', 'window', 'baseline'].includes(process.argv[2] ?? '')) {
  const [mode, rows, file] = process.argv.slice(2) as ['prepare' | 'exporter' | 'window' | 'baseline', string, string];
  if (mode === 'prepare') await prepare(file, Number(rows));
  else await child(mode, Number(rows), file);
  process.exit(0);
}
