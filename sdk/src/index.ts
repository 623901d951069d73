// Tillstream's browser SDK: page views (including single-page-app navigations) and custom `track()` events
// from merchants' web sites to the collector, with a first-party visitor id, a session id (30 minutes of
// inactivity), consent mode, batching, retries with backoff, a bounded offline queue kept in localStorage
// and a beacon when the page hides. Every event carries a client-made event_id, so a resend (a retry, a
// beacon whose answer was never seen) is deduplicated by the pipeline and never counted twice.
// One module, plain functions: it minifies to a few kilobytes (the budget is 5 kB gzipped).
import type { Device, InitOptions, Properties, WebEvent } from './types.js';
import { SDK_VERSION } from './version.js';

export type { Device, InitOptions, PageViewEvent, Properties, TrackEvent, WebEvent } from './types.js';
export const version = SDK_VERSION;

const SESSION_MS = 30 * 60_000;
const PREFIX = 'tillstream_';
const VISITOR = PREFIX + 'vid';
const SESSION = PREFIX + 'sid';
const QUEUE = PREFIX + 'queue';
const CONSENT = PREFIX + 'consent';
const TRACK_NAME = /^[a-z][a-z0-9_]{0,63}$/;

type Consent = 'granted' | 'pending' | 'denied';
type Options = Required<Omit<InitOptions, 'storeId' | 'consent'>> & Pick<InitOptions, 'storeId'>;

let opts: Options | undefined;
let url = '';
let consent: Consent = 'granted';
/** Stands in for storage until consent: ids live only as long as the page. */
let memory: Record<string, string> = {};
let queue: WebEvent[] = [];
/** The batch of the request in flight (its events stay in `queue` until answered). */
let sending: WebEvent[] = [];
let inFlight: Promise<boolean> | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let failures = 0;
let lastUrl = '';

const warn = (message: string): void => console.warn('Tillstream: ' + message);

// ---- storage: localStorage, a first-party cookie where localStorage is unavailable (ids only) ----

function read(key: string): string | null {
  if (consent !== 'granted') return memory[key] ?? null;
  try {
    return localStorage.getItem(key);
  } catch {
    const m = document.cookie.match('(?:^|; )' + key + '=([^;]*)');
    return m ? decodeURIComponent(m[1]!) : null;
  }
}

function write(key: string, value: string | null): void {
  if (consent !== 'granted') {
    if (value === null) delete memory[key];
    else memory[key] = value;
    return;
  }
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // The queue is too large for a cookie; it then lives as long as the page.
    if (key !== QUEUE) document.cookie = key + '=' + (value === null ? '; max-age=0' : encodeURIComponent(value) + '; max-age=31536000') + '; path=/; SameSite=Lax';
  }
}

// ---- ids ----

function uuid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Pages served over plain http have no randomUUID: a version 4 UUID from getRandomValues.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 15) | 64;
  b[8] = (b[8]! & 63) | 128;
  const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

function visitorId(): string {
  let id = read(VISITOR);
  if (!id) write(VISITOR, (id = uuid()));
  return id;
}

/** The session id; a new one after 30 minutes without an event. */
function sessionId(now: number): string {
  let s: { id: string; at: number } | undefined;
  try {
    s = JSON.parse(read(SESSION)!);
  } catch {}
  if (!s?.id || !(now - s.at <= SESSION_MS)) s = { id: uuid(), at: now };
  s.at = now;
  write(SESSION, JSON.stringify(s));
  return s.id;
}

function device(): Device {
  const ua = navigator.userAgent;
  if (/iPad|Tablet|Silk|Android(?!.*Mobile)/i.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1)) return 'tablet';
  return /Mobi|iPhone|iPod|Android/i.test(ua) ? 'mobile' : 'desktop';
}

// ---- the queue ----

function persist(events: WebEvent[] = queue): void {
  write(QUEUE, events.length ? JSON.stringify(events) : null);
}

function enqueue(type: WebEvent['event_type'], body: Record<string, unknown>): void {
  if (!opts || consent === 'denied') return;
  const now = Date.now();
  const event = {
    event_id: uuid(),
    merchant_id: opts.merchantId,
    event_type: type,
    event_ts: new Date(now).toISOString(),
    source: 'web',
    schema_version: 1,
    ...(opts.storeId ? { store_id: opts.storeId } : {}),
    body: { ...body, visitor_id: visitorId(), session_id: sessionId(now), device: device(), user_agent: navigator.userAgent.slice(0, 512) },
  } as WebEvent;
  queue.push(event);
  if (queue.length > opts.maxQueue) queue.splice(0, queue.length - opts.maxQueue);
  persist();
  // A full batch goes at once, unless the collector is failing (then the backoff decides).
  if (queue.length >= opts.batchSize && !failures) {
    clearTimeout(timer);
    timer = undefined;
    schedule(0);
  } else schedule(opts.flushInterval);
}

function schedule(ms: number): void {
  if (timer === undefined && consent === 'granted') timer = setTimeout(tick, ms);
}

function tick(): void {
  timer = undefined;
  void send();
}

