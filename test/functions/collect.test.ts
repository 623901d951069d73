import assert from 'node:assert/strict';
import sinon from 'sinon';
import request from 'supertest';
import type { IncomingMessage } from 'node:http';
import { createCollectHandler } from '../../functions/collect.js';
import { DEFAULT_MAX_BODY_BYTES } from '../../services/collector/router.js';
import { createKey, newPepper } from '../../pipeline/auth/keys.js';
import type { InboundMessage, KeyRecord, KeyStore, Publisher } from '../../pipeline/ports.js';
import { testServer } from './support.js';

class MemoryKeys implements KeyStore {
  readonly records = new Map<string, KeyRecord>();
  async put(r: KeyRecord) {
    this.records.set(r.hash, r);
  }
  async findByHash(h: string) {
    return this.records.get(h);
  }
  async list() {
    return [...this.records.values()];
  }
  async revoke() {
    return false;
  }
}

describe('collect function', () => {
  const pepper = newPepper();
  const keys = new MemoryKeys();
  const ingest = createKey(pepper, { kind: 'ingest', merchantId: 'pizzaco' });
  const read = createKey(pepper, { kind: 'read', merchantId: 'pizzaco' });
  before(async () => {
    await keys.put(ingest.record);
    await keys.put(read.record);
  });

  function setup(maxBodyBytes?: number) {
    const published: Omit<InboundMessage, 'id' | 'deliveryAttempt'>[] = [];
    const publisher: Publisher = {
      async publish(messages) {
        published.push(...messages);
        return messages.map((_, i) => `id-${published.length - messages.length + i}`);
      },
    };
    const srv = testServer(
      createCollectHandler({
        publisher,
        keys,
        pepper,
        clock: { now: () => new Date('2026-11-21T12:00:00Z') },
        batchLimits: { maxEntries: 2 },
        rateLimitPerMinute: false,
        ...(maxBodyBytes ? { maxBodyBytes } : {}),
      }),
    );
    return { srv, published };
  }

  it('splits a JSON array body into entries exactly as sent and publishes bounded batches', async () => {
    const { srv, published } = setup();
    const res = await request(srv)
      .post('/v1/events')
      .set('authorization', `Bearer ${ingest.key}`)
      .set('content-type', 'application/json')
      .set('user-agent', 'pos-sync/2.1')
      .send('[{"event_id":"a"}, {"event_id": "b"} ,{"x":[1,2]}]');
    assert.deepEqual([res.status, res.body], [202, { received: 3, messages: 2 }]);
    assert.deepEqual(published, [
      { receivedAt: new Date('2026-11-21T12:00:00Z'), attributes: { source: 'online', key_merchant_id: 'pizzaco', user_agent: 'pos-sync/2.1' }, entries: ['{"event_id":"a"}', '{"event_id": "b"}'] },
      { receivedAt: new Date('2026-11-21T12:00:00Z'), attributes: { source: 'online', key_merchant_id: 'pizzaco', user_agent: 'pos-sync/2.1' }, entries: ['{"x":[1,2]}'] },
    ]);
  });

  it('takes NDJSON, keeping unparsable lines as entries', async () => {
    const { srv, published } = setup();
    const res = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/x-ndjson').send('{"a":1}\nnot json\n');
    assert.deepEqual([res.status, res.body], [202, { received: 2, messages: 1 }]);
    assert.deepEqual(published[0]!.entries, ['{"a":1}', 'not json']);
  });

  it('answers with the contract statuses and error body', async () => {
    const { srv, published } = setup(64);
    const noKey = await request(srv).post('/v1/events').set('content-type', 'application/json').send('[]');
    assert.deepEqual([noKey.status, noKey.body], [401, { error: { code: 'unauthorized', message: 'an ingest or browser key is required' } }]);
    const wrongKind = await request(srv).post('/v1/events').set('authorization', `Bearer ${read.key}`).set('content-type', 'application/json').send('[]');
    assert.deepEqual([wrongKind.status, wrongKind.body.error.code], [403, 'forbidden']);
    const tooLarge = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/json').send(`[${'"x",'.repeat(40)}"x"]`);
    assert.deepEqual([tooLarge.status, tooLarge.body.error.code], [413, 'payload_too_large']);
    const notArray = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/json').send('{"a":1}');
    assert.deepEqual([notArray.status, notArray.body], [400, { error: { code: 'invalid_body', message: 'body must be a JSON array of events' } }]);
    const media = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/xml').send('<a/>');
    assert.deepEqual([media.status, media.body.error.code], [415, 'unsupported_media_type']);
    const route = await request(srv).get('/v2/nothing');
    assert.deepEqual([route.status, route.body.error.code], [404, 'not_found']);
    assert.deepEqual(published, []);
  });

  it('refuses a body that is not JSON at all with the contract error body, once the key passed, and publishes nothing', async () => {
    const { srv, published } = setup();
    const res = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/json').send('[{"a":1},');
    assert.deepEqual([res.status, res.headers['content-type'], res.body.error.code], [400, 'application/json; charset=utf-8', 'invalid_body']);
    assert.match(res.body.error.message, /^body is not valid JSON: /);
    // Without a key the body is not looked at: the key is what is wrong.
    const noKey = await request(srv).post('/v1/events').set('content-type', 'application/json').send('[{"a":1},');
    assert.deepEqual([noKey.status, noKey.body.error.code], [401, 'unauthorized']);
    const cloudEvent = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/cloudevents+json').send('{');
    assert.deepEqual([cloudEvent.status, cloudEvent.body.error.code], [415, 'unsupported_media_type']);
    assert.deepEqual(published, []);
  });

  /**
   * The collector with a key store that notes, at each look-up, whether the request's body had been
   * read yet (by anything: the framework's parsers or the collector).
   */
  function watched() {
    const requests: IncomingMessage[] = [];
    const lookups: { bodyRead: boolean; bodyEnded: boolean }[] = [];
    const watchedKeys: KeyStore = {
      put: (r) => keys.put(r),
      list: () => keys.list(),
      revoke: () => keys.revoke(),
      async findByHash(h) {
        const req = requests.at(-1)!;
        lookups.push({ bodyRead: req.readableDidRead, bodyEnded: req.readableEnded });
        return keys.findByHash(h);
      },
    };
    const published: unknown[] = [];
    const publisher: Publisher = {
      async publish(messages) {
        published.push(...messages);
        return messages.map((_, i) => `id-${i}`);
      },
    };
    const srv = testServer(createCollectHandler({ publisher, keys: watchedKeys, pepper, rateLimitPerMinute: false }));
    srv.prependListener('request', (req: IncomingMessage) => void requests.push(req));
    return { srv, lookups, published };
  }

  it('checks the key before it reads the body: a caller without a valid key never has its body read or parsed', async () => {
    const { srv, lookups, published } = watched();
    // A well-formed key the store does not hold, with 4 MB of JSON (under the 5 MiB limit).
    const unknown = createKey(pepper, { kind: 'ingest', merchantId: 'pizzaco' });
    const body = `[${'{"event_id":"e","merchant_id":"pizzaco"},'.repeat(100_000)}{}]`;
    const res = await request(srv).post('/v1/events').set('authorization', `Bearer ${unknown.key}`).set('content-type', 'application/json').send(body);
    assert.deepEqual([res.status, res.body.error.code], [401, 'unauthorized']);
    assert.deepEqual(lookups, [{ bodyRead: false, bodyEnded: false }]);
    assert.deepEqual(published, []);
  });

  it('refuses a body over the limit after the key check without reading it', async () => {
    const { srv, lookups, published } = watched();
    const body = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20);
    const res = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/x-ndjson').send(body);
    assert.deepEqual([res.status, res.body.error.code], [413, 'payload_too_large']);
    assert.deepEqual(lookups, [{ bodyRead: false, bodyEnded: false }]);
    assert.deepEqual(published, []);
  });

  it('reads at once only the body bytes its budget allows: a request past it waits, its key and body untouched, until one finishes', async () => {
    const lookups: IncomingMessage[] = [];
    const requests: IncomingMessage[] = [];
    const watchedKeys: KeyStore = {
      put: (r) => keys.put(r),
      list: () => keys.list(),
      revoke: () => keys.revoke(),
      async findByHash(h) {
        lookups.push(requests.at(-1)!);
        return keys.findByHash(h);
      },
    };
    // The publisher holds each body until the test lets it go.
    const held: (() => void)[] = [];
    let heldTwo!: () => void;
    const twoHeld = new Promise<void>((r) => (heldTwo = r));
    const publisher: Publisher = {
      async publish(messages) {
        await new Promise<void>((r) => {
          held.push(r);
          if (held.length === 2) heldTwo();
        });
        return messages.map((_, i) => `id-${i}`);
      },
    };
    const body = `${'{"event_id":"e"}\n'.repeat(60)}`;
    const srv = testServer(createCollectHandler({ publisher, keys: watchedKeys, pepper, rateLimitPerMinute: false, maxBodyBytesInFlight: 2 * Buffer.byteLength(body) }));
    let arrived!: () => void;
    const thirdArrived = new Promise<void>((r) => (arrived = r));
    srv.prependListener('request', (req: IncomingMessage) => {
      requests.push(req);
      if (requests.length === 3) arrived();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/v1/events`;
      const post = () => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${ingest.key}`, 'content-type': 'application/x-ndjson' }, body }).then((r) => r.status);
      const first = [post(), post()];
      await twoHeld;
      const third = post();
      await thirdArrived;
      await new Promise((r) => setImmediate(r));
      assert.equal(lookups.length, 2, 'the third request waits before its key check');
      assert.equal(requests[2]!.readableDidRead, false, 'and before its body is read');
      held.shift()!();
      // One finished: the third is admitted, and its body held with the other.
      while (held.length < 2) await new Promise((r) => setImmediate(r));
      for (const release of held.splice(0)) release();
      assert.deepEqual(await Promise.all([...first, third]), [202, 202, 202]);
      assert.equal(lookups.length, 3);
    } finally {
      for (const release of held.splice(0)) release();
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  it('answers /health without a key', async () => {
    const { srv } = setup();
    const res = await request(srv).get('/health');
    assert.deepEqual([res.status, res.body], [200, { status: 'ok' }]);
  });
});
