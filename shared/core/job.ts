/**
 * The job state machine: one job per object version (bucket, key, ETag). This module owns the
 * states, the allowed transitions and how a state shows on the object; everything else asks it.
 *
 * A job's history is a chain of versions in the ledger, `jobs/<id>/<seq>`, each created with
 * `x-cos-forbid-overwrite`: a transition is the creation of version `seq + 1`, so two instances
 * that try to move the same job collide on one name and exactly one wins. In particular a file is
 * put into a call only by creating its `sending` version, which names the call: whatever a sender
 * believes, a file can be in one call at a time, and it is sent again only after that call was
 * settled (from its answer, or from CCC once the call's lifetime has passed).
 *
 *   queued ──send──▶ sending ──registered──▶ uploaded ──review──▶ uploaded
 *     │                ▲  ├──rejected / give-up──▶ failed ──rerun──▶ queued
 *   defer            send │                          └──recheck──▶ failed
 *     ▼                │  ├──retry / unsent──▶ queued
 *   deferred ──────────┘  ├──lost──▶ uncertain ──registered / retry / give-up──▶ …
 *                         └──defer──▶ deferred
 *   queued, deferred ──replaced──▶ failed;  deferred ──defer──▶ deferred (the next day is full too)
 *   queued ──fence──▶ queued, deferred ──fence──▶ deferred: the same version at the next seq, written
 *   by whoever prunes a call that never had the job's `sending` version (see pruneOpen)
 */
import { createHash } from 'crypto';
import type { ErrorCode } from './errors';
import type { IvrResult, IvrStatus, ReviewState } from './metadata';
import { dayAfter, dayBefore } from './zone';

/** Every state a job can be in; each is a version in its chain. */
export const JOB_STATES = ['queued', 'deferred', 'sending', 'uncertain', 'uploaded', 'failed'] as const;
/** One of {@link JOB_STATES}. */
export type JobState = (typeof JOB_STATES)[number];

/** What happens to a job; {@link TRANSITIONS} says which state each event leads to from where. */
export type JobEvent =
  /** Put into a call (after the call's send-log entry, before the call). */
  | 'send'
  /** CCC holds the file: it answered with a FileId, or shows it after a lost answer. */
  | 'registered'
  /** CCC refused this file, or the call for a reason a retry cannot cure. */
  | 'rejected'
  /** The call did not register it and may be tried again (counts as an attempt). */
  | 'retry'
  /** The call never reached CCC's processing (rate limit, a missed window): not an attempt. */
  | 'unsent'
  /** The answer was lost: CCC is asked once the call's lifetime has passed. */
  | 'lost'
  /** The quota day is full: wait for the next one. */
  | 'defer'
  /** Out of attempts. */
  | 'give-up'
  /** CCC's review state changed. */
  | 'review'
  /** The same content was uploaded again after it failed: the operator's way to retry. */
  | 'rerun'
  /** The same content was uploaded again after it failed and fails its checks: for another reason, the one it has now. */
  | 'recheck'
  /** The object was overwritten (or deleted) before this version was sent: the new version is a job of its own. */
  | 'replaced'
  /**
   * A call's window closed without this job's `sending` version: its seq is taken by the state
   * the job had (the same version, carried on), so a `sending` write still under way cannot land
   * and make the file look as if it had been in the call (see pruneOpen).
   */
  | 'fence';

/** The allowed transitions. Anything not listed is a bug, not a runtime condition. */
export const TRANSITIONS: Readonly<Record<JobState, Partial<Record<JobEvent, JobState>>>> = {
  // A fence follows only a state a file waits in, never `sending`: the `call` it copies then names
  // an earlier call than the one pruned, which is how pruneOpen, inCall and neverProcessed tell it
  // from the `sending` version it stands in for.
  queued: { send: 'sending', defer: 'deferred', replaced: 'failed', fence: 'queued' },
  deferred: { send: 'sending', defer: 'deferred', replaced: 'failed', fence: 'deferred' },
  sending: { registered: 'uploaded', rejected: 'failed', retry: 'queued', unsent: 'queued', lost: 'uncertain', defer: 'deferred', 'give-up': 'failed' },
  uncertain: { registered: 'uploaded', retry: 'queued', 'give-up': 'failed' },
  uploaded: { review: 'uploaded' },
  failed: { rerun: 'queued', recheck: 'failed' },
};

