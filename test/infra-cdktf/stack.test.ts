import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { ASSERTIONS, MARTS, REPORTING, STAGING } from '../../pipeline/marts/manifest.js';
import { RAW_TABLES } from '../../pipeline/schema/raw.js';
import { ALL_TABLES } from '../../pipeline/schema/marts.js';
import { tableSchemaJson } from '../../infra-cdktf/constructs/warehouse.js';
import { scheduledScript } from '../../pipeline/marts/scheduled-script.js';
import { readSql } from '../../pipeline/marts/manifest.js';
import { tillstreamReportUrl } from '../../looker/linking-url.js';
import { parseGcpConfig } from '../../adapters/gcp/config.js';
import { SERIES_FAMILIES } from '../../adapters/gcp/bigtable.js';
import { Testing } from 'cdktf';
import { loadStackConfig } from '../../infra-cdktf/config.js';
import { TillstreamStack } from '../../infra-cdktf/stack.js';
import { DEFAULT_MART_CONFIG } from '../../pipeline/marts/config.js';
import { grants, rolesOf, synthesize, type Block, type Synthesized } from './synth.js';

/** App Engine cron intervals with a range, as Data Transfer reads them: the times of day a run starts. */
function runTimes(schedule: string): string[] {
  const m = /^every (\d+) hours from (\d\d):(\d\d) to (\d\d):(\d\d)$/.exec(schedule);
  if (!m) throw new Error(`not an hourly range schedule: ${schedule}`);
  const [every, fromH, fromM, toH, toM] = m.slice(1).map(Number) as [number, number, number, number, number];
  const times: string[] = [];
  for (let t = fromH * 60 + fromM; t <= toH * 60 + toM; t += every * 60) {
    times.push(`${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`);
  }
  return times;
}

