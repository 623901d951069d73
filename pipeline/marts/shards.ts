// Merchant shards of one export: the tasks of the export job (a Cloud Run job, services/export-job/)
// each take one contiguous range of merchant ids, [from, to), and the ranges of a run's tasks tile
// the whole id space, so every merchant — a touched one or one that only inventory's every-merchant
// hours reach — falls in exactly one task.
//
// Why ranges and not a hash of the id: marts are clustered by merchant_id, and BigQuery prunes
// clustered blocks by a range filter on the leading clustering column
// (https://cloud.google.com/bigquery/docs/clustered-tables#block-pruning); a `mod(farm_fingerprint(
// merchant_id), n) = i` filter prunes nothing, so every task would read (and be billed for) the whole
// run. Ranges keep the bytes of all tasks together at the bytes of one unsharded export.
//
// Where the boundaries come from: merchant ids are free strings (pipeline/contracts/events.ts Id:
// ASCII letters, digits and `_ . : -`), not spread evenly over any alphabet, so fixed cuts of the
// alphabet would leave most tasks empty. Each task cuts at the quantiles of the merchants the run
// touched, read from the run's own record (marts.mart_runs), which no longer changes once the run has
// ended: every task computes the same cuts without talking to the others, and the tasks share the
// changed merchants evenly.
import type { MerchantRange } from './exporter.js';

export const inRange = (r: MerchantRange, merchantId: string): boolean => merchantId >= r.merchantFrom && (r.merchantTo === undefined || merchantId < r.merchantTo);

/**
 * `count` ranges tiling the id space, cut at the quantiles of `merchants` (ids are ASCII, so
 * JavaScript's string order is BigQuery's byte order); the last is open-ended. With fewer merchants
 * than tasks some ranges are empty; they still tile.
 */
export function merchantShards(merchants: Iterable<string>, count: number): MerchantRange[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`merchant shards: the task count must be a positive integer, not ${count}`);
  const sorted = [...new Set(merchants)].filter((m) => m !== '').sort();
  // With no touched merchant every cut is the first id: the last task takes the whole (every-merchant) run.
  const cuts: (string | undefined)[] = [''];
  for (let i = 1; i < count; i++) cuts.push(sorted.length ? sorted[Math.floor((i * sorted.length) / count)]! : '');
  cuts.push(undefined);
  return Array.from({ length: count }, (_, i) => ({ merchantFrom: cuts[i]!, ...(cuts[i + 1] !== undefined ? { merchantTo: cuts[i + 1] } : {}) }));
}

/** The task's place in its execution: Cloud Run sets CLOUD_RUN_TASK_INDEX (0-based) and CLOUD_RUN_TASK_COUNT on every task. */
export interface TaskShard {
  index: number;
  count: number;
}

/** Reads the task's index and count (https://cloud.google.com/run/docs/container-contract#jobs-env-vars); one task when unset. */
export function taskShardOf(env: NodeJS.ProcessEnv): TaskShard {
  const count = env.CLOUD_RUN_TASK_COUNT === undefined ? 1 : Number(env.CLOUD_RUN_TASK_COUNT);
  const index = env.CLOUD_RUN_TASK_INDEX === undefined ? 0 : Number(env.CLOUD_RUN_TASK_INDEX);
  if (!Number.isInteger(count) || count < 1) throw new Error(`CLOUD_RUN_TASK_COUNT: "${env.CLOUD_RUN_TASK_COUNT}" is not a positive integer`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`CLOUD_RUN_TASK_INDEX: "${env.CLOUD_RUN_TASK_INDEX}" is not an index below CLOUD_RUN_TASK_COUNT ${count}`);
  return { index, count };
}
