/**
 * Submission through the ledger's queue. Files wait in `pending/`; each second, whichever waiting
 * invocation wins that second's rate slot becomes the leader: it takes up to IVR_MAX_BATCH pending
 * files (its own or anyone's), sends them in one UploadIvrAudio call, and finishes every one of
 * them: job record first, then the result on the object. A burst of files therefore costs a few
 * calls, never more than one per second, and a file whose invocation gave up waiting is still
 * finished by the next leader.
 */
import type { AudioFile } from '../sdk/ccc';
import { mapLimited } from '../runtime/concurrency';
import type { CosBucket, ObjectHead } from '../sdk/cos';
import { IvrError, toIvrError } from '../core/errors';
import { decideExistingJob, Ledger, quotaDay, type JobRecord } from '../store/ledger';
import { mergeResult, readResult, sameResult, type IvrResult } from '../core/metadata';
import { backoffMs, isQuotaExhausted, isTransient, matchOutcomes, outcomeUnknown, resultFromOutcome } from '../core/outcome';
import type { UploadDeps } from './upload';

export interface Queue {
  deps: UploadDeps;
  cos: CosBucket;
  ledger: Ledger;
  /** Names this invocation in claims it makes. */
  owner: string;
}

const WRITE_CONCURRENCY = 8;
const LATE_IN_SECOND_MS = 800;
const iso = (q: Queue) => new Date(q.deps.now()).toISOString();

export interface WriteBack {
  written: boolean;
  /** Why the result could not be put on the object (it stays in the ledger either way). */
  note?: string;
}

/**
 * Puts a result onto the object version it belongs to, unless it already says exactly that. The
 * self-copy is conditional on the ETag, so a newer upload is never stamped with an old result.
 */
export async function writeBack(cos: CosBucket, key: string, result: IvrResult, head?: ObjectHead): Promise<WriteBack> {
  const current = head ?? (await cos.head(key));
  if (!current) return { written: false, note: 'the object was deleted' };
  if (current.etag !== result.etag) return { written: false, note: 'the object was overwritten; the new version is handled on its own' };
  if (sameResult(readResult(current.meta), result)) return { written: false };
  try {
    await cos.replaceMetadata(key, current, mergeResult(current.meta, result));
    return { written: true };
  } catch (e) {
    const err = toIvrError(e);
    if (err.code === 'ObjectChanged' || err.code === 'ObjectNotFound' || err.code === 'MetadataTooLarge') return { written: false, note: err.message };
    throw err;
  }
}

export interface Settled extends WriteBack {
  /** The job record as saved. */
  job: JobRecord;
}

/** Records a final (or deferred) result in the ledger, then on the object. */
export async function settle(q: Queue, id: string, job: JobRecord, result: IvrResult, head?: ObjectHead): Promise<Settled> {
  const state = result.status === 'deferred' ? 'deferred' : result.status === 'retrying' ? 'retryable' : 'done';
  const saved: JobRecord = { ...job, state, updatedAt: iso(q), result };
  await q.ledger.saveJob(id, saved);
  const wb = await writeBack(q.cos, job.key, result, head);
  q.deps.log.info('result recorded', { key: job.key, etag: job.etag, status: result.status, fileId: result.fileId, code: result.errorCode, requestId: result.requestId, written: wb.written, note: wb.note });
  return { ...wb, job: saved };
}

export async function settleUploaded(q: Queue, id: string, job: JobRecord, file: AudioFile, requestId: string): Promise<void> {
  await q.ledger.recordFile(file.fileId, id);
  await settle(q, id, job, resultFromOutcome({ status: 'uploaded', file, requestId }, job.etag, job.customName, iso(q)));
}

export async function defer(q: Queue, id: string, job: JobRecord, day: string, why: string, head?: ObjectHead): Promise<void> {
  const result: IvrResult = { status: 'deferred', etag: job.etag, at: iso(q), customName: job.customName, errorCode: 'QuotaExhausted', errorMessage: why };
  await settle(q, id, { ...job, quotaDay: day }, result, head);
  await q.ledger.enqueueDeferred(id, q.deps.now());
}

/**
 * Puts a job (back) in the queue; `attempts` counts the calls it has already been part of. Each
 * entry is claimed per (job, attempts), so a job re-queued after a call gets a fresh claim.
 */
export async function enqueue(q: Queue, id: string, job: JobRecord, extra: Partial<JobRecord> = {}): Promise<JobRecord> {
  const queued: JobRecord = { ...job, ...extra, state: 'queued', updatedAt: iso(q) };
  await q.ledger.saveJob(id, queued);
  await q.ledger.addPending(id, q.deps.now(), queued.attempts);
  return queued;
}

/**
 * After a call whose answer we never saw, looks for a file CCC holds under our name whose FileId no
 * job has recorded: that is the registration the lost answer would have told us about.
 */
