// Alerts (docs/alerts.md): the alerts topic the evaluators publish to, a push subscription with a
// dead-letter topic delivering each alert to the deliverAlert function (which signs and sends the
// webhook), the evaluateAlerts function for the scheduled rules and the Cloud Scheduler job that
// calls it every 15 minutes, and the grants each identity needs — on the resource itself, nothing
// project-wide but BigQuery job creation. The mart rules run in the exporter after each mart run,
// so the exporter's identity may publish to the topic.
//
// Platform rules this follows:
// - Pub/Sub retry backoff is at most 600 s and a dead-letter policy allows 5-100 delivery attempts
//   (https://cloud.google.com/pubsub/docs/handling-failures). A webhook is retried for a day with
//   waits of up to 2 hours, so the subscription's backoff only paces the checks; deliverAlert answers
//   "not yet" (an error, so the message comes back) until the alert's next attempt is due, and
//   republishes the alert (acking the old copy) before the 100th attempt, so only messages that fail
//   to be processed at all reach the dead-letter topic.
// - The dead-letter topic needs the Pub/Sub service agent as publisher, and the source subscription
//   the agent as subscriber (https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions).
// - Cloud Scheduler calls an authenticated Cloud Run function with an OIDC token of a service account
//   that holds run.invoker on it (https://cloud.google.com/scheduler/docs/http-target-auth); the job
//   sends its scheduled time in X-CloudScheduler-ScheduleTime, which evaluateAlerts uses as the
//   evaluation instant, so a retried call is the same evaluation.
// - Messages are kept 7 days (the maximum is 31: https://cloud.google.com/pubsub/docs/subscription-properties#retention),
//   longer than the day of retries.
import { Construct } from 'constructs';
import { BigqueryDatasetIamMember } from '@cdktf/provider-google/lib/bigquery-dataset-iam-member/index.js';
import { BigtableTableIamMember } from '@cdktf/provider-google/lib/bigtable-table-iam-member/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job/index.js';
import { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription/index.js';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { StackConfig } from '../config.js';

export const ALERT_NAMES = {
  topic: 'tillstream-alerts',
  deadLetter: 'tillstream-alerts-dead-letter',
  subscription: 'tillstream-alerts-deliver',
  deadLetterHold: 'tillstream-alerts-dead-letter-hold',
  deliverFunction: 'tillstream-deliver-alert',
  evaluateFunction: 'tillstream-evaluate-alerts',
  schedulerJob: 'tillstream-alerts-scheduled-rules',
} as const;

/** Every 15 minutes, off the hour (:02, :17, :32, :47): the marts own minute 5, nothing starts at :00. */
export const ALERTS_SCHEDULE = '2-59/15 * * * *';
/** Pub/Sub's ceiling for dead-letter delivery attempts; deliverAlert republishes before it. */
export const ALERTS_MAX_DELIVERY_ATTEMPTS = 100;
/** The datasets the alert SQL reads (sql/alerts/: marts, dims, raw.arrivals, raw.events through staging). */
export const ALERTS_READ_DATASETS = ['marts', 'dims', 'raw', 'staging'] as const;

export interface AlertsProps {
  config: StackConfig;
  /** Where the function source zip and images live, and the account that builds them (constructs/functions.ts). */
  build: { bucket: string; object: string; serviceAccountId: string; dockerRepository: string };
  /** The series table holding alert settings, state and history (Bigtable instance and table names). */
  series: { instance: string; table: string };
  /** Dataset ids, by the names of ALERTS_READ_DATASETS. */
  datasets: Record<(typeof ALERTS_READ_DATASETS)[number], string>;
  /** Members: the Pub/Sub service agent, the push subscriptions' OIDC identity, the exporter's identity. */
  members: { pubsubAgent: string; pushInvoker: string; pushInvokerEmail: string; exporter: string };
  environment: Record<string, string>;
}

export class Alerts extends Construct {
  readonly topic: PubsubTopic;
  readonly deadLetter: PubsubTopic;
  readonly subscription: PubsubSubscription;
  readonly accounts: Record<'evaluate' | 'deliver' | 'scheduler', ServiceAccount>;
  readonly functions: Record<'evaluate' | 'deliver', Cloudfunctions2Function>;
  readonly job: CloudSchedulerJob;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const { config } = props;
    const project = config.projectId;
    const labels = { app: 'tillstream', env: config.environment };
    const account = (key: string, accountId: string, displayName: string) => new ServiceAccount(this, `sa-${key}`, { project, accountId, displayName });
    this.accounts = {
      evaluate: account('evaluate', 'ts-evaluate-alerts', 'Tillstream evaluateAlerts function'),
      deliver: account('deliver', 'ts-deliver-alert', 'Tillstream deliverAlert function'),
      scheduler: account('scheduler', 'ts-alerts-scheduler', 'Tillstream alerts scheduler job (OIDC identity)'),
    };
    const member = (k: keyof Alerts['accounts']) => `serviceAccount:${this.accounts[k].email}`;

    this.topic = new PubsubTopic(this, 'topic', { project, name: ALERT_NAMES.topic, labels });
    this.deadLetter = new PubsubTopic(this, 'dead-letter', { project, name: ALERT_NAMES.deadLetter, labels });

    const fn = (key: 'evaluate' | 'deliver', name: string, entryPoint: string, ingress: string, timeoutSeconds: number) =>
      new Cloudfunctions2Function(this, key, {
        project,
        location: config.region,
        name,
        description: `Tillstream ${entryPoint}`,
        buildConfig: {
          runtime: 'nodejs22',
          entryPoint,
          source: { storageSource: { bucket: props.build.bucket, object: props.build.object } },
          serviceAccount: props.build.serviceAccountId,
          dockerRepository: props.build.dockerRepository,
        },
        serviceConfig: {
          serviceAccountEmail: this.accounts[key].email,
          minInstanceCount: 0,
          maxInstanceCount: key === 'deliver' ? 20 : 1,
          // One evaluation at a time: two overlapping ticks would read-modify-write the same state documents.
          maxInstanceRequestConcurrency: key === 'deliver' ? 16 : 1,
          availableCpu: '1',
          availableMemory: '512Mi',
          timeoutSeconds,
          ingressSettings: ingress,
          environmentVariables: { ...props.environment, TILLSTREAM_ALERTS_TOPIC: ALERT_NAMES.topic, TILLSTREAM_RUNTIME: 'gcp', NODE_ENV: 'production' },
        },
        labels,
      });
    this.functions = {
      deliver: fn('deliver', ALERT_NAMES.deliverFunction, 'deliverAlert', 'ALLOW_INTERNAL_ONLY', 60),
      // Cloud Scheduler is not internal traffic: the function takes all ingress and requires the invoker role.
      evaluate: fn('evaluate', ALERT_NAMES.evaluateFunction, 'evaluateAlerts', 'ALLOW_ALL', 300),
    };

    this.subscription = new PubsubSubscription(this, 'deliver-subscription', {
      project,
      name: ALERT_NAMES.subscription,
      topic: this.topic.id,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
      pushConfig: {
        pushEndpoint: this.functions.deliver.serviceConfig.uri,
        oidcToken: { serviceAccountEmail: props.members.pushInvokerEmail, audience: this.functions.deliver.serviceConfig.uri },
      },
      retryPolicy: { minimumBackoff: '60s', maximumBackoff: '600s' },
      deadLetterPolicy: { deadLetterTopic: this.deadLetter.id, maxDeliveryAttempts: ALERTS_MAX_DELIVERY_ATTEMPTS },
      labels,
    });
    new PubsubSubscription(this, 'dead-letter-hold', {
      project,
      name: ALERT_NAMES.deadLetterHold,
      topic: this.deadLetter.id,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
      labels,
    });

    this.job = new CloudSchedulerJob(this, 'scheduled-rules', {
      project,
      region: config.region,
      name: ALERT_NAMES.schedulerJob,
      description: 'Feed silence and freshness alert rules (docs/alerts.md)',
      schedule: ALERTS_SCHEDULE,
      timeZone: 'Etc/UTC',
      attemptDeadline: '320s',
      retryConfig: { retryCount: 3, minBackoffDuration: '30s', maxBackoffDuration: '120s' },
      httpTarget: {
        uri: this.functions.evaluate.serviceConfig.uri,
        httpMethod: 'POST',
        oidcToken: { serviceAccountEmail: this.accounts.scheduler.email, audience: this.functions.evaluate.serviceConfig.uri },
      },
    });

    // ---------------------------------------------------------------- grants, each on its resource
    const topicGrant = (key: string, topic: PubsubTopic, who: string) =>
      new PubsubTopicIamMember(this, `${key}-publisher`, { project, topic: topic.name, role: 'roles/pubsub.publisher', member: who });
    topicGrant('evaluate', this.topic, member('evaluate'));
    topicGrant('exporter', this.topic, props.members.exporter);
    // deliverAlert republishes an alert whose wait outlasts the subscription's attempts.
    topicGrant('deliver', this.topic, member('deliver'));
    topicGrant('agent-dead-letter', this.deadLetter, props.members.pubsubAgent);
    new PubsubSubscriptionIamMember(this, 'agent-subscriber', { project, subscription: this.subscription.name, role: 'roles/pubsub.subscriber', member: props.members.pubsubAgent });

    // Settings, open alerts, claims (CheckAndMutateRow) and delivery status live in the series table.
    for (const k of ['evaluate', 'deliver'] as const) {
      new BigtableTableIamMember(this, `${k}-series`, { project, instance: props.series.instance, table: props.series.table, role: 'roles/bigtable.user', member: member(k) });
    }
    // The alert SQL runs as query jobs of the evaluator (and of the exporter, which already holds them).
    new ProjectIamMember(this, 'evaluate-jobs', { project, role: 'roles/bigquery.jobUser', member: member('evaluate') });
    for (const ds of ALERTS_READ_DATASETS) {
      new BigqueryDatasetIamMember(this, `evaluate-read-${ds}`, { project, datasetId: props.datasets[ds], role: 'roles/bigquery.dataViewer', member: member('evaluate') });
    }

    const invoker = (key: string, fnName: string, who: string) =>
      new CloudRunV2ServiceIamMember(this, `invoker-${key}`, { project, location: config.region, name: fnName, role: 'roles/run.invoker', member: who });
    invoker('deliver', this.functions.deliver.name, props.members.pushInvoker);
    invoker('evaluate', this.functions.evaluate.name, member('scheduler'));
  }
}
