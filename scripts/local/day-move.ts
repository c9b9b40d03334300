/**
 * `next-day` inside the running stack: move every party's clock to just after the next quota-day
 * boundary, then run the recovery pass as the timer would, so deferred files are released and
 * registered end to end.
 */
import { quotaDay } from '../../shared/core/zone';
import { ControlRefusal } from './control';
import type { ReportRun } from './report-run';
import { formatAhead, nextDayShiftMs } from './time';

/** What `next-day` answers: the days before and after, the clock, and what the pass did. */
export interface NextDayResult {
  /** The quota day before the move, `YYYY-MM-DD`. */
  from: string;
  /** The quota day now. */
  to: string;
  /** How far the local clock is ahead of real time now, ms. */
  offsetMs: number;
  /** The recovery pass run right after the move. */
  pass: Pick<ReportRun, 'ok' | 'pass' | 'summary' | 'day' | 'page'>;
}

/** The stack's clock, as `clock.ts` keeps it (passed in, so this module never touches `Date`). */
export interface StackClock {
  /** The stack's time now (real time plus the offset). */
  now(): number;
  /** Real time, for waits that must not jump. */
  realNow(): number;
  /** The current offset, ms ahead of real time. */
  offset(): number;
  /** Stores the offset in the state folder, so a restart keeps the day. */
  persist(offsetMs: number): void;
  /** Applies the offset to this process. */
  apply(offsetMs: number): void;
}

/** What a day move needs of the stack. */
export interface DayMoveDeps {
  clock: StackClock;
  offsetMinutes: number;
  /** Invocations and recovery passes running now (a move waits for none). */
  busy(): number;
  /** The function instances, told the new offset. */
  instances: ReadonlyArray<{ setClockOffset(offsetMs: number): void }>;
  /** The stack's line saying the day moved (before the pass runs, so the lines read in order). */
  moved(from: string, to: string, offsetMs: number): void;
  /**
   * The stack's line saying the day did not move, and why: the command that asked may have stopped
   * waiting (Ctrl-C), and then its answer goes nowhere.
   */
  refused(message: string): void;
  /** Runs the recovery pass, exactly as the stack's timer does. */
  recoveryPass(): Promise<ReportRun>;
  /** How long to wait for running invocations to finish (default 60 s). */
  idleTimeoutMs?: number;
}

/**
 * Moves the stack to the next quota day and runs the recovery pass.
 *
 * It first waits until no invocation runs: a call whose clock jumped a day under it would see its
 * leases and signatures expire mid-way. The new offset is stored before it is applied, so a crash
 * in between restarts on the new day rather than half on each.
 * @throws ControlRefusal when invocations are still running after `idleTimeoutMs`
 */
export async function moveToNextDay(deps: DayMoveDeps): Promise<NextDayResult> {
  // Real time for the wait: the stack's own clock may be the one about to jump.
  const { clock } = deps;
  const deadline = clock.realNow() + (deps.idleTimeoutMs ?? 60000);
  while (deps.busy() > 0) {
    if (clock.realNow() > deadline) {
      const refusal = new ControlRefusal(`the stack is still busy (${deps.busy()} invocation(s) running); try again when its terminal is quiet`);
      deps.refused(refusal.message);
      throw refusal;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const now = clock.now();
  const from = quotaDay(now, deps.offsetMinutes);
  const offsetMs = clock.offset() + nextDayShiftMs(now, deps.offsetMinutes);
  clock.persist(offsetMs);
  clock.apply(offsetMs);
  for (const i of deps.instances) i.setClockOffset(offsetMs);
  const to = quotaDay(clock.now(), deps.offsetMinutes);
  deps.moved(from, to, offsetMs);
  const r = await deps.recoveryPass();
  return { from, to, offsetMs, pass: { ok: r.ok, pass: r.pass, summary: r.summary, day: r.day, page: r.page } };
}

/** The one line: `quota day moved: 2026-11-26 → 2026-11-27 (…); recovery pass: …`. */
export function nextDayLine(r: NextDayResult): string {
  const pass = r.pass.ok
    ? `recovery pass: ${r.pass.pass}${r.pass.day ? `; report ${r.pass.day} written${r.pass.page ? `: ${r.pass.page}` : ''}` : ''}`
    : `recovery pass ${r.pass.pass} (see the quota-report log in the state folder's logs/)`;
  return `quota day moved: ${r.from} → ${r.to} (the local clock is now ${formatAhead(r.offsetMs)} ahead of real time); ${pass}`;
}

/**
 * What `next-day` says when stopped (Ctrl-C) before the stack answered: whether the stack has the
 * request (`sent`), in which case it goes on moving the day and running the pass without it, and
 * where to see what becomes of the files (`status`: the command for this state folder).
 */
export function interruptedLine(sent: boolean, status: string): string {
  return sent
    ? `next-day: stopped waiting, but the stack goes on with the day move (made once nothing else runs there) and its recovery pass, which sends deferred files at 1 call/s. Its terminal shows the move and each file as it goes, or why the day did not move; ${status} shows where they stand.`
    : 'next-day: stopped before the stack was asked: the quota day has not moved.';
}
