// The DedupeIndex port on Bigtable: one row per (merchant_id, event_id), claimed with CheckAndMutateRow
// so that exactly one entry ever owns an event, however many functions race for it. The claim writes
// only if the row is empty; the stored cells are the owner entry ('o' = message id + NUL + index) and
// the content hash ('h'). A lost claim reads the owner back to tell a redelivery of the owning entry
// (same_entry), an exact duplicate, and a conflicting duplicate apart; the owner never changes once
// written (only release, for revalidation, removes it), so that read is consistent.
import type { Table } from '@google-cloud/bigtable';
import type { EntryRef } from '../../pipeline/contracts/outcomes.js';
import type { DedupeClaim, DedupeIndex, DedupeVerdict } from '../../pipeline/ports.js';
import { mapLimit } from './bigtable.js';

const FAMILY = 'c';
const OWNER = 'o';
const HASH = 'h';
/** Parallel CheckAndMutateRow calls per claim batch. */
const CONCURRENCY = 32;

// Ids cannot contain '#' (see the Id pattern of the wire contract), so this key is unambiguous.
export const dedupeRowKey = (merchantId: string, eventId: string): string => `${merchantId}#${eventId}`;
const ownerValue = (e: EntryRef): string => `${e.messageId}\u0000${e.index}`;
function parseOwner(v: string): EntryRef {
  const cut = v.lastIndexOf('\u0000');
  return { messageId: v.slice(0, cut), index: Number(v.slice(cut + 1)) };
}

export function createBigtableDedupeIndex(table: Table): DedupeIndex {
  async function claimOne(c: DedupeClaim): Promise<DedupeVerdict> {
    const row = table.row(dedupeRowKey(c.merchantId, c.eventId));
    const [matched] = await row.filter([{ family: new RegExp(`^${FAMILY}$`) }, { column: { cellLimit: 1 } }], {
      onMatch: [],
      onNoMatch: [{ method: 'insert', data: { [FAMILY]: { [OWNER]: ownerValue(c.entry), [HASH]: c.contentHash } } }],
    });
    if (!matched) return { kind: 'new' };
    // decode: false, or the client would turn any 8-byte value into a number.
    const [rows] = await table.getRows({ keys: [row.id], filter: [{ column: { cellLimit: 1 } }], decode: false });
    const cells = (rows[0]?.data as Record<string, Record<string, { value: Buffer }[]>> | undefined)?.[FAMILY];
    const text = (b: Buffer | undefined) => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));
    const owner = text(cells?.[OWNER]?.[0]?.value);
    const hash = text(cells?.[HASH]?.[0]?.value);
    // Released between our check and our read: try again rather than guess.
    if (owner === undefined || hash === undefined) return claimOne(c);
    const first = parseOwner(owner);
    if (first.messageId === c.entry.messageId && first.index === c.entry.index) return { kind: 'same_entry' };
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

    async release(keys): Promise<void> {
      await mapLimit(keys, CONCURRENCY, async (k) => {
        // Delete only while this entry is still the owner: a value filter on the owner cell.
        await table.row(dedupeRowKey(k.merchantId, k.eventId)).filter(
          [{ family: new RegExp(`^${FAMILY}$`) }, { column: new RegExp(`^${OWNER}$`) }, { value: Buffer.from(ownerValue(k.entry)) }],
          { onMatch: [{ method: 'delete' }], onNoMatch: [] },
        );
      });
    },
  };
}
