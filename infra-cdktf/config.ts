// Typed, zod-validated configuration of one deployment (one GCP project per environment). Every stack
// takes one of these; a bad value fails synth with an error naming its key. Resource names default to
// the names the gcp runtime expects (adapters/gcp/config.ts), so functions and infrastructure agree.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../pipeline/errors.js';
import { DEFAULT_MART_CONFIG } from '../pipeline/marts/config.js';
import { DEFAULT_MAX_ATTEMPTS } from '../pipeline/runner/consume.js';

export const ENVIRONMENTS = ['dev', 'prod'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const id = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id: 6-30 lower-case letters, digits and hyphens');
const duration = z.string().regex(/^\d+s$/, 'a duration in seconds such as "600s"');

const MIB = 2 ** 20;

/**
 * The default byte ceilings, from the per-statement budgets of the typical hour (sql/budgets.json,
 * checked by test/bench/bq-scan/budgets.it.test.ts), so they follow the budgets:
 * - per job of a deployed workload: twice the largest read of the export job (its look-back and
 *   diff reads are the largest jobs those workloads issue; alert rules and ingest's DML read less);
 * - per job of reprocess: twice the largest statement of the mart script, which reprocess runs;
 * - per principal per day: the whole script's budgeted hour × 24 × 1.2 (190 TiB): room for busier
 *   hours and a backfill's re-reads (the measured typical day is 147 TiB), yet under the project's
 *   default "query usage per day" of 200 TiB, so a runaway marts runner exhausts its own quota before
 *   the project's, which would stop every other workload's queries for the rest of the day too.
 */
export const BYTE_CEILINGS = (() => {
  const budgets = JSON.parse(readFileSync(new URL('../sql/budgets.json', import.meta.url), 'utf8')) as Record<string, number | string>;
  const entries = Object.entries(budgets).filter((e): e is [string, number] => typeof e[1] === 'number');
  const exportRead = ([k]: [string, number]) => /(^| )export /.test(k);
  const exportReads = entries.filter(exportRead).map(([, v]) => v);
  const script = entries.filter((e) => !exportRead(e)).map(([, v]) => v);
  const hour = script.reduce((a, v) => a + v, 0);
  return {
    maxBytesBilled: 2 * Math.max(...exportReads),
    reprocessMaxBytesBilled: 2 * Math.max(...script),
    dailyQueryBytesPerPrincipal: Math.ceil(hour * 24 * 1.2),
  };
})();

const instances = z
  .object({ min: z.number().int().min(0), max: z.number().int().min(1) })
  .refine((v) => v.min <= v.max, 'min must not exceed max');

export const StackConfigSchema = z
  .object({
    environment: z.enum(ENVIRONMENTS),
    projectId: id,
    region: z.string().min(1),
    /** BigQuery and Cloud Storage location (a multi-region keeps data in one jurisdiction). */
    dataLocation: z.string().min(1),
    /** Days of history that reprocessing may need: nothing it reads expires sooner. */
    reprocessingHorizonDays: z.number().int().min(30).max(3650),
    /** Maximum event age (the `event_too_old` limit): the dedupe index keeps claims this long. */
    maxEventAgeDays: z.number().int().min(1).max(90),
    pubsub: z.object({
      /** Pub/Sub allows 5-100. The ingest function rejects as processing_failed on the last attempt. */
      maxDeliveryAttempts: z.number().int().min(5).max(100),
      minimumBackoff: duration,
      maximumBackoff: duration,
      ackDeadlineSeconds: z.number().int().min(10).max(600),
      /** How long undelivered messages stay on a subscription. */
      messageRetention: duration,
    }),
    functions: z.object({
      ingestEvents: instances,
      ingestPosBatch: instances,
      startExport: instances,
      collect: instances,
      deliverAlert: instances,
      /** One instance: two overlapping evaluations would read-modify-write the same alert state documents. */
      evaluateAlerts: instances.refine((i) => i.max === 1, 'evaluateAlerts runs one evaluation at a time: max must be 1'),
      /** The zip built by Cloud Build (`infra-cdktf/build/package-functions.ts`), inside the artifacts bucket. */
      sourceObject: z.string().min(1),
    }),
    /**
     * The export job (infra-cdktf/constructs/export-job.ts): tasks per execution, each one merchant
     * range; how many run at once; each task's timeout and retries. The platform's limits are checked
     * in test/infra-cdktf/platform-rules.test.ts against test/infra-cdktf/platform-facts.ts.
     */
    exportJob: z.object({
      image: z.string().min(1),
      tasks: z.number().int().min(1),
      parallelism: z.number().int().min(1),
      taskTimeoutSeconds: z.number().int().min(60),
      maxRetries: z.number().int().min(0),
      cpu: z.string().min(1),
      memory: z.string().min(1),
    }),
    bigtable: z.object({
      zones: z.array(z.string().min(1)).min(1),
      minNodes: z.number().int().min(1),
      maxNodes: z.number().int().min(1),
      cpuTarget: z.number().int().min(10).max(80),
      storageType: z.enum(['SSD', 'HDD']),
    }),
    api: z.object({
      image: z.string().min(1),
      minInstances: z.number().int().min(0),
      maxInstances: z.number().int().min(1),
      concurrency: z.number().int().min(1).max(1000),
      cpu: z.string().min(1),
      memory: z.string().min(1),
      /**
       * Who may reach the API at the Cloud Run front end (the API checks its own keys on every request):
       * - `public`: Cloud Run's invoker IAM check disabled, Google's recommended way to a public service
       *   and the one that works where the organization policy iam.allowedPolicyMemberDomains (domain
       *   restricted sharing) forbids granting anything to allUsers
       *   (https://cloud.google.com/run/docs/authenticating/public#invoker_check);
       * - `allUsers`: roles/run.invoker granted to allUsers (refused under that policy);
       * - `members`: roles/run.invoker granted to `invokers` only — an API gateway's or a partner's
       *   service account, or the IAP service agent of an external load balancer with IAP in front
       *   (https://cloud.google.com/iap/docs/enabling-cloud-run) — every caller then sends a Google ID token.
       */
      access: z.enum(['public', 'allUsers', 'members']),
      invokers: z.array(z.string().regex(/^(serviceAccount|group|user|domain):\S+$/, 'an IAM member such as serviceAccount:gw@p.iam.gserviceaccount.com')).default([]),
    }),
    /**
     * Who runs `tillstream reprocess` and `tillstream marts` against the deployment: they may act as
     * ts-reprocess (roles/iam.serviceAccountTokenCreator on it), which holds what those commands touch.
     */
    operators: z.array(z.string().regex(/^(group|user|serviceAccount):\S+$/, 'an IAM member such as group:ops@example.com')).default([]),
    /** Whether the collector function accepts unauthenticated HTTP (it checks its own keys). */
    publicEndpoints: z.boolean(),
    /** Group of the analysts who read reporting views in BigQuery and Looker Studio. */
    analystsGroup: z.email(),
    alertEmails: z.array(z.email()),
    /** Looker Studio template report the Linking API copies (see looker/). */
    lookerTemplateReportId: z.string().min(1),
    /** Keeps production data from being destroyed by a mistaken plan. */
    deletionProtection: z.boolean(),
    /**
     * Byte ceilings on BigQuery (docs/capacity.md, "Byte ceilings"); defaults from sql/budgets.json (BYTE_CEILINGS).
     * - `maxBytesBilled`: maximumBytesBilled of every query job a deployed workload issues (export job,
     *   functions, query API), as TILLSTREAM_MAX_BYTES_BILLED: a job that would bill more fails before
     *   it runs and bills nothing (https://cloud.google.com/bigquery/docs/best-practices-costs#limit_query_costs_by_restricting_the_number_of_bytes_billed).
     * - `reprocessMaxBytesBilled`: the same ceiling in the reprocess environment (reprocess-environment
     *   output): reprocess and `tillstream marts` run the mart statements themselves, over a range.
     * - `dailyQueryBytesPerPrincipal`: BigQuery's "query usage per day per user" custom quota, the one
     *   cap a scheduled query (the hourly mart script) is under: it applies to every principal of the
     *   project alike, the marts runner included, and resets at midnight Pacific Time
     *   (https://cloud.google.com/bigquery/docs/custom-quotas).
     */
    bigquery: z
      .object({
        maxBytesBilled: z.number().int().positive(),
        reprocessMaxBytesBilled: z.number().int().positive(),
        dailyQueryBytesPerPrincipal: z.number().int().min(MIB),
      })
      .refine((b) => b.reprocessMaxBytesBilled >= b.maxBytesBilled, { message: 'reprocessMaxBytesBilled must not be below maxBytesBilled', path: ['reprocessMaxBytesBilled'] }),
  })
  .refine((c) => c.bigtable.minNodes <= c.bigtable.maxNodes, { message: 'bigtable.minNodes must not exceed maxNodes', path: ['bigtable', 'minNodes'] })
  .refine((c) => c.api.access !== 'members' || c.api.invokers.length > 0, { message: 'api.access "members" needs at least one api.invokers member', path: ['api', 'invokers'] })
  .refine((c) => c.exportJob.parallelism <= c.exportJob.tasks, { message: 'exportJob.parallelism must not exceed exportJob.tasks', path: ['exportJob', 'parallelism'] })
  .refine((c) => c.api.minInstances <= c.api.maxInstances, { message: 'api.minInstances must not exceed maxInstances', path: ['api', 'minInstances'] })
  .refine((c) => secondsOf(c.pubsub.minimumBackoff) <= secondsOf(c.pubsub.maximumBackoff), {
    message: 'pubsub.minimumBackoff must not exceed maximumBackoff',
    path: ['pubsub', 'minimumBackoff'],
  })
  .refine((c) => c.reprocessingHorizonDays > c.maxEventAgeDays, {
    message: 'reprocessingHorizonDays must exceed maxEventAgeDays',
    path: ['reprocessingHorizonDays'],
  });

export type StackConfig = z.infer<typeof StackConfigSchema>;
export type StackConfigInput = z.input<typeof StackConfigSchema>;

export function secondsOf(d: string): number {
  return Number(d.slice(0, -1));
}

export class StackConfigError extends Error {
  override name = 'StackConfigError';
}

/** Validates a configuration; the error lists every bad key with its path. */
export function parseStackConfig(input: unknown): StackConfig {
  const parsed = StackConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new StackConfigError(`stack configuration: ${describeIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

const common = {
  region: 'europe-west1',
  dataLocation: 'EU',
  reprocessingHorizonDays: DEFAULT_MART_CONFIG.horizonDays,
  maxEventAgeDays: 7,
  pubsub: { maxDeliveryAttempts: DEFAULT_MAX_ATTEMPTS, minimumBackoff: '10s', maximumBackoff: '600s', ackDeadlineSeconds: 60, messageRetention: '604800s' },
  lookerTemplateReportId: 'tillstream-template-report',
  bigquery: BYTE_CEILINGS,
};

/** Defaults per environment; Cloud Build overrides the project and the release artifacts. */
export const DEFAULTS: Record<Environment, StackConfigInput> = {
  dev: {
    ...common,
    environment: 'dev',
    projectId: 'tillstream-dev',
    functions: {
      ingestEvents: { min: 0, max: 10 },
      ingestPosBatch: { min: 0, max: 5 },
      startExport: { min: 0, max: 2 },
      collect: { min: 0, max: 10 },
      deliverAlert: { min: 0, max: 5 },
      evaluateAlerts: { min: 0, max: 1 },
      sourceObject: 'functions/dev.zip',
    },
    exportJob: { image: 'europe-west1-docker.pkg.dev/tillstream-dev/tillstream/export-job:dev', tasks: 2, parallelism: 2, taskTimeoutSeconds: 1800, maxRetries: 3, cpu: '1', memory: '1Gi' },
    bigtable: { zones: ['europe-west1-b'], minNodes: 1, maxNodes: 2, cpuTarget: 60, storageType: 'SSD' },
    api: { image: 'europe-west1-docker.pkg.dev/tillstream-dev/tillstream/query-api:dev', minInstances: 0, maxInstances: 5, concurrency: 80, cpu: '1', memory: '512Mi', access: 'public' },
    publicEndpoints: true,
    analystsGroup: 'tillstream-analysts-dev@example.com',
    alertEmails: ['tillstream-oncall-dev@example.com'],
    deletionProtection: false,
  },
  prod: {
    ...common,
    environment: 'prod',
    projectId: 'tillstream-prod',
    functions: {
      // Ingest scales with batches (a message carries up to 500 events): 200k events/s peak ≈ 400 batches/s.
      ingestEvents: { min: 2, max: 400 },
      ingestPosBatch: { min: 1, max: 50 },
      startExport: { min: 0, max: 4 },
      collect: { min: 2, max: 400 },
      deliverAlert: { min: 0, max: 20 },
      evaluateAlerts: { min: 0, max: 1 },
      sourceObject: 'functions/prod.zip',
    },
    // A million merchants, a few hundred thousand touched an hour: 32 tasks of ~1/32 of the changed
    // merchants each (docs/capacity.md); the run must be exported well inside its hour.
    exportJob: { image: 'europe-west1-docker.pkg.dev/tillstream-prod/tillstream/export-job:prod', tasks: 32, parallelism: 32, taskTimeoutSeconds: 2700, maxRetries: 3, cpu: '2', memory: '2Gi' },
    bigtable: { zones: ['europe-west1-b', 'europe-west1-c'], minNodes: 3, maxNodes: 30, cpuTarget: 60, storageType: 'SSD' },
    api: { image: 'europe-west1-docker.pkg.dev/tillstream-prod/tillstream/query-api:prod', minInstances: 2, maxInstances: 100, concurrency: 80, cpu: '1', memory: '512Mi', access: 'public' },
    publicEndpoints: true,
    analystsGroup: 'tillstream-analysts@example.com',
    alertEmails: ['tillstream-oncall@example.com'],
    deletionProtection: true,
  },
};

/**
 * The configuration of one environment: its defaults, overridden by the deploy-time variables Cloud
 * Build sets — TILLSTREAM_PROJECT (project id), TILLSTREAM_FUNCTIONS_OBJECT (functions zip object),
 * TILLSTREAM_API_IMAGE (query API image) and TILLSTREAM_EXPORT_IMAGE (export job image) — and, for an organization whose policies forbid a public
 * service, TILLSTREAM_API_ACCESS and TILLSTREAM_API_INVOKERS (comma-separated IAM members); and
 * TILLSTREAM_OPERATORS, the members who may run reprocess as ts-reprocess (comma-separated); and the
 * BigQuery byte ceilings, in bytes: TILLSTREAM_STACK_MAX_BYTES_BILLED (bigquery.maxBytesBilled),
 * TILLSTREAM_STACK_REPROCESS_MAX_BYTES_BILLED and TILLSTREAM_STACK_DAILY_QUERY_BYTES (per principal).
 */
export function loadStackConfig(environment: Environment, env: NodeJS.ProcessEnv = process.env): StackConfig {
  const base = structuredClone(DEFAULTS[environment]);
  if (env.TILLSTREAM_PROJECT) base.projectId = env.TILLSTREAM_PROJECT;
  if (env.TILLSTREAM_FUNCTIONS_OBJECT) base.functions.sourceObject = env.TILLSTREAM_FUNCTIONS_OBJECT;
  if (env.TILLSTREAM_API_IMAGE) base.api.image = env.TILLSTREAM_API_IMAGE;
  if (env.TILLSTREAM_EXPORT_IMAGE) base.exportJob.image = env.TILLSTREAM_EXPORT_IMAGE;
  if (env.TILLSTREAM_API_ACCESS) base.api.access = env.TILLSTREAM_API_ACCESS as StackConfig['api']['access'];
  if (env.TILLSTREAM_API_INVOKERS) base.api.invokers = env.TILLSTREAM_API_INVOKERS.split(',').map((m) => m.trim());
  if (env.TILLSTREAM_OPERATORS) base.operators = env.TILLSTREAM_OPERATORS.split(',').map((m) => m.trim());
  // A bad number stays a number (NaN) so the schema names the key it belongs to.
  if (env.TILLSTREAM_STACK_MAX_BYTES_BILLED) base.bigquery.maxBytesBilled = Number(env.TILLSTREAM_STACK_MAX_BYTES_BILLED);
  if (env.TILLSTREAM_STACK_REPROCESS_MAX_BYTES_BILLED) base.bigquery.reprocessMaxBytesBilled = Number(env.TILLSTREAM_STACK_REPROCESS_MAX_BYTES_BILLED);
  if (env.TILLSTREAM_STACK_DAILY_QUERY_BYTES) base.bigquery.dailyQueryBytesPerPrincipal = Number(env.TILLSTREAM_STACK_DAILY_QUERY_BYTES);
  return parseStackConfig(base);
}

/** Resource names shared with the gcp runtime (adapters/gcp/config.ts defaults). */
export const NAMES = {
  datasets: { raw: 'raw', staging: 'staging', marts: 'marts', reporting: 'reporting', dims: 'dims' },
  topics: {
    events: 'tillstream-events',
    pos: 'tillstream-pos',
    posFiles: 'tillstream-pos-files',
    deadLetter: 'tillstream-dead-letter',
    martRuns: 'tillstream-mart-runs',
    alerts: 'tillstream-alerts',
    alertsDeadLetter: 'tillstream-alerts-dead-letter',
  },
  subscriptions: {
    events: 'tillstream-events-ingest',
    pos: 'tillstream-pos-ingest',
    posFiles: 'tillstream-pos-files-split',
    martRuns: 'tillstream-mart-runs-export',
    archiveEvents: 'tillstream-events-archive',
    archivePos: 'tillstream-pos-archive',
    deadLetterHold: 'tillstream-dead-letter-hold',
    alerts: 'tillstream-alerts-deliver',
    alertsDeadLetterHold: 'tillstream-alerts-dead-letter-hold',
  },
  bigtable: { instance: 'tillstream', series: 'series', dedupe: 'dedupe', keys: 'keys' },
  /**
   * Bigtable app profiles (infra-cdktf/constructs/serving.ts): `transactional` routes to one cluster
   * and allows CheckAndMutateRow (the dedupe index, the speed layer and the exporter that writes the
   * same rows); `serving` routes reads to the nearest of all clusters (query API, collector).
   */
  appProfiles: { transactional: 'tillstream-transactional', serving: 'tillstream-serving' },
  /**
   * Column families, as the gcp adapters use them: series rows hold m = mart values and p = speed-layer
   * partials (pipeline/ports.ts), document rows d (adapters/gcp/bigtable-series-store.ts), alert claims
   * and the alert merchant index a (pipeline/alerts/store.ts); dedupe claims c (bigtable-dedupe.ts); key
   * records k (bigtable-key-store.ts). Bigtable rejects a write to a family the table lacks, so
   * test/infra-cdktf/stack.test.ts pins these to the adapters' SERIES_FAMILIES.
   */
  families: { mart: 'm', partial: 'p', documents: 'd', alerts: 'a', dedupe: 'c', keys: 'k' },
  archivePrefix: 'archive/',
  dimensionsObject: 'dimensions/current.json',
  pepperSecret: 'tillstream-key-pepper',
  apiService: 'tillstream-query-api',
  exportJob: 'tillstream-export-marts',
  scheduledQuery: 'tillstream-hourly-marts',
} as const;

export const bucketNames = (c: StackConfig) => ({
  archive: `${c.projectId}-tillstream-archive`,
  pos: `${c.projectId}-tillstream-pos`,
  config: `${c.projectId}-tillstream-config`,
  artifacts: `${c.projectId}-tillstream-artifacts`,
  checkpoints: `${c.projectId}-tillstream-checkpoints`,
  state: `${c.projectId}-tillstream-tfstate`,
});

/** The export job's resource name, what startExport runs (adapters/gcp/run-jobs.ts). */
export const exportJobName = (c: StackConfig): string => `projects/${c.projectId}/locations/${c.region}/jobs/${NAMES.exportJob}`;
