// Alert evaluation on DuckDB against an independent oracle: a seeded workload of five weeks of POS
// orders in local trading hours (New York across its 2026-03-08 DST switch, a Kolkata store of the
// same merchant, a Kathmandu merchant at +05:45) and inventory levels, the marts built by the real
// runner, the rules evaluated by the real evaluator. The oracle recomputes hourly revenue, the local
// weekday-hour median of the 4 weeks before, closing stock, and walks each subject's hours itself:
// exactly its fires and clears must be queued, at its hours — and nothing more on a re-run.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import type { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { evaluateMartAlerts, type AlertQueue } from '../../../pipeline/alerts/evaluate.js';
import type { AlertRule } from '../../../pipeline/alerts/rules.js';
import type { AlertPayload } from '../../../pipeline/alerts/state.js';
import { createAlertStore, type AlertStore } from '../../../pipeline/alerts/store.js';
import type { EventInput } from '../../../pipeline/contracts/events.js';
import { buildMarts } from '../../../pipeline/marts/runner.js';
import { mulberry32 } from '../../support/random.js';
import { inventory, loadDimensions, loadEvents, openWarehouse, order } from '../marts/support.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const STORES = [
  { id: 's1', merchant: 'm_ny', tz: 'America/New_York', currency: 'USD' },
  { id: 's2', merchant: 'm_ny', tz: 'Asia/Kolkata', currency: 'USD' },
  { id: 'n1', merchant: 'm_np', tz: 'Asia/Kathmandu', currency: 'NPR' },
];
const MERCHANT_TZ: Record<string, string> = { m_ny: 'America/New_York', m_np: 'Asia/Kathmandu' };
const DIMS = {
  merchants: [
    { id: 'm_ny', name: 'Pizza NY', time_zone: 'America/New_York', currency: 'USD' },
    { id: 'm_np', name: 'Shop NP', time_zone: 'Asia/Kathmandu', currency: 'NPR' },
  ],
  stores: [
    { id: 's1', merchant_id: 'm_ny', name: 'Midtown' },
    { id: 's2', merchant_id: 'm_ny', name: 'Delhi', time_zone: 'Asia/Kolkata' },
    { id: 'n1', merchant_id: 'm_np', name: 'Thamel' },
  ],
  low_stock_threshold: 10,
};
const RULES: Record<string, AlertRule[]> = {
  m_ny: [
    { id: 'store-drop', kind: 'sales_drop', enabled: true, store_id: '*', fraction: 0.5, min_baseline_minor: 2000 },
    { id: 'total-drop', kind: 'sales_drop', enabled: true, fraction: 0.6, min_baseline_minor: 6000 },
    { id: 'stock', kind: 'low_stock', enabled: true, store_id: '*', sku: '*' },
    { id: 'flour', kind: 'low_stock', enabled: true, store_id: 's1', sku: 'flour', threshold: 25 },
  ],
  m_np: [{ id: 'drop', kind: 'sales_drop', enabled: true, store_id: 'n1', fraction: 0.5, min_baseline_minor: 1000 }],
};
// The 4 weeks (and a day) before the evaluated window: what the baseline of its first hour reads.
const HISTORY_FROM = Date.parse('2026-02-04T00:00:00Z');
const WINDOW = { windowStart: new Date('2026-03-06T00:00:00Z'), windowEnd: new Date('2026-03-11T00:00:00Z') };

// ---------------------------------------------------------------- local wall time, written for the test

const wallFormat = new Map<string, Intl.DateTimeFormat>();
/** The local wall time of an instant as a naive UTC number (Date.UTC of its fields). */
function wall(ms: number, tz: string): number {
  let f = wallFormat.get(tz);
  if (!f) wallFormat.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })));
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!);
}
/** The instant of a local wall time (the first one on a repeat; none in a gap is never asked for here). */
function instant(wallMs: number, tz: string): number {
  let guess = wallMs;
  for (let i = 0; i < 3; i++) guess = wallMs - (wall(guess, tz) - guess);
  return guess;
}

// ---------------------------------------------------------------- the workload

interface Sale {
  merchant: string;
  store: string;
  at: number;
  net: number;
}
interface Stock {
  store: string;
  merchant: string;
  sku: string;
  at: number;
  onHand: number;
}

function workload(seed: number): { sales: Sale[]; stock: Stock[] } {
  const rnd = mulberry32(seed);
  const sales: Sale[] = [];
  const stock: Stock[] = [];
  for (const s of STORES) {
    // Local days from 2026-02-04 to 2026-03-10, trading 10:00-21:59 local; weekends busier.
    for (let day = Date.UTC(2026, 1, 4); day <= Date.UTC(2026, 2, 10); day += DAY) {
      const weekend = [0, 6].includes(new Date(day).getUTCDay());
      for (let hour = 10; hour <= 21; hour++) {
        const late = day >= Date.UTC(2026, 2, 6);
        // In the evaluated days, some hours collapse (a drop) and some boom.
        const r = rnd();
        const count = late && r < 0.15 ? 0 : late && r < 0.2 ? 1 : 2 + Math.floor(rnd() * 3) + (weekend ? 2 : 0);
        for (let i = 0; i < count; i++) {
          const minute = Math.floor(rnd() * 60);
          sales.push({ merchant: s.merchant, store: s.id, at: instant(day + hour * HOUR + minute * 60_000, s.tz), net: 500 + Math.floor(rnd() * 25) * 100 });
        }
      }
    }
    if (s.id === 's2') continue;
    for (const sku of ['flour', 'cheese']) {
      for (let t = Date.parse('2026-03-05T00:17:00Z'); t < WINDOW.windowEnd.getTime(); t += 3 * HOUR + Math.floor(rnd() * 2 * HOUR)) {
        stock.push({ store: s.id, merchant: s.merchant, sku, at: t, onHand: Math.floor(rnd() * 40) });
      }
    }
  }
  return { sales, stock };
}

