// The synthesized Terraform against the platform's own rules (platform-facts.ts, each fact with its
// source): runtimes against today's date, transactional Bigtable writes against app profiles, every
// resource against the enablement of the APIs it calls, service agents against identity resources,
// function builds against a dedicated build account. Each rule is one class of deploy failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { synthesize, type Block, type Synthesized } from './synth.js';
import { FRESHNESS_LIMIT_SECONDS } from '../../infra-cdktf/constructs/operations.js';
import { DEFAULT_ABANDON_AFTER_MS } from '../../adapters/gcp/bigtable-dedupe.js';
import { scheduledScript } from '../../pipeline/marts/scheduled-script.js';
import { EXPORTER_ENV } from '../../bench/export.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../services/collector/router.js';
import { Testing } from 'cdktf';
import { loadStackConfig } from '../../infra-cdktf/config.js';
import { mebibytes } from '../../infra-cdktf/export-job-heap.js';
import { TillstreamStack } from '../../infra-cdktf/stack.js';
import {
  AGENT_SOURCES,
  API_OF_RESOURCE_TYPE,
  BIGQUERY_MAX_QUERY_CHARS,
  CLOUD_RUN_CPU_MEMORY_MIB,
  CLOUD_RUN_JOB_MIN_MEMORY_MIB,
  V8_YOUNG_GENERATION_SEMI_SPACES,
  CLOUD_RUN_MAX_CONCURRENCY,
  FUNCTION_MAX_REQUEST_BYTES,
  PUBLIC_MEMBERS,
  CLOUD_RUN_JOB_LIMITS,
  DML_CONCURRENCY,
  RETENTION_POLICY,
  RUN_WITH_OVERRIDES,
  FUNCTION_RUNTIMES,
  SCHEDULER_HTTP_TARGET,
  NODE_END_OF_LIFE,
  PUBSUB_SUBSCRIPTION_LIMITS,
  SERVICE_AGENT_EMAIL,
} from './platform-facts.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const day = (d: Date) => d.toISOString().slice(0, 10);

/** Every block of the stack, resources and data sources, by its Terraform address. */
function blocks(s: Synthesized): Map<string, { type: string; block: Block }> {
  const out = new Map<string, { type: string; block: Block }>();
  for (const [type, byId] of Object.entries(s.json.resource)) for (const [id, block] of Object.entries(byId)) out.set(`${type}.${id}`, { type, block });
  for (const [type, byId] of Object.entries(s.json.data ?? {})) for (const [id, block] of Object.entries(byId)) out.set(`data.${type}.${id}`, { type, block });
  return out;
}

/** What a block waits for: its depends_on and every block its attributes reference. */
function edges(block: Block): string[] {
  const { depends_on: dependsOn, ...attrs } = block;
  const refs = [...JSON.stringify(attrs).matchAll(/\$\{((?:data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+)\.[a-z_]/g)].map((m) => m[1]!);
  return [...((dependsOn as string[] | undefined) ?? []), ...refs];
}

/** The APIs a block transitively waits for (the `service` of every google_project_service it reaches). */
function apisReached(all: Map<string, { type: string; block: Block }>, start: string): Set<string> {
  const seen = new Set<string>();
  const apis = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const at = stack.pop()!;
    for (const next of edges(all.get(at)!.block)) {
      if (seen.has(next) || !all.has(next)) continue;
      seen.add(next);
      const b = all.get(next)!;
      if (b.type === 'google_project_service') apis.add(b.block.service as string);
      stack.push(next);
    }
  }
  return apis;
}

/** The deployed workloads of functions/index.ts: entry point → the body of its lazy handler. */
function functionHandlers(): Map<string, string> {
  const source = read('functions/index.ts');
  const out = new Map<string, string>();
  for (const m of source.matchAll(/export const (\w+) = lazyHandler\('\w+', \(\) => \{([\s\S]*?)\n\}\);/g)) out.set(m[1]!, m[2]!);
  return out;
}

/** The export job's task (services/export-job/main.ts runExportTask), deployed as the job tillstream-export-marts: its body. */
function exportTask(): string {
  return /export async function runExportTask[\s\S]*?\n\}/.exec(read('services/export-job/main.ts'))![0];
}

