// Reprocessing: what `tillstream reprocess` (and `tillstream marts`) needs on gcp, run by an operator
// as the ts-reprocess account (docs/runbooks/deploy.md): the bucket that holds re-validation
// checkpoints and that account's grant on it, and the environment the command runs with, as a stack
// output. Its grants on the archive, BigQuery and Bigtable sit with the data (ingestion.ts,
// warehouse.ts, serving.ts), like every workload's.
//
// Checkpoints get a bucket of their own: a re-validation rewrites its checkpoint after every archive
// shard, and the archive's retention policy refuses to replace an object younger than the horizon
// (https://cloud.google.com/storage/docs/bucket-lock); a bucket that holds nothing else lets the grant
// be objectUser on it alone (create, and delete for the overwrite: https://cloud.google.com/storage/docs/access-control/iam-roles),
// with the archive itself only read.
import { Construct } from 'constructs';
import { TerraformOutput } from 'cdktf';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import { bucketNames, NAMES, type StackConfig } from '../config.js';
import type { Identities } from './identities.js';
import { appProfileEnvironment, runtimeEnvironment } from './runtime-env.js';
import { deleteAfterDays } from './ingestion.js';
import { APP_PROFILE_OF } from './serving.js';


/** ts-reprocess keeps its checkpoints: create, read and replace objects of this bucket alone. */
export const CHECKPOINT_ROLE = 'roles/storage.objectUser';

export class Reprocessing extends Construct {
  readonly checkpoints: StorageBucket;
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: { config: StackConfig; identities: Identities }) {
    super(scope, id);
    const { config, identities } = props;
    const buckets = bucketNames(config);
    this.checkpoints = new StorageBucket(this, 'checkpoints', {
      project: config.projectId,
      name: buckets.checkpoints,
      location: config.dataLocation,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      // Nothing reprocessing uses expires inside the horizon: a checkpoint can resume its range as long as the archive holds it.
      lifecycleRule: [{ condition: { age: deleteAfterDays(config) }, action: { type: 'Delete' } }],
      forceDestroy: true,
      labels: { app: 'tillstream', env: config.environment },
    });
    new StorageBucketIamMember(this, 'checkpoint-writer', { bucket: this.checkpoints.name, role: CHECKPOINT_ROLE, member: identities.member('reprocess') });
    // Operators act as the account (impersonation mints its tokens), holding nothing of their own on the data.
    for (const [i, member] of config.operators.entries()) {
      new ServiceAccountIamMember(this, `operator-${i}`, { serviceAccountId: identities.accounts.reprocess.name, role: 'roles/iam.serviceAccountTokenCreator', member });
    }

    this.environment = {
      ...runtimeEnvironment(config, buckets),
      // Re-validation claims dedupe keys and writes speed-layer partials: the single-cluster profile.
      ...appProfileEnvironment(NAMES.appProfiles[APP_PROFILE_OF.reprocess!]),
      TILLSTREAM_CHECKPOINT_BUCKET: buckets.checkpoints,
      // Reprocess runs the mart statements itself, over a range an operator picks: a ceiling of its own,
      // above the largest statement of the hourly script. A longer range whose dry run (printed before
      // it runs) shows a statement above it runs with TILLSTREAM_MAX_BYTES_BILLED raised for that run.
      TILLSTREAM_MAX_BYTES_BILLED: String(config.bigquery.reprocessMaxBytesBilled),
      TILLSTREAM_RUNTIME: 'gcp',
    };
    new TerraformOutput(this, 'reprocess-environment', {
      staticId: true,
      value: this.environment,
      description: 'Variables `tillstream reprocess` and `tillstream marts` run with on gcp (as ts-reprocess; the pepper comes from Secret Manager)',
    });
  }
}
