// Parity of the two runtimes: one seeded workload through the local runtime (local bus, DuckDB, LMDB)
// and through the gcp path (gcp publisher → Pub/Sub emulator → ingestEvents as the push subscription
// delivers it → Bigtable dedupe index; the scheduled script's statements and the export job's tasks
// into the Bigtable series store), with DuckDB standing in for BigQuery. Entry counts, mart rows,
// series cells and documents must be identical, and stay so after a reprocess that removes an
// inventory item's events.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { encodeMessage } from '../../adapters/gcp/bus-codec.js';
import { bigtableClient, dedupeFamilies, ensureTable, SERIES_FAMILIES } from '../../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex } from '../../adapters/gcp/bigtable-dedupe.js';
import { createBigtableSeriesStore } from '../../adapters/gcp/bigtable-series-store.js';
import { createPubSubPublisher } from '../../adapters/gcp/pubsub-bus.js';
import { LocalDimensionsStore } from '../../adapters/local/dimensions-store.js';
import { LocalWarehouse } from '../../adapters/local/warehouse.js';
import { martRowCounts, runMartCycle } from '../../pipeline/marts/hourly.js';
import { openLocalPipeline } from '../../runtime/local-writer.js';
import { generateWorkload, type Workload } from '../../demo/generator.js';
import { createIngestEventsHandler } from '../../functions/ingest-events.js';
import type { EntryCounts } from '../../pipeline/contracts/outcomes.js';
import { batchEntries } from '../../pipeline/ingest/entries.js';
import { createIngestStage } from '../../pipeline/ingest/stage.js';
import { reprocess } from '../../pipeline/marts/reprocess.js';
import type { Clock, InboundMessage, MessageAttributes, SeriesRow, SeriesStore, Warehouse } from '../../pipeline/ports.js';
import { createRunExporter } from '../../services/export-job/export-run.js';
import type { FinishedRun } from '../../services/export-job/run.js';
import { runScheduledScript } from '../pipeline/marts/script-runner.js';
import { documentKey } from '../../pipeline/series/row-key.js';
import { toDuckDb } from '../../pipeline/sql/dialect.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../adapters/gcp/support/emulators.js';
import { deliver, MemoryLogger, testServer } from './support.js';

const ANCHOR = new Date('2026-11-21T12:00:00Z');
// Entries are received at the anchor; stages and the mart run work a little later (the run at :05
// must see the arrivals received before it started).
const clock: Clock = { now: () => new Date(ANCHOR.getTime() + 10 * 60_000) };
const ALL_ROWS = { start: '!', end: '~' };

/** The workload as it arrives: POS batches as their own messages, everything else as collector bodies. */
function messagesOf(w: Workload, extra: Partial<MessageAttributes> = {}): Omit<InboundMessage, 'id' | 'deliveryAttempt'>[] {
  const out: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[] = [];
  let next = 0;
  const online = (end: number) => {
    if (end > next) for (const b of batchEntries(w.entries.slice(next, end), { maxEntries: 25 })) out.push({ receivedAt: ANCHOR, attributes: { source: 'online', ...extra }, entries: b });
  };
  for (const p of [...w.posBatches].sort((a, b) => a.first_entry - b.first_entry)) {
    online(p.first_entry);
    for (const b of batchEntries(w.entries.slice(p.first_entry, p.first_entry + p.count), { maxEntries: 25 })) {
      out.push({ receivedAt: ANCHOR, attributes: { source: 'pos', ...extra }, entries: b });
    }
    next = p.first_entry + p.count;
  }
  online(w.entries.length);
  return out;
}

interface RuntimeNumbers {
  counts: EntryCounts;
  martRows: Record<string, number>;
  seriesCells: number;
  series: SeriesRow[];
  documents: unknown[];
  /** After the removed item's events are deleted from raw and the workload's days reprocessed. */
  reprocessed: { cells: number; series: SeriesRow[] };
}

