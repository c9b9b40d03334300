/**
 * Intake: one COS record in, one job in the ledger and a visible status on the object out.
 *
 * Order matters. For an eligible file the intake writes (1) the queue entry, which holds a
 * snapshot of the job so that anyone can finish it if this instance dies, (2) `queued` on the
 * object, and (3) the job's first version, created only if absent. A sender takes a job only once
 * its version exists, so the sender's final status can never be overwritten by this `queued`; one
 * shown after the job exists (late, by the hand-off, or for a duplicate delivery) is followed by
 * reads of the job until none is newer (`showNewest`). Every write after (1) can be repeated by a
 * redelivery or done by someone else. A warm instance that expects to send the file at once (see
 * handoff.ts) writes only (1): its hand-off creates version 0 as `sending`, or writes it as
 * `queued` and shows it if the file has to wait after all (see JobVersion.unwritten).
 */
import { bytesNeeded, judgeAudio } from '../audio/check';
import { loadConverter } from '../audio/load-converter';
import { checkFile, checkKey, extensionOf } from '../core/eligibility';
import { IvrError, type ErrorCode, type SkipCode } from '../core/errors';
import type { ObjectEvent } from '../core/event';
import { carriedOverJob, ineligibleJob, isFinal, isRedelivery, jobId, queuedJob, recheckPatch, transition, visibleStatus, withHead, type JobObject, type JobVersion } from '../core/job';
import { readResult, theirMeta, USER_NAME_META, type IvrStatus } from '../core/metadata';
import { customFileName } from '../core/naming';
import { CORRUPT } from '../store/ledger';
import type { ObjectRead } from '../store/objects';
import type { Ctx } from './context';
import { showsQueuedNow } from './handoff';
import { existingHead, moveNewest, show, showNewest, type ShowNote } from './jobs';
import { settleFromCcc } from './resolve';

/** How one record ended, as the function's result and log report it. */
export interface RecordOutcome {
  index: number;
  key?: string;
  etag?: string;
  /** `skipped`: nothing to do (our own copy, a duplicate in flight); `rejected`: the record could not be acted on. */
  status: IvrStatus | 'skipped' | 'rejected';
  code?: ErrorCode | SkipCode;
  message?: string;
  fileId?: number;
  requestId?: string;
  /** This record needs SCF to deliver the event again. */
  retry?: boolean;
}

/** A job this invocation found waiting for a sender. */
export interface PendingJob {
  index: number;
  version: JobVersion;
  /** Why the object could not show its status (kept for the final outcome). */
  note?: ShowNote;
  /** Whether the object shows this version (false: the intake left that to the hand-off). */
  shown: boolean;
  /**
   * For a new file whose version 0 is unwritten: takes it on as an existing job, when creating that
   * version found the job there already (what the intake does for a version that has a job).
   */
  existed?: () => Promise<IntakeResult>;
}

/** How a record ended, and its job when that still waits for a sender (the upload walk hands those off). */
export type IntakeResult = { outcome: RecordOutcome; pending?: PendingJob };

/** The outcome a job's version shows. */
export function outcomeOf(index: number, v: JobVersion, note?: ShowNote): RecordOutcome {
  const status = visibleStatus(v);
  const base: RecordOutcome = { index, key: v.object.key, etag: v.object.etag, status };
  if (status === 'uploaded' && v.upload) return { ...base, fileId: v.upload.fileId, requestId: v.upload.requestId, ...(note ? { code: note.code, message: note.message } : {}) };
  const err = v.lastError;
  const message = err?.message ?? (status === 'deferred' ? `waiting for a quota day with room (${v.deferredDay} was full)` : status === 'queued' ? 'queued for the next call' : undefined);
  return { ...base, code: err?.code ?? (status === 'deferred' ? 'QuotaExhausted' : note?.code), message: note ? `${message ?? ''} (${note.message})`.trim() : message, requestId: err?.requestId };
}

/**
 * Takes one COS record in (see the module comment): skips or rejects it, records a `failed` job for
 * a file that fails its checks, or queues a job. For a version that already has a job, that job's
 * newest version decides.
 */
