// The HTTP collector: statuses, body splitting, keys and origins, rate limits, and what reaches the bus.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express, { type Express } from 'express';
import request from 'supertest';
import { LocalArchive } from '../../../adapters/local/archive.js';
import { LocalBus } from '../../../adapters/local/bus.js';
import { LocalKeyStore } from '../../../adapters/local/key-store.js';
import { createKey } from '../../../pipeline/auth/keys.js';
import type { KeyKind } from '../../../pipeline/ports.js';
import { createCollector } from '../../../services/collector/router.js';
import { errorHandler, notFoundHandler } from '../../../services/http/errors.js';

const PEPPER = Buffer.alloc(32, 7);
const ORIGIN = 'https://shop.example';
const event = (id: string) => ({
  event_id: id,
  merchant_id: 'm1',
  event_type: 'track',
  event_ts: '2026-11-21T10:00:00Z',
  source: 'web',
  schema_version: 1,
  body: { name: 'click', visitor_id: 'v1', session_id: 's1' },
});

/**
 * Writes a POST's head and only the first `sent` bytes of a body of `declared` bytes, never the rest,
 * and resolves with the answer's status line and body once the server has answered in full.
 */
function unfinishedPost(port: number, headers: string[], declared: number, sent: number): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (d: string) => {
      data += d;
      const end = data.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(data.slice(0, end))?.[1]);
      if (data.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status: data.slice(0, data.indexOf('\r\n')), body: data.slice(end + 4) });
    });
    const head = ['POST /v1/events HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/x-ndjson', `Content-Length: ${declared}`, ...headers];
    socket.write(`${head.join('\r\n')}\r\n\r\n${'{"event_id":"e"}\n'.repeat(Math.ceil(sent / 17)).slice(0, sent)}`);
  });
}

