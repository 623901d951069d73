// `tillstream rejections [--merchant ID] [--since 7d] [--samples N] [--json]`: the entries rejected
// recently — counts by reason, then the newest samples with their detail and payload
// (runtime/rejections.ts). Read from the local warehouse, through the running `tillstream start` if any.
import { parseArgs } from 'node:util';
import { parseDuration } from '../../pipeline/auth/keys.js';
import { rejectionReport } from '../../runtime/rejections.js';
import { UsageError, type Command } from '../context.js';

export const rejectionsCommand: Command = async (argv, ctx) => {
  const { values } = parseArgs({
    args: argv,
    options: { merchant: { type: 'string' }, since: { type: 'string', default: '7d' }, samples: { type: 'string', default: '10' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  let sinceMs: number;
  try {
    sinceMs = parseDuration(values.since);
  } catch (err) {
    throw new UsageError(`--since: ${(err as Error).message}`);
  }
  if (!/^\d+$/.test(values.samples) || Number(values.samples) > 100) throw new UsageError('--samples must be a whole number from 0 to 100');
  const rt = await ctx.runtime();
  const to = rt.clock.now();
  const report = await rejectionReport(rt.warehouse, { from: new Date(to.getTime() - sinceMs), to, merchantId: values.merchant, samples: Number(values.samples) });
  if (values.json) {
    ctx.out(JSON.stringify(report));
    return 0;
  }
  const who = values.merchant ? `merchant ${values.merchant}` : 'all merchants';
  ctx.out(`${report.total} entries rejected for ${who} since ${report.from}`);
  for (const [reason, n] of Object.entries(report.by_reason)) ctx.out(`  ${String(n).padStart(8)}  ${reason}`);
  if (report.samples.length > 0) ctx.out(`newest ${report.samples.length}:`);
  for (const s of report.samples) {
    ctx.out(`  ${s.received_at}  ${s.reason}  merchant ${s.merchant_id ?? '-'}  event ${s.event_id ?? '-'}`);
    if (s.detail) ctx.out(`    ${s.detail}`);
    ctx.out(`    ${s.payload}`);
  }
  return 0;
};
