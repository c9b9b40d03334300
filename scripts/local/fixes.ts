/**
 * What an operator should do about a failed file, by error code. The message on the object says
 * what went wrong in the function's words; this says how to fix it in the operator's.
 */
import { formatDateTime } from './time';

const AGAIN = 'then drop the fixed file into the drop folder again.';

/** Error code → the fix, in plain words. Codes not listed get {@link DEFAULT_FIX}. */
export const FIXES: Readonly<Record<string, string>> = {
  UnsupportedExtension: `Only .mp3 and .wav files can be IVR prompts. Export the recording as MP3 or WAV from your audio tool, ${AGAIN}`,
  EmptyFile: `The file is empty (0 bytes), usually a copy or download that did not finish. Copy the original file again, ${AGAIN.replace('then ', 'or ')}`,
  FileTooLarge: `CCC accepts files up to 5 MB. Shorten the prompt, or export it as mono MP3 at a lower bit rate (e.g. 64 kbit/s) or as 8 kHz mono WAV, ${AGAIN}`,
  NotAudio: `The file's content is not MP3 or WAV audio (for example a picture or document renamed to .mp3, or a damaged file). Export the real recording as MP3 or WAV, ${AGAIN}`,
  FormatMismatch: `The file's extension does not match its content (for example WAV audio named .mp3). Rename it to the extension the message names, or export it again in the format its name says, ${AGAIN}`,
  IvrNameInvalid: `The name CCC would show for this prompt is not usable (empty, longer than 64 characters, or with control characters). Rename the file to a short plain name, ${AGAIN}`,
  UploadRejected: `CCC refused this file; its reason is in the message above. Check that the file plays and is a real MP3 or WAV under 5 MB, fix it, ${AGAIN} If CCC keeps refusing it, send the message to Tencent Cloud support.`,
  AudioTruncated: `The audio stops before its end: the file was cut off, usually by an unfinished copy or download. Copy the complete original again, ${AGAIN.replace('then ', 'or ')}`,
  AudioInvalid: `The audio data cannot be decoded. Open the file in an audio editor and export it again as MP3 or WAV, ${AGAIN}`,
  AudioEmpty: `The file contains no sound. Check the recording, export it again, ${AGAIN}`,
  AudioTooLong: `The prompt is longer than allowed. Shorten it or split it into several prompts, ${AGAIN}`,
  AudioTooLargeToConvert: `The audio is too large to be converted to telephone format. Export it shorter, or already as 8 kHz mono WAV, ${AGAIN}`,
  KeyInvalid: `The file's name or path cannot be stored safely (control characters, or a path over 850 bytes). Rename it to a shorter plain name, ${AGAIN}`,
  KeyOutsidePrefix: 'The file was stored outside the folder the function watches. Check the --prefix option of npm start.',
};

/** For codes without an entry: nothing in the file is known to be wrong. */
export const DEFAULT_FIX = 'No fix is known for this code. Read the message above; if the file itself is fine, run `npm run status` and look at the function logs, then drop the file again.';

/** The fix for `code`. */
export function fixFor(code: string | undefined): string {
  return (code !== undefined && FIXES[code]) || DEFAULT_FIX;
}

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
    `Object:  ${n.key} in bucket ${n.bucket}`,
    `Failed:  ${formatDateTime(n.atMs, n.offsetMinutes)}`,
    '',
    'This file stays here as a record: you do not need to remove it before dropping the fixed one.',
    '',
  ].join('\n');
}
