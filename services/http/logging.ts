// Structured request logs shared by the HTTP services: one line per request, at its end, with method,
// redacted URL, status and latency (`responseTime`, ms) — the line pino-http wrote, without its per-request
// child loggers (a measurable share of a small request's CPU). Keys never reach a log: the Authorization
// header is dropped and `?key=` and anything shaped like a key are redacted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { redactKey } from '../../pipeline/auth/keys.js';

/** The default service logger: JSON lines on stderr (stdout stays free for command output). */
export function defaultLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
}

type Middleware = (req: IncomingMessage & { id?: unknown }, res: ServerResponse, next: () => void) => void;

const MAX_REQ_ID = 2147483647;

/** One line per request when it finishes (or its connection closes first); 5xx as errors, 4xx as warnings. */
export function requestLogger(logger: Logger): Middleware {
  let lastId = 0;
  return (req, res, next) => {
    const startMs = Date.now();
    req.id ??= lastId = (lastId + 1) & MAX_REQ_ID;
    const done = (): void => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      const responseTime = Date.now() - startMs;
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const url = redactKey(req.url ?? '');
      const line: Record<string, unknown> = {
        req: { id: req.id, method: req.method, url, user_agent: req.headers['user-agent'] },
        res: { status },
      };
      if (status >= 500) line.err = new Error(`failed with status code ${status}`);
      line.responseTime = responseTime;
      logger[level](line, status >= 500 ? `${req.method} ${url} ${status}` : `${req.method} ${url} ${status} ${responseTime}ms`);
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
