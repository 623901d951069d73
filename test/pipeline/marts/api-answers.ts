// What the query API answers over a series store, for tests that compare an export with a dense
// export of the same marts (every row written, as the exporter wrote before change points and
// change-only runs): the answers must be equal.
import assert from 'node:assert/strict';
import { pino } from 'pino';
import request from 'supertest';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { exportDocuments, exportWindows } from '../../../pipeline/marts/exporter.js';
import { MARTS } from '../../../pipeline/marts/manifest.js';
import type { SeriesStore } from '../../../pipeline/ports.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, addKey } from '../../services/query-api/fixtures.js';

/** The metrics requests of every series and dimension set of the workload's merchants over [from, to). */
export function requestsOf(merchants: string[], from: string, to: string): string[] {
  const day = (iso: string) => iso.slice(0, 10);
  const hours = `granularity=hour&from=${from}&to=${to}`;
  const days = `granularity=day&from=${day(from)}&to=${day(new Date(Date.parse(to) + 86_400_000).toISOString())}`;
  const out: string[] = [];
  for (const m of merchants) {
    const base = `/v1/merchants/${m}/metrics?`;
    out.push(`${base}series=sales&metrics=orders,net_revenue_minor,average_order_value_minor&${hours}`);
    out.push(`${base}series=sales&metrics=orders,net_revenue_minor&${days}`);
    for (const store of ['s1', 's2']) {
      out.push(`${base}series=sales&metrics=orders,items,refund_minor&store=${store}&${hours}`);
      out.push(`${base}series=sales&metrics=orders&store=${store}&${days}`);
      for (const sku of ['pz', 'cola']) {
        out.push(`${base}series=products&metrics=units,net_revenue_minor&sku=${sku}&store=${store}&${hours}`);
        out.push(`${base}series=inventory&metrics=closing_quantity,low_stock&sku=${sku}&store=${store}&${hours}`);
      }
    }
    out.push(`${base}series=products&metrics=units&sku=pz&${hours}`);
    out.push(`${base}series=traffic&metrics=page_views,visitors,sessions&${hours}`);
    out.push(`${base}series=traffic&metrics=page_views,visitors&${days}`);
    out.push(`/v1/merchants/${m}/low-stock`);
  }
  return out;
}

/** The query API's answers to `paths` over a series store (one read key per merchant). */
export async function answers(series: SeriesStore, merchants: string[], paths: string[], now: Date): Promise<unknown[]> {
  const keys = new MemoryKeyStore();
  const bearer = new Map<string, string>();
  for (const m of merchants) bearer.set(m, (await addKey(keys, 'read', m)).key);
  const app = createQueryApi({ series, keys, pepper: Buffer.alloc(32, 7), clock: { now: () => now }, logger: pino({ level: 'silent' }), dashboard: false });
  const out: unknown[] = [];
  for (const p of paths) {
    const res = await request(app).get(p).set('Authorization', `Bearer ${bearer.get(p.split('/')[3]!)}`);
    assert.equal(res.status, 200, `${p}: ${JSON.stringify(res.body)}`);
    out.push(res.body);
  }
  return out;
}

/** Every mart row of [from, to) written densely, the way the exporter wrote it before change points and change-only runs. */
export async function denseExport(wh: LocalWarehouse, series: SeriesStore, from: string, to: string): Promise<void> {
  await exportWindows({ warehouse: wh, series }, MARTS.map((m) => ({ mart: m.stem, windowStart: new Date(from), windowEnd: new Date(to) })));
  await exportDocuments({ warehouse: wh, series });
}
