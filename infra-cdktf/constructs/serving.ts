// Serving: the Bigtable instance behind the query API and the dedupe index, and the query API on
// Cloud Run. The series table keeps one version per cell (a bucket's value is overwritten, never
// appended); the dedupe table forgets a claim once its event is too old to be accepted again.
import { Construct } from 'constructs';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository/index.js';
import { BigtableAppProfile } from '@cdktf/provider-google/lib/bigtable-app-profile/index.js';
import { BigtableGcPolicy } from '@cdktf/provider-google/lib/bigtable-gc-policy/index.js';
import { BigtableInstance } from '@cdktf/provider-google/lib/bigtable-instance/index.js';
import { BigtableTable } from '@cdktf/provider-google/lib/bigtable-table/index.js';
import { BigtableTableIamMember } from '@cdktf/provider-google/lib/bigtable-table-iam-member/index.js';
import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service/index.js';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member/index.js';
import { NAMES, type StackConfig } from '../config.js';
import type { Identities, Workload } from './identities.js';
import { PEPPER_ENV, type PepperMount } from './pepper-mount.js';
import { appProfileEnvironment, runtimeEnvironment } from './runtime-env.js';

type TableKey = 'series' | 'dedupe' | 'keys';
export type AppProfileKey = keyof typeof NAMES.appProfiles;

/**
 * The app profile each Bigtable workload's client uses (TILLSTREAM_BIGTABLE_APP_PROFILE). CheckAndMutateRow
 * and ReadModifyWriteRow are refused by a multi-cluster profile ("single-row transactions are not
 * allowed by this app profile") and need single-cluster routing with transactional writes
 * (https://cloud.google.com/bigtable/docs/app-profiles#transactions). The exporter writes the rows the
 * speed layer updates conditionally, so it goes to the same cluster: a conditional write then always
 * sees its deletes (https://cloud.google.com/bigtable/docs/replication-overview#consistency-model).
 * Readers take multi-cluster routing: nearest cluster, failover.
 */
export const APP_PROFILE_OF: Partial<Record<Workload, AppProfileKey>> = {
  ingestEvents: 'transactional',
  exportMarts: 'transactional',
  // The alert evaluators claim transitions with CheckAndMutateRow; deliverAlert writes the same table.
  evaluateAlerts: 'transactional',
  deliverAlert: 'transactional',
  // Re-validation claims dedupe keys and writes partials (the reprocess-environment output names it).
  reprocess: 'transactional',
  queryApi: 'serving',
  collect: 'serving',
};

const clusterId = (i: number) => `tillstream-c${i + 1}`;

/** Families and their garbage collection: `versions` keeps N versions, `maxAgeHours` drops older cells. */
export function tableFamilies(config: StackConfig): Record<TableKey, { family: string; versions?: number; maxAgeHours?: number }[]> {
  return {
    series: [
      { family: NAMES.families.mart, versions: 1 },
      { family: NAMES.families.partial, versions: 1 },
      { family: NAMES.families.documents, versions: 1 },
      { family: NAMES.families.alerts, versions: 1 },
    ],
    dedupe: [{ family: NAMES.families.dedupe, maxAgeHours: config.maxEventAgeDays * 24 }],
    keys: [{ family: NAMES.families.keys, versions: 1 }],
  };
}

/** Table-level roles: readers only read; the exporter and ingest write their own table. */
const TABLE_ROLES: { table: TableKey; role: string; workload: Workload }[] = [
  { table: 'series', role: 'roles/bigtable.user', workload: 'exportMarts' },
  // The query API reads metrics and writes the merchants' alert settings (the alert routes).
  { table: 'series', role: 'roles/bigtable.user', workload: 'queryApi' },
  { table: 'dedupe', role: 'roles/bigtable.user', workload: 'ingestEvents' },
  // The speed layer: ingest writes each message's partial aggregates into the series rows.
  { table: 'series', role: 'roles/bigtable.user', workload: 'ingestEvents' },
  { table: 'keys', role: 'roles/bigtable.reader', workload: 'queryApi' },
  { table: 'keys', role: 'roles/bigtable.reader', workload: 'collect' },
  // Alert settings, open alerts, claims, history and delivery status live in the series table.
  { table: 'series', role: 'roles/bigtable.user', workload: 'evaluateAlerts' },
  { table: 'series', role: 'roles/bigtable.user', workload: 'deliverAlert' },
  // `tillstream reprocess --revalidate` claims dedupe keys and writes partials and mart cells as ingest and the exporter do.
  { table: 'dedupe', role: 'roles/bigtable.user', workload: 'reprocess' },
  { table: 'series', role: 'roles/bigtable.user', workload: 'reprocess' },
];

export class Serving extends Construct {
  readonly instance: BigtableInstance;
  readonly tables: Record<TableKey, BigtableTable>;
  readonly appProfiles: Record<AppProfileKey, BigtableAppProfile>;
  readonly api: CloudRunV2Service;
  readonly images: ArtifactRegistryRepository;

