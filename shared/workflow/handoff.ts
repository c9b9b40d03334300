/**
 * After an intake has queued its files: make sure a sender will send them. If the lease holder is
 * accepting others' files, it will: return at once. Otherwise take the lease and send (a holder
 * that does not accept, or no longer does, can be taken over at once; see `Sender.acquire`). A
 * quota day that the send log already knows is full defers the files on the spot, without it.
 *
 * A warm instance remembers the newest send-log entry it saw (see `SeenEntry`). When that says the
 * system is idle, its intake does not show `queued`: the file is most likely sent by this very
 * invocation at once and goes straight to its outcome (one metadata write, and one copy event,
 * fewer). If the send log turns out otherwise (another instance's sender took the lease), the file
 * is shown `queued` here, safely late. The memory decides nothing else: who sends is still decided
 * by appending to the send log.
 */
import { IvrError } from '../core/errors';
import { sendable, settleable, visibleStatus, type JobVersion } from '../core/job';
import { handOffMove, type LogEntry } from '../core/sendlog';
import { CORRUPT } from '../store/ledger';
import type { Ctx } from './context';
import { today } from './context';
import { move, show } from './jobs';
import { settleFromCcc } from './resolve';
import { readTail, Sender } from './sender';

/** What the hand-off will do, as far as `tail` tells now. */
const plan = (ctx: Ctx, tail: LogEntry) => handOffMove(tail, ctx.clock.now(), today(ctx), ctx.timing, ctx.config.dailyQuota, ctx.config.quotaUtcOffsetMinutes);

/**
 * Whether an intake shows `queued` before it writes the job (see the module comment): yes, unless
 * the newest send-log entry this instance saw says it will send the file at once (or defer it).
 * A cold instance has seen none: it shows `queued`, as a file in a burst needs.
 */
export function showsQueuedNow(ctx: Ctx): boolean {
  const seen = ctx.ledger.seen.entry;
  if (!seen) return true;
  const move = plan(ctx, seen);
  return move === 'leave' || move === 'send';
}

/** The intake's files after `handOff`: their newest versions, and whether this invocation sent them. */
export interface HandOff {
  /** Newest version of each file. */
  versions: Map<string, JobVersion>;
  /** True when this invocation held the lease; false when it left its files to another sender. */
  sent: boolean;
  /** Why an object could not show what this invocation wrote for it, by job id. */
  notes: Map<string, string>;
}

/** Options of {@link handOff}. */
export interface HandOffOptions {
  /** Files whose intake did not show `queued` (it expected this invocation to send or defer them). */
  unshown?: ReadonlySet<string>;
}

/**
 * Sees the intake's queued files to a sender (see the module comment): returns at once when an
 * accepting sender holds the lease, else sends them itself. Files whose call's lifetime has passed
 * are settled from CCC first. A file left unshown by its intake and not settled here is shown now.
 */
export async function handOff(ctx: Ctx, files: JobVersion[], opts: HandOffOptions = {}): Promise<HandOff> {
  const done = await sendOrLeave(ctx, files);
  for (const v of files) {
    const now = done.versions.get(v.id) ?? v;
    // An outcome (uploaded, failed, deferred) is shown by whoever wrote it; anything else still
    // waits, for us or for another sender, and the object should say so.
    if (opts.unshown?.has(v.id) && !['uploaded', 'failed', 'deferred'].includes(visibleStatus(now))) done.versions.set(v.id, await showLate(ctx, now, done.notes));
  }
  return done;
}

/**
 * Shows a version that may no longer be the newest (another sender may have moved the job since),
 * then reads the job again so that the object ends with the newest word, not ours.
 */
async function showLate(ctx: Ctx, v: JobVersion, notes: Map<string, string>): Promise<JobVersion> {
  const shown = await show(ctx, v);
  const head = await ctx.ledger.head(v.id, v);
  const newest = head === undefined || head === CORRUPT || head.seq === v.seq ? v : head;
  const last = newest === v ? shown : await show(ctx, newest);
  if (last.note) notes.set(v.id, last.note);
  return newest;
}

async function sendOrLeave(ctx: Ctx, files: JobVersion[]): Promise<HandOff> {
  const t = ctx.timing;
  const versions = new Map(files.map((v) => [v.id, v]));
  const notes = new Map<string, string>();
  // Our own files whose call's lifetime has passed without a recorded outcome (a redelivery after a
  // lost answer or a crashed sender): ask CCC now.
  const due = files.filter((v) => settleable(v, ctx.clock.now()));
  if (due.length > 0) for (const [id, v] of await settleFromCcc(ctx, due.map((version) => ({ version })))) versions.set(id, v);

  const deadline = ctx.clock.now() + t.maxTermMs;
  let tail = await readTail(ctx, today(ctx));
  let sent = false;
  for (;;) {
    const day = today(ctx);
    const waiting = [...versions.values()].filter((v) => sendable(v, Number.MAX_SAFE_INTEGER, day));
    if (waiting.length === 0) return { versions, sent, notes };
    const next = plan(ctx, tail);
    if (next === 'defer') {
      for (const v of waiting) versions.set(v.id, await deferNow(ctx, v, day, notes));
      return { versions, sent, notes };
    }
    if (next === 'leave') return { versions, sent: false, notes };
    const got = await Sender.acquire(ctx, tail, waiting);
    if (!got.sender) {
      tail = got.tail;
      continue;
    }
    await got.sender.run();
    sent = true;
    for (const [id, v] of got.sender.versions) if (versions.has(id)) versions.set(id, v);
    for (const [id, note] of got.sender.notes) if (versions.has(id)) notes.set(id, note);
    // Our files may still wait (the lease passed to another sender, a backoff beyond our term):
    // look again, and leave them to an accepting sender or take the lease once more.
    if (ctx.clock.now() >= deadline || ![...versions.values()].some((v) => sendable(v, Number.MAX_SAFE_INTEGER, today(ctx)))) return { versions, sent, notes };
    tail = await readTail(ctx, today(ctx));
  }
}

/** The send log says today is full: defer without waiting for a sender to say so. */
async function deferNow(ctx: Ctx, v: JobVersion, day: string, notes: Map<string, string>): Promise<JobVersion> {
  const moved = await move(ctx, v, 'defer', {
    deferredDay: day,
    lastError: { code: 'QuotaExhausted', message: `the daily quota of ${ctx.config.dailyQuota} files is used up; the file is sent automatically on the next quota day` },
  });
  const newest = moved.moved ? moved.version : moved.head;
  if (!newest) throw new IvrError('LedgerCorrupt', `job ${v.id} vanished while being deferred`, { transient: true });
  if (newest.state === 'deferred') {
    // Object first, entry last (see Sender.defer): a crash between them is finished via the queue entry.
    const shown = await show(ctx, newest);
    if (shown.note) notes.set(v.id, shown.note);
    await ctx.ledger.putDeferred(newest);
    // The queue entry goes once the deferred one exists; a failure here only leaves litter a sender cleans.
    await ctx.ledger.deleteEntries([ctx.ledger.queueKey(v)]).catch(() => undefined);
  }
  return newest;
}
