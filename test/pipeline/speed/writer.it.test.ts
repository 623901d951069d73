// The partial writer on the local LMDB series store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import assert from 'node:assert/strict';
import { FAMILY_PARTIAL } from '../../../pipeline/ports.js';
import { rankedTwinKey } from '../../../pipeline/series/ranked.js';
import { encodeRowKey } from '../../../pipeline/series/row-key.js';
import { provisionalValues, WRITES } from '../../../pipeline/speed/cells.js';
import { createPartialWriter } from '../../../pipeline/speed/writer.js';
import { orderWrite, partialWriterBehaviours } from './writer-behaviour.js';

describe('partial writer on the LMDB series store', () => {
  let dir: string;
  const opened: LmdbSeriesStore[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'speed-writer-'));
  });
  after(async () => {
    for (const s of opened) await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  partialWriterBehaviours(async () => {
    const store = openLmdbSeriesStore({ path: join(dir, `series-${opened.length}`) });
    opened.push(store);
    return store;
  });

  it('counts each message of one group commit once, with a redelivery and two messages on one row in the group, and mirrors the ranked row', async () => {
    const series = openLmdbSeriesStore({ path: join(dir, 'group') });
    opened.push(series);
    const writer = createPartialWriter({ series, finalizedThrough: async () => null, compactEvery: 4 });
    const [first, second, third] = await Promise.all([orderWrite(1, 1000), orderWrite(2, 500), orderWrite(3, 250)]);
    // Started together, these calls share one LMDB transaction (the store's group commit).
    const results = await Promise.all([writer.write('msg-1', first), writer.write('msg-2', second), writer.write('msg-1', first), writer.write('msg-3', third)]);
    assert.deepStrictEqual(results.map((r) => r.alreadyFolded), [0, 0, 0, 0]);
    const store = encodeRowKey({ merchantId: 'pizzaco', series: 'sales', dims: { store: 's001' }, grain: 'h' }, '2026112111');
    const twin = rankedTwinKey(store)!;
    const [row] = await series.readRange({ start: store, end: store + '\u0000' });
    const cells = row!.cells[FAMILY_PARTIAL]!;
    const v = provisionalValues(cells);
    assert.deepStrictEqual({ orders: v.orders, net: v.net_revenue_minor }, { orders: 3, net: 1750 });
    // Four writes reached the counter, so the row was compacted: the sums hold every message once.
    assert.equal(cells[WRITES], 4);
    assert.deepStrictEqual({ orders: cells.orders, net: cells.net_revenue_minor }, { orders: 3, net: 1750 });
    const [mirrored] = await series.readRange({ start: twin, end: twin + '\u0000' });
    assert.deepStrictEqual(mirrored!.cells, row!.cells);
    // A redelivery after the compaction finds the markers and writes nothing.
    assert.deepStrictEqual(await writer.write('msg-2', second), { rows: 0, cells: 0, alreadyFolded: 5, compacted: 0 });
    assert.deepStrictEqual(provisionalValues((await series.readRange({ start: twin, end: twin + '\u0000' }))[0]!.cells[FAMILY_PARTIAL]!).orders, 3);
  });
});
