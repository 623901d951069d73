// The browser SDK's own behaviour in Debian's headless Chromium, against a recording collector that
// answers what each test tells it to: the wire contract, batching, retries, refusals, consent, sessions,
// the bounded offline queue and beacons.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Event, type EventInput } from '../../pipeline/contracts/events.js';
import { SDK_DIST, SDK_FILES, ensureSdkBuilt } from '../../sdk/build.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const KEY = 'tsb_' + 'k'.repeat(43);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type WebEvent = Extract<EventInput, { event_type: 'page_view' | 'track' }>;

interface Received {
  contentType: string | undefined;
  key: string | null;
  events: WebEvent[];
  status: number;
}

describe('browser SDK client behaviour in headless Chromium', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let sdk: string;
  let sdkModule: string;
  let received: Received[] = [];
  /** Statuses to answer, in order; 202 once they run out. */
  let answers: number[] = [];
  const problems: string[] = [];

  const body = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  /** Opens the shop page with the SDK initialised with these options (endpoint and key filled in). */
  const open = async (options: Record<string, unknown> = {}, path = '/'): Promise<void> => {
    const q = encodeURIComponent(JSON.stringify({ merchantId: 'm_web', endpoint: origin, key: KEY, ...options }));
    await page.goto(`${origin}${path}?init=${q}`);
    await page.waitForFunction(() => 'Tillstream' in window);
  };
  const events = (): WebEvent[] => received.flatMap((r) => r.events);
  const waitFor = async (predicate: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!predicate()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; received ${JSON.stringify(received.map((r) => r.events.length))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stored = (): Promise<Record<string, string>> =>
    page.evaluate(() => Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)!])));
  const call = (script: string): Promise<unknown> => page.evaluate(script);
  const what = (e: WebEvent): string => (e.event_type === 'track' ? e.body.name : new URL(e.body.url).pathname + new URL(e.body.url).hash);

  before(async () => {
    await ensureSdkBuilt();
    sdk = await readFile(join(SDK_DIST, SDK_FILES.iife), 'utf8');
    sdkModule = await readFile(join(SDK_DIST, SDK_FILES.esm), 'utf8');
    server = createServer(async (req, res) => {
      const url = new URL(req.url!, origin);
      if (req.method === 'POST' && url.pathname === '/v1/events') {
        const status = answers.shift() ?? 202;
        const text = await body(req);
        received.push({ contentType: req.headers['content-type'], key: url.searchParams.get('key'), events: JSON.parse(text) as WebEvent[], status });
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(status === 202 ? { received: 1, messages: 1 } : { error: { code: 'x', message: 'x' } }));
      } else if (url.pathname === '/sdk.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdk);
      } else if (url.pathname === '/sdk.mjs') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(sdkModule);
      } else if (url.pathname === '/module') {
        const init = url.searchParams.get('init') ?? '{}';
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head><title>Module page</title>
<script type="module">import * as Tillstream from '/sdk.mjs'; window.Tillstream = Tillstream; Tillstream.init(${init});</script></head><body></body></html>`);
      } else if (url.pathname === '/favicon.ico') {
        res.writeHead(404).end();
      } else {
        const init = url.searchParams.get('init') ?? '{}';
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head><title>Shop ${url.pathname}</title>
<script src="/sdk.js"></script><script>Tillstream.init(${init});</script></head><body></body></html>`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  });
  beforeEach(async () => {
    received = [];
    answers = [];
    context = await browser.newContext({ userAgent: UA });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(err.message));
  });
  afterEach(async () => {
    await context.close();
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    assert.deepEqual(problems, []);
  });

  it('sends events that the wire contract accepts: page views of loads and single-page navigations, and track events', async () => {
    await open({ storeId: 'online' }, '/home');
    await call(`Tillstream.track('add_to_cart', { sku: 'p-42', quantity: 2, gift: false, note: null })`);
    await call(`history.pushState({}, '', '/product/p-42'); document.title = 'Pizza'`);
    await call(`history.replaceState({ scrolled: 1 }, '')`); // same address: no page view
    await call(`location.hash = '#reviews'`);
    await waitFor(() => events().length === 4, 'four events');
    await call(`history.back()`);
    await waitFor(() => events().length === 5, 'the page view of going back');

    assert.deepEqual(events().map(what), ['/home', 'add_to_cart', '/product/p-42', '/product/p-42#reviews', '/product/p-42']);
    for (const e of events()) {
      const parsed = Event.safeParse(e);
      assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
      assert.match(e.event_id, UUID);
      assert.deepEqual([e.merchant_id, e.source, e.schema_version, e.store_id], ['m_web', 'web', 1, 'online']);
      assert.deepEqual([e.body.device, e.body.user_agent], ['desktop', UA]);
    }
    assert.equal(new Set(events().map((e) => e.event_id)).size, 5);
    const [home, track, product] = events() as [Extract<WebEvent, { event_type: 'page_view' }>, Extract<WebEvent, { event_type: 'track' }>, Extract<WebEvent, { event_type: 'page_view' }>];
    assert.deepEqual(track.body.properties, { sku: 'p-42', quantity: 2, gift: false, note: null });
    assert.equal(track.body.url, home.body.url);
    assert.deepEqual([home.body.title, home.body.referrer], ['Shop /home', '']);
    assert.deepEqual([product.body.title, product.body.referrer], ['Pizza', home.body.url]);
    assert.deepEqual(
      received.map((r) => [r.contentType, r.key]),
      received.map(() => ['text/plain', KEY]),
    );
  });

  it('batches: events of one interval share a request, a full batch goes at once', async () => {
    // The interval alone would hold everything for a minute: only a full batch makes the first request.
    await open({ flushInterval: 60_000, batchSize: 20 });
    await call(`for (let i = 0; i < 25; i++) Tillstream.track('step', { i })`);
    await waitFor(() => events().length === 26, '26 events');
    assert.deepEqual(received.map((r) => r.events.length), [20, 6]);
    assert.deepEqual(events().slice(1).map((e) => (e.body as unknown as { properties: { i: number } }).properties.i), [...Array(25).keys()]);
  });

  it('retries a failed request with the same event ids until it is accepted', async () => {
    answers = [503, 429, 500];
    await open({ flushInterval: 10, maxRetryDelay: 300 });
    await waitFor(() => received.length === 4, 'four attempts');
    assert.deepEqual(received.map((r) => r.status), [503, 429, 500, 202]);
    assert.equal(new Set(received.map((r) => JSON.stringify(r.events))).size, 1);
    await page.waitForFunction(() => !localStorage.getItem('tillstream_queue'));
    const saved = await stored();
    assert.deepEqual(Object.keys(saved).sort(), ['tillstream_sid', 'tillstream_vid']);
    assert.equal(saved.tillstream_vid, events()[0]!.body.visitor_id);
  });

  it('does not resend a batch the collector refused as unreadable (400)', async () => {
    answers = [400];
    await open({ flushInterval: 10 });
    await waitFor(() => received.length === 1, 'the refused request');
    await call(`Tillstream.track('later')`);
    await waitFor(() => received.length === 2, 'the next request');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(received.map((r) => [r.status, r.events.map(what)]), [[400, ['/']], [202, ['later']]]);
    assert.equal((await stored()).tillstream_queue, undefined);
  });

  it('keeps the newest events up to maxQueue in storage while the collector fails', async () => {
    answers = Array(100).fill(503);
    await open({ flushInterval: 10, maxQueue: 5 });
    await call(`for (let i = 0; i < 8; i++) Tillstream.track('step_' + i)`);
    await waitFor(() => received.length >= 1, 'a failed attempt');
    const queue = JSON.parse((await stored()).tillstream_queue!) as WebEvent[];
    assert.deepEqual(queue.map(what), ['step_3', 'step_4', 'step_5', 'step_6', 'step_7']);
  });

  it('sends queued events by beacon when the page is hidden', async () => {
    await open({ flushInterval: 60_000 });
    await call(`Tillstream.track('one'); Tillstream.track('two')`);
    assert.equal(received.length, 0);
    await call(`Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange', { bubbles: true }))`);
    await waitFor(() => received.length === 1, 'the beacon');
    // sendBeacon labels a string body text/plain;charset=UTF-8 (the SDK's own requests say text/plain).
    assert.deepEqual(received.map((r) => [r.contentType, r.events.map(what)]), [['text/plain;charset=UTF-8', ['/', 'one', 'two']]]);
    assert.equal((await stored()).tillstream_queue, undefined);
  });

  it('with consent pending stores and sends nothing; on grant sends what it held; revoking deletes its storage', async () => {
    await open({ consent: 'pending', flushInterval: 10 });
    await call(`Tillstream.track('browsed')`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(received.length, 0);
    assert.deepEqual(await stored(), {});
    assert.equal(await call('document.cookie'), '');

    await call('Tillstream.grantConsent()');
    await waitFor(() => events().length === 2, 'the held events');
    assert.deepEqual(events().map(what), ['/', 'browsed']);
    const visitor = events()[0]!.body.visitor_id;
    await page.waitForFunction(() => !localStorage.getItem('tillstream_queue'));
    const saved = await stored();
    assert.deepEqual(Object.keys(saved).sort(), ['tillstream_consent', 'tillstream_sid', 'tillstream_vid']);
    assert.equal(saved.tillstream_vid, visitor);

    // A later page with the same snippet: consent was given, the visitor is the same.
    await open({ consent: 'pending', flushInterval: 10 }, '/next');
    await waitFor(() => events().length === 3, 'the next page view');
    assert.equal(events()[2]!.body.visitor_id, visitor);

    await call('Tillstream.revokeConsent()');
    assert.deepEqual(await stored(), {});
    await call(`Tillstream.track('after_revoke'); Tillstream.page()`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(events().length, 3);
    assert.deepEqual(await stored(), {});
  });

  it('keeps the session through activity and starts a new one after 30 minutes without events', async () => {
    await open({ flushInterval: 10 });
    const age = (minutes: number) =>
      call(`const s = JSON.parse(localStorage.getItem('tillstream_sid')); s.at = Date.now() - ${minutes} * 60000; localStorage.setItem('tillstream_sid', JSON.stringify(s))`);
    await age(29);
    await call(`Tillstream.track('still_here')`);
    await age(31);
    await call(`Tillstream.track('came_back')`);
    await waitFor(() => events().length === 3, 'three events');
    const [first, second, third] = events().map((e) => e.body);
    assert.equal(second!.session_id, first!.session_id);
    assert.notEqual(third!.session_id, first!.session_id);
    assert.match(third!.session_id, UUID);
    assert.deepEqual(new Set([first!.visitor_id, second!.visitor_id, third!.visitor_id]).size, 1);
  });

  it('refuses event names that are not snake_case without sending them', async () => {
    const warnings: string[] = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await open({ flushInterval: 10 });
    await call(`Tillstream.track('Add To Cart'); Tillstream.track('ok_name')`);
    await waitFor(() => events().length === 2, 'two events');
    assert.deepEqual(events().map(what), ['/', 'ok_name']);
    assert.deepEqual(warnings, ['Tillstream: event names are snake_case, 1-64 characters: Add To Cart']);
  });

  it('works as an ES module', async () => {
    await open({ flushInterval: 10 }, '/module');
    await call(`Tillstream.track('from_module')`);
    await waitFor(() => events().length === 2, 'two events');
    assert.deepEqual(events().map(what), ['/module', 'from_module']);
  });

  it('makes version 4 UUIDs without crypto.randomUUID (pages served over plain http)', async () => {
    await page.addInitScript(() => Object.defineProperty(Crypto.prototype, 'randomUUID', { value: undefined }));
    await open({ flushInterval: 10 });
    await call(`Tillstream.track('a'); Tillstream.track('b')`);
    await waitFor(() => events().length === 3, 'three events');
    assert.equal(await call('typeof crypto.randomUUID'), 'undefined');
    const ids = events().flatMap((e) => [e.event_id, e.body.visitor_id, e.body.session_id]);
    for (const id of ids) assert.match(id, UUID);
    assert.equal(new Set(events().map((e) => e.event_id)).size, 3);
  });

  it('keeps the visitor id in a first-party cookie where localStorage is blocked', async () => {
    await page.addInitScript(() =>
      Object.defineProperty(window, 'localStorage', {
        get() {
          throw new DOMException('storage is blocked', 'SecurityError');
        },
      }),
    );
    await open({ flushInterval: 10 });
    await waitFor(() => events().length === 1, 'the page view');
    const visitor = events()[0]!.body.visitor_id;
    assert.match(String(await call('document.cookie')), new RegExp(`(^|; )tillstream_vid=${visitor}(;|$)`));
    await open({ flushInterval: 10 }, '/next');
    await waitFor(() => events().length === 2, 'the next page view');
    assert.deepEqual(events().map((e) => [what(e), e.body.visitor_id, e.body.session_id]), [
      ['/', visitor, events()[0]!.body.session_id],
      ['/next', visitor, events()[0]!.body.session_id],
    ]);
  });
});
