// Re-validation moves entries between end states, so a re-validated message's new rows must replace
// the rows its first processing wrote (a formerly rejected event leaves raw.rejected_events for
// raw.events). The local warehouse's write replaces by message already; BigQuery's streaming
// inserts only append. This sink deletes a message's rows with DML (BigQuery SQL, through the
// Warehouse port) before handing the write on, for `tillstream reprocess --revalidate` on gcp only:
// ingest itself keeps appending, which is what redelivery needs.
//
// Re-validation clears a whole chunk of messages ahead of their stage runs (clearAhead: one DML per
// table for up to a chunk of messages, bounded by the chunk's partitions), and their writes then only
// append; a message the sink was not told of is cleared on its own, as redelivery-safe fallback.
//
// The delete and the insert are two steps: a run stopped between them leaves the messages without
// rows until reprocess is run again over their range, which restores them from the archive. BigQuery
// refuses DML on rows recently written by legacy streaming inserts (about half an hour); the gcp
// runtime writes raw rows through the Storage Write API (adapters/gcp/bigquery-storage-sink.ts),
// whose rows DML reaches at once, so a re-validation right after ingest works.
import type { IngestWrite, RawSink, Warehouse } from '../ports.js';
import { DAY_MS } from '../time.js';
import { DEFAULT_MART_CONFIG, type MartConfig } from './config.js';
import { sqlParams } from './windows.js';

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

// raw.events and raw.order_lines are partitioned by event time: the reprocessing horizon before the
// message's receipt (@horizon_start, from the mart config) bounds the scan, as in the re-validation
// look-ups. The others are partitioned by received_at.
const HORIZON = 'event_ts >= @horizon_start';

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

/** Deletes every row the messages' earlier processing wrote (none of their events is older than the horizon). */
export async function clearMessageRows(warehouse: Warehouse, messages: MessageRef[], horizonDays = DEFAULT_MART_CONFIG.horizonDays): Promise<void> {
  for (const m of messages) {
    const params = { message_id: m.id, received_at: m.receivedAt, horizon_start: new Date(m.receivedAt.getTime() - horizonDays * DAY_MS) };
    // Each statement gets only the parameters it names (DuckDB refuses unused ones).
    for (const sql of CLEAR_MESSAGE_STATEMENTS) await warehouse.run(sql, sqlParams(sql, params));
  }
}

/**
 * A chunk of messages whose rows are cleared at once: ids, their received_at span (the partitions of
 * the tables partitioned by received_at) and where their accepted events lie (raw.events and
 * raw.order_lines are partitioned by event time); both bounds inclusive.
 */
export interface ChunkRows {
  ids: string[];
  receivedFrom: Date;
  receivedTo: Date;
  eventsFrom: Date;
  eventsTo: Date;
}

const IN_CHUNK = 'message_id in (select id from unnest(@ids) as id)';
const CHUNK_EVENTS = 'event_ts >= @events_from and event_ts <= @events_to';
const CHUNK_RECEIVED = 'received_at >= @received_from and received_at <= @received_to';

/** The statements that delete a chunk's rows, in the order of CLEAR_MESSAGE_STATEMENTS. */
export const CLEAR_CHUNK_STATEMENTS: readonly string[] = [
  `delete from raw.order_lines
   where ${CHUNK_EVENTS}
     and concat(merchant_id, '|', event_id) in (
       select concat(merchant_id, '|', event_id) from raw.events where ${IN_CHUNK} and ${CHUNK_EVENTS})`,
  `delete from raw.events where ${IN_CHUNK} and ${CHUNK_EVENTS}`,
  `delete from raw.rejected_events where ${IN_CHUNK} and ${CHUNK_RECEIVED}`,
  `delete from raw.duplicates where ${IN_CHUNK} and ${CHUNK_RECEIVED}`,
  `delete from raw.arrivals where ${IN_CHUNK} and ${CHUNK_RECEIVED}`,
];

/** Deletes every row the chunk's messages' earlier processing wrote, one statement per table. */
export async function clearChunkRows(warehouse: Warehouse, chunk: ChunkRows): Promise<void> {
  if (chunk.ids.length === 0) return;
  const params = { ids: chunk.ids, received_from: chunk.receivedFrom, received_to: chunk.receivedTo, events_from: chunk.eventsFrom, events_to: chunk.eventsTo };
  // Each statement gets only the parameters it names (DuckDB refuses unused ones).
  for (const sql of CLEAR_CHUNK_STATEMENTS) await warehouse.run(sql, Object.fromEntries(Object.entries(params).filter(([k]) => sql.includes(`@${k}`))));
}

export interface ReplacingSink extends RawSink {
  /** Clears a chunk of messages now; the next write of each of them appends without deleting again. */
  clearAhead(chunk: ChunkRows): Promise<void>;
}

/** A sink whose write replaces the rows of the messages it names. */
export function replacingSink(warehouse: Warehouse, sink: RawSink, config: Pick<MartConfig, 'horizonDays'> = DEFAULT_MART_CONFIG): ReplacingSink {
  // Cleared ahead and not written since: a second write of one of them (a retry) clears again.
  const cleared = new Set<string>();
  return {
    async clearAhead(chunk) {
      await clearChunkRows(warehouse, chunk);
      for (const id of chunk.ids) cleared.add(id);
    },
    async write(batch) {
      const uncleared = messagesOf(batch).filter((m) => !cleared.delete(m.id));
      if (uncleared.length > 0) await clearMessageRows(warehouse, uncleared, config.horizonDays);
      await sink.write(batch);
    },
  };
}