export async function findUnrecordedUpload(q: Queue, id: string, customName: string): Promise<AudioFile | undefined> {
  const res = await q.deps.api.describe({ customFileNames: [customName], pageNumber: 0, pageSize: 50 });
  if (!res.ok) throw new IvrError(res.failure.code, `could not check whether an earlier call registered the file: ${res.failure.message}`, { transient: true, requestId: res.failure.requestId });
  const candidates = res.value.files.filter((f) => f.customFileName === customName).sort((a, b) => b.fileId - a.fileId);
  for (const f of candidates) {
    const owner = await q.ledger.fileOwner(f.fileId);
    // Unrecorded, or recorded for this very job by a run that died before it finished.
    if (owner === undefined || owner === id) return f;
  }
  return undefined;
}

/** A `calling` job whose caller vanished: adopt the registration if it happened, else queue again. */
export async function recoverUncertain(q: Queue, id: string, job: JobRecord): Promise<void> {
  const found = await findUnrecordedUpload(q, id, job.customName);
  if (found) {
    q.deps.log.warn('recovered a registration whose answer was lost', { key: job.key, etag: job.etag, fileId: found.fileId });
    await settleUploaded(q, id, job, found, 'recovered');
  } else {
    await enqueue(q, id, job);
  }
}

interface Item {
  entry: string;
  id: string;
  job: JobRecord;
}

/** Takes up to IVR_MAX_BATCH pending files, oldest first; a `solo` file is sent on its own. */
async function gather(q: Queue): Promise<Item[]> {
  const { config } = q.deps;
  const entries = await q.ledger.listPending(config.maxBatch * 3);
  const now = q.deps.now();
  const loaded = await Promise.all(entries.map(async (e) => ({ ...e, job: await q.ledger.getJob(e.id) })));
  const ready: Item[] = [];
  const seen = new Set<string>();
  for (const e of loaded) {
    if (!e.job || e.job.state === 'done' || e.job.state === 'deferred' || e.job.state === 'retryable' || e.attempt < e.job.attempts) {
      // Settled elsewhere, or superseded by a newer entry for a later attempt: litter.
      await q.ledger.removePending(e.entry);
      continue;
    }
    // A job re-queued after a lost entry can have two entries; one call must never hold it twice.
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    if (e.job.state !== 'queued' || (e.job.notBefore ?? 0) > now) continue;
    if (e.job.solo) {
      if (ready.length === 0) ready.push(e as Item);
      break;
    }
    if (ready.length < config.maxBatch) ready.push(e as Item);
  }
  const won = await Promise.all(ready.map(async (it) => ((await q.ledger.takePending(it.entry, q.owner)) ? it : undefined)));
  return won.filter((x): x is Item => x !== undefined);
}

/** Settles each item with bounded concurrency; one item's error never stops the others. */
async function eachSettled<T>(items: T[], fn: (item: T) => Promise<void>, q: Queue): Promise<void> {
  await mapLimited(items, WRITE_CONCURRENCY, async (item) => {
    try {
      await fn(item);
    } catch (e) {
      const err = toIvrError(e);
      q.deps.log.error('could not finish a file after the call; it stays in the ledger for a retry', { code: err.code, error: err.message });
    }
  });
}

/** Sends one batch in one UploadIvrAudio call and settles every file in it. */
async function submit(q: Queue, items: Item[]): Promise<void> {
  const { deps, ledger } = q;
  const { config } = deps;
  const calling = items.map((it) => ({ ...it, job: { ...it.job, state: 'calling' as const, attempts: it.job.attempts + 1, updatedAt: iso(q) } }));
  // `calling` before the call: if we die after it, whoever finds the job knows to look before resending.
  await Promise.all(calling.map((it) => ledger.saveJob(it.id, it.job)));
  const started = deps.now();
  const res = await deps.api.upload(calling.map((it) => ({ CustomFileName: it.job.customName, AudioUrl: q.cos.signedUrl(it.job.key, config.urlExpiresSeconds) })));
  deps.log.info('UploadIvrAudio called', {
    files: calling.length,
    keys: calling.map((it) => it.job.key),
    ok: res.ok,
    code: res.ok ? undefined : res.failure.code,
    requestId: res.ok ? res.value.requestId : res.failure.requestId,
    durationMs: deps.now() - started,
  });
  const done = async (it: Item) => ledger.removePending(it.entry);

  if (res.ok) {
    const outcomes = matchOutcomes(calling.map((it) => ({ customName: it.job.customName, urlFileName: it.job.key.slice(it.job.key.lastIndexOf('/') + 1) })), res.value);
    await eachSettled(calling.map((it, i) => ({ it, o: outcomes[i] })), async ({ it, o }) => {
      if (o.status === 'uploaded') await settleUploaded(q, it.id, it.job, o.file, o.requestId);
      else await settle(q, it.id, it.job, resultFromOutcome(o, it.job.etag, it.job.customName, iso(q)));
      await done(it);
    }, q);
    return;
  }

  const f = res.failure;
  if (isQuotaExhausted(f)) {
    const day = quotaDay(deps.now(), config.quotaUtcOffsetMinutes);
    await ledger.markQuotaFull(day);
    const why = `CCC reports the daily upload limit reached (${f.code}); the file will be submitted automatically after the quota day ends`;
    await eachSettled(calling, async (it) => {
      await defer(q, it.id, it.job, day, why);
      await done(it);
    }, q);
    return;
  }
  if (!isTransient(f) && calling.length > 1) {
    // One bad file can fail a whole call; resend each alone so only that one fails.
    await eachSettled(calling, async (it) => {
      // A new attempt number (a new claim key); the failed batch call does not count against it.
      await enqueue(q, it.id, it.job, { solo: true, giveUpAt: (it.job.giveUpAt ?? config.maxAttempts) + 1 });
      await done(it);
    }, q);
    return;
  }
  await eachSettled(calling, async (it) => {
    if (!isTransient(f)) {
      await settle(q, it.id, it.job, { status: 'failed', etag: it.job.etag, at: iso(q), customName: it.job.customName, requestId: f.requestId, errorCode: f.code, errorMessage: f.message });
    } else if (outcomeUnknown(f) && (await adoptLostRegistration(q, it, f.requestId))) {
      // settled, or left `calling` for recovery once its lease runs out
    } else if (it.job.attempts >= (it.job.giveUpAt ?? config.maxAttempts)) {
      await settle(q, it.id, it.job, { status: 'retrying', etag: it.job.etag, at: iso(q), customName: it.job.customName, requestId: f.requestId, errorCode: f.code, errorMessage: `${f.message} (after ${it.job.attempts} attempts; will be retried)` });
    } else {
      await enqueue(q, it.id, it.job, { notBefore: deps.now() + backoffMs(it.job.attempts, config.retryBaseMs) });
    }
    await done(it);
  }, q);
}

