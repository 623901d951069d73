// The exporter: mart rows of rebuilt windows → series store cells (family FAMILY_MART), keyed with
// the shared row-key codec, plus the documents the query API reads (merchant, stores, freshness).
// exportMartRun exports one run for one shard of merchants (the export job's task; the local cycle
// exports every merchant through the same exportRunSeries): only the keys whose rows the run changed
// against the snapshot the runner or the scheduled script took before each rebuild (changes.ts),
// with the totals they feed; keys whose rows vanished are deleted; inventory as change points.
// Rows stream page by page and are written in bounded batches. Each bucket's mart cells are replaced
// (delete_family + set; a finalized hour's whole row, delete_row + set), so exporting twice writes
// the same cells. It reads marts, mart_runs, mart_run_rows, dims and raw.arrivals — never raw.events.
import { CATALOG, TRAFFIC_BREAKDOWNS } from '../metrics/catalog.js';
import { FAMILY_MART, type CellValue, type SeriesMutation, type SeriesStore, type SqlParams, type Warehouse } from '../ports.js';
import { dayBucket, documentKey, encodeRowKey, hourBucket, type Grain, type SeriesName } from '../series/row-key.js';
import { resolveDimensions } from '../contracts/dimensions.js';
import type { FreshnessDocument } from '../series/documents.js';
import { mirrorDimensionDocuments } from '../series/mirror.js';
import { backfillRankedRows, withRankedTwins } from '../series/ranked.js';
import { martSpec, type MartSpec } from './manifest.js';
import { DEFAULT_MART_CONFIG } from './config.js';
import { martParams } from './statements.js';
import { LAST_MERCHANT, sqlParams, windowCondition, type MartWindow } from './windows.js';
import { INVENTORY_MART, changedRowsSql, groupColumns, hasSeries, inventoryExtentSql, inventoryPointsSql, vanishedRowsSql } from './changes.js';
import { recordedWindow } from './runner.js';
import { HOUR_MS, ceilHour } from '../time.js';

type Row = Record<string, unknown>;

interface SeriesCells {
  key: string;
  cells: Record<string, CellValue>;
}

const metricNames = (series: SeriesName): string[] => CATALOG.find((s) => s.name === series)!.metrics.map((m) => m.name);
const SALES = metricNames('sales');
const PRODUCTS = metricNames('products');
const TRAFFIC = metricNames('traffic');
const INVENTORY = metricNames('inventory');
const BREAKDOWN = metricNames('pages');
const PROMOTIONS = metricNames('promotions');

