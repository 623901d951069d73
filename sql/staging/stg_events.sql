-- stg_events: accepted events as the marts read them, one row per (merchant_id, event_id).
-- grain: one row per merchant and event id (the copy received first)
-- The dedupe index already decides duplicates before rows are written; streaming inserts are only
-- best-effort idempotent (insertId), so this view is the safety net. event_ts is part of the window
-- partition on purpose: copies of one event share their event_ts, and a filter on event_ts (the raw
-- partition column) can then be pushed below the window function, keeping partition pruning.
create or replace view staging.stg_events as
with source as (
  select *
  from raw.events
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, event_id, event_ts
      order by received_at, message_id, entry_index
    ) as copy_rank
  from source
),

final as (
  select * except (copy_rank)
  from ranked
  where copy_rank = 1
)

select * from final
