/**
 * Everything decided about a file's bytes before any quota is spent: is it whole, valid audio of
 * the format its name claims, within the configured duration, and does CCC get it as it is or as
 * an 8 kHz mono WAV made from it. Pure: the bytes in, a verdict out.
 */
import type { ConvertMode } from '../core/config';
import { IvrError } from '../core/errors';
import { declaredWavSeconds, inspectAudio, leadingTagBytes, sniffAudio, type AudioFormat, type AudioInfo } from './inspect';
import { conversionPlan, MAX_CONVERT_INPUT_BYTES, mp3TooLarge, overLimit, telephonyBytes, tooLongForTelephony } from './plan';
import { SOX_TO_TELEPHONY } from '../core/telephony';

/** The operator's settings a verdict depends on (a `Config` is one). */
export interface AudioPolicy {
  /** Which WAVs CCC gets converted to 8 kHz mono (`IVR_CONVERT`). */
  convert: ConvertMode;
  /** Longest accepted duration, seconds; undefined: no limit of ours. */
  maxSeconds?: number;
  /** CCC's size limit as configured (`IVR_MAX_FILE_BYTES`). */
  maxFileBytes: number;
}

/** Send the file as it is or convert it first (with what inspection found), or why it cannot be sent at all. */
export type AudioVerdict = { send: 'as-is' | 'convert'; info: AudioInfo } | IvrError;

/**
 * How many bytes of a `size`-byte file the verdict needs: all of it, if it may be sent or converted;
 * none beyond what any first read holds, if its size alone already decides it.
 */
export function bytesNeeded(size: number, format: AudioFormat, policy: AudioPolicy): number {
  if (size <= policy.maxFileBytes) return size;
  return format === 'wav' && policy.convert !== 'off' && size <= MAX_CONVERT_INPUT_BYTES ? size : 0;
}

/** The verdict on a whole file (`bytes.length === size`), or on its start and size when `bytesNeeded` said its size decides. */
export function judgeAudio(bytes: Uint8Array, format: AudioFormat, size: number, policy: AudioPolicy): AudioVerdict {
  if (bytes.length < size) {
    // Not audio, or not the format its name says: that first, since the size's advice (re-encode
    // it, convert it with sox) would be wrong for such a file.
    // (No bytes at all: judged on its size alone.)
    const sniffed = bytes.length > 0 ? sniffAudio(bytes, format) : undefined;
    if (sniffed) return new IvrError(sniffed.code, sniffed.message);
    // A WAV whose header says it is too long even for 8 kHz mono: the sox advice below would only
    // make a file that fails again (seen in a trial: 330 s, then 5,280,044 bytes).
    const seconds = format === 'wav' ? declaredWavSeconds(bytes) : undefined;
    if (seconds !== undefined && telephonyBytes(seconds) > policy.maxFileBytes) return new IvrError('FileTooLarge', tooLongForTelephony(size, seconds, telephonyBytes(seconds), policy.maxFileBytes));
    if (format === 'mp3') return new IvrError('FileTooLarge', mp3TooLarge(size, policy.maxFileBytes, leadingTagBytes(bytes)));
    const fix = policy.convert === 'off' ? `convert it to 8 kHz mono first, e.g. ${SOX_TO_TELEPHONY}, or turn conversion on (IVR_CONVERT)` : `convert it before uploading, e.g. ${SOX_TO_TELEPHONY}`;
    const code = format === 'wav' && policy.convert !== 'off' ? 'AudioTooLargeToConvert' : 'FileTooLarge';
    return new IvrError(code, `${overLimit(size, policy.maxFileBytes)}${code === 'AudioTooLargeToConvert' ? ` and at most ${MAX_CONVERT_INPUT_BYTES} bytes can be converted` : ''}: ${fix}`);
  }
  const inspected = inspectAudio(bytes, format, { maxSeconds: policy.maxSeconds });
  if (!inspected.ok) return new IvrError(inspected.problem.code, inspected.problem.message);
  const plan = conversionPlan(inspected.info, size, policy.convert, { maxFileBytes: policy.maxFileBytes });
  if (typeof plan === 'object') return new IvrError(plan.code, plan.message);
  return { send: plan === 'convert' ? 'convert' : 'as-is', info: inspected.info };
}
