// The series row-key codec shared by Bigtable and LMDB.
import assert from 'node:assert/strict';
import { decodeRowKey, encodeRowKey, hourBucket, MAX_DIMENSION_BYTES, rowRange } from '../../../pipeline/series/row-key.js';
import { BIGTABLE_MAX_ROW_KEY_BYTES } from '../../infra-cdktf/platform-facts.js';

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

  // The longest values the event contract lets through: ids of 128 characters, a sku of 128, and a page
  // that is the path of a 2,048-character URL (pipeline/contracts/events.ts; staging.stg_page_views).
  const url = (path: string) => 'https://a.io' + path;
  const longest = {
    merchantId: 'm'.repeat(128),
    pages: ['/' + '='.repeat(2035), '/' + '%'.repeat(2035), '/' + '中'.repeat(2035), '/' + '\u{1F355}'.repeat(1017)],
    sku: '%#='.repeat(42) + 'xy',
    store: 's'.repeat(128),
  };

  it('keeps every key within Bigtable\'s 4 KiB row key limit, whatever the contracts let a dimension hold', () => {
    for (const page of longest.pages) assert.ok(url(page).length <= 2048);
    const keys = [
      ...longest.pages.flatMap((page) => (['h', 'd'] as const).map((grain) => encodeRowKey({ merchantId: longest.merchantId, series: 'pages', dims: { page }, grain }, '2026112114'))),
      encodeRowKey({ merchantId: longest.merchantId, series: 'inventory', dims: { sku: longest.sku, store: longest.store }, grain: 'h' }, '2026112114'),
      encodeRowKey({ merchantId: longest.merchantId, series: 'referrers', dims: { referrer: 'r'.repeat(2040) }, grain: 'd' }, '20261121'),
    ];
    const over = keys.map((k) => Buffer.byteLength(k)).filter((n) => n > BIGTABLE_MAX_ROW_KEY_BYTES);
    assert.deepEqual(over, []);
  });

  it('keeps long values apart, encodes each the same every time, and never cuts an escape in two', () => {
    const k = (page: string) => encodeRowKey({ merchantId: 'm1', series: 'pages', dims: { page }, grain: 'h' }, '2026112114');
    const a = '/' + '='.repeat(2000) + 'a';
    const b = '/' + '='.repeat(2000) + 'b';
    assert.notEqual(k(a), k(b));
    assert.equal(k(a), k(a));
    const bounded = decodeRowKey(k(a)).dims.page!;
    // The escaped value ('/' then '%3D' for each '=') cut before the budget, then the hash.
    assert.match(k(a), /#page=\/(%3D)+~[0-9a-f]{16}#h#/);
    assert.ok(bounded.startsWith('/====') && Buffer.byteLength(k(a).split('#')[2]!) <= 'page='.length + MAX_DIMENSION_BYTES);
  });

  it('leaves values within the bound as they were', () => {
    const dims = { page: '/' + 'p/'.repeat(300) + '%=#' };
    const key = encodeRowKey({ merchantId: 'm1', series: 'pages', dims, grain: 'h' }, '2026112114');
    assert.deepEqual(decodeRowKey(key).dims, dims);
  });
});
