// Metrics reads served ahead of express. express's own handling of a request (its request and response
// prototypes, the router's walk, its query getter and send()) costs more than a kept answer's whole
// work (bench/README.md), so a metrics request this path can take never enters it: a kept answer
// (cache.ts AnswerCache) costs the key check, the rate limit, the security headers, the log line and
// the write of the kept bytes; one not kept is built by the route's own code (app.ts metricsAnswer) and
// written with the headers the route sends.
// Anything the route would refuse before its read goes to express untouched and is answered there
// exactly as before: a request without a valid read key for the merchant (401, 403, 404 come from the
// routes), parameters the route refuses (400), a conditional request (express answers 304 from the
// kept answer's ETag), a CSV (by format=csv or Accept), any path spelled otherwise than
// `/v1/merchants/{id}/metrics`. A request this path took is counted by the rate limiter here; an error
// after that (429, a store the merchant lacks, a failed read) goes to the app's error handler, which
// answers it as the route's error.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { authenticate, bearerToken } from '../../pipeline/auth/keys.js';
import type { Clock, KeyRecord, KeyStore } from '../../pipeline/ports.js';
import { mayRead, reachesMerchant } from './auth.js';
import { keptCacheControl, keptHeaders, type CachedAnswer } from './cache.js';
import { MerchantIdParam, parseMetricsQuery, type MetricsRequest } from './params.js';

/**
 * A metrics answer: with caching on, one as sendCached sends it (`disposition` when it was just built as a
 * CSV), kept or not; with caching off, bytes sent with `Cache-Control: no-store`.
 */
export type MetricsAnswer = ({ kept: CachedAnswer; nowMs: number } | { body: Buffer; contentType: string }) & { disposition?: string };

export type MetricsAnswerer = (record: KeyRecord, merchantId: string, url: string, parse: () => MetricsRequest, acceptCsv: boolean) => Promise<MetricsAnswer>;

/** The kept answer of a request whose access is checked, if any (app.ts keptAnswer: it also refreshes one about to expire). */
export type KeptAnswerOf = (record: KeyRecord, merchantId: string, url: string, parse: () => MetricsRequest, acceptCsv: boolean, nowMs: number) => CachedAnswer | undefined;

const PREFIX = '/v1/merchants/';
const SUFFIX = '/metrics';
/** The router refuses longer URLs (app.ts). */
const MAX_URL_LENGTH = 4096;

