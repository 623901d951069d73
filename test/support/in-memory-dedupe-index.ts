// Test double of the DedupeIndex port: exact claims in a Map, in call order. Not an adapter.
import type { EntryRef } from '../../pipeline/contracts/outcomes.js';
import type { DedupeClaim, DedupeIndex, DedupeVerdict } from '../../pipeline/ports.js';

export class InMemoryDedupeIndex implements DedupeIndex {
  readonly owners = new Map<string, { contentHash: string; entry: EntryRef }>();
  /** Every claim call, to assert how often the stage asks. */
  readonly calls: DedupeClaim[][] = [];

  async claim(claims: DedupeClaim[]): Promise<DedupeVerdict[]> {
    this.calls.push(claims);
    return claims.map((c) => {
      const key = `${c.merchantId}\u0000${c.eventId}`;
      const owner = this.owners.get(key);
      if (!owner) {
        this.owners.set(key, { contentHash: c.contentHash, entry: c.entry });
        return { kind: 'new' };
      }
      if (owner.entry.messageId === c.entry.messageId && owner.entry.index === c.entry.index) return { kind: 'same_entry' };
      return owner.contentHash === c.contentHash ? { kind: 'duplicate', first: owner.entry } : { kind: 'conflict', first: owner.entry };
    });
  }

  async release(keys: { merchantId: string; eventId: string; entry: EntryRef }[]): Promise<void> {
    for (const k of keys) {
      const key = `${k.merchantId}\u0000${k.eventId}`;
      const owner = this.owners.get(key);
      if (owner && owner.entry.messageId === k.entry.messageId && owner.entry.index === k.entry.index) this.owners.delete(key);
    }
  }
}
