// Alert evaluation where the data is: one query per rule kind over every merchant (the SQL of
// sql/alerts/, run on BigQuery in GCP and on DuckDB locally through the dialect layer), then the
// merchants' rules applied to the rows and the state machine (state.ts) deciding what starts and
// ends. Low stock and sales drop run after each mart run over the hours it finalized; feed silence
// and freshness run on a schedule. A transition is claimed before it is queued (store.ts), so an
// evaluation run twice, or a trigger delivered twice, queues each alert once.
import { mapLimit } from '../concurrency.js';
import { readSql } from '../marts/manifest.js';
import type { Logger, Warehouse } from '../ports.js';
import { HOUR_MS, floorHour } from '../time.js';
import type { AlertRule, FeedSilentRule, FreshnessRule, LowStockRule, SalesDropRule, StoredAlertSettings } from './rules.js';
import { applyEvaluations, type AlertPayload, type Observation, type RuleEvaluation } from './state.js';
import type { AlertStore, EvaluationScope } from './store.js';

export const ALERT_SQL = {
  low_stock: 'sql/alerts/alert_low_stock.sql',
  sales_drop: 'sql/alerts/alert_sales_drop.sql',
  feed_silent: 'sql/alerts/alert_feed_silent.sql',
  freshness: 'sql/alerts/alert_freshness.sql',
} as const;

/** The durable queue between evaluation and webhook delivery (Pub/Sub in GCP, the local bus locally). */
export interface AlertQueue {
  enqueue(payloads: AlertPayload[]): Promise<void>;
}

export interface EvaluationDeps {
  warehouse: Warehouse;
  alerts: AlertStore;
  queue: AlertQueue;
  logger?: Logger;
}

export interface EvaluationSummary {
  merchants: number;
  rules: number;
  /** Rows the alert SQL returned. */
  rows: number;
  /** Transitions found, and how many of them were queued by this evaluation (the rest were already). */
  transitions: number;
  queued: number;
}

const SETTLE_CONCURRENCY = 32;
const MART_KINDS = new Set(['low_stock', 'sales_drop']);
const SCHEDULED_KINDS = new Set(['feed_silent', 'freshness']);

type Row = Record<string, unknown>;
const iso = (v: unknown): string => new Date(v as Date).toISOString();
const num = (v: unknown): number => Number(v);

function groupByMerchant(rows: Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) {
    const m = String(r.merchant_id);
    let list = out.get(m);
    if (!list) out.set(m, (list = []));
    list.push(r);
  }
  return out;
}

function hoursOf(window: { windowStart: Date; windowEnd: Date }): Date[] {
  const out: Date[] = [];
  for (let t = window.windowStart.getTime(); t < window.windowEnd.getTime(); t += HOUR_MS) out.push(new Date(t));
  return out;
}

function lowStockEvaluations(rule: LowStockRule, rows: Row[], hours: Date[]): RuleEvaluation[] {
  const byHour = new Map<string, Observation[]>(hours.map((h) => [h.toISOString(), []]));
  for (const r of rows) {
    if (rule.store_id !== '*' && r.store_id !== rule.store_id) continue;
    if (rule.sku !== '*' && r.sku !== rule.sku) continue;
    const closing = num(r.closing_quantity);
    const firing = rule.threshold === undefined ? num(r.low_stock) === 1 : closing < rule.threshold;
    byHour.get(iso(r.hour_start))?.push({
      subject: { store_id: String(r.store_id), sku: String(r.sku) },
      firing,
      details: { closing_quantity: closing, threshold: rule.threshold ?? null },
    });
  }
  return hours.map((h) => ({ ruleId: rule.id, kind: rule.kind, at: h, observations: byHour.get(h.toISOString())!, exhaustive: true }));
}

function salesDropEvaluations(rule: SalesDropRule, rows: Row[], hours: Date[]): RuleEvaluation[] {
  const byHour = new Map<string, Observation[]>(hours.map((h) => [h.toISOString(), []]));
  for (const r of rows) {
    const store = (r.store_id as string | null) ?? null;
    if (rule.store_id === undefined ? store !== null : store === null || (rule.store_id !== '*' && store !== rule.store_id)) continue;
    const net = num(r.net_revenue_minor);
    const median = num(r.baseline_median_minor);
    const firing = median >= rule.min_baseline_minor && net < rule.fraction * median;
    byHour.get(iso(r.hour_start))?.push({
      subject: { store_id: store },
      firing,
      details: { net_revenue_minor: net, baseline_median_minor: median, fraction: rule.fraction, min_baseline_minor: rule.min_baseline_minor },
    });
  }
  return hours.map((h) => ({ ruleId: rule.id, kind: rule.kind, at: h, observations: byHour.get(h.toISOString())!, exhaustive: true }));
}

