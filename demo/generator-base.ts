// The demo workload generator's shared part (demo/generator.ts is the generator): its options, output
// shapes and tables of user agents, referrers and shares; the simulation's state, clocks, demand curve
// and the scheduling of entries by receive time. The kinds of events are written by the subclasses:
// orders and web sessions (generator-orders.ts), then POS batches, inventory, promotions, duplicates,
// malformed entries and the output (generator.ts).
import type { DimensionsFile } from '../pipeline/contracts/dimensions.js';
import type { ReasonCode } from '../pipeline/contracts/outcomes.js';
import { zoneOffsetMinutes } from '../pipeline/time.js';
import { Rng, cumulative } from './random.js';
import { RHYTHM, buildWorld, type CatalogItem, type MerchantSpec, type PromotionSpec, type StoreSpec, type World } from './world.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const POS_WINDOW = 15 * MINUTE;
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

export const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** ISO instant written in a given UTC offset (minutes), with milliseconds; `Z` for offset 0. */
export function isoMs(ms: number, offsetMin: number): string {
  // As Date does: the instant truncated to whole milliseconds.
  const local = localIso(Math.trunc(ms + offsetMin * MINUTE), true);
  if (local === undefined) {
    if (offsetMin === 0) return new Date(ms).toISOString();
    return `${new Date(ms + offsetMin * MINUTE).toISOString().slice(0, 23)}${offsetSuffix(offsetMin)}`;
  }
  return offsetMin === 0 ? `${local}Z` : local + offsetSuffix(offsetMin);
}

/** ISO instant in whole seconds in a given offset, the way POS terminals and back offices write local time. */
export function isoSec(ms: number, offsetMin: number): string {
  const whole = ms - (ms % SECOND);
  const local = localIso(whole + offsetMin * MINUTE, false) ?? new Date(whole + offsetMin * MINUTE).toISOString().slice(0, 19);
  return offsetMin === 0 ? `${local}Z` : local + offsetSuffix(offsetMin);
}

function offsetSuffix(offsetMin: number): string {
  const a = Math.abs(offsetMin);
  return `${offsetMin < 0 ? '-' : '+'}${pad2((a / 60) | 0)}:${pad2(a % 60)}`;
}

/** Last day written: its number since the epoch and its `YYYY-MM-DDT`; most timestamps in a row share a day. */
let cachedDay = NaN;
let cachedDayPrefix = '';
const LAST_FOUR_DIGIT_YEAR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * `toISOString()` of integer milliseconds without the `Z`, to the millisecond or the second, for
 * four-digit years (undefined otherwise: Date writes six digits and a sign, left to Date): the day
 * comes from Date once per day and the time of day is formatted here (entries carry a timestamp or
 * more each, and a Date and its string for each made isoMs the generator's costliest function).
 */
function localIso(v: number, withMs: boolean): string | undefined {
  if (!(v >= 0 && v <= LAST_FOUR_DIGIT_YEAR_MS)) return undefined;
  const day = Math.floor(v / DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * DAY).toISOString().slice(0, 11);
  }
  const t = v - day * DAY;
  const hms = `${cachedDayPrefix}${pad2((t / HOUR) | 0)}:${pad2(((t / MINUTE) | 0) % 60)}:${pad2(((t / SECOND) | 0) % 60)}`;
  if (!withMs) return hms;
  const milli = t % SECOND;
  return `${hms}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}`;
}

// ---------------------------------------------------------------- web traffic pieces