export async function intake(ctx: Ctx, ev: ObjectEvent): Promise<IntakeResult> {
  const { config } = ctx;
  const base = { index: ev.index, key: ev.key };
  if (ev.kind === 'copy') return { outcome: { ...base, status: 'skipped', code: 'OwnCopy', message: 'copy events come from metadata write-backs' } };
  if (ev.kind === 'other') return { outcome: { ...base, status: 'skipped', code: 'UnsupportedEvent', message: `${ev.eventName} is not an upload` } };
  const keyProblem = checkKey(ev.key, config.audioPrefix, config.ledgerPrefix);
  if (keyProblem === 'ledger') return { outcome: { ...base, status: 'skipped', code: 'LedgerObject', message: 'the ledger is not audio' } };
  if (keyProblem === 'folder') return { outcome: { ...base, status: 'skipped', code: 'FolderMarker', message: 'a folder (its key ends in "/"), not a file' } };
  if (keyProblem) return { outcome: { ...base, status: 'rejected', code: keyProblem.code, message: keyProblem.message } };

  let key = ev.key;
  // A WAV the event says is to be converted is read whole at once: a first read of its start, then
  // another of all of it, would leave both bodies for the garbage collector (see plan.ts).
  const format = extensionOf(key);
  // The first read: all a file CCC may take has, plus one byte to tell "too large" without reading it all.
  const readLimit = config.maxFileBytes + 1;
  const firstRead = ev.size !== undefined && format ? Math.max(readLimit, bytesNeeded(ev.size, format, config)) : readLimit;
  let obj = await ctx.objects.read(key, firstRead);
  // The other reading of the key is held to the same rules (it may lie outside the prefix).
  if (!obj && ev.altKey && checkKey(ev.altKey, config.audioPrefix, config.ledgerPrefix) === undefined) {
    key = ev.altKey;
    obj = await ctx.objects.read(key, readLimit);
  }
  if (!obj) return { outcome: { ...base, status: 'rejected', code: 'ObjectNotFound', message: 'the object no longer exists' } };

  const id = jobId(ev.bucket, key, obj.etag);
  const now = ctx.clock.now();
  const unchecked: JobObject = { bucket: ev.bucket, key, etag: obj.etag, size: obj.size, customName: '', queuedAt: now, uploadedAt: obj.lastModified, head: { standard: obj.standard, meta: obj.meta } };

  // The object says we already handled this version: take the ledger's word for it, not a new job.
  // A job that is not `failed` needs nothing from the checks, so a duplicate delivery of a large
  // WAV is not checked and converted again (it was read whole, sized by its event, as a first
  // delivery is). (A failed one may be an upload again: checked below.)
  const claimed = readResult(obj.meta);
  const existing = claimed?.etag === obj.etag ? await ctx.ledger.head(id, 0) : undefined;
  if (existing !== undefined && existing !== CORRUPT && existing.state !== 'failed') return existingJob(ctx, ev.index, id, existing, unchecked, obj);

  const whole = await readWhole(ctx, key, obj);
  // Overwritten between the two reads: this event's version is gone. Take in the object as it is
  // now (its own event then finds the job made here), never the new bytes under the old version.
  if (whole.etag !== obj.etag) return intake(ctx, ev);
  obj = whole;
  const checked = await check(ctx, id, key, obj);
  const object: JobObject = {
    ...unchecked,
    customName: checked instanceof IvrError ? '' : checked.customName,
    ...(checked instanceof IvrError ? {} : checked.converted),
  };
  const problem = checked instanceof IvrError ? checked : undefined;
  if (existing !== undefined) return existingJob(ctx, ev.index, id, existing, object, obj, problem);

  if (checked instanceof IvrError) {
    const failed = ineligibleJob(id, object, now, ctx.owner, { code: checked.code, message: checked.message });
    // A queue entry for the failure too: if every delivery dies (or COS refuses) before the object
    // says `failed`, the recovery pass finds the entry and shows it. It goes once the object does.
    await ctx.ledger.enqueue(failed);
    if (!(await ctx.ledger.writeVersion(failed))) return existingJob(ctx, ev.index, id, await existingHead(ctx, failed), object, obj, problem);
    const shown = await show(ctx, failed);
    await ctx.ledger.tidyEntries([ctx.ledger.queueKey(failed)]);
    ctx.log.info('file failed its checks', { key, etag: obj.etag, code: checked.code, error: checked.message });
    return { outcome: outcomeOf(ev.index, failed, shown.note) };
  }

  const queued = queuedJob(id, object, now, ctx.owner);
  if (!showsQueuedNow(ctx)) {
    // This warm instance expects to send the file at once: neither `queued` on the object nor as
    // version 0 (see JobVersion.unwritten). The hand-off creates the file's first transition in
    // version 0's place, or writes it as it is; either create tells whether the job existed
    // already, and if it did, `existed` takes the file on from there (without the body: an event
    // of large files must not keep them all in memory until its hand-off).
    const unwritten: JobVersion = { ...queued, unwritten: true };
    await ctx.ledger.enqueue(unwritten);
    ctx.log.info('file queued', { key, etag: obj.etag, job: id, customName: object.customName, size: obj.size });
    const seen: ObjectRead = { ...obj, body: Buffer.alloc(0) };
    const existed = async (): Promise<IntakeResult> => existingJob(ctx, ev.index, id, await existingHead(ctx, unwritten), object, seen);
    return { outcome: outcomeOf(ev.index, unwritten), pending: { index: ev.index, version: unwritten, shown: false, existed } };
  }
  // A file that most likely waits (a cold instance knows nothing): its job is written before the
  // hand-off reads the send log, so a sender it is left to finds the job on its next listing.
  await ctx.ledger.enqueue(queued);
  const shown = await show(ctx, queued);
  if (!(await ctx.ledger.writeVersion(queued))) return existingJob(ctx, ev.index, id, await existingHead(ctx, queued), object, obj);
  ctx.log.info('file queued', { key, etag: obj.etag, job: id, customName: object.customName, size: obj.size });
  return { outcome: outcomeOf(ev.index, queued, shown.note), pending: { index: ev.index, version: queued, note: shown.note, shown: true } };
}

