// The point builder: one range read's rows → every bucket of the requested range, in order.
// A finalized bucket takes its values from the mart family ('m') only. A provisional bucket takes the speed
// layer's partial cells ('p') when it has them, else whatever a mart run has built of it so far ('m');
// that choice lives in cellsFor() so the speed layer only has to write family 'p'. The partial family
// holds message cells and compacted sums (pipeline/speed/cells.ts); provisionalValues() adds them up.
import { FAMILY_MART, FAMILY_PARTIAL, type CellValue, type SeriesRow } from '../../pipeline/ports.js';
import type { MetricDef } from '../../pipeline/metrics/catalog.js';
import { dayBucket, hourBucket, hourBucketOfIso } from '../../pipeline/series/row-key.js';
import { provisionalValues } from '../../pipeline/speed/cells.js';
import type { MetricsRequest } from './params.js';
import { HOUR_MS, addDays, daysBetween, startOfLocalDay } from '../../pipeline/time.js';

export interface Point {
  start: string;
  values: Record<string, number | null>;
  provisional: boolean;
}

export interface BucketSlot {
  /** The row key's bucket component. */
  bucket: string;
  /** `start` as answered: an ISO instant for hours, a local date for days. */
  start: string;
  /** End of the bucket (exclusive), epoch ms: a bucket is final once finalized_through reaches it. */
  endMs: number;
}

/**
 * Slots kept by range: readers of one deployment ask for the same ranges (presets, the same hours of a
 * dashboard), and a 31-day hourly range is 744 slots with their strings. Kept frozen, shared by every
 * answer of the range; at most MAX_KEPT_SLOTS ranges (a 31-day hourly one is ~70 KB), emptied when full.
 */
const keptSlots = new Map<string, readonly BucketSlot[]>();
const MAX_KEPT_SLOTS = 256;

/** Every bucket of the request's half-open range. Days are local to `timeZone`. */
export function bucketSlots(req: Pick<MetricsRequest, 'grain' | 'from' | 'to' | 'fromMs' | 'toMs'>, timeZone: string): readonly BucketSlot[] {
  // Hours are UTC whatever the zone; days are the zone's.
  const key = req.grain === 'h' ? `h ${req.fromMs} ${req.toMs}` : `d ${req.from} ${req.to} ${timeZone}`;
  let slots = keptSlots.get(key);
  if (slots === undefined) {
    if (keptSlots.size >= MAX_KEPT_SLOTS) keptSlots.clear();
    slots = Object.freeze(buildSlots(req, timeZone).map((s) => Object.freeze(s)));
    keptSlots.set(key, slots);
  }
  return slots;
}

function buildSlots(req: Pick<MetricsRequest, 'grain' | 'from' | 'to' | 'fromMs' | 'toMs'>, timeZone: string): BucketSlot[] {
  const slots: BucketSlot[] = [];
  if (req.grain === 'h') {
    // One ISO date per UTC day; the hours of that day only append their two digits (this loop was a
    // measurable share of a 7-day read when it formatted a Date per slot).
    let dayStartMs = NaN;
    let bucketDay = '';
    let startDay = '';
    for (let t = req.fromMs!; t < req.toMs!; t += HOUR_MS) {
      if (!(t >= dayStartMs && t < dayStartMs + DAY_MS)) {
        dayStartMs = t - (((t % DAY_MS) + DAY_MS) % DAY_MS);
        const iso = new Date(dayStartMs).toISOString();
        bucketDay = hourBucketOfIso(iso).slice(0, 8);
        startDay = iso.slice(0, 11);
      }
      const hh = HOURS[(t - dayStartMs) / HOUR_MS]!;
      slots.push({ bucket: bucketDay + hh, start: `${startDay}${hh}:00:00Z`, endMs: t + HOUR_MS });
    }
    return slots;
  }
  const n = daysBetween(req.from, req.to);
  let date = req.from;
  for (let i = 0; i < n; i++) {
    const next = addDays(date, 1);
    slots.push({ bucket: dayBucket(date), start: date, endMs: localDayStartMs(next, timeZone) });
    date = next;
  }
  return slots;
}

/**
 * Where a local day starts, kept per zone and date: each costs a few Intl look-ups (pipeline/time.ts),
 * which were the largest share of a daily answer's CPU, and answers ask for the same days again.
 */
const dayStarts = new Map<string, number>();
const MAX_DAY_STARTS = 100_000;

export function localDayStartMs(date: string, timeZone: string): number {
  const key = `${timeZone} ${date}`;
  let ms = dayStarts.get(key);
  if (ms === undefined) {
    if (dayStarts.size >= MAX_DAY_STARTS) dayStarts.clear();
    ms = startOfLocalDay(date, timeZone).getTime();
    dayStarts.set(key, ms);
  }
  return ms;
}

