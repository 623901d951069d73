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
  select
    merchant_id,
    store_id,
    event_id,
    event_ts,
    source,
    order_id,
    order_status,
    fulfilment,
    item_count,
    gross_minor,
    discount_minor,
    net_minor,
    refund_minor,
    timestamp_trunc(event_ts, hour) as hour_start,
    order_status <> 'completed' as is_status_change
  from staging.stg_events
  where event_type = 'order'
    and event_ts >= @window_start
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

aggregated as (
  select
    merchant_id,
    store_id,
    hour_start,
    countif(order_status = 'completed') as orders,
    sum(case when order_status = 'completed' then coalesce(item_count, 0) else 0 end) as items,
    sum(case when order_status = 'completed' then coalesce(gross_minor, 0) else 0 end) as gross_revenue_minor,
    sum(case when order_status = 'completed' then coalesce(discount_minor, 0) else 0 end) as discount_minor,
    sum(case when order_status = 'completed' then coalesce(net_minor, 0) else 0 end) as completed_net_minor,
    sum(case when is_status_change then coalesce(refund_minor, 0) else 0 end) as refund_minor,
    countif(order_status = 'refunded' and status_rank = 1) as refunds,
    countif(order_status = 'cancelled' and status_rank = 1) as cancellations,
    countif(order_status = 'completed' and source in ('online', 'web')) as online_orders,
    countif(order_status = 'completed' and source = 'pos') as pos_orders,
    countif(order_status = 'completed' and fulfilment = 'pickup') as pickup_orders,
    countif(order_status = 'completed' and fulfilment = 'delivery') as delivery_orders,
    countif(order_status = 'completed' and fulfilment = 'dine_in') as dine_in_orders
  from ranked
  group by merchant_id, store_id, hour_start
),

final as (
  select
    merchant_id,
    store_id,
    hour_start,
    orders,
    items,
    gross_revenue_minor,
    discount_minor,
    refund_minor,
    completed_net_minor - refund_minor as net_revenue_minor,
    refunds,
    cancellations,
    online_orders,
    pos_orders,
    pickup_orders,
    delivery_orders,
    dine_in_orders,
    safe_divide(completed_net_minor, orders) as average_order_value_minor
  from aggregated
)

select * from final
) as rebuilt
on false
when not matched by source
  and target.hour_start >= @window_start
  and target.hour_start < @window_end
  and (target.hour_start >= @all_from or (target.merchant_id in unnest(@merchants) and concat(target.merchant_id, '|', format_timestamp('%Y-%m-%dT%H', target.hour_start)) in unnest(@cells)))
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
