/**
 * The one sender. Whoever appends the next send-log entry holds the lease and is the only
 * instance that calls `UploadIvrAudio`: it batches every queued file (its own and other
 * instances'), spaces calls a gap apart, keeps the day's quota, settles each answer into the
 * files' job chains and onto the objects, and hands over when it runs out of work.
 *
 * Two ways to hold it:
 * - lone: nothing else is waiting and the last call is more than a gap ago, so the intake appends
 *   its call directly and sends at once (no listing, no lingering): an idle file is registered in
 *   one round trip;
 * - accepting: it promises, until `acceptUntil`, to pick up files queued by others, lists the queue
 *   before each call, and lingers a listing lag after the promise ends before it exits. Everyone
 *   else returns as soon as their file is queued and shown.
 */
import { IvrError } from '../core/errors';
import { deferralMessage, deferredOn, entryBehindChain, inCall, inFlight, isFinal, nextSeq, sendable, settleable, TRANSITIONS, withHead, type DeferralCause, type JobVersion } from '../core/job';
import { reviewFromCode } from '../core/metadata';
import { afterFailedAttempt, classifyFailure, lostAnswerError, matchOutcomes, rateLimitedUntil, type ApiFailure, type UploadResponse } from '../core/outcome';
import { callEntry, carriedRoom, chooseBatch, deferralCause, easedRoom, leaseEntry, leaseView, loneCallOpen, nextWindow, openIds, quotaOn, quotaRoom, reclaim, reopened, roomAfterMiss, stateEntry, withNews, type Candidate, type CallJob, type LogEntry, type OpenCall, type QuotaState } from '../core/sendlog';
import { versioningAlert, type VersioningCheck } from '../core/versioning';
import { mapLimited } from '../runtime/concurrency';
import { CORRUPT, type EntryRef } from '../store/ledger';
import type { Ctx } from './context';
import { move, moveNewest, showNewest, showSettled, type Moved, type ShowNote } from './jobs';
import { settleFromCcc, type Unsettled } from './resolve';
import { readToTail } from './read-log';

const SETTLE_CONCURRENCY = 8;
/**
 * A file whose intake read its object longer ago than this is checked (a HEAD) before it is put in
 * a call: the key may have been overwritten meanwhile, and CCC downloads the key, not the version.
 * Younger ones (an idle file, a burst) go unchecked: their own events are seconds apart at most.
 */
const RECHECK_AFTER_MS = 10_000;
/** How long a warm instance trusts its memory of an outcome it wrote (see CreatedVersions): far longer than a call's lifetime, far shorter than pruning. */
const OWN_OUTCOME_MAX_AGE_MS = 60 * 60 * 1000;

interface Cand {
  version: JobVersion;
  /** Queue and deferred entries that point at it, deleted once it is settled. */
  entries: Set<string>;
  /** Send alone: a batch with it failed as a whole, so one bad file must not sink others again. */
  solo?: boolean;
  /** Its newest version was read (not just the one its queue entry names): it is really waiting. */
  verified?: boolean;
}

/** A call of ours whose answer was lost: settled from CCC once its lifetime has passed. */
interface LostCall {
  n: number;
  checkAfter: number;
  ids: string[];
}

/**
 * Drops open calls whose every file is settled: its version after `sending` exists (and is not
 * `uncertain`), or it never got its `sending` version and the call's window is long past (a sender
 * writes that version before it calls, so such a file was never sent). A file still in flight keeps
 * its call open, and with it its display name reserved.
 */
export async function pruneOpen(ctx: Ctx, open: OpenCall[], nowMs: number): Promise<{ open: OpenCall[]; unattempted: Map<string, number> }> {
  const kept: OpenCall[] = [];
  const unattempted = new Map<string, number>();
  for (const call of open) {
    // Per file: settled or not, and whether it counted against the day's quota.
    const states = await Promise.all(
      call.jobs.map(async (j): Promise<{ settled: boolean; attempted: boolean }> => {
        // A call whose window has not closed is in flight: nothing to read yet.
        if (nowMs <= call.notAfter + ctx.timing.skewMs) return { settled: false, attempted: true };
        // This instance's own outcome of this call needs no read: versions are created once.
        // (Recent ones only: compaction deletes a settled chain's later versions weeks later.)
        const mine = ctx.ledger.created.get(j.id, j.seq + 1);
        const recent = mine !== undefined && mine.call === call.n && nowMs - Date.parse(mine.at) < OWN_OUTCOME_MAX_AGE_MS;
        let after: JobVersion | undefined | typeof CORRUPT = recent ? mine : await ctx.ledger.readVersion(j.id, j.seq + 1);
        // An outcome naming this call comes from this call's own `sending` version: only that
        // version carries the call's number at this seq, and outcomes copy the number from it.
        const sentByThisCall = after !== undefined && after !== CORRUPT && after.call === call.n;
        if (after !== undefined && j.newSlot && !sentByThisCall) {
          // The call named the version it meant to create; if another call's `sending` took that
          // seq first, this call never sent the file, and the slot it counted comes back.
          const sending = await ctx.ledger.readVersion(j.id, j.seq);
          if (sending !== undefined && sending !== CORRUPT && sending.call !== call.n) return { settled: true, attempted: false };
        }
        // A lost answer: `uncertain` first, then what CCC said; only the newest version tells.
        if (after !== undefined && after !== CORRUPT && after.state === 'uncertain') after = await ctx.ledger.head(j.id, after);
        if (after === CORRUPT) return { settled: true, attempted: true };
        if (after !== undefined) return { settled: after.state !== 'uncertain', attempted: !j.newSlot || !(await neverProcessed(ctx, j, after)) };
        const sending = await ctx.ledger.readVersion(j.id, j.seq);
        // No `sending` version by the end of the window: the file was never sent.
        if (sending === undefined) return fenceUnsent(ctx, call, j);
        if (sending !== CORRUPT && sending.call !== call.n) return { settled: true, attempted: !j.newSlot };
        return { settled: false, attempted: true };
      }),
    );
    // File by file: settled files leave the call (their slot given back if never attempted); the
    // call stays open for the rest.
    const left = call.jobs.filter((_, i) => !states[i].settled);
    if (left.length > 0) kept.push({ ...call, jobs: left });
    const back = states.filter((x) => x.settled && !x.attempted).length;
    if (back > 0) unattempted.set(call.day, (unattempted.get(call.day) ?? 0) + back);
  }
  return { open: kept, unattempted };
}

/**
 * A file of `call` whose `sending` version was not there once the call's window had closed: the
 * call was made without it (a sender calls only once its versions are written, within the window).
 * But a write still under way may land after this read (COS slow, and its sender killed before it
 * could move the file back), and the file then be settled from CCC like one that was in the call,
 * keeping the slot given back here: a fault run counted one file short and put 51 files into a
 * 50-file day. So the seq is taken first, with the version the job had (create-if-absent): either
 * that write never lands, or it has landed, and the file stays in the call to be settled like a
 * lost answer, its slot counted. Where there is nothing to fence from, the slot stays counted too
 * (one too many, never one too few).
 */
async function fenceUnsent(ctx: Ctx, call: OpenCall, j: CallJob): Promise<{ settled: boolean; attempted: boolean }> {
  // Neither the version before nor a queue entry to fence from (a call entry of the previous
  // release names no queuedAt): the file leaves the open call as before this fence existed, its
  // slot still counted (one too many, never one too few).
  const kept = { settled: true, attempted: true };
  const before = await versionBefore(ctx, j);
  if (before === undefined || !TRANSITIONS[before.state].fence) return kept;
  if ((await move(ctx, before, 'fence')).moved) {
    ctx.log.info('a file was not in its call (no `sending` version once the window had closed): its next version is taken so that none lands late', { key: before.object.key, call: call.n, seq: j.seq });
    return { settled: true, attempted: !j.newSlot };
  }
  const there = await ctx.ledger.readVersion(j.id, j.seq);
  if (there === undefined || there === CORRUPT) return kept;
  if (there.call !== call.n) return { settled: true, attempted: !j.newSlot };
  // Written since our read, so after the window: never sent, if a GET by key never misses a write
  // that has finished. That is assumed everywhere here, but moving it on as `unsent` on that read
  // alone would cost a second registration if it ever did: left in the call instead, it is settled
  // like a lost answer (CCC asked after the call's lifetime), keeping its slot, counted once.
  return { settled: false, attempted: true };
}

