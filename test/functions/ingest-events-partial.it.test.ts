// ingestEvents with the gcp sink, whose tables are written one after another (BigQuery through a
// fake client whose tables append every row; the dedupe index and journal on the Bigtable
// emulator): what a message that fails part way leaves behind, on its last attempt and after.
import assert from 'node:assert/strict';
import type { BigQuery } from '@google-cloud/bigquery';
import { encodeMessage } from '../../adapters/gcp/bus-codec.js';
import { createBigQueryWarehouse } from '../../adapters/gcp/bigquery-warehouse.js';
import { bigtableClient, dedupeFamilies, ensureTable } from '../../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex } from '../../adapters/gcp/bigtable-dedupe.js';
import { createIngestEventsHandler } from '../../functions/ingest-events.js';
import { createIngestStage } from '../../pipeline/ingest/stage.js';
import type { MessageAttributes } from '../../pipeline/ports.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../adapters/gcp/support/emulators.js';
import { dimensions, order, RECEIVED_AT } from '../pipeline/ingest/fixtures.js';
import { deliver, MemoryLogger, testServer, type PushMessage } from './support.js';

const attributes: MessageAttributes = { source: 'online', key_merchant_id: 'pizzaco' };
const clock = { now: () => new Date('2026-11-21T12:00:02Z') };
const message = (messageId: string, entries: string[]): PushMessage => ({ messageId, ...encodeMessage({ receivedAt: RECEIVED_AT, attributes, entries }) });
const ord = (id: string) => JSON.stringify({ ...order(), event_id: id });

type Rule = (table: string, rows: { json: Record<string, unknown> }[]) => Error | undefined;

/** BigQuery tables that append every row; `rule` may fail an insert (before it takes effect). */
function fakeBigQuery(rule: { current: Rule }) {
  const tables = new Map<string, Record<string, unknown>[]>();
  const bigquery = {
    dataset: () => ({
      table: (id: string) => ({
        insert: async (rows: { json: Record<string, unknown> }[]) => {
          const err = rule.current(id, rows);
          if (err) throw err;
          tables.set(id, [...(tables.get(id) ?? []), ...rows.map((r) => r.json)]);
          return [{}];
        },
      }),
    }),
  } as unknown as BigQuery;
  return { bigquery, tables };
}

/** BigQuery's answer when a request carries a row the table refuses (skipInvalidRows false). */
function partialFailure(): Error {
  const err = new Error('A failure occurred during this request.');
  err.name = 'PartialFailureError';
  return err;
}

/** Each entry's end states as the tables hold them, by (message_id, entry_index). */
function endStates(tables: Map<string, Record<string, unknown>[]>): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  const add = (r: Record<string, unknown>, state: string) => (out[`${String(r.message_id)}/${String(r.entry_index)}`] ??= new Set()).add(state);
  for (const r of tables.get('events') ?? []) add(r, 'accepted');
  for (const r of tables.get('rejected_events') ?? []) add(r, String(r.reason));
  for (const r of tables.get('duplicates') ?? []) add(r, 'duplicate');
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

