-- stg_order_lines: line items of accepted order events, one row per (merchant_id, event_id, line_index).
-- grain: one row per merchant, order event and line (the copy received first)
-- Same safety net as stg_events: lines of a twice-inserted event are kept once.
create or replace view staging.stg_order_lines as
with source as (
  select *
  from raw.order_lines
),

ranked as (
  select
    *,
    row_number() over (
      partition by merchant_id, event_id, line_index, event_ts
      order by received_at
    ) as copy_rank
  from source
),

final as (
  select * except (copy_rank)
  from ranked
  where copy_rank = 1
)

select * from final
