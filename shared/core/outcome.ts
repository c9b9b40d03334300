/**
 * Pure decisions about API results: which failures are worth retrying, how long to wait, and
 * what each file's result is.
 */
import type { ApiFailure, AudioFile, UploadResponse } from '../sdk/ccc';
import { reviewFromCode, type IvrResult } from './metadata';

/** A failure after which the same call may succeed. Unknown outcomes (network) count too. */
export function isTransient(f: ApiFailure): boolean {
  if (f.kind === 'network' || f.kind === 'invalid-response') return true;
  if (f.kind === 'http') return (f.httpStatus ?? 0) >= 500 || f.httpStatus === 429;
  return (
    f.code.startsWith('InternalError') ||
    f.code === 'RequestLimitExceeded' ||
    f.code.startsWith('RequestLimitExceeded.') ||
    // Clock skew and an STS token that expired mid-flight are cured by the next attempt.
    f.code === 'AuthFailure.SignatureExpire' ||
    f.code === 'AuthFailure.TokenFailure'
  );
}

/** True when the service may have registered the files even though we got no answer. */
export function outcomeUnknown(f: ApiFailure): boolean {
  return f.kind === 'network' || f.kind === 'invalid-response' || (f.kind === 'http' && (f.httpStatus ?? 0) >= 500);
}

export const isQuotaExhausted = (f: ApiFailure) => f.code === 'FailedOperation.UploadFileOverflow';

/** Exponential backoff with full jitter, capped. `attempt` counts from 1. */
export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(baseMs * 2 ** (attempt - 1), 20000);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export type FileOutcome =
  | { status: 'uploaded'; file: AudioFile; requestId: string }
  | { status: 'failed'; errorCode: string; errorMessage: string; requestId: string };

/**
 * Assigns each requested file its entry in the response. Entries are matched by name, in order,
 * so duplicate names in one batch still map one to one; `FailedFileList.FileName` may be either
 * the custom name or the file name in the URL, so both are tried.
 */
export function matchOutcomes(requested: Array<{ customName: string; urlFileName: string }>, res: UploadResponse): FileOutcome[] {
  const ok = [...res.succeeded];
  const bad = [...res.failed];
  const take = <T>(list: T[], pred: (x: T) => boolean): T | undefined => {
    const i = list.findIndex(pred);
    return i === -1 ? undefined : list.splice(i, 1)[0];
  };
  const first = requested.map((r) => {
    const s = take(ok, (f) => f.customFileName === r.customName);
    if (s) return { status: 'uploaded', file: s, requestId: res.requestId } as FileOutcome;
    const f = take(bad, (x) => x.fileName === r.customName || x.fileName === r.urlFileName);
    if (f) return { status: 'failed', errorCode: 'UploadRejected', errorMessage: f.message || 'rejected by CCC', requestId: res.requestId } as FileOutcome;
    return undefined;
  });
  // Whatever is left pairs up in order (a single-file call always lands here if names differ).
  return first.map((o) => {
    if (o) return o;
    const s = ok.shift();
    if (s) return { status: 'uploaded', file: s, requestId: res.requestId };
    const f = bad.shift();
    if (f) return { status: 'failed', errorCode: 'UploadRejected', errorMessage: f.message || 'rejected by CCC', requestId: res.requestId };
    return { status: 'failed', errorCode: 'ResponseInvalid', errorMessage: 'CCC answered without mentioning this file', requestId: res.requestId };
  });
}

export function resultFromOutcome(o: FileOutcome, etag: string, customName: string, at: string): IvrResult {
  if (o.status === 'uploaded') {
    return {
      status: 'uploaded',
      etag,
      at,
      fileId: o.file.fileId,
      audioFileName: o.file.audioFileName,
      customName,
      review: reviewFromCode(o.file.status) ?? 'pending',
      requestId: o.requestId,
    };
  }
  return { status: 'failed', etag, at, customName, requestId: o.requestId, errorCode: o.errorCode, errorMessage: o.errorMessage };
}
