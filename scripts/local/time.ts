/**
 * Times as the operator should read them: in the quota day's zone (UTC+08:00 unless configured),
 * always with the offset written out, so a line is never ambiguous between UTC and local time.
 */
import { dayAfter, formatOffset, nextQuotaDayStart, quotaDay, wallClock } from '../../shared/core/zone';

/** `10:15:02+08:00`: the time of day of `ms` in the zone `offsetMinutes` east of UTC. */
export function formatClock(ms: number, offsetMinutes: number): string {
  return `${wallClock(ms, offsetMinutes).slice(11, 19)}${formatOffset(offsetMinutes)}`;
}

/** `2024-05-01 10:15:02+08:00`. */
export function formatDateTime(ms: number, offsetMinutes: number): string {
  const iso = wallClock(ms, offsetMinutes);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${formatOffset(offsetMinutes)}`;
}

/** The quota day (`YYYY-MM-DD`) that follows the one `ms` falls in. */
export function nextQuotaDay(ms: number, offsetMinutes: number): string {
  return dayAfter(quotaDay(ms, offsetMinutes));
}

/** `UTC+08:00`, as shown in headers and the banner. */
export const zoneName = (offsetMinutes: number): string => `UTC${formatOffset(offsetMinutes)}`;

/**
 * How far past the quota-day boundary `next-day` lands. More than the functions' clock-skew
 * allowance (IVR_CLOCK_SKEW_MS, 250 ms by default), which keeps a call near the boundary from
 * straddling it, so the new day's first call is not held back; small enough that the day has only
 * just begun, as for the first timer pass after midnight.
 */
export const NEXT_DAY_MARGIN_MS = 5000;

/**
 * How much to move a clock that reads `nowMs` so that it reads just after the start of the next
 * quota day: the time to the boundary plus {@link NEXT_DAY_MARGIN_MS}, never a flat 24 h (which
 * would land anywhere in the next day, and skip it entirely just before midnight).
 */
export function nextDayShiftMs(nowMs: number, offsetMinutes: number): number {
  return nextQuotaDayStart(nowMs, offsetMinutes) + NEXT_DAY_MARGIN_MS - nowMs;
}

/** `1 d 3 h 12 min`, `2 h 5 min`, `40 s`: a clock offset as an operator reads it. */
export function formatAhead(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ');
}
