// `tillstream keys create --kind K [--merchant ID] [--origin O]… [--expires-in 90d]` prints the new key alone as
// its last stdout line (shown once; only its HMAC is stored); `keys list` prints records, never a key;
// `keys revoke ID`. The stores are the selected runtime's (cli/runtime-select.ts): the local data
// directory, or with TILLSTREAM_RUNTIME=gcp the Bigtable keys table and the mounted pepper.
import { parseArgs } from 'node:util';
import { createKey, parseDuration } from '../../pipeline/auth/keys.js';
import { KEY_KINDS, type KeyKind } from '../../pipeline/ports.js';
import { UsageError, type Command } from '../context.js';
import { commandStores } from '../runtime-select.js';

export const keysCommand: Command = async (argv, ctx) => {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: { kind: { type: 'string' }, merchant: { type: 'string' }, origin: { type: 'string', multiple: true }, 'expires-in': { type: 'string' } },
      strict: true,
    });
    const kind = values.kind as KeyKind | undefined;
    if (!kind || !KEY_KINDS.includes(kind)) throw new UsageError(`--kind must be one of ${KEY_KINDS.join(', ')}`);
    const rt = await commandStores(ctx);
    if (values.merchant) {
      const dims = await rt.dimensions.get();
      if (!dims.merchants.has(values.merchant)) throw new UsageError(`unknown merchant ${values.merchant}: load it first with tillstream dimensions load`);
    }
    let created;
    try {
      created = createKey(rt.pepper, {
        kind,
        merchantId: values.merchant,
        origins: values.origin,
        expiresInMs: values['expires-in'] ? parseDuration(values['expires-in']) : undefined,
        now: rt.clock.now(),
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    await rt.keys.put(created.record);
    ctx.err(`created ${created.record.kind} key ${created.record.id}${created.record.merchant_id ? ` for merchant ${created.record.merchant_id}` : ''}; it is shown once:`);
    ctx.out(created.key);
    return 0;
  }
  if (sub === 'list') {
    const rt = await commandStores(ctx);
    const rows = await rt.keys.list();
    ctx.out(['id', 'kind', 'merchant', 'created', 'expires', 'revoked'].join('\t'));
    for (const r of rows) ctx.out([r.id, r.kind, r.merchant_id ?? '-', r.created_at, r.expires_at ?? '-', r.revoked_at ?? '-'].join('\t'));
    return 0;
  }
  if (sub === 'revoke') {
    const id = rest[0];
    if (!id || rest.length !== 1) throw new UsageError('usage: tillstream keys revoke ID');
    const rt = await commandStores(ctx);
    if (!(await rt.keys.revoke(id, rt.clock.now()))) throw new UsageError(`no key with id ${id}`);
    ctx.out(`revoked ${id}`);
    return 0;
  }
  throw new UsageError('usage: tillstream keys create|list|revoke');
};
