// The browser SDK end to end: a shop page on its own origin loads the SDK with docs/sdk.md's snippet from
// the real local server (collector, query API and the SDK route over a local pipeline in a temp data
// directory), in Debian's Chromium. Clicks and navigations become accepted events and traffic metrics;
// events made while the collector is down wait in the page and arrive, once, when it is back; an origin
// that is not on the key is refused.
import assert from 'node:assert/strict';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openLocalPipeline, type LocalPipeline } from '../../runtime/local-writer.js';
import { runMartCycle } from '../../pipeline/marts/hourly.js';
import { createKey } from '../../pipeline/auth/keys.js';
import { createSdkRouter } from '../../services/collector/sdk-route.js';
import { createLocalApp } from '../../services/local-app.js';
import { capturedLogs } from '../support/captured-logs.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
// A person's browser. Headless Chromium's own user agent says "HeadlessChrome", which the bot rule drops.
const PERSON_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const MERCHANT = 'm_web';
const DOC_ENDPOINT = 'https://collect.example.com';

/** The first html block of docs/sdk.md: the snippet merchants paste. */
async function docSnippet(): Promise<string> {
  const doc = await readFile(new URL('../../docs/sdk.md', import.meta.url), 'utf8');
  const m = /```html\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/sdk.md has an html snippet');
  return m[1]!;
}

/** The snippet with what a merchant fills in: nothing else changes. */
function fillIn(snippet: string, values: { merchantId: string; endpoint: string; key: string }): string {
  for (const placeholder of ['YOUR_MERCHANT_ID', 'YOUR_BROWSER_KEY', DOC_ENDPOINT]) assert.ok(snippet.includes(placeholder), placeholder);
  return snippet.replaceAll(DOC_ENDPOINT, values.endpoint).replaceAll('YOUR_MERCHANT_ID', values.merchantId).replaceAll('YOUR_BROWSER_KEY', values.key);
}

/** The shop: every path answers the same page; links inside #app navigate without reloading. */
function shopPage(snippet: string, path: string): string {
  const title = path === '/' ? 'Home' : path;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
${snippet}</head><body>
<button id="add" data-tillstream-event="add_to_cart" data-tillstream-sku="p-42" data-tillstream-list-name="front">Add to cart</button>
<button id="checkout" onclick="Tillstream.track('begin_checkout', { items: 2 })">Checkout</button>
<nav id="app"><a id="to-product" href="/product/p-42">Pizza</a></nav>
<a id="to-about" href="/about">About (a full page load)</a>
<script>
document.getElementById('app').addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a) return;
  e.preventDefault();
  history.pushState({}, '', a.getAttribute('href'));
  document.title = a.getAttribute('href');
});
</script>
</body></html>`;
}

interface RawRow {
  event_type: string;
  url: string | null;
  referrer: string | null;
  track_name: string | null;
  visitor_id: string;
  session_id: string;
  device: string;
  body_json: string;
}

interface Logged {
  method: string;
  path: string;
  origin: string | undefined;
  status: number;
}

