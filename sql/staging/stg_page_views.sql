-- stg_page_views: accepted page views with the page, referrer, device and country they count under, one row per (merchant_id, event_id).
-- grain: one row per merchant and page view event id (the copy received first, from stg_events)
-- The one statement of how a page view is broken down, read by the hourly and the daily traffic
-- breakdown marts; each mart buckets and counts these rows itself (UTC hour, merchant-local day).
-- The page is the URL's path (no query, no fragment; '/' when empty); the referrer is the referring
-- host without 'www.', '(direct)' when the page view has none and '(internal)' when it is the page's
-- own host; the device as sent ('other' by default); the country, '(unknown)' when absent.
-- Row-wise on purpose, like stg_orders: a view is inlined into the query that reads it
-- (https://cloud.google.com/bigquery/docs/views-intro), and a mart's event_ts and merchant_id bounds
-- prune raw.events only while they reach its partitioning and leading clustering columns unwrapped
-- (https://cloud.google.com/bigquery/docs/querying-partitioned-tables,
-- https://cloud.google.com/bigquery/docs/querying-clustered-tables): no window function, GROUP BY or
-- join here, so they pass through as they did when the marts read stg_events themselves.
-- The speed layer derives the same values in TypeScript (pipeline/speed/partials.ts breakdownOf); the
-- two-engine test (test/sql/zetasql/marts.it.test.ts) holds them equal on the fixture page views.
create or replace view staging.stg_page_views as
with source as (
  select *
  from staging.stg_events
  where event_type = 'page_view'
),

parsed as (
  select
    *,
    -- the regular expressions always match a URL (group 1 may be empty), so both engines agree
    regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)?([^?#]*)') as url_path,
    lower(nullif(regexp_extract(url, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?)?([^:/?#]*)'), '')) as page_host,
    lower(nullif(regexp_extract(referrer, '^(?:[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^@/?#]*@)?)?([^:/?#]*)'), '')) as referrer_host
  from source
),

final as (
  select
    merchant_id,
    event_id,
    event_ts,
    merchant_time_zone,
    visitor_id,
    session_id,
    coalesce(nullif(url_path, ''), '/') as page,
    case
      when referrer_host is null then '(direct)'
      when referrer_host = page_host then '(internal)'
      else regexp_replace(referrer_host, '^www[.]', '')
    end as referrer,
    coalesce(device, 'other') as device,
    coalesce(country, '(unknown)') as country
  from parsed
)

select * from final
