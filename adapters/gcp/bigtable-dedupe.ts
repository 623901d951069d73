// The DedupeIndex and IngestJournal ports on one Bigtable table.
//
// Dedupe index: one row per (merchant_id, event_id), claimed with CheckAndMutateRow so that exactly
// one entry ever owns an event, however many functions race for it. The claim writes only if the
// row is empty; the stored cells are the owner entry ('o' = message id + NUL + index) and the
// content hash ('h'). A lost claim reads the owner back to tell a redelivery of the owning entry
// (same_entry), an exact duplicate, and a conflicting duplicate apart; the owner never changes
// once written (only release — revalidation, or the last attempt giving up on an entry it never
// stored — removes it), so that read is consistent.
//
// A claim only makes a copy a duplicate once the owner has confirmed it stored its raw row (cell
// 's', set by a conditional mutation that applies only while the owner is unchanged); until then
// the verdict is `pending` and the copy's message is retried, so a claim left by an attempt that
// failed never turns a client's resend into a duplicate of an event that was not stored.
//
// Journal: one row per message, a cell per record ('j.<random>' → JSON): the dedupe answers an
// attempt is about to write rows from, then each part stored.
//
// Row keys start with a short hash of the rest: a large merchant's sequential event ids (and
// Pub/Sub's increasing message ids) would otherwise land on one tablet. Bigtable's schema guide
// names sequential ids as a hotspot cause and hashing as the remedy; exact look-ups, the only reads
// this table serves, are unaffected.
// https://cloud.google.com/bigtable/docs/schema-design#row-keys-avoid
import { createHash, randomBytes } from 'node:crypto';
import type { Table } from '@google-cloud/bigtable';
import type { EntryRef } from '../../pipeline/contracts/outcomes.js';
import type { DedupeClaim, DedupeIndex, DedupeVerdict, IngestJournal, JournalRecord } from '../../pipeline/ports.js';
import { mapLimit } from './bigtable.js';

const FAMILY = 'c';
const OWNER = 'o';
const HASH = 'h';
const STORED = 's';
const JOURNAL_PREFIX = 'j.';
/** Parallel CheckAndMutateRow calls per claim batch. */
const CONCURRENCY = 32;

/** Four hex digits (65,536 key ranges) of SHA-256: stable across processes and releases. */
export const keyPrefix = (rest: string): string => createHash('sha256').update(rest).digest('hex').slice(0, 4);

// Ids cannot contain '#' (see the Id pattern of the wire contract), so this key is unambiguous.
export function dedupeRowKey(merchantId: string, eventId: string): string {
  const rest = `${merchantId}#${eventId}`;
  return `${keyPrefix(rest)}#${rest}`;
}
// Ids start with a letter or digit, so '~' keeps journal rows apart from dedupe rows.
export function journalRowKey(messageId: string): string {
  const rest = `~m#${messageId}`;
  return `${keyPrefix(rest)}#${rest}`;
}

const ownerValue = (e: EntryRef): string => `${e.messageId}\u0000${e.index}`;
function parseOwner(v: string): EntryRef {
  const cut = v.lastIndexOf('\u0000');
  return { messageId: v.slice(0, cut), index: Number(v.slice(cut + 1)) };
}

