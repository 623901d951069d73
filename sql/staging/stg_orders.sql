-- stg_orders: accepted order events with what each adds to sales, one row per (merchant_id, event_id).
-- grain: one row per merchant and order event id (the copy received first, from stg_events)
-- The one statement of an order event's sales facts, read by the hourly store, daily store and daily
-- merchant marts; each mart ranks status changes and sums these rows in its own bucket (UTC hour,
-- store-local or merchant-local day). The ranking and the sums stay in the marts on purpose: a view is
-- inlined into the query that reads it (https://cloud.google.com/bigquery/docs/views-intro), and a
-- mart's event_ts bounds prune raw.events only while they reach its partitioning column unwrapped
-- (https://cloud.google.com/bigquery/docs/querying-partitioned-tables) — a window function or GROUP BY
-- here, partitioned by the bucket instead of event_ts, would stop them. So this view is row-wise, and
-- holds no derived column that not every sales mart reads (local dates stay in the daily marts).
-- A completed order counts in its bucket; a refund or cancellation is a later order event of the same
-- order id (is_status_change) whose refund_minor counts, negative, in the bucket it happens in:
-- net revenue = completed_net_minor − refund_minor, summed.
create or replace view staging.stg_orders as
with source as (
  select *
  from staging.stg_events
  where event_type = 'order'
),

final as (
  select
    merchant_id,
    store_id,
    event_id,
    event_ts,
    order_id,
    order_status,
    order_status <> 'completed' as is_status_change,
    timestamp_trunc(event_ts, hour) as hour_start,
    merchant_time_zone,
    store_time_zone,
    case when order_status = 'completed' then 1 else 0 end as orders,
    case when order_status = 'completed' then coalesce(item_count, 0) else 0 end as items,
    case when order_status = 'completed' then coalesce(gross_minor, 0) else 0 end as gross_revenue_minor,
    case when order_status = 'completed' then coalesce(discount_minor, 0) else 0 end as discount_minor,
    case when order_status = 'completed' then coalesce(net_minor, 0) else 0 end as completed_net_minor,
    case when order_status <> 'completed' then coalesce(refund_minor, 0) else 0 end as refund_minor,
    case when order_status = 'completed' and source in ('online', 'web') then 1 else 0 end as online_orders,
    case when order_status = 'completed' and source = 'pos' then 1 else 0 end as pos_orders,
    case when order_status = 'completed' and fulfilment = 'pickup' then 1 else 0 end as pickup_orders,
    case when order_status = 'completed' and fulfilment = 'delivery' then 1 else 0 end as delivery_orders,
    case when order_status = 'completed' and fulfilment = 'dine_in' then 1 else 0 end as dine_in_orders
  -- aliased: unqualified, the column `source` would name this CTE's rows
  from source as order_events
)

select * from final
