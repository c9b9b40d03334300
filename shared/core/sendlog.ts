/**
 * The send log: pure decisions about the one sender, the rate limit and the daily quota.
 *
 * The log is a chain of entries `send/<n>`, each created with `x-cos-forbid-overwrite`. Only the
 * holder of the newest entry may make calls, and only by appending an entry first, so the entry
 * number is a fencing token: two would-be senders collide on the same name and one loses. Each
 * entry carries the coordinator's whole state forward (the quota day's count, the latest call's
 * window, the calls whose outcome is not yet known to be recorded), so whoever appends next
 * needs only its predecessor, read by key, never a listing.
 *
 * An entry also states the lease: until `acceptUntil` its owner promises to pick up files queued
 * by others (it keeps listing the queue until `leaseUntil = acceptUntil + listLag`, long enough
 * for a late listing to show them); between the two a newcomer waits; after `leaseUntil` anyone
 * may take over by appending.
 */
import type { DeferralCause } from './job';
import type { Timing } from './timing';
import { BUCKET_VERSIONING, mergedCheck, type VersioningCheck } from './versioning';
import { DAY_MS, nextQuotaDayStart, quotaDay } from './zone';

/** A file in a call, as the send log records it. */
export interface CallJob {
  id: string;
  /** The job's `sending` version for this call. */
  seq: number;
  name: string;
  /** This call takes the job's quota slot for the day (false: it holds one from an earlier call). */
  newSlot: boolean;
  /**
   * When `seq` is 0 (the `sending` version is the job's first: its intake left version 0 to the
   * call), its queue entry's `queuedAt`: the entry holds the job, from which a pruner fences that
   * seq when the version is missing after the window (see pruneOpen).
   */
  queuedAt?: number;
}

/** A call whose files may not all have their outcome recorded in their job chains yet. */
export interface OpenCall {
  n: number;
  /** The latest moment the call may have started (ms); its lifetime counts from here. */
  notAfter: number;
  /** The quota day it counted against. */
  day: string;
  jobs: CallJob[];
}

/** Files attempted on one quota day by this product, and whether CCC said the day is spent. */
export interface QuotaState {
  day: string;
  used: number;
  full: boolean;
  /**
   * Our count reached the appender's daily quota at some point of the day. An intake that finds the
   * day full defers its file without a sender, so the deferred count does not show it: once the day
   * has room again (slots given back, the quota raised), files dropped after it must not go ahead
   * of it in a lone call ({@link loneCallOpen}). Absent in entries of earlier releases.
   */
  filled?: true;
}

/** `q`, marked {@link QuotaState.filled} when its count has reached `dailyQuota` (undefined: not known, left as it is). */
function markFilled(q: QuotaState, dailyQuota: number | undefined): QuotaState {
  return !q.filled && dailyQuota !== undefined && q.used >= dailyQuota ? { ...q, filled: true } : q;
}

/** One send-log entry, `send/<n>`: a lease or a call, carrying the coordinator's whole state forward. */
export interface LogEntry {
  v: 2;
  n: number;
  /** The instance that appended it (an invocation id). */
  owner: string;
  /** When it was appended, by its owner's clock (ms). */
  at: number;
  /** `call`: its owner also makes the call in `call`; `lease`: it takes the log without calling. */
  kind: 'lease' | 'call';
  /** Until then (ms) its owner picks up files queued by others. */
  acceptUntil: number;
  /** Until then (ms) its owner may still list and call; after it anyone may take over by appending. */
  leaseUntil: number;
  /** End of the latest call's start window, from any owner: the next call waits a gap after it. */
  lastCallNotAfter?: number;
  /** `call` entries: the call's start window (ms), the quota day it counts against, and its files. */
  call?: { notBefore: number; notAfter: number; day: string; jobs: CallJob[] };
  quota: QuotaState;
  /** The day before `quota.day` as it ended, kept for the daily report. */
  previousDay?: QuotaState;
  open: OpenCall[];
  /** About how many files wait in `deferred/`; a sender lists them only when this is not 0. */
  deferred: number;
  /**
   * The recovery pass's latest check of the bucket's versioning (once per quota day), carried
   * forward by every entry: a sender whose entry says the bucket has or had versioning makes no
   * call (core/versioning.ts), and every intake learns it from the tail it reads anyway.
   */
  bucket?: VersioningCheck;
  /**
   * How much room (ms) the latest sender needed before a call for what comes first (the entry, a
   * version per file), learnt from windows it missed because COS was slow; absent when none.
   * Carried forward, so that whoever holds the lease next starts from it instead of missing its
   * own first windows (with COS slower than a window's slack, newcomers kept taking the lease
   * over and missing, and no call was made until the recovery pass).
   */
  slowMs?: number;
}