/** The version a call's `sending` version of `j` follows: the one before it, or for a first version, the job its queue entry holds. */
async function versionBefore(ctx: Ctx, j: CallJob): Promise<JobVersion | undefined> {
  if (j.seq > 0) {
    const v = await ctx.ledger.readVersion(j.id, j.seq - 1);
    return v === CORRUPT ? undefined : v;
  }
  if (j.queuedAt === undefined) return undefined;
  const entry = await ctx.ledger.readEntry(ctx.ledger.queueKeyOf(j.queuedAt, j.id, 0));
  return entry && entry.job.id === j.id && entry.job.seq === 0 ? { ...entry.job, unwritten: true } : undefined;
}

/** Attempts recorded on a job's version (an `unsent` outcome keeps them; a real attempt adds one). */
async function attemptsAt(ctx: Ctx, id: string, seq: number): Promise<number> {
  const v = await ctx.ledger.readVersion(id, seq);
  return v && v !== CORRUPT ? v.attempts : -1;
}

/**
 * Whether `after`, the outcome of a call for file `j` (which took a slot for it), says the call
 * never reached CCC's processing: put back unsent (its attempts unchanged), or failed or put back
 * after a refusal before processing that gave its slot back (its outcome names the call, without
 * a slot: only such a refusal drops the slot a call took).
 */
async function neverProcessed(ctx: Ctx, j: CallJob, after: JobVersion): Promise<boolean> {
  if (after.state === 'failed') return after.slot === undefined && after.call !== undefined;
  if (after.state !== 'queued') return false;
  return (after.slot === undefined && after.call !== undefined) || after.attempts === (await attemptsAt(ctx, j.id, j.seq));
}

/** Options of {@link Sender.acquire}; the upload function passes none. */
export interface SenderOptions {
  /** The recovery pass: list everything, trust no entry's version, finish orphans. */
  recovery?: boolean;
  /** The recovery pass's check of the bucket's versioning made just now: every entry of this sender carries it. */
  bucket?: VersioningCheck;
  /**
   * The latest the sender's term may end (ms): an invocation that takes the lease a second time
   * gives its second sender only what is left of its own term, so that it still ends before SCF's
   * timeout (the deploy checks IVR_WAIT_SECONDS against it once).
   */
  termEnd?: number;
}

/** The send-lease holder (see the module comment): obtained from {@link Sender.acquire}, then worked by `run`. */
export class Sender {
  /** Newest version of every job this sender touched. */
  readonly versions = new Map<string, JobVersion>();
  /** Why an object could not show what this sender wrote for it (the intake's result reports it). */
  readonly notes = new Map<string, ShowNote>();
  /** The version (seq) each object was last shown at by this sender: the hand-off shows the rest. */
  readonly shown = new Map<string, number>();
  /**
   * Own files whose unwritten version 0 turned out to exist already (see JobVersion.unwritten):
   * their job existed before their intake, which takes them on from there; this sender leaves them.
   */
  readonly existed = new Set<string>();
  private readonly cands = new Map<string, Cand>();
  private readonly lost = new Map<number, LostCall>();
  /**
   * Jobs this sender saw final, by the seq of that version: their entries are deleted unread. An
   * entry of a later seq is a new run (the same bytes uploaded again after a failure, within our
   * term): it is read like any other, or the rerun lost its only entry and stayed `queued`.
   */
  private readonly done = new Map<string, number>();
  /** Jobs in someone else's call: not read again before they could be settled (their call's lifetime). */
  private readonly elsewhere = new Map<string, number>();
  private readonly toDelete = new Set<string>();
  private open: OpenCall[];
  private quota: QuotaState;
  private previousDay?: QuotaState;
  private deferredCount: number;
  /** When this sender stops taking on work: IVR_WAIT_SECONDS from its start, or the invocation's own end if sooner. */
  private readonly termEnd: number;
  private rateLimited = 0;
  /** After CCC refused for the rate limit (someone else calls it too), the next call waits at least until then. */
  private notBeforeFloor = 0;
  private othersChecked = false;
  /** Calls this sender made (others' open calls are pruned by reading their files' versions). */
  private readonly mine = new Set<number>();
  /** Files wait for another sender's open call to settle: look again then (see the run loop). */
  private othersSettleBy?: number;
  private othersPrunedAt = 0;
  /** The quota day whose deferred files this sender has listed: once a day at least, so none waits behind new files. */
  private deferredListedOn?: string;
  /** Until when we promised to pick up others' files: the lease end of our latest accepting entry. */
  private promised = 0;
  /** When our latest listing of the queue started. */
  private listedAt = 0;
  /** Extra room before a call, learnt from missed windows (0 until one is missed). */
  private slowMs = 0;
  /** When we checked that a file's object is still its version, for the call being prepared (see dropReplaced). */
  private readonly checkedAt = new Map<string, number>();

  private constructor(
    private readonly ctx: Ctx,
    private held: LogEntry,
    own: JobVersion[],
    private readonly opts: SenderOptions,
    /** The room to leave before a call, as the send log says COS has been (see LogEntry.slowMs). */
    room: number,
  ) {
    this.open = held.open;
    this.quota = held.quota;
    this.previousDay = held.previousDay;
    this.deferredCount = held.deferred;
    this.slowMs = room;
    this.termEnd = Math.min(ctx.clock.now() + ctx.timing.maxTermMs, opts.termEnd ?? Infinity);
    this.hold(held);
    for (const v of own) {
      this.cands.set(v.id, { version: v, entries: new Set([v.state === 'deferred' ? ctx.ledger.deferredKey(v) : ctx.ledger.queueKey(v)]) });
      this.versions.set(v.id, v);
    }
    if (held.kind === 'call') this.quota = { ...held.quota };
  }

  /**
   * Takes the lease unless its holder is accepting others' files. A holder that is not (a lone
   * call, or a sender past its promise, still listing) can be taken over at once: calls stay a
   * gap apart (each entry's window counts from its predecessor's), a file is in one call only (its
   * `sending` version), and the old holder stops at its next append, leaving what it found to us.
   * Returns the sender, or the newest entry when an accepting holder will send the files.
   */
  static async acquire(ctx: Ctx, hint: LogEntry, own: JobVersion[], opts: SenderOptions = {}): Promise<{ sender?: Sender; tail: LogEntry }> {
    const { config, timing: t } = ctx;
    let prev = hint;
    for (let tries = 0; tries < 20; tries++) {
      const now = ctx.clock.now();
      if (leaseView(prev, now, t).kind === 'accepting') return { tail: prev };
      // A lost answer is asked about a call lifetime after `notAfter`, the latest the call may have
      // started: nothing that can take time may stand between the window check and the request,
      // and an instance's first CCC call loads the SDK. A lone call's window is the one worked out
      // below, so the client is built first when a lone call is in sight (a sender that gathers
      // builds it before its first call's window, in loop; an intake that leaves its file to
      // another sender never loads it).
      if (own.length > 0 && !opts.recovery && loneCallOpen(prev, nextWindow(prev, now, t, config.quotaUtcOffsetMinutes), now, t)) ctx.api.prepare?.();
      const pruned = await pruneOpen(ctx, prev.open, now);
      const at = ctx.clock.now();
      const window = nextWindow(prev, at, t, config.quotaUtcOffsetMinutes);
      const rolled = quotaOn(prev, window.day);
      const quota = reclaim(rolled.quota, pruned.unattempted);
      const open = pruned.open;
      // A slot given back after midnight is the ended day's: its count (the report's) drops too.
      const previousDay = rolled.previousDay && reclaim(rolled.previousDay, pruned.unattempted);
      // COS has been slow (see LogEntry.slowMs): a lone call's window opens after the room its entry
      // and versions need, instead of at once and missed. Its entry records the room eased, as
      // after a call on time: a lone caller appends nothing after its call (a miss says so itself).
      const room = carriedRoom(prev, at);
      const changes = { owner: ctx.owner, now: at, quota, previousDay, open, deferred: prev.deferred, bucket: opts.bucket, slowMs: room, dailyQuota: config.dailyQuota };
      const cands: Candidate[] = own.filter((v) => sendable(v, now, window.day)).map(candidateOfVersion);
      const { batch } = chooseBatch(cands, open, { room: quotaRoom(quota, config.dailyQuota), full: quota.full, maxBatch: config.maxBatch, day: window.day });
      // Alone and on time (loneCallOpen), with every own file fitting: anything else needs a sender
      // that gathers.
      const lone = !opts.recovery && own.length > 0 && batch.length === own.length && loneCallOpen(prev, window, at, t);
      const loneWindow = lone && room > 0 ? nextWindow(prev, at + room, t, config.quotaUtcOffsetMinutes) : window;
      const entry = lone && loneWindow.day === window.day
        ? callEntry(prev, { ...changes, slowMs: easedRoom(room) }, loneWindow, batch.map(callJob(window.day)), false, t)
        : // A sender that gathers needs the room too before its first call: its promise covers it,
          // or newcomers take the lease over while it is still gathering, and nobody ever calls.
          leaseEntry(prev, changes, window.notBefore + room + t.acceptMs, t);
      const appended = await ctx.ledger.appendEntry(entry);
      if (appended.appended) {
        // A lone call is on the clock: its tail is published while its files are put into the call.
        if (entry.kind === 'lease') await publish(ctx, entry);
        ctx.log.info('send lease taken', { entry: entry.n, mode: entry.kind === 'call' ? 'lone' : 'accepting', recovery: opts.recovery === true, acceptUntil: new Date(entry.acceptUntil).toISOString(), ...(room > 0 ? { slowMs: room } : {}) });
        return { sender: new Sender(ctx, entry, own, opts, room), tail: entry };
      }
      // The entry that won is accepting: it is the newest one that matters (anything after it was
      // appended by its holder, or once it stopped accepting), so leave our files to it.
      if (appended.there && leaseView(appended.there, ctx.clock.now(), t).kind === 'accepting') return { tail: appended.there };
      prev = await readToTail(ctx, appended.there ?? prev.n + 1);
    }
    throw new IvrError('StorageError', 'could not append to the send log after 20 tries', { transient: true });
  }

