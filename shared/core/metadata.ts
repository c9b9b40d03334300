/**
 * How a result is written onto the object: `x-cos-meta-ivr-*` fields, URL-encoded, within COS's
 * 2 KB user-metadata budget. User metadata we do not own is carried over untouched.
 */
import { IvrError } from './errors';
import { tryDecodeURIComponent, wellFormed } from './text';

/** Every {@link IvrStatus}: what a status read back from an object must be one of. */
export const STATUSES = ['queued', 'uploaded', 'failed', 'deferred', 'retrying'] as const;
/** What an object shows. `queued`, `retrying` and `deferred` are on the way; `uploaded` and `failed` are final. */
export type IvrStatus = (typeof STATUSES)[number];
/** Every {@link ReviewState}: what a review read back from an object must be one of. */
export const REVIEW_STATES = ['pending', 'approved', 'rejected'] as const;
/** CCC's review of a registered file (its `Status` 0, 1 and 2; see {@link reviewFromCode}). */
export type ReviewState = (typeof REVIEW_STATES)[number];

// Metadata anyone can set (an uploader may send `x-cos-meta-ivr-status` too): checked, never cast.
const isStatus = (v: string | undefined): v is IvrStatus => STATUSES.some((s) => s === v);
const isReview = (v: string | undefined): v is ReviewState => REVIEW_STATES.some((s) => s === v);

/** A job's result as written onto its object, one `x-cos-meta-` field per member (see {@link META}). */
export interface IvrResult {
  status: IvrStatus;
  /** ETag of the object version the result belongs to. */
  etag: string;
  /** ISO time of the job version the result shows. */
  at: string;
  fileId?: number;
  /** The file name CCC gave the registered audio. */
  audioFileName?: string;
  /** The display name (`CustomFileName`) sent to CCC. */
  customName?: string;
  review?: ReviewState;
  /** When the review state was last refreshed from CCC. */
  reviewedAt?: string;
  /** RequestId of the DescribeIvrAudioList call that refreshed the review (never overwrites `requestId`). */
  reviewRequestId?: string;
  /** RequestId of the UploadIvrAudio call that registered the file (what Tencent support asks for), or, for a registration found after its answer was lost, of the DescribeIvrAudioList call that found it. */
  requestId?: string;
  /**
   * Our code or Tencent's, when the file failed, waits for quota or is being retried. A string, not
   * an ErrorCode: read back from an object any release (or a hand edit) may have written, it is
   * shown as it is, and a code this release does not know is still worth showing.
   */
  errorCode?: string;
  /** What went wrong and what to do, trimmed to fit the metadata budget. */
  errorMessage?: string;
  /** What conversion did before CCC got the file, e.g. `44100Hz/2ch/16bit → 8000Hz/1ch/16bit`. */
  converted?: string;
}

/** Metadata names, without the `x-cos-meta-` prefix. `ivr-name` is the uploader's, never ours. */
export const META = {
  status: 'ivr-status',
  fileId: 'ivr-file-id',
  audioFileName: 'ivr-audio-file-name',
  customName: 'ivr-custom-name',
  review: 'ivr-review',
  reviewedAt: 'ivr-reviewed-at',
  reviewRequestId: 'ivr-review-request-id',
  requestId: 'ivr-request-id',
  errorCode: 'ivr-error-code',
  errorMessage: 'ivr-error-message',
  etag: 'ivr-etag',
  at: 'ivr-at',
  converted: 'ivr-converted',
} as const;
/** Where an uploader may set the display name: `x-cos-meta-ivr-name`, URL-encoded UTF-8. */
export const USER_NAME_META = 'ivr-name';
const OURS = new Set<string>(Object.values(META));

/** The object's user metadata without ours (`ivr-*` results): what the operator set. */
export function theirMeta(meta: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).filter(([name]) => !OURS.has(name)));
}

/** Prefix of COS user-metadata headers. */
export const META_PREFIX = 'x-cos-meta-';
/** COS's limit on an object's user metadata: header names with prefix plus values, in bytes. */
export const META_BUDGET_BYTES = 2048;

/** CCC's review `Status` (0 pending, 1 approved, 2 rejected); undefined for anything else. */
export function reviewFromCode(code: number | undefined): ReviewState | undefined {
  return code === 0 ? 'pending' : code === 1 ? 'approved' : code === 2 ? 'rejected' : undefined;
}

/** Picks `x-cos-meta-*` headers (names lower-cased, prefix stripped) out of a HEAD response. */
export function userMetadataFromHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower.startsWith(META_PREFIX) && typeof value === 'string') meta[lower.slice(META_PREFIX.length)] = value;
  }
  return meta;
}

