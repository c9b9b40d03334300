/**
 * After an intake has queued its files: make sure a sender will send them. If the lease holder is
 * accepting others' files, it will: return at once. Otherwise take the lease and send (a holder
 * that does not accept, or no longer does, can be taken over at once; see `Sender.acquire`). A
 * quota day that the send log already knows is full defers the files on the spot, without it.
 *
 * A warm instance's intake that expects this to send its file at once leaves the job's version 0
 * unwritten (see JobVersion.unwritten): the call made at once creates it as `sending`; any other
 * way on writes it as `queued` first, and the file is left to another sender only on a send-log
 * read made after that. A create that finds the job there already gives the file back to its
 * intake (`HandOff.existed`).
 *
 * A warm instance remembers the newest send-log entry it saw (see `SeenEntry`). When that says the
 * system is idle, its intake does not show `queued`: the file is most likely sent by this very
 * invocation at once and goes straight to its outcome (one metadata write, and one copy event,
 * fewer). If the send log turns out otherwise (another instance's sender took the lease), the file
 * is shown `queued` here, safely late. The memory decides nothing else: who sends is still decided
 * by appending to the send log.
 */
import { IvrError } from '../core/errors';
import { deferralMessage, sendable, settleable, storedForm, type DeferralCause, type JobVersion } from '../core/job';
import { deferralCause, handOffMove, quotaOn, type LogEntry } from '../core/sendlog';
import type { Ctx } from './context';
import { today } from './context';
import { materialize, move, show, showNewest, type ShowNote } from './jobs';
import { settleFromCcc } from './resolve';
import { Sender } from './sender';
import { readTail } from './read-log';

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
  notes: Map<string, ShowNote>;
  /** Files whose unwritten version 0 turned out to exist already: their job existed before their intake (see JobVersion.unwritten). */
  existed: Set<string>;
  /** Files whose intake left them unshown and that this invocation could not show either (COS refused): SCF must deliver again. */
  notShown: Set<string>;
}

/** Options of {@link handOff}. */
export interface HandOffOptions {
  /** Files whose intake did not show `queued` (it expected this invocation to send or defer them). */
  unshown?: ReadonlySet<string>;
}

/** What the hand-off showed, and what it still has to show. */
interface Showing {
  unshown: ReadonlySet<string>;
  /** The version (seq) each object was last shown at by this invocation. */
  shown: Map<string, number>;
  notes: Map<string, ShowNote>;
  notShown: Set<string>;
}

/**
 * Sees the intake's queued files to a sender (see the module comment): returns at once when an
 * accepting sender holds the lease, else sends them itself. Files whose call's lifetime has passed
 * are settled from CCC first. A file its intake left unshown is shown `queued` as soon as it turns
 * out to wait, and at the end any such file this invocation did not show at its newest version is.
 */
export async function handOff(ctx: Ctx, files: JobVersion[], opts: HandOffOptions = {}): Promise<HandOff> {
  const showing: Showing = { unshown: opts.unshown ?? new Set(), shown: new Map(), notes: new Map(), notShown: new Set() };
  const existed = new Set<string>();
  const done = await sendOrLeave(ctx, files, showing, existed);
  // A file this invocation did not put into a call after all (its term ended first) is written as it is.
  await materializeAll(ctx, done.versions, existed);
  await showUnshown(ctx, done.versions, showing);
  return { ...done, existed, notes: showing.notes, notShown: showing.notShown };
}

/**
 * Shows each file its intake left unshown whose newest version this invocation has not shown:
 * once it is known to wait, and at the end. A metadata write COS refuses leaves the file to SCF's
 * redelivery (`notShown`), without failing the others.
 */
async function showUnshown(ctx: Ctx, versions: Map<string, JobVersion>, s: Showing): Promise<void> {
  for (const id of s.unshown) {
    const v = versions.get(id);
    if (!v || s.shown.get(id) === v.seq) continue;
    try {
      const { version, shown } = await showNewest(ctx, v);
      versions.set(id, version);
      s.shown.set(id, version.seq);
      if (shown.note) s.notes.set(id, shown.note);
      s.notShown.delete(id);
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
      s.notShown.add(id);
      ctx.log.warn('could not show a file its intake left unshown; SCF will deliver it again', { key: v.object.key, code: e.code, error: e.message });
    }
  }
}