describe('ingestEvents on the gcp sink when a message fails part way (emulator, fake BigQuery)', function () {
  this.timeout(60_000);
  let n = 0;
  const rule: { current: Rule } = { current: () => undefined };

  before(async () => {
    await useEmulators();
  });

  let dimensionsDown = false;
  async function server() {
    const table = await ensureTable(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE), `partial-dedupe-${++n}`, dedupeFamilies(8 * 86_400));
    const dedupe = createBigtableDedupeIndex(table);
    const { bigquery, tables } = fakeBigQuery(rule);
    const sink = createBigQueryWarehouse({ bigquery, location: 'EU', rawDataset: 'raw' });
    const dims = async () => {
      if (dimensionsDown) throw new Error('dimensions unavailable');
      return dimensions;
    };
    const stage = createIngestStage({
      dimensions: dims,
      dedupe, journal: dedupe, sink, clock });
    const srv = testServer(createIngestEventsHandler({ stage, sink, clock, maxDeliveryAttempts: 5, logger: new MemoryLogger(), journal: dedupe, dedupe, dimensions: dims }));
    return { srv, tables };
  }

  beforeEach(() => {
    rule.current = () => undefined;
    dimensionsDown = false;
  });

  it('keeps the end state an earlier attempt stored when the last attempt fails, rejecting nothing twice', async () => {
    const { srv, tables } = await server();
    const m = message('9101', [ord('ord-1'), '{broken']);
    // raw.events is written, raw.rejected_events is down: attempts 1-4 fail after storing the accepted row.
    rule.current = (table) => (table === 'rejected_events' ? new Error('backendError') : undefined);
    for (let attempt = 1; attempt <= 4; attempt++) assert.equal((await deliver(srv, 'push', m, attempt)).status, 500);
    // The last attempt's own write fails once more; its settlement then finds the table back.
    let once = true;
    rule.current = (table) => (table === 'rejected_events' && once ? ((once = false), new Error('timeout')) : undefined);
    const last = await deliver(srv, 'push', m, 5);
    assert.deepEqual([last.status, last.body.outcome, last.body.accepted, last.body.rejected], [200, 'processing_failed', 1, { invalid_json: 1 }]);
    assert.deepEqual(endStates(tables), { '9101/0': ['accepted'], '9101/1': ['invalid_json'] });
  });

  it('gives back the claim of an event its message never stored, so the client\'s resend is accepted', async () => {
    const { srv, tables } = await server();
    // BigQuery refuses the message's raw.events row on every attempt (a row the table will never take).
    rule.current = (table, rows) => (table === 'events' && rows.some((r) => r.json.message_id === '9201') ? partialFailure() : undefined);
    const m = message('9201', [ord('ord-9')]);
    for (let attempt = 1; attempt <= 4; attempt++) assert.equal((await deliver(srv, 'push', m, attempt)).status, 500);
    const last = await deliver(srv, 'push', m, 5);
    assert.deepEqual([last.status, last.body.rejected], [200, { processing_failed: 1 }]);
    const resend = await deliver(srv, 'push', message('9202', [ord('ord-9')]), 1);
    assert.deepEqual([resend.status, resend.body.accepted, resend.body.duplicates], [200, 1, 0]);
    assert.deepEqual(endStates(tables), { '9201/0': ['processing_failed'], '9202/0': ['accepted'] });
  });

  it('holds a copy of an event whose owner has not stored it yet, then records it as a duplicate once it has', async () => {
    const { srv, tables } = await server();
    // The owner's raw.events write fails on its first attempt, after its claim.
    let down = true;
    rule.current = (table) => (table === 'events' && down ? new Error('timeout') : undefined);
    assert.equal((await deliver(srv, 'push', message('9301', [ord('ord-5')]), 1)).status, 500);
    rule.current = () => undefined;
    down = false;
    // A copy arriving meanwhile is not a duplicate of an event that may never be stored: it is retried.
    const early = await deliver(srv, 'push', message('9302', [ord('ord-5')]), 1);
    assert.equal(early.status, 500);
    assert.equal((await deliver(srv, 'push', message('9301', [ord('ord-5')]), 2)).status, 200);
    const later = await deliver(srv, 'push', message('9302', [ord('ord-5')]), 2);
    assert.deepEqual([later.status, later.body.duplicates], [200, 1]);
    assert.deepEqual(endStates(tables), { '9301/0': ['accepted'], '9302/0': ['duplicate'] });
  });

  it('writes nothing more when a settled message is delivered again', async () => {
    const { srv, tables } = await server();
    const m = message('9401', [ord('ord-1'), '{broken']);
    dimensionsDown = true;
    for (let attempt = 1; attempt <= 4; attempt++) assert.equal((await deliver(srv, 'push', m, attempt)).status, 500);
    assert.deepEqual((await deliver(srv, 'push', m, 5)).body.rejected, { processing_failed: 2 });
    // At-least-once: the acknowledged message comes again, everything up now.
    dimensionsDown = false;
    const again = await deliver(srv, 'push', m, 1);
    assert.deepEqual([again.status, again.body.accepted, again.body.rejected], [200, 0, { processing_failed: 2 }]);
    assert.deepEqual(endStates(tables), { '9401/0': ['processing_failed'], '9401/1': ['processing_failed'] });
  });
});
