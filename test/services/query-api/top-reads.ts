// Rankings (/top) read the range's buckets, not the merchant's history: rows read per request counted at
// the series store, on each store (LMDB here, Bigtable against the emulator through top-reads.it.test.ts).
// Rows are written by the exporter's own writer and the speed layer's, so the ranked rows a request reads
// are the ones those writers keep; the answers are checked against the rows' layout read whole (the scan a
// merchant without ranked rows is still answered by) and against sums of what was written.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import request from 'supertest';
import { resolveDimensions } from '../../../pipeline/contracts/dimensions.js';
import { exportDocuments, writeSeries } from '../../../pipeline/marts/exporter.js';
import type { CellValue, SeriesStore, Warehouse } from '../../../pipeline/ports.js';
import type { FreshnessDocument } from '../../../pipeline/series/documents.js';
import { mirrorDimensionDocuments } from '../../../pipeline/series/mirror.js';
import { decodeRankedKey, isRankedKey, rankedRange, rankedTwinKey } from '../../../pipeline/series/ranked.js';
import { documentKey, encodeRowKey, hourBucket } from '../../../pipeline/series/row-key.js';
import { provisionalValues } from '../../../pipeline/speed/cells.js';
import { createPartialWriter } from '../../../pipeline/speed/writer.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, PEPPER, addKey } from './fixtures.js';
import { orderWrite } from '../../pipeline/speed/writer-behaviour.js';
import { dimensions as ingestDimensions } from '../../pipeline/ingest/fixtures.js';

const HOUR = 3_600_000;
const SKUS = ['anchovy', 'basil', 'calzone', 'diavola', 'funghi', 'margherita', 'pepperoni', 'quattro'];
const STORES = ['s1', 's2'];
/** The last hour of every merchant's history ends here; the rankings ask for its last local day. */
const END = Date.parse('2026-11-21T23:00:00Z');
const NOW = new Date('2026-11-22T01:30:00Z');
const FINALIZED = '2026-11-22T00:00:00.000Z';

/** A sku's cells in an hour: deterministic, different per sku, hour and store. */
function cells(sku: number, hourMs: number, store = 0): Record<string, CellValue> {
  const units = ((sku * 7 + new Date(hourMs).getUTCHours() * 3 + store * 5) % 11) + 1;
  return { units, orders: Math.ceil(units / 2), gross_revenue_minor: units * 990, net_revenue_minor: units * 900 - sku };
}

type Written = Map<string, { key: string; cells: Record<string, CellValue> }>;

/** A merchant's products rows over `days` days of hours ending at END, by sku and by sku and store. */
function history(merchantId: string, days: number, skip: (sku: string, hourMs: number) => boolean = () => false): Written {
  const out: Written = new Map();
  for (let t = END - days * 24 * HOUR; t < END; t += HOUR) {
    const b = hourBucket(new Date(t));
    SKUS.forEach((sku, i) => {
      if (skip(sku, t)) return;
      let total: Record<string, CellValue> | undefined;
      STORES.forEach((store, s) => {
        const c = cells(i, t, s);
        const key = encodeRowKey({ merchantId, series: 'products', dims: { sku, store }, grain: 'h' }, b);
        out.set(key, { key, cells: c });
        total = total ? Object.fromEntries(Object.entries(total).map(([n, v]) => [n, (v as number) + (c[n] as number)])) : { ...c };
      });
      const key = encodeRowKey({ merchantId, series: 'products', dims: { sku }, grain: 'h' }, b);
      out.set(key, { key, cells: total! });
    });
  }
  return out;
}

/** The store's series reads, with every row they answered counted. */
function counted(store: SeriesStore) {
  let rows = 0;
  const series: SeriesStore = {
    ...store,
    readRange: async (r, o) => {
      const out = await store.readRange(r, o);
      rows += out.length;
      return out;
    },
    readRangeWithDocuments: async (r, k) => {
      const out = await store.readRangeWithDocuments(r, k);
      rows += out.rows.length;
      return out;
    },
  };
  return {
    series,
    /** Rows the store answered while `fn` ran. */
    async rowsRead<T>(fn: () => Promise<T>): Promise<{ rows: number; out: T }> {
      const before = rows;
      const out = await fn();
      return { rows: rows - before, out };
    },
  };
}

