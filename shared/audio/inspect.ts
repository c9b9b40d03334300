/**
 * Whole-file validation of a prompt before any CCC quota is spent: is it really the WAV or MP3
 * its name claims, is it complete, and what does it hold (rate, channels, duration).
 *
 * Hand-written on purpose. Measured with esbuild (minified, node16, same shims as
 * scripts/build.mjs), a parser library would add: music-metadata 7.x (its last CommonJS line;
 * `lib/core` only) +198 KB, more than the whole upload bundle (159 KB), whose cold load is within
 * a millisecond or two of its 1.5× target; wavefile
 * 11 +41 KB, which fits but reads WAV only. And the check this module exists for, truncation,
 * neither does: music-metadata trusts a Xing header and the data chunk's declared size, wavefile
 * reads what is there. This module adds 9.8 KB to the bundle (8,150 bytes, and 1,935 more for the
 * start, trailing-tag, free-format and header-never-filled-in checks, minified).
 *
 * Pure: bytes in, plain data out, no I/O.
 */
import type { AudioFormat } from '../core/eligibility';
import { ffmpegToTelephony } from '../core/telephony';

export type { AudioFormat };

/** Why a file cannot be sent to CCC as it is. */
export type AudioProblemCode =
  /** Neither MP3 nor WAV. */
  | 'NotAudio'
  /** MP3 or WAV, but not what the extension says. */
  | 'FormatMismatch'
  /** Cut short: an interrupted upload or a recording still being written. */
  | 'AudioTruncated'
  /** Well-formed container with values no player can use, or an unsupported codec. */
  | 'AudioInvalid'
  /** A valid file with no samples in it. */
  | 'AudioEmpty'
  /** Longer than the configured maximum duration. */
  | 'AudioTooLong';

/** A failed check: a stable code and a message that says what is wrong and what to do. */
export interface AudioProblem {
  code: AudioProblemCode;
  message: string;
}

/** Sample encodings accepted inside a WAV. */
export type WavCodec = 'pcm' | 'float' | 'alaw' | 'mulaw';

/** What a valid WAV holds. */
export interface WavInfo {
  container: 'wav';
  codec: WavCodec;
  sampleRate: number;
  channels: number;
  /** Container bits per sample (8/16/24/32/64). */
  bitsPerSample: number;
  /** Bytes per sample frame (all channels). */
  blockAlign: number;
  /** Sample frames (samples per channel). */
  frames: number;
  durationSeconds: number;
  /** Where the `data` chunk's samples start, and how many bytes of them there are. */
  dataOffset: number;
  dataBytes: number;
  /**
   * Written as a stream: the data chunk's size is a placeholder the writer never filled in
   * (espeak-ng `--stdout`, sox, ffmpeg or arecord into a pipe), so the samples run to the end of the file.
   * What CCC makes of such a header is unknown: it goes as a converted copy, with real sizes.
   * A data size of 0 with samples after it (a recorder that stopped before fixing its header)
   * counts as streamed too.
   */
  streamed?: boolean;
  /** For a streamed WAV: the data size its header declares (a placeholder, or 0). */
  declaredDataBytes?: number;
}

/** What a valid MPEG audio file holds. */
export interface Mp3Info {
  container: 'mp3';
  /** MPEG audio layer: `mp3` = Layer III, `mp2` = Layer II, `mp1` = Layer I. */
  codec: 'mp1' | 'mp2' | 'mp3';
  mpegVersion: '1' | '2' | '2.5';
  sampleRate: number;
  channels: 1 | 2;
  /** Bits per second; the average over all audio frames for VBR. */
  bitrate: number;
  /** Audio frames, not counting a Xing/Info/VBRI header frame. */
  frames: number;
  durationSeconds: number;
  /** The VBR/CBR header found in the first frame, if any. */
  header?: 'Xing' | 'Info' | 'VBRI';
  /** Bytes of tags around the MPEG stream (ID3v2 in front; ID3v1, APEv2, Lyrics3 behind): cover art, say. */
  tagBytes: number;
}

/** What `inspectAudio` found in a valid file. */
export type AudioInfo = WavInfo | Mp3Info;

/** The outcome of `inspectAudio`. */
export type InspectResult = { ok: true; info: AudioInfo } | { ok: false; problem: AudioProblem };

/** Options for `inspectAudio`. */
export interface InspectOptions {
  /** Longest accepted duration in seconds; longer files fail with `AudioTooLong`. */
  maxSeconds?: number;
}