// ---------------------------------------------------------------- the oracle

interface Expected {
  type: AlertPayload['type'];
  rule_id: string;
  store_id: string | null;
  sku: string | null;
  at: string;
}

/** Walks the hours of one subject: fires where the condition starts, clears where it ends. */
function walk(ruleId: string, store: string | null, sku: string | null, hours: number[], condition: (h: number) => boolean | undefined): Expected[] {
  const out: Expected[] = [];
  let firing = false;
  for (const h of hours) {
    const c = condition(h);
    if (c === undefined) continue;
    if (c !== firing) out.push({ type: c ? 'alert.fired' : 'alert.cleared', rule_id: ruleId, store_id: store, sku, at: new Date(h).toISOString() });
    firing = c;
  }
  return out;
}

function oracle(merchant: string, sales: Sale[], stock: Stock[]): Expected[] {
  const hours: number[] = [];
  for (let t = WINDOW.windowStart.getTime(); t < WINDOW.windowEnd.getTime(); t += HOUR) hours.push(t);
  const out: Expected[] = [];
  const storesOf = STORES.filter((s) => s.merchant === merchant);
  for (const rule of RULES[merchant]!) {
    if (rule.kind === 'sales_drop') {
      const subjects = rule.store_id === undefined ? [{ store: null, tz: MERCHANT_TZ[merchant]! }] : storesOf.filter((s) => rule.store_id === '*' || s.id === rule.store_id).map((s) => ({ store: s.id as string | null, tz: s.tz }));
      for (const { store, tz } of subjects) {
        const mine = sales.filter((x) => x.merchant === merchant && (store === null || x.store === store));
        const byHour = new Map<number, number>();
        const byWall = new Map<number, number>();
        for (const x of mine) {
          const h = Math.floor(x.at / HOUR) * HOUR;
          byHour.set(h, (byHour.get(h) ?? 0) + x.net);
        }
        for (const [h, net] of byHour) byWall.set(wall(h, tz), (byWall.get(wall(h, tz)) ?? 0) + net);
        out.push(
          ...walk(rule.id, store, null, hours, (h) => {
            const weeks = [1, 2, 3, 4].map((k) => byWall.get(wall(h, tz) - 7 * k * DAY) ?? 0).sort((a, b) => a - b);
            const median = (weeks[1]! + weeks[2]!) / 2;
            return median >= rule.min_baseline_minor && (byHour.get(h) ?? 0) < rule.fraction * median;
          }),
        );
      }
    }
    if (rule.kind === 'low_stock') {
      const items = new Set(stock.filter((x) => x.merchant === merchant && (rule.store_id === '*' || x.store === rule.store_id) && (rule.sku === '*' || x.sku === rule.sku)).map((x) => `${x.store}|${x.sku}`));
      for (const item of items) {
        const [store, sku] = item.split('|') as [string, string];
        const moves = stock.filter((x) => x.store === store && x.sku === sku).sort((a, b) => a.at - b.at);
        out.push(
          ...walk(rule.id, store, sku, hours, (h) => {
            const last = moves.filter((x) => x.at < h + HOUR).at(-1);
            if (!last) return undefined;
            return last.onHand < (rule.threshold ?? DIMS.low_stock_threshold);
          }),
        );
      }
    }
  }
  return out;
}

const key = (e: Expected): string => `${e.at} ${e.type} ${e.rule_id} ${e.store_id ?? '-'} ${e.sku ?? '-'}`;
const asExpected = (p: AlertPayload): Expected => ({ type: p.type, rule_id: p.rule_id, store_id: p.subject.store_id ?? null, sku: p.subject.sku ?? null, at: p.at });

class RecordingQueue implements AlertQueue {
  readonly sent: AlertPayload[] = [];
  failNext = false;
  async enqueue(payloads: AlertPayload[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('queue unavailable');
    }
    this.sent.push(...payloads);
  }
}

