// Freshness figure, end to end through the local runtime as `tillstream start` runs it: a page view
// POSTed to the collector (one HTTP app with the query API, the bus runner consuming as messages
// arrive, the speed layer writing partial cells before the ack) until the query API's hourly traffic
// series for that hour counts it. Samples are taken one after another; p95 is nearest rank.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateWorkload } from '../demo/generator.js';
import { openLocalPipeline } from '../cli/local-pipeline.js';
import { createKey } from '../pipeline/auth/keys.js';
import { mirrorDimensionDocuments } from '../pipeline/series/mirror.js';
import { pino } from 'pino';
import { createCollector } from '../services/collector/router.js';
import { createQueryApi } from '../services/query-api/app.js';
import { p95 } from './result.js';

const HOUR_MS = 3_600_000;
const POLL_MS = 20;
const TIMEOUT_MS = 120_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureCollectorFreshness(opts: { dataDir: string; samples: number; log: (s: string) => void }): Promise<{ p95_s: number; samples: number; method: string }> {
  // A valid page view of the demo mix as the template; each sample gets a new id and the current time.
  const w = generateWorkload({ events: 2000, seed: 'bench-freshness', annotate: true });
  const index = w.annotations!.findIndex((a) => a.expected === 'accepted' && a.kind === 'page_view');
  if (index < 0) throw new Error('the demo mix has no accepted page view to copy');
  const template = JSON.parse(w.entries[index]!) as { merchant_id: string; event_id: string; event_ts: string };
  const merchant = template.merchant_id;

  const rt = await openLocalPipeline({ dataDir: opts.dataDir, command: 'bench' });
  const stop = new AbortController();
  let server: Server | undefined;
  let consuming: Promise<unknown> = Promise.resolve();
  try {
    await rt.dimensions.load(w.dimensions);
    await mirrorDimensionDocuments(rt.series, await rt.dimensions.get());
    const ingest = createKey(rt.pepper, { kind: 'ingest', merchantId: merchant, now: new Date() });
    const read = createKey(rt.pepper, { kind: 'read', merchantId: merchant, now: new Date() });
    await rt.keys.put(ingest.record);
    await rt.keys.put(read.record);
    // The app of services/local-app.ts (collector mounted in the query API), with its request logs discarded.
    const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
    const collector = createCollector({ publisher: rt.bus, keys: rt.keys, pepper: rt.pepper, rateLimitPerMinute: false });
    const app = createQueryApi({ series: rt.series, keys: rt.keys, pepper: rt.pepper, logger, rateLimit: false, cache: false, dashboard: false, mount: [collector] });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    consuming = rt.runner.run(stop.signal);

    const sent = new Map<number, number>(); // hour → page views sent for it
    const seconds: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      const now = Date.now();
      const hour = now - (now % HOUR_MS);
      const body = JSON.stringify([{ ...template, event_id: randomUUID(), event_ts: new Date(now).toISOString() }]);
      const t0 = performance.now();
      const post = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${ingest.key}`, 'content-type': 'application/json' }, body });
      if (post.status !== 202 && post.status !== 200) throw new Error(`collector answered ${post.status}: ${await post.text()}`);
      const want = (sent.get(hour) ?? 0) + 1;
      sent.set(hour, want);
      const url = `${base}/v1/merchants/${merchant}/metrics?series=traffic&granularity=hour&metrics=page_views&from=${iso(hour)}&to=${iso(hour + HOUR_MS)}`;
      for (;;) {
        const res = await fetch(url, { headers: { authorization: `Bearer ${read.key}` } });
        const got = (await res.json()) as { points?: { values: { page_views: number | null } }[] };
        if ((got.points?.[0]?.values.page_views ?? 0) >= want) break;
        if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`sample ${i + 1} not visible after ${TIMEOUT_MS / 1000} s`);
        await sleep(POLL_MS);
      }
      seconds.push((performance.now() - t0) / 1000);
    }
    const p = Math.round(p95(seconds) * 1000) / 1000;
    opts.log(`  ${seconds.length} samples: p95 ${p} s, max ${Math.max(...seconds).toFixed(3)} s`);
    return { p95_s: p, samples: seconds.length, method: 'collector POST → hourly traffic through the query API (speed layer, local runtime)' };
  } finally {
    stop.abort();
    await consuming.catch(() => undefined);
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await rt.close();
  }
}