function feedSilentEvaluation(rule: FeedSilentRule, rows: Row[], asOf: Date): RuleEvaluation {
  const observations: Observation[] = [];
  for (const r of rows) {
    if (rule.store_id !== '*' && r.store_id !== rule.store_id) continue;
    const last = r.last_pos_received_at == null ? null : new Date(r.last_pos_received_at as Date);
    const silentMs = last ? asOf.getTime() - last.getTime() : Infinity;
    observations.push({
      subject: { store_id: String(r.store_id) },
      firing: silentMs > rule.silent_minutes * 60_000,
      details: { last_pos_received_at: last?.toISOString() ?? null, silent_minutes: rule.silent_minutes },
    });
  }
  return { ruleId: rule.id, kind: rule.kind, at: asOf, observations, exhaustive: false };
}

function freshnessEvaluation(rule: FreshnessRule, rows: Row[], asOf: Date): RuleEvaluation {
  const observations: Observation[] = rows.map((r) => {
    const lagMinutes = Math.floor((asOf.getTime() - (new Date(r.oldest_pending_hour as Date).getTime() + HOUR_MS)) / 60_000);
    return {
      subject: {},
      firing: lagMinutes > rule.lag_minutes,
      details: { oldest_pending_hour: iso(r.oldest_pending_hour), lag_minutes: lagMinutes, threshold_minutes: rule.lag_minutes },
    };
  });
  return { ruleId: rule.id, kind: rule.kind, at: asOf, observations, exhaustive: true };
}

async function loadSettings(alerts: AlertStore, kinds: Set<string>): Promise<StoredAlertSettings[]> {
  const ids = await alerts.merchants();
  const all = await Promise.all(ids.map((m) => alerts.getSettings(m)));
  return all.filter((s): s is StoredAlertSettings => !!s && s.rules.some((r) => r.enabled && kinds.has(r.kind)));
}

/** Applies one merchant's evaluations to its open alerts; claims, queues and records the transitions. */
async function settle(deps: EvaluationDeps, scope: EvaluationScope, merchantId: string, rules: AlertRule[], evaluations: RuleEvaluation[]): Promise<{ transitions: number; queued: number }> {
  const state = await deps.alerts.getOpen(merchantId, scope);
  // Instants already evaluated are decided: a re-run, an overlapping window or a redelivered trigger
  // starts where the state stands instead of replaying the past against the present open set.
  const through = state.through ? Date.parse(state.through) : -Infinity;
  const pending = evaluations.filter((e) => e.at.getTime() > through);
  if (pending.length === 0) return { transitions: 0, queued: 0 };
  const { open: next, transitions } = applyEvaluations(merchantId, state.alerts, pending, new Set(rules.map((r) => r.id)));
  const claims = await deps.alerts.claim(merchantId, transitions.map((t) => t.id));
  // 'unqueued': claimed by an evaluation that stopped before queueing it; queue it now.
  const toQueue = transitions.filter((_, i) => claims[i] !== 'queued');
  if (toQueue.length > 0) {
    await deps.queue.enqueue(toQueue);
    await deps.alerts.markQueued(merchantId, toQueue.map((t) => t.id));
  }
  await deps.alerts.appendHistory(merchantId, scope, transitions);
  const last = Math.max(...pending.map((e) => e.at.getTime()));
  await deps.alerts.putOpen(merchantId, scope, { through: new Date(last).toISOString(), alerts: next });
  return { transitions: transitions.length, queued: toQueue.length };
}

async function settleAll(
  deps: EvaluationDeps,
  scope: EvaluationScope,
  settings: StoredAlertSettings[],
  rows: number,
  evaluate: (rule: AlertRule, merchantId: string) => RuleEvaluation[],
  kinds: Set<string>,
): Promise<EvaluationSummary> {
  const summary: EvaluationSummary = { merchants: settings.length, rules: 0, rows, transitions: 0, queued: 0 };
  // Merchants are independent (each has its own state documents): settled a few at a time, so the
  // store's round trips overlap instead of adding up.
  // A merchant that fails does not stop the others, and the evaluation ends only once none is in
  // flight: a retry must not overlap a settle still between its claim and its queueing.
  const failures: unknown[] = [];
  await mapLimit(settings, SETTLE_CONCURRENCY, async (s) => {
    const rules = s.rules.filter((r) => r.enabled && kinds.has(r.kind));
    summary.rules += rules.length;
    const evaluations = rules.flatMap((r) => evaluate(r, s.merchant_id));
    try {
      const r = await settle(deps, scope, s.merchant_id, rules, evaluations);
      summary.transitions += r.transitions;
      summary.queued += r.queued;
    } catch (err) {
      failures.push(new Error(`settling the alerts of merchant ${s.merchant_id}`, { cause: err }));
    }
  });
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `settling alerts failed for ${failures.length} merchants`);
  return summary;
}

