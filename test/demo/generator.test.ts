// The demo workload generator: determinism, contract conformance, shares, skew, time zones, POS batches,
// inventory consistency, refunds and web sessions.
import assert from 'node:assert/strict';
import { DimensionsFile, resolveDimensions, storeKey } from '../../pipeline/contracts/dimensions.js';
import { Event, type OrderEvent } from '../../pipeline/contracts/events.js';
import { DEFAULT_BOT_PATTERN } from '../../pipeline/ingest/config.js';
import { MAX_LATE_MS, MIN_LATE_MS, generateWorkload, type Workload } from '../../demo/generator.js';
import { zoneOffsetMinutes } from '../../pipeline/time.js';

const ANCHOR = '2026-11-21T12:00:00Z';
const ANCHOR_MS = Date.parse(ANCHOR);
const DAY = 24 * 60 * 60 * 1000;
const EVENTS = 8000;

const isMalformed = (kind: string): boolean => kind.startsWith('malformed:');

describe('demo/generator', function () {
  this.timeout(60_000);
  let w: Workload;
  let parsed: (Event | null)[];

  before(() => {
    w = generateWorkload({ events: EVENTS, merchants: 3, seed: 'test-seed', anchor: ANCHOR, annotate: true });
    parsed = w.entries.map((line, i) => {
      if (isMalformed(w.annotations![i]!.kind)) return null;
      const r = Event.safeParse(JSON.parse(line));
      return r.success ? r.data : null;
    });
  });

  it('writes exactly the requested number of entries, with one annotation each', () => {
    assert.equal(w.entries.length, EVENTS);
    assert.equal(w.annotations!.length, EVENTS);
    assert.equal(w.manifest.events, EVENTS);
  });

  it('gives byte-identical output for the same seed and anchor, and different output for another seed', () => {
    const again = generateWorkload({ events: EVENTS, merchants: 3, seed: 'test-seed', anchor: ANCHOR });
    assert.deepStrictEqual(again.entries, w.entries);
    assert.deepStrictEqual(again.posBatches, w.posBatches);
    assert.deepStrictEqual(again.dimensions, w.dimensions);
    assert.deepStrictEqual(again.manifest, w.manifest);
    const other = generateWorkload({ events: EVENTS, merchants: 3, seed: 'other-seed', anchor: ANCHOR });
    assert.notDeepStrictEqual(other.entries, w.entries);
    const shifted = generateWorkload({ events: EVENTS, merchants: 3, seed: 'test-seed', anchor: '2026-11-22T12:00:00Z' });
    assert.notDeepStrictEqual(shifted.entries, w.entries);
  });

  it('makes every entry that is not deliberately malformed a valid event under the wire contract', () => {
    const failures: string[] = [];
    w.entries.forEach((line, i) => {
      if (isMalformed(w.annotations![i]!.kind)) return;
      const r = Event.safeParse(JSON.parse(line));
      if (!r.success) failures.push(`${line.slice(0, 120)}: ${r.error.message.slice(0, 200)}`);
    });
    assert.deepStrictEqual(failures, []);
  });

  it('writes a dimensions file that DimensionsFile accepts as is, with a fraud CIDR and a low-stock threshold', () => {
    const r = DimensionsFile.safeParse(JSON.parse(JSON.stringify(w.dimensions)));
    assert.equal(r.success, true, r.success ? '' : r.error.message);
    assert.deepStrictEqual(r.data, w.dimensions);
    assert.ok(w.dimensions.fraud_ips.some((ip) => ip.includes('/')));
    assert.equal(w.dimensions.low_stock_threshold, 10);
    assert.deepStrictEqual(
      w.dimensions.merchants.slice(0, 3).map((m) => [m.id, m.currency, m.time_zone]),
      [
        ['pizzaroma', 'USD', 'America/New_York'],
        ['brightmart', 'EUR', 'Europe/Berlin'],
        ['loomly', 'GBP', 'Europe/London'],
      ],
    );
    assert.equal(w.dimensions.merchants.length, 6);
  });

  it('places pizza stores in dozens of cities across DST, +05:30, +05:45 and European zones', () => {
    const dims = resolveDimensions(w.dimensions);
    const pizza = [...dims.stores.values()].filter((s) => s.merchant_id === 'pizzaroma');
    assert.ok(pizza.length >= 36, `only ${pizza.length} pizza stores`);
    const zones = new Set(pizza.map((s) => s.time_zone));
    for (const z of ['America/New_York', 'America/Los_Angeles', 'Asia/Kolkata', 'Asia/Kathmandu', 'Europe/Berlin']) assert.ok(zones.has(z), z);
    const offsets = new Set(pizza.map((s) => zoneOffsetMinutes(s.time_zone, ANCHOR_MS)));
    assert.ok(offsets.has(330) && offsets.has(345) && offsets.has(-300), [...offsets].join(','));
    // A summer instant shows New York observing DST.
    assert.equal(zoneOffsetMinutes('America/New_York', Date.parse('2026-07-01T12:00:00Z')), -240);
  });

  it('writes POS times in the store’s local offset, e.g. +05:30 for Mumbai', () => {
    const dims = resolveDimensions(w.dimensions);
    let checked = 0;
    const seen = new Set<string>();
    parsed.forEach((e) => {
      if (!e || e.source !== 'pos' || !e.store_id) return;
      const store = dims.stores.get(storeKey(e.merchant_id, e.store_id))!;
      const off = zoneOffsetMinutes(store.time_zone, Date.parse(e.event_ts));
      const sign = off < 0 ? '-' : '+';
      const a = Math.abs(off);
      const suffix = off === 0 ? 'Z' : `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
      assert.ok(e.event_ts.endsWith(suffix), `${e.event_ts} in ${store.time_zone}`);
      seen.add(suffix);
      checked++;
    });
    assert.ok(checked > 100);
    assert.ok(seen.has('+05:30'), [...seen].join(' '));
  });

  it('hits the duplicate and malformed shares exactly and the late share within tolerance', () => {
    const a = w.annotations!;
    assert.equal(a.filter((x) => x.expected === 'duplicate').length, Math.round(EVENTS * 0.02));
    assert.equal(a.filter((x) => isMalformed(x.kind)).length, Math.round(EVENTS * 0.01));
    const regular = a.filter((x) => !isMalformed(x.kind) && x.kind !== 'duplicate');
    const lateShare = regular.filter((x) => x.late).length / regular.length;
    assert.ok(lateShare > 0.015 && lateShare < 0.05, `late share ${lateShare}`);
    // Every malformation kind shows up in a workload of this size.
    const kinds = new Set(a.filter((x) => isMalformed(x.kind)).map((x) => x.expected));
    for (const k of ['invalid_json', 'schema_mismatch', 'unknown_merchant', 'unknown_store', 'currency_mismatch', 'event_too_old', 'event_in_future']) assert.ok(kinds.has(k as never), k);
  });

  it('re-sends duplicates byte for byte after their original', () => {
    const firstSeen = new Map<string, number>();
    w.entries.forEach((line, i) => {
      const a = w.annotations![i]!;
      if (a.expected === 'duplicate') {
        const at = firstSeen.get(line);
        assert.ok(at !== undefined && at < i, 'a duplicate must follow an accepted original');
        assert.equal(w.annotations![at]!.expected, 'accepted');
      } else if (!firstSeen.has(line)) firstSeen.set(line, i);
    });
  });

  it('writes entries in receive order, delivers late ones 30 minutes to 3 days late, and keeps regular ones inside the span', () => {
    const a = w.annotations!;
    for (let i = 1; i < a.length; i++) assert.ok(a[i]!.received_at_ms >= a[i - 1]!.received_at_ms, `entry ${i} out of receive order`);
    parsed.forEach((e, i) => {
      if (!e || a[i]!.expected === 'duplicate') return;
      const ts = Date.parse(e.event_ts);
      const lag = a[i]!.received_at_ms - ts;
      assert.ok(ts >= ANCHOR_MS - 6 * DAY && ts <= ANCHOR_MS, `event_ts ${e.event_ts} outside the span`);
      assert.ok(a[i]!.received_at_ms <= ANCHOR_MS);
      if (a[i]!.late) assert.ok(lag >= MIN_LATE_MS && lag <= MAX_LATE_MS + 20 * 60_000, `late lag ${lag}`);
      else assert.ok(lag >= 0 && lag < 20 * 60_000, `on-time lag ${lag} for ${e.event_type}/${e.source}`);
    });
  });

  it('skews store sizes: the busiest fifth of the stores carries most orders', () => {
    const byStore = new Map<string, number>();
    for (const e of parsed) if (e?.event_type === 'order' && e.body.status === 'completed') byStore.set(`${e.merchant_id}/${e.store_id}`, (byStore.get(`${e.merchant_id}/${e.store_id}`) ?? 0) + 1);
    const storeCount = w.dimensions.stores.length;
    const counts = w.dimensions.stores.map((s) => byStore.get(`${s.merchant_id}/${s.id}`) ?? 0).sort((x, y) => y - x);
    const total = counts.reduce((s, n) => s + n, 0);
    const top = counts.slice(0, Math.ceil(storeCount / 5)).reduce((s, n) => s + n, 0);
    assert.ok(top / total > 0.5, `top fifth carries ${top}/${total}`);
    const pizza = w.dimensions.stores.filter((s) => s.merchant_id === 'pizzaroma').map((s) => byStore.get(`pizzaroma/${s.id}`) ?? 0).sort((x, y) => y - x);
    const pizzaTotal = pizza.reduce((s, n) => s + n, 0);
    const pizzaTop = pizza.slice(0, Math.ceil(pizza.length / 5)).reduce((s, n) => s + n, 0);
    assert.ok(pizzaTop / pizzaTotal > 0.5, `top fifth of pizza stores carries ${pizzaTop}/${pizzaTotal}`);
  });

  it('follows local rhythms: pizza orders peak at lunch and dinner and stop at night, local time', () => {
    const dims = resolveDimensions(w.dimensions);
    const byHour = new Array<number>(24).fill(0);
    for (const e of parsed) {
      if (e?.event_type !== 'order' || e.merchant_id !== 'pizzaroma' || e.body.status !== 'completed') continue;
      const tz = dims.stores.get(storeKey(e.merchant_id, e.store_id!))!.time_zone;
      const ms = Date.parse(e.event_ts);
      byHour[new Date(ms + zoneOffsetMinutes(tz, ms) * 60_000).getUTCHours()]! += 1;
    }
    const night = byHour.slice(3, 9).reduce((s, n) => s + n, 0);
    assert.equal(night, 0, `orders between 03:00 and 09:00 local: ${byHour.join(',')}`);
    assert.ok(byHour[12]! > byHour[15]! && byHour[19]! > byHour[15]!, byHour.join(','));
  });

  it('keeps orders consistent: merchant currency, refunds after a completed order of the same id, partial refunds', () => {
    const dims = resolveDimensions(w.dimensions);
    const completed = new Map<string, OrderEvent>();
    let refunds = 0;
    let partial = 0;
    let cancellations = 0;
    const orders = parsed.filter((e): e is OrderEvent => e?.event_type === 'order');
    // A store's late POS upload can arrive after a later refund, so originals are looked up across the whole file.
    for (const e of orders) if (e.body.status === 'completed') completed.set(`${e.merchant_id}/${e.body.order_id}`, e);
    for (const e of orders) {
      assert.equal(e.body.currency, dims.merchants.get(e.merchant_id)!.currency);
      const key = `${e.merchant_id}/${e.body.order_id}`;
      if (e.body.status === 'completed') continue;
      const original = completed.get(key);
      assert.ok(original, `${e.body.status} of unknown order ${key}`);
      assert.ok(Date.parse(e.event_ts) > Date.parse(original.event_ts));
      assert.ok(e.body.refund_minor > 0 && e.body.refund_minor <= original.body.net_minor);
      if (e.body.status === 'refunded') {
        refunds++;
        if (e.body.refund_minor < original.body.net_minor) partial++;
      } else {
        cancellations++;
        assert.equal(e.body.refund_minor, original.body.net_minor);
      }
    }
    assert.ok(refunds > 0 && partial > 0 && cancellations > 0, `${refunds} refunds, ${partial} partial, ${cancellations} cancellations`);
  });

  it('tags POS batches: consecutive pos entries of one store inside one 15-minute window, sent after it closes', () => {
    assert.ok(w.posBatches.length > 50);
    let covered = 0;
    w.posBatches.forEach((b, index) => {
      assert.equal((Date.parse(b.window_end) - Date.parse(b.window_start)) / 60_000, 15);
      assert.equal(Date.parse(b.window_start) % (15 * 60_000), 0);
      assert.ok(Date.parse(b.received_at) >= Date.parse(b.window_end));
      for (let i = b.first_entry; i < b.first_entry + b.count; i++) {
        const e = parsed[i]!;
        assert.equal(w.annotations![i]!.pos_batch, index);
        assert.deepStrictEqual([e.merchant_id, e.store_id, e.source, e.event_type], [b.merchant_id, b.store_id, 'pos', 'order']);
        const ts = Date.parse(e.event_ts);
        assert.ok(ts >= Date.parse(b.window_start) && ts < Date.parse(b.window_end), `${e.event_ts} outside ${b.window_start}`);
      }
      covered += b.count;
    });
    assert.equal(covered, parsed.filter((e, i) => e?.source === 'pos' && w.annotations![i]!.expected !== 'duplicate').length);
  });

  it('keeps quantity on hand consistent per store and sku across sale, restock, waste and adjust moves', () => {
    const chains = new Map<string, { ts: number; qoh: number; delta: number }[]>();
    const reasons = new Set<string>();
    parsed.forEach((e, i) => {
      if (e?.event_type !== 'inventory' || w.annotations![i]!.expected !== 'accepted') return;
      reasons.add(e.body.reason);
      const key = `${e.merchant_id}/${e.store_id}/${e.body.sku}`;
      if (!chains.has(key)) chains.set(key, []);
      chains.get(key)!.push({ ts: Date.parse(e.event_ts), qoh: e.body.quantity_on_hand, delta: e.body.delta });
    });
    assert.ok(chains.size > 20);
    for (const [key, moves] of chains) {
      moves.sort((x, y) => x.ts - y.ts);
      for (let i = 1; i < moves.length; i++) {
        assert.ok(moves[i]!.ts > moves[i - 1]!.ts, `${key}: two moves at one instant`);
        assert.equal(moves[i]!.qoh, moves[i - 1]!.qoh + moves[i]!.delta, `${key}: move ${i}`);
      }
    }
    for (const r of ['sale', 'restock']) assert.ok(reasons.has(r), r);
  });

  it('links online orders to the page views of their session, and drops only bot user agents by the bot rule', () => {
    const bot = new RegExp(DEFAULT_BOT_PATTERN, 'i');
    const sessions = new Map<string, string>();
    parsed.forEach((e, i) => {
      if (e?.event_type !== 'page_view') return;
      const isBot = bot.test(e.body.user_agent ?? '');
      assert.equal(isBot, w.annotations![i]!.expected === 'bot', e.body.user_agent);
      sessions.set(e.body.session_id, e.body.visitor_id);
    });
    let linked = 0;
    for (const e of parsed) {
      if (e?.event_type !== 'order' || e.source !== 'online' || !e.body.session_id) continue;
      assert.equal(sessions.get(e.body.session_id), e.body.visitor_id, `order ${e.body.order_id} has no page views in its session`);
      linked++;
    }
    assert.ok(linked > 20);
  });

  it('announces promotions for known stores and applies price reductions as line discounts', () => {
    const dims = resolveDimensions(w.dimensions);
    const promos = parsed.filter((e): e is Extract<Event, { event_type: 'promotion' }> => e?.event_type === 'promotion');
    assert.ok(promos.length >= 6);
    for (const p of promos) for (const s of p.body.store_ids) assert.ok(dims.stores.has(storeKey(p.merchant_id, s)), s);
    const discounted = parsed.filter((e) => e?.event_type === 'order' && e.body.promo_ids.includes('pz-two-for-tuesday')) as OrderEvent[];
    assert.ok(discounted.length > 0);
    for (const o of discounted) assert.ok(o.body.line_items.some((li) => li.category === 'pizza' && li.discount_minor > 0));
  });

  it('sums the manifest from the annotations', () => {
    const a = w.annotations!;
    const rejected: Record<string, number> = {};
    for (const x of a) if (x.expected !== 'accepted' && x.expected !== 'duplicate') rejected[x.expected] = (rejected[x.expected] ?? 0) + 1;
    assert.deepStrictEqual(w.manifest.expected, {
      published: EVENTS,
      accepted: a.filter((x) => x.expected === 'accepted').length,
      rejected: w.manifest.expected.rejected,
      duplicates: a.filter((x) => x.expected === 'duplicate').length,
    });
    assert.deepStrictEqual({ ...w.manifest.expected.rejected }, rejected);
    assert.ok((rejected.bot ?? 0) > 0);
    assert.equal(w.manifest.late, a.filter((x) => x.late).length);
    assert.equal(w.manifest.pos_batch_count, w.posBatches.length);
  });

  it('handles tiny and empty workloads', () => {
    assert.deepStrictEqual(generateWorkload({ events: 0, seed: 's', anchor: ANCHOR }).entries, []);
    for (const n of [1, 7, 60]) assert.equal(generateWorkload({ events: n, seed: 's', anchor: ANCHOR }).entries.length, n);
  });

  it('rejects options out of range with a message naming the option', () => {
    assert.throws(() => generateWorkload({ events: -1 }), /events must be a non-negative integer/);
    assert.throws(() => generateWorkload({ anchor: 'yesterday' }), /anchor must be an ISO 8601 instant/);
    assert.throws(() => generateWorkload({ days: 8 }), /days must be between/);
    assert.throws(() => generateWorkload({ shares: { malformed: 0.9 } }), /share malformed must be between 0 and 0.5/);
  });
});