/** Settled: its queue entries can go; only a review (`uploaded`) or a re-upload (`failed`) moves the job on. */
export const isFinal = (s: JobState): s is 'uploaded' | 'failed' => s === 'uploaded' || s === 'failed';

/**
 * Whether an entry naming version `entrySeq`, which no longer exists, is behind its chain rather than
 * ahead of it: version 0 of a compacted chain (`first`) holds the head, with its seq, and the
 * versions up to it are deleted a day after the compaction. An entry a pass keeps failing to
 * delete (its settled file's object refuses our status writes, say) then names a deleted version;
 * taken for an intake that died before writing it, its snapshot was written back as a waiting job
 * and the file registered again. A missing version after the head (a rerun whose intake died) is
 * still ahead, and is built from its entry.
 */
export const entryBehindChain = (entrySeq: number, first: JobVersion | undefined): boolean => entrySeq > 0 && first !== undefined && first.seq >= entrySeq;

/** What a job needs to know about its object; captured once at intake. */
export interface JobObject {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  /** The name CCC shows (`CustomFileName`). */
  customName: string;
  /** When the intake queued it (ms): files are sent and released in this order. */
  queuedAt: number;
  /**
   * The object's Last-Modified when the intake first read it (ms), if known: an object still
   * carrying it was not uploaded again since, so a delivery that finds it is a redelivery.
   */
  uploadedAt?: number;
  /** Standard headers and user metadata as the intake saw them, resent by every metadata write. */
  head: {
    standard: Record<string, string>;
    meta: Record<string, string>;
    /** When these were read (ms), when later than `queuedAt`: a status write soon after need not read them again. */
    readAt?: number;
  };
  /** What conversion did, when CCC gets a converted copy (`44100Hz/2ch/16bit → 8000Hz/1ch/16bit`). */
  converted?: string;
  /** Ledger key of the converted copy CCC downloads instead of the object. */
  convertedKey?: string;
}

/** The registration CCC reported. */
export interface Registration {
  fileId: number;
  audioFileName: string;
  /** RequestId of the UploadIvrAudio call that registered it, or `recovered`. */
  requestId: string;
  review: ReviewState;
  /** When the job became `uploaded` (ISO): a later review refresh writes a new version, not a new registration. */
  registeredAt?: string;
  reviewedAt?: string;
  reviewRequestId?: string;
}

/** The error a job version carries; the object shows it as `ivr-error-code` and `ivr-error-message`. */
export interface LastError {
  code: ErrorCode;
  message: string;
  requestId?: string;
}

/** One version of a job, as stored at `jobs/<id>/<seq>`. */
export interface JobVersion {
  v: 2;
  id: string;
  seq: number;
  state: JobState;
  /** ISO time the version was written. */
  at: string;
  /** The invocation that wrote it: tells our own create, confirmed late, from someone else's. */
  by: string;
  object: JobObject;
  /** Calls this file was part of that reached CCC without registering it. */
  attempts: number;
  /** How many times it was started again by a re-upload. */
  run: number;
  /** sending: the send-log call it is in; later states: the call they are the outcome of. */
  call?: number;
  /** queued: not before this time (ms), a backoff. */
  notBefore?: number;
  /** deferred: the quota day that was full. */
  deferredDay?: string;
  /**
   * The first and the last quota day a full quota pushed this job past, kept on every later
   * version (until a rerun): the daily report counts a file as deferred on each of those days
   * even once it has gone out, and shows how long the oldest has waited.
   */
  deferredDays?: { first: string; last: string };
  /**
   * The quota day on which this job holds a slot of the daily quota. A job takes one slot per day
   * however often it is sent (a retry reuses it); a slot taken by a call that never reached CCC is
   * given back.
   */
  slot?: string;
  /** sending: whether this call took the job's slot (rather than reusing one from an earlier call). */
  newSlot?: boolean;
  /** sending, uncertain: when CCC may be asked whether the call registered it (its lifetime has passed), ms. */
  checkAfter?: number;
  lastError?: LastError;
  upload?: Registration;
  /**
   * Held in memory only, never stored. A warm instance that expects to send a new file at once
   * does not create its `queued` version 0 (its queue entry holds it, for recovery): the file's
   * first transition is created as version 0 in its place, so an idle file costs one write fewer,
   * its first stored version being `sending`. That create is also what tells that the job existed
   * already (the same bytes uploaded again, a duplicate delivery): the intake then takes it from
   * there as it would have. A file not sent at once after all gets version 0 written as it is
   * (`materialize`). Until then a sender that finds its entry leaves it to its intake for the job
   * lease, then writes the version from the entry.
   */
  unwritten?: true;
}

