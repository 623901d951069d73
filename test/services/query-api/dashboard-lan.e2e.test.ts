// The dashboard in headless Chromium at the machine's own non-loopback address over plain http, as a
// colleague on the same network opens `http://<LAN address>:8080/`. Chromium exempts localhost from CSP
// upgrade-insecure-requests and HSTS, so only a non-loopback address shows whether every asset loads.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { startDashboard, type Dashboard } from './dashboard-support.js';
import { addKey, seedSeries } from './fixtures.js';

/** The first IPv4 address of this machine that is not loopback. */
function lanAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('this machine has no non-loopback IPv4 address to open the dashboard at');
  return found.address;
}

describe('dashboard at a non-loopback address over http (Chromium)', () => {
  let d: Dashboard;
  let readKey: string;

  before(async () => {
    d = await startDashboard({ name: 'dashboard-lan', host: lanAddress() });
    await seedSeries(d.series, { days: 3 });
    readKey = (await addKey(d.keys, 'read', 'm1')).key;
  });
  after(() => d?.close());

  it('loads every asset over http and renders the data after "Show"', async () => {
    const page = await d.browser.newPage({ viewport: { width: 1200, height: 900 } });
    const failed: string[] = [];
    const loaded: string[] = [];
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => loaded.push(`${r.status()} ${r.url()}`));
    page.on('pageerror', (err) => failed.push(`pageerror: ${err.message}`));
    const res = await page.goto(d.base + '/');
    assert.equal(res?.status(), 200);
    await page.waitForLoadState('load');
    assert.deepEqual(failed, []);
    assert.equal(res?.headers()['strict-transport-security'], undefined);
    assert.doesNotMatch(res?.headers()['content-security-policy'] ?? '', /upgrade-insecure-requests/);
    await page.fill('#key', readKey);
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#data tbody tr').length > 0 && document.querySelectorAll('.chart canvas').length > 0, undefined, { timeout: 20_000 });
    assert.deepEqual(failed, []);
    // The stylesheet, the scripts (dashboard and uPlot) and the API calls came from this address over http.
    for (const path of ['/dashboard/dashboard.css', '/dashboard/dashboard.js', '/vendor/uplot/uPlot.iife.min.js', '/vendor/uplot/uPlot.min.css', '/v1/merchants/m1/metrics']) {
      assert.ok(loaded.some((l) => l.startsWith(`200 ${d.base}${path}`)), `${path} not loaded from ${d.base}: ${loaded.join(', ')}`);
    }
    assert.equal(Number(await page.getAttribute('#total-orders', 'data-value')) > 0, true);
    await page.close();
  });
});