/** A breakdown row's series and dimension: `page` → the `pages` series keyed by `page=<path>`. */
function breakdownKey(r: Row, grain: Grain): string {
  const dimension = String(r.dimension) as keyof typeof TRAFFIC_BREAKDOWNS;
  const series = TRAFFIC_BREAKDOWNS[dimension];
  if (!series) throw new Error(`mart row of unknown traffic dimension ${dimension}`);
  return key(r, series, { [dimension]: String(r.dimension_value) }, grain);
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
function pick(row: Row, names: string[]): Record<string, CellValue> {
  const cells: Record<string, CellValue> = {};
  for (const n of names) cells[n] = num(row[n]);
  return cells;
}
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** Hour buckets by hour start (ms): a window's rows share a few thousand hours at most. */
const hourBuckets = new Map<number, string>();
function bucketOf(row: Row, grain: Grain): string {
  if (grain === 'd') return dayBucket(String(row.local_date));
  const at = row.hour_start instanceof Date ? row.hour_start.getTime() : Date.parse(String(row.hour_start));
  let bucket = hourBuckets.get(at);
  if (bucket === undefined) {
    bucket = hourBucket(new Date(at));
    if (hourBuckets.size >= 65_536) hourBuckets.clear();
    hourBuckets.set(at, bucket);
  }
  return bucket;
}

function key(row: Row, series: SeriesName, dims: Record<string, string>, grain: Grain): string {
  return encodeRowKey({ merchantId: String(row.merchant_id), series, dims, grain }, bucketOf(row, grain));
}

/** Sums additive metrics of rows sharing a key (a merchant total over stores, a sku over stores). */
function sumInto(acc: Map<string, SeriesCells>, k: string, row: Row, names: string[]): void {
  let entry = acc.get(k);
  if (!entry) {
    entry = { key: k, cells: Object.fromEntries(names.map((n) => [n, 0])) };
    acc.set(k, entry);
  }
  for (const n of names) entry.cells[n] = (entry.cells[n] as number) + (num(row[n]) ?? 0);
}

/** Marts without totals: each row is one series row. */
const ROW_CELLS: Partial<Record<string, (r: Row) => SeriesCells>> = {
  mart_hourly_traffic: (r) => ({ key: key(r, 'traffic', {}, 'h'), cells: pick(r, TRAFFIC) }),
  mart_hourly_store_inventory: (r) => ({ key: key(r, 'inventory', { sku: String(r.sku), store: String(r.store_id) }, 'h'), cells: pick(r, INVENTORY) }),
  mart_daily_merchant_sales: (r) => ({ key: key(r, 'sales', {}, 'd'), cells: pick(r, SALES) }),
  mart_daily_store_sales: (r) => ({ key: key(r, 'sales', { store: String(r.store_id) }, 'd'), cells: pick(r, SALES) }),
  mart_daily_merchant_traffic: (r) => ({ key: key(r, 'traffic', {}, 'd'), cells: pick(r, TRAFFIC) }),
  mart_hourly_traffic_breakdown: (r) => ({ key: breakdownKey(r, 'h'), cells: pick(r, BREAKDOWN) }),
  mart_daily_merchant_traffic_breakdown: (r) => ({ key: breakdownKey(r, 'd'), cells: pick(r, BREAKDOWN) }),
  // Store-local days of the promotion in the store (the query API's /promotions lists them).
  mart_daily_promotion_performance: (r) => ({ key: key(r, 'promotions', { promo: String(r.promo_id), store: String(r.store_id) }, 'd'), cells: pick(r, PROMOTIONS) }),
};

/** The series cells a mart's rows become; pure, so tests and the oracle can use it. */
export function seriesCellsOf(spec: Pick<MartSpec, 'stem'>, rows: Row[]): SeriesCells[] {
  const out: SeriesCells[] = [];
  // marts kept for other statements (promotion definitions) serve no series
  if (!martSpec(spec.stem).series) return out;
  switch (spec.stem) {
    case 'mart_hourly_store_sales': {
      const totals = new Map<string, SeriesCells>();
      const additive = SALES.filter((n) => n !== 'average_order_value_minor');
      for (const r of rows) {
        if (r.store_id != null) out.push({ key: key(r, 'sales', { store: String(r.store_id) }, 'h'), cells: pick(r, SALES) });
        sumInto(totals, key(r, 'sales', {}, 'h'), r, additive);
      }
      for (const t of totals.values()) {
        const completedNet = (t.cells.net_revenue_minor as number) + (t.cells.refund_minor as number);
        t.cells.average_order_value_minor = ratio(completedNet, t.cells.orders as number);
        out.push(t);
      }
      return out;
    }
    case 'mart_hourly_product_sales': {
      const totals = new Map<string, SeriesCells>();
      for (const r of rows) {
        if (r.store_id != null) out.push({ key: key(r, 'products', { sku: String(r.sku), store: String(r.store_id) }, 'h'), cells: pick(r, PRODUCTS) });
        sumInto(totals, key(r, 'products', { sku: String(r.sku) }, 'h'), r, PRODUCTS);
      }
      return [...out, ...totals.values()];
    }
    default: {
      const cellsOf = ROW_CELLS[spec.stem];
      if (!cellsOf) throw new Error(`no series mapping for mart ${spec.stem}`);
      return rows.map(cellsOf);
    }
  }
}

/** Rows of a mart inside a window, local dates as `YYYY-MM-DD` text; with `merchants`, only theirs (see MerchantRange). */
export async function martRows(warehouse: Warehouse, w: MartWindow, merchants?: MerchantRange): Promise<Row[]> {
  const spec = martSpec(w.mart);
  const columns = spec.table.columns.map((c) => (c.type === 'DATE' ? `cast(${c.name} as string) as ${c.name}` : c.name));
  const shard = merchants ? ' and merchant_id >= @shard_from and merchant_id < @shard_to' : '';
  const sql = `select ${columns.join(', ')} from ${spec.table.id} where ${windowCondition(spec)}${shard}`;
  return warehouse.query<Row>(sql, sqlParams(sql, { ...martParams(w), ...(merchants ? shardParams(merchants) : {}) }));
}

/**
 * A shard of merchants: `merchantFrom <= merchant_id < merchantTo`, compared as BigQuery compares
 * STRINGs (by bytes; merchant ids are ASCII, where that is code-unit order too). `merchantFrom` ''
 * starts at the first merchant; `merchantTo` absent runs through the last one.
 */
export interface MerchantRange {
  /** Inclusive lower bound; '' for the first merchant. */
  merchantFrom: string;
  /** Exclusive upper bound; absent: through the last merchant. */
  merchantTo?: string;
}

export const shardParams = (r: MerchantRange) => ({ shard_from: r.merchantFrom, shard_to: r.merchantTo ?? LAST_MERCHANT });
const inShard = (r: MerchantRange | undefined, merchantId: string): boolean => !r || (merchantId >= r.merchantFrom && (r.merchantTo === undefined || merchantId < r.merchantTo));

/** Series keys the window's rows map to now; collected before a rebuild to find buckets that vanish. */
export async function collectSeriesKeys(warehouse: Warehouse, w: MartWindow, into = new Set<string>()): Promise<Set<string>> {
  for (const c of seriesCellsOf({ stem: w.mart }, await martRows(warehouse, w))) into.add(c.key);
  return into;
}

export interface ExportResult {
  /** Cells set (one per metric value written). */
  cells: number;
  /** Row keys replaced. */
  rows: number;
  /** Row keys deleted because their bucket has no mart rows any more. */
  deletedRows: number;
  /** Hourly rows whose speed-layer partials were retired (the marts finalized the hour). */
  retiredPartials: number;
}


/**
 * The writer's flow control. Mutations go to the series store WRITE_FLOW.mutationsPerCall at a time
 * (a replaced bucket is two or three mutations, so a call is about 1,000 rows: one Bigtable MutateRows
 * request, one LMDB transaction), and up to WRITE_FLOW.callsInFlight calls run while the next batch
 * fills, so reading and converting rows overlaps writing and memory holds at most callsInFlight + 1
 * batches whatever the export's size. The Bigtable store bounds the requests and bytes in flight of
 * all calls together (adapters/gcp/bigtable-series-store.ts MUTATE_FLOW, 8 requests); more calls in
 * flight only wait there holding their rows. Larger batches only hold more at once: 16,000 mutations
 * a call took the 1M-cell export's peak RSS to 553 MB (bench/export.ts).
 */
export const WRITE_FLOW = { mutationsPerCall: 3_000, callsInFlight: 2 };

/** The series cells of each window's rows, by row key (a later window's bucket replaces an earlier one's). */
export function seriesCellsByKey(windows: { mart: string; rows: Row[] }[]): Map<string, SeriesCells> {
  const written = new Map<string, SeriesCells>();
  for (const w of windows) for (const c of seriesCellsOf({ stem: w.mart }, w.rows)) written.set(c.key, c);
  return written;
}

/** The bucket of an hourly row key (`…#h#YYYYMMDDHH`), or undefined for a daily one. */
function hourlyBucket(key: string): string | undefined {
  const end = key.lastIndexOf('#');
  return end >= 2 && key.charCodeAt(end - 1) === 104 /* h */ && key.charCodeAt(end - 2) === 35 /* # */ ? key.slice(end + 1) : undefined;
}

/**
 * Batches series mutations: each written bucket's mart family replaced, removed buckets' deleted, the
 * speed layer's partials of finalized hours retired; handed to the store under WRITE_FLOW. The
 * mutations of one key are applied in the order given: a key whose earlier mutations are still in
 * flight waits for them (a store applies one call's mutations of a key in order, but calls in flight
 * together in any order; Bigtable even the entries of one request).
 */
export function seriesWriter(
  series: SeriesStore,
  opts: {
    finalizedBefore?: Date;
    /**
     * Keys written or deleted already by the job this writer is part of: their puts and removals are
     * skipped, and the writer adds the keys it writes (export-log.ts exportEarlierRuns). Only a job that
     * exports more than one run keeps it: it holds every key the job writes.
     */
    written?: Set<string>;
  } = {},
) {
  const finalizedBeforeMs = opts.finalizedBefore?.getTime() ?? Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  // Speed layer retirement: an hourly bucket the marts have finalized is served from the marts only,
  // so its partial family is deleted when its mart cells are written. `finalizedBefore` is the end of
  // the last final hour (only a run that started after an hour ended finalizes it): an hour is final
  // when its bucket is at most the one of the hour that starts an hour before it (buckets are
  // fixed-width YYYYMMDDHH, so text order is time order).
  const lastFinalBucket = hourBucket(new Date(Math.floor((finalizedBeforeMs - HOUR_MS) / HOUR_MS) * HOUR_MS));
  const result: ExportResult = { cells: 0, rows: 0, deletedRows: 0, retiredPartials: 0 };
  let mutations: SeriesMutation[] = [];
  let keys = new Set<string>();
  const inFlight = new Set<{ keys: Set<string>; done: Promise<void> }>();
  let failure: { err: unknown } | undefined;
  const failIfFailed = async () => {
    if (!failure) return;
    await Promise.all([...inFlight].map((c) => c.done));
    throw failure.err;
  };
  const send = async () => {
    await failIfFailed();
    if (mutations.length === 0) return;
    while (inFlight.size >= WRITE_FLOW.callsInFlight) await Promise.race([...inFlight].map((c) => c.done));
    await failIfFailed();
    const call = { keys, done: Promise.resolve() };
    // Every mutation of a ranked row goes to its bucket-major twin too, unless the store mirrors twins
    // (pipeline/series/ranked.ts); a twin's key follows its row's, so the per-key ordering below holds for both.
    call.done = series.mutate(withRankedTwins(series, mutations)).then(
      () => void inFlight.delete(call),
      (err: unknown) => {
        inFlight.delete(call);
        failure ??= { err };
      },
    );
    inFlight.add(call);
    mutations = [];
    keys = new Set();
  };
  /** Before a key's mutations join the batch: its mutations already in flight finish first. */
  const admit = async (key: string) => {
    if (keys.has(key)) return;
    for (const call of inFlight) if (call.keys.has(key)) await call.done;
    keys.add(key);
  };
  // A finalized hour's row is its mart cells alone: a series row holds the mart and the partial
  // family only (alerts keep rows of their own, pipeline/alerts/store.ts), so deleting the row
  // replaces deleting both families, and a store need not read the row to apply it — the local one
  // otherwise decodes every partial family it retires (a 1M-event demo's mart export spent 3.4 of its
  // 5 s decoding 234k rows it was about to overwrite).
  const clear = (key: string) => {
    const bucket = hourlyBucket(key);
    if (bucket === undefined || bucket > lastFinalBucket) {
      mutations.push({ kind: 'delete_family', key, family: FAMILY_MART });
      return;
    }
    mutations.push({ kind: 'delete_row', key });
    result.retiredPartials++;
  };
  return {
    result,
    /** Sends what is left and waits until every batch is written; rejects with the first write's failure. */
    async flush(): Promise<void> {
      await send();
      await Promise.all([...inFlight].map((c) => c.done));
      await failIfFailed();
    },
    async put(c: SeriesCells): Promise<void> {
      if (opts.written?.has(c.key)) return;
      opts.written?.add(c.key);
      if (inFlight.size > 0) await admit(c.key);
      else keys.add(c.key);
      clear(c.key);
      mutations.push({ kind: 'set', key: c.key, family: FAMILY_MART, cells: c.cells });
      for (const _ in c.cells) result.cells++;
      result.rows++;
      if (mutations.length >= WRITE_FLOW.mutationsPerCall) await send();
    },
    async remove(key: string): Promise<void> {
      if (opts.written?.has(key)) return;
      opts.written?.add(key);
      if (inFlight.size > 0) await admit(key);
      else keys.add(key);
      clear(key);
      result.deletedRows++;
      if (mutations.length >= WRITE_FLOW.mutationsPerCall) await send();
    },
  };
}

/**
 * Writes series cells: each bucket's mart family is replaced; `previousKeys` (the keys the windows
 * held before their rebuild) that are not written any more are deleted.
 */
export async function writeSeries(
  series: SeriesStore,
  written: Map<string, SeriesCells>,
  opts: {
    previousKeys?: Set<string>;
    /** Hours ending at or before it are final (a scheduled run's finalizedThrough); default the start of the current hour. */
    finalizedBefore?: Date;
  } = {},
): Promise<ExportResult> {
  const writer = seriesWriter(series, opts);
  for (const c of written.values()) await writer.put(c);
  for (const k of opts.previousKeys ?? []) if (!written.has(k)) await writer.remove(k);
  await writer.flush();
  return writer.result;
}

/** Exports the windows' mart rows as they are now (each window read once); see writeSeries. */
export async function exportWindows(
  deps: { warehouse: Warehouse; series: SeriesStore },
  windows: MartWindow[],
  opts: Parameters<typeof writeSeries>[2] = {},
): Promise<ExportResult> {
  const rows = [];
  for (const w of windows) rows.push({ mart: w.mart, rows: await martRows(deps.warehouse, w) });
  return writeSeries(deps.series, seriesCellsByKey(rows), opts);
}

/**
 * Rows of merchants' histories one export call (a task of the export job) copies into ranked rows at most
 * (exportDocuments), plus the rest of the page that reaches it: about 7 minutes of a task at the rate
 * measured on the Bigtable emulator (2,300 rows/s), inside the 30- and 45-minute task timeouts beside the
 * export itself, however many merchants a deployment's first exports find (docs/capacity.md "Ranked
 * breakdowns": runs needed at a million merchants).
 */
export const RANKED_COPY_ROWS_PER_RUN = 1_000_000;

/** Newest event time per merchant among arrivals received in [from, to): raw.arrivals only (bounded by its receive-date partitions). */
export const NEWEST_EVENTS_SQL = `select merchant_id, max(coalesce(last_event_at, event_hour)) as newest_event_at
from raw.arrivals
where received_at >= @arrivals_from and received_at < @arrivals_to
group by merchant_id`;

/**
 * Mirrors the documents the query API reads: each merchant's dimension row and stores list, and
 * its freshness — the newest event among the arrivals received in `arrivals` (kept when newer in
 * the document already: a backfill never moves it back), and the end of the last finalized hour.
 */
export async function exportDocuments(
  deps: { warehouse: Warehouse; series: SeriesStore },
  // default: every arrival within the reprocessing horizon
  arrivals: { from: Date; to: Date } = { from: new Date(Date.now() - DEFAULT_MART_CONFIG.horizonDays * 24 * HOUR_MS), to: new Date(Date.now() + HOUR_MS) },
  /** Only these merchants' documents (a shard of the export); default every merchant. */
  shard?: MerchantRange,
  /** The end of each merchant's last inventory hour the export wrote (kept when later in the document already). */
  inventoryThrough: Map<string, Date> = new Map(),
  /** rankedCopyRows: rows of earlier merchants' histories this call copies at most (RANKED_COPY_ROWS_PER_RUN). */
  opts: { rankedCopyRows?: number; now?: Date } = {},
): Promise<number> {
  const { warehouse, series } = deps;
  const where = shard ? ' where merchant_id >= @shard_from and merchant_id < @shard_to' : '';
  const params = shard ? shardParams(shard) : undefined;
  const merchants = await warehouse.query<{ merchant_id: string; name: string; time_zone: string; currency: string }>(
    `select merchant_id, name, time_zone, currency from dims.merchants${where} order by merchant_id`,
    params,
  );
  const stores = await warehouse.query<{ merchant_id: string; store_id: string; name: string; city: string | null; region: string | null; time_zone: string }>(
    `select merchant_id, store_id, name, city, region, time_zone from dims.stores${where} order by merchant_id, store_id`,
    params,
  );
  const [run] = await warehouse.query<{ finalized_through: Date | null }>(
    'select max(finalized_through) as finalized_through from marts.mart_runs where started_at >= @runs_since',
    { runs_since: new Date(arrivals.from.getTime() - 7 * 24 * HOUR_MS) },
  );
  const finalizedThrough = run?.finalized_through ? new Date(run.finalized_through).toISOString() : null;
  const newest = (await warehouse.query<{ merchant_id: string; newest_event_at: Date }>(NEWEST_EVENTS_SQL, { arrivals_from: arrivals.from, arrivals_to: arrivals.to })).filter((r) => inShard(shard, r.merchant_id));
  const newestBy = new Map(newest.map((r) => [r.merchant_id, new Date(r.newest_event_at).toISOString()]));
  // The same documents `tillstream dimensions load` mirrors, rebuilt from the dims tables the marts read.
  const dims = resolveDimensions({
    merchants: merchants.map((m) => ({ id: m.merchant_id, name: m.name, time_zone: m.time_zone, currency: m.currency })),
    stores: stores.map((s) => ({ id: s.store_id, merchant_id: s.merchant_id, name: s.name, city: s.city ?? undefined, region: s.region ?? undefined, time_zone: s.time_zone })),
    fraud_ips: [],
  });
  await mirrorDimensionDocuments(series, dims);
  let copyLeft = opts.rankedCopyRows ?? RANKED_COPY_ROWS_PER_RUN;
  const copyStartedAt = ceilHour(new Date((opts.now ?? new Date()).getTime() + HOUR_MS)).toISOString();
  for (const m of merchants) {
    const key = documentKey(m.merchant_id, 'freshness');
    const before = await series.getDocument<FreshnessDocument>(key);
    const candidates = [before?.newest_event_at, newestBy.get(m.merchant_id)].filter((x): x is string => typeof x === 'string');
    const newestAt = candidates.length ? candidates.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b)) : null;
    const through = [before?.inventory_through, inventoryThrough.get(m.merchant_id)?.toISOString()].filter((x): x is string => typeof x === 'string');
    const freshness: FreshnessDocument = {
      newest_event_at: newestAt,
      finalized_through: finalizedThrough ?? before?.finalized_through ?? null,
      ...(through.length ? { inventory_through: through.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b)) } : {}),
      ...(await rankedState(m.merchant_id, before)),
    };
    await series.putDocument(key, freshness);
  }
  return merchants.length * 3;

  /**
   * Once per merchant: rows written before ranked rows existed get theirs (a deployment's first exports
   * with them), within the call's budget of rows; a merchant left over, or stopped within its rows, keeps
   * being answered from its rows and its copy goes on in a later export. A merchant without documents yet
   * has nothing to copy — every mart row the exporter wrote came with its ranked row — but its first
   * export gets a ranked_from as well: during a rollout, an instance of the speed layer from before ranked
   * rows may still have written partials without twins into its open hours, so those hours are read from
   * the rows until they are final. ranked_from is the first hour after the hour in progress
   * when its copy began (an hour ahead: events up to futureSkewMs, 5 minutes by default, after they were
   * received): the speed layer, deployed before the exporter, wrote every partial of those hours with its
   * twin, while earlier hours may hold partials written before it, which the copy leaves out.
   */
  async function rankedState(merchantId: string, before: FreshnessDocument | undefined): Promise<Pick<FreshnessDocument, 'ranked_rows' | 'ranked_from' | 'ranked_copy_after'>> {
    if (before === undefined) return { ranked_rows: true, ranked_from: copyStartedAt };
    const from = before.ranked_from === undefined ? {} : { ranked_from: before.ranked_from };
    if (before.ranked_rows === true) return { ranked_rows: true, ...from };
    const kept = { ...from, ...(before.ranked_copy_after === undefined ? {} : { ranked_copy_after: before.ranked_copy_after }) };
    if (copyLeft <= 0) return kept;
    const rankedFrom = before.ranked_from ?? copyStartedAt;
    const progress = await backfillRankedRows(series, merchantId, { maxRows: copyLeft, ...(before.ranked_copy_after === undefined ? {} : { after: before.ranked_copy_after }) });
    copyLeft -= progress.copied;
    return progress.next === undefined ? { ranked_rows: true, ranked_from: rankedFrom } : { ranked_from: rankedFrom, ranked_copy_after: progress.next };
  }
}

