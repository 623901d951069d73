// The stores a dimensions or keys command reads, in memory: the command tests run without a data
// directory or a deployment.
import type { CommandStores } from '../../cli/context.js';
import { resolveDimensions, type DimensionsFile } from '../../pipeline/contracts/dimensions.js';
import type { KeyRecord, KeyStore, SeriesStore } from '../../pipeline/ports.js';

export class InMemoryKeyStore implements KeyStore {
  readonly records = new Map<string, KeyRecord>();
  async put(record: KeyRecord): Promise<void> {
    this.records.set(record.id, { ...record });
  }
  async findByHash(hash: string): Promise<KeyRecord | undefined> {
    return [...this.records.values()].find((r) => r.hash === hash);
  }
  async list(): Promise<KeyRecord[]> {
    return [...this.records.values()];
  }
  async revoke(id: string, at: Date): Promise<boolean> {
    const r = this.records.get(id);
    if (!r) return false;
    r.revoked_at = at.toISOString();
    return true;
  }
}

/** Documents only: what the dimension mirror writes. */
export function documentSeriesStore(): SeriesStore & { documents: Map<string, unknown> } {
  const documents = new Map<string, unknown>();
  const rowsUnused = () => Promise.reject(new Error('the command tests read no series rows'));
  return {
    documents,
    mutate: rowsUnused,
    readRange: rowsUnused,
    readRangeWithDocuments: rowsUnused,
    async getDocument<T>(key: string) {
      return documents.get(key) as T | undefined;
    },
    async putDocument(key, value) {
      documents.set(key, JSON.parse(JSON.stringify(value)));
    },
  } as SeriesStore & { documents: Map<string, unknown> };
}

export function inMemoryCommandStores(now: Date): CommandStores & { keys: InMemoryKeyStore; series: ReturnType<typeof documentSeriesStore> } {
  let file: DimensionsFile = { merchants: [], stores: [], fraud_ips: [] };
  return {
    runtime: 'local',
    dimensions: {
      async load(f) {
        file = f;
      },
      async get() {
        return resolveDimensions(file);
      },
    },
    keys: new InMemoryKeyStore(),
    pepper: Buffer.alloc(32, 7),
    series: documentSeriesStore(),
    clock: { now: () => now },
  };
}
