// The query API's point builder: bucket slots across zones and DST, and which cell family answers.
import assert from 'node:assert/strict';
import { CATALOG } from '../../../pipeline/metrics/catalog.js';
import type { SeriesRow } from '../../../pipeline/ports.js';
import { bucketSlots, buildPoints, pointsJson } from '../../../services/query-api/points.js';

const metricsOf = (series: string, names: string[]) => names.map((n) => CATALOG.find((s) => s.name === series)!.metrics.find((m) => m.name === n)!);

describe('query API point builder', () => {
  it("slots a DST day of 23 hours and a +05:45 day by their zones' midnights", () => {
    assert.deepEqual(bucketSlots({ grain: 'd', from: '2026-03-28', to: '2026-03-30' }, 'Europe/Berlin'), [
      { bucket: '20260328', start: '2026-03-28', endMs: Date.parse('2026-03-28T23:00:00Z') },
      { bucket: '20260329', start: '2026-03-29', endMs: Date.parse('2026-03-29T22:00:00Z') },
    ]);
    assert.deepEqual(bucketSlots({ grain: 'd', from: '2026-11-21', to: '2026-11-22' }, 'Asia/Kathmandu'), [
      { bucket: '20261121', start: '2026-11-21', endMs: Date.parse('2026-11-21T18:15:00Z') },
    ]);
  });

  it('answers a range asked again with the same slots, per zone for days, and lets no answer change them', () => {
    const berlin = bucketSlots({ grain: 'd', from: '2026-03-28', to: '2026-03-30' }, 'Europe/Berlin');
    const tokyo = bucketSlots({ grain: 'd', from: '2026-03-28', to: '2026-03-30' }, 'Asia/Tokyo');
    assert.deepEqual(
      tokyo.map((s) => s.endMs),
      [Date.parse('2026-03-28T15:00:00Z'), Date.parse('2026-03-29T15:00:00Z')],
    );
    assert.deepEqual(bucketSlots({ grain: 'd', from: '2026-03-28', to: '2026-03-30' }, 'Europe/Berlin'), berlin);
    assert.equal(berlin[1]!.endMs, Date.parse('2026-03-29T22:00:00Z'));
    // Hours are UTC in any zone; a slot or the list changed by one answer would change the next one's.
    const hours = { grain: 'h' as const, from: '', to: '', fromMs: Date.parse('2026-11-21T09:00:00Z'), toMs: Date.parse('2026-11-21T11:00:00Z') };
    const utc = bucketSlots(hours, 'UTC');
    assert.deepEqual(bucketSlots(hours, 'Asia/Tokyo'), utc);
    assert.throws(() => ((utc[0] as { endMs: number }).endMs = 0), TypeError);
    assert.throws(() => (utc as unknown as unknown[]).push({}), TypeError);
    assert.deepEqual(
      bucketSlots(hours, 'UTC').map((s) => s.start),
      ['2026-11-21T09:00:00Z', '2026-11-21T10:00:00Z'],
    );
  });

  it('takes finalized buckets from the mart family only and provisional ones from partials when present', () => {
    const slots = bucketSlots({ grain: 'h', from: '', to: '', fromMs: Date.parse('2026-11-21T09:00:00Z'), toMs: Date.parse('2026-11-21T12:00:00Z') }, 'UTC');
    const rows: SeriesRow[] = [
      { key: 'm1#traffic#h#2026112109', cells: { m: { page_views: 10, sessions: 4, orders_with_session: 1 }, p: { page_views: 99 } } },
      { key: 'm1#traffic#h#2026112110', cells: { m: { page_views: 5, visitors: 2 }, p: { page_views: 12, orders_with_session: 3 } } },
      { key: 'm1#traffic#h#2026112111', cells: { m: { page_views: 7, visitors: 3, sessions: 0 } } },
    ];
    const points = buildPoints({ slots, rows, metrics: metricsOf('traffic', ['page_views', 'visitors', 'orders_per_session']), finalizedThroughMs: Date.parse('2026-11-21T10:00:00Z') });
    assert.deepEqual(points, [
      { start: '2026-11-21T09:00:00Z', values: { page_views: 10, visitors: 0, orders_per_session: 0.25 }, provisional: false },
      // Partials know no distinct counts: null, not a made-up zero.
      { start: '2026-11-21T10:00:00Z', values: { page_views: 12, visitors: null, orders_per_session: null }, provisional: true },
      { start: '2026-11-21T11:00:00Z', values: { page_views: 7, visitors: 3, orders_per_session: null }, provisional: true },
    ]);
  });

  it('treats everything as provisional before the first mart run', () => {
    const slots = bucketSlots({ grain: 'h', from: '', to: '', fromMs: Date.parse('2026-11-21T09:00:00Z'), toMs: Date.parse('2026-11-21T10:00:00Z') }, 'UTC');
    assert.deepEqual(buildPoints({ slots, rows: [], metrics: metricsOf('sales', ['orders', 'average_order_value_minor']), finalizedThroughMs: null }), [
      { start: '2026-11-21T09:00:00Z', values: { orders: 0, average_order_value_minor: null }, provisional: true },
    ]);
  });

  it('slots hours across UTC midnights with both forms of each hour', () => {
    const slots = bucketSlots({ grain: 'h', from: '', to: '', fromMs: Date.parse('2026-12-31T22:00:00Z'), toMs: Date.parse('2027-01-02T01:00:00Z') }, 'UTC');
    assert.equal(slots.length, 27);
    assert.deepEqual(
      [slots[0], slots[1], slots[2], slots[25], slots[26]],
      [
        { bucket: '2026123122', start: '2026-12-31T22:00:00Z', endMs: Date.parse('2026-12-31T23:00:00Z') },
        { bucket: '2026123123', start: '2026-12-31T23:00:00Z', endMs: Date.parse('2027-01-01T00:00:00Z') },
        { bucket: '2027010100', start: '2027-01-01T00:00:00Z', endMs: Date.parse('2027-01-01T01:00:00Z') },
        { bucket: '2027010123', start: '2027-01-01T23:00:00Z', endMs: Date.parse('2027-01-02T00:00:00Z') },
        { bucket: '2027010200', start: '2027-01-02T00:00:00Z', endMs: Date.parse('2027-01-02T01:00:00Z') },
      ],
    );
    // Every slot as the Date-per-slot formatting gives it.
    for (const s of slots) {
      const iso = new Date(s.endMs - 3_600_000).toISOString();
      assert.deepEqual([s.bucket, s.start], [iso.slice(0, 13).replace(/[-T]/g, ''), iso.slice(0, 19) + 'Z']);
    }
  });

  it('writes the same JSON text as stringifying the built points', () => {
    const slots = bucketSlots({ grain: 'h', from: '', to: '', fromMs: Date.parse('2026-11-21T08:00:00Z'), toMs: Date.parse('2026-11-21T12:00:00Z') }, 'UTC');
    const rows: SeriesRow[] = [
      { key: 'm1#traffic#h#2026112109', cells: { m: { page_views: 10, sessions: 3, orders_with_session: 1 }, p: { page_views: 99 } } },
      { key: 'm1#traffic#h#2026112110', cells: { m: { page_views: 5, visitors: 2 }, p: { page_views: 12, orders_with_session: 3 } } },
      { key: 'm1#traffic#h#2026112111', cells: { m: { page_views: -0, visitors: 3, sessions: 0 } } },
    ];
    const metrics = metricsOf('traffic', ['page_views', 'visitors', 'orders_per_session']);
    for (const finalizedThroughMs of [null, Date.parse('2026-11-21T10:00:00Z'), Date.parse('2026-11-22T00:00:00Z')]) {
      const opts = { slots, rows, metrics, finalizedThroughMs };
      assert.equal(pointsJson(opts).toString(), JSON.stringify(buildPoints(opts)));
      // text around the array is written as given
      assert.equal(pointsJson(opts, { before: '{"series":"traffic","points":', after: '}' }).toString(), JSON.stringify({ series: 'traffic', points: buildPoints(opts) }));
    }
    assert.equal(
      pointsJson({ slots: slots.slice(1, 2), rows, metrics, finalizedThroughMs: null }).toString(),
      '[{"start":"2026-11-21T09:00:00Z","values":{"page_views":99,"visitors":null,"orders_per_session":null},"provisional":true}]',
    );
  });

  it('writes the UTF-8 bytes of JSON.stringify for any number, null and non-ASCII text around the points, in answers of any size', () => {
    const slots = bucketSlots({ grain: 'h', from: '', to: '', fromMs: Date.parse('2026-10-01T00:00:00Z'), toMs: Date.parse('2026-11-01T00:00:00Z') }, 'UTC');
    const numbers = [0, -0, 7, -7, 9, 10, 99, 100, 123456789, -123456789, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 60, 1e21, 1.5e300, -1e-7, 0.1 + 0.2, 1 / 3, -2.5, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity, null];
    const all = ['page_views', 'visitors', 'sessions', 'orders_with_session', 'orders_per_session'];
    // every hour of October holds a row: all metrics as stored in catalog order, or some of them
    const rows: SeriesRow[] = slots.map((slot, i) => {
      const v = (k: number) => numbers[(i + k) % numbers.length]!;
      const m = i % 3 === 0 ? Object.fromEntries(all.map((n, k) => [n, v(k)])) : { page_views: v(0), sessions: v(1) };
      return { key: `m1#traffic#h#${slot.bucket}`, cells: { m, p: { page_views: v(2) } } };
    });
    const metrics = metricsOf('traffic', all);
    const name = 'caf\u00e9-\u6771\u4eac-\ud83d\ude00';
    const around = { before: `{"merchant_id":"${name}","points":`, after: ',"note":"\u00fc"}' };
    for (const finalizedThroughMs of [null, Date.parse('2026-10-15T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z')]) {
      for (const n of [0, 1, 24, slots.length]) {
        const opts = { slots: slots.slice(0, n), rows, metrics, finalizedThroughMs };
        assert.deepEqual(pointsJson(opts, around), Buffer.from(JSON.stringify({ merchant_id: name, points: buildPoints(opts), note: '\u00fc' })));
        assert.deepEqual(pointsJson(opts), Buffer.from(JSON.stringify(buildPoints(opts))));
      }
    }
  });

  it('writes buckets holding every metric in catalog order as stored, and any other bucket metric by metric, the same text either way', () => {
    const slots = bucketSlots({ grain: 'h', from: '', to: '', fromMs: Date.parse('2026-11-21T08:00:00Z'), toMs: Date.parse('2026-11-21T14:00:00Z') }, 'UTC');
    const all = { page_views: 10, visitors: 4, sessions: 3, orders_with_session: 1, orders_per_session: 1 / 3 };
    const rows: SeriesRow[] = [
      { key: 'm1#traffic#h#2026112108', cells: { m: all } },
      // a ratio without a value: null, as stored
      { key: 'm1#traffic#h#2026112109', cells: { m: { ...all, orders_per_session: null } } },
      // an additive metric stored as null answers 0
      { key: 'm1#traffic#h#2026112110', cells: { m: { ...all, page_views: null } } },
      // another order, a missing metric, an extra cell
      { key: 'm1#traffic#h#2026112111', cells: { m: { visitors: 4, page_views: 10, sessions: 3, orders_with_session: 1, orders_per_session: 0.5 } } },
      { key: 'm1#traffic#h#2026112112', cells: { m: { page_views: 10, visitors: 4, sessions: 3, orders_with_session: 1 } } },
      { key: 'm1#traffic#h#2026112113', cells: { m: { ...all, extra: 1 } } },
    ];
    const metrics = metricsOf('traffic', ['page_views', 'visitors', 'sessions', 'orders_with_session', 'orders_per_session']);
    const opts = { slots, rows, metrics, finalizedThroughMs: Date.parse('2026-11-22T00:00:00Z') };
    const text = pointsJson(opts).toString();
    assert.equal(text, JSON.stringify(buildPoints(opts)));
    assert.deepEqual(
      (JSON.parse(text) as { values: Record<string, number | null> }[]).map((p) => [p.values.page_views, p.values.orders_per_session, Object.keys(p.values).length]),
      [
        [10, 1 / 3, 5],
        [10, null, 5],
        [0, 1 / 3, 5],
        [10, 0.5, 5],
        [10, 1 / 3, 5],
        [10, 1 / 3, 5],
      ],
    );
  });
});