// ------------------------------------------------------------------------------------------------
// One run, one shard of merchants: what the export job's tasks call.

export interface MartRunShard extends MerchantRange {
  /** The run to export: its `run_id` in marts.mart_runs (and marts.mart_run_rows). */
  runId: string;
  /**
   * Export every row of the run's windows, not only those the run changed: a repair of the series
   * store (a build or reprocess). A run that stopped or whose export failed needs none: the next
   * export exports it against its own snapshot (export-log.ts).
   */
  all?: boolean;
}

export interface MartRunExport extends ExportResult {
  runId: string;
  /** Windows the run recorded (every shard exports its merchants' part of each). */
  windows: number;
  /** Documents written (merchant, stores, freshness of each merchant of the shard). */
  documents: number;
  /** The run's finalized_through, when it recorded one (hours before it are final: alert evaluation may follow). */
  finalizedThrough?: Date;
}

/** What the exporter needs of a run: its windows and when it started (the snapshot's partition). */
export interface RunRecord {
  windows: MartWindow[];
  startedAt: Date;
  /** Hours ending at or before it are final; default the start of the current hour. */
  finalizedThrough?: Date;
  /** The arrivals the run read were received in [from, to) (freshness). */
  arrivals: { from: Date; to: Date };
}

/** The windows, arrivals and finalized hours a run recorded in marts.mart_runs. */
export async function runRecord(warehouse: Warehouse, runId: string, now: Date): Promise<RunRecord> {
  const rows = await warehouse.query<{
    mart: string;
    window_start: Date;
    window_end: Date;
    started_at: Date;
    all_from: Date | null;
    merchants: string[] | null;
    cells: string[] | null;
    arrivals_from: Date | null;
    arrivals_through: Date | null;
    finalized_through: Date | null;
  }>(
    `select mart, window_start, window_end, started_at, all_from, merchants, cells, arrivals_from, arrivals_through, finalized_through
     from marts.mart_runs
     where run_id = @run_id
     order by mart, window_start`,
    { run_id: runId },
  );
  const times = (pick: (r: (typeof rows)[number]) => Date | null | undefined) => rows.map(pick).filter((d): d is Date => d != null).map((d) => new Date(d).getTime());
  const from = times((r) => r.arrivals_from);
  const to = times((r) => r.arrivals_through);
  const finalized = times((r) => r.finalized_through);
  const started = times((r) => r.started_at);
  return {
    windows: rows.filter((r) => new Date(r.window_end) > new Date(r.window_start)).map(recordedWindow),
    startedAt: new Date(started.length ? Math.min(...started) : now.getTime()),
    // A run that recorded no arrivals (a build or reprocess): every arrival of the horizon.
    arrivals: {
      from: new Date(from.length ? Math.min(...from) : now.getTime() - DEFAULT_MART_CONFIG.horizonDays * 24 * HOUR_MS),
      to: new Date(to.length ? Math.max(...to) : now.getTime() + HOUR_MS),
    },
    ...(finalized.length ? { finalizedThrough: new Date(Math.max(...finalized)) } : {}),
  };
}