describe('alert evaluation against an independent oracle (DuckDB, DST)', function () {
  // Five weeks of orders through the normalizer and two marts built over them: minutes on a loaded machine.
  this.timeout(600_000);
  let wh: LocalWarehouse;
  let dir: string;
  const opened: LmdbSeriesStore[] = [];
  let expected: Expected[];

  async function freshStore(): Promise<AlertStore> {
    const series = openLmdbSeriesStore({ path: join(dir, `series-${opened.length}.mdb`) });
    opened.push(series);
    const alerts = createAlertStore(series);
    for (const [merchant, rules] of Object.entries(RULES)) await alerts.putSettings({ merchant_id: merchant, webhook_url: null, rules, signing_secret: 'whsec_x' });
    return alerts;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alerts-eval-'));
    wh = await openWarehouse();
    const dims = await loadDimensions(wh, DIMS);
    const { sales, stock } = workload(20260308);
    const events: EventInput[] = [
      ...sales.map((s) => order({ merchant: s.merchant, store: s.store, at: new Date(s.at).toISOString(), currency: STORES.find((x) => x.id === s.store)!.currency, lines: [{ sku: 'pizza', quantity: 1, unit_price_minor: s.net }] })),
      ...stock.map((s) => inventory({ merchant: s.merchant, store: s.store, at: new Date(s.at).toISOString(), sku: s.sku, onHand: s.onHand })),
    ];
    await loadEvents(wh, dims, events.map((event) => ({ event })));
    await buildMarts(wh, { windowStart: new Date(HISTORY_FROM), windowEnd: WINDOW.windowEnd, marts: ['mart_hourly_store_sales', 'mart_hourly_store_inventory'] });
    expected = Object.keys(RULES).flatMap((m) => oracle(m, sales, stock)).map(key).sort() as unknown as Expected[];
  });
  after(async () => {
    for (const s of opened) await s.close();
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('queues exactly the oracle fires and clears, at its hours, on both sides of the DST switch', async () => {
    const queue = new RecordingQueue();
    const summary = await evaluateMartAlerts({ warehouse: wh, alerts: await freshStore(), queue }, WINDOW);
    const want = expected as unknown as string[];
    assert.deepEqual(queue.sent.map(asExpected).map(key).sort(), want);
    // The workload is not trivial: drops and stock alerts on each side of 2026-03-08T07:00Z, New York's switch.
    const nyDrops = want.filter((k) => k.includes('store-drop s1'));
    assert.ok(nyDrops.some((k) => k < '2026-03-08T07') && nyDrops.some((k) => k > '2026-03-08T07'), 'New York drops on both sides of the switch');
    assert.ok(want.some((k) => k.includes('alert.cleared total-drop')) && want.some((k) => k.includes('drop n1')) && want.some((k) => k.includes('alert.fired flour s1 flour')));
    assert.equal(summary.queued, want.length);
  });

  it('gives the same alerts, with the same ids, evaluated hour by hour as one run', async () => {
    const whole = new RecordingQueue();
    await evaluateMartAlerts({ warehouse: wh, alerts: await freshStore(), queue: whole }, WINDOW);
    const hourly = new RecordingQueue();
    const alerts = await freshStore();
    for (let t = WINDOW.windowStart.getTime(); t < WINDOW.windowEnd.getTime(); t += 6 * HOUR) {
      await evaluateMartAlerts({ warehouse: wh, alerts, queue: hourly }, { windowStart: new Date(t), windowEnd: new Date(t + 6 * HOUR) });
    }
    assert.deepEqual(hourly.sent.map((p) => p.id).sort(), whole.sent.map((p) => p.id).sort());
  });

  it('queues nothing twice when an evaluation is re-run or its trigger delivered again', async () => {
    const queue = new RecordingQueue();
    const alerts = await freshStore();
    const first = await evaluateMartAlerts({ warehouse: wh, alerts, queue }, WINDOW);
    const again = await evaluateMartAlerts({ warehouse: wh, alerts, queue }, WINDOW);
    // A re-run of an overlapping, earlier window after the state moved on: the derived ids are claimed already.
    const overlap = await evaluateMartAlerts({ warehouse: wh, alerts, queue }, { windowStart: new Date('2026-03-08T00:00:00Z'), windowEnd: WINDOW.windowEnd });
    assert.deepEqual([again.queued, overlap.queued], [0, 0]);
    assert.equal(queue.sent.length, first.queued);
    assert.equal(new Set(queue.sent.map((p) => p.id)).size, queue.sent.length);
  });

  it('queues on the next run what a run claimed but could not queue (a crash between the two)', async () => {
    const queue = new RecordingQueue();
    const alerts = await freshStore();
    queue.failNext = true;
    await assert.rejects(evaluateMartAlerts({ warehouse: wh, alerts, queue }, WINDOW), (e: Error) => /^settling the alerts of merchant m_/.test(e.message) && (e.cause as Error).message === 'queue unavailable');
    const retried = await evaluateMartAlerts({ warehouse: wh, alerts, queue }, WINDOW);
    // Merchants settle concurrently: those whose queueing succeeded are done; the one that failed is queued now.
    assert.deepEqual(queue.sent.map(asExpected).map(key).sort(), expected as unknown as string[]);
    assert.equal(new Set(queue.sent.map((p) => p.id)).size, queue.sent.length, 'an alert was queued twice');
    assert.ok(retried.queued > 0 && retried.queued < queue.sent.length, `the retry queued ${retried.queued} of ${queue.sent.length}`);
  });
});
