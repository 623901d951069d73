// Configuration of the gcp runtime, parsed once from the environment with zod. Every resource name the
// adapters and functions touch comes from here; infra-cdktf sets the same variables on each function.
// A missing or bad value fails at start-up with an error that names the variable.
import { z } from 'zod';
import { DEFAULT_MAX_ATTEMPTS } from '../../pipeline/runner/consume.js';

const name = z.string().trim().min(1);
const positiveInt = z.coerce.number().int().positive();

/** Environment variable → meaning. Variables with a default may be left unset. */
export const GCP_ENV = z.object({
  /** Project of every resource. GOOGLE_CLOUD_PROJECT is the fallback (set by the functions runtime). */
  TILLSTREAM_GCP_PROJECT: name,
  TILLSTREAM_BQ_LOCATION: name.default('EU'),
  TILLSTREAM_RAW_DATASET: name.default('raw'),
  TILLSTREAM_DIMS_DATASET: name.default('dims'),
  TILLSTREAM_MARTS_DATASET: name.default('marts'),
  /** Ceiling of bytes billed per BigQuery job the pipeline issues (maximumBytesBilled); unset: none. */
  TILLSTREAM_MAX_BYTES_BILLED: positiveInt.optional(),
  /** Topic of online/web/server batches (collector) and of POS batches (ingestPosBatch). */
  TILLSTREAM_EVENTS_TOPIC: name.default('tillstream-events'),
  TILLSTREAM_POS_TOPIC: name.default('tillstream-pos'),
  TILLSTREAM_DEAD_LETTER_TOPIC: name.default('tillstream-dead-letter'),
  /** Where the alert evaluators queue alerts for deliverAlert (docs/alerts.md); unset: the mart rules are not evaluated. */
  TILLSTREAM_ALERTS_TOPIC: name.optional(),
  /** Push subscriptions owned by the pipeline (their max delivery attempts must match below). */
  TILLSTREAM_EVENTS_SUBSCRIPTION: name.default('tillstream-events-ingest'),
  TILLSTREAM_POS_SUBSCRIPTION: name.default('tillstream-pos-ingest'),
  // 5..100 is Pub/Sub's range for a dead-letter policy's max delivery attempts
  // (https://cloud.google.com/pubsub/docs/handling-failures#dead_letter_topic); the default is the pipeline's one threshold.
  TILLSTREAM_MAX_DELIVERY_ATTEMPTS: positiveInt.min(5).max(100).default(DEFAULT_MAX_ATTEMPTS),
  TILLSTREAM_BIGTABLE_INSTANCE: name,
  TILLSTREAM_SERIES_TABLE: name.default('series'),
  TILLSTREAM_DEDUPE_TABLE: name.default('dedupe'),
  TILLSTREAM_KEYS_TABLE: name.default('keys'),
  /**
   * Bigtable app profile of this workload's requests; unset = the instance's default profile. Each
   * deployed workload names one (infra-cdktf/constructs/serving.ts): conditional writes need a
   * single-cluster profile that allows transactional writes.
   */
  TILLSTREAM_BIGTABLE_APP_PROFILE: name.optional(),
  /**
   * The profile a workload that reads through a multi-cluster profile writes the series table through:
   * the query API's alert settings routes write rows of a table others write conditionally, which takes
   * the single-cluster profile (https://cloud.google.com/bigtable/docs/app-profiles#transactions).
   */
  TILLSTREAM_BIGTABLE_WRITE_APP_PROFILE: name.optional(),
  /** Written by the Pub/Sub Cloud Storage subscription; only read here. */
  TILLSTREAM_ARCHIVE_BUCKET: name,
  TILLSTREAM_ARCHIVE_PREFIX: z.string().default('archive/'),
  TILLSTREAM_POS_BUCKET: name,
  TILLSTREAM_DIMENSIONS_BUCKET: name,
  TILLSTREAM_DIMENSIONS_OBJECT: name.default('dimensions/current.json'),
  /**
   * Where a re-validation keeps its checkpoint (one small object rewritten after each archive shard),
   * so a crashed run resumes; unset: no checkpoint. Never the archive bucket: its retention policy
   * refuses to replace an object younger than the horizon (https://cloud.google.com/storage/docs/bucket-lock).
   */
  TILLSTREAM_CHECKPOINT_BUCKET: name.optional(),
  /** Secret Manager secret holding the key pepper (resource name or short id). */
  TILLSTREAM_PEPPER_SECRET: name.default('tillstream-key-pepper'),
  /** The pepper itself, 64 hex characters: the secret above mounted as an environment variable. */
  TILLSTREAM_KEY_PEPPER: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes)').optional(),
  /** Bounds of one bus message: a batch of entries. Pub/Sub allows 10 MB; stay well under. */
  TILLSTREAM_BATCH_MAX_ENTRIES: positiveInt.max(10_000).default(500),
  TILLSTREAM_BATCH_MAX_BYTES: positiveInt.max(9_000_000).default(1_000_000),
  /** How long functions keep dimensions and keys before re-reading them. */
  TILLSTREAM_CACHE_REFRESH_SECONDS: positiveInt.max(3600).default(60),
});

