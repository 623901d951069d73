// The query API: merchants read their metric series, stores and freshness, reading only the series store
// (LMDB locally, Bigtable on Cloud Run) — one read per request, documents included (documents.ts) — plus the dashboard page,
// /health, /ready and the OpenAPI document. createQueryApiRouter() gives the routes alone for composing
// one process with the collector; createQueryApi() is the complete app (headers, logs, 404, errors);
// createQueryApiListener() is that app for an http server, answering kept answers ahead of express.
import { existsSync } from 'node:fs';
import type { IncomingMessage, RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Express, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import { CATALOG } from '../../pipeline/metrics/catalog.js';
import { systemClock, type Clock, type KeyRecord, type KeyStore, type SeriesStore } from '../../pipeline/ports.js';
import { rowRange } from '../../pipeline/series/row-key.js';
import { DAY_MS } from '../../pipeline/time.js';
import { HttpError, errorHandler, notFound, notFoundHandler } from '../http/errors.js';
import { defaultLogger, requestLogger } from '../http/logging.js';
import { securityHeaderSets, securityHeaders } from '../http/security-headers.js';
import { metricsAheadOfExpress, type KeptAnswerOf, type MetricsAnswer, type MetricsAnswerer } from './kept-answers.js';
import { createAlertsRouter } from './alerts-router.js';
import type { WebhookPolicy } from '../../pipeline/alerts/webhook-url.js';
import { createRejectionsRouter } from './rejections-router.js';
import { assertMerchantAccess, readerOf, requireReader } from './auth.js';
import { AnswerCache, PROVISIONAL_MAX_AGE_S, RefreshAhead, answerKey, cachedAnswer, type CachedAnswer, secondsUntilNextMartRun, sendCached, sendJson, sendJsonText, sendText } from './cache.js';
import { CSV_TYPE, toCsv, wantsCsv } from './csv.js';
import { candidateSpan, previousPeriod, resolveRange } from './ranges.js';
import { dayBuckets, hourBuckets, parseTopQuery, rankTop, rankedRowsExact, topGrain, topHours, topKeyRange, topRankedRange } from './top.js';
import { openApiDocument } from './openapi.js';
import { MerchantIdParam, parseMetricsQuery, parseQueryString, type MetricsRequest } from './params.js';
import { LowStockQuery, lowStock, parsePromotionsQuery, promotionDays, promotionsOf, seriesKeyRange } from './stock.js';
import { startOfLocalDay } from '../../pipeline/time.js';
import { bucketRange, bucketSlots, buildPoints, changePct, fillForward, pointsJson, totalsOf } from './points.js';
import { merchantDocuments, type MerchantRead } from './documents.js';

export interface QueryApiDeps {
  series: SeriesStore;
  keys: KeyStore;
  pepper: Buffer;
  clock?: Clock;
  logger?: Logger;
  /** Per-key limit; false turns limiting off (benchmarks). Default 1200 requests a minute. */
  rateLimit?: { windowMs?: number; limit?: number } | false;
  /** false answers `Cache-Control: no-store` everywhere (local development). */
  cache?: boolean;
  /**
   * Keep metrics answers in the process for as long as their Cache-Control lets clients keep them
   * (cache.ts AnswerCache; with `cache` on only). A kept answer, like a client's copy, shows new data
   * or dimensions only after its max-age: until the next mart run for finalized ranges, 10 s otherwise.
   */
  answerCache?: boolean;
  /** Readiness beyond "the series store answers" (e.g. the local runner's stores are open). */
  ready?: () => boolean | Promise<boolean>;
  /** How long merchant and stores documents are cached without a dimensions version change (default 60 s). */
  documentsTtlMs?: number;
  /**
   * express's 'trust proxy': which peers' X-Forwarded-Proto (and -For) to believe, so that requests a TLS
   * front end forwarded count as https (security-headers.ts). Default: none.
   */
  trustProxy?: boolean | number | string;
  /** Serve the dashboard at `/` (default true). */
  dashboard?: boolean;
  /** Other routers served by the same app ahead of the 404 (the collector, in one local process). */
  mount?: RequestHandler[];
  /** Where alert webhooks may point (pipeline/alerts/webhook-url.ts); gcp's rule unless given. */
  webhooks?: WebhookPolicy;
  /**
   * The store the alert routes read and write settings in (the series table through the single-cluster
   * write profile on gcp, since the alert evaluators write it conditionally); default `series`.
   */
  alertsSeries?: SeriesStore;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const MAX_URL_LENGTH = 4096;
const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));
// The bundle (scripts/build-query-api.mjs) carries uPlot's files beside it; the sources take the package's.
const BUNDLED_UPLOT_DIR = fileURLToPath(new URL('./uplot/', import.meta.url));
const UPLOT_DIR = existsSync(BUNDLED_UPLOT_DIR) ? BUNDLED_UPLOT_DIR : dirname(createRequire(import.meta.url).resolve('uplot'));

