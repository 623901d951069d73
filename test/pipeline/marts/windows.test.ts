// Turning touched hours into the windows each kind of mart rebuilds.
import assert from 'node:assert/strict';
import { hoursToRanges, mergeRanges, windowsForRule, type TimeRange } from '../../../pipeline/marts/windows.js';

const d = (s: string) => new Date(s);
const show = (rs: TimeRange[]) => rs.map((r) => [r.start.toISOString(), r.end.toISOString()]);
const touched = hoursToRanges([d('2026-03-06T09:00:00Z'), d('2026-03-06T10:00:00Z'), d('2026-03-06T13:00:00Z'), d('2026-03-06T09:00:00Z')]);
const limit = d('2026-03-06T14:00:00Z');

describe('mart windows', () => {
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
});
