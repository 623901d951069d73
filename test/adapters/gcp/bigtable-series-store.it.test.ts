// The Bigtable series store on the emulator: the SeriesStore contract, and writes larger than one request.
import assert from 'node:assert/strict';
import type { Bigtable, Instance } from '@google-cloud/bigtable';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import type { SeriesStore } from '../../../pipeline/ports.js';
import { encodeRowKey, hourBucket, rowRange, type SeriesKey } from '../../../pipeline/series/row-key.js';
import { seriesStoreContract } from '../../support/series-store-contract.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from './support/emulators.js';

const total: SeriesKey = { merchantId: 'm1', series: 'sales', dims: {}, grain: 'h' };
const hour = (iso: string): string => hourBucket(new Date(iso));

describe('gcp Bigtable series store (emulator)', function () {
  this.timeout(30_000);
  let bigtable: Bigtable;
  let instance: Instance;
  let store: SeriesStore;
  let n = 0;

  before(async () => {
    await useEmulators();
    bigtable = bigtableClient(TEST_PROJECT);
    instance = bigtable.instance(TEST_INSTANCE);
  });
  beforeEach(async () => {
    store = createBigtableSeriesStore(await ensureTable(instance, `series-${++n}`, SERIES_FAMILIES));
  });

  seriesStoreContract(() => store);

  it('writes more rows than one request carries', async () => {
    const buckets = Array.from({ length: 2500 }, (_, i) => hour(new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString()));
    await store.mutate(buckets.map((b, i) => ({ kind: 'set', key: encodeRowKey(total, b), family: 'm', cells: { orders: i } })));
    const rows = await store.readRange(rowRange(total, '2026', '2027'));
    assert.equal(rows.length, 2500);
    assert.deepEqual(rows[2499], { key: encodeRowKey(total, buckets[2499]!), cells: { m: { orders: 2499 } } });
  });
});