/** A WAV over CCC's limit may be converted: that needs all of it (the first read has only the start). */
async function readWhole(ctx: Ctx, key: string, first: ObjectRead): Promise<ObjectRead> {
  const format = extensionOf(key);
  if (!format || first.body.length >= first.size) return first;
  const need = bytesNeeded(first.size, format, ctx.config);
  if (need <= first.body.length) return first;
  return (await ctx.objects.read(key, need)) ?? first;
}

/**
 * Everything decided before any quota is spent: name, size, the whole file's audio, the display
 * name; and, for a WAV CCC would refuse as it is, its converted copy (stored under the ledger
 * prefix, so it never triggers anything). The converter is loaded only then.
 */
async function check(ctx: Ctx, id: string, key: string, obj: ObjectRead): Promise<{ customName: string; converted?: Pick<JobObject, 'converted' | 'convertedKey'> } | IvrError> {
  const file = checkFile(key, obj.size);
  if (file instanceof IvrError) return file;
  const name = customFileName(key, obj.meta[USER_NAME_META]);
  if (name instanceof IvrError) return name;
  const verdict = judgeAudio(obj.body, file.format, obj.size, ctx.config);
  if (verdict instanceof IvrError) return verdict;
  if (verdict.send === 'as-is') return { customName: name };
  const out = loadConverter().convertWav(obj.body);
  if (!out.ok) return new IvrError('ConversionFailed', `the WAV could not be converted: ${out.problem.message}`);
  const convertedKey = ctx.ledger.convertedKey(id, ctx.clock.now());
  await ctx.objects.putBytes(convertedKey, out.converted.bytes, 'audio/wav');
  ctx.log.info('file converted for CCC', { key, converted: out.converted.description, bytes: out.converted.bytes.length, from: obj.size });
  return { customName: name, converted: { converted: out.converted.description, convertedKey } };
}

/**
 * A delivery for a version that already has a job: a duplicate, a redelivery after a crash, or a
 * re-upload of the same content. The job's newest version decides; the object is repaired if it
 * does not show it. `problem`: why the file as it is now fails its checks, if it does.
 */