describe('infra-cdktf TillstreamStack (prod)', () => {
  let s: Synthesized;
  before(() => {
    s = synthesize('prod');
  });

  describe('schedules', () => {
    it('runs the hourly marts at minute 5 of every hour, never on the hour', () => {
      const [query] = Object.values(s.resources('google_bigquery_data_transfer_config'));
      assert.equal(query!.schedule, 'every 1 hours from 00:05 to 23:05');
      assert.deepEqual(runTimes(query!.schedule), Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:05`));
    });

    it('has no schedule anywhere that starts on the hour', () => {
      const schedules = Object.values(s.json.resource)
        .flatMap((byId) => Object.values(byId))
        .map((b) => b.schedule)
        .filter((x): x is string => typeof x === 'string');
      assert.deepEqual(schedules, ['every 1 hours from 00:05 to 23:05', '2-59/15 * * * *']);
      const [transfer, cron] = schedules as [string, string];
      assert.ok(runTimes(transfer).every((t) => !t.endsWith(':00')), transfer);
      // The alerts job's cron minute field `a-b/s`: it starts at minute 2, never on the hour.
      assert.equal(cron.split(' ')[0]!.split(/[-/]/)[0], '2');
    });

    it('runs the scheduled query as the marts identity and notifies the mart-runs topic', () => {
      const q = JSON.parse(s.resolve(JSON.stringify(Object.values(s.resources('google_bigquery_data_transfer_config'))[0]))) as Block;
      assert.deepEqual(
        { data_source_id: q.data_source_id, location: q.location, display_name: q.display_name, service_account_name: q.service_account_name, notification_pubsub_topic: q.notification_pubsub_topic },
        {
          data_source_id: 'scheduled_query',
          location: 'EU',
          display_name: 'tillstream-hourly-marts',
          service_account_name: 'google_service_account:ts-marts-runner',
          notification_pubsub_topic: 'google_pubsub_topic:tillstream-mart-runs',
        },
      );
    });
  });

  describe('scheduled mart script', () => {
    let script: string;
    before(() => {
      script = (Object.values(s.resources('google_bigquery_data_transfer_config'))[0]!.params as Block).query as string;
    });

    // A scheduled query takes no maximumBytesBilled: the per-principal daily query quota is its cap
    // (infra-cdktf/constructs/query-quota.ts, https://cloud.google.com/bigquery/docs/custom-quotas).
    it('caps the bytes every principal, the marts runner included, may query a day: a consumer override of BigQuery\'s per-user query usage, in MiB', () => {
      const overrides = Object.values(s.resources('google_service_usage_consumer_quota_override'));
      assert.equal(overrides.length, 1);
      const [o] = overrides;
      assert.deepEqual(
        { provider: o!.provider, service: o!.service, metric: o!.metric, limit: o!.limit, force: o!.force },
        // URL-encoded, as the API's resource names take them; force: the first apply lowers "unlimited" by more than 10 %.
        { provider: 'google-beta', service: 'bigquery.googleapis.com', metric: 'bigquery.googleapis.com%2Fquota%2Fquery%2Fusage', limit: '%2Fd%2Fproject%2Fuser', force: true },
      );
      assert.equal(o!.override_value, String(Math.floor(s.config.bigquery.dailyQueryBytesPerPrincipal / 2 ** 20)));
      const raised = loadStackConfig('prod', { TILLSTREAM_STACK_DAILY_QUERY_BYTES: String(500 * 2 ** 40) });
      const json = JSON.parse(Testing.synth(new TillstreamStack(Testing.app(), 'tillstream-quota', raised))) as { resource: Record<string, Record<string, Block>> };
      assert.equal(Object.values(json.resource.google_service_usage_consumer_quota_override!)[0]!.override_value, String(500 * 2 ** 20));
    });

    it('deploys the script generated from the manifest, unchanged', () => {
      assert.equal(script, scheduledScript());
    });

    it('binds the stack\'s reprocessing horizon into the script', () => {
      const config = loadStackConfig('prod', {});
      config.reprocessingHorizonDays = 30;
      const json = JSON.parse(Testing.synth(new TillstreamStack(Testing.app(), 'tillstream-horizon', config))) as { resource: Record<string, Record<string, Block>> };
      const query = (Object.values(json.resource.google_bigquery_data_transfer_config!)[0]!.params as Block).query as string;
      assert.equal(query, scheduledScript({ ...DEFAULT_MART_CONFIG, horizonDays: 30 }));
      assert.match(query, /\ndeclare run_horizon_days int64 default 30;\n/);
    });

    it('contains every file of sql/marts/, verbatim', () => {
      const files = readdirSync(new URL('../../sql/marts/', import.meta.url)).filter((f) => f.endsWith('.sql'));
      assert.equal(files.length, MARTS.length);
      for (const f of files) {
        const text = readSql(`sql/marts/${f}`).trim();
        assert.ok(script.includes(`execute immediate """\n${text}\n"""\nusing w.window_start as window_start, w.window_end as window_end, `), `sql/marts/${f} is not in the scheduled script`);
      }
    });

    it('runs the marts in manifest order, each followed by its assertions', () => {
      const order = [...script.matchAll(/^-- (mart_[a-z_]+)\nfor w in|raise using message = format\('(assert_[a-z_]+):/gm)].map((m) => m[1] ?? m[2]);
      const expected = MARTS.flatMap((m) => [m.stem, ...ASSERTIONS.filter((a) => a.mart === m.stem).map((a) => a.stem)]);
      assert.deepEqual(order, expected);
    });

    it('binds the window of every statement, records each window in its loop and the watermarks once, at the end', () => {
      assert.equal(script.match(/using w\.window_start as window_start, w\.window_end as window_end\b/g)!.length, MARTS.length + ASSERTIONS.length);
      assert.equal(script.match(/insert into marts\.mart_runs /g)!.length, MARTS.length + 1);
      assert.equal(script.match(/insert into marts\.mart_runs \([^)]*arrivals_through/g)!.length, 1);
    });
  });

  describe('service accounts', () => {
    it('grants each workload exactly the roles it needs, on the resources it uses', () => {
      const p = 'tillstream-prod';
      assert.deepEqual(
        {
          ingestEvents: rolesOf(s, 'ts-ingest-events'),
          ingestPosBatch: rolesOf(s, 'ts-ingest-pos-batch'),
          exportMarts: rolesOf(s, 'ts-export-marts'),
          startExport: rolesOf(s, 'ts-start-export'),
          reprocess: rolesOf(s, 'ts-reprocess'),
          collect: rolesOf(s, 'ts-collect'),
          queryApi: rolesOf(s, 'ts-query-api'),
          pushInvoker: rolesOf(s, 'ts-pubsub-push'),
          martsRunner: rolesOf(s, 'ts-marts-runner'),
          alertsScheduler: rolesOf(s, 'ts-alerts-scheduler'),
        },
        {
          // A job of its own only for a backfill's events older than the Storage Write API's partition range (DML INSERT).
          ingestEvents: ['bigtable:dedupe roles/bigtable.user', 'bigtable:series roles/bigtable.user', `bucket:${p}-tillstream-config roles/storage.objectViewer`, 'dataset:raw WRITER', `project:${p} roles/bigquery.jobUser`],
          ingestPosBatch: [`bucket:${p}-tillstream-pos roles/storage.objectViewer`, 'topic:tillstream-pos roles/pubsub.publisher'],
          exportMarts: [
            'bigtable:series roles/bigtable.user',
            'dataset:dims READER',
            'dataset:marts READER',
            `project:${p} roles/bigquery.jobUser`,
            // its export log, the one table it writes
            'table:marts.mart_exports roles/bigquery.dataEditor',
            'table:raw.arrivals roles/bigquery.dataViewer',
            'topic:tillstream-alerts roles/pubsub.publisher',
          ],
          startExport: ['runJob:tillstream-export-marts roles/run.jobsExecutorWithOverrides'],
          // The archive read back, never written: its checkpoints go to a bucket of their own.
          reprocess: [
            'bigtable:dedupe roles/bigtable.user',
            'bigtable:series roles/bigtable.user',
            `bucket:${p}-tillstream-archive roles/storage.objectViewer`,
            `bucket:${p}-tillstream-checkpoints roles/storage.objectUser`,
            `bucket:${p}-tillstream-config roles/storage.objectViewer`,
            'dataset:dims READER',
            'dataset:marts WRITER',
            'dataset:raw WRITER',
            'dataset:staging READER',
            `project:${p} roles/bigquery.jobUser`,
          ],
          collect: ['bigtable:keys roles/bigtable.reader', 'secret:tillstream-key-pepper roles/secretmanager.secretAccessor', 'topic:tillstream-events roles/pubsub.publisher'],
          queryApi: ['bigtable:keys roles/bigtable.reader', 'bigtable:series roles/bigtable.user', 'secret:tillstream-key-pepper roles/secretmanager.secretAccessor'],
          pushInvoker: [
            'run:tillstream-deliver-alert roles/run.invoker',
            'run:tillstream-ingest-events roles/run.invoker',
            'run:tillstream-ingest-pos-batch roles/run.invoker',
            'run:tillstream-start-export roles/run.invoker',
          ],
          martsRunner: [
            'dataset:dims READER',
            'dataset:marts WRITER',
            'dataset:raw READER',
            'dataset:staging READER',
            `project:${p} roles/bigquery.jobUser`,
          ],
          alertsScheduler: ['run:tillstream-evaluate-alerts roles/run.invoker'],
        },
      );
    });

    it('lets the configured operators act as ts-reprocess, and grants them nothing on the data', () => {
      const withOps = synthesize('prod', { TILLSTREAM_OPERATORS: 'group:tillstream-ops@acme.example, user:oncall@acme.example' });
      const operatorGrants = (x: typeof s) => grants(x).filter((g) => /^(group|user):/.test(g.member) && !g.member.includes('analysts'));
      assert.deepEqual(
        operatorGrants(withOps).map((g) => `${g.member} ${g.on} ${g.role}`),
        [
          'group:tillstream-ops@acme.example serviceAccount:google_service_account:ts-reprocess roles/iam.serviceAccountTokenCreator',
          'user:oncall@acme.example serviceAccount:google_service_account:ts-reprocess roles/iam.serviceAccountTokenCreator',
        ],
      );
      assert.deepEqual(operatorGrants(s), []);
      assert.throws(() => synthesize('prod', { TILLSTREAM_OPERATORS: 'ops@acme.example' }), /operators\.0: an IAM member such as group:ops@example\.com/);
    });

    it('creates one service account per workload', () => {
      const ids = Object.values(s.resources('google_service_account')).map((b) => b.account_id).sort();
      assert.deepEqual(ids, ['ts-alerts-scheduler', 'ts-collect', 'ts-deliver-alert', 'ts-evaluate-alerts', 'ts-export-marts', 'ts-functions-build', 'ts-ingest-events', 'ts-ingest-pos-batch', 'ts-marts-runner', 'ts-pubsub-push', 'ts-query-api', 'ts-reprocess', 'ts-start-export']);
    });

    it('gives no one owner, editor or a project-wide admin role; on the project, service accounts get only bigquery.jobUser and the build account logging.logWriter', () => {
      const all = grants(s);
      assert.deepEqual(all.filter((g) => /^(roles\/(owner|editor)|OWNER)$/.test(g.role) || (g.on.startsWith('project:') && /admin/i.test(g.role))), []);
      assert.deepEqual(
        [...new Set(all.filter((g) => g.on.startsWith('project:') && g.member.startsWith('serviceAccount:')).map((g) => `${g.member} ${g.role}`))].sort(),
        [
          'serviceAccount:google_service_account:ts-evaluate-alerts roles/bigquery.jobUser',
          'serviceAccount:google_service_account:ts-export-marts roles/bigquery.jobUser',
          'serviceAccount:google_service_account:ts-functions-build roles/logging.logWriter',
          'serviceAccount:google_service_account:ts-ingest-events roles/bigquery.jobUser',
          'serviceAccount:google_service_account:ts-marts-runner roles/bigquery.jobUser',
          'serviceAccount:google_service_account:ts-reprocess roles/bigquery.jobUser',
        ],
      );
    });

    it('lets the Google service agents deliver: Pub/Sub dead letters, archive writes and OIDC tokens; storage and transfer notifications', () => {
      // Agents are referenced through their identity resources (the storage agent through its data source).
      const agent = (member: string) =>
        member.startsWith('google_project_service_identity:')
          ? member.slice('google_project_service_identity:'.length)
          : member.startsWith('google_storage_project_service_account:')
            ? 'storage.googleapis.com'
            : undefined;
      const agents = grants(s)
        .filter((g) => agent(g.member) !== undefined)
        .map((g) => `${agent(g.member)} ${g.on} ${g.role}`)
        .sort();
      assert.deepEqual(agents, [
        'bigquerydatatransfer.googleapis.com serviceAccount:google_service_account:ts-marts-runner roles/iam.serviceAccountTokenCreator',
        'bigquerydatatransfer.googleapis.com topic:tillstream-mart-runs roles/pubsub.publisher',
        'pubsub.googleapis.com bucket:tillstream-prod-tillstream-archive roles/storage.legacyBucketReader',
        'pubsub.googleapis.com bucket:tillstream-prod-tillstream-archive roles/storage.objectCreator',
        'pubsub.googleapis.com serviceAccount:google_service_account:ts-pubsub-push roles/iam.serviceAccountTokenCreator',
        'pubsub.googleapis.com subscription:tillstream-alerts-deliver roles/pubsub.subscriber',
        'pubsub.googleapis.com subscription:tillstream-events-ingest roles/pubsub.subscriber',
        'pubsub.googleapis.com subscription:tillstream-mart-runs-export roles/pubsub.subscriber',
        'pubsub.googleapis.com subscription:tillstream-pos-files-split roles/pubsub.subscriber',
        'pubsub.googleapis.com subscription:tillstream-pos-ingest roles/pubsub.subscriber',
        'pubsub.googleapis.com topic:tillstream-alerts-dead-letter roles/pubsub.publisher',
        'pubsub.googleapis.com topic:tillstream-dead-letter roles/pubsub.publisher',
        'storage.googleapis.com topic:tillstream-pos-files roles/pubsub.publisher',
      ]);
    });
  });

  describe('ingestion', () => {
    const pushSubs = () =>
      Object.values(s.resources('google_pubsub_subscription'))
        .filter((b) => b.push_config)
        .map((b) => JSON.parse(s.resolve(JSON.stringify(b))) as Block)
        .sort((a, b) => String(a.name).localeCompare(String(b.name)));

    it('pushes each stream to its function with an OIDC token of the push identity', () => {
      assert.deepEqual(
        pushSubs().map((b) => ({ name: b.name, topic: b.topic, endpoint: b.push_config.push_endpoint, oidc: b.push_config.oidc_token, ack: b.ack_deadline_seconds })),
        [
          { name: 'tillstream-alerts-deliver', topic: 'google_pubsub_topic:tillstream-alerts', endpoint: 'google_cloudfunctions2_function:tillstream-deliver-alert', oidc: { service_account_email: 'google_service_account:ts-pubsub-push', audience: 'google_cloudfunctions2_function:tillstream-deliver-alert' }, ack: 60 },
          { name: 'tillstream-events-ingest', topic: 'google_pubsub_topic:tillstream-events', endpoint: 'google_cloudfunctions2_function:tillstream-ingest-events', oidc: { service_account_email: 'google_service_account:ts-pubsub-push', audience: 'google_cloudfunctions2_function:tillstream-ingest-events' }, ack: 60 },
          { name: 'tillstream-mart-runs-export', topic: 'google_pubsub_topic:tillstream-mart-runs', endpoint: 'google_cloudfunctions2_function:tillstream-start-export', oidc: { service_account_email: 'google_service_account:ts-pubsub-push', audience: 'google_cloudfunctions2_function:tillstream-start-export' }, ack: 60 },
          { name: 'tillstream-pos-files-split', topic: 'google_pubsub_topic:tillstream-pos-files', endpoint: 'google_cloudfunctions2_function:tillstream-ingest-pos-batch', oidc: { service_account_email: 'google_service_account:ts-pubsub-push', audience: 'google_cloudfunctions2_function:tillstream-ingest-pos-batch' }, ack: 300 },
          { name: 'tillstream-pos-ingest', topic: 'google_pubsub_topic:tillstream-pos', endpoint: 'google_cloudfunctions2_function:tillstream-ingest-events', oidc: { service_account_email: 'google_service_account:ts-pubsub-push', audience: 'google_cloudfunctions2_function:tillstream-ingest-events' }, ack: 60 },
        ],
      );
    });

    it('dead-letters after 5 delivery attempts with exponential backoff from 10 s to 10 min, and never expires idle subscriptions', () => {
      // The alerts subscription paces a day of webhook retries with its own policy (test/infra-cdktf/alerts.test.ts).
      const pipeline = pushSubs().filter((b) => b.name !== 'tillstream-alerts-deliver');
      assert.equal(pipeline.length, pushSubs().length - 1);
      for (const b of pipeline) {
        assert.deepEqual(
          { dead: b.dead_letter_policy, retry: b.retry_policy, expiration: b.expiration_policy },
          { dead: { dead_letter_topic: 'google_pubsub_topic:tillstream-dead-letter', max_delivery_attempts: 5 }, retry: { minimum_backoff: '10s', maximum_backoff: '600s' }, expiration: { ttl: '' } },
          b.name,
        );
      }
    });

    it('tells the functions the same attempt limit, so the last attempt is rejected as processing_failed', () => {
      for (const fn of Object.values(s.resources('google_cloudfunctions2_function'))) {
        assert.equal(fn.service_config.environment_variables.TILLSTREAM_MAX_DELIVERY_ATTEMPTS, '5', fn.name);
      }
    });

    it('keeps dead letters on a pull subscription for inspection', () => {
      const hold = JSON.parse(s.resolve(JSON.stringify(s.find('google_pubsub_subscription', 'name', 'tillstream-dead-letter-hold')))) as Block;
      assert.deepEqual(
        { topic: hold.topic, retention: hold.message_retention_duration, push: hold.push_config, expiration: hold.expiration_policy },
        { topic: 'google_pubsub_topic:tillstream-dead-letter', retention: '604800s', push: undefined, expiration: { ttl: '' } },
      );
    });

    it('archives both streams with Avro and metadata through Cloud Storage subscriptions', () => {
      const archive = Object.values(s.resources('google_pubsub_subscription'))
        .filter((b) => b.cloud_storage_config)
        .map((b) => JSON.parse(s.resolve(JSON.stringify(b))) as Block)
        .map((b) => ({ name: b.name, topic: b.topic, storage: b.cloud_storage_config }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const storage = {
        bucket: 'tillstream-prod-tillstream-archive',
        filename_prefix: 'archive/',
        filename_datetime_format: 'YYYY-MM-DD/hh_mm_ssZ',
        filename_suffix: '.avro',
        max_duration: '300s',
        max_bytes: 100000000,
        avro_config: { write_metadata: true },
      };
      assert.deepEqual(archive, [
        { name: 'tillstream-events-archive', topic: 'google_pubsub_topic:tillstream-events', storage },
        { name: 'tillstream-pos-archive', topic: 'google_pubsub_topic:tillstream-pos', storage },
      ]);
    });

    it('announces new POS files on the pos-files topic', () => {
      const [n] = Object.values(s.resources('google_storage_notification')).map((b) => JSON.parse(s.resolve(JSON.stringify(b))) as Block);
      assert.deepEqual(
        { bucket: n!.bucket, topic: n!.topic, payload_format: n!.payload_format, event_types: n!.event_types },
        { bucket: 'tillstream-prod-tillstream-pos', topic: 'google_pubsub_topic:tillstream-pos-files', payload_format: 'JSON_API_V1', event_types: ['OBJECT_FINALIZE'] },
      );
    });
  });

  describe('retention against the 400-day reprocessing horizon', () => {
    it('moves the archive to colder storage and deletes it only after the horizon, locked by a retention policy', () => {
      const archive = s.find('google_storage_bucket', 'name', 'tillstream-prod-tillstream-archive');
      assert.deepEqual(archive.lifecycle_rule, [
        { condition: { age: 30, matches_storage_class: ['STANDARD'] }, action: { type: 'SetStorageClass', storage_class: 'NEARLINE' } },
        { condition: { age: 90, matches_storage_class: ['NEARLINE'] }, action: { type: 'SetStorageClass', storage_class: 'COLDLINE' } },
        { condition: { age: 401 }, action: { type: 'Delete' } },
      ]);
      assert.deepEqual(archive.retention_policy, { retention_period: 400 * 86_400 });
      assert.equal(archive.public_access_prevention, 'enforced');
      assert.equal(archive.uniform_bucket_level_access, true);
    });

    it('keeps POS files for the horizon too', () => {
      assert.deepEqual(s.find('google_storage_bucket', 'name', 'tillstream-prod-tillstream-pos').lifecycle_rule, [
        { condition: { age: 30, matches_storage_class: ['STANDARD'] }, action: { type: 'SetStorageClass', storage_class: 'NEARLINE' } },
        { condition: { age: 401 }, action: { type: 'Delete' } },
      ]);
    });

    it('deletes nothing inside the horizon in any data bucket', () => {
      for (const b of Object.values(s.resources('google_storage_bucket')).filter((x) => x.name !== 'tillstream-prod-tillstream-artifacts')) {
        for (const r of (b.lifecycle_rule ?? []) as Block[]) {
          if (r.action.type === 'Delete' && r.condition.age !== undefined) assert.ok(r.condition.age > 400, `${b.name} deletes at age ${r.condition.age}`);
        }
      }
    });

    it('sets no table, partition or dataset expiration anywhere in the warehouse', () => {
      for (const t of Object.values(s.resources('google_bigquery_table'))) {
        assert.equal(t.expiration_time, undefined, t.table_id);
        assert.equal(t.time_partitioning?.expiration_ms, undefined, t.table_id);
      }
      for (const d of Object.values(s.resources('google_bigquery_dataset'))) {
        assert.deepEqual([d.default_table_expiration_ms, d.default_partition_expiration_ms], [undefined, undefined], d.dataset_id);
      }
    });

    it('forgets dedupe claims after the maximum event age (7 days) and keeps one version of series cells', () => {
      const gc = Object.values(s.resources('google_bigtable_gc_policy'))
        .map((b) => JSON.parse(s.resolve(JSON.stringify(b))) as Block)
        .map((b) => ({ table: b.table, family: b.column_family, max_version: b.max_version, max_age: b.max_age }))
        .sort((a, b) => `${a.table}/${a.family}`.localeCompare(`${b.table}/${b.family}`));
      assert.deepEqual(gc, [
        { table: 'dedupe', family: 'c', max_version: undefined, max_age: { duration: '168h' } },
        { table: 'keys', family: 'k', max_version: [{ number: 1 }], max_age: undefined },
        { table: 'series', family: 'a', max_version: [{ number: 1 }], max_age: undefined },
        { table: 'series', family: 'd', max_version: [{ number: 1 }], max_age: undefined },
        { table: 'series', family: 'm', max_version: [{ number: 1 }], max_age: undefined },
        { table: 'series', family: 'p', max_version: [{ number: 1 }], max_age: undefined },
      ]);
    });
  });

  describe('warehouse', () => {
    it('creates the five datasets in the data location', () => {
      const ds = Object.values(s.resources('google_bigquery_dataset')).map((d) => `${d.dataset_id}@${d.location}`).sort();
      assert.deepEqual(ds, ['dims@EU', 'marts@EU', 'raw@EU', 'reporting@EU', 'staging@EU']);
    });

    it('creates every table of the schema source with its columns, partitioning, clustering and description', () => {
      for (const t of ALL_TABLES) {
        const [dataset, tableId] = t.id.split('.');
        const r = Object.values(s.resources('google_bigquery_table')).find((b) => b.table_id === tableId && s.resolve(b.dataset_id) === dataset);
        assert.ok(r, `${t.id} missing`);
        assert.deepEqual(
          { schema: r.schema, description: r.description, partitioning: r.time_partitioning, clustering: r.clustering, filter: r.require_partition_filter },
          {
            schema: tableSchemaJson(t),
            description: t.description,
            partitioning: t.partition ? { type: 'DAY', field: t.partition.column } : undefined,
            clustering: t.clustering?.length ? t.clustering : undefined,
            filter: t.requirePartitionFilter ?? false,
          },
          t.id,
        );
      }
    });

    it('requires a partition filter on every raw table', () => {
      const raw = Object.values(s.resources('google_bigquery_table'))
        .filter((b) => s.resolve(b.dataset_id) === 'raw')
        .map((b) => ({ table: b.table_id, filter: b.require_partition_filter, partition: b.time_partitioning }))
        .sort((a, b) => a.table.localeCompare(b.table));
      assert.deepEqual(
        raw,
        RAW_TABLES.map((t) => ({ table: t.id.split('.')[1]!, filter: true, partition: { type: 'DAY', field: t.partition!.column } })).sort((a, b) => a.table.localeCompare(b.table)),
      );
    });

    it('deploys the staging views with project-qualified references', () => {
      const v = s.find('google_bigquery_table', 'table_id', 'stg_events');
      assert.equal(v.view.use_legacy_sql, false);
      assert.match(v.view.query, /from `tillstream-prod\.raw\.events`/);
      assert.doesNotMatch(v.view.query, /create or replace view/i);
    });
  });

  describe('functions', () => {
    it('deploys one gen2 function per entry point with its own identity, instance limits and ingress', () => {
      const fns = Object.values(s.resources('google_cloudfunctions2_function'))
        .map((b) => JSON.parse(s.resolve(JSON.stringify(b))) as Block)
        .map((b) => ({
          name: b.name,
          entry: b.build_config.entry_point,
          runtime: b.build_config.runtime,
          source: b.build_config.source.storage_source,
          sa: b.service_config.service_account_email,
          instances: [b.service_config.min_instance_count, b.service_config.max_instance_count],
          ingress: b.service_config.ingress_settings,
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const source = { bucket: 'tillstream-prod-tillstream-artifacts', object: 'functions/prod.zip' };
      assert.deepEqual(fns, [
        { name: 'tillstream-collect', entry: 'collect', runtime: 'nodejs22', source, sa: 'google_service_account:ts-collect', instances: [2, 400], ingress: 'ALLOW_ALL' },
        { name: 'tillstream-deliver-alert', entry: 'deliverAlert', runtime: 'nodejs22', source, sa: 'google_service_account:ts-deliver-alert', instances: [0, 20], ingress: 'ALLOW_INTERNAL_ONLY' },
        { name: 'tillstream-evaluate-alerts', entry: 'evaluateAlerts', runtime: 'nodejs22', source, sa: 'google_service_account:ts-evaluate-alerts', instances: [0, 1], ingress: 'ALLOW_INTERNAL_ONLY' },
        { name: 'tillstream-ingest-events', entry: 'ingestEvents', runtime: 'nodejs22', source, sa: 'google_service_account:ts-ingest-events', instances: [2, 400], ingress: 'ALLOW_INTERNAL_ONLY' },
        { name: 'tillstream-ingest-pos-batch', entry: 'ingestPosBatch', runtime: 'nodejs22', source, sa: 'google_service_account:ts-ingest-pos-batch', instances: [1, 50], ingress: 'ALLOW_INTERNAL_ONLY' },
        { name: 'tillstream-start-export', entry: 'startExport', runtime: 'nodejs22', source, sa: 'google_service_account:ts-start-export', instances: [0, 4], ingress: 'ALLOW_INTERNAL_ONLY' },
      ]);
    });

    it('builds every function as the build account, into its own image repository, the account holding exactly the build roles', () => {
      const builds = Object.values(s.resources('google_cloudfunctions2_function')).map((b) => {
        const c = JSON.parse(s.resolve(JSON.stringify(b.build_config))) as Block;
        return `${c.service_account} ${c.docker_repository}`;
      });
      assert.deepEqual([...new Set(builds)], ['google_service_account:ts-functions-build google_artifact_registry_repository:tillstream-functions']);
      assert.deepEqual(rolesOf(s, 'ts-functions-build'), [
        'bucket:tillstream-prod-tillstream-artifacts roles/storage.objectViewer',
        'project:tillstream-prod roles/logging.logWriter',
        'repository:tillstream-functions roles/artifactregistry.writer',
      ]);
    });

    it('configures the gcp runtime of every function with the deployed resource names', () => {
      const env = s.find('google_cloudfunctions2_function', 'name', 'tillstream-ingest-events').service_config.environment_variables;
      assert.deepEqual(env, {
        TILLSTREAM_GCP_PROJECT: 'tillstream-prod',
        TILLSTREAM_BQ_LOCATION: 'EU',
        TILLSTREAM_RAW_DATASET: 'raw',
        TILLSTREAM_DIMS_DATASET: 'dims',
        TILLSTREAM_MARTS_DATASET: 'marts',
        TILLSTREAM_MAX_BYTES_BILLED: String(s.config.bigquery.maxBytesBilled),
        TILLSTREAM_EVENTS_TOPIC: 'tillstream-events',
        TILLSTREAM_POS_TOPIC: 'tillstream-pos',
        TILLSTREAM_DEAD_LETTER_TOPIC: 'tillstream-dead-letter',
        TILLSTREAM_EVENTS_SUBSCRIPTION: 'tillstream-events-ingest',
        TILLSTREAM_POS_SUBSCRIPTION: 'tillstream-pos-ingest',
        TILLSTREAM_MAX_DELIVERY_ATTEMPTS: '5',
        TILLSTREAM_BIGTABLE_INSTANCE: 'tillstream',
        TILLSTREAM_SERIES_TABLE: 'series',
        TILLSTREAM_DEDUPE_TABLE: 'dedupe',
        TILLSTREAM_KEYS_TABLE: 'keys',
        TILLSTREAM_ARCHIVE_BUCKET: 'tillstream-prod-tillstream-archive',
        TILLSTREAM_ARCHIVE_PREFIX: 'archive/',
        TILLSTREAM_POS_BUCKET: 'tillstream-prod-tillstream-pos',
        TILLSTREAM_DIMENSIONS_BUCKET: 'tillstream-prod-tillstream-config',
        TILLSTREAM_DIMENSIONS_OBJECT: 'dimensions/current.json',
        TILLSTREAM_PEPPER_SECRET: 'tillstream-key-pepper',
        TILLSTREAM_BIGTABLE_APP_PROFILE: 'tillstream-transactional',
        TILLSTREAM_RUNTIME: 'gcp',
        NODE_ENV: 'production',
      });
    });
  });

  it('gives every function and the API an environment the gcp runtime parses', () => {
    const envs = [
      ...Object.values(s.resources('google_cloudfunctions2_function')).map((f) => f.service_config.environment_variables as Record<string, string>),
      Object.fromEntries((s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api').template.containers[0].env as Block[]).map((e) => [e.name, e.value])),
    ];
    for (const env of envs) {
      const c = parseGcpConfig(env);
      assert.deepEqual(
        [c.projectId, c.bigtable.instanceId, c.storage.archiveBucket, c.storage.archivePrefix, c.pubsub.maxDeliveryAttempts],
        ['tillstream-prod', 'tillstream', 'tillstream-prod-tillstream-archive', 'archive/', 5],
      );
    }
  });

  describe('serving', () => {
    it('runs Bigtable in two zones, each autoscaling on CPU', () => {
      const [inst] = Object.values(s.resources('google_bigtable_instance'));
      assert.deepEqual(inst!.cluster, [
        { cluster_id: 'tillstream-c1', zone: 'europe-west1-b', storage_type: 'SSD', autoscaling_config: { min_nodes: 3, max_nodes: 30, cpu_target: 60 } },
        { cluster_id: 'tillstream-c2', zone: 'europe-west1-c', storage_type: 'SSD', autoscaling_config: { min_nodes: 3, max_nodes: 30, cpu_target: 60 } },
      ]);
      assert.equal(inst!.deletion_protection, true);
    });

    it('routes conditional writes through one cluster and reads through any, each workload naming its profile', () => {
      const profiles = Object.values(s.resources('google_bigtable_app_profile')).map((p) => ({
        id: p.app_profile_id,
        single: p.single_cluster_routing,
        any: p.multi_cluster_routing_use_any,
      }));
      assert.deepEqual(
        profiles.sort((a, b) => a.id.localeCompare(b.id)),
        [
          { id: 'tillstream-serving', single: undefined, any: true },
          { id: 'tillstream-transactional', single: { cluster_id: 'tillstream-c1', allow_transactional_writes: true }, any: undefined },
        ],
      );
      const envOf = (b: Block): Record<string, string> =>
        b.service_config?.environment_variables ?? Object.fromEntries((b.template.containers[0].env as Block[]).map((e) => [e.name, e.value]));
      const byName = Object.fromEntries(
        [
          ...Object.values(s.resources('google_cloudfunctions2_function')),
          ...Object.values(s.resources('google_cloud_run_v2_service')),
          ...Object.values(s.resources('google_cloud_run_v2_job')).map((j) => ({ name: j.name, template: j.template.template })),
        ].map((b) => [
          b.name,
          envOf(b).TILLSTREAM_BIGTABLE_APP_PROFILE,
        ]),
      );
      assert.deepEqual(byName, {
        'tillstream-ingest-events': 'tillstream-transactional',
        'tillstream-ingest-pos-batch': undefined,
        'tillstream-start-export': undefined,
        'tillstream-export-marts': 'tillstream-transactional',
        'tillstream-collect': 'tillstream-serving',
        'tillstream-query-api': 'tillstream-serving',
        'tillstream-deliver-alert': 'tillstream-transactional',
        'tillstream-evaluate-alerts': 'tillstream-transactional',
      });
    });

    it('makes the API public with the Cloud Run invoker check disabled, granting nothing to allUsers', () => {
      assert.equal(s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api').invoker_iam_disabled, true);
      assert.deepEqual(
        grants(s).filter((g) => g.on === 'run:tillstream-query-api'),
        [],
      );
    });

    it('lets an organization that forbids public services name the API invokers instead, or grant allUsers where allowed', () => {
      const apiAccess = (env: NodeJS.ProcessEnv) => {
        const other = synthesize('prod', env);
        return {
          invokerCheckDisabled: other.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api').invoker_iam_disabled,
          invokers: grants(other)
            .filter((g) => g.on === 'run:tillstream-query-api')
            .map((g) => `${g.member} ${g.role}`),
        };
      };
      assert.deepEqual(apiAccess({ TILLSTREAM_API_ACCESS: 'members', TILLSTREAM_API_INVOKERS: 'serviceAccount:gateway@acme.iam.gserviceaccount.com, group:partners@acme.example' }), {
        invokerCheckDisabled: false,
        invokers: ['serviceAccount:gateway@acme.iam.gserviceaccount.com roles/run.invoker', 'group:partners@acme.example roles/run.invoker'],
      });
      assert.deepEqual(apiAccess({ TILLSTREAM_API_ACCESS: 'allUsers' }), { invokerCheckDisabled: false, invokers: ['allUsers roles/run.invoker'] });
      assert.throws(() => synthesize('prod', { TILLSTREAM_API_ACCESS: 'members' }), /api\.invokers: api\.access "members" needs at least one api\.invokers member/);
    });

    it('creates the series table with the families the adapters write (m, p, d, a), the dedupe table and the keys table', () => {
      const tables = Object.values(s.resources('google_bigtable_table'))
        .map((t) => ({ name: t.name, families: (t.column_family as Block[]).map((f) => f.family) }))
        .sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(tables, [
        { name: 'dedupe', families: ['c'] },
        { name: 'keys', families: ['k'] },
        { name: 'series', families: ['m', 'p', 'd', 'a'] },
      ]);
      // Bigtable refuses a write to a family the table lacks: the deployed table has every family the adapters write.
      assert.deepEqual(tables.find((t) => t.name === 'series')!.families, SERIES_FAMILIES.map((f) => f.name));
    });

    it('runs the query API on Cloud Run with min instances, concurrency, probes and its own identity', () => {
      const api = JSON.parse(s.resolve(JSON.stringify(s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api')))) as Block;
      const c = api.template.containers[0];
      assert.deepEqual(
        {
          sa: api.template.service_account,
          scaling: api.template.scaling,
          concurrency: api.template.max_instance_request_concurrency,
          image: c.image,
          startup: c.startup_probe.http_get.path,
          liveness: c.liveness_probe.http_get.path,
          runtime: c.env.find((e: Block) => e.name === 'TILLSTREAM_RUNTIME').value,
        },
        {
          sa: 'google_service_account:ts-query-api',
          scaling: { min_instance_count: 2, max_instance_count: 100 },
          concurrency: 80,
          image: 'europe-west1-docker.pkg.dev/tillstream-prod/tillstream/query-api:prod',
          startup: '/ready',
          liveness: '/health',
          runtime: 'gcp',
        },
      );
    });
  });

  describe('reporting', () => {
    it('deploys every reporting view of the manifest, authorized on the datasets it reads', () => {
      const views = REPORTING.map((f) => s.find('google_bigquery_table', 'table_id', f.stem));
      assert.ok(views.every((v) => s.resolve(v.dataset_id) === 'reporting'));
      const access = grants(s)
        .filter((g) => g.member.startsWith('view:'))
        .map((g) => `${g.on} <- ${g.member} ${g.role}`)
        .sort();
      assert.deepEqual(
        access,
        REPORTING.flatMap((f) => [`dataset:dims <- view:reporting.${f.stem} authorized-view`, `dataset:marts <- view:reporting.${f.stem} authorized-view`]).sort(),
      );
    });

    it('qualifies every table a deployed view reads with the project', () => {
      const views = Object.values(s.resources('google_bigquery_table')).filter((t) => t.view);
      assert.equal(views.length, REPORTING.length + STAGING.length);
      for (const v of views) {
        const outsideBackticks = (v.view.query as string).replace(/`[^`]*`/g, '');
        assert.deepEqual(outsideBackticks.match(/\b(?:raw|staging|marts|dims|reporting)\.[a-z_]+/g), null, v.table_id);
      }
    });

    it('creates a staging view only after the staging views its query reads (stg_orders reads stg_events)', () => {
      const tables = Object.entries(s.resources('google_bigquery_table'));
      const staging = tables.filter(([, t]) => t.view && s.resolve(t.dataset_id) === 'staging');
      assert.equal(staging.length, STAGING.length);
      const readers = staging.filter(([, t]) => /`[^`]*\.staging\.[a-z_]+`/.test(t.view.query as string));
      assert.ok(readers.length > 0, 'a staging view reads another');
      for (const [, t] of readers) {
        for (const [, name] of (t.view.query as string).matchAll(/`[^`]*\.staging\.([a-z_]+)`/g)) {
          const [id] = staging.find(([, v]) => v.table_id === name)!;
          assert.ok((t.depends_on as string[]).includes(`google_bigquery_table.${id}`), `${t.table_id} waits for ${name}`);
        }
      }
    });

    it('lets analysts read the reporting dataset only', () => {
      assert.deepEqual(
        grants(s)
          .filter((g) => g.member === 'group:tillstream-analysts@example.com')
          .map((g) => `${g.on} ${g.role}`)
          .sort(),
        ['dataset:reporting READER', 'project:tillstream-prod roles/bigquery.jobUser'],
      );
    });

    it('outputs the Looker Studio report link over the reporting views', () => {
      const out = s.json.output?.['looker-report-url'];
      assert.equal(out?.value, tillstreamReportUrl({ reportId: 'tillstream-template-report', projectId: 'tillstream-prod', environment: 'prod' }));
    });
  });

  describe('operations', () => {
    it('counts exports from the log line the export job\'s tasks write, and charts the lag when it is logged', () => {
      const metrics = Object.values(s.resources('google_logging_metric'))
        .map((m) => ({ name: m.name, filter: m.filter, value: m.value_extractor }))
        .sort((a, b) => a.name.localeCompare(b.name));
      const exporter = 'resource.type="cloud_run_job" AND resource.labels.job_name="tillstream-export-marts" AND jsonPayload.message="mart run exported"';
      assert.deepEqual(metrics, [
        { name: 'tillstream/export_lag_seconds', filter: `${exporter} AND jsonPayload.lag_seconds:*`, value: 'EXTRACT(jsonPayload.lag_seconds)' },
        { name: 'tillstream/export_task_errors', filter: 'resource.type="cloud_run_job" AND resource.labels.job_name="tillstream-export-marts" AND severity>=ERROR', value: undefined },
        {
          name: 'tillstream/function_errors',
          filter:
            'resource.type="cloud_run_revision" AND severity>=ERROR AND resource.labels.service_name=("tillstream-ingest-events" OR "tillstream-ingest-pos-batch" OR "tillstream-start-export" OR "tillstream-collect" OR "tillstream-deliver-alert" OR "tillstream-evaluate-alerts")',
          value: undefined,
        },
        { name: 'tillstream/mart_exports', filter: exporter, value: undefined },
      ]);
    });

    it('alerts on freshness beyond one hour, dead-letter backlog, function errors and API 5xx', () => {
      const policies = Object.values(s.resources('google_monitoring_alert_policy'))
        .map((p) => ({ name: p.display_name, conditions: (p.conditions as Block[]).map((c) => [c.display_name, c.condition_threshold?.threshold_value ?? c.condition_absent?.duration]) }))
        .sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(policies, [
        { name: 'Tillstream: function errors', conditions: [['export tasks failing', 3], ['more than 5 error entries in 5 minutes', 5]] },
        { name: 'Tillstream: messages in the dead-letter path', conditions: [['dead-letter backlog above zero', 0], ['alert deliveries dead-lettered', 0]] },
        { name: 'Tillstream: metrics more than one hour behind', conditions: [['export lag above one hour', 3600], ['no export for 75 minutes', '4500s']] },
        { name: 'Tillstream: query API 5xx', conditions: [['more than 5 responses 5xx in 5 minutes', 5]] },
      ]);
    });

    it('watches the dead-letter hold subscription and the API service by name', () => {
      const filters = Object.values(s.resources('google_monitoring_alert_policy')).flatMap((p) => (p.conditions as Block[]).map((c) => (c.condition_threshold ?? c.condition_absent).filter as string));
      assert.ok(filters.some((f) => f.includes('resource.labels.subscription_id="tillstream-dead-letter-hold"')));
      assert.ok(filters.some((f) => f.includes('resource.labels.service_name="tillstream-query-api"') && f.includes('response_code_class="5xx"')));
    });

    it('watches the backlog of every subscription that nothing consumes (the dead-letter holds)', () => {
      const holds = Object.values(s.resources('google_pubsub_subscription'))
        .filter((b) => !b.push_config && !b.cloud_storage_config)
        .map((b) => b.name as string)
        .sort();
      assert.deepEqual(holds, ['tillstream-alerts-dead-letter-hold', 'tillstream-dead-letter-hold']);
      const filters = Object.values(s.resources('google_monitoring_alert_policy')).flatMap((p) => (p.conditions as Block[]).map((c) => c.condition_threshold?.filter as string | undefined));
      const watched = holds.filter((h) => filters.some((f) => f?.includes(`resource.labels.subscription_id="${h}"`) && f.includes('num_undelivered_messages')));
      assert.deepEqual(watched, holds);
    });

    it('keeps the key pepper in Secret Manager, readable by the collector and the API only', () => {
      const secret = s.find('google_secret_manager_secret', 'secret_id', 'tillstream-key-pepper');
      assert.deepEqual(secret.replication, { auto: {} });
      assert.deepEqual(
        grants(s)
          .filter((g) => g.on === 'secret:tillstream-key-pepper')
          .map((g) => g.member)
          .sort(),
        ['serviceAccount:google_service_account:ts-collect', 'serviceAccount:google_service_account:ts-query-api'],
      );
    });
  });

  it('keeps state in the project state bucket, one prefix per environment', () => {
    assert.deepEqual(s.json.terraform.backend, { gcs: { bucket: 'tillstream-prod-tillstream-tfstate', prefix: 'tillstream/prod' } });
  });
});

describe('infra-cdktf TillstreamStack (dev)', () => {
  let s: Synthesized;
  before(() => {
    s = synthesize('dev');
  });

  it('lets dev data be destroyed and scales to zero', () => {
    assert.equal(s.find('google_storage_bucket', 'name', 'tillstream-dev-tillstream-archive').retention_policy, undefined);
    assert.equal(Object.values(s.resources('google_bigtable_instance'))[0]!.deletion_protection, false);
    assert.deepEqual(s.find('google_cloud_run_v2_service', 'name', 'tillstream-query-api').template.scaling, { min_instance_count: 0, max_instance_count: 5 });
  });

  it('keeps the same horizon rules as production', () => {
    assert.deepEqual(
      s.find('google_storage_bucket', 'name', 'tillstream-dev-tillstream-archive').lifecycle_rule.map((r: Block) => [r.action.type, r.condition.age]),
      [
        ['SetStorageClass', 30],
        ['SetStorageClass', 90],
        ['Delete', 401],
      ],
    );
  });
});