/** The most room a sender leaves before a call after missed windows, however slow COS is. */
export const MAX_ROOM_MS = 10_000;

/** How fast a recorded slowness ({@link LogEntry.slowMs}) fades: a slow spell passes, and an idle file minutes later must not wait for it. */
export const SLOW_HALF_LIFE_MS = 30_000;

/** Less than this is no room at all. */
const MIN_ROOM_MS = 100;

/** The room the next holder starts with: what `prev` recorded, halved for every half-life since. */
export function carriedRoom(prev: LogEntry, nowMs: number): number {
  if (!prev.slowMs) return 0;
  const room = Math.floor(Math.min(prev.slowMs, MAX_ROOM_MS) * 0.5 ** (Math.max(0, nowMs - prev.at) / SLOW_HALF_LIFE_MS));
  return room >= MIN_ROOM_MS ? room : 0;
}

/** The room after a call made on time: halved (one slow spell is not how COS is), none once small. */
export const easedRoom = (ms: number): number => (ms / 2 >= MIN_ROOM_MS ? Math.floor(ms / 2) : 0);

/**
 * The room after a missed window: doubled, from a quarter second. Generous on purpose: what a
 * sender that gathers needs before its call (listing, reading jobs, the entry, a version per file)
 * is several requests, and its promise to others is measured by this room; an idle file after a
 * slow spell does not pay for it, since a recorded room fades (see carriedRoom).
 */
export const roomAfterMiss = (room: number): number => Math.min(Math.max(2 * room, 250), MAX_ROOM_MS);

/** The state before the first entry. */
export function genesis(today: string): LogEntry {
  return { v: 2, n: 0, owner: '', at: 0, kind: 'lease', acceptUntil: 0, leaseUntil: 0, quota: { day: today, used: 0, full: false }, open: [], deferred: 0 };
}

/** How a newcomer sees the newest entry. */
export type LeaseView =
  /** Its owner will pick up anything queued now: return. */
  | { kind: 'accepting' }
  /** Its owner no longer accepts but may still be finishing: wait until `until`, then look again. */
  | { kind: 'closing'; until: number }
  /** Nobody holds it: append to take it. */
  | { kind: 'free' };

/** How a newcomer should treat the newest entry at `nowMs`, allowing for clock skew either way. */
export function leaseView(tail: LogEntry, nowMs: number, t: Timing): LeaseView {
  if (nowMs < tail.acceptUntil - t.skewMs) return { kind: 'accepting' };
  if (nowMs < tail.leaseUntil + t.skewMs) return { kind: 'closing', until: tail.leaseUntil + t.skewMs };
  return { kind: 'free' };
}


/** The quota as of `day`: a new day starts from zero, and the old one is kept for the report. */
export function quotaOn(prev: LogEntry, day: string): { quota: QuotaState; previousDay?: QuotaState } {
  if (prev.quota.day === day) return { quota: prev.quota, previousDay: prev.previousDay };
  if (prev.quota.day > day) return { quota: prev.quota, previousDay: prev.previousDay }; // a clock behind: never go back
  return { quota: { day, used: 0, full: false }, previousDay: prev.quota };
}

