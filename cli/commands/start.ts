// `tillstream start [--once] [--events N]`: the whole local pipeline in one process. Opens the data
// directory, seeds the demo workload when no event was ever ingested, ingests, builds the marts and
// exports the series; then (without --once) serves the collector, the query API and the dashboard on
// one port, consumes the bus as events arrive and rebuilds the marts every hour at :05.
// `--once` prints one JSON summary as its last stdout line and exits 0 only if
// published = accepted + Σ rejected + duplicates.
import type { Server } from 'node:http';
import { reservePort, type ReservedPort } from '../listen.js';
import { exportRejectionDocuments } from '../../runtime/rejections.js';
import { parseArgs } from 'node:util';
import { demoDimensions, generateSteps, type WorkloadSink } from '../../demo/generator.js';
import { createKey } from '../../pipeline/auth/keys.js';
import { invariantHolds, totalRejected, type EntryCounts } from '../../pipeline/contracts/outcomes.js';
import { batchEntries, DEFAULT_BATCH_LIMITS } from '../../pipeline/ingest/entries.js';
import type { InboundMessage } from '../../pipeline/ports.js';
import { mirrorDimensionDocuments } from '../../pipeline/series/mirror.js';
import { createLocalApp } from '../../services/local-app.js';
import type { ForwardedResult } from '../../services/local-command.js';
import { UsageError, type Command, type CommandContext } from '../context.js';
import type { LocalPipeline } from '../../runtime/local-writer.js';
import { martBuildProgress, NO_PROGRESS } from '../progress.js';
import { martRowCounts, runMartCycle } from '../../pipeline/marts/hourly.js';
import { setHeapGrowingPercent } from '../../runtime/heap-growth.js';
import { startHourlySchedule } from '../schedule.js';

const DEFAULT_DEMO_EVENTS = 50_000;
const DEMO_SEED = 'tillstream-demo';

export interface StartOptions {
  /** Called once the server listens (tests use it to find the port). */
  onListening?: (url: string) => void;
  /** Aborting stops the server (tests, signals). */
  signal?: AbortSignal;
  /** Turns off rate limits and caches (benchmarks). */
  rateLimit?: boolean;
  /** Runs a command forwarded by another `tillstream` process (cli/forward.ts); without it none is taken. */
  dispatch?: (rt: LocalPipeline, argv: string[]) => Promise<ForwardedResult | undefined>;
}

