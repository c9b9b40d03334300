/**
 * Times as the operator should read them: in the quota day's zone (UTC+08:00 unless configured),
 * always with the offset written out, so a line is never ambiguous between UTC and local time.
 */
import { formatOffset } from '../../shared/core/report';

const shifted = (ms: number, offsetMinutes: number) => new Date(ms + offsetMinutes * 60000).toISOString();

/** `10:15:02+08:00`: the time of day of `ms` in the zone `offsetMinutes` east of UTC. */
export function formatClock(ms: number, offsetMinutes: number): string {
  return `${shifted(ms, offsetMinutes).slice(11, 19)}${formatOffset(offsetMinutes)}`;
}

/** `2024-05-01 10:15:02+08:00`. */
export function formatDateTime(ms: number, offsetMinutes: number): string {
  const iso = shifted(ms, offsetMinutes);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${formatOffset(offsetMinutes)}`;
}

/** The quota day (`YYYY-MM-DD`) that follows the one `ms` falls in. */
export function nextQuotaDay(ms: number, offsetMinutes: number): string {
  const day = shifted(ms, offsetMinutes).slice(0, 10);
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
}

/** `UTC+08:00`, as shown in headers and the banner. */
export const zoneName = (offsetMinutes: number): string => `UTC${formatOffset(offsetMinutes)}`;
