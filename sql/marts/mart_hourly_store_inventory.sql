-- mart_hourly_store_inventory
-- grain: one row per merchant, store, sku and UTC hour, from the hour of the first inventory event of the store and sku on
-- partition: hour_start (day)
-- clustering: merchant_id, store_id, sku
-- unique key: merchant_id, store_id, sku, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on. A late event changes every
--   later hour of its store and sku, so a scheduled run's cells run from a merchant's first touched
--   hour to @all_from, and every merchant is extended from @all_from to the hour in progress.
--
-- closing_quantity is the quantity on hand of the last inventory event at or before the end of the
-- hour, ties broken by (event_ts, event_id), carried forward from before the window. Inventory
-- events without a store are ignored.
--
-- The read is bounded: raw events of the rebuilt hours only, plus a carry-in per store and sku: this
-- mart's own row for the hour before each merchant's first rebuilt hour (closing_quantity and
-- last_event_at are exactly the closing of everything before it). Only a range build (@carry_from
-- before the window: the reprocessing horizon) reads raw for a store and sku without such a row; a
-- scheduled run passes @carry_from = @window_start, so that read is empty and BigQuery prunes it to
-- no partition (a constant filter). Without the bound every hourly run would read all history.
--
-- Why the row of the previous hour is right when a window is built:
--   - the previous hour's row was correct when it was built, and it only goes stale when an event at
--     or before that hour changes in raw; that hour is then touched, and every rule that rebuilds
--     after a raw change (the scheduled run from raw.arrivals, reprocess --revalidate) rebuilds this
--     mart from the first touched hour up to the hour in progress ('later_hours'), so no window starts
--     after a changed hour while leaving it behind;
--   - every scheduled run extends every merchant's stores and skus from @all_from (at or before the
--     previous run's finalized_through) to the hour in progress, so each has a row in every hour
--     before a later run's window (an interrupted run leaves its arrivals to the next one);
--   - the runner builds a mart's windows in time order (buildWindows sorts by start), so a later
--     window reads the hours an earlier window of the same run has just rebuilt;
--   - reprocess without --revalidate leaves raw unchanged, so the hour before its range is current;
--   - a mart never built before the window (a first build, or a range started later than the mart's
--     history) has no row there, and a range build's fallback carries in from raw instead.
-- A store and sku whose last event is before the horizon and that has no row in the previous hour
-- is not carried in: no rebuild reaches further back than the horizon.
merge into marts.mart_hourly_store_inventory as target
using (
with source as (
  select
    merchant_id,
    store_id,
    sku,
    event_id,
    event_ts,
    quantity_on_hand,
    timestamp_trunc(event_ts, hour) as event_hour
  from staging.stg_events
  where event_type = 'inventory'
    and store_id is not null
    and event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

settings as (
  -- 10 is the documented default threshold when the dimensions file sets none
  select coalesce(max(low_stock_threshold), 10) as low_stock_threshold
  from dims.settings
),

-- The closing of the hour before each merchant's first rebuilt hour, as this mart stored it: the
-- hour that is not rebuilt while the next one is.
previous_closings as (
  select
    merchant_id,
    store_id,
    sku,
    hour_start as bucket_hour,
    closing_quantity as quantity_on_hand,
    last_event_at as event_ts
  from marts.mart_hourly_store_inventory
  where hour_start >= timestamp_sub(@window_start, interval 1 hour)
    and hour_start < @window_end
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    and not (hour_start >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', hour_start)) in unnest(@cells)))
    and (timestamp_add(hour_start, interval 1 hour) >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', timestamp_add(hour_start, interval 1 hour))) in unnest(@cells)))
),

-- Stores and skus the mart has no row for before the window: their last event since @carry_from
-- (a range build: the reprocessing horizon before the window; a scheduled run: the window start,
-- so nothing — it carries in from the mart's own rows only).
earlier as (
  select
    merchant_id,
    store_id,
    sku,
    event_id,
    event_ts,
    quantity_on_hand
  from staging.stg_events
  where event_type = 'inventory'
    and store_id is not null
    and event_ts >= @carry_from
    and event_ts < @window_start
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

earlier_ranked as (
  select
    earlier.*,
    row_number() over (
      partition by earlier.merchant_id, earlier.store_id, earlier.sku
      order by earlier.event_ts desc, earlier.event_id desc
    ) as closing_rank
  from earlier
  left join previous_closings
    on previous_closings.merchant_id = earlier.merchant_id
    and previous_closings.store_id = earlier.store_id
    and previous_closings.sku = earlier.sku
  where previous_closings.merchant_id is null
),

-- Every store and sku known before the window falls into one carry-in bucket, the hour before it.
carry_in as (
  select
    merchant_id,
    store_id,
    sku,
    bucket_hour,
    quantity_on_hand,
    event_ts
  from previous_closings
  union all
  select
    merchant_id,
    store_id,
    sku,
    timestamp_sub(@window_start, interval 1 hour) as bucket_hour,
    quantity_on_hand,
    event_ts
  from earlier_ranked
  where closing_rank = 1
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, store_id, sku, event_hour
      order by event_ts desc, event_id desc
    ) as closing_rank
  from source
),

closings as (
  select merchant_id, store_id, sku, event_hour as bucket_hour, quantity_on_hand, event_ts
  from ranked
  where closing_rank = 1
  union all
  select merchant_id, store_id, sku, bucket_hour, quantity_on_hand, event_ts
  from carry_in
),

hours as (
  select hour_start
  from unnest(generate_timestamp_array(
    timestamp_sub(@window_start, interval 1 hour),
    timestamp_sub(@window_end, interval 1 hour),
    interval 1 hour
  )) as hour_start
),

items as (
  select distinct merchant_id, store_id, sku
  from closings
),

grid as (
  select
    items.merchant_id,
    items.store_id,
    items.sku,
    hours.hour_start,
    closings.quantity_on_hand,
    closings.event_ts
  from items
  cross join hours
  left join closings
    on closings.merchant_id = items.merchant_id
    and closings.store_id = items.store_id
    and closings.sku = items.sku
    and closings.bucket_hour = hours.hour_start
),

carried as (
  select
    merchant_id,
    store_id,
    sku,
    hour_start,
    last_value(quantity_on_hand ignore nulls) over (
      partition by merchant_id, store_id, sku
      order by hour_start
      rows between unbounded preceding and current row
    ) as closing_quantity,
    last_value(event_ts ignore nulls) over (
      partition by merchant_id, store_id, sku
      order by hour_start
      rows between unbounded preceding and current row
    ) as last_event_at
  from grid
),

final as (
  select
    carried.merchant_id,
    carried.store_id,
    carried.sku,
    carried.hour_start,
    carried.closing_quantity,
    case when carried.closing_quantity < settings.low_stock_threshold then 1 else 0 end as low_stock,
    carried.last_event_at
  from carried
  cross join settings
  where carried.hour_start >= @window_start
    and (carried.hour_start >= @all_from or (carried.merchant_id in unnest(@merchants) and concat(carried.merchant_id, '|', format_timestamp('%Y-%m-%dT%H', carried.hour_start)) in unnest(@cells)))
    and carried.closing_quantity is not null
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
  merchant_id, store_id, sku, hour_start, closing_quantity, low_stock, last_event_at
) values (
  rebuilt.merchant_id, rebuilt.store_id, rebuilt.sku, rebuilt.hour_start, rebuilt.closing_quantity,
  rebuilt.low_stock, rebuilt.last_event_at
)