  /** Works until nothing is left that this sender promised to do, then cleans up its entries. */
  async run(): Promise<void> {
    try {
      if (this.held.kind === 'call') {
        await this.makeCall(this.held);
        // Something of ours still waits (a backoff, a refusal for the rate limit, a missed window, a
        // lost answer to settle): keep the lease and go on as an accepting sender. Unless our entry
        // promised nothing and someone has already taken the lease over (a lone call can be taken
        // over at once): that holder gathers what is left, ours included, and we would learn it only
        // at our next append, after reading every queued file for nothing (seen in a 50-file burst).
        if (this.cands.size > 0 || this.lost.size > 0 || this.promised > this.now()) {
          const promised = this.held.acceptUntil > this.held.at;
          const next = promised ? undefined : await this.ctx.ledger.readEntryAt(this.held.n + 1);
          if (next) this.ctx.log.info('send lease taken over after our call; leaving the rest to its holder', { entry: this.held.n, by: next.n });
          else await this.loop();
        }
      } else {
        await this.loop();
      }
      await this.settleLost(true);
    } finally {
      await this.flushDeletes();
    }
  }

  private now = () => this.ctx.clock.now();

  private async loop(): Promise<void> {
    const { ctx } = this;
    const t = ctx.timing;
    const termEnd = this.termEnd;
    const pollMs = Math.max(100, Math.min(500, Math.round(t.listLagMs / 3)));
    for (;;) {
      // Past our term and past what we promised others, and the queue listed since (the promise's
      // last listing): hand over (what is left waits for the next sender, SCF's redelivery of our
      // own files, or the recovery pass).
      if (this.now() >= termEnd && this.now() >= this.promised && this.listedAt >= this.promised) break;
      await this.settleLost(false);
      await this.settleOthers();
      await this.pruneOthers();
      const now = this.now();
      // Our latest entry's lease, or longer: an earlier entry's promise to list for others' files
      // until its lease ended outlives a last call made too near our term's end to promise more.
      const stayUntil = Math.max(this.held.leaseUntil, this.promised);
      const window = nextWindow({ ...this.held, quota: this.quota }, Math.max(now, this.notBeforeFloor), t, ctx.config.quotaUtcOffsetMinutes);
      // List the queue just before the next window (files queued meanwhile join this call), and
      // no earlier than needed: while nothing is in hand, only until the promise to others ends.
      // Not for a window on a new quota day: its batch comes from a listing just before it, which
      // shows the files deferred just before midnight (they go first).
      const newDay = window.day !== this.quota.day;
      const wait = Math.min(window.notBefore - now - t.gatherLeadMs - this.slowMs, this.cands.size > 0 || newDay ? Infinity : stayUntil - now);
      if (wait > 10) {
        await ctx.clock.sleep(wait);
        continue;
      }
      await this.gather(window.day);
      this.rollQuota(window.day);
      const ids = openIds(this.open);
      // Files deferred on this very day go again once it has room (slots given back, the quota
      // raised): before the files dropped after them.
      const roomToday = quotaRoom(this.quota, ctx.config.dailyQuota) > 0;
      const ready = [...this.cands.values()].filter((c) => !ids.has(c.version.id) && sendable(c.version, window.notBefore, window.day, roomToday));
      const solo = ready.filter((c) => c.solo);
      const pool = solo.length > 0 ? solo : ready;
      // Kept for the deferral's log line: a deferral on a day that looks unused (its files are all
      // in this call, or waiting for the next) is told apart from one the choice made on stale room.
      const quotaSeen = { ...this.quota };
      const choice = chooseBatch(pool.map((c) => candidateOfVersion(c.version)), this.open, {
        room: quotaRoom(quotaSeen, ctx.config.dailyQuota),
        full: this.quota.full,
        maxBatch: solo.length > 0 ? 1 : ctx.config.maxBatch,
        day: window.day,
        reserved: this.inFlightNames(ids),
      });
      // A replaced file must not take a slot from one that waits: drop it, then choose again. After
      // HEADs the window is worked out again (they took time; a missed window wastes a call's room).
      if (choice.batch.length > 0 && (await this.dropReplaced(choice.batch)) !== 'none') continue;
      // Another sender's call on this day still open may give its slots back (a call refused as a
      // whole never reached CCC): until it settles, files that do not fit wait, not for tomorrow,
      // and this sender stays (within its term) to defer them once it has (see nextWake). A day CCC
      // said is full is full.
      const othersOpen = !this.quota.full && this.open.some((c) => c.day === window.day && !this.mine.has(c.n));
      // A file already deferred on this day stays as it is (deferring it again would tell nothing new).
      const toDefer = choice.defer.filter((c) => !deferredOn(this.cands.get(c.id)!.version, window.day));
      this.othersSettleBy = toDefer.length > 0 && othersOpen ? this.now() + pollMs : undefined;
      if (toDefer.length > 0 && !othersOpen) {
        // A file is deferred only on its newest version: an entry left behind by a crash may name a
        // job that was sent long ago, and must not take the room of one that waits.
        if (await this.verify(pool)) continue;
        ctx.log.info('the quota day is full: deferring', { day: window.day, used: this.quota.used, full: this.quota.full, deferring: toDefer.length, chosenOn: quotaSeen, batch: choice.batch.length });
        await this.defer(toDefer.map((c) => this.cands.get(c.id)!), window.day, deferralCause(this.quota, ctx.config.dailyQuota));
      }
      if (choice.batch.length === 0) {
        const wake = this.nextWake();
        if (now >= stayUntil) {
          // Still work within the term (a backoff, a lost answer to settle): extend the lease and stay.
          if (wake !== undefined && wake <= termEnd) {
            if (!(await this.extend(Math.min(wake, termEnd) + t.acceptMs))) break;
            continue;
          }
          break;
        }
        await ctx.clock.sleep(Math.max(10, Math.min(pollMs, stayUntil - now + 1, wake === undefined ? pollMs : wake - now)));
        continue;
      }
      // The CCC client is built before the call's window is worked out (see acquire, which builds
      // it only for a lone call: a sender that gathers, a recovery pass's too, builds it here).
      ctx.api.prepare?.();
      // After a missed window, the window leaves room for what comes before the call (the entry,
      // a version per file), as slow as COS has shown itself to be.
      // (Never past the term for it: then the window is missed again and the term ends as usual.)
      const room = Math.min(this.slowMs, Math.max(0, termEnd - this.now()));
      const from = Math.max(window.notBefore, this.now() + room, this.notBeforeFloor);
      const callWindow = from > window.notBefore ? nextWindow({ ...this.held, quota: this.quota }, from, t, ctx.config.quotaUtcOffsetMinutes) : window;
      if (callWindow.day !== window.day) {
        // The room reaches into the next quota day: choose that day's batch when it is time.
        await ctx.clock.sleep(Math.max(10, callWindow.notBefore - this.now() - t.gatherLeadMs - room));
        continue;
      }
      // A call accepts others' files only while the promise still ends within our term.
      // The room is recorded eased, as after a call on time (a miss records it again, doubled):
      // this sender may append nothing after its call.
      const entry = callEntry(this.held, { ...this.changes(), slowMs: easedRoom(this.slowMs) }, callWindow, choice.batch.map(callJob(callWindow.day)), callWindow.notAfter + t.acceptMs <= termEnd, t);
      if (!(await ctx.ledger.appendEntry(entry)).appended) {
        ctx.log.warn('send lease taken over by another instance; leaving it the rest', { entry: entry.n });
        break;
      }
      this.hold(entry);
      // Checks stand for this attempt only: a missed window, and the key is HEADed again.
      this.checkedAt.clear();
      await publish(ctx, entry);
      await this.makeCall(entry);
    }
  }


