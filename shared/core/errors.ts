/**
 * The product's one error family. Every failure carries a stable `code`: our own codes are
 * PascalCase words; codes that come from Tencent (`InvalidParameterValue`,
 * `AuthFailure.SignatureFailure`, …) are kept verbatim so an operator can look them up, and are
 * typed by their documented prefixes. `transient` is what decides whether anything is retried.
 */

/** Codes this product defines. They never collide with Tencent's (no dot, no Tencent prefix). */
export const OWN_ERROR_CODES = [
  // configuration and input
  'ConfigInvalid',
  'EventInvalid',
  'WrongBucket',
  'KeyInvalid',
  'KeyOutsidePrefix',
  'UnsupportedExtension',
  'EmptyFile',
  'FileTooLarge',
  'NotAudio',
  'FormatMismatch',
  'AudioTruncated',
  'AudioInvalid',
  'AudioEmpty',
  'AudioTooLong',
  'AudioTooLargeToConvert',
  'ConversionFailed',
  'IvrNameInvalid',
  // the object
  'ObjectNotFound',
  'ObjectArchived',
  'ObjectChanged',
  'MetadataTooLarge',
  // storage and network
  'StorageError',
  'BucketVersioned',
  'LedgerCorrupt',
  'NetworkError',
  'HttpError',
  'ResponseInvalid',
  // CCC outcomes
  'UploadRejected',
  'QuotaExhausted',
  'OutcomeUnknown',
  'GaveUp',
  // control flow reported to SCF
  'RetryScheduled',
  'WebhookFailed',
  // a bug: anything thrown that is not an IvrError
  'Unexpected',
] as const;
/** One of {@link OWN_ERROR_CODES}. */
export type OwnErrorCode = (typeof OWN_ERROR_CODES)[number];

/** Why a record needed no work (a result's `code` with status `skipped`): not errors. */
export type SkipCode = 'OwnCopy' | 'UnsupportedEvent' | 'LedgerObject' | 'FolderMarker' | 'Duplicate';

/** Top-level error code families documented for Tencent Cloud APIs (common and CCC codes). */
const TENCENT_FAMILIES = [
  'AuthFailure',
  'FailedOperation',
  'InternalError',
  'InvalidAction',
  'InvalidParameter',
  'InvalidParameterValue',
  'InvalidRequest',
  'LimitExceeded',
  'MissingParameter',
  'NoSuchVersion',
  'OperationDenied',
  'RequestLimitExceeded',
  'RequestSizeLimitExceeded',
  'ResourceInUse',
  'ResourceInsufficient',
  'ResourceNotFound',
  'ResourceUnavailable',
  'ServiceUnavailable',
  'UnauthorizedOperation',
  'UnknownParameter',
  'UnsupportedOperation',
  'UnsupportedProtocol',
  'UnsupportedRegion',
] as const;
type TencentFamily = (typeof TENCENT_FAMILIES)[number];

/** A Tencent API error code such as `FailedOperation.UploadFileOverflow`. */
export type TencentErrorCode = TencentFamily | `${TencentFamily}.${string}`;

/** Any code an {@link IvrError} carries: ours, or Tencent's verbatim. */
export type ErrorCode = OwnErrorCode | TencentErrorCode;

const FAMILIES = new Set<string>(TENCENT_FAMILIES);

/** Parses a code read back from storage (ours or Tencent's); undefined when it is neither. */
export function asErrorCode(code: string | undefined): ErrorCode | undefined {
  if (code === undefined) return undefined;
  return (OWN_ERROR_CODES as readonly string[]).includes(code) ? (code as OwnErrorCode) : asTencentCode(code);
}

/** Parses an untrusted code string from a Tencent API answer; undefined when it is not one. */
export function asTencentCode(code: string): TencentErrorCode | undefined {
  const family = code.split('.')[0];
  return FAMILIES.has(family) && /^[A-Za-z0-9.]+$/.test(code) ? (code as TencentErrorCode) : undefined;
}

/** Options of an {@link IvrError}. */
export interface IvrErrorOptions {
  /** Worth retrying later: the same request may succeed once the cause passes. */
  transient?: boolean;
  /** The service's request id, for support. */
  requestId?: string;
  /** What caused it (an SDK error, a parse error), kept for logs and debugging. */
  cause?: unknown;
}

/** The error every layer throws or returns. Programming bugs are not turned into IvrErrors. */
export class IvrError extends Error {
  /** Ours or Tencent's verbatim: what logs, results and `ivr-error-code` show. */
  readonly code: ErrorCode;
  /** Worth retrying later (see {@link IvrErrorOptions.transient}); false unless the thrower said so. */
  readonly transient: boolean;
  /** The service's request id, for support. */
  readonly requestId?: string;

  constructor(code: ErrorCode, message: string, opts: IvrErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'IvrError';
    this.code = code;
    this.transient = opts.transient ?? false;
    this.requestId = opts.requestId;
  }
}

/**
 * The object a status write was for is gone (`ObjectNotFound`) or is another version now
 * (`ObjectChanged`): the one wording for both, whoever finds it (a HEAD, COS's 404 or 412).
 */
export function objectMoved(code: 'ObjectNotFound' | 'ObjectChanged', key: string, cause?: unknown): IvrError {
  return new IvrError(code, `the object ${key} was ${code === 'ObjectNotFound' ? 'deleted' : 'overwritten'} before its status could be written`, { cause });
}

/** A value that is either a result or an IvrError, for pure functions that must not throw. */
export type Checked<T> = T | IvrError;