describe('browser SDK in headless Chromium against the local server', function () {
  const serverLogs = capturedLogs('local server log');
  afterEach(serverLogs.printIfFailed);
  let dir: string;
  let rt: LocalPipeline;
  let app: express.Express;
  let collector: Server;
  let collectorPort: number;
  let pages: Server;
  let shopOrigin: string;
  let otherOrigin: string;
  let browser: Browser;
  let person: BrowserContext;
  let tab: Page;
  let readKey: string;
  const log: Logged[] = [];
  /** Times at which a request of the page to the collector failed (refused connection). */
  const failedSends: number[] = [];
  const problems: string[] = [];

  const listen = (server: Server, port = 0): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const startCollector = async (port = 0): Promise<void> => {
    collector = createServer(app);
    collectorPort = await listen(collector, port);
  };
  const stopCollector = async (): Promise<void> => {
    const closed = new Promise((resolve) => collector.close(resolve));
    collector.closeAllConnections();
    await closed;
  };

  const rawRows = (): Promise<RawRow[]> =>
    rt.warehouse.query<RawRow>(
      `select event_type, url, referrer, track_name, visitor_id, session_id, device, body_json from raw.events where merchant_id = '${MERCHANT}' order by event_ts, event_type, url`,
    );
  const rejected = (): Promise<{ reason: string }[]> => rt.warehouse.query<{ reason: string }>(`select reason from raw.rejected_events order by reason`);
  /** Drains the bus into the stores until `n` events of the merchant are accepted (beacons land a little later). */
  const waitForAccepted = async (n: number): Promise<RawRow[]> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      await rt.runner.drain();
      const rows = await rawRows();
      if (rows.length >= n || Date.now() > deadline) return rows;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const queued = (p: Page): Promise<number> => p.evaluate(() => JSON.parse(localStorage.getItem('tillstream_queue') ?? '[]').length as number);
  const watch = (p: Page): Page => {
    p.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    return p;
  };
  const summary = (rows: RawRow[]) =>
    rows.map((r) => ({ type: r.event_type, what: r.track_name ?? new URL(r.url!).pathname, referrer: r.referrer ? new URL(r.referrer).pathname : r.referrer }));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdk-e2e-'));
    rt = await openLocalPipeline({ dataDir: dir, command: 'test' });
    await rt.dimensions.load({
      merchants: [{ id: MERCHANT, name: 'Web shop', time_zone: 'Europe/Berlin', currency: 'EUR' }],
      stores: [{ id: 'online', merchant_id: MERCHANT, name: 'Online shop', city: 'Berlin', region: 'BE' }],
      fraud_ips: [],
    });

    pages = createServer();
    const pagesPort = await listen(pages);
    shopOrigin = `http://127.0.0.1:${pagesPort}`;
    // The same page server under another host name is another origin, one the key does not list.
    otherOrigin = `http://localhost:${pagesPort}`;

    const browserKey = createKey(rt.pepper, { kind: 'browser', merchantId: MERCHANT, origins: [shopOrigin] });
    await rt.keys.put(browserKey.record);
    const read = createKey(rt.pepper, { kind: 'read', merchantId: MERCHANT });
    await rt.keys.put(read.record);
    readKey = read.key;

    app = express();
    app.use((req, res, next) => {
      res.on('finish', () => log.push({ method: req.method, path: req.path, origin: req.headers.origin, status: res.statusCode }));
      next();
    });
    app.use(createSdkRouter());
    app.use(createLocalApp(rt, { logger: serverLogs.logger }));
    await startCollector();

    const snippet = fillIn(await docSnippet(), { merchantId: MERCHANT, endpoint: `http://127.0.0.1:${collectorPort}`, key: browserKey.key });
    pages.on('request', (req, res) => {
      const path = new URL(req.url!, shopOrigin).pathname;
      if (path === '/favicon.ico') return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(shopPage(snippet, path));
    });

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    person = await browser.newContext({ userAgent: PERSON_UA });
    tab = watch(await person.newPage());
    tab.on('requestfailed', (r) => {
      if (r.url().includes('/v1/events')) failedSends.push(Date.now());
    });
  });

  after(async () => {
    await browser?.close();
    if (collector?.listening) await stopCollector();
    await new Promise((resolve) => (pages?.listening ? pages.close(resolve) : resolve(undefined)));
    await rt?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('turns page loads, clicks and single-page navigations into accepted events of one visitor and session', async () => {
    await tab.goto(shopOrigin + '/');
    await tab.click('#add');
    await tab.click('#checkout');
    await tab.click('#to-product');
    await tab.waitForFunction(() => document.title === '/product/p-42');
    await tab.goBack();
    await tab.waitForURL(shopOrigin + '/');
    await tab.click('#to-about');
    await tab.waitForURL(shopOrigin + '/about');

    const rows = await waitForAccepted(6);
    assert.deepEqual(summary(rows), [
      { type: 'page_view', what: '/', referrer: null },
      { type: 'track', what: 'add_to_cart', referrer: null },
      { type: 'track', what: 'begin_checkout', referrer: null },
      { type: 'page_view', what: '/product/p-42', referrer: '/' },
      { type: 'page_view', what: '/', referrer: '/product/p-42' },
      { type: 'page_view', what: '/about', referrer: '/' },
    ]);
    const bodies = rows.map((r) => JSON.parse(r.body_json) as Record<string, unknown>);
    assert.deepEqual(bodies[1]!.properties, { sku: 'p-42', list_name: 'front' });
    assert.deepEqual(bodies[2]!.properties, { items: 2 });
    assert.equal(bodies[3]!.title, '/product/p-42');
    assert.equal(new Set(rows.map((r) => r.visitor_id)).size, 1);
    assert.equal(new Set(rows.map((r) => r.session_id)).size, 1);
    assert.deepEqual([...new Set(rows.map((r) => r.device))], ['desktop']);
    assert.deepEqual(await rejected(), []);
    // The bundle came from the collector's versioned path.
    assert.ok(log.some((l) => l.method === 'GET' && l.path === '/sdk/v1/tillstream.min.js' && l.status === 200));
  });

  it('keeps events while the collector is down and delivers them once, when it is back on the same port', async () => {
    await tab.waitForFunction(() => !localStorage.getItem('tillstream_queue'));
    await stopCollector();
    const stoppedAt = Date.now();
    await tab.click('#add');
    await tab.click('#to-product');
    await tab.waitForFunction(() => document.title === '/product/p-42');
    // Both wait in storage, and the page has seen a request fail: it knows the collector is unreachable.
    await tab.waitForFunction(() => JSON.parse(localStorage.getItem('tillstream_queue') ?? '[]').length === 2);
    while (!failedSends.some((t) => t >= stoppedAt)) await new Promise((r) => setTimeout(r, 50));
    // A full page load while down: the SDK comes from the browser's cache (immutable), the new page adopts
    // the queue and adds its own page view.
    await tab.click('#to-about');
    await tab.waitForURL(shopOrigin + '/about');
    await tab.waitForFunction(() => (window as unknown as { Tillstream?: unknown }).Tillstream !== undefined);
    await tab.waitForFunction(() => JSON.parse(localStorage.getItem('tillstream_queue') ?? '[]').length === 3);
    await tab.click('#checkout');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await queued(tab), 4);
    await rt.runner.drain();
    assert.equal((await rawRows()).length, 6);

    await startCollector(collectorPort);
    const rows = await waitForAccepted(10);
    await tab.waitForFunction(() => !localStorage.getItem('tillstream_queue'), undefined, { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(summary((await waitForAccepted(10)).slice(6)), [
      { type: 'track', what: 'add_to_cart', referrer: null },
      { type: 'page_view', what: '/product/p-42', referrer: '/about' },
      { type: 'page_view', what: '/about', referrer: '/product/p-42' },
      { type: 'track', what: 'begin_checkout', referrer: null },
    ]);
    assert.equal(rows.length, 10);
    // Each event is accepted once. A batch the SDK re-sent because its answer came too late (a loaded machine)
    // arrives again and ends as a duplicate, never as a second event.
    const counts = await rt.runCounts(rt.runId);
    assert.deepEqual({ ...counts, published: undefined, duplicates: undefined }, { published: undefined, accepted: 10, rejected: {}, duplicates: undefined });
    assert.equal(counts.published, counts.accepted + counts.duplicates);
  });

  it('refuses an origin the key does not list: 403 and nothing accepted', async () => {
    const before = await rt.runCounts(rt.runId);
    const stranger = watch(await person.newPage());
    const refused = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (log.some((l) => l.method === 'POST' && l.origin === otherOrigin)) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    await stranger.goto(otherOrigin + '/');
    await stranger.click('#add');
    await refused;
    await stranger.close();
    await rt.runner.drain();
    const attempts = log.filter((l) => l.path === '/v1/events' && l.origin === otherOrigin);
    assert.ok(attempts.length >= 1);
    assert.deepEqual([...new Set(attempts.map((l) => `${l.method} ${l.status}`))], ['POST 403']);
    assert.deepEqual(await rt.runCounts(rt.runId), before);
    assert.equal((await rawRows()).length, 10);
  });

  it("rejects a headless browser's own user agent as bot", async () => {
    const robot = await browser.newContext();
    const p = watch(await robot.newPage());
    await p.goto(shopOrigin + '/');
    await p.waitForFunction(() => !localStorage.getItem('tillstream_queue'));
    await robot.close();
    for (let i = 0; i < 50 && (await rejected()).length === 0; i++) {
      await rt.runner.drain();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await rejected(), [{ reason: 'bot' }]);
    assert.equal((await rawRows()).length, 10);
  });

  it('shows the accepted page views, visitors and sessions in the daily traffic metrics', async () => {
    // A scheduled run never builds the hour in progress, and a local day that began in it (the first hour of a
    // Berlin day) would stay unbuilt: run the cycle as the scheduler would two hours from now.
    await runMartCycle({ ...rt, clock: { now: () => new Date(Date.now() + 2 * 3_600_000) } });
    const byDay = await rt.warehouse.query<{ day: string; page_views: number | bigint; visitors: number | bigint; sessions: number | bigint }>(
      `select format_timestamp('%Y-%m-%d', event_ts, 'Europe/Berlin') as day, countif(event_type = 'page_view') as page_views,
              count(distinct visitor_id) as visitors, count(distinct session_id) as sessions
       from raw.events where merchant_id = '${MERCHANT}' group by 1 order by 1`,
    );
    const days = byDay.map((d) => d.day);
    const next = new Date(Date.parse(days.at(-1)! + 'T00:00:00Z') + 86_400_000).toISOString().slice(0, 10);
    const res = await fetch(
      `http://127.0.0.1:${collectorPort}/v1/merchants/${MERCHANT}/metrics?series=traffic&metrics=page_views,visitors,sessions&granularity=day&from=${days[0]}&to=${next}`,
      { headers: { Authorization: `Bearer ${readKey}` } },
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { time_zone: string; points: { start: string; values: Record<string, number> }[] };
    assert.equal(body.time_zone, 'Europe/Berlin');
    const expected = new Map(byDay.map((d) => [d.day, [Number(d.page_views), Number(d.visitors), Number(d.sessions)]]));
    assert.deepEqual(
      body.points.map((p) => [p.start, [p.values.page_views, p.values.visitors, p.values.sessions]]),
      body.points.map((p) => [p.start, expected.get(p.start) ?? [0, 0, 0]]),
    );
    // Six page views of one person in one session (a test crossing local midnight splits them over two days).
    assert.equal(body.points.reduce((sum, p) => sum + (p.values.page_views ?? 0), 0), 6);
    assert.deepEqual([...new Set(body.points.filter((p) => p.values.page_views).map((p) => [p.values.visitors, p.values.sessions].join()))], ['1,1']);
    assert.deepEqual(problems, []);
  });
});
