// Identities: one service account per workload, created before anything grants it a role. Roles are
// granted by the construct that owns each resource (a topic's owner grants publish on it), always on
// the resource itself; only BigQuery job creation needs a project-level role.
import { Construct } from 'constructs';
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project/index.js';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account/index.js';
import type { StackConfig } from '../config.js';

export const WORKLOADS = {
  ingestEvents: { accountId: 'ts-ingest-events', displayName: 'Tillstream ingestEvents function' },
  ingestPosBatch: { accountId: 'ts-ingest-pos-batch', displayName: 'Tillstream ingestPosBatch function' },
  exportMarts: { accountId: 'ts-export-marts', displayName: 'Tillstream exportMarts function' },
  collect: { accountId: 'ts-collect', displayName: 'Tillstream collect function' },
  queryApi: { accountId: 'ts-query-api', displayName: 'Tillstream query API (Cloud Run)' },
  pushInvoker: { accountId: 'ts-pubsub-push', displayName: 'Tillstream push subscriptions (OIDC identity)' },
  martsRunner: { accountId: 'ts-marts-runner', displayName: 'Tillstream hourly marts scheduled query' },
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
  readonly projectNumber: string;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const project = new DataGoogleProject(this, 'project', { projectId: config.projectId });
    this.projectNumber = project.number;
    this.accounts = Object.fromEntries(
      Object.entries(WORKLOADS).map(([key, w]) => [
        key,
        new ServiceAccount(this, key, { project: config.projectId, accountId: w.accountId, displayName: w.displayName }),
      ]),
    ) as Record<Workload, ServiceAccount>;
    this.agents = {
      pubsub: `serviceAccount:service-${project.number}@gcp-sa-pubsub.iam.gserviceaccount.com`,
      storage: `serviceAccount:service-${project.number}@gs-project-accounts.iam.gserviceaccount.com`,
      dataTransfer: `serviceAccount:service-${project.number}@gcp-sa-bigquerydatatransfer.iam.gserviceaccount.com`,
    };
  }

  member(w: Workload): string {
    return `serviceAccount:${this.accounts[w].email}`;
  }
}
