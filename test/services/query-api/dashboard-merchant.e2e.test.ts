// The merchant's view in headless Chromium: range presets with the previous-period comparison, top
// products and stores, money in the merchant's currency and hours in its zone — every number read off the
// page and compared with what the public API answers for the same range. Two merchants: Pizza One
// (Europe/Berlin, EUR, two minor digits) and a Tokyo shop (Asia/Tokyo, JPY, no minor units). Screenshots
// at 1440×900 and 390×844 go to test-artifacts/.
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { SeriesMutation } from '../../../pipeline/ports.js';
import { documentKey, encodeRowKey, hourBucket } from '../../../pipeline/series/row-key.js';
import { ARTIFACTS, startDashboard, type Dashboard } from './dashboard-support.js';
import { FINALIZED_THROUGH, addKey, key, salesCells, seedSeries } from './fixtures.js';

const HOUR = 3_600_000;
const SKUS = ['MATCHA', 'RAMEN', 'GYOZA', 'MOCHI', 'SAKE', 'ONIGIRI', 'TEA'];

/** A Tokyo shop in yen: hourly sales (merchant and two stores) and products for three days before NOW. */
async function seedTokyo(series: LmdbSeriesStore): Promise<void> {
  const muts: SeriesMutation[] = [];
  const end = Date.parse('2026-11-21T12:00:00Z');
  for (let t = end - 9 * 24 * HOUR, i = 0; t < end; t += HOUR, i++) {
    const b = hourBucket(new Date(t));
    const orders = (i * 7) % 11;
    if (orders === 0) continue;
    // Yen amounts: salesCells' values read as whole yen.
    muts.push({ kind: 'set', key: encodeRowKey(key('mjp', 'sales', {}, 'h'), b), family: 'm', cells: salesCells(orders) });
    muts.push({ kind: 'set', key: encodeRowKey(key('mjp', 'sales', { store: i % 3 === 0 ? 't2' : 't1' }, 'h'), b), family: 'm', cells: salesCells(orders) });
    SKUS.forEach((sku, j) => {
      const units = (i + j * 3) % 5;
      if (units > 0) muts.push({ kind: 'set', key: encodeRowKey(key('mjp', 'products', { sku }, 'h'), b), family: 'm', cells: { units, orders: units, gross_revenue_minor: units * (300 + 70 * j), net_revenue_minor: units * (280 + 70 * j) } });
    });
  }
  for (let i = 0; i < muts.length; i += 500) await series.mutate(muts.slice(i, i + 500));
  await series.putDocument(documentKey('mjp', 'merchant'), { id: 'mjp', name: 'Tokyo Tea', time_zone: 'Asia/Tokyo', currency: 'JPY' });
  await series.putDocument(documentKey('mjp', 'stores'), {
    stores: [
      { id: 't1', name: 'Shibuya', city: 'Tokyo', region: '13', time_zone: 'Asia/Tokyo' },
      { id: 't2', name: 'Umeda', city: 'Osaka', region: '27', time_zone: 'Asia/Tokyo' },
    ],
  });
  await series.putDocument(documentKey('mjp', 'freshness'), { newest_event_at: '2026-11-21T11:58:00.000Z', finalized_through: FINALIZED_THROUGH });
}

interface Shown {
  totals: Record<string, { value: string; text: string; change: string }>;
  products: { key: string; units: number; net: number; texts: string[] }[];
  stores: { key: string; orders: number; net: number; texts: string[] }[];
  firstRow: string[];
  mix: (string | null)[][];
  status: string;
  scrollWidth: number;
}