async function existingJob(ctx: Ctx, index: number, id: string, head: JobVersion | undefined | typeof CORRUPT, object: JobObject, obj: ObjectRead, problem?: IvrError): Promise<IntakeResult> {
  if (head === undefined) {
    // Lost between our two reads (a version cannot be deleted but by pruning): let SCF try again.
    throw new IvrError('LedgerCorrupt', `job ${id} for ${object.key} exists but its first version cannot be read`, { transient: true });
  }
  if (head === CORRUPT) return rebuildCorrupt(ctx, index, id, object);
  const shows = readResult(obj.meta);
  // The object's own headers and user metadata as they are now: an upload of the same bytes may
  // bring new ones, and every status write resends what the job holds.
  const asNow = withHead(head, object.head, ctx.clock.now());
  if (head.state === 'failed') {
    if (isRedelivery(head, shows?.etag, obj.lastModified, shows?.at, ctx.timing.skewMs)) {
      const shown = shows?.status === 'failed' ? undefined : await show(ctx, asNow);
      return { outcome: outcomeOf(index, head, shown?.note) };
    }
    // Started over as the file is now: its name, headers and, when it must be converted now (the
    // setting may have changed since), its converted copy.
    const rerun = transition(head, 'rerun', ctx.clock.now(), ctx.owner, {
      object: { customName: object.customName || head.object.customName, head: object.head, queuedAt: object.queuedAt, uploadedAt: object.uploadedAt, converted: object.converted, convertedKey: object.convertedKey },
    });
    if (!object.customName) {
      // Uploaded again and still failing its checks: the object shows the failure again, with the
      // reason it has now (see recheckPatch): not the earlier one, which the operator may have fixed.
      const failing = problem ? await moveNewest(ctx, head, 'recheck', (v) => recheckPatch(v, problem, object)) : head;
      if (failing.seq !== head.seq && failing.state === 'failed') ctx.log.info('file failed its checks', { key: object.key, etag: object.etag, code: problem?.code, error: problem?.message });
      const shown = await show(ctx, failing.seq !== head.seq ? failing : asNow);
      return { outcome: outcomeOf(index, failing, shown.note) };
    }
    await ctx.ledger.enqueue(rerun);
    await show(ctx, rerun);
    if (!(await ctx.ledger.writeVersion(rerun))) return existingJob(ctx, index, id, await ctx.ledger.head(id, head.seq + 1), object, obj, problem);
    ctx.log.info('failed file uploaded again: starting it over', { key: object.key, etag: object.etag, job: id, run: rerun.run });
    return { outcome: outcomeOf(index, rerun), pending: { index, version: rerun, shown: true } };
  }
  const status = visibleStatus(head);
  if (!(shows?.etag === head.object.etag && shows.status === status && (status !== 'uploaded' || shows.fileId === head.upload?.fileId))) {
    if (status !== 'uploaded' && status !== 'failed') {
      // A sender may finish the job while we write: make sure the object ends with its final word.
      const newest = (await showNewest(ctx, asNow)).version;
      if (newest.seq !== head.seq) return settledOrPending(index, newest);
    } else {
      // Settled: but a review (or a rerun) may move it while our write is on its way.
      await showNewest(ctx, asNow);
    }
  }
  // The same bytes uploaded again with other headers or user metadata: an uploaded job keeps them
  // on record (a version of its own, like a review change), so its later writes resend them. A
  // review refresh may move the job first: then they go on its version, which is shown again.
  if (status === 'uploaded' && !sameHead(head.object.head, object.head)) {
    const newest = await moveNewest(ctx, head, 'review', (v) => (v.state === 'uploaded' && !sameHead(v.object.head, object.head) ? { upload: v.upload, object: { head: object.head } } : undefined));
    if (newest.seq > head.seq + 1) await show(ctx, newest);
  }
  const outcome = settledOrPending(index, head);
  // A copy of a registration CCC rejected at review says so: re-uploading the same bytes is not a fix.
  const rejected = head.upload?.review === 'rejected' ? '; CCC rejected it at review: record it again and upload the new recording' : '';
  return status === 'uploaded' ? { ...outcome, outcome: { ...outcome.outcome, code: 'Duplicate', message: `this object version was already registered${rejected}` } } : outcome;
}

/**
 * A version of this job cannot be read (edited or damaged by hand). It may stand for a registration,
 * so nothing is sent blind: a version after it is built from what CCC holds (the registration, if CCC
 * has one under the name that no other job recorded), else the file is queued again.
 */
async function rebuildCorrupt(ctx: Ctx, index: number, id: string, object: JobObject): Promise<IntakeResult> {
  // The first version missing after the chain's start (version 0 of a compacted chain holds its head's seq).
  const first = await ctx.ledger.readVersion(id, 0);
  let seq = first === undefined ? 0 : first === CORRUPT ? 1 : first.seq + 1;
  while ((await ctx.ledger.readVersion(id, seq)) !== undefined) seq++;
  ctx.log.warn('job has an unreadable version; rebuilding it from what CCC holds', { key: object.key, job: id, code: 'LedgerCorrupt', versions: seq });
  const customName = object.customName;
  if (!customName) throw new IvrError('LedgerCorrupt', `job ${id} for ${object.key} is unreadable and the file no longer passes its checks`);
  // A stand-in for the unreadable version: the file as it is now, its call's lifetime long over.
  const standIn = carriedOverJob(queuedJob(id, object, ctx.clock.now(), ctx.owner), { state: 'uncertain', checkAfter: 0 }, seq - 1);
  const settled = await settleFromCcc(ctx, [{ version: standIn }]);
  const v = settled.get(id) ?? (await ctx.ledger.head(id, seq));
  if (!v || v === CORRUPT) throw new IvrError('LedgerCorrupt', `job ${id} for ${object.key} could not be rebuilt`, { transient: true });
  if (v.state === 'queued') await ctx.ledger.enqueue(v);
  return settledOrPending(index, v);
}

/** Whether two sets of headers and user metadata are the same, ours (`ivr-*`) aside. */
function sameHead(a: JobObject['head'], b: JobObject['head']): boolean {
  const norm = (h: JobObject['head']) => JSON.stringify([Object.entries(h.standard).sort(), Object.entries(theirMeta(h.meta)).sort()]);
  return norm(a) === norm(b);
}

function settledOrPending(index: number, v: JobVersion): IntakeResult {
  const outcome = outcomeOf(index, v);
  return isFinal(v.state) ? { outcome } : { outcome, pending: { index, version: v, shown: true } };
}