/** Sends the oldest batch; true when it was answered for good (accepted, or refused as unsendable). */
function send(): Promise<boolean> {
  if (inFlight) return inFlight;
  if (!opts || consent !== 'granted' || !queue.length) return Promise.resolve(true);
  const batch = (sending = queue.slice(0, opts.batchSize));
  const body = JSON.stringify(batch);
  // text/plain needs no CORS preflight; the collector sniffs JSON arrays in it. keepalive lets the request
  // finish after the page is gone, within the browser's 64 kB allowance.
  inFlight = fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' }, credentials: 'omit', keepalive: body.length < 60_000 })
    .then((res) => {
      if (res.status === 408 || res.status === 429 || res.status >= 500) return false;
      // 2xx, or a refusal that no resend can change (a 400 or 413 for this body): the batch is done.
      if (!res.ok) warn('the collector refused ' + batch.length + ' events (' + res.status + ')');
      return true;
    }, () => false)
    .then((done) => {
      inFlight = undefined;
      sending = [];
      if (done) {
        failures = 0;
        queue = queue.filter((e) => !batch.includes(e));
        persist();
        if (queue.length) schedule(0);
      } else {
        failures++;
        persist();
        // Exponential backoff with jitter, so many pages do not return at the same moment.
        schedule(Math.min(opts!.maxRetryDelay, 1000 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2));
      }
      return done;
    });
  return inFlight;
}

/** Sends everything queued now instead of at the next timer; resolves when done or when a request fails. */
export async function flush(): Promise<void> {
  clearTimeout(timer);
  timer = undefined;
  while (queue.length && consent === 'granted' && (await send()));
}

/** The page is hiding (maybe for good): hand the queue to beacons, which outlive the page. */
function hide(): void {
  if (!opts || consent !== 'granted' || !queue.length) return;
  // While the collector is unreachable a beacon would be lost: the queue stays in storage for the next page.
  if (failures || navigator.onLine === false) return persist();
  let rest = queue.filter((e) => !sending.includes(e));
  while (rest.length) {
    const batch = rest.slice(0, opts.batchSize);
    if (!navigator.sendBeacon(url, JSON.stringify(batch))) break;
    queue = queue.filter((e) => !batch.includes(e));
    rest = rest.slice(batch.length);
  }
  // The request in flight finishes on its own (keepalive); only what is left waits for the next page.
  persist(queue.filter((e) => !sending.includes(e)));
}

// ---- page views ----

/** Records a page view of the current location (called automatically unless autoPageViews is false). */
export function page(): void {
  const href = location.href;
  const referrer = lastUrl || document.referrer;
  lastUrl = href;
  enqueue('page_view', { url: href.slice(0, 2048), referrer: referrer.slice(0, 2048), title: document.title.slice(0, 512) });
}

/** Records a custom event: `name` in snake_case, properties of strings, numbers, booleans or null. */
export function track(name: string, properties: Properties = {}): void {
  if (!TRACK_NAME.test(name)) return warn('event names are snake_case, 1-64 characters: ' + name);
  enqueue('track', { name, url: location.href.slice(0, 2048), properties });
}

/** After a navigation inside the page: a page view when the address changed (once the title is set). */
function navigated(): void {
  setTimeout(() => {
    if (location.href !== lastUrl) page();
  });
}

function patch(method: 'pushState' | 'replaceState'): void {
  const original = history[method];
  history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
    const result = original.apply(this, args);
    navigated();
    return result;
  };
}

/** `<button data-tillstream-event="add_to_cart" data-tillstream-sku="p-42">` tracks its clicks. */
function clicked(e: Event): void {
  const el = (e.target as Element | null)?.closest?.('[data-tillstream-event]') as HTMLElement | null;
  if (!el) return;
  const properties: Properties = {};
  for (const k in el.dataset) {
    if (k !== 'tillstreamEvent' && k.startsWith('tillstream')) properties[k.slice(10).replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase())] = el.dataset[k]!;
  }
  track(el.dataset.tillstreamEvent!, properties);
}

// ---- consent ----

/** The visitor agreed: ids and the queue may now be stored, and events held so far are sent. */
export function grantConsent(): void {
  if (consent === 'granted') return;
  const held = memory;
  consent = 'granted';
  memory = {};
  for (const k of [VISITOR, SESSION]) if (held[k]) write(k, held[k]!);
  write(CONSENT, 'granted');
  persist();
  schedule(0);
}

/** The visitor withdrew consent: stored ids and queued events are deleted and nothing more is recorded. */
export function revokeConsent(): void {
  consent = 'granted'; // so that the deletes reach storage
  for (const k of [VISITOR, SESSION, QUEUE, CONSENT]) write(k, null);
  consent = 'denied';
  queue = [];
  memory = {};
  clearTimeout(timer);
  timer = undefined;
}

export function init(options: InitOptions): void {
  if (opts) return warn('init() was already called');
  if (!options?.merchantId || !options.endpoint || !options.key) return warn('init() needs merchantId, endpoint and key');
  opts = { autoPageViews: true, batchSize: 20, flushInterval: 1000, maxQueue: 500, maxRetryDelay: 30_000, ...options };
  url = options.endpoint.replace(/\/+$/, '') + '/v1/events?key=' + encodeURIComponent(options.key);
  consent = 'granted';
  // A visitor who agreed on an earlier page has agreed: the flag was stored only after consent.
  if (options.consent === 'pending' && read(CONSENT) !== 'granted') consent = 'pending';
  try {
    // Events an earlier page could not deliver (the collector was unreachable) go out first.
    const held = JSON.parse(read(QUEUE)!);
    if (Array.isArray(held)) queue = held;
  } catch {}
  addEventListener('pagehide', hide);
  addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && hide());
  addEventListener('online', () => failures && void flush());
  addEventListener('click', clicked, true);
  if (opts.autoPageViews) {
    patch('pushState');
    patch('replaceState');
    addEventListener('popstate', navigated);
    page();
  } else schedule(0);
}
