// API reads figure: Bigtable ReadRows calls per metrics request of the query API on the gcp runtime, counted
// at the Bigtable client (every readRows RPC the client starts, whatever table) against the emulator.
// Requests rotate over merchants, stores, series and granularities after each merchant's first request
// warmed the in-process caches (keys, dimensions); the cold first requests are reported apart.
import request from 'supertest';
import { pino } from 'pino';
import { bigtableClient, ensureTable, KEYS_FAMILIES, SERIES_FAMILIES } from '../adapters/gcp/bigtable.js';
import { cachedKeyStore, createBigtableKeyStore } from '../adapters/gcp/bigtable-key-store.js';
import { createBigtableSeriesStore } from '../adapters/gcp/bigtable-series-store.js';
import { resolveDimensions } from '../pipeline/contracts/dimensions.js';
import { mirrorDimensionDocuments } from '../pipeline/series/mirror.js';
import { createQueryApi } from '../services/query-api/app.js';
import { startEmulators } from '../scripts/emulators/run.js';
import { PEPPER, addKey, seedSeries } from '../test/services/query-api/fixtures.js';
import { countReadRows } from '../test/support/read-rows-counter.js';

export interface ApiReadsFigures {
  requests: number;
  read_rows_calls: number;
  reads_per_request: number;
  /** ReadRows calls of each merchant's first request (key and dimensions caches cold). */
  cold_reads_per_request: number;
}

const PATHS = [
  'series=sales&granularity=hour&from=2026-11-14T12:00:00Z&to=2026-11-21T12:00:00Z',
  'series=sales&granularity=hour&from=2026-11-20T12:00:00Z&to=2026-11-21T12:00:00Z&store=s1',
  'series=sales&granularity=day&from=2026-11-01&to=2026-11-22',
  'series=traffic&granularity=hour&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z',
];

export async function measureApiReads(opts: { requests: number; log: (s: string) => void }): Promise<ApiReadsFigures> {
  const emulators = await startEmulators();
  const saved = { ...process.env };
  Object.assign(process.env, { BIGTABLE_EMULATOR_HOST: emulators.bigtableHost, METADATA_SERVER_DETECTION: 'none' });
  try {
    const client = bigtableClient('tillstream-bench');
    const instance = client.instance('bench');
    const series = createBigtableSeriesStore(await ensureTable(instance, 'series', SERIES_FAMILIES));
    const keys = cachedKeyStore(createBigtableKeyStore(await ensureTable(instance, 'keys', KEYS_FAMILIES)), { ttlMs: 60_000 });
    await seedSeries(series);
    // The exporter's mirror, so the dimension documents carry their version as in production.
    await mirrorDimensionDocuments(
      series,
      resolveDimensions({
        merchants: [
          { id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' },
          { id: 'm2', name: 'Curry Two', time_zone: 'Asia/Kolkata', currency: 'INR' },
        ],
        stores: [
          { id: 's1', merchant_id: 'm1', name: 'Mitte', city: 'Berlin', region: 'BE' },
          { id: 's2', merchant_id: 'm1', name: 'Soho', city: 'London', region: 'ENG', time_zone: 'Europe/London' },
          { id: 's1', merchant_id: 'm2', name: 'Bandra', city: 'Mumbai', region: 'MH' },
        ],
        fraud_ips: [],
      }),
    );
    const readers = await Promise.all(['m1', 'm2'].map(async (m) => ({ m, key: (await addKey(keys, 'read', m)).key })));
    const app = createQueryApi({ series, keys, pepper: PEPPER, clock: { now: () => new Date('2026-11-21T12:03:00Z') }, logger: pino({ level: 'silent' }), rateLimit: false, dashboard: false });
    const counter = countReadRows(client);
    try {
      const get = async (m: string, key: string, query: string): Promise<void> => {
        const res = await request(app).get(`/v1/merchants/${m}/metrics?${query}`).set('Authorization', `Bearer ${key}`);
        if (res.status !== 200) throw new Error(`GET ${m} ${query} answered ${res.status}: ${res.text}`);
      };
      for (const r of readers) await get(r.m, r.key, PATHS[0]!);
      const cold = counter.count();
      for (let i = 0; i < opts.requests; i++) {
        const r = readers[i % readers.length]!;
        await get(r.m, r.key, PATHS[i % PATHS.length]!);
      }
      const calls = counter.count() - cold;
      opts.log(`  ${opts.requests} metrics requests: ${calls} ReadRows calls; cold first requests: ${cold / readers.length} each`);
      return { requests: opts.requests, read_rows_calls: calls, reads_per_request: Math.round((calls / opts.requests) * 100) / 100, cold_reads_per_request: cold / readers.length };
    } finally {
      counter.restore();
    }
  } finally {
    process.env = saved;
    await emulators.stop();
  }
}
