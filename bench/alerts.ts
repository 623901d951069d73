// Alerts figure: evaluating the mart rules of 10,000 merchants after one mart run (one finalized
// hour), on the local runtime (DuckDB + LMDB). Each merchant has two stores and three rules (low
// stock on every store and sku, a drop per store, a drop of the total); the sales mart holds 12
// trading hours a day of the 4 weeks the baseline reads and the inventory mart five skus per store.
// Baseline, measured in the same run on the same data: one plain aggregate over the very mart rows
// the alert SQL reads (the floor of reading them at all). Also timed: the re-run of the same
// evaluation (every transition already claimed; nothing queued).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore } from '../adapters/local/series-store.js';
import { LocalWarehouse } from '../adapters/local/warehouse.js';
import { evaluateMartAlerts, type AlertQueue } from '../pipeline/alerts/evaluate.js';
import type { AlertRule } from '../pipeline/alerts/rules.js';
import type { AlertPayload } from '../pipeline/alerts/state.js';
import { createAlertStore } from '../pipeline/alerts/store.js';
import { toDuckDb } from '../pipeline/sql/dialect.js';

export interface AlertsFigure {
  merchants: number;
  stores: number;
  rules: number;
  sales_mart_rows: number;
  inventory_mart_rows: number;
  alert_sql_rows: number;
  transitions: number;
  evaluate_s: number;
  rerun_s: number;
  baseline_scan_s: number;
  method: string;
}

const ZONES = ['America/New_York', 'Europe/London', 'Asia/Kolkata', 'Australia/Sydney', 'America/Los_Angeles'];
const HOUR = new Date('2026-03-09T17:00:00Z');
const DAY_MS = 86_400_000;
const seconds = (t0: number) => Number(((performance.now() - t0) / 1000).toFixed(2));

async function fill(wh: LocalWarehouse, table: string, select: string, fixed: Record<string, string>): Promise<void> {
  const [schema, name] = table.split('.');
  const columns = await wh.query<{ column_name: string; data_type: string }>(
    `select column_name, data_type from information_schema.columns where table_schema = '${schema}' and table_name = '${name}' order by ordinal_position`,
  );
  const list = columns.map((c) => fixed[c.column_name] ?? (/INT|DOUBLE|DECIMAL/.test(c.data_type) ? '1' : /TIMESTAMP/.test(c.data_type) ? 'hour_start' : "'x'"));
  await wh.run(`insert into ${table} (${columns.map((c) => c.column_name).join(', ')}) select ${list.join(', ')} from (${select}) as src`);
}

