// The demo workload generator behind `tillstream generate` and the demo seeding of `tillstream start`.
//
// It simulates the last days before an anchor instant, one UTC hour at a time, and writes every entry in the
// order it would have been received: online orders and page views in real time, POS orders in 15-minute batches
// per store, hourly inventory moves, promotions, refunds and cancellations, plus configurable shares of exact
// re-sends (duplicates), malformed entries and late deliveries. Everything is drawn from one seeded generator,
// so a seed and an anchor always give byte-identical output. Each entry's intended end state (accepted,
// duplicate, or a rejection reason) is known as it is written, which makes the manifest of expected counts exact
// for a load at the anchor with the default ingest configuration.
import type { DimensionsFile } from '../pipeline/contracts/dimensions.js';
import { Rng } from './random.js';
import { buildWorld, worldDimensions } from './world.js';
import { DAY, DEFAULT_SHARES, HOUR, MALFORMED_KINDS, MALFORMED_WEIGHTS, MINUTE, ORDER_DRIVEN_SHARE, POS_WINDOW, PROGRESS_EVERY, RING_SIZE, SECOND, isoMs, isoSec, type EntryAnnotation, type GenerateOptions, type Item, type LineItemOut, type MalformedKind, type PosBatch, type Shares, type StoreState, type Workload, type WorkloadManifest, type WorkloadSink } from './generator-base.js';
import { OrderAndWebGenerator } from './generator-orders.js';

export { MIN_LATE_MS, MAX_LATE_MS, type Shares, DEFAULT_SHARES, type GenerateOptions, type Expected, type EntryAnnotation, type PosBatch, type ExpectedCounts, type WorkloadManifest, type Workload, type WorkloadSink, BOT_USER_AGENTS } from './generator-base.js';

class Generator extends OrderAndWebGenerator {
  // ------------------------------------------------------------ the run

  run(): WorkloadManifest {
    const steps = this.steps();
    for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
  }

  /** The run one slice of time per step: each step writes the entries received in its slice. */
  *steps(): Iterator<void, WorkloadManifest> {
    for (let h = 0; h < this.slices; h++) {
      this.currentSlice = h;
      this.bucket = this.pending.get(h) ?? [];
      this.pending.delete(h);
      this.setClocks(h);
      const t0 = this.sliceStart(h);
      const t1 = this.sliceEnd(h);
      const last = h === this.slices - 1;

      this.promotionsIn(t0, t1);
      this.morningRestocks(t0);
      for (const s of this.stores) {
        const n = this.rng.poisson(this.ordersPerWeight * this.demand(s, h));
        for (let i = 0; i < n; i++) this.order(s, t0 + this.rng.next() * (t1 - t0));
      }
      this.inventoryMoves(t0, t1);
      this.flushPosWindows(t0, t1);
      this.steer(h);
      this.browsingFiller(h, t0, t1, last);
      this.duplicates(h, t0, t1, last);
      this.malformed(h, t0, t1, last);
      this.emitBucket();
      yield;
    }
    if (this.written === 0 || this.written % PROGRESS_EVERY !== 0) this.opts.onProgress?.(this.written, this.total);
    return this.manifest();
  }

  /** Re-aims orders per unit of demand so order-driven entries land near their share of the base volume. */
  private steer(h: number): void {
    const remainingDemand = (this.cumDemand[this.slices - 1] as number) - (this.cumDemand[h] as number);
    if (remainingDemand <= 0 || this.orders < 20) return;
    const perOrder = this.orderDriven / this.orders;
    const remaining = ORDER_DRIVEN_SHARE * this.baseTarget - this.orderDriven;
    const k = Math.max(0, remaining) / (perOrder * remainingDemand);
    // Gentle steps keep daily rhythms intact while correcting the estimate.
    this.ordersPerWeight = Math.min(this.ordersPerWeight * 1.25, Math.max(this.ordersPerWeight * 0.8, k));
  }

  // ------------------------------------------------------------ POS batches

  protected posEvent(s: StoreState, ts: number, line: string): void {
    const w = Math.floor((ts - this.start) / POS_WINDOW);
    let byStore = this.posWindows.get(w);
    if (!byStore) this.posWindows.set(w, (byStore = new Map()));
    let list = byStore.get(s.gi);
    if (!list) byStore.set(s.gi, (list = []));
    line.charCodeAt(0); // flatten now (see schedule)
    list.push({ ts, seq: this.seq++, line });
  }

