// Documents mirrored into the series store beside each merchant's series (documentKey(m, name)), so the
// query API reads nothing but the series store. The exporter writes them; the query API parses them.
import { z } from 'zod';

/** documentKey(m, 'merchant'): the merchant's dimension row; its time zone defines local days. */
export const MerchantDocument = z.object({
  id: z.string(),
  name: z.string(),
  time_zone: z.string(),
  currency: z.string(),
});

/** documentKey(m, 'stores'): the merchant's stores, time zones resolved (a store defaults to its merchant's). */
export const StoresDocument = z.object({
  stores: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      city: z.string().nullable().optional(),
      region: z.string().nullable().optional(),
      time_zone: z.string(),
    }),
  ),
});

/**
 * documentKey(m, 'dimensions'): a digest of the merchant and stores documents, written after them. Readers
 * that cache those two documents read this small one with each request and refetch when it changes.
 */
export const DimensionsVersionDocument = z.object({ version: z.string() });

/**
 * documentKey(m, 'freshness'): ISO instants.
 * newest_event_at — newest event_ts accepted for the merchant; finalized_through — end (exclusive) of the last
 * hour a mart run has finalized: hours starting before it are final, later ones provisional.
 */
export const FreshnessDocument = z.object({
  newest_event_at: z.string().nullable(),
  finalized_through: z.string().nullable(),
  /**
   * End (exclusive) of the merchant's last inventory hour exported. Inventory is stored as change points
   * (pipeline/marts/changes.ts) that the query API fills forward up to here; absent: every hour is stored.
   */
  inventory_through: z.string().optional(),
  /**
   * true once every ranked row of the merchant has its bucket-major twin (pipeline/series/ranked.ts): the
   * exporter copies the rows written before twins existed, once, then sets it. Absent: rankings scan the
   * dimension's rows as the series layout holds them.
   */
  ranked_rows: z.boolean().optional(),
  /**
   * Set when the copy of a merchant's rows began: its twins carry the speed layer's partials for the hours
   * starting here and later (the copy brings mart cells only). A ranking reaching an hour before it that is
   * not final yet is answered from the rows (services/query-api/top.ts rankedRowsExact).
   */
  ranked_from: z.string().optional(),
  /** The last row key copied when a copy stopped at its run's budget: the next export goes on after it. */
  ranked_copy_after: z.string().optional(),
});

export type MerchantDocument = z.infer<typeof MerchantDocument>;
export type StoresDocument = z.infer<typeof StoresDocument>;
export type FreshnessDocument = z.infer<typeof FreshnessDocument>;
export type DimensionsVersionDocument = z.infer<typeof DimensionsVersionDocument>;