/**
 * The call may have registered the file although we saw no answer. True when the job was settled
 * from what CCC holds, or must stay `calling` because CCC could not be asked (never resend blind).
 */
async function adoptLostRegistration(q: Queue, it: Item, requestId: string | undefined): Promise<boolean> {
  let found: AudioFile | undefined;
  try {
    found = await findUnrecordedUpload(q, it.id, it.job.customName);
  } catch (e) {
    q.deps.log.warn('could not check for a lost registration; the job waits for recovery', { key: it.job.key, code: toIvrError(e).code });
    return true;
  }
  if (!found) return false;
  await settleUploaded(q, it.id, it.job, found, requestId ?? 'recovered');
  return true;
}

/**
 * Tries to lead the next second: wins its rate slot, gathers pending files at its start and sends
 * them. Returns how many files were sent (0 when another instance has the second or nothing waits).
 */
export async function leadOnce(q: Queue): Promise<number> {
  const second = await q.ledger.tryRateSlot(q.deps.now(), q.owner);
  if (second === undefined) return 0;
  const wait = second * 1000 - q.deps.now();
  if (wait > 0) await q.deps.sleep(wait);
  const items = await gather(q);
  if (items.length === 0) return 0;
  // Gathering ran late: the call would land in the next leader's second, so take a later one.
  if (q.deps.now() - second * 1000 > LATE_IN_SECOND_MS) {
    const later = await q.ledger.claimRateSlotFrom(Math.floor(q.deps.now() / 1000) + 1, q.owner);
    await q.deps.sleep(Math.max(0, later * 1000 - q.deps.now()));
  }
  await submit(q, items);
  return items.length;
}

const sleepToNextSecond = (q: Queue) => q.deps.sleep(1000 - (q.deps.now() % 1000) + Math.floor(Math.random() * 150));

/**
 * Waits for one job to leave the queue, leading calls whenever this instance wins a second.
 * Returns the job as it stands at the end (still `queued` if `deadlineMs` came first).
 */
export async function awaitJob(q: Queue, id: string, deadlineMs: number): Promise<JobRecord | undefined> {
  for (;;) {
    const job = await q.ledger.getJob(id);
    if (!job) return undefined;
    if (job.state === 'done' || job.state === 'deferred' || job.state === 'retryable') return job;
    if (decideExistingJob(job, q.deps.now(), q.deps.config.jobLeaseSeconds) === 'uncertain') {
      await recoverUncertain(q, id, job);
      continue;
    }
    if (job.state === 'queued' && q.deps.now() - Date.parse(job.updatedAt) > q.deps.config.jobLeaseSeconds * 1000) {
      // Queued for longer than any queue takes to drain: its pending entry was lost. Queue it anew.
      q.deps.log.warn('queued job without progress; queuing it again', { key: job.key, etag: job.etag, job: id });
      await enqueue(q, id, job, { attempts: job.attempts + 1, giveUpAt: (job.giveUpAt ?? q.deps.config.maxAttempts) + 1 });
      continue;
    }
    if (q.deps.now() >= deadlineMs) return job;
    if ((await leadOnce(q)) === 0) await sleepToNextSecond(q);
  }
}

/** Sends everything pending (the timer function's job after moving deferred files back in). */
export async function drain(q: Queue, deadlineMs: number): Promise<number> {
  let sent = 0;
  while (q.deps.now() < deadlineMs) {
    const pending = await q.ledger.listPending(1);
    if (pending.length === 0) break;
    const n = await leadOnce(q);
    sent += n;
    if (n === 0) await sleepToNextSecond(q);
  }
  return sent;
}
