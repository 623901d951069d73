// The mart runner, exporter and reprocessing on the local warehouse and series store: scheduled
// runs rebuild exactly the touched hours (a late POS batch changes exactly its hours), never the
// hour in progress; exports replace bucket cells idempotently; reprocessing reports what changed
// and revalidation moves entries between end states.
import assert from 'node:assert/strict';
import { isRankedKey, rankedTwinKey } from '../../../pipeline/series/ranked.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { createIngestStage } from '../../../pipeline/ingest/stage.js';
import { collectSeriesKeys, exportDocuments, exportWindows } from '../../../pipeline/marts/exporter.js';
import { martRowCounts, runMartCycle } from '../../../pipeline/marts/hourly.js';
import { reprocess } from '../../../pipeline/marts/reprocess.js';
import { scheduledRun, type MartWindow } from '../../../pipeline/marts/runner.js';
import { FAMILY_MART, type ArchiveReader, type Clock, type InboundMessage } from '../../../pipeline/ports.js';
import { documentKey, encodeRowKey } from '../../../pipeline/series/row-key.js';
import { inventory, loadDimensions, loadEvents, martTable, openWarehouse, order, type FixtureEvent } from './support.js';

const DIMS = {
  merchants: [{ id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' }],
  stores: [
    { id: 's1', merchant_id: 'm_ny', name: 'Midtown', city: 'New York', region: 'NY' },
    { id: 's_empty', merchant_id: 'm_ny', name: 'Closed', city: 'Boston', region: 'MA' },
  ],
};

const at = (iso: string): Clock => ({ now: () => new Date(iso) });
const iso = (d: Date) => d.toISOString();
const windowsOf = (ws: MartWindow[], mart: string) => ws.filter((w) => w.mart === mart).map((w) => [iso(w.windowStart), iso(w.windowEnd)]);
const cellsOf = (ws: MartWindow[], mart: string) => ws.filter((w) => w.mart === mart).map((w) => w.scope?.cells);
const sale = (t: string, price = 1000, store = 's1'): FixtureEvent => ({ event: order({ merchant: 'm_ny', store, at: t, currency: 'USD', lines: [{ sku: 'pz', quantity: 1, unit_price_minor: price }] }) });

describe('mart runner, exporter and reprocessing', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;
  let dir: string;
  let series: LmdbSeriesStore;

  beforeEach(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, DIMS);
    dir = mkdtempSync(join(tmpdir(), 'tillstream-marts-'));
    series = openLmdbSeriesStore({ path: join(dir, 'series') });
  });
  afterEach(async () => {
    await wh.close();
    await series.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds the touched cells and every merchant\'s latest inventory hours, never the hour in progress, and records its windows', async () => {
    await loadEvents(wh, dims, [sale('2026-03-06T10:05:00Z'), { event: inventory({ merchant: 'm_ny', store: 's1', at: '2026-03-06T10:20:00Z', sku: 'pz', onHand: 12 }) }, sale('2026-03-06T14:05:00Z')]);
    const run = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T14:20:00Z'), runId: 'run-1' });
    assert.equal(iso(run.finalizedThrough), '2026-03-06T14:00:00.000Z');
    assert.deepStrictEqual(run.touchedHours.map(iso), ['2026-03-06T10:00:00.000Z', '2026-03-06T14:00:00.000Z']);
    assert.deepStrictEqual(windowsOf(run.windows, 'mart_hourly_store_sales'), [['2026-03-06T10:00:00.000Z', '2026-03-06T11:00:00.000Z']]);
    assert.deepStrictEqual(cellsOf(run.windows, 'mart_hourly_store_sales'), [['m_ny|2026-03-06T10']]);
    // inventory: the merchant's touched hours on (its own window, its merchant range), then every merchant's two latest complete hours
    assert.deepStrictEqual(windowsOf(run.windows, 'mart_hourly_store_inventory'), [
      ['2026-03-06T10:00:00.000Z', '2026-03-06T12:00:00.000Z'],
      ['2026-03-06T12:00:00.000Z', '2026-03-06T14:00:00.000Z'],
    ]);
    assert.deepStrictEqual(run.windows.filter((w) => w.mart === 'mart_hourly_store_inventory').map((w) => [w.scope?.cells, w.scope?.allFrom && iso(w.scope.allFrom)]), [
      [['m_ny|2026-03-06T10', 'm_ny|2026-03-06T11'], undefined],
      [[], '2026-03-06T12:00:00.000Z'],
    ]);
    // daily: the merchant's local day (New York) of the touched hour; bounds cover it in any zone
    assert.deepStrictEqual(cellsOf(run.windows, 'mart_daily_merchant_sales'), [['m_ny|2026-03-06']]);
    assert.deepStrictEqual(windowsOf(run.windows, 'mart_daily_merchant_sales'), [['2026-03-05T00:00:00.000Z', '2026-03-06T14:00:00.000Z']]);
    // the 14:05 order is in the hour in progress: not built yet
    assert.deepStrictEqual((await martTable(wh, 'mart_hourly_store_sales')).map((r) => r.hour_start), ['2026-03-06T10:00:00.000Z']);
    const recorded = await wh.query<{ n: number; kinds: string; finalized: Date }>(
      "select count(*) as n, string_agg(distinct kind, ',') as kinds, max(finalized_through) as finalized from marts.mart_runs where run_id = 'run-1'",
    );
    assert.deepStrictEqual(recorded.map((r) => [r.n, r.kinds, iso(r.finalized)]), [[run.windows.length, 'scheduled', '2026-03-06T14:00:00.000Z']]);
  });

  it('builds a backfill of hours months apart with one window per mart (inventory: the merchant\'s, then every merchant\'s latest), rebuilding exactly their cells', async () => {
    const received = '2026-03-06T14:10:00Z';
    await loadEvents(wh, dims, [
      { ...sale('2025-06-01T03:30:00Z', 500), receivedAt: received, messageId: 'backfill' },
      { event: inventory({ merchant: 'm_ny', store: 's1', at: '2025-06-01T03:40:00Z', sku: 'pz', onHand: 12 }), receivedAt: received, messageId: 'backfill' },
      { ...sale('2025-09-15T20:10:00Z', 700), receivedAt: received, messageId: 'backfill' },
      { ...sale('2026-01-10T12:00:00Z', 900), receivedAt: received, messageId: 'backfill' },
    ]);
    const run = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T14:20:00Z') });
    const perMart = new Map<string, number>();
    for (const w of run.windows) perMart.set(w.mart, (perMart.get(w.mart) ?? 0) + 1);
    assert.deepStrictEqual([...perMart].filter(([, n]) => n !== 1), [['mart_hourly_store_inventory', 2]]);
    assert.deepStrictEqual(windowsOf(run.windows, 'mart_hourly_store_sales'), [['2025-06-01T03:00:00.000Z', '2026-01-10T13:00:00.000Z']]);
    assert.deepStrictEqual(cellsOf(run.windows, 'mart_hourly_store_sales'), [['m_ny|2025-06-01T03', 'm_ny|2025-09-15T20', 'm_ny|2026-01-10T12']]);
    // local days in New York: 03:30Z on 1 June is the evening of 31 May there
    assert.deepStrictEqual(cellsOf(run.windows, 'mart_daily_merchant_sales'), [['m_ny|2025-05-31', 'm_ny|2025-09-15', 'm_ny|2026-01-10']]);
    assert.deepStrictEqual((await martTable(wh, 'mart_hourly_store_sales')).map((r) => [r.hour_start, r.orders, r.gross_revenue_minor]), [
      ['2025-06-01T03:00:00.000Z', 1, 500],
      ['2025-09-15T20:00:00.000Z', 1, 700],
      ['2026-01-10T12:00:00.000Z', 1, 900],
    ]);
    assert.deepStrictEqual((await martTable(wh, 'mart_daily_merchant_sales')).map((r) => [r.local_date, r.orders]), [
      ['2025-05-31', 1],
      ['2025-09-15', 1],
      ['2026-01-10', 1],
    ]);
  });

  it('rebuilds no inventory hours of a backfill without inventory, and a merchant\'s hours from its first inventory event on', async () => {
    const received = '2026-03-06T14:10:00Z';
    await loadEvents(wh, dims, [
      { ...sale('2025-06-01T03:30:00Z', 500), receivedAt: received, messageId: 'orders' },
      { ...sale('2026-01-10T12:00:00Z', 900), receivedAt: received, messageId: 'orders' },
    ]);
    const first = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T14:20:00Z') });
    // orders alone: only every merchant's latest hours, no cell of the months between
    assert.deepStrictEqual(first.windows.filter((w) => w.mart === 'mart_hourly_store_inventory').map((w) => [iso(w.windowStart), iso(w.windowEnd), w.scope?.cells, w.scope?.allFrom && iso(w.scope.allFrom)]), [
      ['2026-03-06T12:00:00.000Z', '2026-03-06T14:00:00.000Z', [], '2026-03-06T12:00:00.000Z'],
    ]);
    assert.deepStrictEqual(await martTable(wh, 'mart_hourly_store_inventory'), []);
    // a later backfill with an older order and the merchant's first inventory event: its hours from that event on
    await loadEvents(wh, dims, [
      { ...sale('2025-05-01T08:00:00Z', 300), receivedAt: '2026-03-06T15:10:00Z', messageId: 'more' },
      { event: inventory({ merchant: 'm_ny', store: 's1', at: '2026-03-06T09:30:00Z', sku: 'pz', onHand: 7 }), receivedAt: '2026-03-06T15:10:00Z', messageId: 'more' },
    ]);
    const second = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T15:20:00Z') });
    assert.deepStrictEqual(cellsOf(second.windows, 'mart_hourly_store_inventory'), [['m_ny|2026-03-06T09', 'm_ny|2026-03-06T10', 'm_ny|2026-03-06T11', 'm_ny|2026-03-06T12'], []]);
    assert.deepStrictEqual((await martTable(wh, 'mart_hourly_store_inventory')).map((r) => [r.hour_start, r.closing_quantity]), [
      ['2026-03-06T09:00:00.000Z', 7],
      ['2026-03-06T10:00:00.000Z', 7],
      ['2026-03-06T11:00:00.000Z', 7],
      ['2026-03-06T12:00:00.000Z', 7],
      ['2026-03-06T13:00:00.000Z', 7],
      ['2026-03-06T14:00:00.000Z', 7],
    ]);
  });

  it('changes exactly the hours of a late POS batch on the next run', async () => {
    await loadEvents(wh, dims, [sale('2026-03-06T09:10:00Z'), sale('2026-03-06T11:30:00Z'), sale('2026-03-06T13:00:00Z')]);
    await scheduledRun({ warehouse: wh, clock: at('2026-03-06T14:20:00Z') });
    const before = await martTable(wh, 'mart_hourly_store_sales');
    // the batch arrives at 16:10 with orders from 09:40 and 11:50, and one order of the hour in progress
    await loadEvents(wh, dims, [
      { ...sale('2026-03-06T09:40:00Z', 500), receivedAt: '2026-03-06T16:10:00Z', messageId: 'pos-batch' },
      { ...sale('2026-03-06T11:50:00Z', 700), receivedAt: '2026-03-06T16:10:00Z', messageId: 'pos-batch' },
      { ...sale('2026-03-06T16:05:00Z', 900), receivedAt: '2026-03-06T16:10:00Z', messageId: 'pos-batch' },
    ]);
    const run = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T16:20:00Z') });
    // the batch's cells only (its 16:00 hour is in progress); the earlier run's arrivals are past the overlap
    assert.deepStrictEqual(windowsOf(run.windows, 'mart_hourly_store_sales'), [['2026-03-06T09:00:00.000Z', '2026-03-06T12:00:00.000Z']]);
    assert.deepStrictEqual(cellsOf(run.windows, 'mart_hourly_store_sales'), [['m_ny|2026-03-06T09', 'm_ny|2026-03-06T11']]);
    const after = await martTable(wh, 'mart_hourly_store_sales');
    const json = (rows: typeof after) => new Set(rows.map((r) => JSON.stringify(r)));
    const changedHours = [...new Set([...after.filter((r) => !json(before).has(JSON.stringify(r))), ...before.filter((r) => !json(after).has(JSON.stringify(r)))].map((r) => r.hour_start))].sort();
    assert.deepStrictEqual(changedHours, ['2026-03-06T09:00:00.000Z', '2026-03-06T11:00:00.000Z']);
    assert.deepStrictEqual(after.map((r) => [r.hour_start, r.orders, r.gross_revenue_minor]), [
      ['2026-03-06T09:00:00.000Z', 2, 1500],
      ['2026-03-06T11:00:00.000Z', 2, 1700],
      ['2026-03-06T13:00:00.000Z', 1, 1000],
    ]);
  });

  it('exports mart rows as series cells, replacing buckets, and writes the stores and freshness documents', async () => {
    await loadEvents(wh, dims, [sale('2026-03-06T10:05:00Z', 1000), sale('2026-03-06T10:15:00Z', 3000), { event: order({ merchant: 'm_ny', at: '2026-03-06T10:20:00Z', currency: 'USD', source: 'web' }) }]);
    const run = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T12:20:00Z') });
    const first = await exportWindows({ warehouse: wh, series }, run.windows);
    const again = await exportWindows({ warehouse: wh, series }, run.windows);
    assert.deepStrictEqual(again, first);
    const storeKey = encodeRowKey({ merchantId: 'm_ny', series: 'sales', dims: { store: 's1' }, grain: 'h' }, '2026030610');
    const totalKey = encodeRowKey({ merchantId: 'm_ny', series: 'sales', dims: {}, grain: 'h' }, '2026030610');
    const rows = await series.readRange({ start: 'm_ny#sales#', end: 'm_ny#sales$' });
    const byKey = new Map(rows.map((r) => [r.key, r.cells[FAMILY_MART]]));
    assert.deepStrictEqual(byKey.get(storeKey), {
      orders: 2, items: 2, gross_revenue_minor: 4000, discount_minor: 0, refund_minor: 0, net_revenue_minor: 4000, refunds: 0, cancellations: 0,
      online_orders: 0, pos_orders: 2, pickup_orders: 2, delivery_orders: 0, dine_in_orders: 0, average_order_value_minor: 2000,
    });
    // the merchant total includes the web order without a store
    assert.deepStrictEqual([byKey.get(totalKey)!.orders, byKey.get(totalKey)!.online_orders, byKey.get(totalKey)!.average_order_value_minor], [3, 1, 5000 / 3]);
    assert.deepStrictEqual(byKey.get('m_ny#sales#d#20260306')!.orders, 3);
    assert.deepStrictEqual(byKey.get('m_ny#sales#store=s1#d#20260306')!.orders, 2);
    // sales: store and total, hourly and daily; products: pz in s1 and in total, and the web order's sku-a in total
    assert.equal(rows.filter((r) => !isRankedKey(r.key)).length, 4);
    // and the ranked rows of those a ranking reads (sales by store, hourly), with the same cells
    assert.deepStrictEqual(rows.filter((r) => isRankedKey(r.key)), rows.flatMap((r) => (rankedTwinKey(r.key) ? [{ ...r, key: rankedTwinKey(r.key)! }] : [])));
    assert.deepStrictEqual([first.rows, first.cells], [4 + 3, 4 * 14 + 3 * 4]);

    await exportDocuments({ warehouse: wh, series });
    assert.deepStrictEqual(await series.getDocument(documentKey('m_ny', 'stores')), {
      stores: [
        { id: 's1', name: 'Midtown', city: 'New York', region: 'NY', time_zone: 'America/New_York' },
        { id: 's_empty', name: 'Closed', city: 'Boston', region: 'MA', time_zone: 'America/New_York' },
      ],
    });
    // ranked_from: the first hour after the hour in progress when the merchant's first document was written
    const exportedAfter = Date.now();
    const freshness = (await series.getDocument(documentKey('m_ny', 'freshness'))) as Record<string, unknown>;
    const { ranked_from: rankedFrom, ...rest } = freshness;
    assert.deepStrictEqual(rest, { newest_event_at: '2026-03-06T10:20:00.000Z', finalized_through: '2026-03-06T12:00:00.000Z', ranked_rows: true });
    const fromMs = Date.parse(String(rankedFrom));
    assert.equal(fromMs % 3_600_000, 0);
    assert.ok(fromMs > exportedAfter - 3_600_000 * 1 && fromMs <= exportedAfter + 2 * 3_600_000, String(rankedFrom));
  });

  it('deletes the cells of a bucket whose rows vanished in a rebuild', async () => {
    await loadEvents(wh, dims, [{ ...sale('2026-03-06T10:05:00Z'), messageId: 'm-1' }]);
    const run = await scheduledRun({ warehouse: wh, clock: at('2026-03-06T11:20:00Z') });
    await exportWindows({ warehouse: wh, series }, run.windows);
    await wh.write({ accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [{ message_id: 'm-1', merchant_id: 'm_ny', event_hour: new Date('2026-03-06T10:00:00Z'), received_at: new Date('2026-03-06T10:06:00Z') }] });
    const keys = new Set<string>();
    const report = await reprocess({ warehouse: wh, series, clock: at('2026-03-06T11:30:00Z') }, { from: new Date('2026-03-06T10:00:00Z'), to: new Date('2026-03-06T11:00:00Z') });
    assert.deepStrictEqual(report.marts.mart_hourly_store_sales, { rowsBefore: 1, rowsAfter: 0, rowsAdded: 0, rowsRemoved: 1 });
    assert.equal(report.deletedRows, 6);
    assert.deepStrictEqual(await series.readRange({ start: 'm_ny#', end: 'm_ny$' }), []);
    assert.equal((await collectSeriesKeys(wh, { mart: 'mart_hourly_store_sales', windowStart: new Date('2026-03-06T10:00:00Z'), windowEnd: new Date('2026-03-06T11:00:00Z') }, keys)).size, 0);
  });

  it('reports no change when reprocessing a range whose raw data did not change', async () => {
    await loadEvents(wh, dims, [sale('2026-03-06T10:05:00Z'), sale('2026-03-07T03:00:00Z')]);
    await reprocess({ warehouse: wh, series, clock: at('2026-03-08T00:00:00Z') }, { from: new Date('2026-03-06T00:00:00Z'), to: new Date('2026-03-08T00:00:00Z') });
    const report = await reprocess({ warehouse: wh, series, clock: at('2026-03-08T00:00:00Z') }, { from: new Date('2026-03-06T00:00:00Z'), to: new Date('2026-03-08T00:00:00Z'), marts: ['mart_hourly_store_sales', 'mart_daily_merchant_sales'] });
    assert.deepStrictEqual(report.marts, {
      mart_hourly_store_sales: { rowsBefore: 2, rowsAfter: 2, rowsAdded: 0, rowsRemoved: 0 },
      // 03:00Z on the 7th is still the 6th in New York
      mart_daily_merchant_sales: { rowsBefore: 1, rowsAfter: 1, rowsAdded: 0, rowsRemoved: 0 },
    });
    // two hours × (store + merchant total) and one day, 14 sales metrics each
    assert.equal(report.cells, 5 * 14);
  });

  it('revalidates archived payloads: a formerly rejected entry moves to accepted and reaches the marts', async () => {
    const entry = JSON.stringify(order({ merchant: 'm_ny', store: 's1', at: '2026-03-04T10:00:00Z', currency: 'USD', eventId: 'late-1' }));
    const ok = JSON.stringify(order({ merchant: 'm_ny', store: 's1', at: '2026-03-06T09:00:00Z', currency: 'USD', eventId: 'ok-1' }));
    const msg: InboundMessage = { id: 'arch-1', receivedAt: new Date('2026-03-06T09:30:00Z'), attributes: { source: 'pos' }, entries: [entry, ok], deliveryAttempt: 1 };
    const archive: ArchiveReader = {
      async *read(range) {
        if (msg.receivedAt >= range.from && msg.receivedAt < range.to) yield msg;
      },
    };
    const stage = (maxEventAgeMs: number) => createIngestStage({ dimensions: async () => dims, dedupe: wh, sink: wh, clock: at('2026-03-06T09:31:00Z'), config: { maxEventAgeMs } });
    // first ingest with a one-day maximum age (the "bug"): the two-day-old order is rejected
    const first = await stage(86_400_000)(msg);
    assert.deepStrictEqual([first.accepted, first.rejected], [1, { event_too_old: 1 }]);
    const progress: string[] = [];
    const report = await reprocess(
      {
        warehouse: wh,
        series,
        clock: at('2026-03-06T12:00:00Z'),
        archive,
        dedupe: wh,
        stage: stage(7 * 86_400_000),
        onRevalidated: (p) => void progress.push(`revalidated ${p.messages}/${p.entries}`),
        onWindow: (p) => void progress.push(`window ${p.done}/${p.total} ${p.mart}`),
      },
      { from: new Date('2026-03-06T09:00:00Z'), to: new Date('2026-03-06T10:00:00Z'), revalidate: true, marts: ['mart_hourly_store_sales'] },
    );
    assert.deepStrictEqual(report.revalidation, { messages: 1, entries: 2, moved: { 'rejected:event_too_old→accepted': 1 } });
    // progress: the chunk re-validated, then each window as it starts, then the end
    assert.deepStrictEqual(progress, ['revalidated 1/2', 'window 0/2 mart_hourly_store_sales', 'window 1/2 mart_hourly_store_sales', 'window 2/2 ']);
    assert.deepStrictEqual(windowsOf(report.windows, 'mart_hourly_store_sales'), [
      ['2026-03-04T10:00:00.000Z', '2026-03-04T11:00:00.000Z'],
      ['2026-03-06T09:00:00.000Z', '2026-03-06T10:00:00.000Z'],
    ]);
    assert.deepStrictEqual((await martTable(wh, 'mart_hourly_store_sales')).map((r) => [r.hour_start, r.orders]), [
      ['2026-03-04T10:00:00.000Z', 1],
      ['2026-03-06T09:00:00.000Z', 1],
    ]);
    const counts = await wh.query<{ accepted: number; rejected: number }>(
      "select (select count(*) from raw.events where event_ts >= timestamp '2026-01-01') as accepted, (select count(*) from raw.rejected_events where received_at >= timestamp '2026-01-01') as rejected",
    );
    assert.deepStrictEqual(counts, [{ accepted: 2, rejected: 0 }]);
  });

  it('exports what a run rebuilt before it stopped, even when it stopped right after its first rebuild', async () => {
    await loadEvents(wh, dims, [sale('2026-03-06T10:05:00Z'), sale('2026-03-06T11:05:00Z')]);
    // The first window is rebuilt, then its assertion cannot be read: the run stops there.
    let failed = false;
    const faulty = new Proxy(wh, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return async (sql: string, params?: Record<string, unknown>) => {
            if (!failed && sql.includes('assert_mart_hourly_store_sales__unique_key')) {
              failed = true;
              throw new Error('injected: the run stops after its first rebuild');
            }
            return target.query(sql, params as never);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await assert.rejects(runMartCycle({ warehouse: faulty, series, clock: at('2026-03-06T12:10:00Z') }), /injected/);
    assert.deepStrictEqual((await martTable(wh, 'mart_hourly_store_sales')).length, 2, 'the first window was rebuilt');
    await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T12:20:00Z') });
    const all = (await series.readRange({ start: 'm_ny#', end: 'm_ny$' })).map((r) => r.key);
    const keys = all.filter((k) => !isRankedKey(k));
    assert.deepStrictEqual(all.filter(isRankedKey), keys.flatMap((k) => rankedTwinKey(k) ?? []).sort());
    assert.deepStrictEqual(keys.filter((k) => k.includes('#sales#') && k.includes('#h#')), [
      'm_ny#sales#h#2026030610',
      'm_ny#sales#h#2026030611',
      'm_ny#sales#store=s1#h#2026030610',
      'm_ny#sales#store=s1#h#2026030611',
    ]);
  });

  it('runs a whole cycle: rebuild, export with vanished buckets deleted, documents, and row counts per mart', async () => {
    await loadEvents(wh, dims, [{ ...sale('2026-03-06T10:05:00Z'), messageId: 'm-1' }, sale('2026-03-06T11:05:00Z')]);
    const first = await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T12:10:00Z') });
    assert.deepStrictEqual([first.cells, first.documents], [(4 + 2) * 14 + 4 * 4, 3]);
    assert.deepStrictEqual(await martRowCounts(wh), {
      mart_hourly_store_sales: 2,
      mart_hourly_product_sales: 2,
      mart_hourly_traffic: 0,
      mart_hourly_traffic_breakdown: 0,
      mart_hourly_store_inventory: 0,
      mart_daily_merchant_sales: 1,
      mart_daily_store_sales: 1,
      mart_daily_merchant_traffic: 0,
      mart_daily_merchant_traffic_breakdown: 0,
      mart_hourly_promotions: 0,
      mart_daily_promotion_performance: 0,
    });
    // message m-1 is written again without its order (as a revalidation would): hour 10 loses its only row
    await wh.write({ accepted: [], orderLines: [], rejected: [], duplicates: [], arrivals: [{ message_id: 'm-1', merchant_id: 'm_ny', event_hour: new Date('2026-03-06T10:00:00Z'), received_at: new Date('2026-03-06T12:15:00Z') }] });
    await runMartCycle({ warehouse: wh, series, clock: at('2026-03-06T12:20:00Z') });
    const all = (await series.readRange({ start: 'm_ny#', end: 'm_ny$' })).map((r) => r.key);
    const keys = all.filter((k) => !isRankedKey(k));
    // the vanished hour's ranked rows went with it: every ranked row left is the twin of a row left
    assert.deepStrictEqual(all.filter(isRankedKey), keys.flatMap((k) => rankedTwinKey(k) ?? []).sort());
    assert.deepStrictEqual(all.filter((k) => k.includes('2026030610')), []);
    assert.deepStrictEqual(keys.filter((k) => k.endsWith('#h#2026030610')), []);
    assert.deepStrictEqual(keys.filter((k) => k.includes('#sales#') ), ['m_ny#sales#d#20260306', 'm_ny#sales#h#2026030611', 'm_ny#sales#store=s1#d#20260306', 'm_ny#sales#store=s1#h#2026030611']);
  });
});