export const USER_AGENTS: { ua: string; device: 'desktop' | 'mobile' | 'tablet' }[] = [
  { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', device: 'desktop' },
  { ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', device: 'desktop' },
  { ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0', device: 'desktop' },
  { ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', device: 'mobile' },
  { ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', device: 'mobile' },
  { ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', device: 'mobile' },
  { ua: 'Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36', device: 'mobile' },
  { ua: 'Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1', device: 'tablet' },
];
export const UA_WEIGHTS = cumulative([3, 2, 1, 4, 2, 3, 2, 1]);

/** User agents the documented bot rule drops (crawlers, headless browsers, audits). */
export const BOT_USER_AGENTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
  'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)',
];

export const REFERRERS = ['', '', '', 'https://www.google.com/', 'https://www.google.com/', 'https://www.bing.com/', 'https://www.instagram.com/', 'https://news.example/local-food-guide'];

/** First octets of plausible public IPv4 space per country; the fraud list's ranges are never among them. */
export const IP_PREFIXES: Record<string, number[]> = {
  US: [73, 98, 24, 71, 68], CA: [142, 174, 99], GB: [81, 86, 90, 92], DE: [91, 84, 79, 87], AT: [62, 80, 178], FR: [88, 90, 82],
  ES: [83, 88, 95], IT: [93, 79, 151], NL: [145, 77, 84], IE: [86, 78, 37], IN: [49, 117, 106, 27], NP: [103, 110, 27],
  JP: [126, 60, 153], AU: [1, 101, 120], SE: [78, 83, 90],
};

export interface Visitor {
  id: string;
  ua: string;
  device: string;
  country: string;
  ip: string;
}

// ---------------------------------------------------------------- generator internals

export interface Item {
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

export interface StoreState {
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

export interface MerchantState {
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

export interface PosEntry {
  ts: number;
  seq: number;
  line: string;
}

export type MalformedKind =
  | 'invalid_json'
  | 'payload_too_large'
  | 'schema_mismatch'
  | 'unknown_merchant'
  | 'unknown_store'
  | 'currency_mismatch'
  | 'event_too_old'
  | 'event_in_future'
  | 'conflicting_duplicate';

export const MALFORMED_KINDS: MalformedKind[] = ['invalid_json', 'schema_mismatch', 'unknown_merchant', 'unknown_store', 'currency_mismatch', 'event_too_old', 'event_in_future', 'conflicting_duplicate', 'payload_too_large'];
export const MALFORMED_WEIGHTS = cumulative([22, 25, 10, 10, 10, 8, 8, 6, 1]);

/** Share of regular entries that order-driven traffic aims for; browsing sessions fill the rest. */
export const ORDER_DRIVEN_SHARE = 0.75;
export const BOT_SESSION_SHARE = 0.06;
export const FRAUD_SHARE = 0.004;
export const RING_SIZE = 4096;
export const NO_OFFSET = -1_000_000;
/** onProgress is called after every this many entries, and once at the end. */
export const PROGRESS_EVERY = 10_000;

export interface LineItemOut {
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

/** Fields, clocks, demand and scheduling: what every kind of event the generator writes shares. */
export abstract class GeneratorBase {
  /** Opening stock of every store (inventory, demo/generator.ts); the constructor calls it once the stores exist. */
  protected abstract initStock(): void;

  protected readonly rng: Rng;
  protected readonly world: World;
  protected readonly merchants: MerchantState[];
  protected readonly stores: StoreState[];
  protected readonly anchor: number;
  protected readonly start: number;
  protected readonly slices: number;
  protected readonly total: number;
  protected readonly baseTarget: number;
  protected readonly dupTarget: number;
  protected readonly malformedTarget: number;
  protected readonly shares: Shares;
  /** Running totals of expected orders, and of traffic weight (orders plus a night-time floor), per slice. */
  protected readonly cumDemand: Float64Array;
  protected readonly cumSliceWeight: Float64Array;
  protected readonly webWeights: number[];

  protected seq = 0;
  /** UTC offset per time zone and slice, in minutes: Intl look-ups are slow, so each is made once. */
  protected readonly zoneOffsets = new Map<string, Int32Array>();
  /** Entries to be received in later slices, by slice index. */
  protected pending = new Map<number, Item[]>();
  /** Open POS windows: window index → store index → its orders and refunds so far. */
  protected posWindows = new Map<number, Map<number, PosEntry[]>>();
  /** Entries received in the current slice. */
  protected bucket: Item[] = [];
  protected currentSlice = 0;

  // Counters that steer volumes toward the exact totals.
  protected baseCount = 0;
  protected orderDriven = 0;
  protected orders = 0;
  protected dupCount = 0;
  protected malformedCount = 0;
  protected ordersPerWeight: number;

  // Output bookkeeping.
  protected written = 0;
  protected ring: string[] = [];
  protected ringPageViews: string[] = [];
  protected readonly counts: ExpectedCounts = { published: 0, accepted: 0, rejected: {}, duplicates: 0 };
  protected late = 0;
  protected readonly byType: Record<string, number> = {};
  protected readonly bySource: Record<string, number> = {};
  protected posBatchCount = 0;

  constructor(
    protected readonly opts: Required<Pick<GenerateOptions, 'events' | 'merchants' | 'seed' | 'days'>> & { anchor: number; shares: Shares; onProgress?: GenerateOptions['onProgress'] },
    protected readonly sink: WorkloadSink,
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

  protected sliceStart(h: number): number {
    return this.start + h * HOUR;
  }

  protected sliceEnd(h: number): number {
    return Math.min(this.start + (h + 1) * HOUR, this.anchor);
  }

  /** Sets every store's offset, local hour and weekday for slice h (measured at the slice's middle). */
  protected setClocks(h: number): void {
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
  protected demand(s: StoreState, h: number): number {
    const base = s.spec.weight * (RHYTHM[s.merchant.profile][s.weekday * 24 + s.localHour] as number);
    if (base === 0) return 0;
    const mid = (this.sliceStart(h) + this.sliceEnd(h)) / 2;
    let lift = 1;
    for (const p of s.merchant.promotions) if (this.promoCovers(p, s.storeIndex, mid)) lift *= p.lift;
    return (base * lift * (this.sliceEnd(h) - this.sliceStart(h))) / HOUR;
  }

  protected promoStart(p: PromotionSpec): number {
    return this.start + p.startHour * HOUR;
  }

  protected promoCovers(p: PromotionSpec, storeIndex: number, ts: number): boolean {
    const from = this.promoStart(p);
    return ts >= from && ts < from + p.durationHours * HOUR && (p.stores.length === 0 || p.stores.includes(storeIndex));
  }

  // ------------------------------------------------------------ scheduling

  protected schedule(recv: number, line: string, expected: Expected, late: boolean, kind: string, orderDriven: boolean, copyable = expected === 'accepted'): void {
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

  protected put(item: Item): void {
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
  protected lateDelay(lastTs: number): number {
    if (!this.rng.chance(this.shares.late)) return 0;
    const room = Math.min(MAX_LATE_MS, this.anchor - lastTs - 5 * SECOND);
    if (room < MIN_LATE_MS) return 0;
    const u = this.rng.next();
    return Math.round(MIN_LATE_MS + (room - MIN_LATE_MS) * u * u);
  }

  protected eventId(): string {
    return this.rng.uuid();
  }

}
