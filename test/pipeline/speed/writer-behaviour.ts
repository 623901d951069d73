// The partial writer's behaviours, run against each series store (LMDB here, Bigtable against the
// emulator): redelivery changes nothing, compaction keeps values and folds message cells, a folded
// message redelivered is not added again, racing compactors and writers lose nothing.
import assert from 'node:assert/strict';
import { createIngestStage } from '../../../pipeline/ingest/stage.js';
import { FAMILY_PARTIAL, type IngestWrite, type SeriesStore } from '../../../pipeline/ports.js';
import { encodeRowKey } from '../../../pipeline/series/row-key.js';
import { parseQualifier, provisionalValues, WRITES } from '../../../pipeline/speed/cells.js';
import { createPartialWriter } from '../../../pipeline/speed/writer.js';
import { InMemoryDedupeIndex } from '../../support/in-memory-dedupe-index.js';
import { InMemoryRawSink } from '../../support/in-memory-raw-sink.js';
import { dimensions, message, order } from '../ingest/fixtures.js';

const TOTAL = encodeRowKey({ merchantId: 'pizzaco', series: 'sales', dims: {}, grain: 'h' }, '2026112111');
const notFinalized = async () => null;

/** The write of one message with one completed order of `net` (gross = net, one line), at 11:xx UTC. */
export async function orderWrite(n: number, net: number): Promise<Pick<IngestWrite, 'accepted' | 'orderLines'>> {
  const o = order();
  o.event_id = `ord-${n}`;
  o.event_ts = `2026-11-21T11:${String(n % 60).padStart(2, '0')}:00Z`;
  Object.assign(o.body, {
    order_id: `o-${n}`,
    line_items: [{ sku: 'MARG-L', category: 'pizza', quantity: 1, unit_price_minor: net, discount_minor: 0 }],
    gross_minor: net,
    discount_minor: 0,
    net_minor: net,
  });
  const stage = createIngestStage({ dimensions: async () => dimensions, dedupe: new InMemoryDedupeIndex(), sink: new InMemoryRawSink(), clock: { now: () => new Date('2026-11-21T12:00:00Z') } });
  const { write } = await stage(message(`msg-${n}`, [JSON.stringify(o)]));
  assert.equal(write.accepted.length, 1);
  return write;
}

async function partialCells(series: SeriesStore, key: string) {
  const [row] = await series.readRange({ start: key, end: key + '\u0000' });
  return row?.cells[FAMILY_PARTIAL] ?? {};
}
async function values(series: SeriesStore, key = TOTAL) {
  const v = provisionalValues(await partialCells(series, key));
  return { orders: v.orders, net_revenue_minor: v.net_revenue_minor };
}
async function messageIdsWithCells(series: SeriesStore, key = TOTAL): Promise<string[]> {
  const ids = new Set<string>();
  for (const q of Object.keys(await partialCells(series, key))) {
    const p = parseQualifier(q);
    if (p.kind === 'message') ids.add(p.messageId);
  }
  return [...ids].sort();
}

/** A store whose conditional writes wait for `gate` while `hold` is set: a compactor paused between its read and its write. */
function pausable(series: SeriesStore) {
  let gate: Promise<void> | undefined;
  let release = () => {};
  let paused = () => {};
  const reachedGate = new Promise<void>((r) => (paused = r));
  const store: SeriesStore = {
    ...series,
    mutate: (m) => series.mutate(m),
    readRange: (r) => series.readRange(r),
    getDocument: (k) => series.getDocument(k),
    putDocument: (k, v) => series.putDocument(k, v),
    async checkAndMutate(entries) {
      if (gate) {
        paused();
        await gate;
      }
      return series.checkAndMutate!(entries);
    },
  };
  return {
    store,
    reachedGate,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    open() {
      gate = undefined;
      release();
    },
  };
}

