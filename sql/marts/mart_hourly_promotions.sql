-- mart_hourly_promotions
-- grain: one row per merchant, promotion and UTC hour in which that promotion was (re)defined
-- partition: hour_start (day)
-- clustering: merchant_id, promo_id
-- unique key: merchant_id, promo_id, hour_start
-- rebuild window: the UTC hours in [@window_start, @window_end) — whole hours — of the cells in @cells
--   (merchant|YYYY-MM-DDTHH) and of every merchant from @all_from on
--
-- The latest definition announced in each hour (ties broken by event_id). Promotion performance
-- takes a promotion's latest definition over all hours from this small table, so no statement reads
-- promotion events of raw.events beyond its own window.
merge into marts.mart_hourly_promotions as target
using (
with source as (
  select
    merchant_id,
    promo_id,
    event_id,
    event_ts,
    promo_kind,
    promo_starts_at,
    promo_ends_at,
    promo_store_ids,
    timestamp_trunc(event_ts, hour) as hour_start
  from staging.stg_events
  where event_type = 'promotion'
    and event_ts >= @window_start
    and event_ts < @window_end
    -- the leading clustering column against constants, so BigQuery prunes blocks (the cell test below is inside an or)
    and merchant_id >= @merchant_from
    and merchant_id <= @merchant_to
    -- the window's cells (a scheduled run), or every merchant from @all_from (a range build)
    and (event_ts >= @all_from or (merchant_id in unnest(@merchants) and concat(merchant_id, '|', format_timestamp('%Y-%m-%dT%H', event_ts)) in unnest(@cells)))
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, promo_id, hour_start
      order by event_ts desc, event_id desc
    ) as definition_rank
  from source
),

final as (
  select
    merchant_id,
    promo_id,
    hour_start,
    event_ts as defined_at,
    event_id,
    promo_kind,
    promo_starts_at,
    promo_ends_at,
    promo_store_ids
  from ranked
  where definition_rank = 1
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
  merchant_id, promo_id, hour_start, defined_at, event_id, promo_kind, promo_starts_at, promo_ends_at,
  promo_store_ids
) values (
  rebuilt.merchant_id, rebuilt.promo_id, rebuilt.hour_start, rebuilt.defined_at, rebuilt.event_id,
  rebuilt.promo_kind, rebuilt.promo_starts_at, rebuilt.promo_ends_at, rebuilt.promo_store_ids
)
