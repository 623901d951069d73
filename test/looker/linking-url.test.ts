// The Looker Studio Linking API URL builder.
import assert from 'node:assert/strict';
import { LINKING_API_BASE, linkingUrl, tillstreamReportUrl } from '../../looker/linking-url.js';
import { REPORTING_VIEWS } from '../../looker/reporting-views.js';

describe('looker linkingUrl', () => {
  it('builds a Linking API URL binding each data source alias to a BigQuery table', () => {
    const url = linkingUrl({
      reportId: 'abc-123',
      reportName: 'Sales & traffic',
      mode: 'view',
      dataSources: [
        { alias: 'ds0', projectId: 'p-1', datasetId: 'reporting', tableId: 'rpt_daily_sales' },
        { alias: 'ds1', projectId: 'p-1', datasetId: 'reporting', tableId: 'rpt_daily_traffic', billingProjectId: 'bill-1', datasourceName: 'Daily traffic' },
      ],
    });
    assert.equal(
      url,
      'https://lookerstudio.google.com/reporting/create?c.reportId=abc-123&c.mode=view&r.reportName=Sales%20%26%20traffic' +
        '&ds.ds0.connector=bigQuery&ds.ds0.type=TABLE&ds.ds0.projectId=p-1&ds.ds0.datasetId=reporting&ds.ds0.tableId=rpt_daily_sales' +
        '&ds.ds1.connector=bigQuery&ds.ds1.type=TABLE&ds.ds1.projectId=p-1&ds.ds1.datasetId=reporting&ds.ds1.tableId=rpt_daily_traffic' +
        '&ds.ds1.billingProjectId=bill-1&ds.ds1.datasourceName=Daily%20traffic',
    );
  });

  it('refuses a missing report id, a malformed alias and a repeated alias', () => {
    assert.throws(() => linkingUrl({ reportId: '', dataSources: [] }), { message: 'linking URL: reportId is required' });
    assert.throws(() => linkingUrl({ reportId: 'r', dataSources: [{ alias: 'ds.0', projectId: 'p', datasetId: 'd', tableId: 't' }] }), {
      message: 'linking URL: data source alias "ds.0" must be letters, digits or underscores',
    });
    const ds = { alias: 'a', projectId: 'p', datasetId: 'd', tableId: 't' };
    assert.throws(() => linkingUrl({ reportId: 'r', dataSources: [ds, ds] }), { message: 'linking URL: data source alias "a" appears twice' });
  });

  it('points the Tillstream report at every reporting view of the deployment', () => {
    const url = new URL(tillstreamReportUrl({ reportId: 'tpl', projectId: 'tillstream-prod', environment: 'prod' }));
    assert.equal(`${url.origin}${url.pathname}`, LINKING_API_BASE);
    const p = url.searchParams;
    assert.deepEqual([p.get('c.reportId'), p.get('c.mode'), p.get('r.reportName')], ['tpl', 'view', 'Tillstream (prod)']);
    for (const v of REPORTING_VIEWS) {
      assert.deepEqual(
        ['connector', 'type', 'projectId', 'datasetId', 'tableId', 'datasourceName'].map((k) => p.get(`ds.${v.stem}.${k}`)),
        ['bigQuery', 'TABLE', 'tillstream-prod', 'reporting', v.stem, `Tillstream prod: ${v.title}`],
      );
    }
  });
});
