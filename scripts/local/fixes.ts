/**
 * The local stack's note on a failed file (`<name>.error.txt`): the reason, and the fix
 * (shared/core/fixes.ts) as the drop folder takes a fixed file in again.
 */
import { asErrorCode } from '../../shared/core/errors';
import { fixFor as sharedFix } from '../../shared/core/fixes';
import { formatDateTime } from './time';

const AGAIN = 'then drop the fixed file into the drop folder again.';

/** For codes without a known fix: nothing in the file is known to be wrong. */
export const DEFAULT_FIX = 'No fix is known for this code. Read the message above; if the file itself is fine, run `npm run status` and look at the function logs, then drop the file again.';

/** The fix for `code` (as read from the object: any string), for the drop folder. */
export function fixFor(code: string | undefined): string {
  return sharedFix(asErrorCode(code), AGAIN) ?? DEFAULT_FIX;
}

/** How a note names the failed file's object (the drop folder reads it back to delete the object when the file is removed). */
export const OBJECT_LINE = 'Object:  ';

/** What `<name>.error.txt` says about a failed file. */
export interface FailureNote {
  /** The file's name as it was dropped (path relative to the drop folder). */
  file: string;
  key: string;
  bucket: string;
  code?: string;
  message?: string;
  /** When the failure was recorded. */
  atMs: number;
  offsetMinutes: number;
}

/** The text of `<name>.error.txt`: reason, fix, and where the file was registered. */
export function failureText(n: FailureNote): string {
  return [
    `${n.file} could not be registered as an IVR prompt.`,
    '',
    `Error:   ${n.code ?? '(no code)'}`,
    `Message: ${n.message ?? '(no message)'}`,
    `Fix:     ${fixFor(n.code)}`,
    '',
    `${OBJECT_LINE}${n.key} in bucket ${n.bucket}`,
    `Failed:  ${formatDateTime(n.atMs, n.offsetMinutes)}`,
    '',
    'This file stays here as a record: you do not need to remove it before dropping the fixed one.',
    '',
  ].join('\n');
}
