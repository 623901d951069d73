// Rankings read their range's buckets on both series stores: LMDB (local runtime) and Bigtable (emulator).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../../adapters/gcp/support/emulators.js';
import { topReadBehaviours } from './top-reads.js';

describe('rankings read their range, not the history: LMDB series store', () => {
  let dir: string;
  const opened: LmdbSeriesStore[] = [];
  before(async () => void (dir = await mkdtemp(join(tmpdir(), 'top-reads-'))));
  after(async () => {
    for (const s of opened) await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  topReadBehaviours(async () => {
    const store = openLmdbSeriesStore({ path: join(dir, String(opened.length)) });
    opened.push(store);
    return store;
  });
});

describe('rankings read their range, not the history: Bigtable series store (emulator)', function () {
  this.timeout(120_000);
  let n = 0;
  topReadBehaviours(async () => {
    await useEmulators();
    const instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    return createBigtableSeriesStore(await ensureTable(instance, `top-reads-${process.pid}-${n++}`, SERIES_FAMILIES));
  });
});
