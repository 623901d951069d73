// Alert rules: what a merchant configures (docs/alerts.md). One strict zod contract shared by the
// API, the CLI and the evaluator; unknown fields are rejected so a misspelled setting is an error,
// not a rule that silently never fires.
import { z } from 'zod';
import { Id } from '../contracts/events.js';

export const RULE_KINDS = ['low_stock', 'sales_drop', 'feed_silent', 'freshness'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const RuleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, _ and -, at most 64');

const common = {
  id: RuleId,
  enabled: z.boolean().default(true),
};

/** A store id, or `*` for every store of the merchant. */
const StoreScope = z.union([Id, z.literal('*')]);

export const LowStockRule = z.strictObject({
  ...common,
  kind: z.literal('low_stock'),
  store_id: StoreScope.default('*'),
  /** One sku, or `*` for every sku. */
  sku: z.union([z.string().min(1).max(200), z.literal('*')]).default('*'),
  /** Fires when the closing quantity is below it; absent: the dimensions file's low_stock_threshold. */
  threshold: z.int().min(1).max(1_000_000_000).optional(),
});

export const SalesDropRule = z.strictObject({
  ...common,
  kind: z.literal('sales_drop'),
  /** A store, `*` for each store on its own, or absent for the merchant's total. */
  store_id: StoreScope.optional(),
  /** Fires when an hour's net revenue is below fraction × the baseline median. */
  fraction: z.number().gt(0).max(1),
  /** Hours whose baseline median is below this (minor units) never fire: quiet hours do not page. */
  min_baseline_minor: z.int().min(0),
});

export const FeedSilentRule = z.strictObject({
  ...common,
  kind: z.literal('feed_silent'),
  store_id: StoreScope.default('*'),
  /** Fires when a store's last POS batch arrived more than this long ago, inside its usual trading hours. */
  silent_minutes: z.int().min(15).max(1440),
});

export const FreshnessRule = z.strictObject({
  ...common,
  kind: z.literal('freshness'),
  /** Fires when the oldest hour with data that is not yet finalized ended more than this long ago. */
  lag_minutes: z.int().min(60).max(10_080),
});

export const AlertRule = z.discriminatedUnion('kind', [LowStockRule, SalesDropRule, FeedSilentRule, FreshnessRule]);
export type AlertRule = z.infer<typeof AlertRule>;
export type LowStockRule = z.infer<typeof LowStockRule>;
export type SalesDropRule = z.infer<typeof SalesDropRule>;
export type FeedSilentRule = z.infer<typeof FeedSilentRule>;
export type FreshnessRule = z.infer<typeof FreshnessRule>;

export const MAX_RULES = 100;

/** A merchant's alert settings: where alerts go, and the rules. */
export const AlertSettings = z.strictObject({
  webhook_url: z.url({ protocol: /^https?$/ }).nullable().default(null),
  rules: z.array(AlertRule).max(MAX_RULES).default([]).refine(
    (rules) => new Set(rules.map((r) => r.id)).size === rules.length,
    'rule ids must be unique',
  ),
});
export type AlertSettings = z.infer<typeof AlertSettings>;

/** Settings as stored: the signing secret is kept with them and never shown again after it is made. */
export interface StoredAlertSettings extends AlertSettings {
  merchant_id: string;
  signing_secret: string;
}

