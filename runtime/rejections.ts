// A merchant's recent rejections, from the warehouse's raw.rejected_events: counts by reason and the
// newest samples with their detail and payload (what Snowplow Micro calls bad events). `tillstream
// rejections` prints it; run while `tillstream start` holds the data directory, it goes through the
// running process like every other command, so the locked DuckDB file is never opened twice.
import type { SeriesStore, Warehouse } from '../pipeline/ports.js';
import { documentKey } from '../pipeline/series/row-key.js';

export interface RejectionSample {
  received_at: string;
  reason: string;
  detail: string | null;
  merchant_id: string | null;
  event_id: string | null;
  event_type: string | null;
  source: string;
  /** The entry as sent, cut to PAYLOAD_CHARS characters. */
  payload: string;
}

export interface RejectionReport {
  from: string;
  to: string;
  merchant_id: string | null;
  total: number;
  /** Reason → entries, most frequent first. */
  by_reason: Record<string, number>;
  samples: RejectionSample[];
}

export const PAYLOAD_CHARS = 300;

/** Rejections received in [from, to), of one merchant or all; `samples` newest first. */
export async function rejectionReport(warehouse: Warehouse, opts: { from: Date; to: Date; merchantId?: string; samples?: number }): Promise<RejectionReport> {
  const params = { from: opts.from, to: opts.to, merchant: opts.merchantId ?? '' };
  // received_at bounds the partitions read; an empty merchant parameter means every merchant.
  const where = `received_at >= @from and received_at < @to and (@merchant = '' or merchant_id = @merchant)`;
  const counts = await warehouse.query<{ reason: string; n: number }>(
    `select reason, count(*) as n from raw.rejected_events where ${where} group by reason order by n desc, reason`,
    params,
  );
  const limit = Math.max(0, Math.min(100, Math.trunc(opts.samples ?? 10)));
  const samples = await warehouse.query<Omit<RejectionSample, 'received_at'> & { received_at: Date }>(
    `select received_at, reason, detail, merchant_id, event_id, event_type, source, substr(payload, 1, ${PAYLOAD_CHARS}) as payload
     from raw.rejected_events where ${where}
     order by received_at desc, message_id desc, entry_index desc limit ${limit}`,
    params,
  );
  const by_reason = Object.fromEntries(counts.map((c) => [c.reason, Number(c.n)]));
  return {
    from: opts.from.toISOString(),
    to: opts.to.toISOString(),
    merchant_id: opts.merchantId ?? null,
    total: Object.values(by_reason).reduce((a, b) => a + b, 0),
    by_reason,
    samples: samples.map((s) => ({ ...s, received_at: new Date(s.received_at).toISOString() })),
  };
}

/** documentKey(m, 'rejections'): the merchant's report, as of its `as_of` (null: none written yet). */
export interface RejectionsDocument extends RejectionReport {
  as_of: string;
}

/** The window and samples of the rejections document each mart cycle writes. */
export const REJECTIONS_DOCUMENT_DAYS = 7;
export const REJECTIONS_DOCUMENT_SAMPLES = 10;

/**
 * Writes every merchant's rejections document into the series store, so the query API answers
 * GET /v1/merchants/{id}/rejections from the series store alone, as every other route. Called by
 * the local runtime after each mart cycle; a merchant without rejections gets an empty report.
 */
export async function exportRejectionDocuments(deps: { warehouse: Warehouse; series: SeriesStore }, now: Date): Promise<number> {
  const merchants = await deps.warehouse.query<{ merchant_id: string }>('select merchant_id from dims.merchants order by merchant_id');
  const from = new Date(now.getTime() - REJECTIONS_DOCUMENT_DAYS * 86_400_000);
  for (const { merchant_id } of merchants) {
    const report = await rejectionReport(deps.warehouse, { from, to: now, merchantId: merchant_id, samples: REJECTIONS_DOCUMENT_SAMPLES });
    const doc: RejectionsDocument = { ...report, as_of: now.toISOString() };
    await deps.series.putDocument(documentKey(merchant_id, 'rejections'), doc);
  }
  return merchants.length;
}
