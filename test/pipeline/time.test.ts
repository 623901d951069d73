// The shared time arithmetic: UTC hours, the next run at a minute past the hour, zone offsets and local days.
import assert from 'node:assert/strict';
import { addDays, ceilHour, daysBetween, floorHour, isCalendarDate, isoHour, localDate, msUntilMinute, startOfLocalDay, wallClock, zoneOffsetMinutes, zoneOffsetMs } from '../../pipeline/time.js';

describe('time arithmetic', () => {
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

  it('floors instants to their UTC hour, before 1970 too', () => {
    assert.deepEqual(
      ['2026-11-21T11:59:59.999Z', '2026-11-21T12:00:00.000Z', '1969-12-31T23:30:00.000Z'].map((t) => floorHour(new Date(t)).toISOString()),
      ['2026-11-21T11:00:00.000Z', '2026-11-21T12:00:00.000Z', '1969-12-31T23:00:00.000Z'],
    );
    assert.equal(isoHour(Date.parse('2026-11-21T14:00:00Z')), '2026-11-21T14:00:00Z');
  });

  it('ceils instants to the next UTC hour unless they start one', () => {
    assert.deepEqual(
      ['2026-11-21T11:00:00.001Z', '2026-11-21T12:00:00.000Z', '1969-12-31T23:30:00.000Z'].map((t) => ceilHour(new Date(t)).toISOString()),
      ['2026-11-21T12:00:00.000Z', '2026-11-21T12:00:00.000Z', '1970-01-01T00:00:00.000Z'],
    );
  });

  it('waits until the next time the clock shows the minute, a full hour when it shows it now', () => {
    assert.deepEqual(
      ['2026-11-21T12:00:00Z', '2026-11-21T12:04:59Z', '2026-11-21T12:05:00Z', '2026-11-21T12:59:00Z'].map((t) => msUntilMinute(new Date(t), 5) / 1000),
      [300, 1, 3600, 360],
    );
  });

  it('gives a zone offset in minutes at an instant, following daylight saving time', () => {
    assert.deepEqual(
      [
        zoneOffsetMinutes('Asia/Kolkata', Date.parse('2026-11-21T12:00:00Z')),
        zoneOffsetMinutes('Asia/Kathmandu', Date.parse('2026-11-21T12:00:00Z')),
        zoneOffsetMinutes('America/New_York', Date.parse('2026-01-15T12:00:00Z')),
        zoneOffsetMinutes('America/New_York', Date.parse('2026-07-01T12:00:00Z')),
        zoneOffsetMinutes('UTC', Date.parse('2026-07-01T12:00:00Z')),
      ],
      [330, 345, -300, -240, 0],
    );
  });

  it('reads the same offset and local date as the zone\'s wall clock, in every zone from 1890 to 2100', () => {
    // Instants about 3.5 years apart at varying times of year and day, so standard and daylight time,
    // local mean time before standard zones (offsets in seconds) and zones that moved their offset all occur.
    const step = 110_000_000_003;
    const instants = Array.from({ length: 60 }, (_, k) => Date.parse('1890-01-01T00:00:00Z') + k * step);
    const mismatches: string[] = [];
    for (const zone of Intl.supportedValuesOf('timeZone')) {
      for (const ms of instants) {
        const w = wallClock(ms, zone);
        const offset = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
        const date = `${String(w.y).padStart(4, '0')}-${String(w.mo).padStart(2, '0')}-${String(w.d).padStart(2, '0')}`;
        const got = [zoneOffsetMs(ms, zone), localDate(new Date(ms), zone)];
        if (got[0] !== offset || got[1] !== date) mismatches.push(`${zone} ${new Date(ms).toISOString()}: ${got.join(' ')} against ${offset} ${date}`);
      }
    }
    assert.deepEqual(mismatches, []);
  });
});
