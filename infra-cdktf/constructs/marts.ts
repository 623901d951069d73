// Marts: the hourly scheduled query (BigQuery Data Transfer) that runs the mart script at minute 5
// of every hour, as its own service account, and the notification topic whose messages (one per
// finished run) are pushed to startExport, which starts the export job (export-job.ts). The script is generated from the manifest of sql/ by
// pipeline/marts/scheduled-script.ts — the same statements, in the same order, the local runner
// executes — so the deployed query can never drift from the files.
import { Construct } from 'constructs';
import { BigqueryDataTransferConfig } from '@cdktf/provider-google/lib/bigquery-data-transfer-config/index.js';
import type { Cloudfunctions2Function } from '@cdktf/provider-google/lib/cloudfunctions2-function/index.js';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic/index.js';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member/index.js';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member/index.js';
import { NAMES, type StackConfig } from '../config.js';
import { DEFAULT_MART_CONFIG } from '../../pipeline/marts/config.js';
import { scheduledScript } from '../../pipeline/marts/scheduled-script.js';
import type { Identities } from './identities.js';
import { pushSubscription } from './ingestion.js';

/** Minute past each hour at which the marts run: after the hour has ended and its stragglers landed. */
export const MART_MINUTE = 5;

/**
 * Data Transfer schedules use the App Engine cron syntax (UTC). A bare "every 1 hours" runs at a
 * minute of the service's choosing; an interval with a time range starts at its first time and
 * repeats, so "every 1 hours from 00:05 to 23:05" runs at 00:05, 01:05, …, 23:05.
 */
export const MART_SCHEDULE = `every 1 hours from 00:${String(MART_MINUTE).padStart(2, '0')} to 23:${String(MART_MINUTE).padStart(2, '0')}`;

export class Marts extends Construct {
  readonly notifications: PubsubTopic;
  readonly scheduledQuery: BigqueryDataTransferConfig;
  readonly script: string;

  constructor(
    scope: Construct,
    id: string,
    props: { config: StackConfig; identities: Identities; deadLetterTopic: PubsubTopic; starter: Cloudfunctions2Function },
  ) {
    super(scope, id);
    const { config, identities } = props;
    const project = config.projectId;

    this.notifications = new PubsubTopic(this, 'mart-runs', { project, name: NAMES.topics.martRuns, labels: { app: 'tillstream', env: config.environment } });
    const agentPublisher = new PubsubTopicIamMember(this, 'mart-runs-dts-agent', {
      project,
      topic: this.notifications.name,
      role: 'roles/pubsub.publisher',
      member: identities.agents.dataTransfer,
    });
    // The transfer service runs the query as the marts identity, minting its tokens.
    const agentTokens = new ServiceAccountIamMember(this, 'marts-runner-dts-agent', {
      serviceAccountId: identities.accounts.martsRunner.name,
      role: 'roles/iam.serviceAccountTokenCreator',
      member: identities.agents.dataTransfer,
    });

    // The script's own horizon (mart_runs look-back, promotion baselines' horizon_start) is the stack's.
    this.script = scheduledScript({ ...DEFAULT_MART_CONFIG, horizonDays: config.reprocessingHorizonDays });
    this.scheduledQuery = new BigqueryDataTransferConfig(this, 'hourly', {
      project,
      location: config.dataLocation,
      displayName: NAMES.scheduledQuery,
      dataSourceId: 'scheduled_query',
      schedule: MART_SCHEDULE,
      serviceAccountName: identities.accounts.martsRunner.email,
      notificationPubsubTopic: this.notifications.id,
      params: { query: this.script },
      dependsOn: [agentPublisher, agentTokens],
    });

    pushSubscription(this, 'mart-runs-export', {
      config,
      identities,
      name: NAMES.subscriptions.martRuns,
      topic: this.notifications,
      deadLetterTopic: props.deadLetterTopic,
      // Starting an execution takes one Admin API call: the function's 60 s timeout fits the deadline.
      target: { fn: props.starter, ackDeadlineSeconds: 60 },
    });
  }
}
