// Splitting inputs into entries (DESIGN.md, "Contracts"): an entry is one element of a collector
// body, one NDJSON line, or the rows of one order in a POS CSV. Entries stay raw text here; the
// ingest stage decides each one's end state, so nothing below drops an entry.
import { parse as parseCsv } from 'csv-parse/sync';

// ---------------------------------------------------------------- JSON array bodies

export type SplitBodyResult = { ok: true; entries: string[] } | { ok: false; error: string };

/**
 * Splits a collector body — a JSON array of events — into one entry per element. Each entry is the
 * element's own text, exactly as sent (so the archive and rejected rows keep what the merchant sent).
 * A body that is not a parsable JSON array is a body-level error: the collector answers 400 and
 * enqueues nothing.
 */
export function splitJsonArrayBody(text: string): SplitBodyResult {
  let parsed: unknown;
  try {
    // JSON.parse is iterative in V8, so deep nesting cannot overflow the stack here.
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `body is not valid JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(parsed)) return { ok: false, error: 'body must be a JSON array of events' };
  if (parsed.length === 0) return { ok: true, entries: [] };
  // The text is known to be a valid array, so a single scan for top-level commas finds the elements.
  return { ok: true, entries: topLevelElements(text) };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function topLevelElements(text: string): string[] {
  const out: string[] = [];
  let i = text.indexOf('[') + 1;
  let start = i;
  let depth = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i++;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i += 2;
        else if (s === QUOTE) break;
        else i++;
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth++;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      if (depth === 0) {
        out.push(text.slice(start, i).trim());
        break;
      }
      depth--;
    } else if (c === COMMA && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
    i++;
  }
  return out;
}

// ---------------------------------------------------------------- NDJSON

/**
 * One entry per non-blank line (LF or CRLF). A line that does not parse stays an entry: the stage
 * rejects it as `invalid_json`, so the sender sees it in the counts instead of losing it.
 */
export function splitNdjson(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = n;
    let stop = end;
    if (stop > start && text.charCodeAt(stop - 1) === 0x0d) stop--;
    const line = text.slice(start, stop);
    if (line.trim() !== '') out.push(line);
    start = end + 1;
  }
  return out;
}

/**
 * splitNdjson over bytes: the same entries as `splitNdjson(bytes.toString('utf8'))`, each line decoded
 * on its own. The body never becomes one string, and one line that is not ASCII (a page title with an
 * en dash) no longer makes every entry of the body a two-byte string. On the demo mix's bodies (a third
 * of the entries not ASCII): decoding and splitting take a quarter of the time, and encoding the
 * entries again for the bus (msgpack) and the archive (JSON) 0.6× and 0.8×.
 * A newline byte is never part of a multi-byte UTF-8 sequence, so lines split the same either way.
 */
export function splitNdjsonBytes(bytes: Buffer): string[] {
  const out: string[] = [];
  let start = 0;
  const n = bytes.length;
  while (start < n) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = n;
    let stop = end;
    if (stop > start && bytes[stop - 1] === 0x0d) stop--;
    const line = bytes.toString('utf8', start, stop);
    if (line.trim() !== '') out.push(line);
    start = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------- POS CSV

/**
 * Columns of a POS CSV file: one row per line item, the rows of one order share its event_id.
 * Documented in docs/events.md ("POS CSV files"); keep the two in step.
 */
export const POS_CSV_REQUIRED_COLUMNS = [
  'merchant_id',
  'order_id',
  'event_id',
  'event_ts',
  'status',
  'channel',
  'fulfilment',
  'currency',
  'sku',
  'category',
  'quantity',
  'unit_price_minor',
] as const;
export const POS_CSV_OPTIONAL_COLUMNS = [
  'store_id',
  'source',
  'delivery_partner',
  'line_discount_minor',
  'order_discount_minor',
  'refund_minor',
  'promo_ids',
  'client_ip',
  'visitor_id',
  'session_id',
] as const;
const POS_CSV_COLUMNS = new Set<string>([...POS_CSV_REQUIRED_COLUMNS, ...POS_CSV_OPTIONAL_COLUMNS]);

/** Order-level columns: every row of one order must carry the same value. */
const ORDER_LEVEL_COLUMNS = [
  'merchant_id',
  'store_id',
  'source',
  'order_id',
  'event_ts',
  'status',
  'channel',
  'fulfilment',
  'delivery_partner',
  'currency',
  'order_discount_minor',
  'refund_minor',
  'promo_ids',
  'client_ip',
  'visitor_id',
  'session_id',
] as const;

const LINE_COLUMNS = ['sku', 'category', 'quantity', 'unit_price_minor', 'line_discount_minor'] as const;

/**
 * Key of an entry that the POS converter could not turn into a well-formed event. The validator
 * rejects any entry carrying it as `schema_mismatch` with these messages as the detail.
 */
export const POS_CSV_ERRORS_KEY = 'pos_csv_errors';

/** The file as a whole cannot be read (broken quoting, missing or unknown columns): no entry can be formed. */
export class PosCsvError extends Error {
  override readonly name = 'PosCsvError';
}

interface CsvRow {
  line: number;
  values: Record<string, string>;
  /** Set when the row's field count differs from the header's. */
  lengthError?: string;
}

/** csv-parse options shared by the whole-text and the streaming readers. */
export const POS_CSV_PARSE_OPTIONS = {
  bom: true,
  info: true,
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: true,
  trim: true,
} as const;

/** A parsed CSV record with csv-parse's `info` (its line number). */
export interface PosCsvRecord {
  record: string[];
  info: { lines: number };
}

/** Checks the header row; throws PosCsvError when it lacks required columns or has unknown ones. */
export function checkPosCsvHeader(header: readonly string[]): void {
  const missing = POS_CSV_REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !POS_CSV_COLUMNS.has(c));
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [];
    if (missing.length > 0) parts.push(`missing columns: ${missing.join(', ')}`);
    if (unknown.length > 0) parts.push(`unknown columns: ${unknown.join(', ')}`);
    throw new PosCsvError(`POS CSV header is not usable (${parts.join('; ')})`);
  }
}

/** An order entry and the file line of its first row. */
export interface PosCsvEntry {
  entry: string;
  line: number;
}

/**
 * Groups the data rows of a POS CSV into order entries, by (merchant_id, event_id) in first-appearance
 * order; a row without an event id is its own entry. With `maxOpenOrders`, at most that many orders
 * are held at once: when one more opens, the oldest is emitted (so a streamed file of any size needs
 * bounded memory). Rows of one order further apart than that many other orders then form two
 * entries with the same event id (a `duplicate` or `conflicting_duplicate`), never a lost row.
 */
export class PosCsvGrouper {
  private readonly groups = new Map<string, CsvRow[]>();

  constructor(
    private readonly header: readonly string[],
    private readonly maxOpenOrders = Infinity,
  ) {}

  /** Adds a data row; returns the entries it closed (oldest first). */
  push({ record, info }: PosCsvRecord): PosCsvEntry[] {
    const header = this.header;
    const values: Record<string, string> = {};
    for (let c = 0; c < header.length; c++) values[header[c]!] = record[c] ?? '';
    const row: CsvRow = { line: info.lines, values };
    if (record.length !== header.length) row.lengthError = `line ${info.lines}: has ${record.length} fields, the header has ${header.length}`;
    // A row that cannot be placed in an order reliably stands alone, so its error names only itself.
    const key = values.event_id && !row.lengthError ? `${values.merchant_id}\u0000${values.event_id}` : `\u0001line ${info.lines}`;
    const group = this.groups.get(key);
    if (group) {
      group.push(row);
      return [];
    }
    this.groups.set(key, [row]);
    const closed: PosCsvEntry[] = [];
    while (this.groups.size > this.maxOpenOrders) {
      const [oldest, rows] = this.groups.entries().next().value as [string, CsvRow[]];
      this.groups.delete(oldest);
      closed.push({ entry: orderEntry(rows), line: rows[0]!.line });
    }
    return closed;
  }

  /** The orders still open, in first-appearance order. */
  end(): PosCsvEntry[] {
    const out = [...this.groups.values()].map((rows) => ({ entry: orderEntry(rows), line: rows[0]!.line }));
    this.groups.clear();
    return out;
  }
}

/**
 * Converts a POS CSV (one row per line item) into entries: one order event JSON per order, in the
 * order orders first appear. Rows that cannot form a valid event still become an entry, carrying
 * `pos_csv_errors`, so the stage rejects them with a clear reason instead of dropping them.
 * Throws PosCsvError only when the file itself cannot be read. (A file too large for one string is
 * read with posCsvFileEntries, pipeline/ingest/file-entries.ts.)
 */
export function posCsvToEntries(csvText: string): string[] {
  let records: PosCsvRecord[];
  try {
    records = parseCsv(csvText, POS_CSV_PARSE_OPTIONS) as unknown as PosCsvRecord[];
  } catch (err) {
    throw new PosCsvError(`POS CSV cannot be parsed: ${(err as Error).message}`, { cause: err });
  }
  const header = records[0]?.record;
  if (!header) return [];
  checkPosCsvHeader(header);
  const grouper = new PosCsvGrouper(header);
  for (let r = 1; r < records.length; r++) grouper.push(records[r]!);
  return grouper.end().map((e) => e.entry);
}

function orderEntry(rows: CsvRow[]): string {
  const errors: string[] = [];
  const first = rows[0]!;
  const lines = rows.map((r) => r.line);
  const where = lines.length === 1 ? `line ${lines[0]}` : `lines ${lines.join(', ')}`;
  for (const r of rows) if (r.lengthError) errors.push(r.lengthError);
  if (!first.values.event_id) errors.push(`line ${first.line}: event_id is empty`);
  for (const col of ORDER_LEVEL_COLUMNS) {
    const seen = new Set(rows.map((r) => r.values[col] ?? ''));
    if (seen.size > 1) errors.push(`${where}: rows of one order disagree on ${col} (${[...seen].map((v) => JSON.stringify(v)).join(' vs ')})`);
  }
  const v = first.values;
  const status = v.status ?? '';

  const lineItems: Record<string, unknown>[] = [];
  let gross = 0;
  let lineDiscount = 0;
  for (const r of rows) {
    const blank = LINE_COLUMNS.every((c) => !r.values[c]);
    // Refund and cancellation rows may carry no line item at all.
    if (blank && status !== 'completed') continue;
    const quantity = intField(r, 'quantity', errors, true);
    const unitPrice = intField(r, 'unit_price_minor', errors, true);
    const discount = intField(r, 'line_discount_minor', errors, false) ?? 0;
    for (const c of ['sku', 'category'] as const) if (!r.values[c]) errors.push(`line ${r.line}: ${c} is empty`);
    lineItems.push({
      sku: r.values.sku ?? '',
      category: r.values.category ?? '',
      quantity: quantity ?? r.values.quantity ?? '',
      unit_price_minor: unitPrice ?? r.values.unit_price_minor ?? '',
      discount_minor: discount,
    });
    if (typeof quantity === 'number' && typeof unitPrice === 'number') gross += quantity * unitPrice;
    if (typeof discount === 'number') lineDiscount += discount;
  }
  const orderDiscount = intField(first, 'order_discount_minor', errors, false) ?? 0;
  const refund = intField(first, 'refund_minor', errors, false) ?? 0;
  const discountTotal = lineDiscount + (typeof orderDiscount === 'number' ? orderDiscount : 0);

  const body: Record<string, unknown> = {
    order_id: v.order_id ?? '',
    status,
    channel: v.channel ?? '',
    fulfilment: v.fulfilment ?? '',
  };
  if (v.delivery_partner) body.delivery_partner = v.delivery_partner;
  body.currency = v.currency ?? '';
  body.line_items = lineItems;
  body.gross_minor = gross;
  body.discount_minor = discountTotal;
  body.net_minor = gross - discountTotal;
  body.refund_minor = refund;
  body.promo_ids = v.promo_ids ? v.promo_ids.split(';').map((p) => p.trim()).filter((p) => p !== '') : [];
  if (v.client_ip) body.client_ip = v.client_ip;
  if (v.visitor_id) body.visitor_id = v.visitor_id;
  if (v.session_id) body.session_id = v.session_id;

  const event: Record<string, unknown> = {
    event_id: v.event_id ?? '',
    merchant_id: v.merchant_id ?? '',
    event_type: 'order',
    event_ts: v.event_ts ?? '',
    source: v.source || 'pos',
    schema_version: 1,
  };
  if (v.store_id) event.store_id = v.store_id;
  event.body = body;
  if (errors.length > 0) event[POS_CSV_ERRORS_KEY] = errors;
  return JSON.stringify(event);
}

const INTEGER = /^-?\d{1,15}$/;

/** Parses an integer column; on failure records an error and returns the raw text so the entry still shows it. */
function intField(row: CsvRow, col: string, errors: string[], required: boolean): number | string | undefined {
  const raw = row.values[col] ?? '';
  if (raw === '') {
    if (required) errors.push(`line ${row.line}: ${col} is empty`);
    return undefined;
  }
  if (!INTEGER.test(raw)) {
    errors.push(`line ${row.line}: ${col} must be an integer, got ${JSON.stringify(raw)}`);
    return raw;
  }
  return Number(raw);
}

// ---------------------------------------------------------------- batching

export interface BatchLimits {
  /** At most this many entries per message. */
  maxEntries: number;
  /** At most this many bytes (UTF-8, one separator byte per entry counted) per message. */
  maxBytes: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxEntries: 500, maxBytes: 1_000_000 };

/**
 * Splits entries into message-sized batches bounded by count and bytes, keeping their order. An
 * entry larger than maxBytes travels alone (the stage rejects it as payload_too_large); it is never
 * dropped or cut.
 */
export function batchEntries(entries: readonly string[], limits: Partial<BatchLimits> = {}): string[][] {
  const maxEntries = limits.maxEntries ?? DEFAULT_BATCH_LIMITS.maxEntries;
  const maxBytes = limits.maxBytes ?? DEFAULT_BATCH_LIMITS.maxBytes;
  if (!(maxEntries >= 1) || !(maxBytes >= 1)) throw new RangeError('batch limits must be at least 1');
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry, 'utf8') + 1;
    if (current.length > 0 && (current.length >= maxEntries || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
