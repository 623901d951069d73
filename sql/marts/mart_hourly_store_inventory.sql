-- mart_hourly_store_inventory
-- grain: one row per merchant, store, sku and UTC hour, from the hour of the first inventory event of the store and sku on
-- partition: hour_start (day)
-- clustering: merchant_id, store_id, sku
-- unique key: merchant_id, store_id, sku, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end); both are whole hours. A late event
--   changes every later hour of its store and sku, so scheduled runs extend this window to the newest hour.
--
-- closing_quantity is the quantity on hand of the last inventory event at or before the end of the
-- hour, ties broken by (event_ts, event_id), carried forward from before the window. Inventory
-- events without a store are ignored.
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
    and event_ts < @window_end
),

settings as (
  -- 10 is the documented default threshold when the dimensions file sets none
  select coalesce(max(low_stock_threshold), 10) as low_stock_threshold
  from dims.settings
),

-- Every event before the window falls into one carry-in bucket, the hour before the window.
bucketed as (
  select
    *,
    case
      when event_hour < @window_start then timestamp_sub(@window_start, interval 1 hour)
      else event_hour
    end as bucket_hour
  from source
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, store_id, sku, bucket_hour
      order by event_ts desc, event_id desc
    ) as closing_rank
  from bucketed
),

closings as (
  select merchant_id, store_id, sku, bucket_hour, quantity_on_hand, event_ts
  from ranked
  where closing_rank = 1
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
    and carried.closing_quantity is not null
)

select * from final
) as rebuilt
on false
when not matched by source
  and target.hour_start >= @window_start
  and target.hour_start < @window_end
  then delete
when not matched then insert (
  merchant_id, store_id, sku, hour_start, closing_quantity, low_stock, last_event_at
) values (
  rebuilt.merchant_id, rebuilt.store_id, rebuilt.sku, rebuilt.hour_start, rebuilt.closing_quantity,
  rebuilt.low_stock, rebuilt.last_event_at
)
