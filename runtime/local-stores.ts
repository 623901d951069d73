// Opens the local runtime's stores in one data directory, in the order that keeps them consistent:
// the directory (version check, writer lock), the archive and the bus (which repairs the archive
// before anything can be delivered), the warehouse, then dimensions and keys. The CLI and the local
// server wire stages to what this returns.
import { LocalArchive } from '../adapters/local/archive.js';
import { LocalBus } from '../adapters/local/bus.js';
import { openDataDir, type DataDir, type OpenDataDirOptions } from '../adapters/local/data-dir.js';
import { LocalDimensionsStore } from '../adapters/local/dimensions-store.js';
import { LocalKeyStore, loadOrCreatePepper } from '../adapters/local/key-store.js';
import { LocalWarehouse, type TranslateSql } from '../adapters/local/warehouse.js';
import type { Clock } from '../pipeline/ports.js';

/** File names inside the data directory. */
export const DATA_FILES = {
  bus: 'bus.mdb',
  archive: 'archive',
  warehouse: 'warehouse.duckdb',
  dimensions: 'dimensions.json',
  keys: 'keys.json',
  pepper: 'pepper',
  series: 'series.mdb',
} as const;

export interface LocalRuntime {
  dataDir: DataDir;
  archive: LocalArchive;
  bus: LocalBus;
  warehouse: LocalWarehouse;
  dimensions: LocalDimensionsStore;
  keys: LocalKeyStore;
  pepper: Buffer;
  /** Closes every store and releases the writer lock. */
  close(): Promise<void>;
}

export interface OpenLocalRuntimeOptions extends Omit<OpenDataDirOptions, 'write'> {
  translate?: TranslateSql;
  clock?: Clock;
}

export async function openLocalRuntime(opts: OpenLocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const dataDir = await openDataDir({ ...opts, storeNames: Object.values(DATA_FILES), write: true });
  const opened: { close(): Promise<void> }[] = [];
  try {
    const archive = new LocalArchive(dataDir.file(DATA_FILES.archive));
    opened.push(archive);
    const bus = await LocalBus.open({ path: dataDir.file(DATA_FILES.bus), archive, ...(opts.clock ? { clock: opts.clock } : {}) });
    opened.push(bus);
    const warehouse = await LocalWarehouse.open({ path: dataDir.file(DATA_FILES.warehouse), ...(opts.translate ? { translate: opts.translate } : {}) });
    opened.push(warehouse);
    const dimensions = await LocalDimensionsStore.open({ file: dataDir.file(DATA_FILES.dimensions), warehouse });
    const keys = new LocalKeyStore(dataDir.file(DATA_FILES.keys));
    const pepper = await loadOrCreatePepper(dataDir.file(DATA_FILES.pepper));
    return {
      dataDir,
      archive,
      bus,
      warehouse,
      dimensions,
      keys,
      pepper,
      async close() {
        // The bus first (it waits for archive appends in flight), the archive after it.
        await bus.close();
        await archive.close();
        await warehouse.close();
        await dataDir.close();
      },
    };
  } catch (err) {
    for (const s of opened.reverse()) await s.close().catch(() => undefined);
    await dataDir.close();
    throw err;
  }
}
