-- assert_mart_hourly_store_inventory__low_stock: rows whose low_stock flag disagrees with the
-- closing quantity and the threshold of the dimensions (10 when none is set).
-- Zero rows means pass. Bound to the window of the rebuild it checks (@window_start, @window_end, its merchants).
with source as (
  select merchant_id, store_id, sku, hour_start, closing_quantity, low_stock
  from marts.mart_hourly_store_inventory
  where hour_start >= @window_start
    and hour_start < @window_end
    -- the window's merchants (the leading clustering column: BigQuery prunes blocks)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

settings as (
  select coalesce(max(low_stock_threshold), 10) as low_stock_threshold
  from dims.settings
),

final as (
  select
    source.merchant_id,
    source.store_id,
    source.sku,
    source.hour_start,
    source.closing_quantity,
    source.low_stock
  from source
  cross join settings
  where source.low_stock <> case when source.closing_quantity < settings.low_stock_threshold then 1 else 0 end
)

select * from final
