// HTTP caching of API answers. Finalized data changes only when a mart run rebuilds it (hourly, at :05),
// so it may be cached until the next run; anything provisional at most PROVISIONAL_MAX_AGE_S seconds.
// Answers depend on the key, so caches are private and vary on Authorization. A strong ETag over the
// body lets a client revalidate cheaply (express answers 304 when If-None-Match matches). The server
// keeps the answers it sent for as long as it let clients keep them (AnswerCache): the same rule, so a
// repeated read costs the access check and a copy, not a series read and a rebuilt body.
import { hash } from 'node:crypto';
import type { Response } from 'express';
import { LRUCache } from 'lru-cache';
import { msUntilMinute } from '../../pipeline/time.js';

export const PROVISIONAL_MAX_AGE_S = 10;
/**
 * A kept provisional answer asked for in its last REFRESH_AHEAD_MS is built again in the background
 * (RefreshAhead) while it is still served, so no reader waits for a rebuild and the rebuilds of many
 * answers kept at about the same time do not stall the answers behind them.
 */
export const REFRESH_AHEAD_MS = 3_000;
/** Minute of the hour the scheduled mart run starts. */
export const MART_RUN_MINUTE = 5;

/** Seconds from `now` until the next mart run (the next :05), at least 1. */
export function secondsUntilNextMartRun(now: Date): number {
  return Math.max(1, Math.ceil(msUntilMinute(now, MART_RUN_MINUTE) / 1000));
}

export function strongEtag(body: string | Buffer): string {
  // The one-shot hash skips the Hash object a createHash().update().digest() chain allocates per answer.
  return `"${hash('sha256', body, 'base64url').slice(0, 32)}"`;
}

/** Sends a JSON answer with ETag and Cache-Control (or no-store when caching is off). */
export function sendJson(res: Response, payload: unknown, cache: { maxAgeSeconds: number } | false): void {
  sendJsonText(res, JSON.stringify(payload), cache);
}

/** sendJson for a body that is already JSON text (answers written directly as text, see points.ts). */
export function sendJsonText(res: Response, body: string, cache: { maxAgeSeconds: number } | false, vary = 'Authorization'): void {
  sendText(res, body, 'application/json; charset=utf-8', cache, vary);
}

/** A text answer (JSON or CSV, or its bytes) with ETag and Cache-Control (or no-store when caching is off). */
export function sendText(res: Response, body: string | Buffer, contentType: string, cache: { maxAgeSeconds: number } | false, vary = 'Authorization'): void {
  // Answers depend on the key, and on Accept where a route also answers CSV.
  res.setHeader('Vary', vary);
  if (cache === false) {
    // Without an ETag there is nothing to revalidate: no need for express's send() (node sends no body to HEAD).
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', contentType);
    // Encoded once: its length and the bytes written (a string would be measured, then encoded again).
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.setHeader('Content-Length', bytes.length);
    res.end(bytes);
    return;
  }
  // Encoded once: the ETag is the hash of these bytes and they are what goes out.
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.setHeader('Cache-Control', `private, max-age=${cache.maxAgeSeconds}`);
  res.setHeader('ETag', strongEtag(bytes));
  res.setHeader('Content-Type', contentType);
  res.send(bytes);
}

/** An answer as sent, kept until `expiresAtMs` (the max-age it was sent with). */
export interface CachedAnswer {
  /** The body's bytes as sent: a kept answer goes out without being encoded again. */
  body: Buffer;
  etag: string;
  contentType: string;
  vary: string;
  expiresAtMs: number;
  /** From when a request for it has it built again in the background (provisional answers only). */
  refreshAtMs?: number;
  /** Other headers the answer was sent with (a CSV's Content-Disposition). */
  headers?: Record<string, string>;
}

/**
 * Answers kept by request (merchant, URL, representation: answerKey), at most `maxBytes` of bodies,
 * least recently used out first. Only answers sent with a max-age are kept, each no longer than that
 * max-age: finalized data until the next mart run, anything provisional PROVISIONAL_MAX_AGE_S. The
 * caller checks access before it looks an answer up: an answer depends on the merchant and the
 * request, not on the key. The default budget, 128 MiB of bodies (Buffers, outside the V8 heap), is a
 * quarter of the 512 MiB a Cloud Run instance of the API gets (infra-cdktf/config.ts): about 2,500
 * answers of the ~52 KB a 7-day hourly read is.
 */
