// The local dimensions store: upserts projected into the dims tables, refusals that change nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDimensionsStore } from '../../../adapters/local/dimensions-store.js';
import { LocalWarehouse } from '../../../adapters/local/warehouse.js';
import { DimensionsFile } from '../../../pipeline/contracts/dimensions.js';

const first = DimensionsFile.parse({
  merchants: [{ id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' }],
  stores: [
    { id: 's1', merchant_id: 'm1', name: 'Mitte', city: 'Berlin', region: 'BE' },
    { id: 's2', merchant_id: 'm1', name: 'Pune', time_zone: 'Asia/Kolkata' },
  ],
  fraud_ips: ['203.0.113.7'],
});
const second = DimensionsFile.parse({
  merchants: [{ id: 'm2', name: 'Shop', time_zone: 'America/New_York', currency: 'USD' }],
  stores: [{ id: 's1', merchant_id: 'm1', name: 'Mitte (new)', city: 'Berlin', region: 'BE' }],
  fraud_ips: ['198.51.100.0/24', '203.0.113.7'],
  low_stock_threshold: 4,
});

describe('LocalDimensionsStore', () => {
  let dir: string;
  let wh: LocalWarehouse;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tillstream-dims-'));
    wh = await LocalWarehouse.open({ path: join(dir, 'warehouse.duckdb') });
  });
  afterEach(async () => {
    await wh.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('upserts into the dims tables and serves resolved dimensions, across reopen', async () => {
    const store = await LocalDimensionsStore.open({ file: join(dir, 'dimensions.json'), warehouse: wh });
    await store.load(first);
    await store.load(second);
    const d = await store.get();
    assert.deepEqual([...d.merchants.keys()], ['m1', 'm2']);
    assert.equal(d.stores.get('m1/s2')?.time_zone, 'Asia/Kolkata');
    assert.equal(d.stores.get('m1/s1')?.name, 'Mitte (new)');
    assert.deepEqual(d.fraudIps, ['203.0.113.7', '198.51.100.0/24']);
    assert.equal(d.lowStockThreshold, 4);
    const tables = async () => ({
      merchants: await wh.query('SELECT * FROM dims.merchants ORDER BY merchant_id'),
      stores: await wh.query('SELECT * FROM dims.stores ORDER BY merchant_id, store_id'),
      settings: await wh.query('SELECT * FROM dims.settings'),
    });
    const expected = {
      merchants: [
        { merchant_id: 'm1', name: 'Pizza One', time_zone: 'Europe/Berlin', currency: 'EUR' },
        { merchant_id: 'm2', name: 'Shop', time_zone: 'America/New_York', currency: 'USD' },
      ],
      stores: [
        { merchant_id: 'm1', store_id: 's1', name: 'Mitte (new)', city: 'Berlin', region: 'BE', time_zone: 'Europe/Berlin' },
        { merchant_id: 'm1', store_id: 's2', name: 'Pune', city: null, region: null, time_zone: 'Asia/Kolkata' },
      ],
      settings: [{ low_stock_threshold: 4 }],
    };
    assert.deepEqual(await tables(), expected);
    await wh.run('DELETE FROM dims.stores');
    const reopened = await LocalDimensionsStore.open({ file: join(dir, 'dimensions.json'), warehouse: wh });
    assert.deepEqual(await tables(), expected);
    assert.equal((await reopened.get()).stores.size, 2);
  });

  it('refuses a store of an unknown merchant and keeps what it had', async () => {
    const store = await LocalDimensionsStore.open({ file: join(dir, 'dimensions.json'), warehouse: wh });
    await store.load(first);
    await assert.rejects(store.load(DimensionsFile.parse({ stores: [{ id: 's9', merchant_id: 'nope', name: 'X' }] })), /store s9 names unknown merchant nope/);
    assert.equal((await store.get()).stores.size, 2);
    assert.equal((await wh.query('SELECT * FROM dims.stores')).length, 2);
  });
});
