-- mart_daily_merchant_traffic
-- grain: one row per merchant and merchant-local day with at least one page view, track event or completed order with a session
-- partition: local_date
-- clustering: merchant_id
-- unique key: merchant_id, local_date
-- rebuild window: every local day overlapping [@window_start, @window_end), each in its own time zone,
--   that is a cell of @cells (merchant|YYYY-MM-DD) or begins after @all_from
--
-- Visitors and sessions are exact distinct counts over the whole local day, computed from raw
-- events, never added up from hours.
merge into marts.mart_daily_merchant_traffic as target
using (
with source as (
  select
    merchant_id,
    event_type,
    visitor_id,
    session_id,
    merchant_time_zone as time_zone,
    date(event_ts, merchant_time_zone) as local_date,
    event_type in ('page_view', 'track') as is_web_event,
    event_type = 'order' and order_status = 'completed' and session_id is not null as is_order_with_session
  from staging.stg_events
  where event_type in ('page_view', 'track', 'order')
    -- every local day overlapping the window lies within 48 hours of it (offsets are at most ±14 h)
    and event_ts >= timestamp_sub(@window_start, interval 48 hour)
    and event_ts < timestamp_add(@window_end, interval 48 hour)
    -- a scheduled run's window reads the merchants of its cells only: the leading clustering column
    -- against constants, so BigQuery prunes blocks
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

relevant as (
  select *
  from source
  where (is_web_event or is_order_with_session)
    and local_date >= date(@window_start, time_zone)
    and local_date <= date(timestamp_sub(@window_end, interval 1 microsecond), time_zone)
    -- the window's cells (merchant|local date), or every merchant's days from @all_from (a range build)
    and (local_date >= date(@all_from, time_zone) or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', cast(local_date as string)) in unnest(@cells)))
),

aggregated as (
  select
    merchant_id,
    local_date,
    max(time_zone) as time_zone,
    countif(event_type = 'page_view') as page_views,
    count(distinct case when is_web_event then visitor_id end) as visitors,
    count(distinct case when is_web_event then session_id end) as sessions,
    countif(is_order_with_session) as orders_with_session
  from relevant
  group by merchant_id, local_date
),

final as (
  select
    merchant_id,
    local_date,
    time_zone,
    page_views,
    visitors,
    sessions,
    orders_with_session,
    safe_divide(orders_with_session, sessions) as orders_per_session
  from aggregated
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
  merchant_id, local_date, time_zone, page_views, visitors, sessions, orders_with_session, orders_per_session
) values (
  rebuilt.merchant_id, rebuilt.local_date, rebuilt.time_zone, rebuilt.page_views, rebuilt.visitors,
  rebuilt.sessions, rebuilt.orders_with_session, rebuilt.orders_per_session
)
