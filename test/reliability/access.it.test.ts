// Access proof (issue 8, item 5): the one local HTTP app (query API, collector, SDK route, local command
// endpoint) over real sockets, probed across merchants on every route — other and encoded ids, one
// merchant's key on another's path, missing, malformed, unknown, expired and revoked keys, keys of the
// wrong kind, duplicate Authorization headers, keys in the query, X-Forwarded-* and URL-rewrite headers,
// path tricks. Assertions are on bodies: no answer to a probe carries another merchant's data. The
// request logs are captured and must not contain any key.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openLocalPipeline, type LocalPipeline } from '../../runtime/local-writer.js';
import { COMMANDS } from '../../cli/commands/index.js';
import { runForwarded } from '../../cli/forward.js';
import { createLocalCommandRouter } from '../../services/local-command.js';
import { createKey } from '../../pipeline/auth/keys.js';
import type { KeyKind } from '../../pipeline/ports.js';
import { createCollector } from '../../services/collector/router.js';
import { createSdkRouter } from '../../services/collector/sdk-route.js';
import { createQueryApi } from '../../services/query-api/app.js';
import { NOW, seedSeries } from '../services/query-api/fixtures.js';

/** Text only merchant m1's (or m2's) answers contain: names, zones, stores, values. */
const MARKERS: Record<string, string[]> = {
  m1: ['Pizza One', 'Mitte', 'Europe/Berlin', 'Soho', '"merchant_id":"m1"'],
  m2: ['Curry Two', 'Bandra', 'Mumbai', 'Asia/Kolkata', '"merchant_id":"m2"', '125000'],
};
const ORIGIN = 'https://shop.example';
const METRICS_QUERY = 'series=sales&metrics=orders,gross_revenue_minor&granularity=hour&from=2026-11-21T00:00:00Z&to=2026-11-21T06:00:00Z';
const ROUTES = (m: string) => [
  `/v1/merchants/${m}/metrics?${METRICS_QUERY}`,
  `/v1/merchants/${m}/metrics?series=sales&metrics=orders&range=last_7_days&compare=previous_period`,
  `/v1/merchants/${m}/stores`,
  `/v1/merchants/${m}/freshness`,
  `/v1/merchants/${m}`,
  `/v1/merchants/${m}/top?series=sales&by=orders&range=last_30_days`,
  `/v1/merchants/${m}/top?series=products&by=units&range=last_30_days`,
];

interface RawResponse {
  status: number;
  body: string;
}

/** One request written byte for byte (no client normalizes the path or merges headers). */
function raw(port: number, method: string, path: string, headers: [string, string][], body = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      let payload = rest.join('\r\n\r\n');
      if (/transfer-encoding: chunked/i.test(head ?? '')) {
        let out = '';
        for (let at = 0; ; ) {
          const nl = payload.indexOf('\r\n', at);
          const size = parseInt(payload.slice(at, nl), 16);
          if (!size) break;
          out += payload.slice(nl + 2, nl + 2 + size);
          at = nl + 2 + size + 2;
        }
        payload = out;
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1] ?? 0), body: Buffer.from(payload, 'latin1').toString('utf8') });
    });
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers.map(([k, v]) => `${k}: ${v}`)];
    if (body) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
    // Written, not ended: a half-closed client makes Node's server abort the request. `Connection: close` ends it.
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
  });
}

