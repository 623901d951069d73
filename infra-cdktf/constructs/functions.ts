// Functions: one Cloud Function (gen2) per entry point of functions/, each running as its own service
// account, built from the zip Cloud Build uploads to the artifacts bucket. The message-driven
// functions and evaluateAlerts take only internal traffic (Pub/Sub push, Cloud Scheduler) and require
// an OIDC token of their caller's identity; the collector is public and checks its own keys, before it
// reads a request's body (functions/unread-body.ts).
// Platform limits (test/infra-cdktf/platform-facts.ts): a request to a function carries at most 32 MB
// (https://cloud.google.com/functions/quotas#resource_limits), above the collector's 5 MiB body
// limit, so its own 413 answers first; an instance takes at most 1,000 requests at once
// (https://cloud.google.com/run/docs/about-concurrency). Max instances are bounded by the region's
// Cloud Run CPU and memory quota, which every service, function and job of the region shares
// (https://cloud.google.com/run/docs/configuring/max-instances-limits): prod at every maximum asks for
// 875 vCPU of functions, 100 of the query API and 64 of export tasks (1,039 vCPU, 576 GiB), beyond
// the 1,000 vCPU that page gives as an example baseline — a region's quota is raised before prod's
// peak, or instances past it do not start.
import { Construct } from 'constructs';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository/index.js';
import { ArtifactRegistryRepositoryIamMember } from '@cdktf/provider-google/lib/artifact-registry-repository-iam-member/index.js';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { StorageBucket } from '@cdktf/provider-google/lib/storage-bucket/index.js';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member/index.js';
import { exportJobName, NAMES, type StackConfig } from '../config.js';
import type { Identities, Workload } from './identities.js';
import { PEPPER_ENV, type PepperMount } from './pepper-mount.js';
import { appProfileEnvironment, runtimeEnvironment } from './runtime-env.js';
import { APP_PROFILE_OF, type Serving } from './serving.js';

export type FunctionKey = 'ingestEvents' | 'ingestPosBatch' | 'startExport' | 'collect' | 'deliverAlert' | 'evaluateAlerts';

/**
 * The Cloud Run functions runtime. Node.js 20 was decommissioned on 2026-10-30 (no create or update
 * after it); nodejs22 deploys until 2027-10-31 and is the Node.js the CI runs the suites on
 * (https://docs.cloud.google.com/run/docs/runtimes/function-runtimes). A test checks it against
 * today's date (test/infra-cdktf/platform-rules.test.ts).
 */
export const FUNCTION_RUNTIME = 'nodejs22';

export const FUNCTIONS: Record<
  FunctionKey,
  {
    name: string;
    entryPoint: string;
    workload: Workload;
    /** push: a push subscription's OIDC identity invokes it; scheduler: the alerts scheduler job's; http: public. */
    trigger: 'push' | 'http' | 'scheduler';
    timeoutSeconds: number;
    memory: string;
    concurrency: number;
    /** Queues alerts on the alerts topic (TILLSTREAM_ALERTS_TOPIC): the exporter runs the mart rules after each export. */
    alerts?: true;
  }
> = {
  ingestEvents: { name: 'tillstream-ingest-events', entryPoint: 'ingestEvents', workload: 'ingestEvents', trigger: 'push', timeoutSeconds: 60, memory: '512Mi', concurrency: 8 },
  ingestPosBatch: { name: 'tillstream-ingest-pos-batch', entryPoint: 'ingestPosBatch', workload: 'ingestPosBatch', trigger: 'push', timeoutSeconds: 300, memory: '1Gi', concurrency: 1 },
  // Starts an execution of the export job (constructs/export-job.ts) and returns: the export itself runs there.
  startExport: { name: 'tillstream-start-export', entryPoint: 'startExport', workload: 'startExport', trigger: 'push', timeoutSeconds: 60, memory: '256Mi', concurrency: 8 },
  collect: { name: 'tillstream-collect', entryPoint: 'collect', workload: 'collect', trigger: 'http', timeoutSeconds: 30, memory: '512Mi', concurrency: 40 },
  // One alert per message; a webhook answers within 10 s, so one instance waits on many at once.
  deliverAlert: { name: 'tillstream-deliver-alert', entryPoint: 'deliverAlert', workload: 'deliverAlert', trigger: 'push', timeoutSeconds: 60, memory: '512Mi', concurrency: 16, alerts: true },
  // One evaluation at a time: two overlapping ticks would read-modify-write the same state documents.
  evaluateAlerts: { name: 'tillstream-evaluate-alerts', entryPoint: 'evaluateAlerts', workload: 'evaluateAlerts', trigger: 'scheduler', timeoutSeconds: 300, memory: '512Mi', concurrency: 1, alerts: true },
};

