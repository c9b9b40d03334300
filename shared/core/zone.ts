/**
 * Days and offsets: the quota day of an instant in the configured offset from UTC, the days around
 * it, and how an offset is written. Pure; every other module asks here.
 */

/** One day in milliseconds (quota days have no daylight-saving shifts: a fixed offset from UTC). */
export const DAY_MS = 86400000;

/**
 * The wall-clock time of an instant at an offset from UTC, ISO 8601 without the zone
 * (`2026-11-26T20:07:38.123`): callers write the offset their own way, or cut out the day.
 */
export function wallClock(nowMs: number, utcOffsetMinutes: number): string {
  return new Date(nowMs + utcOffsetMinutes * 60000).toISOString().slice(0, 23);
}

/** The quota day (YYYY-MM-DD) of an instant, in the configured offset from UTC. */
export function quotaDay(nowMs: number, utcOffsetMinutes: number): string {
  return wallClock(nowMs, utcOffsetMinutes).slice(0, 10);
}

/** Start of the quota day after the one containing `nowMs` (ms). */
export function nextQuotaDayStart(nowMs: number, utcOffsetMinutes: number): number {
  const local = nowMs + utcOffsetMinutes * 60000;
  return Math.floor(local / DAY_MS + 1) * DAY_MS - utcOffsetMinutes * 60000;
}

/** Whether `s` is a day of the calendar as YYYY-MM-DD (2026-02-30 is not: it would be read as another one). */
export function isDay(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
}

/** The day (YYYY-MM-DD) `n` days after `day`. */
const shiftDay = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

/** The day (YYYY-MM-DD) after `day`. */
export const dayAfter = (day: string): string => shiftDay(day, 1);

/** The day (YYYY-MM-DD) before `day`. */
export const dayBefore = (day: string): string => shiftDay(day, -1);

/** Whole days from `from` to `to` (YYYY-MM-DD each; negative when `to` comes first). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/** The last `n` days ending with `day`, oldest first. */
export function lastDays(day: string, n: number): string[] {
  const end = Date.parse(`${day}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(end - (n - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

/** An offset from UTC in minutes as `+08:00` or `-05:30`. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}
