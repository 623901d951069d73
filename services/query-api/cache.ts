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
/** Minute of the hour the scheduled mart run starts. */
export const MART_RUN_MINUTE = 5;

/** Seconds from `now` until the next mart run (the next :05), at least 1. */
export function secondsUntilNextMartRun(now: Date): number {
  return Math.max(1, Math.ceil(msUntilMinute(now, MART_RUN_MINUTE) / 1000));
}

export function strongEtag(body: string): string {
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

/** A text answer (JSON or CSV) with ETag and Cache-Control (or no-store when caching is off). */
export function sendText(res: Response, body: string, contentType: string, cache: { maxAgeSeconds: number } | false, vary = 'Authorization'): void {
  // Answers depend on the key, and on Accept where a route also answers CSV.
  res.setHeader('Vary', vary);
  if (cache === false) {
    // Without an ETag there is nothing to revalidate, so express's send() would only re-encode the text
    // into a Buffer first; node writes the string itself (and no body for HEAD).
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  res.setHeader('Cache-Control', `private, max-age=${cache.maxAgeSeconds}`);
  res.setHeader('ETag', strongEtag(body));
  res.setHeader('Content-Type', contentType);
  res.send(body);
}

/** An answer as sent, kept until `expiresAtMs` (the max-age it was sent with). */
export interface CachedAnswer {
  body: string;
  etag: string;
  contentType: string;
  vary: string;
  expiresAtMs: number;
  /** Other headers the answer was sent with (a CSV's Content-Disposition). */
  headers?: Record<string, string>;
}

/**
 * Answers kept by request (merchant, URL, Accept), at most `maxBytes` of bodies, least recently used
 * out first. Only answers sent with a max-age are kept, each no longer than that max-age: finalized
 * data until the next mart run, anything provisional PROVISIONAL_MAX_AGE_S. The caller checks access
 * before it looks an answer up: an answer depends on the merchant and the request, not on the key.
 */
export class AnswerCache {
  private readonly lru: LRUCache<string, CachedAnswer>;
  constructor(maxBytes = 64 * 1024 * 1024) {
    this.lru = new LRUCache<string, CachedAnswer>({ maxSize: maxBytes, sizeCalculation: (a) => Math.max(1, a.body.length * 2) });
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
}

/** A text answer as sendText would send it with `cache`, for AnswerCache. */
export function cachedAnswer(body: string, contentType: string, cache: { maxAgeSeconds: number }, vary: string, nowMs: number, headers?: Record<string, string>): CachedAnswer {
  return { body, etag: strongEtag(body), contentType, vary, expiresAtMs: nowMs + cache.maxAgeSeconds * 1000, ...(headers ? { headers } : {}) };
}

/** Sends a kept answer, with the max-age that remains of it. */
export function sendCached(res: Response, a: CachedAnswer, nowMs: number): void {
  res.setHeader('Vary', a.vary);
  res.setHeader('Cache-Control', `private, max-age=${Math.max(1, Math.floor((a.expiresAtMs - nowMs) / 1000))}`);
  res.setHeader('ETag', a.etag);
  res.setHeader('Content-Type', a.contentType);
  for (const [name, value] of Object.entries(a.headers ?? {})) res.setHeader(name, value);
  res.send(a.body);
}
