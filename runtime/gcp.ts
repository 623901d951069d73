// The gcp runtime: every port implemented on Google Cloud, built lazily from the configuration
// (adapters/gcp/config.ts), clients created once per process, and the stages they are wired to.
// Entry points (functions/, the query API and the CLI with TILLSTREAM_RUNTIME=gcp) take what they
// need from here and nothing else.
import { Storage } from '@google-cloud/storage';
import type { IngestStage } from '../pipeline/ingest/stage.js';
import { replacingSink } from '../pipeline/marts/replacing-sink.js';
import { viewsDeployed } from '../pipeline/marts/runner.js';
import type { ReprocessDeps } from '../pipeline/marts/reprocess.js';
import { systemClock, type ArchiveReader, type Clock, type DimensionsStore, type KeyStore, type Logger, type Publisher, type SeriesStore } from '../pipeline/ports.js';
import { createIngestPipeline } from './ingest-pipeline.js';
import { bigqueryClient, createBigQueryWarehouse, type BigQueryWarehouse } from '../adapters/gcp/bigquery-warehouse.js';
import { managedwriter } from '@google-cloud/bigquery-storage';
import { createStorageWriteSink } from '../adapters/gcp/bigquery-storage-sink.js';
import { bigtableClient } from '../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex, type BigtableDedupeIndex } from '../adapters/gcp/bigtable-dedupe.js';
import { cachedKeyStore, createBigtableKeyStore } from '../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../adapters/gcp/bigtable-series-store.js';
import { gcpConfig, GcpConfigError, type GcpConfig } from '../adapters/gcp/config.js';
import { createGcsArchiveReader, createGcsShardCheckpoint } from '../adapters/gcp/gcs-archive.js';
import { createGcsDimensionsStore } from '../adapters/gcp/gcs-dimensions-store.js';
import { createPubSubPublisher, pubsubClient } from '../adapters/gcp/pubsub-bus.js';

export interface GcpRuntime {
  config: GcpConfig;
  storage: Storage;
  warehouse: BigQueryWarehouse;
  seriesStore: SeriesStore;
  /** The series table through the write profile, where one is configured (TILLSTREAM_BIGTABLE_WRITE_APP_PROFILE); else seriesStore. */
  seriesWriteStore: SeriesStore;
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
  // Raw rows through the Storage Write API's default stream (adapters/gcp/bigquery-storage-sink.ts);
  // those of partitions outside its range (a backfill more than 10 years back) by DML INSERT.
  const rawSink = lazy(() =>
    createStorageWriteSink({
      writeClient: new managedwriter.WriterClient({ projectId: config.projectId }),
      projectId: config.projectId,
      rawDataset: config.bigquery.rawDataset,
      dml: { bigquery: bigquery(), location: config.bigquery.location, maximumBytesBilled: config.bigquery.maximumBytesBilled },
    }),
  );
  const warehouse = lazy(() => {
    const wh = createBigQueryWarehouse({
      bigquery: bigquery(),
      location: config.bigquery.location,
      rawDataset: config.bigquery.rawDataset,
      rawSink: rawSink(),
      maximumBytesBilled: config.bigquery.maximumBytesBilled,
    });
    // Terraform deploys the staging and reporting views (infra-cdktf/sql-views.ts): reprocess never replaces them.
    viewsDeployed(wh);
    return wh;
  });
  const seriesStore = lazy(() => createBigtableSeriesStore(instance().table(config.bigtable.seriesTable)));
  const seriesWriteStore = lazy(() =>
    config.bigtable.writeAppProfileId
      ? createBigtableSeriesStore(bigtableClient(config.projectId, config.bigtable.writeAppProfileId).instance(config.bigtable.instanceId).table(config.bigtable.seriesTable))
      : seriesStore(),
  );
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
    get seriesWriteStore() {
      return seriesWriteStore();
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

/**
 * The ingestEvents function's stage: validation against the deployment's dimensions, the Bigtable
 * dedupe index (also the journal of the parts the BigQuery sink stored, which writes one table after
 * another), the BigQuery sink and the speed layer's partials in Bigtable before the push is acknowledged.
 */
export function gcpIngestPipeline(rt: GcpRuntime, opts: { clock?: Clock; logger?: Logger } = {}): IngestStage {
  return createIngestPipeline(
    { dimensions: () => rt.dimensions.get(), dedupe: rt.dedupe, journal: rt.dedupe, sink: rt.warehouse, series: rt.seriesStore, clock: opts.clock ?? systemClock, logger: opts.logger },
    { maxAttempts: rt.config.pubsub.maxDeliveryAttempts },
  );
}

/** What `marts` and `reprocess` run with on gcp: the BigQuery warehouse with its dry run, and every reprocess port. */
export interface GcpMartDeps extends Required<Omit<ReprocessDeps, 'clock' | 'onWindow' | 'onRevalidated' | 'checkpoint'>> {
  clock: Clock;
  /** Present where the deployment names a checkpoint bucket (TILLSTREAM_CHECKPOINT_BUCKET). */
  checkpoint?: ReprocessDeps['checkpoint'];
  warehouse: GcpRuntime['warehouse'];
}

/**
 * The gcp ports of a reprocess: BigQuery (warehouse and raw sink), the Bigtable series and dedupe
 * tables, the Cloud Storage payload archive, and the ingest pipeline as ingestEvents has it, so a
 * re-validated message is processed as a delivery would be, except that its new rows replace its old
 * ones (pipeline/marts/replacing-sink.ts; a chunk of messages at a time).
 */
export function gcpMartDeps(rt: GcpRuntime, opts: { clock?: Clock; logger?: Logger } = {}): GcpMartDeps {
  const clock = opts.clock ?? systemClock;
  const sink = replacingSink(rt.warehouse, rt.warehouse);
  const stage = createIngestPipeline(
    { dimensions: () => rt.dimensions.get(), dedupe: rt.dedupe, sink, series: rt.seriesStore, clock, logger: opts.logger },
    { maxAttempts: rt.config.pubsub.maxDeliveryAttempts },
  );
  // One checkpoint object per re-validated range, in the checkpoint bucket: the archive's retention
  // policy would refuse its rewrite after the first shard (https://cloud.google.com/storage/docs/bucket-lock).
  const bucket = rt.config.storage.checkpointBucket;
  const checkpoint = bucket
    ? ({ from, to }: { from: Date; to: Date }) => createGcsShardCheckpoint({ storage: rt.storage, bucket, name: `revalidate-checkpoints/${from.toISOString()}_${to.toISOString()}.json` })
    : undefined;
  return { warehouse: rt.warehouse, series: rt.seriesStore, archive: rt.archive, dedupe: rt.dedupe, stage, clearAhead: (chunk) => sink.clearAhead(chunk), ...(checkpoint ? { checkpoint } : {}), clock };
}
