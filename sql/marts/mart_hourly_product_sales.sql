-- mart_hourly_product_sales
-- grain: one row per merchant, store, sku and UTC hour with at least one completed order line (store_id is null for orders without a store)
-- partition: hour_start (day)
-- clustering: merchant_id, sku, store_id
-- unique key: merchant_id, store_id, sku, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on
--
-- Lines of completed orders only: refunds carry an amount, not lines, and show in the sales marts.
merge into marts.mart_hourly_product_sales as target
using (
with source as (
  select
    merchant_id,
    store_id,
    sku,
    category,
    order_id,
    quantity,
    unit_price_minor,
    discount_minor,
    timestamp_trunc(event_ts, hour) as hour_start
  from staging.stg_order_lines
  where order_status = 'completed'
    and event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    -- the window's cells (a scheduled run), or every merchant from @all_from (a range build)
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

aggregated as (
  select
    merchant_id,
    store_id,
    sku,
    hour_start,
    max(category) as category,
    sum(quantity) as units,
    count(distinct order_id) as orders,
    sum(quantity * unit_price_minor) as gross_revenue_minor,
    sum(discount_minor) as discount_minor
  from source
  group by merchant_id, store_id, sku, hour_start
),

final as (
  select
    merchant_id,
    store_id,
    sku,
    hour_start,
    category,
    units,
    orders,
    gross_revenue_minor,
    discount_minor,
    gross_revenue_minor - discount_minor as net_revenue_minor
  from aggregated
)

select * from final
) as rebuilt
on false
when not matched by source
  and target.hour_start >= @window_start
  and target.hour_start < @window_end
  and (target.hour_start >= @all_from or (target.merchant_id in unnest(@merchants) and concat(target.merchant_id, '|', format_timestamp('%Y-%m-%dT%H', target.hour_start)) in unnest(@cells)))
  and target.merchant_id >= @merchant_from
  and target.merchant_id <= @merchant_to
  then delete
when not matched then insert (
  merchant_id, store_id, sku, hour_start, category, units, orders, gross_revenue_minor, discount_minor,
  net_revenue_minor
) values (
  rebuilt.merchant_id, rebuilt.store_id, rebuilt.sku, rebuilt.hour_start, rebuilt.category, rebuilt.units,
  rebuilt.orders, rebuilt.gross_revenue_minor, rebuilt.discount_minor, rebuilt.net_revenue_minor
)