/** The seq of the version a transition from `v` creates: the next one, or `v`'s own place when `v` was never written. */
export const nextSeq = (v: JobVersion): number => (v.unwritten ? v.seq : v.seq + 1);

/** `v` as it is stored: without the in-memory {@link JobVersion.unwritten} mark. */
export function storedForm(v: JobVersion): JobVersion {
  if (!v.unwritten) return v;
  const { unwritten: _, ...stored } = v;
  return stored;
}

/** Stable id of an object version. */
export function jobId(bucket: string, key: string, etag: string): string {
  return createHash('sha1').update(`${bucket}\n${key}\n${etag}`).digest('hex');
}

/** The first version of an eligible file. */
export function queuedJob(id: string, object: JobObject, at: number, by: string): JobVersion {
  return { v: 2, id, seq: 0, state: 'queued', at: new Date(at).toISOString(), by, object, attempts: 0, run: 0 };
}

/** The first (and last) version of a file that failed its free checks. */
export function ineligibleJob(id: string, object: JobObject, at: number, by: string, error: LastError): JobVersion {
  return { v: 2, id, seq: 0, state: 'failed', at: new Date(at).toISOString(), by, object, attempts: 0, run: 0, lastError: error };
}

/**
 * Whether a delivery that finds `failed` job `head` is a redelivery (SCF again, after a crash or a
 * refused write) rather than the operator uploading the same bytes again, their way to retry. A
 * redelivery finds our own status for this version on the object (`shownEtag`; an upload wipes
 * it), or, if none of our writes landed, the object exactly as first read. Last-Modified has whole
 * seconds, so an upload again within the second of the first looks unchanged: for a file CCC
 * refused, that is taken for a redelivery (never a second call for one); for a file that failed
 * its checks, for an upload again (it is only checked).
 *
 * Our status on the object is one of this chain's versions, so never newer than `head` (`shownAt`
 * after `head.at`), but for a rerun's: the intake of an upload again shows the rerun's `queued`
 * before it creates its version, and a refused create leaves the object showing a version that
 * does not exist. The redelivery of that upload is still the operator's retry: taken for a
 * redelivery of the first upload, it showed the old failure again and the file was never sent.
 * Versions are dated by the clocks of the instances that wrote them, which may differ by up to
 * `skewMs` (IVR_CLOCK_SKEW_MS): an earlier version an intake showed may be dated up to that much
 * after the `failed` a sender wrote after it, and its redelivery must not send the file again. A
 * rerun's `queued` comes from an upload again after the failure, later than that.
 */
export function isRedelivery(head: JobVersion, shownEtag: string | undefined, lastModified: number | undefined, shownAt?: string, skewMs = 0): boolean {
  if (shownEtag === head.object.etag) return !(shownAt !== undefined && Date.parse(shownAt) > Date.parse(head.at) + skewMs);
  const sent = head.call !== undefined || head.attempts > 0;
  return lastModified !== undefined && lastModified === head.object.uploadedAt && (sent || Date.parse(head.at) >= lastModified + 1000);
}

/**
 * What a `failed` job records when the same content, uploaded again, fails its checks with
 * `problem`: that reason, and the upload's headers, in a `recheck` version; undefined when the job
 * already says so (a redelivery, or the same problem again). The reason recorded before may be one
 * the operator has fixed since (the role, CCC's refusal, the old `ivr-name`): left on the object,
 * it would send them after a problem that is gone and hide the one to fix now.
 */
