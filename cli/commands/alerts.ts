// `tillstream alerts …`: a merchant's alert settings and history from the command line — the same
// operations as the API's alert routes (pipeline/alerts/settings.ts), on the series store of the
// selected runtime (through the running `tillstream start` locally, if any). docs/alerts.md.
import { parseArgs } from 'node:util';
import { evaluateScheduledAlerts } from '../../pipeline/alerts/evaluate.js';
import { deleteRule, getSettings, putRule, setWebhook, SettingsError } from '../../pipeline/alerts/settings.js';
import { createAlertStore, HISTORY_LIMIT } from '../../pipeline/alerts/store.js';
import { webhookPolicyOf } from '../../pipeline/alerts/webhook-url.js';
import { UsageError, type Command } from '../context.js';

export const ALERTS_USAGE = `usage: tillstream alerts rules --merchant ID
       tillstream alerts put --merchant ID --rule '{"id":"stock","kind":"low_stock"}'
       tillstream alerts remove --merchant ID --rule-id ID
       tillstream alerts webhook --merchant ID --url https://… [--rotate-secret]
       tillstream alerts history --merchant ID [--limit N] [--json]
       tillstream alerts evaluate [--at T]
Alert rules (low_stock, sales_drop, feed_silent, freshness; docs/alerts.md), the webhook they are sent
to (its signing secret is printed when made: on the first set and with --rotate-secret), the alerts
sent and their delivery, and a run of the scheduled rules (feed silence, freshness) now or as of T.
examples:
  npx tillstream alerts put --merchant pizzaroma --rule '{"id":"drop","kind":"sales_drop","fraction":0.5,"min_baseline_minor":5000}'
  npx tillstream alerts webhook --merchant pizzaroma --url https://hooks.example.com/tillstream
  npx tillstream alerts history --merchant pizzaroma`;

export const alertsCommand: Command = async (argv, ctx) => {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      merchant: { type: 'string' },
      rule: { type: 'string' },
      'rule-id': { type: 'string' },
      url: { type: 'string' },
      'rotate-secret': { type: 'boolean', default: false },
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      at: { type: 'string' },
    },
    strict: true,
  });
  const merchant = (): string => {
    if (!values.merchant) throw new UsageError(`alerts ${sub} needs --merchant`);
    return values.merchant;
  };
  const store = async () => createAlertStore(ctx.stores ? (await ctx.stores()).series : (await ctx.runtime()).series);
  try {
    switch (sub) {
      case 'rules':
        ctx.out(JSON.stringify(await getSettings(await store(), merchant()), null, 2));
        return 0;
      case 'put': {
        if (!values.rule) throw new UsageError('alerts put needs --rule JSON');
        let input: unknown;
        try {
          input = JSON.parse(values.rule);
        } catch {
          throw new UsageError('--rule is not valid JSON');
        }
        const { rule, created } = await putRule(await store(), merchant(), input);
        ctx.err(`${created ? 'added' : 'replaced'} rule ${rule.id}`);
        ctx.out(JSON.stringify(rule));
        return 0;
      }
      case 'remove':
        if (!values['rule-id']) throw new UsageError('alerts remove needs --rule-id');
        await deleteRule(await store(), merchant(), values['rule-id']);
        ctx.err(`removed rule ${values['rule-id']}`);
        return 0;
      case 'webhook': {
        // The selected runtime's rule for where webhooks may go (gcp: https to public addresses only).
        const runtime = ctx.stores ? (await ctx.stores()).runtime : 'local';
        const out = await setWebhook(await store(), merchant(), values.url, { rotateSecret: values['rotate-secret'], policy: webhookPolicyOf(runtime) });
        ctx.err(`webhook set to ${out.webhook_url}`);
        if (out.signing_secret) {
          ctx.err('signing secret (shown once; verify Tillstream-Signature with it):');
          ctx.out(out.signing_secret);
        }
        return 0;
      }
      case 'history': {
        const limit = Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT) throw new UsageError(`--limit must be 1 to ${HISTORY_LIMIT}`);
        const items = await (await store()).history(merchant(), { limit });
        if (values.json) ctx.out(JSON.stringify({ alerts: items }));
        else {
          for (const a of items) {
            const subject = [a.subject.store_id ? `store ${a.subject.store_id}` : 'merchant', a.subject.sku ? `sku ${a.subject.sku}` : ''].filter(Boolean).join(' ');
            ctx.out(`${a.at}  ${a.type.padEnd(13)}  ${a.rule_id} (${a.kind})  ${subject}  ${a.delivery?.status ?? 'queued'}  ${JSON.stringify(a.details)}`);
          }
          if (items.length === 0) ctx.out('no alerts yet');
        }
        return 0;
      }
      case 'evaluate': {
        const rt = await ctx.runtime();
        const at = values.at ? new Date(values.at) : rt.clock.now();
        if (Number.isNaN(at.getTime())) throw new UsageError('--at must be an ISO 8601 instant');
        const summary = await evaluateScheduledAlerts({ warehouse: rt.warehouse, alerts: rt.alerts.store, queue: rt.alerts.queue }, at);
        ctx.out(JSON.stringify(summary));
        return 0;
      }
      default:
        throw new UsageError(ALERTS_USAGE);
    }
  } catch (err) {
    if (err instanceof SettingsError) throw new UsageError(err.message);
    throw err;
  }
};
