// Structured request logs shared by the HTTP services: one line per request, at its end, with method,
// redacted URL, status and latency (`responseTime`, ms) — the line pino-http wrote, without its per-request
// child loggers (a measurable share of a small request's CPU). Keys never reach a log: the Authorization
// header is dropped and `?key=` and anything shaped like a key are redacted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { redactKey } from '../../pipeline/auth/keys.js';

/** Bytes of request lines gathered before one write (about 50 lines of a metrics read). */
export const LOG_BATCH_BYTES = 8192;
/** How long a gathered request line waits at most for its batch. */
export const LOG_FLUSH_MS = 1000;

/** Set while requestLogger writes its line: the one kind of line that may wait for its batch. */
let writingRequestLine = false;

/**
 * The default service logger: JSON lines on stderr (stdout stays free for command output), or `dest`.
 * Request lines of 2xx-4xx are written in batches (sonic-boom's minLength, at most LOG_FLUSH_MS late):
 * a write per request was a tenth of a kept answer's CPU. Every other line (start, stop, errors, 5xx)
 * goes out at once with whatever is gathered before it, and pino flushes what is left synchronously when
 * the process exits (process.exit, an uncaught exception; pino's on-exit hook of an async destination).
 */
export function defaultLogger(opts: { dest?: number | string; level?: string; flushMs?: number } = {}): Logger {
  const stream = pino.destination({ dest: opts.dest ?? 2, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: opts.flushMs ?? LOG_FLUSH_MS });
  // A file destination opens asynchronously, and sonic-boom drops a flush asked for while it opens
  // (the lines would wait for the periodic flush): until 'ready', a flush is remembered and done then.
  let open = false;
  let flushOnOpen = false;
  stream.once('ready', () => {
    open = true;
    if (flushOnOpen) stream.flush();
  });
  const flush = (): void => {
    if (open) stream.flush();
    else flushOnOpen = true;
  };
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      hooks: {
        logMethod(args, method, level) {
          method.apply(this, args);
          if (!writingRequestLine || level >= 50) flush();
        },
      },
    },
    stream,
  );
}

type Middleware = (req: IncomingMessage & { id?: unknown }, res: ServerResponse, next: () => void) => void;

const MAX_REQ_ID = 2147483647;

/** Requests a requestLogger already logs. */
const logged = new WeakSet<IncomingMessage>();

/**
 * One line per request when it finishes (or its connection closes first); 5xx as errors, 4xx as warnings.
 * A request already being logged (the query API's listener logs a request it then hands to express with
 * an error to answer) is not logged again.
 */
export function requestLogger(logger: Logger): Middleware {
  let lastId = 0;
  return (req, res, next) => {
    if (logged.has(req)) return next();
    logged.add(req);
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
      writingRequestLine = true;
      try {
        logger[level](line, status >= 500 ? `${req.method} ${url} ${status}` : `${req.method} ${url} ${status} ${responseTime}ms`);
      } finally {
        writingRequestLine = false;
      }
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