export function recheckPatch(v: JobVersion, problem: LastError, object: Pick<JobObject, 'head' | 'uploadedAt'>): TransitionPatch | undefined {
  if (!TRANSITIONS[v.state].recheck) return undefined;
  if (v.lastError?.code === problem.code && v.lastError.message === problem.message) return undefined;
  // The call the failure came from stays named: the version is still that call's outcome.
  return { lastError: { code: problem.code, message: problem.message }, object: { head: object.head, uploadedAt: object.uploadedAt }, call: v.call };
}

/** A state a job's history before this ledger left it in, with what that state carries. */
export type CarriedState =
  | { state: 'deferred'; deferredDay?: string }
  | { state: 'uncertain'; checkAfter: number }
  | { state: 'uploaded'; upload: Registration }
  | { state: 'failed'; lastError: LastError };

/**
 * A version for a job whose earlier history is known only as a state: carried over from the
 * previous product version's ledger, or standing in for a version that cannot be read (at `seq`).
 * Besides {@link transition}, the one place a version gets a state other than `queued` or an
 * ineligible file's `failed`. An `uncertain` one is settled from CCC before anything is resent.
 */
export function carriedOverJob(queued: JobVersion, carried: CarriedState, seq = queued.seq): JobVersion {
  return { ...queued, ...carried, seq };
}

/** Fields a transition may set on the next version. */
export type TransitionPatch = Partial<Pick<JobVersion, 'call' | 'notBefore' | 'deferredDay' | 'checkAfter' | 'lastError' | 'upload' | 'slot' | 'newSlot'>> & {
  object?: Partial<JobObject>;
  /** The call never reached CCC's processing (refused as a whole): the slot it took comes back, as after `unsent`. */
  unattempted?: boolean;
};

/**
 * The next version after `event`, from the chain's newest version `current`. Throws on a
 * transition the table forbids: that is a bug in the caller, not a runtime condition.
 */
export function transition(current: JobVersion, event: JobEvent, at: number, by: string, patch: TransitionPatch = {}): JobVersion {
  const from = current.state;
  const to = TRANSITIONS[from][event];
  if (!to) throw new Error(`job ${current.id}: no transition ${from} --${event}-->`);
  // Nothing happened to the job: the version as it was, at the next seq (a patch has no place here).
  if (event === 'fence') return { ...storedForm(current), seq: nextSeq(current), at: new Date(at).toISOString(), by };
  const next: JobVersion = {
    v: 2,
    id: current.id,
    seq: nextSeq(current),
    state: to,
    at: new Date(at).toISOString(),
    by,
    object: { ...current.object, ...patch.object },
    attempts: current.attempts + (event === 'retry' || event === 'give-up' ? 1 : 0),
    run: current.run + (event === 'rerun' ? 1 : 0),
  };
  if (event === 'rerun') next.attempts = 0;
  // The quota slot follows the job, except when the call that took it never reached CCC, or the
  // operator starts the job over (a new attempt on its own).
  const slot = patch.slot ?? (event === 'rerun' || ((event === 'unsent' || patch.unattempted) && current.newSlot) ? undefined : current.slot);
  if (slot) next.slot = slot;
  if (to === 'sending' && patch.newSlot) next.newSlot = true;
  // Fields carried over only where they still mean something.
  if (to === 'uploaded') next.upload = patch.upload ?? current.upload;
  if (next.upload && from !== 'uploaded') next.upload = { ...next.upload, registeredAt: next.at };
  if (to === 'deferred') next.deferredDay = patch.deferredDay ?? current.deferredDay;
  let days = event === 'rerun' ? undefined : deferredSpan(current);
  // Settled by a call on the day it was deferred on (that day had room again): the quota did not
  // push it past that day after all, so the day's report does not count it as deferred. (Judged at
  // the outcome, not at the send: a call not made after all leaves it waiting, maybe for tomorrow.)
  if (days && inFlight(from) && (to === 'uploaded' || to === 'failed') && current.slot === days.last) {
    days = days.first < days.last ? { first: days.first, last: dayBefore(days.last) } : undefined;
  }
  const day = next.deferredDay;
  if (day) next.deferredDays = { first: days && days.first < day ? days.first : day, last: days && days.last > day ? days.last : day };
  else if (days) next.deferredDays = days;
  if (to === 'uncertain' || to === 'sending') next.checkAfter = patch.checkAfter;
  if (to === 'queued' && patch.notBefore !== undefined) next.notBefore = patch.notBefore;
  // A file whose answer was lost still belongs to its call: whoever settles that call must find it
  // there (see inCall), and the call keeps its display name reserved until then.
  if (patch.call !== undefined) next.call = patch.call;
  else if (to === 'uncertain') next.call = current.call;
  // A deferral's reason ends with its day: a released file whose call is then not made (the rate
  // limit, a missed window) must not show `retrying` with "the quota day is used up".
  const released = event === 'send' && from === 'deferred' && current.lastError?.code === 'QuotaExhausted';
  const lastError = patch.lastError ?? (!released && (to === 'queued' || to === 'sending' || to === 'uncertain' || to === 'failed') ? current.lastError : undefined);
  if (lastError && event !== 'rerun') next.lastError = lastError;
  return next;
}

