import assert from 'node:assert/strict';
import { decodeRankedKey, isRankedKey, rankedRange, rankedTwinKey, rankedTwinToWrite, withRankedTwins } from '../../../pipeline/series/ranked.js';
import { decodeRowKey, encodeRowKey, type SeriesKey } from '../../../pipeline/series/row-key.js';

describe('ranked rows (bucket-major twins of ranked series rows)', () => {
  const k = (series: SeriesKey['series'], dims: Record<string, string>, grain: SeriesKey['grain'] = 'h'): SeriesKey => ({ merchantId: 'm#1', series, dims, grain });

  it('moves the ranked dimension after the bucket, keeping the narrowing store before it', () => {
    assert.equal(rankedTwinKey('m1#products#sku=pz#h#2026112114'), 'm1#products#~h#2026112114#sku=pz');
    assert.equal(rankedTwinKey('m1#products#sku=pz#store=s1#h#2026112114'), 'm1#products#~h#store=s1#2026112114#sku=pz');
    assert.equal(rankedTwinKey('m1#sales#store=s1#h#2026112114'), 'm1#sales#~h#2026112114#store=s1');
    assert.equal(rankedTwinKey('m1#pages#page=%2Fa#d#20261121'), 'm1#pages#~d#20261121#page=%2Fa');
  });

  it('leaves rows no ranking reads without a twin', () => {
    for (const key of [
      'm1#sales#h#2026112114', // merchant total
      'm1#sales#d#20261121', // sales by store are ranked from hours
      'm1#sales#store=s1#d#20261121',
      'm1#products#sku=pz#d#20261121',
      'm1#traffic#h#2026112114',
      'm1#inventory#sku=pz#store=s1#h#2026112114',
      'm1#promotions#promotion=x#h#2026112114',
      'm1#_freshness',
    ])
      assert.equal(rankedTwinKey(key), undefined, key);
  });

  it('decodes a twin into the series key of its row, escapes and all', () => {
    for (const key of [k('products', { sku: 'a#b=c%~' }), k('products', { sku: 'pz', store: 's=1' }), k('pages', { page: '/x?y=1' }, 'd'), k('countries', { country: 'DE' })]) {
      const row = encodeRowKey(key, key.grain === 'h' ? '2026112114' : '20261121');
      const twin = rankedTwinKey(row)!;
      assert.ok(isRankedKey(twin) && !isRankedKey(row), twin);
      assert.deepEqual(decodeRankedKey(twin), decodeRowKey(row));
    }
  });

  it("bounds a range to its buckets: a narrowed range and the merchant's are disjoint", () => {
    const all = rankedRange({ merchantId: 'm#1', series: 'products', grain: 'h' }, '2026112100', '2026112200');
    const s1 = rankedRange({ merchantId: 'm#1', series: 'products', grain: 'h', narrowedTo: 's1' }, '2026112100', '2026112200');
    const inside = (key: string, r: { start: string; end: string }) => key >= r.start && key < r.end;
    const twin = rankedTwinKey(encodeRowKey(k('products', { sku: 'pz' }), '2026112114'))!;
    const twinS1 = rankedTwinKey(encodeRowKey(k('products', { sku: 'pz', store: 's1' }), '2026112114'))!;
    assert.deepEqual([inside(twin, all), inside(twinS1, all), inside(twin, s1), inside(twinS1, s1)], [true, false, false, true]);
    assert.ok(!inside(rankedTwinKey(encodeRowKey(k('products', { sku: 'pz' }), '2026112200'))!, all));
    assert.throws(() => rankedRange({ merchantId: 'm1', series: 'sales', grain: 'h', narrowedTo: 's1' }, '1', '2'), /not narrowed/);
  });

  it("repeats each ranked row's mutations on its twin, in order, and passes the others", () => {
    const row = 'm1#products#sku=pz#h#2026112114';
    const twin = rankedTwinKey(row)!;
    assert.deepEqual(
      withRankedTwins({}, [
        { kind: 'delete_family', key: row, family: 'm' },
        { kind: 'set', key: row, family: 'm', cells: { units: 2 } },
        { kind: 'set', key: 'm1#sales#h#2026112114', family: 'm', cells: { orders: 1 } },
        { kind: 'delete_family', key: row, family: 'p' },
      ]),
      [
        { kind: 'delete_family', key: row, family: 'm' },
        { kind: 'delete_family', key: twin, family: 'm' },
        { kind: 'set', key: row, family: 'm', cells: { units: 2 } },
        { kind: 'set', key: twin, family: 'm', cells: { units: 2 } },
        { kind: 'set', key: 'm1#sales#h#2026112114', family: 'm', cells: { orders: 1 } },
        { kind: 'delete_family', key: row, family: 'p' },
        { kind: 'delete_family', key: twin, family: 'p' },
      ],
    );
  });

  it('sends no twin mutations to a store that mirrors ranked rows itself', () => {
    const mutations = [
      { kind: 'set' as const, key: 'm1#products#sku=pz#h#2026112114', family: 'm', cells: { units: 2 } },
      { kind: 'delete_family' as const, key: 'm1#sales#store=s1#h#2026112114', family: 'p' },
    ];
    assert.deepEqual(withRankedTwins({ mirrorsRankedTwins: true }, mutations), mutations);
    assert.equal(rankedTwinToWrite({ mirrorsRankedTwins: true }, mutations[0]!.key), undefined);
    assert.equal(rankedTwinToWrite({}, mutations[0]!.key), 'm1#products#~h#2026112114#sku=pz');
  });
});
