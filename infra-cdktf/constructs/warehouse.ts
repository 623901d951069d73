// Warehouse: the BigQuery datasets and every table, generated from the one schema source
// (pipeline/schema/*.ts) — columns, partitioning, clustering, required partition filters and
// descriptions. Nothing expires: raw partitions are what reprocessing reads, so retention is an
// explicit job, never a table or dataset default.
import { Construct } from 'constructs';
import { BigqueryDataset } from '@cdktf/provider-google/lib/bigquery-dataset/index.js';
import { BigqueryDatasetAccessA } from '@cdktf/provider-google/lib/bigquery-dataset-access/index.js';
import { BigqueryTable } from '@cdktf/provider-google/lib/bigquery-table/index.js';
import { BigqueryTableIamMember } from '@cdktf/provider-google/lib/bigquery-table-iam-member/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { STAGING, readSql } from '../../pipeline/marts/manifest.js';
import { ALL_TABLES } from '../../pipeline/schema/marts.js';
import type { Column, TableDef } from '../../pipeline/schema/types.js';
import { NAMES, type StackConfig } from '../config.js';
import { viewFromSql } from '../sql-views.js';
import type { Identities, Workload } from './identities.js';

export type DatasetKey = keyof typeof NAMES.datasets;

const DATASET_DESCRIPTIONS: Record<DatasetKey, string> = {
  raw: 'Accepted, rejected and duplicate entries as ingest wrote them; never changed by marts.',
  staging: 'Views that clean raw tables (earliest received copy of each event) for the marts.',
  marts: 'Hourly and daily marts rebuilt by the hourly scheduled query, and the mart run log.',
  reporting: 'Authorized views over the marts for analysts and Looker Studio.',
  dims: 'Merchants, stores and settings mirrored from the dimensions file.',
};

/** BigQuery's JSON schema spells some types by their legacy names; using them avoids perpetual diffs. */
const LEGACY_TYPE: Record<Column['type'], string> = {
  STRING: 'STRING',
  INT64: 'INTEGER',
  NUMERIC: 'NUMERIC',
  FLOAT64: 'FLOAT',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
};

export function tableSchemaJson(t: TableDef): string {
  return JSON.stringify(t.columns.map((c) => ({ name: c.name, type: LEGACY_TYPE[c.type], mode: c.mode, description: c.description })));
}

/**
 * Dataset-level access: who reads (READER = bigquery.dataViewer) and who writes (WRITER =
 * bigquery.dataEditor) each dataset. Dataset access entries, not dataset IAM members: the IAM
 * resources would strip the authorized-view entries the reporting views need. The legacy role
 * names are what the API returns, so plans stay clean.
 */
const DATASET_ROLES: { dataset: DatasetKey; role: 'READER' | 'WRITER'; workload: Workload }[] = [
  { dataset: 'raw', role: 'WRITER', workload: 'ingestEvents' },
  { dataset: 'raw', role: 'READER', workload: 'martsRunner' },
  { dataset: 'dims', role: 'READER', workload: 'martsRunner' },
  { dataset: 'dims', role: 'READER', workload: 'exportMarts' },
  // The script reads the staging views; Terraform, not the run, creates and replaces them.
  { dataset: 'staging', role: 'READER', workload: 'martsRunner' },
  { dataset: 'marts', role: 'WRITER', workload: 'martsRunner' },
  { dataset: 'marts', role: 'READER', workload: 'exportMarts' },
  // The scheduled alert rules (sql/alerts/): sales and run marts, stores, POS events through staging.
  { dataset: 'dims', role: 'READER', workload: 'evaluateAlerts' },
  { dataset: 'marts', role: 'READER', workload: 'evaluateAlerts' },
  { dataset: 'staging', role: 'READER', workload: 'evaluateAlerts' },
  // `tillstream reprocess` (as ts-reprocess): re-validation replaces raw rows; the rebuild writes marts
  // and its run log from staging and dims, as the scheduled script does.
  { dataset: 'raw', role: 'WRITER', workload: 'reprocess' },
  { dataset: 'dims', role: 'READER', workload: 'reprocess' },
  { dataset: 'staging', role: 'READER', workload: 'reprocess' },
  { dataset: 'marts', role: 'WRITER', workload: 'reprocess' },
];

/**
 * Table-level grants, where a workload needs one table of a dataset and not the rest: the exporter
 * takes each merchant's newest event time from raw.arrivals, and must not read raw events; it writes
 * the export log and no other table of marts.
 */
const TABLE_ROLES: { table: string; role: string; workload: Workload }[] = [
  { table: 'raw.arrivals', role: 'roles/bigquery.dataViewer', workload: 'exportMarts' },
  // The export log: each task appends the runs and merchant ranges it exported (pipeline/marts/export-log.ts).
  { table: 'marts.mart_exports', role: 'roles/bigquery.dataEditor', workload: 'exportMarts' },
  // Freshness reads raw.arrivals; feed silence reads POS events through staging.stg_events, a view
  // that is not authorized, so querying it needs its table too
  // (https://cloud.google.com/bigquery/docs/views#view_access_controls).
  { table: 'raw.arrivals', role: 'roles/bigquery.dataViewer', workload: 'evaluateAlerts' },
  { table: 'raw.events', role: 'roles/bigquery.dataViewer', workload: 'evaluateAlerts' },
];