export function createStartCommand(startOpts: StartOptions = {}): Command {
  return async (argv, ctx) => {
    const { values } = parseArgs({
      args: argv,
      options: { once: { type: 'boolean', default: false }, events: { type: 'string' }, port: { type: 'string' } },
      strict: true,
    });
    const events = Number(values.events ?? process.env.TILLSTREAM_DEMO_EVENTS ?? DEFAULT_DEMO_EVENTS);
    if (!Number.isInteger(events) || events < 1) throw new UsageError('--events must be a positive integer');
    const port = Number(values.port ?? process.env.PORT ?? 8080);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('PORT must be a port number');

    setHeapGrowingPercent(START_HEAP_GROWING_PERCENT);
    // The port first: a busy one is said before any work is done (cli/listen.ts).
    const reserved = values.once ? undefined : await reservePort(port);
    let rt: LocalPipeline;
    try {
      rt = await ctx.runtime();
    } catch (err) {
      reserved?.server.close();
      throw err;
    }
    const runId = rt.runId;
    let readKey: { merchant: string; key: string } | undefined;
    const restart = rt.bus.publishedEntries() > 0;
    // The demo is ingested while it is generated: its seconds count from the start of seeding.
    const t0 = performance.now();
    if (restart) await describeDataDir(rt, ctx);
    else readKey = await seedDemo(rt, ctx, runId, events);

    ctx.err('ingesting…');
    await rt.runner.drain();
    ctx.err(`ingested in ${((performance.now() - t0) / 1000).toFixed(1)} s; building marts…`);
    const t1 = performance.now();
    const building = martBuildProgress(ctx.progress ?? NO_PROGRESS);
    let cycle;
    try {
      cycle = await runMartCycle({ ...rt, onWindow: building.onWindow });
    } finally {
      building.stop();
    }
    await exportRejectionDocuments(rt, rt.clock.now());
    ctx.err(`marts built and exported in ${((performance.now() - t1) / 1000).toFixed(1)} s (${cycle.run.windows.length} windows)`);
    const counts = await rt.runCounts(runId);
    const summary = { ...counts, mart_rows: await martRowCounts(rt.warehouse), series_cells: cycle.cells };
    const ok = invariantHolds(counts);
    if (!ok) ctx.err(`INVARIANT BROKEN: published ${counts.published} ≠ accepted ${counts.accepted} + rejected ${totalRejected(counts)} + duplicates ${counts.duplicates}`);

    if (values.once) {
      if (readKey) ctx.err(`read key for demo merchant ${readKey.merchant} (shown once): ${readKey.key}`);
      ctx.out(JSON.stringify(summary));
      return ok ? 0 : 1;
    }

    printHuman(ctx, counts, summary.mart_rows, restart);
    const stop = new AbortController();
    startOpts.signal?.addEventListener('abort', () => stop.abort(), { once: true });
    const server = serve(rt, reserved!, startOpts);
    const url = `http://localhost:${reserved!.port}`;
    await rt.dataDir.updateLock({ url });
    ctx.out(`dashboard: ${url}/`);
    ctx.out(`collector: POST ${url}/v1/events   query API: ${url}/v1/merchants/{id}/metrics   OpenAPI: ${url}/openapi.json`);
    if (readKey) ctx.out(`read key for demo merchant ${readKey.merchant} (shown once, paste it into the dashboard): ${readKey.key}`);
    else ctx.out(`read keys are shown only when made; make one for the dashboard with: npx tillstream keys create --kind read --merchant ${await firstMerchant(rt) ?? 'ID'}`);
    startOpts.onListening?.(url);

    const schedule = startHourlySchedule({
      minute: 5,
      clock: rt.clock,
      signal: stop.signal,
      run: async () => {
        const c = await runMartCycle(rt);
        await exportRejectionDocuments(rt, rt.clock.now());
        ctx.err(`hourly mart run: ${c.run.windows.length} windows, ${c.cells} series cells`);
      },
      onError: (err) => ctx.err(`hourly mart run failed (retried next hour): ${String(err)}`),
    });
    const consuming = rt.runner.run(stop.signal);
    const alerting = rt.alerts.run(stop.signal);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    ctx.err('stopping…');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await consuming;
    await alerting;
    await schedule;
    return 0;
  };
}

/**
 * V8 lets its old generation grow to up to four times what the last full collection left before it
 * collects again. `start`'s live set is small (40–150 MB: a runner batch, the publisher's next hour,
 * caches), but nearly everything a 16,384-entry batch allocates lives long enough to be promoted, so
 * the heap sat at 400–500 MB committed, most of it garbage, through a million-event seeding and into
 * the mart build. Growing by half of the live set instead collects that garbage sooner; the factor
 * is read at every collection, so it can be set here, for the long-running command only (the other
 * commands are short and keep V8's default). A limit (`--max-old-space-size`) would bound the heap
 * too, but can only be given when the process starts and turns a large live set into a crash.
 */
export const START_HEAP_GROWING_PERCENT = 50;

function serve(rt: LocalPipeline, reserved: ReservedPort, opts: StartOptions): Server {
  const { dispatch } = opts;
  reserved.serve(createLocalApp(rt, { rateLimit: opts.rateLimit !== false, ...(dispatch ? { dispatch: (argv: string[]) => dispatch(rt, argv) } : {}) }));
  return reserved.server;
}

async function firstMerchant(rt: LocalPipeline): Promise<string | undefined> {
  return [...(await rt.dimensions.get()).merchants.keys()][0];
}

