// The Google Cloud platform facts a Tillstream deploy depends on, each with the page it comes from.
// The platform-rules test checks the synthesized Terraform against them, so a deploy that the
// platform would refuse (a decommissioned runtime, a transactional write through a multi-cluster
// profile, a resource racing the enablement of its API, a hard-coded service agent, a build on the
// default compute account) fails here first. When Google changes a date or a rule, change it here.

/**
 * Cloud Run functions runtimes: deprecation (create and update still work, migrate now) and
 * decommission (no create or update; running functions may be disabled).
 * https://docs.cloud.google.com/run/docs/runtimes/function-runtimes#node.js
 * https://cloud.google.com/functions/docs/runtime-support
 */
export const FUNCTION_RUNTIMES: Record<string, { deprecation: string; decommission: string }> = {
  nodejs18: { deprecation: '2025-04-30', decommission: '2025-10-30' },
  nodejs20: { deprecation: '2026-04-30', decommission: '2026-10-30' },
  nodejs22: { deprecation: '2027-04-30', decommission: '2027-10-31' },
  nodejs24: { deprecation: '2028-04-30', decommission: '2028-10-31' },
};

/**
 * Node.js release lines: end of life, after which no security fixes ship. Container images (the query
 * API on Cloud Run, the Cloud Build steps) are not covered by the runtime policy above, so they
 * follow upstream. https://nodejs.org/en/about/previous-releases
 * https://github.com/nodejs/Release/blob/main/schedule.json
 */
export const NODE_END_OF_LIFE: Record<number, string> = {
  18: '2025-04-30',
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
};

/**
 * Bigtable: CheckAndMutateRow and ReadModifyWriteRow are single-row transactions; an app profile
 * allows them only with single-cluster routing and allow_transactional_writes. A multi-cluster
 * profile, which is what the default profile of an instance with more than one cluster is, refuses
 * them. https://cloud.google.com/bigtable/docs/app-profiles#transactions
 * https://cloud.google.com/bigtable/docs/replication-overview#app-profiles
 */
export const TRANSACTIONAL_WRITES = { needs: 'single_cluster_routing.allow_transactional_writes' } as const;

/**
 * The API each Terraform resource type calls; on a fresh project each is off until enabled, so a
 * resource created before its google_project_service fails ("API has not been used in project").
 * Cloud Run functions (gen2) also need Cloud Build, Artifact Registry and Cloud Run:
 * https://cloud.google.com/functions/docs/create-deploy-gcloud#before_you_begin
 * Project IAM and the project data source go through Resource Manager:
 * https://cloud.google.com/resource-manager/reference/rest
 * Everything else: the API named in each resource's page of the google provider
 * (https://registry.terraform.io/providers/hashicorp/google/latest/docs).
 */
export const API_OF_RESOURCE_TYPE: Record<string, string[]> = {
  google_artifact_registry_repository: ['artifactregistry.googleapis.com'],
  google_artifact_registry_repository_iam_member: ['artifactregistry.googleapis.com'],
  google_bigquery_data_transfer_config: ['bigquerydatatransfer.googleapis.com'],
  google_bigquery_dataset: ['bigquery.googleapis.com'],
  google_bigquery_dataset_access: ['bigquery.googleapis.com'],
  google_bigquery_table: ['bigquery.googleapis.com'],
  google_bigquery_table_iam_member: ['bigquery.googleapis.com'],
  google_bigtable_app_profile: ['bigtableadmin.googleapis.com'],
  google_bigtable_gc_policy: ['bigtableadmin.googleapis.com'],
  google_bigtable_instance: ['bigtableadmin.googleapis.com'],
  google_bigtable_table: ['bigtableadmin.googleapis.com'],
  google_bigtable_table_iam_member: ['bigtableadmin.googleapis.com'],
  google_cloud_run_v2_job: ['run.googleapis.com'],
  google_cloud_run_v2_job_iam_member: ['run.googleapis.com'],
  google_cloud_run_v2_service: ['run.googleapis.com'],
  google_cloud_run_v2_service_iam_member: ['run.googleapis.com'],
  // https://cloud.google.com/scheduler/docs/setup#enable_the_api
  google_cloud_scheduler_job: ['cloudscheduler.googleapis.com'],
  google_cloudfunctions2_function: ['cloudfunctions.googleapis.com', 'cloudbuild.googleapis.com', 'artifactregistry.googleapis.com', 'run.googleapis.com'],
  google_logging_metric: ['logging.googleapis.com'],
  google_monitoring_alert_policy: ['monitoring.googleapis.com'],
  google_monitoring_notification_channel: ['monitoring.googleapis.com'],
  google_project: ['cloudresourcemanager.googleapis.com'],
  google_project_iam_member: ['cloudresourcemanager.googleapis.com'],
  google_pubsub_subscription: ['pubsub.googleapis.com'],
  google_pubsub_subscription_iam_member: ['pubsub.googleapis.com'],
  google_pubsub_topic: ['pubsub.googleapis.com'],
  google_pubsub_topic_iam_member: ['pubsub.googleapis.com'],
  google_secret_manager_secret: ['secretmanager.googleapis.com'],
  google_secret_manager_secret_iam_member: ['secretmanager.googleapis.com'],
  google_service_account: ['iam.googleapis.com'],
  // Service Usage (on in every project) serves the override; the quota it lowers is BigQuery's, whose
  // metrics a project lists once that API is on (https://cloud.google.com/service-usage/docs/manage-quota).
  google_service_usage_consumer_quota_override: ['bigquery.googleapis.com'],
  google_service_account_iam_member: ['iam.googleapis.com'],
  google_storage_bucket: ['storage.googleapis.com'],
  google_storage_bucket_iam_member: ['storage.googleapis.com'],
  google_storage_notification: ['storage.googleapis.com', 'pubsub.googleapis.com'],
  google_storage_project_service_account: ['storage.googleapis.com'],
};

