// The alert state machine: an alert fires once when its condition starts and clears once when it
// ends, never again every hour in between. Pure: observations in, transitions and the next open set
// out. Ids are derived from what happened (merchant, rule, subject, the instant it started), so a
// re-run or a redelivered evaluation produces the very same ids and the store's claim drops them.
import { createHash } from 'node:crypto';
import type { RuleKind } from './rules.js';

/** What an alert is about: a store, a store and sku, or the merchant as a whole (both absent). */
export interface Subject {
  store_id?: string | null;
  sku?: string | null;
}

export function subjectKey(s: Subject): string {
  return `store=${s.store_id ?? ''};sku=${s.sku ?? ''}`;
}

export interface Observation {
  subject: Subject;
  firing: boolean;
  /** Measured values that explain the verdict (sent with the alert). */
  details: Record<string, number | string | null>;
}

/** One evaluation of one rule at one instant (an hour's start for mart rules; now for scheduled ones). */
export interface RuleEvaluation {
  ruleId: string;
  kind: RuleKind;
  at: Date;
  observations: Observation[];
  /**
   * True when every subject of the rule was observed, so an open alert without an observation has
   * ended. Feed silence observes only stores inside their usual hours: the others keep their state.
   */
  exhaustive: boolean;
}

export interface OpenAlert {
  alert_id: string;
  rule_id: string;
  kind: RuleKind;
  subject: Subject;
  since: string;
}

export type OpenAlerts = Record<string, OpenAlert>;

/** The webhook body: deterministic bytes for a given transition, so a resend is identical. */
export interface AlertPayload {
  id: string;
  type: 'alert.fired' | 'alert.cleared';
  merchant_id: string;
  rule_id: string;
  kind: RuleKind;
  subject: Subject;
  /** When the condition started (fired) or was first seen over (cleared): an hour start or the evaluation instant. */
  at: string;
  /** For a clear: the id of the alert it ends. */
  fired_id?: string;
  details: Record<string, number | string | null>;
}

const openKey = (ruleId: string, s: Subject): string => `${ruleId}|${subjectKey(s)}`;

function digest(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

export function firedId(merchantId: string, ruleId: string, subject: Subject, at: Date): string {
  return `alt_${digest([merchantId, ruleId, subjectKey(subject), 'fired', at.toISOString()])}`;
}

/** One clear per firing, whatever hour it is seen at: the id depends on the fired alert alone. */
export function clearedId(fired: string): string {
  return `alt_${digest([fired, 'cleared'])}`;
}

/**
 * Applies evaluations (in time order) to the open alerts. Rules no longer configured (`activeRules`)
 * clear their open alerts at the first evaluation instant, so deleting a rule does not leave one open.
 */
export function applyEvaluations(
  merchantId: string,
  open: OpenAlerts,
  evaluations: RuleEvaluation[],
  activeRules?: Set<string>,
): { open: OpenAlerts; transitions: AlertPayload[] } {
  const next: OpenAlerts = { ...open };
  const transitions: AlertPayload[] = [];
  const clear = (key: string, at: Date, details: Record<string, number | string | null>) => {
    const a = next[key]!;
    transitions.push({
      id: clearedId(a.alert_id),
      type: 'alert.cleared',
      merchant_id: merchantId,
      rule_id: a.rule_id,
      kind: a.kind,
      subject: a.subject,
      at: at.toISOString(),
      fired_id: a.alert_id,
      details,
    });
    delete next[key];
  };
  const sorted = [...evaluations].sort((a, b) => a.at.getTime() - b.at.getTime());
  if (activeRules && sorted.length > 0) {
    for (const [key, a] of Object.entries(next)) if (!activeRules.has(a.rule_id)) clear(key, sorted[0]!.at, { reason: 'rule_removed' });
  }
  for (const ev of sorted) {
    const seen = new Set<string>();
    for (const o of ev.observations) {
      const key = openKey(ev.ruleId, o.subject);
      seen.add(key);
      if (o.firing && !next[key]) {
        const id = firedId(merchantId, ev.ruleId, o.subject, ev.at);
        next[key] = { alert_id: id, rule_id: ev.ruleId, kind: ev.kind, subject: o.subject, since: ev.at.toISOString() };
        transitions.push({ id, type: 'alert.fired', merchant_id: merchantId, rule_id: ev.ruleId, kind: ev.kind, subject: o.subject, at: ev.at.toISOString(), details: o.details });
      } else if (!o.firing && next[key]) {
        clear(key, ev.at, o.details);
      }
    }
    if (ev.exhaustive) {
      for (const [key, a] of Object.entries(next)) {
        if (a.rule_id === ev.ruleId && !seen.has(key)) clear(key, ev.at, {});
      }
    }
  }
  return { open: next, transitions };
}
