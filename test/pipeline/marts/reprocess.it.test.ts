// Re-validation at scale: the stored end states of archived messages are looked up a chunk of
// messages at a time (one query per raw table per chunk, counted through a wrapping warehouse), with
// the same report as one message at a time; raw.events is bounded by the chunk's raw.arrivals hours
// and the clock rule, so rows accepted under an older rule, and backfill rows, are still found.
import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import type { Dimensions } from '../../../pipeline/contracts/dimensions.js';
import { createIngestStage } from '../../../pipeline/ingest/stage.js';
import type { ChunkRows } from '../../../pipeline/marts/replacing-sink.js';
import { REVALIDATE_LOOKUPS, revalidate } from '../../../pipeline/marts/reprocess.js';
import type { ArchiveReader, Clock, InboundMessage, SqlParams, Warehouse } from '../../../pipeline/ports.js';
import { analysisOutcomes } from '../../support/zetasql/analyze.js';
import { loadDimensions, loadEvents, openWarehouse, order, withChunkLiterals } from './support.js';

const DIMS = {
  merchants: [{ id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' }],
  stores: [{ id: 's1', merchant_id: 'm_ny', name: 'Midtown', city: 'New York', region: 'NY' }],
};
const DAY_MS = 86_400_000;
const at = (iso: string): Clock => ({ now: () => new Date(iso) });
const iso = (d: Date) => d.toISOString();

const archiveOf = (messages: InboundMessage[]): ArchiveReader => ({
  async *read(range) {
    for (const m of messages) if (m.receivedAt >= range.from && m.receivedAt < range.to) yield m;
  },
});

/** The warehouse as revalidate sees it, with every query it issues recorded (first line). */
function counting(wh: Warehouse): { warehouse: Warehouse; queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    warehouse: {
      run: (sql: string, params?: SqlParams) => wh.run(sql, params),
      query: <T>(sql: string, params?: SqlParams) => {
        queries.push(/from (raw\.\w+)/.exec(sql)?.[1] ?? sql);
        return wh.query<T>(sql, params);
      },
    },
  };
}

describe('reprocess --revalidate look-ups', function () {
  let wh: LocalWarehouse;
  let dims: Dimensions;

  beforeEach(async () => {
    wh = await openWarehouse();
    dims = await loadDimensions(wh, DIMS);
  });
  afterEach(async () => {
    await wh.close();
  });

  const stage = (maxEventAgeMs: number) => createIngestStage({ dimensions: async () => dims, dedupe: wh, sink: wh, clock: at('2026-03-06T12:00:00Z'), config: { maxEventAgeMs } });

  /** Seven messages received a minute apart, each with a two-day-old order and a fresh one. */
  const messages = (): InboundMessage[] =>
    Array.from({ length: 7 }, (_, i) => {
      const received = new Date(Date.parse('2026-03-06T09:00:00Z') + i * 60_000);
      const old = order({ merchant: 'm_ny', store: 's1', at: iso(new Date(received.getTime() - 2 * DAY_MS)), currency: 'USD', eventId: `old-${i}` });
      const fresh = order({ merchant: 'm_ny', store: 's1', at: iso(new Date(received.getTime() - 60_000)), currency: 'USD', eventId: `fresh-${i}` });
      return { id: `arch-${i}`, receivedAt: received, attributes: { source: 'pos' }, entries: [JSON.stringify(old), JSON.stringify(fresh)], deliveryAttempt: 1 };
    });
  const RANGE = { from: new Date('2026-03-06T09:00:00Z'), to: new Date('2026-03-06T10:00:00Z') };
  const EXPECTED_REPORT = { messages: 7, entries: 14, moved: { 'rejected:event_too_old→accepted': 7 } };
  const EXPECTED_HOURS = ['2026-03-04T09:00:00.000Z', '2026-03-06T08:00:00.000Z', '2026-03-06T09:00:00.000Z'];

  it('looks the stored states up once per chunk of messages, not once per message, with the same report', async () => {
    const cases: [{ messages: number; entries: number }, number][] = [
      [{ messages: 1, entries: 1000 }, 7], // one message at a time, as before
      [{ messages: 3, entries: 1000 }, 3], // 3 + 3 + 1
      [{ messages: 500, entries: 5 }, 4], // two messages (4 entries) fit, a third would make 6
      [{ messages: 500, entries: 50_000 }, 1],
    ];
    for (const [size, chunks] of cases) {
      // First ingest with a one-day maximum age rejects every old order; re-validation with seven days accepts it.
      for (const m of messages()) await stage(DAY_MS)(m);
      const { warehouse, queries } = counting(wh);
      const cleared: string[][] = [];
      const clearAhead = async (c: ChunkRows) => void cleared.push(c.ids);
      const result = await revalidate({ warehouse, archive: archiveOf(messages()), stage: stage(7 * DAY_MS), dedupe: wh, clearAhead }, RANGE, size);
      assert.deepStrictEqual(result.report, EXPECTED_REPORT, JSON.stringify(size));
      assert.deepStrictEqual(result.touchedHours.map(iso), EXPECTED_HOURS, JSON.stringify(size));
      const perChunk = ['raw.arrivals', 'raw.events', 'raw.rejected_events', 'raw.duplicates'];
      assert.deepStrictEqual(queries, Array.from({ length: chunks }, () => perChunk).flat(), JSON.stringify(size));
      // The sink is told each chunk once, after its look-ups (gcp: one delete per table per chunk).
      assert.deepStrictEqual([cleared.length, cleared.flat()], [chunks, messages().map((m) => m.id)], JSON.stringify(size));
    }
  });

  it('reads each message\'s state after the earlier write of the same message id when the archive holds it twice', async () => {
    const [m] = messages();
    await stage(DAY_MS)(m!);
    const { warehouse, queries } = counting(wh);
    // The second copy's look-up must see the first copy's re-validated rows: a new chunk starts at the repeat.
    const result = await revalidate({ warehouse, archive: archiveOf([m!, { ...m!, deliveryAttempt: 2 }]), stage: stage(7 * DAY_MS), dedupe: wh }, RANGE);
    assert.deepStrictEqual(result.report, { messages: 2, entries: 4, moved: { 'rejected:event_too_old→accepted': 1 } });
    assert.equal(queries.length, 8);
  });

  it('resumes after a crash from the shard after the last one finished', async () => {
    for (const m of messages()) await stage(DAY_MS)(m);
    // Three shards (archive objects): arch-0..2, arch-3..5, arch-6.
    const shards = [messages().slice(0, 3), messages().slice(3, 6), messages().slice(6)];
    const readFrom: (string | undefined)[] = [];
    const archive: ArchiveReader = {
      read: () => {
        throw new Error('a sharded archive is read shard by shard');
      },
      async *readShards(_range, o) {
        readFrom.push(o?.after);
        for (const [i, messages] of shards.entries()) if (o?.after === undefined || `shard-${i}` > o.after) yield { shard: `shard-${i}`, messages };
      },
    };
    let saved: string | undefined;
    const checkpoint = { load: async () => saved, save: async (s: string) => void (saved = s) };
    const good = stage(7 * DAY_MS);
    // The job dies on arch-4, in the second shard, after arch-3 was already re-validated.
    const crashing = async (m: InboundMessage) => {
      if (m.id === 'arch-4') throw new Error('instance lost');
      return good(m);
    };
    await assert.rejects(revalidate({ warehouse: wh, archive, stage: crashing, dedupe: wh, checkpoint }, RANGE), /instance lost/);
    assert.equal(saved, 'shard-0');
    const resumed = await revalidate({ warehouse: wh, archive, stage: good, dedupe: wh, checkpoint }, RANGE);
    assert.deepStrictEqual(readFrom, [undefined, 'shard-0']);
    assert.equal(saved, 'shard-2');
    // arch-3 is re-run (its shard had not finished): its rows are already accepted, so it does not move again.
    assert.deepStrictEqual(resumed.report, { messages: 4, entries: 8, moved: { 'rejected:event_too_old→accepted': 3 } });
    assert.deepStrictEqual(await wh.query("select count(*) as n from raw.events where event_id like 'old-%'"), [{ n: 7 }]);
    assert.deepStrictEqual(await wh.query("select count(*) as n from raw.rejected_events where message_id like 'arch-%'"), [{ n: 0 }]);
  });

  it('finds rows accepted under an older, looser clock rule through raw.arrivals and moves them out', async () => {
    // Accepted when the maximum age was seven days: an order five days old.
    const received = '2026-03-06T09:30:00Z';
    await loadEvents(wh, dims, [{ event: order({ merchant: 'm_ny', store: 's1', at: '2026-03-01T09:10:00Z', currency: 'USD', eventId: 'five-days' }), messageId: 'arch-old', receivedAt: received }]);
    const msg: InboundMessage = {
      id: 'arch-old',
      receivedAt: new Date(received),
      attributes: { source: 'pos' },
      entries: [JSON.stringify(order({ merchant: 'm_ny', store: 's1', at: '2026-03-01T09:10:00Z', currency: 'USD', eventId: 'five-days' }))],
      deliveryAttempt: 1,
    };
    // Now one day: the look-up's clock bound alone (one day before received_at) would miss the row.
    const result = await revalidate({ warehouse: wh, archive: archiveOf([msg]), stage: stage(DAY_MS), dedupe: wh, limits: { maxEventAgeMs: DAY_MS, futureSkewMs: 0 } }, RANGE);
    assert.deepStrictEqual(result.report, { messages: 1, entries: 1, moved: { 'accepted→rejected:event_too_old': 1 } });
    assert.deepStrictEqual(result.touchedHours.map(iso), ['2026-03-01T09:00:00.000Z']);
    assert.deepStrictEqual(await wh.query("select count(*) as n from raw.events where message_id = 'arch-old'"), [{ n: 0 }]);
  });

  it('looks a backfill message raw.arrivals does not know up over the reprocessing horizon', async () => {
    const received = '2026-03-06T09:30:00Z';
    const old = order({ merchant: 'm_ny', store: 's1', at: '2025-12-01T15:00:00Z', currency: 'USD', eventId: 'backfilled' });
    await loadEvents(wh, dims, [{ event: old, messageId: 'arch-bf', receivedAt: received }]);
    await wh.run("delete from raw.arrivals where message_id = 'arch-bf'");
    // The archived payload no longer parses: the stored accepted row must be found to report its move.
    const msg: InboundMessage = { id: 'arch-bf', receivedAt: new Date(received), attributes: { source: 'pos', backfill: '1' }, entries: ['{'], deliveryAttempt: 1 };
    const result = await revalidate({ warehouse: wh, archive: archiveOf([msg]), stage: stage(7 * DAY_MS), dedupe: wh }, RANGE);
    assert.deepStrictEqual(result.report, { messages: 1, entries: 1, moved: { 'accepted→rejected:invalid_json': 1 } });
    assert.deepStrictEqual(result.touchedHours.map(iso), ['2025-12-01T15:00:00.000Z']);
  });
});

describe('re-validation look-ups analyzed by ZetaSQL (BigQuery language options)', function () {
  this.timeout(60_000);
  it('analyzes every look-up against the raw tables', async () => {
    // The analyzer declares only the window parameters: the chunk's parameters are bound as literals.
    const files = Object.entries(REVALIDATE_LOOKUPS).map(([name, sql]) => ({
      path: `revalidate-${name}.sql`,
      sql: withChunkLiterals(sql),
    }));
    assert.deepEqual(await analysisOutcomes(files), files.map(() => 'ok'));
  });
});
