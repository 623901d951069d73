// The series row-key codec shared by Bigtable and LMDB.
import assert from 'node:assert/strict';
import { decodeRowKey, encodeRowKey, hourBucket, rowRange } from '../../../pipeline/series/row-key.js';

describe('row-key codec', () => {
  it('encodes the design example key', () => {
    const key = encodeRowKey({ merchantId: 'm123', series: 'sales', dims: { store: 's9' }, grain: 'h' }, hourBucket(new Date('2026-11-21T14:00:00Z')));
    assert.equal(key, 'm123#sales#store=s9#h#2026112114');
  });

  it('round-trips components holding separators', () => {
    const k = { merchantId: 'm1', series: 'products' as const, dims: { sku: 'a#b=c%d', store: 's 1' }, grain: 'h' as const };
    const key = encodeRowKey(k, '2026010100');
    assert.deepEqual(decodeRowKey(key), { ...k, bucket: '2026010100' });
  });

  it('keeps a store series out of the merchant-total range', () => {
    const total = rowRange({ merchantId: 'm1', series: 'sales', dims: {}, grain: 'h' }, '2026010100', '2026010200');
    const storeKey = encodeRowKey({ merchantId: 'm1', series: 'sales', dims: { store: 's1' }, grain: 'h' }, '2026010105');
    assert.ok(!(storeKey >= total.start && storeKey < total.end));
  });
});
