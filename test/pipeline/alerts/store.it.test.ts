// The alert store on both runtimes' series stores: LMDB locally and the Bigtable emulator with the
// families infra-cdktf deploys (SERIES_FAMILIES). The emulator refuses a write to a family the
// table lacks, as Bigtable does, so claims and the merchant index are checked where they really land.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigtableClient, ensureTable, SERIES_FAMILIES } from '../../../adapters/gcp/bigtable.js';
import { createBigtableSeriesStore } from '../../../adapters/gcp/bigtable-series-store.js';
import { openLmdbSeriesStore, type LmdbSeriesStore } from '../../../adapters/local/series-store.js';
import { createAlertStore, type AlertStore } from '../../../pipeline/alerts/store.js';
import type { StoredAlertSettings } from '../../../pipeline/alerts/rules.js';
import type { SeriesStore } from '../../../pipeline/ports.js';
import { TEST_INSTANCE, TEST_PROJECT, useEmulators } from '../../adapters/gcp/support/emulators.js';

const settings = (m: string): StoredAlertSettings => ({ merchant_id: m, webhook_url: null, rules: [], signing_secret: `whsec_${m}` });

function alertStoreContract(open: () => Promise<SeriesStore>): void {
  let series: SeriesStore;
  let alerts: AlertStore;
  beforeEach(async () => {
    series = await open();
    alerts = createAlertStore(series);
  });

  it('claims a transition once, and tells an unqueued claim from a queued one', async () => {
    assert.deepEqual(await alerts.claim('m1', ['t1', 't2']), ['new', 'new']);
    assert.deepEqual(await alerts.claim('m1', ['t1', 't2', 't3']), ['unqueued', 'unqueued', 'new']);
    await alerts.markQueued('m1', ['t1']);
    assert.deepEqual(await alerts.claim('m1', ['t1', 't2']), ['queued', 'unqueued']);
    // Another merchant's transition of the same id is its own.
    assert.deepEqual(await alerts.claim('m2', ['t1']), ['new']);
  });

  it('lists every merchant whose settings were saved at the same time', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((m) => alerts.putSettings(settings(m))));
    await alerts.putSettings(settings('m07'));
    assert.deepEqual(await alerts.merchants(), ids);
    assert.deepEqual(await alerts.getSettings('m07'), settings('m07'));
  });

  it('still lists the merchants of the former index document', async () => {
    await series.putDocument('_alerts#merchants', ['old1', 'old2']);
    await alerts.putSettings(settings('new1'));
    assert.deepEqual(await alerts.merchants(), ['new1', 'old1', 'old2']);
  });
}

describe('alert store', function () {
  this.timeout(30_000);

  describe('on the local LMDB series store', () => {
    let dir: string;
    const opened: LmdbSeriesStore[] = [];
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tillstream-alert-store-'));
    });
    after(async () => {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    });
    alertStoreContract(async () => {
      const s = openLmdbSeriesStore({ path: join(dir, `series-${opened.length}`) });
      opened.push(s);
      return s;
    });
  });

  describe('on the Bigtable emulator, with the deployed families', () => {
    let n = 0;
    before(async () => {
      await useEmulators();
    });
    alertStoreContract(async () => createBigtableSeriesStore(await ensureTable(bigtableClient(TEST_PROJECT).instance(TEST_INSTANCE), `alerts-${process.pid}-${++n}`, SERIES_FAMILIES)));
  });
});