/**
 * Google-managed service agents (service-<number>@gcp-sa-*.iam.gserviceaccount.com, and the Cloud
 * Storage agent @gs-project-accounts): several are created lazily, on first use, so a grant to a
 * spelled-out email fails on a fresh project. Take them from google_project_service_identity (it
 * creates the agent) or the storage agent data source.
 * https://cloud.google.com/iam/docs/service-agents
 * https://registry.terraform.io/providers/hashicorp/google-beta/latest/docs/resources/project_service_identity
 * https://registry.terraform.io/providers/hashicorp/google/latest/docs/data-sources/storage_project_service_account
 */
export const SERVICE_AGENT_EMAIL = /@(gcp-sa-[a-z0-9-]+|gs-project-accounts|cloudbuild\.gserviceaccount\.com|cloudservices\.gserviceaccount\.com)|-compute@developer\.gserviceaccount\.com/;
export const AGENT_SOURCES = ['google_project_service_identity', 'google_storage_project_service_account'] as const;

/**
 * Function builds run as the service account in build_config.service_account; without one they run
 * as the default compute account, which has no roles where the organization policy
 * iam.automaticIamGrantsForDefaultServiceAccounts is enforced (the default for organizations created
 * since May 2024). https://cloud.google.com/functions/docs/securing/build-custom-sa
 * https://cloud.google.com/resource-manager/docs/organization-policy/restricting-service-accounts#disable_service_account_default_grants
 */
export const BUILD_SERVICE_ACCOUNT = { attribute: 'build_config.service_account' } as const;

/**
 * Cloud Run jobs: an execution runs up to 10,000 tasks, each in its own container, told its place by
 * CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT; a task runs at most its timeout, up to 168 hours
 * (7 days; per attempt: each retry gets the full timeout); a task is retried 0 to 10 times; the
 * parallelism is at most the task count (and the project's quota).
 * https://cloud.google.com/run/docs/create-jobs
 * https://cloud.google.com/run/docs/configuring/task-timeout
 * https://cloud.google.com/run/docs/configuring/max-retries
 * https://cloud.google.com/run/docs/configuring/parallelism
 * https://cloud.google.com/run/docs/container-contract#jobs-env-vars
 */
export const CLOUD_RUN_JOB_LIMITS = { maxTasks: 10_000, maxTaskTimeoutSeconds: 168 * 3600, maxRetries: 10 } as const;

/**
 * Starting a job execution with overrides (the container's variables, task count, timeout) needs
 * run.jobs.runWithOverrides on the job besides run.jobs.run; roles/run.invoker holds only the latter.
 * roles/run.jobsExecutorWithOverrides holds both, and can be granted on one job.
 * https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run
 * https://cloud.google.com/iam/docs/roles-permissions/run
 */
export const RUN_WITH_OVERRIDES = { permission: 'run.jobs.runWithOverrides', role: 'roles/run.jobsExecutorWithOverrides' } as const;

