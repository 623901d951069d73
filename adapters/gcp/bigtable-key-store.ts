// The KeyStore port on Bigtable (keys table, family 'k'): the record lives at `h#<hash>` so that
// authentication is one row read, and `i#<id>` points from the key id to its hash for revocation.
// Only HMAC hashes are stored, never a key.
import type { Table } from '@google-cloud/bigtable';
import { KEY_KINDS, type KeyRecord, type KeyStore } from '../../pipeline/ports.js';
import { z } from 'zod';

const FAMILY = 'k';
const RECORD = 'record';
const HASH = 'hash';
const hashRow = (hash: string) => `h#${hash}`;
const idRow = (id: string) => `i#${id}`;

const KeyRecordSchema = z.object({
  id: z.string(),
  kind: z.enum(KEY_KINDS),
  merchant_id: z.string().nullable(),
  origins: z.array(z.string()),
  hash: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

type Cells = Record<string, Record<string, { value: Buffer }[]>>;
const cell = (data: unknown, column: string): string | undefined => {
  const v = (data as Cells | undefined)?.[FAMILY]?.[column]?.[0]?.value;
  return v === undefined ? undefined : Buffer.from(v).toString('utf8');
};

export function createBigtableKeyStore(table: Table): KeyStore {
  async function readCell(rowKey: string, column: string): Promise<string | undefined> {
    const [rows] = await table.getRows({ keys: [rowKey], filter: [{ column: { cellLimit: 1 } }], decode: false });
    return cell(rows[0]?.data, column);
  }
  async function write(record: KeyRecord): Promise<void> {
    const set = (column: string, value: string) => ({ setCell: { familyName: FAMILY, columnQualifier: Buffer.from(column), timestampMicros: -1, value: Buffer.from(value) } });
    // Two rows, two atomic entries: the record first, so an id pointer never names a missing record.
    await table.mutate([{ rowKey: Buffer.from(hashRow(record.hash)), mutations: [set(RECORD, JSON.stringify(record))] }], { rawMutation: true });
    await table.mutate([{ rowKey: Buffer.from(idRow(record.id)), mutations: [set(HASH, record.hash)] }], { rawMutation: true });
  }
  const parse = (text: string): KeyRecord => KeyRecordSchema.parse(JSON.parse(text));

  return {
    put: write,

    async findByHash(hash: string): Promise<KeyRecord | undefined> {
      const text = await readCell(hashRow(hash), RECORD);
      return text === undefined ? undefined : parse(text);
    },

    async list(): Promise<KeyRecord[]> {
      const [rows] = await table.getRows({ prefix: 'h#', filter: [{ column: { cellLimit: 1 } }], decode: false });
      return rows
        .map((r) => cell(r.data, RECORD))
        .filter((t): t is string => t !== undefined)
        .map(parse)
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
    },

    async revoke(id: string, at: Date): Promise<boolean> {
      const hash = await readCell(idRow(id), HASH);
      if (hash === undefined) return false;
      const text = await readCell(hashRow(hash), RECORD);
      if (text === undefined) return false;
      const record = parse(text);
      if (record.revoked_at) return true;
      await write({ ...record, revoked_at: at.toISOString() });
      return true;
    },
  };
}

/**
 * A read-through cache in front of a KeyStore for request paths (collector, query API): a key is
 * looked up in Bigtable at most once per `ttlMs`, so a revocation or a new key takes effect within
 * that bound. Unknown hashes are cached too (a flood of bad keys costs no reads); at most
 * `maxEntries` hashes are kept, the oldest dropped first. Writes go straight through.
 */
export function cachedKeyStore(store: KeyStore, opts: { ttlMs: number; maxEntries?: number; now?: () => number }): KeyStore {
  const now = opts.now ?? Date.now;
  const max = opts.maxEntries ?? 10_000;
  const cache = new Map<string, { at: number; record: KeyRecord | undefined }>();
  return {
    put: (r) => {
      cache.delete(r.hash);
      return store.put(r);
    },
    list: () => store.list(),
    revoke: async (id, at) => {
      const ok = await store.revoke(id, at);
      cache.clear();
      return ok;
    },
    async findByHash(hash) {
      const hit = cache.get(hash);
      if (hit && now() - hit.at < opts.ttlMs) return hit.record;
      const record = await store.findByHash(hash);
      cache.delete(hash);
      cache.set(hash, { at: now(), record });
      if (cache.size > max) cache.delete(cache.keys().next().value!);
      return record;
    },
  };
}
