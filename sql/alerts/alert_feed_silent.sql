-- alert_feed_silent
-- grain: one row per store that usually takes POS orders in the hour of @window_end, with its last POS receipt
-- reads: marts.mart_hourly_store_sales for the 4 weeks before @window_end (bounded); staging.stg_events
--   (raw.events) for POS events of [@window_start, @window_end) only; dims.stores
--
-- A store's usual trading hours are learned from its own history: the hour of @window_end counts as
-- usual when the same local weekday and hour had POS orders in at least 3 of the 4 weeks before (so a
-- DST switch does not move a store's opening hours by one). The evaluator runs this on a schedule
-- with @window_end = now and @window_start = now - 1 day, and fires when last_pos_received_at is
-- older than the rule's silent_minutes (or absent). Stores outside their usual hours are left out:
-- a closed store is not silent, and an alert already open stays open until POS batches come back.
with stores as (
  select merchant_id, store_id, time_zone
  from dims.stores
),

current_hour as (
  select
    stores.merchant_id,
    stores.store_id,
    datetime(timestamp_trunc(@window_end, hour), stores.time_zone) as local_hour
  from stores
),

-- The UTC hours that can carry the current local weekday-hour 1-4 weeks back (offsets change by at
-- most an hour), so local times are computed for those only, not for 4 weeks of rows.
near_hours as (
  select distinct timestamp_add(timestamp_sub(timestamp_trunc(@window_end, hour), interval 7 * week_back day), interval shift hour) as hour_start
  from unnest([1, 2, 3, 4]) as week_back
  cross join unnest([-2, -1, 0, 1, 2]) as shift
),

pos_hours as (
  select
    sales.merchant_id,
    sales.store_id,
    datetime(sales.hour_start, stores.time_zone) as local_hour
  from marts.mart_hourly_store_sales as sales
  inner join near_hours
    on near_hours.hour_start = sales.hour_start
  inner join stores
    on stores.merchant_id = sales.merchant_id
    and stores.store_id = sales.store_id
  where sales.hour_start >= timestamp_sub(@window_end, interval 29 day)
    and sales.hour_start < timestamp_sub(@window_end, interval 6 day)
    and sales.pos_orders > 0
),

usual as (
  select
    current_hour.merchant_id,
    current_hour.store_id,
    count(distinct week_back) as trading_weeks
  from current_hour
  cross join unnest([1, 2, 3, 4]) as week_back
  inner join pos_hours
    on pos_hours.merchant_id = current_hour.merchant_id
    and pos_hours.store_id = current_hour.store_id
    and pos_hours.local_hour = datetime_sub(current_hour.local_hour, interval 7 * week_back day)
  group by current_hour.merchant_id, current_hour.store_id
  having count(distinct week_back) >= 3
),

last_pos as (
  select
    merchant_id,
    store_id,
    max(received_at) as last_pos_received_at
  from staging.stg_events
  where source = 'pos'
    and store_id is not null
    and event_ts >= @window_start
    and event_ts < @window_end
    and received_at < @window_end
  group by merchant_id, store_id
),

final as (
  select
    usual.merchant_id,
    usual.store_id,
    usual.trading_weeks,
    last_pos.last_pos_received_at
  from usual
  left join last_pos
    on last_pos.merchant_id = usual.merchant_id
    and last_pos.store_id = usual.store_id
)

select * from final
