-- mart_hourly_traffic_breakdown
-- grain: one row per merchant, dimension (page | referrer | device | country), dimension value and UTC hour with at least one page view
-- partition: hour_start (day)
-- clustering: merchant_id, dimension, dimension_value
-- unique key: merchant_id, dimension, dimension_value, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on
--
-- Page views broken down the way a web analytics dashboard lists them, by the page, referrer, device
-- and country staging.stg_page_views gives each page view. Every page view counts once in each
-- dimension, so each dimension's page views add up to mart_hourly_traffic's. Visitors and sessions
-- are exact distinct counts per value and hour, never added up from finer buckets.
-- The raw table is scanned once: the four dimensions are a cross join of each row, not four reads.
merge into marts.mart_hourly_traffic_breakdown as target
using (
with source as (
  select
    merchant_id,
    visitor_id,
    session_id,
    timestamp_trunc(event_ts, hour) as hour_start,
    page,
    referrer,
    device,
    country
  from staging.stg_page_views
  where event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    -- the window's cells (a scheduled run), or every merchant from @all_from (a range build)
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

dimensioned as (
  select
    source.merchant_id,
    source.visitor_id,
    source.session_id,
    source.hour_start,
    dimensions.dimension,
    case dimensions.dimension
      when 'page' then source.page
      when 'referrer' then source.referrer
      when 'device' then source.device
      else source.country
    end as dimension_value
  from source
  cross join (
    select 'page' as dimension
    union all select 'referrer'
    union all select 'device'
    union all select 'country'
  ) as dimensions
),

final as (
  select
    merchant_id,
    dimension,
    dimension_value,
    hour_start,
    count(*) as page_views,
    count(distinct visitor_id) as visitors,
    count(distinct session_id) as sessions
  from dimensioned
  group by merchant_id, dimension, dimension_value, hour_start
)

select * from final
) as rebuilt
on false
when not matched by source
  and target.hour_start >= @window_start
  and target.hour_start < @window_end
  and (target.hour_start >= @all_from or (target.merchant_id in unnest(@merchants) and concat(target.merchant_id, '|', format_timestamp('%Y-%m-%dT%H', target.hour_start)) in unnest(@cells)))
  and target.merchant_id >= @merchant_from
  and target.merchant_id <= @merchant_to
  then delete
when not matched then insert (
  merchant_id, dimension, dimension_value, hour_start, page_views, visitors, sessions
) values (
  rebuilt.merchant_id, rebuilt.dimension, rebuilt.dimension_value, rebuilt.hour_start, rebuilt.page_views,
  rebuilt.visitors, rebuilt.sessions
)
