// The local reader: the series store, keys and pepper of a data directory opened without its writer
// lock, so a stand-alone query API can serve beside `tillstream start` (LMDB and the keys file allow
// other readers). Everything that writes goes through runtime/local-writer.ts.
import { openDataDir } from '../adapters/local/data-dir.js';
import { LocalKeyStore, loadOrCreatePepper } from '../adapters/local/key-store.js';
import { openLmdbSeriesStore } from '../adapters/local/series-store.js';
import type { KeyStore, SeriesStore } from '../pipeline/ports.js';
import { DATA_FILES } from './local-stores.js';

export interface LocalReader {
  series: SeriesStore;
  keys: KeyStore;
  pepper: Buffer;
  close(): Promise<void>;
}

export async function openLocalReader(env: NodeJS.ProcessEnv = process.env): Promise<LocalReader> {
  const dataDir = await openDataDir({ env, write: false });
  try {
    const pepper = await loadOrCreatePepper(dataDir.file(DATA_FILES.pepper));
    const series = openLmdbSeriesStore({ path: dataDir.file(DATA_FILES.series) });
    return {
      series,
      keys: new LocalKeyStore(dataDir.file(DATA_FILES.keys)),
      pepper,
      async close() {
        await series.close();
        await dataDir.close();
      },
    };
  } catch (err) {
    await dataDir.close();
    throw err;
  }
}