/**
 * What the function builds' own service account needs, and nothing else
 * (https://cloud.google.com/functions/docs/securing/build-custom-sa#grant_permissions): write build
 * logs, push the built image to the repository the functions name, read the source zip. Builds no
 * longer run as the default compute account, which has no roles where an organization turns off
 * default grants (iam.automaticIamGrantsForDefaultServiceAccounts), as new organizations do
 * (https://cloud.google.com/build/docs/cloud-build-service-account-updates).
 */
export const BUILD_ROLES = {
  project: ['roles/logging.logWriter'],
  imageRepository: ['roles/artifactregistry.writer'],
  sourceBucket: ['roles/storage.objectViewer'],
} as const;

export class Functions extends Construct {
  readonly artifacts: StorageBucket;
  readonly images: ArtifactRegistryRepository;
  readonly functions: Record<FunctionKey, Cloudfunctions2Function>;

  constructor(
    scope: Construct,
    id: string,
    props: { config: StackConfig; identities: Identities; buckets: { archive: string; pos: string; config: string; artifacts: string }; pepper: { collect: PepperMount }; serving: Serving },
  ) {
    super(scope, id);
    const { config, identities } = props;
    // Build outputs only: Cloud Build uploads here before the full apply (see cloudbuild.yaml), so the
    // bucket has a fixed address that a targeted apply can create first.
    this.artifacts = new StorageBucket(this, 'artifacts', {
      project: config.projectId,
      name: props.buckets.artifacts,
      location: config.dataLocation,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      lifecycleRule: [{ condition: { age: 90, withState: 'ANY' }, action: { type: 'Delete' } }],
      labels: { app: 'tillstream', env: config.environment },
    });
    this.artifacts.overrideLogicalId('artifacts');

    // The functions' built images: a repository of our own, so the build account writes only here.
    this.images = new ArtifactRegistryRepository(this, 'function-images', {
      project: config.projectId,
      location: config.region,
      repositoryId: 'tillstream-functions',
      format: 'DOCKER',
      description: 'Tillstream function images built by Cloud Build',
      labels: { app: 'tillstream', env: config.environment },
    });
    const builder = identities.member('functionsBuild');
    const buildGrants = [
      ...BUILD_ROLES.project.map((role) => new ProjectIamMember(this, `build-${role.split('/')[1]}`, { project: config.projectId, role, member: builder })),
      ...BUILD_ROLES.imageRepository.map(
        (role) =>
          new ArtifactRegistryRepositoryIamMember(this, `build-images-${role.split('/')[1]}`, {
            project: config.projectId,
            location: config.region,
            repository: this.images.repositoryId,
            role,
            member: builder,
          }),
      ),
      ...BUILD_ROLES.sourceBucket.map((role) => new StorageBucketIamMember(this, `build-source-${role.split('/')[1]}`, { bucket: this.artifacts.name, role, member: builder })),
    ];

    const env = runtimeEnvironment(config, props.buckets);
    this.functions = Object.fromEntries(
      (Object.keys(FUNCTIONS) as FunctionKey[]).map((key) => {
        const f = FUNCTIONS[key];
        // collect hashes keys: the pepper is mounted from Secret Manager, never passed through Terraform.
        const pepper = key === 'collect' ? props.pepper.collect : undefined;
        const profile = APP_PROFILE_OF[f.workload];
        const fn = new Cloudfunctions2Function(this, key, {
          project: config.projectId,
          location: config.region,
          name: f.name,
          description: `Tillstream ${f.entryPoint}`,
          buildConfig: {
            runtime: FUNCTION_RUNTIME,
            entryPoint: f.entryPoint,
            source: { storageSource: { bucket: this.artifacts.name, object: config.functions.sourceObject } },
            serviceAccount: identities.accounts.functionsBuild.id,
            dockerRepository: this.images.id,
          },
          serviceConfig: {
            serviceAccountEmail: identities.accounts[f.workload].email,
            minInstanceCount: config.functions[key].min,
            maxInstanceCount: config.functions[key].max,
            maxInstanceRequestConcurrency: f.concurrency,
            availableCpu: '1',
            availableMemory: f.memory,
            timeoutSeconds: f.timeoutSeconds,
            // Pub/Sub push and Cloud Scheduler of the same project, calling the function's own run.app
            // URL, are internal traffic (https://cloud.google.com/run/docs/securing/ingress#settings); the
            // collector takes the internet's.
            ingressSettings: f.trigger === 'http' ? 'ALLOW_ALL' : 'ALLOW_INTERNAL_ONLY',
            environmentVariables: {
              ...env,
              ...(f.alerts ? { TILLSTREAM_ALERTS_TOPIC: NAMES.topics.alerts } : {}),
              ...appProfileEnvironment(profile && NAMES.appProfiles[profile]),
              ...(key === 'startExport' ? { TILLSTREAM_EXPORT_JOB: exportJobName(config) } : {}),
              TILLSTREAM_RUNTIME: 'gcp',
              NODE_ENV: 'production',
            },
            ...(pepper ? { secretEnvironmentVariables: [{ key: PEPPER_ENV, projectId: config.projectId, secret: pepper.secretId, version: 'latest' }] } : {}),
          },
          labels: { app: 'tillstream', env: config.environment },
          // A revision that cannot read its secret does not start: grant first.
          // Nor can one whose Bigtable app profile does not exist yet.
          // And the first build fails unless its account already holds its roles.
          dependsOn: [...buildGrants, ...(pepper ? [pepper.grant] : []), ...(profile ? [props.serving.appProfiles[profile]] : [])],
        });
        return [key, fn];
      }),
    ) as Record<FunctionKey, Cloudfunctions2Function>;

    // A gen2 function is a Cloud Run service: invoking it is run.invoker on that service.
    // The collector alone is granted to allUsers, and only with publicEndpoints: merchants' browsers
    // (beacons, the web SDK) and servers post to it directly and carry no Google identity, so Cloud
    // Run's invoker check would refuse them; the collector's own key check (ingest or browser keys,
    // origins, rate limit) is what admits a request, before its body is read. Nothing else is
    // public: the other functions are invoked by the stack's own identities, and a test holds the
    // stack to the collector and the query API as its only internet-facing services.
    for (const key of Object.keys(FUNCTIONS) as FunctionKey[]) {
      const trigger = FUNCTIONS[key].trigger;
      // The scheduler job's OIDC identity invokes the scheduled function (https://cloud.google.com/scheduler/docs/http-target-auth).
      const member =
        trigger === 'push' ? identities.member('pushInvoker') : trigger === 'scheduler' ? identities.member('alertsScheduler') : config.publicEndpoints ? 'allUsers' : undefined;
      if (!member) continue;
      new CloudRunV2ServiceIamMember(this, `invoker-${key}`, {
        project: config.projectId,
        location: config.region,
        // A gen2 function's Cloud Run service carries the function's name.
        name: this.functions[key].name,
        role: 'roles/run.invoker',
        member,
      });
    }
  }
}
