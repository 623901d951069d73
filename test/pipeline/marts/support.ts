// Test support for the marts: a local DuckDB warehouse with the dialect layer, dimensions and
// events loaded through the real normalizer (so raw rows have exactly the shape ingest writes),
// and mart rows read back as plain, comparable values.
import type { z } from 'zod';
import { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { DimensionsFile, resolveDimensions, type Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { Event, type EventInput } from '../../../pipeline/contracts/events.js';
import { normalizeEvent, utcHourStart } from '../../../pipeline/ingest/normalize.js';
import { martSpec } from '../../../pipeline/marts/manifest.js';
import type { ArrivalRow, OrderLineRow, RawEventRow } from '../../../pipeline/ports.js';
import { toDuckDb } from '../../../pipeline/sql/dialect.js';
import type { OracleEvent, OracleRow } from '../../support/oracle.js';

export async function openWarehouse(): Promise<LocalWarehouse> {
  return LocalWarehouse.open({ path: ':memory:', translate: toDuckDb });
}

export async function loadDimensions(wh: LocalWarehouse, input: z.input<typeof DimensionsFile>): Promise<Dimensions> {
  const file = DimensionsFile.parse(input);
  const dims = resolveDimensions(file);
  await wh.run('delete from dims.merchants where true');
  await wh.run('delete from dims.stores where true');
  await wh.run('delete from dims.settings where true');
  for (const m of file.merchants) {
    await wh.run('insert into dims.merchants (merchant_id, name, time_zone, currency) values (@id, @name, @tz, @currency)', { id: m.id, name: m.name, tz: m.time_zone, currency: m.currency });
  }
  for (const s of dims.stores.values()) {
    await wh.run('insert into dims.stores (merchant_id, store_id, name, city, region, time_zone) values (@m, @id, @name, @city, @region, @tz)', {
      m: s.merchant_id,
      id: s.id,
      name: s.name,
      city: s.city ?? '',
      region: s.region ?? '',
      tz: s.time_zone,
    });
  }
  await wh.run('insert into dims.settings (low_stock_threshold) values (@t)', { t: dims.lowStockThreshold });
  return dims;
}

export interface FixtureEvent {
  event: EventInput;
  /** ISO instant; defaults to the event time plus one minute. */
  receivedAt?: string;
  /** Bus message; defaults to one message per received minute. */
  messageId?: string;
}

/** Normalizes and writes events as ingest would (raw.events, raw.order_lines, raw.arrivals); returns them for the oracle. */
export async function loadEvents(wh: LocalWarehouse, dims: Dimensions, fixtures: FixtureEvent[]): Promise<OracleEvent[]> {
  const byMessage = new Map<string, { accepted: RawEventRow[]; orderLines: OrderLineRow[]; arrivals: Map<string, ArrivalRow> }>();
  const out: OracleEvent[] = [];
  for (const f of fixtures) {
    const event = Event.parse(f.event);
    const eventTsMs = Date.parse(event.event_ts);
    const receivedAt = new Date(f.receivedAt ?? eventTsMs + 60_000);
    const messageId = f.messageId ?? `msg-${receivedAt.toISOString()}`;
    let m = byMessage.get(messageId);
    if (!m) {
      m = { accepted: [], orderLines: [], arrivals: new Map() };
      byMessage.set(messageId, m);
    }
    const { row, orderLines } = normalizeEvent(event, { dimensions: dims, messageId, entryIndex: m.accepted.length, receivedAt, eventTsMs });
    m.accepted.push(row);
    m.orderLines.push(...orderLines);
    const hour = utcHourStart(eventTsMs);
    const key = `${event.merchant_id}/${hour.toISOString()}`;
    const last = m.arrivals.get(key)?.last_event_at;
    const newest = last && last.getTime() > eventTsMs ? last : new Date(eventTsMs);
    m.arrivals.set(key, { message_id: messageId, merchant_id: event.merchant_id, event_hour: hour, received_at: receivedAt, last_event_at: newest });
    out.push({ event, receivedAt });
  }
  for (const m of byMessage.values()) {
    await wh.write({ accepted: m.accepted, orderLines: m.orderLines, rejected: [], duplicates: [], arrivals: [...m.arrivals.values()] });
  }
  return out;
}

/** A value as the oracle writes it: instants as ISO strings, dates as `YYYY-MM-DD`, integers as numbers. */
function plain(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string') return v;
  return String(v);
}

export const sortRows = (rows: OracleRow[]): OracleRow[] => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/** Every row of a mart, columns in schema order, sorted. */
export async function martTable(wh: LocalWarehouse, stem: string): Promise<OracleRow[]> {
  const spec = martSpec(stem);
  const columns = spec.table.columns.map((c) => (c.type === 'DATE' ? `cast(${c.name} as string) as ${c.name}` : c.name));
  const rows = await wh.query(`select ${columns.join(', ')} from ${spec.table.id}`);
  return sortRows(rows.map((r) => Object.fromEntries(spec.table.columns.map((c) => [c.name, plain(r[c.name])]))));
}

/** Oracle rows in schema column order, sorted, for deepStrictEqual against martTable. */
export function ordered(stem: string, rows: OracleRow[]): OracleRow[] {
  const spec = martSpec(stem);
  return sortRows(rows.map((r) => Object.fromEntries(spec.table.columns.map((c) => [c.name, r[c.name] ?? null]))));
}

// ---------------------------------------------------------------- event builders

let seq = 0;
export const nextId = (prefix: string): string => `${prefix}${(++seq).toString().padStart(6, '0')}`;

export function order(o: {
  merchant: string;
  store?: string;
  at: string;
  source?: 'online' | 'pos' | 'web' | 'server';
  fulfilment?: 'pickup' | 'delivery' | 'dine_in';
  orderId?: string;
  status?: 'completed' | 'cancelled' | 'refunded';
  lines?: { sku: string; category?: string; quantity: number; unit_price_minor: number; discount_minor?: number }[];
  discount?: number;
  refund?: number;
  currency: string;
  session?: string;
  visitor?: string;
  eventId?: string;
}): EventInput {
  const status = o.status ?? 'completed';
  const lines = status === 'completed' ? (o.lines ?? [{ sku: 'sku-a', quantity: 1, unit_price_minor: 1000 }]) : [];
  const gross = lines.reduce((s, l) => s + l.quantity * l.unit_price_minor, 0);
  const lineDiscount = lines.reduce((s, l) => s + (l.discount_minor ?? 0), 0);
  const discount = status === 'completed' ? Math.max(Math.min(o.discount ?? 0, gross), lineDiscount) : 0;
  return {
    event_id: o.eventId ?? nextId('e'),
    merchant_id: o.merchant,
    event_type: 'order',
    event_ts: o.at,
    source: o.source ?? 'pos',
    schema_version: 1,
    ...(o.store ? { store_id: o.store } : {}),
    body: {
      order_id: o.orderId ?? nextId('o'),
      status,
      channel: o.source === 'online' || o.source === 'web' ? 'online' : 'pos',
      fulfilment: o.fulfilment ?? 'pickup',
      currency: o.currency,
      line_items: lines.map((l) => ({ sku: l.sku, category: l.category ?? 'food', quantity: l.quantity, unit_price_minor: l.unit_price_minor, discount_minor: l.discount_minor ?? 0 })),
      gross_minor: gross,
      discount_minor: discount,
      net_minor: gross - discount,
      refund_minor: status === 'completed' ? 0 : (o.refund ?? 0),
      ...(o.session ? { session_id: o.session } : {}),
      ...(o.visitor ? { visitor_id: o.visitor } : {}),
    },
  } as EventInput;
}

export function pageView(p: {
  merchant: string;
  at: string;
  visitor: string;
  session: string;
  eventId?: string;
  track?: boolean;
  web?: { url?: string; referrer?: string; device?: 'desktop' | 'mobile' | 'tablet' | 'other'; country?: string };
}): EventInput {
  const base = { event_id: p.eventId ?? nextId('e'), merchant_id: p.merchant, event_ts: p.at, source: 'web' as const, schema_version: 1 as const };
  if (p.track) return { ...base, event_type: 'track', body: { name: 'add_to_cart', visitor_id: p.visitor, session_id: p.session } };
  const { url = 'https://shop.example/p', ...web } = p.web ?? {};
  return { ...base, event_type: 'page_view', body: { url, ...web, visitor_id: p.visitor, session_id: p.session } };
}

export function inventory(i: { merchant: string; store: string; at: string; sku: string; onHand: number; eventId?: string }): EventInput {
  return {
    event_id: i.eventId ?? nextId('e'),
    merchant_id: i.merchant,
    event_type: 'inventory',
    event_ts: i.at,
    source: 'pos',
    schema_version: 1,
    store_id: i.store,
    body: { sku: i.sku, quantity_on_hand: i.onHand, delta: 0, reason: 'adjust' },
  };
}

export function promotion(p: { merchant: string; at: string; promoId: string; startsAt: string; endsAt: string; stores?: string[]; eventId?: string }): EventInput {
  return {
    event_id: p.eventId ?? nextId('e'),
    merchant_id: p.merchant,
    event_type: 'promotion',
    event_ts: p.at,
    source: 'server',
    schema_version: 1,
    body: { promo_id: p.promoId, kind: 'price_reduction', starts_at: p.startsAt, ends_at: p.endsAt, store_ids: p.stores ?? [] },
  };
}

/**
 * A re-validation chunk's statement with the chunk's parameters (@ids, @received_from/to, @events_from/to)
 * bound as literals, for ZetaSQL analysis: the analyzer declares only the window parameters.
 */
export function withChunkLiterals(sql: string): string {
  return sql
    .replaceAll('@ids', "['msg-1', 'msg-2']")
    .replaceAll(/@(received|events)_from/g, "timestamp '2026-11-20 10:00:00+00'")
    .replaceAll(/@(received|events)_to/g, "timestamp '2026-11-20 11:00:00+00'");
}
