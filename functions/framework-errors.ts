// Request bodies the functions framework refuses get the contract's JSON error body. The framework
// parses every body with its own express app before a function runs, so a body declared
// application/json that is not JSON never reaches the function: express's default final handler
// would answer it with an HTML page. This gives that app's final handler one rule first — a body
// parser's error is answered by the services' error middleware (`{"error": {"code": "invalid_body"…}}`)
// — and leaves every other error to express's own handler. Installed before the framework builds
// its server (at module load), once per process; only the framework's copy of express is touched.
import { createRequire } from 'node:module';
import type { Application, Request, Response } from 'express';
import { errorHandler } from '../services/http/errors.js';

/** The error types of body-parser that errorHandler maps to 400, 413 and 415. */
const BODY_ERROR_TYPES = new Set([
  'entity.parse.failed',
  'entity.too.large',
  'encoding.unsupported',
  'charset.unsupported',
  'request.aborted',
  'request.size.invalid',
  'stream.encoding.set',
]);

export const isBodyParserError = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && BODY_ERROR_TYPES.has(String((err as { type?: unknown }).type));

type Handle = (this: Application, req: Request, res: Response, callback?: (err?: unknown) => void) => void;
type FinalHandler = (req: Request, res: Response, opts: { env: string; onerror?: (err: unknown) => void }) => (err?: unknown) => void;

let installed = false;

/** Installs the rule on the express the functions framework uses (idempotent). */
export function answerBodyErrorsAsJson(): void {
  if (installed) return;
  // Resolve through the framework so the patched express is the one its server is built from.
  const fromFramework = createRequire(createRequire(import.meta.url).resolve('@google-cloud/functions-framework'));
  const expressPath = fromFramework.resolve('express');
  const express = fromFramework(expressPath) as { application: { handle: Handle } };
  const finalhandler = createRequire(expressPath)('finalhandler') as FinalHandler;
  const original = express.application.handle;
  const answer = errorHandler();
  express.application.handle = function handle(req, res, callback) {
    if (callback) return original.call(this, req, res, callback);
    const env = String(this.get('env'));
    // The same log as express's own final handler.
    const fallback = finalhandler(req, res, { env, onerror: (err) => env !== 'test' && console.error((err as Error)?.stack ?? String(err)) });
    return original.call(this, req, res, (err) => (isBodyParserError(err) ? answer(err, req, res, fallback) : fallback(err)));
  };
  installed = true;
}
