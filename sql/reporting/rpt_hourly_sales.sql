-- rpt_hourly_sales: hourly sales per store for Looker Studio, with merchant and store names.
-- grain: one row per merchant, store and UTC hour (store fields are null for orders without a store)
create or replace view reporting.rpt_hourly_sales as
with source as (
  select *
  from marts.mart_hourly_store_sales
),

merchants as (
  select merchant_id, name as merchant_name, currency, time_zone as merchant_time_zone
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
    merchants.merchant_time_zone,
    source.store_id,
    stores.store_name,
    stores.store_city,
    stores.store_region,
    source.hour_start,
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
