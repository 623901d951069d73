// collect: the HTTP collector (services/collector) as a function, publishing to the events topic.
// The function is public (its callers are merchants' servers and browsers), so it checks the key
// before it reads a byte of the body: functions-framework, which reads and parses every body before a
// function runs, hands this one its requests unread (unread-body.ts), and the collector reads the
// body itself once the key, the rate limit and the content type pass, up to the contract's limit.
// An instance takes up to forty requests at once (infra-cdktf/constructs/functions.ts) in 512 MiB; a
// 5 MiB body peaks at about 23 MiB of the instance's memory while it is split and encoded (measured:
// 8 at once added 180 MiB, 40 at once took a 110 MiB process to 440–500 MiB), so forty at the limit
// would not fit: bodies in flight are bounded by their declared bytes, and a request past the bound
// waits, unread, until earlier ones finish. The bound is taken before the key check (the collector's
// router checks and reads in one route); a request whose key fails holds it only for the look-up.
import type { RequestHandler } from 'express';
import type { HttpFunction } from '@google-cloud/functions-framework';
import express from 'express';
import { createCollector, DEFAULT_MAX_BODY_BYTES, type CollectorOptions } from '../services/collector/router.js';
import { errorHandler, notFoundHandler } from '../services/http/errors.js';
import type { Logger } from '../pipeline/ports.js';
import { serveUnreadBodies, withUnreadBody } from './unread-body.js';

export interface CollectDeps extends CollectorOptions {
  logger?: Logger;
  /** Declared body bytes one instance reads at once (a body without a length counts as the limit); default six bodies at the limit. */
  maxBodyBytesInFlight?: number;
}

/**
 * Admits requests while the bytes their bodies declare (Content-Length; the body limit when absent)
 * stay within `budget`; a later one waits in arrival order, its body unread, until enough is
 * released. A request larger than the budget alone runs when nothing else does. Released when the
 * response ends or the connection closes.
 */
export function bodyBudget(budget: number, maxBody: number): RequestHandler {
  let inFlight = 0;
  const waiting: { bytes: number; admit: () => void }[] = [];
  const next = () => {
    while (waiting.length > 0 && (inFlight === 0 || inFlight + waiting[0]!.bytes <= budget)) {
      const w = waiting.shift()!;
      inFlight += w.bytes;
      w.admit();
    }
  };
  return (req, res, proceed) => {
    // A request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3).
    const length = req.headers['content-length'];
    if (length === undefined && req.headers['transfer-encoding'] === undefined) return proceed();
    const declared = Number(length);
    const bytes = length !== undefined && Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBody + 1) : maxBody;
    if (bytes === 0) return proceed();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      inFlight -= bytes;
      next();
    };
    waiting.push({
      bytes,
      admit: () => {
        res.once('finish', release);
        res.once('close', release);
        proceed();
      },
    });
    next();
  };
}

export function createCollectHandler(deps: CollectDeps): HttpFunction {
  serveUnreadBodies();
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.use(bodyBudget(deps.maxBodyBytesInFlight ?? 6 * maxBody, maxBody));
  app.use(createCollector(deps));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger ? { logger: deps.logger } : {}));
  return withUnreadBody((req, res) => app(req, res));
}
