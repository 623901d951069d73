// End states of an entry and the closed list of rejection reasons (DESIGN.md, "Contracts").
// The order of REASON_CODES is the order in which checks run: the first that fails is the reason.

export const REASON_CODES = [
  'invalid_json',
  'payload_too_large',
  'schema_mismatch',
  'unknown_merchant',
  'merchant_mismatch',
  'unknown_store',
  'currency_mismatch',
  'event_too_old',
  'event_in_future',
  'fraud_ip',
  'bot',
  'conflicting_duplicate',
  'processing_failed',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

export const END_STATES = ['accepted', 'rejected', 'duplicate'] as const;
export type EndState = (typeof END_STATES)[number];

/** Where an entry came from: the bus message that carried it and its position in that message. Stable across redeliveries. */
export interface EntryRef {
  messageId: string;
  index: number;
}

/** Counts in the shape of the `--once` summary: `rejected` maps reason → count with zero counts omitted. */
export interface EntryCounts {
  published: number;
  accepted: number;
  rejected: Partial<Record<ReasonCode, number>>;
  duplicates: number;
}

export function totalRejected(counts: EntryCounts): number {
  return Object.values(counts.rejected).reduce((s, n) => s + (n ?? 0), 0);
}

/** published = accepted + sum(rejected) + duplicates; anything else is an error. */
export function invariantHolds(counts: EntryCounts): boolean {
  return counts.published === counts.accepted + totalRejected(counts) + counts.duplicates;
}
