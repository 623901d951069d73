// The request logger: one line per request at its end, its level by status, no key in it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { requestLogger } from '../../../services/http/logging.js';

describe('request logger', () => {
  it('logs each request once when it ends: 2xx info, 4xx warn, 5xx error with an err', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const log = requestLogger(logger);
    const server = createServer((req, res) => log(req, res, () => res.writeHead(Number(req.url!.split('/')[1]!.slice(0, 3))).end('x')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const path of ['/200', '/404?key=tsr_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', '/503']) {
        await (await fetch(base + path, { headers: { 'user-agent': 'probe', authorization: 'Bearer tsr_secret' } })).text();
      }
    } finally {
      server.close();
    }
    assert.equal(lines.length, 3);
    assert.deepEqual(
      lines.map((l) => [l.level, l.req, l.res, typeof l.responseTime, l.msg]),
      [
        [30, { id: 1, method: 'GET', url: '/200', user_agent: 'probe' }, { status: 200 }, 'number', `GET /200 200 ${lines[0]!.responseTime}ms`],
        [40, { id: 2, method: 'GET', url: '/404?key=redacted', user_agent: 'probe' }, { status: 404 }, 'number', `GET /404?key=redacted 404 ${lines[1]!.responseTime}ms`],
        [50, { id: 3, method: 'GET', url: '/503', user_agent: 'probe' }, { status: 503 }, 'number', 'GET /503 503'],
      ],
    );
    assert.equal((lines[2]!.err as { message: string }).message, 'failed with status code 503');
    assert.ok(!JSON.stringify(lines).includes('secret'));
  });

  it('writes nothing below the logger level', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }));
    const log = requestLogger(logger);
    const server = createServer((req, res) => log(req, res, () => res.end('ok')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)).text();
    } finally {
      server.close();
    }
    assert.deepEqual(lines, []);
  });
});
