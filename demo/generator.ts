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
import type { ReasonCode } from '../pipeline/contracts/outcomes.js';
import { zoneOffsetMinutes } from '../pipeline/time.js';
import { Rng, cumulative } from './random.js';
import { RHYTHM, buildWorld, worldDimensions, type CatalogItem, type MerchantSpec, type PromotionSpec, type StoreSpec, type World } from './world.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const POS_WINDOW = 15 * MINUTE;
/** A deliberately late delivery arrives at least this long after the event happened, and at most MAX_LATE. */
export const MIN_LATE_MS = 30 * MINUTE;
export const MAX_LATE_MS = 3 * DAY;

export interface Shares {
  /** Exact re-sends of earlier accepted entries. */
  duplicates: number;
  /** Broken JSON, schema errors, unknown merchant/store, wrong currency, too old, in the future, conflicting re-sends. */
  malformed: number;
  /** Share of regular entries delivered 30 minutes to 3 days after they happened. */
  late: number;
}

export const DEFAULT_SHARES: Shares = { duplicates: 0.02, malformed: 0.01, late: 0.03 };

export interface GenerateOptions {
  /** Total entries (lines) to write; default 10,000. */
  events?: number;
  /** Generic merchants besides the pizza chain, the retailer and the web shop; default 0. */
  merchants?: number;
  seed?: string;
  /** End of the simulated span and the intended receive time of the load; default now. */
  anchor?: Date | string;
  /** Length of the simulated span in days (0.25-6.5); default 6, inside the default 7-day age limit. */
  days?: number;
  shares?: Partial<Shares>;
  /** Also return an annotation per entry (in-memory API only). */
  annotate?: boolean;
  /** Called after every 10,000 entries written and once at the end. */
  onProgress?: (written: number, total: number) => void;
}

/** What an entry is meant to end as when loaded at the anchor with the default ingest configuration. */
export type Expected = 'accepted' | 'duplicate' | ReasonCode;

export interface EntryAnnotation {
  expected: Expected;
  /** Delivered deliberately late (30 minutes to 3 days after it happened). */
  late: boolean;
  /** When the entry would have been received, epoch ms; entries are written in this order. */
  received_at_ms: number;
  /** What the entry is: an event type, or the kind of malformation. */
  kind: string;
  /** Index of the POS batch the entry belongs to, if any. */
  pos_batch?: number;
}

/** One 15-minute POS upload of one store: `count` consecutive entries starting at `first_entry` (0-based line). */
export interface PosBatch {
  merchant_id: string;
  store_id: string;
  window_start: string;
  window_end: string;
  received_at: string;
  first_entry: number;
  count: number;
}

export interface ExpectedCounts {
  published: number;
  accepted: number;
  rejected: Partial<Record<ReasonCode, number>>;
  duplicates: number;
}

export interface WorkloadManifest {
  seed: string;
  anchor: string;
  span_start: string;
  events: number;
  generic_merchants: number;
  shares: Shares;
  /** End states if every entry is loaded once, received at the anchor, with the default ingest configuration. */
  expected: ExpectedCounts;
  late: number;
  by_event_type: Record<string, number>;
  by_source: Record<string, number>;
  pos_batch_count: number;
}

export interface Workload {
  dimensions: DimensionsFile;
  /** NDJSON lines in receive order. */
  entries: string[];
  posBatches: PosBatch[];
  manifest: WorkloadManifest;
  annotations?: EntryAnnotation[];
}

/** Where generated output goes, in receive order. */
export interface WorkloadSink {
  /** Ask for an annotation with every entry (costs an object per entry). */
  annotate?: boolean;
  entry(line: string, annotation?: EntryAnnotation): void;
  posBatch(batch: PosBatch): void;
}

// ---------------------------------------------------------------- time helpers

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** ISO instant written in a given UTC offset (minutes), with milliseconds; `Z` for offset 0. */
function isoMs(ms: number, offsetMin: number): string {
  if (offsetMin === 0) return new Date(ms).toISOString();
  const a = Math.abs(offsetMin);
  return `${new Date(ms + offsetMin * MINUTE).toISOString().slice(0, 23)}${offsetMin < 0 ? '-' : '+'}${pad2((a / 60) | 0)}:${pad2(a % 60)}`;
}

/** ISO instant in whole seconds in a given offset, the way POS terminals and back offices write local time. */
function isoSec(ms: number, offsetMin: number): string {
  const whole = ms - (ms % SECOND);
  if (offsetMin === 0) return `${new Date(whole).toISOString().slice(0, 19)}Z`;
  const a = Math.abs(offsetMin);
  return `${new Date(whole + offsetMin * MINUTE).toISOString().slice(0, 19)}${offsetMin < 0 ? '-' : '+'}${pad2((a / 60) | 0)}:${pad2(a % 60)}`;
}