/** Hands a query's rows to `onPage` page by page where the warehouse streams, else as one page. */
async function pages<T>(warehouse: Warehouse, sql: string, params: SqlParams, onPage: (rows: T[]) => Promise<void>): Promise<void> {
  const bound = sqlParams(sql, params);
  if (warehouse.queryPages) return warehouse.queryPages<T>(sql, bound, onPage);
  await onPage(await warehouse.query<T>(sql, bound));
}

const groupKeyOf = (row: Row, columns: string[]): string => columns.map((c) => (row[c] instanceof Date ? (row[c] as Date).getTime() : String(row[c]))).join('|');

/**
 * One window's changes in one shard → series mutations. Rows stream in group order; a group (the rows
 * one total sums) is held only until the next begins, so memory holds a group and a write batch.
 */
async function exportWindowChanges(warehouse: Warehouse, writer: ReturnType<typeof seriesWriter>, w: MartWindow, params: SqlParams, all: boolean, extents: Map<string, number>): Promise<void> {
  const spec = martSpec(w.mart);
  if (w.mart === INVENTORY_MART) {
    await pages<Row>(warehouse, inventoryPointsSql({ all }), params, async (rows) => {
      for (const r of rows) {
        const k = key(r, 'inventory', { sku: String(r.sku), store: String(r.store_id) }, 'h');
        if (r.is_point) await writer.put({ key: k, cells: pick(r, INVENTORY) });
        else await writer.remove(k);
      }
    });
    for (const r of await warehouse.query<{ merchant_id: string; inventory_through: Date }>(inventoryExtentSql(), sqlParams(inventoryExtentSql(), params))) {
      extents.set(r.merchant_id, Math.max(extents.get(r.merchant_id) ?? 0, new Date(r.inventory_through).getTime()));
    }
    return;
  }
  // Keys whose rows the rebuild removed: deleted unless a total of their group is written again.
  const vanished = new Set<string>();
  await pages<Row>(warehouse, vanishedRowsSql(w.mart), params, async (rows) => {
    for (const c of seriesCellsOf(spec, rows)) vanished.add(c.key);
  });
  const rewritten = new Set<string>();
  const cellsOf = ROW_CELLS[w.mart];
  if (cellsOf) {
    // No totals: a row is its own group, written when it changed (or its key's snapshot row vanished).
    await pages<Row>(warehouse, changedRowsSql(w.mart, { all }), params, async (rows) => {
      for (const r of rows) {
        const c = cellsOf(r);
        const wasVanished = vanished.has(c.key);
        if (r.row_changed !== true && !wasVanished) continue;
        await writer.put(c);
        if (wasVanished) rewritten.add(c.key);
      }
    });
    for (const k of vanished) if (!rewritten.has(k)) await writer.remove(k);
    return;
  }
  const groups = groupColumns(spec);
  let group: Row[] = [];
  let groupKey = '';
  const flushGroup = async () => {
    // A changed row's own key and its group's totals (over every current row of the group); a group
    // whose rows all changed writes all its cells.
    const changed = group.filter((r) => r.row_changed === true);
    const own = changed.length === group.length ? undefined : new Set(seriesCellsOf(spec, changed).map((c) => c.key));
    for (const c of seriesCellsOf(spec, group)) {
      if (own && !own.has(c.key) && !vanished.has(c.key)) continue;
      await writer.put(c);
      if (vanished.has(c.key)) rewritten.add(c.key);
    }
    group = [];
  };
  await pages<Row>(warehouse, changedRowsSql(w.mart, { all }), params, async (rows) => {
    for (const r of rows) {
      const k = groupKeyOf(r, groups);
      if (k !== groupKey && group.length > 0) await flushGroup();
      groupKey = k;
      group.push(r);
    }
  });
  if (group.length > 0) await flushGroup();
  for (const k of vanished) if (!rewritten.has(k)) await writer.remove(k);
}

