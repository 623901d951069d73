// The entry counter: accepted, rejected (by reason) and duplicate entries counted straight from the
// raw tables of the local warehouse, for the published = accepted + rejected + duplicates invariant
// (counted from the stores, never derived from the other counts).
import type { ReasonCode } from '../../pipeline/contracts/outcomes.js';
import { duckdbTableName } from '../../pipeline/schema/ddl-duckdb.js';
import { rawDuplicates, rawEvents, rawRejectedEvents } from '../../pipeline/schema/raw.js';
import type { DuckDbSession } from './duckdb-session.js';

export interface StoredEntryCounts {
  accepted: number;
  rejected: Partial<Record<ReasonCode, number>>;
  duplicates: number;
}

/**
 * Accepted, rejected (by reason) and duplicate entries as the tables hold them; restricted to the
 * given messages (a run's) when `messageIds` is set.
 */
export async function countEntries(session: DuckDbSession, opts: { messageIds?: readonly string[] } = {}): Promise<StoredEntryCounts> {
  return session.exclusive(async (conn) => {
    let filter = '';
    if (opts.messageIds) {
      await conn.run('CREATE TEMP TABLE IF NOT EXISTS count_scope (message_id VARCHAR)');
      await conn.run('DELETE FROM count_scope');
      const appender = await conn.createAppender('count_scope', 'main', 'temp');
      try {
        for (const id of opts.messageIds) {
          appender.appendVarchar(id);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      filter = ' WHERE message_id IN (SELECT message_id FROM count_scope)';
    }
    const scalar = async (sql: string): Promise<number> => Number((await conn.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
    const accepted = await scalar(`SELECT count(*) FROM ${duckdbTableName(rawEvents)}${filter}`);
    const duplicates = await scalar(`SELECT count(*) FROM ${duckdbTableName(rawDuplicates)}${filter}`);
    const rows = (
      await conn.runAndReadAll(`SELECT reason, count(*) FROM ${duckdbTableName(rawRejectedEvents)}${filter} GROUP BY reason ORDER BY reason`)
    ).getRows();
    const rejected: Partial<Record<ReasonCode, number>> = {};
    for (const [reason, n] of rows) if (Number(n) > 0) rejected[String(reason) as ReasonCode] = Number(n);
    return { accepted, rejected, duplicates };
  });
}