describe('collector', () => {
  let dir: string;
  let archive: LocalArchive;
  let bus: LocalBus;
  let keys: LocalKeyStore;
  let app: Express;
  const key = async (kind: KeyKind, extra: { origins?: string[]; expiresInMs?: number; merchantId?: string | null } = {}) => {
    const made = createKey(PEPPER, {
      kind,
      merchantId: extra.merchantId === null ? undefined : (extra.merchantId ?? (kind === 'admin' ? undefined : 'm1')),
      origins: extra.origins,
      expiresInMs: extra.expiresInMs,
      now: new Date(Date.now() - 10_000),
    });
    await keys.put(made.record);
    return made;
  };
  const build = (opts: Parameters<typeof createCollector>[0] extends infer O ? Partial<O> : never = {}) => {
    const a = express();
    a.use(createCollector({ publisher: bus, keys, pepper: PEPPER, maxBodyBytes: 64 * 1024, ...opts }));
    a.use(notFoundHandler());
    a.use(errorHandler());
    return a;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'collector-'));
    archive = new LocalArchive(join(dir, 'archive'));
    bus = await LocalBus.open({ path: join(dir, 'bus.mdb'), archive });
    keys = new LocalKeyStore(join(dir, 'keys.json'));
    app = build();
  });
  afterEach(async () => {
    await bus.close();
    await archive.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 202 for a JSON array and publishes every element as an entry', async () => {
    const { key: k } = await key('ingest');
    const res = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).send([event('e1'), event('e2')]);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { received: 2, messages: 1 });
    assert.equal(bus.publishedEntries(), 2);
    const [msg] = await bus.receive(10);
    assert.deepEqual(msg!.entries.map((e) => JSON.parse(e).event_id), ['e1', 'e2']);
    assert.equal(msg!.attributes.key_merchant_id, 'm1');
  });

  it('keeps unparsable NDJSON lines as entries so they are rejected, not lost', async () => {
    const { key: k } = await key('ingest');
    const body = `${JSON.stringify(event('e1'))}\n{not json\n\n${JSON.stringify(event('e2'))}\n`;
    const res = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).set('Content-Type', 'application/x-ndjson').send(body);
    assert.equal(res.status, 202);
    assert.equal(res.body.received, 3);
    const [msg] = await bus.receive(10);
    assert.equal(msg!.entries[1], '{not json');
  });

  it('splits a large body into bounded messages', async () => {
    const { key: k } = await key('ingest');
    const many = Array.from({ length: 1200 }, (_, i) => event(`e${i}`));
    const big = build({ maxBodyBytes: 1024 * 1024 });
    const res = await request(big).post('/v1/events').set('Authorization', `Bearer ${k}`).send(many);
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { received: 1200, messages: 3 });
    assert.equal(bus.publishedEntries(), 1200);
  });

  it('answers 400 for a body that is not a JSON array and enqueues nothing', async () => {
    const { key: k } = await key('ingest');
    const broken = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).set('Content-Type', 'application/json').send('[{"a": 1},');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, 'invalid_body');
    const object = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).send(event('e1'));
    assert.equal(object.status, 400);
    assert.equal(bus.publishedEntries(), 0);
  });

  it('answers 401 without a key, with an unknown, expired or revoked key, and for a secret key in the URL', async () => {
    const none = await request(app).post('/v1/events').send([event('e1')]);
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, { error: { code: 'unauthorized', message: 'an ingest or browser key is required' } });
    const unknown = await request(app).post('/v1/events').set('Authorization', `Bearer tsi_${'A'.repeat(43)}`).send([event('e1')]);
    assert.equal(unknown.status, 401);
    const expired = await key('ingest', { expiresInMs: 1 });
    assert.equal((await request(app).post('/v1/events').set('Authorization', `Bearer ${expired.key}`).send([event('e1')])).status, 401);
    const revoked = await key('ingest');
    await keys.revoke(revoked.record.id, new Date());
    assert.equal((await request(app).post('/v1/events').set('Authorization', `Bearer ${revoked.key}`).send([event('e1')])).status, 401);
    const secretInUrl = await key('ingest');
    assert.equal((await request(app).post(`/v1/events?key=${secretInUrl.key}`).send([event('e1')])).status, 401);
    assert.equal(bus.publishedEntries(), 0);
  });

  it('answers 403 for read and admin keys and for a browser key from an unlisted origin', async () => {
    const read = await key('read');
    assert.equal((await request(app).post('/v1/events').set('Authorization', `Bearer ${read.key}`).send([event('e1')])).status, 403);
    const admin = await key('admin');
    assert.equal((await request(app).post('/v1/events').set('Authorization', `Bearer ${admin.key}`).send([event('e1')])).status, 403);
    const browser = await key('browser', { origins: [ORIGIN] });
    const res = await request(app).post(`/v1/events?key=${browser.key}`).set('Origin', 'https://evil.example').send([event('e1')]);
    assert.equal(res.status, 403);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(bus.publishedEntries(), 0);
  });

  it('accepts a beacon from an allowed origin and answers its preflight', async () => {
    const browser = await key('browser', { origins: [ORIGIN] });
    const pre = await request(app).options(`/v1/events?key=${browser.key}`).set('Origin', ORIGIN).set('Access-Control-Request-Method', 'POST');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], ORIGIN);
    const res = await request(app).post(`/v1/events?key=${browser.key}`).set('Origin', ORIGIN).set('Content-Type', 'text/plain;charset=UTF-8').send(JSON.stringify([event('e1')]));
    assert.equal(res.status, 202);
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    const [msg] = await bus.receive(1);
    assert.equal(msg!.attributes.source, 'web');
  });

  it('answers 413 for a body over the limit and 415 for an unsupported content type', async () => {
    const { key: k } = await key('ingest');
    const huge = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).set('Content-Type', 'application/json').send(`[${'1,'.repeat(40_000)}1]`);
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'payload_too_large');
    const xml = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).set('Content-Type', 'application/xml').send('<events/>');
    assert.equal(xml.status, 415);
    assert.equal(xml.body.error.code, 'unsupported_media_type');
    assert.equal(bus.publishedEntries(), 0);
  });

  it('answers 429 with Retry-After once a key exceeds its rate', async () => {
    const limited = build({ rateLimitPerMinute: 2 });
    const { key: k } = await key('ingest');
    const send = () => request(limited).post('/v1/events').set('Authorization', `Bearer ${k}`).send([event('e1')]);
    assert.equal((await send()).status, 202);
    assert.equal((await send()).status, 202);
    const third = await send();
    assert.equal(third.status, 429);
    assert.equal(third.body.error.code, 'rate_limited');
    assert.ok(Number(third.headers['retry-after']) > 0);
    assert.equal(bus.publishedEntries(), 2);
  });

  it('answers 401 to a missing or bad key without waiting for the body, which never comes', async () => {
    const server: Server = build().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const bad = await unfinishedPost(port, [`Authorization: Bearer tsi_${'A'.repeat(43)}`], 60_000, 1_000);
      assert.deepEqual(bad, { status: 'HTTP/1.1 401 Unauthorized', body: JSON.stringify({ error: { code: 'unauthorized', message: 'the key is not valid' } }) });
      const none = await unfinishedPost(port, [], 60_000, 1_000);
      assert.deepEqual(none, { status: 'HTTP/1.1 401 Unauthorized', body: JSON.stringify({ error: { code: 'unauthorized', message: 'an ingest or browser key is required' } }) });
    } finally {
      server.closeAllConnections();
      server.close();
    }
    assert.equal(bus.publishedEntries(), 0);
  });

  it('keeps entries that are not ASCII exactly as sent', async () => {
    const { key: k } = await key('ingest');
    const entries = [JSON.stringify({ ...event('e1'), body: { name: 'Zürich café ☕ 𝄞', visitor_id: 'v1', session_id: 's1' } }), JSON.stringify(event('e2'))];
    const res = await request(app).post('/v1/events').set('Authorization', `Bearer ${k}`).set('Content-Type', 'application/x-ndjson').send(Buffer.from(entries.join('\n')));
    assert.equal(res.status, 202);
    const [msg] = await bus.receive(10);
    assert.deepEqual(msg!.entries, entries);
  });
});
