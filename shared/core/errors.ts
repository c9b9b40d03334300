/**
 * Every failure the product reports carries a stable `code`. Codes that come from Tencent
 * (`InvalidParameterValue`, `AuthFailure.SignatureFailure`, ...) are kept verbatim so an operator
 * can look them up; our own codes are PascalCase words that never collide with Tencent's.
 */
export type OwnErrorCode =
  | 'ConfigInvalid'
  | 'EventInvalid'
  | 'KeyInvalid'
  | 'KeyOutsidePrefix'
  | 'UnsupportedExtension'
  | 'EmptyFile'
  | 'FileTooLarge'
  | 'NotAudio'
  | 'FormatMismatch'
  | 'IvrNameInvalid'
  | 'ObjectNotFound'
  | 'ObjectChanged'
  | 'MetadataTooLarge'
  | 'StorageError'
  | 'NetworkError'
  | 'HttpError'
  | 'ResponseInvalid'
  | 'UploadRejected'
  | 'InFlightElsewhere';

export class IvrError extends Error {
  readonly code: string;
  /** Worth retrying later: the same request may succeed once the cause passes. */
  readonly transient: boolean;
  readonly requestId?: string;

  constructor(code: OwnErrorCode | string, message: string, opts: { transient?: boolean; requestId?: string } = {}) {
    super(message);
    this.name = 'IvrError';
    this.code = code;
    this.transient = opts.transient ?? false;
    this.requestId = opts.requestId;
  }
}

/** Normalises anything thrown into an IvrError without losing its message. */
export function toIvrError(e: unknown, fallbackCode: OwnErrorCode = 'StorageError'): IvrError {
  if (e instanceof IvrError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new IvrError(fallbackCode, message);
}
