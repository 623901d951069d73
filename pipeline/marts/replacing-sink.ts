// Re-validation moves entries between end states, so a re-validated message's new rows must replace
// the rows its first processing wrote (a formerly rejected event leaves raw.rejected_events for
// raw.events). The local warehouse's write replaces by message already; BigQuery's streaming
// inserts only append. This sink deletes a message's rows with DML (BigQuery SQL, through the
// Warehouse port) before handing the write on, for `tillstream reprocess --revalidate` on gcp only:
// ingest itself keeps appending, which is what redelivery needs.
//
// The delete and the insert are two steps: a run stopped between them leaves the message without
// rows until reprocess is run again over its range, which restores them from the archive. BigQuery
// refuses DML on rows still in the streaming buffer (about the first half hour after an insert), so
// re-validating the same range twice within that time fails and is retried later.
import type { IngestWrite, RawSink, Warehouse } from '../ports.js';

export interface MessageRef {
  id: string;
  receivedAt: Date;
}

/** The messages a write names, each with its received_at (the partition of its non-accepted rows). */
export function messagesOf(batch: IngestWrite): MessageRef[] {
  const out = new Map<string, MessageRef>();
  const add = (id: string, receivedAt: Date) => {
    if (!out.has(id)) out.set(id, { id, receivedAt: new Date(receivedAt) });
  };
  for (const r of batch.accepted) add(r.message_id, r.received_at);
  for (const r of batch.rejected) add(r.message_id, r.received_at);
  for (const r of batch.duplicates) add(r.message_id, r.received_at);
  for (const r of batch.arrivals) add(r.message_id, r.received_at);
  return [...out.values()];
}

// raw.events and raw.order_lines are partitioned by event time: the reprocessing horizon (400 days)
// bounds the scan, as in the re-validation look-ups. The others are partitioned by received_at.
const HORIZON = 'event_ts >= timestamp_sub(@received_at, interval 400 day)';

/**
 * The statements that delete one message's rows, in order (order lines first: they carry no message id
 * and are found through their raw.events row). Ids never contain '|' (pipeline/contracts/events.ts).
 */
export const CLEAR_MESSAGE_STATEMENTS: readonly string[] = [
  `delete from raw.order_lines
   where ${HORIZON}
     and concat(merchant_id, '|', event_id) in (
       select concat(merchant_id, '|', event_id) from raw.events where message_id = @message_id and ${HORIZON})`,
  `delete from raw.events where message_id = @message_id and ${HORIZON}`,
  'delete from raw.rejected_events where message_id = @message_id and received_at = @received_at',
  'delete from raw.duplicates where message_id = @message_id and received_at = @received_at',
  'delete from raw.arrivals where message_id = @message_id and received_at = @received_at',
];

/** Deletes every row the messages' earlier processing wrote. */
export async function clearMessageRows(warehouse: Warehouse, messages: MessageRef[]): Promise<void> {
  for (const m of messages) {
    for (const sql of CLEAR_MESSAGE_STATEMENTS) await warehouse.run(sql, { message_id: m.id, received_at: m.receivedAt });
  }
}

/** A sink whose write replaces the rows of the messages it names. */
export function replacingSink(warehouse: Warehouse, sink: RawSink): RawSink {
  return {
    async write(batch) {
      await clearMessageRows(warehouse, messagesOf(batch));
      await sink.write(batch);
    },
  };
}
