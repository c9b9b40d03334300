/**
 * What an operator should do about a failed file, by error code, in the operator's words (the
 * message on the object says what went wrong in the function's). The report page shows it for the
 * cloud, the local stack's `<name>.error.txt` for the drop folder: each says how a fixed file goes
 * in again (`again`).
 */
import { MAX_KEY_BYTES } from './eligibility';
import type { ErrorCode } from './errors';
import { MAX_CUSTOM_NAME_CHARS } from './naming';

/**
 * How a file goes in again, in the words of where the operator works: after a fix (`fixed`), or as
 * it is when nothing was wrong with it (`same`). Each is a sentence's end: "then upload … again."
 */
export interface AgainWords {
  fixed: string;
  same: string;
}

/** The cloud's words: the bucket, through the console or any COS tool. */
export const UPLOAD_AGAIN: AgainWords = { fixed: 'then upload the fixed file again.', same: 'then upload the same file again.' };

/** The fix for `code`, ending with how the file goes in again (`again`); undefined when none is known. */
export function fixFor(code: ErrorCode | undefined, again: AgainWords): string | undefined {
  // Any AuthFailure.* that failed a file: the function's role or credentials (SignatureExpire and
  // TokenFailure are retried, so not here: a clock or an expired token cures itself).
  if (code?.startsWith('AuthFailure')) return `CCC refused the function's credentials or their permission (the code and message say which); nothing is known to be wrong with the file. Check the execution role and its policy (npm run policy prints it), ${again.same}`;
  // CCC refused the request itself (not one file in it): a setting or permission of this
  // deployment, unless the message names the file. These are not retried.
  if (code && /^(InvalidParameter|InvalidParameterValue|MissingParameter|UnknownParameter|UnauthorizedOperation|OperationDenied|ResourceNotFound|ResourceUnavailable|FailedOperation)(\.|$)/.test(code)) {
    return `CCC refused the request for this file (the code and message say why). If every file fails this way, check CCC_SDK_APP_ID and that the execution role may call ccc:UploadIvrAudio (npm run policy prints its policy); if the message names something in the file, fix that and ${again.fixed.replace(/^then /, '')} Otherwise ${again.same.replace(/^then /, '')}`;
  }
  switch (code) {
    case 'UnsupportedExtension':
      return `Only .mp3 and .wav files can be IVR prompts; a file that is not a recording does not belong with them. If it is one, export it as MP3 or WAV from your audio tool, ${again.fixed}`;
    case 'EmptyFile':
      return `The file is empty (0 bytes), usually a copy or download that did not finish. Copy the original file again from where it came from, ${again.fixed}`;
    case 'FileTooLarge':
      return `CCC accepts files up to 5 MB (the message gives the limit set here). Shorten the prompt, or export it as mono MP3 at a lower bit rate (e.g. 32 kbit/s) or, unless it already is one, as 8 kHz mono WAV; when the message says much of it is tags (cover art embedded in an MP3), remove them as it shows, ${again.fixed}`;
    case 'NotAudio':
      return `The file's content is not MP3 or WAV audio (for example a picture or document renamed to .mp3, or a damaged file). Export the real recording as MP3 or WAV, ${again.fixed}`;
    case 'FormatMismatch':
      return `The file's extension does not match its content (for example WAV audio named .mp3). Rename it to the extension the message names, or export it again in the format its name says, ${again.fixed}`;
    case 'IvrNameInvalid':
      return `The name CCC would show for this prompt is not usable (empty, longer than ${MAX_CUSTOM_NAME_CHARS} characters, or with control characters). Rename the file to a short plain name (or, if the file carries an ivr-name header, correct that), ${again.fixed}`;
    case 'UploadRejected':
      return `CCC refused this file; its reason is in the message. Check that the file plays and is a real MP3 or WAV under 5 MB, fix it, ${again.fixed} If CCC keeps refusing it, send the message to Tencent Cloud support.`;
    case 'AudioTruncated':
      return `The audio stops before its end: the file was cut off, usually by an unfinished copy or download. Copy the complete original again, ${again.fixed}`;
    case 'AudioInvalid':
      return `The audio data cannot be decoded as it is. Follow the message, or open the file in an audio editor and export it again as MP3 or WAV, ${again.fixed}`;
    case 'AudioEmpty':
      return `The file contains no sound. Check the recording, export it again, ${again.fixed}`;
    case 'AudioTooLong':
      return `The prompt is longer than allowed. Shorten it or split it into several prompts, ${again.fixed}`;
    case 'AudioTooLargeToConvert':
      return `The WAV is larger than the function converts. Convert it to telephone format yourself first (8 kHz mono 16-bit: the message gives a sox command), ${again.fixed}`;
    case 'ConversionFailed':
      return `The audio could not be converted to telephone format. Export it shorter, or already as 8 kHz mono WAV, ${again.fixed}`;
    case 'KeyInvalid':
      return `The file's name or path cannot be stored safely (control characters, or a path over ${MAX_KEY_BYTES} bytes). Rename it to a shorter plain name, ${again.fixed}`;
    case 'KeyOutsidePrefix':
      return 'The file was stored outside the folder the function watches (IVR_AUDIO_PREFIX; locally, the --prefix option of npm start). Store it under that folder instead: the function takes it in from there.';
    case 'BucketVersioned':
      return 'The bucket has (or once had) versioning enabled, which takes away what keeps a file from being registered twice; versioning cannot be switched off again. Create a bucket that never had versioning, set IVR_BUCKET to it and deploy again, then upload the file into that bucket.';
    case 'HttpError':
    case 'ResponseInvalid':
      return `CCC's answer could not be used (the message says how); nothing is known to be wrong with the file, but CCC may hold it all the same. Look for its name in CCC's IVR audio list first; if it is not there, wait a few minutes, ${again.same}`;
    case 'ObjectArchived':
      return 'The file was uploaded in archive storage, which COS cannot read until it is restored. Upload it again in the STANDARD or STANDARD_IA storage class.';
    case 'GaveUp':
      return `CCC did not register it after several tries; the last reason is in the message. When that has passed, ${again.same.replace(/^then /, '')}`;
    default:
      return undefined;
  }
}
