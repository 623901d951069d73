-- mart_hourly_traffic_breakdown
-- grain: one row per merchant, dimension (page | referrer | device | country), dimension value and UTC hour with at least one page view
-- partition: hour_start (day)
-- clustering: merchant_id, dimension, dimension_value
-- unique key: merchant_id, dimension, dimension_value, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on
--
-- Page views broken down the way a web analytics dashboard lists them: the page is the URL's path
-- (no query, no fragment; '/' when empty); the referrer is the referring host without 'www.',
-- '(direct)' when the page view has none and '(internal)' when it is the page's own host; the device
-- as sent ('other' by default); the country, '(unknown)' when absent. Every page view counts once in
-- each dimension, so each dimension's page views add up to mart_hourly_traffic's. Visitors and
-- sessions are exact distinct counts per value and hour, never added up from finer buckets.
-- The raw table is scanned once: the four dimensions are a cross join of each row, not four reads.
merge into marts.mart_hourly_traffic_breakdown as target
using (
with source as (
  select
    merchant_id,
    visitor_id,
    session_id,
    timestamp_trunc(event_ts, hour) as hour_start,
    url,
    referrer,
    device,
    country
  from staging.stg_events
  where event_type = 'page_view'
    and event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    -- the window's cells (a scheduled run), or every merchant from @all_from (a range build)
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

parsed as (
  select
    merchant_id,
    visitor_id,
    session_id,
    hour_start,
    device,
    country,
    -- the regular expressions always match a URL (group 1 may be empty), so both engines agree
    regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?([^?#]*)') as url_path,
    lower(nullif(regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?)?([^:/?#]*)'), '')) as page_host,
    lower(nullif(regexp_extract(referrer, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?)?([^:/?#]*)'), '')) as referrer_host
  from source
),

dimensioned as (
  select
    parsed.merchant_id,
    parsed.visitor_id,
    parsed.session_id,
    parsed.hour_start,
    dimensions.dimension,
    case dimensions.dimension
      when 'page' then coalesce(nullif(parsed.url_path, ''), '/')
      when 'referrer' then
        case
          when parsed.referrer_host is null then '(direct)'
          when parsed.referrer_host = parsed.page_host then '(internal)'
          else regexp_replace(parsed.referrer_host, '^www[.]', '')
        end
      when 'device' then coalesce(parsed.device, 'other')
      else coalesce(parsed.country, '(unknown)')
    end as dimension_value
  from parsed
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