export interface MetricsAheadDeps {
  keptAnswer: KeptAnswerOf;
  /** The metrics route's answer (app.ts), for requests whose answer is not kept. */
  metricsAnswer: MetricsAnswerer;
  /** express's query parser as the app has it ('query parser fn'). */
  parseQuery: (query: string | null) => Record<string, unknown>;
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
 * A request handler that answers metrics requests and hands every other request to `otherwise`
 * untouched (nothing written, no header set, not counted) — or, once it has counted a request, with the
 * error the route would answer (the rate limiter's 429, a 404 of the read, a failed read), which the app
 * must answer (app.ts) as express answers any error.
 */
export function metricsAheadOfExpress(deps: MetricsAheadDeps): (req: IncomingMessage, res: ServerResponse, otherwise: (err?: unknown) => void) => void {
  const { clock } = deps;
  const write = (req: IncomingMessage, res: ServerResponse, answer: MetricsAnswer): void => {
    const own = 'kept' in answer ? keptHeaders(answer.kept, answer.nowMs) : ['Vary', 'Authorization, Accept', 'Cache-Control', 'no-store', 'Content-Type', answer.contentType, 'Content-Length', String(answer.body.length)];
    // In the order express sets them: security headers, the rate limiter's, then the answer's. Without a
    // limiter, one array (node formats it without a header object); with one, the security headers were set first.
    res.writeHead(200, deps.limiter ? own : deps.securityHeaders(deps.isSecure(req)).concat(own));
    // node sends no body to HEAD; Content-Length stays that of the GET, as express's send() leaves it
    res.end('kept' in answer ? answer.kept.body : answer.body);
  };
  /** Logs the request, counts it and answers it with `answer`'s result, or has the app answer the error. */
  const serve = (req: IncomingMessage, res: ServerResponse, record: KeyRecord, answer: () => MetricsAnswer | Promise<MetricsAnswer>, otherwise: (err?: unknown) => void): void => {
    deps.logRequest(req, res, () => undefined);
    const fail = (err: unknown): void => {
      // nothing sent yet: the app answers the error as it answers any; else the answer is cut short
      if (res.headersSent) res.destroy(err as Error);
      else otherwise(err);
    };
    const answerIt = (): void => {
      try {
        const a = answer();
        if (a instanceof Promise) a.then((done) => write(req, res, done)).catch(fail);
        else write(req, res, a);
      } catch (err) {
        fail(err);
      }
    };
    if (!deps.limiter) return answerIt();
    const headers = deps.securityHeaders(deps.isSecure(req));
    for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i]!, headers[i + 1]!);
    // express-rate-limit needs of the response only these (headers, and the key's record for keyGenerator).
    const view = {
      get headersSent() {
        return res.headersSent;
      },
      setHeader: (name: string, value: string | number | readonly string[]) => res.setHeader(name, value),
      append: (name: string, value: string | string[]) => res.appendHeader(name, value),
      locals: { reader: record },
    };
    deps.limiter(req as Request, view as never, (err?: unknown) => (err === undefined ? answerIt() : otherwise(err)));
  };
  /**
   * A kept answer's headers as one array per answer and protocol, security headers first, in the order
   * express sends them (without a rate limiter: with one, its headers go between, see serve); only its
   * max-age changes from one request to the next, written into the array just before writeHead reads it.
   */
  type KeptHeaders = { headers: string[]; cacheControlAt: number };
  const keptHeadersOf = new WeakMap<CachedAnswer, { secure?: KeptHeaders; plain?: KeptHeaders }>();
  const writeKept = (req: IncomingMessage, res: ServerResponse, kept: CachedAnswer, nowMs: number): void => {
    const secure = deps.isSecure(req);
    let byProtocol = keptHeadersOf.get(kept);
    if (!byProtocol) keptHeadersOf.set(kept, (byProtocol = {}));
    let built = secure ? byProtocol.secure : byProtocol.plain;
    if (!built) {
      const own = keptHeaders(kept, nowMs);
      const security = deps.securityHeaders(secure);
      built = { headers: security.concat(own), cacheControlAt: security.length + own.indexOf('Cache-Control') + 1 };
      if (secure) byProtocol.secure = built;
      else byProtocol.plain = built;
    }
    const { headers } = built;
    headers[built.cacheControlAt] = keptCacheControl(kept, nowMs);
    res.writeHead(200, headers);
    res.end(kept.body);
  };
  const noop = (): void => undefined;
  /** After the request's cheap checks: its key, then the kept answer or the route's. */
  async function answer(req: IncomingMessage, res: ServerResponse, otherwise: (err?: unknown) => void, url: string, merchantId: string, presented: string): Promise<void> {
    let result: Awaited<ReturnType<typeof authenticate>>;
    try {
      result = await authenticate(deps.keys, deps.pepper, presented, clock.now());
    } catch {
      // a key store that fails here fails again in express, which answers it
      return otherwise();
    }
    // The routes' own rules (auth.ts); every refusal is express's to answer.
    if (!result.ok || !mayRead(result.record) || !reachesMerchant(result.record, merchantId)) return otherwise();
    const { record } = result;
    const nowMs = clock.now().getTime();
    const parse = () => parseMetricsQuery(deps.parseQuery(queryOf(url)));
    const kept = deps.keptAnswer(record, merchantId, url, parse, false, nowMs);
    if (kept && !deps.limiter) {
      // The common case, without the closures serve() needs for a limiter or a build.
      deps.logRequest(req, res, noop);
      try {
        writeKept(req, res, kept, nowMs);
      } catch (err) {
        if (res.headersSent) res.destroy(err as Error);
        else otherwise(err);
      }
      return;
    }
    if (kept) return serve(req, res, record, () => ({ kept, nowMs }), otherwise);
    // A request the route would refuse before its read (parameters, a CSV) goes to express untouched.
    let q: MetricsRequest;
    try {
      q = parse();
    } catch {
      return otherwise();
    }
    if (q.format === 'csv' || !MerchantIdParam.safeParse(merchantId).success) return otherwise();
    serve(req, res, record, () => deps.metricsAnswer(record, merchantId, url, () => q, false), otherwise);
  }
  return (req, res, otherwise) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return otherwise();
    const url = req.url ?? '';
    const merchantId = url.length > MAX_URL_LENGTH || url.includes('#') ? undefined : metricsMerchantOf(url);
    const h = req.headers;
    if (merchantId === undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || (h.accept !== undefined && /text\/csv/i.test(h.accept))) return otherwise();
    const presented = bearerToken(h.authorization);
    if (presented === undefined) return otherwise();
    void answer(req, res, otherwise, url, merchantId, presented);
  };
}

/** The query string of a URL as express's req.query takes it (parseurl's `query`: null without one). */
const queryOf = (url: string): string | null => {
  const at = url.indexOf('?');
  return at < 0 ? null : url.slice(at + 1);
};
