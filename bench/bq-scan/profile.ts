// The table-size profile the scan estimate multiplies by: 1 billion events a day, 400 days of
// history, the run starting at 12:05 UTC (today's partition half full). Every figure here is an
// assumption, stated once; docs/capacity.md shows the arithmetic. Stored sizes follow BigQuery's
// data-size rules: STRING 2 bytes + its UTF-8 length, INT64/TIMESTAMP/DATE 8, NUMERIC 16, BOOL 1,
// NULL 0, a repeated column the sum of its elements.
// https://cloud.google.com/bigquery/pricing#data_size_calculation
import type { Column, TableDef } from '../../pipeline/schema/types.js';
import type { Constraint, Profile, TableProfile } from './estimate.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const PROFILE_ASSUMPTIONS = {
  events_per_day: 1e9,
  history_days: 400,
  run_started_at: '2026-11-20T12:05:00Z',
  /** Equal-sized merchants: the backfill merchant sends 1e9 / 10,000 = 100,000 events a day. */
  merchants: 10_000,
  stores: 200_000,
  /** Inventory items tracked per store (raw materials and products). */
  skus_per_store: 20,
  event_mix: { order: 0.3, page_view: 0.45, track: 0.1, inventory: 0.15, promotion: 0.0001 },
  order_lines_per_order: 2,
  /** raw.arrivals: one row per (message, merchant, event hour); 100 entries a message, 1.05 event hours each. */
  arrival_rows_per_event: 0.0105,
} as const;

/** Merchant ids of the profile, in their sort order: m00000 … m09999. */
export const merchantId = (i: number): string => `m${String(i).padStart(5, '0')}`;

const MIX = PROFILE_ASSUMPTIONS.event_mix;
const WEB = MIX.page_view + MIX.track;
const str = (len: number, share = 1) => share * (2 + len);
const int = (share = 1) => share * 8;

/** Average stored bytes per row of raw.events, column by column (shares: how many rows carry a value). */
export const RAW_EVENT_COLUMN_BYTES: Record<string, number> = {
  event_id: str(36),
  merchant_id: str(10),
  event_type: str(6),
  source: str(4),
  schema_version: int(),
  event_ts: int(),
  received_at: int(),
  message_id: str(16),
  entry_index: int(),
  store_id: str(6, MIX.order + MIX.inventory),
  store_city: str(8, MIX.order + MIX.inventory),
  store_region: str(6, MIX.order + MIX.inventory),
  merchant_time_zone: str(15),
  store_time_zone: str(15, MIX.order + MIX.inventory),
  order_id: str(12, MIX.order),
  order_status: str(9, MIX.order),
  channel: str(6, MIX.order),
  fulfilment: str(7, MIX.order),
  delivery_partner: str(6, MIX.order * 0.3),
  currency: str(3, MIX.order),
  gross_minor: int(MIX.order),
  discount_minor: int(MIX.order),
  net_minor: int(MIX.order),
  refund_minor: int(MIX.order * 0.05),
  item_count: int(MIX.order),
  promo_ids: str(8, MIX.order * 0.2),
  client_ip_truncated: str(12, MIX.order * 0.5),
  sku: str(10, MIX.inventory),
  item_kind: str(9, MIX.inventory),
  quantity_on_hand: int(MIX.inventory),
  quantity_delta: int(MIX.inventory),
  inventory_reason: str(6, MIX.inventory),
  promo_id: str(10, MIX.promotion),
  promo_kind: str(14, MIX.promotion),
  promo_starts_at: int(MIX.promotion),
  promo_ends_at: int(MIX.promotion),
  promo_store_ids: str(6, MIX.promotion * 5),
  url: str(60, WEB),
  referrer: str(40, WEB),
  track_name: str(12, MIX.track),
  visitor_id: str(22, WEB + MIX.order * 0.5),
  session_id: str(22, WEB + MIX.order * 0.5),
  device: str(7, WEB),
  country: str(2, WEB),
  body_json: str(300),
};

const ORDER_LINE_COLUMN_BYTES: Record<string, number> = {
  merchant_id: str(10),
  event_id: str(36),
  line_index: int(),
  event_ts: int(),
  received_at: int(),
  store_id: str(6),
  order_id: str(12),
  order_status: str(9),
  sku: str(10),
  category: str(10),
  quantity: int(),
  unit_price_minor: int(),
  discount_minor: int(),
};

/** Sizes of a table's columns by type alone, for the small tables whose exact size hardly matters. */
function byType(columns: Column[]): Record<string, number> {
  const size = (c: Column): number => {
    const one = c.type === 'STRING' ? str(12) : c.type === 'NUMERIC' ? 16 : c.type === 'BOOL' ? 1 : 8;
    return c.mode === 'REPEATED' ? 2 * one : one;
  };
  return Object.fromEntries(columns.map((c) => [c.name, size(c)]));
}

