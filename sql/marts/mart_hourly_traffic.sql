-- mart_hourly_traffic
-- grain: one row per merchant and UTC hour with at least one page view, track event or completed order with a session
-- partition: hour_start (day)
-- clustering: merchant_id
-- unique key: merchant_id, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on
--
-- Visitors and sessions are exact distinct counts of page views and track events in the hour,
-- never added up from finer buckets.
merge into marts.mart_hourly_traffic as target
using (
with source as (
  select
    merchant_id,
    event_type,
    visitor_id,
    session_id,
    timestamp_trunc(event_ts, hour) as hour_start,
    event_type in ('page_view', 'track') as is_web_event,
    event_type = 'order' and order_status = 'completed' and session_id is not null as is_order_with_session
  from staging.stg_events
  where event_type in ('page_view', 'track', 'order')
    and event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    -- the window's cells (a scheduled run), or every merchant from @all_from (a range build)
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

relevant as (
  select *
  from source
  where is_web_event or is_order_with_session
),

aggregated as (
  select
    merchant_id,
    hour_start,
    countif(event_type = 'page_view') as page_views,
    count(distinct case when is_web_event then visitor_id end) as visitors,
    count(distinct case when is_web_event then session_id end) as sessions,
    countif(is_order_with_session) as orders_with_session
  from relevant
  group by merchant_id, hour_start
),

final as (
  select
    merchant_id,
    hour_start,
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
  and target.hour_start >= @window_start
  and target.hour_start < @window_end
  and (target.hour_start >= @all_from or (target.merchant_id in unnest(@merchants) and concat(target.merchant_id, '|', format_timestamp('%Y-%m-%dT%H', target.hour_start)) in unnest(@cells)))
  and target.merchant_id >= @merchant_from
  and target.merchant_id <= @merchant_to
  then delete
when not matched then insert (
  merchant_id, hour_start, page_views, visitors, sessions, orders_with_session, orders_per_session
) values (
  rebuilt.merchant_id, rebuilt.hour_start, rebuilt.page_views, rebuilt.visitors, rebuilt.sessions,
  rebuilt.orders_with_session, rebuilt.orders_per_session
)
