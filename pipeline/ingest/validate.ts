// Validation of one entry: every check of the closed reason list, run in exactly the order of
// REASON_CODES (pipeline/contracts/outcomes.ts), so the first check that fails is the reason.
// Returns a value, never throws: a bad entry is an outcome, not an error.
// conflicting_duplicate and processing_failed are decided by the stage, not here.
import type { Dimensions, MerchantDim, StoreDim } from '../contracts/dimensions.js';
import { storeKey } from '../contracts/dimensions.js';
import { Event } from '../contracts/events.js';
import type { ReasonCode } from '../contracts/outcomes.js';
import { describeIssues } from '../errors.js';
import type { MessageAttributes } from '../ports.js';
import { DEFAULT_INGEST_CONFIG, type ResolvedIngestConfig } from './config.js';
import { POS_CSV_ERRORS_KEY } from './entries.js';
import { fastEvent } from './fast-schema.js';
import { IpMatcher } from './ip.js';

export interface ValidationContext {
  dimensions: Dimensions;
  attributes: MessageAttributes;
  /** When the entry was received (epoch ms): the clock rule measures against it, never against now. */
  receivedAtMs: number;
  /** Defaults to DEFAULT_INGEST_CONFIG. */
  config?: ResolvedIngestConfig;
}

export interface ValidEntry {
  ok: true;
  event: Event;
  /** event_ts as epoch milliseconds (UTC). */
  eventTsMs: number;
  /** The event's merchant and store as the dimensions hold them: looked up once, here, for normalization too. */
  merchant: MerchantDim;
  store: (StoreDim & { time_zone: string }) | undefined;
}

export interface InvalidEntry {
  ok: false;
  reason: ReasonCode;
  detail: string;
  /** What could be read of the entry, for the rejected row; null when it could not. */
  merchant_id: string | null;
  event_id: string | null;
  event_type: string | null;
}

export type Validation = ValidEntry | InvalidEntry;

/** Keys that could reach an object's prototype in code that assigns parsed keys; no event uses them. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// A cheap text test decides whether the (slower) key walk is needed; `\u` covers escaped key names.
const MAY_HOLD_FORBIDDEN_KEY = /__proto__|constructor|prototype|\\u/;
const MAX_ID_LENGTH = 256;
const WEB_TYPES = new Set(['page_view', 'track']);

export function validateEntry(text: string, ctx: ValidationContext): Validation {
  const config = ctx.config ?? DEFAULT_INGEST_CONFIG;

  // invalid_json
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // Newer V8 versions append "(line L column C)"; dropped so the detail is the same on every Node version.
    return invalid('invalid_json', `not valid JSON: ${(err as Error).message.replace(/ \(line \d+ column \d+\)$/, '')}`, undefined);
  }

  // payload_too_large — a UTF-16 code unit is at most 3 UTF-8 bytes, so most entries skip the exact count.
  if (text.length * 3 > config.maxEventBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > config.maxEventBytes) {
      return invalid('payload_too_large', `entry is ${bytes} bytes; the limit is ${config.maxEventBytes} bytes`, parsed);
    }
  }

  // schema_mismatch — the fast path accepts only events whose every key is known (see fast-schema.ts),
  // so the forbidden-key walk and zod run only for the rest.
  let event = fastEvent(parsed);
  if (!event) {
    if (MAY_HOLD_FORBIDDEN_KEY.test(text)) {
      const forbidden = findForbiddenKey(parsed);
      if (forbidden) return invalid('schema_mismatch', `${forbidden}: forbidden key`, parsed);
    }
    if (isRecord(parsed) && parsed[POS_CSV_ERRORS_KEY] !== undefined) {
      const errors = parsed[POS_CSV_ERRORS_KEY];
      const detail = Array.isArray(errors) ? errors.map(String).join('; ') : String(errors);
      return invalid('schema_mismatch', `POS CSV: ${detail}`, parsed);
    }
    const result = Event.safeParse(parsed);
    if (!result.success) return invalid('schema_mismatch', describeIssues(result.error.issues), parsed);
    event = result.data;
  }

  // Instants the warehouse can hold: BigQuery TIMESTAMPs span years 0001 to 9999 (UTC).
  const eventTsMs = Date.parse(event.event_ts);
  const outOfRange = instantOutOfRange(event, eventTsMs);
  if (outOfRange) return rejectEvent('schema_mismatch', `${outOfRange}: must lie between 0001-01-01 and 9999-12-31 UTC`, event);

  const merchant = ctx.dimensions.merchants.get(event.merchant_id);
  // unknown_merchant
  if (!merchant) return rejectEvent('unknown_merchant', `merchant ${event.merchant_id} is not in the dimensions`, event);

  // merchant_mismatch
  const keyMerchant = ctx.attributes.key_merchant_id;
  if (keyMerchant !== undefined && keyMerchant !== event.merchant_id) {
    return rejectEvent('merchant_mismatch', `event names merchant ${event.merchant_id} but was sent with a key of merchant ${keyMerchant}`, event);
  }

  // unknown_store
  const store = event.store_id === undefined ? undefined : ctx.dimensions.stores.get(storeKey(event.merchant_id, event.store_id));
  if (event.store_id !== undefined && store === undefined) {
    return rejectEvent('unknown_store', `store ${event.store_id} is not a store of merchant ${event.merchant_id}`, event);
  }
  if (event.event_type === 'promotion') {
    for (const s of event.body.store_ids) {
      if (!ctx.dimensions.stores.has(storeKey(event.merchant_id, s))) {
        return rejectEvent('unknown_store', `promotion names store ${s}, which is not a store of merchant ${event.merchant_id}`, event);
      }
    }
  }

  // currency_mismatch
  if (event.event_type === 'order' && event.body.currency !== merchant.currency) {
    return rejectEvent('currency_mismatch', `order currency ${event.body.currency} differs from merchant currency ${merchant.currency}`, event);
  }

  // event_too_old / event_in_future — against received_at, so a re-validation gives the same answer.
  const age = ctx.receivedAtMs - eventTsMs;
  if (age > config.maxEventAgeMs && ctx.attributes.backfill !== '1') {
    return rejectEvent(
      'event_too_old',
      `event_ts is ${formatDuration(age)} before received_at; the maximum age is ${formatDuration(config.maxEventAgeMs)} (load history as a backfill)`,
      event,
    );
  }
  if (-age > config.futureSkewMs) {
    return rejectEvent('event_in_future', `event_ts is ${formatDuration(-age)} after received_at; the allowed skew is ${formatDuration(config.futureSkewMs)}`, event);
  }

  // fraud_ip
  const body = event.body as { client_ip?: string; user_agent?: string };
  if (body.client_ip !== undefined && ctx.dimensions.fraudIps.length > 0) {
    if (fraudList(ctx.dimensions.fraudIps).has(body.client_ip)) {
      return rejectEvent('fraud_ip', 'client_ip is on the fraud IP list', event);
    }
  }

  // bot
  if (event.source === 'web' && WEB_TYPES.has(event.event_type)) {
    const ua = body.user_agent ?? ctx.attributes.user_agent;
    if (ua !== undefined && config.botRegex.test(ua)) {
      return rejectEvent('bot', `user agent ${JSON.stringify(ua.slice(0, 200))} matches the bot rule`, event);
    }
  }

  return { ok: true, event, eventTsMs, merchant, store };
}

// ---------------------------------------------------------------- helpers

const MIN_INSTANT_MS = -62135596800000; // 0001-01-01T00:00:00Z
const MAX_INSTANT_MS = 253402300799999; // 9999-12-31T23:59:59.999Z
const inRange = (ms: number): boolean => ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;

/** The path of an instant of the event that the warehouse cannot store, if any. */
function instantOutOfRange(event: Event, eventTsMs: number): string | undefined {
  if (!inRange(eventTsMs)) return 'event_ts';
  if (event.event_type === 'promotion') {
    if (!inRange(Date.parse(event.body.starts_at))) return 'body.starts_at';
    if (!inRange(Date.parse(event.body.ends_at))) return 'body.ends_at';
  }
  return undefined;
}

