-- rpt_daily_sales: merchant totals per merchant-local day for Looker Studio.
-- grain: one row per merchant and merchant-local day
create or replace view reporting.rpt_daily_sales as
with source as (
  select *
  from marts.mart_daily_merchant_sales
),

merchants as (
  select merchant_id, name as merchant_name, currency
  from dims.merchants
),

final as (
  select
    source.merchant_id,
    merchants.merchant_name,
    merchants.currency,
    source.local_date,
    source.time_zone,
    source.orders,
    source.items,
    source.gross_revenue_minor,
    source.discount_minor,
    source.refund_minor,
    source.net_revenue_minor,
    source.refunds,
    source.cancellations,
    source.online_orders,
    source.pos_orders,
    source.pickup_orders,
    source.delivery_orders,
    source.dine_in_orders,
    source.average_order_value_minor
  from source
  left join merchants
    on merchants.merchant_id = source.merchant_id
)

select * from final
