-- mart_hourly_store_sales
-- grain: one row per merchant, store and UTC hour with at least one order event (store_id is null for orders without a store)
-- partition: hour_start (day)
-- clustering: merchant_id, store_id
-- unique key: merchant_id, store_id, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on
--
-- A completed order counts in the hour it happens. A refund or cancellation is a later order event
-- for the same order id, counted in its own hour with negative revenue:
-- net_revenue_minor = net of completed orders − refund_minor. For refunds and cancellations the
-- latest status event of each order in the bucket wins (ties broken by event_id).
merge into marts.mart_hourly_store_sales as target
using (
with source as (
  select *
  from staging.stg_orders
  where event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    -- the window's cells (a scheduled run), or every merchant from @all_from (a range build)
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, store_id, hour_start, order_id, is_status_change
      order by event_ts desc, event_id desc
    ) as status_rank
  from source
),

final as (
  select
    merchant_id,
    store_id,
    hour_start,
    sum(orders) as orders,
    sum(items) as items,
    sum(gross_revenue_minor) as gross_revenue_minor,
    sum(discount_minor) as discount_minor,
    sum(refund_minor) as refund_minor,
    sum(completed_net_minor) - sum(refund_minor) as net_revenue_minor,
    countif(order_status = 'refunded' and status_rank = 1) as refunds,
    countif(order_status = 'cancelled' and status_rank = 1) as cancellations,
    sum(online_orders) as online_orders,
    sum(pos_orders) as pos_orders,
    sum(pickup_orders) as pickup_orders,
    sum(delivery_orders) as delivery_orders,
    sum(dine_in_orders) as dine_in_orders,
    safe_divide(sum(completed_net_minor), sum(orders)) as average_order_value_minor
  from ranked
  group by merchant_id, store_id, hour_start
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
  merchant_id, store_id, hour_start, orders, items, gross_revenue_minor, discount_minor, refund_minor,
  net_revenue_minor, refunds, cancellations, online_orders, pos_orders, pickup_orders, delivery_orders,
  dine_in_orders, average_order_value_minor
) values (
  rebuilt.merchant_id, rebuilt.store_id, rebuilt.hour_start, rebuilt.orders, rebuilt.items,
  rebuilt.gross_revenue_minor, rebuilt.discount_minor, rebuilt.refund_minor, rebuilt.net_revenue_minor,
  rebuilt.refunds, rebuilt.cancellations, rebuilt.online_orders, rebuilt.pos_orders, rebuilt.pickup_orders,
  rebuilt.delivery_orders, rebuilt.dine_in_orders, rebuilt.average_order_value_minor
)
