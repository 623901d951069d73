// Mart tables (dataset `marts`): hourly buckets are UTC hours, daily buckets are local days.
// Each table is rebuilt for windows by the statement of the same name in sql/marts/ (one MERGE per
// mart); a test checks each SQL header against the definition here. Metric columns carry the names
// of pipeline/metrics/catalog.ts so the exporter maps them one to one.
import { DIM_TABLES } from './dims.js';
import { RAW_TABLES } from './raw.js';
import { opt, rep, req, type Column, type TableDef } from './types.js';

const salesColumns: Column[] = [
  req('orders', 'INT64', 'Completed orders'),
  req('items', 'INT64', 'Units sold in completed orders'),
  req('gross_revenue_minor', 'INT64', 'Gross revenue of completed orders, minor units'),
  req('discount_minor', 'INT64', 'Discounts of completed orders, minor units'),
  req('refund_minor', 'INT64', 'Amounts refunded or cancelled in the bucket, minor units'),
  req('net_revenue_minor', 'INT64', 'Completed net revenue minus refund_minor, minor units'),
  req('refunds', 'INT64', 'Orders whose latest status event in the bucket is a refund'),
  req('cancellations', 'INT64', 'Orders whose latest status event in the bucket is a cancellation'),
  req('online_orders', 'INT64', 'Completed orders from source online or web'),
  req('pos_orders', 'INT64', 'Completed orders from source pos'),
  req('pickup_orders', 'INT64', 'Completed pickup orders'),
  req('delivery_orders', 'INT64', 'Completed delivery orders'),
  req('dine_in_orders', 'INT64', 'Completed dine-in orders'),
  opt('average_order_value_minor', 'FLOAT64', 'Completed net revenue per completed order; null without orders'),
];

const trafficColumns: Column[] = [
  req('page_views', 'INT64', 'Page views'),
  req('visitors', 'INT64', 'Distinct visitors of page views and track events (exact at this grain)'),
  req('sessions', 'INT64', 'Distinct sessions of page views and track events (exact at this grain)'),
  req('orders_with_session', 'INT64', 'Completed orders that carry a session id'),
  opt('orders_per_session', 'FLOAT64', 'orders_with_session per session; null without sessions'),
];

export const martHourlyStoreSales: TableDef = {
  id: 'marts.mart_hourly_store_sales',
  description: 'Sales per merchant, store and UTC hour; store_id is null for orders without a store.',
  partition: { column: 'hour_start', granularity: 'DAY' },
  clustering: ['merchant_id', 'store_id'],
  uniqueKey: ['merchant_id', 'store_id', 'hour_start'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    opt('store_id', 'STRING', 'Store; null for orders without a store'),
    req('hour_start', 'TIMESTAMP', 'Start of the UTC hour'),
    ...salesColumns,
  ],
};

export const martHourlyProductSales: TableDef = {
  id: 'marts.mart_hourly_product_sales',
  description: 'Units and revenue of completed order lines per merchant, store, sku and UTC hour.',
  partition: { column: 'hour_start', granularity: 'DAY' },
  clustering: ['merchant_id', 'sku', 'store_id'],
  uniqueKey: ['merchant_id', 'store_id', 'sku', 'hour_start'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    opt('store_id', 'STRING', 'Store; null for orders without a store'),
    req('sku', 'STRING', 'SKU'),
    req('hour_start', 'TIMESTAMP', 'Start of the UTC hour'),
    req('category', 'STRING', 'Product category (greatest seen in the bucket)'),
    req('units', 'INT64', 'Units sold'),
    req('orders', 'INT64', 'Completed orders containing the sku'),
    req('gross_revenue_minor', 'INT64', 'Quantity × unit price, minor units'),
    req('discount_minor', 'INT64', 'Line discounts, minor units'),
    req('net_revenue_minor', 'INT64', 'Gross revenue minus line discounts, minor units'),
  ],
};

export const martHourlyTraffic: TableDef = {
  id: 'marts.mart_hourly_traffic',
  description: 'Web traffic per merchant and UTC hour.',
  partition: { column: 'hour_start', granularity: 'DAY' },
  clustering: ['merchant_id'],
  uniqueKey: ['merchant_id', 'hour_start'],
  columns: [req('merchant_id', 'STRING', 'Merchant'), req('hour_start', 'TIMESTAMP', 'Start of the UTC hour'), ...trafficColumns],
};

