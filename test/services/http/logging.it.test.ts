// The request logger: one line per request at its end, its level by status, no key in it; the default
// logger gathers request lines into batches and loses none of them when the process ends.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { defaultLogger, requestLogger } from '../../../services/http/logging.js';

const CHILD = fileURLToPath(new URL('./log-exit-child.ts', import.meta.url));

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

describe('default logger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tillstream-log-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function serve(log: ReturnType<typeof requestLogger>, paths: string[]): Promise<void> {
    const server = createServer((req, res) => log(req, res, () => res.writeHead(req.url === '/missing' ? 404 : 200).end('x')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      for (const p of paths) await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${p}`)).text();
    } finally {
      server.close();
    }
  }

  async function linesOnceWritten(file: string, count: number): Promise<Record<string, unknown>[]> {
    for (let i = 0; i < 500; i++) {
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      const lines = text.split('\n').filter(Boolean);
      if (lines.length >= count) return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${file} did not get ${count} lines: ${existsSync(file) ? readFileSync(file, 'utf8') : '(no file)'}`);
  }

  it('gathers request lines into one write, sent with the next line that is not a request line', async () => {
    const file = join(dir, 'batched.log');
    const logger = defaultLogger({ dest: file, level: 'info', flushMs: 3_600_000 });
    await serve(requestLogger(logger), ['/a', '/missing', '/b']);
    // Three request lines (well under a batch) wait: nothing is written yet.
    assert.equal(existsSync(file) ? readFileSync(file, 'utf8') : '', '');
    logger.info({ signal: 'SIGTERM' }, 'stopping');
    const lines = await linesOnceWritten(file, 4);
    assert.deepEqual(
      lines.map((l) => [l.level, (l.req as { url?: string } | undefined)?.url, (l.res as { status?: number } | undefined)?.status, l.msg]),
      [
        [30, '/a', 200, `GET /a 200 ${lines[0]!.responseTime}ms`],
        [40, '/missing', 404, `GET /missing 404 ${lines[1]!.responseTime}ms`],
        [30, '/b', 200, `GET /b 200 ${lines[2]!.responseTime}ms`],
        [30, undefined, undefined, 'stopping'],
      ],
    );
  });

  it("writes each request line byte for byte as pino writes the same line (bindings of a child included)", async () => {
    const file = join(dir, 'exact.log');
    const logger = defaultLogger({ dest: file, level: 'info', flushMs: 3_600_000 }).child({ service: 'api' });
    const log = requestLogger(logger);
    const server = createServer((req, res) => log(req, res, () => res.writeHead(req.url!.startsWith('/missing') ? 404 : 200).end('x')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      await (await fetch(`http://127.0.0.1:${port}/a?x="q"&y=\\&key=tsr_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG`, { headers: { 'user-agent': 'probe "1" \\ é' } })).text();
      await (await fetch(`http://127.0.0.1:${port}/missing`, { headers: { 'user-agent': '' } })).text();
      // without a User-Agent (node's own request sends none)
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/b%20c' }, (res) => res.resume().on('end', resolve));
        req.on('error', reject).end();
      });
    } finally {
      server.close();
    }
    logger.info('stopping');
    const written = (await linesOnceWritten(file, 4)) && readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, 3);
    // pino's own line for the same fields, the same time and bindings
    const expected = written.map((text) => {
      const l = JSON.parse(text) as { level: number; time: number; req: Record<string, unknown>; res: unknown; responseTime: number; msg: string };
      let out = '';
      const same = pino({ base: { pid: process.pid, hostname: hostname() }, timestamp: () => `,"time":${l.time}` }, new Writable({ write: (chunk, _enc, cb) => ((out = String(chunk).trimEnd()), cb()) })).child({ service: 'api' });
      same[l.level === 40 ? 'warn' : 'info']({ req: { id: l.req.id, method: l.req.method, url: l.req.url, user_agent: l.req.user_agent }, res: l.res, responseTime: l.responseTime }, l.msg);
      return out;
    });
    assert.deepEqual(written, expected);
    assert.deepEqual(
      written.map((t) => (JSON.parse(t) as { req: { url: string; user_agent?: string } }).req),
      [
        { id: 1, method: 'GET', url: '/a?x=%22q%22&y=\\&key=redacted', user_agent: 'probe "1" \\ é' },
        { id: 2, method: 'GET', url: '/missing', user_agent: '' },
        { id: 3, method: 'GET', url: '/b%20c' },
      ],
    );
  });

  it('writes a line logged while its file is still opening, without waiting for the periodic flush', async () => {
    const file = join(dir, 'opening.log');
    const logger = defaultLogger({ dest: file, level: 'info', flushMs: 3_600_000 });
    logger.info('starting');
    const lines = await linesOnceWritten(file, 1);
    assert.equal(lines[0]!.msg, 'starting');
  });

  it('writes a 5xx request line at once, with the lines gathered before it', async () => {
    const file = join(dir, 'error.log');
    const logger = defaultLogger({ dest: file, level: 'info', flushMs: 3_600_000 });
    const log = requestLogger(logger);
    const server = createServer((req, res) => log(req, res, () => res.writeHead(req.url === '/fail' ? 503 : 200).end('x')));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      for (const p of ['/ok', '/fail']) await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${p}`)).text();
    } finally {
      server.close();
    }
    const lines = await linesOnceWritten(file, 2);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [
        [30, `GET /ok 200 ${lines[0]!.responseTime}ms`],
        [50, 'GET /fail 503'],
      ],
    );
  });

  for (const how of ['exit', 'throw', 'drain'] as const) {
    it(`loses no gathered request line when the process ends (${{ exit: 'process.exit', throw: 'an uncaught exception', drain: 'nothing left to run' }[how]})`, () => {
      const file = join(dir, `${how}.log`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, file, how, '7'], { encoding: 'utf8' });
      assert.equal(r.status, how === 'throw' ? 1 : 0, r.stderr);
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { req: { url: string } });
      assert.deepEqual(
        lines.map((l) => l.req.url),
        Array.from({ length: 7 }, (_, i) => `/r${i}`),
      );
    });
  }
});
