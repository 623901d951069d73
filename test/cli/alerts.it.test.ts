// `tillstream alerts` on a series store: rules validated as the API validates them, the signing secret
// printed once as the last stdout line, the history listed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../adapters/local/series-store.js';
import { alertsCommand } from '../../cli/commands/alerts.js';
import { UsageError, type CommandContext, type CommandStores } from '../../cli/context.js';
import { createAlertStore } from '../../pipeline/alerts/store.js';

describe('tillstream alerts', () => {
  let dir: string;
  let series: LmdbSeriesStore;
  let out: string[];
  let ctx: CommandContext;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alerts-cli-'));
    series = openLmdbSeriesStore({ dataDir: dir });
    out = [];
    ctx = {
      runtime: () => Promise.reject(new Error('not used')),
      stores: async () => ({ runtime: 'local', series }) as unknown as CommandStores,
      out: (l) => out.push(l),
      err: () => undefined,
    };
  });
  afterEach(async () => {
    await series.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a rule, refuses an unknown field with the path, and prints the secret of a new webhook once', async () => {
    assert.equal(await alertsCommand(['put', '--merchant', 'm1', '--rule', '{"id":"stock","kind":"low_stock","threshold":4}'], ctx), 0);
    await assert.rejects(alertsCommand(['put', '--merchant', 'm1', '--rule', '{"id":"x","kind":"freshness","lag_minutes":90,"lag":1}'], ctx), (e: Error) => e instanceof UsageError && /Unrecognized key: "lag"/.test(e.message));
    await alertsCommand(['webhook', '--merchant', 'm1', '--url', 'https://localhost:8443/a'], ctx);
    const secret = out.at(-1)!;
    assert.match(secret, /^whsec_/);
    assert.equal((await createAlertStore(series).getSettings('m1'))!.signing_secret, secret);
    const before = out.length;
    await alertsCommand(['webhook', '--merchant', 'm1', '--url', 'https://localhost:8443/b'], ctx);
    assert.equal(out.length, before, 'no secret printed when it is not new');
    out.length = 0;
    await alertsCommand(['rules', '--merchant', 'm1'], ctx);
    assert.deepEqual(JSON.parse(out.join('\n')), { merchant_id: 'm1', webhook_url: 'https://localhost:8443/b', rules: [{ id: 'stock', kind: 'low_stock', enabled: true, store_id: '*', sku: '*', threshold: 4 }] });
  });

  it('sets a webhook only where the selected runtime lets it point: a receiver on this machine locally, none on gcp', async () => {
    // localhost resolves through the system resolver (the hosts file): a real resolution.
    await assert.rejects(alertsCommand(['webhook', '--merchant', 'm1', '--url', 'https://10.1.2.3/a'], ctx), (e: Error) => e instanceof UsageError && e.message === 'webhook_url: 10.1.2.3 is a private address; webhooks go to public addresses');
    const gcp: CommandContext = { ...ctx, stores: async () => ({ runtime: 'gcp', series }) as unknown as CommandStores };
    await assert.rejects(alertsCommand(['webhook', '--merchant', 'm1', '--url', 'https://localhost:8443/a'], gcp), (e: Error) => e instanceof UsageError && /^webhook_url: localhost resolves to (127\.0\.0\.1|::1), a loopback address; webhooks go to public addresses$/.test(e.message));
    assert.equal(await createAlertStore(series).getSettings('m1'), undefined, 'nothing stored');
  });

  it('lists the history with delivery status', async () => {
    const store = createAlertStore(series);
    await store.appendHistory('m1', 'scheduled', [{ id: 'alt_1', type: 'alert.fired', merchant_id: 'm1', rule_id: 'quiet', kind: 'feed_silent', subject: { store_id: 's1' }, at: '2026-11-20T12:15:00.000Z', details: { silent_minutes: 45 } }]);
    await store.putDelivery('m1', 'alt_1', { status: 'failed', attempts: 14, last_error: 'HTTP 500', failed_at: '2026-11-21T12:00:00.000Z' });
    await alertsCommand(['history', '--merchant', 'm1'], ctx);
    assert.deepEqual(out, ['2026-11-20T12:15:00.000Z  alert.fired    quiet (feed_silent)  store s1  failed  {"silent_minutes":45}']);
  });
});
