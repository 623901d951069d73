// `npm run bench [-- --quick]`: every benchmark figure with its baseline measured in the same run,
// progress on stderr, a readable table on stdout, and bench/results/latest.json (shape: result.ts).
// --quick: smaller workloads, the 1M marts size only, 10 s API runs; under five minutes on 2 cores.
// --only api | api-reads | ingest_e2e | ingest_http | once_1m | bq_hourly_scan | alerts | backfill | export | revalidate: measures
// that figure alone and updates it in the existing latest.json.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATA_FILES } from '../runtime/local-stores.js';
import { measureApi, requestPaths, type StoreRef } from './api.js';
import { formatHourlyScan, measureHourlyScan } from './bq-scan/hourly-scan.js';
import { measureApiReads } from './api-reads.js';
import { measureBackfill } from './backfill.js';
import { finalizeAsScheduled, measureApiMix, mixPaths, type MixStore } from './api-mix.js';
import { measureAlerts } from './alerts.js';
import { measureFreshness } from './freshness.js';
import { measureIngest } from './ingest.js';
import { measureIngestE2e } from './ingest-e2e.js';
import { measureIngestHttp } from './ingest-http.js';
import { measureLoad } from './load.js';
import { measureMarts } from './marts.js';
import { measureOnce } from './once.js';
import { appendSeed, openBenchPipeline, rawSpan, replicate } from './raw-fill.js';
import { initialBuild, measureReprocess } from './reprocess.js';
import { buildResult, formatTable, withE2eRatio, type Figures } from './result.js';
import { measureExport, measureExportChanged } from './export.js';
import { measureRevalidate } from './revalidate.js';
import { benchWorkload, stageWrites } from './workload.js';
import { stopZetaSql } from '../test/support/zetasql/server.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } }, strict: true });
const quick = values.quick;
const latestPath = join(import.meta.dirname, 'results', 'latest.json');
const API_READ_REQUESTS = 200;
/** Figures only `--only` measures; a full run keeps them as they are in latest.json. */
const SEPARATE_FIGURES = ['alerts', 'export', 'export_changed', 'revalidate'] as const;
if (values.only === 'bq_hourly_scan') {
  // Offline (ZetaSQL and arithmetic, no warehouse): seconds, so it can be refreshed on its own.
  const scan = await measureHourlyScan();
  stopZetaSql();
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(latestPath, JSON.stringify({ ...latest, bq_hourly_scan: scan }, null, 2) + '\n');
  process.stdout.write(`${formatHourlyScan(scan)}\n`);
  process.exit(0);
}
if (values.only === 'alerts') {
  // Alert evaluation for 10,000 merchants after one mart run, with its baseline; kept in latest.json.
  const alerts = await measureAlerts({ merchants: 10_000, log: (s) => process.stderr.write(`${s}\n`) });
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(latestPath, JSON.stringify({ ...latest, alerts }, null, 2) + '\n');
  process.stdout.write(`alerts ${alerts.merchants} merchants: evaluate ${alerts.evaluate_s} s, re-run ${alerts.rerun_s} s, baseline scan ${alerts.baseline_scan_s} s\n`);
  process.exit(0);
}
if (values.only === 'ingest_e2e') {
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-'));
  try {
    const w = benchWorkload({ events: quick ? 60_000 : 200_000, merchants: 20 });
    const e2e = withE2eRatio(await measureIngestE2e(w, await stageWrites(w), dir, (s) => process.stderr.write(`${s}\n`)));
    const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
    await writeFile(latestPath, JSON.stringify(placedAfter(latest, 'load', { ingest_e2e: e2e }), null, 2) + '\n');
    process.stdout.write(`ingest_e2e ${e2e.events_per_s} events/s, baseline ${e2e.baseline_per_s} events/s, ratio ${e2e.ratio}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
if (values.only === 'backfill') {
  // 10,000 POS orders over four years through `tillstream ingest --backfill`, marts included; kept in latest.json.
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-'));
  try {
    const backfill = await measureBackfill({ dir, log: (s) => process.stderr.write(`${s}\n`) });
    const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
    await writeFile(latestPath, JSON.stringify({ ...latest, backfill }, null, 2) + '\n');
    process.stdout.write(`backfill ${backfill.orders} orders over ${backfill.span_days} days: ${backfill.seconds} s (${backfill.series_cells} series cells)\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
/**
 * The realistic read mix against the query API with and without the deployment's caching, and bare
 * node:http, over 42 days of a 30-merchant history of its own; merged into latest.json's api.
 */
async function measureMixFigures(log: (s: string) => void) {
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-'));
  try {
    const w = benchWorkload({ events: quick ? 10_000 : 30_000, merchants: 30, seed: 'bench-api' });
    const rt = await openBenchPipeline(join(dir, 'api'), w);
    let stores: MixStore[];
    try {
      await appendSeed(rt, await stageWrites(w));
      await replicate(rt, 1, 7);
      const t0 = performance.now();
      const { cells } = await initialBuild(rt, (await rawSpan(rt)).start);
      log(`  built and exported 42 days of ${w.entries} events per 6 days: ${cells} series cells in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      // Merchants by orders, largest first: the Zipf ranks.
      stores = await rt.warehouse.query<MixStore>(
        `select s.merchant_id, s.store_id from marts.mart_hourly_store_sales as s
         join (select merchant_id, sum(orders) as n from marts.mart_hourly_store_sales group by merchant_id) as m using (merchant_id)
         where s.store_id is not null group by s.merchant_id, s.store_id, m.n order by m.n desc, s.merchant_id, s.store_id`,
      );
      await finalizeAsScheduled(rt.series, stores.map((s) => s.merchant_id));
    } finally {
      await rt.close();
    }
    const mix = await measureApiMix({ seriesPath: join(dir, 'api', DATA_FILES.series), paths: mixPaths(stores, 2_000), seconds: quick ? 10 : 20, connections: 10, rate: 2_000, dir, log });
    log(`  api mix: cached ${mix.cached_rps} rps (${mix.cached_ratio}×), uncached ${mix.uncached_rps} rps (${mix.uncached_ratio}×), bare ${mix.baseline_rps} rps; p99 ${mix.p99_ms} ms at ${mix.rate_rps} rps (bare ${mix.baseline_p99_ms} ms); server CPU a request: cached ${mix.cached_cpu_us} µs, uncached ${mix.uncached_cpu_us} µs, bare ${mix.baseline_cpu_us} µs`);
    return { cached_ratio: mix.cached_ratio, uncached_ratio: mix.uncached_ratio, p99_ms: mix.p99_ms, p99_rate_rps: mix.rate_rps, mix };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
if (values.only === 'api') {
  const figures = await measureMixFigures((s) => process.stderr.write(`${s}\n`));
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(latestPath, JSON.stringify({ ...latest, api: { ...(latest.api as Record<string, unknown>), ...figures } }, null, 2) + '\n');
  process.exit(0);
}
if (values.only === 'ingest_http') {
  // The demo mix POSTed to the collector of the local app (its own process) → raw.*, 3 rounds.
  const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-'));
  try {
    const w = benchWorkload({ events: quick ? 60_000 : 200_000, merchants: 20 });
    const http = await measureIngestHttp(w, dir, (s) => process.stderr.write(`${s}\n`));
    const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
    await writeFile(latestPath, JSON.stringify(placedAfter(latest, 'ingest_e2e', { ingest_http: http }), null, 2) + '\n');
    process.stdout.write(`ingest_http ${http.events_per_s} events/s (collector → bus ${http.collector_events_per_s} events/s)\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
if (values.only === 'once_1m') {
  // `tillstream start --once --events 1000000` as a user runs it: wall seconds and peak RSS.
  const once = await measureOnce({ events: 1_000_000, log: (s) => process.stderr.write(`${s}\n`) });
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(latestPath, JSON.stringify(placedAfter(latest, 'ingest_http' in latest ? 'ingest_http' : 'ingest_e2e', { once_1m: once }), null, 2) + '\n');
  process.stdout.write(`once_1m ${once.seconds} s, peak RSS ${once.peak_rss_mb} MB (ingest ${once.ingest_s} s, marts ${once.marts_s} s)\n`);
  process.exit(0);
}
if (values.only === 'export') {
  // The exporter (warehouse → Bigtable emulator) against a bare MutateRows loop, its peak RSS at 100k and 1M
  // cells against the window-holding export's; and the cells a late batch's run writes. Kept in latest.json.
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const exported = await measureExport({ cells: 100_000, log });
  const changed = await measureExportChanged({ merchants: 50, log });
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(latestPath, JSON.stringify(placedAfter(latest, 'alerts', { export: exported, export_changed: changed }), null, 2) + '\n');
  process.stdout.write(
    `export ${exported.cells_per_s} cells/s, baseline ${exported.baseline_cells_per_s} (ratio ${exported.ratio}); peak RSS ${exported.peak_rss_mb_1x} MB at ${exported.cells_1x} cells, ${exported.peak_rss_mb_10x} MB at 10× (window-holding export: ${exported.window_peak_rss_mb_1x} / ${exported.window_peak_rss_mb_10x} MB); 10× with the heap ≤ ${exported.heap_limit_mb} MB: ${exported.capped_peak_rss_mb_10x ?? 'out of heap'} MB (window-holding: ${exported.window_capped_peak_rss_mb_10x ?? 'out of heap'})\n` +
      `export_changed ${changed.cells_written} cells written (bound ${changed.bound_cells}, full export of the run's windows ${changed.window_cells})\n`,
  );
  process.exit(0);
}
if (values.only === 'revalidate') {
  // Re-validation from a sharded archive (stubbed Cloud Storage, fakes that keep nothing), 100k and 1M entries; kept in latest.json.
  const { entries_large: _n, ...revalidation } = await measureRevalidate({ sizes: [100_000, 1_000_000], log: (s) => process.stderr.write(`${s}\n`) });
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(latestPath, JSON.stringify({ ...latest, revalidate: revalidation }, null, 2) + '\n');
  process.stdout.write(`revalidate ${revalidation.entries_per_s} entries/s; peak RSS ${revalidation.peak_rss_mb_100k} MB at 100k entries, ${revalidation.peak_rss_mb_1m} MB at 1M\n`);
  process.exit(0);
}
if (values.only !== undefined) {
  if (values.only !== 'api-reads') throw new Error(`--only: the figures measured alone are api, api-reads, ingest_e2e, ingest_http, once_1m, bq_hourly_scan, alerts, backfill, export and revalidate, got "${values.only}"`);
  const apiReads = await measureApiReads({ requests: API_READ_REQUESTS, log: (s) => process.stderr.write(`${s}\n`) });
  const latest = JSON.parse(await readFile(latestPath, 'utf8')) as Record<string, unknown>;
  const out = placedAfter(latest, 'api', { api_reads_per_request: apiReads.reads_per_request, api_reads: apiReads });
  await writeFile(latestPath, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`api_reads_per_request ${apiReads.reads_per_request} (${apiReads.read_rows_calls} ReadRows calls for ${apiReads.requests} requests; cold ${apiReads.cold_reads_per_request})\n`);
  process.exit(0);
}
/** The figures placed after `after` (replacing earlier copies), keeping every other figure and its order. */
function placedAfter(latest: Record<string, unknown>, after: string, figures: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(latest)) {
    if (k in figures) continue;
    out[k] = v;
    if (k === after) Object.assign(out, figures);
  }
  return out;
}

const plan = quick
  ? { ingestEvents: 60_000, martSizes: [1_000_000], apiSeconds: 10, freshnessSamples: 10, reprocessEvents: 6_000, reprocessRepeats: 1 }
  : { ingestEvents: 200_000, martSizes: [1_000_000, 5_000_000, 10_000_000], apiSeconds: 20, freshnessSamples: 30, reprocessEvents: 6_000, reprocessRepeats: 3 };

const started = performance.now();
const log = (s: string) => process.stderr.write(`${s}\n`);
const step = (s: string) => log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}`);
const dir = await mkdtemp(join(tmpdir(), 'tillstream-bench-'));

try {
  step(`generating the demo mix: ${plan.ingestEvents} events`);
  const workload = benchWorkload({ events: plan.ingestEvents, merchants: 20 });

  step('ingest: stage core vs JSON.parse (3 rounds)');
  const ingest = await measureIngest(workload, log);

  step('load: RawSink vs bare appender (3 rounds)');
  const writes = await stageWrites(workload);
  const load = await measureLoad(writes, dir, log);

  step('ingest_e2e: NDJSON file → raw.* through bus, dedupe, sink, speed layer and acks vs JSON.parse + appender (3 rounds)');
  const ingestE2e = await measureIngestE2e(workload, writes, dir, log);

  step('ingest_http: the same events POSTed to the collector of the local app → raw.* (3 rounds)');
  const ingestHttp = await measureIngestHttp(workload, dir, log);

  let once1m;
  if (!quick) {
    step('once_1m: tillstream start --once --events 1000000');
    once1m = await measureOnce({ events: 1_000_000, log });
  }

  step(`marts: hourly marts vs GROUP BY at ${plan.martSizes.join(', ')} raw events`);
  const martsRt = await openBenchPipeline(join(dir, 'marts'), workload);
  let sizes;
  try {
    const seedEvents = await appendSeed(martsRt, writes);
    sizes = await measureMarts(martsRt, seedEvents, plan.martSizes, log);
  } finally {
    await martsRt.close();
  }

  step('reprocess: 7 and 30 days (after an initial build of every mart over 42 days)');
  const small = benchWorkload({ events: plan.reprocessEvents, merchants: 0, seed: 'bench-reprocess' });
  const rt = await openBenchPipeline(join(dir, 'reprocess'), small);
  let reprocessDays;
  let stores: StoreRef[];
  let oldest: Date;
  try {
    await appendSeed(rt, await stageWrites(small));
    await replicate(rt, 1, 7);
    const span = await rawSpan(rt);
    oldest = span.start;
    const t0 = performance.now();
    const { cells } = await initialBuild(rt, span.start);
    log(`  initial build: ${cells} series cells in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    reprocessDays = await measureReprocess(rt, [7, 30], plan.reprocessRepeats, log);
    stores = await rt.warehouse.query<StoreRef>(
      'select distinct merchant_id, store_id from marts.mart_hourly_store_sales where store_id is not null order by merchant_id, store_id',
    );
  } finally {
    await rt.close();
  }

  step('backfill: 10,000 POS orders over four years through tillstream ingest --backfill, marts included');
  const backfill = await measureBackfill({ dir: await mkdtemp(join(dir, 'backfill-')), log });

  step(`api: ${plan.apiSeconds} s autocannon runs, query API vs bare node:http`);
  const paths = requestPaths(stores, 1000, new Date(oldest.getTime() + 8 * 86_400_000));
  const api = await measureApi({ seriesPath: join(dir, 'reprocess', DATA_FILES.series), paths, seconds: plan.apiSeconds, connections: 10, dir, log });

  step(`api mix: the realistic read mix, cached and uncached, and 2,000 requests/s for p99, vs bare node:http`);
  const apiMix = await measureMixFigures(log);

  step('api reads: Bigtable ReadRows calls per metrics request on the emulator');
  const apiReads = await measureApiReads({ requests: API_READ_REQUESTS, log });

  step(`freshness: ${plan.freshnessSamples} samples`);
  // bench/freshness.ts: a real `tillstream start` server, POST to its collector → visible through its query API.
  const f = await measureFreshness({ samples: plan.freshnessSamples, log: (l) => log(`  ${l}`) });
  log(`  p50 ${f.p50_s} s, p95 ${f.p95_s} s, max ${f.max_s} s`);
  const freshness: Figures['freshness'] = { p95_s: f.p95_s, samples: f.samples, method: 'collector POST → visible through the query API of a running tillstream start (bench/freshness.ts)' };

  step('bq_hourly_scan: BigQuery bytes of an hourly run at 1 B events/day (offline estimator)');
  const bqHourlyScan = await measureHourlyScan();
  stopZetaSql();

  const result = buildResult({
    ingest,
    load,
    ingest_e2e: ingestE2e,
    ingest_http: ingestHttp,
    ...(once1m ? { once_1m: once1m } : {}),
    marts: { sizes },
    api: { ...api, ...apiMix },
    api_reads: apiReads,
    freshness,
    reprocess: { days: reprocessDays },
    machine: { cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, load_avg_1m: Math.round(loadavg()[0]! * 100) / 100 },
    date: new Date().toISOString(),
    quick,
  });
  // The figures measured only on their own (`--only alerts | export | revalidate`: minutes each, and
  // the emulators) are kept from the file as it was, not dropped; bench/README.md says when each was measured.
  const previous = JSON.parse(await readFile(latestPath, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  const separately = Object.fromEntries(SEPARATE_FIGURES.filter((k) => k in previous).map((k) => [k, previous[k]]));
  const withScan = { ...result, backfill, bq_hourly_scan: bqHourlyScan, ...separately };
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(latestPath, JSON.stringify(withScan, null, 2) + '\n');
  step('done: bench/results/latest.json');
  process.stdout.write(`\n${formatTable(result)}\n\n${formatHourlyScan(bqHourlyScan)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
