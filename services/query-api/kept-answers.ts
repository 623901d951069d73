// Kept metrics answers served ahead of express. Once an answer is kept (cache.ts AnswerCache), a repeat
// of its request costs the key check, the rate limit, the security headers, the log line and the
// write of the kept bytes — what bare node:http pays plus those. express's own handling of a request
// (its request and response prototypes, the router's walk) costs more than all of that together
// (bench/README.md), so a request this path can answer from the cache never enters it.
// Anything else goes to express unchanged and is answered there exactly as before: a request without
// a valid read key for the merchant (401, 403, 404 come from the routes), an answer not kept, a
// conditional request (express answers 304 from the kept answer's ETag), a CSV negotiated by Accept,
// any path spelled otherwise than `/v1/merchants/{id}/metrics`. A request is counted by the rate limiter
// once: here only when its answer is kept, and then it never reaches the routes' limiter.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { authenticate, bearerToken } from '../../pipeline/auth/keys.js';
import type { Clock, KeyRecord, KeyStore } from '../../pipeline/ports.js';
import { mayRead, reachesMerchant } from './auth.js';
import { answerKey, keptHeaders, type AnswerCache } from './cache.js';

const PREFIX = '/v1/merchants/';
const SUFFIX = '/metrics';

export interface KeptAnswersDeps {
  answers: AnswerCache;
  keys: KeyStore;
  pepper: Buffer;
  clock: Clock;
  /** The routes' rate limiter (express-rate-limit), or none. */
  limiter?: RequestHandler;
  /** Whether express would take the request as https (req.secure, which trusts proxies as the app does). */
  isSecure: (req: IncomingMessage) => boolean;
  /** The app's security headers (security-headers.ts), as name, value, name, value… for https or plain http. */
  securityHeaders: (secure: boolean) => readonly string[];
  /** The app's request log middleware (logging.ts): the same line, the same request ids. */
  logRequest: (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
}

/** The merchant of a `/v1/merchants/{id}/metrics[?…]` URL, or undefined for any other URL. */
export function metricsMerchantOf(url: string): string | undefined {
  if (!url.startsWith(PREFIX)) return undefined;
  const slash = url.indexOf('/', PREFIX.length);
  if (slash <= PREFIX.length || !url.startsWith(SUFFIX, slash)) return undefined;
  const after = url.charCodeAt(slash + SUFFIX.length);
  // the path ends there: nothing after it, or the query
  if (!Number.isNaN(after) && after !== 0x3f /* ? */) return undefined;
  try {
    return decodeURIComponent(url.slice(PREFIX.length, slash));
  } catch {
    return undefined; // express answers the malformed path
  }
}

/**
 * A request handler that answers kept metrics answers and hands every other request to `otherwise`
 * untouched (nothing written, no header set, not counted) — or, when the rate limiter refuses a
 * request it counted here, with the limiter's error, which the app must answer (app.ts).
 */
export function keptAnswers(deps: KeptAnswersDeps): (req: IncomingMessage, res: ServerResponse, otherwise: (err?: unknown) => void) => void {
  const { answers, clock } = deps;
  const serve = (req: IncomingMessage, res: ServerResponse, record: KeyRecord, merchantId: string, otherwise: (err?: unknown) => void): void => {
    if (!reachesMerchant(record, merchantId)) return otherwise();
    const nowMs = clock.now().getTime();
    const kept = answers.get(answerKey(merchantId, req.url!, false), nowMs);
    if (!kept) return otherwise();
    const write = (): void => {
      deps.logRequest(req, res, () => undefined);
      // One array in the order the app sets them: security headers, then the answer's.
      res.writeHead(200, [...deps.securityHeaders(deps.isSecure(req)), ...keptHeaders(kept, nowMs)]);
      // node sends no body to HEAD; Content-Length stays that of the GET, as express's send() leaves it
      res.end(kept.body);
    };
    if (!deps.limiter) return write();
    // express-rate-limit needs of the response only these (headers, and the key's record for keyGenerator).
    const view = {
      get headersSent() {
        return res.headersSent;
      },
      setHeader: (name: string, value: string | number | readonly string[]) => res.setHeader(name, value),
      append: (name: string, value: string | string[]) => res.appendHeader(name, value),
      locals: { reader: record },
    };
    deps.limiter(req as Request, view as never, (err?: unknown) => (err === undefined ? write() : otherwise(err)));
  };
  return (req, res, otherwise) => {
    if (answers.size === 0 || (req.method !== 'GET' && req.method !== 'HEAD')) return otherwise();
    const merchantId = metricsMerchantOf(req.url ?? '');
    const h = req.headers;
    if (merchantId === undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || (h.accept !== undefined && /text\/csv/i.test(h.accept))) return otherwise();
    const presented = bearerToken(h.authorization);
    if (presented === undefined) return otherwise();
    authenticate(deps.keys, deps.pepper, presented, clock.now()).then(
      (result) => {
        // The routes' own rules (auth.ts); every refusal is express's to answer.
        if (!result.ok || !mayRead(result.record)) return otherwise();
        try {
          serve(req, res, result.record, merchantId, otherwise);
        } catch (err) {
          // nothing sent yet: the app answers the error as it answers any; else the answer is cut short
          if (res.headersSent) res.destroy(err as Error);
          else otherwise(err);
        }
      },
      // a key store that fails here fails again in express, which answers it
      () => otherwise(),
    );
  };
}