/** On a restart: what the directory already holds, so `published 0` of this run does not read like lost data. */
async function describeDataDir(rt: LocalPipeline, ctx: CommandContext): Promise<void> {
  const all = await rt.warehouse.entryCounts();
  const dims = await rt.dimensions.get();
  const keys = (await rt.keys.list()).filter((k) => !k.revoked_at);
  ctx.err(
    `data directory ${rt.dataDir.path} already holds ${rt.bus.publishedEntries()} published entries ` +
      `(accepted ${all.accepted}, rejected ${Object.values(all.rejected).reduce((a, b) => a + (b ?? 0), 0)}, duplicates ${all.duplicates}), ` +
      `${dims.merchants.size} merchants and ${keys.length} active keys; no demo is generated (delete the directory for a fresh one)`,
  );
}

/**
 * Publishes the demo workload the way it would arrive: POS orders as 15-minute batch files of one store,
 * everything else as collector bodies, in receive order; loads its dimensions; creates a read key.
 * The workload is generated an hour of it at a time and published while the runner consumes, so a
 * large demo never sits in memory whole (a million events were 1.3 GB of strings), and generating
 * overlaps ingest instead of running before it.
 */
async function seedDemo(rt: LocalPipeline, ctx: CommandContext, runId: string, events: number): Promise<{ merchant: string; key: string }> {
  ctx.err(`no events ingested yet: generating and publishing a demo workload of ${events} events…`);
  const dimensions = demoDimensions(DEMO_SEED);
  await rt.dimensions.load(dimensions);
  await mirrorDimensionDocuments(rt.series, await rt.dimensions.get());
  const generate = (sink: WorkloadSink) => generateSteps({ events, seed: DEMO_SEED, anchor: rt.clock.now() }, sink);
  // One step for the whole seeding: entries ingested (generated, published and consumed), the
  // entries generated so far as its detail.
  const step = (ctx.progress ?? NO_PROGRESS).start('ingesting the demo', events, 'entries');
  let published;
  try {
    published = await publishDemo(rt, generate, runId, DEMO_MAX_BACKLOG, (ingested, generated) => step.update(ingested, undefined, `(${generated} generated)`));
  } finally {
    step.stop();
  }
  ctx.err(`published ${published.entries} demo entries in ${published.messages} messages`);

  const merchant = dimensions.merchants[0]!.id;
  const { key, record } = createKey(rt.pepper, { kind: 'read', merchantId: merchant, now: rt.clock.now() });
  await rt.keys.put(record);
  return { merchant, key };
}

/**
 * Unconsumed entries the demo publisher lets the bus hold before it waits for the runner: publishing
 * is much faster than ingest, and a million events published ahead grew the bus file (memory-mapped,
 * so resident) to hundreds of MB; under the bound its freed pages are reused. A demo entry takes
 * ~900 bytes in the bus, so the bound is also about the bus file's floor: at four of the runner's
 * batches (65,536 entries) the file reached 165 MB resident over a million events. Two batches (one
 * being ingested, one waiting) keep the runner fed while the publisher generates the next hour.
 */
export const DEMO_MAX_BACKLOG = 32_768;

/**
 * Publishes what `generate` writes into the sink it is given, a step at a time, while the runner
 * consumes, at most about `maxBacklog` unconsumed entries ahead of it, and returns once the runner
 * has consumed them all (or failed). Each POS batch (the sink is told of one just before its
 * entries) is its own messages; the other entries are collector bodies of up to the collector's 500
 * entries, in receive order (a POS batch received between two online entries is published before
 * the body holding them). Bodies of 500 entries instead of the stretches
 * between POS batches (64 entries on average) halve the messages of a million-event demo, and with
 * them the speed layer's and the bus's per-message work.
 */
