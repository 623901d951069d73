// The export job: a Cloud Run job whose tasks export a finished mart run to the Bigtable series, each
// task one range of merchants (pipeline/marts/shards.ts, services/export-job/), started per run by
// startExport (functions/start-export.ts) with the run as a container override. A job, not a
// function: an hour's export at a million merchants is long, parallel work with no request to answer,
// and a job's tasks run up to the task timeout with retries of their own, in parallel
// (https://cloud.google.com/run/docs/create-jobs).
//
// Grants: the job runs as the exporter's own account (ts-export-marts), which holds the data grants
// of its code (warehouse.ts, serving.ts); the starter's account may only start executions of this job
// with overrides — roles/run.jobsExecutorWithOverrides on the job, the narrowest role holding
// run.jobs.runWithOverrides (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run,
// https://cloud.google.com/iam/docs/roles-permissions/run). Starting a job needs no actAs on the
// job's account: only creating or changing the job does.
import { Construct } from 'constructs';
import type { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository/index.js';
import type { BigtableAppProfile } from '@cdktf/provider-google/lib/bigtable-app-profile/index.js';
import { CloudRunV2Job } from '@cdktf/provider-google/lib/cloud-run-v2-job/index.js';
import { CloudRunV2JobIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-job-iam-member/index.js';
import { NAMES, type StackConfig } from '../config.js';
import { exportJobNodeEnv } from '../export-job-heap.js';
import type { Identities } from './identities.js';
import { appProfileEnvironment, runtimeEnvironment } from './runtime-env.js';
import { APP_PROFILE_OF } from './serving.js';

/** The role startExport holds on the job, and nothing else. */
export const STARTER_ROLE = 'roles/run.jobsExecutorWithOverrides';

export class ExportJob extends Construct {
  readonly job: CloudRunV2Job;
  readonly starterGrant: CloudRunV2JobIamMember;

  constructor(
    scope: Construct,
    id: string,
    props: {
      config: StackConfig;
      identities: Identities;
      buckets: { archive: string; pos: string; config: string };
      images: ArtifactRegistryRepository;
      appProfiles: Record<string, BigtableAppProfile>;
    },
  ) {
    super(scope, id);
    const { config, identities } = props;
    const profile = APP_PROFILE_OF.exportMarts!;
    const job = config.exportJob;
    const env = {
      ...runtimeEnvironment(config, props.buckets),
      // It writes the rows the speed layer updates conditionally: the same single cluster (serving.ts).
      ...appProfileEnvironment(NAMES.appProfiles[profile]),
      // The first task runs the mart alert rules after its export and queues what they raise.
      TILLSTREAM_ALERTS_TOPIC: NAMES.topics.alerts,
      TILLSTREAM_RUNTIME: 'gcp',
      NODE_ENV: 'production',
      // The V8 heap sized from the container's memory limit (export-job-heap.ts): without it V8 sizes it
      // from the host and lets it grow to several times the export's live set.
      ...exportJobNodeEnv(job.memory),
    };
    this.job = new CloudRunV2Job(this, 'job', {
      project: config.projectId,
      location: config.region,
      name: NAMES.exportJob,
      deletionProtection: config.deletionProtection,
      template: {
        taskCount: job.tasks,
        parallelism: job.parallelism,
        template: {
          serviceAccount: identities.accounts.exportMarts.email,
          timeout: `${job.taskTimeoutSeconds}s`,
          maxRetries: job.maxRetries,
          containers: [
            {
              image: job.image,
              resources: { limits: { cpu: job.cpu, memory: job.memory } },
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
            },
          ],
        },
      },
      labels: { app: 'tillstream', env: config.environment },
      dependsOn: [props.images, props.appProfiles[profile]!],
    });
    this.starterGrant = new CloudRunV2JobIamMember(this, 'starter', {
      project: config.projectId,
      location: config.region,
      name: this.job.name,
      role: STARTER_ROLE,
      member: identities.member('startExport'),
    });
  }
}
