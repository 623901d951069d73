-- alert_low_stock
-- grain: one row per merchant, store, sku and UTC hour in [@window_start, @window_end) of the inventory mart
-- reads: marts.mart_hourly_store_inventory for the window only (partition-pruned on hour_start)
--
-- The evaluator (pipeline/alerts/evaluate.ts) compares closing_quantity with each low_stock rule's
-- own threshold, or takes low_stock (the dimensions file's threshold) for rules without one, and
-- fires once per store and sku when the hour turns low, once more when it recovers.
select
  inventory.merchant_id,
  inventory.store_id,
  inventory.sku,
  inventory.hour_start,
  inventory.closing_quantity,
  inventory.low_stock
from marts.mart_hourly_store_inventory as inventory
where inventory.hour_start >= @window_start
  and inventory.hour_start < @window_end