/**
 * The series part of a run's export for one shard: for each window, the series keys of the rows the
 * run changed (against the snapshot in marts.mart_run_rows, changes.ts) are written, with the totals
 * they feed; the keys of rows it removed are deleted; inventory is written as change points. Rows are
 * streamed page by page and written in batches. Answers the inventory extent of each merchant.
 */
export async function exportRunSeries(
  deps: { warehouse: Warehouse; series: SeriesStore },
  shard: MartRunShard,
  record: Pick<RunRecord, 'windows' | 'startedAt' | 'finalizedThrough'>,
  /** `written`: the keys the job wrote already, skipped here (seriesWriter). */
  opts: { written?: Set<string> } = {},
): Promise<ExportResult & { inventoryThrough: Map<string, Date> }> {
  const writer = seriesWriter(deps.series, { finalizedBefore: record.finalizedThrough, ...(opts.written ? { written: opts.written } : {}) });
  const extents = new Map<string, number>();
  for (const w of record.windows) {
    if (!hasSeries(martSpec(w.mart))) continue;
    const params = { ...martParams(w), ...shardParams(shard), run_id: shard.runId, run_started_at: record.startedAt };
    await exportWindowChanges(deps.warehouse, writer, w, params, shard.all ?? false, extents);
  }
  await writer.flush();
  return { ...writer.result, inventoryThrough: new Map([...extents].map(([m, t]) => [m, new Date(t)])) };
}

/**
 * Exports one mart run for the merchants of one shard: `merchantFrom <= merchant_id < merchantTo`
 * (MerchantRange). Shards that tile the merchant space together export the whole run, each
 * independently and idempotently (a retried task rewrites the same cells), so a job can run them as
 * parallel tasks. Reads marts.mart_runs for the run's windows, the changed rows of the marts inside
 * them against marts.mart_run_rows (exportRunSeries); then the shard's merchants' documents.
 */
export async function exportMartRun(deps: { warehouse: Warehouse; series: SeriesStore; now?: () => Date }, shard: MartRunShard): Promise<MartRunExport> {
  const { warehouse, series } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const record = await runRecord(warehouse, shard.runId, now);
  const { inventoryThrough, ...exported } = await exportRunSeries(deps, shard, record);
  const documents = await exportDocuments({ warehouse, series }, record.arrivals, shard, inventoryThrough, { now });
  return { runId: shard.runId, windows: record.windows.length, ...exported, documents, ...(record.finalizedThrough ? { finalizedThrough: record.finalizedThrough } : {}) };
}