/** What the routes share with the kept-answer path (kept-answers.ts): one answer cache, one rate limiter. */
interface Shared {
  /** Metrics answers as sent, while clients may keep them too (cache.ts AnswerCache); only with caching on. */
  answers: AnswerCache | undefined;
  /** Metrics answers being built, by answerKey. */
  building: Map<string, Promise<CachedAnswer | undefined>>;
  /** Kept provisional answers being built again before they expire. */
  refreshing: RefreshAhead;
  /** Per key; none when rate limiting is off. */
  rateLimiter: RequestHandler | undefined;
  /** The metrics route's answer, set by the router. */
  metricsAnswer?: MetricsAnswerer;
  /** The kept answer of a request whose access is checked, set by the router (see keptAnswer there). */
  keptAnswer?: KeptAnswerOf;
}

function sharedOf(deps: QueryApiDeps): Shared {
  const rateLimiter =
    deps.rateLimit === false
      ? undefined
      : rateLimit({
          windowMs: deps.rateLimit?.windowMs ?? 60_000,
          limit: deps.rateLimit?.limit ?? 1200,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          keyGenerator: (_req, res) => readerOf(res).id,
          // express-rate-limit sets Retry-After before calling the handler; the answer keeps the one error shape.
          handler: (_req, _res, next) => next(new HttpError(429, 'rate_limited', 'too many requests for this key; retry after the number of seconds in Retry-After')),
          validate: false,
        });
  return { answers: deps.cache !== false && deps.answerCache ? new AnswerCache() : undefined, building: new Map(), refreshing: new RefreshAhead(), rateLimiter };
}

export function createQueryApiRouter(deps: QueryApiDeps): Router {
  return queryApiRouter(deps, sharedOf(deps));
}