/**
 * Inventory is stored as change points (pipeline/marts/changes.ts): a point where an item's closing
 * changed, at its first hour and at every UTC midnight. Given the rows of a read that starts at a UTC
 * midnight, answers a row for every hour of [fromMs, toMs) the item had one: the hour's own point, or
 * the last point before it, up to `throughMs` (the end of the merchant's last inventory hour; no hour
 * at or after it was built). Rows at or after it are kept as read. The same rows a dense store holds.
 */
export function fillForward(rows: SeriesRow[], opts: { fromMs: number; toMs: number; throughMs: number }): SeriesRow[] {
  if (rows.length === 0) return rows;
  const bucketOf = (r: SeriesRow) => r.key.slice(r.key.lastIndexOf('#') + 1);
  const prefix = rows[0]!.key.slice(0, rows[0]!.key.lastIndexOf('#') + 1);
  const out: SeriesRow[] = [];
  let next = 0;
  let last: SeriesRow | undefined;
  for (let t = opts.fromMs; t < opts.toMs; t += HOUR_MS) {
    const bucket = hourBucket(new Date(t));
    let own: SeriesRow | undefined;
    while (next < rows.length && bucketOf(rows[next]!) <= bucket) {
      last = rows[next++]!;
      if (bucketOf(last) === bucket) own = last;
    }
    if (own) out.push(own);
    else if (last && t < opts.throughMs) out.push({ key: prefix + bucket, cells: last.cells });
  }
  return out;
}

/** The first bucket of the range and the bucket just after it (exclusive): buckets are fixed-width, so key order is time order. */
export function bucketRange(req: Pick<MetricsRequest, 'grain' | 'from' | 'to' | 'fromMs' | 'toMs'>): [string, string] {
  if (req.grain === 'h') return [hourBucket(new Date(req.fromMs!)), hourBucket(new Date(req.toMs!))];
  return [dayBucket(req.from), dayBucket(req.to)];
}

const DAY_MS = 24 * HOUR_MS;
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'));

type Cells = Record<string, CellValue>;

/** Which family answers for a bucket (see the module header). */
export function cellsFor(row: SeriesRow | undefined, provisional: boolean): { family: string; cells: Cells } {
  if (provisional && row?.cells[FAMILY_PARTIAL]) return { family: FAMILY_PARTIAL, cells: provisionalValues(row.cells[FAMILY_PARTIAL]) };
  return { family: FAMILY_MART, cells: row?.cells[FAMILY_MART] ?? {} };
}

/** Ratios derived from additive cells, used when a bucket carries no ratio cell (partials, older exports). */
const RATIOS: Record<string, (c: Cells) => [number | null, number | null]> = {
  average_order_value_minor: (c) => [(c.gross_revenue_minor ?? 0) - (c.discount_minor ?? 0), c.orders ?? null],
  orders_per_session: (c) => [c.orders_with_session ?? null, c.sessions ?? null],
};

function metricValue(def: MetricDef, cells: Cells, family: string): number | null {
  const stored = cells[def.name];
  switch (def.kind) {
    case 'additive':
      return stored ?? 0;
    case 'distinct':
      // Distinct counts cannot be assembled from partials: a partial bucket without one does not know it.
      return stored !== undefined ? stored : family === FAMILY_MART ? 0 : null;
    case 'gauge':
      return stored ?? null;
    case 'ratio': {
      if (stored !== undefined) return stored;
      const formula = RATIOS[def.name];
      if (!formula) return null;
      const [num, den] = formula(cells);
      return num === null || den === null || den === 0 ? null : num / den;
    }
  }
}

/** Builds every point of the range from the rows of one range read. */
export function buildPoints(opts: { slots: readonly BucketSlot[]; rows: SeriesRow[]; metrics: MetricDef[]; finalizedThroughMs: number | null }): Point[] {
  const byBucket = new Map<string, SeriesRow>();
  for (const row of opts.rows) byBucket.set(row.key.slice(row.key.lastIndexOf('#') + 1), row);
  return opts.slots.map((slot) => {
    const provisional = opts.finalizedThroughMs === null || slot.endMs > opts.finalizedThroughMs;
    const { family, cells } = cellsFor(byBucket.get(slot.bucket), provisional);
    const values: Record<string, number | null> = {};
    for (const def of opts.metrics) values[def.name] = metricValue(def, cells, family);
    return { start: slot.start, values, provisional };
  });
}

/** A number as JSON.stringify writes it (non-finite numbers become null). */
function jsonNumber(v: number | null): string {
  return v !== null && Number.isFinite(v) ? String(v) : 'null';
}

