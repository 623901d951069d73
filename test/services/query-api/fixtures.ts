// Series rows and documents in the shape the exporter writes (family 'm', qualifiers = catalog metric
// names, row keys from the codec), plus an in-memory key store, for the query API tests and benchmark.
import { createKey } from '../../../pipeline/auth/keys.js';
import type { KeyKind, KeyRecord, KeyStore, SeriesMutation, SeriesStore } from '../../../pipeline/ports.js';
import type { FreshnessDocument, MerchantDocument, StoresDocument } from '../../../pipeline/series/documents.js';
import { withRankedTwins } from '../../../pipeline/series/ranked.js';
import { dayBucket, documentKey, encodeRowKey, hourBucket, type SeriesKey } from '../../../pipeline/series/row-key.js';

export const NOW = new Date('2026-11-21T12:03:00Z');
export const FINALIZED_THROUGH = '2026-11-21T10:00:00.000Z';
export const PEPPER = Buffer.alloc(32, 7);

// the key store the command tests use too
export { InMemoryKeyStore as MemoryKeyStore } from '../../support/in-memory-command-stores.js';

export async function addKey(keys: KeyStore, kind: KeyKind, merchantId?: string, extra: { expiresInMs?: number; now?: Date } = {}): Promise<{ key: string; record: KeyRecord }> {
  const created = createKey(PEPPER, { kind, merchantId, origins: kind === 'browser' ? ['https://shop.example'] : undefined, now: extra.now ?? new Date('2026-11-01T00:00:00Z'), expiresInMs: extra.expiresInMs });
  await keys.put(created.record);
  return created;
}

/** Sales cells of an hour as the exporter writes them; aov is the mart's ratio cell. */
export function salesCells(orders: number): Record<string, number | null> {
  const gross = orders * 1250;
  const discount = orders * 50;
  const refund = orders % 3 === 0 ? 300 : 0;
  return {
    orders,
    items: orders * 2,
    gross_revenue_minor: gross,
    discount_minor: discount,
    refund_minor: refund,
    net_revenue_minor: gross - discount - refund,
    refunds: refund ? 1 : 0,
    cancellations: 0,
    online_orders: Math.ceil(orders / 2),
    pos_orders: Math.floor(orders / 2),
    pickup_orders: orders,
    delivery_orders: 0,
    dine_in_orders: 0,
    average_order_value_minor: orders === 0 ? null : (gross - discount) / orders,
  };
}

export function trafficCells(pageViews: number): Record<string, number | null> {
  const sessions = Math.ceil(pageViews / 3);
  const withSession = Math.floor(sessions / 2);
  return { page_views: pageViews, visitors: Math.ceil(pageViews / 4), sessions, orders_with_session: withSession, orders_per_session: sessions ? withSession / sessions : null };
}

const HOUR = 3_600_000;
export const key = (merchantId: string, series: SeriesKey['series'], dims: Record<string, string>, grain: 'h' | 'd'): SeriesKey => ({ merchantId, series, dims, grain });

/** Orders in an hour of the m1 total series: deterministic, with gaps (hours 3 and 7 of each day have none). */
export const m1Orders = (hourMs: number): number => {
  const h = new Date(hourMs).getUTCHours();
  return h === 3 || h === 7 ? 0 : (h % 5) + 1;
};

/**
 * m1 (Europe/Berlin): stores s1 (Berlin) and s2 (Europe/London); hourly sales and traffic from `fromHour` to
 * 12:00 on NOW's day, daily sales for local days; m2 (Asia/Kolkata) with other values. Hours not finalized
 * (≥ 10:00) also carry partial cells in family 'p'.
 */
export async function seedSeries(series: SeriesStore, opts: { days?: number } = {}): Promise<void> {
  const days = opts.days ?? 2;
  const end = Date.parse('2026-11-21T12:00:00Z');
  const start = end - days * 24 * HOUR;
  const muts: SeriesMutation[] = [];
  for (let t = start; t < end; t += HOUR) {
    const b = hourBucket(new Date(t));
    const n = m1Orders(t);
    if (n > 0) {
      muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'sales', {}, 'h'), b), family: 'm', cells: salesCells(n) });
      muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'sales', { store: 's1' }, 'h'), b), family: 'm', cells: salesCells(n - 1 || 1) });
      muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'traffic', {}, 'h'), b), family: 'm', cells: trafficCells(n * 10) });
    }
    muts.push({ kind: 'set', key: encodeRowKey(key('m2', 'sales', {}, 'h'), b), family: 'm', cells: salesCells(100) });
  }
  // The speed layer's partials for the hours in progress.
  for (const iso of ['2026-11-21T10:00:00Z', '2026-11-21T11:00:00Z']) {
    muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'sales', {}, 'h'), hourBucket(new Date(iso))), family: 'p', cells: { orders: 9, net_revenue_minor: 9000, gross_revenue_minor: 9900, discount_minor: 900 } });
  }
  for (const [date, orders] of [['2026-11-19', 40], ['2026-11-20', 50], ['2026-11-21', 20]] as const) {
    muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'sales', {}, 'd'), dayBucket(date)), family: 'm', cells: salesCells(orders) });
    muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'sales', { store: 's2' }, 'd'), dayBucket(date)), family: 'm', cells: salesCells(orders / 10) });
    muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'traffic', {}, 'd'), dayBucket(date)), family: 'm', cells: trafficCells(orders * 20) });
  }
  muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'products', { sku: 'PIZZA/Margherita #1' }, 'h'), '2026112109'), family: 'm', cells: { units: 4, orders: 3, gross_revenue_minor: 4000, net_revenue_minor: 3800 } });
  muts.push({ kind: 'set', key: encodeRowKey(key('m1', 'inventory', { sku: 'DOUGH', store: 's1' }, 'h'), '2026112109'), family: 'm', cells: { closing_quantity: 17, low_stock: 0 } });
  // With the ranked rows the exporter and the speed layer write beside the rows a ranking reads.
  const all = withRankedTwins(series, muts);
  for (let i = 0; i < all.length; i += 500) await series.mutate(all.slice(i, i + 500));

  const merchants: MerchantDocument[] = [
    { id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' },
    { id: 'm2', name: 'Curry Two', time_zone: 'Asia/Kolkata', currency: 'INR' },
  ];
  for (const m of merchants) await series.putDocument(documentKey(m.id, 'merchant'), m);
  const stores: StoresDocument = {
    stores: [
      { id: 's1', name: 'Mitte', city: 'Berlin', region: 'BE', time_zone: 'Europe/Berlin' },
      { id: 's2', name: 'Soho', city: 'London', region: 'ENG', time_zone: 'Europe/London' },
    ],
  };
  await series.putDocument(documentKey('m1', 'stores'), stores);
  await series.putDocument(documentKey('m2', 'stores'), { stores: [{ id: 's1', name: 'Bandra', city: 'Mumbai', region: 'MH', time_zone: 'Asia/Kolkata' }] });
  const freshness: FreshnessDocument = { newest_event_at: '2026-11-21T11:58:00.000Z', finalized_through: FINALIZED_THROUGH, ranked_rows: true };
  await series.putDocument(documentKey('m1', 'freshness'), freshness);
  await series.putDocument(documentKey('m2', 'freshness'), freshness);
}