/**
 * Low stock and sales drop over the hours of [windowStart, windowEnd), after the mart run that
 * finalized them. Hours are evaluated in order, so a window of several hours fires and clears as
 * hour-by-hour runs would.
 */
export async function evaluateMartAlerts(deps: EvaluationDeps, window: { windowStart: Date; windowEnd: Date }): Promise<EvaluationSummary> {
  const settings = await loadSettings(deps.alerts, MART_KINDS);
  const hours = hoursOf(window);
  if (settings.length === 0 || hours.length === 0) return { merchants: 0, rules: 0, rows: 0, transitions: 0, queued: 0 };
  const params = { window_start: window.windowStart, window_end: window.windowEnd };
  const wants = (kind: string) => settings.some((s) => s.rules.some((r) => r.enabled && r.kind === kind));
  const [lowStock, salesDrop] = await Promise.all([
    wants('low_stock') ? deps.warehouse.query(readSql(ALERT_SQL.low_stock), params) : [],
    wants('sales_drop') ? deps.warehouse.query(readSql(ALERT_SQL.sales_drop), params) : [],
  ]);
  const lowByMerchant = groupByMerchant(lowStock);
  const dropByMerchant = groupByMerchant(salesDrop);
  return settleAll(
    deps,
    'mart',
    settings,
    lowStock.length + salesDrop.length,
    (rule, m) => {
      if (rule.kind === 'low_stock') return lowStockEvaluations(rule, lowByMerchant.get(m) ?? [], hours);
      if (rule.kind === 'sales_drop') return salesDropEvaluations(rule, dropByMerchant.get(m) ?? [], hours);
      return [];
    },
    MART_KINDS,
  );
}

/** Feed silence and freshness as of one instant (the scheduler's tick time, so a retried tick is the same evaluation). */
export async function evaluateScheduledAlerts(deps: EvaluationDeps, asOf: Date): Promise<EvaluationSummary> {
  const settings = await loadSettings(deps.alerts, SCHEDULED_KINDS);
  if (settings.length === 0) return { merchants: 0, rules: 0, rows: 0, transitions: 0, queued: 0 };
  const wants = (kind: string) => settings.some((s) => s.rules.some((r) => r.enabled && r.kind === kind));
  const [silent, fresh] = await Promise.all([
    wants('feed_silent') ? deps.warehouse.query(readSql(ALERT_SQL.feed_silent), { window_start: new Date(asOf.getTime() - 24 * HOUR_MS), window_end: asOf }) : [],
    wants('freshness') ? deps.warehouse.query(readSql(ALERT_SQL.freshness), { window_start: new Date(asOf.getTime() - 48 * HOUR_MS), window_end: asOf }) : [],
  ]);
  const silentByMerchant = groupByMerchant(silent);
  const freshByMerchant = groupByMerchant(fresh);
  return settleAll(
    deps,
    'scheduled',
    settings,
    silent.length + fresh.length,
    (rule, m) => {
      if (rule.kind === 'feed_silent') return [feedSilentEvaluation(rule, silentByMerchant.get(m) ?? [], asOf)];
      if (rule.kind === 'freshness') return [freshnessEvaluation(rule, freshByMerchant.get(m) ?? [], asOf)];
      return [];
    },
    SCHEDULED_KINDS,
  );
}

/**
 * The hours a mart run hands to alert evaluation: those it finalized since the last evaluated hour
 * (kept with the alert state), at most a day back so a long outage does not replay stale alerts.
 */
export async function martAlertWindow(series: { getDocument<T>(k: string): Promise<T | undefined> }, finalizedThrough: Date): Promise<{ windowStart: Date; windowEnd: Date }> {
  const previous = await series.getDocument<string>(MART_WATERMARK_KEY);
  const floor = finalizedThrough.getTime() - 24 * HOUR_MS;
  const start = previous ? Math.max(Date.parse(previous), floor) : finalizedThrough.getTime() - HOUR_MS;
  return { windowStart: floorHour(new Date(Math.min(start, finalizedThrough.getTime()))), windowEnd: finalizedThrough };
}

export const MART_WATERMARK_KEY = '_alerts#mart_evaluated_through';

/** The hook a mart cycle calls once its run is complete: evaluates the newly finalized hours and advances the watermark. */
export function martAlertHook(deps: EvaluationDeps & { series: { getDocument<T>(k: string): Promise<T | undefined>; putDocument(k: string, v: unknown): Promise<void> } }) {
  return async (finalizedThrough: Date): Promise<EvaluationSummary> => {
    const window = await martAlertWindow(deps.series, finalizedThrough);
    const summary = await evaluateMartAlerts(deps, window);
    await deps.series.putDocument(MART_WATERMARK_KEY, window.windowEnd.toISOString());
    return summary;
  };
}
