// The precomputed security headers: exactly what helmet itself does to a response.
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Request, Response } from 'express';
import helmet from 'helmet';
import { helmetHeaders, securityHeaders } from '../../../services/http/security-headers.js';

function response(): ServerResponse {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  res.setHeader('X-Powered-By', 'Express');
  res.setHeader('Content-Type', 'application/json');
  return res;
}

describe('security headers', () => {
  it('set the same headers as helmet over https and remove X-Powered-By', () => {
    const viaHelmet = response();
    const viaSet = response();
    let calls = 0;
    helmet()(viaHelmet.req, viaHelmet, () => calls++);
    securityHeaders()({ ...viaSet.req, secure: true } as unknown as Request, viaSet as unknown as Response, () => calls++);
    assert.equal(calls, 2);
    assert.deepEqual(viaSet.getHeaders(), viaHelmet.getHeaders());
    assert.equal(viaSet.getHeader('x-powered-by'), undefined);
    assert.equal(viaSet.getHeader('x-frame-options'), 'SAMEORIGIN');
    assert.equal(viaSet.getHeader('strict-transport-security'), 'max-age=31536000; includeSubDomains');
    assert.match(String(viaSet.getHeader('content-security-policy')), /;upgrade-insecure-requests$/);
  });

  it('send neither HSTS nor upgrade-insecure-requests over plain http, and helmet\'s other headers unchanged', () => {
    const viaHelmet = response();
    const viaSet = response();
    helmet()(viaHelmet.req, viaHelmet, () => undefined);
    securityHeaders()({ ...viaSet.req, secure: false } as unknown as Request, viaSet as unknown as Response, () => undefined);
    const expected = { ...viaHelmet.getHeaders() };
    delete expected['strict-transport-security'];
    expected['content-security-policy'] = String(expected['content-security-policy']).replace(';upgrade-insecure-requests', '');
    assert.deepEqual({ ...viaSet.getHeaders() }, expected);
    assert.doesNotMatch(String(viaSet.getHeader('content-security-policy')), /upgrade-insecure-requests/);
    assert.match(String(viaSet.getHeader('content-security-policy')), /^default-src 'self';/);
  });

  it('follow helmet options', () => {
    const { set, removed } = helmetHeaders({ contentSecurityPolicy: false, frameguard: { action: 'deny' } });
    assert.equal(set.find(([n]) => n === 'Content-Security-Policy'), undefined);
    assert.deepEqual(set.find(([n]) => n === 'X-Frame-Options'), ['X-Frame-Options', 'DENY']);
    assert.deepEqual(removed, ['X-Powered-By']);
  });
});
