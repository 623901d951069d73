import assert from 'node:assert/strict';
import { BigQuery, Table } from '@google-cloud/bigquery';
import { File, Storage } from '@google-cloud/storage';
import sinon from 'sinon';
import { createGcsDimensionsStore } from '../../../adapters/gcp/gcs-dimensions-store.js';
import type { DimensionsFile } from '../../../pipeline/contracts/dimensions.js';

describe('gcp Cloud Storage dimensions store', () => {
  const sandbox = sinon.createSandbox();
  afterEach(() => sandbox.restore());

  /** An in-memory bucket behind the documented File methods. */
  function fakeBucket() {
    const objects = new Map<string, { data: string; generation: number }>();
    const notFound = () => Object.assign(new Error('No such object'), { code: 404 });
    sandbox.stub(File.prototype, 'download').callsFake((async function (this: File) {
      const o = objects.get(this.name);
      if (!o) throw notFound();
      return [Buffer.from(o.data)];
    }) as never);
    sandbox.stub(File.prototype, 'getMetadata').callsFake((async function (this: File) {
      const o = objects.get(this.name);
      if (!o) throw notFound();
      return [{ generation: String(o.generation) }];
    }) as never);
    const saves: { name: string; options: unknown }[] = [];
    sandbox.stub(File.prototype, 'save').callsFake((async function (this: File, data: string, options: { preconditionOpts?: { ifGenerationMatch?: number } }) {
      const o = objects.get(this.name);
      const want = options.preconditionOpts?.ifGenerationMatch;
      if (want !== undefined && (o?.generation ?? 0) !== want) throw Object.assign(new Error('conditionNotMet'), { code: 412 });
      objects.set(this.name, { data, generation: (o?.generation ?? 0) + 1 });
      saves.push({ name: this.name, options });
    }) as never);
    return { objects, saves };
  }

  const store = (now = () => new Date('2026-11-21T10:00:00Z')) =>
    createGcsDimensionsStore({
      storage: new Storage({ projectId: 'p' }),
      bigquery: new BigQuery({ projectId: 'p' }),
      bucket: 'config',
      object: 'dimensions/current.json',
      dimsDataset: 'dims',
      location: 'EU',
      refreshMs: 60_000,
      clock: { now },
    });

  const first: DimensionsFile = {
    merchants: [{ id: 'm1', name: 'Pizza', time_zone: 'Europe/Berlin', currency: 'EUR' }],
    stores: [{ id: 's1', merchant_id: 'm1', name: 'Mitte', city: 'Berlin' }],
    fraud_ips: ['203.0.113.7'],
  };

  it('upserts into the stored file and replaces each dims table with one load job', async () => {
    const { objects, saves } = fakeBucket();
    const loads: { table: string; source: string; metadata: unknown }[] = [];
    sandbox.stub(Table.prototype, 'load').callsFake((async function (this: Table, source: File, metadata: unknown) {
      loads.push({ table: `${this.dataset.id}.${this.id}`, source: source.name, metadata });
      return [{}];
    }) as never);
    const s = store();
    await s.load(first);
    await s.load({ merchants: [], stores: [{ id: 's2', merchant_id: 'm1', name: 'Kreuzberg', time_zone: 'Europe/London' }], fraud_ips: ['203.0.113.7', '198.51.100.0/24'], low_stock_threshold: 3 });

    assert.deepEqual(JSON.parse(objects.get('dimensions/current.json')!.data), {
      merchants: [{ id: 'm1', name: 'Pizza', time_zone: 'Europe/Berlin', currency: 'EUR' }],
      stores: [
        { id: 's1', merchant_id: 'm1', name: 'Mitte', city: 'Berlin' },
        { id: 's2', merchant_id: 'm1', name: 'Kreuzberg', time_zone: 'Europe/London' },
      ],
      fraud_ips: ['203.0.113.7', '198.51.100.0/24'],
      low_stock_threshold: 3,
    });
    assert.deepEqual(
      saves.filter((x) => x.name === 'dimensions/current.json').map((x) => (x.options as { preconditionOpts: unknown }).preconditionOpts),
      [{ ifGenerationMatch: 0 }, { ifGenerationMatch: 1 }],
    );
    const metadata = { sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_TRUNCATE', location: 'EU' };
    assert.deepEqual(loads.slice(3), [
      { table: 'dims.merchants', source: 'dimensions/current.json.tables/merchants.ndjson', metadata },
      { table: 'dims.stores', source: 'dimensions/current.json.tables/stores.ndjson', metadata },
      { table: 'dims.settings', source: 'dimensions/current.json.tables/settings.ndjson', metadata },
    ]);
    assert.deepEqual(objects.get('dimensions/current.json.tables/stores.ndjson')!.data.trim().split('\n').map((l) => JSON.parse(l)), [
      { merchant_id: 'm1', store_id: 's1', name: 'Mitte', city: 'Berlin', region: null, time_zone: 'Europe/Berlin' },
      { merchant_id: 'm1', store_id: 's2', name: 'Kreuzberg', city: null, region: null, time_zone: 'Europe/London' },
    ]);
    assert.equal(objects.get('dimensions/current.json.tables/settings.ndjson')!.data, '{"low_stock_threshold":3}\n');

    const d = await store().get();
    assert.deepEqual([...d.stores.keys()], ['m1/s1', 'm1/s2']);
    assert.equal(d.lowStockThreshold, 3);
  });

  it('writes nothing when a store names an unknown merchant', async () => {
    const { objects } = fakeBucket();
    const load = sandbox.stub(Table.prototype, 'load');
    await assert.rejects(store().load({ merchants: [], stores: [{ id: 's1', merchant_id: 'nope', name: 'X' }], fraud_ips: [] }), /store s1 names unknown merchant nope/);
    assert.equal(objects.size, 0);
    assert.equal(load.callCount, 0);
  });

  it('caches dimensions for the refresh interval and keeps the last good copy when a refresh fails', async () => {
    const { objects } = fakeBucket();
    sandbox.stub(Table.prototype, 'load').resolves([{}] as never);
    let now = new Date('2026-11-21T10:00:00Z');
    await store().load(first);
    const s = store(() => now);
    assert.deepEqual([...(await s.get()).merchants.keys()], ['m1']);
    objects.set('dimensions/current.json', { data: JSON.stringify({ ...first, merchants: [...first.merchants, { id: 'm2', name: 'B', time_zone: 'UTC', currency: 'USD' }] }), generation: 9 });
    now = new Date('2026-11-21T10:00:59Z');
    assert.deepEqual([...(await s.get()).merchants.keys()], ['m1']);
    now = new Date('2026-11-21T10:01:00Z');
    assert.deepEqual([...(await s.get()).merchants.keys()], ['m1', 'm2']);
    objects.set('dimensions/current.json', { data: '{broken', generation: 10 });
    now = new Date('2026-11-21T10:05:00Z');
    assert.deepEqual([...(await s.get()).merchants.keys()], ['m1', 'm2']);
  });

  it('reads empty dimensions before anything was loaded', async () => {
    fakeBucket();
    const d = await store().get();
    assert.deepEqual([d.merchants.size, d.stores.size, d.fraudIps, d.lowStockThreshold], [0, 0, [], 10]);
  });
});
