-- alert_freshness
-- grain: one row per merchant with data for an hour that ended before @window_end and is not finalized
-- reads: raw.arrivals received in [@window_start, @window_end) (partition-pruned on received_at); marts.mart_runs
--
-- An hour is finalized once a scheduled run that finished by @window_end built it (finalized_through).
-- oldest_pending_hour is the merchant's oldest hour with arrivals at or after that watermark, the
-- hour in progress excepted; the evaluator measures the lag from that hour's end to @window_end and
-- fires when it exceeds the rule's lag_minutes. The evaluator passes @window_start = now - 2 days.
with finalized as (
  select max(runs.finalized_through) as finalized_through
  from marts.mart_runs as runs
  where runs.kind = 'scheduled'
    and runs.finished_at <= @window_end
),

pending as (
  select
    arrivals.merchant_id,
    min(arrivals.event_hour) as oldest_pending_hour,
    any_value(finalized.finalized_through) as finalized_through
  from raw.arrivals as arrivals
  cross join finalized
  where arrivals.received_at >= @window_start
    and arrivals.received_at < @window_end
    and arrivals.event_hour < timestamp_trunc(@window_end, hour)
    and (finalized.finalized_through is null or arrivals.event_hour >= finalized.finalized_through)
  group by arrivals.merchant_id
)

select * from pending