describe('access across merchants on every route', function () {
  this.timeout(120_000);
  let dir: string;
  let rt: LocalPipeline;
  let server: Server;
  let port: number;
  const logs: string[] = [];
  const keys: Record<string, string> = {};
  let probes = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-access-'));
    rt = await openLocalPipeline({ dataDir: join(dir, 'data'), command: 'access-test', clock: { now: () => NOW } });
    await seedSeries(rt.series);
    const past = new Date(NOW.getTime() - 10 * 86_400_000);
    const add = async (name: string, kind: KeyKind, merchantId?: string, extra: { expiresInMs?: number; revoke?: boolean } = {}) => {
      const made = createKey(rt.pepper, { kind, merchantId, origins: kind === 'browser' ? [ORIGIN] : undefined, now: past, expiresInMs: extra.expiresInMs });
      await rt.keys.put(made.record);
      if (extra.revoke) await rt.keys.revoke(made.record.id, past);
      keys[name] = made.key;
    };
    await add('readM1', 'read', 'm1');
    await add('readM2', 'read', 'm2');
    await add('ingestM1', 'ingest', 'm1');
    await add('browserM1', 'browser', 'm1');
    await add('admin', 'admin');
    await add('expiredM1', 'read', 'm1', { expiresInMs: 86_400_000 });
    await add('revokedM1', 'read', 'm1', { revoke: true });
    await add('expiredAdmin', 'admin', undefined, { expiresInMs: 3_600_000 });
    const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
    const collector = createCollector({ publisher: rt.bus, keys: rt.keys, pepper: rt.pepper, clock: rt.clock, rateLimitPerMinute: false });
    const app = createQueryApi({ series: rt.series, keys: rt.keys, pepper: rt.pepper, clock: rt.clock, logger, rateLimit: false, mount: [createSdkRouter(), collector, createLocalCommandRouter({ pepper: rt.pepper, dispatch: (argv) => runForwarded(COMMANDS, rt, argv) })] });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  });

  const bearer = (name: string): [string, string] => ['Authorization', `Bearer ${keys[name]}`];
  async function probe(method: string, path: string, headers: [string, string][], body?: string): Promise<RawResponse> {
    probes++;
    return raw(port, method, path, headers, body);
  }
  /** The answer carries nothing of the merchant. */
  function assertNoDataOf(merchant: string, r: RawResponse, what: string): void {
    for (const m of MARKERS[merchant]!) assert.ok(!r.body.includes(m), `${what} answered ${r.status} with ${merchant}'s data (${m}): ${r.body.slice(0, 300)}`);
  }

  it("serves a merchant's own data to its read key, and every merchant's to an admin key", async () => {
    for (const [name, m] of [['readM1', 'm1'], ['readM2', 'm2'], ['admin', 'm1'], ['admin', 'm2']] as const) {
      for (const path of ROUTES(m)) {
        const r = await probe('GET', path, [bearer(name)]);
        assert.equal(r.status, 200, `${name} ${path}: ${r.body}`);
        assert.ok(MARKERS[m]!.some((x) => r.body.includes(x)) || path.endsWith('/freshness'), `${path} answers ${m}'s data`);
      }
    }
  });

  it("answers 404 without data to a read key on another merchant's path, plain or encoded", async () => {
    const others: Record<string, string[]> = {
      m2: ['m2', 'M2', '%6D2', '%6d%32', 'm2%00', 'm2%20', '%20m2', 'm2%23', 'm2%2F', 'm1%2F..%2Fm2', '..%2Fm2', '%E2%80%AEm2', '%EF%BD%8D2', 'm2%3B', 'm2.', 'm%32', 'm2%C0%AF'],
      m1: ['m1', 'M1', '%6D1', 'm1%00', 'm1%2F', 'm2%2F..%2Fm1', '%EF%BD%8D1', 'm1%23'],
    };
    for (const [keyName, victim] of [['readM1', 'm2'], ['readM2', 'm1']] as const) {
      for (const id of others[victim]!) {
        for (const path of ROUTES(id)) {
          const r = await probe('GET', path, [bearer(keyName)]);
          assert.ok([404, 400].includes(r.status), `${keyName} ${path}: ${r.status}`);
          assertNoDataOf(victim, r, `${keyName} ${path}`);
        }
      }
    }
    // Path tricks the router must not resolve to another merchant.
    for (const path of ['/v1/merchants/m1/../m2/stores', '/v1/merchants/m1/%2E%2E/m2/stores', '//v1/merchants/m2/stores', '/V1/MERCHANTS/m2/STORES', '/v1/merchants/m2/stores/', '/v1/merchants/m2;/stores', '/v1/merchants/m2/./stores', '/v1/merchants/m1/stores/../../m2/stores']) {
      const r = await probe('GET', path, [bearer('readM1')]);
      assert.ok([404, 400].includes(r.status), `${path}: ${r.status}`);
      assertNoDataOf('m2', r, path);
    }
  });

  it('answers 401 to missing, malformed, unknown, expired and revoked keys, and 403 to keys of the wrong kind', async () => {
    const k = keys.readM1!;
    const flipped = k.slice(0, -1) + (k.endsWith('A') ? 'B' : 'A');
    const unauthorized: [string, [string, string][]][] = [
      ['missing', []],
      ['empty', [['Authorization', '']]],
      ['no scheme', [['Authorization', k]]],
      ['basic', [['Authorization', `Basic ${Buffer.from(`x:${k}`).toString('base64')}`]]],
      // The scheme is case-insensitive (RFC 9110 §11.1): `bearer <key>` is a good header; a scheme that only starts like it is not.
      ['other scheme', [['Authorization', `Bearerx ${k}`]]],
      ['two keys in one header', [['Authorization', `Bearer ${k}, Bearer ${keys.readM2}`]]],
      ['trailing text', [['Authorization', `Bearer ${k} x`]]],
      ['truncated', [['Authorization', `Bearer ${k.slice(0, -2)}`]]],
      ['unknown', [['Authorization', `Bearer ${flipped}`]]],
      ['sql', [['Authorization', "Bearer ' OR '1'='1"]]],
      ['null byte', [['Authorization', `Bearer ${k.slice(0, 10)}\u0000${k.slice(11)}`]]],
      ['expired', [bearer('expiredM1')]],
      ['revoked', [bearer('revokedM1')]],
      ['expired admin', [bearer('expiredAdmin')]],
      ['key in the query only', []],
      ['key in a cookie', [['Cookie', `key=${k}; authorization=Bearer ${k}`]]],
      ['key in another header', [['X-Api-Key', k], ['Proxy-Authorization', `Bearer ${k}`]]],
    ];
    const lowerCase = await probe('GET', ROUTES('m1')[0]!, [['Authorization', `bearer ${k}`]]);
    assert.equal(lowerCase.status, 200, `lower-case scheme: ${lowerCase.status} ${lowerCase.body}`);
    for (const m of ['m1', 'm2']) {
      for (const path of ROUTES(m)) {
        for (const [what, headers] of unauthorized) {
          const p = what === 'key in the query only' ? `${path}${path.includes('?') ? '&' : '?'}key=${k}` : path;
          const r = await probe('GET', p, headers);
          assert.ok(r.status === 401 || (r.status === 400 && what === 'null byte'), `${what} ${p}: ${r.status} ${r.body}`);
          assertNoDataOf(m, r, `${what} ${p}`);
        }
        for (const wrong of ['ingestM1', 'browserM1']) {
          const r = await probe('GET', path, [bearer(wrong), ['Origin', ORIGIN]]);
          assert.equal(r.status, 403, `${wrong} ${path}`);
          assertNoDataOf(m, r, `${wrong} ${path}`);
        }
      }
    }
    // Readers cannot write; a browser key only from its origins.
    const event = JSON.stringify([{ event_id: 'probe', merchant_id: 'm1', event_type: 'track', event_ts: NOW.toISOString(), source: 'web', schema_version: 1, body: { name: 'x', visitor_id: 'v', session_id: 's' } }]);
    const before = rt.bus.publishedEntries();
    for (const [headers, status, path] of [
      [[bearer('readM1')], 403, '/v1/events'],
      [[bearer('admin')], 403, '/v1/events'],
      [[bearer('expiredM1')], 401, '/v1/events'],
      [[], 403, `/v1/events?key=${keys.readM1}`],
      [[['Origin', 'https://evil.example']], 403, `/v1/events?key=${keys.browserM1}`],
      [[['Origin', `${ORIGIN}.evil.example`]], 403, `/v1/events?key=${keys.browserM1}`],
      [[], 403, `/v1/events?key=${keys.browserM1}`],
    ] as [[string, string][], number, string][]) {
      const r = await probe('POST', path, headers, event);
      assert.equal(r.status, status, `${path} ${JSON.stringify(headers)}: ${r.body}`);
    }
    assert.equal(rt.bus.publishedEntries(), before, 'no refused write was enqueued');
  });

  it('is not fooled by duplicate Authorization headers, forwarded headers or URL rewrites', async () => {
    // Node keeps the first of duplicate Authorization headers; either way, no answer mixes merchants.
    for (const [first, second, path, victim] of [
      ['readM1', 'readM2', '/v1/merchants/m2/stores', 'm2'],
      ['readM2', 'readM1', '/v1/merchants/m1/stores', 'm1'],
      ['ingestM1', 'admin', '/v1/merchants/m2/stores', 'm2'],
      ['revokedM1', 'admin', '/v1/merchants/m2/stores', 'm2'],
    ] as const) {
      const r = await probe('GET', path, [bearer(first), bearer(second)]);
      assert.ok(r.status >= 400, `${first}+${second} ${path}: ${r.status}`);
      assertNoDataOf(victim, r, `${first}+${second} ${path}`);
    }
    const tricks: [string, string][][] = [
      [['X-Forwarded-For', '127.0.0.1']],
      [['X-Forwarded-Host', 'admin.internal'], ['X-Forwarded-Proto', 'https']],
      [['X-Original-URL', '/v1/merchants/m2/stores']],
      [['X-Rewrite-URL', '/v1/merchants/m2/stores']],
      [['X-HTTP-Method-Override', 'DELETE']],
      [['X-Forwarded-Prefix', '/v1/merchants/m2']],
      [['X-Merchant-Id', 'm2'], ['X-Tillstream-Merchant', 'm2']],
    ];
    for (const headers of tricks) {
      for (const path of ROUTES('m1')) {
        const r = await probe('GET', path, [bearer('readM1'), ...headers]);
        assert.equal(r.status, 200);
        assertNoDataOf('m2', r, `${JSON.stringify(headers)} ${path}`);
      }
      const r = await probe('GET', '/v1/merchants/m2/stores', [bearer('readM1'), ...headers]);
      assert.equal(r.status, 404);
      assertNoDataOf('m2', r, JSON.stringify(headers));
    }
    // The local command endpoint answers 404 to anyone without the data directory's proof, whatever key they hold.
    for (const name of ['admin', 'readM1', 'ingestM1']) {
      for (const headers of [[bearer(name)], [bearer(name), ['X-Forwarded-For', '127.0.0.1'], ['X-Tillstream-Local', keys[name]!]]] as [string, string][][]) {
        const r = await probe('POST', '/_local/command', headers, JSON.stringify({ argv: ['keys', 'list'] }));
        assert.equal(r.status, 404);
        assert.ok(!r.body.includes('key_'), r.body);
      }
    }
  });

  it('never writes a key to the logs', () => {
    const text = logs.join('');
    assert.ok(logs.length >= probes * 0.9, `a log line per request (${logs.length} lines for ${probes} probes)`);
    for (const [name, k] of Object.entries(keys)) {
      assert.ok(!text.includes(k), `key ${name} appears in the logs`);
      assert.ok(!text.includes(k.slice(4, 24)), `part of key ${name} appears in the logs`);
    }
    console.log(`      ${probes} access probes; ${logs.length} log lines checked for ${Object.keys(keys).length} keys`);
  });
});