/**
 * Cloud Scheduler HTTP targets: an attempt's deadline is 15 s to 30 min (default 3 min); a job retries
 * a failed attempt at most 5 times. An attempt that outlives its deadline is cancelled and retried
 * while the target may still be running it. The OIDC identity must belong to the job's project, hold
 * run.invoker on the target, and whoever creates the job needs iam.serviceAccounts.actAs on it. A
 * target whose ingress is internal admits the job only at its default run.app URL, not a custom domain.
 * https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#Job.FIELDS.attempt_deadline
 * https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#RetryConfig
 * https://cloud.google.com/scheduler/docs/http-target-auth
 * https://cloud.google.com/run/docs/securing/ingress#settings
 */
export const SCHEDULER_HTTP_TARGET = { minAttemptDeadlineSeconds: 15, maxAttemptDeadlineSeconds: 1800, maxRetryCount: 5 } as const;

/**
 * Cloud Storage retention policy: while a bucket has one, its objects can be deleted or replaced only
 * once older than the retention period; a request to replace a younger object is refused. A role
 * that lets a workload delete or overwrite objects on such a bucket grants writes the platform will
 * refuse: whatever a workload rewrites (a re-validation checkpoint) belongs in another bucket.
 * https://cloud.google.com/storage/docs/bucket-lock
 * https://cloud.google.com/storage/docs/access-control/iam-roles
 */
export const RETENTION_POLICY = { replacingRoles: ['roles/storage.objectUser', 'roles/storage.objectAdmin', 'roles/storage.admin'] } as const;

/**
 * BigQuery DML concurrency per table: in any 24 hours the first 1,500 INSERT statements run at once;
 * after that 10 run at a time and up to 100 more wait (PENDING), and one past the queue fails. Mutating
 * DML (UPDATE, DELETE, MERGE) runs 2 at a time with 20 queued, and concurrent mutating statements on
 * the same partitions conflict and are retried or fail; INSERTs only append and never conflict.
 * https://cloud.google.com/bigquery/docs/data-manipulation-language#insert_dml_concurrency
 * https://cloud.google.com/bigquery/docs/data-manipulation-language#update_delete_merge_dml_concurrency
 * https://cloud.google.com/bigquery/docs/data-manipulation-language#dml_statement_conflicts
 */
export const DML_CONCURRENCY = { insertsRunning: 10, insertsQueued: 100, mutating: /^\s*(update|delete\s+from|merge(\s+into)?)\s+([\w.]+)/im } as const;

/**
 * Pub/Sub message limits: a message's data at most 10 MB and a publish request at most 10 MB in total
 * (refused with INVALID_ARGUMENT); at most 100 attributes, keys of 256 bytes, values of 1,024 bytes.
 * https://cloud.google.com/pubsub/quotas#resource_limits
 */
export const PUBSUB_MESSAGE_LIMITS = { maxMessageBytes: 10_000_000, maxAttributes: 100, maxAttributeKeyBytes: 256, maxAttributeValueBytes: 1024 } as const;

/**
 * Pub/Sub subscription settings: ack deadline 10-600 s; retry backoff 0-600 s; a dead-letter policy
 * allows 5-100 delivery attempts; messages kept 10 minutes to 31 days. A push subscription counts a
 * delivery as failed when the endpoint has not answered within the ack deadline and sends it again, so
 * a deadline shorter than the function's timeout delivers a message again while it is still being
 * processed. A Cloud Storage subscription writes a file every 1-10 minutes (max_duration, never more
 * than the ack deadline) or every max_bytes, 1 KB to 10 GiB.
 * https://cloud.google.com/pubsub/docs/subscription-properties
 * https://cloud.google.com/pubsub/docs/handling-failures
 * https://cloud.google.com/pubsub/docs/push#receive_push
 * https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.subscriptions#CloudStorageConfig
 */
export const PUBSUB_SUBSCRIPTION_LIMITS = {
  ackDeadlineSeconds: [10, 600],
  backoffSeconds: [0, 600],
  deliveryAttempts: [5, 100],
  retentionSeconds: [600, 31 * 86_400],
  storageMaxDurationSeconds: [60, 600],
  storageMaxBytes: [1_000, 10 * 2 ** 30],
} as const;

/**
 * BigQuery query jobs: the text of a query or script, before resolving views, at most 1,024 K
 * characters. https://cloud.google.com/bigquery/quotas#query_jobs
 */
export const BIGQUERY_MAX_QUERY_CHARS = 1_024_000;

