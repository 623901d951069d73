// Crash at every write on gcp (issue 13): the ingestEvents function with the gcp adapters — the
// Bigtable dedupe index and journal and the Bigtable series store (speed layer) on the emulator, the
// BigQuery sink over a fake client whose tables append every row (insertId de-duplication is only
// best effort, so the fake takes the worst case), messages published to and pulled from the Pub/Sub
// emulator. Every port call one message makes is numbered by a fault-injecting wrapper; for each
// call, the call fails (before taking effect, or after it took effect but before its answer came
// back) on one delivery attempt or on every attempt including the last, or the last attempt's
// processing_failed path fails at one of its own calls. The message is then redelivered as the
// subscription would. Counts come from the stores (the fake tables and the emulator), never from
// what the function answered, and are reconciled against what was published.
import assert from 'node:assert/strict';
import type { BigQuery } from '@google-cloud/bigquery';
import { PubSub, type Message } from '@google-cloud/pubsub';
import type { Instance, Table } from '@google-cloud/bigtable';
import { createBigQueryWarehouse } from '../../adapters/gcp/bigquery-warehouse.js';
import { bigtableClient, dedupeFamilies, ensureTable, SERIES_FAMILIES } from '../../adapters/gcp/bigtable.js';
import { createBigtableDedupeIndex } from '../../adapters/gcp/bigtable-dedupe.js';
import { createBigtableSeriesStore } from '../../adapters/gcp/bigtable-series-store.js';
import { createPubSubPublisher } from '../../adapters/gcp/pubsub-bus.js';
import { createIngestEventsHandler } from '../../functions/ingest-events.js';
import { createIngestStage } from '../../pipeline/ingest/stage.js';
import { createPartialWriter, withSpeedLayer } from '../../pipeline/speed/writer.js';
import type { Clock, MessageAttributes } from '../../pipeline/ports.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../adapters/gcp/support/emulators.js';
import { dimensions, inventory, order, pageView, RECEIVED_AT } from '../pipeline/ingest/fixtures.js';
import { deliver, MemoryLogger, testServer } from '../functions/support.js';

const MAX_ATTEMPTS = 5;
const clock: Clock = { now: () => new Date('2026-11-21T12:00:02Z') };
const attributes: MessageAttributes = { source: 'online', key_merchant_id: 'pizzaco' };

// ---------------------------------------------------------------- the workload

const ord = (id: string, over: Record<string, unknown> = {}) => JSON.stringify({ ...order(), event_id: id, ...over });
/** Three messages that between them reach every end state, including copies across messages. */
const WORKLOAD: string[][] = [
  [ord('ord-1'), JSON.stringify(inventory()), '{broken', ord('ord-1'), ord('ord-2'), JSON.stringify({ ...pageView(), merchant_id: 'pizzaco' })],
  [ord('ord-1'), ord('ord-2', { store_id: 's002' }), ord('ord-3'), JSON.stringify({ ...order(), event_id: 'ord-4', store_id: 'nowhere' }), ord('ord-5')],
  [ord('ord-3'), ord('ord-6'), ord('ord-5', { event_ts: '2026-11-21T12:56:00+01:00' }), ord('ord-7')],
];

interface Pulled {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: string;
}

// ---------------------------------------------------------------- fault injection

class Killed extends Error {}

type Fault =
  /** The call throws without taking effect. */
  | { when: 'before' }
  /** The call takes effect, then throws: the answer was lost (a timeout after the server committed). */
  | { when: 'after' };

interface Plan {
  /** The message whose calls are numbered. */
  target: string;
  /** Attempts on which the fault fires (1-based), and the number of the call (1-based, per attempt) that fails. */
  attempts: Set<number>;
  call: number;
  fault: Fault;
}

/** Numbers every port call of the message being delivered, and fails the planned one. */
class Injector {
  plan: Plan | undefined;
  current: { message: string; attempt: number } | undefined;
  calls = 0;
  /** Names of the calls of the current delivery, in order. */
  names: string[] = [];

  startDelivery(message: string, attempt: number) {
    this.current = { message, attempt };
    this.calls = 0;
    this.names = [];
  }

  async around<T>(name: string, call: () => Promise<T>): Promise<T> {
    const n = ++this.calls;
    this.names.push(name);
    const p = this.plan;
    const hit = p && this.current && this.current.message === p.target && p.attempts.has(this.current.attempt) && p.call === n;
    if (hit && p.fault.when === 'before') throw new Killed(`injected failure before call ${n} (${name})`);
    const out = await call();
    if (hit && p.fault.when === 'after') throw new Killed(`injected failure after call ${n} (${name})`);
    return out;
  }

