// partialsOf over rows the real ingest stage produced: the mart definitions per series row.
import assert from 'node:assert/strict';
import { createIngestStage } from '../../../pipeline/ingest/stage.js';
import { encodeRowKey, type SeriesName } from '../../../pipeline/series/row-key.js';
import type { RawEventRow } from '../../../pipeline/ports.js';
import { breakdownOf, partialsOf, type PartialRow } from '../../../pipeline/speed/partials.js';
import { InMemoryDedupeIndex } from '../../support/in-memory-dedupe-index.js';
import { InMemoryRawSink } from '../../support/in-memory-raw-sink.js';
import { dimensions, message, order, pageView } from '../ingest/fixtures.js';

const H10 = new Date('2026-11-21T10:00:00Z');
const H11 = new Date('2026-11-21T11:00:00Z');
const row = (merchantId: string, series: SeriesName, dims: Record<string, string>, hourStart: Date, values: Record<string, number>): PartialRow => ({
  key: encodeRowKey({ merchantId, series, dims, grain: 'h' }, hourStart.toISOString().slice(0, 13).replace(/[-T]/g, '')),
  merchantId,
  hourStart,
  values,
});

function statusChange(eventId: string, orderId: string, status: 'refunded' | 'cancelled', ts: string, store: string, refund: number) {
  const o = order();
  return {
    ...o,
    event_id: eventId,
    event_ts: ts,
    store_id: store,
    body: { order_id: orderId, status, channel: 'online', fulfilment: 'delivery', currency: 'EUR', refund_minor: refund },
  };
}

async function acceptedWrite(entries: object[]) {
  const stage = createIngestStage({ dimensions: async () => dimensions, dedupe: new InMemoryDedupeIndex(), sink: new InMemoryRawSink(), clock: { now: () => new Date('2026-11-21T12:00:00Z') } });
  const result = await stage(message('msg-1', entries.map((e) => JSON.stringify(e))));
  assert.equal(result.accepted, entries.length, JSON.stringify(result.write.rejected));
  return result.write;
}

const byKey = (a: PartialRow, b: PartialRow) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

