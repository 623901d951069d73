// The manifest of sql/: which statements exist, in dependency order, and what each rebuilds.
// The BigQuery scheduled query and the local runner both execute exactly these files, in this
// order: staging views (created once, replaced on deploy), then one MERGE per mart for each of its
// windows, then the assertions of the rebuilt marts.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  martDailyMerchantSales,
  martDailyMerchantTraffic,
  martDailyMerchantTrafficBreakdown,
  martDailyPromotionPerformance,
  martDailyStoreSales,
  martHourlyPromotions,
  martHourlyProductSales,
  martHourlyStoreInventory,
  martHourlyStoreSales,
  martHourlyTraffic,
  martHourlyTrafficBreakdown,
} from '../schema/marts.js';
import type { TableDef } from '../schema/types.js';

/**
 * How a mart's window follows from the hours a run found touched:
 * - `hours`: exactly the touched UTC hours;
 * - `local_days`: the local days overlapping the touched hours (the statement widens hours to days);
 * - `later_hours`: the touched hours and every later hour up to the newest (closing stock carries forward);
 * - `baseline_days`: the touched days and the days whose baseline weeks include them (57 days on).
 */
export type RebuildRule = 'hours' | 'local_days' | 'later_hours' | 'baseline_days';

export interface SqlFile {
  /** File stem, e.g. `mart_hourly_store_sales`; also the table name inside its dataset. */
  stem: string;
  /** Path from the repository root. */
  file: string;
}

export interface MartSpec extends SqlFile {
  table: TableDef;
  grain: 'hour' | 'day';
  rebuild: RebuildRule;
  /** Column holding the bucket: `hour_start` or `local_date`. */
  bucketColumn: 'hour_start' | 'local_date';
  /** Whether its rows become served series (exporter.ts seriesCellsOf); the others are read in BigQuery and Looker Studio only. */
  series: boolean;
}

const mart = (table: TableDef, grain: 'hour' | 'day', rebuild: RebuildRule, series = true): MartSpec => {
  const stem = table.id.split('.')[1]!;
  return { stem, file: `sql/marts/${stem}.sql`, table, grain, rebuild, bucketColumn: grain === 'hour' ? 'hour_start' : 'local_date', series };
};

export const STAGING: SqlFile[] = [
  { stem: 'stg_events', file: 'sql/staging/stg_events.sql' },
  { stem: 'stg_order_lines', file: 'sql/staging/stg_order_lines.sql' },
  // read stg_events: created after it
  { stem: 'stg_orders', file: 'sql/staging/stg_orders.sql' },
  { stem: 'stg_page_views', file: 'sql/staging/stg_page_views.sql' },
];

/**
 * Marts in dependency order: each reads staging views and dimensions, and promotion performance also
 * reads the hourly store sales and the promotion definitions built before it.
 */
export const MARTS: MartSpec[] = [
  mart(martHourlyStoreSales, 'hour', 'hours'),
  mart(martHourlyProductSales, 'hour', 'hours'),
  mart(martHourlyTraffic, 'hour', 'hours'),
  mart(martHourlyTrafficBreakdown, 'hour', 'hours'),
  mart(martHourlyStoreInventory, 'hour', 'later_hours'),
  mart(martDailyMerchantSales, 'day', 'local_days'),
  mart(martDailyStoreSales, 'day', 'local_days'),
  mart(martDailyMerchantTraffic, 'day', 'local_days'),
  mart(martDailyMerchantTrafficBreakdown, 'day', 'local_days'),
  mart(martHourlyPromotions, 'hour', 'hours', false),
  mart(martDailyPromotionPerformance, 'day', 'baseline_days'),
];

export const REPORTING: SqlFile[] = [
  'rpt_hourly_sales',
  'rpt_daily_sales',
  'rpt_daily_store_sales',
  'rpt_hourly_product_sales',
  'rpt_daily_traffic',
  'rpt_daily_traffic_breakdown',
  'rpt_store_inventory',
  'rpt_promotion_performance',
].map((stem) => ({ stem, file: `sql/reporting/${stem}.sql` }));

export interface AssertionSpec {
  stem: string;
  /** The mart it checks; it runs after each rebuild of that mart, bound to the same window. */
  mart: string;
  /** Path of a hand-written assertion; absent for one generated from the table (assertionSql). */
  file?: string;
}

export const ASSERTIONS: AssertionSpec[] = [
  // generated from each table's declared unique key
  ...MARTS.map((m) => ({ stem: `assert_${m.stem}__unique_key`, mart: m.stem })),
  ...[
    ['mart_hourly_store_sales', 'net_revenue'],
    ['mart_daily_merchant_sales', 'net_revenue'],
    ['mart_hourly_store_inventory', 'low_stock'],
  ].map(([m, check]) => ({ stem: `assert_${m}__${check}`, file: `sql/assertions/assert_${m}__${check}.sql`, mart: m! })),
];

/**
 * The unique-key assertion of a mart, from its table's declared key: rows of the rebuilt window
 * whose key occurs more than once. Zero rows means pass.
 */
export function uniqueKeyAssertion(spec: MartSpec): string {
  const key = spec.table.uniqueKey;
  if (!key?.length) throw new Error(`${spec.table.id} declares no unique key`);
  const merchants = ['merchant_id >= @merchant_from', 'merchant_id <= @merchant_to'];
  const bound =
    spec.grain === 'hour'
      ? ['hour_start >= @window_start', 'hour_start < @window_end', ...merchants]
      : [
          ...merchants,
          // the local days of the window in any zone lie within a day of its UTC dates
          'local_date >= date_sub(date(@window_start), interval 1 day)',
          'local_date <= date_add(date(@window_end), interval 1 day)',
        ];
  return [
    `-- assert_${spec.stem}__unique_key: rows of the rebuilt window whose unique key occurs more than once.`,
    `-- Generated from the unique key of ${spec.table.id} (pipeline/marts/manifest.ts). Zero rows means pass.`,
    'with source as (',
    `  select ${key.join(', ')}`,
    `  from ${spec.table.id}`,
    `  where ${bound.join('\n    and ')}`,
    '),',
    '',
    'final as (',
    '  select',
    ...key.map((k) => `    ${k},`),
    '    count(*) as row_count',
    '  from source',
    `  group by ${key.join(', ')}`,
    '  having count(*) > 1',
    ')',
    '',
    'select * from final',
    '',
  ].join('\n');
}

/** The text of an assertion: its file, or the one generated from its mart's table. */
export function assertionSql(a: AssertionSpec): string {
  return a.file ? readSql(a.file) : uniqueKeyAssertion(martSpec(a.mart));
}

export function martSpec(stem: string): MartSpec {
  const m = MARTS.find((x) => x.stem === stem);
  if (!m) throw new Error(`unknown mart ${stem}; known: ${MARTS.map((x) => x.stem).join(', ')}`);
  return m;
}

// In the source tree this module sits two folders below the root; a bundle (scripts/bundle.mjs, the
// export job's image) carries sql/ beside its own files.
const ROOT = new URL('../../', import.meta.url);
const BUNDLE_ROOT = new URL('./', import.meta.url);
const cache = new Map<string, string>();

/** Text of a file of sql/, by its path from the repository root. */
export function readSql(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    const path = fileURLToPath(new URL(file, ROOT));
    text = readFileSync(existsSync(path) ? path : fileURLToPath(new URL(file, BUNDLE_ROOT)), 'utf8');
    cache.set(file, text);
  }
  return text;
}
