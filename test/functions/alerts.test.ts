// The alert entry points of the gcp runtime behind express, with the push body Pub/Sub sends: ack
// (2xx) only when the alert is done, retry (5xx) while its webhook fails, republish before the
// dead-letter limit, and the scheduled evaluation as of the scheduler's own time.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../adapters/local/series-store.js';
import type { AlertPayload } from '../../pipeline/alerts/state.js';
import { createAlertStore, type AlertStore } from '../../pipeline/alerts/store.js';
import { createDeliverAlertHandler, createEvaluateAlertsHandler } from '../../functions/alerts.js';

const logger = pino({ level: 'silent' });
const payload: AlertPayload = { id: 'alt_x', type: 'alert.fired', merchant_id: 'm1', rule_id: 'drop', kind: 'sales_drop', subject: { store_id: 's1' }, at: '2026-03-09T22:00:00.000Z', details: {} };
const push = (p: unknown, deliveryAttempt = 1) => ({ message: { data: Buffer.from(JSON.stringify(p)).toString('base64'), messageId: '1' }, subscription: 'projects/p/subscriptions/tillstream-alerts-deliver', deliveryAttempt });

describe('alert functions', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let alerts: AlertStore;
  let now: number;
  let up: boolean;
  let posts: number;
  const republished: AlertPayload[] = [];
  const app = () =>
    express()
      .use(express.json())
      .post(
        '/',
        createDeliverAlertHandler({
          alerts,
          queue: { enqueue: async (p) => void republished.push(...p) },
          clock: { now: () => new Date(now) },
          logger,
          post: async () => {
            posts++;
            return { status: up ? 200 : 500 };
          },
        }),
      );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alert-fn-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    alerts = createAlertStore(series);
    await alerts.putSettings({ merchant_id: 'm1', webhook_url: 'https://hooks.example.com/x', rules: [], signing_secret: 'whsec_x' });
    now = Date.parse('2026-03-09T23:05:30Z');
    posts = 0;
    republished.length = 0;
  });
  afterEach(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 while the webhook fails, sends nothing before the next attempt is due, and 204 once delivered', async () => {
    up = false;
    assert.equal((await request(app()).post('/').send(push(payload))).status, 503);
    now += 30_000; // Pub/Sub brings it back before the 1-minute retry is due: not sent again.
    assert.equal((await request(app()).post('/').send(push(payload, 2))).status, 503);
    assert.equal(posts, 1);
    up = true;
    now += 31_000;
    assert.equal((await request(app()).post('/').send(push(payload, 3))).status, 204);
    assert.equal((await request(app()).post('/').send(push(payload, 1))).status, 204, 'a redelivered copy is acked');
    assert.deepEqual([posts, (await alerts.getDelivery('m1', 'alt_x'))?.status], [2, 'delivered']);
  });

  it('publishes a waiting alert again before Pub/Sub would dead-letter it, and acks the old copy', async () => {
    up = false;
    await request(app()).post('/').send(push(payload));
    const res = await request(app()).post('/').send(push(payload, 95));
    assert.equal(res.status, 204);
    assert.deepEqual(republished, [payload]);
  });

  it('answers 400 for a message that is not an alert, so it ends in the dead-letter topic', async () => {
    assert.equal((await request(app()).post('/').send(push({ hello: 1 }))).status, 400);
    assert.equal((await request(app()).post('/').send({ message: { data: 'not base64 json' } })).status, 400);
  });

  it('evaluates the scheduled rules as of the scheduler time it is given, else the quarter hour', async () => {
    const seen: string[] = [];
    const handler = createEvaluateAlertsHandler({ evaluate: async (asOf) => (seen.push(asOf.toISOString()), { merchants: 0, rules: 0, rows: 0, transitions: 0, queued: 0 }), clock: { now: () => new Date('2026-03-09T23:19:10Z') }, logger });
    const fnApp = express().post('/', handler);
    await request(fnApp).post('/').set('X-CloudScheduler-ScheduleTime', '2026-03-09T23:17:00Z');
    await request(fnApp).post('/');
    assert.deepEqual(seen, ['2026-03-09T23:17:00.000Z', '2026-03-09T23:15:00.000Z']);
  });
});