/**
 * The export job's memory outside the V8 heap, with room: the exporter's peak RSS less its heap was
 * 105-131 MB at 1M cells (the node binary's pages, the gRPC client's native memory, the request
 * buffers under the store's 32 MiB flow control; bench/export.ts, docs/capacity.md).
 */
const EXPORTER_NATIVE_MIB = 192;
/** The exporter's live heap after a mark-compact (60-80 MB at 1M cells), with room for a job's written-keys set. */
const EXPORTER_LIVE_HEAP_MIB = 256;

/** A handler that claims dedupe keys, writes speed-layer partials or claims alert transitions issues CheckAndMutateRow. */
const TRANSACTIONAL_USE = /\brt\.dedupe\b|createPartialWriter\(|\bmartAlertHook\(|\bevaluateScheduledAlerts\(/;

for (const environment of ['prod', 'dev'] as const) {
  describe(`infra-cdktf platform rules (${environment})`, () => {
    let s: Synthesized;
    let all: Map<string, { type: string; block: Block }>;
    before(() => {
      s = synthesize(environment);
      all = blocks(s);
    });

    it('deploys functions on a Cloud Run functions runtime that today is neither deprecated nor decommissioned', () => {
      const today = day(new Date());
      const runtimes = [...new Set(Object.values(s.resources('google_cloudfunctions2_function')).map((f) => f.build_config.runtime as string))];
      assert.ok(runtimes.length > 0);
      for (const r of runtimes) {
        const fact = FUNCTION_RUNTIMES[r];
        assert.ok(fact, `no support dates known for runtime ${r}: add them to platform-facts.ts`);
        assert.ok(today < fact.deprecation, `${r} is deprecated since ${fact.deprecation} and decommissioned on ${fact.decommission} (today ${today}): move to a supported runtime`);
      }
    });

    it('builds and serves on a Node.js release line that is not past its end of life today', () => {
      const today = day(new Date());
      const images = [
        `cloudbuild.yaml _NODE_IMAGE ${(parse(read('cloudbuild.yaml')) as { substitutions: Record<string, string> }).substitutions._NODE_IMAGE}`,
        ...['query-api', 'export-job'].flatMap((name) => [...read(`infra-cdktf/build/${name}.Dockerfile`).matchAll(/^FROM (\S+)/gm)].map((m) => `${name}.Dockerfile ${m[1]}`)),
      ];
      for (const image of images) {
        const major = Number(/node:(\d+)/.exec(image)?.[1]);
        const eol = NODE_END_OF_LIFE[major];
        assert.ok(eol, `${image}: not a node image of a known release line`);
        assert.ok(today < eol, `${image}: Node.js ${major} reached end of life on ${eol} (today ${today})`);
      }
    });

    it('sends every workload that writes conditionally through a single-cluster app profile that allows transactional writes', () => {
      const transactional = [...functionHandlers(), ['exportMarts', exportTask()] as const].filter(([, body]) => TRANSACTIONAL_USE.test(body)).map(([entry]) => entry);
      assert.ok(transactional.includes('ingestEvents'), 'the ingest handler claims dedupe keys');
      assert.deepEqual(transactional.filter((e) => e !== 'ingestEvents').sort(), ['evaluateAlerts', 'exportMarts'], 'the alert evaluators claim transitions');
      const profiles = Object.values(s.resources('google_bigtable_app_profile'));
      /** The deployed environment of an entry: the export job's container, or the function's. */
      const envOf = (entry: string): Record<string, string> | undefined => {
        if (entry === 'exportMarts') return Object.fromEntries((s.find('google_cloud_run_v2_job', 'name', 'tillstream-export-marts').template.template.containers[0].env as Block[]).map((e) => [e.name, e.value]));
        return Object.values(s.resources('google_cloudfunctions2_function')).find((f) => f.build_config.entry_point === entry)?.service_config.environment_variables;
      };
      for (const entry of transactional) {
        const env = envOf(entry);
        assert.ok(env, `no deployed function or job runs ${entry}`);
        const profileId = env.TILLSTREAM_BIGTABLE_APP_PROFILE;
        assert.ok(profileId, `${entry} issues CheckAndMutateRow through the instance default profile, which is multi-cluster on an instance of several clusters`);
        const profile = profiles.find((p) => p.app_profile_id === profileId);
        assert.ok(profile, `${entry} names app profile ${profileId}, which the stack does not create`);
        assert.deepEqual(
          { single_cluster: profile.single_cluster_routing !== undefined, allow_transactional_writes: profile.single_cluster_routing?.allow_transactional_writes },
          { single_cluster: true, allow_transactional_writes: true },
          `${entry} writes conditionally through ${profileId}`,
        );
      }
    });

    it('makes every resource and data source wait for the enablement of the APIs its type calls', () => {
      const missing: string[] = [];
      for (const [address, { type, block }] of all) {
        if (type === 'google_project_service') continue;
        const needs = type === 'google_project_service_identity' ? [block.service as string] : API_OF_RESOURCE_TYPE[type];
        assert.ok(needs, `no API known for ${type}: add it to platform-facts.ts`);
        const reached = apisReached(all, address);
        for (const api of needs) if (!reached.has(api)) missing.push(`${address} → ${api}`);
      }
      assert.deepEqual(missing, []);
    });

    it('enables every API it waits for, Resource Manager included', () => {
      const enabled = Object.values(s.resources('google_project_service')).map((b) => b.service as string);
      const needed = new Set([...all.values()].flatMap(({ type }) => API_OF_RESOURCE_TYPE[type] ?? []));
      assert.deepEqual([...needed].filter((api) => !enabled.includes(api)), []);
      assert.ok(enabled.includes('cloudresourcemanager.googleapis.com'));
    });

    it('names no service agent by email: agents come from identity resources', () => {
      const spelled = [...all]
        .flatMap(([address, { block }]) => [...JSON.stringify(block).matchAll(/[\w.${}-]+@[\w.-]+/g)].map((m) => `${address}: ${m[0]}`))
        .filter((hit) => SERVICE_AGENT_EMAIL.test(hit));
      assert.deepEqual(spelled, []);
      const agentMembers = [...all.values()]
        .filter(({ type }) => type.endsWith('_iam_member'))
        .map(({ block }) => block.member as string)
        .filter((m) => /^\$\{(data\.)?google_(project_service_identity|storage_project_service_account)\./.test(m));
      assert.ok(agentMembers.length > 0, 'the Pub/Sub and Storage agents get roles through their identity resources');
      for (const m of agentMembers) assert.ok(AGENT_SOURCES.some((src) => m.includes(`${src}.`)), m);
    });

    it('runs every Cloud Run job within the platform\'s limits, each task timing out before the next hourly run', () => {
      const jobs = Object.values(s.resources('google_cloud_run_v2_job'));
      assert.ok(jobs.length > 0, 'the export runs as a Cloud Run job');
      for (const job of jobs) {
        const t = job.template;
        const timeout = /^(\d+)s$/.exec(t.template.timeout as string);
        assert.ok(timeout, `${job.name}: task timeout ${t.template.timeout} is not a duration in seconds`);
        const seconds = Number(timeout[1]);
        assert.ok(Number.isInteger(t.task_count) && t.task_count >= 1 && t.task_count <= CLOUD_RUN_JOB_LIMITS.maxTasks, `${job.name}: ${t.task_count} tasks (1-${CLOUD_RUN_JOB_LIMITS.maxTasks})`);
        assert.ok(t.parallelism >= 1 && t.parallelism <= t.task_count, `${job.name}: parallelism ${t.parallelism} above its ${t.task_count} tasks`);
        assert.ok(t.template.max_retries >= 0 && t.template.max_retries <= CLOUD_RUN_JOB_LIMITS.maxRetries, `${job.name}: ${t.template.max_retries} retries (0-${CLOUD_RUN_JOB_LIMITS.maxRetries})`);
        assert.ok(seconds <= CLOUD_RUN_JOB_LIMITS.maxTaskTimeoutSeconds, `${job.name}: task timeout ${seconds} s above the platform's ${CLOUD_RUN_JOB_LIMITS.maxTaskTimeoutSeconds} s`);
        // A stuck export task must fail (and be retried) before the next run's export starts beside it.
        assert.ok(seconds < FRESHNESS_LIMIT_SECONDS, `${job.name}: task timeout ${seconds} s reaches the next hourly run`);
      }
    });

    it('appends the run log and the export log with INSERTs only, and the export job\'s parallel tasks never overflow a table\'s INSERT queue', () => {
      // Each task appends its ranges one statement at a time: at most `parallelism` INSERTs wait on the log at once.
      const job = s.find('google_cloud_run_v2_job', 'name', 'tillstream-export-marts');
      const capacity = DML_CONCURRENCY.insertsRunning + DML_CONCURRENCY.insertsQueued;
      assert.ok(job.template.parallelism <= capacity, `${job.template.parallelism} tasks appending at once, above the ${capacity} INSERTs a table runs and queues`);
      // No mutating statement on a log: appends of a failing run and of the next never conflict.
      const logs = ['marts.mart_runs', 'marts.mart_exports'];
      const sources = { 'the scheduled script': scheduledScript(), 'pipeline/marts/export-log.ts': read('pipeline/marts/export-log.ts'), 'services/export-job/export-run.ts': read('services/export-job/export-run.ts') };
      for (const [name, text] of Object.entries(sources)) {
        const mutated = [...text.matchAll(new RegExp(DML_CONCURRENCY.mutating.source, 'gim'))].map((m) => m[3]!);
        assert.deepStrictEqual(mutated.filter((t) => logs.includes(t)), [], `${name} mutates a log table`);
      }
      assert.ok(sources['the scheduled script'].includes('insert into marts.mart_runs') && sources['pipeline/marts/export-log.ts'].includes('insert into marts.mart_exports'), 'both logs are appended');
    });

    it('runs every Cloud Run job as a dedicated service account of the stack, and lets only the starter function run it, with the role that holds run.jobs.runWithOverrides', () => {
      const starter = Object.values(s.resources('google_cloudfunctions2_function')).find((f) => f.build_config.entry_point === 'startExport');
      assert.ok(starter, 'a function starts the export job');
      const starterAccount = /^\$\{(google_service_account\.[\w-]+)\.email\}$/.exec(starter.service_config.service_account_email as string)?.[1];
      for (const job of Object.values(s.resources('google_cloud_run_v2_job'))) {
        const sa = job.template.template.service_account as string | undefined;
        assert.ok(sa, `${job.name} runs as the default compute account`);
        assert.match(sa, /^\$\{google_service_account\.[\w-]+\.email\}$/, `${job.name}: runs as ${sa}`);
        assert.notEqual(sa, starter.service_config.service_account_email, `${job.name} runs as its starter`);
        // The function names the job by its full resource name (adapters/gcp/run-jobs.ts).
        assert.equal(
          (starter.service_config.environment_variables as Record<string, string>).TILLSTREAM_EXPORT_JOB,
          `projects/${s.config.projectId}/locations/${job.location}/jobs/${job.name}`,
        );
        const onJob = Object.values(s.resources('google_cloud_run_v2_job_iam_member')).filter((g) => g.name === `\${google_cloud_run_v2_job.${Object.entries(s.resources('google_cloud_run_v2_job')).find(([, b]) => b === job)![0]}.name}`);
        assert.deepEqual(
          onJob.map((g) => ({ role: g.role, member: g.member })),
          [{ role: RUN_WITH_OVERRIDES.role, member: `serviceAccount:\${${starterAccount}.email}` }],
          `${job.name}: startExport passes the run as an override, which needs ${RUN_WITH_OVERRIDES.permission}`,
        );
      }
    });

    it('calls every scheduled function within Cloud Scheduler\'s limits, each attempt outlasting the function, as an identity of the stack that may invoke it', () => {
      const jobs = Object.values(s.resources('google_cloud_scheduler_job'));
      assert.ok(jobs.length > 0, 'the alerts job');
      const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1]);
      for (const job of jobs) {
        const deadline = seconds(job.attempt_deadline as string);
        assert.ok(deadline >= SCHEDULER_HTTP_TARGET.minAttemptDeadlineSeconds && deadline <= SCHEDULER_HTTP_TARGET.maxAttemptDeadlineSeconds, `${job.name}: attempt deadline ${job.attempt_deadline}`);
        assert.ok((job.retry_config?.retry_count ?? 0) <= SCHEDULER_HTTP_TARGET.maxRetryCount, `${job.name}: ${job.retry_config?.retry_count} retries`);
        // The target: a function of the stack, by its own (run.app) URI, which internal ingress admits.
        const target = /^\$\{google_cloudfunctions2_function\.([\w-]+)\.service_config\[0\]\.uri\}$/.exec(job.http_target.uri as string)?.[1];
        assert.ok(target, `${job.name} calls ${job.http_target.uri}`);
        const fn = s.resources('google_cloudfunctions2_function')[target]!;
        assert.ok(deadline > (fn.service_config.timeout_seconds as number), `${job.name}: an attempt of ${deadline} s is cancelled and retried while ${fn.name} may still run (timeout ${fn.service_config.timeout_seconds} s)`);
        assert.equal(job.http_target.oidc_token.audience, job.http_target.uri, `${job.name}: the token's audience is the function's URL`);
        const identity = s.resolve(job.http_target.oidc_token.service_account_email as string);
        assert.match(identity, /^google_service_account:/, `${job.name}: OIDC identity ${identity} is not an account of the stack`);
        const invokers = Object.values(s.resources('google_cloud_run_v2_service_iam_member'))
          .filter((g) => s.resolve(g.name as string) === s.resolve(`\${google_cloudfunctions2_function.${target}.name}`) && g.role === 'roles/run.invoker')
          .map((g) => s.resolve(g.member as string));
        assert.deepEqual(invokers, [`serviceAccount:${identity}`], `${fn.name}: invokers`);
      }
    });

    it('lets no one replace or delete objects in a bucket whose retention policy refuses it', () => {
      const retained = Object.entries(s.resources('google_storage_bucket')).filter(([, b]) => b.retention_policy);
      if (environment === 'prod') assert.ok(retained.length > 0, 'the production archive keeps every payload for the horizon');
      const refused = Object.values(s.resources('google_storage_bucket_iam_member'))
        .filter((g) => retained.some(([id]) => g.bucket === `\${google_storage_bucket.${id}.name}`))
        .filter((g) => (RETENTION_POLICY.replacingRoles as readonly string[]).includes(g.role))
        .map((g) => `${s.resolve(g.member)} ${g.role} on ${s.resolve(g.bucket)}`);
      assert.deepEqual(refused, []);
    });

    it('builds every function as a dedicated service account of the stack, not the default compute account', () => {
      for (const fn of Object.values(s.resources('google_cloudfunctions2_function'))) {
        const sa = fn.build_config.service_account as string | undefined;
        assert.ok(sa, `${fn.name} builds as the default compute account`);
        assert.match(sa, /^\$\{google_service_account\.[\w-]+\.id\}$/, `${fn.name}: build account ${sa}`);
        assert.notEqual(sa, fn.service_config.service_account_email, `${fn.name} builds as its runtime identity`);
      }
    });

    it('sets every Pub/Sub subscription within the platform\'s limits, each push deadline outlasting the function it calls', () => {
      const L = PUBSUB_SUBSCRIPTION_LIMITS;
      const within = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;
      const seconds = (d: string | undefined) => (d === undefined ? undefined : Number(/^(\d+)s$/.exec(d)?.[1]));
      const subs = Object.values(s.resources('google_pubsub_subscription'));
      assert.ok(subs.some((b) => b.push_config) && subs.some((b) => b.cloud_storage_config));
      for (const b of subs) {
        // Unset, the deadline is 10 s (https://cloud.google.com/pubsub/docs/subscription-properties#ack_deadline).
        const ack = (b.ack_deadline_seconds as number | undefined) ?? 10;
        assert.ok(within(ack, L.ackDeadlineSeconds), `${b.name}: ack deadline ${ack} s`);
        const retention = seconds(b.message_retention_duration as string | undefined);
        if (retention !== undefined) assert.ok(within(retention, L.retentionSeconds), `${b.name}: retention ${retention} s`);
        if (b.retry_policy) {
          for (const k of ['minimum_backoff', 'maximum_backoff']) assert.ok(within(seconds(b.retry_policy[k])!, L.backoffSeconds), `${b.name}: ${k} ${b.retry_policy[k]}`);
        }
        if (b.dead_letter_policy) assert.ok(within(b.dead_letter_policy.max_delivery_attempts as number, L.deliveryAttempts), `${b.name}: ${b.dead_letter_policy.max_delivery_attempts} attempts`);
        if (b.cloud_storage_config) {
          const c = b.cloud_storage_config;
          const duration = seconds(c.max_duration as string)!;
          assert.ok(within(duration, L.storageMaxDurationSeconds) && duration <= ack, `${b.name}: a file every ${duration} s with an ack deadline of ${ack} s`);
          assert.ok(within(c.max_bytes as number, L.storageMaxBytes), `${b.name}: max_bytes ${c.max_bytes}`);
        }
        if (b.push_config) {
          const target = /^\$\{google_cloudfunctions2_function\.([\w-]+)\.service_config\[0\]\.uri\}$/.exec(b.push_config.push_endpoint as string)?.[1];
          assert.ok(target, `${b.name} pushes to ${b.push_config.push_endpoint}`);
          const fn = s.resources('google_cloudfunctions2_function')[target]!;
          const timeout = fn.service_config.timeout_seconds as number;
          assert.ok(ack >= timeout, `${b.name}: Pub/Sub sends a message again after ${ack} s while ${fn.name} may still process it (timeout ${timeout} s)`);
        }
      }
    });

    it('deploys a scheduled mart script within BigQuery\'s query length', () => {
      const queries = Object.values(s.resources('google_bigquery_data_transfer_config')).map((t) => t.params.query as string);
      assert.ok(queries.length > 0);
      for (const q of queries) assert.ok(q.length <= BIGQUERY_MAX_QUERY_CHARS, `the scheduled script is ${q.length} characters, above BigQuery's ${BIGQUERY_MAX_QUERY_CHARS}`);
    });

    it('abandons an unconfirmed dedupe claim only after every delivery attempt of its message can have ended', () => {
      // A claim is made on the first attempt; Pub/Sub then redelivers at most max_delivery_attempts times,
      // each attempt lasting up to the ack deadline and waiting up to the maximum backoff before the next
      // (https://cloud.google.com/pubsub/docs/handling-failures). A copy that takes the event over while
      // the owner may still retry would let both store it.
      const ingest = Object.entries(s.resources('google_cloudfunctions2_function')).find(([, f]) => f.build_config.entry_point === 'ingestEvents')![0];
      const subs = Object.values(s.resources('google_pubsub_subscription')).filter((b) => b.push_config?.push_endpoint === `\${google_cloudfunctions2_function.${ingest}.service_config[0].uri}`);
      assert.equal(subs.length, 2, 'the events and POS streams');
      for (const b of subs) {
        const attempts = b.dead_letter_policy.max_delivery_attempts as number;
        const windowSeconds = attempts * (b.ack_deadline_seconds as number) + (attempts - 1) * Number(/^(\d+)s$/.exec(b.retry_policy.maximum_backoff as string)![1]);
        assert.ok(windowSeconds * 1000 < DEFAULT_ABANDON_AFTER_MS, `${b.name}: a message retries for up to ${windowSeconds} s, claims are abandoned after ${DEFAULT_ABANDON_AFTER_MS / 1000} s`);
      }
    });

    it('gives every function, the API and the export job a CPU, memory and concurrency Cloud Run allows together', () => {
      const mib = (m: string) => {
        const g = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(m);
        assert.ok(g, `memory ${m}`);
        return Number(g[1]) * (g[2]!.startsWith('G') ? 1024 : 1);
      };
      const workloads = [
        ...Object.values(s.resources('google_cloudfunctions2_function')).map((f) => ({ name: f.name as string, cpu: f.service_config.available_cpu as string, memory: f.service_config.available_memory as string, concurrency: f.service_config.max_instance_request_concurrency as number })),
        ...Object.values(s.resources('google_cloud_run_v2_service')).map((v) => ({ name: v.name as string, ...v.template.containers[0].resources.limits, concurrency: v.template.max_instance_request_concurrency as number })),
        ...Object.values(s.resources('google_cloud_run_v2_job')).map((j) => ({ name: j.name as string, ...j.template.template.containers[0].resources.limits, concurrency: 1, job: true })),
      ];
      assert.equal(workloads.length, 8);
      for (const w of workloads) {
        const cpu = Number(w.cpu);
        const memory = mib(w.memory);
        if ('job' in w) assert.ok(memory >= CLOUD_RUN_JOB_MIN_MEMORY_MIB, `${w.name}: a job needs at least ${CLOUD_RUN_JOB_MIN_MEMORY_MIB} MiB, has ${w.memory}`);
        if (cpu < 1) {
          assert.ok(cpu >= 0.08 && memory <= (cpu < 0.5 ? 512 : 1024) && w.concurrency === 1, `${w.name}: ${w.cpu} vCPU, ${w.memory}, concurrency ${w.concurrency}`);
          continue;
        }
        const range = CLOUD_RUN_CPU_MEMORY_MIB[cpu];
        assert.ok(range, `${w.name}: ${w.cpu} vCPU is not one Cloud Run offers`);
        assert.ok(memory >= range[0] && memory <= range[1], `${w.name}: ${w.memory} with ${w.cpu} vCPU (${range[0]}-${range[1]} MiB)`);
      }
    });

    it('sizes the export job\'s V8 heap from its memory limit, leaving the exporter\'s native memory room below the limit Cloud Run terminates a task at, and the export benchmark measures the prod job\'s settings', () => {
      const job = s.find('google_cloud_run_v2_job', 'name', 'tillstream-export-marts');
      const container = job.template.template.containers[0];
      const limitMib = mebibytes(container.resources.limits.memory as string);
      const nodeOptions = (container.env as { name: string; value: string }[]).find((e) => e.name === 'NODE_OPTIONS')?.value;
      assert.ok(nodeOptions, 'the export job sets NODE_OPTIONS: without a heap limit V8 sizes the heap from the host, not the container');
      const flag = (name: string) => Number(new RegExp(`--${name}=(\\d+)(?:\\s|$)`).exec(nodeOptions)?.[1]);
      const oldSpace = flag('max-old-space-size');
      const semiSpace = flag('max-semi-space-size');
      assert.ok(oldSpace > 0 && semiSpace > 0, `NODE_OPTIONS "${nodeOptions}" sets both the old and the semi-space size`);
      const heap = oldSpace + V8_YOUNG_GENERATION_SEMI_SPACES * semiSpace;
      assert.ok(limitMib - heap >= EXPORTER_NATIVE_MIB, `heap ${heap} MiB under a ${limitMib} MiB limit leaves ${limitMib - heap} MiB, the exporter's native memory needs ${EXPORTER_NATIVE_MIB}`);
      assert.ok(oldSpace >= EXPORTER_LIVE_HEAP_MIB, `an old generation of ${oldSpace} MiB below the exporter's live heap (${EXPORTER_LIVE_HEAP_MIB} MiB)`);
      if (environment === 'prod') assert.equal(EXPORTER_ENV.NODE_OPTIONS, nodeOptions, 'bench/export.ts runs the exporter with the prod job\'s NODE_OPTIONS');
    });

    it('keeps every instance\'s concurrency within Cloud Run\'s, and the collector\'s body limit below what a request to a function may carry, so its 413 answers first', () => {
      for (const f of Object.values(s.resources('google_cloudfunctions2_function'))) assert.ok(f.service_config.max_instance_request_concurrency <= CLOUD_RUN_MAX_CONCURRENCY, f.name);
      for (const v of Object.values(s.resources('google_cloud_run_v2_service'))) assert.ok(v.template.max_instance_request_concurrency <= CLOUD_RUN_MAX_CONCURRENCY, v.name);
      assert.ok(DEFAULT_MAX_BODY_BYTES <= FUNCTION_MAX_REQUEST_BYTES, `${DEFAULT_MAX_BODY_BYTES} > ${FUNCTION_MAX_REQUEST_BYTES}`);
    });

    it('opens to the internet only the collector and the query API, both checking their own keys, and grants nothing else to allUsers', () => {
      const open = (json: Synthesized['json']) => {
        const out: string[] = [];
        for (const [type, byId] of Object.entries(json.resource)) {
          for (const b of Object.values(byId)) {
            const members = [b.member, ...((b.members as unknown[] | undefined) ?? [])].filter((m): m is string => typeof m === 'string');
            const name = s.resolve(String(b.name ?? b.bucket ?? b.dataset_id ?? b.topic ?? b.subscription ?? ''));
            for (const m of members) if ((PUBLIC_MEMBERS as readonly string[]).includes(m)) out.push(`${type} ${name} ${b.role} ${m}`);
            if (b.invoker_iam_disabled === true) out.push(`${type} ${b.name} invoker check disabled`);
          }
        }
        return out.sort();
      };
      const ingress = (json: Synthesized['json']) =>
        [
          ...Object.values((json.resource.google_cloudfunctions2_function ?? {}) as Record<string, Block>).map((f) => `${f.name} ${f.service_config.ingress_settings}`),
          ...Object.values((json.resource.google_cloud_run_v2_service ?? {}) as Record<string, Block>).map((v) => `${v.name} ${v.ingress}`),
        ].filter((x) => /ALLOW_ALL|INGRESS_TRAFFIC_ALL/.test(x)).sort();
      assert.deepEqual(open(s.json), ['google_cloud_run_v2_service tillstream-query-api invoker check disabled', 'google_cloud_run_v2_service_iam_member tillstream-collect roles/run.invoker allUsers']);
      assert.deepEqual(ingress(s.json), ['tillstream-collect ALLOW_ALL', 'tillstream-query-api INGRESS_TRAFFIC_ALL']);
      for (const b of Object.values(s.resources('google_storage_bucket'))) assert.equal(b.public_access_prevention, 'enforced', b.name);
      // Without public endpoints nothing is granted to allUsers: merchants' browsers and SDKs then reach the collector through a front of the operator's own.
      const config = loadStackConfig(environment, {});
      config.publicEndpoints = false;
      const closed = JSON.parse(Testing.synth(new TillstreamStack(Testing.app(), 'closed', config))) as Synthesized['json'];
      assert.deepEqual(open(closed), ['google_cloud_run_v2_service tillstream-query-api invoker check disabled']);
    });
  });
}
