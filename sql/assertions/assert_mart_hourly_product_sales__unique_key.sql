-- assert_mart_hourly_product_sales__unique_key: rows of the rebuilt window whose unique key occurs more than once.
-- Zero rows means pass. Bound to the window of the rebuild it checks (@window_start, @window_end).
with source as (
  select merchant_id, store_id, sku, hour_start
  from marts.mart_hourly_product_sales
  where hour_start >= @window_start
    and hour_start < @window_end
),

final as (
  select
    merchant_id,
    store_id,
    sku,
    hour_start,
    count(*) as row_count
  from source
  group by merchant_id, store_id, sku, hour_start
  having count(*) > 1
)

select * from final