/**
 * JSON bytes written straight into one Buffer, grown by doubling. Short ASCII text is copied character by
 * character (a call into the Buffer's native write costs more than a few characters), integers are
 * formatted digit by digit, anything else goes through String() (JSON.stringify's own number format).
 */
class JsonBytes {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size));
  }
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
  /** Text known to be ASCII (catalog names, ISO instants and dates, JSON punctuation, numbers). */
  ascii(s: string): void {
    const n = s.length;
    this.room(n);
    if (n > 32) {
      this.pos += this.buf.write(s, this.pos, n, 'latin1');
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }
  /** Bytes prepared ahead (a metric's `"name":`, a point's fixed pieces): one copy, not a loop over characters. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.room(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }
  /** Any text, as UTF-8. */
  utf8(s: string): void {
    this.room(Buffer.byteLength(s));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  number(v: number | null): void {
    // Integers of up to 31 bits (counts, minor units) digit by digit; the rest as JSON.stringify writes them.
    if (v === null || !Number.isSafeInteger(v)) return this.ascii(jsonNumber(v));
    let n: number = v < 0 ? -v : v;
    if (n > 0x7fffffff) return this.ascii(String(v));
    this.room(12);
    const buf = this.buf;
    if (v < 0) buf[this.pos++] = 0x2d; // -
    const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : n < 1e8 ? 8 : n < 1e9 ? 9 : 10;
    let at = this.pos + digits;
    this.pos = at;
    // Two digits a division (a division by 10 per digit was most of a point's cost).
    while (n >= 100) {
      const q: number = (n / 100) | 0;
      const r = n - q * 100;
      buf[--at] = ONES[r]!;
      buf[--at] = TENS[r]!;
      n = q;
    }
    if (n >= 10) {
      buf[--at] = ONES[n]!;
      buf[--at] = TENS[n]!;
    } else buf[--at] = 0x30 + n;
  }
  /**
   * The bytes written. Kept answers are counted by their length (cache.ts AnswerCache), so a Buffer much
   * larger than its bytes (grown by doubling) is copied to one of their size.
   */
  done(): Buffer {
    const bytes = this.buf.subarray(0, this.pos);
    return this.buf.length - this.pos > this.pos >> 2 ? Buffer.from(bytes) : bytes;
  }
}

/** A point's fixed pieces, as bytes. */
const PIECES = {
  firstStart: Buffer.from('{"start":"'),
  start: Buffer.from(',{"start":"'),
  values: Buffer.from('","values":'),
  provisional: Buffer.from(',"provisional":true}'),
  final: Buffer.from(',"provisional":false}'),
};

/** The ones and tens digit (ASCII) of 0-99. */
const ONES = Uint8Array.from({ length: 100 }, (_, i) => 0x30 + (i % 10));
const TENS = Uint8Array.from({ length: 100 }, (_, i) => 0x30 + Math.floor(i / 10));

/** Bytes of the last answer of this many slots: the next one of about that size starts with room for it. */
const sizeBySlots = new Map<number, number>();

/**
 * The JSON bytes of buildPoints(opts)'s array, written directly into one Buffer: equal to the UTF-8 of
 * JSON.stringify(buildPoints(opts)), without building an object per point, a string per number or one
 * text for the whole answer (joining the pieces of a 31-day hourly answer, 255 KB, and encoding it cost
 * as much as writing them).
 * `around` is text written before and after the array (an answer's head and its closing brace).
 * Most buckets of a store's hourly series have no row, and a bucket without a row always answers the mart
 * family's empty values, so that `"values"` object is written once per answer and copied.
 */
export function pointsJson(opts: { slots: readonly BucketSlot[]; rows: SeriesRow[]; metrics: MetricDef[]; finalizedThroughMs: number | null }, around: { before: string; after: string } = { before: '', after: '' }): Buffer {
  const { slots, rows, metrics, finalizedThroughMs } = opts;
  // Each metric's `"name":` (with the comma before every one but the first), built once per answer.
  const nameBytes = metrics.map((def, i) => Buffer.from((i === 0 ? '{' : ',') + JSON.stringify(def.name) + ':', 'latin1'));
  const out = new JsonBytes(sizeBySlots.get(slots.length) ?? 64 + slots.length * (64 + metrics.length * 24));
  out.utf8(around.before);
  out.ascii('[');
  const pushValues = (family: string, cells: Cells): void => {
    // The exporter writes a bucket's cells in catalog order, so when every metric is asked for, a bucket
    // holding all of them as numbers is written as stored (the metric's value is the stored number): in
    // one pass that checks each cell as it writes it, written again metric by metric if one does not fit.
    const at = out.pos;
    let m = 0;
    for (const name in cells) {
      const def = metrics[m];
      const v = cells[name];
      if (def === undefined || def.name !== name || !(typeof v === 'number' || (v === null && def.kind !== 'additive'))) {
        m = -1;
        break;
      }
      out.bytes(nameBytes[m++]!);
      out.number(v);
    }
    if (m === metrics.length && m > 0) {
      out.ascii('}');
      return;
    }
    out.pos = at;
    for (let i = 0; i < metrics.length; i++) out.bytes(nameBytes[i]!), out.number(metricValue(metrics[i]!, cells, family));
    if (metrics.length === 0) out.ascii('{');
    out.ascii('}');
  };
  const empty = cellsFor(undefined, false);
  const noRowAt = out.pos;
  pushValues(empty.family, empty.cells);
  const noRow = out.buf.toString('latin1', noRowAt, out.pos);
  out.pos = noRowAt;
  // Everything after `start` of a bucket without a row, final or provisional.
  const noRowTail = [Buffer.from('","values":' + noRow + ',"provisional":false}', 'latin1'), Buffer.from('","values":' + noRow + ',"provisional":true}', 'latin1')] as const;
  // Rows come in key order and slots in time order, and a row key ends with its bucket: one walk pairs them.
  let r = 0;
  for (let s = 0; s < slots.length; s++) {
    const slot = slots[s]!;
    const provisional = finalizedThroughMs === null || slot.endMs > finalizedThroughMs;
    let row: SeriesRow | undefined;
    while (r < rows.length) {
      const key = rows[r]!.key;
      const bucket = key.slice(key.lastIndexOf('#') + 1);
      if (bucket < slot.bucket) r++;
      else {
        if (bucket === slot.bucket) row = rows[r++];
        break;
      }
    }
    // start is an ISO instant or a date: nothing in it needs escaping.
    out.bytes(s === 0 ? PIECES.firstStart : PIECES.start);
    out.ascii(slot.start);
    if (!row) {
      out.bytes(noRowTail[provisional ? 1 : 0]);
      continue;
    }
    const { family, cells } = cellsFor(row, provisional);
    out.bytes(PIECES.values);
    pushValues(family, cells);
    out.bytes(provisional ? PIECES.provisional : PIECES.final);
  }
  out.ascii(']');
  out.utf8(around.after);
  const bytes = out.done();
  if (sizeBySlots.size >= MAX_KEPT_SLOTS) sizeBySlots.clear();
  sizeBySlots.set(slots.length, bytes.length + (bytes.length >> 3));
  return bytes;
}

/**
 * Totals over the buckets of a range: additive metrics summed; ratios from the summed cells they derive
 * from (average order value = summed net of completed orders / summed orders); distinct counts only for a
 * single bucket, since visitors of two hours do not add up (null otherwise); gauges the last bucket's value.
 */
export function totalsOf(opts: { slots: readonly BucketSlot[]; rows: SeriesRow[]; metrics: MetricDef[]; finalizedThroughMs: number | null }): Record<string, number | null> {
  const byBucket = new Map<string, SeriesRow>();
  for (const row of opts.rows) byBucket.set(row.key.slice(row.key.lastIndexOf('#') + 1), row);
  const sums: Cells = {};
  let last: { family: string; cells: Cells } = cellsFor(undefined, false);
  for (const slot of opts.slots) {
    const provisional = opts.finalizedThroughMs === null || slot.endMs > opts.finalizedThroughMs;
    last = cellsFor(byBucket.get(slot.bucket), provisional);
    for (const [name, v] of Object.entries(last.cells)) if (typeof v === 'number') sums[name] = (sums[name] ?? 0) + v;
  }
  const out: Record<string, number | null> = {};
  for (const def of opts.metrics) {
    if (def.kind === 'additive') out[def.name] = sums[def.name] ?? 0;
    else if (def.kind === 'gauge') out[def.name] = metricValue(def, last.cells, last.family);
    else if (def.kind === 'distinct') out[def.name] = opts.slots.length === 1 ? metricValue(def, last.cells, last.family) : null;
    else if (opts.slots.length > 1 && RATIOS_OF_DISTINCT.has(def.name)) out[def.name] = null;
    else {
      const formula = RATIOS[def.name];
      const [num, den] = formula ? formula(sums) : [null, null];
      out[def.name] = num === null || den === null || den === 0 ? null : num / den;
    }
  }
  return out;
}

/** Ratios over a distinct count (sessions): no total over several buckets, like the count itself. */
const RATIOS_OF_DISTINCT = new Set(['orders_per_session']);

/** Change from `previous` to `current` in % of |previous|; null without a previous value to compare with. */
export function changePct(current: number | null, previous: number | null): number | null {
  if (current === null || previous === null || previous === 0) return null;
  return ((current - previous) / Math.abs(previous)) * 100;
}
