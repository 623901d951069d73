// HTTP caching of API answers. Finalized data changes only when a mart run rebuilds it (hourly, at :05),
// so it may be cached until the next run; anything provisional at most PROVISIONAL_MAX_AGE_S seconds.
// Answers depend on the key, so caches are private and vary on Authorization. A strong ETag over the
// body lets a client revalidate cheaply (express answers 304 when If-None-Match matches).
import { hash } from 'node:crypto';
import type { Response } from 'express';
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
