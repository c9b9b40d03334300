/**
 * Pure decisions about whether an object may be sent to CCC, taken before any API call is spent.
 */
import { IvrError } from './errors';
import { LIMITS } from './config';

export type AudioFormat = 'mp3' | 'wav';

/** Bytes needed by `sniffFormat`. */
export const SNIFF_BYTES = 12;
const MAX_KEY_BYTES = 850;

export function extensionOf(key: string): AudioFormat | undefined {
  const m = /\.([A-Za-z0-9]+)$/.exec(key);
  const ext = m?.[1].toLowerCase();
  return ext === 'mp3' || ext === 'wav' ? ext : undefined;
}

/** Keys we refuse to touch at all: we could not address them safely or they are not ours. */
export function checkKey(key: string, audioPrefix: string, ledgerPrefix: string): IvrError | 'ledger' | undefined {
  if (key.startsWith(ledgerPrefix)) return 'ledger';
  if (/[\u0000-\u001f\u007f]/.test(key)) return new IvrError('KeyInvalid', 'object key contains control characters');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return new IvrError('KeyInvalid', `object key is longer than ${MAX_KEY_BYTES} bytes`);
  // HTTP clients normalise dot segments, so such a key would address a different object.
  if (key.split('/').some((seg) => seg === '..' || seg === '.')) return new IvrError('KeyInvalid', 'object key contains "." or ".." path segments');
  if (audioPrefix && !key.startsWith(audioPrefix)) return new IvrError('KeyOutsidePrefix', `object key is outside the configured prefix "${audioPrefix}"`);
  return undefined;
}

export function checkNameAndSize(key: string, size: number): { format: AudioFormat } | IvrError {
  const format = extensionOf(key);
  if (!format) return new IvrError('UnsupportedExtension', 'only .mp3 and .wav files can be IVR audio');
  if (size <= 0) return new IvrError('EmptyFile', 'the file is empty (0 bytes)');
  if (size > LIMITS.MAX_FILE_BYTES) {
    return new IvrError('FileTooLarge', `the file is ${size} bytes; CCC accepts at most ${LIMITS.MAX_FILE_BYTES} bytes (5 MB)`);
  }
  return { format };
}

export function sniffFormat(head: Uint8Array): AudioFormat | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (head.length >= 3 && ascii(0, 3) === 'ID3') return 'mp3';
  // MPEG audio frame sync: 11 set bits, a valid layer and a bitrate index other than "bad".
  if (head.length >= 3 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0 && (head[1] & 0x06) !== 0 && (head[2] & 0xf0) !== 0xf0) {
    return 'mp3';
  }
  return undefined;
}

export function checkContent(expected: AudioFormat, head: Uint8Array): IvrError | undefined {
  const actual = sniffFormat(head);
  if (!actual) return new IvrError('NotAudio', `the file's content is not ${expected.toUpperCase()} audio (its first bytes match neither MP3 nor WAV)`);
  if (actual !== expected) return new IvrError('FormatMismatch', `the file is named .${expected} but its content is ${actual.toUpperCase()}`);
  return undefined;
}