  /** Closes the 15-minute windows ending in this slice: each store uploads its window as one batch. */
  private flushPosWindows(t0: number, t1: number): void {
    const first = Math.floor((t0 - this.start) / POS_WINDOW);
    // Windows still open at the anchor are never uploaded: their orders have not been received yet.
    for (let w = first; this.start + (w + 1) * POS_WINDOW <= t1; w++) {
      const windowEnd = this.start + (w + 1) * POS_WINDOW;
      const byStore = this.posWindows.get(w);
      this.posWindows.delete(w);
      if (!byStore) continue;
      for (const [gi, list] of [...byStore.entries()].sort((a, b) => a[0] - b[0])) {
        const s = this.stores[gi]!;
        list.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
        const delay = this.lateDelay(windowEnd + 3 * MINUTE);
        const recv = windowEnd + this.rng.int(20 * SECOND, 180 * SECOND) + delay;
        if (recv > this.anchor) continue;
        if (this.baseCount + list.length > this.baseTarget) list.length = Math.max(0, this.baseTarget - this.baseCount);
        if (list.length === 0) continue;
        this.baseCount += list.length;
        this.orderDriven += list.length;
        this.put({
          recv,
          seq: this.seq++,
          line: null,
          batch: list.map((e) => e.line),
          batchMeta: { merchant_id: s.merchant.id, store_id: s.spec.id, window_start: new Date(windowEnd - POS_WINDOW).toISOString(), window_end: new Date(windowEnd).toISOString() },
          expected: 'accepted',
          late: delay > 0,
          kind: 'order',
          copyable: false,
        });
      }
    }
  }

  // ------------------------------------------------------------ inventory

  protected initStock(): void {
    // Capacity covers a bit more than a typical day, so busy days dip under the low-stock threshold.
    const sampler = new Rng(`stock:${this.opts.seed}`);
    for (const m of this.merchants) {
      const avg = m.spec.tracked.map(() => 0);
      const samples = 200;
      for (let i = 0; i < samples; i++) {
        for (const li of this.basket(m, sampler)) {
          const item = m.itemBySku.get(li.sku)!;
          for (const [t, n] of item.consumes) avg[t] = (avg[t] as number) + (n * li.quantity) / samples;
        }
      }
      for (const s of this.stores) {
        if (s.merchant !== m.spec) continue;
        for (let t = 0; t < avg.length; t++) {
          const daily = this.ordersPerWeight * s.spec.weight * 24 * (avg[t] as number);
          const cap = Math.max(24, Math.round(daily * 1.3));
          s.capacity[t] = cap;
          s.onHand[t] = Math.round(cap * sampler.range(0.55, 0.95));
        }
      }
    }
  }

  private move(s: StoreState, t: number, ts: number, delta: number, reason: 'sale' | 'restock' | 'waste' | 'adjust'): void {
    if (delta === 0) return;
    const at = Math.max(ts, (s.lastMove[t] as number) + SECOND);
    s.lastMove[t] = at;
    s.onHand[t] = (s.onHand[t] as number) + delta;
    const tracked = s.merchant.tracked[t]!;
    const line = `{"event_id":"${this.eventId()}","merchant_id":"${s.merchant.id}","event_type":"inventory","event_ts":"${isoSec(at, s.offset)}","source":"server","schema_version":1,"store_id":"${s.spec.id}","body":{"sku":${JSON.stringify(tracked.sku)},"item_kind":"${tracked.item_kind}","quantity_on_hand":${s.onHand[t]},"delta":${delta},"reason":"${reason}"}}`;
    this.schedule(at + this.rng.int(200, 2000), line, 'accepted', false, 'inventory', true);
  }

  /** Deliveries arrive before opening (local 06:00-07:00) for stock under 70% of capacity. */
  private morningRestocks(t0: number): void {
    for (const s of this.stores) {
      if (s.localHour !== 6) continue;
      for (let t = 0; t < s.onHand.length; t++) {
        const cap = s.capacity[t] as number;
        if ((s.onHand[t] as number) < 0.5 * cap) this.move(s, t, t0 + this.rng.int(5 * MINUTE, 40 * MINUTE), cap - (s.onHand[t] as number), 'restock');
      }
    }
  }

