/**
 * The telephone format every conversion aims at, in one place for the converter (a side file) and
 * the checks, plan and messages of the main bundles: this module imports nothing, so it adds
 * nothing else to either bundle.
 */

/** The output format: what telephony IVR systems play natively (8 kHz mono 16-bit PCM). */
export const TELEPHONY_FORMAT = { sampleRate: 8000, channels: 1, bitsPerSample: 16 } as const;

/** Bytes of one sample frame in {@link TELEPHONY_FORMAT}. */
export const TELEPHONY_FRAME_BYTES = (TELEPHONY_FORMAT.channels * TELEPHONY_FORMAT.bitsPerSample) / 8;

/** The canonical WAV header the converter writes (RIFF, `fmt `, `data`). */
export const WAV_HEADER_BYTES = 44;

/** The `sox` command the messages suggest to make a WAV in {@link TELEPHONY_FORMAT} by hand from a file of extension `from`. */
export function soxToTelephony(from: string): string {
  return `\`sox in.${from} -r ${TELEPHONY_FORMAT.sampleRate} -c ${TELEPHONY_FORMAT.channels} -b ${TELEPHONY_FORMAT.bitsPerSample} out.wav\``;
}

/** The `ffmpeg` command the messages suggest for what SoX cannot read (Opus, AAC, WMA): the same WAV. */
export function ffmpegToTelephony(from: string): string {
  // -y: run again over what a stopped run left, as SoX does (FFmpeg would stop to ask).
  return `\`ffmpeg -y -i in.${from} -ar ${TELEPHONY_FORMAT.sampleRate} -ac ${TELEPHONY_FORMAT.channels} -c:a pcm_s${TELEPHONY_FORMAT.bitsPerSample}le out.wav\``;
}

/** {@link soxToTelephony} for a WAV. */
export const SOX_TO_TELEPHONY = soxToTelephony('wav');