/** The exporter's documents for merchants in Europe/Berlin with stores s1 and s2, through a warehouse answering its four questions. */
async function exportMerchantDocuments(series: SeriesStore, merchantIds: string[], opts: { finalized?: string; now?: Date; rankedCopyRows?: number } = {}): Promise<void> {
  const warehouse = {
    async query(sql: string) {
      if (/from dims\.merchants/.test(sql)) return merchantIds.map((merchant_id) => ({ merchant_id, name: merchant_id, time_zone: 'Europe/Berlin', currency: 'EUR' }));
      if (/from dims\.stores/.test(sql)) return merchantIds.flatMap((merchant_id) => STORES.map((store_id) => ({ merchant_id, store_id, name: store_id, city: null, region: null, time_zone: 'Europe/Berlin' })));
      if (/from marts\.mart_runs/.test(sql)) return [{ finalized_through: new Date(opts.finalized ?? FINALIZED) }];
      if (/from raw\.arrivals/.test(sql)) return [];
      throw new Error(`unexpected statement: ${sql}`);
    },
  } as unknown as Warehouse;
  await exportDocuments({ warehouse, series }, { from: new Date(END - HOUR), to: new Date(END) }, undefined, undefined, { now: opts.now ?? NOW, ...(opts.rankedCopyRows === undefined ? {} : { rankedCopyRows: opts.rankedCopyRows }) });
}

