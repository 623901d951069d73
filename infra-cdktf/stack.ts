// One stack per environment: the whole production pipeline of one GCP project, assembled from one
// construct per concern. The stack holds wiring only; each construct owns its resources and the
// role grants on them.
import { Construct } from 'constructs';
import { dependable, GcsBackend, TerraformDataSource, TerraformOutput, TerraformResource, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import { apiId, APIS_OF_TYPE, REQUIRED_APIS, type Api } from './apis.js';
import { bucketNames, type StackConfig } from './config.js';
import { Alerts } from './constructs/alerts.js';
import { ExportJob } from './constructs/export-job.js';
import { Functions } from './constructs/functions.js';
import { Reprocessing } from './constructs/reprocessing.js';
import { Identities } from './constructs/identities.js';
import { Ingestion } from './constructs/ingestion.js';
import { Marts } from './constructs/marts.js';
import { Operations } from './constructs/operations.js';
import { QueryQuota } from './constructs/query-quota.js';
import { Reporting } from './constructs/reporting.js';
import { Serving } from './constructs/serving.js';
import { GoogleBetaProvider } from './constructs/service-identity.js';
import { Warehouse } from './constructs/warehouse.js';


export { REQUIRED_APIS } from './apis.js';

export class TillstreamStack extends TerraformStack {
  readonly apis: Record<Api, ProjectService>;
  readonly identities: Identities;
  readonly warehouse: Warehouse;
  readonly operations: Operations;
  readonly serving: Serving;
  readonly functions: Functions;
  readonly ingestion: Ingestion;
  readonly marts: Marts;
  readonly exportJob: ExportJob;
  readonly reprocessing: Reprocessing;
  readonly reporting: Reporting;
  readonly alerts: Alerts;
  readonly queryQuota: QueryQuota;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const buckets = bucketNames(config);
    new GoogleProvider(this, 'google', { project: config.projectId, region: config.region });
    const beta = new GoogleBetaProvider(this, 'google-beta', { project: config.projectId, region: config.region });
    // State lives in a bucket made once per project (docs/runbooks/deploy.md), one prefix per stack.
    new GcsBackend(this, { bucket: buckets.state, prefix: `tillstream/${config.environment}` });
    this.apis = Object.fromEntries(
      REQUIRED_APIS.map((api) => [api, new ProjectService(this, apiId(api), { project: config.projectId, service: api, disableOnDestroy: false })]),
    ) as Record<Api, ProjectService>;

    this.identities = new Identities(this, 'identities', { config, apis: this.apis, beta });
    this.warehouse = new Warehouse(this, 'warehouse', { config, identities: this.identities });
    this.operations = new Operations(this, 'operations', { config, identities: this.identities });
    this.serving = new Serving(this, 'serving', { config, identities: this.identities, buckets, pepper: this.operations.pepperMounts.queryApi });
    this.functions = new Functions(this, 'functions', { config, identities: this.identities, buckets, pepper: { collect: this.operations.pepperMounts.collect }, serving: this.serving });
    this.ingestion = new Ingestion(this, 'ingestion', {
      config,
      identities: this.identities,
      bucketNames: buckets,
      functions: { ingestEvents: this.functions.functions.ingestEvents, ingestPosBatch: this.functions.functions.ingestPosBatch },
    });
    this.reprocessing = new Reprocessing(this, 'reprocessing', { config, identities: this.identities });
    this.exportJob = new ExportJob(this, 'export-job', { config, identities: this.identities, buckets, images: this.serving.images, appProfiles: this.serving.appProfiles });
    this.marts = new Marts(this, 'marts', {
      config,
      identities: this.identities,
      deadLetterTopic: this.ingestion.topics.deadLetter,
      starter: this.functions.functions.startExport,
    });
    this.reporting = new Reporting(this, 'reporting', { config, warehouse: this.warehouse });
    this.alerts = new Alerts(this, 'alerts', {
      config,
      identities: this.identities,
      functions: { deliver: this.functions.functions.deliverAlert, evaluate: this.functions.functions.evaluateAlerts },
    });

    // The hourly script cannot carry maximumBytesBilled: a daily quota per principal caps it (query-quota.ts).
    this.queryQuota = new QueryQuota(this, 'query-quota', { config, beta });

    this.waitForApis();

    new TerraformOutput(this, 'collector-url', { value: this.functions.functions.collect.url, description: 'POST /v1/events here (collect function)' });
    new TerraformOutput(this, 'query-api-url', { value: this.serving.api.uri, description: 'Query API base URL' });
    new TerraformOutput(this, 'pos-bucket', { value: buckets.pos, description: 'Drop POS batch files here' });
  }

  /**
   * On a fresh project every API starts disabled and Terraform applies whatever has no dependency in
   * parallel: each resource and data source waits for the enablement of the APIs its type calls
   * (apis.ts). A type the table does not know fails synth rather than racing.
   */
  private waitForApis(): void {
    for (const node of this.node.findAll()) {
      if (!(node instanceof TerraformResource || node instanceof TerraformDataSource)) continue;
      const type = node.terraformResourceType;
      if (type === 'google_project_service') continue;
      const apis = APIS_OF_TYPE[type];
      if (!apis) throw new Error(`${node.node.path}: ${type} is not in APIS_OF_TYPE (infra-cdktf/apis.ts): name the APIs it calls`);
      for (const api of apis) node.dependsOn = [...new Set([...(node.dependsOn ?? []), dependable(this.apis[api])])];
    }
  }
}
