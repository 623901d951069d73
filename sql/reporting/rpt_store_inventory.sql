-- rpt_store_inventory: closing stock per store, sku and UTC hour for Looker Studio, with store attributes.
-- grain: one row per merchant, store, sku and UTC hour
create or replace view reporting.rpt_store_inventory as
with source as (
  select *
  from marts.mart_hourly_store_inventory
),

stores as (
  select merchant_id, store_id, name as store_name, city as store_city, region as store_region
  from dims.stores
),

final as (
  select
    source.merchant_id,
    source.store_id,
    stores.store_name,
    stores.store_city,
    stores.store_region,
    source.sku,
    source.hour_start,
    source.closing_quantity,
    source.low_stock,
    source.last_event_at
  from source
  left join stores
    on stores.merchant_id = source.merchant_id
    and stores.store_id = source.store_id
)

select * from final