type Checked<T> = T | AudioProblem;
const fail = (code: AudioProblemCode, message: string): AudioProblem => ({ code, message });
const isProblem = <T extends object>(x: Checked<T>): x is AudioProblem => 'code' in x && 'message' in x;
const ascii = (b: Uint8Array, at: number, n: number): string => String.fromCharCode(...b.subarray(at, at + n));
const u16 = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
const be32 = (b: Uint8Array, at: number): number => b[at] * 0x1000000 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
const seconds = (s: number): string => `${+s.toFixed(3)} s`;
const TRUNCATED_FIX = 'the upload or recording was cut short: upload the complete file again';

/**
 * Validates a whole MP3 or WAV file against the format its extension claims.
 * Never throws; every failure is an `AudioProblem`.
 */
export function inspectAudio(bytes: Uint8Array, expected: AudioFormat, opts: InspectOptions = {}): InspectResult {
  const actual = isRiffWave(bytes) ? 'wav' : expected === 'mp3' || looksLikeMp3(bytes) ? 'mp3' : undefined;
  let result: Checked<AudioInfo>;
  if (actual === 'wav') result = expected === 'wav' ? inspectWav(bytes) : fail('FormatMismatch', 'the file is named .mp3 but holds a WAV (RIFF/WAVE); rename it to .wav or convert it to MP3');
  else if (actual === 'mp3' && expected === 'wav') result = mpegNamedWav(bytes);
  else if (actual === 'mp3') result = inspectMp3(bytes);
  else result = fail('NotAudio', `the file's content is not WAV audio (no RIFF/WAVE header${bytes.length ? '' : '; the file is empty'}${lookalike(bytes)})${lookalikeFix(bytes, bytes.length ? '; export it again as WAV' : '')}`);
  if (isProblem(result)) return { ok: false, problem: result };
  if (opts.maxSeconds !== undefined && result.durationSeconds > opts.maxSeconds) {
    return { ok: false, problem: fail('AudioTooLong', `the audio lasts ${seconds(result.durationSeconds)}, longer than the configured maximum of ${seconds(opts.maxSeconds)}; shorten it`) };
  }
  return { ok: true, info: result };
}

/**
 * What a file that is not MP3 or WAV starts like, by its signature: what an operator may have
 * renamed by mistake. Audio CCC does not take comes with the extension FFmpeg's example reads it
 * as (FFmpeg goes by the content, not the name, so the misnamed copy converts as it is).
 */
const LOOKALIKES: Array<[RegExp, string, string?]> = [
  [/^\x89PNG/, 'a PNG image'],
  [/^\xff\xd8\xff/, 'a JPEG image'],
  [/^GIF8/, 'a GIF image'],
  [/^%PDF/, 'a PDF document'],
  [/^PK\x03\x04/, 'a ZIP archive or a Word/Excel document'],
  [/^OggS/, 'Ogg audio (Vorbis or Opus), which CCC does not take', 'ogg'],
  [/^fLaC/, 'FLAC audio, which CCC does not take', 'flac'],
  [/^#!AMR/, 'an AMR recording, which CCC does not take', 'amr'],
  [/^\x30\x26\xb2\x75/, 'WMA audio, which CCC does not take', 'wma'],
  [/^.{4}ftyp/s, 'MP4/M4A (AAC) audio, which CCC does not take', 'm4a'],
  [/^(\xef\xbb\xbf)?\s*</, 'an HTML or XML page, such as a download that saved an error page'],
];

/** The {@link LOOKALIKES} entry a file's start matches. */
function lookalikeOf(b: Uint8Array): (typeof LOOKALIKES)[number] | undefined {
  const start = String.fromCharCode(...b.subarray(0, 16));
  return LOOKALIKES.find(([re]) => re.test(start));
}

/**
 * The fix for a file that is audio CCC does not take under an .mp3 or .wav name: an FFmpeg
 * command to the WAV CCC takes (a trial's M4A named .mp3 was told only to export it again), or
 * `otherwise` for anything else.
 */
function lookalikeFix(b: Uint8Array, otherwise: string): string {
  const ext = lookalikeOf(b)?.[2];
  return ext ? `; convert it, e.g. ${ffmpegToTelephony(ext)}` : otherwise;
}

/** `; it looks like …` for a recognised non-audio file, text included; '' when nothing is recognised. */
function lookalike(b: Uint8Array): string {
  const known = lookalikeOf(b);
  if (known) return `; it looks like ${known[1]}`;
  const head = b.subarray(0, 512);
  // Printable ASCII and white space throughout the start: a text file (a playlist, notes, a script).
  return head.length > 0 && head.every((c) => (c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d) ? '; it looks like a text file' : '';
}

/**
 * What the start of a file too large to send says about its format: `NotAudio` or
 * `FormatMismatch` as {@link inspectAudio} finds them on those bytes, else undefined (its size
 * then decides). Anything else found there (a frame cut off where the bytes end, say) is not the
 * file's problem: the rest was not read.
 */
export function sniffAudio(start: Uint8Array, expected: AudioFormat): AudioProblem | undefined {
  const r = inspectAudio(start, expected);
  if (r.ok || (r.problem.code !== 'NotAudio' && r.problem.code !== 'FormatMismatch')) return undefined;
  if (r.problem.code === 'NotAudio') {
    // Frames are looked for up to MAX_LEADING_JUNK past the ID3 tags: when the bytes read end
    // before that plus a run of the largest frames (a tag holding a large cover picture), they
    // cannot tell that the file has none.
    const range = mpegRange(start);
    if (!isProblem(range) && range.start > 0 && start.length - range.start < MAX_LEADING_JUNK + SNIFF_RUN_BYTES) return undefined;
  }
  return r.problem;
}

/**
 * The codec of an Ogg file from its first page, whose data (the codec's identification header)
 * follows the page's segment table: SoX reads Vorbis but not Opus, the codec of chat apps' voice
 * messages, also named .ogg. Undefined for anything else (another first stream, too few bytes).
 */
export function oggCodec(head: Uint8Array): 'opus' | 'vorbis' | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length < 27 || ascii(0, 4) !== 'OggS') return undefined;
  const data = 27 + head[26];
  if (ascii(data, data + 8) === 'OpusHead') return 'opus';
  return head[data] === 1 && ascii(data + 1, data + 7) === 'vorbis' ? 'vorbis' : undefined;
}

