-- alert_sales_drop
-- grain: one row per merchant, store (null: the merchant's total) and UTC hour in [@window_start, @window_end)
--   whose net revenue is below the median of the same local weekday and hour of the 4 weeks before
-- reads: marts.mart_hourly_store_sales from 29 days before @window_start to @window_end (bounded), dims
--
-- "Same weekday and hour" is local: the baseline of 18:00 on a Monday in New York is 18:00 on the
-- four Mondays before, whatever the UTC offset was then, so a DST switch does not shift it by an
-- hour. A week's value is the net revenue of the UTC hour(s) whose local time is that weekday-hour:
-- none on a spring-forward gap (0), two on a fall-back repeat (summed). Hours without orders are 0.
-- The median of four is the mean of the middle two. The evaluator applies each rule's fraction and
-- min_baseline_minor; rows where revenue is not below the median cannot fire and are left out.
with hours as (
  select hour_start
  from unnest(generate_timestamp_array(@window_start, timestamp_sub(@window_end, interval 1 hour), interval 1 hour)) as hour_start
),

subjects as (
  select stores.merchant_id, stores.store_id, stores.time_zone
  from dims.stores as stores
  union all
  select merchants.merchant_id, cast(null as string) as store_id, merchants.time_zone
  from dims.merchants as merchants
),

-- The UTC hours that can carry a window hour's local weekday-hour 0-4 weeks back: within 2 hours of
-- the same UTC hour (offset changes are at most an hour), so the local time is computed for those only.
near_hours as (
  select distinct timestamp_add(timestamp_sub(hours.hour_start, interval 7 * week_back day), interval shift hour) as hour_start
  from hours
  cross join unnest([0, 1, 2, 3, 4]) as week_back
  cross join unnest([-2, -1, 0, 1, 2]) as shift
),

sales as (
  select mart.merchant_id, mart.store_id, mart.hour_start, mart.net_revenue_minor
  from marts.mart_hourly_store_sales as mart
  inner join near_hours
    on near_hours.hour_start = mart.hour_start
  where mart.hour_start >= timestamp_sub(@window_start, interval 29 day)
    and mart.hour_start < @window_end
),

-- A store's own hours, and the merchant's total (every store and orders without one) under a null store.
subject_sales as (
  select merchant_id, store_id, hour_start, net_revenue_minor
  from sales
  where store_id is not null
  union all
  select merchant_id, cast(null as string) as store_id, hour_start, sum(net_revenue_minor) as net_revenue_minor
  from sales
  group by merchant_id, hour_start
),

located as (
  select
    subject_sales.merchant_id,
    subject_sales.store_id,
    subject_sales.hour_start,
    subject_sales.net_revenue_minor,
    datetime(subject_sales.hour_start, subjects.time_zone) as local_hour
  from subject_sales
  inner join subjects
    on subjects.merchant_id = subject_sales.merchant_id
    and coalesce(subjects.store_id, '') = coalesce(subject_sales.store_id, '')
),

current_hours as (
  select
    subjects.merchant_id,
    subjects.store_id,
    subjects.time_zone,
    hours.hour_start,
    coalesce(located.net_revenue_minor, 0) as net_revenue_minor
  from subjects
  cross join hours
  left join located
    on located.merchant_id = subjects.merchant_id
    and coalesce(located.store_id, '') = coalesce(subjects.store_id, '')
    and located.hour_start = hours.hour_start
),

baseline_weeks as (
  select
    current_hours.merchant_id,
    current_hours.store_id,
    current_hours.hour_start,
    current_hours.net_revenue_minor,
    week_back,
    coalesce(sum(located.net_revenue_minor), 0) as week_net_revenue_minor
  from current_hours
  cross join unnest([1, 2, 3, 4]) as week_back
  left join located
    on located.merchant_id = current_hours.merchant_id
    and coalesce(located.store_id, '') = coalesce(current_hours.store_id, '')
    and located.local_hour = datetime_sub(datetime(current_hours.hour_start, current_hours.time_zone), interval 7 * week_back day)
  group by
    current_hours.merchant_id,
    current_hours.store_id,
    current_hours.hour_start,
    current_hours.net_revenue_minor,
    week_back
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, store_id, hour_start
      order by week_net_revenue_minor, week_back
    ) as value_rank
  from baseline_weeks
),

medians as (
  select
    merchant_id,
    store_id,
    hour_start,
    net_revenue_minor,
    cast(sum(case when value_rank in (2, 3) then week_net_revenue_minor else 0 end) as float64) / 2 as baseline_median_minor
  from ranked
  group by merchant_id, store_id, hour_start, net_revenue_minor
),

final as (
  select
    merchant_id,
    store_id,
    hour_start,
    cast(net_revenue_minor as int64) as net_revenue_minor,
    baseline_median_minor
  from medians
  where net_revenue_minor < baseline_median_minor
)

select * from final