/** merchant_id, event_id and event_type of an entry as far as they can be read, without validating it. */
export function readEnvelopeIds(text: string): { merchant_id: string | null; event_id: string | null; event_type: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const { merchant_id, event_id, event_type } = invalid('processing_failed', '', parsed);
  return { merchant_id, event_id, event_type };
}

/** An error and its causes on one line: `writing batch: timeout (cause: ECONNRESET)`. */

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function idField(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v.slice(0, MAX_ID_LENGTH) : null;
}

/** A rejection before the schema passed: reads what it can of the envelope. */
function invalid(reason: ReasonCode, detail: string, parsed: unknown): InvalidEntry {
  const o = isRecord(parsed) ? parsed : undefined;
  return {
    ok: false,
    reason,
    detail,
    merchant_id: o ? idField(o, 'merchant_id') : null,
    event_id: o ? idField(o, 'event_id') : null,
    event_type: o ? idField(o, 'event_type') : null,
  };
}

function rejectEvent(reason: ReasonCode, detail: string, event: Event): InvalidEntry {
  return { ok: false, reason, detail, merchant_id: event.merchant_id, event_id: event.event_id, event_type: event.event_type };
}

/** Walks the parsed value without recursion (nesting depth is attacker-chosen) and returns the path of a forbidden key. */
function findForbiddenKey(root: unknown): string | undefined {
  const stack: { value: unknown; path: string }[] = [{ value: root, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: path ? `${path}.${i}` : String(i) });
      continue;
    }
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (FORBIDDEN_KEYS.has(key)) return at;
      stack.push({ value: (value as Record<string, unknown>)[key], path: at });
    }
  }
  return undefined;
}

const fraudLists = new WeakMap<readonly string[], IpMatcher>();

/** One matcher per dimensions snapshot: built on first use, reused for every entry. */
export function fraudList(entries: readonly string[]): IpMatcher {
  let list = fraudLists.get(entries);
  if (!list) {
    list = new IpMatcher(entries);
    fraudLists.set(entries, list);
  }
  return list;
}

/** `8d 0h 0m 1s`, `10m 0s`: durations a person can read in a rejected row. */
export function formatDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h ${m}m ${s}s`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  return `${m}m ${s}s`;
}