  /** Hourly sale moves per store and sku, with emergency deliveries, end-of-day waste and count corrections. */
  private inventoryMoves(t0: number, t1: number): void {
    for (const s of this.stores) {
      s.slicesSinceMoves++;
      if (s.ordersSinceMoves === 0 || (s.ordersSinceMoves < 8 && s.slicesSinceMoves < 6)) continue;
      s.ordersSinceMoves = 0;
      s.slicesSinceMoves = 0;
      for (let t = 0; t < s.used.length; t++) {
        const used = Math.round(s.used[t] as number);
        s.used[t] = 0;
        if (used <= 0) continue;
        const saleTs = Math.max(t0 + MINUTE, t1 - this.rng.int(3 * MINUTE, 10 * MINUTE));
        if ((s.onHand[t] as number) - used < 0) this.move(s, t, saleTs - this.rng.int(MINUTE, 3 * MINUTE), (s.capacity[t] as number) - (s.onHand[t] as number), 'restock');
        this.move(s, t, saleTs, -used, 'sale');
        const tracked = s.merchant.tracked[t]!;
        const closing = (s.merchant.profile === 'pizza' && s.localHour === 22 && tracked.sku === 'RM-DOUGH') || (s.merchant.profile === 'cafe' && s.localHour === 17 && tracked.sku === 'BK-CROISSANT');
        if (closing && (s.onHand[t] as number) > 6 && this.rng.chance(0.6)) this.move(s, t, saleTs + this.rng.int(30 * SECOND, 90 * SECOND), -this.rng.int(1, 4), 'waste');
        else if (this.rng.chance(0.01)) {
          const d = this.rng.chance(0.5) ? this.rng.int(1, 3) : -Math.min(this.rng.int(1, 3), s.onHand[t] as number);
          this.move(s, t, saleTs + this.rng.int(30 * SECOND, 90 * SECOND), d, 'adjust');
        }
      }
    }
  }

  // ------------------------------------------------------------ promotions

  private promotionsIn(t0: number, t1: number): void {
    for (const m of this.merchants) {
      for (const p of m.spec.promotions) {
        const from = this.promoStart(p);
        // Announced up to 20 hours ahead, never before the span begins.
        const ts = Math.max(this.start + 10 * MINUTE, from - 20 * HOUR);
        if (ts < t0 || ts >= t1) continue;
        const body: Record<string, unknown> = {
          promo_id: p.promo_id,
          kind: p.kind,
          starts_at: isoSec(from, 0),
          ends_at: isoSec(from + p.durationHours * HOUR, 0),
          store_ids: p.stores.map((i) => m.spec.stores[i]!.id),
          name: p.name,
        };
        const line = JSON.stringify({ event_id: this.eventId(), merchant_id: m.spec.id, event_type: 'promotion', event_ts: isoSec(ts, 0), source: 'server', schema_version: 1, body });
        this.schedule(ts + this.rng.int(500, 5000), line, 'accepted', false, 'promotion', true);
      }
    }
  }

  // ------------------------------------------------------------ duplicates and malformed entries

  private sliceQuota(target: number, done: number, h: number, last: boolean): number {
    if (last) return target - done;
    const due = Math.floor((target * (this.cumSliceWeight[h] as number)) / (this.cumSliceWeight[this.slices - 1] as number));
    return Math.max(0, due - done);
  }

  private duplicates(h: number, t0: number, t1: number, last: boolean): void {
    let n = this.sliceQuota(this.dupTarget, this.dupCount, h, last);
    if (this.ring.length === 0) {
      if (last) this.malformedExtra += n; // nothing was sent before: nothing to re-send
      return;
    }
    for (; n > 0; n--) {
      let line = this.rng.pick(this.ring);
      // An event with a conflicting copy is not also re-sent exactly: which copy wins would then depend on order.
      for (let tries = 0; this.conflicted.has(line) && tries < 10; tries++) line = this.rng.pick(this.ring);
      if (this.conflicted.has(line)) continue;
      this.duplicated.add(line);
      this.dupCount++;
      this.put({ recv: t0 + this.rng.next() * (t1 - t0), seq: this.seq++, line, batch: null, batchMeta: null, expected: 'duplicate', late: false, kind: 'duplicate', copyable: false });
    }
  }

