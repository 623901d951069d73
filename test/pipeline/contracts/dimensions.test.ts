// The dimensions loading rule shared by the local and gcp dimensions stores.
import assert from 'node:assert/strict';
import { mergeDimensions, type DimensionsFile } from '../../../pipeline/contracts/dimensions.js';

describe('mergeDimensions', () => {
  const base: DimensionsFile = {
    merchants: [
      { id: 'm1', name: 'Pizza', time_zone: 'Europe/Berlin', currency: 'EUR' },
      { id: 'm2', name: 'Shop', time_zone: 'America/New_York', currency: 'USD' },
    ],
    stores: [
      { id: 's1', merchant_id: 'm1', name: 'Mitte', city: 'Berlin' },
      { id: 's1', merchant_id: 'm2', name: 'Soho' },
    ],
    fraud_ips: ['203.0.113.7'],
    low_stock_threshold: 5,
  };

  it('replaces merchants by id and stores by (merchant_id, id), keeping the rest in order', () => {
    const next: DimensionsFile = {
      merchants: [
        { id: 'm2', name: 'Shop Inc', time_zone: 'America/Chicago', currency: 'USD' },
        { id: 'm3', name: 'Deli', time_zone: 'Asia/Kolkata', currency: 'INR' },
      ],
      stores: [{ id: 's1', merchant_id: 'm1', name: 'Mitte 2' }],
      fraud_ips: [],
    };
    assert.deepEqual(mergeDimensions(base, next), {
      merchants: [
        { id: 'm1', name: 'Pizza', time_zone: 'Europe/Berlin', currency: 'EUR' },
        { id: 'm2', name: 'Shop Inc', time_zone: 'America/Chicago', currency: 'USD' },
        { id: 'm3', name: 'Deli', time_zone: 'Asia/Kolkata', currency: 'INR' },
      ],
      stores: [
        { id: 's1', merchant_id: 'm1', name: 'Mitte 2' },
        { id: 's1', merchant_id: 'm2', name: 'Soho' },
      ],
      fraud_ips: ['203.0.113.7'],
      low_stock_threshold: 5,
    });
  });

  it('adds fraud IPs without repeats and replaces the low-stock threshold only when given', () => {
    const next: DimensionsFile = { merchants: [], stores: [], fraud_ips: ['198.51.100.0/24', '203.0.113.7'], low_stock_threshold: 0 };
    assert.deepEqual(mergeDimensions(base, next), { ...base, fraud_ips: ['203.0.113.7', '198.51.100.0/24'], low_stock_threshold: 0 });
    const empty: DimensionsFile = { merchants: [], stores: [], fraud_ips: [] };
    assert.deepEqual(mergeDimensions(empty, empty), empty);
  });
});
