/**
 * Whether a validated file goes to CCC as it is, is converted first, or cannot be sent. Pure and
 * small: it runs in the main bundle, before the converter is loaded (see load-converter.ts).
 */
import type { AudioInfo } from './inspect';
import { CCC_FILE_BYTES_DEFAULT, type ConvertMode } from '../core/config';
import { SOX_TO_TELEPHONY, TELEPHONY_FORMAT, TELEPHONY_FRAME_BYTES, WAV_HEADER_BYTES } from '../core/telephony';

/**
 * The largest WAV the converter takes in the upload function's 128 MB. Measured as the peak RSS of
 * the real path (`npm run bench`: the bundle in a fresh Node 20 process, one event, the object read
 * through cos-nodejs-sdk-v5 from the fake COS, converted, the copy written), 44.1 kHz stereo 16-bit:
 * 12 MiB → 88 MiB. Before the intake read such a WAV whole at once (its start first, then all of
 * it): 12 MiB → 98 MB, 16 MiB → 112 MB, 20 MiB → 125 MB, 24 MiB → 140 MB (the SDK joins a body's
 * chunks, so two copies exist for a moment). 12 MiB is about 71 s of 44.1 kHz stereo 16-bit
 * audio, 43 s of 48 kHz stereo 24-bit.
 */
export const MAX_CONVERT_INPUT_BYTES = 12 * 1024 * 1024;

/**
 * How many bytes of objects one invocation reads at once (a file larger than this is read alone):
 * eight 5 MiB files read side by side peaked at 132 MB. With this budget the largest conversion
 * runs alone, and files up to CCC's limit two at a time.
 */
export const MAX_BODY_BYTES_IN_FLIGHT = MAX_CONVERT_INPUT_BYTES;

/** Why a file can be neither sent nor converted. */
export type PlanProblemCode =
  /** Over CCC's size limit and conversion cannot (or may not) bring it under. */
  | 'FileTooLarge'
  /** Would need converting, but is too big to convert within the function's memory. */
  | 'AudioTooLargeToConvert'
  /** MPEG Layer I or II named .mp3; or a WAV written as a stream, with conversion turned off. */
  | 'AudioInvalid';

/** A file that cannot be sent, and what the operator can do about it. */
export interface PlanProblem {
  code: PlanProblemCode;
  message: string;
}

/** What to do with a validated file. */
export type ConversionPlan = 'send-as-is' | 'convert' | PlanProblem;

/** Limits `conversionPlan` applies; both default to the constants above. */
export interface PlanLimits {
  maxFileBytes?: number;
  maxConvertInputBytes?: number;
}

const TELEPHONY_RATE = TELEPHONY_FORMAT.sampleRate;
/**
 * Bytes as operators read sizes in messages: decimal megabytes, one decimal (5000000 → `5 MB`).
 * Given the size it is set against, as many decimals as it takes for the two to read differently
 * (5000001 against 5000000 → `5.000001 MB`): a message saying a file of 5 MB is over a 5 MB limit
 * reads as a bug.
 */
export function mb(n: number, against?: number): string {
  let decimals = 1;
  while (against !== undefined && decimals < 6 && (n / 1e6).toFixed(decimals) === (against / 1e6).toFixed(decimals)) decimals++;
  return `${+(n / 1e6).toFixed(decimals)} MB`;
}

/**
 * "The file is … bytes; CCC accepts at most …": the limit also as Windows Explorer shows sizes (in
 * units of 1024² bytes, labelled MB), since an operator compares it with what Explorer says of
 * the file, and a 5.2 MB file shows there as 4.95 MB, under "5 MB".
 */
export function overLimit(bytes: number, maxFile: number): string {
  // Explorer shows three significant digits, cut (not rounded): 5,000,000 bytes is 4.76 MB there.
  const mib = maxFile / 1024 ** 2;
  const decimals = mib < 10 ? 2 : mib < 100 ? 1 : 0;
  const windows = Math.floor(mib * 10 ** decimals) / 10 ** decimals;
  return `the file is ${bytes} bytes (${mb(bytes, maxFile)}); CCC accepts at most ${maxFile} bytes (${mb(maxFile, bytes)}, shown by Windows as ${windows} MB)`;
}

