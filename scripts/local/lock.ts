/**
 * One stack per folder: a lock file holding the owner's PID. A lock whose process is gone (a
 * stack killed with -9, a reboot) is taken over; a live one makes the second stack refuse.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { StartupError } from './cli';

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

/** `free`: no lock; `stale`: a lock nobody holds any more; otherwise the live holder. */
export type LockDecision = { kind: 'free' } | { kind: 'stale'; previous?: LockInfo } | { kind: 'held'; by: LockInfo };

/** Parses a lock file's text; undefined when it is not a lock this code wrote. */
export function parseLock(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string') return { pid: v.pid, host: v.host, startedAt: String(v.startedAt ?? '') };
  } catch {
    // unreadable: treated as stale below
  }
  return undefined;
}

/**
 * Whether a lock may be taken. A lock from another host cannot be checked, so it counts as held;
 * an unreadable one (a crash while writing it) counts as stale; our own PID can only be a leftover
 * from an earlier process that had the same PID.
 */
export function decideLock(text: string | undefined, me: { pid: number; host: string }, isAlive: (pid: number) => boolean): LockDecision {
  if (text === undefined) return { kind: 'free' };
  const info = parseLock(text);
  if (!info) return { kind: 'stale' };
  if (info.host !== me.host) return { kind: 'held', by: info };
  if (info.pid === me.pid || !isAlive(info.pid)) return { kind: 'stale', previous: info };
  return { kind: 'held', by: info };
}

/** Whether a process with this PID exists (EPERM: it exists but is someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A held lock; `release` removes it if it is still ours. */
export interface HeldLock {
  file: string;
  /** The dead stack whose lock was taken over, if any. */
  tookOverFrom?: LockInfo;
  release(): void;
}

const readText = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
};

/**
 * Takes the lock `file` for this process. The content is written to a temporary file first and
 * linked into place, so the lock appears atomically and complete, and only one of two racing
 * stacks can create it.
 * @param describe what the lock protects and how to choose another, for the refusal message
 */
export function acquireLock(file: string, describe: { what: string; option: string }): HeldLock {
  const me: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(me));
  let tookOverFrom: LockInfo | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
      }
      const text = readText(file);
      const decision = decideLock(text, me, processAlive);
      if (decision.kind === 'held') {
        const where = decision.by.host === me.host ? '' : ` on ${decision.by.host}`;
        throw new StartupError(`another local stack (PID ${decision.by.pid}${where}) is already using ${describe.what}; stop it first (Ctrl-C in its terminal) or choose another folder with ${describe.option}`);
      }
      if (decision.kind === 'stale') {
        tookOverFrom = decision.previous;
        // Remove only the stale lock we read, not one a racing stack has just created.
        if (readText(file) === text) fs.rmSync(file, { force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return {
    file,
    tookOverFrom,
    release() {
      if (parseLock(readText(file) ?? '')?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}