export async function measureAlerts(opts: { merchants: number; log: (s: string) => void }): Promise<AlertsFigure> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-alerts-'));
  const wh = await LocalWarehouse.open({ path: ':memory:', translate: toDuckDb });
  const series = openLmdbSeriesStore({ path: join(dir, 'series.mdb') });
  try {
    const m = opts.merchants;
    opts.log(`  ${m} merchants, ${2 * m} stores: filling the dimensions and 4 weeks of sales mart rows`);
    await wh.run(`insert into dims.merchants (merchant_id, name, time_zone, currency)
      select 'm' || cast(i as string), 'M', ['${ZONES.join("','")}'][i % ${ZONES.length} + 1], 'USD' from unnest(generate_series(0, ${m - 1})) as i`);
    await wh.run(`insert into dims.stores (merchant_id, store_id, name, city, region, time_zone)
      select 'm' || cast(i as string), 's' || cast(j as string), 'S', '', '', ['${ZONES.join("','")}'][i % ${ZONES.length} + 1]
      from unnest(generate_series(0, ${m - 1})) as i cross join unnest(generate_series(0, 1)) as j`);
    await wh.run('insert into dims.settings (low_stock_threshold) values (10)');
    // 12 trading hours a day (11:00-22:59 UTC) over the 29 days before the evaluated hour, and the hour itself.
    const hours = `select hour_start from unnest(generate_timestamp_array(timestamp '${new Date(HOUR.getTime() - 29 * DAY_MS).toISOString()}', timestamp '${HOUR.toISOString()}', interval 1 hour)) as hour_start where extract(hour from hour_start) between 11 and 22`;
    await fill(wh, 'marts.mart_hourly_store_sales', `select stores.merchant_id, stores.store_id, hours.hour_start, stores.k from (select merchant_id, store_id, hash(merchant_id || store_id) as k from dims.stores) as stores cross join (${hours}) as hours`, {
      merchant_id: 'merchant_id',
      store_id: 'store_id',
      hour_start: 'hour_start',
      // Revenue that varies by store and hour (and drops for some stores in the evaluated hour).
      net_revenue_minor: `case when hour_start = timestamp '${HOUR.toISOString()}' and k % 10 = 0 then 100 else 1000 + (k + extract(hour from hour_start)) % 5000 end`,
      average_order_value_minor: '1000.0',
    });
    await fill(wh, 'marts.mart_hourly_store_inventory', `select merchant_id, store_id, 'sku' || cast(n as string) as sku, timestamp '${HOUR.toISOString()}' as hour_start, hash(store_id || cast(n as string)) % 40 as q from dims.stores cross join unnest(generate_series(0, 4)) as n`, {
      merchant_id: 'merchant_id',
      store_id: 'store_id',
      sku: 'sku',
      hour_start: 'hour_start',
      closing_quantity: 'q',
      low_stock: 'case when q < 10 then 1 else 0 end',
      last_event_at: 'hour_start',
    });
    const [salesRows] = await wh.query<{ n: bigint }>('select count(*) as n from marts.mart_hourly_store_sales');
    const [invRows] = await wh.query<{ n: bigint }>('select count(*) as n from marts.mart_hourly_store_inventory');

    const alerts = createAlertStore(series);
    const rules: AlertRule[] = [
      { id: 'stock', kind: 'low_stock', enabled: true, store_id: '*', sku: '*' },
      { id: 'store-drop', kind: 'sales_drop', enabled: true, store_id: '*', fraction: 0.5, min_baseline_minor: 500 },
      { id: 'total-drop', kind: 'sales_drop', enabled: true, fraction: 0.7, min_baseline_minor: 1000 },
    ];
    for (let i = 0; i < m; i++) await alerts.putSettings({ merchant_id: `m${i}`, webhook_url: 'https://hooks.example.com/x', rules, signing_secret: 'whsec_bench' });

    const sent: AlertPayload[] = [];
    const queue: AlertQueue = { enqueue: async (p) => void sent.push(...p) };
    const window = { windowStart: HOUR, windowEnd: new Date(HOUR.getTime() + 3_600_000) };
    opts.log('  evaluating the mart rules for one finalized hour');
    let t0 = performance.now();
    const first = await evaluateMartAlerts({ warehouse: wh, alerts, queue }, window);
    const evaluate = seconds(t0);
    t0 = performance.now();
    const again = await evaluateMartAlerts({ warehouse: wh, alerts, queue }, window);
    const rerun = seconds(t0);
    if (again.queued !== 0) throw new Error(`a re-run queued ${again.queued} alerts`);
    t0 = performance.now();
    await wh.query(
      `select merchant_id, store_id, sum(net_revenue_minor) as net from marts.mart_hourly_store_sales
       where hour_start >= @from and hour_start < @to group by merchant_id, store_id`,
      { from: new Date(window.windowStart.getTime() - 29 * DAY_MS), to: window.windowEnd },
    );
    await wh.query('select merchant_id, store_id, sku, closing_quantity from marts.mart_hourly_store_inventory where hour_start >= @from and hour_start < @to', { from: window.windowStart, to: window.windowEnd });
    const baseline = seconds(t0);
    opts.log(`  evaluate ${evaluate} s (${first.rows} alert SQL rows, ${first.transitions} transitions), re-run ${rerun} s, baseline scan ${baseline} s`);
    return {
      merchants: m,
      stores: 2 * m,
      rules: first.rules,
      sales_mart_rows: Number(salesRows!.n),
      inventory_mart_rows: Number(invRows!.n),
      alert_sql_rows: first.rows,
      transitions: first.transitions,
      evaluate_s: evaluate,
      rerun_s: rerun,
      baseline_scan_s: baseline,
      method: 'evaluateMartAlerts over one finalized hour on DuckDB + LMDB (sql/alerts through the dialect layer, state and claims in the series store), vs one plain aggregate over the same mart rows',
    };
  } finally {
    await series.close();
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  }
}
