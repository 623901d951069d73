// Ingestion: the Pub/Sub topics both streams take, the pipeline-owned push subscriptions that deliver
// them to the functions (OIDC, retry backoff, dead-letter after N attempts), the POS landing bucket
// and its notification, and the archive of original payloads written by Cloud Storage subscriptions.
// Lifecycle rules never delete inside the reprocessing horizon: revalidation re-reads the archive.
import { Construct } from 'constructs';
import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription/index.js';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member/index.js';
import { StorageBucket, type StorageBucketLifecycleRule } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import { StorageNotification } from '@cdktf/provider-google/lib/storage-notification/index.js';
import type { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { NAMES, type StackConfig } from '../config.js';
import type { Identities, Workload } from './identities.js';

/** Days after which archived payloads and POS files go to colder storage (still readable at once). */
export const NEARLINE_AFTER_DAYS = 30;
export const COLDLINE_AFTER_DAYS = 90;

/** Deleted the day after the horizon ends: an object is needed for exactly `horizon` days. */
export function deleteAfterDays(config: StackConfig): number {
  return config.reprocessingHorizonDays + 1;
}

export function horizonLifecycle(config: StackConfig, coldline: boolean): StorageBucketLifecycleRule[] {
  return [
    { condition: { age: NEARLINE_AFTER_DAYS, matchesStorageClass: ['STANDARD'] }, action: { type: 'SetStorageClass', storageClass: 'NEARLINE' } },
    ...(coldline
      ? [{ condition: { age: COLDLINE_AFTER_DAYS, matchesStorageClass: ['NEARLINE'] }, action: { type: 'SetStorageClass', storageClass: 'COLDLINE' } }]
      : []),
    { condition: { age: deleteAfterDays(config) }, action: { type: 'Delete' } },
  ];
}

export interface PushTarget {
  fn: Cloudfunctions2Function;
  ackDeadlineSeconds: number;
}

/**
 * A pipeline-owned push subscription: OIDC token of the push identity (audience = the function URL),
 * exponential retry backoff, dead-letter after maxDeliveryAttempts, never expiring while idle. The
 * Pub/Sub service agent must be able to pull from it to forward dead letters.
 */
export function pushSubscription(
  scope: Construct,
  id: string,
  props: { config: StackConfig; identities: Identities; name: string; topic: PubsubTopic; deadLetterTopic: PubsubTopic; target: PushTarget },
): PubsubSubscription {
  const { config, identities } = props;
  const sub = new PubsubSubscription(scope, id, {
    project: config.projectId,
    name: props.name,
    topic: props.topic.id,
    ackDeadlineSeconds: props.target.ackDeadlineSeconds,
    messageRetentionDuration: config.pubsub.messageRetention,
    expirationPolicy: { ttl: '' },
    // The Cloud Run URL of the function: its own audience, so the token validates without custom audiences.
    pushConfig: {
      pushEndpoint: props.target.fn.serviceConfig.uri,
      oidcToken: { serviceAccountEmail: identities.accounts.pushInvoker.email, audience: props.target.fn.serviceConfig.uri },
    },
    retryPolicy: { minimumBackoff: config.pubsub.minimumBackoff, maximumBackoff: config.pubsub.maximumBackoff },
    deadLetterPolicy: { deadLetterTopic: props.deadLetterTopic.id, maxDeliveryAttempts: config.pubsub.maxDeliveryAttempts },
    labels: { app: 'tillstream', env: config.environment },
  });
  new PubsubSubscriptionIamMember(scope, `${id}-agent-subscriber`, {
    project: config.projectId,
    subscription: sub.name,
    role: 'roles/pubsub.subscriber',
    member: identities.agents.pubsub,
  });
  return sub;
}

export class Ingestion extends Construct {
  readonly topics: Record<'events' | 'pos' | 'posFiles' | 'deadLetter', PubsubTopic>;
  readonly buckets: Record<'archive' | 'pos' | 'config', StorageBucket>;
  readonly subscriptions: Record<string, PubsubSubscription> = {};

  constructor(
    scope: Construct,
    id: string,
    props: {
      config: StackConfig;
      identities: Identities;
      bucketNames: { archive: string; pos: string; config: string };
      functions: { ingestEvents: Cloudfunctions2Function; ingestPosBatch: Cloudfunctions2Function };
    },
  ) {
    super(scope, id);
    const { config, identities } = props;
    const project = config.projectId;
    const labels = { app: 'tillstream', env: config.environment };

    this.topics = {
      events: new PubsubTopic(this, 'events', { project, name: NAMES.topics.events, labels }),
      pos: new PubsubTopic(this, 'pos', { project, name: NAMES.topics.pos, labels }),
      posFiles: new PubsubTopic(this, 'pos-files', { project, name: NAMES.topics.posFiles, labels }),
      deadLetter: new PubsubTopic(this, 'dead-letter', { project, name: NAMES.topics.deadLetter, labels }),
    };

    this.buckets = {
      archive: new StorageBucket(this, 'archive', {
        project,
        name: props.bucketNames.archive,
        location: config.dataLocation,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        lifecycleRule: horizonLifecycle(config, true),
        // In production the archive is append-only for the whole horizon: not even an operator can
        // delete a payload that revalidation may need.
        ...(config.deletionProtection ? { retentionPolicy: { retentionPeriod: config.reprocessingHorizonDays * 86_400 } } : {}),
        forceDestroy: !config.deletionProtection,
        labels,
      }),
      pos: new StorageBucket(this, 'pos-landing', {
        project,
        name: props.bucketNames.pos,
        location: config.dataLocation,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        lifecycleRule: horizonLifecycle(config, false),
        forceDestroy: !config.deletionProtection,
        labels,
      }),
      config: new StorageBucket(this, 'config', {
        project,
        name: props.bucketNames.config,
        location: config.dataLocation,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: 'enforced',
        versioning: { enabled: true },
        lifecycleRule: [{ condition: { numNewerVersions: 10, withState: 'ARCHIVED' }, action: { type: 'Delete' } }],
        forceDestroy: !config.deletionProtection,
        labels,
      }),
    };

    // Every new POS file announces itself on the pos-files topic; ingestPosBatch splits it into batches.
    const storageAgentPublisher = new PubsubTopicIamMember(this, 'pos-files-storage-agent', {
      project,
      topic: this.topics.posFiles.name,
      role: 'roles/pubsub.publisher',
      member: identities.agents.storage,
    });
    new StorageNotification(this, 'pos-notification', {
      bucket: this.buckets.pos.name,
      topic: this.topics.posFiles.id,
      payloadFormat: 'JSON_API_V1',
      eventTypes: ['OBJECT_FINALIZE'],
      dependsOn: [storageAgentPublisher],
    });

    const deadLetter = this.topics.deadLetter;
    this.subscriptions.events = pushSubscription(this, 'events-ingest', {
      config,
      identities,
      name: NAMES.subscriptions.events,
      topic: this.topics.events,
      deadLetterTopic: deadLetter,
      target: { fn: props.functions.ingestEvents, ackDeadlineSeconds: config.pubsub.ackDeadlineSeconds },
    });
    this.subscriptions.pos = pushSubscription(this, 'pos-ingest', {
      config,
      identities,
      name: NAMES.subscriptions.pos,
      topic: this.topics.pos,
      deadLetterTopic: deadLetter,
      target: { fn: props.functions.ingestEvents, ackDeadlineSeconds: config.pubsub.ackDeadlineSeconds },
    });
    this.subscriptions.posFiles = pushSubscription(this, 'pos-files-split', {
      config,
      identities,
      name: NAMES.subscriptions.posFiles,
      topic: this.topics.posFiles,
      deadLetterTopic: deadLetter,
      target: { fn: props.functions.ingestPosBatch, ackDeadlineSeconds: 300 },
    });

    // Dead letters wait here for inspection and replay; its backlog is alerted on.
    this.subscriptions.deadLetterHold = new PubsubSubscription(this, 'dead-letter-hold', {
      project,
      name: NAMES.subscriptions.deadLetterHold,
      topic: deadLetter.id,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
      labels,
    });
    new PubsubTopicIamMember(this, 'dead-letter-agent-publisher', { project, topic: deadLetter.name, role: 'roles/pubsub.publisher', member: identities.agents.pubsub });

    // The archive is written once, by Pub/Sub itself: Avro with metadata keeps attributes
    // (received_at, source, key merchant) and the message id that revalidation needs.
    const archiveWriters = [
      new StorageBucketIamMember(this, 'archive-agent-creator', { bucket: this.buckets.archive.name, role: 'roles/storage.objectCreator', member: identities.agents.pubsub }),
      new StorageBucketIamMember(this, 'archive-agent-reader', { bucket: this.buckets.archive.name, role: 'roles/storage.legacyBucketReader', member: identities.agents.pubsub }),
    ];
    for (const [key, topic] of [
      ['archiveEvents', this.topics.events],
      ['archivePos', this.topics.pos],
    ] as const) {
      const stream = key === 'archiveEvents' ? 'events' : 'pos';
      this.subscriptions[key] = new PubsubSubscription(this, `archive-${stream}`, {
        project,
        name: NAMES.subscriptions[key],
        topic: topic.id,
        ackDeadlineSeconds: 300,
        messageRetentionDuration: config.pubsub.messageRetention,
        expirationPolicy: { ttl: '' },
        cloudStorageConfig: {
          bucket: this.buckets.archive.name,
          // One folder per UTC day for both streams, as the archive reader lists it
          // (adapters/gcp/gcs-archive.ts): <prefix><YYYY-MM-DD>/<hh_mm_ss>Z<uuid>.avro.
          filenamePrefix: NAMES.archivePrefix,
          filenameDatetimeFormat: 'YYYY-MM-DD/hh_mm_ssZ',
          filenameSuffix: '.avro',
          maxDuration: '300s',
          maxBytes: 100_000_000,
          avroConfig: { writeMetadata: true },
        },
        labels,
        dependsOn: archiveWriters,
      });
    }

    // Pub/Sub mints the push identity's OIDC tokens.
    new ServiceAccountIamMember(this, 'push-token-creator', {
      serviceAccountId: identities.accounts.pushInvoker.name,
      role: 'roles/iam.serviceAccountTokenCreator',
      member: identities.agents.pubsub,
    });

    const topicRoles: { topic: keyof Ingestion['topics']; workload: Workload }[] = [
      { topic: 'events', workload: 'collect' },
      { topic: 'pos', workload: 'ingestPosBatch' },
    ];
    for (const g of topicRoles) {
      new PubsubTopicIamMember(this, `publisher-${g.topic}-${g.workload}`, {
        project,
        topic: this.topics[g.topic].name,
        role: 'roles/pubsub.publisher',
        member: identities.member(g.workload),
      });
    }
    const bucketRoles: { bucket: keyof Ingestion['buckets']; role: string; workload: Workload }[] = [
      { bucket: 'pos', role: 'roles/storage.objectViewer', workload: 'ingestPosBatch' },
      // ingest reads the dimensions file; the exporter reads dimensions from the dims dataset instead.
      { bucket: 'config', role: 'roles/storage.objectViewer', workload: 'ingestEvents' },
      // Re-validation (`tillstream reprocess --revalidate`, as ts-reprocess) reads the archive back and
      // validates against the dimensions file as ingest does; it writes no object here (its checkpoint
      // lives in the checkpoint bucket, constructs/reprocessing.ts).
      { bucket: 'archive', role: 'roles/storage.objectViewer', workload: 'reprocess' },
      { bucket: 'config', role: 'roles/storage.objectViewer', workload: 'reprocess' },
    ];
    for (const g of bucketRoles) {
      new StorageBucketIamMember(this, `bucket-${g.bucket}-${g.workload}`, { bucket: this.buckets[g.bucket].name, role: g.role, member: identities.member(g.workload) });
    }
  }
}
