// Alerts end to end on the local runtime: inventory events through the ingest stage, the hourly mart
// cycle (its hook evaluates the hours it finalized), the durable alert queue, and a real HTTP receiver
// that checks the signature itself. A low stock fires once, clears once after a restock, and a mart
// cycle run again sends nothing.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setWebhook, putRule } from '../../pipeline/alerts/settings.js';
import { LOCAL_WEBHOOKS } from '../../pipeline/alerts/webhook-url.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';
import { openLocalPipeline, type LocalPipeline } from '../../runtime/local-writer.js';
import { inventory } from '../pipeline/marts/support.js';

describe('alerts on the local runtime', function () {
  this.timeout(120_000);
  let dir: string;
  let rt: LocalPipeline;
  let server: Server;
  let secret: string;
  let now = Date.parse('2026-11-20T12:10:00Z');
  const clock = { now: () => new Date(now) };
  const received: { type: string; at: string; subject: unknown; verified: boolean }[] = [];
  let seq = 0;

  async function ingest(at: string, onHand: number): Promise<void> {
    const event = inventory({ merchant: 'm1', store: 's1', at, sku: 'flour', onHand, eventId: `inv-${++seq}` });
    const outcome = await rt.stage({ id: `msg-${seq}`, receivedAt: new Date(Date.parse(at) + 60_000), attributes: { source: 'pos' }, entries: [JSON.stringify(event)], deliveryAttempt: 1 });
    assert.equal(outcome.accepted, 1);
  }

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        // The receiver's own check: HMAC-SHA256(secret, `${t}.${body}`) and a timestamp within 5 minutes.
        const f = Object.fromEntries(String(req.headers['tillstream-signature']).split(',').map((kv) => kv.split('=')));
        const verified = f.v1 === createHmac('sha256', secret).update(`${f.t}.${body}`).digest('hex') && Math.abs(now / 1000 - Number(f.t)) <= 300;
        const p = JSON.parse(body);
        received.push({ type: p.type, at: p.at, subject: p.subject, verified });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(join(tmpdir(), 'local-alerts-'));
    rt = await openLocalPipeline({ dataDir: dir, command: 'test', clock });
    await rt.dimensions.load({ merchants: [{ id: 'm1', name: 'Pizza', time_zone: 'America/New_York', currency: 'USD' }], stores: [{ id: 's1', merchant_id: 'm1', name: 'Midtown' }], fraud_ips: [], low_stock_threshold: 10 });
    await putRule(rt.alerts.store, 'm1', { id: 'stock', kind: 'low_stock', store_id: 's1' });
    secret = (await setWebhook(rt.alerts.store, 'm1', `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, { policy: LOCAL_WEBHOOKS })).signing_secret!;
  });
  after(async () => {
    await rt?.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('fires once after the mart run that finalized the low hour, clears once after a restock, and a re-run sends nothing', async () => {
    await ingest('2026-11-20T10:20:00Z', 50);
    await ingest('2026-11-20T11:30:00Z', 3);
    await runMartCycle(rt);
    await rt.alerts.queue.deliverDue({ alerts: rt.alerts.store });
    assert.deepEqual(received, [{ type: 'alert.fired', at: '2026-11-20T11:00:00.000Z', subject: { store_id: 's1', sku: 'flour' }, verified: true }]);

    // Still low at 12:00 (no second alert), restocked at 13:05.
    now = Date.parse('2026-11-20T14:10:00Z');
    await ingest('2026-11-20T13:05:00Z', 40);
    await runMartCycle(rt);
    await runMartCycle(rt);
    await rt.alerts.queue.deliverDue({ alerts: rt.alerts.store });
    assert.deepEqual(received.map((r) => [r.type, r.at, r.verified]), [
      ['alert.fired', '2026-11-20T11:00:00.000Z', true],
      ['alert.cleared', '2026-11-20T13:00:00.000Z', true],
    ]);
    const history = await rt.alerts.store.history('m1');
    assert.deepEqual(history.map((h) => [h.type, h.delivery?.status]), [['alert.cleared', 'delivered'], ['alert.fired', 'delivered']]);
  });
});
