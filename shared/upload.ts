/**
 * The upload pipeline: one COS object version in, one visible result on the object out.
 * Every step that costs an API call comes after every check that can be made for free, and the
 * ledger makes each object version's registration happen at most once across retries.
 */
import type { AudioFile, IvrAudioApi } from './ccc';
import type { Config } from './config';
import type { CosBucket, ObjectHead } from './cos';
import { checkContent, checkKey, checkNameAndSize, SNIFF_BYTES } from './eligibility';
import { IvrError, toIvrError } from './errors';
import { parseCosEvent, type ObjectEvent } from './event';
import { decideExistingJob, jobId, Ledger, quotaDay, type JobRecord } from './ledger';
import type { Logger } from './log';
import { mergeResult, readResult, sameResult, USER_NAME_META, type IvrResult, type IvrStatus } from './metadata';
import { customFileName } from './naming';
import { backoffMs, isQuotaExhausted, isTransient, matchOutcomes, outcomeUnknown, resultFromOutcome } from './outcome';

export interface UploadDeps {
  config: Config;
  bucket(name: string, region: string): CosBucket;
  api: IvrAudioApi;
  log: Logger;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface RecordOutcome {
  index: number;
  key?: string;
  etag?: string;
  /** `skipped`: nothing to do (our own copy, a duplicate); `rejected`: the record could not be acted on. */
  status: IvrStatus | 'skipped' | 'rejected';
  code?: string;
  message?: string;
  fileId?: number;
  requestId?: string;
  /** This record needs SCF to deliver the event again. */
  retry?: boolean;
}

export interface UploadSummary {
  records: number;
  counts: Partial<Record<RecordOutcome['status'], number>>;
  results: RecordOutcome[];
}

const RECORD_CONCURRENCY = 8;

/** Runs `fn` over `items` with at most `limit` in flight, keeping order in the results. */
export async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Handles a whole COS event. Throws only after every record was handled, and only for retries. */
export async function handleCosEvent(event: unknown, deps: UploadDeps): Promise<UploadSummary> {
  let parsed;
  try {
    parsed = parseCosEvent(event);
  } catch (e) {
    const err = toIvrError(e, 'EventInvalid');
    deps.log.error('event rejected', { code: err.code, error: err.message });
    return { records: 0, counts: { rejected: 1 }, results: [{ index: -1, status: 'rejected', code: err.code, message: err.message }] };
  }
  const results = await mapLimited(parsed, RECORD_CONCURRENCY, async (rec): Promise<RecordOutcome> => {
    if (!rec.ok) {
      deps.log.error('record rejected', { record: rec.index, code: rec.error.code, error: rec.error.message });
      return { index: rec.index, key: rec.key, status: 'rejected', code: rec.error.code, message: rec.error.message };
    }
    const started = deps.now();
    let outcome: RecordOutcome;
    try {
      outcome = await processRecord(rec.event, deps);
    } catch (e) {
      outcome = outcomeOfError(rec.event, toIvrError(e));
    }
    const level = outcome.status === 'failed' || outcome.status === 'rejected' ? 'warn' : outcome.retry ? 'error' : 'info';
    deps.log[level]('record done', { ...outcome, eventName: rec.event.eventName, bucket: rec.event.bucket, eventRequestId: rec.event.eventRequestId, durationMs: deps.now() - started });
    return outcome;
  });
  const counts: UploadSummary['counts'] = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  const summary = { records: results.length, counts, results };
  const retry = results.filter((r) => r.retry);
  if (retry.length > 0) {
    // SCF delivers the event again; the ledger turns the records already handled into no-ops.
    throw new IvrError('RetryScheduled', `${retry.length} of ${results.length} record(s) hit a transient error and will be retried: ${retry.map((r) => `${r.key} (${r.code})`).join(', ')}`, { transient: true });
  }
  return summary;
}

/** An error that escaped the pipeline: a vanished or replaced object ends here, anything else is retried. */
function outcomeOfError(ev: ObjectEvent, err: IvrError): RecordOutcome {
  const base = { index: ev.index, key: ev.key, code: err.code, message: err.message, requestId: err.requestId };
  if (err.code === 'ObjectChanged') return { ...base, status: 'skipped' };
  if (err.code === 'ObjectNotFound') return { ...base, status: 'rejected' };
  return { ...base, status: 'retrying', retry: true };
}

/** Everything one record needs while it is processed. */
interface Job {
  ev: ObjectEvent;
  deps: UploadDeps;
  cos: CosBucket;
  ledger: Ledger;
  key: string;
  head: ObjectHead;
  id: string;
}

export async function processRecord(ev: ObjectEvent, deps: UploadDeps): Promise<RecordOutcome> {
  const { config } = deps;
  const base = { index: ev.index, key: ev.key };
  if (ev.kind === 'copy') return { ...base, status: 'skipped', code: 'OwnCopy', message: 'copy events come from metadata write-backs' };
  if (ev.kind === 'other') return { ...base, status: 'skipped', code: 'UnsupportedEvent', message: `${ev.eventName} is not an upload` };
  const keyProblem = checkKey(ev.key, config.audioPrefix, config.ledgerPrefix);
  if (keyProblem === 'ledger') return { ...base, status: 'skipped', code: 'LedgerObject', message: 'the ledger is not audio' };
  if (keyProblem) return { ...base, status: 'rejected', code: keyProblem.code, message: keyProblem.message };
  const region = ev.region ?? config.region;
  if (!region) return { ...base, status: 'rejected', code: 'EventInvalid', message: 'the event names no ap-* region and TENCENTCLOUD_REGION is not set' };

  const cos = deps.bucket(ev.bucket, region);
  let key = ev.key;
  let head = await cos.head(key);
  if (!head && ev.altKey) {
    key = ev.altKey;
    head = await cos.head(key);
  }
  if (!head) return { ...base, status: 'rejected', code: 'ObjectNotFound', message: 'the object no longer exists' };
  const job: Job = { ev, deps, cos, ledger: new Ledger(cos, config.ledgerPrefix), key, head, id: jobId(ev.bucket, key, head.etag) };

  const existing = await job.ledger.getJob(job.id);
  if (existing) {
    const handled = await handleExisting(job, existing);
    if (handled) return handled;
  }

  const fail = (err: IvrError) => finish(job, { status: 'failed', etag: head!.etag, at: iso(deps), errorCode: err.code, errorMessage: err.message });
  const ok = checkNameAndSize(key, head.size);
  if (ok instanceof IvrError) return fail(ok);
  const contentProblem = checkContent(ok.format, await cos.readPrefix(key, SNIFF_BYTES, head.etag));
  if (contentProblem) return fail(contentProblem);
  const name = customFileName(key, head.meta[USER_NAME_META]);
  if (name instanceof IvrError) return fail(name);

  const record: JobRecord = { v: 1, state: 'claimed', bucket: ev.bucket, key, etag: head.etag, customName: name, updatedAt: iso(deps), attempts: 0 };
  if (existing) {
    await job.ledger.saveJob(job.id, record);
  } else if (!(await job.ledger.claimJob(job.id, record))) {
    // Another delivery of the same event got here first.
    const other = await job.ledger.getJob(job.id);
    const handled = other ? await handleExisting(job, other) : undefined;
    return handled ?? { ...base, etag: head.etag, status: 'skipped', code: 'InFlightElsewhere', message: 'another invocation is handling this object version' };
  }
  return submit(job, record);
}

const iso = (deps: UploadDeps) => new Date(deps.now()).toISOString();

/** Returns an outcome when the existing job settles the record, undefined to (re)submit. */
async function handleExisting(job: Job, existing: JobRecord): Promise<RecordOutcome | undefined> {
  const { deps } = job;
  switch (decideExistingJob(existing, deps.now(), deps.config.jobLeaseSeconds)) {
    case 'done':
    case 'deferred': {
      const outcome = existing.result ? await finish(job, existing.result) : undefined;
      return { ...(outcome ?? { index: job.ev.index, key: job.key, status: existing.result?.status ?? 'skipped' }), code: 'Duplicate', message: 'this object version was already handled' };
    }
    case 'in-flight':
      return { index: job.ev.index, key: job.key, etag: job.head.etag, status: 'skipped', code: 'InFlightElsewhere', message: 'another invocation is handling this object version' };
    case 'uncertain': {
      // A previous attempt called CCC and stopped before recording the answer.
      const found = await findUnrecordedUpload(job, existing.customName);
      if (found) return recordUploaded(job, existing, found, 'recovered');
      return undefined;
    }
    case 'take-over':
      return undefined;
  }
}

/**
 * After a call whose answer we never saw, looks for a file CCC holds under our name whose FileId no
 * job has recorded: that is the registration the lost answer would have told us about.
 */
async function findUnrecordedUpload(job: Job, customName: string): Promise<AudioFile | undefined> {
  const res = await job.deps.api.describe({ customFileNames: [customName], pageNumber: 0, pageSize: 50 });
  if (!res.ok) throw new IvrError(res.failure.code, `could not check whether an earlier attempt registered the file: ${res.failure.message}`, { transient: true, requestId: res.failure.requestId });
  const candidates = res.value.files.filter((f) => f.customFileName === customName).sort((a, b) => b.fileId - a.fileId);
  for (const f of candidates) if (!(await job.ledger.knowsFile(f.fileId))) return f;
  return undefined;
}

async function recordUploaded(job: Job, record: JobRecord, file: AudioFile, requestId: string): Promise<RecordOutcome> {
  const result = resultFromOutcome({ status: 'uploaded', file, requestId }, job.head.etag, record.customName, iso(job.deps));
  await job.ledger.recordFile(file.fileId, job.id);
  await job.ledger.saveJob(job.id, { ...record, state: 'done', updatedAt: iso(job.deps), result });
  return finish(job, result);
}

async function defer(job: Job, record: JobRecord, day: string, why: string): Promise<RecordOutcome> {
  const { deps } = job;
  const result: IvrResult = { status: 'deferred', etag: job.head.etag, at: iso(deps), customName: record.customName, errorCode: 'QuotaExhausted', errorMessage: why };
  await job.ledger.saveJob(job.id, { ...record, state: 'deferred', quotaDay: day, updatedAt: iso(deps), result });
  await job.ledger.enqueueDeferred(job.id, deps.now());
  return finish(job, result);
}

async function submit(job: Job, record: JobRecord): Promise<RecordOutcome> {
  const { deps, ledger } = job;
  const { config } = deps;
  const day = quotaDay(deps.now(), config.quotaUtcOffsetMinutes);
  const quotaWhy = `the daily quota of ${config.dailyQuota} files is used up; the file will be submitted automatically after the quota day ends`;
  if (record.quotaDay !== day) {
    if ((await ledger.claimQuotaSlot(day, config.dailyQuota, job.id)) === undefined) return defer(job, record, day, quotaWhy);
    record = { ...record, quotaDay: day };
  }
  const urlFileName = job.key.slice(job.key.lastIndexOf('/') + 1);
  for (let attempt = 1; ; attempt++) {
    await ledger.awaitRateSlot(deps.now, deps.sleep, job.id);
    record = { ...record, state: 'calling', attempts: record.attempts + 1, updatedAt: iso(deps) };
    await ledger.saveJob(job.id, record);
    const res = await deps.api.upload([{ CustomFileName: record.customName, AudioUrl: job.cos.signedUrl(job.key, config.urlExpiresSeconds) }]);
    if (res.ok) {
      const [outcome] = matchOutcomes([{ customName: record.customName, urlFileName }], res.value);
      if (outcome.status === 'uploaded') return recordUploaded(job, record, outcome.file, outcome.requestId);
      const result = resultFromOutcome(outcome, job.head.etag, record.customName, iso(deps));
      await ledger.saveJob(job.id, { ...record, state: 'done', updatedAt: iso(deps), result });
      return finish(job, result);
    }
    const f = res.failure;
    deps.log.warn('UploadIvrAudio failed', { key: job.key, etag: job.head.etag, attempt, code: f.code, error: f.message, requestId: f.requestId });
    if (isQuotaExhausted(f)) {
      await ledger.markQuotaFull(day);
      return defer(job, record, day, `CCC reports the daily upload limit reached (${f.code}); the file will be submitted automatically after the quota day ends`);
    }
    if (!isTransient(f)) {
      const result: IvrResult = { status: 'failed', etag: job.head.etag, at: iso(deps), customName: record.customName, requestId: f.requestId, errorCode: f.code, errorMessage: f.message };
      await ledger.saveJob(job.id, { ...record, state: 'done', updatedAt: iso(deps), result });
      return finish(job, result);
    }
    if (outcomeUnknown(f)) {
      // The call may have registered the file: look before calling again.
      const found = await findUnrecordedUpload(job, record.customName).catch(() => undefined);
      if (found) return recordUploaded(job, record, found, f.requestId ?? 'recovered');
    }
    if (attempt >= config.maxAttempts) {
      const result: IvrResult = { status: 'retrying', etag: job.head.etag, at: iso(deps), customName: record.customName, requestId: f.requestId, errorCode: f.code, errorMessage: `${f.message} (attempt ${attempt}; will be retried)` };
      // An unknown outcome stays `calling`, so the next run checks CCC before calling again.
      await ledger.saveJob(job.id, { ...record, state: outcomeUnknown(f) ? 'calling' : 'retryable', updatedAt: iso(deps) });
      const written = await finish(job, result);
      return { ...written, retry: true };
    }
    await deps.sleep(backoffMs(attempt, config.retryBaseMs));
  }
}

/** Writes the result onto the object unless it already says exactly that. */
async function finish(job: Job, result: IvrResult): Promise<RecordOutcome> {
  const outcome: RecordOutcome = {
    index: job.ev.index,
    key: job.key,
    etag: job.head.etag,
    status: result.status,
    code: result.errorCode,
    message: result.errorMessage,
    fileId: result.fileId,
    requestId: result.requestId,
  };
  if (sameResult(readResult(job.head.meta), result)) return outcome;
  try {
    await job.cos.replaceMetadata(job.key, job.head, mergeResult(job.head.meta, result));
  } catch (e) {
    const err = toIvrError(e);
    if (err.code === 'ObjectChanged' || err.code === 'ObjectNotFound') {
      // A newer upload replaced or removed this version; its own event carries on from here.
      return { ...outcome, message: `${outcome.message ?? ''} (status not written: ${err.message})`.trim() };
    }
    if (err.code === 'MetadataTooLarge') return { ...outcome, code: outcome.code ?? err.code, message: err.message };
    throw err;
  }
  return outcome;
}
