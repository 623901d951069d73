import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dimensionsCommand } from '../../../cli/commands/dimensions.js';
import { UsageError, type CommandContext } from '../../../cli/context.js';
import { inMemoryCommandStores } from '../../support/in-memory-command-stores.js';

describe('tillstream dimensions load', () => {
  let dir: string;
  let stores: ReturnType<typeof inMemoryCommandStores>;
  let out: string[];
  let ctx: CommandContext;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dims-cmd-'));
    stores = inMemoryCommandStores(new Date('2026-11-21T12:00:00Z'));
    out = [];
    ctx = { runtime: () => Promise.reject(new Error('dimensions uses the selected stores')), stores: async () => stores, out: (l) => out.push(l), err: () => undefined };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the file, mirrors the stores for the query API and prints the counts', async () => {
    const file = join(dir, 'd.json');
    await writeFile(
      file,
      JSON.stringify({
        merchants: [{ id: 'm1', name: 'M1', time_zone: 'Europe/Berlin', currency: 'EUR' }],
        stores: [{ id: 's1', merchant_id: 'm1', name: 'S1', city: 'Berlin', region: 'BE' }],
        fraud_ips: ['203.0.113.7'],
      }),
    );
    assert.equal(await dimensionsCommand(['load', file], ctx), 0);
    assert.deepEqual(out, ['{"merchants":1,"stores":1,"fraud_ips":1}']);
    assert.deepEqual([...(await stores.dimensions.get()).merchants.keys()], ['m1']);
    assert.ok(stores.series.documents.size > 0, 'the merchant documents are mirrored into the series store');
  });

  it('names the bad path of an invalid file, and refuses a missing file or bad usage', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ merchants: [{ id: 'm', name: 'M', time_zone: 'Mars/Base', currency: 'EUR' }] }));
    await assert.rejects(dimensionsCommand(['load', bad], ctx), (e: unknown) => e instanceof UsageError && /merchants\.0\.time_zone: must be an IANA time zone/.test(e.message));
    await assert.rejects(dimensionsCommand(['load', join(dir, 'absent.json')], ctx), (e: unknown) => e instanceof UsageError && /absent\.json: ENOENT/.test(e.message));
    await assert.rejects(dimensionsCommand(['load'], ctx), (e: unknown) => e instanceof UsageError && e.message === 'usage: tillstream dimensions load FILE.json');
    await assert.rejects(dimensionsCommand(['drop', bad], ctx), UsageError);
    assert.equal((await stores.dimensions.get()).merchants.size, 0);
  });
});
