// The environment variables every gcp workload reads (adapters/gcp/config.ts parses them). Typed by
// that schema's keys, so a renamed variable fails the type check here instead of at start-up.
import type { z } from 'zod';
import type { GCP_ENV } from '../../adapters/gcp/config.js';
import { NAMES, type StackConfig } from '../config.js';

export type GcpEnvironment = Partial<Record<keyof z.input<typeof GCP_ENV>, string>>;

/** The env var naming the Bigtable app profile a workload's client sends its requests through. */
export function appProfileEnvironment(appProfileId: string | undefined): GcpEnvironment {
  return appProfileId ? { TILLSTREAM_BIGTABLE_APP_PROFILE: appProfileId } : {};
}

export function runtimeEnvironment(config: StackConfig, buckets: { archive: string; pos: string; config: string }): GcpEnvironment {
  return {
    TILLSTREAM_GCP_PROJECT: config.projectId,
    TILLSTREAM_BQ_LOCATION: config.dataLocation,
    TILLSTREAM_RAW_DATASET: NAMES.datasets.raw,
    TILLSTREAM_DIMS_DATASET: NAMES.datasets.dims,
    TILLSTREAM_MARTS_DATASET: NAMES.datasets.marts,
    // Every query job the workload issues carries it (adapters/gcp/bigquery-warehouse.ts); without it a
    // job bills whatever it reads (config.ts, bigquery).
    TILLSTREAM_MAX_BYTES_BILLED: String(config.bigquery.maxBytesBilled),
    TILLSTREAM_EVENTS_TOPIC: NAMES.topics.events,
    TILLSTREAM_POS_TOPIC: NAMES.topics.pos,
    TILLSTREAM_DEAD_LETTER_TOPIC: NAMES.topics.deadLetter,
    TILLSTREAM_EVENTS_SUBSCRIPTION: NAMES.subscriptions.events,
    TILLSTREAM_POS_SUBSCRIPTION: NAMES.subscriptions.pos,
    TILLSTREAM_MAX_DELIVERY_ATTEMPTS: String(config.pubsub.maxDeliveryAttempts),
    TILLSTREAM_BIGTABLE_INSTANCE: NAMES.bigtable.instance,
    TILLSTREAM_SERIES_TABLE: NAMES.bigtable.series,
    TILLSTREAM_DEDUPE_TABLE: NAMES.bigtable.dedupe,
    TILLSTREAM_KEYS_TABLE: NAMES.bigtable.keys,
    TILLSTREAM_ARCHIVE_BUCKET: buckets.archive,
    TILLSTREAM_ARCHIVE_PREFIX: NAMES.archivePrefix,
    TILLSTREAM_POS_BUCKET: buckets.pos,
    TILLSTREAM_DIMENSIONS_BUCKET: buckets.config,
    TILLSTREAM_DIMENSIONS_OBJECT: NAMES.dimensionsObject,
    TILLSTREAM_PEPPER_SECRET: NAMES.pepperSecret,
  };
}