/** Rows a day (partitioned tables) or in all (unpartitioned ones). */
function rowsPerDay(def: TableDef): number {
  const a = PROFILE_ASSUMPTIONS;
  const events = a.events_per_day;
  const table: Record<string, number> = {
    'raw.events': events,
    'raw.order_lines': events * MIX.order * a.order_lines_per_order,
    'raw.arrivals': events * a.arrival_rows_per_event,
    'raw.rejected_events': events * 0.001,
    'raw.duplicates': events * 0.001,
    'marts.mart_hourly_store_sales': a.stores * 24 * 0.8,
    'marts.mart_hourly_product_sales': a.stores * 24 * 10,
    'marts.mart_hourly_traffic': a.merchants * 24,
    // pages, referrers, devices and countries: a few dozen values per merchant and hour with traffic
    'marts.mart_hourly_traffic_breakdown': a.merchants * 24 * 40,
    'marts.mart_hourly_store_inventory': a.stores * a.skus_per_store * 24,
    'marts.mart_daily_merchant_sales': a.merchants,
    'marts.mart_daily_store_sales': a.stores,
    'marts.mart_daily_merchant_traffic': a.merchants,
    'marts.mart_daily_merchant_traffic_breakdown': a.merchants * 100,
    'marts.mart_daily_promotion_performance': a.stores * 2,
    'marts.mart_runs': 24 * 8 * 4,
    // a row per run and export task (32 in prod)
    'marts.mart_exports': 24 * 32,
    'dims.merchants': a.merchants,
    'dims.stores': a.stores,
  };
  return table[def.id] ?? 1000;
}

/** Share of a partition's rows in the blocks a filter on a clustering column keeps. */
function clusterShare(column: string, c: Constraint, partitionStart: number, unit: number): number | undefined {
  if (column === 'merchant_id' && c.values) return Math.min(1, new Set(c.values).size / PROFILE_ASSUMPTIONS.merchants);
  if (column === 'merchant_id' && (c.from !== undefined || c.to !== undefined)) {
    let n = 0;
    for (let i = 0; i < PROFILE_ASSUMPTIONS.merchants; i++) {
      const id = merchantId(i);
      if ((c.from === undefined || id >= c.from) && (c.to === undefined || id <= c.to)) n++;
    }
    return n / PROFILE_ASSUMPTIONS.merchants;
  }
  if (column === 'event_type' && c.values) return Math.min(1, c.values.reduce<number>((s, v) => s + ((MIX as Record<string, number>)[String(v)] ?? 0), 0));
  if (c.lo !== undefined || c.hi !== undefined || (c.values && c.values.every((v) => typeof v === 'number'))) {
    // A time column clustered inside a time partition: rows spread evenly over the partition.
    const end = partitionStart + unit;
    if (c.values) return Math.min(1, (c.values as number[]).filter((v) => v >= partitionStart && v < end).length * (HOUR_MS / unit));
    const lo = Math.max(partitionStart, c.lo ?? -Infinity);
    const hi = Math.min(end, c.hi ?? Infinity);
    return Math.max(0, hi - lo) / unit;
  }
  return undefined;
}

export function tableProfile(def: TableDef, now: Date): TableProfile {
  const unit = (def.partition?.granularity as string | undefined) === 'HOUR' ? HOUR_MS : DAY_MS;
  const columnBytes = def.id === 'raw.events' ? RAW_EVENT_COLUMN_BYTES : def.id === 'raw.order_lines' ? ORDER_LINE_COLUMN_BYTES : byType(def.columns);
  const perDay = rowsPerDay(def);
  if (!def.partition) return { id: def.id, clustering: def.clustering, columnBytes, partitions: [0], rows: () => perDay };
  const last = Math.floor(now.getTime() / unit) * unit;
  const first = Math.floor((now.getTime() - PROFILE_ASSUMPTIONS.history_days * DAY_MS) / unit) * unit;
  const partitions: number[] = [];
  for (let p = first; p <= last; p += unit) partitions.push(p);
  const perPartition = (perDay * unit) / DAY_MS;
  return {
    id: def.id,
    partition: { column: def.partition.column, granularity: def.partition.granularity as 'DAY' | 'HOUR' },
    clustering: def.clustering,
    columnBytes,
    partitions,
    // The partition in progress holds the part of it that has passed.
    rows: (start) => (start + unit > now.getTime() ? (perPartition * (now.getTime() - start)) / unit : perPartition),
    clusterShare: (column, c, start) => clusterShare(column, c, start, unit),
  };
}

/** The profile of every table of the schema at 1 B events a day. */
export function billionEventProfile(tables: TableDef[], now = new Date(PROFILE_ASSUMPTIONS.run_started_at)): Profile {
  const byId = new Map<string, TableProfile>(tables.map((t) => [t.id, tableProfile(t, now)]));
  return { now, table: (id) => byId.get(id) };
}
