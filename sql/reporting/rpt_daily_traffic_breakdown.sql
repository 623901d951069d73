-- rpt_daily_traffic_breakdown: page views, visitors and sessions by page, referrer, device and country
-- per merchant-local day, for Looker Studio.
-- grain: one row per merchant, dimension, dimension value and merchant-local day
create or replace view reporting.rpt_daily_traffic_breakdown as
with source as (
  select *
  from marts.mart_daily_merchant_traffic_breakdown
),

merchants as (
  select merchant_id, name as merchant_name
  from dims.merchants
),

final as (
  select
    source.merchant_id,
    merchants.merchant_name,
    source.dimension,
    source.dimension_value,
    source.local_date,
    source.time_zone,
    source.page_views,
    source.visitors,
    source.sessions
  from source
  left join merchants
    on merchants.merchant_id = source.merchant_id
)

select * from final
