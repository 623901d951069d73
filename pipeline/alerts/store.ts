// Where alert settings, open alerts, history and delivery status live: the series store of each
// runtime (LMDB locally, Bigtable in GCP), which the query API already reads, so the API needs no
// second database. Rows and documents are keyed merchant first, like every series row.
//
// The exactly-once step is `claim`: a conditional write of the transition's own row (Bigtable
// CheckAndMutateRow, https://cloud.google.com/bigtable/docs/writes#conditional), so of any number of
// evaluations producing the same transition id only one gets `new`. A claim remembers whether the
// transition reached the delivery queue, so a crash between the claim and the publish is repaired by
// the next evaluation instead of losing the alert.
import { FAMILY_ALERTS, type SeriesStore } from '../ports.js';
import type { StoredAlertSettings } from './rules.js';
import type { AlertPayload, OpenAlerts } from './state.js';

/** The open alerts of one scope and the last instant evaluated: an evaluation never goes back before it. */
export interface OpenState {
  through: string | null;
  alerts: OpenAlerts;
}

const FAMILY = FAMILY_ALERTS;
const STATE = 'state';
const CLAIMED = 1;
const QUEUED = 2;

export type ClaimResult = 'new' | 'unqueued' | 'queued';

export type DeliveryStatus =
  | { status: 'pending'; attempts: number; last_error: string | null; first_attempt_at: string; next_attempt_at: string }
  | { status: 'delivered'; attempts: number; delivered_at: string }
  | { status: 'failed'; attempts: number; last_error: string | null; failed_at: string };

export interface AlertHistoryEntry extends AlertPayload {
  delivery: DeliveryStatus | null;
}

type HistoryItem = AlertPayload & { seq: number };

/** Newest first, at most this many per merchant are kept in the history document. */
export const HISTORY_LIMIT = 500;

const key = {
  settings: (m: string) => `${m}#alerts#settings`,
  open: (m: string, scope: EvaluationScope) => `${m}#alerts#open#${scope}`,
  history: (m: string, scope: EvaluationScope) => `${m}#alerts#history#${scope}`,
  claim: (m: string, id: string) => `${m}#alerts#claim#${id}`,
  delivery: (m: string, id: string) => `${m}#alerts#delivery#${id}`,
  /** One row per merchant with settings: adding one is a single-row write that no concurrent add can undo. */
  indexed: (m: string) => `${INDEX_PREFIX}${m}`,
  /** The former index, one document read-modify-written by every first save (two merchants saving at once could drop one); still read. */
  legacyIndex: () => `_alerts#merchants`,
};
const INDEX_PREFIX = '_alerts#merchants#';
/** The first key after every key of the prefix ('$' follows '#'). */
const INDEX_END = '_alerts#merchants$';
const INDEXED = 'on';

/**
 * Mart rules (after each mart run) and scheduled rules (feed silence, freshness) are evaluated by
 * different jobs that may overlap, so each keeps its own open set and history document: neither
 * read-modify-write can lose the other's update.
 */
export type EvaluationScope = 'mart' | 'scheduled';
export const SCOPES: readonly EvaluationScope[] = ['mart', 'scheduled'];

export interface AlertStore {
  getSettings(merchantId: string): Promise<StoredAlertSettings | undefined>;
  putSettings(settings: StoredAlertSettings): Promise<void>;
  /** Merchants with settings (the evaluator's list). */
  merchants(): Promise<string[]>;
  getOpen(merchantId: string, scope: EvaluationScope): Promise<OpenState>;
  putOpen(merchantId: string, scope: EvaluationScope, open: OpenState): Promise<void>;
  claim(merchantId: string, ids: string[]): Promise<ClaimResult[]>;
  markQueued(merchantId: string, ids: string[]): Promise<void>;
  appendHistory(merchantId: string, scope: EvaluationScope, payloads: AlertPayload[]): Promise<void>;
  history(merchantId: string, opts?: { limit?: number }): Promise<AlertHistoryEntry[]>;
  getDelivery(merchantId: string, id: string): Promise<DeliveryStatus | undefined>;
  putDelivery(merchantId: string, id: string, status: DeliveryStatus): Promise<void>;
}

