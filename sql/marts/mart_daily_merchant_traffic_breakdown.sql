-- mart_daily_merchant_traffic_breakdown
-- grain: one row per merchant, dimension (page | referrer | device | country), dimension value and merchant-local day with at least one page view
-- partition: local_date
-- clustering: merchant_id, dimension, dimension_value
-- unique key: merchant_id, dimension, dimension_value, local_date
-- rebuild window: every local day overlapping [@window_start, @window_end), each in its own time zone,
--   that is a cell of @cells (merchant|YYYY-MM-DD) or begins after @all_from
--
-- The dimensions of mart_hourly_traffic_breakdown (the page, referrer, device and country of
-- staging.stg_page_views) per local day. Visitors and sessions are exact distinct counts over the
-- whole local day, computed from raw events, never added up from hours.
merge into marts.mart_daily_merchant_traffic_breakdown as target
using (
with source as (
  select
    merchant_id,
    visitor_id,
    session_id,
    merchant_time_zone as time_zone,
    event_ts,
    -- the event's UTC quarter hour: integer arithmetic, no time zone
    div(unix_micros(event_ts), 900000000) as quarter_hour,
    page,
    referrer,
    device,
    country
  from staging.stg_page_views
  -- every local day overlapping the window lies within 48 hours of it (offsets are at most ±14 h)
  where event_ts >= timestamp_sub(@window_start, interval 48 hour)
    and event_ts < timestamp_add(@window_end, interval 48 hour)
    -- a scheduled run's window reads the merchants of its cells only: the leading clustering column
    -- against constants, so BigQuery prunes blocks
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

-- Local days are looked up once per (time zone, UTC quarter hour) with events, not converted per
-- event. Every offset of today's zones, and so every local midnight and every DST switch, falls on a
-- UTC quarter hour (+05:30, +05:45, Lord Howe's 30-minute DST), so all instants of one quarter hour
-- share a local day: the day of its first and of its last event. Where those two differ (a local
-- mean time of a zone's early history), each event of the quarter hour takes its own conversion.
-- A second reference of `source` scans no other columns or partitions (billed once per table).
zone_quarter_hours as (
  select
    time_zone,
    quarter_hour,
    date(min(event_ts), time_zone) as first_local_date,
    date(max(event_ts), time_zone) as last_local_date
  from source
  group by time_zone, quarter_hour
),

-- the window's first and last local day, and @all_from's, once per time zone
zone_window_days as (
  select
    time_zone,
    date(@window_start, time_zone) as window_first_date,
    date(timestamp_sub(@window_end, interval 1 microsecond), time_zone) as window_last_date,
    date(@all_from, time_zone) as all_from_date
  from (select distinct time_zone from zone_quarter_hours) as zones
),

located as (
  select
    source.*,
    case
      when zone_quarter_hours.first_local_date = zone_quarter_hours.last_local_date then zone_quarter_hours.first_local_date
      else date(source.event_ts, source.time_zone)
    end as local_date,
    zone_window_days.window_first_date,
    zone_window_days.window_last_date,
    zone_window_days.all_from_date
  from source
  inner join zone_quarter_hours
    on zone_quarter_hours.time_zone = source.time_zone
    and zone_quarter_hours.quarter_hour = source.quarter_hour
  inner join zone_window_days
    on zone_window_days.time_zone = source.time_zone
),

relevant as (
  select *
  from located
  where local_date >= window_first_date
    and local_date <= window_last_date
    -- the window's cells (merchant|local date), or every merchant's days from @all_from (a range build)
    and (local_date >= all_from_date or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', cast(local_date as string)) in unnest(@cells)))
),

dimensioned as (
  select
    relevant.merchant_id,
    relevant.visitor_id,
    relevant.session_id,
    relevant.local_date,
    relevant.time_zone,
    dimensions.dimension,
    case dimensions.dimension
      when 'page' then relevant.page
      when 'referrer' then relevant.referrer
      when 'device' then relevant.device
      else relevant.country
    end as dimension_value
  from relevant
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
    local_date,
    max(time_zone) as time_zone,
    count(*) as page_views,
    count(distinct visitor_id) as visitors,
    count(distinct session_id) as sessions
  from dimensioned
  group by merchant_id, dimension, dimension_value, local_date
)

select * from final
) as rebuilt
on false
when not matched by source
  and target.local_date >= date_sub(date(@window_start), interval 1 day)
  and target.local_date <= date_add(date(@window_end), interval 1 day)
  and target.local_date >= date(@window_start, target.time_zone)
  and target.local_date <= date(timestamp_sub(@window_end, interval 1 microsecond), target.time_zone)
  and (target.local_date >= date(@all_from, target.time_zone) or (target.merchant_id in unnest(@merchants) and concat(target.merchant_id, '|', cast(target.local_date as string)) in unnest(@cells)))
  and target.merchant_id >= @merchant_from
  and target.merchant_id <= @merchant_to
  then delete
when not matched then insert (
  merchant_id, dimension, dimension_value, local_date, time_zone, page_views, visitors, sessions
) values (
  rebuilt.merchant_id, rebuilt.dimension, rebuilt.dimension_value, rebuilt.local_date, rebuilt.time_zone,
  rebuilt.page_views, rebuilt.visitors, rebuilt.sessions
)