  /** Duplicates that could not be made (nothing sent yet to re-send) become malformed entries instead. */
  private malformedExtra = 0;
  /** Lines that got a conflicting copy, and lines re-sent exactly: an event never gets both. */
  private readonly conflicted = new Set<string>();
  private readonly duplicated = new Set<string>();

  private malformed(h: number, t0: number, t1: number, last: boolean): void {
    let n = this.sliceQuota(this.malformedTarget, this.malformedCount, h, last) + (last ? this.malformedExtra : 0);
    for (; n > 0; n--) {
      const recv = t0 + this.rng.next() * (t1 - t0);
      let kind = MALFORMED_KINDS[this.rng.weightedIndex(MALFORMED_WEIGHTS)]!;
      let line: string;
      if (kind === 'conflicting_duplicate') {
        const conflict = this.conflictingCopy();
        if (conflict === null) kind = 'schema_mismatch';
        line = conflict ?? this.malformedLine(kind, recv);
      } else line = this.malformedLine(kind, recv);
      this.malformedCount++;
      this.put({ recv, seq: this.seq++, line, batch: null, batchMeta: null, expected: kind, late: false, kind: `malformed:${kind}`, copyable: false });
    }
  }

  /** A valid order of a random store, as a mutable object, for malformations to start from. */
  private sampleOrder(ts: number): { event: Record<string, unknown>; body: Record<string, unknown>; s: StoreState } {
    const s = this.rng.pick(this.stores);
    const m = this.merchants[s.merchantIndex]!;
    const lines = this.basket(m);
    let gross = 0;
    for (const li of lines) gross += li.quantity * li.unit_price_minor;
    const body: Record<string, unknown> = {
      order_id: `${m.orderPrefix}-X${this.rng.hex(4)}`,
      status: 'completed',
      channel: 'online',
      fulfilment: 'pickup',
      currency: m.spec.currency,
      line_items: lines,
      gross_minor: gross,
      discount_minor: 0,
      net_minor: gross,
      refund_minor: 0,
      promo_ids: [],
    };
    const event: Record<string, unknown> = { event_id: this.eventId(), merchant_id: s.merchant.id, event_type: 'order', event_ts: isoMs(ts, 0), source: 'online', schema_version: 1, store_id: s.spec.id, body };
    return { event, body, s };
  }

  private malformedLine(kind: MalformedKind, recv: number): string {
    const rng = this.rng;
    const ts = recv - rng.int(100, 3000);
    const { event, body, s } = this.sampleOrder(ts);
    switch (kind) {
      case 'invalid_json': {
        const variant = rng.int(0, 3);
        if (variant === 0) {
          // A line cut off mid-write: never valid JSON, since the top-level object stays open.
          const text = JSON.stringify(event);
          return text.slice(0, rng.int(10, text.length - 2));
        }
        if (variant === 1) return `{event_id: '${this.eventId()}', merchant_id: '${s.merchant.id}', event_type: 'order'}`;
        if (variant === 2) return `${JSON.stringify(event).slice(0, -1)},}`;
        return '<html><head><title>502 Bad Gateway</title></head></html>';
      }
      case 'payload_too_large': {
        const properties: Record<string, string> = {};
        for (let i = 0; i < 150; i++) properties[`p${i}`] = 'x'.repeat(500);
        return JSON.stringify({ event_id: this.eventId(), merchant_id: s.merchant.id, event_type: 'track', event_ts: isoMs(ts, 0), source: 'server', schema_version: 1, body: { name: 'debug_dump', properties, visitor_id: `v-${rng.hex(8)}`, session_id: `s-${rng.hex(8)}` } });
      }
      case 'schema_mismatch': {
        const variant = rng.int(0, 6);
        const lines = body.line_items as LineItemOut[];
        if (variant === 0) delete event.schema_version;
        else if (variant === 1) event.event_type = 'purchase';
        else if (variant === 2) (lines[0] as unknown as Record<string, unknown>).unit_price_minor = lines[0]!.unit_price_minor / 100;
        else if (variant === 3) body.gross_minor = (body.gross_minor as number) + 100;
        else if (variant === 4) event.event_ts = new Date(ts).toISOString().slice(0, 19).replace('T', ' ');
        else if (variant === 5) body.coupon_code = 'WELCOME';
        else lines[0]!.quantity = 0;
        return JSON.stringify(event);
      }
      case 'unknown_merchant':
        event.merchant_id = `m-unknown-${rng.hex(3)}`;
        return JSON.stringify(event);
      case 'unknown_store':
        event.store_id = `closed-${rng.int(100, 999)}`;
        return JSON.stringify(event);
      case 'currency_mismatch':
        body.currency = s.merchant.currency === 'USD' ? 'EUR' : 'USD';
        return JSON.stringify(event);
      case 'event_too_old':
        event.event_ts = isoMs(this.anchor - rng.int(7 * DAY + 12 * HOUR, 10 * DAY), 0);
        return JSON.stringify(event);
      case 'event_in_future':
        // A terminal with a wrong clock: a day or more ahead, so a late load does not make it valid.
        event.event_ts = isoMs(this.anchor + rng.int(DAY, 3 * DAY), 0);
        return JSON.stringify(event);
      case 'conflicting_duplicate':
        throw new Error('conflicting copies are made by conflictingCopy()');
    }
  }