/** Room for a run of MIN_RUN frames after the junk allowed (an MPEG frame is under 3 KB; generous on purpose). */
const SNIFF_RUN_BYTES = 64 * 1024;

/**
 * MPEG audio in a file named .wav: renaming fixes MP3 (Layer III), but Layer I or II would only
 * fail again as .mp3 (CCC takes Layer III), so for those the message says to export it as MP3.
 */
function mpegNamedWav(bytes: Uint8Array): AudioProblem {
  const mpeg = inspectMp3(bytes);
  if (!isProblem(mpeg) && mpeg.codec !== 'mp3') {
    const layer = mpeg.codec === 'mp2' ? 'II' : 'I';
    return fail('AudioInvalid', `the file is named .wav but holds MPEG Layer ${layer} audio (${mpeg.codec.toUpperCase()}), which CCC does not take (it takes MP3, i.e. Layer III, or WAV): export it again as MP3, e.g. \`lame --${mpeg.codec}input in.wav out.mp3\``);
  }
  return fail('FormatMismatch', 'the file is named .wav but holds MPEG audio (MP3); rename it to .mp3 or convert it to WAV');
}

/** A short human description such as `44100Hz/2ch/16bit` or `8000Hz/1ch/8bit-alaw` (ASCII). */
export function describeAudio(info: AudioInfo): string {
  const head = `${info.sampleRate}Hz/${info.channels}ch/`;
  if (info.container === 'mp3') return `${head}${Math.round(info.bitrate / 1000)}kbps-${info.codec}`;
  return `${head}${info.bitsPerSample}bit${info.codec === 'pcm' ? '' : `-${info.codec}`}`;
}

// ---------------------------------------------------------------------------------------------
// WAV

function isRiffWave(b: Uint8Array): boolean {
  return b.length >= 12 && /^(RIFF|RIFX|RF64)$/.test(ascii(b, 0, 4)) && ascii(b, 8, 4) === 'WAVE';
}

/**
 * Data chunk sizes a WAV written as a stream carries, since its writer could not seek back: all
 * ones (ffmpeg), the largest size a 2 GiB RIFF can hold (espeak-ng and sox: 0x7ffff000), and
 * 2 GiB (arecord to stdout: aplay.c writes 0x80000000 as the data size, 0x80000024 as the RIFF's).
 */
const STREAM_PLACEHOLDERS = new Set([0xffffffff, 0x7fffffff, 0x7ffff000, 0x80000000]);

const WAV_CODECS: Record<number, WavCodec> = { 1: 'pcm', 3: 'float', 6: 'alaw', 7: 'mulaw' };
const WAV_BITS: Record<WavCodec, number[]> = { pcm: [8, 16, 24, 32], float: [32, 64], alaw: [8], mulaw: [8] };
// Codecs people meet in practice, so the message can name what the file holds.
const OTHER_WAV_CODECS: Record<number, string> = { 2: 'MS ADPCM', 0x11: 'IMA ADPCM', 0x31: 'GSM 6.10', 0x50: 'MPEG', 0x55: 'MP3' };
// The tail shared by every WAVE_FORMAT_EXTENSIBLE sub-format GUID (KSDATAFORMAT_SUBTYPE_*).
const EXT_GUID_TAIL = '000000001000800000aa00389b71';
const TO_PCM = 'convert it to PCM (e.g. `sox in.wav -e signed -b 16 out.wav`)';

