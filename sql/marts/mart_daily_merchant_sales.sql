-- mart_daily_merchant_sales
-- grain: one row per merchant and merchant-local day with at least one order event
-- partition: local_date
-- clustering: merchant_id
-- unique key: merchant_id, local_date
-- rebuild window: every local day overlapping [@window_start, @window_end), each in its own time zone,
--   that is a cell of @cells (merchant|YYYY-MM-DD) or begins after @all_from
--
-- Days are taken in the merchant's time zone, as recorded on each event at ingest.
-- Daily totals are computed from raw events in the local day, never summed from hours (a +05:30
-- day does not tile into UTC hours). A completed order counts on the day it happens; a refund or
-- cancellation counts on its own day with negative revenue:
-- net_revenue_minor = net of completed orders − refund_minor. For refunds and cancellations the
-- latest status event of each order in the day wins (ties broken by event_id).
merge into marts.mart_daily_merchant_sales as target
using (
with source as (
  select
    *,
    merchant_time_zone as time_zone,
    -- the event's UTC quarter hour: integer arithmetic, no time zone
    div(unix_micros(event_ts), 900000000) as quarter_hour
  from staging.stg_orders
  -- every local day overlapping the window lies within 48 hours of it (offsets are at most ±14 h)
  where event_ts >= timestamp_sub(@window_start, interval 48 hour)
    and event_ts < timestamp_add(@window_end, interval 48 hour)
    -- a scheduled run's window reads the merchants of its cells only: the leading clustering column
    -- against constants, so BigQuery prunes blocks
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

-- Local days are looked up once per (time zone, UTC quarter hour) with events, not converted per
-- event. Every offset of today's zones, and so every local midnight and every DST switch, falls on a
-- UTC quarter hour (+05:30, +05:45, Lord Howe's 30-minute DST), so all instants of one quarter hour
-- share a local day: the day of its first and of its last event. Where those two differ (a local
-- mean time of a zone's early history), each event of the quarter hour takes its own conversion.
-- A second reference of `source` scans no other columns or partitions (billed once per table).
zone_quarter_hours as (
  select
    time_zone,
    quarter_hour,
    date(min(event_ts), time_zone) as first_local_date,
    date(max(event_ts), time_zone) as last_local_date
  from source
  group by time_zone, quarter_hour
),

-- the window's first and last local day, and @all_from's, once per time zone
zone_window_days as (
  select
    time_zone,
    date(@window_start, time_zone) as window_first_date,
    date(timestamp_sub(@window_end, interval 1 microsecond), time_zone) as window_last_date,
    date(@all_from, time_zone) as all_from_date
  from (select distinct time_zone from zone_quarter_hours) as zones
),

located as (
  select
    source.*,
    case
      when zone_quarter_hours.first_local_date = zone_quarter_hours.last_local_date then zone_quarter_hours.first_local_date
      else date(source.event_ts, source.time_zone)
    end as local_date,
    zone_window_days.window_first_date,
    zone_window_days.window_last_date,
    zone_window_days.all_from_date
  from source
  inner join zone_quarter_hours
    on zone_quarter_hours.time_zone = source.time_zone
    and zone_quarter_hours.quarter_hour = source.quarter_hour
  inner join zone_window_days
    on zone_window_days.time_zone = source.time_zone
),

in_window as (
  select *
  from located
  where local_date >= window_first_date
    and local_date <= window_last_date
    -- the window's cells (merchant|local date), or every merchant's days from @all_from (a range build)
    and (local_date >= all_from_date or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', cast(local_date as string)) in unnest(@cells)))
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, local_date, order_id, is_status_change
      order by event_ts desc, event_id desc
    ) as status_rank
  from in_window
),

final as (
  select
    merchant_id,
    local_date,
    max(time_zone) as time_zone,
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
  group by merchant_id, local_date
)

select * from final
) as rebuilt
on false
when not matched by source
  and target.local_date >= date_sub(date(@window_start), interval 1 day)
  and target.local_date <= date_add(date(@window_end), interval 1 day)
  and target.local_date >= date(@window_start, target.time_zone)
  and target.local_date <= date(timestamp_sub(@window_end, interval 1 microsecond), target.time_zone)
  and (target.local_date >= date(@all_from, target.time_zone) or (target.merchant_id in unnest(@merchants) and concat(target.merchant_id, '|', cast(target.local_date as string)) in unnest(@cells)))
  and target.merchant_id >= @merchant_from
  and target.merchant_id <= @merchant_to
  then delete
when not matched then insert (
  merchant_id, local_date, time_zone, orders, items, gross_revenue_minor, discount_minor, refund_minor,
  net_revenue_minor, refunds, cancellations, online_orders, pos_orders, pickup_orders, delivery_orders,
  dine_in_orders, average_order_value_minor
) values (
  rebuilt.merchant_id, rebuilt.local_date, rebuilt.time_zone, rebuilt.orders, rebuilt.items,
  rebuilt.gross_revenue_minor, rebuilt.discount_minor, rebuilt.refund_minor, rebuilt.net_revenue_minor,
  rebuilt.refunds, rebuilt.cancellations, rebuilt.online_orders, rebuilt.pos_orders, rebuilt.pickup_orders,
  rebuilt.delivery_orders, rebuilt.dine_in_orders, rebuilt.average_order_value_minor
)