// ---------------------------------------------------------------- web traffic pieces

const USER_AGENTS: { ua: string; device: 'desktop' | 'mobile' | 'tablet' }[] = [
  { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', device: 'desktop' },
  { ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', device: 'desktop' },
  { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0', device: 'desktop' },
  { ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', device: 'mobile' },
  { ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', device: 'mobile' },
  { ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', device: 'mobile' },
  { ua: 'Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36', device: 'mobile' },
  { ua: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', device: 'tablet' },
];
const UA_WEIGHTS = cumulative([3, 2, 1, 4, 2, 3, 2, 1]);

/** User agents the documented bot rule drops (crawlers, headless browsers, audits). */
export const BOT_USER_AGENTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)',
];

const REFERRERS = ['', '', '', 'https://www.google.com/', 'https://www.google.com/', 'https://www.bing.com/', 'https://www.instagram.com/', 'https://news.example/local-food-guide'];

/** First octets of plausible public IPv4 space per country; the fraud list's ranges are never among them. */
const IP_PREFIXES: Record<string, number[]> = {
  US: [73, 98, 24, 71, 68], CA: [142, 174, 99], GB: [81, 86, 90, 92], DE: [91, 84, 79, 87], AT: [62, 80, 178], FR: [88, 90, 82],
  ES: [83, 88, 95], IT: [93, 79, 151], NL: [145, 77, 84], IE: [86, 78, 37], IN: [49, 117, 106, 27], NP: [103, 110, 27],
  JP: [126, 60, 153], AU: [1, 101, 120], SE: [78, 83, 90],
};

interface Visitor {
  id: string;
  ua: string;
  device: string;
  country: string;
  ip: string;
}

// ---------------------------------------------------------------- generator internals

interface Item {
  recv: number;
  seq: number;
  /** A single entry, or the entries of one POS batch (sent together). */
  line: string | null;
  batch: string[] | null;
  batchMeta: Omit<PosBatch, 'first_entry' | 'count' | 'received_at'> | null;
  expected: Expected;
  late: boolean;
  kind: string;
  /** Regular accepted entry a later duplicate may copy. */
  copyable: boolean;
}

interface StoreState {
  merchant: MerchantSpec;
  spec: StoreSpec;
  merchantIndex: number;
  storeIndex: number;
  /** Index among all stores. */
  gi: number;
  /** Tracked stock on hand, consumption this hour, capacity, time of the last move per tracked sku. */
  onHand: number[];
  used: number[];
  /** Orders and hours since the last sale moves: quiet stores report stock every few hours, busy ones hourly. */
  ordersSinceMoves: number;
  slicesSinceMoves: number;
  capacity: number[];
  lastMove: number[];
  offset: number;
  localHour: number;
  weekday: number;
}

interface MerchantState {
  spec: MerchantSpec;
  itemWeights: number[];
  orderSeq: number;
  orderPrefix: string;
  itemBySku: Map<string, CatalogItem>;
  /** Items of each category with running totals of their popularity. */
  byCategory: Map<string, { items: CatalogItem[]; weights: number[] }>;
  /** Countries its visitors come from. */
  countries: string[];
  visitors: Visitor[];
}

interface PosEntry {
  ts: number;
  seq: number;
  line: string;
}

type MalformedKind =
  | 'invalid_json'
  | 'payload_too_large'
  | 'schema_mismatch'
  | 'unknown_merchant'
  | 'unknown_store'
  | 'currency_mismatch'
  | 'event_too_old'
  | 'event_in_future'
  | 'conflicting_duplicate';

const MALFORMED_KINDS: MalformedKind[] = ['invalid_json', 'schema_mismatch', 'unknown_merchant', 'unknown_store', 'currency_mismatch', 'event_too_old', 'event_in_future', 'conflicting_duplicate', 'payload_too_large'];
const MALFORMED_WEIGHTS = cumulative([22, 25, 10, 10, 10, 8, 8, 6, 1]);

/** Share of regular entries that order-driven traffic aims for; browsing sessions fill the rest. */
const ORDER_DRIVEN_SHARE = 0.75;
const BOT_SESSION_SHARE = 0.06;
const FRAUD_SHARE = 0.004;
const RING_SIZE = 4096;
const NO_OFFSET = -1_000_000;
/** onProgress is called after every this many entries, and once at the end. */
const PROGRESS_EVERY = 10_000;

interface LineItemOut {
  sku: string;
  category: string;
  quantity: number;
  unit_price_minor: number;
  discount_minor: number;
}

/**
 * Walks the span one UTC hour (a *slice*) at a time. Everything that happens in a slice is generated, each
 * entry is filed under the slice in which it is *received* (late deliveries, POS uploads after their window,
 * sessions running past the hour go to `pending`), and at the end of the slice its entries are sorted by
 * receive time and written. Volumes are steered toward the exact total: orders per unit of demand are
 * re-estimated each slice, browsing sessions top regular traffic up to its share of the slice, and
 * duplicates and malformed entries follow their own quotas. The last slice lands every count exactly.
 */
class Generator {
  private readonly rng: Rng;
  private readonly world: World;
  private readonly merchants: MerchantState[];
  private readonly stores: StoreState[];
  private readonly anchor: number;
  private readonly start: number;
  private readonly slices: number;
  private readonly total: number;
  private readonly baseTarget: number;
  private readonly dupTarget: number;
  private readonly malformedTarget: number;
  private readonly shares: Shares;
  /** Running totals of expected orders, and of traffic weight (orders plus a night-time floor), per slice. */
  private readonly cumDemand: Float64Array;
  private readonly cumSliceWeight: Float64Array;
  private readonly webWeights: number[];

  private seq = 0;
  /** UTC offset per time zone and slice, in minutes: Intl look-ups are slow, so each is made once. */
  private readonly zoneOffsets = new Map<string, Int32Array>();
  /** Entries to be received in later slices, by slice index. */
  private pending = new Map<number, Item[]>();
  /** Open POS windows: window index → store index → its orders and refunds so far. */
  private posWindows = new Map<number, Map<number, PosEntry[]>>();
  /** Entries received in the current slice. */
  private bucket: Item[] = [];
  private currentSlice = 0;

  // Counters that steer volumes toward the exact totals.
  private baseCount = 0;
  private orderDriven = 0;
  private orders = 0;
  private dupCount = 0;
  private malformedCount = 0;
  private ordersPerWeight: number;

  // Output bookkeeping.
  private written = 0;
  private ring: string[] = [];
  private ringPageViews: string[] = [];
  private readonly counts: ExpectedCounts = { published: 0, accepted: 0, rejected: {}, duplicates: 0 };
  private late = 0;
  private readonly byType: Record<string, number> = {};
  private readonly bySource: Record<string, number> = {};
  private posBatchCount = 0;

  constructor(
    private readonly opts: Required<Pick<GenerateOptions, 'events' | 'merchants' | 'seed' | 'days'>> & { anchor: number; shares: Shares; onProgress?: GenerateOptions['onProgress'] },
    private readonly sink: WorkloadSink,
  ) {
    this.rng = new Rng(`workload:${opts.seed}:${opts.anchor}`);
    this.world = buildWorld(opts.seed, opts.merchants);
    this.anchor = opts.anchor;
    // The span ends at the anchor and starts on a UTC hour, so slices and POS windows align with UTC clock hours.
    this.start = Math.ceil((this.anchor - opts.days * DAY) / HOUR) * HOUR;
    this.slices = Math.ceil((this.anchor - this.start) / HOUR);
    this.shares = opts.shares;
    this.total = opts.events;
    this.dupTarget = Math.round(opts.events * opts.shares.duplicates);
    this.malformedTarget = Math.round(opts.events * opts.shares.malformed);
    this.baseTarget = opts.events - this.dupTarget - this.malformedTarget;

    this.merchants = this.world.merchants.map((spec, i) => ({
      spec,
      itemWeights: cumulative(spec.catalog.map((c) => c.weight)),
      itemBySku: new Map(spec.catalog.map((c) => [c.sku, c])),
      byCategory: new Map(
        [...new Set(spec.catalog.map((c) => c.category))].map((cat) => {
          const items = spec.catalog.filter((c) => c.category === cat);
          return [cat, { items, weights: cumulative(items.map((c) => c.weight)) }];
        }),
      ),
      countries: spec.visitorCountries.length > 0 ? spec.visitorCountries : [...spec.stores.map((st) => st.country), spec.country],
      orderSeq: 0,
      orderPrefix: i === 0 ? 'PR' : i === 1 ? 'BM' : i === 2 ? 'LM' : 'OR',
      visitors: [],
    }));
    this.webWeights = cumulative(this.world.merchants.map((m) => m.webWeight));
    let gi = 0;
    this.stores = this.world.merchants.flatMap((m, mi) =>
      m.stores.map((spec, si) => ({
        gi: gi++,
        merchant: m,
        spec,
        merchantIndex: mi,
        storeIndex: si,
        onHand: m.tracked.map(() => 0),
        used: m.tracked.map(() => 0),
        ordersSinceMoves: 0,
        slicesSinceMoves: 0,
        capacity: m.tracked.map(() => 0),
        lastMove: m.tracked.map(() => 0),
        offset: 0,
        localHour: 0,
        weekday: 0,
      })),
    );

    // Expected demand per slice (orders per unit of ordersPerWeight), to spread volume like real traffic.
    this.cumDemand = new Float64Array(this.slices);
    this.cumSliceWeight = new Float64Array(this.slices);
    const demandBySlice = new Float64Array(this.slices);
    for (let h = 0; h < this.slices; h++) {
      this.setClocks(h);
      let w = 0;
      for (const s of this.stores) w += this.demand(s, h);
      demandBySlice[h] = w;
    }
    const demandTotal = demandBySlice.reduce((s, x) => s + x, 0);
    const floor = (0.15 * demandTotal) / Math.max(1, this.slices);
    let cumD = 0;
    let cumW = 0;
    for (let h = 0; h < this.slices; h++) {
      cumD += demandBySlice[h] as number;
      this.cumDemand[h] = cumD;
      // A floor of night-time browsing keeps every hour populated.
      cumW += (demandBySlice[h] as number) + (floor * (this.sliceEnd(h) - this.sliceStart(h))) / HOUR;
      this.cumSliceWeight[h] = cumW;
    }
    const eventsPerOrderGuess = 4;
    this.ordersPerWeight = demandTotal > 0 ? (ORDER_DRIVEN_SHARE * this.baseTarget) / (eventsPerOrderGuess * demandTotal) : 0;
    this.initStock();
  }

  // ------------------------------------------------------------ clocks and demand

  private sliceStart(h: number): number {
    return this.start + h * HOUR;
  }

  private sliceEnd(h: number): number {
    return Math.min(this.start + (h + 1) * HOUR, this.anchor);
  }

  /** Sets every store's offset, local hour and weekday for slice h (measured at the slice's middle). */
  private setClocks(h: number): void {
    const mid = (this.sliceStart(h) + this.sliceEnd(h)) / 2;
    for (const s of this.stores) {
      let offsets = this.zoneOffsets.get(s.spec.time_zone);
      if (!offsets) this.zoneOffsets.set(s.spec.time_zone, (offsets = new Int32Array(this.slices).fill(NO_OFFSET)));
      let off = offsets[h] as number;
      if (off === NO_OFFSET) offsets[h] = off = zoneOffsetMinutes(s.spec.time_zone, mid);
      const local = new Date(mid + off * MINUTE);
      s.offset = off;
      s.localHour = local.getUTCHours();
      s.weekday = local.getUTCDay();
    }
  }

  /** Expected orders of a store in slice h per unit of ordersPerWeight, promotion lift included. */
  private demand(s: StoreState, h: number): number {
    const base = s.spec.weight * (RHYTHM[s.merchant.profile][s.weekday * 24 + s.localHour] as number);
    if (base === 0) return 0;
    const mid = (this.sliceStart(h) + this.sliceEnd(h)) / 2;
    let lift = 1;
    for (const p of s.merchant.promotions) if (this.promoCovers(p, s.storeIndex, mid)) lift *= p.lift;
    return (base * lift * (this.sliceEnd(h) - this.sliceStart(h))) / HOUR;
  }

  private promoStart(p: PromotionSpec): number {
    return this.start + p.startHour * HOUR;
  }

  private promoCovers(p: PromotionSpec, storeIndex: number, ts: number): boolean {
    const from = this.promoStart(p);
    return ts >= from && ts < from + p.durationHours * HOUR && (p.stores.length === 0 || p.stores.includes(storeIndex));
  }

  // ------------------------------------------------------------ scheduling

  private schedule(recv: number, line: string, expected: Expected, late: boolean, kind: string, orderDriven: boolean, copyable = expected === 'accepted'): void {
    if (recv > this.anchor) return; // not received yet at the anchor
    // A hard cap for tiny workloads, where fixed traffic such as promotions alone could exceed the total.
    if (this.baseCount >= this.baseTarget) return;
    this.baseCount++;
    if (orderDriven) this.orderDriven++;
    // Reading a character flattens the string built from template pieces now, while the pieces are still
    // young garbage; held until the slice is written, an unflattened rope would keep them all alive.
    line.charCodeAt(0);
    this.put({ recv, seq: this.seq++, line, batch: null, batchMeta: null, expected, late, kind, copyable });
  }

  private put(item: Item): void {
    const h = Math.floor((item.recv - this.start) / HOUR);
    if (h <= this.currentSlice) {
      this.bucket.push(item);
      return;
    }
    let list = this.pending.get(h);
    if (!list) this.pending.set(h, (list = []));
    list.push(item);
  }

  /** Delay of a unit that may be delivered late; 0 when on time. */
  private lateDelay(lastTs: number): number {
    if (!this.rng.chance(this.shares.late)) return 0;
    const room = Math.min(MAX_LATE_MS, this.anchor - lastTs - 5 * SECOND);
    if (room < MIN_LATE_MS) return 0;
    const u = this.rng.next();
    return Math.round(MIN_LATE_MS + (room - MIN_LATE_MS) * u * u);
  }

  private eventId(): string {
    return this.rng.uuid();
  }

  // ------------------------------------------------------------ the run

  run(): WorkloadManifest {
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

  // ------------------------------------------------------------ orders

  private basket(m: MerchantState, rng: Rng = this.rng): LineItemOut[] {
    const lines = new Map<string, LineItemOut>();
    const add = (item: CatalogItem, qty: number): void => {
      const existing = lines.get(item.sku);
      if (existing) existing.quantity += qty;
      else lines.set(item.sku, { sku: item.sku, category: item.category, quantity: qty, unit_price_minor: item.price_minor, discount_minor: 0 });
    };
    const catalog = m.spec.catalog;
    const byCategory = (cat: string): CatalogItem => {
      const c = m.byCategory.get(cat)!;
      return c.items[rng.weightedIndex(c.weights)]!;
    };
    switch (m.spec.profile) {
      case 'pizza': {
        const pizzas = rng.pick([1, 1, 1, 1, 2, 2, 2, 3, 3, 4]);
        for (let i = 0; i < pizzas; i++) add(byCategory('pizza'), 1);
        if (rng.chance(0.4)) add(byCategory('sides'), 1);
        if (rng.chance(0.6)) add(byCategory('drinks'), rng.int(1, 3));
        if (rng.chance(0.2)) add(byCategory('desserts'), rng.int(1, 2));
        break;
      }
      case 'retail': {
        const n = rng.pick([1, 1, 2, 2, 3, 3, 4, 5, 6, 8]);
        for (let i = 0; i < n; i++) {
          const it = catalog[rng.weightedIndex(m.itemWeights)] as CatalogItem;
          add(it, it.category === 'grocery' ? rng.int(1, 4) : rng.chance(0.8) ? 1 : 2);
        }
        break;
      }
      case 'webshop': {
        const n = rng.pick([1, 1, 1, 2, 2, 3]);
        for (let i = 0; i < n; i++) add(catalog[rng.weightedIndex(m.itemWeights)] as CatalogItem, rng.chance(0.85) ? 1 : 2);
        break;
      }
      case 'cafe': {
        const n = rng.pick([1, 1, 2, 2, 3]);
        for (let i = 0; i < n; i++) add(catalog[rng.weightedIndex(m.itemWeights)] as CatalogItem, 1);
        break;
      }
    }
    return [...lines.values()];
  }

  /** Applies running promotions to a basket; returns promo ids and the order-level discount. */
  private applyPromotions(s: StoreState, ts: number, lines: LineItemOut[], gross: number): { promoIds: string[]; orderDiscount: number } {
    const promoIds: string[] = [];
    let orderDiscount = 0;
    for (const p of s.merchant.promotions) {
      if (!this.promoCovers(p, s.storeIndex, ts)) continue;
      if (p.kind === 'price_reduction' && p.category && this.rng.chance(0.7)) {
        let used = false;
        for (const li of lines) {
          if (li.category !== p.category) continue;
          li.discount_minor += Math.round(li.quantity * li.unit_price_minor * p.discount);
          used = true;
        }
        if (used) promoIds.push(p.promo_id);
      } else if (p.kind === 'coupon' && this.rng.chance(0.3)) {
        orderDiscount += Math.round(gross * p.discount);
        promoIds.push(p.promo_id);
      }
    }
    return { promoIds, orderDiscount };
  }

  private visitor(m: MerchantState, country: string): Visitor {
    if (m.visitors.length > 0 && this.rng.chance(0.35)) return this.rng.pick(m.visitors);
    const ua = USER_AGENTS[this.rng.weightedIndex(UA_WEIGHTS)]!;
    const v: Visitor = { id: `v-${this.rng.hex(8)}`, ua: ua.ua, device: ua.device, country, ip: this.clientIp(country) };
    if (m.visitors.length < 20_000) m.visitors.push(v);
    else m.visitors[this.rng.int(0, m.visitors.length - 1)] = v;
    return v;
  }

  private clientIp(country: string): string {
    const rng = this.rng;
    if (rng.chance(0.1)) {
      let block = rng.int(0x1000, 0xfffe);
      if (block === 0x0bad) block++;
      return `2001:db8:${block.toString(16)}:${rng.int(1, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`;
    }
    const prefixes = IP_PREFIXES[country] ?? IP_PREFIXES.US!;
    return `${rng.pick(prefixes)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  }

  private fraudIp(): string {
    const k = this.rng.int(0, 2);
    if (k === 0) return '203.0.113.66';
    if (k === 1) return `198.51.100.${this.rng.int(1, 254)}`;
    return `2001:db8:bad::${this.rng.int(1, 0xffff).toString(16)}`;
  }

  private order(s: StoreState, ts: number): void {
    const m = this.merchants[s.merchantIndex]!;
    const ch = m.spec.channels;
    const r = this.rng.next();
    this.orders++;
    if (r < ch.pos) this.posOrder(s, m, ts);
    else if (r < ch.pos + ch.online) this.onlineOrder(s, m, ts);
    else this.marketplaceOrder(s, m, ts);
  }

  private orderBody(
    s: StoreState,
    m: MerchantState,
    ts: number,
    fields: { channel: string; fulfilment: string; delivery_partner?: string; client_ip?: string; visitor_id?: string; session_id?: string },
    lines = this.basket(m),
  ): { body: Record<string, unknown>; net: number; lines: LineItemOut[] } {
    let gross = 0;
    for (const li of lines) gross += li.quantity * li.unit_price_minor;
    const { promoIds, orderDiscount } = this.applyPromotions(s, ts, lines, gross);
    let discount = orderDiscount;
    for (const li of lines) discount += li.discount_minor;
    const body: Record<string, unknown> = {
      order_id: `${m.orderPrefix}-${String(++m.orderSeq).padStart(7, '0')}`,
      status: 'completed',
      channel: fields.channel,
      fulfilment: fields.fulfilment,
    };
    if (fields.delivery_partner) body.delivery_partner = fields.delivery_partner;
    body.currency = m.spec.currency;
    body.line_items = lines;
    body.gross_minor = gross;
    body.discount_minor = discount;
    body.net_minor = gross - discount;
    body.refund_minor = 0;
    body.promo_ids = promoIds;
    if (fields.client_ip) body.client_ip = fields.client_ip;
    if (fields.visitor_id) body.visitor_id = fields.visitor_id;
    if (fields.session_id) body.session_id = fields.session_id;
    return { body, net: gross - discount, lines };
  }

  private consume(s: StoreState, lines: LineItemOut[]): void {
    s.ordersSinceMoves++;
    const bySku = this.merchants[s.merchantIndex]!.itemBySku;
    for (const li of lines) {
      const item = bySku.get(li.sku);
      if (!item) continue;
      for (const [t, n] of item.consumes) s.used[t] = (s.used[t] as number) + n * li.quantity;
    }
  }

  private posOrder(s: StoreState, m: MerchantState, ts: number): void {
    const profile = m.spec.profile;
    let channel = 'pos';
    let fulfilment = 'pickup';
    if (profile === 'pizza') {
      const r = this.rng.next();
      if (r < 0.12) {
        channel = 'phone';
        fulfilment = this.rng.chance(0.6) ? 'delivery' : 'pickup';
      } else fulfilment = r < 0.6 ? 'dine_in' : 'pickup';
    } else if (profile === 'cafe') fulfilment = this.rng.chance(0.6) ? 'dine_in' : 'pickup';
    const { body, net, lines } = this.orderBody(s, m, ts, { channel, fulfilment, ...(fulfilment === 'delivery' ? { delivery_partner: 'in_house' } : {}) });
    this.consume(s, lines);
    this.posEvent(s, ts, this.orderLine(s, ts, 'pos', body, true));
    this.maybeRefund(s, m, body, net, ts, 'pos');
  }

  private orderLine(s: StoreState, ts: number, source: string, body: Record<string, unknown>, localTime: boolean): string {
    const eventTs = localTime ? isoSec(ts, s.offset) : isoMs(ts, 0);
    return `{"event_id":"${this.eventId()}","merchant_id":"${s.merchant.id}","event_type":"order","event_ts":"${eventTs}","source":"${source}","schema_version":1,"store_id":"${s.spec.id}","body":${JSON.stringify(body)}}`;
  }

  private marketplaceOrder(s: StoreState, m: MerchantState, ts: number): void {
    const partner = this.rng.pick(m.spec.deliveryPartners);
    const { body, net, lines } = this.orderBody(s, m, ts, { channel: 'marketplace', fulfilment: 'delivery', delivery_partner: partner });
    this.consume(s, lines);
    const delay = this.lateDelay(ts);
    this.schedule(ts + delay + this.rng.int(300, 4000), this.orderLine(s, ts, 'server', body, false), 'accepted', delay > 0, 'order', true);
    this.maybeRefund(s, m, body, net, ts + delay, 'server');
  }

  private onlineOrder(s: StoreState, m: MerchantState, ts: number): void {
    const spec = m.spec;
    if (this.rng.chance(FRAUD_SHARE)) {
      // Card testing from a listed address: no session, no stock moves, no refunds.
      const { body } = this.orderBody(s, m, ts, { channel: 'online', fulfilment: 'delivery', delivery_partner: 'in_house', client_ip: this.fraudIp() });
      this.schedule(ts + this.rng.int(80, 1500), this.orderLine(s, ts, 'online', body, false), 'fraud_ip', false, 'order', true);
      return;
    }
    const country = spec.visitorCountries.length > 0 ? this.rng.pick(spec.visitorCountries) : s.spec.country;
    const v = this.visitor(m, country);
    const lines = this.basket(m);
    const withSession = this.rng.chance(0.9);
    const sessionId = `s-${this.rng.hex(8)}`;
    const delay = this.lateDelay(ts + 15 * MINUTE);
    let t = ts;
    if (withSession) t = this.browse(m, v, sessionId, ts, lines, s, delay);
    const delivery = spec.profile === 'webshop' || this.rng.chance(spec.profile === 'pizza' ? 0.65 : 0.5);
    const { body, net } = this.orderBody(
      s,
      m,
      t,
      {
        channel: 'online',
        fulfilment: delivery ? 'delivery' : 'pickup',
        ...(delivery ? { delivery_partner: spec.profile === 'pizza' ? 'in_house' : this.rng.pick(spec.deliveryPartners) } : {}),
        client_ip: v.ip,
        ...(withSession ? { visitor_id: v.id, session_id: sessionId } : {}),
      },
      lines,
    );
    this.consume(s, lines);
    this.schedule(t + delay + this.rng.int(80, 1500), this.orderLine(s, t, 'online', body, false), 'accepted', delay > 0, 'order', true);
    this.maybeRefund(s, m, body, net, t + delay, 'server');
  }

  private maybeRefund(s: StoreState, m: MerchantState, body: Record<string, unknown>, net: number, orderRecv: number, source: string): void {
    const r = this.rng.next();
    const channel = body.channel as string;
    let status: 'cancelled' | 'refunded';
    let ts: number;
    let amount = net;
    if (r < 0.02 && channel !== 'pos' && source !== 'pos') {
      status = 'cancelled';
      ts = orderRecv + this.rng.int(2 * MINUTE, 15 * MINUTE);
    } else if (r < 0.05) {
      status = 'refunded';
      const maxDelay = m.spec.profile === 'pizza' || m.spec.profile === 'cafe' ? 6 * HOUR : 2 * DAY;
      ts = orderRecv + this.rng.int(20 * MINUTE, maxDelay);
      const lines = body.line_items as LineItemOut[];
      if (lines.length > 1 && this.rng.chance(0.5)) {
        const li = this.rng.pick(lines);
        amount = li.quantity * li.unit_price_minor - li.discount_minor;
      }
    } else return;
    if (ts > this.anchor || amount <= 0) return;
    const refund: Record<string, unknown> = {
      order_id: body.order_id,
      status,
      channel,
      fulfilment: body.fulfilment,
      currency: body.currency,
      refund_minor: amount,
    };
    if (source === 'pos') this.posEvent(s, ts, this.orderLine(s, ts, 'pos', refund, true));
    else this.schedule(ts + this.rng.int(200, 3000), this.orderLine(s, ts, source, refund, false), 'accepted', false, 'order', true);
  }

  // ------------------------------------------------------------ web sessions

  private pageView(m: MerchantState, v: Visitor, sessionId: string, ts: number, path: string, title: string, referrer: string, ua = v.ua, device = v.device): string {
    // Written as a template (the hot path of the generator): ids, urls, devices, countries and addresses are made
    // here from a safe charset; free text goes through JSON.stringify.
    return `{"event_id":"${this.eventId()}","merchant_id":"${m.spec.id}","event_type":"page_view","event_ts":"${isoMs(ts, 0)}","source":"web","schema_version":1,"body":{"url":"${m.spec.origin}${path}","referrer":"${referrer}","title":${JSON.stringify(title)},"visitor_id":"${v.id}","session_id":"${sessionId}","device":"${device}","country":"${v.country}","user_agent":${JSON.stringify(ua)},"client_ip":"${v.ip}"}}`;
  }

  private track(m: MerchantState, v: Visitor, sessionId: string, ts: number, name: string, url: string, properties: Record<string, string | number>): string {
    return `{"event_id":"${this.eventId()}","merchant_id":"${m.spec.id}","event_type":"track","event_ts":"${isoMs(ts, 0)}","source":"web","schema_version":1,"body":{"name":"${name}","url":"${m.spec.origin}${url}","properties":${JSON.stringify(properties)},"visitor_id":"${v.id}","session_id":"${sessionId}","device":"${v.device}","country":"${v.country}","user_agent":${JSON.stringify(v.ua)},"client_ip":"${v.ip}"}}`;
  }

  /**
   * A shopping session ending at checkout (when `lines` is given) or wandering off. Returns the time of the
   * last step; every event is delivered `delay` late (a phone that was offline sends its beacons together).
   */
  private browse(m: MerchantState, v: Visitor, sessionId: string, start: number, lines: LineItemOut[] | null, s: StoreState | null, delay: number): number {
    const spec = m.spec;
    let t = start;
    let prev = this.rng.pick(REFERRERS);
    const late = delay > 0;
    const visit = (path: string, title: string): void => {
      this.schedule(t + delay + this.rng.int(50, 1500), this.pageView(m, v, sessionId, t, path, title, prev), 'accepted', late, 'page_view', lines !== null);
      prev = `${spec.origin}${path}`;
      t += this.rng.int(8 * SECOND, 75 * SECOND);
    };
    visit('/', spec.name);
    if (spec.profile === 'pizza' && s) visit(`/stores/${s.spec.id}`, `${spec.name} ${s.spec.city}`);
    if (lines) {
      visit(spec.profile === 'pizza' || spec.profile === 'cafe' ? '/menu' : `/c/${lines[0]!.category}`, `${spec.name} – ${spec.profile === 'pizza' ? 'Menu' : 'Shop'}`);
      for (const li of lines.slice(0, 3)) {
        const item = spec.catalog.find((c) => c.sku === li.sku)!;
        visit(`/p/${item.slug}`, `${item.slug.replace(/-/g, ' ')} – ${spec.name}`);
        this.schedule(t + delay + this.rng.int(50, 1500), this.track(m, v, sessionId, t, 'add_to_cart', `/p/${item.slug}`, { sku: li.sku, quantity: li.quantity }), 'accepted', late, 'track', true);
        t += this.rng.int(2 * SECOND, 20 * SECOND);
      }
      visit('/cart', `Cart – ${spec.name}`);
      visit('/checkout', `Checkout – ${spec.name}`);
      this.schedule(t + delay + this.rng.int(50, 1500), this.track(m, v, sessionId, t, 'checkout_started', '/checkout', { items: lines.length }), 'accepted', late, 'track', true);
      t += this.rng.int(20 * SECOND, 90 * SECOND);
    } else {
      const pages = this.rng.pick([0, 0, 1, 1, 2, 3, 4]);
      for (let i = 0; i < pages; i++) {
        const item = this.rng.pick(spec.catalog);
        visit(`/p/${item.slug}`, `${item.slug.replace(/-/g, ' ')} – ${spec.name}`);
      }
    }
    return t;
  }

  private botVisit(m: MerchantState, ts: number): void {
    const ua = this.rng.pick(BOT_USER_AGENTS);
    const v: Visitor = { id: `v-${this.rng.hex(8)}`, ua, device: 'other', country: 'US', ip: this.clientIp('US') };
    const sessionId = `s-${this.rng.hex(8)}`;
    const pages = this.rng.int(1, 6);
    let t = ts;
    for (let i = 0; i < pages; i++) {
      const path = i === 0 ? '/' : `/p/${this.rng.pick(m.spec.catalog).slug}`;
      this.schedule(t + this.rng.int(50, 800), this.pageView(m, v, sessionId, t, path, m.spec.name, '', ua, 'other'), 'bot', false, 'page_view', false);
      t += this.rng.int(SECOND, 10 * SECOND);
    }
  }

  /** Non-converting browsing (and crawlers) fills regular volume up to its share of the slice. */
  private browsingFiller(h: number, t0: number, t1: number, last: boolean): void {
    const target = last ? this.baseTarget : Math.floor((this.baseTarget * (this.cumSliceWeight[h] as number)) / (this.cumSliceWeight[this.slices - 1] as number));
    let guard = 0;
    while (this.baseCount < target && guard++ < 1_000_000) {
      const m = this.merchants[this.rng.weightedIndex(this.webWeights)]!;
      const remaining = target - this.baseCount;
      // Near the end, single-page visits land exactly on the total.
      const end = last ? this.anchor - 20 * SECOND : t1;
      const ts = t0 + this.rng.next() * Math.max(0, end - t0 - (remaining < 12 ? 0 : 10 * MINUTE));
      if (remaining < 12) {
        const v = this.visitor(m, this.rng.pick(m.countries));
        this.schedule(Math.max(t0, Math.min(ts + this.rng.int(50, 1500), this.anchor)), this.pageView(m, v, `s-${this.rng.hex(8)}`, ts, '/', m.spec.name, this.rng.pick(REFERRERS)), 'accepted', false, 'page_view', false);
      } else if (this.rng.chance(BOT_SESSION_SHARE)) this.botVisit(m, ts);
      else {
        const v = this.visitor(m, this.rng.pick(m.countries));
        this.browse(m, v, `s-${this.rng.hex(8)}`, ts, null, null, this.lateDelay(ts + 5 * MINUTE));
      }
    }
  }

  // ------------------------------------------------------------ POS batches

  private posEvent(s: StoreState, ts: number, line: string): void {
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

  private initStock(): void {
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
