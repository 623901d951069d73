// The partial writer on the Bigtable series store, against the Bigtable emulator: the same behaviours
// as on LMDB (CheckAndMutateRow for the marker and generation tests), and range reads leave markers out.
import assert from 'node:assert/strict';
import { isRankedKey } from '../../../pipeline/series/ranked.js';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { FAMILY_PARTIAL } from '../../../pipeline/ports.js';
import { createPartialWriter } from '../../../pipeline/speed/writer.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../../adapters/gcp/support/emulators.js';
import { orderWrite, partialWriterBehaviours } from './writer-behaviour.js';

describe('partial writer on the Bigtable series store (emulator)', function () {
  this.timeout(60_000);
  let n = 0;
  const open = async () => {
    await useEmulators();
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    return createBigtableSeriesStore(await ensureTable(instance, `speed-${process.pid}-${n++}`, SERIES_FAMILIES));
  };

  partialWriterBehaviours(open);

  it('keeps folded-message markers out of range reads while conditional writes still see them', async () => {
    const series = await open();
    const writer = createPartialWriter({ series, finalizedThrough: async () => null, compactEvery: 1 });
    const write = await orderWrite(1, 700);
    assert.equal((await writer.write('msg-1', write)).compacted, 5);
    const rows = await series.readRange({ start: 'pizzaco#', end: 'pizzaco$' });
    // The five series rows, and the ranked twins of the three a ranking reads (sales by store, products by sku and by sku and store).
    assert.deepEqual([rows.filter((r) => !isRankedKey(r.key)).length, rows.filter((r) => isRankedKey(r.key)).length], [5, 3]);
    for (const r of rows) assert.deepStrictEqual(Object.keys(r.cells[FAMILY_PARTIAL]!).filter((q) => q.startsWith('~') || q.includes('@')), [], r.key);
    assert.deepStrictEqual(await writer.write('msg-1', write), { rows: 0, cells: 0, alreadyFolded: 5, compacted: 0 });
  });
});
