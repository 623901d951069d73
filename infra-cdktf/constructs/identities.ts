// Identities: one service account per workload, created before anything grants it a role. Roles are
// granted by the construct that owns each resource (a topic's owner grants publish on it), always on
// the resource itself; only BigQuery job creation and build log writing need project-level roles.
// The Google service agents that deliver to our resources come from identity resources, never from
// emails spelled here: an agent a service creates lazily does not exist yet on a fresh project.
import { Construct } from 'constructs';
import { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account/index.js';
import type { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { Api } from '../apis.js';
import type { StackConfig } from '../config.js';
import { ProjectServiceIdentity, type GoogleBetaProvider } from './service-identity.js';

export const WORKLOADS = {
  ingestEvents: { accountId: 'ts-ingest-events', displayName: 'Tillstream ingestEvents function' },
  ingestPosBatch: { accountId: 'ts-ingest-pos-batch', displayName: 'Tillstream ingestPosBatch function' },
  exportMarts: { accountId: 'ts-export-marts', displayName: 'Tillstream mart export job (Cloud Run job)' },
  reprocess: { accountId: 'ts-reprocess', displayName: 'Tillstream reprocess and re-validation (operators run tillstream reprocess as it)' },
  startExport: { accountId: 'ts-start-export', displayName: 'Tillstream startExport function (starts the export job)' },
  collect: { accountId: 'ts-collect', displayName: 'Tillstream collect function' },
  queryApi: { accountId: 'ts-query-api', displayName: 'Tillstream query API (Cloud Run)' },
  pushInvoker: { accountId: 'ts-pubsub-push', displayName: 'Tillstream push subscriptions (OIDC identity)' },
  martsRunner: { accountId: 'ts-marts-runner', displayName: 'Tillstream hourly marts scheduled query' },
  functionsBuild: { accountId: 'ts-functions-build', displayName: 'Tillstream function builds (Cloud Build)' },
  evaluateAlerts: { accountId: 'ts-evaluate-alerts', displayName: 'Tillstream evaluateAlerts function' },
  deliverAlert: { accountId: 'ts-deliver-alert', displayName: 'Tillstream deliverAlert function' },
  alertsScheduler: { accountId: 'ts-alerts-scheduler', displayName: 'Tillstream alerts scheduler job (OIDC identity)' },
} as const;
export type Workload = keyof typeof WORKLOADS;

/** Google-managed service agents of the project, which need roles on our resources to deliver. */
export interface ServiceAgents {
  pubsub: string;
  storage: string;
  dataTransfer: string;
}

export class Identities extends Construct {
  readonly accounts: Record<Workload, ServiceAccount>;
  readonly agents: ServiceAgents;

  constructor(scope: Construct, id: string, props: { config: StackConfig; apis: Record<Api, ProjectService>; beta: GoogleBetaProvider }) {
    super(scope, id);
    const { config, apis } = props;
    this.accounts = Object.fromEntries(
      Object.entries(WORKLOADS).map(([key, w]) => [
        key,
        new ServiceAccount(this, key, { project: config.projectId, accountId: w.accountId, displayName: w.displayName }),
      ]),
    ) as Record<Workload, ServiceAccount>;
    const identity = (key: string, api: Api) =>
      new ProjectServiceIdentity(this, `agent-${key}`, { project: config.projectId, service: api, provider: props.beta, dependsOn: [apis[api]] });
    // Cloud Storage creates its agent when it is first asked for it, which this data source does
    // (https://cloud.google.com/storage/docs/projects#service-agents); like every data source it waits
    // for its API (stack.ts).
    const storage = new DataGoogleStorageProjectServiceAccount(this, 'agent-storage', { project: config.projectId });
    this.agents = {
      pubsub: identity('pubsub', 'pubsub.googleapis.com').member,
      storage: storage.member,
      dataTransfer: identity('data-transfer', 'bigquerydatatransfer.googleapis.com').member,
    };
  }

  member(w: Workload): string {
    return `serviceAccount:${this.accounts[w].email}`;
  }
}
