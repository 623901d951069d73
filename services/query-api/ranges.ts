// Ranges of a request: presets in the merchant's local days, the previous period of the same length, and
// the key range one read must cover before the merchant's zone is known (the read brings the zone along).
import type { Grain } from '../../pipeline/series/row-key.js';
import { addDays, ceilHour, daysBetween, floorHour, localDate, startOfLocalDay } from '../../pipeline/time.js';
import type { MetricsRequest, RangePreset } from './params.js';

export interface ConcreteRange {
  grain: Grain;
  /** Hours: ISO instants; days: local dates. Half-open. */
  from: string;
  to: string;
  fromMs?: number;
  toMs?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The local dates [from, to) of a preset on `now`'s local day in `timeZone`. */
export function presetDays(preset: RangePreset, now: Date, timeZone: string): { from: string; to: string } {
  const today = localDate(now, timeZone);
  const tomorrow = addDays(today, 1);
  switch (preset) {
    case 'today':
      return { from: today, to: tomorrow };
    case 'yesterday':
      return { from: addDays(today, -1), to: today };
    case 'last_7_days':
      return { from: addDays(today, -6), to: tomorrow };
    case 'last_30_days':
      return { from: addDays(today, -29), to: tomorrow };
    case 'month_to_date':
      return { from: today.slice(0, 8) + '01', to: tomorrow };
  }
}

/**
 * Local days as a range of the grain: themselves for days; for hours, the UTC hours that cover them
 * (exactly their hours in zones with whole-hour offsets; in +05:30 or +05:45 zones the partial UTC hours
 * at both ends are included, since hourly buckets are UTC hours).
 */
export function daysAsRange(grain: Grain, days: { from: string; to: string }, timeZone: string): ConcreteRange {
  if (grain === 'd') return { grain, ...days };
  const fromMs = floorHour(startOfLocalDay(days.from, timeZone)).getTime();
  const toMs = ceilHour(startOfLocalDay(days.to, timeZone)).getTime();
  return { grain, from: iso(fromMs), to: iso(toMs), fromMs, toMs };
}

/** The request's range in `timeZone` (only a preset depends on it). */
export function resolveRange(q: MetricsRequest, timeZone: string, now: Date): ConcreteRange {
  if (q.localDays) return daysAsRange(q.grain, q.localDays, timeZone);
  if (q.range === undefined) return { grain: q.grain, from: q.from, to: q.to, fromMs: q.fromMs, toMs: q.toMs };
  return daysAsRange(q.grain, presetDays(q.range, now, timeZone), timeZone);
}

/** The period of the same length just before `r`. */
export function previousPeriod(r: ConcreteRange): ConcreteRange {
  if (r.grain === 'h') {
    const len = r.toMs! - r.fromMs!;
    return { grain: 'h', from: iso(r.fromMs! - len), to: r.from, fromMs: r.fromMs! - len, toMs: r.fromMs };
  }
  return { grain: 'd', from: addDays(r.from, -daysBetween(r.from, r.to)), to: r.from };
}

/** Everything the request may read, whatever the merchant's zone turns out to be (one contiguous span). */
export function candidateSpan(q: MetricsRequest, now: Date): ConcreteRange {
  let span: ConcreteRange;
  if (q.range === undefined && !q.localDays) span = resolveRange(q, 'UTC', now);
  else {
    // Local dates of the preset in the zones at both ends of the offsets in use (UTC+14 is a day ahead of
    // UTC−12); the earliest local day starts in UTC+14, the latest ends in UTC−12.
    const days = ['Pacific/Kiritimati', 'Etc/GMT+12'].map((z) => q.localDays ?? presetDays(q.range!, now, z));
    const from = days.map((d) => d.from).sort()[0]!;
    const to = days.map((d) => d.to).sort().at(-1)!;
    if (q.grain === 'd') span = { grain: 'd', from, to };
    else {
      const fromMs = floorHour(startOfLocalDay(from, 'Pacific/Kiritimati')).getTime();
      const toMs = ceilHour(startOfLocalDay(to, 'Etc/GMT+12')).getTime();
      span = { grain: 'h', from: iso(fromMs), to: iso(toMs), fromMs, toMs };
    }
  }
  // The span starts no later and lasts no shorter than the range, so its previous period covers the range's.
  if (!q.compare) return span;
  const prev = previousPeriod(span);
  return { ...span, from: prev.from, fromMs: prev.fromMs };
}