/** The quota days `v` was deferred through ({@link JobVersion.deferredDays}; a version written before that field: its `deferredDay`). */
export function deferredSpan(v: JobVersion): JobVersion['deferredDays'] {
  if (v.deferredDays) return v.deferredDays;
  return v.state === 'deferred' && v.deferredDay ? { first: v.deferredDay, last: v.deferredDay } : undefined;
}

/**
 * Whether version `v` belongs to call `n`, which wrote the job's `sending` version at `sendingSeq`.
 * An `uncertain` version written before `lost` kept the call's number carries none: then it
 * belongs to the call if it is the version right after that `sending` one.
 */
export const inCall = (v: JobVersion, n: number, sendingSeq: number): boolean =>
  v.call === n || (v.call === undefined && v.state === 'uncertain' && v.seq === sendingSeq + 1);

/**
 * Whether `newer`, found after `v` in the job's chain, is still `v`'s call in flight: the `uncertain`
 * version recording that call's lost answer, written by a sender that took its write for failed (COS
 * applied it but the answer was lost) or landing after someone read `v`. The file has not left the
 * call: it must be settled from CCC like `v`, never passed on as settled, or its call would close
 * and free its display name while CCC may hold an unrecorded registration of it.
 */
export const stillInCall = (v: JobVersion, newer: JobVersion): boolean =>
  v.state === 'sending' && v.call !== undefined && newer.seq > v.seq && inFlight(newer.state) && inCall(newer, v.call, v.seq);

/** `v` with the object's headers and user metadata as read at `readAt`: what its status writes resend from here on. */
export const withHead = (v: JobVersion, head: Pick<JobObject['head'], 'standard' | 'meta'>, readAt: number): JobVersion => ({ ...v, object: { ...v.object, head: { standard: head.standard, meta: head.meta, readAt } } });

/**
 * In a call whose outcome is not written yet (`sending`), or lost (`uncertain`): only settling it,
 * from the answer or from what CCC holds, moves it on; until then its display name stays reserved.
 */
export const inFlight = (s: JobState): s is 'sending' | 'uncertain' => s === 'sending' || s === 'uncertain';

/**
 * Whether a job may be settled from what CCC holds: its call's whole lifetime has passed.
 * `checkAfter` is on the clock of the sender that wrote it, and `nowMs` on the reader's, which may
 * run up to `skewMs` (IVR_CLOCK_SKEW_MS) ahead of it: without that margin CCC could be asked that
 * much before the lifetime was over, and a registration still under way be taken for none.
 */
export const settleable = (v: JobVersion, nowMs: number, skewMs: number): boolean => inFlight(v.state) && (v.checkAfter ?? 0) + skewMs <= nowMs;

