// Prints the gcloud commands that prepare a project for its first Tillstream deploy: the APIs the
// deploy itself needs before Terraform can enable the rest, the deployer service account Cloud Build
// runs as (cloudbuild.yaml), exactly the roles a full apply needs, and the Terraform state bucket.
// Nothing runs: review the commands, then paste them (or pipe them to sh) as a project owner.
// Usage: npx tsx scripts/deployer-iam.ts --project PROJECT_ID [--location EU] [--submitter user:you@example.com]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The account cloudbuild.yaml runs as; a user-specified build account (no default-account grants). */
export const DEPLOYER_ACCOUNT_ID = 'tillstream-deployer';
export const deployerEmail = (project: string) => `${DEPLOYER_ACCOUNT_ID}@${project}.iam.gserviceaccount.com`;

/**
 * Enabled by hand, once: Service Usage enables every other API (Terraform's google_project_service
 * calls it), Resource Manager reads the project and its IAM, and the build needs IAM, Cloud Build and
 * Cloud Storage (state bucket) before Terraform has run. https://cloud.google.com/service-usage/docs/enable-disable
 */
export const BOOTSTRAP_APIS = [
  'serviceusage.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'iam.googleapis.com',
  'cloudbuild.googleapis.com',
  'storage.googleapis.com',
] as const;

/**
 * The deployer's roles: each predefined role, and what in the stack needs it. No basic role
 * (owner/editor): editor has no setIamPolicy anywhere, and the stack grants roles on topics,
 * subscriptions, buckets, Cloud Run services, Bigtable tables, secrets, repositories and service
 * accounts. Role contents: https://cloud.google.com/iam/docs/roles-permissions
 */
export const DEPLOYER_ROLES: { role: string; for: string }[] = [
  { role: 'roles/serviceusage.serviceUsageAdmin', for: 'enable the APIs (google_project_service) and create service agents (google_project_service_identity)' },
  { role: 'roles/resourcemanager.projectIamAdmin', for: 'project-level grants: bigquery.jobUser, logging.logWriter (resourcemanager.projects.setIamPolicy)' },
  { role: 'roles/iam.serviceAccountAdmin', for: 'create the workload accounts and grant on them (iam.serviceAccounts.setIamPolicy)' },
  { role: 'roles/iam.serviceAccountUser', for: 'deploy functions, the API, the export job, the scheduled query and function builds that run as those accounts (iam.serviceAccounts.actAs)' },
  { role: 'roles/pubsub.admin', for: 'topics and subscriptions, and roles on them (pubsub.topics.setIamPolicy, pubsub.subscriptions.setIamPolicy)' },
  { role: 'roles/storage.admin', for: 'buckets, roles on them (storage.buckets.setIamPolicy), notifications, the state and the functions zip' },
  { role: 'roles/bigquery.admin', for: 'datasets, tables, views, dataset access entries, table roles (bigquery.tables.setIamPolicy) and the scheduled query (bigquery.transfers.update)' },
  { role: 'roles/bigtable.admin', for: 'instance, tables, GC policies, app profiles and table roles (bigtable.tables.setIamPolicy)' },
  { role: 'roles/run.admin', for: 'the API service, its invoker check and roles on it and on the functions services (run.services.setIamPolicy); the export job and the starter\'s role on it (run.jobs.create, run.jobs.setIamPolicy)' },
  { role: 'roles/cloudscheduler.admin', for: 'the alerts scheduler job (cloudscheduler.jobs.create, .update); its OIDC identity needs actAs, which serviceAccountUser holds' },
  { role: 'roles/cloudfunctions.developer', for: 'create and update the functions (cloudfunctions.functions.create, .update)' },
  { role: 'roles/artifactregistry.admin', for: 'the image repositories, roles on them (artifactregistry.repositories.setIamPolicy) and the API and export job image pushes' },
  { role: 'roles/secretmanager.admin', for: 'the pepper secret and roles on it (secretmanager.secrets.setIamPolicy)' },
  { role: 'roles/logging.configWriter', for: 'log-based metrics (logging.logMetrics.create)' },
  { role: 'roles/logging.logWriter', for: 'the build writes its own logs (a user-specified build account, CLOUD_LOGGING_ONLY)' },
  { role: 'roles/monitoring.alertPolicyEditor', for: 'alert policies' },
  { role: 'roles/monitoring.notificationChannelEditor', for: 'the on-call e-mail channels' },
  // https://cloud.google.com/bigquery/docs/custom-quotas#required_role
  { role: 'roles/servicemanagement.quotaAdmin', for: 'the BigQuery query usage quota per principal (google_service_usage_consumer_quota_override: serviceusage.quotas.update)' },
];

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** The commands, in order, for one project. */
export function deployerCommands(opts: { project: string; location?: string; submitter?: string }): string[] {
  const { project } = opts;
  if (!PROJECT_ID.test(project)) throw new Error(`--project: "${project}" is not a GCP project id (6-30 lower-case letters, digits and hyphens)`);
  const sa = deployerEmail(project);
  const state = `gs://${project}-tillstream-tfstate`;
  return [
    `gcloud services enable ${BOOTSTRAP_APIS.join(' ')} --project=${project}`,
    `gcloud iam service-accounts create ${DEPLOYER_ACCOUNT_ID} --project=${project} --display-name="Tillstream deployer (Cloud Build)"`,
    ...DEPLOYER_ROLES.map((r) => `gcloud projects add-iam-policy-binding ${project} --member=serviceAccount:${sa} --role=${r.role} --condition=None`),
    `gcloud storage buckets create ${state} --project=${project} --location=${opts.location ?? 'EU'} --uniform-bucket-level-access --public-access-prevention`,
    `gcloud storage buckets update ${state} --versioning`,
    // Whoever submits builds must be allowed to run them as the deployer.
    ...(opts.submitter ? [`gcloud iam service-accounts add-iam-policy-binding ${sa} --project=${project} --member=${opts.submitter} --role=roles/iam.serviceAccountUser`] : []),
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { project: { type: 'string' }, location: { type: 'string' }, submitter: { type: 'string' } } });
  if (!values.project) {
    console.error('usage: npx tsx scripts/deployer-iam.ts --project PROJECT_ID [--location EU] [--submitter user:you@example.com]');
    process.exit(2);
  }
  try {
    for (const r of DEPLOYER_ROLES) console.log(`# ${r.role}: ${r.for}`);
    for (const c of deployerCommands({ project: values.project, location: values.location, submitter: values.submitter })) console.log(c);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}