  /** Makes `entry` (just appended) ours. */
  private hold(entry: LogEntry): void {
    this.held = entry;
    if (entry.acceptUntil > entry.at) this.promised = Math.max(this.promised, entry.leaseUntil);
  }

  /**
   * Others' open calls whose window is over: files they settled (or never sent) leave the open set,
   * so that a file its sender put back in the queue (a missed window, a refusal) is sent by us.
   */
  private async pruneOthers(): Promise<void> {
    const now = this.now();
    if (now - this.othersPrunedAt < Math.max(200, this.ctx.timing.listLagMs / 3)) return;
    this.othersPrunedAt = now;
    const others = this.open.filter((c) => !this.mine.has(c.n) && !this.lost.has(c.n) && now > c.notAfter + this.ctx.timing.skewMs);
    if (others.length === 0) return;
    const pruned = await pruneOpen(this.ctx, others, now);
    this.open = [...this.open.filter((c) => !others.includes(c)), ...pruned.open];
    this.quota = reclaim(this.quota, pruned.unattempted);
    if (this.previousDay) this.previousDay = reclaim(this.previousDay, pruned.unattempted);
  }

  private changes() {
    return { owner: this.ctx.owner, now: this.now(), quota: this.quota, previousDay: this.previousDay, open: this.open, deferred: this.deferredCount, bucket: this.opts.bucket, slowMs: this.slowMs, dailyQuota: this.ctx.config.dailyQuota };
  }

  private rollQuota(day: string): void {
    const rolled = quotaOn({ ...this.held, quota: this.quota, previousDay: this.previousDay }, day);
    this.quota = rolled.quota;
    this.previousDay = rolled.previousDay;
  }

  /** Appends a lease entry to keep the lease while waiting for work we already hold. */
  private async extend(acceptUntil: number): Promise<boolean> {
    const entry = leaseEntry(this.held, this.changes(), acceptUntil, this.ctx.timing);
    if (!(await this.ctx.ledger.appendEntry(entry)).appended) return false;
    this.hold(entry);
    await publish(this.ctx, entry);
    return true;
  }

  /**
   * Appends our current state (quota, open calls) without changing the lease's times: for news
   * every later sender must see even if we make no further call (CCC said the day is full).
   */
  private async publishState(): Promise<void> {
    const { ctx } = this;
    let entry: LogEntry = stateEntry(this.held, this.changes(), ctx.timing);
    for (let tries = 0; tries < 20; tries++) {
      const appended = await ctx.ledger.appendEntry(entry);
      if (appended.appended) {
        this.hold(entry);
        await publish(ctx, entry);
        return;
      }
      // Someone took the lease over meanwhile (a lone call's lease can be taken at once), and only
      // we know the day is full: append the news after their newest entry, taking the lease back
      // and promising to pick up what is queued. Their next append collides, so they stop before
      // another call and leave their files to us (a call they already started cannot be stopped).
      const theirs = await readToTail(ctx, appended.there ?? entry.n);
      const merged = withNews(theirs, { quota: this.quota, open: this.open, mine: this.mine, deferred: this.deferredCount });
      this.quota = merged.quota;
      this.previousDay = merged.previousDay;
      this.open = merged.open;
      this.deferredCount = merged.deferred;
      // Our promise covers theirs: intakes that saw their entry left files to whoever holds the lease.
      entry = leaseEntry(theirs, this.changes(), Math.max(this.now() + ctx.timing.acceptMs, theirs.acceptUntil), ctx.timing);
      ctx.log.warn('another sender took the lease before we could say the day is full; taking it back with the news', { after: theirs.n, by: theirs.owner });
    }
    throw new IvrError('StorageError', 'could not append to the send log after 20 tries', { transient: true });
  }

  /**
   * Tells whoever holds the lease next how slow COS has been (LogEntry.slowMs), right after a missed
   * window: a lone caller that missed is often taken over before its next append, and the newcomer
   * then missed its own window the same way (at 600 ms per request, every newcomer did). One append
   * keeping the lease's times; a hint only, so losing the race or a refused write changes nothing.
   */
  private async noteSlowness(): Promise<void> {
    try {
      const entry = stateEntry(this.held, this.changes(), this.ctx.timing);
      if ((await this.ctx.ledger.appendEntry(entry)).appended) this.hold(entry);
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
    }
  }

  /** The earliest moment something we hold becomes ready. */
  private nextWake(): number | undefined {
    const times = [
      ...[...this.cands.values()].map((c) => c.version.notBefore ?? 0).filter((x) => x > this.now()),
      ...[...this.lost.values()].map((l) => l.checkAfter),
      ...(this.othersSettleBy !== undefined ? [this.othersSettleBy] : []),
    ];
    return times.length ? Math.min(...times) : undefined;
  }

  // ---- finding work ----

  /**
   * Lists the queue (and the deferred files when any may wait) and reads the jobs it has not seen,
   * for a call on quota day `day`: the day of the next window, not the day of our quota count so
   * far, which moves to it only after this (on a new day, the files deferred before it go first).
   */
  private async gather(day: string): Promise<void> {
    const { ctx } = this;
    this.listedAt = this.now();
    const refs: EntryRef[] = await ctx.ledger.listQueue();
    // Also on every gather while a day that was filled has room again: an intake may have deferred
    // a file on it without a sender (not in the count), and that file goes before ours.
    if (this.deferredCount > 0 || this.opts.recovery || this.deferredListedOn !== day || reopened(this.quota, day, ctx.config.dailyQuota)) {
      const deferred = await ctx.ledger.listDeferred();
      this.deferredListedOn = day;
      // A hint only (listings lag): it decides whether to list again, never whether a file is sent.
      this.deferredCount = deferred.length;
      refs.push(...deferred);
    }
    const byId = new Map<string, EntryRef[]>();
    for (const r of refs) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    const busy = openIds(this.open);
    await mapLimited([...byId.entries()], SETTLE_CONCURRENCY, async ([id, listed]) => {
      let entries = listed;
      const known = this.cands.get(id);
      if (known) {
        for (const e of entries) known.entries.add(e.key);
        return;
      }
      const doneAt = this.done.get(id);
      if (doneAt !== undefined) {
        const old = entries.filter((e) => e.seq <= doneAt);
        for (const e of old) this.toDelete.add(e.key);
        if (old.length === entries.length) return;
        this.done.delete(id);
        entries = entries.filter((e) => e.seq > doneAt);
      }
      if ((this.elsewhere.get(id) ?? 0) > this.now()) return;
      if (busy.has(id)) return;
      // Queued a moment ago: its intake is most likely still writing the job. Read it next time
      // rather than twice (the next listing comes before the next call, and before we leave: at
      // the last one, a file left to us is older than this, see Timing.freshEntryMs).
      if (entries.every((e) => e.queuedAt > this.now() - ctx.timing.freshEntryMs)) return;
      try {
        await this.adopt(id, entries);
      } catch (e) {
        if (!(e instanceof IvrError)) throw e;
        ctx.log.warn('could not take up a queued file; the next pass will', { job: id, code: e.code, error: e.message });
      }
    });
  }

