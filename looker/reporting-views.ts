// The reporting-view contract: which views analysts and Looker Studio read, at what grain, keyed by
// which columns, how fresh. The views themselves are sql/reporting/<stem>.sql (listed by
// pipeline/marts/manifest.ts); infra-cdktf deploys them as authorized views in the `reporting`
// dataset, and the Looker Studio report binds one data source per view (alias = stem).
export interface ReportingView {
  /** View name in the `reporting` dataset, file stem in sql/reporting/, and Linking API alias. */
  stem: string;
  title: string;
  /** Mart the view reads (marts dataset). */
  mart: string;
  grain: string;
  /** Columns that identify a row at that grain. */
  keyColumns: string[];
  /** Column Looker Studio uses as the date dimension. */
  dateColumn: 'hour_start' | 'local_date';
  freshness: string;
}

const HOURLY_FRESHNESS = 'Hour H appears, final, after the run at H+1:05 (a few minutes later); late events revise it in the next hourly run.';
const DAILY_FRESHNESS = "A local day is final after the first hourly run after that day's local midnight; late events revise it in the next run.";

export const REPORTING_VIEWS: ReportingView[] = [
  {
    stem: 'rpt_hourly_sales',
    title: 'Hourly sales by store',
    mart: 'mart_hourly_store_sales',
    grain: 'one row per merchant, store and UTC hour',
    keyColumns: ['merchant_id', 'store_id', 'hour_start'],
    dateColumn: 'hour_start',
    freshness: HOURLY_FRESHNESS,
  },
  {
    stem: 'rpt_daily_sales',
    title: 'Daily sales by merchant',
    mart: 'mart_daily_merchant_sales',
    grain: 'one row per merchant and merchant-local day',
    keyColumns: ['merchant_id', 'local_date'],
    dateColumn: 'local_date',
    freshness: DAILY_FRESHNESS,
  },
  {
    stem: 'rpt_daily_store_sales',
    title: 'Daily sales by store',
    mart: 'mart_daily_store_sales',
    grain: 'one row per merchant, store and store-local day',
    keyColumns: ['merchant_id', 'store_id', 'local_date'],
    dateColumn: 'local_date',
    freshness: DAILY_FRESHNESS,
  },
  {
    stem: 'rpt_hourly_product_sales',
    title: 'Hourly product sales',
    mart: 'mart_hourly_product_sales',
    grain: 'one row per merchant, store, sku and UTC hour',
    keyColumns: ['merchant_id', 'store_id', 'sku', 'hour_start'],
    dateColumn: 'hour_start',
    freshness: HOURLY_FRESHNESS,
  },
  {
    stem: 'rpt_daily_traffic',
    title: 'Daily web traffic',
    mart: 'mart_daily_merchant_traffic',
    grain: 'one row per merchant and merchant-local day',
    keyColumns: ['merchant_id', 'local_date'],
    dateColumn: 'local_date',
    freshness: DAILY_FRESHNESS,
  },
  {
    stem: 'rpt_daily_traffic_breakdown',
    title: 'Daily web traffic by page, referrer, device and country',
    mart: 'mart_daily_merchant_traffic_breakdown',
    grain: 'one row per merchant, dimension, dimension value and merchant-local day',
    keyColumns: ['merchant_id', 'dimension', 'dimension_value', 'local_date'],
    dateColumn: 'local_date',
    freshness: DAILY_FRESHNESS,
  },
  {
    stem: 'rpt_store_inventory',
    title: 'Closing stock by store and sku',
    mart: 'mart_hourly_store_inventory',
    grain: 'one row per merchant, store, sku and UTC hour',
    keyColumns: ['merchant_id', 'store_id', 'sku', 'hour_start'],
    dateColumn: 'hour_start',
    freshness: `${HOURLY_FRESHNESS} A late stock event revises every later hour of its store and sku.`,
  },
  {
    stem: 'rpt_promotion_performance',
    title: 'Promotion performance against baseline',
    mart: 'mart_daily_promotion_performance',
    grain: 'one row per merchant, promotion, store and store-local day',
    keyColumns: ['merchant_id', 'promo_id', 'store_id', 'local_date'],
    dateColumn: 'local_date',
    freshness: `${DAILY_FRESHNESS} Baselines are revised for 57 days after a late order.`,
  },
];