const breakdownColumns: Column[] = [
  req('page_views', 'INT64', 'Page views with this dimension value'),
  req('visitors', 'INT64', 'Distinct visitors of those page views (exact at this grain)'),
  req('sessions', 'INT64', 'Distinct sessions of those page views (exact at this grain)'),
];

export const martHourlyTrafficBreakdown: TableDef = {
  id: 'marts.mart_hourly_traffic_breakdown',
  description: 'Page views per merchant, dimension (page, referrer, device, country), value and UTC hour.',
  partition: { column: 'hour_start', granularity: 'DAY' },
  clustering: ['merchant_id', 'dimension', 'dimension_value'],
  uniqueKey: ['merchant_id', 'dimension', 'dimension_value', 'hour_start'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('dimension', 'STRING', 'page | referrer | device | country'),
    req('dimension_value', 'STRING', "URL path, referring host ('(direct)', '(internal)'), device, or country ('(unknown)')"),
    req('hour_start', 'TIMESTAMP', 'Start of the UTC hour'),
    ...breakdownColumns,
  ],
};

export const martHourlyStoreInventory: TableDef = {
  id: 'marts.mart_hourly_store_inventory',
  description: 'Closing stock per merchant, store, sku and UTC hour, carried forward from earlier hours.',
  partition: { column: 'hour_start', granularity: 'DAY' },
  clustering: ['merchant_id', 'store_id', 'sku'],
  uniqueKey: ['merchant_id', 'store_id', 'sku', 'hour_start'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('store_id', 'STRING', 'Store'),
    req('sku', 'STRING', 'SKU or raw material'),
    req('hour_start', 'TIMESTAMP', 'Start of the UTC hour'),
    req('closing_quantity', 'INT64', 'Last quantity on hand at or before the end of the hour'),
    req('low_stock', 'INT64', '1 when closing_quantity is below the low-stock threshold, else 0'),
    req('last_event_at', 'TIMESTAMP', 'Event time of the inventory event that set closing_quantity'),
  ],
};

export const martDailyMerchantSales: TableDef = {
  id: 'marts.mart_daily_merchant_sales',
  description: "Sales per merchant and merchant-local day (the merchant's time zone).",
  partition: { column: 'local_date', granularity: 'DAY' },
  clustering: ['merchant_id'],
  uniqueKey: ['merchant_id', 'local_date'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('local_date', 'DATE', "Day in the merchant's time zone"),
    req('time_zone', 'STRING', 'IANA time zone the day is taken in'),
    ...salesColumns,
  ],
};

export const martDailyStoreSales: TableDef = {
  id: 'marts.mart_daily_store_sales',
  description: "Sales per merchant, store and store-local day (the store's time zone).",
  partition: { column: 'local_date', granularity: 'DAY' },
  clustering: ['merchant_id', 'store_id'],
  uniqueKey: ['merchant_id', 'store_id', 'local_date'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('store_id', 'STRING', 'Store'),
    req('local_date', 'DATE', "Day in the store's time zone"),
    req('time_zone', 'STRING', 'IANA time zone the day is taken in'),
    ...salesColumns,
  ],
};

export const martDailyMerchantTraffic: TableDef = {
  id: 'marts.mart_daily_merchant_traffic',
  description: 'Web traffic per merchant and merchant-local day; distinct counts exact per day.',
  partition: { column: 'local_date', granularity: 'DAY' },
  clustering: ['merchant_id'],
  uniqueKey: ['merchant_id', 'local_date'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('local_date', 'DATE', "Day in the merchant's time zone"),
    req('time_zone', 'STRING', 'IANA time zone the day is taken in'),
    ...trafficColumns,
  ],
};

export const martDailyMerchantTrafficBreakdown: TableDef = {
  id: 'marts.mart_daily_merchant_traffic_breakdown',
  description: 'Page views per merchant, dimension (page, referrer, device, country), value and merchant-local day; distinct counts exact per day.',
  partition: { column: 'local_date', granularity: 'DAY' },
  clustering: ['merchant_id', 'dimension', 'dimension_value'],
  uniqueKey: ['merchant_id', 'dimension', 'dimension_value', 'local_date'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('dimension', 'STRING', 'page | referrer | device | country'),
    req('dimension_value', 'STRING', "URL path, referring host ('(direct)', '(internal)'), device, or country ('(unknown)')"),
    req('local_date', 'DATE', "Day in the merchant's time zone"),
    req('time_zone', 'STRING', 'IANA time zone the day is taken in'),
    ...breakdownColumns,
  ],
};

