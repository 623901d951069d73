// Other `tillstream` commands reach a running `tillstream start` (the only writer of the data
// directory) through a loopback-only endpoint. The caller proves it may write the directory by
// presenting an HMAC made with the directory's pepper, a file only its owner can read.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import express, { type Router } from 'express';
import { errorDetail } from '../pipeline/errors.js';
import { HttpError } from '../services/http/errors.js';
import { COMMANDS } from './commands/index.js';
import { UsageError, type CommandContext } from './context.js';
import type { LocalPipeline } from '../runtime/local-writer.js';

const PATH = '/_local/command';
const proof = (pepper: Buffer): string => createHmac('sha256', pepper).update('tillstream local command').digest('hex');

export interface ForwardedResult {
  exit: number;
  stdout: string[];
  stderr: string[];
}

export function createLocalCommandRouter(rt: LocalPipeline): Router {
  const router = express.Router();
  const expected = Buffer.from(proof(rt.pepper));
  router.post(PATH, express.json({ limit: '64kb' }), async (req, res, next) => {
    const remote = req.socket.remoteAddress ?? '';
    const presented = Buffer.from(String(req.headers['x-tillstream-local'] ?? ''));
    if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote) || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return next(new HttpError(404, 'not_found', 'no such route'));
    }
    const argv = (req.body as { argv?: unknown }).argv;
    if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string') || argv.length === 0) return next(new HttpError(400, 'invalid_body', 'argv must be a non-empty string array'));
    const [name, ...rest] = argv as string[];
    const spec = COMMANDS[name!];
    if (!spec || !spec.usesDataDir || name === 'start') return next(new HttpError(400, 'invalid_body', `command ${name} cannot go through the running process`));
    const result: ForwardedResult = { exit: 0, stdout: [], stderr: [] };
    const ctx: CommandContext = { runtime: async () => rt, out: (l) => result.stdout.push(l), err: (l) => result.stderr.push(l) };
    try {
      result.exit = await spec.run(rest, ctx);
    } catch (err) {
      result.stderr.push(err instanceof UsageError ? err.message : errorDetail(err));
      result.exit = err instanceof UsageError ? 2 : 1;
    }
    res.json(result);
  });
  return router;
}

export async function forwardCommand(url: string, pepperFile: string, argv: string[]): Promise<ForwardedResult> {
  const pepper = await readFile(pepperFile);
  const res = await fetch(new URL(PATH, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tillstream-local': proof(pepper) },
    body: JSON.stringify({ argv }),
  });
  if (!res.ok) throw new Error(`the running tillstream at ${url} refused the command (HTTP ${res.status})`);
  return (await res.json()) as ForwardedResult;
}
