-- rpt_hourly_product_sales: product sales per store and UTC hour for Looker Studio.
-- grain: one row per merchant, store, sku and UTC hour
create or replace view reporting.rpt_hourly_product_sales as
with source as (
  select *
  from marts.mart_hourly_product_sales
),

stores as (
  select merchant_id, store_id, name as store_name, region as store_region
  from dims.stores
),

final as (
  select
    source.merchant_id,
    source.store_id,
    stores.store_name,
    stores.store_region,
    source.sku,
    source.category,
    source.hour_start,
    source.units,
    source.orders,
    source.gross_revenue_minor,
    source.discount_minor,
    source.net_revenue_minor
  from source
  left join stores
    on stores.merchant_id = source.merchant_id
    and stores.store_id = source.store_id
)

select * from final
