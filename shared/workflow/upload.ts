/**
 * The upload pipeline: one COS object version in, one visible result on the object out.
 * Every step that costs an API call comes after every check that can be made for free, and the
 * ledger makes each object version's registration happen at most once across retries.
 */
import { randomUUID } from 'crypto';
import type { IvrAudioApi } from '../sdk/ccc';
import { mapLimited } from '../runtime/concurrency';
import type { Config } from '../core/config';
import type { CosBucket, ObjectHead } from '../sdk/cos';
import { checkContent, checkKey, checkNameAndSize, SNIFF_BYTES } from '../core/eligibility';
import { IvrError, toIvrError } from '../core/errors';
import { parseCosEvent, type ObjectEvent } from '../core/event';
import { decideExistingJob, jobId, Ledger, quotaDay, type JobRecord } from '../store/ledger';
import { awaitJob, defer, enqueue, findUnrecordedUpload, recoverUncertain, settle, settleUploaded, writeBack, type Queue } from './queue';
import type { Logger } from '../runtime/log';
import { USER_NAME_META, type IvrResult, type IvrStatus } from '../core/metadata';
import { customFileName } from '../core/naming';

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

  const started = deps.now();
  const cos = deps.bucket(ev.bucket, region);
  let key = ev.key;
  let head = await cos.head(key);
  if (!head && ev.altKey) {
    key = ev.altKey;
    head = await cos.head(key);
  }
  if (!head) return { ...base, status: 'rejected', code: 'ObjectNotFound', message: 'the object no longer exists' };
  const q: Queue = { deps, cos, ledger: new Ledger(cos, config.ledgerPrefix), owner: randomUUID() };
  const id = jobId(ev.bucket, key, head.etag);
  const deadline = started + config.waitSeconds * 1000;
  const fromJob = (job: JobRecord | undefined) => outcomeOfJob(q, ev.index, key, head!, id, job);
  const inFlightElsewhere: RecordOutcome = { ...base, key, etag: head.etag, status: 'skipped', code: 'InFlightElsewhere', message: 'another invocation is handling this object version' };

  const existing = await q.ledger.getJob(id);
  if (existing) {
    switch (decideExistingJob(existing, deps.now(), config.jobLeaseSeconds)) {
      case 'done':
      case 'deferred':
        return { ...(await fromJob(existing)), code: existing.result?.errorCode ?? 'Duplicate', message: existing.result?.errorMessage ?? 'this object version was already handled' };
      case 'failed':
        // Checked again from scratch below; only one delivery gets to start the re-run.
        if (!(await q.ledger.claimRerun(id, (existing.reruns ?? 0) + 1))) return { ...(await fromJob(existing)), code: existing.result?.errorCode, message: existing.result?.errorMessage };
        break;
      case 'queued':
        return fromJob(await awaitJob(q, id, deadline));
      case 'in-flight':
        return inFlightElsewhere;
      case 'uncertain':
        await recoverUncertain(q, id, existing);
        return fromJob(await awaitJob(q, id, deadline));
      case 'take-over':
        return queueAndWait(q, id, { ...existing, giveUpAt: existing.attempts + config.maxAttempts }, deadline, fromJob);
    }
  }

  const attempts = existing?.attempts ?? 0;
  const reruns = existing ? (existing.reruns ?? 0) + 1 : 0;
  const fresh: JobRecord = { v: 1, state: 'claimed', bucket: ev.bucket, key, etag: head.etag, customName: '', updatedAt: new Date(deps.now()).toISOString(), attempts, giveUpAt: attempts + config.maxAttempts, reruns };
  const failed = (err: IvrError) => settleIneligible(q, ev.index, id, fresh, head!, err);
  const ok = checkNameAndSize(key, head.size);
  if (ok instanceof IvrError) return failed(ok);
  const contentProblem = checkContent(ok.format, await cos.readPrefix(key, SNIFF_BYTES, head.etag));
  if (contentProblem) return failed(contentProblem);
  const name = customFileName(key, head.meta[USER_NAME_META]);
  if (name instanceof IvrError) return failed(name);

  const record: JobRecord = { ...fresh, customName: name };
  if (existing) {
    await q.ledger.saveJob(id, record);
  } else if (!(await q.ledger.claimJob(id, record))) {
    if ((await q.ledger.getJob(id)) === undefined) return rebuildCorruptJob(q, id, record, deadline, fromJob, head);
    // Another delivery of the same event got here first; it will finish the job.
    return inFlightElsewhere;
  }
  return queueAndWait(q, id, record, deadline, fromJob, head);
}