// A value reads in the COS console as it is: percent-encoded is only what a header cannot carry
// (anything outside printable ASCII, which Node refuses raw or HTTP mangles), `%` itself (so that
// reading back is exact, also for values an older release encoded whole) and a space at either
// end (HTTP drops it). Well-formed first: one odd character in a service's answer must not make
// the write throw (and with it the batch, and every later recovery pass that shows the same result).
const enc = (v: string) => wellFormed(v).replace(/[^\x20-\x7e]|%|^ | $/gu, (c) => encodeURIComponent(c));
const dec = (v: string | undefined) => (v === undefined ? undefined : (tryDecodeURIComponent(v) ?? v));

function entryBytes(name: string, value: string): number {
  return Buffer.byteLength(META_PREFIX + name) + Buffer.byteLength(value);
}

/** Cuts a string so that its encoding as a metadata value fits `maxBytes`, never splitting a character. */
export function encodeTrimmed(value: string, maxBytes: number): string {
  const full = enc(value);
  if (full.length <= maxBytes) return full;
  const chars = [...value];
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (enc(chars.slice(0, mid).join('') + '…').length <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '' : enc(chars.slice(0, lo).join('') + '…');
}

/** Fields in the order they are given up when space runs out (last given up first). */
const PRIORITY: Array<keyof typeof META> = ['status', 'etag', 'fileId', 'errorCode', 'review', 'at', 'requestId', 'converted', 'customName', 'reviewedAt', 'audioFileName', 'errorMessage', 'reviewRequestId'];

/**
 * Fields without which the object would mislead: the status and whose it is, and the outcome (the
 * FileId; for `failed`, the error code, checked below). One that does not fit makes the write
 * `MetadataTooLarge`, which the result and a `warn` line report; an `uploaded` without its FileId,
 * or a `failed` without its reason, said nothing of the problem anywhere. (A `retrying` or
 * `deferred` without its code still says where the file stands: better than the older status.)
 */
const ESSENTIAL: ReadonlySet<keyof typeof META> = new Set(['status', 'etag', 'fileId']);

/**
 * Returns the complete user metadata to write: everything the object had except our own fields
 * (including any an uploader tried to spoof), plus the new result.
 */
export function mergeResult(existing: Record<string, string>, result: IvrResult): Record<string, string> {
  const out: Record<string, string> = {};
  let used = 0;
  for (const [name, value] of Object.entries(existing)) {
    if (OURS.has(name)) continue;
    out[name] = value;
    used += entryBytes(name, value);
  }
  for (const field of PRIORITY) {
    const raw = result[field];
    if (raw === undefined || raw === '') continue;
    const name = META[field];
    const room = META_BUDGET_BYTES - used - Buffer.byteLength(META_PREFIX + name);
    const value = field === 'errorMessage' || field === 'audioFileName' || field === 'customName' || field === 'converted' ? encodeTrimmed(String(raw), Math.min(room, 512)) : enc(String(raw));
    if (value === '' || entryBytes(name, value) > META_BUDGET_BYTES - used) {
      if (ESSENTIAL.has(field) || (field === 'errorCode' && result.status === 'failed')) {
        throw new IvrError('MetadataTooLarge', `the object's own metadata leaves no room for ${META_PREFIX}${name} within COS's 2 KB limit`);
      }
      continue;
    }
    out[name] = value;
    used += entryBytes(name, value);
  }
  return out;
}

/**
 * User metadata `written` (as {@link mergeResult} made it from an older read of the object) merged
 * again onto the object's user metadata as it is now: the operator may have changed their own
 * headers since without a new version (a console edit is a self-copy: same content, same ETag),
 * and a write-back must not put the old ones back. Our fields are kept; unreadable ones as given.
 */
export function rebaseResult(current: Record<string, string>, written: Record<string, string>): Record<string, string> {
  const result = readResult(written);
  return result ? mergeResult(current, result) : { ...theirMeta(current), ...Object.fromEntries(Object.entries(written).filter(([name]) => OURS.has(name))) };
}

/** Reads our result back from user metadata; undefined when there is none or it is unreadable. */
export function readResult(meta: Record<string, string>): IvrResult | undefined {
  const status = meta[META.status];
  const etag = dec(meta[META.etag]);
  if (!isStatus(status) || !etag) return undefined;
  const fileId = meta[META.fileId] !== undefined ? Number(meta[META.fileId]) : undefined;
  const review = dec(meta[META.review]);
  return {
    status,
    etag,
    at: dec(meta[META.at]) ?? '',
    fileId: fileId !== undefined && Number.isSafeInteger(fileId) ? fileId : undefined,
    audioFileName: dec(meta[META.audioFileName]),
    customName: dec(meta[META.customName]),
    review: isReview(review) ? review : undefined,
    reviewedAt: dec(meta[META.reviewedAt]),
    reviewRequestId: dec(meta[META.reviewRequestId]),
    requestId: dec(meta[META.requestId]),
    converted: dec(meta[META.converted]),
    errorCode: dec(meta[META.errorCode]),
    errorMessage: dec(meta[META.errorMessage]),
  };
}
