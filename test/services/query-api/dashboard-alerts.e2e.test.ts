// The dashboard's alerts panel in headless Chromium: the merchant's alerts history as the API answers
// it, newest first, in the merchant's zone and money, each with what its webhook delivery came to; the
// chosen store's alerts only when a store is picked; an empty history said as much.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { AlertPayload } from '../../../pipeline/alerts/state.js';
import { createAlertStore } from '../../../pipeline/alerts/store.js';
import { ARTIFACTS, startDashboard, type Dashboard } from './dashboard-support.js';
import { addKey, seedSeries } from './fixtures.js';

const alert = (p: Partial<AlertPayload> & Pick<AlertPayload, 'id' | 'type' | 'rule_id' | 'kind' | 'at'>): AlertPayload => ({ merchant_id: 'm1', subject: {}, details: {}, ...p });

describe('dashboard alerts panel in headless Chromium', function () {
  this.timeout(120_000);
  let d: Dashboard;
  let page: Page;
  const keys = { m1: '', m2: '' };

  /** The panel as shown: each row's alert id (or none), its cells' texts and data values. */
  const panel = async () =>
    page.evaluate(() =>
      [...document.querySelectorAll('#alerts tbody tr')].map((tr) => ({
        id: (tr as HTMLElement).dataset.key ?? null,
        cls: tr.className,
        texts: [...tr.querySelectorAll('td')].map((td) => td.textContent),
        values: [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).dataset.value ?? null),
      })),
    );
  /** Opens the page in a fresh context (a key remembered by an earlier test would connect on load), then connects with `key`. */
  const show = async (key: string, merchant: string) => {
    // Unset before the first test.
    if (page) await page.close();
    page = await d.newPage({ viewport: { width: 1200, height: 1500 }, locale: 'en-US' });
    await d.connect(page, key);
    await page.waitForFunction(
      (m) => document.getElementById('merchant-name')!.textContent!.includes(`(${m})`) && ['ready', 'error'].includes(document.getElementById('alerts')!.dataset.state ?? ''),
      merchant,
    );
  };

  before(async () => {
    d = await startDashboard({ name: 'dashboard-alerts' });
    await seedSeries(d.series, { days: 2 });
    const store = createAlertStore(d.series);
    // Mart rules: a low-stock alert that started and ended, a sales drop still open.
    await store.appendHistory('m1', 'mart', [
      alert({ id: 'alt_low', type: 'alert.fired', rule_id: 'stock', kind: 'low_stock', subject: { store_id: 's1', sku: 'flour' }, at: '2026-11-20T09:00:00.000Z', details: { closing_quantity: 3, threshold: 5 } }),
      alert({ id: 'alt_drop', type: 'alert.fired', rule_id: 'drop', kind: 'sales_drop', subject: { store_id: 's2' }, at: '2026-11-20T18:00:00.000Z', details: { net_revenue_minor: 4150, baseline_median_minor: 18925, fraction: 0.5, min_baseline_minor: 5000 } }),
      alert({ id: 'alt_low_end', type: 'alert.cleared', fired_id: 'alt_low', rule_id: 'stock', kind: 'low_stock', subject: { store_id: 's1', sku: 'flour' }, at: '2026-11-21T07:00:00.000Z', details: { closing_quantity: 40, threshold: 5 } }),
    ]);
    // Scheduled rules: a silent POS feed and late data.
    await store.appendHistory('m1', 'scheduled', [
      alert({ id: 'alt_quiet', type: 'alert.fired', rule_id: 'quiet', kind: 'feed_silent', subject: { store_id: 's1' }, at: '2026-11-21T10:32:00.000Z', details: { last_pos_received_at: '2026-11-21T09:47:10.000Z', silent_minutes: 30 } }),
      alert({ id: 'alt_late', type: 'alert.fired', rule_id: 'late', kind: 'freshness', at: '2026-11-21T11:47:00.000Z', details: { oldest_pending_hour: '2026-11-21T08:00:00.000Z', lag_minutes: 167, threshold_minutes: 120 } }),
    ]);
    await store.putDelivery('m1', 'alt_low', { status: 'delivered', attempts: 1, delivered_at: '2026-11-20T10:05:03.000Z' });
    await store.putDelivery('m1', 'alt_drop', { status: 'failed', attempts: 14, last_error: 'HTTP 503', failed_at: '2026-11-21T19:05:00.000Z' });
    await store.putDelivery('m1', 'alt_low_end', { status: 'delivered', attempts: 3, delivered_at: '2026-11-21T08:12:00.000Z' });
    await store.putDelivery('m1', 'alt_quiet', { status: 'pending', attempts: 2, last_error: 'connect ECONNREFUSED', first_attempt_at: '2026-11-21T10:32:05.000Z', next_attempt_at: '2026-11-21T10:35:05.000Z' });
    keys.m1 = (await addKey(d.keys, 'read', 'm1')).key;
    keys.m2 = (await addKey(d.keys, 'read', 'm2')).key;
  });
  after(() => d?.close());

  it('lists the alerts the API answers, newest first, in Berlin time and euros, with each webhook delivery', async () => {
    await show(keys.m1, 'm1');
    const { alerts: history } = await d.api<{ alerts: { id: string; at: string; type: string; rule_id: string }[] }>(keys.m1, '/v1/merchants/m1/alerts?limit=100');
    const rows = await panel();
    assert.deepEqual(
      rows.map((r) => ({ id: r.id, at: r.values[0], type: r.values[1], rule: r.values[2] })),
      history.map((a) => ({ id: a.id, at: a.at, type: a.type, rule: a.rule_id })),
    );
    // Europe/Berlin is UTC+1 in November.
    assert.deepEqual(
      rows.map((r) => [r.cls, ...r.texts]),
      [
        ['fired', '2026-11-21 12:47', 'started', 'late (data late)', 'All stores', '167 min behind', 'queued'],
        ['fired', '2026-11-21 11:32', 'started', 'quiet (POS feed silent)', 'Mitte', 'last POS batch 2026-11-21 10:47', 'retrying (2 attempts, next 2026-11-21 11:35)'],
        ['cleared', '2026-11-21 08:00', 'ended', 'stock (low stock)', 'Mitte, flour', '40 on hand (below 5)', 'delivered (3 attempts)'],
        ['fired', '2026-11-20 19:00', 'started', 'drop (sales drop)', 'Soho', '€41.50 against a usual €189.25', 'failed after 14 attempts'],
        ['fired', '2026-11-20 10:00', 'started', 'stock (low stock)', 'Mitte, flour', '3 on hand (below 5)', 'delivered (1 attempt)'],
      ],
    );
    assert.deepEqual(
      rows.map((r) => r.values[5]),
      ['queued', 'pending', 'delivered', 'failed', 'delivered'],
    );
    // The last error is there for whoever hovers over the delivery.
    assert.deepEqual(
      await page.evaluate(() => [...document.querySelectorAll('#alerts tbody tr td:last-child')].map((td) => (td as HTMLElement).title)),
      ['', 'connect ECONNREFUSED', '', 'HTTP 503', ''],
    );
    await mkdir(ARTIFACTS, { recursive: true });
    await page.locator('#alerts').screenshot({ path: join(ARTIFACTS, 'dashboard-alerts.png') });
    assert.deepEqual(d.problems, []);
  });

  it('shows only the chosen store\'s alerts when a store is picked', async () => {
    await show(keys.m1, 'm1');
    await page.selectOption('#store', 's2');
    await page.waitForFunction(() => document.getElementById('alerts-note')!.textContent!.startsWith('(Soho'));
    await page.waitForFunction(() => document.querySelectorAll('#alerts tbody tr').length === 1);
    assert.deepEqual((await panel()).map((r) => r.id), ['alt_drop']);
    assert.deepEqual(d.problems, []);
  });

  it('says so when a merchant has no alerts yet', async () => {
    await show(keys.m2, 'm2');
    assert.deepEqual(await panel(), [{ id: null, cls: 'empty', texts: ['No alerts yet.'], values: [null] }]);
    assert.deepEqual(d.problems, []);
  });
});
