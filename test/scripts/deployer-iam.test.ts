import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DEPLOYER_ACCOUNT_ID, DEPLOYER_ROLES, deployerCommands } from '../../scripts/deployer-iam.js';
import { synthesize } from '../infra-cdktf/synth.js';

/**
 * What applying each resource type asks of the deployer, and the predefined roles that hold each
 * permission (basic roles hold no setIamPolicy). Sources, per service:
 * https://cloud.google.com/iam/docs/roles-permissions/{serviceusage,resourcemanager,iam,pubsub,storage,
 * bigquery,bigtable,run,cloudfunctions,cloudscheduler,artifactregistry,secretmanager,logging,monitoring}
 */
const NEEDS: Record<string, { permission: string; roles: string[] }[]> = {
  google_project_service: [{ permission: 'serviceusage.services.enable', roles: ['roles/serviceusage.serviceUsageAdmin'] }],
  google_project_service_identity: [{ permission: 'serviceusage.services.generateServiceIdentity', roles: ['roles/serviceusage.serviceUsageAdmin'] }],
  google_storage_project_service_account: [{ permission: 'resourcemanager.projects.get', roles: ['roles/resourcemanager.projectIamAdmin', 'roles/editor'] }],
  google_service_account: [{ permission: 'iam.serviceAccounts.create', roles: ['roles/iam.serviceAccountAdmin', 'roles/editor'] }],
  google_service_account_iam_member: [{ permission: 'iam.serviceAccounts.setIamPolicy', roles: ['roles/iam.serviceAccountAdmin'] }],
  google_project_iam_member: [{ permission: 'resourcemanager.projects.setIamPolicy', roles: ['roles/resourcemanager.projectIamAdmin'] }],
  google_pubsub_topic: [{ permission: 'pubsub.topics.create', roles: ['roles/pubsub.admin', 'roles/pubsub.editor', 'roles/editor'] }],
  google_pubsub_topic_iam_member: [{ permission: 'pubsub.topics.setIamPolicy', roles: ['roles/pubsub.admin'] }],
  google_pubsub_subscription: [
    { permission: 'pubsub.subscriptions.create', roles: ['roles/pubsub.admin', 'roles/pubsub.editor', 'roles/editor'] },
    { permission: 'iam.serviceAccounts.actAs', roles: ['roles/iam.serviceAccountUser'] },
  ],
  google_pubsub_subscription_iam_member: [{ permission: 'pubsub.subscriptions.setIamPolicy', roles: ['roles/pubsub.admin'] }],
  google_storage_bucket: [{ permission: 'storage.buckets.create', roles: ['roles/storage.admin', 'roles/editor'] }],
  google_storage_bucket_iam_member: [{ permission: 'storage.buckets.setIamPolicy', roles: ['roles/storage.admin'] }],
  google_storage_notification: [{ permission: 'storage.buckets.update', roles: ['roles/storage.admin', 'roles/editor'] }],
  google_bigquery_dataset: [{ permission: 'bigquery.datasets.create', roles: ['roles/bigquery.admin', 'roles/bigquery.dataOwner', 'roles/bigquery.dataEditor', 'roles/editor'] }],
  google_bigquery_dataset_access: [{ permission: 'bigquery.datasets.update', roles: ['roles/bigquery.admin', 'roles/bigquery.dataOwner'] }],
  google_bigquery_table: [{ permission: 'bigquery.tables.create', roles: ['roles/bigquery.admin', 'roles/bigquery.dataOwner', 'roles/bigquery.dataEditor', 'roles/editor'] }],
  google_bigquery_table_iam_member: [{ permission: 'bigquery.tables.setIamPolicy', roles: ['roles/bigquery.admin', 'roles/bigquery.dataOwner'] }],
  google_bigquery_data_transfer_config: [
    { permission: 'bigquery.transfers.update', roles: ['roles/bigquery.admin'] },
    { permission: 'iam.serviceAccounts.actAs', roles: ['roles/iam.serviceAccountUser'] },
  ],
  google_bigtable_instance: [{ permission: 'bigtable.instances.create', roles: ['roles/bigtable.admin'] }],
  google_bigtable_table: [{ permission: 'bigtable.tables.create', roles: ['roles/bigtable.admin'] }],
  google_bigtable_gc_policy: [{ permission: 'bigtable.tables.update', roles: ['roles/bigtable.admin'] }],
  google_bigtable_app_profile: [{ permission: 'bigtable.appProfiles.create', roles: ['roles/bigtable.admin'] }],
  google_bigtable_table_iam_member: [{ permission: 'bigtable.tables.setIamPolicy', roles: ['roles/bigtable.admin'] }],
  google_cloud_run_v2_service: [
    { permission: 'run.services.create', roles: ['roles/run.admin', 'roles/run.developer', 'roles/editor'] },
    { permission: 'iam.serviceAccounts.actAs', roles: ['roles/iam.serviceAccountUser'] },
  ],
  google_cloud_run_v2_service_iam_member: [{ permission: 'run.services.setIamPolicy', roles: ['roles/run.admin'] }],
  google_cloud_run_v2_job: [
    { permission: 'run.jobs.create', roles: ['roles/run.admin', 'roles/run.developer', 'roles/editor'] },
    { permission: 'iam.serviceAccounts.actAs', roles: ['roles/iam.serviceAccountUser'] },
  ],
  google_cloud_run_v2_job_iam_member: [{ permission: 'run.jobs.setIamPolicy', roles: ['roles/run.admin'] }],
  google_cloudfunctions2_function: [
    { permission: 'cloudfunctions.functions.create', roles: ['roles/cloudfunctions.admin', 'roles/cloudfunctions.developer', 'roles/editor'] },
    { permission: 'iam.serviceAccounts.actAs', roles: ['roles/iam.serviceAccountUser'] },
  ],
  // A job with an OIDC token: the caller needs actAs on its service account
  // (https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#OidcToken).
  google_cloud_scheduler_job: [
    { permission: 'cloudscheduler.jobs.create', roles: ['roles/cloudscheduler.admin', 'roles/editor'] },
    { permission: 'iam.serviceAccounts.actAs', roles: ['roles/iam.serviceAccountUser'] },
  ],
  google_artifact_registry_repository: [{ permission: 'artifactregistry.repositories.create', roles: ['roles/artifactregistry.admin', 'roles/editor'] }],
  google_artifact_registry_repository_iam_member: [{ permission: 'artifactregistry.repositories.setIamPolicy', roles: ['roles/artifactregistry.admin'] }],
  google_secret_manager_secret: [{ permission: 'secretmanager.secrets.create', roles: ['roles/secretmanager.admin', 'roles/editor'] }],
  google_secret_manager_secret_iam_member: [{ permission: 'secretmanager.secrets.setIamPolicy', roles: ['roles/secretmanager.admin'] }],
  google_logging_metric: [{ permission: 'logging.logMetrics.create', roles: ['roles/logging.configWriter', 'roles/logging.admin', 'roles/editor'] }],
  google_monitoring_alert_policy: [{ permission: 'monitoring.alertPolicies.create', roles: ['roles/monitoring.alertPolicyEditor', 'roles/monitoring.editor', 'roles/editor'] }],
  // https://cloud.google.com/bigquery/docs/custom-quotas#required_role
  google_service_usage_consumer_quota_override: [{ permission: 'serviceusage.quotas.update', roles: ['roles/servicemanagement.quotaAdmin', 'roles/editor'] }],
  google_monitoring_notification_channel: [
    { permission: 'monitoring.notificationChannels.create', roles: ['roles/monitoring.notificationChannelEditor', 'roles/monitoring.editor', 'roles/editor'] },
  ],
};

