// The SeriesStore port's behaviours, run against each implementation (LMDB locally, Bigtable on the
// emulator) so the two cannot drift: half-open ranges in byte order, no leaks between series, stores or
// merchants, per-family merges, idempotent bucket replacement, and documents kept apart from the rows.
import assert from 'node:assert/strict';
import type { SeriesStore } from '../../pipeline/ports.js';
import { backfillRankedRows, decodeRankedKey, rankedRange, rankedTwinKey, withRankedTwins } from '../../pipeline/series/ranked.js';
import { documentKey, encodeRowKey, hourBucket, rowRange, type SeriesKey } from '../../pipeline/series/row-key.js';

const total: SeriesKey = { merchantId: 'm1', series: 'sales', dims: {}, grain: 'h' };
const store1: SeriesKey = { ...total, dims: { store: 's1' } };
const hour = (iso: string): string => hourBucket(new Date(iso));

/** Registers the contract's tests; `store()` answers the fresh, empty store of the current test. */
export function seriesStoreContract(store: () => SeriesStore): void {
  it('reads at most limit rows of a range, the first ones, so a long range can be read page by page', async () => {
    const keys = ['2026112100', '2026112101', '2026112102', '2026112103', '2026112104'].map((b) => encodeRowKey(total, b));
    await store().mutate(keys.map((key, i) => ({ kind: 'set', key, family: 'm', cells: { orders: i } })));
    const range = rowRange(total, '2026112100', '2026112200');
    assert.deepEqual((await store().readRange(range, { limit: 2 })).map((r) => r.key), keys.slice(0, 2));
    assert.deepEqual((await store().readRange({ ...range, start: keys[1]! + '\u0000' }, { limit: 2 })).map((r) => r.key), keys.slice(2, 4));
    assert.equal((await store().readRange(range, { limit: 10 })).length, 5);
  });

  it("holds a ranking's buckets in one range of ranked rows, written and deleted with their series rows", async () => {
    const products: SeriesKey = { merchantId: 'm1', series: 'products', dims: {}, grain: 'h' };
    const skus = ['pz', 'cola', 'a#b=c%'];
    const history = Array.from({ length: 48 }, (_, h) => hourBucket(new Date(Date.UTC(2026, 10, 20) + h * 3_600_000)));
    const rows = skus.flatMap((sku) => history.flatMap((b) => [encodeRowKey({ ...products, dims: { sku } }, b), encodeRowKey({ ...products, dims: { sku, store: 's1' } }, b)]));
    await store().mutate(withRankedTwins(store(), rows.map((key) => ({ kind: 'set', key, family: 'm', cells: { units: 1 } }))));
    const day = (await store().readRange(rankedRange({ merchantId: 'm1', series: 'products', grain: 'h' }, '2026112100', '2026112200'))).map((r) => decodeRankedKey(r.key));
    assert.equal(day.length, 24 * skus.length);
    assert.deepEqual(new Set(day.map((k) => k.dims.sku)), new Set(skus));
    assert.ok(day.every((k) => k.bucket >= '2026112100' && k.bucket < '2026112200' && k.dims.store === undefined));
    const narrowed = await store().readRange(rankedRange({ merchantId: 'm1', series: 'products', grain: 'h', narrowedTo: 's1' }, '2026112110', '2026112112'));
    assert.deepEqual(narrowed.map((r) => decodeRankedKey(r.key)), ['2026112110', '2026112111'].flatMap((bucket) => [...skus].sort((a, b) => Buffer.compare(Buffer.from(encodeRowKey({ ...products, dims: { sku: a } }, '')), Buffer.from(encodeRowKey({ ...products, dims: { sku: b } }, '')))).map((sku) => ({ ...products, dims: { sku, store: 's1' }, bucket }))));
    // A reprocess deleting a bucket's mart family deletes its ranked rows too: nothing is left behind.
    const gone = rows.filter((k) => k.endsWith('#2026112105'));
    await store().mutate(withRankedTwins(store(), gone.map((key) => ({ kind: 'delete_family', key, family: 'm' }))));
    const after = await store().readRange(rankedRange({ merchantId: 'm1', series: 'products', grain: 'h' }, '2026112100', '2026112200'));
    assert.equal(after.length, 23 * skus.length);
    assert.ok(after.every((r) => decodeRankedKey(r.key).bucket !== '2026112105'));
    assert.deepEqual(await store().readRange(rankedRange({ merchantId: 'm1', series: 'products', grain: 'h', narrowedTo: 's1' }, '2026112105', '2026112106')), []);
  });

  it('copies the ranked rows of rows written without them, page by page, their mart cells only, within a budget and resumable', async () => {
    const rows = ['s1', 's2', 's3'].flatMap((store) => ['2026112100', '2026112101', '2026112102'].map((b) => encodeRowKey({ ...store1, dims: { store } }, b)));
    await store().mutate([
      ...rows.map((key, i) => ({ kind: 'set' as const, key, family: 'm', cells: { orders: i } })),
      { kind: 'set', key: rows[4]!, family: 'p', cells: { orders: 2, 'orders@msg-9': 1, '~msg-8': 1 } },
      { kind: 'set', key: encodeRowKey(total, '2026112100'), family: 'm', cells: { orders: 99 } },
    ]);
    // Rows as written before twins existed: a store that mirrors twins made them with the rows, so they go.
    await store().mutate(rows.map((key) => ({ kind: 'delete_row' as const, key: rankedTwinKey(key)! })));
    assert.equal((await store().readRange(rankedRange({ merchantId: 'm1', series: 'sales', grain: 'h' }, '2026112100', '2026112200'))).length, 0);
    // A budget of 3 rows, 2 a read: two reads, then where it stopped; the rest after it.
    const first = await backfillRankedRows(store(), 'm1', { pageRows: 2, maxRows: 3 });
    assert.equal(first.copied, 4);
    assert.equal(first.next, [...rows].sort()[3]);
    assert.equal((await store().readRange(rankedRange({ merchantId: 'm1', series: 'sales', grain: 'h' }, '2026112100', '2026112200'))).length, 4);
    assert.deepEqual(await backfillRankedRows(store(), 'm1', { pageRows: 2, after: first.next! }), { copied: rows.length - 4 });
    const twins = await store().readRange(rankedRange({ merchantId: 'm1', series: 'sales', grain: 'h' }, '2026112100', '2026112200'));
    // The partials (a redelivery's marker cannot be read on Bigtable, so a copy of them would count it again) stay
    // behind; a store that mirrors twins copies the whole row, markers included, so its twin counts as its row does.
    const partials = store().mirrorsRankedTwins === true ? { p: { orders: 2, 'orders@msg-9': 1, '~msg-8': 1 } } : {};
    assert.deepEqual(
      twins,
      rows.map((key, i) => ({ key: rankedTwinKey(key)!, cells: { m: { orders: i }, ...(i === 4 ? partials : {}) } })).sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key))),
    );
    // Again, whole: the same rows (idempotent), and the merchant total, which no ranking reads, has none.
    assert.deepEqual(await backfillRankedRows(store(), 'm1', { pageRows: 2 }), { copied: rows.length });
    assert.deepEqual(await store().readRange(rankedRange({ merchantId: 'm1', series: 'sales', grain: 'h' }, '2026112100', '2026112200')), twins);
    assert.equal((await store().readRange({ start: 'm1#', end: 'm1$' })).length, 2 * rows.length + 1);
  });

  it('reads back exactly the rows of a half-open range, in key order', async () => {
    const keys = ['2026112100', '2026112101', '2026112102', '2026112103'].map((b) => encodeRowKey(total, b));
    await store().mutate(keys.reverse().map((key, i) => ({ kind: 'set', key, family: 'm', cells: { orders: i } })));
    assert.deepEqual(await store().readRange(rowRange(total, '2026112101', '2026112103')), [
      { key: 'm1#sales#h#2026112101', cells: { m: { orders: 2 } } },
      { key: 'm1#sales#h#2026112102', cells: { m: { orders: 1 } } },
    ]);
  });

  it('keeps other series, stores and merchants out of a range', async () => {
    const b = hour('2026-11-21T05:00:00Z');
    await store().mutate([
      { kind: 'set', key: encodeRowKey(total, b), family: 'm', cells: { orders: 1 } },
      { kind: 'set', key: encodeRowKey(store1, b), family: 'm', cells: { orders: 2 } },
      { kind: 'set', key: encodeRowKey({ ...total, merchantId: 'm10' }, b), family: 'm', cells: { orders: 3 } },
      { kind: 'set', key: encodeRowKey({ ...total, grain: 'd' }, '20261121'), family: 'm', cells: { orders: 4 } },
      { kind: 'set', key: encodeRowKey({ ...total, series: 'traffic' }, b), family: 'm', cells: { page_views: 5 } },
    ]);
    assert.deepEqual(await store().readRange(rowRange(total, '2026112100', '2026112200')), [{ key: 'm1#sales#h#2026112105', cells: { m: { orders: 1 } } }]);
    assert.deepEqual(await store().readRange(rowRange(store1, '2026112100', '2026112200')), [{ key: 'm1#sales#store=s1#h#2026112105', cells: { m: { orders: 2 } } }]);
  });

  it('orders keys byte-wise, as Bigtable does', async () => {
    const keys = ['a#x', 'a#X', 'a#é', 'a#~', 'a#0', 'a#_'];
    await store().mutate(keys.map((key) => ({ kind: 'set', key, family: 'm', cells: { v: 1 } })));
    const got = (await store().readRange({ start: 'a#', end: 'a$' })).map((r) => r.key);
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(got, expected);
    assert.deepEqual(expected, ['a#0', 'a#X', 'a#_', 'a#x', 'a#~', 'a#é']);
  });

  it('merges set cells per family, keeps only the latest value, deletes families and rows', async () => {
    const key = encodeRowKey(total, '2026112110');
    const one = { start: key, end: key + '\u0000' };
    await store().mutate([
      { kind: 'set', key, family: 'm', cells: { orders: 1, items: 2 } },
      { kind: 'set', key, family: 'm', cells: { items: 3, average_order_value_minor: null } },
      { kind: 'set', key, family: 'p', cells: { orders: 7, ratio: 0.125 } },
    ]);
    await store().mutate([{ kind: 'set', key, family: 'm', cells: { orders: -1250 } }]);
    assert.deepEqual(await store().readRange(one), [{ key, cells: { m: { orders: -1250, items: 3, average_order_value_minor: null }, p: { orders: 7, ratio: 0.125 } } }]);
    await store().mutate([{ kind: 'delete_family', key, family: 'p' }]);
    assert.deepEqual(await store().readRange(one), [{ key, cells: { m: { orders: -1250, items: 3, average_order_value_minor: null } } }]);
    await store().mutate([{ kind: 'delete_family', key, family: 'm' }]);
    assert.deepEqual(await store().readRange(one), []);
    await store().mutate([{ kind: 'set', key, family: 'm', cells: { orders: 9 } }, { kind: 'delete_row', key }]);
    assert.deepEqual(await store().readRange(one), []);
  });

  it('replaces a bucket idempotently with delete_family then set', async () => {
    const key = encodeRowKey(total, '2026112110');
    const replace = [
      { kind: 'delete_family', key, family: 'm' },
      { kind: 'set', key, family: 'm', cells: { orders: 5 } },
    ] as const;
    await store().mutate([{ kind: 'set', key, family: 'm', cells: { orders: 1, refunds: 1 } }]);
    await store().mutate([...replace]);
    await store().mutate([...replace]);
    assert.deepEqual(await store().readRange({ start: key, end: key + '\u0000' }), [{ key, cells: { m: { orders: 5 } } }]);
  });

  it('replaces a whole row with delete_row then set, in one call and again (a finalized hour: partials gone, mart cells only)', async () => {
    const key = encodeRowKey(total, '2026112110');
    const replace = [
      { kind: 'delete_row', key },
      { kind: 'set', key, family: 'm', cells: { orders: 5 } },
    ] as const;
    await store().mutate([
      { kind: 'set', key, family: 'm', cells: { orders: 1, refunds: 1 } },
      { kind: 'set', key, family: 'p', cells: { 'orders@000000000001': 4, '~000000000002': 1 } },
    ]);
    await store().mutate([...replace]);
    assert.deepEqual(await store().readRange({ start: key, end: key + '\u0000' }), [{ key, cells: { m: { orders: 5 } } }]);
    await store().mutate([...replace]);
    assert.deepEqual(await store().readRange({ start: key, end: key + '\u0000' }), [{ key, cells: { m: { orders: 5 } } }]);
  });

  it('answers an empty or inverted range with no rows', async () => {
    await store().mutate([{ kind: 'set', key: 'm1#sales#h#2026112110', family: 'm', cells: { orders: 1 } }]);
    assert.deepEqual(await store().readRange({ start: 'm1#sales#h#2026112111', end: 'm1#sales#h#2026112110' }), []);
    assert.deepEqual(await store().readRange({ start: 'm1#sales#h#2026112110', end: 'm1#sales#h#2026112110' }), []);
  });

  it('stores documents apart from the series rows', async () => {
    const key = documentKey('m1', 'freshness');
    await store().putDocument(key, { newest_event_at: '2026-11-21T10:59:00.000Z' });
    await store().putDocument(key, { newest_event_at: '2026-11-21T11:59:00.000Z', finalized_through: null });
    assert.deepEqual(await store().readRange({ start: 'm1#', end: 'm1$' }), []);
    assert.deepEqual(await store().getDocument(key), { newest_event_at: '2026-11-21T11:59:00.000Z', finalized_through: null });
    assert.equal(await store().getDocument(documentKey('m2', 'freshness')), undefined);
  });

  it('reads a range and documents together, a missing document absent and no document among the rows', async () => {
    const freshness = documentKey('m1', 'freshness');
    const merchant = documentKey('m1', 'merchant');
    await store().putDocument(freshness, { newest_event_at: null, finalized_through: '2026-11-21T10:00:00.000Z' });
    await store().putDocument(documentKey('m2', 'merchant'), { id: 'm2' });
    await store().mutate([
      { kind: 'set', key: encodeRowKey(total, '2026112110'), family: 'm', cells: { orders: 1 } },
      { kind: 'set', key: encodeRowKey(total, '2026112111'), family: 'p', cells: { orders: 2 } },
      { kind: 'set', key: encodeRowKey(total, '2026112112'), family: 'm', cells: { orders: 3 } },
    ]);
    const got = await store().readRangeWithDocuments(rowRange(total, '2026112110', '2026112112'), [freshness, merchant]);
    assert.deepEqual(got.rows, [
      { key: 'm1#sales#h#2026112110', cells: { m: { orders: 1 } } },
      { key: 'm1#sales#h#2026112111', cells: { p: { orders: 2 } } },
    ]);
    assert.deepEqual([...got.documents], [[freshness, { newest_event_at: null, finalized_through: '2026-11-21T10:00:00.000Z' }]]);
    // An empty range reads the documents alone; a range over the merchant's documents returns no rows.
    const docsOnly = await store().readRangeWithDocuments({ start: '', end: '' }, [freshness]);
    assert.deepEqual(docsOnly.rows, []);
    assert.equal(docsOnly.documents.size, 1);
    assert.deepEqual((await store().readRangeWithDocuments({ start: 'm1#', end: 'm1$' }, [])).rows.map((r) => r.key), [
      'm1#sales#h#2026112110',
      'm1#sales#h#2026112111',
      'm1#sales#h#2026112112',
    ]);
  });
}