export const martHourlyPromotions: TableDef = {
  id: 'marts.mart_hourly_promotions',
  description:
    'Promotion definitions per merchant, promotion and UTC hour of announcement: the latest definition announced in the hour. ' +
    'Promotion performance takes each promotion\'s latest definition from here instead of reading raw events over the reprocessing horizon.',
  partition: { column: 'hour_start', granularity: 'DAY' },
  clustering: ['merchant_id', 'promo_id'],
  uniqueKey: ['merchant_id', 'promo_id', 'hour_start'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('promo_id', 'STRING', 'Promotion'),
    req('hour_start', 'TIMESTAMP', 'Start of the UTC hour the definition was announced in'),
    req('defined_at', 'TIMESTAMP', 'Event time of the promotion event'),
    req('event_id', 'STRING', 'Event id of the promotion event (breaks ties of defined_at)'),
    opt('promo_kind', 'STRING', 'Kind of promotion'),
    opt('promo_starts_at', 'TIMESTAMP', 'Start of the promotion'),
    opt('promo_ends_at', 'TIMESTAMP', 'End of the promotion (exclusive)'),
    rep('promo_store_ids', 'STRING', 'Stores of the promotion; empty means all stores'),
  ],
};

export const martDailyPromotionPerformance: TableDef = {
  id: 'marts.mart_daily_promotion_performance',
  description:
    'Sales of a store during a promotion on one store-local day, against the baseline: the same store, weekday and hours, ' +
    'averaged over the four most recent earlier weeks (up to eight back) in which that promotion did not run.',
  partition: { column: 'local_date', granularity: 'DAY' },
  clustering: ['merchant_id', 'promo_id', 'store_id'],
  uniqueKey: ['merchant_id', 'promo_id', 'store_id', 'local_date'],
  columns: [
    req('merchant_id', 'STRING', 'Merchant'),
    req('promo_id', 'STRING', 'Promotion'),
    req('store_id', 'STRING', 'Store the promotion ran in'),
    req('local_date', 'DATE', "Day in the store's time zone"),
    req('time_zone', 'STRING', 'IANA time zone of the store'),
    req('promo_kind', 'STRING', 'Kind of promotion'),
    req('window_start_at', 'TIMESTAMP', 'Start of the promotion within the day'),
    req('window_end_at', 'TIMESTAMP', 'End of the promotion within the day (exclusive)'),
    req('promo_orders', 'INT64', 'Completed orders of the store in the window'),
    req('promo_net_revenue_minor', 'INT64', 'Net revenue of the store in the window, minor units'),
    req('baseline_weeks', 'INT64', 'Earlier weeks averaged for the baseline (0-4)'),
    opt('baseline_orders', 'FLOAT64', 'Average completed orders in the same hours of the baseline weeks'),
    opt('baseline_net_revenue_minor', 'FLOAT64', 'Average net revenue in the same hours of the baseline weeks'),
    opt('net_revenue_uplift_minor', 'FLOAT64', 'promo_net_revenue_minor minus baseline_net_revenue_minor'),
    opt('net_revenue_lift_ratio', 'FLOAT64', 'promo_net_revenue_minor / baseline_net_revenue_minor; null when the baseline is 0 or missing'),
  ],
};

/** Every mart, in the dependency order the manifest builds them. */
export const MART_TABLES: TableDef[] = [
  martHourlyStoreSales,
  martHourlyProductSales,
  martHourlyTraffic,
  martHourlyTrafficBreakdown,
  martHourlyStoreInventory,
  martDailyMerchantSales,
  martDailyStoreSales,
  martDailyMerchantTraffic,
  martDailyMerchantTrafficBreakdown,
  martHourlyPromotions,
  martDailyPromotionPerformance,
];

