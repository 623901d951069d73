-- rpt_daily_store_sales: store totals per store-local day for Looker Studio, with store attributes.
-- grain: one row per merchant, store and store-local day
create or replace view reporting.rpt_daily_store_sales as
with source as (
  select *
  from marts.mart_daily_store_sales
),

merchants as (
  select merchant_id, name as merchant_name, currency
  from dims.merchants
),

stores as (
  select merchant_id, store_id, name as store_name, city as store_city, region as store_region
  from dims.stores
),

final as (
  select
    source.merchant_id,
    merchants.merchant_name,
    merchants.currency,
    source.store_id,
    stores.store_name,
    stores.store_city,
    stores.store_region,
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
  left join stores
    on stores.merchant_id = source.merchant_id
    and stores.store_id = source.store_id
)

select * from final