  /**
   * Files of the batch whose object is no longer the version their job was made for (overwritten
   * or deleted since their intake read it, a while ago) end `failed` as replaced instead of being
   * sent: CCC would download the new content, which its own job sends. Says whether any object
   * was checked (HEADs take time: the caller works the window out again) and whether any dropped.
   */
  private async dropReplaced(batch: Candidate[]): Promise<'none' | 'checked' | 'dropped'> {
    const { ctx } = this;
    const now = this.now();
    // Checked for this attempt already (the window was then worked out again): not again.
    const old = batch.map((c) => this.cands.get(c.id)).filter((c): c is Cand => c !== undefined && c.version.object.queuedAt < now - RECHECK_AFTER_MS && (this.checkedAt.get(c.version.id) ?? 0) < now - RECHECK_AFTER_MS);
    if (old.length === 0) return 'none';
    for (const c of old) this.checkedAt.set(c.version.id, now);
    let dropped = false;
    await mapLimited(old, SETTLE_CONCURRENCY, async (c) => {
      const o = c.version.object;
      let current: Awaited<ReturnType<typeof ctx.objects.stat>>;
      try {
        current = await ctx.objects.stat(o.key);
      } catch (e) {
        if (!(e instanceof IvrError)) throw e;
        return; // Unknown: sent as it stands, as before this check existed.
      }
      const etag = current?.etag;
      if (current && etag === o.etag) {
        // Still this version; its headers and user metadata as they are now (the same bytes may
        // have been uploaded again with new ones) are what its status writes resend from here on.
        c.version = withHead(c.version, current, this.now());
        return;
      }
      dropped = true;
      const message = etag === undefined ? 'the object was deleted before it was sent' : 'the object was overwritten before this version was sent: the new upload is registered on its own';
      // Not sent either way; looked at again a gap later (not at once: COS refusing the write must
      // not turn into a loop of listings and HEADs), or by the next pass.
      const lookAgain = () => {
        this.cands.delete(c.version.id);
        this.elsewhere.set(c.version.id, this.now() + ctx.timing.callGapMs);
        this.checkedAt.delete(c.version.id);
      };
      try {
        // Recorded on the newest version that still waits, not only on the one in hand: a file
        // taken up from its queue entry comes with the version the entry names, and a retry or a
        // put-back since is newer. Losing the race to that version and taking it as the file's
        // state kept it in the batch as checked, and the new content went out under the old job.
        if (c.version.unwritten) {
          // An own file whose job may exist already: only its first version is ours to create.
          const first = await move(ctx, c.version, 'replaced', { lastError: { code: 'ObjectChanged', message } });
          if (!first.moved) return this.leaveExisting(c);
          this.take(first.version, []);
          ctx.log.info('file replaced before it was sent: not sent', { key: o.key, etag: o.etag, now: etag ?? 'deleted' });
          return;
        }
        const v = await moveNewest(ctx, c.version, 'replaced', (newest) => (TRANSITIONS[newest.state].replaced ? { lastError: { code: 'ObjectChanged', message } } : undefined));
        if (TRANSITIONS[v.state].replaced) {
          lookAgain();
          ctx.log.warn('could not record a replaced file; it is not sent and is looked at again', { key: o.key, code: 'ObjectChanged', error: 'the job kept moving while it was recorded' });
          return;
        }
        // Nothing to show: the object is another version now (or gone), and carries its own status.
        this.take(v, []);
        ctx.log.info('file replaced before it was sent: not sent', { key: o.key, etag: o.etag, now: etag ?? 'deleted' });
      } catch (e) {
        if (!(e instanceof IvrError)) throw e;
        lookAgain();
        ctx.log.warn('could not record a replaced file; it is not sent and is looked at again', { key: o.key, code: e.code, error: e.message });
      }
    });
    return dropped ? 'dropped' : 'checked';
  }

  /** Reads the newest version of candidates not yet verified; true when any turned out to have moved on. */
  private async verify(cands: Cand[]): Promise<boolean> {
    let moved = false;
    await mapLimited(
      cands.filter((c) => !c.verified),
      SETTLE_CONCURRENCY,
      async (c) => {
        const head = await this.ctx.ledger.head(c.version.id, c.version);
        if (head === undefined || head === CORRUPT) return;
        if (head.seq === c.version.seq) {
          c.verified = true;
          return;
        }
        moved = true;
        this.cands.delete(c.version.id);
        await this.consider(head, [...c.entries]);
        const again = this.cands.get(head.id);
        if (again) again.verified = true;
      },
    );
    return moved;
  }

  /**
   * Reads a job found in a listing and takes it on as a candidate, or cleans up after it. One read
   * of the version the entry names is enough: if the job has moved on since, the `sending` version
   * we try to write before calling already exists, and we learn the truth then.
   */
  private async adopt(id: string, entries: EntryRef[]): Promise<void> {
    const { ctx } = this;
    const newest = entries.reduce((a, b) => (b.seq > a.seq ? b : a));
    let v = this.opts.recovery ? await ctx.ledger.head(id, newest.seq) : await ctx.ledger.readVersion(id, newest.seq);
    // Version 0 of a compacted chain holds an old head: a new version may follow it.
    if (v !== undefined && v !== CORRUPT && v.seq !== newest.seq) v = await ctx.ledger.head(id, v);
    // An entry whose version 0 was left unwritten names the file's `sending` version (see
    // JobVersion.unwritten): a call that missed its window or was refused put it back in the queue
    // since, under no entry of its own. Parked as in flight until the call's lifetime passed, it
    // waited for the recovery pass although an accepting sender was there to send it.
    else if (v !== undefined && v !== CORRUPT && inFlight(v.state)) v = await ctx.ledger.head(id, v);
    if (v === undefined && newest.seq > 0) {
      // Gone, or never written: only version 0 tells (see entryBehindChain).
      const first = await ctx.ledger.readVersion(id, 0);
      if (first === CORRUPT) v = first;
      else if (entryBehindChain(newest.seq, first)) v = await ctx.ledger.head(id, first!);
    }
    if (v === undefined) {
      if (this.now() - newest.queuedAt < ctx.timing.jobLeaseMs) return; // its intake is still writing it
      v = await this.rebuild(newest);
      if (!v) return;
    }
    if (v === CORRUPT) {
      // The entry's snapshot names the file (one read, on this rare path only): the operator needs
      // its key, and an upload of it again, which rebuilds the job from what CCC holds.
      const key = (await ctx.ledger.readEntry(newest.key).catch(() => undefined))?.job.object.key;
      ctx.log.error('queued job has an unreadable version (edited or damaged by hand); left for an operator: upload the file again, and its job is rebuilt from what CCC holds', { key, job: id, code: 'LedgerCorrupt' });
      return;
    }
    await this.consider(v, entries.map((e) => e.key));
  }

