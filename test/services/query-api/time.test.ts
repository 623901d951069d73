import assert from 'node:assert/strict';
import { addDays, daysBetween, isCalendarDate, localDate, startOfLocalDay } from '../../../services/query-api/time.js';

describe('query API time arithmetic', () => {
  it('finds the instant a local day starts, across zones and DST changes', () => {
    const cases: [string, string, string][] = [
      ['2026-11-21', 'UTC', '2026-11-21T00:00:00.000Z'],
      ['2026-11-21', 'Asia/Kolkata', '2026-11-20T18:30:00.000Z'],
      ['2026-11-21', 'Asia/Kathmandu', '2026-11-20T18:15:00.000Z'],
      ['2026-03-29', 'Europe/Berlin', '2026-03-28T23:00:00.000Z'],
      ['2026-03-30', 'Europe/Berlin', '2026-03-29T22:00:00.000Z'],
      ['2026-11-01', 'America/New_York', '2026-11-01T04:00:00.000Z'],
      ['2026-11-02', 'America/New_York', '2026-11-02T05:00:00.000Z'],
      // Midnight did not exist that day: clocks went from 00:00 to 01:00.
      ['2018-11-04', 'America/Sao_Paulo', '2018-11-04T03:00:00.000Z'],
      ['2026-11-21', 'Pacific/Kiritimati', '2026-11-20T10:00:00.000Z'],
    ];
    assert.deepEqual(
      cases.map(([d, z]) => [d, z, startOfLocalDay(d, z).toISOString()]),
      cases,
    );
  });

  it('gives the local date of an instant', () => {
    assert.equal(localDate(new Date('2026-11-20T18:29:59Z'), 'Asia/Kolkata'), '2026-11-20');
    assert.equal(localDate(new Date('2026-11-20T18:30:00Z'), 'Asia/Kolkata'), '2026-11-21');
  });

  it('steps and counts calendar days and rejects impossible dates', () => {
    assert.equal(addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(addDays('2024-03-01', -1), '2024-02-29');
    assert.equal(daysBetween('2026-03-01', '2026-04-01'), 31);
    assert.deepEqual(['2026-02-29', '2024-02-29', '2026-13-01', '2026-1-01', 'x'].map(isCalendarDate), [false, true, false, false, false]);
  });
});
