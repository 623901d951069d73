// Webhook signatures checked by an independent receiver: a few lines of node:crypto written from the
// documented scheme (docs/alerts.md), not the module's own verifier.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SIGNATURE_HEADER, newSigningSecret, signatureHeader, verifySignature } from '../../../pipeline/alerts/signing.js';

/** What a merchant writes: parse t and v1, recompute HMAC-SHA256(secret, `${t}.${body}`), compare, check the age. */
function receiverAccepts(secret: string, body: string, header: string, nowSeconds: number): boolean {
  const fields = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const expected = createHmac('sha256', secret).update(`${fields.t}.${body}`).digest();
  const given = Buffer.from(fields.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) && Math.abs(nowSeconds - Number(fields.t)) <= 300;
}

describe('webhook signing', () => {
  const secret = newSigningSecret();
  const body = JSON.stringify({ id: 'alt_1', type: 'alert.fired', details: { closing_quantity: 3 } });
  const at = new Date('2026-03-08T07:00:05Z');
  const header = signatureHeader(secret, body, at);
  const nowSeconds = at.getTime() / 1000 + 30;

  it('names the header Tillstream-Signature and writes t=<unix seconds>,v1=<64 hex>', () => {
    assert.equal(SIGNATURE_HEADER, 'Tillstream-Signature');
    assert.match(header, /^t=1772953205,v1=[0-9a-f]{64}$/);
  });

  it('passes an independent check of the body as sent', () => {
    assert.equal(receiverAccepts(secret, body, header, nowSeconds), true);
    assert.deepEqual(verifySignature(secret, body, header, new Date(nowSeconds * 1000)), { ok: true });
  });

  it('fails the independent check when one byte of the body changes', () => {
    const changed = body.replace('"closing_quantity":3', '"closing_quantity":4');
    assert.equal(receiverAccepts(secret, changed, header, nowSeconds), false);
    assert.deepEqual(verifySignature(secret, changed, header, new Date(nowSeconds * 1000)), { ok: false, reason: 'mismatch' });
  });

  it('fails the independent check for a timestamp older than five minutes (a replay)', () => {
    const later = at.getTime() / 1000 + 301;
    assert.equal(receiverAccepts(secret, body, header, later), false);
    assert.deepEqual(verifySignature(secret, body, header, new Date(later * 1000)), { ok: false, reason: 'too_old' });
  });

  it('fails with another secret and for a header without v1', () => {
    assert.equal(receiverAccepts(newSigningSecret(), body, header, nowSeconds), false);
    assert.deepEqual(verifySignature(secret, body, header.split(',')[0]!, at), { ok: false, reason: 'malformed' });
  });
});
