-- assert_mart_daily_store_sales__unique_key: rows of the rebuilt window whose unique key occurs more than once.
-- Zero rows means pass. Bound to the window of the rebuild it checks (@window_start, @window_end).
with source as (
  select merchant_id, store_id, local_date
  from marts.mart_daily_store_sales
  -- the local days of the window in any zone lie within a day of its UTC dates
  where local_date >= date_sub(date(@window_start), interval 1 day)
    and local_date <= date_add(date(@window_end), interval 1 day)
),

final as (
  select
    merchant_id,
    store_id,
    local_date,
    count(*) as row_count
  from source
  group by merchant_id, store_id, local_date
  having count(*) > 1
)

select * from final