async function sendOrLeave(ctx: Ctx, files: JobVersion[], showing: Showing, existed: Set<string>): Promise<Pick<HandOff, 'versions' | 'sent'>> {
  const t = ctx.timing;
  const versions = new Map(files.map((v) => [v.id, v]));
  // Our own files whose call's lifetime has passed without a recorded outcome (a redelivery after a
  // lost answer or a crashed sender): ask CCC now.
  const due = files.filter((v) => settleable(v, ctx.clock.now(), ctx.timing.skewMs));
  if (due.length > 0) for (const [id, v] of await settleFromCcc(ctx, due.map((version) => ({ version })))) versions.set(id, v);

  const deadline = ctx.clock.now() + t.maxTermMs;
  let tail = await readTail(ctx, today(ctx));
  let sent = false;
  for (;;) {
    const day = today(ctx);
    const next = plan(ctx, tail);
    // Not sent at once after all (deferred now, another sender holds the lease, or the next call
    // must wait): the files wait, as jobs a sender can read (version 0, written now). Left to
    // another sender only on a send log read after that: the entry read before may be from just
    // before that sender's last listing, which then found the entry without its job and left it.
    if (next !== 'send-now' && (await materializeAll(ctx, versions, existed)) && next === 'leave') {
      tail = await readTail(ctx, day);
      continue;
    }
    const waiting = [...versions.values()].filter((v) => sendable(v, Number.MAX_SAFE_INTEGER, day));
    if (waiting.length === 0) return { versions, sent };
    if (next === 'defer') {
      // Said as the send log knows it: CCC closed the day, or our count filled it.
      const cause = deferralCause(quotaOn(tail, day).quota, ctx.config.dailyQuota);
      for (const v of waiting) versions.set(v.id, await deferNow(ctx, v, day, cause, showing));
      return { versions, sent };
    }
    // The files wait, and their objects say so now.
    if (next !== 'send-now') await showUnshown(ctx, versions, showing);
    if (next === 'leave') return { versions, sent: false };
    const got = await Sender.acquire(ctx, tail, waiting, { termEnd: deadline });
    if (!got.sender) {
      tail = got.tail;
      continue;
    }
    await got.sender.run();
    sent = true;
    for (const id of got.sender.existed) {
      versions.delete(id);
      existed.add(id);
    }
    for (const [id, v] of got.sender.versions) if (versions.has(id)) versions.set(id, v);
    for (const [id, seq] of got.sender.shown) if (versions.has(id)) showing.shown.set(id, seq);
    for (const [id, note] of got.sender.notes) if (versions.has(id)) showing.notes.set(id, note);
    // Our files may still wait (the lease passed to another sender, a backoff beyond our term):
    // look again, and leave them to an accepting sender or take the lease once more.
    if (ctx.clock.now() >= deadline || ![...versions.values()].some((v) => sendable(v, Number.MAX_SAFE_INTEGER, today(ctx)))) return { versions, sent };
    tail = await readTail(ctx, today(ctx));
  }
}

/** Writes version 0 of each file whose intake left it unwritten (see `materialize`), noting those whose job existed already; true when there was any. */
async function materializeAll(ctx: Ctx, versions: Map<string, JobVersion>, existed: Set<string>): Promise<boolean> {
  let any = false;
  for (const [id, v] of versions) {
    if (!v.unwritten) continue;
    any = true;
    if (await materialize(ctx, v)) versions.set(id, storedForm(v));
    else {
      // No longer this hand-off's: the intake takes the existing job on (see HandOff.existed).
      versions.delete(id);
      existed.add(id);
    }
  }
  return any;
}

/** The send log says today is full: defer without waiting for a sender to say so. */
async function deferNow(ctx: Ctx, v: JobVersion, day: string, cause: DeferralCause, showing: Showing): Promise<JobVersion> {
  const moved = await move(ctx, v, 'defer', {
    deferredDay: day,
    lastError: { code: 'QuotaExhausted', message: deferralMessage(day, cause) },
  });
  const newest = moved.moved ? moved.version : moved.head;
  if (!newest) throw new IvrError('LedgerCorrupt', `job ${v.id} vanished while being deferred`, { transient: true });
  if (newest.state === 'deferred') {
    // Object first, entry last (see Sender.defer): a crash between them is finished via the queue entry.
    const shown = await show(ctx, newest);
    showing.shown.set(v.id, newest.seq);
    if (shown.note) showing.notes.set(v.id, shown.note);
    await ctx.ledger.putDeferred(newest);
    // The queue entry goes once the deferred one exists; a failure here only leaves litter a sender cleans.
    await ctx.ledger.tidyEntries([ctx.ledger.queueKey(v)]);
  }
  return newest;
}
