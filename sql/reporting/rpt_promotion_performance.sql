-- rpt_promotion_performance: promotion days against their baseline for Looker Studio.
-- grain: one row per merchant, promotion, store and store-local day
create or replace view reporting.rpt_promotion_performance as
with source as (
  select *
  from marts.mart_daily_promotion_performance
),

stores as (
  select merchant_id, store_id, name as store_name, region as store_region
  from dims.stores
),

final as (
  select
    source.merchant_id,
    source.promo_id,
    source.promo_kind,
    source.store_id,
    stores.store_name,
    stores.store_region,
    source.local_date,
    source.time_zone,
    source.window_start_at,
    source.window_end_at,
    source.promo_orders,
    source.promo_net_revenue_minor,
    source.baseline_weeks,
    source.baseline_orders,
    source.baseline_net_revenue_minor,
    source.net_revenue_uplift_minor,
    source.net_revenue_lift_ratio
  from source
  left join stores
    on stores.merchant_id = source.merchant_id
    and stores.store_id = source.store_id
)

select * from final
