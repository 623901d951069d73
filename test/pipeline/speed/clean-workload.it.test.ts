// The speed layer end to end on the local runtime: a clean generated workload (no duplicates,
// malformed or late entries) through the wrapped ingest stage, then the hourly mart cycle.
// Provisional numbers survive a redelivery of every message, the API marks them provisional, they
// equal the marts' numbers after finalization, and finalization leaves no partial behind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { runMartCycle } from '../../../pipeline/marts/hourly.js';
import { openLocalPipeline, type LocalPipeline } from '../../../runtime/local-writer.js';
import { generateWorkload } from '../../../demo/generator.js';
import { batchEntries } from '../../../pipeline/ingest/entries.js';
import { exportDocuments } from '../../../pipeline/marts/exporter.js';
import { CATALOG } from '../../../pipeline/metrics/catalog.js';
import { FAMILY_MART, FAMILY_PARTIAL, type InboundMessage } from '../../../pipeline/ports.js';
import { decodeSeriesRowKey as decodeRowKey } from '../../../pipeline/series/ranked.js';
import { bucketToStart } from '../../../pipeline/series/row-key.js';
import { provisionalValues } from '../../../pipeline/speed/cells.js';
import { createQueryApi } from '../../../services/query-api/app.js';
import { MemoryKeyStore, PEPPER, addKey } from '../../services/query-api/fixtures.js';

const ANCHOR = new Date('2026-11-20T12:00:00Z');
const clock = { now: () => new Date(ANCHOR.getTime() + 10 * 60_000) };
const ALL_ROWS = { start: '!', end: '~' };
const additive = (series: string) => CATALOG.find((s) => s.name === series)!.metrics.filter((m) => m.kind === 'additive').map((m) => m.name);

describe('speed layer on a clean workload (local runtime)', function () {
  this.timeout(120_000);
  const workload = generateWorkload({ events: 800, seed: 'speed', anchor: ANCHOR, days: 0.25, shares: { duplicates: 0, malformed: 0, late: 0 } });
  // Bodies of at most 20 entries, in receive order, each a message with a stable id.
  const messages: InboundMessage[] = batchEntries(workload.entries, { maxEntries: 20 }).map((entries, i) => ({
    id: `msg-${String(i).padStart(4, '0')}`,
    receivedAt: ANCHOR,
    attributes: { source: 'online' },
    entries,
    deliveryAttempt: 1,
  }));
  let dir: string;
  let rt: LocalPipeline;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'speed-clean-'));
    rt = await openLocalPipeline({ dataDir: dir, command: 'test', clock });
    await rt.dimensions.load(workload.dimensions);
  });
  after(async () => {
    await rt?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Every row's provisional values, by row key. */
  async function provisional(): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    for (const row of await rt.series.readRange(ALL_ROWS)) if (row.cells[FAMILY_PARTIAL]) out.set(row.key, provisionalValues(row.cells[FAMILY_PARTIAL]));
    return out;
  }

  it('keeps provisional numbers through redelivery, serves them as provisional, and they equal the marts after finalization', async () => {
    let accepted = 0;
    for (const m of messages) accepted += (await rt.stage(m)).accepted;
    assert.equal(accepted, workload.manifest.expected.accepted);
    const before = await provisional();
    assert.ok(before.size > 200, `${before.size} partial rows`);

    // Every message delivered again (the dedupe index answers same_entry; the partial cells are rewritten as they were).
    for (const m of messages) await rt.stage({ ...m, deliveryAttempt: 2 });
    assert.deepStrictEqual(await provisional(), before);

    // The query API answers the hours from the partials, marked provisional (no mart run yet).
    await exportDocuments({ warehouse: rt.warehouse, series: rt.series });
    const keys = new MemoryKeyStore();
    const merchant = workload.dimensions.merchants[0]!.id;
    const { key } = await addKey(keys, 'read', merchant);
    const app = createQueryApi({ series: rt.series, keys, pepper: PEPPER, clock, logger: pino({ level: 'silent' }), cache: false });
    const metrics = 'orders,net_revenue_minor,refund_minor,average_order_value_minor';
    const url = `/v1/merchants/${merchant}/metrics?series=sales&metrics=${metrics}&granularity=hour&from=2026-11-20T06:00:00Z&to=2026-11-20T12:00:00Z`;
    const expectedPoints = (values: (start: string) => Record<string, number> | undefined, provisionalFlag: boolean) =>
      Array.from({ length: 6 }, (_, i) => {
        const start = new Date(Date.parse('2026-11-20T06:00:00Z') + i * 3_600_000).toISOString().slice(0, 19) + 'Z';
        const v = values(start) ?? {};
        const orders = v.orders ?? 0;
        const net = v.net_revenue_minor ?? 0;
        const refund = v.refund_minor ?? 0;
        return { start, values: { orders, net_revenue_minor: net, refund_minor: refund, average_order_value_minor: orders === 0 ? null : (net + refund) / orders }, provisional: provisionalFlag };
      });
    const totalKey = (start: string) => `${merchant}#sales#h#${start.slice(0, 4)}${start.slice(5, 7)}${start.slice(8, 10)}${start.slice(11, 13)}`;
    const early = await request(app).get(url).set('Authorization', `Bearer ${key}`);
    assert.equal(early.status, 200);
    assert.deepStrictEqual(early.body.points, expectedPoints((s) => before.get(totalKey(s)), true));
    assert.ok(early.body.points.some((p: { values: { orders: number } }) => p.values.orders > 0));

    // The hourly mart cycle finalizes every hour before the anchor and retires their partials.
    await runMartCycle(rt);
    const rows = await rt.series.readRange(ALL_ROWS);
    assert.deepStrictEqual(rows.filter((r) => r.cells[FAMILY_PARTIAL]).map((r) => r.key), []);
    const marts = new Map(rows.map((r) => [r.key, r.cells[FAMILY_MART] ?? {}]));
    for (const [rowKey, values] of before) {
      const k = decodeRowKey(rowKey);
      assert.ok(Date.parse(bucketToStart('h', k.bucket)) < ANCHOR.getTime());
      const mart = marts.get(rowKey);
      assert.ok(mart, `no mart cells for ${rowKey}`);
      const fromMart = Object.fromEntries(additive(k.series).map((m) => [m, mart[m] ?? 0]));
      const fromPartials = Object.fromEntries(additive(k.series).map((m) => [m, values[m] ?? 0]));
      assert.deepStrictEqual(fromPartials, fromMart, rowKey);
    }

    // And no mart bucket has additive numbers the partials missed.
    for (const r of rows) {
      const k = decodeRowKey(r.key);
      if (k.grain !== 'h' || k.series === 'inventory') continue;
      const values = before.get(r.key) ?? {};
      const fromMart = Object.fromEntries(additive(k.series).map((m) => [m, r.cells[FAMILY_MART]?.[m] ?? 0]));
      assert.deepStrictEqual(Object.fromEntries(additive(k.series).map((m) => [m, values[m] ?? 0])), fromMart, r.key);
    }

    // Finalized hours come from the marts, no longer provisional, with the same numbers.
    const late = await request(app).get(url).set('Authorization', `Bearer ${key}`);
    assert.deepStrictEqual(late.body.points, expectedPoints((s) => before.get(totalKey(s)), false));
  });
});
