-- mart_daily_promotion_performance
-- grain: one row per merchant, promotion, store and store-local day on which the promotion ran in that store
-- partition: local_date
-- clustering: merchant_id, promo_id, store_id
-- unique key: merchant_id, promo_id, store_id, local_date
-- rebuild window: every store-local day overlapping [@window_start, @window_end). A late order changes
--   the baselines of the eight following weeks, so scheduled runs also rebuild the same weekdays of
--   those weeks. A scheduled run's window holds only the days in @cells (merchant|YYYY-MM-DD).
--
-- Promo sales are the store's sales in the part of the day the promotion ran, from its order events.
-- The baseline is the same store, weekday and local hours, averaged over the four most recent earlier
-- weeks (looking up to eight weeks back) in which that promotion did not run, read from the store's
-- hourly sales (mart_hourly_store_sales, built before this mart) rather than eight weeks of raw
-- events: an hour the baseline covers only in part counts with the covered share (a promotion from
-- 10:30 takes half of the 10:00 hour). Sales: completed orders, and net revenue = completed net −
-- refunds, as in the sales marts. The latest definition of a promotion wins, from
-- mart_hourly_promotions; promotions announced before @horizon_start (the reprocessing horizon
-- before the window) are not read.
merge into marts.mart_daily_promotion_performance as target
using (
with source as (
  select
    merchant_id,
    promo_id,
    promo_kind,
    promo_starts_at,
    promo_ends_at,
    promo_store_ids,
    row_number() over (
      partition by merchant_id, promo_id
      order by defined_at desc, event_id desc
    ) as definition_rank
  from marts.mart_hourly_promotions
  where hour_start >= @horizon_start
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

promotions as (
  select merchant_id, promo_id, promo_kind, promo_starts_at, promo_ends_at, promo_store_ids
  from source
  where definition_rank = 1
),

stores as (
  select merchant_id, store_id, time_zone
  from dims.stores
),

-- An empty store list means every store of the merchant.
promotion_stores as (
  select
    promotions.merchant_id,
    promotions.promo_id,
    promotions.promo_kind,
    promotions.promo_starts_at,
    promotions.promo_ends_at,
    stores.store_id,
    stores.time_zone
  from promotions
  inner join stores
    on stores.merchant_id = promotions.merchant_id
  where coalesce(array_length(promotions.promo_store_ids), 0) = 0
    or exists (
      select 1
      from unnest(promotions.promo_store_ids) as promo_store_id
      where promo_store_id = stores.store_id
    )
),

promotion_days as (
  select
    promotion_stores.*,
    local_date
  from promotion_stores
  cross join unnest(generate_date_array(
    date(promotion_stores.promo_starts_at, promotion_stores.time_zone),
    date(timestamp_sub(promotion_stores.promo_ends_at, interval 1 microsecond), promotion_stores.time_zone)
  )) as local_date
  where local_date >= date(@window_start, promotion_stores.time_zone)
    and local_date <= date(timestamp_sub(@window_end, interval 1 microsecond), promotion_stores.time_zone)
    and (local_date >= date(@all_from, promotion_stores.time_zone) or (promotion_stores.merchant_id in unnest(@merchants) and concat(promotion_stores.merchant_id, '|', cast(local_date as string)) in unnest(@cells)))
),

segments as (
  select
    merchant_id,
    promo_id,
    promo_kind,
    promo_starts_at,
    promo_ends_at,
    store_id,
    time_zone,
    local_date,
    greatest(promo_starts_at, timestamp(local_date, time_zone)) as window_start_at,
    least(promo_ends_at, timestamp(date_add(local_date, interval 1 day), time_zone)) as window_end_at
  from promotion_days
),

weeks as (
  select 1 as weeks_back, 7 as days_back union all
  select 2, 14 union all
  select 3, 21 union all
  select 4, 28 union all
  select 5, 35 union all
  select 6, 42 union all
  select 7, 49 union all
  select 8, 56
),

-- The same local hours of earlier weeks: shift the local wall-clock times, so DST changes keep the hours.
candidate_weeks as (
  select
    segments.merchant_id,
    segments.promo_id,
    segments.store_id,
    segments.local_date,
    segments.promo_starts_at,
    segments.promo_ends_at,
    weeks.weeks_back,
    timestamp(datetime_sub(datetime(segments.window_start_at, segments.time_zone), interval weeks.days_back day), segments.time_zone) as baseline_start_at,
    timestamp(datetime_sub(datetime(segments.window_end_at, segments.time_zone), interval weeks.days_back day), segments.time_zone) as baseline_end_at
  from segments
  cross join weeks
),

eligible_weeks as (
  select
    merchant_id,
    promo_id,
    store_id,
    local_date,
    weeks_back,
    baseline_start_at,
    baseline_end_at,
    row_number() over (
      partition by merchant_id, promo_id, store_id, local_date
      order by weeks_back
    ) as recency_rank
  from candidate_weeks
  -- weeks in which that promotion ran are no baseline
  where not (baseline_start_at < promo_ends_at and baseline_end_at > promo_starts_at)
),

store_orders as (
  select
    merchant_id,
    store_id,
    event_ts,
    case when order_status = 'completed' then 1 else 0 end as completed_orders,
    case
      when order_status = 'completed' then coalesce(net_minor, 0)
      else -coalesce(refund_minor, 0)
    end as net_revenue_minor
  from staging.stg_events
  where event_type = 'order'
    and store_id is not null
    -- the window's local days, in any zone
    and event_ts >= timestamp_sub(@window_start, interval 1 day)
    and event_ts < timestamp_add(@window_end, interval 2 day)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

store_hours as (
  select
    merchant_id,
    store_id,
    hour_start,
    orders,
    net_revenue_minor
  from marts.mart_hourly_store_sales
  where store_id is not null
    -- eight weeks of baseline before the window's days, plus the widest day
    and hour_start >= timestamp_sub(@window_start, interval 59 day)
    and hour_start < @window_end
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
),

promo_sales as (
  select
    segments.merchant_id,
    segments.promo_id,
    segments.store_id,
    segments.local_date,
    coalesce(sum(store_orders.completed_orders), 0) as promo_orders,
    coalesce(sum(store_orders.net_revenue_minor), 0) as promo_net_revenue_minor
  from segments
  left join store_orders
    on store_orders.merchant_id = segments.merchant_id
    and store_orders.store_id = segments.store_id
    and store_orders.event_ts >= segments.window_start_at
    and store_orders.event_ts < segments.window_end_at
  group by segments.merchant_id, segments.promo_id, segments.store_id, segments.local_date
),

-- each baseline week with the store hours it overlaps and the share of each hour inside it
baseline_hours as (
  select
    eligible_weeks.merchant_id,
    eligible_weeks.promo_id,
    eligible_weeks.store_id,
    eligible_weeks.local_date,
    eligible_weeks.weeks_back,
    store_hours.orders,
    store_hours.net_revenue_minor,
    timestamp_diff(
      least(eligible_weeks.baseline_end_at, timestamp_add(store_hours.hour_start, interval 1 hour)),
      greatest(eligible_weeks.baseline_start_at, store_hours.hour_start),
      microsecond
    ) / 3600000000 as covered
  from eligible_weeks
  left join store_hours
    on store_hours.merchant_id = eligible_weeks.merchant_id
    and store_hours.store_id = eligible_weeks.store_id
    and store_hours.hour_start < eligible_weeks.baseline_end_at
    and store_hours.hour_start > timestamp_sub(eligible_weeks.baseline_start_at, interval 1 hour)
  where eligible_weeks.recency_rank <= 4
),

baseline_sales_by_week as (
  select
    merchant_id,
    promo_id,
    store_id,
    local_date,
    weeks_back,
    coalesce(sum(orders * covered), 0) as orders,
    coalesce(sum(net_revenue_minor * covered), 0) as net_revenue_minor
  from baseline_hours
  group by merchant_id, promo_id, store_id, local_date, weeks_back
),

baselines as (
  select
    merchant_id,
    promo_id,
    store_id,
    local_date,
    count(*) as baseline_weeks,
    avg(orders) as baseline_orders,
    avg(net_revenue_minor) as baseline_net_revenue_minor
  from baseline_sales_by_week
  group by merchant_id, promo_id, store_id, local_date
),

final as (
  select
    segments.merchant_id,
    segments.promo_id,
    segments.store_id,
    segments.local_date,
    segments.time_zone,
    segments.promo_kind,
    segments.window_start_at,
    segments.window_end_at,
    promo_sales.promo_orders,
    promo_sales.promo_net_revenue_minor,
    coalesce(baselines.baseline_weeks, 0) as baseline_weeks,
    baselines.baseline_orders,
    baselines.baseline_net_revenue_minor,
    promo_sales.promo_net_revenue_minor - baselines.baseline_net_revenue_minor as net_revenue_uplift_minor,
    safe_divide(promo_sales.promo_net_revenue_minor, baselines.baseline_net_revenue_minor) as net_revenue_lift_ratio
  from segments
  inner join promo_sales
    on promo_sales.merchant_id = segments.merchant_id
    and promo_sales.promo_id = segments.promo_id
    and promo_sales.store_id = segments.store_id
    and promo_sales.local_date = segments.local_date
  left join baselines
    on baselines.merchant_id = segments.merchant_id
    and baselines.promo_id = segments.promo_id
    and baselines.store_id = segments.store_id
    and baselines.local_date = segments.local_date
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
  merchant_id, promo_id, store_id, local_date, time_zone, promo_kind, window_start_at, window_end_at,
  promo_orders, promo_net_revenue_minor, baseline_weeks, baseline_orders, baseline_net_revenue_minor,
  net_revenue_uplift_minor, net_revenue_lift_ratio
) values (
  rebuilt.merchant_id, rebuilt.promo_id, rebuilt.store_id, rebuilt.local_date, rebuilt.time_zone,
  rebuilt.promo_kind, rebuilt.window_start_at, rebuilt.window_end_at, rebuilt.promo_orders,
  rebuilt.promo_net_revenue_minor, rebuilt.baseline_weeks, rebuilt.baseline_orders,
  rebuilt.baseline_net_revenue_minor, rebuilt.net_revenue_uplift_minor, rebuilt.net_revenue_lift_ratio
)
