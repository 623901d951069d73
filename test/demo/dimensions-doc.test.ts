// docs/dimensions.md: its example is a valid dimensions file that means what the text says, and its
// tables name every field of the DimensionsFile contract.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DimensionsFile, MerchantDim, StoreDim, resolveDimensions, storeKey } from '../../pipeline/contracts/dimensions.js';
import { fraudList } from '../../pipeline/ingest/validate.js';
import { demoDimensions } from '../../demo/generator.js';

const doc = readFileSync(new URL('../../docs/dimensions.md', import.meta.url), 'utf8');

function jsonBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Field names in the first column of the markdown table that follows a heading. */
function tableFields(markdown: string, heading: string): string[] {
  const section = markdown.split(new RegExp(`^#+ ${heading}$`, 'm'))[1]!;
  const table = section.split('\n\n').find((p) => p.trimStart().startsWith('|'))!;
  return table
    .split('\n')
    .slice(2)
    .map((row) => /^\| `([a-z_]+)`/.exec(row)?.[1])
    .filter((f): f is string => f !== undefined);
}

describe('docs/dimensions.md', () => {
  it('has one complete example that DimensionsFile accepts unchanged', () => {
    const blocks = jsonBlocks(doc);
    assert.equal(blocks.length, 1);
    const raw = JSON.parse(blocks[0]!);
    assert.deepStrictEqual(DimensionsFile.parse(raw), raw);
  });

  it('means what the text says: default zones, per-merchant store ids, fraud ranges', () => {
    const dims = resolveDimensions(DimensionsFile.parse(JSON.parse(jsonBlocks(doc)[0]!)));
    assert.equal(dims.stores.get(storeKey('pizzaroma', 'new-york-1'))!.time_zone, 'America/New_York');
    assert.equal(dims.stores.get(storeKey('pizzaroma', 'mumbai-1'))!.time_zone, 'Asia/Kolkata');
    assert.equal(dims.stores.get(storeKey('pizzaroma', 'kathmandu-1'))!.time_zone, 'Asia/Kathmandu');
    assert.equal(dims.stores.get(storeKey('pizzaroma', 'berlin-1'))!.time_zone, 'Europe/Berlin');
    assert.equal(dims.stores.get(storeKey('brightmart', 'berlin-1'))!.time_zone, 'Europe/Berlin');
    assert.equal(dims.stores.get(storeKey('brightmart', 'berlin-1'))!.name, 'Brightmart Berlin 1');
    assert.equal(dims.lowStockThreshold, 10);
    const fraud = fraudList(dims.fraudIps);
    assert.deepStrictEqual(
      ['198.51.100.23', '2001:db8:bad::7', '203.0.113.66', '203.0.113.67', '73.12.9.4', '2001:db8:1234::7'].map((ip) => fraud.has(ip)),
      [true, true, true, false, false, false],
    );
  });

  it('documents every field of the contract in its tables', () => {
    assert.deepStrictEqual(tableFields(doc, 'Shape').sort(), Object.keys(DimensionsFile.shape).sort());
    assert.deepStrictEqual(tableFields(doc, 'Merchant').sort(), Object.keys(MerchantDim.shape).sort());
    assert.deepStrictEqual(tableFields(doc, 'Store').sort(), Object.keys(StoreDim.shape).sort());
  });

  it('describes the demo world the generator writes', () => {
    const demo = demoDimensions('tillstream', 2);
    assert.deepStrictEqual(demo.merchants.map((m) => m.id), ['pizzaroma', 'brightmart', 'loomly', 'm-0001', 'm-0002']);
    assert.deepStrictEqual(DimensionsFile.parse(demo), demo);
    const pizzaStores = demo.stores.filter((s) => s.merchant_id === 'pizzaroma');
    assert.ok(pizzaStores.length >= 45 && pizzaStores.length <= 55, `${pizzaStores.length} pizza stores`);
    for (const city of ['New York', 'Los Angeles', 'Mumbai', 'Kathmandu', 'Adelaide', "St. John's"]) assert.ok(pizzaStores.some((s) => s.city === city), city);
  });
});
