// Read access to the query API. A key comes only as `Authorization: Bearer` (a read key in a URL would
// end up in logs and histories). Missing, malformed, unknown, expired and revoked keys answer 401; ingest
// and browser keys 403; a read key reaches only its own merchant, and any other merchant's path answers
// 404 — the same answer whether that merchant exists or not, so ids cannot be probed.
import type { RequestHandler, Response } from 'express';
import { authenticate, bearerToken } from '../../pipeline/auth/keys.js';
import type { Clock, KeyRecord, KeyStore } from '../../pipeline/ports.js';
import { HttpError, notFound } from '../http/errors.js';

/** Key kinds that may read: a manage key may do what a read key may (DESIGN.md keys). */
export const mayRead = (record: KeyRecord): boolean => record.kind === 'read' || record.kind === 'manage' || record.kind === 'admin';

/** Whether a key reaches a merchant: its own, or any for an admin key. */
export const reachesMerchant = (record: KeyRecord, merchantId: string): boolean => record.kind === 'admin' || record.merchant_id === merchantId;

export function readerOf(res: Response): KeyRecord {
  const record = res.locals.reader as KeyRecord | undefined;
  if (!record) throw new Error('route is missing the requireReader middleware');
  return record;
}

export function requireReader(deps: { keys: KeyStore; pepper: Buffer; clock: Clock }): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const presented = bearerToken(header);
    const unauthorized = (message: string): HttpError =>
      new HttpError(401, 'unauthorized', message, { headers: { 'WWW-Authenticate': 'Bearer realm="tillstream"' } });
    if (header === undefined) throw unauthorized('send a read key as Authorization: Bearer <key>');
    if (presented === undefined) throw unauthorized('the Authorization header must be "Bearer <key>"');
    const result = await authenticate(deps.keys, deps.pepper, presented, deps.clock.now());
    if (!result.ok) {
      throw unauthorized(result.failure === 'expired' ? 'the key has expired' : result.failure === 'revoked' ? 'the key has been revoked' : 'the key is not valid');
    }
    const { record } = result;
    if (!mayRead(record)) throw new HttpError(403, 'forbidden', `a ${record.kind} key cannot read; use a read key`);
    res.locals.reader = record;
    next();
  };
}

/** The merchant a key may read, or 404 when the path names another. */
export function assertMerchantAccess(record: KeyRecord, merchantId: string): void {
  if (!reachesMerchant(record, merchantId)) throw notFound('no such merchant');
}