/**
 * Running a query is a project-level permission in BigQuery; it grants no data access by itself.
 * Ingest runs one when a backfill brings events older than the Storage Write API's partition range:
 * it inserts them by DML (adapters/gcp/bigquery-storage-sink.ts).
 */
const JOB_USERS: Workload[] = ['martsRunner', 'exportMarts', 'evaluateAlerts', 'reprocess', 'ingestEvents'];

export class Warehouse extends Construct {
  readonly datasets: Record<DatasetKey, BigqueryDataset>;
  readonly tables = new Map<string, BigqueryTable>();
  readonly views = new Map<string, BigqueryTable>();

  constructor(scope: Construct, id: string, props: { config: StackConfig; identities: Identities; tables?: TableDef[] }) {
    super(scope, id);
    const { config, identities } = props;
    this.datasets = Object.fromEntries(
      (Object.keys(NAMES.datasets) as DatasetKey[]).map((key) => [
        key,
        new BigqueryDataset(this, `dataset-${key}`, {
          project: config.projectId,
          datasetId: NAMES.datasets[key],
          location: config.dataLocation,
          description: DATASET_DESCRIPTIONS[key],
          deleteContentsOnDestroy: !config.deletionProtection,
          labels: { app: 'tillstream', env: config.environment },
          // Access is managed entry by entry (google_bigquery_dataset_access), never as a whole list.
          lifecycle: { ignoreChanges: ['access'] },
        }),
      ]),
    ) as Record<DatasetKey, BigqueryDataset>;

    for (const t of props.tables ?? ALL_TABLES) {
      const [datasetName, tableId] = t.id.split('.') as [string, string];
      const key = (Object.keys(NAMES.datasets) as DatasetKey[]).find((k) => NAMES.datasets[k] === datasetName);
      if (!key) throw new Error(`${t.id}: no dataset "${datasetName}" in the warehouse`);
      this.tables.set(
        t.id,
        new BigqueryTable(this, `table-${datasetName}-${tableId}`, {
          project: config.projectId,
          datasetId: this.datasets[key].datasetId,
          tableId,
          description: t.description,
          schema: tableSchemaJson(t),
          ...(t.partition ? { timePartitioning: { type: t.partition.granularity, field: t.partition.column } } : {}),
          ...(t.clustering?.length ? { clustering: t.clustering } : {}),
          requirePartitionFilter: t.requirePartitionFilter ?? false,
          deletionProtection: config.deletionProtection,
          labels: { app: 'tillstream', env: config.environment, layer: datasetName },
        }),
      );
    }

    // Staging views (the marts' safety net over raw) are created and replaced on deploy.
    for (const f of STAGING) {
      const v = viewFromSql(f.file, readSql(f.file), config.projectId);
      const key = (Object.keys(NAMES.datasets) as DatasetKey[]).find((k) => NAMES.datasets[k] === v.dataset);
      if (!key) throw new Error(`${f.file}: no dataset "${v.dataset}" in the warehouse`);
      this.views.set(
        `${v.dataset}.${v.name}`,
        new BigqueryTable(this, `view-${v.dataset}-${v.name}`, {
          project: config.projectId,
          datasetId: this.datasets[key].datasetId,
          tableId: v.name,
          description: `View from ${f.file}`,
          view: { query: v.query, useLegacySql: false },
          deletionProtection: false,
          labels: { app: 'tillstream', env: config.environment, layer: v.dataset },
          // a view reading an earlier staging view (stg_orders and stg_page_views read stg_events) is created after it
          dependsOn: [...this.tables.values(), ...this.views.values()],
        }),
      );
    }

    for (const g of DATASET_ROLES) {
      new BigqueryDatasetAccessA(this, `access-${g.dataset}-${g.workload}`, {
        project: config.projectId,
        datasetId: this.datasets[g.dataset].datasetId,
        role: g.role,
        userByEmail: identities.accounts[g.workload].email,
      });
    }
    for (const g of TABLE_ROLES) {
      const table = this.tables.get(g.table);
      const key = (Object.keys(NAMES.datasets) as DatasetKey[]).find((k) => NAMES.datasets[k] === g.table.split('.')[0]);
      if (!table || !key) throw new Error(`${g.table}: no such table in the warehouse`);
      new BigqueryTableIamMember(this, `table-access-${g.table}-${g.workload}`, {
        project: config.projectId,
        datasetId: this.datasets[key].datasetId,
        tableId: table.tableId,
        role: g.role,
        member: identities.member(g.workload),
      });
    }
    for (const w of JOB_USERS) {
      new ProjectIamMember(this, `job-user-${w}`, { project: config.projectId, role: 'roles/bigquery.jobUser', member: identities.member(w) });
    }
  }
}