describe('dashboard: ranges, comparison, breakdowns, currency and zone (Chromium)', function () {
  this.timeout(120_000);
  let d: Dashboard;

  before(async () => {
    d = await startDashboard({ name: 'dashboard-merchant' });
    await seedSeries(d.series, { days: 40 });
    await seedTokyo(d.series);
    await mkdir(ARTIFACTS, { recursive: true });
  });
  after(() => d?.close());

  // Plain JavaScript text: functions compiled for the test runner would carry helpers the page lacks.
  const SHOWN = `(() => {
    const tile = (id) => ({ value: document.getElementById('total-' + id).dataset.value, text: document.getElementById('total-' + id).textContent, change: document.getElementById('change-' + id).dataset.value });
    const top = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) => {
      const tds = [...tr.querySelectorAll('td')];
      return { key: tr.dataset.key, a: Number(tds[2].dataset.value), net: Number(tds[3].dataset.value), texts: tds.map((td) => td.textContent) };
    });
    return {
      totals: Object.fromEntries(['revenue', 'orders', 'aov', 'refunds', 'page-views'].map((id) => [id, tile(id)])),
      products: top('top-products').map(({ a, ...r }) => ({ ...r, units: a })),
      stores: top('top-stores').map(({ a, ...r }) => ({ ...r, orders: a })),
      firstRow: [...document.querySelectorAll('#data tbody tr:first-child td')].map((td) => td.textContent),
      mix: [...document.querySelectorAll('#mix tbody tr')].map((tr) => [tr.dataset.key, ...[...tr.querySelectorAll('td')].slice(1).map((td) => td.dataset.value ?? null)]),
      status: document.getElementById('status').textContent,
      scrollWidth: document.documentElement.scrollWidth,
    };
  })()`;
  const shown = (page: Page): Promise<Shown> => page.evaluate(SHOWN) as Promise<Shown>;

  const cases = [
    { merchant: 'm1', currency: 'EUR', zone: 'Europe/Berlin', digits: 2, range: 'last_7_days', stores: ['s1', 's2'] },
    { merchant: 'mjp', currency: 'JPY', zone: 'Asia/Tokyo', digits: 0, range: 'today', stores: ['t1', 't2'] },
  ] as const;

  for (const c of cases) {
    it(`${c.merchant} (${c.zone}, ${c.currency}): ${c.range} compared with the previous period, top products and stores, as the API answers`, async () => {
      const readKey = (await addKey(d.keys, 'read', c.merchant)).key;
      const page = await d.newPage({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
      await d.connect(page, readKey);
      await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('Showing'));
      await page.selectOption('#range', c.range);
      await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('Showing') && document.querySelectorAll('#top-products tbody tr').length > 0);
      await page.waitForFunction((r) => (document.getElementById('range') as HTMLSelectElement).value === r && !document.getElementById('status')!.textContent!.startsWith('Loading'), c.range);
      const view = await shown(page);

      type Metrics = { granularity: string; from: string; to: string; points: { start: string }[]; totals: Record<string, number | null>; comparison: { change_pct: Record<string, number | null> } };
      const q = `range=${c.range}&compare=previous_period`;
      const MIX = ['online_orders', 'pos_orders', 'pickup_orders', 'delivery_orders', 'dine_in_orders', 'cancellations'];
      const sales = await d.api<Metrics & { comparison: { totals: Record<string, number | null> } }>(
        readKey,
        `/v1/merchants/${c.merchant}/metrics?series=sales&metrics=net_revenue_minor,orders,refunds,refund_minor,average_order_value_minor,${MIX.join(',')}&${q}`,
      );
      const traffic = await d.api<Metrics>(readKey, `/v1/merchants/${c.merchant}/metrics?series=traffic&metrics=page_views&${q}`);
      const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: c.currency });
      const money = (minor: number) => fmt.format(minor / 10 ** c.digits);
      const tile = (value: number | null, change: number | null) => ({ value: value === null ? '' : String(value), change: change === null ? '' : String(change) });
      const strip = (t: Shown['totals']) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, { value: v.value, change: v.change }]));
      assert.deepEqual(strip(view.totals), {
        revenue: tile(sales.totals.net_revenue_minor!, sales.comparison.change_pct.net_revenue_minor!),
        orders: tile(sales.totals.orders!, sales.comparison.change_pct.orders!),
        aov: tile(sales.totals.average_order_value_minor === null ? null : Math.round(sales.totals.average_order_value_minor!), sales.comparison.change_pct.average_order_value_minor!),
        refunds: tile(sales.totals.refund_minor!, sales.comparison.change_pct.refund_minor!),
        'page-views': tile(traffic.totals.page_views!, traffic.comparison.change_pct.page_views!),
      });
      assert.ok(sales.totals.net_revenue_minor! > 0, 'the range has sales');
      // The order mix: this period, the previous one and the change, as the API computed them.
      const cell = (v: number | null | undefined) => (v === null || v === undefined ? null : String(v));
      assert.deepEqual(view.mix, MIX.map((m) => [m, cell(sales.totals[m]), cell(sales.comparison.totals[m]), cell(sales.comparison.change_pct[m])]));
      assert.ok(view.mix.some((r) => Number(r[1]) > 0));
      assert.equal(view.totals.revenue!.text, money(sales.totals.net_revenue_minor!));
      if (c.digits === 0) assert.match(view.totals.revenue!.text, /^¥[\d,]+$/);
      else assert.match(view.totals.revenue!.text, /^€[\d,]+\.\d\d$/);

      // The newest bucket, its start in the merchant's zone.
      const newest = sales.points.at(-1)!.start;
      const expectedStart =
        sales.granularity === 'hour'
          ? new Intl.DateTimeFormat('sv-SE', { timeZone: c.zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(newest))
          : newest;
      assert.equal(view.firstRow[0], expectedStart);

      type Top = { items: { key: string; values: Record<string, number> }[]; other: { count: number; values: Record<string, number> } };
      const range = `range=${c.range}`;
      const products = await d.api<Top>(readKey, `/v1/merchants/${c.merchant}/top?series=products&by=net_revenue_minor&limit=5&${range}`);
      const expectedProducts = products.items.map((i) => ({ key: i.key, units: i.values.units!, net: i.values.net_revenue_minor! }));
      if (products.other.count > 0) expectedProducts.push({ key: '', units: products.other.values.units!, net: products.other.values.net_revenue_minor! });
      assert.deepEqual(view.products.map(({ key, units, net }) => ({ key, units, net })), expectedProducts);
      assert.deepEqual(view.products.map((p) => p.texts[3]), expectedProducts.map((p) => money(p.net)));
      const stores = await d.api<Top>(readKey, `/v1/merchants/${c.merchant}/top?series=sales&by=net_revenue_minor&limit=5&${range}`);
      assert.deepEqual(view.stores.map(({ key, orders, net }) => ({ key, orders, net })), stores.items.map((i) => ({ key: i.key, orders: i.values.orders!, net: i.values.net_revenue_minor! })));
      assert.ok(view.stores.every((s) => (c.stores as readonly string[]).includes(s.key)));

      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${c.merchant}-1440x900.png`), fullPage: false });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300); // the charts' resize is debounced
      const narrow = await shown(page);
      assert.ok(narrow.scrollWidth <= 390, `no horizontal scrolling at 390 px (scroll width ${narrow.scrollWidth})`);
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-${c.merchant}-390x844.png`), fullPage: false });
      for (const size of ['1440x900', '390x844']) assert.ok((await stat(join(ARTIFACTS, `dashboard-${c.merchant}-${size}.png`))).size > 10_000);
      if (c.merchant === 'mjp') {
        // A custom range of local days: two days in hours (Tokyo's), the same numbers as the API's.
        await page.setViewportSize({ width: 1440, height: 900 });
        await page.selectOption('#range', 'custom');
        await page.fill('#from', '2026-11-19');
        await page.fill('#to', '2026-11-20');
        await page.dispatchEvent('#to', 'change');
        await page.waitForFunction(() => !document.getElementById('status')!.textContent!.startsWith('Loading') && document.getElementById('period')!.textContent!.startsWith('2026-11-19 00:00 – 2026-11-21 00:00'));
        const custom = await shown(page);
        const api2 = await d.api<Metrics>(readKey, `/v1/merchants/mjp/metrics?series=sales&metrics=net_revenue_minor&granularity=hour&from=2026-11-19&to=2026-11-21&compare=previous_period`);
        assert.deepEqual([api2.from, api2.to, api2.points.length], ['2026-11-18T15:00:00Z', '2026-11-20T15:00:00Z', 48]);
        assert.deepEqual([custom.totals.revenue!.value, custom.totals.revenue!.change], [String(api2.totals.net_revenue_minor), String(api2.comparison.change_pct.net_revenue_minor)]);
        assert.equal(custom.firstRow[0], '2026-11-20 23:00');
      }
      await page.close();
      assert.deepEqual(d.problems, []);
    });
  }
});