describe('partialsOf', () => {
  it('computes the additive metrics of every hourly series row the way the hourly marts do', async () => {
    const second = order();
    second.event_id = 'ord-2';
    second.event_ts = '2026-11-21T11:10:00Z';
    second.store_id = 's002';
    Object.assign(second.body, {
      order_id: 'o-2',
      fulfilment: 'pickup',
      line_items: [{ sku: 'MARG-L', category: 'pizza', quantity: 1, unit_price_minor: 1150, discount_minor: 0 }],
      gross_minor: 1150,
      discount_minor: 0,
      net_minor: 1150,
    });
    delete (second.body as { session_id?: string }).session_id;
    delete (second.body as { delivery_partner?: string }).delivery_partner;
    const write = await acceptedWrite([
      order(), // o-1: completed 11:55Z at s001, delivery, 3 items, 2600 gross, 150 discount, with a session
      second, // o-2: completed 11:10Z at s002, pickup
      statusChange('ref-1', 'o-1', 'refunded', '2026-11-21T11:30:00Z', 's001', 500),
      statusChange('can-1', 'o-1', 'cancelled', '2026-11-21T11:40:00Z', 's001', 0), // the latest status change of o-1 in the hour wins
      statusChange('ref-3', 'o-3', 'refunded', '2026-11-21T10:20:00Z', 's002', 200),
      pageView(),
    ]);

    const expected = [
      row('pizzaco', 'sales', { store: 's001' }, H11, { orders: 1, items: 3, gross_revenue_minor: 2600, discount_minor: 150, net_revenue_minor: 1950, online_orders: 1, delivery_orders: 1, refund_minor: 500, cancellations: 1 }),
      row('pizzaco', 'sales', {}, H11, { orders: 2, items: 4, gross_revenue_minor: 3750, discount_minor: 150, net_revenue_minor: 3100, online_orders: 2, delivery_orders: 1, pickup_orders: 1, refund_minor: 500, cancellations: 1 }),
      row('pizzaco', 'sales', { store: 's002' }, H11, { orders: 1, items: 1, gross_revenue_minor: 1150, net_revenue_minor: 1150, online_orders: 1, pickup_orders: 1 }),
      row('pizzaco', 'sales', { store: 's002' }, H10, { refund_minor: 200, net_revenue_minor: -200, refunds: 1 }),
      row('pizzaco', 'sales', {}, H10, { refund_minor: 200, net_revenue_minor: -200, refunds: 1 }),
      row('pizzaco', 'products', { sku: 'MARG-L', store: 's001' }, H11, { units: 2, orders: 1, gross_revenue_minor: 2300, net_revenue_minor: 2200 }),
      row('pizzaco', 'products', { sku: 'MARG-L' }, H11, { units: 3, orders: 2, gross_revenue_minor: 3450, net_revenue_minor: 3350 }),
      row('pizzaco', 'products', { sku: 'COLA', store: 's001' }, H11, { units: 1, orders: 1, gross_revenue_minor: 300, net_revenue_minor: 300 }),
      row('pizzaco', 'products', { sku: 'COLA' }, H11, { units: 1, orders: 1, gross_revenue_minor: 300, net_revenue_minor: 300 }),
      row('pizzaco', 'products', { sku: 'MARG-L', store: 's002' }, H11, { units: 1, orders: 1, gross_revenue_minor: 1150, net_revenue_minor: 1150 }),
      row('pizzaco', 'traffic', {}, H11, { orders_with_session: 1 }),
      row('webshop', 'traffic', {}, H11, { page_views: 1 }),
      // the page view's page, referrer, device and country, derived as mart_hourly_traffic_breakdown does
      row('webshop', 'pages', { page: '/products/42' }, H11, { page_views: 1 }),
      row('webshop', 'referrers', { referrer: 'search.example' }, H11, { page_views: 1 }),
      row('webshop', 'devices', { device: 'mobile' }, H11, { page_views: 1 }),
      row('webshop', 'countries', { country: 'US' }, H11, { page_views: 1 }),
    ];
    assert.deepStrictEqual(partialsOf(write).sort(byKey), expected.sort(byKey));
  });

  it('derives pages and referrers as the breakdown mart does: path without query, host without www., direct and internal', () => {
    const view = (url: string | null, referrer: string | null) => breakdownOf({ url, referrer, device: null, country: null } as unknown as RawEventRow);
    assert.deepStrictEqual(view('https://Shop.example/a/b?x=1#top', 'https://WWW.Search.example/q?s=1'), { page: '/a/b', referrer: 'search.example', device: 'other', country: '(unknown)' });
    assert.deepStrictEqual([view('https://shop.example', null).page, view('https://shop.example', null).referrer], ['/', '(direct)']);
    assert.deepStrictEqual(view('https://shop.example/x', 'http://user@shop.example:8080/y').referrer, '(internal)');
    assert.deepStrictEqual(view('/relative/path?q', '').referrer, '(direct)');
  });

  it('counts each page view in the rows of its own page, referrer, device and country, however many share a message and an hour', async () => {
    const view = (id: string, ts: string, url: string, device: string) => {
      const v = pageView();
      return { ...v, event_id: id, event_ts: ts, body: { ...v.body, url, device } };
    };
    const write = await acceptedWrite([
      view('pv-a', '2026-11-21T11:05:00Z', 'https://shop.example/a', 'mobile'),
      view('pv-b', '2026-11-21T11:10:00Z', 'https://shop.example/b', 'mobile'),
      view('pv-c', '2026-11-21T11:20:00Z', 'https://shop.example/a', 'desktop'),
      view('pv-d', '2026-11-21T10:30:00Z', 'https://shop.example/b', 'desktop'),
    ]);
    const expected = [
      row('webshop', 'traffic', {}, H11, { page_views: 3 }),
      row('webshop', 'traffic', {}, H10, { page_views: 1 }),
      row('webshop', 'pages', { page: '/a' }, H11, { page_views: 2 }),
      row('webshop', 'pages', { page: '/b' }, H11, { page_views: 1 }),
      row('webshop', 'pages', { page: '/b' }, H10, { page_views: 1 }),
      row('webshop', 'devices', { device: 'mobile' }, H11, { page_views: 2 }),
      row('webshop', 'devices', { device: 'desktop' }, H11, { page_views: 1 }),
      row('webshop', 'devices', { device: 'desktop' }, H10, { page_views: 1 }),
      row('webshop', 'referrers', { referrer: 'search.example' }, H11, { page_views: 3 }),
      row('webshop', 'referrers', { referrer: 'search.example' }, H10, { page_views: 1 }),
      row('webshop', 'countries', { country: 'US' }, H11, { page_views: 3 }),
      row('webshop', 'countries', { country: 'US' }, H10, { page_views: 1 }),
    ];
    assert.deepStrictEqual(partialsOf(write).sort(byKey), expected.sort(byKey));
  });

  it('gives the same partials for the same write (what makes message cells idempotent) and none without accepted orders or page views', async () => {
    const write = await acceptedWrite([order(), pageView()]);
    assert.deepStrictEqual(partialsOf(write), partialsOf(structuredClone(write)));
    assert.deepStrictEqual(partialsOf({ accepted: [], orderLines: [] }), []);
  });
});
