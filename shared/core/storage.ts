/**
 * Which COS failures are worth another try, decided over plain data (what the COS adapter read
 * from the SDK's rejection), as core/outcome.ts decides for CCC's. The adapter only reads and
 * words the failure; a later delivery or pass is what "another try" means (the SDK has already
 * retried 5xx, throttling and network errors itself).
 */

/** COS's codes for a request whose credentials or signature it refused (not a missing permission). */
export const CREDENTIAL_REFUSALS: ReadonlySet<string> = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'RequestTimeTooSkewed', 'ExpiredToken', 'InvalidToken']);

/** Whether COS refused the request's credentials: by one of {@link CREDENTIAL_REFUSALS}, or an `AccessDenied` that says they expired. */
export const credentialsRefused = (code: string | undefined, message: string | undefined): boolean => CREDENTIAL_REFUSALS.has(code ?? '') || (code === 'AccessDenied' && /expired/i.test(message ?? ''));

/**
 * Whether a failed COS request may succeed later: no answer, or COS's side (5xx, 429), or a copy
 * COS answered with HTTP 200 and an error body (its documented way to fail late), or a refusal of
 * the signature or of the role's temporary credentials (expired, rotated, a clock off: a delivery
 * again runs with the instance's credentials as they are then).
 */
export function cosTransient(f: { status?: number; code: string; message?: string }): boolean {
  const { status } = f;
  return status === undefined || status >= 500 || status === 429 || status === 200 || f.code === 'NetworkError' || credentialsRefused(f.code, f.message);
}

/** Per-key codes of a batch delete worth another try later (COS's side). */
const TRANSIENT_KEY_CODES: ReadonlySet<string> = new Set(['InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout']);

/** Whether keys a batch delete answered 200 for but did not delete may be deleted later: only if every refusal is COS's side or the credentials of this run. */
export const refusedKeysTransient = (refused: Array<{ Code?: string; Message?: string }>): boolean => refused.every((x) => TRANSIENT_KEY_CODES.has(x.Code ?? '') || credentialsRefused(x.Code, x.Message));
