// Helmet's security headers as precomputed sets. With static options every helmet header is a constant,
// yet helmet() runs a dozen middlewares in a chain per request; this asks helmet once, at start-up, which
// headers it sets and removes, and replays them with one middleware — the same headers, by construction.
// Two sets: over https, helmet's; over plain http, without Strict-Transport-Security and without the CSP
// directive upgrade-insecure-requests. Sent over http (a dashboard at http://<LAN address>:8080/), the
// latter makes the browser fetch every asset over https, which nothing answers, so the page stays blank;
// and an HSTS header over http is to be ignored anyway (https://www.rfc-editor.org/rfc/rfc6797#section-7.2,
// https://www.w3.org/TR/upgrade-insecure-requests/#delivery). "https" is express's req.secure: a TLS socket,
// or X-Forwarded-Proto from a proxy the app's 'trust proxy' setting trusts (Cloud Run's front end).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
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

/** helmet(options) for a response over plain http: no HSTS, no upgrade-insecure-requests. */
export function plainHttpOptions(options: Readonly<HelmetOptions> = {}): HelmetOptions {
  const csp = options.contentSecurityPolicy;
  // (HelmetOptions types its aliases, hsts and strictTransportSecurity, as exclusive: one is set here.)
  const { hsts: _hsts, ...rest } = options as HelmetOptions & { hsts?: unknown };
  return {
    ...rest,
    strictTransportSecurity: false,
    // helmet drops a default directive set to null.
    contentSecurityPolicy: csp === false ? false : { ...(typeof csp === 'object' ? csp : {}), directives: { ...(typeof csp === 'object' ? csp.directives : {}), upgradeInsecureRequests: null } },
  } as HelmetOptions;
}

/** helmet(options)'s headers over https and over plain http, recorded once. */
export function securityHeaderSets(options?: Readonly<HelmetOptions>): { secure: SecurityHeaders; plain: SecurityHeaders } {
  return { secure: helmetHeaders(options), plain: helmetHeaders(plainHttpOptions(options)) };
}

/** Middleware setting helmet's headers (of `sets`, or of helmet(options)) by the request's protocol. */
export function securityHeaders(options?: Readonly<HelmetOptions> | { secure: SecurityHeaders; plain: SecurityHeaders }): RequestHandler {
  const sets = options && 'secure' in options && 'plain' in options ? (options as { secure: SecurityHeaders; plain: SecurityHeaders }) : securityHeaderSets(options as Readonly<HelmetOptions> | undefined);
  return (req, res, next) => {
    const { set, removed } = (req as Request).secure === true ? sets.secure : sets.plain;
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}
