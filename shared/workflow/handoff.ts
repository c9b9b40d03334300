/**
 * After an intake has queued its files: make sure a sender will send them. If the lease holder is
 * accepting others' files, it will: return at once. Otherwise take the lease and send (a holder
 * that does not accept, or no longer does, can be taken over at once; see `Sender.acquire`). A
 * quota day that the send log already knows is full defers the files on the spot, without it.
 */
import { IvrError } from '../core/errors';
import { sendable, settleable, type JobVersion } from '../core/job';
import { leaseView, quotaOn, quotaRoom, type LogEntry } from '../core/sendlog';
import type { Ctx } from './context';
import { today } from './context';
import { move, show } from './jobs';
import { settleFromCcc } from './resolve';
import { readTail, Sender } from './sender';

/** The intake's files after `handOff`: their newest versions, and whether this invocation sent them. */
export interface HandOff {
  /** Newest version of each file. */
  versions: Map<string, JobVersion>;
  /** True when this invocation held the lease; false when it left its files to another sender. */
  sent: boolean;
}

/**
 * Sees the intake's queued files to a sender (see the module comment): returns at once when an
 * accepting sender holds the lease, else sends them itself. Files whose call's lifetime has passed
 * are settled from CCC first.
 */
export async function handOff(ctx: Ctx, files: JobVersion[]): Promise<HandOff> {
  const { timing: t, config } = ctx;
  const versions = new Map(files.map((v) => [v.id, v]));
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
    if (waiting.length === 0) return { versions, sent };
    if (dayIsFull(tail, day, config.dailyQuota)) {
      for (const v of waiting) versions.set(v.id, await deferNow(ctx, v, day));
      return { versions, sent };
    }
    if (leaseView(tail, ctx.clock.now(), t).kind === 'accepting') return { versions, sent: false };
    const got = await Sender.acquire(ctx, tail, waiting);
    if (!got.sender) {
      tail = got.tail;
      continue;
    }
    await got.sender.run();
    sent = true;
    for (const [id, v] of got.sender.versions) if (versions.has(id)) versions.set(id, v);
    // Our files may still wait (the lease passed to another sender, a backoff beyond our term):
    // look again, and leave them to an accepting sender or take the lease once more.
    if (ctx.clock.now() >= deadline || ![...versions.values()].some((v) => sendable(v, Number.MAX_SAFE_INTEGER, today(ctx)))) return { versions, sent };
    tail = await readTail(ctx, today(ctx));
  }
}

/**
 * Whether the send log already settles that `day` has no room: CCC said so, or its slots are used
 * by calls that are all closed. A call still open may have never reached CCC and give its slots
 * back, which only a sender (pruning it) can tell: then the files go to a sender, not to tomorrow.
 */
function dayIsFull(tail: LogEntry, day: string, dailyQuota: number): boolean {
  const { quota } = quotaOn(tail, day);
  if (quota.full) return true;
  return quotaRoom(quota, dailyQuota) === 0 && !tail.open.some((c) => c.day === day);
}

/** The send log says today is full: defer without waiting for a sender to say so. */
async function deferNow(ctx: Ctx, v: JobVersion, day: string): Promise<JobVersion> {
  const moved = await move(ctx, v, 'defer', {
    deferredDay: day,
    lastError: { code: 'QuotaExhausted', message: `the daily quota of ${ctx.config.dailyQuota} files is used up; the file is sent automatically on the next quota day` },
  });
  const newest = moved.moved ? moved.version : moved.head;
  if (!newest) throw new IvrError('LedgerCorrupt', `job ${v.id} vanished while being deferred`, { transient: true });
  if (newest.state === 'deferred') {
    // Object first, entry last (see Sender.defer): a crash between them is finished via the queue entry.
    await show(ctx, newest);
    await ctx.ledger.putDeferred(newest);
    // The queue entry goes once the deferred one exists; a failure here only leaves litter a sender cleans.
    await ctx.ledger.deleteEntries([ctx.ledger.queueKey(v)]).catch(() => undefined);
  }
  return newest;
}
