/**
 * Pure decisions about whether an object may be sent to CCC, taken before any API call is spent.
 */
import { IvrError } from './errors';
import { ffmpegToTelephony, soxToTelephony } from './telephony';
import { LONE_SURROGATE } from './text';

/** The two containers CCC accepts, as the object's extension names them (lower-cased). */
export type AudioFormat = 'mp3' | 'wav';

/** The longest object key handled, in UTF-8 bytes (`KeyInvalid` beyond it). */
export const MAX_KEY_BYTES = 850;

/** The key's extension when it is `.mp3` or `.wav` in any case; undefined otherwise. */
export function extensionOf(key: string): AudioFormat | undefined {
  const m = /\.([A-Za-z0-9]+)$/.exec(key);
  const ext = m?.[1].toLowerCase();
  return ext === 'mp3' || ext === 'wav' ? ext : undefined;
}

/** Names of the control characters a key picks up by accident (a paste, a script). */
const CONTROL_NAMES: Record<number, string> = { 0x09: 'a tab', 0x0a: 'a line break', 0x0d: 'a carriage return', 0x00: 'a NUL byte' };

/**
 * Keys we refuse to touch at all: we could not address them safely or they are not ours (an
 * error), or they are not files to register (`ledger`: our own records; `folder`: the empty
 * object the COS console's "Create folder" puts, whose key ends in `/`).
 */
export function checkKey(key: string, audioPrefix: string, ledgerPrefix: string): IvrError | 'ledger' | 'folder' | undefined {
  if (key.startsWith(ledgerPrefix)) return 'ledger';
  if (key.endsWith('/')) return 'folder';
  const control = /[\u0000-\u001f\u007f]/.exec(key);
  if (control) {
    // Which one and where: an operator cannot see it in a listing (a tab, a line break pasted in).
    const code = control[0].charCodeAt(0);
    const name = CONTROL_NAMES[code] ?? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return new IvrError('KeyInvalid', `object key contains a control character (${name}) after "${key.slice(Math.max(0, control.index - 40), control.index)}"`);
  }
  // A lone surrogate has no UTF-8 form: no request could name the object.
  if (LONE_SURROGATE.test(key)) return new IvrError('KeyInvalid', 'object key is not valid Unicode (a lone surrogate)');
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) return new IvrError('KeyInvalid', `object key is ${bytes} bytes (UTF-8), longer than the ${MAX_KEY_BYTES} handled: shorten its folders or name`);
  // HTTP clients normalise dot segments, so such a key would address a different object.
  if (key.split('/').some((seg) => seg === '..' || seg === '.')) return new IvrError('KeyInvalid', 'object key contains "." or ".." path segments');
  if (audioPrefix && !key.startsWith(audioPrefix)) return new IvrError('KeyOutsidePrefix', `object key is outside the configured prefix "${audioPrefix}"`);
  return undefined;
}

/**
 * Recording formats the message says how to make a WAV of (a test converts each with Debian's
 * `sox` and `ffmpeg`): SoX reads FLAC, AIFF and Ogg Vorbis; FFmpeg reads those it does not, Ogg
 * Opus among them (the voice messages of chat apps, also named .ogg, on which SoX fails).
 */
const CONVERTERS: ReadonlyMap<string, string> = new Map([
  ...['flac', 'aif', 'aiff', 'aifc'].map((ext): [string, string] => [ext, soxToTelephony(ext)]),
  ['ogg', `${soxToTelephony('ogg')} (Ogg Vorbis) or ${ffmpegToTelephony('ogg')} (any Ogg, Opus voice messages too)`],
  ...['opus', 'm4a', 'aac', 'wma', 'webm'].map((ext): [string, string] => [ext, ffmpegToTelephony(ext)]),
]);

/** The checks a file's name and size decide on their own: a supported extension, not empty. */
export function checkFile(key: string, size: number): { format: AudioFormat } | IvrError {
  const format = extensionOf(key);
  if (!format) {
    const ext = /\.([^./]{1,16})$/.exec(key)?.[1];
    const what = `${ext === undefined ? 'the file name has no extension' : `the file is .${ext}`}; only .mp3 and .wav files can be IVR audio`;
    // A trial's .ogg note had nothing to paste: for a recording format, the message gives a command.
    const convert = ext === undefined ? undefined : CONVERTERS.get(ext.toLowerCase());
    return new IvrError('UnsupportedExtension', convert ? `${what}: convert it, e.g. ${convert}` : what);
  }
  if (size <= 0) return new IvrError('EmptyFile', 'the file is empty (0 bytes)');
  return { format };
}