  /** Decides what a job found in the queue needs, given its (possibly not newest) version. */
  private async consider(v: JobVersion, keys: string[]): Promise<void> {
    const { ctx } = this;
    this.versions.set(v.id, v);
    if (isFinal(v.state)) {
      // Settled, but its entry (and maybe its status on the object) was left behind by a crash. The
      // version read may not be the newest (a review or a rerun since): show whatever is.
      await showNewest(ctx, v);
      this.finish(v, keys);
      return;
    }
    if (inFlight(v.state)) {
      // Someone's call: settle it from CCC once the call's lifetime has passed, never before.
      if (settleable(v, this.now(), ctx.timing.skewMs)) await this.settle([{ version: v }], keys);
      else this.elsewhere.set(v.id, (v.checkAfter ?? this.now()) + ctx.timing.skewMs);
      return;
    }
    if (v.state === 'deferred') {
      const own = ctx.ledger.deferredKey(v);
      if (!keys.includes(own)) {
        // A deferral a crash or a failed write left half done: its status on the object, then its entry.
        await showSettled(ctx, v);
        await ctx.ledger.putDeferred(v);
        this.deferredCount++;
      }
      // Its own deferred entry now holds it; entries of earlier versions (the queue entry a killed
      // deferral did not delete, an older day's deferral) go now, not when it is sent days later.
      for (const k of keys) if (k !== own) this.toDelete.add(k);
      this.cands.set(v.id, { version: v, entries: new Set([own]) });
      return;
    }
    this.cands.set(v.id, { version: v, entries: new Set(keys) });
  }

  /** An entry whose intake died before writing the job: the entry's snapshot becomes the job. */
  private async rebuild(ref: EntryRef): Promise<JobVersion | undefined> {
    const { ctx } = this;
    const body = await ctx.ledger.readEntry(ref.key);
    if (!body) {
      this.toDelete.add(ref.key);
      return undefined;
    }
    const job = { ...body.job, by: ctx.owner, at: new Date(this.now()).toISOString() };
    const head = (await ctx.ledger.writeVersion(job)) ? job : await ctx.ledger.head(job.id, job.seq);
    if (head === undefined || head === CORRUPT) return undefined;
    ctx.log.warn('finished the intake of a file whose invocation vanished', { key: head.object.key, etag: head.object.etag, job: head.id });
    await showSettled(ctx, head);
    return head;
  }

  // ---- calls ----

  private async makeCall(entry: LogEntry): Promise<void> {
    const { ctx } = this;
    const call = entry.call!;
    this.mine.add(entry.n);
    this.open = entry.open;
    this.quota = { ...entry.quota };
    if (this.now() > call.notAfter) {
      // Missed before any file was put into the call (the entry's own write was that slow): the
      // files stay as they are, instead of a `sending` version each only to be moved back. The
      // call then holds nothing, as when others moved every file first.
      ctx.log.warn('call window missed before its files were put in; they stay queued', { entry: entry.n, lateMs: this.now() - call.notAfter, slowMs: this.slowMs });
      this.slowMs = roomAfterMiss(this.slowMs);
      this.release(call.jobs);
      this.closeCall(entry.n);
      await this.noteSlowness();
      return;
    }
    // Each file's `sending` version, named after this call, is what puts it in the call: whoever
    // else moved it first wins, and the file is left out.
    const sent: JobVersion[] = [];
    const published = entry.kind === 'call' && entry.acceptUntil <= entry.at ? publish(ctx, entry) : Promise.resolve();
    const putInCall = mapLimited(call.jobs, SETTLE_CONCURRENCY, async (j) => {
      const cand = this.cands.get(j.id);
      if (!cand) return;
      const moved = await move(ctx, cand.version, 'send', { call: entry.n, checkAfter: call.notAfter + ctx.timing.callLifetimeMs, slot: call.day, newSlot: j.newSlot });
      if (moved.moved) {
        cand.version = moved.version;
        this.versions.set(j.id, moved.version);
        sent.push(moved.version);
      } else if (cand.version.unwritten) {
        this.leaveExisting(cand);
      } else if (moved.head) {
        this.cands.delete(j.id);
        await this.consider(moved.head, [...cand.entries]);
      }
    });
    await Promise.all([published, putInCall]);
    // Files another sender moved first are not in this call: their slots come back, and they leave
    // the call in what we append next, so nobody prunes them and gives the same slots back again.
    const inCall = (j: CallJob) => sent.some((v) => v.id === j.id);
    this.release(call.jobs.filter((j) => !inCall(j)));
    this.open = this.open.map((c) => (c.n === entry.n ? { ...c, jobs: c.jobs.filter(inCall) } : c));
    if (sent.length === 0) {
      this.closeCall(entry.n);
      // Moved first by others: another sender, or a pruner that found no `sending` version once
      // the window had closed and fenced its seq (see fenceUnsent), our writes being that slow.
      // Then this was a missed window: the room grows as after one, or every call is fenced alike.
      if (this.now() > call.notAfter) {
        ctx.log.warn('call window missed while its files were put in; they stay queued', { entry: entry.n, lateMs: this.now() - call.notAfter, slowMs: this.slowMs });
        this.slowMs = roomAfterMiss(this.slowMs);
        await this.noteSlowness();
      }
      return;
    }
    // The send log says the bucket has (or had) versioning: create-if-absent guards nothing there
    // (two senders, the same file in two calls), so no call is made. Refused before processing,
    // like a call refused as a whole: each file fails with what to do, and its slot comes back.
    const alert = entry.bucket && versioningAlert(sent[0].object.bucket, entry.bucket.versioning);
    if (alert) {
      ctx.log.error('no call made: the bucket has versioning, so its files fail unsent', { entry: entry.n, code: alert.code, status: alert.status, files: sent.length, error: alert.message });
      const lastError = { code: alert.code, message: `not sent to CCC: ${alert.message}` };
      await this.each(sent, (v) => move(ctx, v, 'rejected', { lastError, call: entry.n, unattempted: true }));
      this.release(this.movedOut(entry.n, sent));
      this.closeIfSettled(entry.n);
      return;
    }
    const wait = call.notBefore - this.now();
    if (wait > 0) {
      // While we wait for the window, a sender that heard UploadFileOverflow may append the news
      // after our entry (see publishState): then this call must not start. The read is made as
      // late as COS allows, but not inside the window: a COS slower than the window's slack spent
      // it on this read, and the window was missed every time, however much room was left before
      // it (seen with 300 ms per request: no call at all). A first read within the room, then, if
      // it came back with time to spare, again so as to end as the window opens (as long as the
      // last read took): read only once, the room early, news appended up to seconds before our
      // window was missed and the call made after it. News appended during the last read is
      // missed; CCC then refuses the call for the quota too, and its files are deferred.
      let after: LogEntry | undefined;
      let readMs: number | undefined;
      for (let reads = 0; reads < 4; reads++) {
        const left = call.notBefore - this.now();
        const lead = readMs ?? this.slowMs;
        if (left > lead) await ctx.clock.sleep(left - lead);
        const readAt = this.now();
        after = await ctx.ledger.readEntryAt(entry.n + 1);
        readMs = this.now() - readAt;
        if (after || call.notBefore - this.now() <= readMs) break;
      }
      const news = after ? quotaOn(after, call.day).quota : undefined;
      if (news?.day === call.day && news.full) {
        ctx.log.warn('the quota day was reported full while we waited for our window: the call is not made', { entry: entry.n, by: after!.n });
        this.quota = { ...this.quota, full: true };
        await this.each(sent, (v) => move(ctx, v, 'unsent'));
        this.release(this.movedOut(entry.n, sent));
        this.closeIfSettled(entry.n);
        return;
      }
      const rest = call.notBefore - this.now();
      if (rest > 0) await ctx.clock.sleep(rest);
    }
    if (this.now() > call.notAfter) {
      // Too late for our window: the next call's spacing assumed we started by notAfter. Not sent.
      ctx.log.warn('call window missed; the files stay queued', { entry: entry.n, lateMs: this.now() - call.notAfter, slowMs: this.slowMs });
      // COS is slower than the windows allow for (listing, reading jobs, the entry, a version per
      // file): leave more room next time, or a large batch would miss every window.
      this.slowMs = roomAfterMiss(this.slowMs);
      await this.each(sent, (v) => move(ctx, v, 'unsent'));
      this.release(this.movedOut(entry.n, sent));
      this.closeIfSettled(entry.n);
      await this.noteSlowness();
      return;
    }
    // On time: the room a missed window asked for shrinks again (one COS stall is not the norm).
    this.slowMs = easedRoom(this.slowMs);
    const jobs = call.jobs.map((j) => sent.find((v) => v.id === j.id)).filter((v): v is JobVersion => v !== undefined);
    const started = this.now();
    const res = await ctx.api.upload(
      jobs.map((v) => ({ CustomFileName: v.object.customName, AudioUrl: ctx.objects.signedUrl(v.object.convertedKey ?? v.object.key, ctx.config.urlExpiresSeconds) })),
    );
    ctx.log.info('UploadIvrAudio called', {
      entry: entry.n,
      files: jobs.length,
      keys: jobs.map((v) => v.object.key),
      ok: res.ok,
      code: res.ok ? undefined : res.failure.code,
      requestId: res.ok ? res.value.requestId : res.failure.requestId,
      durationMs: this.now() - started,
    });
    if (res.ok) await this.settleAnswer(entry.n, jobs, res.value);
    else await this.settleFailure(entry.n, call, jobs, res.failure);
  }