  /** A page view sent again under the same event id with different content; null when none is available. */
  private conflictingCopy(): string | null {
    if (this.ringPageViews.length === 0) return null;
    for (let tries = 0; tries < 10; tries++) {
      const pick = this.rng.pick(this.ringPageViews);
      // One conflicting copy per event, and never for an event that is also re-sent exactly, so the end
      // states do not depend on the order in which copies are processed.
      if (this.duplicated.has(pick) || this.conflicted.has(pick)) continue;
      this.conflicted.add(pick);
      const original = JSON.parse(pick) as { body: { url: string } };
      original.body.url = `${original.body.url.split('?')[0]}?variant=${this.rng.hex(2)}`;
      return JSON.stringify(original);
    }
    return null;
  }

  // ------------------------------------------------------------ output

  private emitBucket(): void {
    const items = this.bucket;
    items.sort((a, b) => a.recv - b.recv || a.seq - b.seq);
    for (const it of items) {
      if (it.batch) {
        const index = this.posBatchCount++;
        const batch: PosBatch = { ...it.batchMeta!, received_at: new Date(it.recv).toISOString(), first_entry: this.written, count: it.batch.length };
        this.sink.posBatch(batch);
        for (const line of it.batch) this.emit(line, it, index);
      } else this.emit(it.line!, it, undefined);
    }
    this.bucket = [];
  }

  private emit(line: string, it: Item, posBatch: number | undefined): void {
    if (this.sink.annotate) {
      const ann: EntryAnnotation = { expected: it.expected, late: it.late, received_at_ms: Math.round(it.recv), kind: it.kind };
      if (posBatch !== undefined) ann.pos_batch = posBatch;
      this.sink.entry(line, ann);
    } else this.sink.entry(line);
    this.written++;
    if (this.written % PROGRESS_EVERY === 0) this.opts.onProgress?.(this.written, this.total);
    this.counts.published++;
    if (it.expected === 'accepted') this.counts.accepted++;
    else if (it.expected === 'duplicate') this.counts.duplicates++;
    else this.counts.rejected[it.expected] = (this.counts.rejected[it.expected] ?? 0) + 1;
    if (it.late) this.late++;
    if (!it.kind.startsWith('malformed:') && it.kind !== 'duplicate') {
      this.byType[it.kind] = (this.byType[it.kind] ?? 0) + 1;
      const at = line.indexOf('"source":"') + 10;
      const src = line.slice(at, line.indexOf('"', at));
      this.bySource[src] = (this.bySource[src] ?? 0) + 1;
    }
    if (it.copyable) {
      if (this.ring.length < RING_SIZE) this.ring.push(line);
      else this.ring[this.rng.int(0, RING_SIZE - 1)] = line;
      if (it.kind === 'page_view') {
        if (this.ringPageViews.length < RING_SIZE) this.ringPageViews.push(line);
        else this.ringPageViews[this.rng.int(0, RING_SIZE - 1)] = line;
      }
    }
  }

