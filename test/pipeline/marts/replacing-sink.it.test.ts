import assert from 'node:assert/strict';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { CLEAR_CHUNK_STATEMENTS, CLEAR_MESSAGE_STATEMENTS, clearChunkRows, clearMessageRows, messagesOf, replacingSink } from '../../../pipeline/marts/replacing-sink.js';
import { analysisOutcomes } from '../../support/zetasql/analyze.js';
import type { IngestWrite, SqlParams } from '../../../pipeline/ports.js';
import { loadDimensions, loadEvents, openWarehouse, order, withChunkLiterals } from './support.js';

const DIMENSIONS = {
  merchants: [{ id: 'm1', name: 'M1', time_zone: 'Europe/Berlin', currency: 'EUR' }],
  stores: [{ id: 's1', merchant_id: 'm1', name: 'S1', city: 'Berlin', region: 'BE' }],
  fraud_ips: [],
};
const RECEIVED = '2026-11-20T10:30:00.000Z';

describe('replacing sink (re-validation on BigQuery)', () => {
  let wh: LocalWarehouse;
  beforeEach(async () => {
    wh = await openWarehouse();
    const dims = await loadDimensions(wh, DIMENSIONS);
    await loadEvents(wh, dims, [
      { event: order({ merchant: 'm1', store: 's1', at: '2026-11-20T10:00:00Z', currency: 'EUR', eventId: 'a1', lines: [{ sku: 'x', quantity: 1, unit_price_minor: 100 }, { sku: 'y', quantity: 1, unit_price_minor: 200 }] }), messageId: 'A', receivedAt: RECEIVED },
      { event: order({ merchant: 'm1', store: 's1', at: '2026-11-20T10:10:00Z', currency: 'EUR', eventId: 'b1' }), messageId: 'B', receivedAt: RECEIVED },
    ]);
    for (const [m, i] of [['A', 1], ['B', 1]] as const) {
      await wh.run(
        `insert into raw.rejected_events (message_id, entry_index, reason, detail, merchant_id, event_id, event_type, source, payload, received_at, rejected_at)
         values (@m, @i, 'unknown_store', null, 'm1', 'r1', 'order', 'pos', '{}', @r, @r)`,
        { m, i, r: new Date(RECEIVED) },
      );
    }
  });
  afterEach(async () => wh.close());

  const counts = async () =>
    wh.query<{ t: string; message_id: string; n: number }>(
      `select 'events' as t, message_id, count(*) as n from raw.events group by message_id
       union all select 'order_lines', e.message_id, count(*) from raw.order_lines l join raw.events e using (merchant_id, event_id) group by e.message_id
       union all select 'rejected', message_id, count(*) from raw.rejected_events group by message_id
       union all select 'arrivals', message_id, count(*) from raw.arrivals group by message_id
       order by 1, 2`,
    );

  it('deletes every row of the named message, order lines included, and no other message’s', async () => {
    assert.deepEqual((await counts()).map((r) => [r.t, r.message_id, Number(r.n)]), [
      ['arrivals', 'A', 1], ['arrivals', 'B', 1], ['events', 'A', 1], ['events', 'B', 1], ['order_lines', 'A', 2], ['order_lines', 'B', 1], ['rejected', 'A', 1], ['rejected', 'B', 1],
    ]);
    await clearMessageRows(wh, [{ id: 'A', receivedAt: new Date(RECEIVED) }]);
    assert.deepEqual((await counts()).map((r) => [r.t, r.message_id, Number(r.n)]), [
      ['arrivals', 'B', 1], ['events', 'B', 1], ['order_lines', 'B', 1], ['rejected', 'B', 1],
    ]);
  });

  it('clears the messages a write names, then hands the write on', async () => {
    const writes: IngestWrite[] = [];
    const rejected = { message_id: 'A', entry_index: 0, reason: 'unknown_store' as const, detail: null, merchant_id: 'm1', event_id: 'a1', event_type: 'order', source: 'pos' as const, payload: '{}', received_at: new Date(RECEIVED), rejected_at: new Date(RECEIVED) };
    const batch: IngestWrite = { accepted: [], orderLines: [], rejected: [rejected], duplicates: [], arrivals: [] };
    assert.deepEqual(messagesOf(batch), [{ id: 'A', receivedAt: new Date(RECEIVED) }]);
    await replacingSink(wh, { write: async (b) => void writes.push(b) }).write(batch);
    assert.deepEqual(writes, [batch]);
    assert.deepEqual((await counts()).map((r) => r.message_id), ['B', 'B', 'B', 'B']);
  });
  it('bounds the event-time tables by the configured reprocessing horizon before the message\'s receipt', async () => {
    const bound: [string, unknown][] = [];
    const counted = { run: (sql: string, params?: SqlParams) => (bound.push([sql.split('\n')[0]!, params?.horizon_start]), wh.run(sql, params)), query: wh.query.bind(wh) };
    const rejected = { message_id: 'A', entry_index: 0, reason: 'unknown_store' as const, detail: null, merchant_id: 'm1', event_id: 'a1', event_type: 'order', source: 'pos' as const, payload: '{}', received_at: new Date(RECEIVED), rejected_at: new Date(RECEIVED) };
    await replacingSink(counted, { write: async () => {} }, { horizonDays: 30 }).write({ accepted: [], orderLines: [], rejected: [rejected], duplicates: [], arrivals: [] });
    const horizon = new Date(Date.parse(RECEIVED) - 30 * 24 * 3_600_000);
    assert.deepEqual(bound, [
      ['delete from raw.order_lines', horizon],
      ['delete from raw.events where message_id = @message_id and event_ts >= @horizon_start', horizon],
      ['delete from raw.rejected_events where message_id = @message_id and received_at = @received_at', undefined],
      ['delete from raw.duplicates where message_id = @message_id and received_at = @received_at', undefined],
      ['delete from raw.arrivals where message_id = @message_id and received_at = @received_at', undefined],
    ]);
    assert.deepEqual((await counts()).map((r) => r.message_id), ['B', 'B', 'B', 'B']);
  });

  const CHUNK = { receivedFrom: new Date(RECEIVED), receivedTo: new Date(RECEIVED), eventsFrom: new Date('2026-11-20T10:00:00Z'), eventsTo: new Date('2026-11-20T10:30:00Z') };

  it('clears a chunk of messages with one statement per table, within the chunk\'s partitions', async () => {
    const statements: string[] = [];
    const counted = { run: (sql: string, params?: SqlParams) => (statements.push(sql), wh.run(sql, params)), query: wh.query.bind(wh) };
    await clearChunkRows(counted, { ids: ['A', 'C'], ...CHUNK });
    assert.deepEqual(statements, CLEAR_CHUNK_STATEMENTS);
    assert.deepEqual((await counts()).map((r) => [r.t, r.message_id, Number(r.n)]), [
      ['arrivals', 'B', 1], ['events', 'B', 1], ['order_lines', 'B', 1], ['rejected', 'B', 1],
    ]);
    // An event outside the chunk's event bound is not the chunk's: B's order (10:10) stays when the bound ends at 10:05.
    await clearChunkRows(wh, { ids: ['B'], ...CHUNK, eventsTo: new Date('2026-11-20T10:05:00Z') });
    assert.deepEqual((await counts()).map((r) => [r.t, r.message_id, Number(r.n)]), [['events', 'B', 1], ['order_lines', 'B', 1]]);
  });

  it('writes a message cleared ahead without deleting again, and clears a second write of it on its own', async () => {
    const statements: string[] = [];
    const counted = { run: (sql: string, params?: SqlParams) => (statements.push(sql.split('\n')[0]!), wh.run(sql, params)), query: wh.query.bind(wh) };
    const writes: IngestWrite[] = [];
    const sink = replacingSink(counted, { write: async (b) => void writes.push(b) });
    await sink.clearAhead({ ids: ['A', 'B'], ...CHUNK });
    assert.equal(statements.length, CLEAR_CHUNK_STATEMENTS.length);
    const rejected = { message_id: 'A', entry_index: 0, reason: 'unknown_store' as const, detail: null, merchant_id: 'm1', event_id: 'a1', event_type: 'order', source: 'pos' as const, payload: '{}', received_at: new Date(RECEIVED), rejected_at: new Date(RECEIVED) };
    const batch: IngestWrite = { accepted: [], orderLines: [], rejected: [rejected], duplicates: [], arrivals: [] };
    await sink.write(batch);
    assert.equal(statements.length, CLEAR_CHUNK_STATEMENTS.length);
    await sink.write(batch); // a retry: A was written since it was cleared
    assert.deepEqual(statements.slice(CLEAR_CHUNK_STATEMENTS.length), CLEAR_MESSAGE_STATEMENTS.map((sql) => sql.split('\n')[0]!));
    assert.deepEqual(writes, [batch, batch]);
  });
});

describe('replacing sink statements analyzed by ZetaSQL (BigQuery language options)', function () {
  this.timeout(60_000);
  it('analyzes every delete against the raw tables', async () => {
    // The analyzer declares only the window parameters: the message's and the chunk's parameters are bound as literals.
    const files = [
      ...CLEAR_MESSAGE_STATEMENTS.map((sql, i) => ({
        path: `replacing-sink-${i}.sql`,
        sql: sql.replaceAll('@message_id', "'msg-1'").replaceAll('@received_at', "timestamp '2026-11-20 10:30:00+00'"),
      })),
      ...CLEAR_CHUNK_STATEMENTS.map((sql, i) => ({
        path: `replacing-sink-chunk-${i}.sql`,
        sql: withChunkLiterals(sql),
      })),
    ];
    assert.deepEqual(await analysisOutcomes(files), files.map(() => 'ok'));
  });
});
