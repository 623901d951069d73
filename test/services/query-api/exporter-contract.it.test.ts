// The query API reading what the mart exporter wrote: the key and cell contract between them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { seriesCellsOf } from '../../../pipeline/marts/exporter.js';
import { FAMILY_MART, type SeriesMutation } from '../../../pipeline/ports.js';
import { documentKey } from '../../../pipeline/series/row-key.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, PEPPER, addKey } from './fixtures.js';

// The query API reads exactly what the exporter writes: mart rows → the exporter's cells → LMDB → answers.
describe('query API over exporter-written series', () => {
  let dir: string;
  let series: LmdbSeriesStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'query-api-export-'));
    series = openLmdbSeriesStore({ dataDir: dir });
  });
  after(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers store and merchant-total hours from mart_hourly_store_sales rows', async () => {
    const sales = (store: string, hour: string, orders: number, net: number, refund: number) => ({
      merchant_id: 'mx',
      store_id: store,
      hour_start: new Date(hour),
      orders,
      items: orders,
      gross_revenue_minor: net + refund + 100 * orders,
      discount_minor: 100 * orders,
      refund_minor: refund,
      net_revenue_minor: net,
      refunds: refund ? 1 : 0,
      cancellations: 0,
      online_orders: orders,
      pos_orders: 0,
      pickup_orders: orders,
      delivery_orders: 0,
      dine_in_orders: 0,
      average_order_value_minor: orders ? (net + refund) / orders : null,
    });
    const rows = [sales('s1', '2026-11-21T08:00:00Z', 2, 3000, 0), sales('s2', '2026-11-21T08:00:00Z', 1, 500, 700), sales('s2', '2026-11-21T09:00:00Z', 0, -400, 400)];
    const mutations: SeriesMutation[] = seriesCellsOf({ stem: 'mart_hourly_store_sales' }, rows).flatMap((c) => [
      { kind: 'delete_family' as const, key: c.key, family: FAMILY_MART },
      { kind: 'set' as const, key: c.key, family: FAMILY_MART, cells: c.cells },
    ]);
    await series.mutate(mutations);
    await series.putDocument(documentKey('mx', 'merchant'), { id: 'mx', name: 'X', time_zone: 'Asia/Kolkata', currency: 'INR' });
    await series.putDocument(documentKey('mx', 'freshness'), { newest_event_at: '2026-11-21T09:30:00.000Z', finalized_through: '2026-11-21T10:00:00.000Z' });

    const keys = new MemoryKeyStore();
    const { key } = await addKey(keys, 'read', 'mx');
    const app = createQueryApi({ series, keys, pepper: PEPPER, clock: { now: () => new Date('2026-11-21T10:20:00Z') }, logger: pino({ level: 'silent' }) });
    const q = 'series=sales&metrics=orders,net_revenue_minor,refund_minor,average_order_value_minor&granularity=hour&from=2026-11-21T07:00:00Z&to=2026-11-21T10:00:00Z';
    const total = await request(app).get(`/v1/merchants/mx/metrics?${q}`).set('Authorization', `Bearer ${key}`);
    assert.deepEqual(total.body.points, [
      { start: '2026-11-21T07:00:00Z', values: { orders: 0, net_revenue_minor: 0, refund_minor: 0, average_order_value_minor: null }, provisional: false },
      { start: '2026-11-21T08:00:00Z', values: { orders: 3, net_revenue_minor: 3500, refund_minor: 700, average_order_value_minor: 1400 }, provisional: false },
      { start: '2026-11-21T09:00:00Z', values: { orders: 0, net_revenue_minor: -400, refund_minor: 400, average_order_value_minor: null }, provisional: false },
    ]);
    const s2 = await request(app).get(`/v1/merchants/mx/metrics?${q}&store=s2`).set('Authorization', `Bearer ${key}`);
    assert.deepEqual(s2.body.points.map((p: { values: object }) => p.values), [
      { orders: 0, net_revenue_minor: 0, refund_minor: 0, average_order_value_minor: null },
      { orders: 1, net_revenue_minor: 500, refund_minor: 700, average_order_value_minor: 1200 },
      { orders: 0, net_revenue_minor: -400, refund_minor: 400, average_order_value_minor: null },
    ]);
    // The stores list was not mirrored: the store is read all the same, and the list is empty.
    assert.deepEqual((await request(app).get('/v1/merchants/mx/stores').set('Authorization', `Bearer ${key}`)).body, { stores: [] });
  });
});