/** Gives back quota reserved by calls whose files were never attempted (never sent, or refused unprocessed). */
export function reclaim(q: QuotaState, unattempted: Map<string, number>): QuotaState {
  const n = unattempted.get(q.day) ?? 0;
  return n > 0 ? { ...q, used: Math.max(0, q.used - n) } : q;
}

/**
 * Whether day `day` was filled and has room again (slots given back, the quota raised): files an
 * intake deferred on it without a sender (not in the send log's count) may wait, and go first.
 */
export const reopened = (q: QuotaState, day: string, dailyQuota: number): boolean => q.day === day && q.filled === true && quotaRoom(q, dailyQuota) > 0;

/** Files that may still be attempted on the quota's day. */
export function quotaRoom(q: QuotaState, dailyQuota: number): number {
  return q.full ? 0 : Math.max(0, dailyQuota - q.used);
}

/**
 * Why files are deferred on a day with quota `q`, as their objects say it. `full` is CCC's word
 * (UploadFileOverflow): files registered outside this product may have filled the day with only a
 * few of ours, and "the daily quota of 50 files is used up" would then tell the operator that 50
 * of theirs went out that day when CCC is what closed it.
 */
export function deferralCause(q: QuotaState, dailyQuota: number): DeferralCause {
  return q.full ? { cccCode: 'FailedOperation.UploadFileOverflow' } : { quota: dailyQuota };
}

/** What an invocation does with the files it queued, given the newest send-log entry it knows. */
export type HandOffMove =
  /** The send log already settles that the day has no room: defer them now, without a sender. */
  | 'defer'
  /** A sender holds the lease and accepts others' files: leave them to it. */
  | 'leave'
  /** Nobody accepts, and a call may start now: take the lease and send them at once (alone, as a rule). */
  | 'send-now'
  /** Nobody accepts, but the next call must wait (a gap after the last one, a deferred backlog): take the lease, send them then. */
  | 'send';

/**
 * Decides {@link HandOffMove}. The day counts as full when CCC said so, or when its slots are used by
 * calls that are all closed: a call still open may never have reached CCC and give its slots back,
 * which only a sender (pruning it) can tell, so then the files go to a sender, not to tomorrow.
 * An intake defers on its own only on a day marked {@link QuotaState.filled}, the mark that keeps
 * lone calls from passing its file once the day has room again. A day full by our count but not
 * marked (an entry of an earlier release, or an appender whose IVR_DAILY_QUOTA was higher during a
 * redeploy) goes to a sender: its entry marks the day, and its deferral is counted.
 */
export function handOffMove(tail: LogEntry, nowMs: number, day: string, t: Timing, dailyQuota: number, utcOffsetMinutes: number): HandOffMove {
  const { quota } = quotaOn(tail, day);
  if (quota.full || (quota.filled && quotaRoom(quota, dailyQuota) === 0 && !tail.open.some((c) => c.day === day))) return 'defer';
  const lease = leaseView(tail, nowMs, t).kind;
  if (lease === 'accepting') return 'leave';
  const window = nextWindow(tail, nowMs, t, utcOffsetMinutes);
  return loneCallOpen(tail, window, nowMs, t) && window.day === day ? 'send-now' : 'send';
}

/**
 * Whether a call may start at once, alone, without a sender that gathers: nobody holds the log
 * (not even a holder that is closing: it may have promised to take files queued just before, and
 * a lone call never lists), no deferred backlog waits (nor may have, on a day that was filled:
 * files deferred on it go first once it has room again), the window is open now, and it is on the
 * tail's quota day (a new day's first batch comes from a listing, so files deferred to it go
 * first). `Sender.acquire` decides with it; {@link handOffMove} predicts with it.
 */
export function loneCallOpen(tail: LogEntry, window: { notBefore: number; day: string }, nowMs: number, t: Timing): boolean {
  return leaseView(tail, nowMs, t).kind === 'free' && tail.deferred === 0 && !tail.quota.filled && tail.quota.day === window.day && window.notBefore <= nowMs;
}

/**
 * The start window of the next call: at least a gap after the latest one from any instance, and
 * never across a quota-day boundary (CCC's clock may differ from ours by the skew allowance).
 */
