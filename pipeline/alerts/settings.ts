// Managing a merchant's alert settings: the operations the API routes and `tillstream alerts` share.
// The signing secret is made on the first webhook set (and on rotation) and shown only then.
import { describeIssues } from '../errors.js';
import { AlertRule, AlertSettings, MAX_RULES, type StoredAlertSettings } from './rules.js';
import { newSigningSecret } from './signing.js';
import type { AlertStore } from './store.js';
import { checkWebhookUrl, WebhookUrlError, type WebhookPolicy } from './webhook-url.js';

export class SettingsError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found',
    message: string,
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** The settings as shown to the merchant: never the secret. */
export interface SettingsView extends AlertSettings {
  merchant_id: string;
}

const view = (s: StoredAlertSettings): SettingsView => ({ merchant_id: s.merchant_id, webhook_url: s.webhook_url, rules: s.rules });

async function current(alerts: AlertStore, merchantId: string): Promise<StoredAlertSettings> {
  return (await alerts.getSettings(merchantId)) ?? { merchant_id: merchantId, webhook_url: null, rules: [], signing_secret: newSigningSecret() };
}

export async function getSettings(alerts: AlertStore, merchantId: string): Promise<SettingsView> {
  return view(await current(alerts, merchantId));
}

export function parseRule(input: unknown): AlertRule {
  const parsed = AlertRule.safeParse(input);
  if (!parsed.success) throw new SettingsError('invalid', describeIssues(parsed.error.issues));
  return parsed.data;
}

/** Creates or replaces the rule with the same id. */
export async function putRule(alerts: AlertStore, merchantId: string, input: unknown): Promise<{ rule: AlertRule; created: boolean }> {
  const rule = parseRule(input);
  const s = await current(alerts, merchantId);
  const index = s.rules.findIndex((r) => r.id === rule.id);
  if (index < 0 && s.rules.length >= MAX_RULES) throw new SettingsError('invalid', `at most ${MAX_RULES} rules per merchant`);
  const rules = index < 0 ? [...s.rules, rule] : s.rules.map((r, i) => (i === index ? rule : r));
  await alerts.putSettings({ ...s, rules });
  return { rule, created: index < 0 };
}

export async function deleteRule(alerts: AlertStore, merchantId: string, ruleId: string): Promise<void> {
  const s = await current(alerts, merchantId);
  if (!s.rules.some((r) => r.id === ruleId)) throw new SettingsError('not_found', `no rule ${ruleId}`);
  await alerts.putSettings({ ...s, rules: s.rules.filter((r) => r.id !== ruleId) });
}

/**
 * Sets the webhook URL; a new signing secret is made (and returned, once) on the first set or when
 * asked. The URL must point where the runtime's policy lets webhooks go (webhook-url.ts): on gcp https
 * to public addresses only.
 */
export async function setWebhook(
  alerts: AlertStore,
  merchantId: string,
  url: unknown,
  opts: { rotateSecret?: boolean; policy: WebhookPolicy },
): Promise<{ webhook_url: string; signing_secret?: string }> {
  const parsed = AlertSettings.shape.webhook_url.unwrap().unwrap().safeParse(url);
  if (!parsed.success) throw new SettingsError('invalid', `webhook_url: ${describeIssues(parsed.error.issues)}`);
  try {
    await checkWebhookUrl(parsed.data, opts.policy);
  } catch (err) {
    if (err instanceof WebhookUrlError) throw new SettingsError('invalid', `webhook_url: ${err.message}`);
    throw err;
  }
  const existing = await alerts.getSettings(merchantId);
  const s = existing ?? (await current(alerts, merchantId));
  // A secret nobody has seen (no webhook yet) is replaced, so the merchant gets the one in use.
  const fresh = !existing || existing.webhook_url === null || opts.rotateSecret === true;
  const signing_secret = fresh ? newSigningSecret() : s.signing_secret;
  await alerts.putSettings({ ...s, webhook_url: parsed.data, signing_secret });
  return fresh ? { webhook_url: parsed.data, signing_secret } : { webhook_url: parsed.data };
}
