// The dashboard's web traffic, low-stock and promotion panels in headless Chromium: every number read off
// the page and compared with what the public API answers for the same range (GET /top?series=pages|
// referrers|devices|countries, /low-stock, /promotions). Two merchants: Pizza One (Europe/Berlin, EUR, two
// minor digits) and a Tokyo shop (Asia/Tokyo, JPY, no minor units); series rows in the shape the exporter
// writes. Screenshots at 1440×900 and 390×844 go to test-artifacts/.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { SeriesMutation } from '../../../pipeline/ports.js';
import { dayBucket, documentKey, encodeRowKey, hourBucket } from '../../../pipeline/series/row-key.js';
import { ARTIFACTS, startDashboard, type Dashboard } from './dashboard-support.js';
import { FINALIZED_THROUGH, addKey, key, seedSeries } from './fixtures.js';

const HOUR = 3_600_000;
const END = Date.parse('2026-11-21T12:00:00Z');
const BREAKDOWNS = {
  pages: ['page', ['/', '/menu', '/menu/pizza?size=large', '/cart', '/checkout', '/about', '/blog/autumn', '/contact', '/jobs', '/impressum']],
  referrers: ['referrer', ['(direct)', '(internal)', 'search.example', 'social.example', 'news.example']],
  devices: ['device', ['mobile', 'desktop', 'tablet', 'other']],
  countries: ['country', ['JP', 'DE', 'US', '(unknown)']],
} as const;

/** Web breakdowns (hourly and daily), inventory with low runs and promotion days, for one merchant. */
async function seedPanels(series: LmdbSeriesStore, merchant: string, stores: [string, string], extraLow = 0): Promise<void> {
  const muts: SeriesMutation[] = [];
  const set = (k: string, cells: Record<string, number | null>) => muts.push({ kind: 'set', key: k, family: 'm', cells });
  for (const [name, [dimension, values]] of Object.entries(BREAKDOWNS)) {
    values.forEach((value, j) => {
      for (let t = END - 72 * HOUR, i = 0; t < END; t += HOUR, i++) {
        const views = ((i * (j + 3)) % 9) * (values.length - j);
        if (views > 0) set(encodeRowKey(key(merchant, name as 'pages', { [dimension]: value }, 'h'), hourBucket(new Date(t))), { page_views: views, visitors: Math.ceil(views / 3), sessions: Math.ceil(views / 2) });
      }
      for (const [d, date] of ['2026-11-19', '2026-11-20', '2026-11-21'].entries()) {
        const views = (values.length - j) * 40 + d * 7 + j;
        set(encodeRowKey(key(merchant, name as 'pages', { [dimension]: value }, 'd'), dayBucket(date)), { page_views: views, visitors: Math.ceil(views / 4), sessions: Math.ceil(views / 3) });
      }
    });
  }
  // Closing stock every hour of two days: one sku low since 2026-11-20 08:00Z, one low throughout, one restocked.
  for (let t = END - 48 * HOUR; t < END; t += HOUR) {
    const b = hourBucket(new Date(t));
    const matcha = t >= Date.parse('2026-11-20T08:00:00Z') ? 6 : 20;
    set(encodeRowKey(key(merchant, 'inventory', { sku: 'MATCHA', store: stores[0] }, 'h'), b), { closing_quantity: matcha, low_stock: matcha < 10 ? 1 : 0 });
    set(encodeRowKey(key(merchant, 'inventory', { sku: 'RICE', store: stores[1] }, 'h'), b), { closing_quantity: 2, low_stock: 1 });
    // More low items than the page lists: the rest is a CSV download away.
    for (let n = 0; n < extraLow; n++) set(encodeRowKey(key(merchant, 'inventory', { sku: `SPICE-${String(n).padStart(2, '0')}`, store: stores[1] }, 'h'), b), { closing_quantity: 8, low_stock: 1 });
    const tea = t >= Date.parse('2026-11-20T20:00:00Z') ? 40 : 3;
    set(encodeRowKey(key(merchant, 'inventory', { sku: 'TEA', store: stores[0] }, 'h'), b), { closing_quantity: tea, low_stock: tea < 10 ? 1 : 0 });
  }
  // A promotion with a baseline on two days, one without a baseline (its first weeks).
  const promo = (id: string, store: string, date: string, net: number, baseline: number | null) =>
    set(encodeRowKey(key(merchant, 'promotions', { promo: id, store }, 'd'), dayBucket(date)), {
      promo_orders: Math.round(net / 1000),
      promo_net_revenue_minor: net,
      baseline_weeks: baseline === null ? 0 : 4,
      baseline_orders: baseline === null ? null : baseline / 1000,
      baseline_net_revenue_minor: baseline,
      net_revenue_uplift_minor: baseline === null ? null : net - baseline,
      net_revenue_lift_ratio: baseline ? net / baseline : null,
    });
  promo('p-autumn', stores[0], '2026-11-20', 52_300, 40_250.5);
  promo('p-autumn', stores[0], '2026-11-21', 61_000, 45_000);
  promo('p-autumn', stores[1], '2026-11-21', 12_000, 15_500.25);
  promo('p-launch', stores[1], '2026-11-21', 9_900, null);
  for (let i = 0; i < muts.length; i += 500) await series.mutate(muts.slice(i, i + 500));
}

