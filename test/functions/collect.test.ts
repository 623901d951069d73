import assert from 'node:assert/strict';
import sinon from 'sinon';
import request from 'supertest';
import { createCollectHandler } from '../../functions/collect.js';
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

  it('refuses a body that is not JSON at all with the contract error body and publishes nothing', async () => {
    const { srv, published } = setup();
    // The framework's own JSON parser refuses it before the function runs; nothing is logged for it.
    const logged = sinon.stub(console, 'error');
    try {
      const res = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/json').send('[{"a":1},');
      assert.deepEqual([res.status, res.headers['content-type'], res.body], [400, 'application/json; charset=utf-8', { error: { code: 'invalid_body', message: 'request body is not valid JSON' } }]);
      const cloudEvent = await request(srv).post('/v1/events').set('authorization', `Bearer ${ingest.key}`).set('content-type', 'application/cloudevents+json').send('{');
      assert.deepEqual([cloudEvent.status, cloudEvent.body], [400, { error: { code: 'invalid_body', message: 'request body is not valid JSON' } }]);
    } finally {
      logged.restore();
    }
    assert.deepEqual(logged.args, []);
    assert.deepEqual(published, []);
  });

  it('answers /health without a key', async () => {
    const { srv } = setup();
    const res = await request(srv).get('/health');
    assert.deepEqual([res.status, res.body], [200, { status: 'ok' }]);
  });
});