  private async settleAnswer(n: number, jobs: JobVersion[], answer: UploadResponse): Promise<void> {
    const { ctx } = this;
    this.rateLimited = 0;
    // The URL's file name is the one CCC downloaded: a converted file's copy, not the original.
    const urlFileName = (v: JobVersion) => (v.object.convertedKey ?? v.object.key).slice((v.object.convertedKey ?? v.object.key).lastIndexOf('/') + 1);
    const outcomes = matchOutcomes(jobs.map((v) => ({ customName: v.object.customName, urlFileName: urlFileName(v) })), answer);
    await this.each(jobs, async (v, i) => {
      const o = outcomes[i];
      if (o.status === 'uploaded') {
        // The FileId goes on record before the job says so: recovery must never adopt it for another job.
        await ctx.ledger.recordFile(o.file.fileId, v.id);
        const review = reviewFromCode(o.file.status) ?? 'pending';
        // Naming the call on its outcome lets the next sender see that this call sent the file without reading its `sending` version.
        return move(ctx, v, 'registered', { call: n, upload: { fileId: o.file.fileId, audioFileName: o.file.audioFileName, requestId: answer.requestId, review } });
      }
      return move(ctx, v, 'rejected', { call: n, lastError: { code: o.errorCode, message: o.errorMessage, requestId: answer.requestId } });
    });
    this.closeIfSettled(n);
  }

  private async settleFailure(n: number, call: NonNullable<LogEntry['call']>, jobs: JobVersion[], f: ApiFailure): Promise<void> {
    const { ctx } = this;
    const lastError = { code: f.code, message: f.message, requestId: f.requestId };
    switch (classifyFailure(f)) {
      case 'quota':
        this.quota = { ...this.quota, full: true };
        // Every later sender must know at once: the send log says so before anything else happens.
        await this.publishState();
        await this.defer(jobs.map((v) => this.cands.get(v.id)!), call.day, { cccCode: f.code });
        this.closeIfSettled(n);
        return;
      case 'rate-limited':
        // Refused before processing: not an attempt, no quota used; sent again a gap later.
        await this.each(jobs, (v) => move(ctx, v, 'unsent'));
        this.release(this.movedOut(n, jobs));
        this.closeIfSettled(n);
        // We keep our own calls a gap apart, so someone else is calling CCC: back off further each time.
        this.rateLimited++;
        this.notBeforeFloor = rateLimitedUntil(this.now(), ctx.timing.callGapMs, this.rateLimited);
        ctx.log.warn('CCC refused the call for the rate limit although calls are spaced; is another client using this SdkAppId?', { code: f.code, entry: n, refusals: this.rateLimited });
        return;
      case 'permanent':
        if (jobs.length > 1) {
          // One bad file can fail a whole call: resend each alone so only that one fails.
          await this.each(jobs, (v) => move(ctx, v, 'unsent'));
          for (const v of jobs) {
            const c = this.cands.get(v.id);
            if (c) c.solo = true;
          }
        } else {
          // Refused as a whole, before processing: not an attempt, so its slot comes back, on
          // record (the failed version drops it), not only in what we append next.
          await this.each(jobs, (v) => move(ctx, v, 'rejected', { lastError, call: n, unattempted: true }));
        }
        this.release(this.movedOut(n, jobs));
        this.closeIfSettled(n);
        return;
      case 'credentials':
        // CCC did not take the signature or the token: refused before processing, so the slot comes
        // back, on record (the next version drops it). It still counts as an attempt, so a refusal
        // that lasts ends the file instead of retrying for ever, with CCC's own code: it names what
        // to fix (the role).
        await this.each(jobs, (v) => {
          const next = afterFailedAttempt(v, { maxAttempts: ctx.config.maxAttempts, nowMs: this.now(), retryBaseMs: ctx.timing.retryBaseMs, lastError, giveUp: lastError });
          return move(ctx, v, next.event, { ...next.patch, call: n, unattempted: true });
        });
        this.release(this.movedOut(n, jobs));
        this.closeIfSettled(n);
        return;
      case 'internal':
      // An internal error is an answer that does not say what happened: CCC's side may still be
      // registering (a back end that timed out behind its gateway), and a file asked about at once
      // and sent again would then be registered twice. So it is a lost answer: asked about once
      // the call's lifetime has passed.
      case 'unknown': {
        const checkAfter = call.notAfter + ctx.timing.callLifetimeMs;
        const lost = lostAnswerError(f, ctx.timing.callLifetimeMs);
        await this.each(jobs, (v) => move(ctx, v, 'lost', { checkAfter, lastError: lost }));
        this.lost.set(n, { n, checkAfter, ids: jobs.map((v) => v.id) });
        return;
      }
    }
  }

  /**
   * Settles files from what CCC holds (their call's lifetime has passed, or CCC answered). Those
   * CCC could not be asked about stay as they are and are asked about again shortly.
   */
  private async settle(files: Unsettled[], keys: string[], n?: number): Promise<number> {
    const settled = await settleFromCcc(this.ctx, files);
    for (const v of settled.values()) this.take(v, keys);
    const left = files.filter((f) => !settled.has(f.version.id));
    if (n !== undefined) {
      if (left.length > 0) this.lost.set(n, { n, checkAfter: this.now() + this.ctx.timing.retryBaseMs, ids: left.map((f) => f.version.id) });
      else this.closeCall(n);
    }
    for (const f of left) this.versions.set(f.version.id, f.version);
    return settled.size;
  }

  /** Our calls whose answer was lost, once their lifetime has passed (or, at the end, if it passes within the term). */
  private async settleLost(atEnd: boolean): Promise<void> {
    const { ctx } = this;
    for (const l of [...this.lost.values()]) {
      const wait = l.checkAfter - this.now();
      if (wait > 0) {
        if (!atEnd || this.now() + wait > this.termEnd) continue;
        await ctx.clock.sleep(wait);
      }
      const files: Unsettled[] = [];
      for (const id of l.ids) {
        const v = this.versions.get(id);
        if (v && inFlight(v.state)) files.push({ version: { ...v, checkAfter: Math.min(v.checkAfter ?? 0, this.now()) } });
      }
      this.lost.delete(l.n);
      await this.settle(files, [], l.n);
    }
  }

  /** Open calls of earlier senders whose lifetime has passed: settle their files from CCC. */
  private async settleOthers(): Promise<void> {
    if (this.othersChecked) return;
    this.othersChecked = true;
    const { ctx } = this;
    // The lifetime on the caller's clock too (see settleable): checked once, a call looked at in
    // the skew's last moments found every file not yet settleable, and stayed open until the
    // recovery pass (a review found it).
    for (const call of this.open.filter((c) => !this.lost.has(c.n) && c.notAfter + ctx.timing.callLifetimeMs + ctx.timing.skewMs <= this.now())) {
      const files: Unsettled[] = [];
      // Files whose own check is due later than the call's lifetime says (CCC_TIMEOUT_SECONDS
      // lowered between deploys): settled by a later sender or pass. (An unreadable chain does not
      // hold the call: it never becomes readable, and its name would stay reserved for good.)
      let notYet = 0;
      for (const j of call.jobs) {
        const head = await ctx.ledger.head(j.id, Math.max(0, j.seq - 1));
        // Still sending in this call, or its answer lost: settled from CCC now (the call's
        // lifetime has passed). Closing the call without it would free its display name while
        // CCC may hold it, and a file of the same name could then adopt its registration.
        if (head === CORRUPT) continue;
        if (head && inCall(head, call.n, j.seq) && inFlight(head.state)) {
          if (settleable(head, this.now(), this.ctx.timing.skewMs)) files.push({ version: head });
          else notYet++;
        } else if (head) this.versions.set(head.id, head);
      }
      const settled = await this.settle(files, []);
      const stillOpen = (await pruneOpen(ctx, [call], this.now())).open.length > 0;
      if (!stillOpen || (notYet === 0 && settled === files.length)) this.closeCall(call.n);
    }
  }

