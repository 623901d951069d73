-- assert_mart_daily_merchant_sales__net_revenue: rows whose revenue does not add up: net revenue must be
-- gross − discount − refunds, and the order-type counts must not exceed the orders.
-- Zero rows means pass. Bound to the window of the rebuild it checks (@window_start, @window_end, its merchants).
with source as (
  select *
  from marts.mart_daily_merchant_sales
  -- the local days of the window in any zone lie within a day of its UTC dates
  where local_date >= date_sub(date(@window_start), interval 1 day)
    and local_date <= date_add(date(@window_end), interval 1 day)
    -- the window's merchants (the leading clustering column: BigQuery prunes blocks)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

final as (
  select
    merchant_id,
    local_date,
    gross_revenue_minor,
    discount_minor,
    refund_minor,
    net_revenue_minor
  from source
  where net_revenue_minor <> gross_revenue_minor - discount_minor - refund_minor
    or online_orders + pos_orders > orders
    or pickup_orders + delivery_orders + dine_in_orders > orders
    or refund_minor < 0
)

select * from final
