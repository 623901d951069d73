// One stack per environment: the whole production pipeline of one GCP project, assembled from one
// construct per concern. The stack holds wiring only; each construct owns its resources and the
// role grants on them.
import { Construct } from 'constructs';
import { GcsBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider/index.js';
import { ProjectService } from '@cdktf/provider-google/lib/project-service/index.js';
import { bucketNames, type StackConfig } from './config.js';
import { Functions } from './constructs/functions.js';
import { Identities } from './constructs/identities.js';
import { Ingestion } from './constructs/ingestion.js';
import { Marts } from './constructs/marts.js';
import { Operations } from './constructs/operations.js';
import { Reporting } from './constructs/reporting.js';
import { Serving } from './constructs/serving.js';
import { Warehouse } from './constructs/warehouse.js';

export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'bigquery.googleapis.com',
  'bigquerydatatransfer.googleapis.com',
  'bigtable.googleapis.com',
  'bigtableadmin.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
];

export class TillstreamStack extends TerraformStack {
  readonly identities: Identities;
  readonly warehouse: Warehouse;
  readonly operations: Operations;
  readonly serving: Serving;
  readonly functions: Functions;
  readonly ingestion: Ingestion;
  readonly marts: Marts;
  readonly reporting: Reporting;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);
    const buckets = bucketNames(config);
    new GoogleProvider(this, 'google', { project: config.projectId, region: config.region });
    // State lives in a bucket made once per project (docs/runbooks/deploy.md), one prefix per stack.
    new GcsBackend(this, { bucket: buckets.state, prefix: `tillstream/${config.environment}` });
    for (const api of REQUIRED_APIS) {
      new ProjectService(this, `api-${api.split('.')[0]}`, { project: config.projectId, service: api, disableOnDestroy: false });
    }

    this.identities = new Identities(this, 'identities', config);
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
    this.marts = new Marts(this, 'marts', {
      config,
      identities: this.identities,
      deadLetterTopic: this.ingestion.topics.deadLetter,
      exporter: this.functions.functions.exportMarts,
    });
    this.reporting = new Reporting(this, 'reporting', { config, warehouse: this.warehouse });

    new TerraformOutput(this, 'collector-url', { value: this.functions.functions.collect.url, description: 'POST /v1/events here (collect function)' });
    new TerraformOutput(this, 'query-api-url', { value: this.serving.api.uri, description: 'Query API base URL' });
    new TerraformOutput(this, 'pos-bucket', { value: buckets.pos, description: 'Drop POS batch files here' });
  }
}