export async function publishDemo(
  rt: Pick<LocalPipeline, 'clock' | 'bus' | 'runner'>,
  generate: (sink: WorkloadSink) => Iterator<unknown>,
  runId: string,
  maxBacklog = DEMO_MAX_BACKLOG,
  /** Called after each step and while waiting on the runner: entries consumed, entries generated. */
  onProgress?: (consumed: number, generated: number) => void,
): Promise<{ entries: number; messages: number }> {
  const receivedAt = rt.clock.now();
  const online = { source: 'online' as const, run_id: runId };
  const pos = { source: 'pos' as const, run_id: runId };
  const bodyEntries = DEFAULT_BATCH_LIMITS.maxEntries;
  let body: string[] = [];
  let posBatch: string[] = [];
  let posLeft = 0; // entries of the current POS batch still to come
  let pending: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[] = [];
  let entries = 0;
  // Entries of the messages published so far, summed in publish order: the runner consumes in that
  // order, so the last pendingCount() messages are about the ones not consumed yet.
  const publishedThrough: number[] = [0];
  const endBody = () => {
    for (const batch of batchEntries(body)) pending.push({ receivedAt, attributes: online, entries: batch });
    body = [];
  };
  const sink: WorkloadSink = {
    entry(line) {
      entries++;
      if (posLeft > 0) {
        posBatch.push(line);
        if (--posLeft === 0) {
          for (const batch of batchEntries(posBatch)) pending.push({ receivedAt, attributes: pos, entries: batch });
          posBatch = [];
        }
        return;
      }
      body.push(line);
      if (body.length >= bodyEntries) endBody();
    },
    posBatch(batch) {
      posLeft = batch.count;
    },
  };
  const unconsumed = () => {
    const n = publishedThrough.length - 1;
    return publishedThrough[n]! - publishedThrough[Math.max(0, n - rt.bus.pendingCount())]!;
  };
  // The publish in flight: the next step is generated while its commit and archive append sync (on a
  // busy disk a sync took longer than generating a step, and the runner waited for the publisher).
  let inflight: Promise<unknown> = Promise.resolve();
  let consumed = 0;
  /**
   * Publishes what the sink collected once the previous publish is done (in order), then waits until
   * at most `backlog` entries are unconsumed; with 0, also for this publish.
   */
  const publish = async (backlog: number) => {
    if (pending.length > 0) {
      const out = pending;
      pending = [];
      await inflight;
      for (const m of out) publishedThrough.push(publishedThrough[publishedThrough.length - 1]! + m.entries.length);
      inflight = rt.bus.publish(out);
      inflight.catch(() => undefined); // awaited by the next publish; not an unhandled rejection meanwhile
    }
    if (backlog === 0) await inflight;
    for (;;) {
      const waiting = unconsumed();
      // The estimate counts a publish not yet committed as consumed until it is: never report less.
      consumed = Math.max(consumed, publishedThrough[publishedThrough.length - 1]! - waiting);
      onProgress?.(consumed, entries);
      if (waiting <= backlog || consumeFailed) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const stop = new AbortController();
  let consumeFailed = false;
  const consuming = rt.runner.run(stop.signal).catch((err: unknown) => {
    consumeFailed = true;
    throw err;
  });
  try {
    const steps = generate(sink);
    while (!steps.next().done && !consumeFailed) await publish(maxBacklog);
    endBody();
    // The last messages consumed too, so the progress ends at every entry ingested.
    await publish(0);
  } catch (err) {
    await inflight.catch(() => undefined);
    throw err;
  } finally {
    stop.abort();
    await consuming;
  }
  return { entries, messages: publishedThrough.length - 1 };
}

function printHuman(ctx: CommandContext, counts: EntryCounts, martRows: Record<string, number>, restart: boolean): void {
  ctx.out(`${restart ? 'this run: ' : ''}published ${counts.published}  accepted ${counts.accepted}  duplicates ${counts.duplicates}  rejected ${totalRejected(counts)}`);
  for (const [reason, n] of Object.entries(counts.rejected)) ctx.out(`  rejected ${reason}: ${n}`);
  for (const [mart, n] of Object.entries(martRows)) ctx.out(`  ${mart}: ${n} rows`);
  if (!restart && totalRejected(counts) > 0) {
    ctx.out('  (the demo workload carries bad entries on purpose — every reason code shows up; list them with: npx tillstream rejections)');
  }
}
