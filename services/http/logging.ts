// Structured request logs (pino-http) shared by the HTTP services: one line per request with method,
// redacted URL, status and latency (`responseTime`, ms). Keys never reach a log: the Authorization
// header is dropped and `?key=` and anything shaped like a key are redacted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { redactKey } from '../../pipeline/auth/keys.js';

/** The default service logger: JSON lines on stderr (stdout stays free for command output). */
export function defaultLogger(): Logger {
  return pino({ level: process.env.LOG_LEVEL ?? 'info' }, pino.destination(2));
}

export function requestLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    // One line per request, at the end; 5xx as errors, 4xx as warnings.
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    serializers: {
      req: (req: IncomingMessage & { id?: unknown }) => ({
        id: req.id,
        method: req.method,
        url: redactKey(req.url ?? ''),
        user_agent: req.headers['user-agent'],
      }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
    },
    wrapSerializers: false,
    customSuccessMessage: (req, res, ms) => `${req.method} ${redactKey(req.url ?? '')} ${res.statusCode} ${Math.round(ms)}ms`,
    customErrorMessage: (req, res) => `${req.method} ${redactKey(req.url ?? '')} ${res.statusCode}`,
  });
}
