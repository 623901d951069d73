// collect: the HTTP collector (services/collector) as a function, publishing to the events topic.
// functions-framework parses request bodies before any handler runs (up to its own, much larger limit);
// the collector wants the bytes as sent, with the contract's body limit, so the raw body the framework
// keeps is handed back to it here. A body declared application/json that is not JSON at all is
// refused by the framework's parser before this code runs; framework-errors.ts answers it with the
// contract's 400 `invalid_body` error body.
import type { HttpFunction } from '@google-cloud/functions-framework';
import express, { type RequestHandler } from 'express';
import { createCollector, DEFAULT_MAX_BODY_BYTES, type CollectorOptions } from '../services/collector/router.js';
import { errorHandler, HttpError, notFoundHandler } from '../services/http/errors.js';
import type { Logger } from '../pipeline/ports.js';
import { answerBodyErrorsAsJson } from './framework-errors.js';

export interface CollectDeps extends CollectorOptions {
  logger?: Logger;
}

/** Puts the framework-kept raw body back as the request body, enforcing the collector's limit. */
function rawBodyFromFramework(maxBytes: number): RequestHandler {
  return (req, _res, next) => {
    const raw = (req as { rawBody?: Buffer }).rawBody;
    if (raw && raw.length > maxBytes) return next(new HttpError(413, 'payload_too_large', `request body is larger than ${maxBytes} bytes`));
    if (raw) req.body = raw;
    else if (typeof req.body === 'string') req.body = Buffer.from(req.body);
    next();
  };
}

export function createCollectHandler(deps: CollectDeps): HttpFunction {
  answerBodyErrorsAsJson();
  const maxBody = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(rawBodyFromFramework(maxBody));
  app.use(createCollector(deps));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger ? { logger: deps.logger } : {}));
  return (req, res) => app(req, res);
}