type Cells = Record<string, Record<string, { value: Buffer }[]>>;
const text = (b: Buffer | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

function mergeRecord(into: JournalRecord, part: JournalRecord): JournalRecord {
  if (part.accepted) into.accepted = [...(into.accepted ?? []), ...part.accepted];
  if (part.rejected) into.rejected = { ...into.rejected, ...part.rejected };
  if (part.duplicates) into.duplicates = [...(into.duplicates ?? []), ...part.duplicates];
  if (part.processing_failed) into.processing_failed = [...(into.processing_failed ?? []), ...part.processing_failed];
  if (part.failure !== undefined) into.failure ??= part.failure;
  if (part.verdicts) into.verdicts = { ...part.verdicts, ...into.verdicts };
  return into;
}

export type BigtableDedupeIndex = DedupeIndex & IngestJournal & Required<Pick<DedupeIndex, 'confirm' | 'release'>>;

export interface BigtableDedupeOptions {
  /**
   * A claim still unconfirmed this long after it was made is abandoned: its message stopped for good
   * without settling (killed on its last delivery attempt and dead-lettered), so a later copy takes
   * the event over instead of waiting forever. Longer than a message's whole retry window: five
   * attempts with the maximum 600 s ack deadline and 600 s backoff are about 90 minutes.
   * https://cloud.google.com/pubsub/docs/handling-failures
   */
  abandonAfterMs?: number;
  /** Wall clock in ms (tests); claims carry the writer's time as their cell timestamp. */
  nowMs?: () => number;
}
export const DEFAULT_ABANDON_AFTER_MS = 2 * 3_600_000;

export function createBigtableDedupeIndex(table: Table, opts: BigtableDedupeOptions = {}): BigtableDedupeIndex {
  const abandonAfterMs = opts.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
  const nowMs = opts.nowMs ?? Date.now;
  async function readJournal(messageId: string): Promise<JournalRecord> {
    // decode: false, or the client would turn any 8-byte value into a number.
    const [rows] = await table.getRows({ keys: [journalRowKey(messageId)], decode: false });
    const cells = (rows[0]?.data as Cells | undefined)?.[FAMILY] ?? {};
    const record: JournalRecord = {};
    for (const [qualifier, versions] of Object.entries(cells)) {
      if (qualifier.startsWith(JOURNAL_PREFIX)) mergeRecord(record, JSON.parse(text(versions[0]?.value) ?? '{}') as JournalRecord);
    }
    // A part recorded twice (a retry after the record call failed on the way back) lists its entries twice.
    for (const k of ['accepted', 'duplicates', 'processing_failed'] as const) if (record[k]) record[k] = [...new Set(record[k])].sort((a, b) => a - b);
    return record;
  }

  /** A filter matching the owner cell only while it names this entry. */
  const ownedBy = (e: EntryRef) => [{ family: new RegExp(`^${FAMILY}$`) }, { column: new RegExp(`^${OWNER}$`) }, { value: Buffer.from(ownerValue(e)) }];

  async function claimOne(c: DedupeClaim, attempt = 0): Promise<DedupeVerdict> {
    const row = table.row(dedupeRowKey(c.merchantId, c.eventId));
    // The owner cell's timestamp is when the claim was made (the writer's clock, as the client sets it).
    const at = new Date(nowMs());
    const claimCells = [{ method: 'insert', data: { [FAMILY]: { [OWNER]: { value: ownerValue(c.entry), timestamp: at }, [HASH]: { value: c.contentHash, timestamp: at } } } }];
    const [matched] = await row.filter([{ family: new RegExp(`^${FAMILY}$`) }, { column: { cellLimit: 1 } }], {
      onMatch: [],
      onNoMatch: claimCells,
    });
    if (!matched) return { kind: 'new' };
    const [rows] = await table.getRows({ keys: [row.id], filter: [{ column: { cellLimit: 1 } }], decode: false });
    const cells = (rows[0]?.data as Cells | undefined)?.[FAMILY];
    const owner = text(cells?.[OWNER]?.[0]?.value);
    const hash = text(cells?.[HASH]?.[0]?.value);
    if (owner === undefined) {
      // No owner: released between our check and our read, or garbage-collected. Garbage collection
      // drops each cell once its own timestamp is past the family's maximum age, whenever the
      // tablet compacts (https://cloud.google.com/bigtable/docs/garbage-collection): the owner and
      // hash cells of a claim go before the confirmation written after them, so a row can hold the
      // confirmation alone, for good. Such a row claims nothing: take it over, atomically, while it
      // still has no owner (another copy may be doing the same).
      const [claimed] = await row.filter([{ family: new RegExp(`^${FAMILY}$`) }, { column: new RegExp(`^${OWNER}$`) }], {
        onMatch: [],
        onNoMatch: [{ method: 'delete', data: [`${FAMILY}:${HASH}`, `${FAMILY}:${STORED}`] }, ...claimCells],
      });
      if (!claimed) return { kind: 'new' };
      if (attempt >= 3) throw new Error(`the claim of ${row.id} keeps changing under us`);
      return claimOne(c, attempt + 1);
    }
    // A hash without its owner's twin cell (written together, collected together): read again rather than guess.
    if (hash === undefined) {
      if (attempt >= 3) throw new Error(`the claim of ${row.id} keeps changing under us`);
      return claimOne(c, attempt + 1);
    }
    const first = parseOwner(owner);
    if (first.messageId === c.entry.messageId && first.index === c.entry.index) return { kind: 'same_entry' };
    if (cells?.[STORED]?.[0] === undefined) {
      const claimedAtMs = Number((cells?.[OWNER]?.[0] as { timestamp?: string | number } | undefined)?.timestamp ?? 0) / 1000;
      if (nowMs() - claimedAtMs < abandonAfterMs) return { kind: 'pending', first };
      // Abandoned: take the event over, atomically and only while the same owner is still unconfirmed
      // (two copies taking over at once: one replaces the owner, the other then sees a fresh claim).
      const [taken] = await row.filter(
        [{ condition: { test: [{ family: new RegExp(`^${FAMILY}$`) }, { column: new RegExp(`^${STORED}$`) }], pass: [{ all: false }], fail: ownedBy(first) } }],
        // The old owner's cells go first, in the same atomic mutation: no older version can match later.
        { onMatch: [{ method: 'delete', data: [`${FAMILY}:${OWNER}`, `${FAMILY}:${HASH}`] }, ...claimCells], onNoMatch: [] },
      );
      if (taken) return { kind: 'new' };
      if (attempt >= 3) throw new Error(`the claim of ${row.id} keeps changing under us`);
      return claimOne(c, attempt + 1);
    }
    return hash === c.contentHash ? { kind: 'duplicate', first } : { kind: 'conflict', first };
  }

  return {
    async claim(claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
      // Claims of the same key run in their order (the first copy in a message wins); keys run in parallel.
      const byKey = new Map<string, number[]>();
      claims.forEach((c, i) => {
        const k = dedupeRowKey(c.merchantId, c.eventId);
        const list = byKey.get(k);
        if (list) list.push(i);
        else byKey.set(k, [i]);
      });
      const verdicts = new Array<DedupeVerdict>(claims.length);
      try {
        await mapLimit([...byKey.values()], CONCURRENCY, async (indexes) => {
          for (const i of indexes) verdicts[i] = await claimOne(claims[i]!);
        });
      } catch (err) {
        throw new Error(`claiming ${claims.length} events in the Bigtable dedupe index failed`, { cause: err });
      }
      return verdicts;
    },

    async confirm(keys): Promise<void> {
      try {
        await mapLimit(keys, CONCURRENCY, async (k) => {
          // Only while this entry still owns the event: a confirmation never lands on another owner's claim.
          await table.row(dedupeRowKey(k.merchantId, k.eventId)).filter(ownedBy(k.entry), {
            onMatch: [{ method: 'insert', data: { [FAMILY]: { [STORED]: '1' } } }],
            onNoMatch: [],
          });
        });
      } catch (err) {
        throw new Error(`confirming ${keys.length} claims in the Bigtable dedupe index failed`, { cause: err });
      }
    },

    async release(keys): Promise<void> {
      try {
        await mapLimit(keys, CONCURRENCY, async (k) => {
          // Delete only while this entry is still the owner: a value filter on the owner cell.
          await table.row(dedupeRowKey(k.merchantId, k.eventId)).filter(ownedBy(k.entry), { onMatch: [{ method: 'delete' }], onNoMatch: [] });
        });
      } catch (err) {
        throw new Error(`releasing ${keys.length} claims in the Bigtable dedupe index failed`, { cause: err });
      }
    },

    async read(messageId) {
      try {
        return await readJournal(messageId);
      } catch (err) {
        throw new Error(`reading the ingest journal of message ${messageId} failed`, { cause: err });
      }
    },

    async record(messageId, part) {
      // A cell of its own per record: no read-modify-write, and a repeated record only repeats indexes.
      const qualifier = `${JOURNAL_PREFIX}${randomBytes(6).toString('hex')}`;
      try {
        await table.mutate({ key: journalRowKey(messageId), method: 'insert', data: { [FAMILY]: { [qualifier]: JSON.stringify(part) } } });
      } catch (err) {
        throw new Error(`recording a part of message ${messageId} in the ingest journal failed`, { cause: err });
      }
    },
  };
}
