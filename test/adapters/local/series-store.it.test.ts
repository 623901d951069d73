// The LMDB series store: the SeriesStore contract, plus what is local — no empty rows kept, data kept
// across reopening, and ranges over the whole key space.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { writeSeries } from '../../../pipeline/marts/exporter.js';
import { backfillRankedRows, isRankedKey, rankedTwinKey } from '../../../pipeline/series/ranked.js';
import { documentKey, encodeRowKey, type SeriesKey } from '../../../pipeline/series/row-key.js';
import { createPartialWriter } from '../../../pipeline/speed/writer.js';
import { orderWrite } from '../../pipeline/speed/writer-behaviour.js';
import { mapsOf } from '../../support/file-maps.js';
import { seriesStoreContract } from '../../support/series-store-contract.js';

const total: SeriesKey = { merchantId: 'm1', series: 'sales', dims: {}, grain: 'h' };
const store1: SeriesKey = { ...total, dims: { store: 's1' } };

describe('LMDB series store', () => {
  let dir: string;
  let store: LmdbSeriesStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'series-store-'));
    store = openLmdbSeriesStore({ dataDir: dir });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  seriesStoreContract(() => store);

  it('maps its file once however far it grows, so no page is resident twice', async () => {
    // ~8 MB over many transactions: lmdb-js's default 128 KB map would have been replaced several times.
    const cells = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`metric_${i}`, i]));
    for (let t = 0; t < 20; t++) {
      await store.mutate(Array.from({ length: 200 }, (_, i) => ({ kind: 'set' as const, key: encodeRowKey({ ...total, merchantId: `m${t}-${i}` }, '2026112110'), family: 'm', cells })));
    }
    assert.equal((await store.readRange({ start: '', end: '\uffff' })).length, 4000);
    assert.equal(mapsOf(join(dir, 'series', 'data.mdb')), 1);
  });

  it('merges set cells per family, deletes families and rows, and keeps no empty rows', async () => {
    const key = encodeRowKey(total, '2026112110');
    await store.mutate([
      { kind: 'set', key, family: 'm', cells: { orders: 1, items: 2 } },
      { kind: 'set', key, family: 'm', cells: { items: 3, average_order_value_minor: null } },
      { kind: 'set', key, family: 'p', cells: { orders: 7 } },
    ]);
    assert.deepEqual(await store.readRange({ start: key, end: key + '\u0000' }), [
      { key, cells: { m: { orders: 1, items: 3, average_order_value_minor: null }, p: { orders: 7 } } },
    ]);
    await store.mutate([{ kind: 'delete_family', key, family: 'p' }]);
    assert.deepEqual(await store.readRange({ start: key, end: key + '\u0000' }), [{ key, cells: { m: { orders: 1, items: 3, average_order_value_minor: null } } }]);
    await store.mutate([{ kind: 'delete_family', key, family: 'm' }]);
    assert.deepEqual(await store.readRange({ start: key, end: key + '\u0000' }), []);
    assert.equal(store.rowCount(), 0);
    await store.mutate([{ kind: 'set', key, family: 'm', cells: { orders: 9 } }, { kind: 'delete_row', key }]);
    assert.equal(store.rowCount(), 0);
  });

  it('keeps message-keyed partial cells and markers as written across reopening, and never changes a row already read', async () => {
    const key = encodeRowKey(total, '2026112111');
    await store.mutate([{ kind: 'set', key, family: 'm', cells: { orders: 4 } }]);
    for (let i = 1; i <= 40; i++) {
      const [applied] = await store.checkAndMutate!([
        { key, condition: { family: 'p', qualifier: `~msg${i}` }, mutations: [{ kind: 'set', key, family: 'p', cells: { [`orders@msg${i}`]: i, '!writes': i } }] },
      ]);
      assert.equal(applied, true);
    }
    const [read] = await store.readRange({ start: key, end: key + '\u0000' });
    const before = structuredClone(read);
    await store.mutate([
      { kind: 'delete_cells', key, family: 'p', qualifiers: Array.from({ length: 40 }, (_, i) => `orders@msg${i + 1}`) },
      { kind: 'set', key, family: 'p', cells: { orders: 820, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`~msg${i + 1}`, 1])) } },
    ]);
    assert.deepStrictEqual(read, before);
    const expected = { m: { orders: 4 }, p: { '!writes': 40, orders: 820, ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`~msg${i + 1}`, 1])) } };
    assert.deepStrictEqual((await store.readRange({ start: key, end: key + '\u0000' }))[0]!.cells, expected);
    await store.close();
    store = openLmdbSeriesStore({ dataDir: dir });
    assert.deepStrictEqual((await store.readRange({ start: key, end: key + '\u0000' }))[0]!.cells, expected);
    assert.deepStrictEqual(await store.checkAndMutate!([{ key, condition: { family: 'p', qualifier: '~msg7' }, mutations: [{ kind: 'set', key, family: 'p', cells: { 'orders@msg7': 7 } }] }]), [false]);
  });

  it('stores documents apart from the rows and keeps them across reopening', async () => {
    const key = documentKey('m1', 'freshness');
    await store.putDocument(key, { newest_event_at: '2026-11-21T10:59:00.000Z', finalized_through: '2026-11-21T10:00:00.000Z' });
    assert.deepEqual(await store.readRange({ start: 'm1#', end: 'm1$' }), []);
    await store.close();
    store = openLmdbSeriesStore({ dataDir: dir });
    assert.deepEqual(await store.getDocument(key), { newest_event_at: '2026-11-21T10:59:00.000Z', finalized_through: '2026-11-21T10:00:00.000Z' });
    assert.equal(await store.getDocument(documentKey('m2', 'freshness')), undefined);
  });

  it("keeps every ranked row's twin a byte copy of its row, and no twin without its row, through the speed layer, the copy of earlier rows and an export", async () => {
    // The stored entries (key → bytes), read from the closed store's file, then the store opened again.
    const entries = async (): Promise<Map<string, Buffer>> => {
      await store.close();
      const root = open({ path: join(dir, 'series'), maxDbs: 4 });
      const out = new Map<string, Buffer>();
      try {
        for (const { key, value } of root.openDB<Buffer, Buffer>({ name: 'rows', keyEncoding: 'binary', encoding: 'binary' }).getRange()) out.set(key.toString('utf8'), Buffer.from(value));
      } finally {
        await root.close();
      }
      store = openLmdbSeriesStore({ dataDir: dir });
      return out;
    };
    const twinsMirrorRows = async (): Promise<void> => {
      const stored = await entries();
      const twinOf = new Map([...stored.keys()].flatMap((k) => (isRankedKey(k) || rankedTwinKey(k) === undefined ? [] : [[rankedTwinKey(k)!, k] as const])));
      assert.ok(twinOf.size > 0);
      assert.deepEqual([...stored.keys()].filter(isRankedKey).sort(), [...twinOf.keys()].sort());
      for (const [twin, row] of twinOf) assert.ok(stored.get(twin)!.equals(stored.get(row)!), `${twin}: ${stored.get(twin)!.toString('hex')} is not ${row}: ${stored.get(row)!.toString('hex')}`);
    };
    const orders = await Promise.all([1, 2, 3].map((n) => orderWrite(n, 700 * n)));
    // A writer per message: the store is opened again after each look at its file.
    const write = (n: number) => createPartialWriter({ series: store, compactEvery: 2, finalizedThrough: async () => new Date('2026-11-21T11:00:00Z') }).write(`msg-${n}`, orders[n - 1]!);
    // Rows written before twins existed: the speed layer's hour 11 (two messages, compacted) and an exported hour 10.
    for (const n of [1, 2]) await write(n);
    const hour11 = (await store.readRange({ start: 'pizzaco#', end: 'pizzaco$' })).filter((r) => !isRankedKey(r.key) && rankedTwinKey(r.key) !== undefined).map((r) => r.key);
    const hour10 = hour11.map((k) => k.replace(/#2026112111$/, '#2026112110'));
    assert.ok(hour11.length > 1 && hour10.every((k, i) => k !== hour11[i]));
    await writeSeries(store, new Map(hour10.map((key, i) => [key, { key, cells: { units: i + 1, orders: 1 } }])), { finalizedBefore: new Date('2026-11-21T11:00:00Z') });
    await store.mutate([...hour10, ...hour11].map((key) => ({ kind: 'delete_row' as const, key: rankedTwinKey(key)! })));
    // The export's copy of the earlier rows, then a new message and a redelivery of one the rows folded.
    await backfillRankedRows(store, 'pizzaco', { pageRows: 2 });
    await write(3);
    await write(2);
    await twinsMirrorRows();
    // An export finalizing hour 11 (its partials retired) and removing one row of hour 10.
    await writeSeries(store, new Map(hour11.map((key, i) => [key, { key, cells: { units: i + 2, orders: 3 } }])), { previousKeys: new Set([hour10[0]!]), finalizedBefore: new Date('2026-11-21T12:00:00Z') });
    await twinsMirrorRows();
    assert.deepEqual(await store.readRange({ start: rankedTwinKey(hour10[0]!)!, end: rankedTwinKey(hour10[0]!)! + '\u0000' }), []);
  });

  it('keeps rows written before a reopen', async () => {
    const key = encodeRowKey(store1, '2026112110');
    await store.mutate([{ kind: 'set', key, family: 'm', cells: { net_revenue_minor: -1250 } }]);
    await store.close();
    store = openLmdbSeriesStore({ dataDir: dir });
    assert.deepEqual(await store.readRange({ start: key, end: key + '\u0000' }), [{ key, cells: { m: { net_revenue_minor: -1250 } } }]);
  });
});

describe('LMDB series store, whole key space', () => {
  it('returns only rows from a range that starts at the empty key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'series-store-'));
    const store = openLmdbSeriesStore({ path: join(dir, 'series') });
    try {
      await store.mutate([{ kind: 'set', key: 'a#sales#h#2026112110', family: 'm', cells: { orders: 1 } }]);
      assert.deepEqual(await store.readRange({ start: '', end: '\u007f' }), [{ key: 'a#sales#h#2026112110', cells: { m: { orders: 1 } } }]);
      assert.equal(store.rowCount(), 1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
