// Operations: the API key pepper secret, log-based metrics, and the alert policies that page someone
// when metrics fall behind (freshness beyond one hour), entries pile up in the dead-letter path,
// functions log errors, or the query API answers 5xx.
import { Construct } from 'constructs';
import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric/index.js';
import { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy/index.js';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel/index.js';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret/index.js';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member/index.js';
import { NAMES, type StackConfig } from '../config.js';
import { FUNCTIONS } from './functions.js';
import type { Identities, Workload } from './identities.js';
import type { PepperMount } from './pepper-mount.js';

/** Workloads that hash API keys with the pepper. */
export const PEPPER_READERS = ['collect', 'queryApi'] as const satisfies readonly Workload[];
export type PepperReader = (typeof PEPPER_READERS)[number];


/** The one-hour freshness promise of the design, in seconds. */
export const FRESHNESS_LIMIT_SECONDS = 3600;

/**
 * Log contract with the export job (services/export-job/main.ts): each task, after exporting its
 * share of a run, logs a JSON entry whose message is "mart run exported"; when that entry also
 * carries `lag_seconds` (now − the newest finalized hour, what /freshness reports) the lag is charted
 * and alerted on directly. A job's logs are on the cloud_run_job resource, labelled by job_name
 * (https://cloud.google.com/run/docs/logging#view-job-logs).
 */
export const EXPORTED_FILTER = 'jsonPayload.message="mart run exported"';

export class Operations extends Construct {
  readonly pepper: SecretManagerSecret;
  /** Per reader: the secret to mount as PEPPER_ENV and its accessor grant. */
  readonly pepperMounts: Record<PepperReader, PepperMount>;
  readonly channels: MonitoringNotificationChannel[];

  constructor(scope: Construct, id: string, props: { config: StackConfig; identities: Identities }) {
    super(scope, id);
    const { config, identities } = props;
    const project = config.projectId;

    // The secret's value is generated once by `tillstream keys` tooling and added as a version by an
    // operator: it must never pass through Terraform state.
    this.pepper = new SecretManagerSecret(this, 'pepper', {
      project,
      secretId: NAMES.pepperSecret,
      replication: { auto: {} },
      deletionProtection: config.deletionProtection,
      labels: { app: 'tillstream', env: config.environment },
    });
    // A fixed address: the foundation apply creates it, so its first version can be added before the
    // full apply starts the workloads that mount it.
    this.pepper.overrideLogicalId('pepper');
    const mounts = {} as Record<PepperReader, PepperMount>;
    for (const w of PEPPER_READERS) {
      const grant = new SecretManagerSecretIamMember(this, `pepper-${w}`, {
        project,
        secretId: this.pepper.secretId,
        role: 'roles/secretmanager.secretAccessor',
        member: identities.member(w),
      });
      mounts[w] = { secretId: this.pepper.secretId, grant };
    }
    this.pepperMounts = mounts;

    this.channels = config.alertEmails.map(
      (email, i) =>
        new MonitoringNotificationChannel(this, `email-${i}`, { project, displayName: `Tillstream on-call ${email}`, type: 'email', labels: { email_address: email } }),
    );
    const notificationChannels = this.channels.map((c) => c.name);

    const exporterLogs = `resource.type="cloud_run_job" AND resource.labels.job_name="${NAMES.exportJob}" AND ${EXPORTED_FILTER}`;
    const exports = new LoggingMetric(this, 'mart-exports', {
      project,
      name: 'tillstream/mart_exports',
      description: 'Mart runs exported to the series store (one per successful hourly run)',
      filter: exporterLogs,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', displayName: 'Tillstream mart exports' },
    });
    const lag = new LoggingMetric(this, 'export-lag', {
      project,
      name: 'tillstream/export_lag_seconds',
      description: 'Seconds between now and the newest finalized hour, logged by each export job task',
      filter: `${exporterLogs} AND jsonPayload.lag_seconds:*`,
      valueExtractor: 'EXTRACT(jsonPayload.lag_seconds)',
      metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit: 's', displayName: 'Tillstream export lag' },
      bucketOptions: { explicitBuckets: { bounds: [300, 900, 1800, 3600, 5400, 7200, 14400] } },
    });
    const functionErrors = new LoggingMetric(this, 'function-errors', {
      project,
      name: 'tillstream/function_errors',
      description: 'Error-level log entries of the Tillstream functions',
      filter:
        'resource.type="cloud_run_revision" AND severity>=ERROR AND resource.labels.service_name=(' +
        Object.values(FUNCTIONS)
          .map((f) => `"${f.name}"`)
          .join(' OR ') +
        ')',
      labelExtractors: { service_name: 'EXTRACT(resource.labels.service_name)' },
      metricDescriptor: {
        metricKind: 'DELTA',
        valueType: 'INT64',
        unit: '1',
        displayName: 'Tillstream function errors',
        labels: [{ key: 'service_name', valueType: 'STRING', description: 'Function (Cloud Run service) that logged the error' }],
      },
    });

    // The export job's tasks log on the cloud_run_job resource: a failed task (retried by Cloud Run) logs one error.
    const exportTaskErrors = new LoggingMetric(this, 'export-task-errors', {
      project,
      name: 'tillstream/export_task_errors',
      description: 'Error-level log entries of the export job tasks (each failed attempt logs one)',
      filter: `resource.type="cloud_run_job" AND resource.labels.job_name="${NAMES.exportJob}" AND severity>=ERROR`,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', displayName: 'Tillstream export task errors' },
    });

    const documentation = (text: string) => ({ content: `${text}\n\nRunbook: docs/runbooks/alerts.md`, mimeType: 'text/markdown' });

    new MonitoringAlertPolicy(this, 'freshness', {
      project,
      displayName: 'Tillstream: metrics more than one hour behind',
      combiner: 'OR',
      severity: 'ERROR',
      notificationChannels,
      documentation: documentation('Finalized metrics are more than one hour behind, or no export has finished for 75 minutes.'),
      conditions: [
        {
          displayName: 'export lag above one hour',
          conditionThreshold: {
            filter: `resource.type="cloud_run_job" AND metric.type="logging.googleapis.com/user/${lag.name}"`,
            comparison: 'COMPARISON_GT',
            thresholdValue: FRESHNESS_LIMIT_SECONDS,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '600s', perSeriesAligner: 'ALIGN_PERCENTILE_99', crossSeriesReducer: 'REDUCE_MAX' }],
          },
        },
        {
          // The hourly run at :05 plus its export: no export for 75 minutes means a run was missed.
          displayName: 'no export for 75 minutes',
          conditionAbsent: {
            filter: `resource.type="cloud_run_job" AND metric.type="logging.googleapis.com/user/${exports.name}"`,
            duration: '4500s',
            aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_COUNT', crossSeriesReducer: 'REDUCE_SUM' }],
          },
        },
      ],
    });

    new MonitoringAlertPolicy(this, 'dead-letter-backlog', {
      project,
      displayName: 'Tillstream: messages in the dead-letter path',
      combiner: 'OR',
      severity: 'ERROR',
      notificationChannels,
      documentation: documentation('Messages failed every delivery attempt and were dead-lettered. Inspect and replay them.'),
      // Each hold subscription has no consumer but a person: unwatched, its dead letters expire unseen after 7 days.
      conditions: [
        { name: 'dead-letter backlog above zero', subscription: NAMES.subscriptions.deadLetterHold },
        { name: 'alert deliveries dead-lettered', subscription: NAMES.subscriptions.alertsDeadLetterHold },
      ].map((c) => ({
        displayName: c.name,
        conditionThreshold: {
          filter: `resource.type="pubsub_subscription" AND resource.labels.subscription_id="${c.subscription}" AND metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"`,
          comparison: 'COMPARISON_GT',
          thresholdValue: 0,
          duration: '300s',
          aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
        },
      })),
    });

    new MonitoringAlertPolicy(this, 'function-errors-alert', {
      project,
      displayName: 'Tillstream: function errors',
      combiner: 'OR',
      severity: 'WARNING',
      notificationChannels,
      documentation: documentation('A function or an export task logged errors: transient failures are retried, but a steady rate needs a look.'),
      conditions: [
        {
          // Tasks are retried at most 3 times: a task that failed every attempt of a run shows as 4 errors.
          displayName: 'export tasks failing',
          conditionThreshold: {
            filter: `resource.type="cloud_run_job" AND metric.type="logging.googleapis.com/user/${exportTaskErrors.name}"`,
            comparison: 'COMPARISON_GT',
            thresholdValue: 3,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '3600s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM' }],
          },
        },
        {
          displayName: 'more than 5 error entries in 5 minutes',
          conditionThreshold: {
            filter: `resource.type="cloud_run_revision" AND metric.type="logging.googleapis.com/user/${functionErrors.name}"`,
            comparison: 'COMPARISON_GT',
            thresholdValue: 5,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', groupByFields: ['metric.label.service_name'] }],
          },
        },
      ],
    });

    new MonitoringAlertPolicy(this, 'api-5xx', {
      project,
      displayName: 'Tillstream: query API 5xx',
      combiner: 'OR',
      severity: 'ERROR',
      notificationChannels,
      documentation: documentation('The query API answered 5xx: merchants are not getting their metrics.'),
      conditions: [
        {
          displayName: 'more than 5 responses 5xx in 5 minutes',
          conditionThreshold: {
            filter: `resource.type="cloud_run_revision" AND resource.labels.service_name="${NAMES.apiService}" AND metric.type="run.googleapis.com/request_count" AND metric.labels.response_code_class="5xx"`,
            comparison: 'COMPARISON_GT',
            thresholdValue: 5,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM' }],
          },
        },
      ],
    });
  }
}
