// What a run changed, in SQL both runtimes run: before each window's rebuild the runner (locally) and
// the scheduled script (BigQuery) copy the window's rows into marts.mart_run_rows as their series key
// columns and a fingerprint of its exported values; after the run, the exporter asks which rows differ from
// that snapshot. It exports those rows' series keys (with the totals they feed, recomputed from their
// group's current rows) and deletes the keys whose rows vanished — nothing else of the window.
import { martSpec, type MartSpec } from './manifest.js';
import { scopeCondition, windowCondition } from './windows.js';
import { seriesDef } from '../metrics/catalog.js';
import type { SeriesName } from '../series/row-key.js';

/** Columns of a mart's rows that make its series row keys (exporter.ts seriesCellsOf). */
export const KEY_COLUMNS = ['merchant_id', 'store_id', 'sku', 'dimension', 'dimension_value', 'promo_id', 'hour_start', 'local_date'] as const;

export function seriesKeyColumns(m: Pick<MartSpec, 'table'>): string[] {
  return m.table.columns.map((c) => c.name).filter((n) => (KEY_COLUMNS as readonly string[]).includes(n));
}

/** Marts exported as series (manifest.ts; promotion definitions are kept for other statements only). */
export const hasSeries = (m: Pick<MartSpec, 'series'>): boolean => m.series;

/**
 * The rows whose series cells are summed into one total, for marts with totals: the hourly sales of a
 * merchant's stores make the merchant's hour, a sku's stores make the sku's hour. A changed row
 * rewrites its own key and its group's totals, from every current row of the group.
 */
export function groupColumns(m: Pick<MartSpec, 'stem' | 'table'>): string[] {
  if (m.stem === 'mart_hourly_store_sales') return ['merchant_id', 'hour_start'];
  if (m.stem === 'mart_hourly_product_sales') return ['merchant_id', 'sku', 'hour_start'];
  return seriesKeyColumns(m);
}

/** The series each mart's rows are exported to (exporter.ts seriesCellsOf). */
const MART_SERIES: Record<string, SeriesName> = {
  mart_hourly_store_sales: 'sales',
  mart_hourly_product_sales: 'products',
  mart_hourly_traffic: 'traffic',
  mart_hourly_store_inventory: 'inventory',
  mart_daily_merchant_sales: 'sales',
  mart_daily_store_sales: 'sales',
  mart_daily_merchant_traffic: 'traffic',
  // every breakdown series has the same metrics
  mart_hourly_traffic_breakdown: 'pages',
  mart_daily_merchant_traffic_breakdown: 'pages',
  mart_daily_promotion_performance: 'promotions',
};

/**
 * The columns whose values the exporter writes: a row whose other columns change (last_event_at)
 * changes no cell. A mart without a known series: every column but its keys.
 */
export function valueColumns(m: Pick<MartSpec, 'stem' | 'table'>): string[] {
  const series = seriesDef(MART_SERIES[m.stem] ?? '');
  if (!series) return m.table.columns.map((c) => c.name).filter((n) => !(KEY_COLUMNS as readonly string[]).includes(n));
  const metrics = new Set(series.metrics.map((d) => d.name));
  return m.table.columns.map((c) => c.name).filter((n) => metrics.has(n));
}

/** The value columns as text, nulls marked, joined: what a row's fingerprint is taken of. */
export function fingerprint(m: Pick<MartSpec, 'stem' | 'table'>, alias?: string): string {
  const col = (n: string) => (alias ? `${alias}.${n}` : n);
  const parts = valueColumns(m).map((n) => `coalesce(cast(${col(n)} as string), '~')`);
  return `farm_fingerprint(concat(${parts.join(", '|', ")}))`;
}

/**
 * Copies a window's rows, as keys and fingerprints, into marts.mart_run_rows (run just before the
 * window's rebuild). Binds @run_id, @run_started_at and the window's parameters.
 */
export function snapshotSql(stem: string): string {
  const m = martSpec(stem);
  const keys = seriesKeyColumns(m);
  const value = (k: string) => (keys.includes(k) ? k : 'null');
  return `insert into marts.mart_run_rows (run_id, mart, started_at, window_start, ${KEY_COLUMNS.join(', ')}, row_hash)
select @run_id, '${m.stem}', @run_started_at, @window_start, ${KEY_COLUMNS.map(value).join(', ')}, ${fingerprint(m)}
from ${m.table.id}
where ${windowCondition(m)}`;
}

