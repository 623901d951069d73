// Public HTTP functions that must see a request before its body is read. functions-framework reads
// and parses every request body (JSON, text, form or raw, up to 1,024 MB) in its own express app
// before the function runs (build/src/server.js getServer), so a public function checks its caller
// only after the caller's body is in memory: anyone could make the collector read and JSON-parse up to
// the 32 MB a request to a Cloud Run function may carry
// (https://cloud.google.com/functions/quotas#resource_limits), forty at a time on each instance. A
// handler marked here is given the server's requests itself, unread: it checks the key first and
// reads the body after, with its own limit (services/collector/router.ts reads it with express.raw
// once the key, rate limit and content type pass; a declared length over the limit is refused
// unread). It still gets express's request and response, from an express app of its own without
// body parsers; the framework's per-request wrapping (execution ids in logs, its timeout) is not used
// for it, and Cloud Run still ends a request at the function's timeout.
import { createRequire } from 'node:module';
import express from 'express';
import type { Server } from 'node:http';
import type { HttpFunction } from '@google-cloud/functions-framework';

const UNREAD_BODY = Symbol.for('tillstream.functions.unreadBody');
/** On the framework's getServer once it is replaced: once per process, whichever copy of this module asks. */
const REPLACED = Symbol.for('tillstream.functions.getServerReplaced');

type GetServer = ((userFunction: unknown, options: { signatureType?: string }) => Server) & { [REPLACED]?: true };

/** Marks an HTTP function to be handed its requests before anything reads their bodies. */
export function withUnreadBody<F extends HttpFunction>(fn: F): F {
  return Object.assign(fn, { [UNREAD_BODY]: true });
}

export const takesUnreadBody = (fn: unknown): boolean => typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[UNREAD_BODY] === true;

/**
 * Makes the framework's server hand a marked function every request directly (idempotent; before the
 * framework builds its server). The framework's entry point and its test server both call its
 * server module's getServer through the module object, so replacing it there reaches both.
 */
export function serveUnreadBodies(): void {
  const fromFramework = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
  const serverModule = fromFramework('./server') as { getServer?: GetServer };
  const original = serverModule.getServer;
  if (original?.[REPLACED]) return;
  if (typeof original !== 'function') throw new Error('functions-framework has no server module getServer: the collector would read bodies before its key check');
  const getServer: GetServer = function (this: unknown, userFunction, options) {
    const server = original.call(this, userFunction, options);
    if (options.signatureType !== 'http' || !takesUnreadBody(userFunction)) return server;
    const app = express();
    app.disable('x-powered-by');
    // Cloud Run's front end sets X-Forwarded-For, as the framework's own app trusts.
    app.set('trust proxy', true);
    app.all('/{*splat}', (req, res) => void (userFunction as HttpFunction)(req, res));
    server.removeAllListeners('request');
    server.on('request', app);
    return server;
  };
  getServer[REPLACED] = true;
  serverModule.getServer = getServer;
}
