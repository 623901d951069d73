// The alerts construct synthesized inside the production stack: the push subscription, its dead
// letter, the scheduler job and exactly the grants each identity needs, checked on the Terraform JSON.
import assert from 'node:assert/strict';
import { Testing } from 'cdktf';
import { ALERT_NAMES, ALERTS_SCHEDULE, Alerts } from '../../infra-cdktf/constructs/alerts.js';
import { NAMES, loadStackConfig } from '../../infra-cdktf/config.js';
import { runtimeEnvironment } from '../../infra-cdktf/constructs/runtime-env.js';
import { TillstreamStack } from '../../infra-cdktf/stack.js';

type Block = Record<string, any>;

describe('alerts construct', () => {
  const config = loadStackConfig('prod', {});
  const app = Testing.app();
  const stack = new TillstreamStack(app, 'tillstream-prod', config);
  new Alerts(stack, 'alerts', {
    config,
    build: { bucket: stack.functions.artifacts.name, object: config.functions.sourceObject, serviceAccountId: stack.identities.accounts.functionsBuild.id, dockerRepository: stack.functions.images.id },
    series: { instance: stack.serving.instance.name, table: stack.serving.tables.series.name },
    datasets: { marts: NAMES.datasets.marts, dims: NAMES.datasets.dims, raw: NAMES.datasets.raw, staging: NAMES.datasets.staging },
    members: { pubsubAgent: stack.identities.agents.pubsub, pushInvoker: stack.identities.member('pushInvoker'), pushInvokerEmail: stack.identities.accounts.pushInvoker.email, exporter: stack.identities.member('exportMarts') },
    environment: runtimeEnvironment(config, { archive: 'a', pos: 'p', config: 'c' }),
  });
  const json = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Block>> };
  const mine = (type: string): [string, Block][] => Object.entries(json.resource[type] ?? {}).filter(([id]) => id.startsWith('alerts_'));
  /** `${google_x.alerts_y.attr}` → `y`, so grants read as names. */
  const ref = (v: string): string =>
    v.replace(/\$\{(?:data\.)?[a-z0-9_]+\.alerts_([A-Za-z0-9_-]+?)_[0-9A-F]{8}\.[a-z_]+(?:\[\d+\]\.[a-z_]+)*\}/g, '$1').replace(/\$\{(?:data\.)?[a-z0-9_]+\.([A-Za-z0-9_-]+?)(?:_[0-9A-F]{8})?\.[a-z_]+(?:\[\d+\]\.[a-z_]+)*\}/g, 'stack:$1');

  it('pushes alerts to deliverAlert with an OIDC token, dead-lettering after 100 attempts with 60-600 s backoff, keeping messages a week', () => {
    const [[, sub]] = mine('google_pubsub_subscription').filter(([, b]) => b.name === ALERT_NAMES.subscription) as [[string, Block]];
    assert.deepEqual(
      { topic: ref(sub.topic), push: ref(sub.push_config.push_endpoint), oidc: ref(sub.push_config.oidc_token.service_account_email), dl: ref(sub.dead_letter_policy.dead_letter_topic), attempts: sub.dead_letter_policy.max_delivery_attempts, retry: sub.retry_policy, retention: sub.message_retention_duration },
      { topic: 'topic', push: 'deliver', oidc: 'stack:identities_pushInvoker', dl: 'dead-letter', attempts: 100, retry: { minimum_backoff: '60s', maximum_backoff: '600s' }, retention: '604800s' },
    );
  });

  it('runs the scheduled rules every 15 minutes, never on the hour, as the scheduler identity', () => {
    const [[, job]] = mine('google_cloud_scheduler_job') as [[string, Block]];
    assert.equal(job.schedule, ALERTS_SCHEDULE);
    // The minute field `a-b/s` of the job as synthesized: the minutes it fires at.
    const [range, step] = String(job.schedule).split(' ')[0]!.split('/') as [string, string];
    const [lo, hi] = range.split('-').map(Number) as [number, number];
    const minutes: number[] = [];
    for (let m = lo; m <= hi; m += Number(step)) minutes.push(m);
    assert.deepEqual(minutes, [2, 17, 32, 47]);
    assert.deepEqual({ uri: ref(job.http_target.uri), sa: ref(job.http_target.oidc_token.service_account_email) }, { uri: 'evaluate', sa: 'sa-scheduler' });
  });

  it('grants each identity exactly what it uses, on the resource itself', () => {
    const grants: string[] = [];
    for (const type of ['google_pubsub_topic_iam_member', 'google_pubsub_subscription_iam_member', 'google_bigtable_table_iam_member', 'google_project_iam_member', 'google_bigquery_dataset_iam_member', 'google_cloud_run_v2_service_iam_member']) {
      for (const [, b] of mine(type)) grants.push(`${ref(b.member)} ${b.role} ${type.replace(/^google_|_iam_member$/g, '')}:${ref(b.topic ?? b.subscription ?? b.table ?? b.dataset_id ?? b.name ?? b.project)}`);
    }
    assert.deepEqual(grants.sort(), [
      'serviceAccount:sa-deliver roles/bigtable.user bigtable_table:stack:serving_table-series',
      'serviceAccount:sa-deliver roles/pubsub.publisher pubsub_topic:topic',
      'serviceAccount:sa-evaluate roles/bigquery.dataViewer bigquery_dataset:dims',
      'serviceAccount:sa-evaluate roles/bigquery.dataViewer bigquery_dataset:marts',
      'serviceAccount:sa-evaluate roles/bigquery.dataViewer bigquery_dataset:raw',
      'serviceAccount:sa-evaluate roles/bigquery.dataViewer bigquery_dataset:staging',
      `serviceAccount:sa-evaluate roles/bigquery.jobUser project:${config.projectId}`,
      'serviceAccount:sa-evaluate roles/bigtable.user bigtable_table:stack:serving_table-series',
      'serviceAccount:sa-evaluate roles/pubsub.publisher pubsub_topic:topic',
      'serviceAccount:sa-scheduler roles/run.invoker cloud_run_v2_service:evaluate',
      'serviceAccount:stack:identities_exportMarts roles/pubsub.publisher pubsub_topic:topic',
      'serviceAccount:stack:identities_pushInvoker roles/run.invoker cloud_run_v2_service:deliver',
      'stack:identities_agent-pubsub roles/pubsub.publisher pubsub_topic:dead-letter',
      'stack:identities_agent-pubsub roles/pubsub.subscriber pubsub_subscription:deliver-subscription',
    ]);
  });

  it('takes only internal traffic on deliverAlert and runs both functions as their own identities on nodejs22', () => {
    const fns = Object.fromEntries(mine('google_cloudfunctions2_function').map(([, b]) => [b.name, { ingress: b.service_config.ingress_settings, sa: ref(b.service_config.service_account_email), runtime: b.build_config.runtime }]));
    assert.deepEqual(fns, {
      [ALERT_NAMES.deliverFunction]: { ingress: 'ALLOW_INTERNAL_ONLY', sa: 'sa-deliver', runtime: 'nodejs22' },
      [ALERT_NAMES.evaluateFunction]: { ingress: 'ALLOW_ALL', sa: 'sa-evaluate', runtime: 'nodejs22' },
    });
  });
});
