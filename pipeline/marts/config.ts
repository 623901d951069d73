// Settings of mart runs, parsed once (zod): the reprocessing horizon (the one statement of "400
// days": SQL gets it as parameters, never as a literal), how far back each run re-reads arrivals,
// and the bytes ceiling every BigQuery job of the pipeline carries.
import { z } from 'zod';
import { HOUR_MS, MINUTE_MS } from '../time.js';
import { describeIssues } from '../errors.js';

export const MartConfig = z.object({
  /** How far back raw rows are kept and reprocessing reaches (infra's reprocessingHorizonDays). */
  horizonDays: z.number().int().min(1).max(3650),
  /**
   * Each run re-reads arrivals received this long before the previous run's watermark. received_at
   * is stamped when a message is received, and the row is committed later (a retried or slow
   * delivery): a row stamped before a run started but committed after its read is picked up by the
   * next run, as long as it commits within the overlap. Re-reading is idempotent (cells are rebuilt
   * from raw), so the overlap costs rebuilds, never correctness. Pub/Sub retries a push for at most
   * the subscription's retry span, so an hour covers a message's delivery attempts.
   */
  arrivalsOverlapMs: z.number().int().min(0),
  /** Ceiling of bytes billed per BigQuery job (maximumBytesBilled); absent: no ceiling. */
  maximumBytesBilled: z.number().int().positive().optional(),
});
export type MartConfig = z.infer<typeof MartConfig>;

export const DEFAULT_MART_CONFIG: MartConfig = { horizonDays: 400, arrivalsOverlapMs: HOUR_MS };

/** Reads the mart settings from the environment (TILLSTREAM_HORIZON_DAYS, TILLSTREAM_ARRIVALS_OVERLAP_MINUTES, TILLSTREAM_MAX_BYTES_BILLED). */
export function martConfigFromEnv(env: NodeJS.ProcessEnv = process.env): MartConfig {
  const num = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : Number(env[name]));
  const overlapMinutes = num('TILLSTREAM_ARRIVALS_OVERLAP_MINUTES');
  const parsed = MartConfig.safeParse({
    horizonDays: num('TILLSTREAM_HORIZON_DAYS') ?? DEFAULT_MART_CONFIG.horizonDays,
    arrivalsOverlapMs: overlapMinutes === undefined ? DEFAULT_MART_CONFIG.arrivalsOverlapMs : overlapMinutes * MINUTE_MS,
    maximumBytesBilled: num('TILLSTREAM_MAX_BYTES_BILLED'),
  });
  if (!parsed.success) throw new Error(`mart settings: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}