/** `a.k = b.k` for each key column (null-safe where the column may be null). */
function joinOn(m: Pick<MartSpec, 'table'>, keys: string[], a: string, b: string): string {
  const nullable = new Set(m.table.columns.filter((c) => c.mode === 'NULLABLE').map((c) => c.name));
  return keys.map((k) => (nullable.has(k) ? `${a}.${k} is not distinct from ${b}.${k}` : `${a}.${k} = ${b}.${k}`)).join(' and ');
}

const SHARD = 'merchant_id >= @shard_from and merchant_id < @shard_to';
/** The window's merchants (implied by its scope; stated alone, it prunes the leading clustering column's blocks). */
const WINDOW_MERCHANTS = 'merchant_id >= @merchant_from and merchant_id <= @merchant_to';
/** Local dates travel as `YYYY-MM-DD` text (as exporter.ts martRows reads them). */
const out = (m: Pick<MartSpec, 'table'>, alias: string, names: string[]) =>
  names.map((n) => (m.table.columns.find((c) => c.name === n)?.type === 'DATE' ? `cast(${alias}.${n} as string) as ${n}` : `${alias}.${n}`));

const CTES = (m: MartSpec) => `current_rows as (
  select *, ${fingerprint(m)} as row_hash
  from ${m.table.id}
  where ${windowCondition(m)} and ${SHARD}
),
previous_rows as (
  select ${seriesKeyColumns(m).join(', ')}, row_hash
  from marts.mart_run_rows
  where started_at = @run_started_at and run_id = @run_id and mart = '${m.stem}' and window_start = @window_start and ${SHARD}
)`;

/**
 * The current rows of a window's groups that hold a changed row (a row new or different since the
 * snapshot, or a snapshot row gone), in the shard, ordered by group; `row_changed` marks the rows
 * that changed themselves. With `all`, every row of the window in the shard, each marked changed.
 */
export function changedRowsSql(stem: string, opts: { all?: boolean } = {}): string {
  const m = martSpec(stem);
  const keys = seriesKeyColumns(m);
  const groups = groupColumns(m);
  const columns = m.table.columns.map((c) => c.name);
  if (opts.all) {
    return `select ${out(m, 'c', columns).join(', ')}, true as row_changed
from (select * from ${m.table.id} where ${windowCondition(m)} and ${SHARD}) as c
order by ${groups.map((g) => `c.${g}`).join(', ')}`;
  }
  return `with ${CTES(m)},
changed_groups as (
  select distinct ${groups.join(', ')}
  from (
    select ${groups.map((g) => `c.${g}`).join(', ')}
    from current_rows as c
    left join previous_rows as p on ${joinOn(m, keys, 'c', 'p')}
    where p.row_hash is null or p.row_hash != c.row_hash
    union all
    select ${groups.map((g) => `p.${g}`).join(', ')}
    from previous_rows as p
    left join current_rows as c on ${joinOn(m, keys, 'c', 'p')}
    where c.row_hash is null
  ) as changes
)
select ${out(m, 'c', columns).join(', ')}, (p.row_hash is null or p.row_hash != c.row_hash) as row_changed
from current_rows as c
inner join changed_groups as g on ${joinOn(m, groups, 'c', 'g')}
left join previous_rows as p on ${joinOn(m, keys, 'c', 'p')}
order by ${groups.map((g) => `c.${g}`).join(', ')}`;
}

/** The key columns of the snapshot rows of a window (in the shard) that the rebuild removed. */
export function vanishedRowsSql(stem: string): string {
  const m = martSpec(stem);
  const keys = seriesKeyColumns(m);
  return `with ${CTES(m)}
select ${out(m, 'p', keys).join(', ')}
from previous_rows as p
left join current_rows as c on ${joinOn(m, keys, 'c', 'p')}
where c.row_hash is null`;
}

// ------------------------------------------------------------------------------------------------
// Inventory as change points

/**
 * The inventory mart holds a row for every store, sku and hour from the item's first inventory event
 * on (closing stock carried forward), almost all equal to the hour before. Its series holds change
 * points only: an hour is a point when its closing differs from the hour before (the quantity or the
 * low-stock flag), when the hour before has no row (the item's first hour), and at every UTC midnight
 * (a keyframe, so a reader finds the value of any hour among the points of that hour's UTC day). The
 * query API fills the other hours forward, up to the merchant's inventory extent (the end of the last
 * hour built, freshness document), and answers as if every hour were stored.
 */
export const INVENTORY_MART = 'mart_hourly_store_inventory';

