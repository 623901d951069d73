// collect: the HTTP collector (services/collector) as a function, publishing to the events topic.
// The function is public (its callers are merchants' servers and browsers), so it checks the key
// before it reads a byte of the body: functions-framework, which reads and parses every body before a
// function runs, hands this one its requests unread (unread-body.ts), and the collector reads the
// body itself once the key, the rate limit and the content type pass, up to the contract's limit.
import type { HttpFunction } from '@google-cloud/functions-framework';
import express from 'express';
import { createCollector, type CollectorOptions } from '../services/collector/router.js';
import { errorHandler, notFoundHandler } from '../services/http/errors.js';
import type { Logger } from '../pipeline/ports.js';
import { serveUnreadBodies, withUnreadBody } from './unread-body.js';

export interface CollectDeps extends CollectorOptions {
  logger?: Logger;
}

export function createCollectHandler(deps: CollectDeps): HttpFunction {
  serveUnreadBodies();
  const app = express();
  app.disable('x-powered-by');
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(createCollector(deps));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger ? { logger: deps.logger } : {}));
  return withUnreadBody((req, res) => app(req, res));
}
