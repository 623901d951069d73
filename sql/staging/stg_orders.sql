-- stg_orders: accepted order events with the per-event facts the sales marts add up, one row per
-- (merchant_id, event_id). The one statement of what an order event contributes to sales: the
-- hourly store, daily store and daily merchant marts each rank and sum these rows in their own
-- bucket. Row-wise only — no window function or aggregate — so a mart's filters on event_ts and
-- merchant_id reach stg_events (and raw.events' partitions and clusters) unchanged.
-- grain: one row per merchant and order event id (the copy received first)
-- A completed order counts in its own bucket; a refund or cancellation is a later order event for the
-- same order id (is_status_change) whose refund_minor counts, negative, in the bucket it happens in:
-- net_revenue_minor = net of a completed order, or − refund_minor of a status change.
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
