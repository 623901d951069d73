// Marts served as in production, for the query API tests that check its answers against independent
// computations: the marts of a window built on DuckDB, exported to an LMDB series store with the
// stores and freshness documents, and the query API over that store with a read key of one merchant.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { exportDocuments, exportWindows } from '../../../pipeline/marts/exporter.js';
import { buildMarts } from '../../../pipeline/marts/runner.js';
import type { FreshnessDocument } from '../../../pipeline/series/documents.js';
import { documentKey } from '../../../pipeline/series/row-key.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, PEPPER, addKey } from './fixtures.js';

export interface ServedMarts {
  /** GET /v1/merchants/<merchant>/<path> with the merchant's read key, whatever the answer. */
  send(path: string, accept?: string): request.Test;
  /** The same, asserting 200. */
  get(path: string, accept?: string): Promise<request.Response>;
  close(): Promise<void>;
}

export async function serveMarts(
  wh: LocalWarehouse,
  window: { start: Date; end: Date },
  opts: { merchant: string; newestEventAt: string; now: Date },
): Promise<ServedMarts> {
  const built = await buildMarts(wh, { windowStart: window.start, windowEnd: window.end });
  const dir = await mkdtemp(join(tmpdir(), 'query-api-marts-'));
  let series: LmdbSeriesStore | undefined;
  const close = async () => {
    await series?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    series = openLmdbSeriesStore({ dataDir: dir });
    await exportWindows({ warehouse: wh, series }, built.windows, { finalizedBefore: window.end });
    await exportDocuments({ warehouse: wh, series });
    // As the export wrote it (ranked_rows: rankings read their ranked rows), with the test's times.
    const freshness = await series.getDocument<FreshnessDocument>(documentKey(opts.merchant, 'freshness'));
    assert.equal(freshness?.ranked_rows, true);
    await series.putDocument(documentKey(opts.merchant, 'freshness'), { ...freshness, newest_event_at: opts.newestEventAt, finalized_through: window.end.toISOString() });
    const keys = new MemoryKeyStore();
    const { key } = await addKey(keys, 'read', opts.merchant);
    const app = createQueryApi({ series, keys, pepper: PEPPER, clock: { now: () => opts.now }, logger: pino({ level: 'silent' }) });
    const send = (path: string, accept?: string) => {
      const req = request(app).get(`/v1/merchants/${opts.merchant}/${path}`).set('Authorization', `Bearer ${key}`);
      return accept ? req.set('Accept', accept) : req;
    };
    return {
      send,
      async get(path, accept) {
        const res = await send(path, accept);
        assert.equal(res.status, 200, res.text);
        return res;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