  /** Wraps every function-valued property of a port object. */
  wrap<T extends object>(label: string, port: T): T {
    return new Proxy(port, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => this.around(`${label}.${String(prop)}`, () => (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
  }
}

/** A BigQuery client with just what the sink uses: tables that append every inserted row. */
function fakeBigQuery(injector: Injector) {
  const tables = new Map<string, { insertId: string; json: Record<string, unknown> }[]>();
  const bigquery = {
    dataset: () => ({
      table: (id: string) => ({
        insert: (rows: { insertId: string; json: Record<string, unknown> }[]) =>
          injector.around(`bigquery.insert:${id}`, async () => {
            if (!tables.has(id)) tables.set(id, []);
            tables.get(id)!.push(...rows.map((r) => structuredClone(r)));
            return [{}];
          }),
      }),
    }),
  } as unknown as BigQuery;
  return { bigquery, tables };
}

// ---------------------------------------------------------------- one world

interface World {
  deliverMessage(m: Pulled, attempt: number): Promise<{ status: number; body: Record<string, unknown> }>;
  tables: Map<string, { insertId: string; json: Record<string, unknown> }[]>;
  series: Table;
  injector: Injector;
}

let worlds = 0;
async function world(instance: Instance): Promise<World> {
  const n = ++worlds;
  const injector = new Injector();
  const dedupeTable = await ensureTable(instance, `pf-dedupe-${n}`, dedupeFamilies(8 * 86_400));
  const seriesTable = await ensureTable(instance, `pf-series-${n}`, SERIES_FAMILIES);
  const dedupe = injector.wrap('dedupe', createBigtableDedupeIndex(dedupeTable));
  const series = injector.wrap('series', createBigtableSeriesStore(seriesTable));
  const { bigquery, tables } = fakeBigQuery(injector);
  const sink = createBigQueryWarehouse({ bigquery, location: 'EU', rawDataset: 'raw' });
  const dims = () => injector.around('dimensions.get', async () => dimensions);
  const stage = withSpeedLayer(
    createIngestStage({ dimensions: dims, dedupe, journal: dedupe, sink, clock }),
    createPartialWriter({ series, clock }),
    { maxAttempts: MAX_ATTEMPTS },
  );
  const srv = testServer(
    createIngestEventsHandler({ stage, sink, clock, maxDeliveryAttempts: MAX_ATTEMPTS, logger: new MemoryLogger(), journal: dedupe, dedupe, dimensions: dims }),
  );
  return {
    injector,
    tables,
    series: seriesTable,
    async deliverMessage(m, attempt) {
      injector.startDelivery(m.id, attempt);
      const res = await deliver(srv, 'push', { messageId: m.id, data: m.data, attributes: m.attributes, publishTime: m.publishTime }, attempt);
      return { status: res.status, body: res.body as Record<string, unknown> };
    },
  };
}

/** Delivers as the push subscription does: again after every non-2xx answer, up to the last attempt. */
async function untilAcked(w: World, m: Pulled, firstAttempt = 1): Promise<{ attempts: number; acked: boolean }> {
  for (let attempt = firstAttempt; attempt <= MAX_ATTEMPTS; attempt++) {
    const res = await w.deliverMessage(m, attempt);
    if (res.status === 200) return { attempts: attempt, acked: true };
  }
  return { attempts: MAX_ATTEMPTS, acked: false };
}

// ---------------------------------------------------------------- counts from the stores

type Row = Record<string, unknown>;
const rows = (w: World, table: string): Row[] => (w.tables.get(table) ?? []).map((r) => r.json);
const entryKey = (r: Row) => `${String(r.message_id)}/${String(r.entry_index)}`;

/** One row per key, as the read side keeps it; fails if two rows under one key differ. */
function keyed(list: Row[], key: (r: Row) => string, what: string): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const r of list) {
    const k = key(r);
    const seen = out.get(k);
    if (seen) assert.deepEqual(r, seen, `two different ${what} rows under ${k}`);
    else out.set(k, r);
  }
  return out;
}

interface Stored {
  /** Entry → its end state: 'accepted', 'duplicate' or the rejection reason. */
  states: Map<string, string>;
  counts: { accepted: number; rejected: Record<string, number>; duplicates: number };
  /** The deduplicated rows of every raw table, for comparison with a clean run. */
  tables: Record<string, Row[]>;
}

/**
 * End states read from the stores with the read side's keys: raw.events one row per (merchant_id,
 * event_id) (the staging view), raw.rejected_events and raw.duplicates one row per entry. Every entry
 * must be in exactly one of them.
 */
function stored(w: World): Stored {
  const events = keyed(rows(w, 'events'), (r) => `${String(r.merchant_id)}/${String(r.event_id)}`, 'raw.events');
  const rejected = keyed(rows(w, 'rejected_events'), entryKey, 'raw.rejected_events');
  const duplicates = keyed(rows(w, 'duplicates'), entryKey, 'raw.duplicates');
  const states = new Map<string, string>();
  const put = (k: string, s: string) => {
    assert.equal(states.get(k), undefined, `entry ${k} is both ${states.get(k)} and ${s}`);
    states.set(k, s);
  };
  for (const r of events.values()) put(entryKey(r), 'accepted');
  for (const [k, r] of rejected) put(k, String(r.reason));
  for (const k of duplicates.keys()) put(k, 'duplicate');
  const byReason: Record<string, number> = {};
  for (const r of rejected.values()) byReason[String(r.reason)] = (byReason[String(r.reason)] ?? 0) + 1;
  const sorted = (m: Map<string, Row>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
  const lines = keyed(rows(w, 'order_lines'), (r) => `${String(r.merchant_id)}/${String(r.event_id)}/${String(r.line_index)}`, 'raw.order_lines');
  const arrivals = keyed(rows(w, 'arrivals'), (r) => `${String(r.message_id)}/${String(r.merchant_id)}/${String(r.event_hour)}`, 'raw.arrivals');
  return {
    states,
    counts: { accepted: events.size, rejected: byReason, duplicates: duplicates.size },
    tables: { events: sorted(events), order_lines: sorted(lines), rejected_events: sorted(rejected), duplicates: sorted(duplicates), arrivals: sorted(arrivals) },
  };
}

async function seriesCells(t: Table): Promise<Record<string, unknown>> {
  const [rs] = await t.getRows();
  const out: Record<string, unknown> = {};
  for (const r of rs) {
    const cells: Record<string, unknown> = {};
    // Message cells and markers name the message; provisional values are what a reader sums, so compare the sums.
    for (const [fam, cols] of Object.entries(r.data as Record<string, Record<string, { value: unknown }[]>>)) {
      for (const [q, v] of Object.entries(cols)) {
        const metric = q.split('@')[0]!;
        if (q.startsWith('~') || q.startsWith('!')) continue;
        const k = `${fam}:${metric}`;
        cells[k] = Number(cells[k] ?? 0) + Number(v[0]!.value);
      }
    }
    out[r.id] = cells;
  }
  return out;
}

const published = WORKLOAD.reduce((n, m) => n + m.length, 0);
function assertReconciles(s: Stored, label: string) {
  const rejected = Object.values(s.counts.rejected).reduce((a, b) => a + b, 0);
  assert.equal(s.states.size, published, `${label}: ${s.states.size} of ${published} entries have an end state: ${JSON.stringify(s.counts)}`);
  assert.equal(s.counts.accepted + rejected + s.counts.duplicates, published, `${label}: published ≠ accepted + Σ rejected + duplicates: ${JSON.stringify(s.counts)}`);
}

// ---------------------------------------------------------------- the proof

describe('gcp ingest under a failure at every port call (Pub/Sub and Bigtable emulators, fake BigQuery)', function () {
  this.timeout(600_000);
  let instance: Instance;
  let messages: Pulled[];
  let clean: { stored: Stored; series: Record<string, unknown>; calls: string[][] };

  before(async () => {
    await useEmulators();
    instance = bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE);
    // Published and pulled through the emulator once: every scenario delivers these very messages.
    const pubsub = new PubSub({ projectId: TEST_PROJECT });
    try {
      const topicName = `pf-events-${Date.now()}`;
      const [topic] = await pubsub.createTopic(topicName);
      const [sub] = await topic.createSubscription(`${topicName}-sub`, { ackDeadlineSeconds: 60 });
      const ids = await createPubSubPublisher({ pubsub, topic: topicName, limits: { maxEntries: 10 } }).publish(
        WORKLOAD.map((entries) => ({ receivedAt: RECEIVED_AT, attributes, entries })),
      );
      const pulled = new Map<string, Message>();
      await new Promise<void>((resolve) => {
        sub.on('message', (m: Message) => {
          pulled.set(m.id, m);
          m.ack();
          if (pulled.size === ids.length) resolve();
        });
      });
      await sub.close();
      messages = ids.map((id) => {
        const m = pulled.get(id)!;
        return { id, data: m.data, attributes: m.attributes, publishTime: m.publishTime.toISOString() };
      });
    } finally {
      await pubsub.close();
    }

    const w = await world(instance);
    const calls: string[][] = [];
    for (const m of messages) {
      const res = await w.deliverMessage(m, 1);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      calls.push([...w.injector.names]);
    }
    clean = { stored: stored(w), series: await seriesCells(w.series), calls };
  });

  it('the clean run reaches every end state and reconciles', () => {
    assertReconciles(clean.stored, 'clean');
    assert.deepEqual(clean.stored.counts, { accepted: 8, rejected: { invalid_json: 1, conflicting_duplicate: 2, unknown_store: 1 }, duplicates: 3 });
  });

  /** Runs the workload with a plan against message `target`; the other messages are delivered clean, in publish order. */
  async function run(plan: Plan, deliverTarget: (w: World, m: Pulled) => Promise<void>): Promise<World> {
    const w = await world(instance);
    w.injector.plan = plan;
    for (const m of messages) {
      if (m.id === plan.target) await deliverTarget(w, m);
      else assert.deepEqual(await untilAcked(w, m), { attempts: 1, acked: true });
    }
    return w;
  }

  const faults: Fault[] = [{ when: 'before' }, { when: 'after' }];

  it('ends every entry as a clean run does after a failure at any call of one attempt, however often the message is redelivered', async () => {
    let scenarios = 0;
    for (const [i, target] of messages.entries()) {
      for (let call = 1; call <= clean.calls[i]!.length; call++) {
        for (const fault of faults) {
          for (const attempt of [1, MAX_ATTEMPTS - 1]) {
            const label = `message ${i + 1}, call ${call} (${clean.calls[i]![call - 1]}), ${fault.when}, attempt ${attempt}`;
            const w = await run({ target: target.id, attempts: new Set([attempt]), call, fault }, async (w2, m) => {
              // Attempts before the faulty one are lost on the way (an expired ack deadline): they did nothing.
              const r = await untilAcked(w2, m, attempt);
              assert.equal(r.acked, true, label);
              // At-least-once: the subscription may deliver an acknowledged message again.
              w2.injector.plan = undefined;
              assert.equal((await w2.deliverMessage(m, 1)).status, 200, label);
            });
            const s = stored(w);
            assertReconciles(s, label);
            assert.deepEqual(s.tables, clean.stored.tables, label);
            assert.deepEqual(await seriesCells(w.series), clean.series, label);
            scenarios++;
          }
        }
      }
    }
    // Every call of every message, both faults, a first and a middle attempt.
    assert.equal(scenarios, clean.calls.reduce((n, c) => n + c.length, 0) * faults.length * 2);
  });

  it('on the last attempt rejects as processing_failed exactly the entries no attempt stored, releases their claims, and a resend is accepted', async () => {
    for (const [i, target] of messages.entries()) {
      for (let call = 1; call <= clean.calls[i]!.length; call++) {
        for (const fault of faults) {
          const label = `message ${i + 1}, call ${call} (${clean.calls[i]![call - 1]}), ${fault.when}, every attempt`;
          const all = new Set(Array.from({ length: MAX_ATTEMPTS }, (_, k) => k + 1));
          const w = await run({ target: target.id, attempts: all, call, fault }, async (w2, m) => {
            const r = await untilAcked(w2, m);
            assert.equal(r.acked, true, `${label}: the last attempt settles the message`);
            // A redelivery after the settlement (the fault gone) writes nothing.
            const plan = w2.injector.plan;
            w2.injector.plan = undefined;
            assert.equal((await w2.deliverMessage(m, 1)).status, 200, label);
            w2.injector.plan = plan;
          });
          const s = stored(w);
          assertReconciles(s, label);
          // Every entry keeps the end state of the clean run or is processing_failed; those of other messages are as clean.
          const failed: string[] = [];
          for (const [k, state] of s.states) {
            const want = clean.stored.states.get(k);
            if (state === want) continue;
            if (state === 'processing_failed' && k.startsWith(`${target.id}/`)) failed.push(k);
            else {
              // A later message's copy of an event the target failed to store may now own it.
              const later = messages.findIndex((m) => k.startsWith(`${m.id}/`)) > i;
              assert.ok(later && (want === 'duplicate' || want === 'conflicting_duplicate') && state === 'accepted', `${label}: entry ${k} is ${state}, clean ${want}`);
            }
          }
          // The client sends the failed events again, in a new message: what the clean run accepted is accepted now.
          const entries = failed.map((k) => WORKLOAD[i]![Number(k.split('/')[1])]!);
          const resend: Pulled = { ...target, id: `${target.id}-resend` };
          const { encodeMessage } = await import('../../adapters/gcp/bus-codec.js');
          Object.assign(resend, encodeMessage({ receivedAt: RECEIVED_AT, attributes, entries }));
          w.injector.plan = undefined;
          assert.deepEqual(await untilAcked(w, resend), { attempts: 1, acked: true }, label);
          const after = stored(w);
          failed.forEach((k, j) => {
            const want = clean.stored.states.get(k);
            const got = after.states.get(`${resend.id}/${j}`);
            if (want !== 'accepted') return;
            if (got === 'accepted') return;
            // Unless a later message's copy took the event over when the target gave it up: then a copy of that stored event.
            const eventId = (JSON.parse(entries[j]!) as { event_id: string }).event_id;
            const owner = after.tables.events!.find((r) => r.event_id === eventId);
            assert.ok(
              (got === 'duplicate' || got === 'conflicting_duplicate') && owner && String(owner.message_id) !== target.id && String(owner.message_id) !== resend.id,
              `${label}: resend of ${k} is ${got}, the event stored by ${owner && entryKey(owner)}`,
            );
          });
        }
      }
    }
  });

  it('settles the message when the last attempt\'s processing_failed path itself fails at any of its calls', async () => {
    const target = messages[0]!;
    // The last attempt's stage fails before anything is planned (its first call), or after its plan is
    // recorded (the raw.events insert): the calls after it are the settlement's, with or without rows to write again.
    const stageCalls = [1, clean.calls[0]!.indexOf('bigquery.insert:events') + 1];
    let scenarios = 0;
    for (const stageCall of stageCalls) {
      let settleCalls: string[] = [];
      await run({ target: target.id, attempts: new Set([MAX_ATTEMPTS]), call: stageCall, fault: { when: 'before' } }, async (w2, m) => {
        assert.deepEqual(await untilAcked(w2, m, MAX_ATTEMPTS), { attempts: MAX_ATTEMPTS, acked: true });
        settleCalls = w2.injector.names.slice(stageCall);
      });
      assert.ok(settleCalls.length >= 3, settleCalls.join(', '));
      for (let j = 0; j < settleCalls.length; j++) {
        for (const fault of faults) {
          const label = `stage call ${stageCall}, settlement call ${j + 1} (${settleCalls[j]}), ${fault.when}`;
          const w = await world(instance);
          // Fault 1 (first delivery only): the stage's call; fault 2: the settlement's call j.
          let deliveries = 0;
          const around = w.injector.around.bind(w.injector);
          w.injector.around = async (name, call) => {
            const n = w.injector.calls + 1;
            const onTarget = w.injector.current?.message === target.id && deliveries === 1;
            if (onTarget && (n === stageCall || (n === stageCall + 1 + j && fault.when === 'before'))) {
              w.injector.calls++;
              w.injector.names.push(name);
              throw new Killed(`down before ${name}`);
            }
            if (onTarget && n === stageCall + 1 + j) {
              await around(name, call);
              throw new Killed(`down after ${name}`);
            }
            return around(name, call);
          };
          deliveries = 1;
          assert.equal((await w.deliverMessage(target, MAX_ATTEMPTS)).status, 500, label);
          deliveries = 2;
          // Dead lettering and attempt counts are best effort: the message may come again at its last attempt.
          assert.equal((await w.deliverMessage(target, MAX_ATTEMPTS)).status, 200, label);
          for (const m of messages.slice(1)) assert.deepEqual(await untilAcked(w, m), { attempts: 1, acked: true });
          const s = stored(w);
          assertReconciles(s, label);
          // The second delivery's stage succeeded: the message ends as in the clean run, unless the failed settlement already recorded its failure.
          for (const [k, state] of s.states) {
            if (!k.startsWith(`${target.id}/`)) continue;
            const want = clean.stored.states.get(k);
            assert.ok(state === want || state === 'processing_failed', `${label}: ${k} is ${state}, clean ${want}`);
          }
          scenarios++;
        }
      }
    }
    assert.ok(scenarios >= 16, String(scenarios));
  });
});
