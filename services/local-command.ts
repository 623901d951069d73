// The loopback-only endpoint through which other `tillstream` commands reach a running
// `tillstream start` (the only writer of the data directory). The caller proves it may write the
// directory by presenting an HMAC made with the directory's pepper, a file only its owner can read.
// What a command is and how it runs is the CLI's business: the endpoint is handed a dispatch function
// and knows nothing of the command table.
import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import { HttpError } from './http/errors.js';

export const LOCAL_COMMAND_PATH = '/_local/command';

/** The header value that proves the caller can read the data directory's pepper. */
export const localCommandProof = (pepper: Buffer): string => createHmac('sha256', pepper).update('tillstream local command').digest('hex');

export interface ForwardedResult {
  exit: number;
  stdout: string[];
  stderr: string[];
}

/**
 * Runs one forwarded command line (the command's name first) in the running process. Returns
 * undefined when the command cannot go through the running process (answered 400). Paths in argv are
 * absolute: the caller's working directory is not the server's.
 */
export type LocalDispatch = (argv: string[]) => Promise<ForwardedResult | undefined>;

export function createLocalCommandRouter(opts: { pepper: Buffer; dispatch: LocalDispatch }): Router {
  const router = express.Router();
  const expected = Buffer.from(localCommandProof(opts.pepper));
  router.post(LOCAL_COMMAND_PATH, express.json({ limit: '64kb' }), async (req, res, next) => {
    const remote = req.socket.remoteAddress ?? '';
    const presented = Buffer.from(String(req.headers['x-tillstream-local'] ?? ''));
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote) || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return next(new HttpError(404, 'not_found', 'no such route'));
    }
    const argv = (req.body as { argv?: unknown }).argv;
    if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string') || argv.length === 0) return next(new HttpError(400, 'invalid_body', 'argv must be a non-empty string array'));
    try {
      const result = await opts.dispatch(argv as string[]);
      if (!result) return next(new HttpError(400, 'invalid_body', `command ${argv[0]} cannot go through the running process`));
      res.json(result);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