export function nextWindow(prev: LogEntry, nowMs: number, t: Timing, utcOffsetMinutes: number): { notBefore: number; notAfter: number; day: string } {
  let notBefore = Math.max(nowMs, prev.lastCallNotAfter === undefined ? nowMs : prev.lastCallNotAfter + t.callGapMs);
  const straddles = () => quotaDay(notBefore - t.skewMs, utcOffsetMinutes) !== quotaDay(notBefore + t.windowSlackMs + t.skewMs, utcOffsetMinutes);
  if (straddles()) notBefore = nextQuotaDayStart(notBefore - t.skewMs, utcOffsetMinutes) + t.skewMs;
  // A day's first calls wait until the batch can come from a listing made a listing lag after
  // midnight (and the skew): a file deferred just before midnight is listed by then, and goes first.
  const dayStart = nextQuotaDayStart(notBefore, utcOffsetMinutes) - DAY_MS;
  notBefore = Math.max(notBefore, dayStart + t.skewMs + t.listLagMs + t.gatherLeadMs);
  return { notBefore, notAfter: notBefore + t.windowSlackMs, day: quotaDay(notBefore, utcOffsetMinutes) };
}

/** Names of files in calls whose outcome is not known yet: no second file of the same name may go out. */
export function openNames(open: OpenCall[]): Set<string> {
  return new Set(open.flatMap((c) => c.jobs.map((j) => j.name)));
}

/** Ids of the jobs in calls whose outcome is not known yet: a sender leaves them alone. */
export const openIds = (open: OpenCall[]): Set<string> => new Set(open.flatMap((c) => c.jobs.map((j) => j.id)));

/** A candidate for the next call, oldest first. */
export interface Candidate {
  id: string;
  /** The seq its `sending` version will take (the call entry names it). */
  seq: number;
  name: string;
  queuedAt: number;
  /** The quota day on which it already holds a slot, if any. */
  slot?: string;
}

/** What bounds a batch: see {@link chooseBatch}. */
export interface BatchLimits {
  /** Files that may still take a new slot of `day` ({@link quotaRoom}). */
  room: number;
  /** CCC said the day is full: nothing more is sent that day, not even a file that holds a slot. */
  full: boolean;
  maxBatch: number;
  /** The quota day of the call. */
  day?: string;
  /** Names of files known to be in flight outside any open call (e.g. migrated from the previous version). */
  reserved?: ReadonlySet<string>;
}

/**
 * Picks the next batch: oldest first, at most `maxBatch` and the quota's room (a file that already
 * holds a slot of the day needs none, unless the day is full), one file per display name and none
 * whose name is in an open call or reserved: a lost answer could otherwise not be told apart.
 * What does not fit for quota is returned as `defer`.
 */
export function chooseBatch(candidates: Candidate[], open: OpenCall[], { room, full, maxBatch, day, reserved = new Set() }: BatchLimits): { batch: Candidate[]; defer: Candidate[]; waiting: Candidate[] } {
  const busy = new Set([...openNames(open), ...reserved]);
  const inOpen = openIds(open);
  const batch: Candidate[] = [];
  const defer: Candidate[] = [];
  const waiting: Candidate[] = [];
  const names = new Set<string>();
  let allotted = 0;
  for (const c of [...candidates].sort((a, b) => a.queuedAt - b.queuedAt || a.id.localeCompare(b.id))) {
    if (inOpen.has(c.id)) continue;
    if (busy.has(c.name) || names.has(c.name)) {
      waiting.push(c);
      continue;
    }
    const slotted = !full && day !== undefined && c.slot === day;
    if (!slotted && allotted >= room) {
      defer.push(c);
      continue;
    }
    if (!slotted) allotted++;
    if (batch.length < maxBatch) {
      batch.push(c);
      names.add(c.name);
    } else {
      waiting.push(c);
    }
  }
  return { batch, defer, waiting };
}