const ITEM = ['merchant_id', 'store_id', 'sku'];
const itemJoin = (a: string, b: string, shift = '') => `${ITEM.map((k) => `${a}.${k} = ${b}.${k}`).join(' and ')} and ${a}.hour_start = ${shift ? `timestamp_sub(${b}.hour_start, interval 1 hour)` : `${b}.hour_start`}`;
const isPoint = (value: string, before: string) => `(${value} is not null and (${before} is null or ${value} != ${before} or extract(hour from hour_start) = 0))`;

/**
 * The change points of an inventory window (in the shard) that differ from those of the rows the
 * snapshot holds: every hour the window rebuilt, and the hour after each (its point depends on the
 * hour before). `is_point` with the values: write the point; not `is_point`: delete it. The previous
 * state of an hour is the snapshot's row inside the window's scope, the mart's (unchanged) row outside.
 * With `all`, every rebuilt hour and the hour after, as points or deletions, whatever the snapshot says
 * of their values — and every hour the snapshot held, deleted where it has no row now: an item whose
 * events a reprocess removed loses its points, or the API would fill its last one forward.
 */
export function inventoryPointsSql(opts: { all?: boolean } = {}): string {
  const m = martSpec(INVENTORY_MART);
  const scope = (alias: string) => `(${alias}.hour_start >= @window_start and ${alias}.hour_start < @window_end and ${scopeCondition('hour', `${alias}.merchant_id`, `${alias}.hour_start`)})`;
  return `with current_rows as (
  select merchant_id, store_id, sku, hour_start, closing_quantity, low_stock, ${fingerprint(m)} as row_hash
  from ${m.table.id}
  where hour_start >= timestamp_sub(@window_start, interval 1 hour) and hour_start <= @window_end and ${WINDOW_MERCHANTS} and ${SHARD}
),
snapshot_rows as (
  select merchant_id, store_id, sku, hour_start, row_hash
  from marts.mart_run_rows
  where started_at = @run_started_at and run_id = @run_id and mart = '${m.stem}' and window_start = @window_start and ${WINDOW_MERCHANTS} and ${SHARD}
),
previous_rows as (
  select merchant_id, store_id, sku, hour_start, row_hash from snapshot_rows${opts.all ? ' where false' : ''}
  union all
  select c.merchant_id, c.store_id, c.sku, c.hour_start, c.row_hash from current_rows as c where not ${scope('c')}
),
candidates as (
  select merchant_id, store_id, sku, hour_start, logical_or(in_snapshot) as in_snapshot
  from (
    select merchant_id, store_id, sku, hour_start, true as in_snapshot from snapshot_rows
    union all
    select merchant_id, store_id, sku, timestamp_add(hour_start, interval 1 hour), false from snapshot_rows
    union all
    select c.merchant_id, c.store_id, c.sku, c.hour_start, false from current_rows as c where ${scope('c')}
    union all
    select c.merchant_id, c.store_id, c.sku, timestamp_add(c.hour_start, interval 1 hour), false from current_rows as c where ${scope('c')}
  ) as touched
  group by merchant_id, store_id, sku, hour_start
),
judged as (
  select
    k.merchant_id,
    k.store_id,
    k.sku,
    k.hour_start,
    k.in_snapshot,
    c.closing_quantity,
    c.low_stock,
    c.row_hash as value_now,
    c1.row_hash as before_now,
    p.row_hash as value_then,
    p1.row_hash as before_then
  from candidates as k
  left join current_rows as c on ${itemJoin('c', 'k')}
  left join current_rows as c1 on ${itemJoin('c1', 'k', 'before')}
  left join previous_rows as p on ${itemJoin('p', 'k')}
  left join previous_rows as p1 on ${itemJoin('p1', 'k', 'before')}
),
points as (
  select
    merchant_id, store_id, sku, hour_start, closing_quantity, low_stock, value_now, value_then, in_snapshot,
    ${isPoint('value_now', 'before_now')} as is_point,
    ${isPoint('value_then', 'before_then')} as was_point
  from judged
)
select merchant_id, store_id, sku, hour_start, closing_quantity, low_stock, is_point
from points
where ${opts.all ? 'is_point or value_now is not null or value_then is not null or in_snapshot' : '(is_point and (not was_point or value_now != value_then)) or (was_point and not is_point)'}
order by merchant_id, store_id, sku, hour_start`;
}

/** The end of each merchant's last inventory hour in a window (in the shard): the extent the API fills forward to. */
export function inventoryExtentSql(): string {
  const m = martSpec(INVENTORY_MART);
  return `select merchant_id, timestamp_add(max(hour_start), interval 1 hour) as inventory_through
from ${m.table.id}
where hour_start >= @window_start and hour_start < @window_end and ${WINDOW_MERCHANTS} and ${SHARD}
group by merchant_id`;
}
