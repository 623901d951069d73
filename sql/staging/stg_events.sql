-- stg_events: accepted events as the marts read them, one row per (merchant_id, event_id).
-- grain: one row per merchant and event id (the copy received first)
-- The dedupe index already decides duplicates before rows are written; streaming inserts are only
-- best-effort idempotent (insertId), so this view is the safety net. event_ts and event_type are part
-- of the window partition on purpose: copies of one event share both (the content hash covers them),
-- and a filter on either can then be pushed below the window function — event_ts keeps partition
-- pruning, event_type lets each mart number only the copies of its own event types instead of all raw.
create or replace view staging.stg_events as
with source as (
  select *
  from raw.events
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, event_id, event_ts, event_type
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