/** What the appender knows beyond its predecessor. */
export interface EntryChanges {
  owner: string;
  now: number;
  quota: QuotaState;
  previousDay?: QuotaState;
  open: OpenCall[];
  deferred: number;
  /** The recovery pass's check of the bucket's versioning, merged with the one `prev` carries (see mergedCheck). */
  bucket?: VersioningCheck;
  /** The room the appender needs before a call now ({@link LogEntry.slowMs}); undefined: `prev`'s, carried over. */
  slowMs?: number;
  /** The appender's IVR_DAILY_QUOTA, to mark the day {@link QuotaState.filled} (undefined: not marked). */
  dailyQuota?: number;
}

/**
 * A lease entry: the owner takes the log without calling yet. A sender that expects others' files
 * accepts them until its first call's window plus one gap.
 */
export function leaseEntry(prev: LogEntry, c: EntryChanges, acceptUntil: number, t: Timing): LogEntry {
  return { ...nextEntry(prev, c), kind: 'lease', acceptUntil, leaseUntil: Math.max(acceptUntil, c.now) + t.listLagMs, lastCallNotAfter: prev.lastCallNotAfter };
}

/** An entry with news (quota, open calls) from the holder of `held` that keeps the lease's times as they were. */
export function stateEntry(held: LogEntry, c: EntryChanges, t: Timing): LogEntry {
  return { ...leaseEntry(held, c, held.acceptUntil, t), leaseUntil: held.leaseUntil, lastCallNotAfter: held.lastCallNotAfter };
}

/** An entry with news (a quota count carried over) that holds the log for no time at all. */
export function newsEntry(prev: LogEntry, c: EntryChanges, t: Timing): LogEntry {
  return { ...leaseEntry(prev, c, c.now, t), leaseUntil: c.now };
}

/** What every entry after `prev` carries over from the appender's changes. */
function nextEntry(prev: LogEntry, c: EntryChanges): Pick<LogEntry, 'v' | 'n' | 'owner' | 'at' | 'quota' | 'previousDay' | 'open' | 'deferred' | 'bucket' | 'slowMs'> {
  // Carried over faded to now: a fresh `at` must not restart the fading of an old record.
  const slowMs = c.slowMs ?? carriedRoom(prev, c.now);
  return { v: 2, n: prev.n + 1, owner: c.owner, at: c.now, quota: markFilled(c.quota, c.dailyQuota), previousDay: c.previousDay, open: c.open, deferred: c.deferred, bucket: mergedCheck(prev.bucket, c.bucket), ...(slowMs ? { slowMs } : {}) };
}

/**
 * What to append after `theirs`, an entry another sender appended where we meant to append news it
 * cannot know (CCC said our quota day is full): its view of the log, with our own calls as we
 * know them (`mine`: the calls we made) and our quota day marked as we know it.
 */
export function withNews(theirs: LogEntry, ours: { quota: QuotaState; open: OpenCall[]; mine: ReadonlySet<number>; deferred: number }): Pick<EntryChanges, 'quota' | 'previousDay' | 'open' | 'deferred'> {
  const mark = (q: QuotaState): QuotaState => (q.day === ours.quota.day ? { day: q.day, used: Math.max(q.used, ours.quota.used), full: q.full || ours.quota.full, ...(q.filled || ours.quota.filled ? { filled: true } : {}) } : q);
  return {
    quota: mark(theirs.quota),
    previousDay: theirs.previousDay && mark(theirs.previousDay),
    open: [...theirs.open.filter((c) => !ours.mine.has(c.n)), ...ours.open.filter((c) => ours.mine.has(c.n))].sort((a, b) => a.n - b.n),
    deferred: Math.max(theirs.deferred, ours.deferred),
  };
}

/**
 * A call entry. `accepting` false is the lone sender's fast path: it promises nothing to others,
 * so its lease ends as soon as its call has started, and nobody waits on it for long. Unless its
 * owner appended `prev` too: what that promised still holds (its owner lists the queue until then),
 * so the lease runs to there, and a newcomer meanwhile takes it as closing, as a sender that gathers,
 * never with a lone call that would take the next entry from under a file left to the promise.
 */