function queryApiRouter(deps: QueryApiDeps, shared: Shared): Router {
  const clock = deps.clock ?? systemClock;
  const cacheOn = deps.cache !== false;
  const router = Router();
  const reader = requireReader({ keys: deps.keys, pepper: deps.pepper, clock });
  const limiter: RequestHandler = shared.rateLimiter ?? ((_req, _res, next) => next());
  const finalizedCache = (): { maxAgeSeconds: number } | false => (cacheOn ? { maxAgeSeconds: secondsUntilNextMartRun(clock.now()) } : false);
  const shortCache = (): { maxAgeSeconds: number } | false => (cacheOn ? { maxAgeSeconds: PROVISIONAL_MAX_AGE_S } : false);

  const documents = merchantDocuments({ series: deps.series, now: () => clock.now().getTime(), ttlMs: deps.documentsTtlMs });

  /**
   * Access check, then the one read of the request: `range`'s rows with the merchant's documents. A read
   * key's own merchant exists even before its first export (empty series in UTC); an admin asking for a
   * merchant nobody exported gets 404.
   */
  async function readMerchant(record: KeyRecord, rawId: string, range?: { start: string; end: string }): Promise<MerchantRead> {
    assertMerchantAccess(record, rawId);
    if (!MerchantIdParam.safeParse(rawId).success) throw notFound('no such merchant');
    const read = await documents.read(rawId, range);
    if (record.kind === 'admin' && !read.merchant && !read.stores && !read.freshness) throw notFound('no such merchant');
    return read;
  }

  router.use((req, _res, next) => {
    if (req.originalUrl.length > MAX_URL_LENGTH) throw new HttpError(400, 'invalid_parameter', `the request URL is longer than ${MAX_URL_LENGTH} characters`, { param: 'url' });
    next();
  });

  // Routes without parameters refuse any, so nothing (a stray ?key=, a merchant id) is silently ignored.
  const noQuery: RequestHandler = (req, _res, next) => {
    const name = Object.keys(req.query as object)[0];
    if (name !== undefined) throw new HttpError(400, 'invalid_parameter', `unknown parameter "${name}"`, { param: name });
    next();
  };

  router.get('/health', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });

  router.get('/ready', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    let ready: boolean;
    try {
      await deps.series.getDocument('_ready');
      ready = deps.ready ? await deps.ready() : true;
    } catch {
      ready = false;
    }
    if (ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'unavailable' });
  });

  const openapi = JSON.stringify(openApiDocument());
  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(openapi);
  });

  router.get('/v1/metrics', (_req, res) => {
    sendJson(res, catalogBody(), cacheOn ? { maxAgeSeconds: 300 } : false);
  });

  router.get('/v1/me', reader, limiter, noQuery, (_req, res) => {
    const record = readerOf(res);
    sendJson(res, { kind: record.kind, merchant_id: record.merchant_id }, false);
  });

  const answers = shared.answers;

  /**
   * The kept answer of a request whose access is checked, if any; one in its last seconds is built again
   * in the background (cache.ts RefreshAhead) while this request is answered with it.
   */
  const keptAnswer: KeptAnswerOf = (record, merchantId, url, parse, acceptCsv, nowMs) => {
    const keptKey = answerKey(merchantId, url, acceptCsv);
    const kept = answers?.get(keptKey, nowMs);
    if (kept?.refreshAtMs !== undefined && nowMs >= kept.refreshAtMs && !shared.building.has(keptKey)) {
      // A failed build leaves the kept answer to expire; the request after that answers the error.
      shared.refreshing.add(keptKey, () => metricsAnswer(record, merchantId, url, parse, acceptCsv, true).catch((err: unknown) => deps.logger?.warn({ err, merchant_id: merchantId, url }, 'a kept answer could not be built again before it expires')));
    }
    return kept;
  };
  shared.keptAnswer = keptAnswer;

  /**
   * The answer to a metrics request of `record`'s key for `merchantId` (the route's, and the listener's
   * ahead of express: kept-answers.ts): a kept answer, or one built from the request's one read and kept
   * when caching is on. `parse` gives the request's parameters (400 as an HttpError); `acceptCsv`, whether
   * Accept alone picks CSV; `refresh`, build it again though one is kept (RefreshAhead), unless it is
   * being built. Throws the route's errors as HttpErrors.
   */
  const metricsAnswer = async (record: KeyRecord, merchantId: string, url: string, parse: () => MetricsRequest, acceptCsv: boolean, refresh = false): Promise<MetricsAnswer> => {
    assertMerchantAccess(record, merchantId);
    const now = clock.now();
    // The same URL parses the same way, so a kept answer stands for this request once access is checked.
    const keptKey = answerKey(merchantId, url, acceptCsv);
    if (!refresh) {
      const kept = keptAnswer(record, merchantId, url, parse, acceptCsv, now.getTime());
      if (kept) return { kept, nowMs: now.getTime() };
    }
    // Requests arriving while their answer is being built wait for it instead of building it again: many
    // readers of one dashboard ask for the same answers when they expire (provisional ones every 10 s).
    if (answers) {
      const pending = shared.building.get(keptKey);
      if (pending) {
        const built = await pending;
        if (built) return { kept: built, nowMs: clock.now().getTime() };
      }
    }
    let settle: ((a: CachedAnswer | undefined) => void) | undefined;
    const mine = answers && !shared.building.has(keptKey) ? new Promise<CachedAnswer | undefined>((resolve) => (settle = resolve)) : undefined;
    if (mine) shared.building.set(keptKey, mine);
    try {
      const q = parse();
      // A preset's days and the previous period depend on the merchant's zone, which the read itself brings:
      // the one read covers them for any zone (and the previous period lies just before the range).
      const span = candidateSpan(q, now);
      // Inventory is stored as change points, one at least every UTC midnight: the read starts at the
      // midnight before the span, and the hours are filled forward (points.ts fillForward).
      const points = q.series.name === 'inventory' && span.grain === 'h';
      const read = points ? { ...span, fromMs: span.fromMs! - (((span.fromMs! % DAY_MS) + DAY_MS) % DAY_MS) } : span;
      const range = rowRange({ merchantId, series: q.series.name, dims: q.dims, grain: q.grain }, ...bucketRange(read));
      const { rows: stored, merchant, stores, freshness } = await readMerchant(record, merchantId, range);
      const rows = points && freshness?.inventory_through ? fillForward(stored, { fromMs: read.fromMs!, toMs: read.toMs!, throughMs: Date.parse(freshness.inventory_through) }) : stored;
      let timeZone = merchant?.time_zone ?? 'UTC';
      if (q.dims.store !== undefined) {
        const store = stores?.stores.find((s) => s.id === q.dims.store);
        if (stores && !store) throw notFound('no such store');
        // A store's days are its own local days.
        if (store && q.grain === 'd') timeZone = store.time_zone;
      }
      const current = resolveRange(q, timeZone, now);
      const slots = bucketSlots(current, timeZone);
      const finalizedThroughMs = freshness?.finalized_through ? Date.parse(freshness.finalized_through) : null;
      // Slots end in ascending order, so some bucket is provisional exactly when the last one is.
      const anyProvisional = finalizedThroughMs === null || slots.at(-1)!.endMs > finalizedThroughMs;
      const cache = anyProvisional ? shortCache() : finalizedCache();
      const send = (body: string | Buffer, contentType: string, disposition?: string): MetricsAnswer => {
        const bytes = typeof body === 'string' ? Buffer.from(body) : body;
        if (cache === false) return { body: bytes, contentType, ...(disposition !== undefined ? { disposition } : {}) };
        // Sent as sendText sends it with `cache`, whether kept or not.
        const a = cachedAnswer(bytes, contentType, cache, 'Authorization, Accept', now.getTime(), disposition !== undefined ? { 'Content-Disposition': disposition } : undefined, anyProvisional);
        answers?.set(keptKey, a);
        settle?.(a);
        return { kept: a, nowMs: now.getTime(), ...(disposition !== undefined ? { disposition } : {}) };
      };
      const granularity = q.grain === 'h' ? 'hour' : 'day';
      const head = { merchant_id: merchantId, series: q.series.name, granularity, time_zone: q.grain === 'h' ? 'UTC' : timeZone };
      const input = { rows, metrics: q.metrics, finalizedThroughMs };
      const previous = q.compare ? previousPeriod(current) : undefined;
      const previousSlots = previous ? bucketSlots(previous, timeZone) : undefined;

      if (q.format !== undefined ? q.format === 'csv' : acceptCsv) {
        const names = q.metrics.map((m) => m.name);
        const lines = (period: string, ps: ReturnType<typeof buildPoints>) => ps.map((p) => [...(previous ? [period] : []), p.start, p.provisional, ...names.map((n) => p.values[n])]);
        const body = toCsv(
          [...(previous ? ['period'] : []), 'start', 'provisional', ...names],
          [...lines('current', buildPoints({ slots, ...input })), ...(previousSlots ? lines('previous', buildPoints({ slots: previousSlots, ...input })) : [])],
        );
        return send(body, CSV_TYPE, `attachment; filename="${merchantId}-${q.series.name}-${granularity}-${current.from.slice(0, 13)}.csv"`);
      }
      if (!previousSlots && q.range === undefined && !q.localDays) {
        // The common answer is written as JSON text directly (the same bytes JSON.stringify would give, key order included).
        const headJson = JSON.stringify(head);
        return send(pointsJson({ slots, ...input }, { before: headJson.slice(0, -1) + ',"points":', after: '}' }), JSON_TYPE);
      }
      const answer: Record<string, unknown> = { ...head, from: current.from, to: current.to, points: buildPoints({ slots, ...input }) };
      if (previous && previousSlots) {
        const totals = totalsOf({ slots, ...input });
        const previousTotals = totalsOf({ slots: previousSlots, ...input });
        answer.totals = totals;
        answer.comparison = {
          from: previous.from,
          to: previous.to,
          totals: previousTotals,
          change_pct: Object.fromEntries(q.metrics.map((m) => [m.name, changePct(totals[m.name] ?? null, previousTotals[m.name] ?? null)])),
          points: buildPoints({ slots: previousSlots, ...input }),
        };
      }
      return send(JSON.stringify(answer), JSON_TYPE);
    } finally {
      // An answer not kept (an error, caching off for it) leaves the waiters to build their own.
      settle?.(undefined);
      if (mine && shared.building.get(keptKey) === mine) shared.building.delete(keptKey);
    }
  };
  shared.metricsAnswer = metricsAnswer;

  router.get('/v1/merchants/:merchantId/metrics', reader, limiter, async (req, res) => {
    const accept = req.headers.accept;
    const answer = await metricsAnswer(readerOf(res), req.params.merchantId as string, req.originalUrl, () => parseMetricsQuery(req.query as Record<string, unknown>), accept !== undefined && /text\/csv/i.test(accept) && wantsCsv(req, undefined));
    // A CSV's Content-Disposition goes first, where the route set it before sending.
    if (answer.disposition !== undefined) res.setHeader('Content-Disposition', answer.disposition);
    if ('kept' in answer) sendCached(res, answer.kept, answer.nowMs);
    else sendText(res, answer.body, answer.contentType, false, 'Authorization, Accept');
  });

  router.get('/v1/merchants/:merchantId/top', reader, limiter, async (req, res) => {
    const merchantId = req.params.merchantId as string;
    assertMerchantAccess(readerOf(res), merchantId);
    const t = parseTopQuery(req.query as Record<string, unknown>);
    const read = await readMerchant(readerOf(res), merchantId, topRankedRange(merchantId, t, clock.now()));
    const { merchant, stores, freshness } = read;
    if (t.store !== undefined && stores && !stores.stores.some((s) => s.id === t.store)) throw notFound('no such store');
    const timeZone = merchant?.time_zone ?? 'UTC';
    const { hours, days } = topHours(t, timeZone, clock.now());
    // A merchant whose ranked rows are not complete for these hours (their copy not done, or an hour in progress during it) is read as the rows lie.
    const rows = rankedRowsExact(freshness, hours) ? read.rows : (await readMerchant(readerOf(res), merchantId, topKeyRange(merchantId, t))).rows;
    const finalizedThroughMs = freshness?.finalized_through ? Date.parse(freshness.finalized_through) : null;
    const grain = topGrain(t);
    const ranked = rankTop(t, rows, grain === 'd' ? dayBuckets(days!, timeZone) : hourBuckets(hours), finalizedThroughMs);
    const anyProvisional = finalizedThroughMs === null || hours.toMs! > finalizedThroughMs;
    const cache = anyProvisional ? shortCache() : finalizedCache();
    if (wantsCsv(req, t.format)) {
      const names = t.metrics.map((m) => m.name);
      const body = toCsv(['rank', t.dimension, ...names], [
        ...ranked.items.map((i) => [i.rank, i.key, ...names.map((n) => i.values[n])]),
        ...(ranked.other.count > 0 ? [['', `other (${ranked.other.count})`, ...names.map((n) => ranked.other.values[n])]] : []),
        ['', 'total', ...names.map((n) => ranked.totals[n])],
      ]);
      res.setHeader('Content-Disposition', `attachment; filename="${merchantId}-top-${t.series}-${t.by.name}.csv"`);
      sendText(res, body, CSV_TYPE, cache, 'Authorization, Accept');
      return;
    }
    const answer = {
      merchant_id: merchantId,
      series: t.series,
      dimension: t.dimension,
      by: t.by.name,
      ...(t.store !== undefined ? { store: t.store } : {}),
      // The merchant's local days when asked in days; the UTC hours summed, or the local days for a daily series.
      ...(days ? { from: days.from, to: days.to, time_zone: timeZone } : { from: hours.from, to: hours.to, time_zone: 'UTC' }),
      // hour: the hourly rows of `hours` were summed; day: the daily rows of the local days (web traffic).
      granularity: grain === 'd' ? 'day' : 'hour',
      hours: { from: hours.from, to: hours.to },
      items: ranked.items,
      other: ranked.other,
      totals: ranked.totals,
    };
    sendJsonText(res, JSON.stringify(answer), cache, 'Authorization, Accept');
  });

  router.get('/v1/merchants/:merchantId/low-stock', reader, limiter, async (req, res) => {
    const merchantId = req.params.merchantId as string;
    assertMerchantAccess(readerOf(res), merchantId);
    const q = parseQueryString(LowStockQuery, req.query as Record<string, unknown>);
    const { rows, stores, freshness } = await readMerchant(readerOf(res), merchantId, seriesKeyRange(merchantId, 'inventory'));
    if (q.store !== undefined && stores && !stores.stores.some((s) => s.id === q.store)) throw notFound('no such store');
    // Change points: every item's newest hour is the one before the merchant's inventory extent.
    const items = lowStock(rows, q.store, freshness?.inventory_through);
    // The level changes with every mart run: cached like a provisional answer.
    if (wantsCsv(req, q.format)) {
      const body = toCsv(['store_id', 'sku', 'closing_quantity', 'low_since', 'as_of'], items.map((i) => [i.store_id, i.sku, i.closing_quantity, i.low_since, i.as_of]));
      res.setHeader('Content-Disposition', `attachment; filename="${merchantId}-low-stock.csv"`);
      sendText(res, body, CSV_TYPE, shortCache(), 'Authorization, Accept');
      return;
    }
    sendJsonText(res, JSON.stringify({ merchant_id: merchantId, ...(q.store !== undefined ? { store: q.store } : {}), items }), shortCache(), 'Authorization, Accept');
  });

  router.get('/v1/merchants/:merchantId/promotions', reader, limiter, async (req, res) => {
    const merchantId = req.params.merchantId as string;
    assertMerchantAccess(readerOf(res), merchantId);
    const p = parsePromotionsQuery(req.query as Record<string, unknown>);
    const { rows, merchant, freshness } = await readMerchant(readerOf(res), merchantId, seriesKeyRange(merchantId, 'promotions'));
    const days = promotionDays(p, merchant?.time_zone ?? 'UTC', clock.now());
    const promotions = promotionsOf(rows, days);
    const finalizedThroughMs = freshness?.finalized_through ? Date.parse(freshness.finalized_through) : null;
    // Final once every store's last day has ended (UTC+14 ends first, UTC-12 last).
    const final = finalizedThroughMs !== null && startOfLocalDay(days.to, 'Etc/GMT+12').getTime() <= finalizedThroughMs;
    const cache = final ? finalizedCache() : shortCache();
    if (wantsCsv(req, p.format)) {
      const names = ['days', 'promo_orders', 'promo_net_revenue_minor', 'days_with_baseline', 'baseline_net_revenue_minor', 'net_revenue_uplift_minor', 'net_revenue_lift_ratio'] as const;
      const body = toCsv(
        ['promo_id', 'store_id', 'first_day', 'last_day', ...names],
        promotions.flatMap((i) => [
          [i.promo_id, 'all', i.first_day, i.last_day, ...names.map((n) => i[n])],
          ...i.stores.map((s) => [i.promo_id, s.store_id, '', '', ...names.map((n) => s[n])]),
        ]),
      );
      res.setHeader('Content-Disposition', `attachment; filename="${merchantId}-promotions-${days.from}.csv"`);
      sendText(res, body, CSV_TYPE, cache, 'Authorization, Accept');
      return;
    }
    sendJsonText(res, JSON.stringify({ merchant_id: merchantId, from: days.from, to: days.to, promotions }), cache, 'Authorization, Accept');
  });

  router.get('/v1/merchants/:merchantId', reader, limiter, async (req, res) => {
    const merchantId = req.params.merchantId as string;
    const { merchant } = await readMerchant(readerOf(res), merchantId);
    noQuery(req, res, () => undefined);
    // Before its first export a merchant has no document: its id alone, in UTC, currency unknown.
    sendJson(res, { id: merchantId, name: merchant?.name ?? null, time_zone: merchant?.time_zone ?? 'UTC', currency: merchant?.currency ?? null }, finalizedCache());
  });

  router.get('/v1/merchants/:merchantId/stores', reader, limiter, async (req, res) => {
    const { stores: doc } = await readMerchant(readerOf(res), req.params.merchantId as string);
    noQuery(req, res, () => undefined);
    const stores = doc?.stores ?? [];
    const body = {
      stores: stores.map((s) => ({ id: s.id, name: s.name, city: s.city ?? null, region: s.region ?? null, time_zone: s.time_zone })),
    };
    sendJson(res, body, finalizedCache());
  });

  router.get('/v1/merchants/:merchantId/freshness', reader, limiter, async (req, res) => {
    const { freshness: f } = await readMerchant(readerOf(res), req.params.merchantId as string);
    noQuery(req, res, () => undefined);
    const finalized = f?.finalized_through ?? null;
    const lag = finalized === null ? null : Math.max(0, Math.round((clock.now().getTime() - Date.parse(finalized)) / 1000));
    sendJson(res, { newest_event_at: f?.newest_event_at ?? null, finalized_through: finalized, lag_seconds: lag }, shortCache());
  });
  router.use(createAlertsRouter({ series: deps.alertsSeries ?? deps.series, keys: deps.keys, pepper: deps.pepper, clock, rateLimit: deps.rateLimit, webhooks: deps.webhooks }));
  router.use(createRejectionsRouter({ series: deps.series, keys: deps.keys, pepper: deps.pepper, clock }));

  if (deps.dashboard !== false) {
    router.use('/vendor/uplot', express.static(UPLOT_DIR, { index: false, maxAge: '1h' }));
    router.use('/dashboard', express.static(DASHBOARD_DIR, { index: false, maxAge: 0 }));
    router.get('/', (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.sendFile('index.html', { root: DASHBOARD_DIR });
    });
  }

  return router;
}