export function createAlertStore(series: SeriesStore): AlertStore {
  if (!series.checkAndMutate) throw new Error('the alert store needs a series store with conditional writes (checkAndMutate)');
  const checkAndMutate = series.checkAndMutate.bind(series);
  return {
    getSettings: (m) => series.getDocument<StoredAlertSettings>(key.settings(m)),
    async putSettings(settings) {
      await series.putDocument(key.settings(settings.merchant_id), settings);
      await series.mutate([{ kind: 'set', key: key.indexed(settings.merchant_id), family: FAMILY, cells: { [INDEXED]: 1 } }]);
    },
    async merchants() {
      const [rows, legacy] = await Promise.all([
        series.readRange({ start: INDEX_PREFIX, end: INDEX_END }),
        series.getDocument<string[]>(key.legacyIndex()),
      ]);
      const ids = new Set([...rows.filter((r) => r.cells[FAMILY]?.[INDEXED] !== undefined).map((r) => r.key.slice(INDEX_PREFIX.length)), ...(legacy ?? [])]);
      return [...ids].sort();
    },
    async getOpen(m, scope) {
      return (await series.getDocument<OpenState>(key.open(m, scope))) ?? { through: null, alerts: {} };
    },
    putOpen: (m, scope, open) => series.putDocument(key.open(m, scope), open),
    async claim(m, ids) {
      if (ids.length === 0) return [];
      const applied = await checkAndMutate(
        ids.map((id) => ({
          key: key.claim(m, id),
          condition: { family: FAMILY, qualifier: STATE },
          mutations: [{ kind: 'set', key: key.claim(m, id), family: FAMILY, cells: { [STATE]: CLAIMED } }],
        })),
      );
      const out: ClaimResult[] = [];
      for (const [i, id] of ids.entries()) {
        if (applied[i]) {
          out.push('new');
          continue;
        }
        const k = key.claim(m, id);
        const [row] = await series.readRange({ start: k, end: `${k}\u0000` });
        out.push(row?.cells[FAMILY]?.[STATE] === QUEUED ? 'queued' : 'unqueued');
      }
      return out;
    },
    async markQueued(m, ids) {
      await series.mutate(ids.map((id) => ({ kind: 'set', key: key.claim(m, id), family: FAMILY, cells: { [STATE]: QUEUED } })));
    },
    async appendHistory(m, scope, payloads) {
      if (payloads.length === 0) return;
      const current = (await series.getDocument<HistoryItem[]>(key.history(m, scope))) ?? [];
      const known = new Set(current.map((p) => p.id));
      const added = payloads.filter((p) => !known.has(p.id)).map((p, i) => ({ ...p, seq: (current[0]?.seq ?? 0) + i + 1 })).reverse();
      await series.putDocument(key.history(m, scope), [...added, ...current].slice(0, HISTORY_LIMIT));
    },
    async history(m, opts = {}) {
      const lists = await Promise.all(SCOPES.map(async (scope) => (await series.getDocument<HistoryItem[]>(key.history(m, scope))) ?? []));
      // Newest first: by the instant it happened, then by the order it was recorded in.
      const items = lists
        .flat()
        .sort((a, b) => b.at.localeCompare(a.at) || b.seq - a.seq)
        .slice(0, opts.limit ?? HISTORY_LIMIT)
        .map(({ seq: _seq, ...p }) => p);
      return Promise.all(items.map(async (p) => ({ ...p, delivery: (await series.getDocument<DeliveryStatus>(key.delivery(m, p.id))) ?? null })));
    },
    getDelivery: (m, id) => series.getDocument<DeliveryStatus>(key.delivery(m, id)),
    putDelivery: (m, id, status) => series.putDocument(key.delivery(m, id), status),
  };
}
