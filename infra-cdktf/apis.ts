// The Google APIs a Tillstream project uses, and which of them each Terraform resource type calls. On
// a fresh project an API is off until its google_project_service is applied, and Terraform applies
// unrelated resources in parallel: every resource therefore depends on the enablement of the APIs its
// type calls (stack.ts adds the edges from this table; a type missing here fails synth).
//   Enabling services: https://cloud.google.com/service-usage/docs/enable-disable
//   Terraform's note on it: https://registry.terraform.io/providers/hashicorp/google/latest/docs/guides/getting_started#enable-apis

/** Enabled by the stack. Service Usage itself is on in every new project and enables the others. */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'bigquery.googleapis.com',
  'bigquerydatatransfer.googleapis.com',
  'bigtable.googleapis.com',
  'bigtableadmin.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  // The alerts' scheduled rules (constructs/alerts.ts).
  'cloudscheduler.googleapis.com',
  // Project IAM bindings and the project data source read the project through Resource Manager.
  'cloudresourcemanager.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
] as const;
export type Api = (typeof REQUIRED_APIS)[number];

/**
 * The APIs each resource type's create, read and IAM calls go to. Cloud Run functions (gen2) build with
 * Cloud Build into Artifact Registry and run on Cloud Run, so a function needs all four
 * (https://cloud.google.com/functions/docs/create-deploy-gcloud#before_you_begin).
 */
export const APIS_OF_TYPE: Record<string, readonly Api[]> = {
  google_artifact_registry_repository: ['artifactregistry.googleapis.com'],
  google_artifact_registry_repository_iam_member: ['artifactregistry.googleapis.com'],
  google_bigquery_data_transfer_config: ['bigquerydatatransfer.googleapis.com', 'bigquery.googleapis.com'],
  google_bigquery_dataset: ['bigquery.googleapis.com'],
  google_bigquery_dataset_access: ['bigquery.googleapis.com'],
  google_bigquery_table: ['bigquery.googleapis.com'],
  google_bigquery_table_iam_member: ['bigquery.googleapis.com'],
  google_bigtable_app_profile: ['bigtableadmin.googleapis.com'],
  google_bigtable_gc_policy: ['bigtableadmin.googleapis.com'],
  google_bigtable_instance: ['bigtableadmin.googleapis.com', 'bigtable.googleapis.com'],
  google_bigtable_table: ['bigtableadmin.googleapis.com'],
  google_bigtable_table_iam_member: ['bigtableadmin.googleapis.com'],
  google_cloud_run_v2_job: ['run.googleapis.com'],
  google_cloud_run_v2_job_iam_member: ['run.googleapis.com'],
  google_cloud_run_v2_service: ['run.googleapis.com'],
  google_cloud_run_v2_service_iam_member: ['run.googleapis.com'],
  google_cloud_scheduler_job: ['cloudscheduler.googleapis.com'],
  google_cloudfunctions2_function: [
    'cloudfunctions.googleapis.com',
    'cloudbuild.googleapis.com',
    'artifactregistry.googleapis.com',
    'run.googleapis.com',
    'logging.googleapis.com',
  ],
  google_logging_metric: ['logging.googleapis.com'],
  google_monitoring_alert_policy: ['monitoring.googleapis.com'],
  google_monitoring_notification_channel: ['monitoring.googleapis.com'],
  google_project: ['cloudresourcemanager.googleapis.com'],
  google_project_iam_member: ['cloudresourcemanager.googleapis.com'],
  google_project_service_identity: [],
  google_pubsub_subscription: ['pubsub.googleapis.com'],
  google_pubsub_subscription_iam_member: ['pubsub.googleapis.com'],
  google_pubsub_topic: ['pubsub.googleapis.com'],
  google_pubsub_topic_iam_member: ['pubsub.googleapis.com'],
  google_secret_manager_secret: ['secretmanager.googleapis.com'],
  // Service Usage serves the override (on in every project); a service's quota metrics are listed once it is enabled.
  google_service_usage_consumer_quota_override: ['bigquery.googleapis.com'],
  google_secret_manager_secret_iam_member: ['secretmanager.googleapis.com'],
  google_service_account: ['iam.googleapis.com'],
  google_service_account_iam_member: ['iam.googleapis.com'],
  google_storage_bucket: ['storage.googleapis.com'],
  google_storage_bucket_iam_member: ['storage.googleapis.com'],
  google_storage_notification: ['storage.googleapis.com', 'pubsub.googleapis.com'],
  google_storage_project_service_account: ['storage.googleapis.com'],
};

/** The logical id of an API's google_project_service (`api-pubsub`): fixed, scripts target them. */
export const apiId = (api: Api): string => `api-${api.split('.')[0]}`;