export interface GcpConfig {
  projectId: string;
  bigquery: { location: string; rawDataset: string; dimsDataset: string; martsDataset: string; maximumBytesBilled?: number };
  pubsub: {
    eventsTopic: string;
    posTopic: string;
    deadLetterTopic: string;
    alertsTopic?: string;
    eventsSubscription: string;
    posSubscription: string;
    maxDeliveryAttempts: number;
  };
  bigtable: { instanceId: string; seriesTable: string; dedupeTable: string; keysTable: string; appProfileId?: string; writeAppProfileId?: string };
  storage: { archiveBucket: string; archivePrefix: string; posBucket: string; dimensionsBucket: string; dimensionsObject: string; checkpointBucket?: string };
  pepperSecret: string;
  /** 32 bytes, when the pepper secret is mounted (functions that hash keys, the CLI). */
  pepper?: Buffer;
  batch: { maxEntries: number; maxBytes: number };
  cacheRefreshMs: number;
}

export class GcpConfigError extends Error {
  override name = 'GcpConfigError';
}

/** Parses the gcp configuration; throws GcpConfigError naming each missing or bad variable. */
export function parseGcpConfig(env: NodeJS.ProcessEnv = process.env): GcpConfig {
  const input: Record<string, string | undefined> = { ...env, TILLSTREAM_GCP_PROJECT: env.TILLSTREAM_GCP_PROJECT || env.GOOGLE_CLOUD_PROJECT || env.GCLOUD_PROJECT };
  const parsed = GCP_ENV.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0]);
      return input[key] === undefined || input[key] === '' ? `${key} is missing` : `${key}: ${i.message}`;
    });
    throw new GcpConfigError(`gcp runtime configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    projectId: e.TILLSTREAM_GCP_PROJECT,
    bigquery: {
      location: e.TILLSTREAM_BQ_LOCATION,
      rawDataset: e.TILLSTREAM_RAW_DATASET,
      dimsDataset: e.TILLSTREAM_DIMS_DATASET,
      martsDataset: e.TILLSTREAM_MARTS_DATASET,
      ...(e.TILLSTREAM_MAX_BYTES_BILLED !== undefined ? { maximumBytesBilled: e.TILLSTREAM_MAX_BYTES_BILLED } : {}),
    },
    pubsub: {
      eventsTopic: e.TILLSTREAM_EVENTS_TOPIC,
      posTopic: e.TILLSTREAM_POS_TOPIC,
      deadLetterTopic: e.TILLSTREAM_DEAD_LETTER_TOPIC,
      ...(e.TILLSTREAM_ALERTS_TOPIC ? { alertsTopic: e.TILLSTREAM_ALERTS_TOPIC } : {}),
      eventsSubscription: e.TILLSTREAM_EVENTS_SUBSCRIPTION,
      posSubscription: e.TILLSTREAM_POS_SUBSCRIPTION,
      maxDeliveryAttempts: e.TILLSTREAM_MAX_DELIVERY_ATTEMPTS,
    },
    bigtable: {
      instanceId: e.TILLSTREAM_BIGTABLE_INSTANCE,
      seriesTable: e.TILLSTREAM_SERIES_TABLE,
      dedupeTable: e.TILLSTREAM_DEDUPE_TABLE,
      keysTable: e.TILLSTREAM_KEYS_TABLE,
      ...(e.TILLSTREAM_BIGTABLE_APP_PROFILE ? { appProfileId: e.TILLSTREAM_BIGTABLE_APP_PROFILE } : {}),
      ...(e.TILLSTREAM_BIGTABLE_WRITE_APP_PROFILE ? { writeAppProfileId: e.TILLSTREAM_BIGTABLE_WRITE_APP_PROFILE } : {}),
    },
    storage: {
      archiveBucket: e.TILLSTREAM_ARCHIVE_BUCKET,
      archivePrefix: e.TILLSTREAM_ARCHIVE_PREFIX,
      posBucket: e.TILLSTREAM_POS_BUCKET,
      dimensionsBucket: e.TILLSTREAM_DIMENSIONS_BUCKET,
      dimensionsObject: e.TILLSTREAM_DIMENSIONS_OBJECT,
      ...(e.TILLSTREAM_CHECKPOINT_BUCKET ? { checkpointBucket: e.TILLSTREAM_CHECKPOINT_BUCKET } : {}),
    },
    pepperSecret: e.TILLSTREAM_PEPPER_SECRET,
    ...(e.TILLSTREAM_KEY_PEPPER ? { pepper: Buffer.from(e.TILLSTREAM_KEY_PEPPER, 'hex') } : {}),
    batch: { maxEntries: e.TILLSTREAM_BATCH_MAX_ENTRIES, maxBytes: e.TILLSTREAM_BATCH_MAX_BYTES },
    cacheRefreshMs: e.TILLSTREAM_CACHE_REFRESH_SECONDS * 1000,
  };
}

/** The runtimes a process can run on; TILLSTREAM_RUNTIME picks one, `local` when unset. */
export const RUNTIMES = ['local', 'gcp'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/** Which runtime's adapters this process uses (TILLSTREAM_RUNTIME); a bad value names the variable. */
export function selectedRuntime(env: NodeJS.ProcessEnv = process.env): RuntimeName {
  const value = env.TILLSTREAM_RUNTIME?.trim() || 'local';
  if (!(RUNTIMES as readonly string[]).includes(value)) throw new GcpConfigError(`TILLSTREAM_RUNTIME: must be one of ${RUNTIMES.join(', ')}, got "${value}"`);
  return value as RuntimeName;
}

let cached: GcpConfig | undefined;
/** The process's configuration, parsed on first use. */
export function gcpConfig(): GcpConfig {
  return (cached ??= parseGcpConfig());
}
