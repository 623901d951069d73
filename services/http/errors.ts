// The one HTTP error type and the one error middleware every Tillstream service uses (CONVENTIONS #11).
// Answers carry DESIGN.md's body `{"error": {"code", "message", "param"?}}`; anything that is not an
// HttpError is logged with its stack and answered as a bare 500 — no internals leave the process.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from '../../pipeline/ports.js';

export const ERROR_CODES = [
  'invalid_parameter',
  'invalid_body',
  'unauthorized',
  'forbidden',
  'not_found',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; param?: string };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly options: { param?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
  }

  get param(): string | undefined {
    return this.options.param;
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.param === undefined ? {} : { param: this.param }) } };
  }
}

export const badParameter = (param: string, message: string): HttpError => new HttpError(400, 'invalid_parameter', message, { param });
export const notFound = (message = 'not found'): HttpError => new HttpError(404, 'not_found', message);

/** Errors raised by express's own body parsers, mapped to the contract's statuses. */
function fromExpressError(err: unknown): HttpError | undefined {
  // The router cannot decode a path parameter that is not percent-encoded UTF-8 (`/v1/merchants/m%C0%AF/…`).
  if (err instanceof URIError) return new HttpError(400, 'invalid_parameter', 'the request path is not valid percent-encoded UTF-8', { param: 'path' });
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'request body is too large');
  if (type === 'entity.parse.failed') return new HttpError(400, 'invalid_body', 'request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new HttpError(415, 'unsupported_media_type', 'unsupported content encoding or charset');
  if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') return new HttpError(400, 'invalid_body', 'request body could not be read');
  return undefined;
}

/** Final handler for routes nobody answered: 404 in the contract's shape. */
export function notFoundHandler(): RequestHandler {
  return (_req, _res, next) => next(notFound('no such route'));
}

/** The error middleware; mount last. */
export function errorHandler(opts: { logger?: Logger } = {}): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const http = err instanceof HttpError ? err : fromExpressError(err);
    if (http) {
      for (const [name, value] of Object.entries(http.options.headers ?? {})) res.setHeader(name, value);
      res.status(http.status).json(http.body());
      return;
    }
    opts.logger?.error({ err }, 'unhandled error while answering a request');
    res.status(500).json({ error: { code: 'internal', message: 'internal error' } } satisfies ErrorBody);
  };
}
