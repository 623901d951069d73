// The dashboard page in headless Chromium against a real server.
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, startDashboard, type Dashboard } from './dashboard-support.js';
import { addKey, seedSeries } from './fixtures.js';

interface Point {
  start: string;
  values: Record<string, number | null>;
  provisional: boolean;
}

describe('dashboard in headless Chromium', () => {
  let d: Dashboard;
  let page: Page;
  let readKey: string;

  const api = (path: string) => d.api<{ points: Point[] }>(readKey, path);
  /** What the page shows: its data table (newest first) and its totals. */
  const shown = async () =>
    page.evaluate(() => ({
      rows: [...document.querySelectorAll('#data tbody tr')].map((tr) => ({
        start: (tr as HTMLElement).dataset.start,
        state: tr.className,
        values: [...tr.querySelectorAll('td[data-value]')].map((td) => Number((td as HTMLElement).dataset.value)),
        texts: [...tr.querySelectorAll('td')].map((td) => td.textContent),
      })),
      totals: ['total-revenue', 'total-orders', 'total-page-views'].map((id) => Number(document.getElementById(id)!.dataset.value)),
      totalTexts: ['total-revenue', 'total-orders', 'total-page-views'].map((id) => document.getElementById(id)!.textContent),
      charts: ['chart-revenue', 'chart-orders', 'chart-traffic'].map((id) => {
        const el = document.getElementById(id)!;
        const canvas = el.querySelector('canvas');
        let inked = 0;
        if (canvas) {
          const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) inked++;
        }
        return { points: Number(el.dataset.points), provisional: Number(el.dataset.provisional), inked };
      }),
      freshness: [document.getElementById('newest-event')!.textContent, document.getElementById('finalized-through')!.textContent, document.getElementById('lag')!.textContent],
      status: document.getElementById('status')!.textContent,
    }));
  const expectedRows = (sales: Point[], traffic: Point[]) => {
    const pv = new Map(traffic.map((p) => [p.start, p.values.page_views ?? 0]));
    return sales
      .map((p) => ({ start: p.start, state: p.provisional ? 'provisional' : 'final', values: [p.values.net_revenue_minor, p.values.orders, pv.get(p.start) ?? 0] }))
      .reverse();
  };
  const sum = (points: Point[], metric: string): number => points.reduce((s, p) => s + (p.values[metric] ?? 0), 0);

  before(async () => {
    d = await startDashboard({ name: 'dashboard' });
    await seedSeries(d.series, { days: 40 });
    readKey = (await addKey(d.keys, 'read', 'm1')).key;
    page = await d.newPage({ viewport: { width: 1200, height: 1500 } });
  });
  after(() => d?.close());

  it('loads, takes a key and draws the last 48 hours with the numbers the API answers', async () => {
    await d.connect(page, readKey);
    assert.equal(await page.title(), 'Tillstream dashboard');
    await page.waitForFunction(() => document.querySelectorAll('#data tbody tr').length === 48 && document.querySelectorAll('.chart canvas').length === 3);
    const view = await shown();
    // Anchored on newest_event_at (11:58): the 48 hours ending with that event's hour.
    const q = 'granularity=hour&from=2026-11-19T12:00:00Z&to=2026-11-21T12:00:00Z';
    const sales = (await api(`/v1/merchants/m1/metrics?series=sales&metrics=net_revenue_minor,orders&${q}`)).points;
    const traffic = (await api(`/v1/merchants/m1/metrics?series=traffic&metrics=page_views&${q}`)).points;
    assert.deepEqual(view.rows.map(({ start, state, values }) => ({ start, state, values })), expectedRows(sales, traffic));
    assert.deepEqual(view.totals, [sum(sales, 'net_revenue_minor'), sum(sales, 'orders'), sum(traffic, 'page_views')]);
    // m1 sells in EUR: amounts in its currency, with its two minor digits.
    assert.deepEqual(view.totalTexts, [
      new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(sum(sales, 'net_revenue_minor') / 100),
      sum(sales, 'orders').toLocaleString('en-US'),
      sum(traffic, 'page_views').toLocaleString('en-US'),
    ]);
    // Hours shown in the merchant's zone (Europe/Berlin, UTC+1 in November).
    assert.deepEqual(view.rows.slice(0, 3).map((r) => r.texts), [
      ['2026-11-21 12:00', '€90.00', '9', '20', 'provisional'],
      ['2026-11-21 11:00', '€90.00', '9', '10', 'provisional'],
      ['2026-11-21 10:00', '€60.00', '5', '50', 'final'],
    ]);
    assert.deepEqual(view.freshness, ['2026-11-21T11:58:00.000Z', '2026-11-21T10:00:00.000Z', '123 min']);
    for (const c of view.charts) {
      assert.equal(c.points, 48);
      assert.equal(c.provisional, 2);
      assert.ok(c.inked > 500, `chart drew ${c.inked} pixels`);
    }
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-hourly.png'), fullPage: true });
    assert.ok((await stat(join(ARTIFACTS, 'dashboard-hourly.png'))).size > 10_000);
  });

  it('shows one store when picked, with its own series', async () => {
    await page.selectOption('#store', 's1');
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('store s1'));
    const view = await shown();
    const q = 'granularity=hour&from=2026-11-19T12:00:00Z&to=2026-11-21T12:00:00Z';
    const sales = (await api(`/v1/merchants/m1/metrics?series=sales&metrics=net_revenue_minor,orders&store=s1&${q}`)).points;
    const traffic = (await api(`/v1/merchants/m1/metrics?series=traffic&metrics=page_views&${q}`)).points;
    assert.deepEqual(view.rows.map(({ start, state, values }) => ({ start, state, values })), expectedRows(sales, traffic));
    assert.deepEqual(view.totals, [sum(sales, 'net_revenue_minor'), sum(sales, 'orders'), sum(traffic, 'page_views')]);
    assert.notEqual(view.totals[1], 0);
  });

  it("draws local days of the merchant's zone", async () => {
    await page.selectOption('#store', '');
    await page.check('input[name="grain"][value="day"]');
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.includes('days (Europe/Berlin)'));
    const view = await shown();
    const q = 'granularity=day&from=2026-10-22&to=2026-11-22';
    const sales = (await api(`/v1/merchants/m1/metrics?series=sales&metrics=net_revenue_minor,orders&${q}`)).points;
    const traffic = (await api(`/v1/merchants/m1/metrics?series=traffic&metrics=page_views&${q}`)).points;
    assert.equal(sales.length, 31);
    assert.deepEqual(view.rows.map(({ start, state, values }) => ({ start, state, values })), expectedRows(sales, traffic));
    assert.deepEqual(view.rows.slice(0, 3).map((r) => r.texts), [
      ['2026-11-21', '€240.00', '20', '400', 'provisional'],
      ['2026-11-20', '€600.00', '50', '1,000', 'final'],
      ['2026-11-19', '€480.00', '40', '800', 'final'],
    ]);
    assert.deepEqual(view.charts.map((c) => [c.points, c.provisional]), [[31, 1], [31, 1], [31, 1]]);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-daily.png'), fullPage: true });
  });

  it('reports a bad key without drawing anything, and no page errors happened', async () => {
    // its own page, without the error watch: the 401 it is shown is what this test expects
    const fresh = await d.browser.newPage();
    await d.connect(fresh, 'tsr_' + 'x'.repeat(43));
    await fresh.waitForFunction(() => document.getElementById('status')!.classList.contains('error'));
    assert.equal(await fresh.textContent('#status'), 'Could not load: 401: the key is not valid');
    assert.equal(await fresh.isHidden('#view'), true);
    await fresh.close();
    assert.deepEqual(d.problems, []);
  });
});
