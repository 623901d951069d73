// One task of the export job: the windows a finished run recorded, exported for the task's range of
// merchants, so the tasks of one execution together write exactly what one unsharded export writes.
import assert from 'node:assert/strict';
import { createRunExporter, runIdsOf } from '../../../services/export-job/export-run.js';
import type { FinishedRun } from '../../../services/export-job/run.js';
import { discardingSeriesStore } from '../../../pipeline/marts/dry-run.js';
import { clearsMart } from '../../pipeline/marts/series-writes.js';
import type { SeriesMutation, SeriesStore, SqlParams, Warehouse } from '../../../pipeline/ports.js';

describe('export job run exporter', () => {
  it('finds the mart runs the scheduled query recorded between its scheduled time and its end', async () => {
    const asked: { sql: string; params?: SqlParams }[] = [];
    const warehouse: Warehouse = {
      async run() {},
      async query<T>(sql: string, params?: SqlParams) {
        asked.push({ sql, ...(params ? { params } : {}) });
        return [{ run_id: 'r-1' }] as T[];
      },
    };
    const run: FinishedRun = { name: 'r', state: 'SUCCEEDED', runTime: new Date('2026-11-21T12:05:00Z'), endTime: null };
    assert.deepEqual(await runIdsOf(warehouse, run, new Date('2026-11-21T12:09:00Z')), ['r-1']);
    assert.deepEqual(asked[0]!.params, { run_time: new Date('2026-11-21T12:05:00Z'), run_end: new Date('2026-11-21T12:09:00Z') });
    assert.match(asked[0]!.sql, /from marts\.mart_runs/);
  });

  /**
   * A run that rebuilt one traffic hour of four merchants; the fake warehouse answers the merchant
   * range of a query as BigQuery would (shard_from <= merchant_id < shard_to), and every merchant
   * held a traffic bucket of another hour before the rebuild, which vanished.
   */
  function shardedRun() {
    const merchants = ['acme', 'm1', 'm2', 'zeta'];
    const queries: { sql: string; params?: SqlParams }[] = [];
    const inShard = (m: string, params?: SqlParams) => params?.shard_from === undefined || (m >= (params.shard_from as string) && m < (params.shard_to as string));
    const warehouse: Warehouse = {
      async run() {},
      async query<T>(sql: string, params?: SqlParams) {
        queries.push({ sql, ...(params ? { params } : {}) });
        if (/select distinct run_id/.test(sql)) return [{ run_id: 'r-1' }] as T[];
        if (/from marts\.mart_runs\s+where run_id = @run_id/.test(sql)) {
          return [
            {
              mart: 'mart_hourly_traffic',
              window_start: new Date('2026-11-21T10:00:00Z'),
              window_end: new Date('2026-11-21T11:00:00Z'),
              all_from: new Date('2026-11-21T13:00:00Z'),
              merchants,
              cells: merchants.map((m) => `${m}|2026-11-21T10`),
              finalized_through: new Date('2026-11-21T12:00:00Z'),
            },
          ] as T[];
        }
        // The exporter's change queries (pipeline/marts/changes.ts): the snapshot's rows the rebuild removed, then the changed rows.
        if (/\nwhere c\.row_hash is null$/.test(sql)) {
          return merchants.filter((m) => inShard(m, params)).map((m) => ({ merchant_id: m, hour_start: new Date('2026-11-21T09:00:00Z') })) as T[];
        }
        if (/as row_changed\s+from current_rows/.test(sql)) {
          return merchants.filter((m) => inShard(m, params)).map((m) => ({ merchant_id: m, hour_start: new Date('2026-11-21T10:00:00Z'), visitors: 1, sessions: 1, page_views: 2, row_changed: true })) as T[];
        }
        if (/from dims\.merchants/.test(sql)) return merchants.filter((m) => inShard(m, params)).map((m) => ({ merchant_id: m, name: m, time_zone: 'UTC', currency: 'EUR' })) as T[];
        return [] as T[];
      },
    };
    return { warehouse, queries };
  }
  const run: FinishedRun = { name: 'r', state: 'SUCCEEDED', runTime: new Date('2026-11-21T12:05:00Z'), endTime: new Date('2026-11-21T12:07:00Z') };
  const now = () => new Date('2026-11-21T12:09:00Z');

  async function exportAs(shard: { index: number; count: number }) {
    const { warehouse, queries } = shardedRun();
    const mutations: SeriesMutation[] = [];
    const documents: string[] = [];
    const finalized: Date[] = [];
    const series: SeriesStore = { ...discardingSeriesStore, mutate: async (ms) => void mutations.push(...ms), putDocument: async (k) => void documents.push(k) };
    const summary = await createRunExporter({ warehouse, series, now, onFinalized: async (d) => void finalized.push(d) })(run, shard);
    const written = mutations.filter((m) => m.kind === 'set').map((m) => m.key).sort();
    const deleted = mutations.filter((m) => clearsMart(m) && !written.includes(m.key)).map((m) => m.key).sort();
    return { summary, written, deleted, documents: [...new Set(documents.map((k) => k.split('#')[0]!))].sort(), finalized, queries };
  }

  it('splits a run between tasks by merchant range: each merchant is exported by exactly one task, and together they write what one task alone writes', async () => {
    const whole = await exportAs({ index: 0, count: 1 });
    const tasks = [await exportAs({ index: 0, count: 2 }), await exportAs({ index: 1, count: 2 })];
    assert.deepEqual(
      tasks.map((t) => ({ written: t.written, deleted: t.deleted, documents: t.documents })),
      [
        { written: ['acme#traffic#h#2026112110', 'm1#traffic#h#2026112110'], deleted: ['acme#traffic#h#2026112109', 'm1#traffic#h#2026112109'], documents: ['acme', 'm1'] },
        { written: ['m2#traffic#h#2026112110', 'zeta#traffic#h#2026112110'], deleted: ['m2#traffic#h#2026112109', 'zeta#traffic#h#2026112109'], documents: ['m2', 'zeta'] },
      ],
    );
    assert.deepEqual([...tasks[0]!.written, ...tasks[1]!.written], whole.written);
    assert.deepEqual([...tasks[0]!.deleted, ...tasks[1]!.deleted], whole.deleted);
    assert.deepEqual(
      tasks.map((t) => t.summary.ranges),
      [[{ merchantFrom: '', merchantTo: 'm2' }], [{ merchantFrom: 'm2' }]],
    );
  });

  it('asks BigQuery for the task\'s merchant range only, so clustered blocks of other merchants are pruned', async () => {
    const { queries } = await exportAs({ index: 1, count: 2 });
    const reads = queries.filter((q) => /from marts\.mart_hourly_traffic\n/.test(q.sql));
    assert.equal(reads.length, 2, 'the vanished and the changed rows');
    for (const mart of reads) {
      // both the mart's rows and the snapshot's, each by the range of its leading clustering column
      assert.match(mart.sql, /from marts\.mart_hourly_traffic\n\s*where [^\n]* and merchant_id >= @shard_from and merchant_id < @shard_to\n/);
      assert.match(mart.sql, /from marts\.mart_run_rows\n\s*where [^\n]* and merchant_id >= @shard_from and merchant_id < @shard_to\n/);
      assert.deepEqual([mart.params?.shard_from, mart.params?.shard_to], ['m2', String.fromCodePoint(0x10ffff)]);
    }
  });

  it('runs the mart alert rules in the first task only, once per execution', async () => {
    const tasks = [await exportAs({ index: 0, count: 3 }), await exportAs({ index: 1, count: 3 }), await exportAs({ index: 2, count: 3 })];
    assert.deepEqual(tasks.map((t) => t.finalized), [[new Date('2026-11-21T12:00:00Z')], [], []]);
    assert.deepEqual(tasks.map((t) => t.summary.lag_seconds), [540, 540, 540]);
  });
});

