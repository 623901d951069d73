// The alerts construct mounted in the production stack: the push subscription, its dead letter, the
// scheduler job, the two functions and exactly the grants each identity needs, checked on the
// Terraform JSON.
import assert from 'node:assert/strict';
import { ALERTS_SCHEDULE, ALERTS_SCHEDULER_JOB } from '../../infra-cdktf/constructs/alerts.js';
import { NAMES } from '../../infra-cdktf/config.js';
import { grants, rolesOf, synthesize, type Block, type Synthesized } from './synth.js';

describe('alerts construct', () => {
  let s: Synthesized;
  before(() => {
    s = synthesize('prod');
  });
  const fn = (name: string) => s.find('google_cloudfunctions2_function', 'name', name);

  it('pushes alerts to deliverAlert with an OIDC token, dead-lettering after 100 attempts with 60-600 s backoff, keeping messages a week', () => {
    const sub = s.find('google_pubsub_subscription', 'name', NAMES.subscriptions.alerts);
    const r = (v: string) => s.resolve(v);
    assert.deepEqual(
      { topic: r(sub.topic), push: r(sub.push_config.push_endpoint), oidc: r(sub.push_config.oidc_token.service_account_email), dl: r(sub.dead_letter_policy.dead_letter_topic), attempts: sub.dead_letter_policy.max_delivery_attempts, retry: sub.retry_policy, retention: sub.message_retention_duration },
      {
        topic: `google_pubsub_topic:${NAMES.topics.alerts}`,
        push: 'google_cloudfunctions2_function:tillstream-deliver-alert',
        oidc: 'google_service_account:ts-pubsub-push',
        dl: `google_pubsub_topic:${NAMES.topics.alertsDeadLetter}`,
        attempts: 100,
        retry: { minimum_backoff: '60s', maximum_backoff: '600s' },
        retention: '604800s',
      },
    );
    // The dead letters wait on a subscription of their own.
    assert.equal(s.resolve(s.find('google_pubsub_subscription', 'name', NAMES.subscriptions.alertsDeadLetterHold).topic), `google_pubsub_topic:${NAMES.topics.alertsDeadLetter}`);
  });

  it('runs the scheduled rules every 15 minutes, never on the hour, as the scheduler identity, on evaluateAlerts', () => {
    const job = s.find('google_cloud_scheduler_job', 'name', ALERTS_SCHEDULER_JOB);
    assert.equal(job.schedule, ALERTS_SCHEDULE);
    // The minute field `a-b/s` of the job as synthesized: the minutes it fires at.
    const [range, step] = String(job.schedule).split(' ')[0]!.split('/') as [string, string];
    const [lo, hi] = range.split('-').map(Number) as [number, number];
    const minutes: number[] = [];
    for (let m = lo; m <= hi; m += Number(step)) minutes.push(m);
    assert.deepEqual(minutes, [2, 17, 32, 47]);
    assert.deepEqual(
      { uri: s.resolve(job.http_target.uri), sa: s.resolve(job.http_target.oidc_token.service_account_email), audience: s.resolve(job.http_target.oidc_token.audience) },
      { uri: 'google_cloudfunctions2_function:tillstream-evaluate-alerts', sa: 'google_service_account:ts-alerts-scheduler', audience: 'google_cloudfunctions2_function:tillstream-evaluate-alerts' },
    );
    // Each attempt outlasts the function's timeout, so a slow evaluation is not retried while it runs.
    assert.ok(Number.parseInt(job.attempt_deadline, 10) > fn('tillstream-evaluate-alerts').service_config.timeout_seconds);
  });

  it('grants each alert identity exactly what it uses, on the resource itself', () => {
    assert.deepEqual(
      {
        evaluate: rolesOf(s, 'ts-evaluate-alerts'),
        deliver: rolesOf(s, 'ts-deliver-alert'),
        scheduler: rolesOf(s, 'ts-alerts-scheduler'),
      },
      {
        evaluate: [
          'bigtable:series roles/bigtable.user',
          'dataset:dims READER',
          'dataset:marts READER',
          'dataset:staging READER',
          `project:${s.config.projectId} roles/bigquery.jobUser`,
          'table:raw.arrivals roles/bigquery.dataViewer',
          'table:raw.events roles/bigquery.dataViewer',
          `topic:${NAMES.topics.alerts} roles/pubsub.publisher`,
        ],
        deliver: ['bigtable:series roles/bigtable.user', `topic:${NAMES.topics.alerts} roles/pubsub.publisher`],
        scheduler: ['run:tillstream-evaluate-alerts roles/run.invoker'],
      },
    );
  });

  it('lets the exporter publish alerts, the push identity invoke deliverAlert, and the Pub/Sub agent forward dead letters', () => {
    const on = (target: string) =>
      grants(s)
        .filter((g) => g.on === target)
        .map((g) => `${g.member} ${g.role}`)
        .sort();
    assert.deepEqual(on(`topic:${NAMES.topics.alerts}`), [
      'serviceAccount:google_service_account:ts-deliver-alert roles/pubsub.publisher',
      'serviceAccount:google_service_account:ts-evaluate-alerts roles/pubsub.publisher',
      'serviceAccount:google_service_account:ts-export-marts roles/pubsub.publisher',
    ]);
    assert.deepEqual(on(`topic:${NAMES.topics.alertsDeadLetter}`), ['google_project_service_identity:pubsub.googleapis.com roles/pubsub.publisher']);
    assert.deepEqual(on(`subscription:${NAMES.subscriptions.alerts}`), ['google_project_service_identity:pubsub.googleapis.com roles/pubsub.subscriber']);
    assert.deepEqual(on('run:tillstream-deliver-alert'), ['serviceAccount:google_service_account:ts-pubsub-push roles/run.invoker']);
  });

  it('takes only internal traffic (Pub/Sub push, Cloud Scheduler) on both functions, runs them as their own identities with the alerts topic, and evaluates on one instance', () => {
    const view = (b: Block) => ({
      ingress: b.service_config.ingress_settings,
      sa: s.resolve(b.service_config.service_account_email),
      runtime: b.build_config.runtime,
      topic: b.service_config.environment_variables.TILLSTREAM_ALERTS_TOPIC,
      max: b.service_config.max_instance_count,
    });
    assert.deepEqual(
      { deliver: view(fn('tillstream-deliver-alert')), evaluate: view(fn('tillstream-evaluate-alerts')) },
      {
        deliver: { ingress: 'ALLOW_INTERNAL_ONLY', sa: 'google_service_account:ts-deliver-alert', runtime: 'nodejs22', topic: NAMES.topics.alerts, max: 20 },
        evaluate: { ingress: 'ALLOW_INTERNAL_ONLY', sa: 'google_service_account:ts-evaluate-alerts', runtime: 'nodejs22', topic: NAMES.topics.alerts, max: 1 },
      },
    );
  });

  it('passes the alerts topic to the export job, whose first task evaluates the mart rules after each export', () => {
    const env = s.find('google_cloud_run_v2_job', 'name', 'tillstream-export-marts').template.template.containers[0].env as Block[];
    assert.equal(env.find((e) => e.name === 'TILLSTREAM_ALERTS_TOPIC')?.value, NAMES.topics.alerts);
  });
});
