import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoMs, isoSec } from '../../demo/generator-base.js';

/** The timestamps as Date writes them: the instant shifted by the offset, and the offset after it. */
function byDate(ms: number, offsetMin: number, withMs: boolean): string {
  const whole = withMs ? ms : ms - (ms % 1000);
  const a = Math.abs(offsetMin);
  const suffix = offsetMin === 0 ? 'Z' : `${offsetMin < 0 ? '-' : '+'}${String((a / 60) | 0).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  return new Date(whole + offsetMin * 60_000).toISOString().slice(0, withMs ? 23 : 19) + suffix;
}

describe('demo generator timestamps', () => {
  const offsets = fc.constantFrom(0, -720, -600, -300, -210, 60, 330, 345, 525, 840);

  it('write an instant in an offset as Date does, to the millisecond and to the second', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true }), offsets, (ms, offset) => {
        assert.equal(isoMs(ms, offset), byDate(ms, offset, true));
        assert.equal(isoSec(ms, offset), byDate(ms, offset, false));
      }),
      { numRuns: 20_000 },
    );
  });

  it('write the last millisecond of a day, the first of the next, and instants alternating between days', () => {
    const midnight = Date.UTC(2026, 10, 29);
    for (const ms of [midnight - 1, midnight, midnight - 0.5, midnight + 0.999, midnight - 1, Date.UTC(2027, 0, 1) - 1, Date.UTC(2028, 1, 29, 23, 59, 59, 999), 0, 1]) {
      for (const offset of [0, -300, 330]) {
        assert.equal(isoMs(ms, offset), byDate(ms, offset, true));
        assert.equal(isoSec(ms, offset), byDate(ms, offset, false));
      }
    }
  });

  it('leave years outside 0000-9999 to Date', () => {
    for (const ms of [Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), -1, Date.UTC(-5, 0, 1)]) {
      assert.equal(isoMs(ms, 0), new Date(ms).toISOString());
      assert.equal(isoSec(ms, 0), `${new Date(ms - (ms % 1000)).toISOString().slice(0, 19)}Z`);
      assert.equal(isoMs(ms, -300), `${new Date(ms - 300 * 60_000).toISOString().slice(0, 23)}-05:00`);
    }
  });
});