/** The inventory item whose events the reprocess removes: the first item of the series (merchant, store, sku). */
let removed: { merchant: string; store: string; sku: string } | undefined;
const itemOf = (rows: SeriesRow[]) => {
  const k = rows.find((r) => r.key.includes('#inventory#'))!.key;
  const m = /^([^#]+)#inventory#sku=([^#]+)#store=([^#]+)#h#/.exec(k)!;
  return { merchant: m[1]!, sku: m[2]!, store: m[3]! };
};
const itemKey = (i: NonNullable<typeof removed>) => `${i.merchant}#inventory#sku=${i.sku}#store=${i.store}#`;

/** Removes the item's events from raw (as a fix that rejects them would) and reprocesses the workload's days. */
async function removeAndReprocess(warehouse: Warehouse, series: SeriesStore) {
  removed ??= itemOf(await series.readRange(ALL_ROWS));
  await warehouse.run("delete from raw.events where merchant_id = @m and event_type = 'inventory' and store_id = @s and sku = @k", { m: removed.merchant, s: removed.store, k: removed.sku });
  const r = await reprocess({ warehouse, series, clock }, { from: new Date(ANCHOR.getTime() - 3 * 86_400_000), to: new Date(ANCHOR.getTime()) });
  return { cells: r.cells, series: await series.readRange(ALL_ROWS) };
}

async function documentsOf(series: SeriesStore, merchants: string[]) {
  const out: unknown[] = [];
  for (const m of merchants) for (const d of ['merchant', 'stores', 'freshness'] as const) out.push(await series.getDocument(documentKey(m, d)));
  return out;
}

describe('gcp runtime parity with the local runtime (emulators, DuckDB for BigQuery)', function () {
  this.timeout(300_000);
  const workload = generateWorkload({ events: 400, seed: 'parity', anchor: ANCHOR, days: 2 });
  const merchants = workload.dimensions.merchants.map((m) => m.id);
  let dir: string;

  before(async () => {
    await useEmulators();
    dir = await mkdtemp(join(tmpdir(), 'parity-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function local(): Promise<RuntimeNumbers> {
    const rt = await openLocalPipeline({ dataDir: join(dir, 'local'), command: 'test', clock });
    try {
      await rt.dimensions.load(workload.dimensions);
      await rt.bus.publish(messagesOf(workload, { run_id: rt.runId }));
      await rt.runner.drain();
      const cycle = await runMartCycle(rt);
      const numbers = {
        counts: await rt.runCounts(rt.runId),
        martRows: await martRowCounts(rt.warehouse),
        seriesCells: cycle.cells,
        series: await rt.series.readRange(ALL_ROWS),
        documents: await documentsOf(rt.series, merchants),
      };
      return { ...numbers, reprocessed: await removeAndReprocess(rt.warehouse, rt.series) };
    } finally {
      await rt.close();
    }
  }

  async function gcp(): Promise<RuntimeNumbers> {
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    const dedupe = createBigtableDedupeIndex(await ensureTable(instance, 'parity-dedupe', dedupeFamilies(8 * 86_400)));
    const series = createBigtableSeriesStore(await ensureTable(instance, 'parity-series', SERIES_FAMILIES));
    const warehouse = await LocalWarehouse.open({ path: join(dir, 'gcp.duckdb'), translate: toDuckDb });
    const pubsub = new PubSub({ projectId: TEST_PROJECT });
    try {
      // BigQuery's dims tables, mirrored from the dimensions file, are DuckDB's here.
      const dims = await LocalDimensionsStore.open({ file: join(dir, 'gcp-dimensions.json'), warehouse });
      await dims.load(workload.dimensions);
      const stage = createIngestStage({ dimensions: () => dims.get(), dedupe, sink: warehouse, clock });
      const srv = testServer(createIngestEventsHandler({ stage, sink: warehouse, clock, maxDeliveryAttempts: 5, logger: new MemoryLogger() }));

      const [topic] = await pubsub.createTopic('parity-events');
      const [sub] = await topic.createSubscription('parity-events-push', { ackDeadlineSeconds: 60 });
      const messages = messagesOf(workload);
      const ids = await createPubSubPublisher({ pubsub, topic: 'parity-events' }).publish(messages);
      assert.equal(ids.length, messages.length);

      // Pull everything, then deliver in publish order, as one push subscription at a time would:
      // the first copy received of an event wins in both runtimes.
      const pulled = new Map<string, Message>();
      sub.setOptions({ flowControl: { maxMessages: ids.length + 10 } });
      await new Promise<void>((resolve) => {
        sub.on('message', (m: Message) => {
          pulled.set(m.id, m);
          if (pulled.size === ids.length) resolve();
        });
      });
      sub.removeAllListeners('message');
      for (const id of ids) {
        const m = pulled.get(id)!;
        const res = await deliver(srv, 'push', { messageId: m.id, data: m.data, attributes: m.attributes, publishTime: m.publishTime.toISOString() });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        m.ack();
      }
      await sub.close();

      // The scheduled query's script (statement by statement, test/pipeline/marts/script-runner.ts) and
      // the export job's two tasks for its transfer run, with Bigtable as the series store; the tasks'
      // merchant ranges tile the merchant space.
      const startedAt = clock.now();
      await runScheduledScript(warehouse, { startedAt, runId: 'parity-run' });
      const run: FinishedRun = { name: 'runs/parity', state: 'SUCCEEDED', runTime: startedAt, endTime: new Date(startedAt.getTime() + 60_000) };
      let cells = 0;
      for (const index of [0, 1]) cells += (await createRunExporter({ warehouse, series, now: clock.now })(run, { index, count: 2 })).cells;

      const stored = await warehouse.entryCounts({ messageIds: ids });
      const martRows: Record<string, number> = {};
      const { MARTS } = await import('../../pipeline/marts/manifest.js');
      for (const spec of MARTS) martRows[spec.stem] = Number((await warehouse.query<{ n: number }>(`select count(*) as n from ${spec.table.id}`))[0]?.n ?? 0);
      return {
        counts: { published: messages.reduce((n, m) => n + m.entries.length, 0), ...stored },
        martRows,
        seriesCells: cells,
        series: await series.readRange(ALL_ROWS),
        documents: await documentsOf(series, merchants),
        reprocessed: await removeAndReprocess(warehouse, series),
      };
    } finally {
      await pubsub.close();
      await warehouse.close();
    }
  }

  it('gives exactly the numbers, series cells and documents of the local runtime', async () => {
    const l = await local();
    const g = await gcp();
    // The workload exercises every end state, so the comparison means something.
    assert.equal(l.counts.published, 400);
    assert.ok(l.counts.accepted > 300 && l.counts.duplicates > 0 && Object.keys(l.counts.rejected).length > 2, JSON.stringify(l.counts));
    // (inventory is stored as change points, not a row per item and hour: 697 rows hold what 1,000+ did)
    assert.ok(l.series.length > 600 && l.seriesCells > 1000, `${l.series.length} rows, ${l.seriesCells} cells`);
    assert.ok(l.series.some((r) => r.key.includes('#inventory#')), 'inventory change points exported');
    assert.ok(Object.values(l.martRows).every((n) => n > 0), JSON.stringify(l.martRows));
    assert.deepEqual(g.counts, l.counts);
    assert.deepEqual(g.martRows, l.martRows);
    assert.equal(g.seriesCells, l.seriesCells);
    assert.deepEqual(g.series, l.series);
    assert.deepEqual(g.documents, l.documents);
    // A reprocess after an item's events were removed deletes its points in both stores alike.
    const item = itemKey(removed!);
    assert.ok(l.series.some((r) => r.key.startsWith(item)), `${item} had points`);
    assert.deepEqual(l.reprocessed.series.filter((r) => r.key.startsWith(item)), []);
    assert.equal(g.reprocessed.cells, l.reprocessed.cells);
    assert.deepEqual(g.reprocessed.series, l.reprocessed.series);
  });
});