/** The bytes of an 8 kHz mono 16-bit WAV of `seconds` (what the converter, or `sox … -r 8000 -c 1 -b 16`, writes). */
export const telephonyBytes = (seconds: number): number => WAV_HEADER_BYTES + Math.round(seconds * TELEPHONY_RATE) * TELEPHONY_FRAME_BYTES;

/**
 * A WAV too long for CCC's limit even at 8 kHz mono 16-bit: converting it (ourselves, or with the
 * `sox` command the other messages give) cannot help, so the advice is to shorten it or make an MP3.
 */
export function tooLongForTelephony(bytes: number, seconds: number, outBytes: number, maxFile: number): string {
  const fits = Math.floor((maxFile - WAV_HEADER_BYTES) / TELEPHONY_FRAME_BYTES / TELEPHONY_RATE);
  return `${overLimit(bytes, maxFile)}, and its ${+seconds.toFixed(1)} s of audio take ${outBytes} bytes even as 8 kHz mono 16-bit WAV (which holds at most ${fits} s): shorten or split it, or encode it as MP3, e.g. \`lame -m m -b 32 in.wav out.mp3\``;
}

const problem = (code: PlanProblemCode, message: string): PlanProblem => ({ code, message });

/**
 * Why an MP3 of `bytes` is over CCC's limit, and the fix, by how much of it is tags (`tagBytes`):
 * all that is over, then only they go; large, then a re-encode drops them too. A trial's MP3 with
 * 5.5 MB of cover art was told to re-encode with LAME, which keeps the tag: the new file failed the
 * same way, with the same advice.
 */
export function mp3TooLarge(bytes: number, maxFile: number, declaredTagBytes: number): string {
  const over = overLimit(bytes, maxFile);
  // A tag declaring the whole file or more: the file is cut off inside it (a download that
  // stopped), with no audio to keep; re-encoding says so.
  const tagBytes = declaredTagBytes < bytes ? declaredTagBytes : 0;
  const tags = `${tagBytes} of them are tags (cover art, lyrics or other data embedded in the file), not audio`;
  if (tagBytes > 0 && bytes - tagBytes <= maxFile) return `${over}, but ${tags}: remove them and keep the audio as it is, e.g. \`ffmpeg -y -i in.mp3 -map 0:a -c:a copy -map_metadata -1 -id3v2_version 0 out.mp3\``;
  if (tagBytes > maxFile / 10) return `${over}, and ${tags}, which a re-encode with LAME keeps: re-encode it at a lower bitrate without them, e.g. \`ffmpeg -y -i in.mp3 -map 0:a -map_metadata -1 -id3v2_version 0 -ac 1 -b:a 32k out.mp3\``;
  return `${over}, and MP3s are not converted: re-encode it at a lower bitrate, e.g. \`lame --mp3input -m m -b 32 in.mp3 out.mp3\` (4 KB per second of audio)`;
}

/**
 * Decides, from what `inspectAudio` found and the file's size in bytes, whether to send the file
 * as it is, convert it to 8 kHz mono 16-bit PCM WAV first, or fail with a message that says how
 * to fix the file.
 */
