// The gcp runtime: every port implemented on Google Cloud, built lazily from the configuration
// (adapters/gcp/config.ts), clients created once per process. Entry points (functions/, the query API
// and the CLI with TILLSTREAM_RUNTIME=gcp) take what they need from here and nothing else.
import { Storage } from '@google-cloud/storage';
import { systemClock, type ArchiveReader, type DimensionsStore, type KeyStore, type Publisher, type SeriesStore } from '../pipeline/ports.js';
import { bigqueryClient, createBigQueryWarehouse, type BigQueryWarehouse } from '../adapters/gcp/bigquery-warehouse.js';
import { managedwriter } from '@google-cloud/bigquery-storage';
import { createStorageWriteSink } from '../adapters/gcp/bigquery-storage-sink.js';
import { bigtableClient } from '../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex, type BigtableDedupeIndex } from '../adapters/gcp/bigtable-dedupe.js';
import { cachedKeyStore, createBigtableKeyStore } from '../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../adapters/gcp/bigtable-series-store.js';
import { gcpConfig, GcpConfigError, type GcpConfig } from '../adapters/gcp/config.js';
import { createGcsArchiveReader } from '../adapters/gcp/gcs-archive.js';
import { createGcsDimensionsStore } from '../adapters/gcp/gcs-dimensions-store.js';
import { createPubSubPublisher, pubsubClient } from '../adapters/gcp/pubsub-bus.js';

export interface GcpRuntime {
  config: GcpConfig;
  storage: Storage;
  warehouse: BigQueryWarehouse;
  seriesStore: SeriesStore;
  /** The dedupe index and, in the same table, the ingest journal. */
  dedupe: BigtableDedupeIndex;
  keys: KeyStore;
  /** The key store behind a cache refreshed every TILLSTREAM_CACHE_REFRESH_SECONDS, for request paths. */
  cachedKeys: KeyStore;
  dimensions: DimensionsStore;
  archive: ArchiveReader;
  eventsPublisher: Publisher;
  posPublisher: Publisher;
  /** The key pepper; throws naming TILLSTREAM_KEY_PEPPER when it is not mounted. */
  pepper(): Buffer;
}

const lazy = <T>(make: () => T): (() => T) => {
  let value: T | undefined;
  return () => (value ??= make());
};

export function createGcpRuntime(config: GcpConfig): GcpRuntime {
  const storage = lazy(() => new Storage({ projectId: config.projectId }));
  const bigquery = () => bigqueryClient(config.projectId, config.bigquery.location);
  const instance = () => bigtableClient(config.projectId, config.bigtable.appProfileId).instance(config.bigtable.instanceId);
  const limits = { maxEntries: config.batch.maxEntries, maxBytes: config.batch.maxBytes };
  // Raw rows through the Storage Write API's default stream (adapters/gcp/bigquery-storage-sink.ts).
  const rawSink = lazy(() =>
    createStorageWriteSink({ writeClient: new managedwriter.WriterClient({ projectId: config.projectId }), projectId: config.projectId, rawDataset: config.bigquery.rawDataset }),
  );
  const warehouse = lazy(() =>
    createBigQueryWarehouse({ bigquery: bigquery(), location: config.bigquery.location, rawDataset: config.bigquery.rawDataset, rawSink: rawSink() }),
  );
  const seriesStore = lazy(() => createBigtableSeriesStore(instance().table(config.bigtable.seriesTable)));
  const dedupe = lazy(() => createBigtableDedupeIndex(instance().table(config.bigtable.dedupeTable)));
  const keys = lazy(() => createBigtableKeyStore(instance().table(config.bigtable.keysTable)));
  const cachedKeys = lazy(() => cachedKeyStore(keys(), { ttlMs: config.cacheRefreshMs }));
  const dimensions = lazy(() =>
    createGcsDimensionsStore({
      storage: storage(),
      bigquery: bigquery(),
      bucket: config.storage.dimensionsBucket,
      object: config.storage.dimensionsObject,
      dimsDataset: config.bigquery.dimsDataset,
      location: config.bigquery.location,
      refreshMs: config.cacheRefreshMs,
      clock: systemClock,
    }),
  );
  const archive = lazy(() => createGcsArchiveReader({ storage: storage(), bucket: config.storage.archiveBucket, prefix: config.storage.archivePrefix }));
  const eventsPublisher = lazy(() => createPubSubPublisher({ pubsub: pubsubClient(config.projectId), topic: config.pubsub.eventsTopic, limits }));
  const posPublisher = lazy(() => createPubSubPublisher({ pubsub: pubsubClient(config.projectId), topic: config.pubsub.posTopic, limits }));

  return {
    config,
    get storage() {
      return storage();
    },
    get warehouse() {
      return warehouse();
    },
    get seriesStore() {
      return seriesStore();
    },
    get dedupe() {
      return dedupe();
    },
    get keys() {
      return keys();
    },
    get cachedKeys() {
      return cachedKeys();
    },
    get dimensions() {
      return dimensions();
    },
    get archive() {
      return archive();
    },
    get eventsPublisher() {
      return eventsPublisher();
    },
    get posPublisher() {
      return posPublisher();
    },
    pepper() {
      if (!config.pepper) throw new GcpConfigError('gcp runtime configuration: TILLSTREAM_KEY_PEPPER is missing (mount the pepper secret as this variable)');
      return config.pepper;
    },
  };
}

let runtime: GcpRuntime | undefined;
/** The process's runtime, from the environment, built on first use. */
export function gcpRuntime(): GcpRuntime {
  return (runtime ??= createGcpRuntime(gcpConfig()));
}
