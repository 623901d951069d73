// Looker Studio Linking API URLs: a link that copies the template report and binds each of its data
// sources (by alias) to a BigQuery table or view, so an analyst gets the report over this
// deployment's reporting views in one click. Parameters: c.reportId (template), c.mode, r.reportName,
// and per data source ds.<alias>.connector=bigQuery, type=TABLE, projectId, datasetId, tableId,
// optional billingProjectId and datasourceName.
import { REPORTING_VIEWS } from './reporting-views.js';

export const LINKING_API_BASE = 'https://lookerstudio.google.com/reporting/create';

export interface BigQueryTableSource {
  /** Alias of the data source in the template report. */
  alias: string;
  projectId: string;
  datasetId: string;
  tableId: string;
  /** Project billed for the queries, when not the data's project. */
  billingProjectId?: string;
  /** Name the copied data source gets. */
  datasourceName?: string;
}

export interface LinkingUrlOptions {
  /** Id of the template report the link copies. */
  reportId: string;
  reportName?: string;
  /** `view` opens the copy read-only until the user chooses to edit and save it. */
  mode?: 'view' | 'edit';
  dataSources: BigQueryTableSource[];
}

const ALIAS = /^[A-Za-z0-9_]+$/;

/** Builds the Linking API URL; parameters appear in a fixed order so the link is stable. */
export function linkingUrl(opts: LinkingUrlOptions): string {
  if (!opts.reportId) throw new Error('linking URL: reportId is required');
  const params: [string, string][] = [['c.reportId', opts.reportId]];
  if (opts.mode) params.push(['c.mode', opts.mode]);
  if (opts.reportName) params.push(['r.reportName', opts.reportName]);
  const seen = new Set<string>();
  for (const ds of opts.dataSources) {
    if (!ALIAS.test(ds.alias)) throw new Error(`linking URL: data source alias "${ds.alias}" must be letters, digits or underscores`);
    if (seen.has(ds.alias)) throw new Error(`linking URL: data source alias "${ds.alias}" appears twice`);
    seen.add(ds.alias);
    const p = `ds.${ds.alias}.`;
    params.push([`${p}connector`, 'bigQuery'], [`${p}type`, 'TABLE'], [`${p}projectId`, ds.projectId], [`${p}datasetId`, ds.datasetId], [`${p}tableId`, ds.tableId]);
    if (ds.billingProjectId) params.push([`${p}billingProjectId`, ds.billingProjectId]);
    if (ds.datasourceName) params.push([`${p}datasourceName`, ds.datasourceName]);
  }
  return `${LINKING_API_BASE}?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
}

/** The Tillstream report: the template bound to every reporting view of one deployment. */
export function tillstreamReportUrl(opts: { reportId: string; projectId: string; environment: string; datasetId?: string }): string {
  return linkingUrl({
    reportId: opts.reportId,
    reportName: `Tillstream (${opts.environment})`,
    mode: 'view',
    dataSources: REPORTING_VIEWS.map((v) => ({
      alias: v.stem,
      projectId: opts.projectId,
      datasetId: opts.datasetId ?? 'reporting',
      tableId: v.stem,
      datasourceName: `Tillstream ${opts.environment}: ${v.title}`,
    })),
  });
}