  constructor(
    scope: Construct,
    id: string,
    props: { config: StackConfig; identities: Identities; buckets: { archive: string; pos: string; config: string }; pepper: PepperMount },
  ) {
    super(scope, id);
    const { config, identities } = props;
    this.instance = new BigtableInstance(this, 'instance', {
      project: config.projectId,
      name: NAMES.bigtable.instance,
      displayName: `Tillstream ${config.environment}`,
      deletionProtection: config.deletionProtection,
      // One cluster per zone, each scaling on CPU: reads never wait for a manual resize.
      cluster: config.bigtable.zones.map((zone, i) => ({
        clusterId: clusterId(i),
        zone,
        storageType: config.bigtable.storageType,
        autoscalingConfig: { minNodes: config.bigtable.minNodes, maxNodes: config.bigtable.maxNodes, cpuTarget: config.bigtable.cpuTarget },
      })),
      labels: { app: 'tillstream', env: config.environment },
    });

    this.appProfiles = {
      transactional: new BigtableAppProfile(this, 'profile-transactional', {
        project: config.projectId,
        instance: this.instance.name,
        appProfileId: NAMES.appProfiles.transactional,
        description: 'Conditional writes (dedupe index, speed layer) and the exporter: one cluster, transactional writes allowed',
        singleClusterRouting: { clusterId: clusterId(0), allowTransactionalWrites: true },
      }),
      serving: new BigtableAppProfile(this, 'profile-serving', {
        project: config.projectId,
        instance: this.instance.name,
        appProfileId: NAMES.appProfiles.serving,
        description: 'Reads of the query API and the collector: nearest cluster, fails over to the others',
        multiClusterRoutingUseAny: true,
      }),
    };

    const families = tableFamilies(config);
    this.tables = Object.fromEntries(
      (Object.keys(families) as TableKey[]).map((key) => {
        const table = new BigtableTable(this, `table-${key}`, {
          project: config.projectId,
          instanceName: this.instance.name,
          name: NAMES.bigtable[key],
          columnFamily: families[key].map((f) => ({ family: f.family })),
          deletionProtection: config.deletionProtection ? 'PROTECTED' : 'UNPROTECTED',
        });
        for (const f of families[key]) {
          new BigtableGcPolicy(this, `gc-${key}-${f.family}`, {
            project: config.projectId,
            instanceName: this.instance.name,
            table: table.name,
            columnFamily: f.family,
            ...(f.versions !== undefined ? { maxVersion: [{ number: f.versions }] } : {}),
            ...(f.maxAgeHours !== undefined ? { maxAge: { duration: `${f.maxAgeHours}h` } } : {}),
            deletionPolicy: 'ABANDON',
          });
        }
        return [key, table];
      }),
    ) as Record<TableKey, BigtableTable>;

    for (const g of TABLE_ROLES) {
      new BigtableTableIamMember(this, `iam-${g.table}-${g.workload}`, {
        project: config.projectId,
        instanceName: this.instance.name,
        table: this.tables[g.table].name,
        role: g.role,
        member: identities.member(g.workload),
      });
    }

    // Cloud Build pushes the API image here before the full apply, so it has a fixed address.
    this.images = new ArtifactRegistryRepository(this, 'images', {
      project: config.projectId,
      location: config.region,
      repositoryId: 'tillstream',
      format: 'DOCKER',
      description: 'Tillstream container images',
      labels: { app: 'tillstream', env: config.environment },
    });
    this.images.overrideLogicalId('images');

    const env = {
      ...runtimeEnvironment(config, props.buckets),
      ...appProfileEnvironment(NAMES.appProfiles[APP_PROFILE_OF.queryApi!]),
      // Reads go to any cluster; the alert settings writes to the one the conditional writers use.
      TILLSTREAM_BIGTABLE_WRITE_APP_PROFILE: NAMES.appProfiles.transactional,
      TILLSTREAM_RUNTIME: 'gcp',
      NODE_ENV: 'production',
    };
    this.api = new CloudRunV2Service(this, 'query-api', {
      project: config.projectId,
      location: config.region,
      name: NAMES.apiService,
      description: 'Tillstream query API: per-merchant metrics read from Bigtable',
      ingress: 'INGRESS_TRAFFIC_ALL',
      invokerIamDisabled: config.api.access === 'public',
      deletionProtection: config.deletionProtection,
      template: {
        serviceAccount: identities.accounts.queryApi.email,
        maxInstanceRequestConcurrency: config.api.concurrency,
        timeout: '30s',
        scaling: { minInstanceCount: config.api.minInstances, maxInstanceCount: config.api.maxInstances },
        containers: [
          {
            image: config.api.image,
            ports: { containerPort: 8080 },
            resources: { limits: { cpu: config.api.cpu, memory: config.api.memory }, cpuIdle: true, startupCpuBoost: true },
            env: [
              ...Object.entries(env).map(([name, value]) => ({ name, value })),
              // The API hashes keys: the pepper is mounted from Secret Manager, never passed through Terraform.
              { name: PEPPER_ENV, valueSource: { secretKeyRef: { secret: props.pepper.secretId, version: 'latest' } } },
            ],
            // /ready answers once the stores are open; /health only says the process is up.
            startupProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 2, failureThreshold: 15, timeoutSeconds: 2 },
            livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 15, failureThreshold: 3, timeoutSeconds: 2 },
          },
        ],
      },
      labels: { app: 'tillstream', env: config.environment },
      // A revision that cannot read its secret does not start: grant first.
      dependsOn: [this.images, props.pepper.grant, this.appProfiles[APP_PROFILE_OF.queryApi!], this.appProfiles.transactional],
    });
    // Merchants call the API from anywhere; it authenticates every request with its own keys (see
    // api.access in config.ts for the three ways in).
    const invokers = config.api.access === 'allUsers' ? ['allUsers'] : config.api.access === 'members' ? config.api.invokers : [];
    for (const [i, member] of invokers.entries()) {
      new CloudRunV2ServiceIamMember(this, `api-invoker-${i}`, {
        project: config.projectId,
        location: config.region,
        name: this.api.name,
        role: 'roles/run.invoker',
        member,
      });
    }
  }
}
