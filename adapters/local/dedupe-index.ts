// The local dedupe index: the exact (merchant_id, event_id) → first entry index, in a bookkeeping table
// of the local warehouse (GCP keeps it in Bigtable), claimed in transactions so that the copy
// received first wins. Claims that wait for the connection are decided together, in arrival order.
import { BIGINT, LIST, VARCHAR, listValue, type DuckDBConnection } from '@duckdb/node-api';
import type { EntryRef } from '../../pipeline/contracts/outcomes.js';
import type { DedupeClaim, DedupeIndex, DedupeVerdict } from '../../pipeline/ports.js';
import { duckdbDdl } from '../../pipeline/schema/ddl-duckdb.js';
import { req, type TableDef } from '../../pipeline/schema/types.js';
import { inTransaction, type DuckDbSession, type Pending } from './duckdb-session.js';
import { appendRows } from './duckdb-values.js';

/**
 * state.dedupe_index: a local bookkeeping table, not part of the BigQuery schema (GCP keeps the dedupe
 * index in Bigtable). Its DDL and its column-wise appends (appendRows) both come from this definition.
 * No PRIMARY KEY (duckdbDdl adds none): claims are decided in one serialized transaction (one writer
 * holds the data directory), so a key is never inserted twice; an ART index on it cost more at insert
 * and commit (and memory) than the look-ups it served, which scan the table as a semi-join anyway.
 */
const dedupeIndexTable: TableDef = {
  id: 'state.dedupe_index',
  description: 'Local dedupe index: the first entry of each (merchant_id, event_id)',
  uniqueKey: ['dedupe_key'],
  columns: [
    req('dedupe_key', 'STRING', 'merchant_id and event_id joined'),
    req('merchant_id', 'STRING', 'Merchant'),
    req('event_id', 'STRING', 'Event id'),
    req('content_hash', 'STRING', 'Hash of the canonical content of the first copy'),
    req('message_id', 'STRING', 'Message of the first copy'),
    req('entry_index', 'INT64', 'Entry index of the first copy'),
    req('claimed_at', 'TIMESTAMP', 'When the claim was written'),
  ],
};

/** Local bookkeeping tables' DDL (the warehouse runs it on open). */
export const STATE_DDL = [duckdbDdl(dedupeIndexTable)];

/** The unit separator cannot occur in validated ids, so the joined key is unambiguous. */
const dedupeKey = (merchantId: string, eventId: string): string => `${merchantId}\u001f${eventId}`;

export class LocalDedupeIndex implements DedupeIndex {
  private readonly enqueue: (claims: DedupeClaim[]) => Promise<DedupeVerdict[]>;

  constructor(private readonly session: DuckDbSession) {
    this.enqueue = session.groupCommit<DedupeClaim[], DedupeVerdict[]>((conn, pending) => this.flushClaims(conn, pending));
  }

  claim(claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
    if (claims.length === 0) return Promise.resolve([]);
    return this.enqueue(claims);
  }

  private async flushClaims(conn: DuckDBConnection, pending: Pending<DedupeClaim[], DedupeVerdict[]>[]): Promise<void> {
    try {
      // Claims of all waiting callers in one transaction, in arrival order: the same verdicts as one by one.
      const verdicts = await inTransaction(conn, (c) => this.claimAll(c, pending.flatMap((p) => p.input)));
      let offset = 0;
      for (const p of pending) {
        p.resolve(verdicts.slice(offset, offset + p.input.length));
        offset += p.input.length;
      }
    } catch (err) {
      for (const p of pending) p.reject(err);
    }
  }

  private async claimAll(conn: DuckDBConnection, claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
    const keys = [...new Set(claims.map((c) => dedupeKey(c.merchantId, c.eventId)))];
    const owners = new Map<string, { contentHash: string; entry: EntryRef }>();
    // One semi-join of the whole group's keys instead of IN lists of placeholders. The keys go in as
    // one JSON array text, which DuckDB's built-in json reads back exactly (ids are ASCII by the
    // contract's Id): a LIST parameter cost the client a native value per key, ~2 % of an ingest's JS time.
    const reader = await conn.runAndReadAll(
      `SELECT dedupe_key, content_hash, message_id, entry_index FROM state.dedupe_index WHERE dedupe_key IN (SELECT unnest(from_json($keys, '["VARCHAR"]')))`,
      { keys: JSON.stringify(keys) },
      { keys: VARCHAR },
    );
    for (const [key, hash, messageId, index] of reader.getRows()) {
      owners.set(String(key), { contentHash: String(hash), entry: { messageId: String(messageId), index: Number(index) } });
    }
    const verdicts: DedupeVerdict[] = [];
    const fresh: DedupeClaim[] = [];
    for (const c of claims) {
      const key = dedupeKey(c.merchantId, c.eventId);
      const owner = owners.get(key);
      if (!owner) {
        owners.set(key, { contentHash: c.contentHash, entry: c.entry });
        fresh.push(c);
        verdicts.push({ kind: 'new' });
      } else if (owner.entry.messageId === c.entry.messageId && owner.entry.index === c.entry.index) {
        verdicts.push({ kind: 'same_entry' });
      } else if (owner.contentHash === c.contentHash) {
        verdicts.push({ kind: 'duplicate', first: { ...owner.entry } });
      } else {
        verdicts.push({ kind: 'conflict', first: { ...owner.entry } });
      }
    }
    // Column-wise data chunks: value-by-value appender calls cost a native value per timestamp.
    const claimedAt = new Date();
    await appendRows(
      conn,
      dedupeIndexTable,
      fresh.map((c) => ({
        dedupe_key: dedupeKey(c.merchantId, c.eventId),
        merchant_id: c.merchantId,
        event_id: c.eventId,
        content_hash: c.contentHash,
        message_id: c.entry.messageId,
        entry_index: c.entry.index,
        claimed_at: claimedAt,
      })),
    );
    return verdicts;
  }

  async release(keys: { merchantId: string; eventId: string; entry: EntryRef }[]): Promise<void> {
    if (keys.length === 0) return;
    // One statement for all keys: without an index each DELETE scans the table.
    await this.session.transaction(async (conn) => {
      await conn.run(
        `DELETE FROM state.dedupe_index AS d
         USING (SELECT unnest($keys) AS k, unnest($messages) AS m, unnest($indexes) AS i) AS r
         WHERE d.dedupe_key = r.k AND d.message_id = r.m AND d.entry_index = r.i`,
        {
          keys: listValue(keys.map((k) => dedupeKey(k.merchantId, k.eventId))),
          messages: listValue(keys.map((k) => k.entry.messageId)),
          indexes: listValue(keys.map((k) => BigInt(k.entry.index))),
        },
        { keys: LIST(VARCHAR), messages: LIST(VARCHAR), indexes: LIST(BIGINT) },
      );
    });
  }
}
