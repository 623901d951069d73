// Window arithmetic for mart rebuilds: whole UTC hours, merged ranges, and the rule of each mart
// that turns touched hours into the windows it must rebuild (see RebuildRule in manifest.ts).
import { DAY_MS, HOUR_MS, ceilHour, floorHour } from '../time.js';
import type { MartSpec } from './manifest.js';
/** A late order changes the baselines of the eight following weeks: 56 days, plus one for the widest local day. */
export const BASELINE_REACH_MS = 57 * DAY_MS;

export interface TimeRange {
  start: Date;
  end: Date;
}


/** Sorted, merged ranges; ranges closer than `gapMs` are joined (rebuilding the gap is harmless). */
export function mergeRanges(ranges: TimeRange[], gapMs = 0): TimeRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start.getTime() - b.start.getTime());
  const out: TimeRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start.getTime() <= last.end.getTime() + gapMs) {
      if (r.end > last.end) last.end = new Date(r.end.getTime());
    } else out.push({ start: new Date(r.start.getTime()), end: new Date(r.end.getTime()) });
  }
  return out;
}

/** Hour starts → merged one-hour ranges. */
export function hoursToRanges(hours: Date[]): TimeRange[] {
  return mergeRanges(hours.map((h) => ({ start: floorHour(h), end: new Date(floorHour(h).getTime() + HOUR_MS) })));
}

/**
 * The windows a mart rebuilds when `touched` hours changed; nothing at or after `limit` (the start
 * of the hour in progress) is rebuilt, so a run never finalizes the hour in progress.
 */
export function windowsForRule(spec: Pick<MartSpec, 'rebuild'>, touched: TimeRange[], limit: Date): TimeRange[] {
  const clip = (rs: TimeRange[]) =>
    rs.map((r) => ({ start: r.start, end: r.end > limit ? limit : r.end })).filter((r) => r.end > r.start);
  switch (spec.rebuild) {
    case 'hours':
      return clip(mergeRanges(touched));
    case 'local_days':
      // The statement widens each window to whole local days; windows less than a day apart share days.
      return clip(mergeRanges(touched, DAY_MS));
    case 'later_hours': {
      const first = clip(mergeRanges(touched))[0];
      return first ? [{ start: first.start, end: limit }] : [];
    }
    case 'baseline_days':
      return clip(mergeRanges(touched.map((r) => ({ start: r.start, end: new Date(r.end.getTime() + BASELINE_REACH_MS) })), DAY_MS));
  }
}