interface WavFmt {
  codec: WavCodec;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

function inspectWav(b: Uint8Array): Checked<WavInfo> {
  if (ascii(b, 0, 4) !== 'RIFF') return fail('AudioInvalid', `the WAV uses the ${ascii(b, 0, 4)} variant, which is not supported; re-save it as a standard (little-endian RIFF) WAV`);
  const riffEnd = u32(b, 4) + 8;
  // Chunks are walked within the RIFF size when it is plausible, else to the end of the file.
  const end = riffEnd >= 12 && riffEnd <= b.length ? riffEnd : b.length;
  let fmt: Checked<WavFmt> | undefined;
  let data: { offset: number; bytes: number; streamed?: boolean; declared?: number } | undefined;
  let pos = 12;
  while (pos + 8 <= end) {
    const id = ascii(b, pos, 4);
    const size = u32(b, pos + 4);
    const body = pos + 8;
    // A data size of 0 with bytes after it, in a RIFF whose size ends there too (0, or 36 for a
    // 44-byte header), is a header its writer never came back to fill in: the recording runs to
    // the end of the file (ffmpeg reads it so). Calling it empty would be false; it goes as a
    // converted copy with its sizes right, like any streamed WAV. A RIFF size that covers chunks
    // after it means the data chunk really is empty.
    const unfilled = id === 'data' && size === 0 && body < b.length && riffEnd <= body;
    if (id === 'data' && ((STREAM_PLACEHOLDERS.has(size) && body + size > b.length) || unfilled)) {
      // The samples run to the end of the file (a dangling odd byte is no sample).
      if (!data) data = { offset: body, bytes: b.length - body, streamed: true, declared: size };
      break;
    }
    if (body + size > b.length) {
      if (id === 'data') {
        // In seconds too, when the format is known: "26464 bytes" says nothing to someone who recorded 3 s.
        const f = fmt && !isProblem(fmt) && fmt.blockAlign > 0 && fmt.sampleRate > 0 ? fmt : undefined;
        const secs = (n: number) => (f ? ` (${seconds(Math.floor(n / f.blockAlign) / f.sampleRate)})` : '');
        return fail('AudioTruncated', `data chunk declares ${size} bytes${secs(size)}, the file holds ${b.length - body}${secs(b.length - body)}; ${TRUNCATED_FIX}`);
      }
      if (id === 'fmt ' || !data) return fail('AudioTruncated', `chunk "${id}" at byte ${pos} declares ${size} bytes, the file holds ${b.length - body}; ${TRUNCATED_FIX}`);
      break; // a damaged chunk after the samples (tags) does not affect the audio
    }
    if (id === 'fmt ' && !fmt) fmt = parseFmt(b.subarray(body, body + size));
    if (id === 'data' && !data) data = { offset: body, bytes: size };
    pos = body + size + (size & 1); // chunks are word-aligned: odd sizes carry a pad byte
  }
  if (riffEnd > b.length && !data?.streamed) return fail('AudioTruncated', `the RIFF header declares ${riffEnd} bytes, the file holds ${b.length}; ${TRUNCATED_FIX}`);
  if (!fmt) return fail('AudioInvalid', 'the WAV has no "fmt " chunk, so its sample format is unknown; re-save the file with an audio editor or sox');
  if (isProblem(fmt)) return fmt;
  if (!data) return fail('AudioInvalid', 'the WAV has no "data" chunk; re-save the file with an audio editor or sox');
  const frames = Math.floor(data.bytes / fmt.blockAlign);
  if (frames === 0) return fail('AudioEmpty', `the WAV holds no samples (its data chunk has ${data.bytes} bytes); record or export the prompt again`);
  return { container: 'wav', ...fmt, frames, durationSeconds: frames / fmt.sampleRate, dataOffset: data.offset, dataBytes: data.bytes, ...(data.streamed ? { streamed: true, declaredDataBytes: data.declared } : {}) };
}

/**
 * How long the WAV whose start is `b` declares itself to be, from its `fmt ` chunk and the size
 * its `data` chunk declares; undefined when the start does not say (not a RIFF WAV, no usable
 * `fmt ` before `data`, a size written as a stream's placeholder). For a file too large to read
 * whole: its length decides which advice can work.
 */
export function declaredWavSeconds(b: Uint8Array): number | undefined {
  if (!isRiffWave(b) || ascii(b, 0, 4) !== 'RIFF') return undefined;
  let fmt: Checked<WavFmt> | undefined;
  for (let pos = 12; pos + 8 <= b.length; ) {
    const id = ascii(b, pos, 4);
    const size = u32(b, pos + 4);
    if (id === 'data') {
      if (!fmt || isProblem(fmt) || fmt.blockAlign === 0 || fmt.sampleRate === 0 || STREAM_PLACEHOLDERS.has(size) || size === 0) return undefined;
      return Math.floor(size / fmt.blockAlign) / fmt.sampleRate;
    }
    if (id === 'fmt ' && !fmt) {
      if (pos + 8 + size > b.length) return undefined;
      fmt = parseFmt(b.subarray(pos + 8, pos + 8 + size));
    }
    pos += 8 + size + (size & 1);
  }
  return undefined;
}

function parseFmt(f: Uint8Array): Checked<WavFmt> {
  if (f.length < 16) return fail('AudioInvalid', `the "fmt " chunk has ${f.length} bytes, at least 16 are needed; re-save the file`);
  let tag = u16(f, 0);
  const channels = u16(f, 2);
  const sampleRate = u32(f, 4);
  const blockAlign = u16(f, 12);
  const bitsPerSample = u16(f, 14);
  if (tag === 0xfffe) {
    const guidTail = Buffer.from(f.subarray(26, 40)).toString('hex');
    if (f.length < 40 || guidTail !== EXT_GUID_TAIL) return fail('AudioInvalid', `the WAV is WAVE_FORMAT_EXTENSIBLE with an unknown sub-format; ${TO_PCM}`);
    tag = u16(f, 24);
  }
  const codec = WAV_CODECS[tag];
  // MPEG audio in a WAV wrapper: sox cannot read it (a trial's pasted `sox` failed with "WAV file
  // encoding `MP3' is not supported"), but LAME finds the MPEG frames inside and makes an MP3.
  if (tag === 0x50 || tag === 0x55) {
    // Format 0x50 says which MPEG layer in its extension (MPEG1WAVEFORMAT's fwHeadLayer: 1, 2 or 4).
    const input = tag === 0x55 ? 'mp3' : f.length >= 20 && u16(f, 18) === 1 ? 'mp1' : 'mp2';
    return fail('AudioInvalid', `the WAV holds ${OTHER_WAV_CODECS[tag]} (format 0x${tag.toString(16).padStart(4, '0')}): MPEG audio in a WAV wrapper, which CCC does not take as WAV: make it an MP3, e.g. \`lame --${input}input in.wav out.mp3\``);
  }
  if (!codec) {
    const name = OTHER_WAV_CODECS[tag] ? `${OTHER_WAV_CODECS[tag]} (format 0x${tag.toString(16).padStart(4, '0')})` : `format 0x${tag.toString(16).padStart(4, '0')}`;
    return fail('AudioInvalid', `the WAV holds ${name}; only PCM, IEEE float, A-law and µ-law are supported: ${TO_PCM}`);
  }
  if (channels < 1 || channels > 8) return fail('AudioInvalid', `the WAV declares ${channels} channels, expected 1 to 8; re-save the file`);
  if (sampleRate < 1000 || sampleRate > 384000) return fail('AudioInvalid', `the WAV declares a sample rate of ${sampleRate} Hz, expected 1000 to 384000; re-save the file`);
  if (!WAV_BITS[codec].includes(bitsPerSample)) return fail('AudioInvalid', `the WAV declares ${bitsPerSample}-bit ${codec} samples, expected ${WAV_BITS[codec].join(' or ')} bits; ${TO_PCM}`);
  const expectedAlign = (channels * bitsPerSample) / 8;
  if (blockAlign !== expectedAlign) return fail('AudioInvalid', `the WAV declares a block align of ${blockAlign} bytes, expected ${expectedAlign} (${channels} channels × ${bitsPerSample} bits / 8); re-save the file`);
  return { codec, channels, sampleRate, bitsPerSample, blockAlign };
}

// ---------------------------------------------------------------------------------------------
// MP3 (MPEG-1/2/2.5 audio, layers I–III)

/** A decoded 4-byte MPEG audio frame header. */
interface FrameHeader {
  version: '1' | '2' | '2.5';
  layer: 1 | 2 | 3;
  sampleRate: number;
  bitrate: number;
  mono: boolean;
  samples: number;
  length: number;
}

// Bitrates in kbit/s by [MPEG-1 | MPEG-2/2.5][layer I, II, III]; index 0 (free format) and 15 are invalid.
const BITRATES = [
  ['32,64,96,128,160,192,224,256,288,320,352,384,416,448', '32,48,56,64,80,96,112,128,160,192,224,256,320,384', '32,40,48,56,64,80,96,112,128,160,192,224,256,320'],
  ['32,48,56,64,80,96,112,128,144,160,176,192,224,256', '8,16,24,32,40,48,56,64,80,96,112,128,144,160', '8,16,24,32,40,48,56,64,80,96,112,128,144,160'],
].map((v) => v.map((layer) => layer.split(',').map(Number)));
const VERSIONS = ['2.5', undefined, '2', '1'] as const;
const RATES = [44100, 48000, 32000];
/** Frames in a row that must chain before a sync word mid-file counts as the start of audio. */
const MIN_RUN = 4;
/**
 * How far past an ID3v2 tag junk before the first frame is tolerated (padding written after the
 * tag is common). Without a tag there may be none: CCC tells an MP3 by how the file starts, an ID3v2
 * tag or an MPEG frame (as fake-ccc.ts models it), and refuses anything else as not MP3 or WAV.
 */
const MAX_LEADING_JUNK = 64 * 1024;

function frameHeader(b: Uint8Array, at: number): FrameHeader | undefined {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return undefined;
  const version = VERSIONS[(b[at + 1] >> 3) & 3];
  const layer = 4 - ((b[at + 1] >> 1) & 3);
  const bitrateIndex = b[at + 2] >> 4;
  const rateIndex = (b[at + 2] >> 2) & 3;
  // Reserved version/layer/rate/emphasis, free-format (0) and "bad" (15) bitrates.
  if (!version || layer === 4 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3 || (b[at + 3] & 3) === 2) return undefined;
  const l = layer as 1 | 2 | 3;
  const bitrate = BITRATES[version === '1' ? 0 : 1][l - 1][bitrateIndex - 1] * 1000;
  const sampleRate = RATES[rateIndex] / (version === '1' ? 1 : version === '2' ? 2 : 4);
  const padding = (b[at + 2] >> 1) & 1;
  const samples = l === 1 ? 384 : l === 3 && version !== '1' ? 576 : 1152;
  const length = l === 1 ? (Math.floor((12 * bitrate) / sampleRate) + padding) * 4 : Math.floor(((samples / 8) * bitrate) / sampleRate) + padding;
  return { version, layer: l, sampleRate, bitrate, mono: b[at + 3] >> 6 === 3, samples, length };
}

/**
 * A frame header that is valid but for its bitrate index 0 ("free format", e.g. `lame --freeformat`):
 * frame lengths are then not in the header, so this module does not read such streams, and neither
 * do many decoders.
 */
function isFreeFormat(b: Uint8Array, at: number): boolean {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return false;
  return !!VERSIONS[(b[at + 1] >> 3) & 3] && ((b[at + 1] >> 1) & 3) !== 0 && b[at + 2] >> 4 === 0 && ((b[at + 2] >> 2) & 3) !== 3;
}

/** Later frames must agree with the first on what a decoder cannot switch mid-stream. */
const sameStream = (a: FrameHeader, b: FrameHeader): boolean => a.version === b.version && a.layer === b.layer && a.sampleRate === b.sampleRate && a.mono === b.mono;

function looksLikeMp3(b: Uint8Array): boolean {
  if (b.length >= 3 && ascii(b, 0, 3) === 'ID3') return true;
  const first = frameHeader(b, 0);
  return !!first && (first.length === b.length || !!frameHeader(b, first.length));
}

/** Byte range of the MPEG stream: after ID3v2 tags, before ID3v1/APEv2 tags. */
function mpegRange(b: Uint8Array): Checked<{ start: number; end: number }> {
  let start = 0;
  while (start + 10 <= b.length && ascii(b, start, 3) === 'ID3') {
    const size = syncsafe(b, start + 6);
    const total = 10 + size + (b[start + 5] & 0x10 ? 10 : 0); // ID3v2.4 footer flag
    if (start + total > b.length) return fail('AudioTruncated', `the ID3v2 tag declares ${total} bytes, the file holds ${b.length - start}; ${TRUNCATED_FIX}`);
    start += total;
  }
  let end = b.length;
  if (end - start >= 128 && ascii(b, end - 128, 3) === 'TAG') end -= 128;
  // Tags taggers append, innermost last, in whatever order they were written: each is taken off
  // the end while one is found (decoders skip them all; CCC looks at the file's start only).
  for (let size = trailingTag(b, start, end); size > 0; size = trailingTag(b, start, end)) end -= size;
  return { start, end };
}

/** The size of an APEv2, Lyrics3v2 or appended ID3v2.4 (with footer) tag ending at `end`, or 0. */
function trailingTag(b: Uint8Array, start: number, end: number): number {
  const room = end - start;
  if (room >= 32 && ascii(b, end - 32, 8) === 'APETAGEX') {
    const size = u32(b, end - 20) + (b[end - 9] & 0x80 ? 32 : 0); // the size excludes the optional header
    if (size >= 32 && size <= room) return size;
  }
  if (room >= 26 && ascii(b, end - 9, 9) === 'LYRICS200' && /^\d{6}$/.test(ascii(b, end - 15, 6))) {
    const size = Number(ascii(b, end - 15, 6)) + 15; // the 6-digit size counts from LYRICSBEGIN to before itself
    if (size <= room && ascii(b, end - size, 11) === 'LYRICSBEGIN') return size;
  }
  if (room >= 20 && ascii(b, end - 10, 3) === '3DI') {
    const size = syncsafe(b, end - 4) + 20; // header and footer of 10 bytes each
    if (size <= room && ascii(b, end - size, 3) === 'ID3') return size;
  }
  return 0;
}

/**
 * The size the ID3v2 tags at the start of an MP3 declare, as far as `b` (the file's first bytes
 * may be all there is) shows their headers: for a file too large to read whole, how much of it is
 * tags (cover art, typically), not audio.
 */
export function leadingTagBytes(b: Uint8Array): number {
  let start = 0;
  while (start + 10 <= b.length && ascii(b, start, 3) === 'ID3') start += 10 + syncsafe(b, start + 6) + (b[start + 5] & 0x10 ? 10 : 0);
  return start;
}

/** A 28-bit ID3v2 size (7 bits a byte). */
function syncsafe(b: Uint8Array, at: number): number {
  return ((b[at] & 0x7f) << 21) | ((b[at + 1] & 0x7f) << 14) | ((b[at + 2] & 0x7f) << 7) | (b[at + 3] & 0x7f);
}

function inspectMp3(b: Uint8Array): Checked<Mp3Info> {
  const range = mpegRange(b);
  if (isProblem(range)) return range;
  const { start, end } = range;
  // The first frame: right after the tags, or else the start of a run of frames a little later
  // (a lone sync word in junk is not audio).
  let first = start;
  let head = frameHeader(b, first);
  for (const limit = Math.min(end, start + MAX_LEADING_JUNK); !head && ++first < limit; ) {
    if (chainLength(b, first, end) >= MIN_RUN) head = frameHeader(b, first);
  }
  if (!head && isFreeFormat(b, start)) {
    return fail('AudioInvalid', 'the file is free-format MP3 (its frames declare no standard bitrate, so many decoders, ffmpeg among them, cannot read it), which is not supported: export it again at a standard bitrate, e.g. `lame --mp3input -b 64 in.mp3 out.mp3` (LAME reads free format)');
  }
  if (!head) return fail('NotAudio', `the file's content is not MP3 audio (no run of MPEG audio frames${start > 0 ? ' after its ID3 tag' : ''}${start > 0 ? '' : lookalike(b)})${start > 0 ? '; export it again as MP3' : lookalikeFix(b, '; export it again as MP3')}`);
  if (start === 0 && first > 0) return fail('AudioInvalid', leadingJunk(b, first));
  const tag = vbrHeader(b, first, head);
  let frames = 0;
  let audioBytes = 0;
  let pos = first;
  let lastLength = head.length;
  for (;;) {
    const h = frameHeader(b, pos);
    if (pos >= end || !h || !sameStream(head, h)) break;
    lastLength = h.length;
    if (pos + h.length > end) {
      const frame = frames + (tag ? 2 : 1);
      return fail('AudioTruncated', `MPEG frame ${frame} at byte ${pos} declares ${h.length} bytes, the file holds ${end - pos}; ${TRUNCATED_FIX}`);
    }
    if (pos !== first || !tag) {
      frames++;
      audioBytes += h.length;
    }
    pos += h.length;
  }
  // A few bytes that cannot start a frame (under 4, not 0xff), or less than a frame of line ends,
  // spaces or a DOS end-of-file mark (a `\r\n` a transfer added), are left over, not a break in
  // the chain: decoders play such files to the end. Text or other bytes after the frames still
  // count as damage: nothing says they are not a second file's remains.
  const leftover = b[pos] !== 0xff && (end - pos < 4 || (end - pos < lastLength && isPadding(b, pos, end)));
  if (pos < end && !isZero(b, pos, end) && !leftover) {
    if (end - pos < 4 && b[pos] === 0xff) return fail('AudioTruncated', `the file ends inside an MPEG frame header at byte ${pos}; ${TRUNCATED_FIX}`);
    const why = frameHeader(b, pos) ? 'a frame with a different MPEG version, layer, sample rate or channel count' : 'bytes that are not an MPEG frame';
    return fail('AudioInvalid', `the MPEG frame chain breaks at byte ${pos} of ${b.length} (after ${frames} audio frames) with ${why}; the file is damaged or two files were joined: export it again`);
  }
  // Encoders disagree on whether a VBRI count includes its own frame, and on whether a byte
  // count includes the ID3v2 tag: only what no reading explains is called truncated.
  if (tag?.frames && frames + (tag.kind === 'VBRI' ? 1 : 0) < tag.frames) {
    return fail('AudioTruncated', `the ${tag.kind} header declares ${tag.frames} frames, the file holds ${frames}; ${TRUNCATED_FIX}`);
  }
  if (tag?.bytes && pos - first + start < tag.bytes) {
    return fail('AudioTruncated', `the ${tag.kind} header declares ${tag.bytes} bytes of MPEG audio, the file holds ${pos - first}; ${TRUNCATED_FIX}`);
  }
  if (frames === 0) return fail('AudioEmpty', 'the MP3 holds no audio frames; export the prompt again');
  // With a LAME tag the duration is what a gapless decoder plays: the encoder's delay and padding dropped.
  const samples = frames * head.samples;
  const durationSeconds = (tag?.trim !== undefined && tag.trim < samples ? samples - tag.trim : samples) / head.sampleRate;
  return {
    container: 'mp3',
    codec: `mp${head.layer}`,
    mpegVersion: head.version,
    sampleRate: head.sampleRate,
    channels: head.mono ? 1 : 2,
    bitrate: Math.round((audioBytes * 8 * head.sampleRate) / samples),
    frames,
    durationSeconds,
    ...(tag ? { header: tag.kind } : {}),
    tagBytes: b.length - (end - start),
  };
}

/** Why an MP3 whose audio starts at byte `first`, with no ID3v2 tag before it, cannot be sent. */
function leadingJunk(b: Uint8Array, first: number): string {
  // Junk may stand before an ID3v2 tag too: only the bytes before the tag are to go.
  const tag = Buffer.from(b.subarray(0, first)).indexOf('ID3');
  const junk = tag > 0 ? tag : first;
  const before = tag > 0 ? 'its ID3v2 tag' : 'its first MPEG frame';
  const what = isZero(b, 0, junk)
    ? `${junk} zero bytes`
    : `${junk} bytes that are not MP3 (${Buffer.from(b.subarray(0, Math.min(4, junk))).toString('hex')}…: cut mid-frame, or written before the audio)`;
  // Short: the object's metadata keeps about 500 bytes of it URL-encoded, and the command is the point.
  return `the MP3 starts with ${what} before ${before}, and CCC refuses an MP3 that starts otherwise: export it again, or strip them: \`tail -c +${junk + 1} in.mp3 > out.mp3\``;
}

/** Consecutive consistent frames from `at` (stops counting at MIN_RUN). */
function chainLength(b: Uint8Array, at: number, end: number): number {
  const head = frameHeader(b, at);
  let n = 0;
  for (let h = head; h && head && sameStream(head, h) && at + h.length <= end && n < MIN_RUN; h = frameHeader(b, at)) {
    n++;
    at += h.length;
    if (at === end) return MIN_RUN; // the chain reaches the end of the stream exactly
  }
  return n;
}

/** Only NUL, tab, line ends, spaces and ^Z (DOS end of file) from `from` to `to`. */
function isPadding(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (![0, 9, 10, 13, 26, 32].includes(b[i])) return false;
  return true;
}

function isZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

interface VbrHeader {
  kind: 'Xing' | 'Info' | 'VBRI';
  frames?: number;
  bytes?: number;
  /** Samples the encoder added at the start and end (LAME tag), which decoders drop. */
  trim?: number;
}

/** A Xing/Info header (after the side information) or a VBRI header (32 bytes in) in the first frame. */
function vbrHeader(b: Uint8Array, at: number, h: FrameHeader): VbrHeader | undefined {
  const sideInfo = h.layer !== 3 ? 0 : h.version === '1' ? (h.mono ? 17 : 32) : h.mono ? 9 : 17;
  const x = at + 4 + sideInfo;
  const kind = x + 16 <= b.length ? ascii(b, x, 4) : '';
  if (h.layer === 3 && (kind === 'Xing' || kind === 'Info')) {
    const flags = be32(b, x + 4);
    let p = x + 8;
    const field = (bit: number, size: number): number | undefined => (flags & bit ? ((p += size), be32(b, p - size)) : undefined);
    const frames = field(1, 4);
    const bytes = field(2, 4);
    p += (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0); // seek table, quality
    // LAME (and ffmpeg's Lavf/Lavc) extension: 12-bit encoder delay and padding at offset 21.
    const trim = p + 24 <= b.length && /^(LAME|Lavf|Lavc)$/.test(ascii(b, p, 4)) ? (b[p + 21] << 4) + (b[p + 22] >> 4) + (((b[p + 22] & 15) << 8) | b[p + 23]) : undefined;
    return { kind, frames, bytes, trim };
  }
  const v = at + 36;
  if (v + 18 <= b.length && ascii(b, v, 4) === 'VBRI') return { kind: 'VBRI', bytes: be32(b, v + 10), frames: be32(b, v + 14) };
  return undefined;
}
