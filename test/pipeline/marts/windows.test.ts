// Turning touched hours into the windows each kind of mart rebuilds.
import assert from 'node:assert/strict';
import { cellKey, hoursToRanges, mergeRanges, planCellWindows, windowsForRule, type TimeRange } from '../../../pipeline/marts/windows.js';
import { localDate } from '../../../pipeline/time.js';
import { planScheduledWindows } from '../../../pipeline/marts/statements.js';
import { BIGQUERY_MAX_PARTITIONS_MODIFIED_PER_JOB } from '../../infra-cdktf/platform-facts.js';

const d = (s: string) => new Date(s);
const show = (rs: TimeRange[]) => rs.map((r) => [r.start.toISOString(), r.end.toISOString()]);
const touched = hoursToRanges([d('2026-03-06T09:00:00Z'), d('2026-03-06T10:00:00Z'), d('2026-03-06T13:00:00Z'), d('2026-03-06T09:00:00Z')]);
const limit = d('2026-03-06T14:00:00Z');

describe('mart windows', () => {
  it('keeps every window of a run within the partitions one BigQuery job may modify, with a touched hour fifteen years back', () => {
    const DAY = 86_400_000;
    const windows = planScheduledWindows({
      startedAt: new Date('2026-12-04T10:05:00Z'),
      finalizedThrough: new Date('2026-12-04T09:00:00Z'),
      cells: [
        { merchantId: 'm1', hour: new Date('2011-06-01T12:00:00Z') },
        { merchantId: 'm2', hour: new Date('2026-12-04T08:00:00Z') },
      ],
      zones: new Map([['m1', ['Pacific/Kiritimati', 'Pacific/Pago_Pago']]]),
      promotions: [],
    });
    const partitions = (w: { windowStart: Date; windowEnd: Date }) => Math.floor((w.windowEnd.getTime() - 1) / DAY) - Math.floor(w.windowStart.getTime() / DAY) + 1;
    const over = windows.filter((w) => partitions(w) > BIGQUERY_MAX_PARTITIONS_MODIFIED_PER_JOB).map((w) => `${w.mart} ${w.windowStart.toISOString()}: ${partitions(w)} day partitions`);
    assert.deepEqual(over, []);
    // The inventory hours from 2011 are all rebuilt, in order, each exactly once.
    const inventory = windows.filter((w) => w.mart === 'mart_hourly_store_inventory');
    const cells = inventory.flatMap((w) => w.scope!.cells);
    assert.equal(new Set(cells).size, cells.length);
    assert.ok(cells.includes('m1|2011-06-01T12') && cells.includes('m1|2026-12-04T07'));
    for (let i = 1; i < inventory.length; i++) assert.equal(inventory[i]!.windowStart.getTime(), inventory[i - 1]!.windowEnd.getTime());
  });

  it('merges touched hours into contiguous ranges', () => {
    assert.deepStrictEqual(show(touched), [
      ['2026-03-06T09:00:00.000Z', '2026-03-06T11:00:00.000Z'],
      ['2026-03-06T13:00:00.000Z', '2026-03-06T14:00:00.000Z'],
    ]);
    assert.deepStrictEqual(show(mergeRanges(touched, 2 * 3_600_000)), [['2026-03-06T09:00:00.000Z', '2026-03-06T14:00:00.000Z']]);
  });

  it('rebuilds exactly the touched hours of hourly marts, clipped before the hour in progress', () => {
    assert.deepStrictEqual(show(windowsForRule({ rebuild: 'hours' }, [...touched, { start: d('2026-03-06T14:00:00Z'), end: d('2026-03-06T15:00:00Z') }], limit)), show(touched));
  });

  it('rebuilds every later hour for inventory, from the first touched hour', () => {
    assert.deepStrictEqual(show(windowsForRule({ rebuild: 'later_hours' }, touched, limit)), [['2026-03-06T09:00:00.000Z', '2026-03-06T14:00:00.000Z']]);
  });

  it('joins windows less than a day apart for daily marts, whose statements widen them to local days', () => {
    const far = [...touched, { start: d('2026-03-09T00:00:00Z'), end: d('2026-03-09T01:00:00Z') }];
    assert.deepStrictEqual(show(windowsForRule({ rebuild: 'local_days' }, far, d('2026-03-10T00:00:00Z'))), [
      ['2026-03-06T09:00:00.000Z', '2026-03-06T14:00:00.000Z'],
      ['2026-03-09T00:00:00.000Z', '2026-03-09T01:00:00.000Z'],
    ]);
  });

  it('extends promotion windows over the eight weeks of baselines that include a touched day', () => {
    assert.deepStrictEqual(show(windowsForRule({ rebuild: 'baseline_days' }, touched, d('2026-06-01T00:00:00Z'))), [['2026-03-06T09:00:00.000Z', '2026-05-02T14:00:00.000Z']]);
  });

  it('plans one window per mart over cells years apart when asked to coalesce, with the cells of the separate windows', () => {
    const cells = ['2023-01-05T10:00:00Z', '2024-07-01T00:00:00Z', '2026-02-01T23:00:00Z'].map((h) => ({ merchantId: 'm1', hour: d(h) }));
    const input = { cells, limit: d('2026-03-01T00:00:00Z'), allFrom: d('2026-02-28T22:00:00Z'), zones: new Map([['m1', ['America/New_York']]]) };
    for (const spec of [{ stem: 'h', rebuild: 'hours' as const }, { stem: 'd', rebuild: 'local_days' as const }]) {
      const apart = planCellWindows(spec, input);
      const one = planCellWindows(spec, { ...input, coalesce: true });
      assert.equal(apart.length, 3);
      assert.deepStrictEqual(
        one.map((w) => [w.windowStart.toISOString(), w.windowEnd.toISOString(), w.scope]),
        [[apart[0]!.windowStart.toISOString(), apart[2]!.windowEnd.toISOString(), { merchants: ['m1'], cells: apart.flatMap((w) => w.scope!.cells) }]],
      );
    }
  });

  it("takes each touched hour's local days in its zones, across offset changes, half-hour zones and their transitions", () => {
    const zones = ['America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Chatham', 'Europe/London', 'America/St_Johns', 'UTC'];
    // Each merchant (one zone, one phase) touches hours 49 apart, so its days stay apart and a day off
    // by one shows; the 49 phases together touch every hour of a year, every transition included.
    const start = Date.parse('2024-01-01T00:00:00Z');
    const end = Date.parse('2025-01-01T00:00:00Z');
    const cells: { merchantId: string; hour: Date }[] = [];
    const zoneOf = new Map<string, string[]>();
    for (const z of zones) {
      for (let phase = 0; phase < 49; phase++) {
        const m = `${z}#${phase}`;
        zoneOf.set(m, [z]);
        for (let t = start + phase * 3_600_000; t < end; t += 49 * 3_600_000) cells.push({ merchantId: m, hour: new Date(t) });
      }
    }
    const [w] = planCellWindows({ stem: 'd', rebuild: 'local_days' }, { cells, limit: d('2027-01-01T00:00:00Z'), allFrom: d('2026-12-31T00:00:00Z'), zones: zoneOf, coalesce: true });
    const expected = new Set<string>();
    for (const c of cells) for (const t of [c.hour, new Date(c.hour.getTime() + 3_599_999)]) expected.add(cellKey(c.merchantId, localDate(t, zoneOf.get(c.merchantId)![0]!)));
    assert.deepStrictEqual(w!.scope!.cells, [...expected].sort());
  });
});
