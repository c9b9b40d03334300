/**
 * Pure decisions about CCC's answers: what a failed call means for its files, how long to back
 * off, and which file each entry of a successful answer belongs to.
 */
import type { ErrorCode } from './errors';
import type { JobVersion, LastError, TransitionPatch } from './job';

/** Why a call did not produce a usable answer (the CCC adapter's view of an SDK error). */
export interface ApiFailure {
  kind: 'api' | 'http' | 'network' | 'invalid-response';
  code: ErrorCode;
  message: string;
  requestId?: string;
  httpStatus?: number;
  /** What the SDK threw, kept for debugging; never stored (its message may quote the signed URL). */
  cause?: unknown;
}

/** A registered file as CCC describes it. */
export interface AudioFile {
  fileId: number;
  customFileName: string;
  audioFileName: string;
  /** 0 not reviewed yet, 1 approved, 2 rejected. */
  status?: number;
}

/** An UploadIvrAudio answer (the request succeeded; single files may still have failed), as plain data. */
export interface UploadResponse {
  requestId: string;
  succeeded: AudioFile[];
  /** Files CCC refused; `fileName` may be the custom name or the file name in the URL (see {@link matchOutcomes}). */
  failed: Array<{ fileName: string; message: string }>;
}

/** What a failed call means for the files in it. */
export type CallFailureKind =
  /** Refused before processing (`RequestLimitExceeded`): not an attempt; send again after the gap. */
  | 'rate-limited'
  /** `FailedOperation.UploadFileOverflow`: the quota day is spent; every send stops for that day. */
  | 'quota'
  /** No answer (network, timeout, 5xx, garbage): it may have registered; ask CCC once its lifetime has passed. */
  | 'unknown'
  /**
   * CCC answered with an internal error: it may have registered some or all of it, and may still be
   * doing so; handled as a lost answer (asked about once the call's lifetime has passed).
   */
  | 'internal'
  /** Credentials expired mid-flight or a clock off by minutes: not processed; retry with backoff. */
  | 'credentials'
  /** Anything a retry cannot cure (bad parameters, permissions): the file fails with the code. */
  | 'permanent';

/** What a call that produced no usable answer means for every file in it. */
export function classifyFailure(f: ApiFailure): CallFailureKind {
  if (f.kind === 'network' || f.kind === 'invalid-response') return 'unknown';
  if (f.kind === 'http') return (f.httpStatus ?? 0) >= 500 || f.httpStatus === 429 ? 'unknown' : 'permanent';
  const c: string = f.code;
  if (c === 'RequestLimitExceeded' || c.startsWith('RequestLimitExceeded.')) return 'rate-limited';
  if (c === 'FailedOperation.UploadFileOverflow') return 'quota';
  if (c === 'InternalError' || c.startsWith('InternalError.')) return 'internal';
  if (c === 'AuthFailure.TokenFailure' || c === 'AuthFailure.SignatureExpire') return 'credentials';
  return 'permanent';
}

/**
 * Backoff before attempt `attempt + 1`, with jitter: ×4 per attempt, capped at 5 minutes, so the
 * default four attempts spread over about half a minute and ride out a short outage.
 */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(baseMs * 4 ** Math.max(0, attempt - 1), 300000);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * When the next call may start after CCC refused ours for its rate limit `refusals` times in a row
 * although our calls are spaced a gap apart: someone else is calling on the SdkAppId, so each
 * refusal doubles the wait, up to 30 gaps.
 */
export const rateLimitedUntil = (nowMs: number, callGapMs: number, refusals: number): number => nowMs + callGapMs * Math.min(2 ** refusals, 30);

/**
 * The error a file shows while the answer to its call is unknown (no answer, or an error that does
 * not say whether CCC registered it): what happened, and that CCC is asked after the call's
 * lifetime before anything is sent again. A lost connection shows as `OutcomeUnknown`.
 */
export function lostAnswerError(f: ApiFailure, callLifetimeMs: number): LastError {
  const what = f.kind === 'api' ? `CCC answered ${f.code} (${f.message}), which does not say whether it registered the file` : `no answer from CCC (${f.message})`;
  return { code: f.code === 'NetworkError' ? 'OutcomeUnknown' : f.code, message: `${what}; CCC is asked whether it registered the file before anything is sent again, no sooner than ${Math.round(callLifetimeMs / 1000)} s from now`, requestId: f.requestId };
}

/**
 * What a call that reached CCC without registering `v` leads to: another try after a backoff, or,
 * when that call was its last allowed attempt, giving up. The give-up carries `giveUp` (the error
 * the object shows); a retry keeps `lastError` if given.
 */
export function afterFailedAttempt(v: Pick<JobVersion, 'attempts'>, o: { maxAttempts: number; nowMs: number; retryBaseMs: number; lastError?: LastError; giveUp: LastError }): { event: 'retry' | 'give-up'; patch: TransitionPatch } {
  if (v.attempts + 1 >= o.maxAttempts) return { event: 'give-up', patch: { lastError: o.giveUp } };
  return { event: 'retry', patch: { ...(o.lastError ? { lastError: o.lastError } : {}), notBefore: o.nowMs + backoffMs(v.attempts + 1, o.retryBaseMs) } };
}

/** One file's result in a successful answer: registered, refused by CCC, or not mentioned (`ResponseInvalid`). */
export type FileOutcome = { status: 'uploaded'; file: AudioFile } | { status: 'failed'; errorCode: 'UploadRejected' | 'ResponseInvalid'; errorMessage: string };

/**
 * Assigns each requested file its entry in the answer. Entries are matched by name, in order, so
 * duplicate names still map one to one; `FailedFileList.FileName` may be the custom name or the
 * file name in the URL, so both are tried.
 */
export function matchOutcomes(requested: Array<{ customName: string; urlFileName: string }>, res: UploadResponse): FileOutcome[] {
  const ok = [...res.succeeded];
  const bad = [...res.failed];
  const take = <T>(list: T[], pred: (x: T) => boolean): T | undefined => {
    const i = list.findIndex(pred);
    return i === -1 ? undefined : list.splice(i, 1)[0];
  };
  const rejected = (message: string): FileOutcome => ({ status: 'failed', errorCode: 'UploadRejected', errorMessage: message || 'rejected by CCC' });
  const first = requested.map((r): FileOutcome | undefined => {
    const s = take(ok, (f) => f.customFileName === r.customName);
    if (s) return { status: 'uploaded', file: s };
    const f = take(bad, (x) => x.fileName === r.customName || x.fileName === r.urlFileName);
    return f ? rejected(f.message) : undefined;
  });
  // Whatever is left pairs up in order (a single-file call always lands here if names differ).
  return first.map((o) => {
    if (o) return o;
    const s = ok.shift();
    if (s) return { status: 'uploaded', file: s };
    const f = bad.shift();
    if (f) return rejected(f.message);
    return { status: 'failed', errorCode: 'ResponseInvalid', errorMessage: 'CCC answered without mentioning this file' };
  });
}

/**
 * After a call whose answer was lost: which FileId, if any, is this job's registration. CCC lists
 * files by display name; one already recorded for this job is its own (its outcome could not be
 * written after the record was), else the newest that no job recorded. The send log never lets two
 * files of one name be in open calls at once, so at most one job is looking at a name.
 */
export function pickRegistration(name: string, described: AudioFile[], owners: Map<number, string | undefined>, jobId: string): AudioFile | undefined {
  const named = described.filter((f) => f.customFileName === name).sort((a, b) => b.fileId - a.fileId);
  return named.find((f) => owners.get(f.fileId) === jobId) ?? named.find((f) => owners.get(f.fileId) === undefined);
}