interface Shown {
  web: Record<string, { key: string; values: (string | null)[]; texts: string[] }[]>;
  lowStock: { key: string; values: (string | null)[]; texts: string[] }[];
  promotions: { key: string; values: (string | null)[]; texts: string[] }[];
  scrollWidth: number;
}

describe('dashboard: web traffic, low stock and promotions (Chromium)', function () {
  this.timeout(120_000);
  let d: Dashboard;

  before(async () => {
    d = await startDashboard({ name: 'dashboard-panels' });
    const series = d.series;
    await seedSeries(series, { days: 3 });
    await seedPanels(series, 'm1', ['s1', 's2']);
    await seedPanels(series, 'mjp', ['t1', 't2'], 16);
    await series.putDocument(documentKey('mjp', 'merchant'), { id: 'mjp', name: 'Tokyo Tea', time_zone: 'Asia/Tokyo', currency: 'JPY' });
    await series.putDocument(documentKey('mjp', 'stores'), {
      stores: [
        { id: 't1', name: 'Shibuya', city: 'Tokyo', region: '13', time_zone: 'Asia/Tokyo' },
        { id: 't2', name: 'Umeda', city: 'Osaka', region: '27', time_zone: 'Asia/Tokyo' },
      ],
    });
    await series.putDocument(documentKey('mjp', 'freshness'), { newest_event_at: '2026-11-21T11:58:00.000Z', finalized_through: FINALIZED_THROUGH });
    await mkdir(ARTIFACTS, { recursive: true });
  });
  after(() => d?.close());

  // Plain JavaScript text: functions compiled for the test runner would carry helpers the page lacks.
  const SHOWN = `(() => {
    const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) => {
      const tds = [...tr.querySelectorAll('td')];
      return { key: tr.dataset.key ?? '', values: tds.map((td) => td.dataset.value ?? null), texts: tds.map((td) => td.textContent) };
    });
    return {
      web: Object.fromEntries(['pages', 'referrers', 'devices', 'countries'].map((s) => [s, rows('top-' + s)])),
      lowStock: rows('low-stock'),
      promotions: rows('promotions'),
      scrollWidth: document.documentElement.scrollWidth,
    };
  })()`;
  const shown = (page: Page): Promise<Shown> => page.evaluate(SHOWN) as Promise<Shown>;
  const PANELS = ['top-pages', 'top-referrers', 'top-devices', 'top-countries', 'low-stock', 'promotions'];
  const settled = (page: Page, range: string) =>
    page.waitForFunction(
      ([r, panels]) =>
        (document.getElementById('range') as HTMLSelectElement).value === r &&
        document.getElementById('status')!.textContent!.startsWith('Showing') &&
        (panels as string[]).every((id) => document.getElementById(id)!.dataset.state === 'ready'),
      [range, PANELS] as const,
    );

  const cases = [
    { merchant: 'm1', currency: 'EUR', zone: 'Europe/Berlin', digits: 2, stores: { s1: 'Mitte', s2: 'Soho' } },
    { merchant: 'mjp', currency: 'JPY', zone: 'Asia/Tokyo', digits: 0, stores: { t1: 'Shibuya', t2: 'Umeda' } },
  ] as const;

  for (const c of cases) {
    it(`${c.merchant} (${c.zone}, ${c.currency}): top pages, sources, devices and countries, low stock and promotion uplift, as the API answers`, async () => {
      const readKey = (await addKey(d.keys, 'read', c.merchant)).key;
      const page = await d.newPage({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
      await d.connect(page, readKey);
      await settled(page, '');
      type Top = { granularity: string; items: { key: string; values: Record<string, number | null> }[]; other: { count: number; values: Record<string, number | null> } };
      const cell = (v: number | null | undefined) => (v === null || v === undefined ? null : String(v));
      const expectWeb = (top: Top) => [
        ...top.items.map((i) => ({ key: i.key, values: [null, null, cell(i.values.page_views), cell(i.values.visitors)] })),
        ...(top.other.count > 0 ? [{ key: '', values: [null, null, cell(top.other.values.page_views), null] }] : []),
      ];

      for (const range of ['today', 'last_7_days']) {
        await page.selectOption('#range', range);
        await settled(page, range);
        const view = await shown(page);
        for (const name of Object.keys(BREAKDOWNS)) {
          const top = await d.api<Top>(readKey, `/v1/merchants/${c.merchant}/top?series=${name}&by=page_views&limit=8&range=${range}`);
          assert.equal(top.granularity, 'day');
          assert.deepEqual(view.web[name]!.map(({ key, values }) => ({ key, values })), expectWeb(top), `${name} over ${range}`);
          // One local day: visitors are exact and shown; several days: not summed, shown as –.
          if (range === 'today') assert.ok(top.items.every((i) => typeof i.values.visitors === 'number'));
          else assert.ok(view.web[name]!.every((r) => r.texts[3] === '–'));
        }
        assert.equal(view.web.pages!.at(-1)!.texts[1], 'Other (2)', 'ten pages: eight listed, two as other');
        assert.deepEqual(view.web.referrers!.map((r) => r.texts[1]).sort(), ['Direct / none', 'Your own pages', 'news.example', 'search.example', 'social.example']);
        assert.ok(view.web.countries!.some((r) => r.key === 'JP' && r.texts[1] === 'Japan'));

        const promotions = await d.api<{ promotions: Record<string, number | string | null>[] }>(readKey, `/v1/merchants/${c.merchant}/promotions?range=${range}`);
        const fields = ['days', 'promo_net_revenue_minor', 'baseline_net_revenue_minor', 'net_revenue_uplift_minor', 'net_revenue_lift_ratio'];
        assert.deepEqual(
          view.promotions.map(({ key, values }) => ({ key, values })),
          promotions.promotions.map((p) => ({ key: p.promo_id, values: [null, ...fields.map((f) => cell(p[f] as number | null))] })),
        );
        assert.deepEqual(view.promotions.map((p) => p.key), ['p-autumn', 'p-launch']);
        const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: c.currency });
        const money = (minor: number) => fmt.format(minor / 10 ** c.digits);
        const autumn = promotions.promotions[0]!;
        assert.equal(view.promotions[0]!.texts[2], money(autumn.promo_net_revenue_minor as number));
        assert.equal(view.promotions[0]!.texts[4], `+${money(Math.round(autumn.net_revenue_uplift_minor as number))}`);
        assert.equal(view.promotions[1]!.texts[3], 'no baseline');
        if (c.digits === 0) assert.match(view.promotions[0]!.texts[2]!, /^¥[\d,]+$/);
        else assert.match(view.promotions[0]!.texts[2]!, /^€[\d,]+\.\d\d$/);
      }

      const view = await shown(page);
      type Low = { items: { store_id: string; sku: string; closing_quantity: number; low_since: string }[] };
      const low = await d.api<Low>(readKey, `/v1/merchants/${c.merchant}/low-stock`);
      const [first, second] = Object.keys(c.stores);
      assert.deepEqual(
        low.items.filter((i) => !i.sku.startsWith('SPICE-')).map((i) => [i.store_id, i.sku, i.closing_quantity, i.low_since]),
        [
          [second, 'RICE', 2, '2026-11-19T12:00:00.000Z'],
          [first, 'MATCHA', 6, '2026-11-20T08:00:00.000Z'],
        ],
      );
      const localHour = (iso: string) =>
        new Intl.DateTimeFormat('sv-SE', { timeZone: c.zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
      // The first 15 listed (lowest first); more than that: a row saying how many more, with the CSV of all.
      const listed = low.items.slice(0, 15);
      const more = low.items.length - listed.length;
      assert.equal(more, c.merchant === 'mjp' ? 3 : 0);
      assert.equal(view.lowStock.length, listed.length + (more > 0 ? 1 : 0));
      if (more > 0) assert.deepEqual(view.lowStock.at(-1)!.texts, [`and ${more} more Download the list (CSV)`]);
      if (more > 0) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('#low-stock tr.other button')]);
        const csv = await readFile((await download.path())!, 'utf8');
        assert.equal(download.suggestedFilename(), `${c.merchant}-low-stock.csv`);
        assert.deepEqual(csv.trimEnd().split('\r\n').slice(1).map((l) => l.split(',').slice(0, 3).join('|')), low.items.map((i) => `${i.store_id}|${i.sku}|${i.closing_quantity}`));
      }
      assert.deepEqual(
        view.lowStock.slice(0, listed.length).map((r) => ({ key: r.key, texts: r.texts, quantity: r.values[2], since: r.values[3] })),
        listed.map((i) => ({
          key: `${i.store_id}|${i.sku}`,
          texts: [(c.stores as Record<string, string>)[i.store_id], i.sku, String(i.closing_quantity), localHour(i.low_since)],
          quantity: String(i.closing_quantity),
          since: i.low_since,
        })),
      );

      // One store: its low items only.
      await page.selectOption('#store', first!);
      await page.waitForFunction((sku) => document.getElementById('status')!.textContent!.includes('store') && document.querySelectorAll('#low-stock tbody tr').length === 1 && document.querySelector('#low-stock tbody tr')!.getAttribute('data-key')!.endsWith(sku), 'MATCHA');
      await page.selectOption('#store', '');
      await settled(page, 'last_7_days');

      await page.locator('h2.section').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-panels-${c.merchant}-1440x900.png`), fullPage: false });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      const narrow = await shown(page);
      assert.ok(narrow.scrollWidth <= 390, `no horizontal scrolling at 390 px (scroll width ${narrow.scrollWidth})`);
      await page.locator('h2.section').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, `dashboard-panels-${c.merchant}-390x844.png`), fullPage: false });
      for (const size of ['1440x900', '390x844']) assert.ok((await stat(join(ARTIFACTS, `dashboard-panels-${c.merchant}-${size}.png`))).size > 10_000);
      await page.close();
      assert.deepEqual(d.problems, []);
    });
  }
});