export function callEntry(prev: LogEntry, c: EntryChanges, window: { notBefore: number; notAfter: number; day: string }, jobs: CallJob[], accepting: boolean, t: Timing): LogEntry {
  const acceptUntil = accepting ? window.notAfter + t.acceptMs : c.now;
  const base = nextEntry(prev, c);
  return {
    ...base,
    kind: 'call',
    acceptUntil,
    leaseUntil: accepting ? acceptUntil + t.listLagMs : Math.max(window.notAfter, prev.owner === c.owner ? prev.leaseUntil : 0),
    lastCallNotAfter: window.notAfter,
    call: { ...window, jobs },
    quota: markFilled({ ...c.quota, used: c.quota.used + jobs.filter((j) => j.newSlot).length }, c.dailyQuota),
    open: [...c.open, { n: base.n, notAfter: window.notAfter, day: window.day, jobs }],
  };
}

const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isQuota = (q: unknown): q is QuotaState => {
  const o = q as Partial<QuotaState> | null;
  return typeof o === 'object' && o !== null && typeof o.day === 'string' && Number.isInteger(o.used) && typeof o.full === 'boolean' && (o.filled === undefined || o.filled === true);
};
const isCallJobs = (jobs: unknown): jobs is CallJob[] =>
  Array.isArray(jobs) && jobs.every((j: Partial<CallJob> | null) => typeof j === 'object' && j !== null && typeof j.id === 'string' && Number.isInteger(j.seq) && typeof j.name === 'string' && typeof j.newSlot === 'boolean' && (j.queuedAt === undefined || isTime(j.queuedAt)));
const isOpenCall = (c: unknown): c is OpenCall => {
  const o = c as Partial<OpenCall> | null;
  return typeof o === 'object' && o !== null && Number.isInteger(o.n) && isTime(o.notAfter) && typeof o.day === 'string' && isCallJobs(o.jobs);
};
const isCallWindow = (c: unknown): c is LogEntry['call'] => {
  const o = c as Partial<NonNullable<LogEntry['call']>> | null;
  return typeof o === 'object' && o !== null && isTime(o.notBefore) && isTime(o.notAfter) && typeof o.day === 'string' && isCallJobs(o.jobs);
};

/**
 * Parses an entry read from the ledger; undefined when unreadable. Every field a sender computes
 * with is checked, as parseJobVersion does for versions: an entry that lacks one is unreadable,
 * never a value that throws later in every sender that reads it.
 */
export function parseLogEntry(text: string | undefined): LogEntry | undefined {
  if (text === undefined) return undefined;
  try {
    const e = JSON.parse(text) as Partial<LogEntry>;
    const valid =
      typeof e === 'object' &&
      e !== null &&
      e.v === 2 &&
      Number.isInteger(e.n) &&
      typeof e.owner === 'string' &&
      isTime(e.at) &&
      (e.kind === 'lease' || e.kind === 'call') &&
      isTime(e.acceptUntil) &&
      isTime(e.leaseUntil) &&
      (e.lastCallNotAfter === undefined || isTime(e.lastCallNotAfter)) &&
      (e.call === undefined || isCallWindow(e.call)) &&
      (e.kind === 'lease' || e.call !== undefined) &&
      isQuota(e.quota) &&
      (e.previousDay === undefined || isQuota(e.previousDay)) &&
      Array.isArray(e.open) &&
      e.open.every(isOpenCall) &&
      Number.isInteger(e.deferred) &&
      (e.bucket === undefined || (typeof e.bucket === 'object' && e.bucket !== null && typeof e.bucket.day === 'string' && BUCKET_VERSIONING.includes(e.bucket.versioning)));
    if (valid) {
      // A hint only: a value that is not a duration is dropped, never a reason to refuse the entry.
      if (e.slowMs !== undefined && !(typeof e.slowMs === 'number' && Number.isFinite(e.slowMs) && e.slowMs > 0)) delete e.slowMs;
      return e as LogEntry;
    }
  } catch {
    // unreadable
  }
  return undefined;
}
