// `tillstream dimensions load F`: upserts merchants, stores, fraud IPs and the low-stock threshold
// (docs/dimensions.md), and mirrors each merchant's documents into the series store for the query API.
// The stores are the selected runtime's (cli/runtime-select.ts): the local data directory, or with
// TILLSTREAM_RUNTIME=gcp the Cloud Storage dimensions (mirrored into BigQuery) and the Bigtable series.
import { readFile } from 'node:fs/promises';
import { DimensionsFile } from '../../pipeline/contracts/dimensions.js';
import { mirrorDimensionDocuments } from '../../pipeline/series/mirror.js';
import { UsageError, type Command } from '../context.js';
import { commandStores } from '../runtime-select.js';
import { describeIssues } from '../../pipeline/errors.js';

export const dimensionsCommand: Command = async (argv, ctx) => {
  const [sub, file, ...rest] = argv;
  if (sub !== 'load' || !file || rest.length) throw new UsageError('usage: tillstream dimensions load FILE.json');
  let parsed: DimensionsFile;
  try {
    const result = DimensionsFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!result.success) throw new UsageError(`${file}: ${describeIssues(result.error.issues)}`);
    parsed = result.data;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
  const rt = await commandStores(ctx);
  try {
    await rt.dimensions.load(parsed);
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
  await mirrorDimensionDocuments(rt.series, await rt.dimensions.get());
  ctx.out(JSON.stringify({ merchants: parsed.merchants.length, stores: parsed.stores.length, fraud_ips: parsed.fraud_ips.length }));
  return 0;
};
