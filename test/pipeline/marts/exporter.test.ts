// The exporter against a recording warehouse and an in-memory series store: mart rows become
// series cells (buckets replaced, vanished ones deleted), and the freshness document comes from
// raw.arrivals over the arrivals a run read — never from raw.events, which the gcp exporter cannot
// read (and which would scan the whole horizon every hour).
import assert from 'node:assert/strict';
import { discardingSeriesStore } from '../../../pipeline/marts/dry-run.js';
import { exportDocuments, writeSeries, seriesCellsByKey, seriesWriter, WRITE_FLOW } from '../../../pipeline/marts/exporter.js';
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
    assert.equal(await exportDocuments({ warehouse, series }, arrivals, undefined, undefined, { now: new Date('2026-03-06T12:05:00Z') }), 6);
    // m1's first document: nothing to copy, but its open hours until 14:00 may hold partials an older
    // speed layer wrote without twins during a rollout, so they are answered from the rows until final.
    assert.deepStrictEqual(series.docs.get(documentKey('m1', 'freshness')), { newest_event_at: '2026-03-06T11:40:00.000Z', finalized_through: '2026-03-06T12:00:00.000Z', ranked_rows: true, ranked_from: '2026-03-06T14:00:00.000Z' });
    // m2's rows predate ranked rows (a document without ranked_rows): copied, their partials' hours until 14:00 answered from the rows until final.
    assert.deepStrictEqual(series.docs.get(documentKey('m2', 'freshness')), { newest_event_at: '2026-03-06T11:00:00.000Z', finalized_through: '2026-03-06T12:00:00.000Z', ranked_rows: true, ranked_from: '2026-03-06T14:00:00.000Z' });
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

/** A series store whose writes each take a few event-loop turns, recording when each starts and ends. */
function slowSeries(opts: { failOn?: number } = {}) {
  const calls: { mutations: SeriesMutation[]; done: boolean }[] = [];
  const events: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const series: SeriesStore = {
    ...discardingSeriesStore,
    async mutate(ms) {
      const call = { mutations: ms, done: false };
      const n = calls.push(call);
      events.push(`start ${n}`);
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      inFlight--;
      call.done = true;
      events.push(`end ${n}`);
      if (n === opts.failOn) throw new Error('UNAVAILABLE');
    },
  };
  return { series, calls, events, maxInFlight: () => maxInFlight };
}

const hourKey = (i: number) => `m${String(i).padStart(6, '0')}#traffic#h#2026030601`;

describe('exporter series writer', () => {
  it('keeps WRITE_FLOW.callsInFlight writes going while the next batch fills, each of whole puts, in the order given', async () => {
    const { series, calls, maxInFlight } = slowSeries();
    const writer = seriesWriter(series, { finalizedBefore: new Date('2026-03-01T00:00:00Z') });
    const n = 10 * WRITE_FLOW.mutationsPerCall;
    const expected: SeriesMutation[] = [];
    for (let i = 0; i < n / 2; i++) {
      const key = hourKey(i);
      expected.push({ kind: 'delete_family', key, family: FAMILY_MART }, { kind: 'set', key, family: FAMILY_MART, cells: { visitors: i } });
      await writer.put({ key, cells: { visitors: i } });
    }
    await writer.flush();
    assert.equal(maxInFlight(), WRITE_FLOW.callsInFlight);
    assert.deepStrictEqual(calls.map((c) => c.mutations.length), Array.from({ length: 10 }, () => WRITE_FLOW.mutationsPerCall));
    assert.deepStrictEqual(calls.flatMap((c) => c.mutations), expected);
    assert.deepStrictEqual(writer.result, { cells: n / 2, rows: n / 2, deletedRows: 0, retiredPartials: 0 });
  });

  it('writes a key again only after its earlier write finished, even with other writes in flight', async () => {
    const { series, calls, events } = slowSeries();
    const writer = seriesWriter(series, { finalizedBefore: new Date('2026-03-01T00:00:00Z') });
    const again = hourKey(0);
    // `again` is the last put of the first call, sent as it fills; it is deleted while that call is in flight.
    for (let i = 1; i < WRITE_FLOW.mutationsPerCall / 2; i++) await writer.put({ key: hourKey(i), cells: { visitors: i } });
    await writer.put({ key: again, cells: { visitors: 0 } });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.done, false);
    await writer.remove(again);
    for (let i = 0; i < WRITE_FLOW.mutationsPerCall; i++) await writer.put({ key: hourKey(100_000 + i), cells: { visitors: i } });
    await writer.flush();
    const put = calls.findIndex((c) => c.mutations.some((m) => m.key === again && m.kind === 'set'));
    const removed = calls.findIndex((c) => c.mutations.some((m) => m.key === again && m.kind === 'delete_family' && c.mutations.every((o) => o.key !== again || o.kind === 'delete_family')));
    assert.ok(put >= 0 && removed > put);
    assert.ok(events.indexOf(`end ${put + 1}`) < events.indexOf(`start ${removed + 1}`), events.join(', '));
    assert.equal(writer.result.deletedRows, 1);
  });

  it('retires the partials of final hours only (an hour ending at or before finalizedBefore): their rows are replaced whole', async () => {
    const { series, calls } = slowSeries();
    const writer = seriesWriter(series, { finalizedBefore: new Date('2026-03-06T11:30:00Z') });
    for (const key of ['m1#traffic#h#2026030609', 'm1#traffic#h#2026030610', 'm1#traffic#h#2026030611', 'm1#traffic#d#20260306']) await writer.put({ key, cells: { visitors: 1 } });
    await writer.remove('m1#traffic#h#2026030605');
    await writer.flush();
    assert.deepStrictEqual(
      calls.flatMap((c) => c.mutations).map((m) => [m.kind, m.key, m.kind === 'delete_family' ? m.family : '']),
      [
        ['delete_row', 'm1#traffic#h#2026030609', ''],
        ['set', 'm1#traffic#h#2026030609', ''],
        ['delete_row', 'm1#traffic#h#2026030610', ''],
        ['set', 'm1#traffic#h#2026030610', ''],
        // the hour in progress and the day keep their partials: only the mart family is replaced
        ['delete_family', 'm1#traffic#h#2026030611', FAMILY_MART],
        ['set', 'm1#traffic#h#2026030611', ''],
        ['delete_family', 'm1#traffic#d#20260306', FAMILY_MART],
        ['set', 'm1#traffic#d#20260306', ''],
        ['delete_row', 'm1#traffic#h#2026030605', ''],
      ],
    );
    assert.equal(writer.result.retiredPartials, 3);
  });

  it('fails the export with the first failed write, after the writes in flight have finished', async () => {
    const { series, events } = slowSeries({ failOn: 2 });
    const writer = seriesWriter(series, { finalizedBefore: new Date('2026-03-01T00:00:00Z') });
    await assert.rejects(
      (async () => {
        for (let i = 0; i < WRITE_FLOW.mutationsPerCall * 10; i++) await writer.put({ key: hourKey(i), cells: { visitors: i } });
        await writer.flush();
      })(),
      /UNAVAILABLE/,
    );
    const started = events.filter((e) => e.startsWith('start')).length;
    assert.equal(events.filter((e) => e.startsWith('end')).length, started);
    assert.ok(started < 10, events.join(', '));
  });
});
