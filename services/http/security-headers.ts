// Helmet's security headers as one precomputed set. With static options every helmet header is a constant,
// yet helmet() runs a dozen middlewares in a chain per request; this asks helmet once, at start-up, which
// headers it sets and removes, and replays them with one middleware — the same headers, by construction.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

export interface SecurityHeaders {
  set: [name: string, value: string][];
  removed: string[];
}

/** What helmet(options) does to a response, recorded on a stand-in response. */
export function helmetHeaders(options?: Readonly<HelmetOptions>): SecurityHeaders {
  const out: SecurityHeaders = { set: [], removed: [] };
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      if (typeof value !== 'string') throw new Error(`helmet set ${name} to a non-string value`);
      out.set.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      out.removed.push(name);
    },
  };
  let error: unknown = new Error('helmet did not finish synchronously');
  helmet(options)({ headers: {}, method: 'GET', url: '/' } as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    error = err;
  });
  if (error) throw error;
  return out;
}

/** Middleware setting helmet(options)'s headers from the set recorded once. */
export function securityHeaders(options?: Readonly<HelmetOptions>): RequestHandler {
  const { set, removed } = helmetHeaders(options);
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}
