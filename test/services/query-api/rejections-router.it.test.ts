// GET /v1/merchants/{id}/rejections over an LMDB series store: the report document for read, manage
// and admin keys, 404 for another merchant's key, an empty report before the first mart run.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import type { Express } from 'express';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { documentKey } from '../../../pipeline/series/row-key.js';
import type { RejectionsDocument } from '../../../runtime/rejections.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, NOW, PEPPER, addKey } from './fixtures.js';

const DOC: RejectionsDocument = {
  merchant_id: 'm1',
  as_of: '2026-11-21T12:05:00.000Z',
  from: '2026-11-14T12:05:00.000Z',
  to: '2026-11-21T12:05:00.000Z',
  total: 3,
  by_reason: { schema_mismatch: 2, invalid_json: 1 },
  samples: [
    { received_at: '2026-11-21T11:00:00.000Z', reason: 'invalid_json', detail: 'not valid JSON', merchant_id: null, event_id: null, event_type: null, source: 'pos', payload: 'not json' },
  ],
};

describe('rejections route', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let app: Express;
  const keys = { read: '', manage: '', admin: '', other: '', ingest: '' };
  const get = (url: string, key: string) => request(app).get(url).set('Authorization', `Bearer ${key}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rejections-api-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    const store = new MemoryKeyStore();
    keys.read = (await addKey(store, 'read', 'm1')).key;
    keys.manage = (await addKey(store, 'manage', 'm1')).key;
    keys.admin = (await addKey(store, 'admin')).key;
    keys.other = (await addKey(store, 'read', 'm2')).key;
    keys.ingest = (await addKey(store, 'ingest', 'm1')).key;
    await series.putDocument(documentKey('m1', 'rejections'), DOC);
    app = createQueryApi({ series, keys: store, pepper: PEPPER, clock: { now: () => NOW }, logger: pino({ level: 'silent' }), dashboard: false });
  });
  after(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the report to the merchant read, manage and admin keys', async () => {
    for (const key of [keys.read, keys.manage, keys.admin]) {
      const r = await get('/v1/merchants/m1/rejections', key);
      assert.deepEqual([r.status, r.body], [200, DOC]);
    }
  });

  it('answers 404 to another merchant key, 403 to an ingest key, 401 without a key, 400 for a parameter', async () => {
    assert.deepEqual([(await get('/v1/merchants/m1/rejections', keys.other)).status], [404]);
    assert.equal((await get('/v1/merchants/m1/rejections', keys.ingest)).status, 403);
    assert.equal((await request(app).get('/v1/merchants/m1/rejections')).status, 401);
    const bad = await get('/v1/merchants/m1/rejections?since=1h', keys.read);
    assert.deepEqual([bad.status, bad.body.error.code], [400, 'invalid_parameter']);
  });

  it('answers an empty report before the first mart run', async () => {
    const r = await get('/v1/merchants/m2/rejections', keys.other);
    assert.deepEqual([r.status, r.body], [200, { merchant_id: 'm2', as_of: null, from: null, to: null, total: 0, by_reason: {}, samples: [] }]);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await request(app).get('/openapi.json')).body as { paths: Record<string, { get?: { operationId?: string } }> };
    assert.equal(doc.paths['/v1/merchants/{merchantId}/rejections']?.get?.operationId, 'getRejections');
  });
});
