// The local raw sink: ingest outcomes into the raw tables of the local warehouse, idempotently. A
// write replaces every row written before for the messages it names, in one transaction; writes that
// wait for the connection are committed together.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { IngestWrite, RawSink } from '../../pipeline/ports.js';
import { duckdbTableName } from '../../pipeline/schema/ddl-duckdb.js';
import { rawArrivals, rawDuplicates, rawEvents, rawOrderLines, rawRejectedEvents } from '../../pipeline/schema/raw.js';
import { inTransaction, placeholders, type DuckDbSession, type Pending } from './duckdb-session.js';
import { appendRows } from './duckdb-values.js';

/** The messages whose rows a write replaces. */
function messageIdsOf(batch: IngestWrite): Set<string> {
  return new Set([
    ...batch.accepted.map((r) => r.message_id),
    ...batch.rejected.map((r) => r.message_id),
    ...batch.duplicates.map((r) => r.message_id),
    ...batch.arrivals.map((r) => r.message_id),
  ]);
}

function namesAMessageTwice(writes: IngestWrite[]): boolean {
  const seen = new Set<string>();
  for (const w of writes) {
    for (const id of messageIdsOf(w)) {
      if (seen.has(id)) return true;
      seen.add(id);
    }
  }
  return false;
}

export class LocalRawSink implements RawSink {
  private readonly enqueue: (batch: IngestWrite) => Promise<void>;

  constructor(session: DuckDbSession) {
    this.enqueue = session.groupCommit<IngestWrite, void>((conn, pending) => this.flushWrites(conn, pending));
  }

  /**
   * Writes one or more messages' outcomes in one transaction. A write replaces everything written
   * before for the messages it names (their rows in raw.events, raw.order_lines, raw.rejected_events,
   * raw.duplicates and raw.arrivals), so a redelivery — or a revalidation that moves an entry between
   * end states — leaves exactly the rows of the last write.
   */
  write(batch: IngestWrite): Promise<void> {
    if (batch.accepted.length + batch.orderLines.length + batch.rejected.length + batch.duplicates.length + batch.arrivals.length === 0) {
      return Promise.resolve();
    }
    return this.enqueue(batch);
  }

  private async flushWrites(conn: DuckDBConnection, pending: Pending<IngestWrite, void>[]): Promise<void> {
    // Two writes of one message in a group (concurrent redeliveries) cannot be merged: each replaces the
    // message's rows, so merged they would append its rows twice. Written one by one, the last one wins.
    if (pending.length > 1 && namesAMessageTwice(pending.map((p) => p.input))) return this.writeOneByOne(conn, pending);
    const merged: IngestWrite = {
      accepted: pending.flatMap((p) => p.input.accepted),
      orderLines: pending.flatMap((p) => p.input.orderLines),
      rejected: pending.flatMap((p) => p.input.rejected),
      duplicates: pending.flatMap((p) => p.input.duplicates),
      arrivals: pending.flatMap((p) => p.input.arrivals),
    };
    try {
      await inTransaction(conn, (c) => this.writeRows(c, merged));
      for (const p of pending) p.resolve();
      return;
    } catch (err) {
      if (pending.length === 1) {
        pending[0]!.reject(err);
        return;
      }
    }
    // One bad write must not fail the others: write them one by one.
    await this.writeOneByOne(conn, pending);
  }

  private async writeOneByOne(conn: DuckDBConnection, pending: Pending<IngestWrite, void>[]): Promise<void> {
    for (const p of pending) {
      try {
        await inTransaction(conn, (c) => this.writeRows(c, p.input));
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
  }

  private async writeRows(conn: DuckDBConnection, batch: IngestWrite): Promise<void> {
    const ids = [...messageIdsOf(batch)];
    if (ids.length > 0 && (await this.anyWritten(conn, ids))) await this.deleteMessages(conn, ids);
    await appendRows(conn, rawEvents, batch.accepted);
    await appendRows(conn, rawOrderLines, batch.orderLines);
    await appendRows(conn, rawRejectedEvents, batch.rejected);
    await appendRows(conn, rawDuplicates, batch.duplicates);
    await appendRows(conn, rawArrivals, batch.arrivals);
  }

  /** Cheap on the common path: message ids grow with time, so DuckDB's zone maps skip old row groups. */
  private async anyWritten(conn: DuckDBConnection, ids: string[]): Promise<boolean> {
    const inList = placeholders(ids.length);
    const parts = [rawEvents, rawRejectedEvents, rawDuplicates, rawArrivals].map(
      (t) => `(SELECT 1 FROM ${duckdbTableName(t)} WHERE message_id IN (${inList}) LIMIT 1)`,
    );
    const reader = await conn.runAndReadAll(`SELECT count(*) AS n FROM (${parts.join(' UNION ALL ')})`, ids);
    return Number(reader.getRows()[0]?.[0] ?? 0) > 0;
  }

  private async deleteMessages(conn: DuckDBConnection, ids: string[]): Promise<void> {
    const inList = placeholders(ids.length);
    // Order lines carry no message id: find them through their order's raw.events row.
    await conn.run(
      `DELETE FROM ${duckdbTableName(rawOrderLines)} WHERE (merchant_id, event_id) IN (
         SELECT merchant_id, event_id FROM ${duckdbTableName(rawEvents)} WHERE message_id IN (${inList}))`,
      ids,
    );
    for (const t of [rawEvents, rawRejectedEvents, rawDuplicates, rawArrivals]) {
      await conn.run(`DELETE FROM ${duckdbTableName(t)} WHERE message_id IN (${inList})`, ids);
    }
  }
}
