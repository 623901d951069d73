// Alerts (docs/alerts.md): the alerts topic the evaluators publish to, a push subscription with its
// own dead-letter topic delivering each alert to the deliverAlert function (which signs and sends
// the webhook), and the Cloud Scheduler job that calls evaluateAlerts every 15 minutes. The two
// functions are deployed with the others (constructs/functions.ts), their identities come from
// constructs/identities.ts, and their data grants sit with the data (serving.ts for the series
// table, warehouse.ts for BigQuery); this construct grants what it owns: publishing to its topics.
// The mart rules run in the exporter after each mart run, so the exporter may publish too.
//
// Platform rules this follows:
// - Pub/Sub retry backoff is at most 600 s and a dead-letter policy allows 5-100 delivery attempts
//   (https://cloud.google.com/pubsub/docs/handling-failures). A webhook is retried for a day with
//   waits of up to 2 hours, so the subscription's backoff only paces the checks; deliverAlert answers
//   "not yet" (an error, so the message comes back) until the alert's next attempt is due, and
//   republishes the alert (acking the old copy) before the 100th attempt, so only messages that fail
//   to be processed at all reach the dead-letter topic.
// - Forwarding to a dead-letter topic needs the Pub/Sub service agent as publisher on the dead-letter
//   topic and as subscriber on the source subscription
//   (https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions).
// - A push subscription with authentication signs an OIDC token as the push identity; the function
//   checks it through run.invoker (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
// - Cloud Scheduler calls an authenticated function with an OIDC token of a service account of the
//   same project that holds run.invoker on it, at the function's run.app URL, which is internal
//   traffic for a function of the same project (https://cloud.google.com/run/docs/securing/ingress#settings); whoever creates the job needs iam.serviceAccounts.actAs
//   on that account, and the Cloud Scheduler service agent keeps its own role
//   (https://cloud.google.com/scheduler/docs/http-target-auth). The job sends its scheduled time in
//   X-CloudScheduler-ScheduleTime, which evaluateAlerts uses as the evaluation instant, so a retried
//   call is the same evaluation.
// - Messages are kept 7 days (the maximum is 31: https://cloud.google.com/pubsub/docs/subscription-properties#retention),
//   longer than the day of retries.
import { Construct } from 'constructs';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job/index.js';
import type { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription/index.js';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { NAMES, type StackConfig } from '../config.js';
import type { Identities, Workload } from './identities.js';

export const ALERTS_SCHEDULER_JOB = 'tillstream-alerts-scheduled-rules';

/** Every 15 minutes, off the hour (:02, :17, :32, :47): the marts own minute 5, nothing starts at :00. */
export const ALERTS_SCHEDULE = '2-59/15 * * * *';
/** Pub/Sub's ceiling for dead-letter delivery attempts; deliverAlert republishes before it. */
export const ALERTS_MAX_DELIVERY_ATTEMPTS = 100;
/** Who publishes alerts: both evaluators, and deliverAlert republishing an alert that outlasts its attempts. */
export const ALERT_PUBLISHERS: readonly Workload[] = ['evaluateAlerts', 'exportMarts', 'deliverAlert'];

export interface AlertsProps {
  config: StackConfig;
  identities: Identities;
  functions: { deliver: Cloudfunctions2Function; evaluate: Cloudfunctions2Function };
}

export class Alerts extends Construct {
  readonly topic: PubsubTopic;
  readonly deadLetter: PubsubTopic;
  readonly subscription: PubsubSubscription;
  readonly job: CloudSchedulerJob;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const { config, identities } = props;
    const project = config.projectId;
    const labels = { app: 'tillstream', env: config.environment };

    this.topic = new PubsubTopic(this, 'topic', { project, name: NAMES.topics.alerts, labels });
    this.deadLetter = new PubsubTopic(this, 'dead-letter', { project, name: NAMES.topics.alertsDeadLetter, labels });

    const deliver = props.functions.deliver.serviceConfig.uri;
    this.subscription = new PubsubSubscription(this, 'deliver-subscription', {
      project,
      name: NAMES.subscriptions.alerts,
      topic: this.topic.id,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
      pushConfig: { pushEndpoint: deliver, oidcToken: { serviceAccountEmail: identities.accounts.pushInvoker.email, audience: deliver } },
      retryPolicy: { minimumBackoff: '60s', maximumBackoff: '600s' },
      deadLetterPolicy: { deadLetterTopic: this.deadLetter.id, maxDeliveryAttempts: ALERTS_MAX_DELIVERY_ATTEMPTS },
      labels,
    });
    // Dead letters wait here for a person; nothing consumes them.
    new PubsubSubscription(this, 'dead-letter-hold', {
      project,
      name: NAMES.subscriptions.alertsDeadLetterHold,
      topic: this.deadLetter.id,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
      labels,
    });

    const evaluate = props.functions.evaluate.serviceConfig.uri;
    this.job = new CloudSchedulerJob(this, 'scheduled-rules', {
      project,
      region: config.region,
      name: ALERTS_SCHEDULER_JOB,
      description: 'Feed silence and freshness alert rules (docs/alerts.md)',
      schedule: ALERTS_SCHEDULE,
      timeZone: 'Etc/UTC',
      // Longer than the function's 300 s timeout, so a slow evaluation is not retried while it runs.
      attemptDeadline: '320s',
      retryConfig: { retryCount: 3, minBackoffDuration: '30s', maxBackoffDuration: '120s' },
      httpTarget: { uri: evaluate, httpMethod: 'POST', oidcToken: { serviceAccountEmail: identities.accounts.alertsScheduler.email, audience: evaluate } },
    });

    for (const w of ALERT_PUBLISHERS) {
      new PubsubTopicIamMember(this, `publisher-${w}`, { project, topic: this.topic.name, role: 'roles/pubsub.publisher', member: identities.member(w) });
    }
    new PubsubTopicIamMember(this, 'dead-letter-agent-publisher', { project, topic: this.deadLetter.name, role: 'roles/pubsub.publisher', member: identities.agents.pubsub });
    new PubsubSubscriptionIamMember(this, 'deliver-agent-subscriber', { project, subscription: this.subscription.name, role: 'roles/pubsub.subscriber', member: identities.agents.pubsub });
  }
}