export function topReadBehaviours(open: () => Promise<SeriesStore>): void {
  const setUp = async (store: SeriesStore) => {
    const keys = new MemoryKeyStore();
    const c = counted(store);
    const app = createQueryApi({ series: c.series, keys, pepper: PEPPER, clock: { now: () => NOW }, logger: pino({ level: 'silent' }), rateLimit: false, dashboard: false });
    const admin = (await addKey(keys, 'admin')).key;
    const top = async (merchantId: string, query: string) => {
      const res = await request(app).get(`/v1/merchants/${merchantId}/top?${query}`).set('Authorization', `Bearer ${admin}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { items: { key: string; values: Record<string, number | null> }[]; other: { count: number }; totals: Record<string, number | null> };
    };
    return { c, top };
  };
  /** The same request answered from the rows as they lie (the merchant's freshness without ranked_rows), its rows counted. */
  const fromRowLayout = async (store: SeriesStore, run: () => Promise<unknown>, merchantId: string) => {
    const key = documentKey(merchantId, 'freshness');
    const doc = (await store.getDocument<FreshnessDocument>(key))!;
    const { ranked_rows: _, ...without } = doc;
    await store.putDocument(key, without);
    try {
      return await run();
    } finally {
      await store.putDocument(key, doc);
    }
  };
  const ONE_DAY = 'series=products&by=units&limit=3&from=2026-11-21&to=2026-11-22';
  const SIX_HOURS = 'series=products&by=net_revenue_minor&limit=3&from=2026-11-21T06:00:00Z&to=2026-11-21T12:00:00Z';
  const ONE_STORE = 'series=products&by=units&limit=3&from=2026-11-21T06:00:00Z&to=2026-11-21T12:00:00Z&store=s2';

  it("reads a ranking's buckets times its values, however long the merchant's history", async () => {
    const store = await open();
    await writeSeries(store, history('recent', 2), { finalizedBefore: new Date(FINALIZED) });
    await writeSeries(store, history('veteran', 30), { finalizedBefore: new Date(FINALIZED) });
    await exportMerchantDocuments(store, ['recent', 'veteran']);
    const { c, top } = await setUp(store);

    // Hours asked in UTC: exactly the 6 hours × 8 skus (the store's own ranked rows, 6 × 8 × 2 more, are another range).
    for (const m of ['recent', 'veteran']) {
      assert.equal((await c.rowsRead(() => top(m, SIX_HOURS))).rows, 6 * SKUS.length, m);
      assert.equal((await c.rowsRead(() => top(m, ONE_STORE))).rows, 6 * SKUS.length, m);
    }
    // A local day: the hours it covers in any zone (UTC+14 … UTC−12: 24 + 26), before the zone is known.
    const day = [await c.rowsRead(() => top('recent', ONE_DAY)), await c.rowsRead(() => top('veteran', ONE_DAY))];
    assert.equal(day[0]!.rows, day[1]!.rows);
    assert.ok(day[0]!.rows <= 50 * SKUS.length, `${day[0]!.rows} rows`);
    assert.deepStrictEqual({ ...day[0]!.out, merchant_id: 'veteran' }, day[1]!.out);

    // The same answers as the dimension's whole history read as its rows lie, which read every row of it.
    for (const q of [ONE_DAY, SIX_HOURS, ONE_STORE]) {
      const ranked = await top('veteran', q);
      const scanned = (await fromRowLayout(store, () => c.rowsRead(() => top('veteran', q)), 'veteran')) as { rows: number; out: unknown };
      assert.deepStrictEqual(ranked, scanned.out, q);
      assert.ok(scanned.rows >= 30 * 24 * SKUS.length * (1 + STORES.length), q);
    }
    // And the sums of what was written: the local day 2026-11-21 in Berlin is 2026-11-20T23:00Z … 2026-11-21T23:00Z.
    const body = await top('veteran', ONE_DAY);
    let units = 0;
    for (let t = Date.parse('2026-11-20T23:00:00Z'); t < END; t += HOUR) SKUS.forEach((_, i) => STORES.forEach((__, s) => (units += cells(i, t, s).units as number)));
    assert.equal(body.totals.units, units);
    assert.deepEqual([body.items.length, body.other.count], [3, SKUS.length - 3]);
  });

  it('answers a reprocess that deleted buckets as the rows do, with no ranked row of a deleted bucket left', async () => {
    const store = await open();
    const before = history('m1', 3);
    await writeSeries(store, before, { finalizedBefore: new Date(FINALIZED) });
    await exportMerchantDocuments(store, ['m1']);
    const { top } = await setUp(store);
    const first = await top('m1', ONE_DAY);
    // The reprocess: hours 06–08 of 2026-11-21 hold nothing any more, and 'basil' sold nothing all day.
    const gone = (sku: string, t: number) => (t >= Date.parse('2026-11-21T06:00:00Z') && t < Date.parse('2026-11-21T09:00:00Z')) || (sku === 'basil' && t >= Date.parse('2026-11-20T23:00:00Z'));
    const after = history('m1', 3, gone);
    const result = await writeSeries(store, after, { previousKeys: new Set(before.keys()), finalizedBefore: new Date(FINALIZED) });
    assert.equal(result.deletedRows, before.size - after.size);

    const ranked = await store.readRange(rankedRange({ merchantId: 'm1', series: 'products', grain: 'h' }, '2026112000', '2026112200'));
    const rankedS1 = await store.readRange(rankedRange({ merchantId: 'm1', series: 'products', grain: 'h', narrowedTo: 's1' }, '2026112000', '2026112200'));
    for (const r of [...ranked, ...rankedS1]) {
      const k = decodeRankedKey(r.key);
      assert.ok(!gone(k.dims.sku!, Date.parse(`${k.bucket.slice(0, 4)}-${k.bucket.slice(4, 6)}-${k.bucket.slice(6, 8)}T${k.bucket.slice(8)}:00:00Z`)), r.key);
    }
    // Every surviving row has its twin with the same cells, and nothing else is ranked.
    const all = await store.readRange({ start: 'm1#', end: 'm1$' });
    const twins = new Map(all.filter((r) => isRankedKey(r.key)).map((r) => [r.key, r.cells]));
    assert.equal(twins.size, after.size);
    assert.equal(all.length - twins.size, after.size);

    for (const q of [ONE_DAY, SIX_HOURS, ONE_STORE]) {
      const fromRanked = await top('m1', q);
      assert.deepStrictEqual(fromRanked, (await fromRowLayout(store, () => top('m1', q), 'm1')) as unknown, q);
    }
    const second = await top('m1', ONE_DAY);
    assert.ok(!second.items.some((i) => i.key === 'basil') && first.items.length === 3);
    assert.ok((second.totals.units as number) < (first.totals.units as number));
  });

  it("answers a merchant whose rows predate the ranked rows from its rows, until its next export copies them", async () => {
    const store = await open();
    // Rows as an exporter before ranked rows wrote them: the series rows alone, and a freshness without ranked_rows.
    const rows = history('m1', 4);
    await store.mutate([...rows.values()].map((r) => ({ kind: 'set' as const, key: r.key, family: 'm', cells: r.cells })));
    await mirrorDimensionDocuments(store, resolveDimensions({ merchants: [{ id: 'm1', name: 'm1', time_zone: 'Europe/Berlin', currency: 'EUR' }], stores: STORES.map((id) => ({ id, merchant_id: 'm1', name: id, time_zone: 'Europe/Berlin' })), fraud_ips: [] }));
    await store.putDocument(documentKey('m1', 'freshness'), { newest_event_at: null, finalized_through: FINALIZED });
    const { c, top } = await setUp(store);
    const old = await c.rowsRead(() => top('m1', ONE_DAY));
    assert.ok(old.out.items.length === 3 && (old.out.totals.units as number) > 0, 'not answered from the rows');
    assert.ok(old.rows >= rows.size, `${old.rows} rows read`);

    // The next export copies the rows' ranked twins once and says so in the freshness document.
    await exportMerchantDocuments(store, ['m1']);
    assert.equal((await store.getDocument<FreshnessDocument>(documentKey('m1', 'freshness')))?.ranked_rows, true);
    const now = await c.rowsRead(() => top('m1', ONE_DAY));
    assert.deepStrictEqual(now.out, old.out);
    assert.ok(now.rows <= 50 * SKUS.length, `${now.rows} rows read`);
    assert.equal((await c.rowsRead(() => top('m1', SIX_HOURS))).rows, 6 * SKUS.length);
  });

  it("shows the speed layer's hour in progress in today's ranking, provisional", async () => {
    const store = await open();
    await mirrorDimensionDocuments(store, ingestDimensions);
    // pizzaco's hours before 11:00 UTC are final and exported; 11:00 is in progress.
    await store.putDocument(documentKey('pizzaco', 'freshness'), { newest_event_at: '2026-11-21T11:30:00.000Z', finalized_through: '2026-11-21T11:00:00.000Z', ranked_rows: true });
    const writer = createPartialWriter({ series: store, finalizedThrough: async () => new Date('2026-11-21T11:00:00Z') });
    for (const n of [1, 2, 3]) await writer.write(`msg-${n}`, await orderWrite(n, 700 * n));
    await writer.write('msg-2', await orderWrite(2, 1400)); // a redelivery changes nothing
    const keys = new MemoryKeyStore();
    const app = createQueryApi({ series: store, keys, pepper: PEPPER, clock: { now: () => new Date('2026-11-21T11:45:00Z') }, logger: pino({ level: 'silent' }), rateLimit: false, dashboard: false });
    const admin = (await addKey(keys, 'admin')).key;
    const get = (q: string) => request(app).get(`/v1/merchants/pizzaco/top?${q}`).set('Authorization', `Bearer ${admin}`);
    const products = await get('series=products&by=net_revenue_minor&range=today');
    assert.equal(products.status, 200);
    assert.deepStrictEqual(products.body.items.map((i: { key: string; values: { units: number; net_revenue_minor: number } }) => [i.key, i.values.units, i.values.net_revenue_minor]), [['MARG-L', 3, 4200]]);
    const stores = await get('series=sales&by=orders&range=today');
    assert.deepStrictEqual(stores.body.items.map((i: { key: string; values: { orders: number } }) => [i.key, i.values.orders]), [['s001', 3]]);
    const narrowed = await get('series=products&by=units&range=today&store=s001');
    assert.deepStrictEqual(narrowed.body.items.map((i: { key: string; values: { units: number } }) => [i.key, i.values.units]), [['MARG-L', 3]]);
    // Read from the ranked rows: the speed layer wrote them beside its series rows.
    assert.equal((await store.readRange(rankedRange({ merchantId: 'pizzaco', series: 'products', grain: 'h' }, '2026112111', '2026112112'))).length, 1);
  });

  it('copies earlier merchants within each export\'s budget, going on where the last stopped, answering from the rows until done', async () => {
    const store = await open();
    const rows = [history('m1', 4), history('m2', 4)];
    await store.mutate(rows.flatMap((w) => [...w.values()]).map((r) => ({ kind: 'set' as const, key: r.key, family: 'm', cells: r.cells })));
    await mirrorDimensionDocuments(store, resolveDimensions({ merchants: ['m1', 'm2'].map((id) => ({ id, name: id, time_zone: 'Europe/Berlin', currency: 'EUR' })), stores: ['m1', 'm2'].flatMap((m) => STORES.map((id) => ({ id, merchant_id: m, name: id, time_zone: 'Europe/Berlin' }))), fraud_ips: [] }));
    for (const m of ['m1', 'm2']) await store.putDocument(documentKey(m, 'freshness'), { newest_event_at: null, finalized_through: FINALIZED });
    const { c, top } = await setUp(store);
    const expected = await Promise.all(['m1', 'm2'].map((m) => top(m, ONE_DAY)));
    const doc = async (m: string) => (await store.getDocument<FreshnessDocument>(documentKey(m, 'freshness')))!;

    // One row a run: each run copies one read's worth (a page) and stops; the merchant after it waits.
    await exportMerchantDocuments(store, ['m1', 'm2'], { rankedCopyRows: 1 });
    assert.equal((await doc('m1')).ranked_rows, undefined);
    assert.ok((await doc('m1')).ranked_copy_after?.startsWith('m1#products#sku='), JSON.stringify(await doc('m1')));
    assert.deepEqual(await doc('m2'), { newest_event_at: null, finalized_through: FINALIZED });
    for (const [i, m] of ['m1', 'm2'].entries()) {
      const read = await c.rowsRead(() => top(m, ONE_DAY));
      assert.deepStrictEqual(read.out, expected[i]);
      assert.ok(read.rows >= rows[i]!.size, `${m}: ${read.rows} rows read`);
    }
    await exportMerchantDocuments(store, ['m1', 'm2'], { rankedCopyRows: 1 });
    assert.equal((await doc('m1')).ranked_rows, true);
    assert.equal((await doc('m1')).ranked_copy_after, undefined);
    assert.equal((await doc('m1')).ranked_from, '2026-11-22T03:00:00.000Z');
    assert.equal((await doc('m2')).ranked_rows, undefined);
    await exportMerchantDocuments(store, ['m1', 'm2'], { rankedCopyRows: 1 });
    for (const [i, m] of ['m1', 'm2'].entries()) {
      assert.equal((await doc(m)).ranked_rows, true, m);
      const read = await c.rowsRead(() => top(m, ONE_DAY));
      assert.deepStrictEqual(read.out, expected[i]);
      assert.ok(read.rows <= 50 * SKUS.length, `${m}: ${read.rows} rows read`);
    }
  });

  it('counts a message redelivered after the copy once: an hour in progress during the copy is answered from its rows until final', async () => {
    const store = await open();
    await mirrorDimensionDocuments(store, ingestDimensions);
    const freshness = { newest_event_at: '2026-11-21T11:30:00.000Z', finalized_through: '2026-11-21T11:00:00.000Z' };
    await store.putDocument(documentKey('pizzaco', 'freshness'), freshness);
    // The speed layer before ranked rows: partials in the series rows only, each with its message's marker.
    const writer = createPartialWriter({ series: store, finalizedThrough: async () => new Date('2026-11-21T11:00:00Z') });
    for (const n of [1, 2]) await writer.write(`msg-${n}`, await orderWrite(n, 700 * n));
    const written = await store.readRange({ start: 'pizzaco#', end: 'pizzaco$' });
    await store.mutate(written.filter((r) => isRankedKey(r.key)).map((r) => ({ kind: 'delete_row' as const, key: r.key })));
    // Compacted: the messages' cells folded into sums, each message kept as a marker only (not readable on Bigtable).
    const ranked = written.filter((r) => !isRankedKey(r.key) && rankedTwinKey(r.key) !== undefined);
    assert.ok(ranked.length > 0);
    for (const r of ranked) assert.equal(await writer.compact(r.key), true, r.key);

    // The copy, by the first export with ranked rows (11:45), then msg-2 delivered again.
    const warehouse = {
      async query(sql: string) {
        if (/from dims\.merchants/.test(sql)) return [{ merchant_id: 'pizzaco', name: 'Pizza Co', time_zone: 'Europe/Berlin', currency: 'EUR' }];
        if (/from dims\.stores/.test(sql)) return [{ merchant_id: 'pizzaco', store_id: 's001', name: 'Mitte', city: 'Berlin', region: 'BE', time_zone: 'Europe/Berlin' }];
        if (/from marts\.mart_runs/.test(sql)) return [{ finalized_through: new Date(freshness.finalized_through) }];
        if (/from raw\.arrivals/.test(sql)) return [];
        throw new Error(`unexpected statement: ${sql}`);
      },
    } as unknown as Warehouse;
    await exportDocuments({ warehouse, series: store }, { from: new Date('2026-11-21T11:00:00Z'), to: new Date('2026-11-21T11:45:00Z') }, undefined, undefined, { now: new Date('2026-11-21T11:45:00Z') });
    const doc = (await store.getDocument<FreshnessDocument>(documentKey('pizzaco', 'freshness')))!;
    assert.deepEqual([doc.ranked_rows, doc.ranked_from], [true, '2026-11-21T13:00:00.000Z']);
    const again = await writer.write('msg-2', await orderWrite(2, 1400));
    assert.ok(again.alreadyFolded >= ranked.length, JSON.stringify(again));

    const keys = new MemoryKeyStore();
    const app = createQueryApi({ series: store, keys, pepper: PEPPER, clock: { now: () => new Date('2026-11-21T11:50:00Z') }, logger: pino({ level: 'silent' }), rateLimit: false, dashboard: false });
    const admin = (await addKey(keys, 'admin')).key;
    const get = async (q: string) => {
      const res = await request(app).get(`/v1/merchants/pizzaco/top?${q}`).set('Authorization', `Bearer ${admin}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { items: { key: string; values: Record<string, number | null> }[]; totals: Record<string, number | null> };
    };
    for (const q of ['series=products&by=net_revenue_minor&range=today', 'series=sales&by=orders&range=today', 'series=products&by=units&range=today&store=s001', 'series=products&by=units&from=2026-11-21T11:00:00Z&to=2026-11-21T12:00:00Z']) {
      const answer = await get(q);
      assert.deepStrictEqual(answer, await fromRowLayout(store, () => get(q), 'pizzaco'), q);
    }
    const products = await get('series=products&by=net_revenue_minor&range=today');
    assert.deepStrictEqual(products.items.map((i) => [i.key, i.values.units, i.values.net_revenue_minor]), [['MARG-L', 2, 2100]]);
    const stores = await get('series=sales&by=orders&range=today');
    assert.deepStrictEqual(stores.items.map((i) => [i.key, i.values.orders]), [['s001', 2]]);

    // The mart run finalizing 11:00 and 12:00 writes the hour's mart cells to its rows and their twins and
    // retires both rows' partials; past ranked_from, the ranked rows answer again, the same numbers.
    const partial = (await store.readRange({ start: 'pizzaco#', end: 'pizzaco$' })).filter((r) => !isRankedKey(r.key) && r.cells.p !== undefined);
    await writeSeries(store, new Map(partial.map((r) => [r.key, { key: r.key, cells: provisionalValues(r.cells.p!) }])), { finalizedBefore: new Date('2026-11-21T13:00:00Z') });
    await store.putDocument(documentKey('pizzaco', 'freshness'), { ...doc, finalized_through: '2026-11-21T13:00:00.000Z' });
    const c = counted(store);
    const finalApp = createQueryApi({ series: c.series, keys, pepper: PEPPER, clock: { now: () => new Date('2026-11-21T13:10:00Z') }, logger: pino({ level: 'silent' }), rateLimit: false, dashboard: false });
    const hour = await c.rowsRead(() => request(finalApp).get('/v1/merchants/pizzaco/top?series=products&by=units&from=2026-11-21T11:00:00Z&to=2026-11-21T12:00:00Z').set('Authorization', `Bearer ${admin}`));
    assert.equal(hour.rows, 1, 'the hour\'s one ranked row, no second read');
    assert.deepStrictEqual(hour.out.body.items.map((i: { key: string; values: { units: number; net_revenue_minor: number } }) => [i.key, i.values.units, i.values.net_revenue_minor]), [['MARG-L', 2, 2100]]);
  });
}
