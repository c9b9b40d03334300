/**
 * When the local stack first ran with a state folder, kept in `<data>/first-start.json`: a report
 * of an earlier day is all zeros because nothing could have happened yet, and says so, rather than
 * reading like a day when nothing was dropped.
 *
 * Only a state folder that was missing or empty when a stack started gets the record: for an older
 * one (used before the record existed) the first start is not known, and nothing is claimed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { quotaDay } from '../../shared/core/zone';
import { formatDateTime } from './time';

/** Where a state folder keeps the time of its first start. */
export const firstStartFile = (dataDir: string): string => path.join(dataDir, 'first-start.json');

/** What `first-start.json` holds. */
interface FirstStartFile {
  /** The stack's clock (epoch ms) when its first start was ready. */
  atMs: number;
}

/**
 * Whether nothing has run with this state folder yet: it is missing or empty. Checked before the
 * start writes anything into it (its lock, logs, bucket).
 */
export function isFreshStateFolder(dataDir: string): boolean {
  try {
    return fs.readdirSync(dataDir).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Records the first start at `atMs`, atomically; an existing record is kept (the first one wins). */
export function recordFirstStart(dataDir: string, atMs: number): void {
  const file = firstStartFile(dataDir);
  if (fs.existsSync(file)) return;
  const body: FirstStartFile = { atMs };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(body)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** The recorded first start (epoch ms), or undefined: none recorded, or unreadable (then nothing is claimed). */
export function readFirstStart(dataDir: string): number | undefined {
  try {
    const v = (JSON.parse(fs.readFileSync(firstStartFile(dataDir), 'utf8')) as Partial<FirstStartFile>).atMs;
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A day reported before the stack first ran with its state folder: that first start, as shown. */
export interface BeforeFirstStart {
  /** The quota day of the first start. */
  firstStartDay: string;
  /** The first start, `2026-11-26 11:30:00+08:00`. */
  firstStart: string;
}

/** Set when `day` ends before the quota day the stack first ran on (in the zone `offsetMinutes`). */
export function beforeFirstStart(day: string, firstStartMs: number | undefined, offsetMinutes: number): BeforeFirstStart | undefined {
  if (firstStartMs === undefined) return undefined;
  const firstStartDay = quotaDay(firstStartMs, offsetMinutes);
  return day < firstStartDay ? { firstStartDay, firstStart: formatDateTime(firstStartMs, offsetMinutes) } : undefined;
}

/** The line printed under such a day's report. */
export function beforeFirstStartLine(day: string, b: BeforeFirstStart, dataDir: string): string {
  return `the local stack had not run yet on ${day}: it first ran with the state folder ${dataDir} on ${b.firstStart}, so this report has nothing to count`;
}