export class AnswerCache {
  private readonly lru: LRUCache<string, CachedAnswer>;
  constructor(maxBytes = 128 * 1024 * 1024) {
    this.lru = new LRUCache<string, CachedAnswer>({ maxSize: maxBytes, sizeCalculation: (a) => Math.max(1, a.body.length) });
  }
  get(key: string, nowMs: number): CachedAnswer | undefined {
    const a = this.lru.get(key);
    if (a && a.expiresAtMs <= nowMs) {
      this.lru.delete(key);
      return undefined;
    }
    return a;
  }
  set(key: string, a: CachedAnswer): void {
    this.lru.set(key, a);
  }
  /** Answers kept (expired ones included until looked up or pushed out). */
  get size(): number {
    return this.lru.size;
  }
}

/**
 * The key of a kept answer: the merchant, the URL as sent, and whether the answer is CSV. Of the Accept
 * header only the representation it picks counts, since clients send many spellings of "JSON".
 */
export function answerKey(merchantId: string, url: string, csv: boolean): string {
  return `${merchantId}\n${url}\n${csv ? 'csv' : ''}`;
}

/**
 * A text answer as sendText would send it with `cache`, for AnswerCache. `refreshAhead`: the answer
 * holds provisional buckets, so a request in its last REFRESH_AHEAD_MS has it built again early.
 */
export function cachedAnswer(body: Buffer, contentType: string, cache: { maxAgeSeconds: number }, vary: string, nowMs: number, headers?: Record<string, string>, refreshAhead = false): CachedAnswer {
  const expiresAtMs = nowMs + cache.maxAgeSeconds * 1000;
  return { body, etag: strongEtag(body), contentType, vary, expiresAtMs, ...(refreshAhead ? { refreshAtMs: expiresAtMs - REFRESH_AHEAD_MS } : {}), ...(headers ? { headers } : {}) };
}

/**
 * Rebuilds of kept answers, by answerKey, one at a time, each in a turn of the event loop of its own
 * (setImmediate), so the requests that arrive meanwhile are answered between two rebuilds instead of
 * after all of them. A key is queued once until its rebuild settles; a failed rebuild leaves the kept
 * answer to expire as it would have.
 */
export class RefreshAhead {
  private readonly queued = new Map<string, () => Promise<unknown>>();
  private readonly pending = new Set<string>();
  private running = false;

  /** Queues `rebuild` for `key` unless a rebuild of it is queued or running. */
  add(key: string, rebuild: () => Promise<unknown>): void {
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.queued.set(key, rebuild);
    if (!this.running) this.next();
  }

  /** Rebuilds queued or running. */
  get size(): number {
    return this.pending.size;
  }

  private next(): void {
    this.running = true;
    setImmediate(() => {
      const [key, rebuild] = this.queued.entries().next().value!;
      this.queued.delete(key);
      rebuild()
        .catch(() => undefined)
        .finally(() => {
          this.pending.delete(key);
          if (this.queued.size > 0) this.next();
          else this.running = false;
        });
    });
  }
}

/** The headers of a kept answer as `res.writeHead` takes them: those sendText set, with the max-age that remains. */
export function keptHeaders(a: CachedAnswer, nowMs: number): string[] {
  const out = ['Vary', a.vary, 'Cache-Control', keptCacheControl(a, nowMs), 'ETag', a.etag, 'Content-Type', a.contentType, 'Content-Length', String(a.body.length)];
  for (const name in a.headers) out.push(name, a.headers[name]!);
  return out;
}

/** A kept answer's Cache-Control at `nowMs`: the max-age that remains, at least 1 s. */
export function keptCacheControl(a: CachedAnswer, nowMs: number): string {
  return `private, max-age=${Math.max(1, Math.floor((a.expiresAtMs - nowMs) / 1000))}`;
}

/** Sends a kept answer through express, which answers 304 to a matching If-None-Match and no body to HEAD. */
export function sendCached(res: Response, a: CachedAnswer, nowMs: number): void {
  const h = keptHeaders(a, nowMs);
  for (let i = 0; i < h.length; i += 2) res.setHeader(h[i]!, h[i + 1]!);
  res.send(a.body);
}