export function partialWriterBehaviours(open: () => Promise<SeriesStore>): void {
  it('leaves the provisional numbers unchanged when the same message is delivered again', async () => {
    const series = await open();
    const writer = createPartialWriter({ series, finalizedThrough: notFinalized, compactEvery: 100 });
    const first = await orderWrite(1, 1000);
    const second = await orderWrite(2, 500);
    assert.deepStrictEqual(await writer.write('msg-1', first), { rows: 5, cells: 21, alreadyFolded: 0, compacted: 0 });
    await writer.write('msg-2', second);
    assert.deepStrictEqual(await values(series), { orders: 2, net_revenue_minor: 1500 });
    await writer.write('msg-1', first);
    await writer.write('msg-1', first);
    assert.deepStrictEqual(await values(series), { orders: 2, net_revenue_minor: 1500 });
    assert.deepStrictEqual(await messageIdsWithCells(series), ['msg-1', 'msg-2']);
  });

  it('folds message cells into one cell per metric, and does not add a folded message delivered again', async () => {
    const series = await open();
    const writer = createPartialWriter({ series, finalizedThrough: notFinalized, compactEvery: 3 });
    const writes = await Promise.all([1, 2, 3, 4].map((n) => orderWrite(n, n * 100)));
    for (let i = 0; i < 3; i++) await writer.write(`msg-${i + 1}`, writes[i]!);
    // The third write reached the threshold: every row it touched was compacted.
    assert.deepStrictEqual(await messageIdsWithCells(series), []);
    assert.deepStrictEqual(await values(series), { orders: 3, net_revenue_minor: 600 });
    const readable = Object.keys(await partialCells(series, TOTAL)).filter((q) => !q.startsWith('~') && q !== WRITES).sort();
    assert.deepStrictEqual(readable, ['!gen', 'delivery_orders', 'gross_revenue_minor', 'items', 'net_revenue_minor', 'online_orders', 'orders']);

    // A late redelivery of a folded message writes nothing; a new message adds its cells.
    assert.deepStrictEqual(await writer.write('msg-2', writes[1]!), { rows: 0, cells: 0, alreadyFolded: 5, compacted: 0 });
    await writer.write('msg-4', writes[3]!);
    assert.deepStrictEqual(await values(series), { orders: 4, net_revenue_minor: 1000 });
    assert.deepStrictEqual(await messageIdsWithCells(series), ['msg-4']);
  });

  it('loses and doubles nothing when a compactor races writers, redeliveries and another compactor', async () => {
    const series = await open();
    const paused = pausable(series);
    const slow = createPartialWriter({ series: paused.store, finalizedThrough: notFinalized, compactEvery: 1000 });
    const fast = createPartialWriter({ series, finalizedThrough: notFinalized, compactEvery: 1000 });
    const writes = await Promise.all([1, 2, 3, 4].map((n) => orderWrite(n, n * 100)));
    await fast.write('msg-1', writes[0]!);
    await fast.write('msg-2', writes[1]!);

    // The slow compactor reads msg-1 and msg-2, then stops before its write.
    paused.hold();
    const slowCompaction = slow.compact(TOTAL);
    await paused.reachedGate;
    await fast.write('msg-1', writes[0]!); // a redelivery of a message the slow compactor read
    await fast.write('msg-3', writes[2]!); // a message it did not read
    assert.equal(await fast.compact(TOTAL), true); // another compactor folds msg-1..3 first
    await fast.write('msg-4', writes[3]!);
    paused.open();
    assert.equal(await slowCompaction, false, 'a compaction of a stale snapshot must not apply');
    assert.deepStrictEqual(await values(series), { orders: 4, net_revenue_minor: 1000 });

    // And a compaction that wins against a redelivery written after its read.
    paused.hold();
    const second = slow.compact(TOTAL);
    await fast.write('msg-4', writes[3]!);
    paused.open();
    assert.equal(await second, true);
    assert.deepStrictEqual(await messageIdsWithCells(series), []);
    await fast.write('msg-4', writes[3]!);
    assert.deepStrictEqual(await values(series), { orders: 4, net_revenue_minor: 1000 });
  });

  it('bounds a hot row\'s message cells across writer instances, and totals stay exact', async () => {
    const series = await open();
    const compactEvery = 4;
    const instances = Array.from({ length: 4 }, () => createPartialWriter({ series, finalizedThrough: notFinalized, compactEvery }));
    const writes = await Promise.all(Array.from({ length: 40 }, (_, n) => orderWrite(n + 1, 10)));
    // Messages spread round-robin over the instances, as a push subscription spreads them: no
    // instance alone sees compactEvery messages of the row before the row holds that many.
    let most = 0;
    for (let n = 0; n < 24; n++) {
      await instances[n % instances.length]!.write(`msg-${n + 1}`, writes[n]!);
      most = Math.max(most, (await messageIdsWithCells(series)).length);
    }
    assert.ok(most < compactEvery, `the row held ${most} messages' cells between compactions, bound ${compactEvery}`);
    assert.deepStrictEqual(await values(series), { orders: 24, net_revenue_minor: 240 });

    // All instances at once, with redeliveries of messages already folded or still pending.
    await Promise.all(
      instances.map(async (writer, i) => {
        for (let n = 24 + i; n < 40; n += instances.length) {
          await writer.write(`msg-${n + 1}`, writes[n]!);
          await writer.write(`msg-${n - 3}`, writes[n - 4]!);
        }
      }),
    );
    await instances[0]!.compact(TOTAL);
    assert.deepStrictEqual(await messageIdsWithCells(series), []);
    assert.deepStrictEqual(await values(series), { orders: 40, net_revenue_minor: 400 });
  });

  it('writes nothing for hours the marts have finalized', async () => {
    const series = await open();
    const writer = createPartialWriter({ series, finalizedThrough: async () => new Date('2026-11-21T12:00:00Z') });
    assert.deepStrictEqual(await writer.write('msg-1', await orderWrite(1, 1000)), { rows: 0, cells: 0, alreadyFolded: 0, compacted: 0 });
    assert.deepStrictEqual(await partialCells(series, TOTAL), {});
  });
}