export function conversionPlan(info: AudioInfo, bytes: number, mode: ConvertMode, limits: PlanLimits = {}): ConversionPlan {
  const maxFile = limits.maxFileBytes ?? CCC_FILE_BYTES_DEFAULT;
  const maxInput = limits.maxConvertInputBytes ?? MAX_CONVERT_INPUT_BYTES;
  const tooBig = bytes > maxFile;
  const over = overLimit(bytes, maxFile);
  if (info.container === 'mp3' && info.codec !== 'mp3') {
    const layer = info.codec === 'mp2' ? 'II' : 'I';
    return problem('AudioInvalid', `the file is MPEG Layer ${layer} audio (${info.codec.toUpperCase()}), not MP3 (Layer III); CCC takes MP3 or WAV: re-encode it, e.g. \`lame --${info.codec}input in.mp3 out.mp3\``);
  }
  if (info.container === 'mp3') {
    // MP3s are never converted: decoding one would add ~84 KB (mpg123-decoder, WASM) for files that
    // are already compressed, and a 16-bit 8 kHz WAV (16 KB/s) is no smaller than a 128 kbit/s MP3.
    if (!tooBig) return 'send-as-is';
    return problem('FileTooLarge', mp3TooLarge(bytes, maxFile, info.tagBytes));
  }
  const telephony = info.codec === 'pcm' && info.sampleRate === TELEPHONY_RATE && info.channels === 1 && info.bitsPerSample === 16;
  // sox reads a data size of 0 as no samples at all; ffmpeg reads on to the end of the file.
  const resave = info.streamed && info.declaredDataBytes === 0 ? '`ffmpeg -y -i in.wav -c copy out.wav`' : '`sox in.wav out.wav`';
  if (info.streamed && mode === 'off') return problem('AudioInvalid', `the WAV was written as a stream (its sizes were never filled in), which CCC may not read: re-save it, e.g. ${resave}, or turn conversion on (IVR_CONVERT), which sends a copy with its sizes right`);
  // A streamed WAV goes as a converted copy, whose header is complete.
  const wanted = info.streamed || (mode === 'telephony' ? !telephony : mode === 'auto' && tooBig);
  const outBytes = WAV_HEADER_BYTES + Math.round((info.frames * TELEPHONY_RATE) / info.sampleRate) * TELEPHONY_FRAME_BYTES;
  if (info.streamed && !tooBig && outBytes > maxFile) {
    // The converter writes 16-bit samples only, so 8-bit input (A-law, µ-law) doubles. Re-saved
    // with its sizes filled in, the file is no longer streamed and goes as it is, encoding kept.
    const wider = info.bitsPerSample < 16 ? `, its ${info.bitsPerSample}-bit ${info.codec === 'pcm' ? 'PCM' : info.codec === 'mulaw' ? 'µ-law' : 'A-law'} samples taking twice the room` : '';
    return problem('FileTooLarge', `the WAV was written as a stream (its sizes were never filled in), which CCC may not read, and the copy with its sizes right that would go instead, 8 kHz mono 16-bit, takes ${outBytes} bytes${wider}, over CCC's ${maxFile}: re-save it with its sizes filled in and its encoding kept, e.g. ${resave}, and it goes as it is; or shorten it, or encode it as MP3, e.g. \`lame -m m -b 32 in.wav out.mp3\``);
  }
  // Any other file within the limit is never made to fail: if its conversion would not fit (8-bit
  // or A-law input doubles in size), it goes as it is.
  if (!tooBig && (!wanted || outBytes > maxFile)) return 'send-as-is';
  if (tooBig && mode === 'off') return problem('FileTooLarge', `${over}, and conversion is turned off: convert it to 8 kHz mono first, e.g. ${SOX_TO_TELEPHONY}, or turn conversion on`);
  // Converting never makes an 8 kHz mono 16-bit file smaller, and the output must fit too.
  if (tooBig && (telephony || outBytes > maxFile)) return problem('FileTooLarge', tooLongForTelephony(bytes, info.durationSeconds, outBytes, maxFile));
  if (bytes > maxInput) {
    return problem('AudioTooLargeToConvert', `the WAV is ${bytes} bytes (${mb(bytes, maxInput)}), more than the ${maxInput} bytes (${mb(maxInput, bytes)}) that can be converted within the function's memory: convert it before uploading, e.g. ${SOX_TO_TELEPHONY}`);
  }
  return 'convert';
}