/**
 * The job record exists but cannot be read (corrupted or half-written by hand). It may belong to
 * a registration that happened, so CCC is asked first; otherwise the job starts afresh.
 */
async function rebuildCorruptJob(q: Queue, id: string, record: JobRecord, deadline: number, fromJob: (j: JobRecord | undefined) => Promise<RecordOutcome>, head: ObjectHead): Promise<RecordOutcome> {
  q.deps.log.warn('ledger job record unreadable; rebuilding it', { key: record.key, etag: record.etag, job: id, code: 'LedgerCorrupt' });
  const found = await findUnrecordedUpload(q, id, record.customName);
  if (found) {
    await settleUploaded(q, id, record, found, 'recovered');
    return fromJob(await q.ledger.getJob(id));
  }
  await q.ledger.saveJob(id, record);
  return queueAndWait(q, id, record, deadline, fromJob, head);
}

/** Ineligible files cost no API call; the ledger keeps the result for the report and for redeliveries. */
async function settleIneligible(q: Queue, index: number, id: string, job: JobRecord, head: ObjectHead, err: IvrError): Promise<RecordOutcome> {
  const result: IvrResult = { status: 'failed', etag: head.etag, at: new Date(q.deps.now()).toISOString(), errorCode: err.code, errorMessage: err.message };
  const wb = await settle(q, id, job, result, head);
  return { index, key: job.key, etag: head.etag, status: 'failed', code: err.code, message: wb.note ? `${err.message} (${wb.note})` : err.message };
}

/** Takes a quota slot (or defers), queues the file and waits for a leader to send it. */
async function queueAndWait(q: Queue, id: string, job: JobRecord, deadline: number, fromJob: (j: JobRecord | undefined) => Promise<RecordOutcome>, head?: ObjectHead): Promise<RecordOutcome> {
  const { config } = q.deps;
  const day = quotaDay(q.deps.now(), config.quotaUtcOffsetMinutes);
  if (job.quotaDay !== day) {
    if ((await q.ledger.claimQuotaSlot(day, config.dailyQuota, id)) === undefined) {
      await defer(q, id, job, day, `the daily quota of ${config.dailyQuota} files is used up; the file will be submitted automatically after the quota day ends`, head);
      return fromJob(await q.ledger.getJob(id));
    }
    job = { ...job, quotaDay: day };
  }
  await enqueue(q, id, job, { solo: false, notBefore: undefined });
  return fromJob(await awaitJob(q, id, deadline));
}

/** Turns the job as it stands into this record's outcome, making sure the object shows it. */
async function outcomeOfJob(q: Queue, index: number, key: string, head: ObjectHead, id: string, job: JobRecord | undefined): Promise<RecordOutcome> {
  const base = { index, key, etag: head.etag };
  if (!job) return { ...base, status: 'retrying', code: 'LedgerMissing', message: `job ${id} vanished from the ledger`, retry: true };
  const r = job.result;
  if ((job.state === 'done' || job.state === 'deferred' || job.state === 'retryable') && r) {
    // The leader normally wrote it already; this repairs the object if it could not.
    const wb = await writeBack(q.cos, key, r);
    const outcome: RecordOutcome = { ...base, status: r.status, code: r.errorCode, message: wb.note ? `${r.errorMessage ?? ''} (${wb.note})`.trim() : r.errorMessage, fileId: r.fileId, requestId: r.requestId };
    return job.state === 'retryable' ? { ...outcome, retry: true } : outcome;
  }
  // Still waiting for a call: SCF delivers the event again and this invocation's successor waits on.
  return { ...base, status: 'retrying', code: 'StillQueued', message: `not sent within ${q.deps.config.waitSeconds}s; the queue keeps it and a later run finishes it`, retry: true };
}
