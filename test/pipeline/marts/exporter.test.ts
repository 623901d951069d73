// The exporter against a recording warehouse and an in-memory series store: mart rows become
// series cells (buckets replaced, vanished ones deleted), and the freshness document comes from
// raw.arrivals over the arrivals a run read — never from raw.events, which the gcp exporter cannot
// read (and which would scan the whole horizon every hour).
import assert from 'node:assert/strict';
import { discardingSeriesStore } from '../../../pipeline/marts/dry-run.js';
import { exportDocuments, writeSeries, seriesCellsByKey } from '../../../pipeline/marts/exporter.js';
import { FAMILY_MART, type SeriesMutation, type SeriesStore, type SqlParams, type Warehouse } from '../../../pipeline/ports.js';
import { documentKey } from '../../../pipeline/series/row-key.js';

function recordingWarehouse(answer: (sql: string) => Record<string, unknown>[]) {
  const asked: { sql: string; params?: SqlParams }[] = [];
  const warehouse: Warehouse = {
    async run(sql, params) {
      asked.push({ sql, params });
    },
    async query<T>(sql: string, params?: SqlParams) {
      asked.push({ sql, params });
      return answer(sql) as T[];
    },
  };
  return { warehouse, asked };
}

function memorySeries(): SeriesStore & { docs: Map<string, unknown>; mutations: SeriesMutation[] } {
  const docs = new Map<string, unknown>();
  const mutations: SeriesMutation[] = [];
  return {
    ...discardingSeriesStore,
    docs,
    mutations,
    async mutate(ms) {
      mutations.push(...ms);
    },
    async getDocument<T>(key: string) {
      return docs.get(key) as T | undefined;
    },
    async putDocument(key, value) {
      docs.set(key, value);
    },
  };
}

describe('exporter', () => {
  it('takes newest_event_at from raw.arrivals over the run\'s arrivals, keeps a newer one, and never reads raw.events', async () => {
    const { warehouse, asked } = recordingWarehouse((sql) => {
      if (/from dims\.merchants/.test(sql)) return [
        { merchant_id: 'm1', name: 'One', time_zone: 'UTC', currency: 'EUR' },
        { merchant_id: 'm2', name: 'Two', time_zone: 'UTC', currency: 'EUR' },
      ];
      if (/from dims\.stores/.test(sql)) return [];
      if (/from marts\.mart_runs/.test(sql)) return [{ finalized_through: new Date('2026-03-06T12:00:00Z') }];
      if (/from raw\.arrivals/.test(sql)) return [
        { merchant_id: 'm1', newest_event_at: new Date('2026-03-06T11:40:00Z') },
        { merchant_id: 'm2', newest_event_at: new Date('2026-03-01T09:00:00Z') },
      ];
      throw new Error(`unexpected statement: ${sql}`);
    });
    const series = memorySeries();
    // m2's document already knows a newer event: a backfill of older events does not move it back
    series.docs.set(documentKey('m2', 'freshness'), { newest_event_at: '2026-03-06T11:00:00.000Z', finalized_through: '2026-03-06T11:00:00.000Z' });
    const arrivals = { from: new Date('2026-03-06T11:05:00Z'), to: new Date('2026-03-06T12:05:00Z') };
    assert.equal(await exportDocuments({ warehouse, series }, arrivals), 6);
    assert.deepStrictEqual(series.docs.get(documentKey('m1', 'freshness')), { newest_event_at: '2026-03-06T11:40:00.000Z', finalized_through: '2026-03-06T12:00:00.000Z' });
    assert.deepStrictEqual(series.docs.get(documentKey('m2', 'freshness')), { newest_event_at: '2026-03-06T11:00:00.000Z', finalized_through: '2026-03-06T12:00:00.000Z' });
    assert.deepStrictEqual(asked.filter((a) => /raw\./.test(a.sql)).map((a) => [/from raw\.(\w+)/.exec(a.sql)![1], a.params]), [
      ['arrivals', { arrivals_from: arrivals.from, arrivals_to: arrivals.to }],
    ]);
  });

  it('replaces each bucket\'s mart cells and deletes the buckets a rebuild emptied', async () => {
    const series = memorySeries();
    const rows = [{ merchant_id: 'm1', hour_start: new Date('2026-03-06T10:00:00Z'), visitors: 3, sessions: 4, page_views: 9, track_events: 0, orders_with_session: 1, conversion_rate: 0.25 }];
    const written = seriesCellsByKey([{ mart: 'mart_hourly_traffic', rows }]);
    const result = await writeSeries(series, written, { previousKeys: new Set(['m1#traffic#h#2026030610', 'm1#traffic#h#2026030609']), finalizedBefore: new Date('2026-03-06T00:00:00Z') });
    assert.deepStrictEqual([result.rows, result.deletedRows], [1, 1]);
    assert.deepStrictEqual(series.mutations.map((m) => [m.kind, m.key]), [
      ['delete_family', 'm1#traffic#h#2026030610'],
      ['set', 'm1#traffic#h#2026030610'],
      ['delete_family', 'm1#traffic#h#2026030609'],
    ]);
    assert.ok(series.mutations.every((m) => m.kind !== 'delete_family' || m.family === FAMILY_MART));
  });
});
