// Webhook delivery through the local durable bus to a real HTTP receiver, on a fake clock (the bus's
// retry delays and the backoff both read it, so a day of retries takes no real time).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAlertQueue } from '../../../adapters/local/alert-queue.js';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { AlertPayload } from '../../../pipeline/alerts/state.js';
import { createAlertStore, type AlertStore } from '../../../pipeline/alerts/store.js';

interface Received {
  at: number;
  body: string;
  headers: IncomingHttpHeaders;
}

describe('local alert delivery', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let alerts: AlertStore;
  let queue: LocalAlertQueue;
  let server: Server;
  let now: number;
  let failuresLeft: number;
  const received: Received[] = [];
  const clock = { now: () => new Date(now) };
  const secret = 'whsec_test_secret';
  const payload = (id: string): AlertPayload => ({
    id,
    type: 'alert.fired',
    merchant_id: 'm1',
    rule_id: 'stock',
    kind: 'low_stock',
    subject: { store_id: 's1', sku: 'flour' },
    at: '2026-03-08T07:00:00.000Z',
    details: { closing_quantity: 3, threshold: 5 },
  });

  /** Delivers whatever is due, then jumps the clock to the next due message, until none is pending. */
  async function runUntilIdle(): Promise<void> {
    for (let guard = 0; guard < 100; guard++) {
      await queue.deliverDue({ alerts, clock });
      const wait = queue.bus.nextAvailableInMs();
      if (wait === undefined) return;
      now += wait;
    }
    throw new Error('delivery did not settle');
  }

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ at: now, body, headers: req.headers });
        if (failuresLeft > 0) {
          failuresLeft--;
          res.writeHead(503).end('down');
        } else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alert-queue-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    alerts = createAlertStore(series);
    now = Date.parse('2026-03-08T08:05:00Z');
    received.length = 0;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    await alerts.putSettings({ merchant_id: 'm1', webhook_url: url, rules: [], signing_secret: secret });
    queue = await LocalAlertQueue.open({ path: join(dir, 'alerts.mdb'), clock, timer: () => now });
  });
  afterEach(async () => {
    await queue.close();
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers to a receiver that failed three times once it recovers, after 1, 2 and 4 minutes', async () => {
    failuresLeft = 3;
    await queue.enqueue([payload('alt_1')]);
    await runUntilIdle();
    const start = Date.parse('2026-03-08T08:05:00Z');
    assert.deepEqual(received.map((r) => (r.at - start) / 60_000), [0, 1, 3, 7]);
    assert.deepEqual(new Set(received.map((r) => r.body)), new Set([JSON.stringify(payload('alt_1'))]));
    assert.deepEqual(await alerts.getDelivery('m1', 'alt_1'), { status: 'delivered', attempts: 4, delivered_at: new Date(start + 7 * 60_000).toISOString() });
    assert.equal(queue.bus.pendingCount(), 0);
    // The delivered request is signed over its own timestamp and body.
    const last = received.at(-1)!;
    const [t, v1] = String(last.headers['tillstream-signature']).split(',').map((kv) => kv.split('=')[1]!);
    assert.equal(Number(t), (start + 7 * 60_000) / 1000);
    assert.equal(v1, createHmac('sha256', secret).update(`${t}.${last.body}`).digest('hex'));
  });

  it('sends nothing twice when the same alert is queued again (a redelivery)', async () => {
    failuresLeft = 0;
    await queue.enqueue([payload('alt_2')]);
    await runUntilIdle();
    await queue.enqueue([payload('alt_2')]);
    await runUntilIdle();
    assert.equal(received.length, 1);
    assert.equal(queue.bus.pendingCount(), 0);
  });

  it('retries with backoff for a day, then records the alert as failed', async () => {
    failuresLeft = Infinity;
    await queue.enqueue([payload('alt_3')]);
    await runUntilIdle();
    // Independently: delays of 1, 2, 4, … minutes capped at 2 hours, while the next attempt is within a day.
    const expected = [0];
    for (let delay = 1; ; delay = Math.min(delay * 2, 120)) {
      const next = expected.at(-1)! + delay;
      if (next > 24 * 60) break;
      expected.push(next);
    }
    const start = Date.parse('2026-03-08T08:05:00Z');
    assert.deepEqual(received.map((r) => (r.at - start) / 60_000), expected);
    const status = await alerts.getDelivery('m1', 'alt_3');
    assert.deepEqual(status, { status: 'failed', attempts: expected.length, last_error: 'HTTP 503', failed_at: new Date(start + expected.at(-1)! * 60_000).toISOString() });
    assert.equal(queue.bus.pendingCount(), 0);
  });
});