  private manifest(): WorkloadManifest {
    return {
      seed: this.opts.seed,
      anchor: new Date(this.anchor).toISOString(),
      span_start: new Date(this.start).toISOString(),
      events: this.written,
      generic_merchants: this.opts.merchants,
      shares: this.shares,
      expected: this.counts,
      late: this.late,
      by_event_type: this.byType,
      by_source: this.bySource,
      pos_batch_count: this.posBatchCount,
    };
  }

  dimensions(): DimensionsFile {
    return worldDimensions(this.world);
  }
}

// ---------------------------------------------------------------- public API

export interface ResolvedOptions {
  events: number;
  merchants: number;
  seed: string;
  anchor: number;
  days: number;
  shares: Shares;
}

export function resolveOptions(opts: GenerateOptions): ResolvedOptions {
  const events = opts.events ?? 10_000;
  if (!Number.isSafeInteger(events) || events < 0) throw new Error(`events must be a non-negative integer, got ${events}`);
  const merchants = opts.merchants ?? 0;
  if (!Number.isSafeInteger(merchants) || merchants < 0 || merchants > 100_000) throw new Error(`merchants must be an integer from 0 to 100000, got ${merchants}`);
  const days = opts.days ?? 6;
  if (!(days >= 0.25 && days <= 6.5)) throw new Error(`days must be between 0.25 and 6.5, got ${days}`);
  const anchorDate = opts.anchor === undefined ? new Date() : new Date(opts.anchor);
  const anchor = anchorDate.getTime();
  if (Number.isNaN(anchor)) throw new Error(`anchor must be an ISO 8601 instant, got ${String(opts.anchor)}`);
  const shares = { ...DEFAULT_SHARES, ...opts.shares };
  for (const [k, v] of Object.entries(shares)) if (!(v >= 0 && v <= 0.5)) throw new Error(`share ${k} must be between 0 and 0.5, got ${v}`);
  if (shares.duplicates + shares.malformed > 0.5) throw new Error('duplicates and malformed shares together must not exceed 0.5');
  return { events, merchants, seed: opts.seed ?? 'tillstream', anchor, days, shares };
}

/** Streams a workload into a sink in receive order and returns its manifest and dimensions. */
export function generateInto(opts: GenerateOptions, sink: WorkloadSink): { manifest: WorkloadManifest; dimensions: DimensionsFile } {
  const r = resolveOptions(opts);
  const g = new Generator({ ...r, onProgress: opts.onProgress }, sink);
  const manifest = g.run();
  return { manifest, dimensions: g.dimensions() };
}

/**
 * Streams a workload into a sink one slice of time (an hour) per step, so a caller can consume what
 * a step wrote before the next is generated; the generator's return value is the manifest. The
 * dimensions are `demoDimensions(seed, merchants)`.
 */
export function generateSteps(opts: GenerateOptions, sink: WorkloadSink): Iterator<void, WorkloadManifest> {
  const r = resolveOptions(opts);
  return new Generator({ ...r, onProgress: opts.onProgress }, sink).steps();
}

/** The whole workload in memory: dimensions, NDJSON lines in receive order, POS batches, manifest. */
export function generateWorkload(opts: GenerateOptions = {}): Workload {
  const entries: string[] = [];
  const posBatches: PosBatch[] = [];
  const annotations: EntryAnnotation[] | undefined = opts.annotate ? [] : undefined;
  const { manifest, dimensions } = generateInto(opts, {
    annotate: annotations !== undefined,
    entry(line, annotation) {
      entries.push(line);
      if (annotation) annotations?.push(annotation);
    },
    posBatch(batch) {
      posBatches.push(batch);
    },
  });
  return { dimensions, entries, posBatches, manifest, ...(annotations ? { annotations } : {}) };
}

/** The demo dimensions alone (they depend on the seed and the number of generic merchants only). */
export function demoDimensions(seed = 'tillstream', merchants = 0): DimensionsFile {
  return worldDimensions(buildWorld(seed, merchants));
}