/** The permissions a deploy of the stack needs that none of `roles` holds. */
function missing(types: string[], roles: string[]): string[] {
  const out = new Set<string>();
  for (const type of types) {
    const needs = NEEDS[type];
    if (!needs) throw new Error(`no deployer permissions known for ${type}: add them to NEEDS`);
    for (const n of needs) if (!n.roles.some((r) => roles.includes(r))) out.add(n.permission);
  }
  return [...out].sort();
}

describe('scripts/deployer-iam', () => {
  let types: string[];
  before(() => {
    const s = synthesize('prod');
    types = [...Object.keys(s.json.resource), ...Object.keys(s.json.data ?? {})];
  });

  it('grants the deployer every permission applying the stack needs, setIamPolicy on each resource it grants roles on included', () => {
    assert.deepEqual(missing(types, DEPLOYER_ROLES.map((r) => r.role)), []);
  });

  it('catches what the former runbook roles lacked: setIamPolicy on topics, subscriptions, buckets, Cloud Run, Bigtable tables and repositories', () => {
    const former = ['roles/editor', 'roles/resourcemanager.projectIamAdmin', 'roles/iam.serviceAccountAdmin', 'roles/iam.serviceAccountUser', 'roles/secretmanager.admin', 'roles/bigquery.admin'];
    assert.deepEqual(
      missing(types, former).filter((p) => p.endsWith('.setIamPolicy')),
      [
        'artifactregistry.repositories.setIamPolicy',
        'bigtable.tables.setIamPolicy',
        'pubsub.subscriptions.setIamPolicy',
        'pubsub.topics.setIamPolicy',
        'run.jobs.setIamPolicy',
        'run.services.setIamPolicy',
        'storage.buckets.setIamPolicy',
      ],
    );
  });

  it('gives the deployer no basic role', () => {
    assert.deepEqual(
      DEPLOYER_ROLES.filter((r) => /^roles\/(owner|editor|viewer)$/.test(r.role)),
      [],
    );
  });

  it('prints, for a named project, the bootstrap APIs, the deployer account, one binding per role and the state bucket', () => {
    const sa = `serviceAccount:${DEPLOYER_ACCOUNT_ID}@acme-tillstream.iam.gserviceaccount.com`;
    const commands = deployerCommands({ project: 'acme-tillstream', submitter: 'user:ops@acme.example' });
    assert.deepEqual(commands, [
      'gcloud services enable serviceusage.googleapis.com cloudresourcemanager.googleapis.com iam.googleapis.com cloudbuild.googleapis.com storage.googleapis.com --project=acme-tillstream',
      'gcloud iam service-accounts create tillstream-deployer --project=acme-tillstream --display-name="Tillstream deployer (Cloud Build)"',
      ...DEPLOYER_ROLES.map((r) => `gcloud projects add-iam-policy-binding acme-tillstream --member=${sa} --role=${r.role} --condition=None`),
      'gcloud storage buckets create gs://acme-tillstream-tillstream-tfstate --project=acme-tillstream --location=EU --uniform-bucket-level-access --public-access-prevention',
      'gcloud storage buckets update gs://acme-tillstream-tillstream-tfstate --versioning',
      `gcloud iam service-accounts add-iam-policy-binding ${sa.slice('serviceAccount:'.length)} --project=acme-tillstream --member=user:ops@acme.example --role=roles/iam.serviceAccountUser`,
    ]);
  });

  it('refuses a project id GCP would refuse', () => {
    assert.throws(() => deployerCommands({ project: 'Acme_Prod' }), /--project: "Acme_Prod" is not a GCP project id/);
  });

  it('is the account cloudbuild.yaml deploys as', () => {
    const build = parse(readFileSync(new URL('../../cloudbuild.yaml', import.meta.url), 'utf8')) as { serviceAccount?: string };
    assert.equal(build.serviceAccount, `projects/\${PROJECT_ID}/serviceAccounts/${DEPLOYER_ACCOUNT_ID}@\${PROJECT_ID}.iam.gserviceaccount.com`);
  });
});