/** Whether `v` waits, deferred on quota day `day` (its day was full). */
export const deferredOn = (v: JobVersion, day: string): boolean => v.state === 'deferred' && v.deferredDay === day;

/**
 * Whether a sender may put this version into a call now. A deferred file goes on a later quota day,
 * or on its own day once that day has room again (`roomToday`: slots given back, or
 * IVR_DAILY_QUOTA raised); files deferred before it still go first (the batch is in drop order).
 */
export function sendable(v: JobVersion, nowMs: number, today: string, roomToday = false): boolean {
  if (v.state === 'queued') return (v.notBefore ?? 0) <= nowMs;
  if (v.state !== 'deferred' || v.deferredDay === undefined) return false;
  return v.deferredDay < today || (roomToday && deferredOn(v, today));
}

/**
 * When a job reached what it shows: its registration for an uploaded file (a review refresh after
 * midnight must not move it to the next day's report), else its newest version's time.
 */
export const outcomeAt = (v: JobVersion): number => Date.parse(v.upload?.registeredAt ?? v.at);

/** The status an object shows for a job: the one place where the two vocabularies meet. */
export function visibleStatus(v: JobVersion): IvrStatus {
  switch (v.state) {
    case 'uploaded':
    case 'failed':
    case 'deferred':
      return v.state;
    case 'uncertain':
      return 'retrying';
    case 'queued':
    case 'sending':
      return v.attempts > 0 || v.lastError ? 'retrying' : 'queued';
  }
}

/** The result written onto the object for a job. */
export function visibleResult(v: JobVersion): IvrResult {
  const status = visibleStatus(v);
  const o = v.object;
  const r: IvrResult = { status, etag: o.etag, at: v.at, customName: o.customName, converted: o.converted };
  if (status === 'uploaded' && v.upload) {
    Object.assign(r, {
      fileId: v.upload.fileId,
      audioFileName: v.upload.audioFileName,
      requestId: v.upload.requestId,
      review: v.upload.review,
      reviewedAt: v.upload.reviewedAt,
      reviewRequestId: v.upload.reviewRequestId,
    });
  } else if (v.lastError && status !== 'queued') {
    Object.assign(r, { errorCode: v.lastError.code, errorMessage: v.lastError.message, requestId: v.lastError.requestId });
  }
  if (status === 'deferred' && !r.errorCode) Object.assign(r, { errorCode: 'QuotaExhausted', errorMessage: deferralMessage(v.deferredDay ?? '', {}) });
  return r;
}

/** What filled a quota day: our own count of its files, or CCC's refusal (with its error code). */
export type DeferralCause = { quota?: number } | { cccCode: string };

/** How a {@link deferralMessage} starts when CCC closed the day, not our own count (releases before the day was named in it too). */
const CCC_CLOSED = 'CCC reports the daily upload limit';

/**
 * Why a file waits, as its object and the report say it: the day that is full, and the first day
 * it can go out (at the earliest: files deferred before it go first, a quota day at a time), unless
 * the day itself has room again.
 */
export function deferralMessage(day: string, cause: DeferralCause): string {
  const next = day ? dayAfter(day) : '';
  const full =
    'cccCode' in cause
      ? `${CCC_CLOSED} for ${day} reached (${cause.cccCode})`
      : `the daily quota${cause.quota !== undefined ? ` of ${cause.quota} file${cause.quota === 1 ? '' : 's'}` : ''} for ${day} is used up`;
  // Our own count can make room again the same day; a day CCC closed stays closed.
  // The next day comes first: a message cut to fit the object's metadata keeps it (deferredUntil).
  if (!('cccCode' in cause) && day) return `${full}; the file is sent automatically from ${next}, after any deferred before it, or on ${day} itself if that day has room again (a slot given back, or IVR_DAILY_QUOTA raised)`;
  return `${full}; the file is sent automatically${next ? ` from ${next} at the earliest` : ' on a later quota day'}, after any deferred before it`;
}

/** Whether a {@link deferralMessage} says CCC closed the day (files registered outside this product count there too). */
export const closedByCcc = (message: string | undefined): boolean => (message ?? '').startsWith(CCC_CLOSED);

