// Test double of the RawSink port: rows kept in Maps under the port's idempotency keys, so a
// repeated write replaces rows instead of adding them. Not an adapter.
import type { ArrivalRow, DuplicateRow, IngestWrite, OrderLineRow, RawEventRow, RawSink, RejectedRow } from '../../pipeline/ports.js';

export class InMemoryRawSink implements RawSink {
  readonly events = new Map<string, RawEventRow>();
  readonly orderLines = new Map<string, OrderLineRow>();
  readonly rejected = new Map<string, RejectedRow>();
  readonly duplicates = new Map<string, DuplicateRow>();
  readonly arrivals = new Map<string, ArrivalRow>();
  writes = 0;
  /** When set, the next write throws it (a transient failure) and clears it. */
  failNext: Error | undefined;

  async write(batch: IngestWrite): Promise<void> {
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    this.writes++;
    for (const r of batch.accepted) this.events.set(`${r.merchant_id}/${r.event_id}`, r);
    for (const r of batch.orderLines) this.orderLines.set(`${r.merchant_id}/${r.event_id}/${r.line_index}`, r);
    for (const r of batch.rejected) this.rejected.set(`${r.message_id}/${r.entry_index}`, r);
    for (const r of batch.duplicates) this.duplicates.set(`${r.message_id}/${r.entry_index}`, r);
    for (const r of batch.arrivals) this.arrivals.set(`${r.message_id}/${r.merchant_id}/${r.event_hour.toISOString()}`, r);
  }

  /** End-state counts read from the stored rows, never from what the stage reported. */
  counts(): { accepted: number; rejected: Record<string, number>; duplicates: number } {
    const rejected: Record<string, number> = {};
    for (const r of this.rejected.values()) rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
    return { accepted: this.events.size, rejected, duplicates: this.duplicates.size };
  }
}
