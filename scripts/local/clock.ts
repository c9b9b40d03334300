/**
 * The local stack's clock: real time plus an offset that `npm run local -- next-day` moves forward,
 * kept in `<data>/clock.json` so a restart stays on the day it had reached. Every process of the
 * stack shifts its own `Date` by it (see `clock-shift.cjs`): the stack itself, the function
 * instances, and the client commands that sign requests (`status`, `report`).
 *
 * Importing this module installs the shifted `Date` (offset 0 until told otherwise); import it
 * before anything that keeps a reference to `Date.now`.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as shift from './clock-shift.cjs';

// Offset 0 until the state folder says otherwise (`useStackClock`): clock.json is the one truth.
shift.install(0);

/** The environment variable a function instance reads its starting offset from. */
export const CLOCK_ENV = shift.ENV;

/** Where a state folder keeps its clock offset. */
export const clockFile = (dataDir: string): string => path.join(dataDir, 'clock.json');

/** What `clock.json` holds. */
interface ClockFile {
  /** Milliseconds the local clock is ahead of real time. */
  offsetMs: number;
}

/**
 * The offset kept in `dataDir` (0 when there is none yet).
 * @throws Error naming the file when it is not one this stack wrote
 */
export function readClockOffset(dataDir: string): number {
  let text: string;
  try {
    text = fs.readFileSync(clockFile(dataDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  let parsed: Partial<ClockFile> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<ClockFile>;
  } catch {
    parsed = undefined;
  }
  const ms = parsed?.offsetMs;
  // Only forward: a clock behind real time would put what is already stored in the future.
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new Error(`${clockFile(dataDir)} is damaged; delete the folder ${dataDir} to start afresh on real time`);
  }
  return ms;
}

/** Keeps the offset in `dataDir`, atomically (a crash leaves the old or the new one, never half). */
export function writeClockOffset(dataDir: string, offsetMs: number): void {
  const file = clockFile(dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const body: ClockFile = { offsetMs };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(body)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/** Moves this process's clock to `offsetMs` ahead of real time. */
export const setClockOffset = (offsetMs: number): void => shift.setOffset(offsetMs);

/** How far this process's clock is ahead of real time. */
export const clockOffset = (): number => shift.offset();

/** Real time, for durations that must not jump when the day moves (how long a file sat unchanged). */
export const realNow = (): number => shift.realNow();

/** Puts this process on the clock of the stack whose state is in `dataDir`; returns the offset. */
export function useStackClock(dataDir: string): number {
  const ms = readClockOffset(dataDir);
  shift.setOffset(ms);
  return ms;
}
