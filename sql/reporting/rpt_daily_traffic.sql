-- rpt_daily_traffic: web traffic per merchant-local day for Looker Studio.
-- grain: one row per merchant and merchant-local day
create or replace view reporting.rpt_daily_traffic as
with source as (
  select *
  from marts.mart_daily_merchant_traffic
),

merchants as (
  select merchant_id, name as merchant_name
  from dims.merchants
),

final as (
  select
    source.merchant_id,
    merchants.merchant_name,
    source.local_date,
    source.time_zone,
    source.page_views,
    source.visitors,
    source.sessions,
    source.orders_with_session,
    source.orders_per_session
  from source
  left join merchants
    on merchants.merchant_id = source.merchant_id
)

select * from final
