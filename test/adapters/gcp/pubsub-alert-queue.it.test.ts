// The alerts topic as the evaluators' queue, on the Pub/Sub emulator: one message per alert with its
// id and merchant as attributes, enqueue settling only once Pub/Sub holds every message (the evaluator
// marks alerts queued after it), and a delivered message, in the push body Pub/Sub sends, read back by
// deliverAlert as the same alert.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import express from 'express';
import { pino } from 'pino';
import request from 'supertest';
import { createPubSubAlertQueue } from '../../../adapters/gcp/pubsub-alert-queue.js';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { createDeliverAlertHandler } from '../../../functions/alerts.js';
import type { AlertPayload } from '../../../pipeline/alerts/state.js';
import { createAlertStore } from '../../../pipeline/alerts/store.js';
import { TEST_PROJECT, useEmulators } from './support/emulators.js';

const fired = (id: string, merchant: string): AlertPayload => ({
  id,
  type: 'alert.fired',
  merchant_id: merchant,
  rule_id: 'drop',
  kind: 'sales_drop',
  subject: { store_id: 's1' },
  at: '2026-03-09T22:00:00.000Z',
  details: { net_revenue_minor: 4150, baseline_median_minor: 18925, fraction: 0.5, min_baseline_minor: 5000 },
});

describe('gcp pubsub alert queue (emulator)', function () {
  this.timeout(60_000);
  let pubsub: PubSub;
  let n = 0;

  before(async () => {
    await useEmulators();
    pubsub = new PubSub({ projectId: TEST_PROJECT });
  });
  after(async () => pubsub?.close());

  async function topicWithSubscription(): Promise<{ topic: string; pull: (count: number) => Promise<Message[]> }> {
    const name = `alerts-${++n}-${Date.now()}`;
    const [topic] = await pubsub.createTopic(name);
    const [sub] = await topic.createSubscription(`${name}-sub`, { ackDeadlineSeconds: 10 });
    const pull = (count: number) =>
      new Promise<Message[]>((resolve, reject) => {
        const seen: Message[] = [];
        sub.on('error', reject);
        sub.on('message', (m: Message) => {
          m.ack();
          seen.push(m);
          if (seen.length === count) void sub.close().then(() => resolve(seen));
        });
      });
    return { topic: name, pull };
  }

  it('publishes one message per alert, carrying the alert as JSON and its id and merchant as attributes', async () => {
    const { topic, pull } = await topicWithSubscription();
    const alerts = [fired('alt_1', 'm1'), fired('alt_2', 'm1'), fired('alt_3', 'm2')];
    await createPubSubAlertQueue(pubsub, topic).enqueue(alerts);
    const got = await pull(3);
    assert.deepEqual(
      got.map((m) => ({ data: JSON.parse(m.data.toString('utf8')) as unknown, attributes: m.attributes })).sort((a, b) => a.attributes.alert_id!.localeCompare(b.attributes.alert_id!)),
      alerts.map((a) => ({ data: a, attributes: { alert_id: a.id, merchant_id: a.merchant_id } })),
    );
  });

  it('rejects when the topic does not exist, so the evaluator does not mark the alerts queued', async () => {
    await assert.rejects(createPubSubAlertQueue(pubsub, `missing-${Date.now()}`).enqueue([fired('alt_9', 'm1')]), /NOT_FOUND|not found/i);
  });

  describe('a delivered message read by deliverAlert', () => {
    let dir: string;
    let series: LmdbSeriesStore;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'alert-queue-'));
      series = openLmdbSeriesStore({ dataDir: dir });
    });
    after(async () => {
      await series.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('posts the very alert the evaluator queued to the webhook and acks it', async () => {
      const { topic, pull } = await topicWithSubscription();
      const alert = fired('alt_push', 'm1');
      const store = createAlertStore(series);
      await store.putSettings({ merchant_id: 'm1', webhook_url: 'https://hooks.example.com/x', rules: [], signing_secret: 'whsec_x' });
      await createPubSubAlertQueue(pubsub, topic).enqueue([alert]);
      const [m] = await pull(1);
      const bodies: string[] = [];
      const handler = createDeliverAlertHandler({
        alerts: store,
        queue: { enqueue: async () => assert.fail('nothing is republished') },
        clock: { now: () => new Date('2026-03-09T23:05:30Z') },
        logger: pino({ level: 'silent' }),
        post: async (_url, init) => {
          bodies.push(init.body);
          return { status: 200 };
        },
      });
      // The body of a push subscription: https://cloud.google.com/pubsub/docs/push#receive_push
      const push = { message: { data: m!.data.toString('base64'), attributes: m!.attributes, messageId: m!.id, publishTime: m!.publishTime.toISOString() }, subscription: `projects/${TEST_PROJECT}/subscriptions/${topic}-sub`, deliveryAttempt: 1 };
      const res = await request(express().use(express.json()).post('/', handler)).post('/').send(push);
      assert.equal(res.status, 204);
      assert.deepEqual(bodies.map((b) => JSON.parse(b) as unknown), [alert]);
      assert.equal((await store.getDelivery('m1', 'alt_push'))?.status, 'delivered');
    });
  });
});