  // ---- settling ----

  /** Runs `step` for each file and takes its newest version; one file's failure never stops the others. */
  private async each(jobs: JobVersion[], step: (v: JobVersion, i: number) => Promise<Moved>): Promise<void> {
    await mapLimited(
      jobs.map((v, i) => ({ v, i })),
      SETTLE_CONCURRENCY,
      async ({ v, i }) => {
        try {
          const moved = await step(v, i);
          const newest = moved.moved ? moved.version : moved.head;
          if (newest) {
            await this.show(newest);
            this.take(newest, []);
          }
        } catch (e) {
          if (!(e instanceof IvrError)) throw e;
          // The ledger keeps the call open; the next sender or the recovery pass settles it.
          this.ctx.log.error('could not settle a file after its call; it stays for the next pass', { key: v.object.key, code: e.code, error: e.message });
        }
      },
    );
  }

  /** Records a job's newest version: final ones are done (their entries deleted), others stay candidates. */
  private take(v: JobVersion, keys: string[]): void {
    this.versions.set(v.id, v);
    const cand = this.cands.get(v.id);
    const entries = [...(cand?.entries ?? []), ...keys];
    if (isFinal(v.state)) {
      this.cands.delete(v.id);
      this.finish(v, entries);
    } else if (inFlight(v.state)) {
      this.cands.delete(v.id);
    } else if (cand) {
      cand.version = v;
    } else if (v.state === 'queued') {
      this.cands.set(v.id, { version: v, entries: new Set(entries) });
    }
  }

  /** Shows a version on its object as settled (see `showSettled`), keeping which one and why it could not (see `shown`, `notes`). */
  private async show(v: JobVersion): Promise<void> {
    const { version, shown } = await showSettled(this.ctx, v);
    // Found newer while showing (another sender moved the job): that is the file's state now, also
    // for the hand-off's answer (an older one would say `queued` and ask SCF to deliver again).
    if (version.seq > (this.versions.get(v.id)?.seq ?? -1)) this.versions.set(v.id, version);
    this.shown.set(v.id, version.seq);
    if (shown.note) this.notes.set(v.id, shown.note);
    else this.notes.delete(v.id);
  }

  /** An own file whose job existed before its intake (see {@link Sender.existed}): not ours to move. */
  private leaveExisting(c: Cand): void {
    this.cands.delete(c.version.id);
    this.versions.delete(c.version.id);
    this.existed.add(c.version.id);
  }

  private finish(v: JobVersion, keys: Iterable<string>): void {
    this.done.set(v.id, Math.max(v.seq, this.done.get(v.id) ?? -1));
    for (const k of keys) this.toDelete.add(k);
  }

  /** Moves files to the next quota day: their job says so, their object says so, and `deferred/` lists them. */
  private async defer(cands: Cand[], day: string, cause: DeferralCause): Promise<void> {
    const { ctx } = this;
    await mapLimited(cands, SETTLE_CONCURRENCY, async (c) => {
      try {
        const moved = await move(ctx, c.version, 'defer', { deferredDay: day, lastError: { code: 'QuotaExhausted', message: deferralMessage(day, cause) } });
        if (!moved.moved && c.version.unwritten) return this.leaveExisting(c);
        const v = moved.moved ? moved.version : moved.head;
        if (!v) return;
        this.versions.set(v.id, v);
        if (v.state !== 'deferred') return this.take(v, []);
        // The object first, the entry last: until the entry exists, the queue entry still leads a
        // sender here and `consider` finishes both. (The other order could leave the object saying
        // `queued` for days, with nobody looking.)
        await this.show(v);
        await ctx.ledger.putDeferred(v);
        for (const k of c.entries) if (k !== ctx.ledger.deferredKey(v)) this.toDelete.add(k);
        this.cands.delete(v.id);
        this.deferredCount++;
        ctx.log.info('file deferred to the next quota day', { key: v.object.key, etag: v.object.etag, day });
      } catch (e) {
        if (!(e instanceof IvrError)) throw e;
        ctx.log.error('could not defer a file; the next pass will', { key: c.version.object.key, code: e.code, error: e.message });
      }
    });
  }

  /** Gives back the quota slots these files took in a call that never reached CCC's processing. */
  private release(files: Array<{ newSlot?: boolean }>): void {
    this.quota = { ...this.quota, used: Math.max(0, this.quota.used - files.filter((f) => f.newSlot).length) };
  }

  private closeCall(n: number): void {
    this.open = this.open.filter((c) => c.n !== n);
    this.lost.delete(n);
  }

  /** Files of call `n` still in it: their newest version we know is its `sending` or `uncertain` one. */
  private stillIn(n: number, files: Array<{ id: string }>): Array<{ id: string }> {
    return files.filter((f) => {
      const v = this.versions.get(f.id);
      return v !== undefined && inFlight(v.state) && v.call === n;
    });
  }

  /** Files of call `n` that have left it (their outcome is written): the ones whose slots may come back. */
  private movedOut<F extends { id: string }>(n: number, files: F[]): F[] {
    const left = new Set(this.stillIn(n, files).map((f) => f.id));
    return files.filter((f) => !left.has(f.id));
  }

  /**
   * Closes our call `n` once every file has left it. A file whose outcome could not be written (COS
   * refused the write) is still `sending` in it: the call stays open with that file alone, keeping
   * its display name reserved, until someone settles it from CCC after the call's lifetime. Closing
   * it would let a file of the same name be sent meanwhile, and this one adopt that registration.
   */
  private closeIfSettled(n: number): void {
    const call = this.open.find((c) => c.n === n);
    const left = call ? new Set(this.stillIn(n, call.jobs).map((f) => f.id)) : new Set<string>();
    if (!call || left.size === 0) return this.closeCall(n);
    this.open = this.open.map((c) => (c.n === n ? { ...c, jobs: c.jobs.filter((j) => left.has(j.id)) } : c));
    this.ctx.log.warn('a file of our call could not be settled; its call stays open until it is', { entry: n, files: left.size });
  }

  /**
   * Display names of files we know to be in flight in no call: a job the previous version left
   * `calling` is migrated to an `uncertain` version without a call number, so no open call reserves
   * its name until it is settled from CCC. (A version that names its call is reserved by that call
   * while it is open; once the call is pruned, such a version we hold is only out of date.)
   */
  private inFlightNames(openIdsNow: ReadonlySet<string>): Set<string> {
    const names = new Set<string>();
    for (const v of this.versions.values()) if (inFlight(v.state) && v.call === undefined && !openIdsNow.has(v.id)) names.add(v.object.customName);
    return names;
  }

  private async flushDeletes(): Promise<void> {
    if (this.toDelete.size === 0) return;
    try {
      await this.ctx.ledger.deleteEntries([...this.toDelete]);
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
      // Harmless: a later pass sees the entries, finds their jobs settled and deletes them.
      this.ctx.log.warn('could not delete settled queue entries', { count: this.toDelete.size, code: e.code });
    }
  }
}

const candidateOfVersion = (v: JobVersion): Candidate => ({ id: v.id, seq: nextSeq(v), name: v.object.customName, queuedAt: v.object.queuedAt, slot: v.slot });
/** A candidate as the call entry lists it: the `sending` version it is about to get, and whether it takes a slot. */
const callJob = (day: string) => (c: Candidate): CallJob => ({ id: c.id, seq: c.seq, name: c.name, newSlot: c.slot !== day, ...(c.seq === 0 ? { queuedAt: c.queuedAt } : {}) });

/** Publishes the newest entry for readers. A failure only makes readers walk a few entries further. */
async function publish(ctx: Ctx, entry: LogEntry): Promise<void> {
  try {
    await ctx.ledger.publishTail(entry);
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    ctx.log.warn('could not publish the send-log tail', { entry: entry.n, code: e.code });
  }
}
