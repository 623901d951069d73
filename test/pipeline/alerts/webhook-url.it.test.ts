// Where a webhook may point, and the delivery that holds to it: public unicast addresses only (on gcp
// over https), loopback receivers over http locally; the metadata server, private, link-local,
// unique-local and IPv4-mapped addresses refused when the webhook is set and again when an alert is
// sent, against the addresses the connection itself resolves (DNS rebinding), with no redirect
// followed. Real HTTP servers on the loopback interface; `localhost` resolves through the system
// resolver, other names through a lookup stub.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { createWebhookPost, deliverAlert } from '../../../pipeline/alerts/delivery.js';
import { setWebhook, SettingsError } from '../../../pipeline/alerts/settings.js';
import type { AlertPayload } from '../../../pipeline/alerts/state.js';
import { createAlertStore, type AlertStore } from '../../../pipeline/alerts/store.js';
import { addressVerdict, checkWebhookUrl, GCP_WEBHOOKS, LOCAL_WEBHOOKS, type Resolve, type WebhookPolicy } from '../../../pipeline/alerts/webhook-url.js';

const PUBLIC_V4 = '93.184.216.34';

/** A resolver stub: each name answers its list of address sets in turn (the last one repeats); others do not resolve. */
function stubResolve(names: Record<string, string[][]>): Resolve & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (hostname: string) => {
    calls.push(hostname);
    const answers = names[hostname];
    if (!answers) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    const seen = calls.filter((c) => c === hostname).length;
    return answers[Math.min(seen, answers.length) - 1]!.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(fn, { calls });
}

const refusal = async (url: string, policy: WebhookPolicy): Promise<string> =>
  checkWebhookUrl(url, policy).then(
    () => 'allowed',
    (err: Error) => err.message,
  );

