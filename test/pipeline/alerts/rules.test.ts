import assert from 'node:assert/strict';
import { AlertRule, AlertSettings } from '../../../pipeline/alerts/rules.js';
import { describeIssues } from '../../../pipeline/errors.js';

describe('alert rule contracts', () => {
  it('fills defaults for a low_stock rule: every store, every sku, the dimensions threshold', () => {
    assert.deepEqual(AlertRule.parse({ id: 'stock', kind: 'low_stock' }), { id: 'stock', kind: 'low_stock', enabled: true, store_id: '*', sku: '*' });
  });

  it('rejects unknown fields, naming them', () => {
    const r = AlertRule.safeParse({ id: 'drop', kind: 'sales_drop', fraction: 0.5, min_baseline_minor: 1000, fractoin: 0.4 });
    assert.equal(r.success, false);
    assert.match(describeIssues(r.error!.issues), /Unrecognized key: "fractoin"/);
  });

  it('rejects an unknown kind and out-of-range values', () => {
    assert.equal(AlertRule.safeParse({ id: 'x', kind: 'low_sales' }).success, false);
    const r = AlertRule.safeParse({ id: 'drop', kind: 'sales_drop', fraction: 1.5, min_baseline_minor: -1 });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues.map((i) => i.path.join('.')).sort(), ['fraction', 'min_baseline_minor']);
    assert.equal(AlertRule.safeParse({ id: 'quiet', kind: 'feed_silent', silent_minutes: 5 }).success, false);
  });

  it('rejects two rules with one id and a webhook that is not http(s)', () => {
    const rule = { id: 'a', kind: 'freshness', lag_minutes: 90 };
    assert.equal(AlertSettings.safeParse({ rules: [rule, rule] }).success, false);
    assert.equal(AlertSettings.safeParse({ webhook_url: 'ftp://example.com/hook', rules: [] }).success, false);
    assert.equal(AlertSettings.safeParse({ webhook_url: 'https://example.com/hook', rules: [rule] }).success, true);
  });
});
