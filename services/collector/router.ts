// The HTTP collector: `POST /v1/events` takes a JSON array or NDJSON of events from merchants' servers
// (ingest keys, `Authorization: Bearer`) and browsers (publishable browser keys, `?key=`, bound to origins),
// and answers 202 only once the batch is durably on the bus. Validation happens downstream in the ingest
// stage, so every entry of an accepted body reaches an end state; only bodies that cannot be split into
// entries at all (a broken JSON array, too large, wrong type) are refused here, at once.
import express, { type Request, type RequestHandler, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { authenticate, bearerToken } from '../../pipeline/auth/keys.js';
import { type BatchLimits, batchEntries, splitJsonArrayBody, splitNdjson, splitNdjsonBytes } from '../../pipeline/ingest/entries.js';
import { type Clock, type KeyRecord, type KeyStore, MessageTooLargeError, type MessageAttributes, type Publisher, systemClock } from '../../pipeline/ports.js';
import { HttpError } from '../http/errors.js';

export interface CollectorOptions {
  publisher: Publisher;
  keys: KeyStore;
  pepper: Buffer;
  clock?: Clock;
  /** Whole request body limit; DESIGN.md: a body over it is answered 413 and not enqueued. */
  maxBodyBytes?: number;
  /** Bus message bounds: a message carries a batch of entries. */
  batchLimits?: Partial<BatchLimits>;
  /** Requests per key per minute; false turns limiting off (benchmarks). */
  rateLimitPerMinute?: number | false;
  /** Extra attributes stamped on every message (the local runtime's run id). */
  attributes?: () => Partial<MessageAttributes>;
}

export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

type AuthedRequest = Request & { tillstreamKey?: KeyRecord };

const isJson = (type: string): boolean => type === 'application/json';
const isNdjson = (type: string): boolean => type === 'application/x-ndjson' || type === 'application/ndjson';
// Beacons (navigator.sendBeacon) cannot set a JSON content type without a preflight; they send text/plain.
const isBeacon = (type: string): boolean => type === 'text/plain';

function mediaType(req: Request): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

export function createCollector(opts: CollectorOptions): Router {
  const clock = opts.clock ?? systemClock;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const router = express.Router();

  const authenticateWriter: RequestHandler = async (req: AuthedRequest, _res, next) => {
    const queryKey = typeof req.query.key === 'string' ? req.query.key : undefined;
    const bearer = bearerToken(req.headers.authorization);
    const presented = bearer ?? queryKey;
    const result = await authenticate(opts.keys, opts.pepper, presented, clock.now());
    if (!result.ok) return next(new HttpError(401, 'unauthorized', result.failure === 'missing' ? 'an ingest or browser key is required' : 'the key is not valid'));
    const record = result.record;
    if (record.kind !== 'ingest' && record.kind !== 'browser') return next(new HttpError(403, 'forbidden', `a ${record.kind} key cannot send events`));
    // Only publishable browser keys travel in URLs (beacons cannot set headers); a secret key there would
    // end up in proxies' and browsers' histories, so it is refused as if it were not sent.
    if (!bearer && record.kind === 'ingest') return next(new HttpError(401, 'unauthorized', 'only browser keys may be sent as ?key=; send other keys as Authorization: Bearer'));
    if (record.kind === 'browser') {
      const origin = req.headers.origin;
      if (!origin || !record.origins.includes(origin)) return next(new HttpError(403, 'forbidden', 'this origin is not allowed for the key'));
    }
    req.tillstreamKey = record;
    next();
  };

  // CORS for browser keys: only origins listed on the key get the allow headers. A preflight carries the
  // query string, so the key's origins can be checked before the browser sends anything.
  const cors: RequestHandler = async (req, res, next) => {
    const origin = req.headers.origin;
    if (!origin) return next();
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    const result = key ? await authenticate(opts.keys, opts.pepper, key, clock.now()) : undefined;
    const allowed = result?.ok && result.record.kind === 'browser' && result.record.origins.includes(origin);
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    if (req.method === 'OPTIONS') {
      res.status(allowed ? 204 : 403).end();
      return;
    }
    next();
  };

  const limiter: RequestHandler =
    opts.rateLimitPerMinute === false
      ? (_req, _res, next) => next()
      : rateLimit({
          windowMs: 60_000,
          limit: opts.rateLimitPerMinute ?? 600,
          standardHeaders: 'draft-7',
          legacyHeaders: false,
          keyGenerator: (req) => (req as AuthedRequest).tillstreamKey!.id,
          // express-rate-limit sets Retry-After before calling the handler; the error middleware answers in the one shape.
          handler: (_req, _res, next) => next(new HttpError(429, 'rate_limited', 'too many requests for this key; retry after the number of seconds in Retry-After')),
        });

  const readBody = express.raw({ type: () => true, limit: maxBody });

  router.options('/v1/events', cors);
  router.post('/v1/events', cors, authenticateWriter, limiter, (req, _res, next) => {
    const type = mediaType(req);
    if (!isJson(type) && !isNdjson(type) && !isBeacon(type)) {
      return next(new HttpError(415, 'unsupported_media_type', 'send application/json (an array of events) or application/x-ndjson'));
    }
    next();
  }, readBody, async (req: AuthedRequest, res, next) => {
    try {
      const receivedAt = clock.now();
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const type = mediaType(req);
      let entries: string[];
      if (isNdjson(type)) {
        // Line by line from the bytes: the bulk path of merchants' servers (entries.ts says why).
        entries = splitNdjsonBytes(body);
      } else {
        const text = body.toString('utf8');
        if (isJson(type) || text.trimStart().startsWith('[')) {
          const split = splitJsonArrayBody(text);
          if (!split.ok) throw new HttpError(400, 'invalid_body', split.error);
          entries = split.entries;
        } else {
          entries = splitNdjson(text); // a beacon's NDJSON
        }
      }
      const key = req.tillstreamKey!;
      const attributes: MessageAttributes = {
        source: key.kind === 'browser' ? 'web' : 'online',
        key_merchant_id: key.merchant_id ?? undefined,
        ...(req.headers['user-agent'] ? { user_agent: String(req.headers['user-agent']).slice(0, 512) } : {}),
        ...opts.attributes?.(),
      };
      const batches = batchEntries(entries, opts.batchLimits);
      const ids = await opts.publisher.publish(batches.map((batch) => ({ receivedAt, attributes, entries: batch })));
      res.status(202).json({ received: entries.length, messages: ids.length });
    } catch (err) {
      // An entry the bus cannot carry (Pub/Sub's 10 MB message, which JSON escaping can reach from a
      // smaller body): nothing was enqueued, so the body is refused as too large rather than failing
      // with a 5xx the sender would retry forever.
      if (err instanceof MessageTooLargeError) return next(new HttpError(413, 'payload_too_large', err.message));
      next(err);
    }
  });
  return router;
}
