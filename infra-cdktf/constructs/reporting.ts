// Reporting: the views analysts and Looker Studio read (sql/reporting/, listed by the manifest), each
// authorized on the datasets it reads so analysts need no access to marts or raw; the analysts'
// group reads the reporting dataset only; the stack outputs the Looker Studio link to the report.
import { Construct } from 'constructs';
import { TerraformOutput } from 'cdktf';
import { BigqueryDatasetAccessA } from '@cdktf/provider-google/lib/bigquery-dataset-access/index.js';
import { BigqueryTable } from '@cdktf/provider-google/lib/bigquery-table/index.js';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member/index.js';
import { REPORTING, readSql, type SqlFile } from '../../pipeline/marts/manifest.js';
import { tillstreamReportUrl } from '../../looker/linking-url.js';
import { NAMES, type StackConfig } from '../config.js';
import { viewFromSql } from '../sql-views.js';
import type { DatasetKey, Warehouse } from './warehouse.js';

export class Reporting extends Construct {
  readonly views = new Map<string, BigqueryTable>();
  readonly reportUrl: string;

  constructor(scope: Construct, id: string, props: { config: StackConfig; warehouse: Warehouse; files?: SqlFile[] }) {
    super(scope, id);
    const { config, warehouse } = props;
    const project = config.projectId;
    const datasetKey = (name: string): DatasetKey => {
      const key = (Object.keys(NAMES.datasets) as DatasetKey[]).find((k) => NAMES.datasets[k] === name);
      if (!key) throw new Error(`no dataset "${name}" in the warehouse`);
      return key;
    };

    for (const f of props.files ?? REPORTING) {
      const v = viewFromSql(f.file, readSql(f.file), project);
      if (v.dataset !== NAMES.datasets.reporting) throw new Error(`${f.file}: a reporting view must live in the reporting dataset, not ${v.dataset}`);
      const view = new BigqueryTable(this, `view-${v.name}`, {
        project,
        datasetId: warehouse.datasets.reporting.datasetId,
        tableId: v.name,
        description: `Reporting view from ${f.file}`,
        view: { query: v.query, useLegacySql: false },
        deletionProtection: false,
        labels: { app: 'tillstream', env: config.environment, layer: 'reporting' },
        dependsOn: [...warehouse.tables.values(), ...warehouse.views.values()],
      });
      this.views.set(v.name, view);
      // Authorized view: the view, not the reader, holds access to the data it selects.
      for (const ds of v.reads.filter((d) => d !== NAMES.datasets.reporting)) {
        new BigqueryDatasetAccessA(this, `authorize-${v.name}-${ds}`, {
          project,
          datasetId: warehouse.datasets[datasetKey(ds)].datasetId,
          view: { projectId: project, datasetId: warehouse.datasets.reporting.datasetId, tableId: view.tableId },
        });
      }
    }

    new BigqueryDatasetAccessA(this, 'analysts-reporting', { project, datasetId: warehouse.datasets.reporting.datasetId, role: 'READER', groupByEmail: config.analystsGroup });
    new ProjectIamMember(this, 'analysts-jobs', { project, role: 'roles/bigquery.jobUser', member: `group:${config.analystsGroup}` });

    this.reportUrl = tillstreamReportUrl({ reportId: config.lookerTemplateReportId, projectId: project, environment: config.environment, datasetId: NAMES.datasets.reporting });
    new TerraformOutput(this, 'looker-report-url', { value: this.reportUrl, description: 'Looker Studio report over the reporting views (Linking API)' }).overrideLogicalId(
      'looker-report-url',
    );
  }
}
