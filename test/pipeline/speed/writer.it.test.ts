// The partial writer on the local LMDB series store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { partialWriterBehaviours } from './writer-behaviour.js';

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
});
