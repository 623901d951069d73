// API keys: random 32-byte secrets shown once, stored only as HMAC-SHA256(pepper, key).
// Kinds (DESIGN.md): ingest (one merchant, write), read (one merchant, read), manage (one merchant:
// read plus that merchant's own settings, such as alert rules), browser (one merchant, write, bound
// to origins), admin (no merchant, reads all).
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { KeyKind, KeyRecord, KeyStore } from '../ports.js';

const PREFIX: Record<KeyKind, string> = { ingest: 'tsi', read: 'tsr', manage: 'tsm', browser: 'tsb', admin: 'tsa' };
const KEY_PATTERN = /^ts[irmba]_[A-Za-z0-9_-]{43}$/;

export function hashKey(pepper: Buffer, key: string): string {
  return createHmac('sha256', pepper).update(key).digest('hex');
}

export function newPepper(): Buffer {
  return randomBytes(32);
}

/** Parses `90d`, `12h`, `30m` into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([dhms])$/.exec(text);
  if (!m) throw new Error(`bad duration "${text}": use a number followed by d, h, m or s, e.g. 90d or 30s`);
  const n = Number(m[1]);
  return n * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'];
}

export interface CreateKeyOptions {
  kind: KeyKind;
  merchantId?: string;
  origins?: string[];
  expiresInMs?: number;
  now?: Date;
}

/** Creates a key; returns the secret (to show once) and the record to store. */
export function createKey(pepper: Buffer, opts: CreateKeyOptions): { key: string; record: KeyRecord } {
  if (opts.kind === 'admin' && opts.merchantId) throw new Error('an admin key has no merchant');
  if (opts.kind !== 'admin' && !opts.merchantId) throw new Error(`a ${opts.kind} key needs --merchant`);
  if (opts.kind === 'browser' && !opts.origins?.length) throw new Error('a browser key needs at least one --origin');
  if (opts.kind !== 'browser' && opts.origins?.length) throw new Error('only browser keys are bound to origins');
  for (const o of opts.origins ?? []) {
    const u = new URL(o);
    if (u.origin !== o) throw new Error(`origin must be scheme://host[:port] without a path: ${o}`);
  }
  const now = opts.now ?? new Date();
  const key = `${PREFIX[opts.kind]}_${randomBytes(32).toString('base64url')}`;
  const record: KeyRecord = {
    id: `key_${randomUUID().replaceAll('-', '').slice(0, 16)}`,
    kind: opts.kind,
    merchant_id: opts.merchantId ?? null,
    origins: opts.origins ?? [],
    hash: hashKey(pepper, key),
    created_at: now.toISOString(),
    expires_at: opts.expiresInMs ? new Date(now.getTime() + opts.expiresInMs).toISOString() : null,
    revoked_at: null,
  };
  return { key, record };
}

/**
 * Hashes of keys the store knew, by pepper and presented key: the HMAC is the same every time, and a
 * reader sends its key with every request. Only the hash is remembered — the record is looked up in the
 * store on every request, so a revoked key is refused as soon as the store shows it revoked. Keys the
 * store did not know are not remembered (random keys cannot push known ones out).
 */
const knownHashes = new WeakMap<Buffer, LRUCache<string, string>>();

function hashOfPresented(pepper: Buffer, presented: string): { hash: string; remember?: () => void } {
  let memo = knownHashes.get(pepper);
  const hit = memo?.get(presented);
  if (hit !== undefined) return { hash: hit };
  const hash = hashKey(pepper, presented);
  return {
    hash,
    remember: () => {
      if (!memo) knownHashes.set(pepper, (memo = new LRUCache<string, string>({ max: 10_000 })));
      memo.set(presented, hash);
    },
  };
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked';

/** Resolves a presented key to its record, or says why not (all failures answer 401). */
export async function authenticate(
  store: KeyStore,
  pepper: Buffer,
  presented: string | undefined,
  now: Date = new Date(),
): Promise<{ ok: true; record: KeyRecord } | { ok: false; failure: AuthFailure }> {
  if (!presented) return { ok: false, failure: 'missing' };
  if (!KEY_PATTERN.test(presented)) return { ok: false, failure: 'malformed' };
  const { hash, remember } = hashOfPresented(pepper, presented);
  const record = await store.findByHash(hash);
  if (!record || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) return { ok: false, failure: 'unknown' };
  remember?.();
  if (record.revoked_at) return { ok: false, failure: 'revoked' };
  if (record.expires_at && Date.parse(record.expires_at) <= now.getTime()) return { ok: false, failure: 'expired' };
  return { ok: true, record };
}

/** `Authorization: Bearer <key>` → key; anything else → undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  // The scheme name is case-insensitive and may be followed by more than one space
  // (https://www.rfc-editor.org/rfc/rfc9110#section-11.1, #section-11.4): `bearer <key>` is as good.
  const m = /^Bearer +([^\s,]+)$/i.exec(header.trim());
  return m?.[1];
}

/** For logs: never print a key. */
export function redactKey(text: string): string {
  return text.replace(/ts[irmba]_[A-Za-z0-9_-]{10,}/g, (k) => `${k.slice(0, 4)}…redacted`).replace(/([?&]key=)[^&\s]+/g, '$1redacted');
}
