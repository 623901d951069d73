// The alert routes of the query API over an LMDB series store: who may manage what, rule validation,
// the signing secret shown once, and the history with delivery status.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import type { Express } from 'express';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { createAlertStore } from '../../../pipeline/alerts/store.js';
import { GCP_WEBHOOKS } from '../../../pipeline/alerts/webhook-url.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, NOW, PEPPER, addKey } from './fixtures.js';

describe('alert routes', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let app: Express;
  let keyStore: MemoryKeyStore;
  const keys = { manage: '', read: '', admin: '', otherManage: '', ingest: '' };
  const call = (method: 'get' | 'post' | 'put' | 'delete', url: string, key: string) => request(app)[method](url).set('Authorization', `Bearer ${key}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alerts-api-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    const store = (keyStore = new MemoryKeyStore());
    keys.manage = (await addKey(store, 'manage', 'm1')).key;
    keys.read = (await addKey(store, 'read', 'm1')).key;
    keys.admin = (await addKey(store, 'admin')).key;
    keys.otherManage = (await addKey(store, 'manage', 'm2')).key;
    keys.ingest = (await addKey(store, 'ingest', 'm1')).key;
    // gcp's webhook rule, with hooks.example.com resolving to a public address (no DNS in tests).
    const resolve = async (host: string) => {
      if (host === 'hooks.example.com') return [{ address: '93.184.216.34', family: 4 }];
      if (host === 'intranet.example.com') return [{ address: '10.8.0.2', family: 4 }];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    app = createQueryApi({ series, keys: store, pepper: PEPPER, clock: { now: () => NOW }, logger: pino({ level: 'silent' }), dashboard: false, webhooks: { ...GCP_WEBHOOKS, resolve } });
  });
  after(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, lists, replaces and deletes rules with a manage key', async () => {
    const created = await call('post', '/v1/merchants/m1/alerts/rules', keys.manage).send({ id: 'drop', kind: 'sales_drop', fraction: 0.5, min_baseline_minor: 5000 });
    assert.deepEqual([created.status, created.body], [201, { id: 'drop', kind: 'sales_drop', enabled: true, fraction: 0.5, min_baseline_minor: 5000 }]);
    const replaced = await call('put', '/v1/merchants/m1/alerts/rules/drop', keys.manage).send({ kind: 'sales_drop', store_id: '*', fraction: 0.3, min_baseline_minor: 0 });
    assert.equal(replaced.status, 200);
    const stock = await call('put', '/v1/merchants/m1/alerts/rules/stock', keys.admin).send({ kind: 'low_stock', threshold: 5 });
    assert.equal(stock.status, 201);
    const listed = await call('get', '/v1/merchants/m1/alerts/rules', keys.manage);
    assert.deepEqual(listed.body, {
      merchant_id: 'm1',
      webhook_url: null,
      rules: [
        { id: 'drop', kind: 'sales_drop', enabled: true, store_id: '*', fraction: 0.3, min_baseline_minor: 0 },
        { id: 'stock', kind: 'low_stock', enabled: true, store_id: '*', sku: '*', threshold: 5 },
      ],
    });
    assert.equal((await call('delete', '/v1/merchants/m1/alerts/rules/stock', keys.manage)).status, 204);
    const missing = await call('delete', '/v1/merchants/m1/alerts/rules/stock', keys.manage);
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'not_found']);
  });

  it('answers 400 with the zod paths for unknown fields and bad values, 415 for a body that is not JSON', async () => {
    const bad = await call('post', '/v1/merchants/m1/alerts/rules', keys.manage).send({ id: 'x', kind: 'low_stock', treshold: 3 });
    assert.deepEqual(bad.body, { error: { code: 'invalid_body', message: '(root): Unrecognized key: "treshold"' } });
    const range = await call('put', '/v1/merchants/m1/alerts/rules/q', keys.manage).send({ kind: 'feed_silent', silent_minutes: 1 });
    assert.equal(range.status, 400);
    assert.match(range.body.error.message, /^silent_minutes: /);
    const text = await call('post', '/v1/merchants/m1/alerts/rules', keys.manage).set('Content-Type', 'text/plain').send('id=x');
    assert.deepEqual([text.status, text.body.error.code], [415, 'unsupported_media_type']);
  });

  it('keeps read, ingest and other merchants out: 403 for the wrong kind, 404 for another merchant, 401 without a key', async () => {
    const rule = { id: 'f', kind: 'freshness', lag_minutes: 120 };
    assert.equal((await call('post', '/v1/merchants/m1/alerts/rules', keys.read).send(rule)).status, 403);
    assert.equal((await call('get', '/v1/merchants/m1/alerts/rules', keys.ingest)).status, 403);
    assert.equal((await call('post', '/v1/merchants/m1/alerts/rules', keys.otherManage).send(rule)).status, 404);
    assert.equal((await call('get', '/v1/merchants/m9/alerts', keys.read)).status, 404);
    assert.equal((await request(app).get('/v1/merchants/m1/alerts')).status, 401);
  });

  it('shows the signing secret when it is made and never again, until rotated', async () => {
    const first = await call('put', '/v1/merchants/m1/alerts/webhook', keys.manage).send({ url: 'https://hooks.example.com/tillstream' });
    assert.equal(first.status, 200);
    assert.match(first.body.signing_secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    const again = await call('put', '/v1/merchants/m1/alerts/webhook', keys.manage).send({ url: 'https://hooks.example.com/v2' });
    assert.deepEqual(again.body, { webhook_url: 'https://hooks.example.com/v2' });
    const rotated = await call('put', '/v1/merchants/m1/alerts/webhook', keys.manage).send({ url: 'https://hooks.example.com/v2', rotate_secret: true });
    assert.notEqual(rotated.body.signing_secret, first.body.signing_secret);
    assert.equal((await createAlertStore(series).getSettings('m1'))!.signing_secret, rotated.body.signing_secret);
    assert.equal(JSON.stringify((await call('get', '/v1/merchants/m1/alerts/rules', keys.manage)).body).includes('whsec_'), false);
  });

  it('answers 400 for a webhook into the service\'s own network or over plain http, and keeps the one set before', async () => {
    const m = 'm3';
    const manage = (await addKey(keyStore, 'manage', m)).key;
    assert.equal((await call('put', `/v1/merchants/${m}/alerts/webhook`, manage).send({ url: 'https://hooks.example.com/ok' })).status, 200);
    const refused: [number, string][] = [];
    for (const url of ['http://hooks.example.com/x', 'https://169.254.169.254/computeMetadata/v1/', 'https://metadata.google.internal/', 'https://intranet.example.com/x', 'https://[fd00::1]/x', 'https://localhost/x']) {
      const res = await call('put', `/v1/merchants/${m}/alerts/webhook`, manage).send({ url });
      refused.push([res.status, res.body.error ? `${res.body.error.code}: ${res.body.error.message}` : JSON.stringify(res.body)]);
    }
    assert.deepEqual(refused.slice(0, 5), [
      [400, 'invalid_body: webhook_url: http is not allowed: webhooks are https'],
      [400, 'invalid_body: webhook_url: 169.254.169.254 is a linkLocal address; webhooks go to public addresses'],
      [400, 'invalid_body: webhook_url: metadata.google.internal is the metadata server'],
      [400, 'invalid_body: webhook_url: intranet.example.com resolves to 10.8.0.2, a private address; webhooks go to public addresses'],
      [400, 'invalid_body: webhook_url: fd00::1 is a uniqueLocal address; webhooks go to public addresses'],
    ]);
    // localhost is not in the stub: it does not resolve there, and is refused either way.
    assert.equal(refused[5]![0], 400);
    assert.equal((await createAlertStore(series).getSettings(m))!.webhook_url, 'https://hooks.example.com/ok');
  });

  it('lists the history newest first with each delivery status, to read keys too', async () => {
    const store = createAlertStore(series);
    const base = { merchant_id: 'm1', rule_id: 'drop', kind: 'sales_drop' as const, subject: { store_id: 's1' }, details: {} };
    await store.appendHistory('m1', 'mart', [{ ...base, id: 'alt_a', type: 'alert.fired', at: '2026-11-21T08:00:00.000Z' }]);
    await store.appendHistory('m1', 'mart', [{ ...base, id: 'alt_b', type: 'alert.cleared', fired_id: 'alt_a', at: '2026-11-21T10:00:00.000Z' }]);
    await store.putDelivery('m1', 'alt_a', { status: 'delivered', attempts: 2, delivered_at: '2026-11-21T09:05:00.000Z' });
    const res = await call('get', '/v1/merchants/m1/alerts?limit=10', keys.read);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.alerts.map((a: { id: string; delivery: unknown }) => [a.id, a.delivery]), [
      ['alt_b', null],
      ['alt_a', { status: 'delivered', attempts: 2, delivered_at: '2026-11-21T09:05:00.000Z' }],
    ]);
    assert.equal((await call('get', '/v1/merchants/m1/alerts?limit=0', keys.read)).status, 400);
  });
});
