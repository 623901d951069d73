// Time arithmetic shared by every part: UTC hour flooring, the next run at a minute of the hour, and
// zone arithmetic for merchant-local days with Intl only (no zone database of our own) — a zone's
// offset at an instant, the UTC instant a local date starts at, the local date of an instant, and
// date stepping. One copy, so the query API, the scheduler and the demo generator agree on every edge.

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Start of the UTC hour containing `ms` (also right for instants before 1970). */
export function utcHourStartMs(ms: number): number {
  return ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
}

/** Start of the UTC hour containing `d`. */
export function floorHour(d: Date): Date {
  return new Date(utcHourStartMs(d.getTime()));
}

/** `d` itself when it starts an hour, else the start of the next UTC hour. */
export function ceilHour(d: Date): Date {
  const floor = utcHourStartMs(d.getTime());
  return new Date(floor === d.getTime() ? floor : floor + HOUR_MS);
}

/** Milliseconds from `now` to the next time the clock shows `minute` past an hour (never 0: a run at :05 waits for the next :05). */
export function msUntilMinute(now: Date, minute: number): number {
  let next = utcHourStartMs(now.getTime()) + minute * MINUTE_MS;
  if (next <= now.getTime()) next += HOUR_MS;
  return next - now.getTime();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's wall clock at an instant, read field by field (the reference the offset formatter is held to). */
export function wallClock(ms: number, timeZone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, mo: parts.month!, d: parts.day!, h: parts.hour!, mi: parts.minute!, s: parts.second! };
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
/** `GMT`, `GMT+05:30`, `GMT-03:30`, and for local mean time before standard zones `GMT+00:19:32`. */
const LONG_OFFSET = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?)?$/;

/**
 * Offset of the zone at an instant, in ms (local − UTC). Read from the CLDR `longOffset` zone name
 * (`GMT+05:30`): one formatted string, about seven times cheaper than the wall clock's parts, which
 * matters where offsets are taken per zone and day over years of history (mart plans of a backfill).
 * Falls back to the wall clock if the name ever has another shape.
 */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormatters.set(timeZone, f);
  }
  const m = LONG_OFFSET.exec(f.format(ms));
  if (m) {
    if (!m[1]) return 0;
    const sign = m[1] === '-' ? -1 : 1;
    return sign * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * 1000;
  }
  const w = wallClock(ms, timeZone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - Math.floor(ms / 1000) * 1000;
}

/** Offset of the zone at an instant, in whole minutes (330 for Asia/Kolkata). */
export function zoneOffsetMinutes(timeZone: string, ms: number): number {
  return Math.round(zoneOffsetMs(ms, timeZone) / MINUTE_MS);
}

/** `2026-11-21` in the zone of the instant: the UTC date of the instant moved by the zone's offset then. */
export function localDate(instant: Date, timeZone: string): string {
  return new Date(instant.getTime() + zoneOffsetMs(instant.getTime(), timeZone)).toISOString().slice(0, 10);
}

/** The first instant of a local date in a zone (midnight, or the first instant after a gap at midnight). */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, mo - 1, d);
  // Two passes settle the offset across a transition. Where midnight itself falls into a spring-forward gap
  // the second guess lands on the previous day; the day then starts at the transition, which is midnight
  // read with the offset in force before it.
  let t = wall - zoneOffsetMs(wall, timeZone);
  t = wall - zoneOffsetMs(t, timeZone);
  if (localDate(new Date(t), timeZone) < date) t = wall - zoneOffsetMs(t - 6 * HOUR_MS, timeZone);
  return new Date(t);
}

/** Adds whole days to a `YYYY-MM-DD` date (calendar arithmetic, zone-free). */
export function addDays(date: string, days: number): string {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, mo - 1, d + days)).toISOString().slice(0, 10);
}

/** Whole days from a to b (`YYYY-MM-DD`). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** Real calendar date in `YYYY-MM-DD` form (rejects 2026-02-30). */
export function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const t = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(t) && new Date(t).toISOString().slice(0, 10) === text;
}

/** `2026-11-21T14:00:00Z`: an instant in whole seconds, the form the API answers hours in. */
export function isoHour(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}