/** The complete app: security headers, request logs, the routes, 404 and the one error handler. */
export function createQueryApi(deps: QueryApiDeps): Express {
  return buildQueryApi(deps).app;
}

/**
 * The complete app as node's request listener, for an http server: a metrics request with a key that may
 * read its merchant and parameters the route takes is answered without entering express (kept-answers.ts),
 * from the answer cache when it holds the answer; anything else by the app itself.
 */
export function createQueryApiListener(deps: QueryApiDeps): RequestListener {
  const { app, metrics } = buildQueryApi(deps);
  return (req, res) =>
    metrics(req, res, (err) => {
      if (err !== undefined) refused.set(req, err);
      app(req, res);
    });
}

/** Requests the listener counted and could not answer (a rate limit, a read's error): the app answers the error. */
const refused = new WeakMap<IncomingMessage, unknown>();

function buildQueryApi(deps: QueryApiDeps): { app: Express; metrics: ReturnType<typeof metricsAheadOfExpress> } {
  const logger = deps.logger ?? defaultLogger();
  const shared = sharedOf(deps);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are computed over the exact body in cache.ts
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  const security = securityHeaderSets(); // helmet's defaults, precomputed
  const logRequest = requestLogger(logger);
  app.use(securityHeaders(security));
  app.use(logRequest);
  app.use((req, _res, next) => {
    const err = refused.get(req);
    if (err === undefined) return next();
    refused.delete(req);
    next(err);
  });
  for (const handler of deps.mount ?? []) app.use(handler);
  app.use(queryApiRouter({ ...deps, logger }, shared));
  app.use(notFoundHandler());
  app.use(errorHandler({ logger }));
  const secureHeaders = security.secure.set.flat();
  const plainHeaders = security.plain.set.flat();
  const trustsProxies = deps.trustProxy !== undefined && deps.trustProxy !== false;
  const metrics = metricsAheadOfExpress({
    keptAnswer: shared.keptAnswer!,
    metricsAnswer: shared.metricsAnswer!,
    parseQuery: app.get('query parser fn') as (query: string | null) => Record<string, unknown>,
    keys: deps.keys,
    pepper: deps.pepper,
    clock: deps.clock ?? systemClock,
    limiter: shared.rateLimiter,
    // express's own req.secure (the socket, or X-Forwarded-Proto from a proxy 'trust proxy' trusts),
    // asked of a stand-in request carrying this request's socket and headers; without trusted proxies, the socket's.
    isSecure: trustsProxies
      ? (req) => (Object.create(app.request, { socket: { value: req.socket }, headers: { value: req.headers } }) as express.Request).secure
      : (req) => (req.socket as { encrypted?: boolean }).encrypted === true,
    securityHeaders: (secure) => (secure ? secureHeaders : plainHeaders),
    logRequest,
  });
  return { app, metrics };
}

export function catalogBody(): object {
  return {
    series: CATALOG.map((s) => ({
      name: s.name,
      description: s.description,
      dimensions: s.dimensionSets,
      granularities: s.grains.map((g) => (g === 'h' ? 'hour' : 'day')),
      metrics: s.metrics.map((m) => ({ name: m.name, kind: m.kind, description: m.description })),
    })),
  };
}

