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

/**
 * Request lines gathered ahead of a default logger's destination, by destination: a request line is
 * appended to `pending` as text (no per-line work in pino or sonic-boom, whose write measures the bytes
 * of its whole gathered batch again for every line) and written a batch at a time. Any other line
 * writes what is gathered first, so lines keep their order.
 */
interface Gathered {
  pending: string;
  /** Writes the gathered lines. */
  write(): void;
}
const gatheredBy = new WeakMap<object, Gathered>();
/** Default loggers' gatherers, for the process's exit (WeakRefs: a dropped logger is not kept alive). */
const gatherers = new Set<WeakRef<Gathered>>();
let exitHooked = false;

/**
 * The default service logger: JSON lines on stderr (stdout stays free for command output), or `dest`.
 * Request lines of 2xx-4xx are written in batches of LOG_BATCH_BYTES (requestLogger gathers them, at
 * most LOG_FLUSH_MS late): a write per request was a tenth of a kept answer's CPU. Every other line
 * (start, stop, errors, 5xx) goes out at once with whatever is gathered before it, and what is left
 * when the process ends (process.exit, an uncaught exception, nothing left to run) is written then.
 * Writes are synchronous, as node's own writes to stderr are when it is a file or, on Linux, a pipe
 * (https://nodejs.org/api/process.html#a-note-on-process-io): a batch is one write(2) of a few µs,
 * where an asynchronous write handed to the thread pool cost 20-40 µs of the process's CPU.
 */
export function defaultLogger(opts: { dest?: number | string; level?: string; flushMs?: number } = {}): Logger {
  const stream = pino.destination({ dest: opts.dest ?? 2, sync: true });
  const gathered: Gathered = {
    pending: '',
    write() {
      if (this.pending === '' || (stream as unknown as { destroyed: boolean }).destroyed) return;
      const batch = this.pending;
      this.pending = '';
      stream.write(batch);
    },
  };
  gatheredBy.set(stream, gathered);
  const ref = new WeakRef(gathered);
  gatherers.add(ref);
  if (!exitHooked) {
    exitHooked = true;
    // Ahead of pino's own handlers of these events, which end the destination.
    const end = (): void => {
      for (const g of gatherers) g.deref()?.write();
    };
    process.prependListener('beforeExit', end);
    process.prependListener('exit', end);
  }
  const periodic = setInterval(() => gathered.write(), opts.flushMs ?? LOG_FLUSH_MS);
  periodic.unref();
  stream.once('close', () => {
    clearInterval(periodic);
    gatherers.delete(ref);
  });
  return pino(
    {
      level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
      hooks: {
        logMethod(args, method) {
          gathered.write();
          method.apply(this, args);
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
 * A request line as `logger[level](line, msg)` writes it, built as text and gathered (see Gathered), for
 * a default logger (or a child of one) whose options leave pino's line as defaultLogger makes it: no
 * message prefix, mixin or serializer of req or res. Undefined for any other logger.
 */
function requestLineWriter(logger: Logger): ((level: 30 | 40, req: IncomingMessage & { id?: unknown }, url: string, status: number, responseTime: number) => void) | undefined {
  const l = logger as unknown as Record<symbol, unknown>;
  const gathered = gatheredBy.get(l[pino.symbols.streamSym] as object);
  const serializers = l[pino.symbols.serializersSym] as Record<string, unknown>;
  if (!gathered || (logger as { msgPrefix?: string }).msgPrefix || l[pino.symbols.mixinSym] || serializers.req || serializers.res) return undefined;
  const chindings = l[pino.symbols.chindingsSym] as string;
  const info = '{"level":30,"time":';
  const warn = '{"level":40,"time":';
  return (level, req, url, status, responseTime) => {
    const ua = req.headers['user-agent'];
    // pino's own order: level, time, bindings, the object's keys, msg.
    gathered.pending +=
      (level === 30 ? info : warn) +
      Date.now() +
      chindings +
      `,"req":{"id":${JSON.stringify(req.id)},"method":${JSON.stringify(req.method)},"url":${JSON.stringify(url)}${ua === undefined ? '' : `,"user_agent":${JSON.stringify(ua)}`}},"res":{"status":${status}},"responseTime":${responseTime},"msg":${JSON.stringify(`${req.method} ${url} ${status} ${responseTime}ms`)}}\n`;
    if (gathered.pending.length >= LOG_BATCH_BYTES) gathered.write();
  };
}

/**
 * One line per request when it finishes (or its connection closes first); 5xx as errors, 4xx as warnings.
 * A request already being logged (the query API's listener logs a request it then hands to express with
 * an error to answer) is not logged again.
 */
export function requestLogger(logger: Logger): Middleware {
  let lastId = 0;
  const gather = requestLineWriter(logger);
  return (req, res, next) => {
    if (logged.has(req)) return next();
    logged.add(req);
    const startMs = Date.now();
    req.id ??= lastId = (lastId + 1) & MAX_REQ_ID;
    // A response emits 'close' once it is done, after 'finish', or when its connection closes first.
    res.once('close', () => {
      const responseTime = Date.now() - startMs;
      const status = res.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const url = redactKey(req.url ?? '');
      if (gather && status < 500) return gather(status >= 400 ? 40 : 30, req, url, status, responseTime);
      const line: Record<string, unknown> = {
        req: { id: req.id, method: req.method, url, user_agent: req.headers['user-agent'] },
        res: { status },
      };
      if (status >= 500) line.err = new Error(`failed with status code ${status}`);
      line.responseTime = responseTime;
      logger[level](line, status >= 500 ? `${req.method} ${url} ${status}` : `${req.method} ${url} ${status} ${responseTime}ms`);
    });
    next();
  };
}