/**
 * The next day a {@link deferralMessage} says its file goes out from (unless its own day has room
 * again); undefined when the message is not one. Reads the earlier releases' wording too.
 */
export function deferredUntil(message: string | undefined): string | undefined {
  return /; the file is sent automatically from (\d{4}-\d{2}-\d{2})/.exec(message ?? '')?.[1];
}

/** A job record of the previous version of this product (`jobs/<id>.json`). */
export interface LegacyJob {
  v: 1;
  state: 'claimed' | 'queued' | 'calling' | 'done' | 'retryable' | 'deferred';
  bucket: string;
  key: string;
  etag: string;
  customName: string;
  updatedAt: string;
  attempts: number;
  quotaDay?: string;
  result?: { status: string; fileId?: number; audioFileName?: string; requestId?: string; review?: ReviewState; errorCode?: string; errorMessage?: string };
}

const LEGACY_STATES: ReadonlyArray<LegacyJob['state']> = ['claimed', 'queued', 'calling', 'done', 'retryable', 'deferred'];

/**
 * Parses a record of the previous version (`jobs/<id>.json`); undefined when it is not one. Every
 * field a migrated version is built from is checked, as {@link parseJobVersion} does: a record
 * lacking one would become a version no reader accepts.
 */
export function parseLegacyJob(text: string | undefined): LegacyJob | undefined {
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as Partial<LegacyJob> | null;
    const r = j?.result;
    const valid =
      j?.v === 1 &&
      LEGACY_STATES.includes(j.state as LegacyJob['state']) &&
      typeof j.bucket === 'string' &&
      typeof j.key === 'string' &&
      typeof j.etag === 'string' &&
      typeof j.customName === 'string' &&
      typeof j.updatedAt === 'string' &&
      (j.attempts === undefined || Number.isInteger(j.attempts)) &&
      (j.quotaDay === undefined || typeof j.quotaDay === 'string') &&
      (r === undefined || (typeof r === 'object' && r !== null && typeof r.status === 'string' && (r.fileId === undefined || Number.isSafeInteger(r.fileId))));
    return valid ? (j as LegacyJob) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a stored version; undefined when it is not one (corrupt or from another format). */
export function parseJobVersion(text: string | undefined): JobVersion | undefined {
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as Partial<JobVersion>;
    // Every field the workflow and the report compute with: a record that lacks one (a hand edit)
    // is unreadable, never a value that throws later (an invalid date stops a whole report).
    const o = j?.object;
    const valid =
      j?.v === 2 &&
      typeof j.id === 'string' &&
      Number.isInteger(j.seq) &&
      JOB_STATES.includes(j.state as JobState) &&
      typeof j.at === 'string' &&
      Number.isFinite(Date.parse(j.at)) &&
      Number.isInteger(j.attempts) &&
      Number.isInteger(j.run) &&
      typeof j.by === 'string' &&
      o !== undefined &&
      typeof o.bucket === 'string' &&
      typeof o.key === 'string' &&
      Number.isFinite(o.size) &&
      typeof o.etag === 'string' &&
      typeof o.customName === 'string' &&
      Number.isFinite(o.queuedAt) &&
      typeof o.head === 'object' &&
      o.head !== null;
    if (valid) return storedForm(j as JobVersion);
  } catch {
    // corrupt: the caller treats it as unreadable
  }
  return undefined;
}

/** Each job's next drop of its object (bucket and key): when the job after it was queued, for those a later drop followed. */
export function nextDrops(jobs: readonly JobVersion[]): Map<JobVersion, number> {
  const times = new Map<string, number[]>();
  const objectOf = (v: JobVersion) => `${v.object.bucket}\n${v.object.key}`;
  for (const v of jobs) times.set(objectOf(v), [...(times.get(objectOf(v)) ?? []), v.object.queuedAt]);
  const next = new Map<JobVersion, number>();
  for (const v of jobs) {
    const later = times.get(objectOf(v))!.filter((t) => t > v.object.queuedAt);
    if (later.length > 0) next.set(v, Math.min(...later));
  }
  return next;
}
