// What the dashboard tests in headless Chromium share: the query API over an LMDB series store in a
// scratch directory, listening on a free port, and Debian's Chromium (installed by
// scripts/prepare-test-env.mjs) driven headless. Each test seeds the store and adds the keys it needs.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, NOW, PEPPER } from './fixtures.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Where the tests leave their screenshots. */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

export interface Dashboard {
  /** `http://<host>:<port>`, the page at `/`. */
  base: string;
  series: LmdbSeriesStore;
  keys: MemoryKeyStore;
  browser: Browser;
  /** Page errors and console errors of every page opened with newPage. */
  problems: string[];
  /** A page whose errors are recorded in `problems`. */
  newPage(options: BrowserContextOptions): Promise<Page>;
  /** Opens the dashboard on `page` and connects with `readKey`. */
  connect(page: Page, readKey: string): Promise<void>;
  /** The JSON the API answers for `path` with `readKey`, asserting 200. */
  api<T>(readKey: string, path: string): Promise<T>;
  close(): Promise<void>;
}

export async function startDashboard(opts: { name: string; host?: string }): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), `${opts.name}-`));
  const series = openLmdbSeriesStore({ dataDir: dir });
  const keys = new MemoryKeyStore();
  const problems: string[] = [];
  let server: Server | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await series.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const app = createQueryApi({ series, keys, pepper: PEPPER, clock: { now: () => NOW }, logger: pino({ level: 'silent' }) });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, host, () => resolve(s));
    });
    const base = `http://${host}:${(server.address() as AddressInfo).port}`;
    const launched = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    browser = launched;
    return {
      base,
      series,
      keys,
      browser: launched,
      problems,
      async newPage(options) {
        const page = await launched.newPage(options);
        page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
        page.on('console', (msg) => {
          if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
        });
        return page;
      },
      async connect(page, readKey) {
        await page.goto(base + '/');
        await page.fill('#key', readKey);
        await page.click('button[type="submit"]');
      },
      async api<T>(readKey: string, path: string): Promise<T> {
        const res = await fetch(base + path, { headers: { Authorization: `Bearer ${readKey}` } });
        assert.equal(res.status, 200, path);
        return (await res.json()) as T;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