export const martRuns: TableDef = {
  id: 'marts.mart_runs',
  description: 'One row per mart window a run rebuilt; the exporter exports these windows and freshness reads them.',
  partition: { column: 'started_at', granularity: 'DAY' },
  clustering: ['mart'],
  uniqueKey: ['run_id', 'mart', 'window_start'],
  columns: [
    req('run_id', 'STRING', 'Mart run'),
    req('kind', 'STRING', 'scheduled | build | reprocess'),
    req('mart', 'STRING', 'Mart file stem, e.g. mart_hourly_store_sales'),
    req('window_start', 'TIMESTAMP', 'Start of the rebuilt window (inclusive)'),
    req('window_end', 'TIMESTAMP', 'End of the rebuilt window (exclusive)'),
    req('started_at', 'TIMESTAMP', 'When the run started'),
    req('finished_at', 'TIMESTAMP', 'When the window was rebuilt'),
    opt('arrivals_from', 'TIMESTAMP', 'Scheduled runs: the arrivals the run read were received at or after this instant'),
    opt('arrivals_through', 'TIMESTAMP', 'Scheduled runs: arrivals received before this instant are covered'),
    opt('finalized_through', 'TIMESTAMP', 'Hours ending at or before this instant are final after this run'),
    opt('all_from', 'TIMESTAMP', 'Every merchant\'s rows of the window from this instant on were rebuilt (the window start for a range build)'),
    rep('merchants', 'STRING', 'Merchants whose cells the window rebuilt (empty for a range build)'),
    rep('cells', 'STRING', 'Cells the window rebuilt: merchant|YYYY-MM-DDTHH (hourly marts) or merchant|YYYY-MM-DD (daily marts)'),
  ],
};

export const martRunRows: TableDef = {
  id: 'marts.mart_run_rows',
  description:
    'The rows each window of a run held just before its rebuild, as their series key columns and a fingerprint of their exported values, so the exporter exports only the rows a rebuild changed and deletes the buckets that vanished.',
  uniqueKey: ['run_id', 'mart', 'window_start', 'merchant_id', 'store_id', 'sku', 'dimension', 'dimension_value', 'promo_id', 'hour_start', 'local_date'],
  partition: { column: 'started_at', granularity: 'DAY' },
  clustering: ['mart', 'merchant_id'],
  columns: [
    req('run_id', 'STRING', 'Mart run'),
    req('mart', 'STRING', 'Mart file stem'),
    req('started_at', 'TIMESTAMP', 'When the run started'),
    req('window_start', 'TIMESTAMP', 'Start of the window the row belonged to (with run_id and mart, the window of marts.mart_runs)'),
    req('merchant_id', 'STRING', 'Merchant'),
    opt('store_id', 'STRING', 'Store, for marts keyed by store'),
    opt('sku', 'STRING', 'SKU, for marts keyed by sku'),
    opt('dimension', 'STRING', 'Traffic breakdown dimension, for the breakdown marts'),
    opt('dimension_value', 'STRING', 'Value of the breakdown dimension'),
    opt('promo_id', 'STRING', 'Promotion, for promotion performance'),
    opt('hour_start', 'TIMESTAMP', 'UTC hour, for hourly marts'),
    opt('local_date', 'DATE', 'Local date, for daily marts'),
    req('row_hash', 'INT64', 'FARM_FINGERPRINT of the row\'s exported values (its series metrics) as they were'),
  ],
};

export const martExports: TableDef = {
  id: 'marts.mart_exports',
  description:
    'One row per mart run and range of merchants the exporter exported to the series store. A scheduled run with no row covering a merchant range is exported again by the next export (pipeline/marts/export-log.ts): a run whose script or export failed.',
  uniqueKey: ['run_id', 'merchant_from'],
  partition: { column: 'run_started_at', granularity: 'DAY' },
  clustering: ['run_id'],
  columns: [
    req('run_id', 'STRING', 'Mart run exported (marts.mart_runs)'),
    req('run_started_at', 'TIMESTAMP', 'The run\'s started_at'),
    req('merchant_from', 'STRING', 'First merchant id of the exported range (inclusive; empty: the first merchant)'),
    opt('merchant_to', 'STRING', 'End of the exported range (exclusive); null: through the last merchant'),
    req('exported_at', 'TIMESTAMP', 'When the range was exported'),
  ],
};

/** Every table of the deployment: raw, dims, marts (with the run log and the export log). */
export const ALL_TABLES: TableDef[] = [...RAW_TABLES, ...DIM_TABLES, ...MART_TABLES, martRuns, martRunRows, martExports];