/**
 * BigQuery Storage Write API: into a table partitioned on a time-unit column it writes only partitions
 * from 10 years in the past to 1 year in the future, and refuses a row outside them. DML has no such
 * range. https://cloud.google.com/bigquery/docs/write-api#time-unit_column_partitioning
 */
export const STORAGE_WRITE_PARTITION_RANGE = { pastYears: 10, futureYears: 1 } as const;

/**
 * Bigtable: a row key is at most 4 KiB; a longer one is refused (the MutateRows entry fails).
 * https://cloud.google.com/bigtable/quotas#limits-data-size
 */
export const BIGTABLE_MAX_ROW_KEY_BYTES = 4096;

/**
 * BigQuery Storage Write API: one AppendRows request carries at most 10 MB.
 * https://cloud.google.com/bigquery/quotas#write-api-limits
 */
export const APPEND_ROWS_MAX_BYTES = 10_000_000;

/**
 * Cloud Run CPU and memory (services, jobs and the services of Cloud Run functions): 0.08 to 1 vCPU, or
 * 1, 2, 4, 6 or 8; the memory each allows, in MiB; below 0.5 vCPU at most 512 MiB, below 1 vCPU at
 * most 1 GiB; below 1 vCPU an instance takes one request at a time (concurrency 1).
 * https://cloud.google.com/run/docs/configuring/services/cpu
 * https://cloud.google.com/run/docs/configuring/jobs/cpu
 */
export const CLOUD_RUN_CPU_MEMORY_MIB: Record<number, [number, number]> = { 1: [128, 4096], 2: [128, 8192], 4: [2048, 16384], 6: [4096, 24576], 8: [4096, 32768] };

/**
 * A Cloud Run job runs in the second generation execution environment, whose minimum memory is 512 MiB
 * (below the 128 MiB a service or function may have at 1 or 2 vCPU).
 * https://cloud.google.com/run/docs/configuring/jobs/memory-limits
 */
export const CLOUD_RUN_JOB_MIN_MEMORY_MIB = 512;

/**
 * A Cloud Run instance, a job's task included, that exceeds its memory limit is terminated; the limit
 * holds the loaded executable, what the process allocates and the files it writes (the file system is
 * in memory). https://cloud.google.com/run/docs/configuring/jobs/memory-limits
 * V8's young generation is three semi-spaces (two semi-spaces and the new large-object space), on top
 * of --max-old-space-size (https://nodejs.org/api/cli.html#--max-semi-space-sizesize-in-mib).
 */
export const V8_YOUNG_GENERATION_SEMI_SPACES = 3;

/**
 * BigQuery's default project-wide "query usage per day" (QueryUsagePerDay), in bytes: 200 TiB
 * (https://cloud.google.com/bigquery/docs/custom-quotas). The per-user quota cannot lift it: whatever the
 * per-user limit, the usage of all users of the project together never exceeds the per-day one.
 */
export const PROJECT_QUERY_USAGE_PER_DAY_DEFAULT = 200 * 2 ** 40;

/**
 * BigQuery: one job (a query's DML statement included) may modify at most 4,000 partitions of a table;
 * the marts are partitioned by day, so a mart window may span at most 4,000 UTC days.
 * https://cloud.google.com/bigquery/quotas#partitioned_tables
 */
export const BIGQUERY_MAX_PARTITIONS_MODIFIED_PER_JOB = 4000;

/**
 * Cloud Run functions (2nd gen): an HTTP request to a function carries at most 32 MB uncompressed; a
 * larger one never reaches it. https://cloud.google.com/functions/quotas#resource_limits
 */
export const FUNCTION_MAX_REQUEST_BYTES = 32_000_000;

/**
 * Cloud Run (the services of functions included): at most 1,000 concurrent requests per instance.
 * https://cloud.google.com/run/docs/about-concurrency
 */
export const CLOUD_RUN_MAX_CONCURRENCY = 1000;

/**
 * Cloud Run ingress: `all` (ALLOW_ALL / INGRESS_TRAFFIC_ALL) admits the internet; `internal` admits
 * the project's own Pub/Sub push, Cloud Scheduler and other internal sources at the run.app URL.
 * https://cloud.google.com/run/docs/securing/ingress#settings
 * Who may invoke past ingress: roles/run.invoker, to allUsers for an unauthenticated public service,
 * or no invoker check at all. https://cloud.google.com/run/docs/authenticating/public
 */
export const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'] as const;
