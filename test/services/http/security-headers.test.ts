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
  it('set the same headers as helmet and remove X-Powered-By', () => {
    const viaHelmet = response();
    const viaSet = response();
    let calls = 0;
    helmet()(viaHelmet.req, viaHelmet, () => calls++);
    securityHeaders()(viaSet.req as Request, viaSet as unknown as Response, () => calls++);
    assert.equal(calls, 2);
    assert.deepEqual(viaSet.getHeaders(), viaHelmet.getHeaders());
    assert.equal(viaSet.getHeader('x-powered-by'), undefined);
    assert.equal(viaSet.getHeader('x-frame-options'), 'SAMEORIGIN');
  });

  it('follow helmet options', () => {
    const { set, removed } = helmetHeaders({ contentSecurityPolicy: false, frameguard: { action: 'deny' } });
    assert.equal(set.find(([n]) => n === 'Content-Security-Policy'), undefined);
    assert.deepEqual(set.find(([n]) => n === 'X-Frame-Options'), ['X-Frame-Options', 'DENY']);
    assert.deepEqual(removed, ['X-Powered-By']);
  });
});