describe('webhook URL guard', () => {
  it('lets only public unicast addresses receive on gcp, judging IPv4-mapped IPv6 as the IPv4 address it reaches', () => {
    const addresses = [
      PUBLIC_V4,
      '2606:4700:4700::1111',
      '169.254.169.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '127.0.0.1',
      '0.0.0.0',
      '100.64.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '::ffff:a00:1',
      '::ffff:5db8:d822',
      '64:ff9b::a00:1',
      '::7f00:1',
      '2002:a00:1::1',
    ];
    const verdicts = Object.fromEntries(addresses.map((a) => [a, ((v) => (v.ok ? 'ok' : v.why))(addressVerdict(a, GCP_WEBHOOKS))]));
    assert.deepEqual(verdicts, {
      [PUBLIC_V4]: 'ok',
      '2606:4700:4700::1111': 'ok',
      '169.254.169.254': 'a linkLocal address',
      '10.0.0.1': 'a private address',
      '172.16.0.1': 'a private address',
      '172.31.255.255': 'a private address',
      '192.168.1.1': 'a private address',
      '127.0.0.1': 'a loopback address',
      '0.0.0.0': 'a unspecified address',
      '100.64.0.1': 'a carrierGradeNat address',
      '224.0.0.1': 'a multicast address',
      '255.255.255.255': 'a broadcast address',
      '::1': 'a loopback address',
      '::': 'a unspecified address',
      'fc00::1': 'a uniqueLocal address',
      'fd12:3456::1': 'a uniqueLocal address',
      'fe80::1': 'a linkLocal address',
      '::ffff:127.0.0.1': 'a loopback address',
      '::ffff:169.254.169.254': 'a linkLocal address',
      '::ffff:a00:1': 'a private address',
      // The mapped form of a public address is that public address.
      '::ffff:5db8:d822': 'ok',
      '64:ff9b::a00:1': 'a rfc6052 address',
      '::7f00:1': 'not a global unicast address',
      '2002:a00:1::1': 'a 6to4 address',
    });
  });

  it('lets loopback receive locally, and nothing else that gcp refuses', () => {
    const local = (a: string) => ((v) => (v.ok ? `ok${v.loopback ? ' (loopback)' : ''}` : v.why))(addressVerdict(a, LOCAL_WEBHOOKS));
    assert.deepEqual(
      ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.0.0.1', '169.254.169.254', 'fd00::1', PUBLIC_V4].map(local),
      ['ok (loopback)', 'ok (loopback)', 'ok (loopback)', 'a private address', 'a linkLocal address', 'a uniqueLocal address', 'ok'],
    );
  });

  it('refuses, when a webhook is set, other schemes, http on gcp, the metadata server by name, and names that resolve inward or not at all', async () => {
    const resolve = stubResolve({ 'hooks.example.com': [[PUBLIC_V4]], 'mixed.example.com': [[PUBLIC_V4, '10.0.0.7']], 'inside.example.com': [['fd00::7']] });
    const gcp: WebhookPolicy = { ...GCP_WEBHOOKS, resolve };
    const local: WebhookPolicy = { ...LOCAL_WEBHOOKS, resolve };
    assert.deepEqual(
      {
        https: await refusal('https://hooks.example.com/a', gcp),
        http: await refusal('http://hooks.example.com/a', gcp),
        ftp: await refusal('ftp://hooks.example.com/a', gcp),
        metadata: await refusal('https://metadata.google.internal/computeMetadata/v1/', gcp),
        metadataIp: await refusal('http://169.254.169.254/computeMetadata/v1/', gcp),
        mappedMetadata: await refusal('https://[::ffff:169.254.169.254]/', gcp),
        decimalLoopback: await refusal('https://2130706433/a', gcp),
        hexLoopback: await refusal('https://0x7f.1/a', gcp),
        trailingDotMetadata: await refusal('https://metadata.google.internal./', gcp),
        mixed: await refusal('https://mixed.example.com/a', gcp),
        inside: await refusal('https://inside.example.com/a', gcp),
        unknown: await refusal('https://nowhere.example.com/a', gcp),
        localHttpPublic: await refusal('http://hooks.example.com/a', local),
        localHttpLoopback: await refusal('http://127.0.0.1:9/a', local),
      },
      {
        https: 'allowed',
        http: 'http is not allowed: webhooks are https',
        ftp: 'ftp: is not allowed: webhooks are https',
        metadata: 'metadata.google.internal is the metadata server',
        metadataIp: '169.254.169.254 is a linkLocal address; webhooks go to public addresses',
        // The URL parser writes the mapped address in hex; it still reaches 169.254.169.254.
        mappedMetadata: '::ffff:a9fe:a9fe is a linkLocal address; webhooks go to public addresses',
        // The URL parser reads these hosts as the IPv4 address they spell.
        decimalLoopback: '127.0.0.1 is a loopback address; webhooks go to public addresses',
        hexLoopback: '127.0.0.1 is a loopback address; webhooks go to public addresses',
        trailingDotMetadata: 'metadata.google.internal. is the metadata server',
        mixed: 'mixed.example.com resolves to 10.0.0.7, a private address; webhooks go to public addresses',
        inside: 'inside.example.com resolves to fd00::7, a uniqueLocal address; webhooks go to public addresses',
        unknown: 'nowhere.example.com does not resolve (ENOTFOUND)',
        localHttpPublic: 'http is not allowed: webhooks are https (http only to a receiver on this machine)',
        localHttpLoopback: 'allowed',
      },
    );
  });

  it('resolves localhost through the system resolver: refused on gcp, a local receiver locally', async () => {
    assert.match(await refusal('https://localhost:8443/hook', GCP_WEBHOOKS), /^localhost resolves to (127\.0\.0\.1|::1), a loopback address; webhooks go to public addresses$/);
    assert.equal(await refusal('http://localhost:8443/hook', LOCAL_WEBHOOKS), 'allowed');
  });

  describe('delivery', () => {
    let dir: string;
    let series: LmdbSeriesStore;
    let alerts: AlertStore;
    const servers: Server[] = [];
    const tcp: ReturnType<typeof createTcpServer>[] = [];
    const payload: AlertPayload = { id: 'alt_guard', type: 'alert.fired', merchant_id: 'm1', rule_id: 'late', kind: 'freshness', subject: {}, at: '2026-11-21T13:00:00.000Z', details: {} };
    const clock = { now: () => new Date('2026-11-21T13:05:00Z') };

    /** An HTTP receiver on the loopback interface: counts requests, answers `answer`. */
    async function receiver(answer: (res: import('node:http').ServerResponse) => void): Promise<{ port: number; hits: string[] }> {
      const hits: string[] = [];
      const server = createHttpServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => {
          hits.push(body);
          answer(res);
        });
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { port: (server.address() as AddressInfo).port, hits };
    }
    /** A bare TCP listener: counts connections of any kind (TLS or not). */
    async function listener(): Promise<{ port: number; connections: () => number }> {
      let n = 0;
      const server = createTcpServer((socket) => {
        n++;
        socket.destroy();
      });
      tcp.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { port: (server.address() as AddressInfo).port, connections: () => n };
    }
    const storeUrl = (url: string) => alerts.putSettings({ merchant_id: 'm1', webhook_url: url, rules: [], signing_secret: 'whsec_guard' });

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'webhook-guard-'));
      series = openLmdbSeriesStore({ dataDir: dir });
      alerts = createAlertStore(series);
    });
    afterEach(async () => {
      for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
      for (const s of tcp.splice(0)) await new Promise((r) => s.close(r));
      await series.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('delivers locally to a receiver on this machine, found through the system resolver', async () => {
      const r = await receiver((res) => res.writeHead(204).end());
      await setWebhook(alerts, 'm1', `http://localhost:${r.port}/hook`, { policy: LOCAL_WEBHOOKS });
      const outcome = await deliverAlert({ alerts, clock, post: createWebhookPost(LOCAL_WEBHOOKS) }, payload);
      assert.deepEqual(outcome, { kind: 'delivered', attempts: 1 });
      assert.deepEqual(r.hits.map((b) => JSON.parse(b) as unknown), [payload]);
    });

    it('does not connect on gcp to a loopback receiver, named or literal, even when the URL was stored before the guard', async () => {
      const l = await listener();
      const urls = [`https://localhost:${l.port}/hook`, `https://127.0.0.1:${l.port}/hook`, `https://[::ffff:127.0.0.1]:${l.port}/hook`];
      for (const [i, url] of urls.entries()) {
        await storeUrl(url);
        // Each its own alert, so each is a first attempt.
        const outcome = await deliverAlert({ alerts, clock, post: createWebhookPost(GCP_WEBHOOKS) }, { ...payload, id: `alt_guard_${i}` });
        assert.equal(outcome.kind, 'retry', url);
        assert.match((outcome as { error: string }).error, /a loopback address; webhooks go to public addresses$/, url);
      }
      assert.equal(l.connections(), 0);
    });

    it('refuses at delivery a name that resolved to a public address when it was set and resolves inward now (DNS rebinding), without connecting', async () => {
      const l = await listener();
      const resolve = stubResolve({ 'rebind.example.com': [[PUBLIC_V4], ['127.0.0.1']] });
      const policy: WebhookPolicy = { ...GCP_WEBHOOKS, resolve };
      await setWebhook(alerts, 'm1', `https://rebind.example.com:${l.port}/hook`, { policy });
      const outcome = await deliverAlert({ alerts, clock, post: createWebhookPost(policy) }, payload);
      assert.deepEqual(outcome, { kind: 'retry', delayMs: 60_000, attempts: 1, error: 'rebind.example.com resolves to 127.0.0.1, a loopback address; webhooks go to public addresses' });
      assert.deepEqual(resolve.calls, ['rebind.example.com', 'rebind.example.com'], 'resolved when set and again by the connection');
      assert.equal(l.connections(), 0);
      assert.equal((await alerts.getDelivery('m1', payload.id))?.status, 'pending');
    });

    it('refuses locally a name that rebinds from a public to a private address', async () => {
      const resolve = stubResolve({ 'rebind.example.com': [[PUBLIC_V4], ['10.20.30.40']] });
      const policy: WebhookPolicy = { ...LOCAL_WEBHOOKS, resolve };
      await setWebhook(alerts, 'm1', 'https://rebind.example.com/hook', { policy });
      const outcome = await deliverAlert({ alerts, clock, post: createWebhookPost(policy) }, payload);
      assert.equal(outcome.kind === 'retry' && outcome.error, 'rebind.example.com resolves to 10.20.30.40, a private address; webhooks go to public addresses');
    });

    it('does not follow a redirect: the 3xx is a failed attempt and its target is never asked', async () => {
      const target = await receiver((res) => res.writeHead(200).end());
      const bouncer = await receiver((res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/inside` }).end());
      await setWebhook(alerts, 'm1', `http://127.0.0.1:${bouncer.port}/hook`, { policy: LOCAL_WEBHOOKS });
      const outcome = await deliverAlert({ alerts, clock, post: createWebhookPost(LOCAL_WEBHOOKS) }, payload);
      assert.deepEqual(outcome, { kind: 'retry', delayMs: 60_000, attempts: 1, error: 'HTTP 302' });
      assert.deepEqual([bouncer.hits.length, target.hits.length], [1, 0]);
    });

    it('refuses to set a webhook the policy refuses, storing nothing', async () => {
      await assert.rejects(setWebhook(alerts, 'm1', 'https://169.254.169.254/computeMetadata/v1/', { policy: GCP_WEBHOOKS }), (e: Error) => e instanceof SettingsError && e.message === 'webhook_url: 169.254.169.254 is a linkLocal address; webhooks go to public addresses');
      assert.equal(await alerts.getSettings('m1'), undefined);
    });
  });
});
