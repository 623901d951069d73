// The export log: which merchant ranges of a run are exported, and which earlier runs an export
// writes again (those the log does not cover; with an empty log, those after the newest complete run).
import assert from 'node:assert/strict';
import { covers, unexportedRuns } from '../../../pipeline/marts/export-log.js';
import type { SqlParams, Warehouse } from '../../../pipeline/ports.js';

describe('export log', () => {
  it('covers a range only when logged ranges tile it without a gap, the open end included', () => {
    const logged = [{ merchantFrom: '', merchantTo: 'm' }, { merchantFrom: 'k', merchantTo: 't' }, { merchantFrom: 't' }];
    assert.equal(covers(logged, { merchantFrom: '' }), true);
    assert.equal(covers(logged, { merchantFrom: 'b', merchantTo: 'p' }), true);
    assert.equal(covers([{ merchantFrom: '', merchantTo: 'm' }, { merchantFrom: 'n' }], { merchantFrom: '' }), false, 'm itself is not covered');
    assert.equal(covers([{ merchantFrom: '', merchantTo: 'm' }], { merchantFrom: 'a' }), false, 'nothing past m');
    assert.equal(covers([], { merchantFrom: 'a', merchantTo: 'a' }), true, 'an empty range');
    assert.equal(covers([], { merchantFrom: '' }), false);
  });

  /** A warehouse answering the runs and the log of the look-back. */
  function warehouseOf(runs: { run_id: string; started_at: Date; complete: boolean }[], logged: { run_id: string; run_started_at: Date; merchant_from: string; merchant_to: string | null }[]) {
    const asked: { sql: string; params?: SqlParams }[] = [];
    const warehouse: Warehouse = {
      async run() {},
      async query<T>(sql: string, params?: SqlParams) {
        asked.push({ sql, ...(params ? { params } : {}) });
        return (/from marts\.mart_runs/.test(sql) ? runs : /from marts\.mart_exports/.test(sql) ? logged : []) as T[];
      },
    };
    return { warehouse, asked };
  }
  const at = (h: number) => new Date(Date.UTC(2026, 2, 6, h, 10));
  const window = { since: at(0), before: at(20) };

  it('answers every run of the look-back with the ranges logged for it, reading both tables by their partitions', async () => {
    const { warehouse, asked } = warehouseOf(
      [
        { run_id: 'r1', started_at: at(10), complete: true },
        { run_id: 'r2', started_at: at(11), complete: false },
        { run_id: 'r3', started_at: at(12), complete: true },
      ],
      [
        { run_id: 'r1', run_started_at: at(10), merchant_from: '', merchant_to: null },
        { run_id: 'r3', run_started_at: at(12), merchant_from: '', merchant_to: 'm' },
      ],
    );
    assert.deepStrictEqual(await unexportedRuns(warehouse, window), [
      { runId: 'r1', startedAt: at(10), complete: true, logged: [{ merchantFrom: '' }] },
      { runId: 'r2', startedAt: at(11), complete: false, logged: [] },
      { runId: 'r3', startedAt: at(12), complete: true, logged: [{ merchantFrom: '', merchantTo: 'm' }] },
    ]);
    assert.match(asked[0]!.sql, /where kind = 'scheduled' and started_at >= @since and started_at < @before/);
    assert.match(asked[1]!.sql, /where run_started_at >= @since and run_started_at < @before/);
    assert.deepStrictEqual(asked.map((a) => a.params), [window, window]);
  });

  it('takes no run as exported that the log does not hold: a first run that died in its export, or a run older than every logged one', async () => {
    // r2 rebuilt and recorded its watermarks, then died in its export before anything was logged.
    const { warehouse } = warehouseOf(
      [
        { run_id: 'r1', started_at: at(10), complete: false },
        { run_id: 'r2', started_at: at(11), complete: true },
        { run_id: 'r3', started_at: at(12), complete: false },
      ],
      [],
    );
    assert.deepStrictEqual((await unexportedRuns(warehouse, window)).map((r) => r.runId), ['r1', 'r2', 'r3']);
    const kept = warehouseOf(
      [
        { run_id: 'r1', started_at: at(10), complete: true },
        { run_id: 'r2', started_at: at(11), complete: false },
        { run_id: 'r3', started_at: at(12), complete: true },
      ],
      [{ run_id: 'r2', run_started_at: at(11), merchant_from: '', merchant_to: null }],
    );
    assert.deepStrictEqual((await unexportedRuns(kept.warehouse, window)).map((r) => [r.runId, r.logged.length]), [['r1', 0], ['r2', 1], ['r3', 0]]);
  });
});
