/**
 * The audio modules on their own (no servers): whole-file validation against files made by real
 * encoders (test/fixtures/audio/README.md says how) and damaged copies of them, the conversion
 * plan, the pure-JS converter's output and filter, and the lazy loading of the bundled converter.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { build } from 'esbuild';
import { inspectAudio, leadingTagBytes, type AudioInfo, type AudioProblemCode, type InspectResult, type WavInfo } from '../shared/audio/inspect';
import { judgeAudio } from '../shared/audio/check';
import { conversionPlan, MAX_CONVERT_INPUT_BYTES, mp3TooLarge, type ConversionPlan } from '../shared/audio/plan';
import { CCC_FILE_BYTES_DEFAULT } from '../shared/core/config';
import { convertWav, CONVERTER_ID, type Converted } from '../shared/audio/convert';
import { CONVERTER_FILE, loadConverter } from '../shared/audio/load-converter';
import { mp3Silence, PNG_BYTES, riff, wav, wavTone } from './audio';

const ROOT = path.join(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures', 'audio');
const PKG = path.join(ROOT, 'dist', 'package');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));

function ok(r: InspectResult): AudioInfo {
  if (!r.ok) throw new Error(`expected valid audio, got ${r.problem.code}: ${r.problem.message}`);
  return r.info;
}
function problem(r: InspectResult, code: AudioProblemCode): string {
  if (r.ok) throw new Error(`expected ${code}, got valid audio ${JSON.stringify(r.info)}`);
  expect(r.problem.code).toBe(code);
  return r.problem.message;
}
function converted(bytes: Uint8Array): Converted {
  const r = convertWav(bytes);
  if (!r.ok) throw new Error(`conversion failed: ${r.problem.code}: ${r.problem.message}`);
  return r.converted;
}
/** The 16-bit samples of a canonical 44-byte-header mono WAV, as numbers in [-1, 1). */
function samplesOf(file: Buffer): Float64Array {
  return Float64Array.from({ length: (file.length - 44) / 2 }, (_, i) => file.readInt16LE(44 + 2 * i) / 32768);
}
/** RMS, ignoring the filter's ramp-in and ramp-out at both ends. */
function rms(x: Float64Array, skip = 200): number {
  let e = 0;
  for (let i = skip; i < x.length - skip; i++) e += x[i] * x[i];
  return Math.sqrt(e / (x.length - 2 * skip));
}
const sine = (hz: number, amp = 0.5) => (t: number) => amp * Math.sin(2 * Math.PI * hz * t);

// Reference durations: `soxi -D` for WAVs; for MP3s, `soxi -D` of what `lame --decode` writes
// (a decoder that honours the LAME tag's encoder delay and padding), see the fixtures README.
const FIXTURES_TABLE: Array<[string, Partial<AudioInfo> & Record<string, unknown>, number]> = [
  ['speech-cbr-info.mp3', { codec: 'mp3', mpegVersion: '2', sampleRate: 16000, channels: 1, bitrate: 64000, frames: 42, header: 'Info' }, 1.412625],
  ['speech-vbr-xing.mp3', { codec: 'mp3', mpegVersion: '2', sampleRate: 22050, channels: 1, frames: 57, header: 'Xing' }, 1.412608],
  ['speech-id3.mp3', { codec: 'mp3', mpegVersion: '2', sampleRate: 16000, channels: 1, bitrate: 48000, header: 'Info' }, 1.412625],
  ['speech-mpeg25.mp3', { codec: 'mp3', mpegVersion: '2.5', sampleRate: 8000, channels: 1, bitrate: 24000, header: 'Info' }, 1.412625],
  ['speech-notag.mp3', { codec: 'mp3', mpegVersion: '2', sampleRate: 16000, channels: 1, bitrate: 32000, frames: 42 }, 1.478938],
  ['speech-44k-stereo.mp3', { codec: 'mp3', mpegVersion: '1', sampleRate: 44100, channels: 2, header: 'Info' }, 1.412608],
  ['speech-alaw.wav', { codec: 'alaw', sampleRate: 8000, channels: 1, bitsPerSample: 8 }, 1.412625],
  ['speech-ulaw.wav', { codec: 'mulaw', sampleRate: 8000, channels: 1, bitsPerSample: 8 }, 1.412625],
  ['speech-24bit.wav', { codec: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 24 }, 1.0],
  ['speech-float.wav', { codec: 'float', sampleRate: 8000, channels: 1, bitsPerSample: 32 }, 0.8],
  ['speech-8bit.wav', { codec: 'pcm', sampleRate: 11025, channels: 1, bitsPerSample: 8 }, 1.412608],
  ['speech-44k-stereo.wav', { codec: 'pcm', sampleRate: 44100, channels: 2, bitsPerSample: 16 }, 0.150023],
  // Written to a pipe: the sizes are placeholders (0x7ffff024 / 0x7ffff000), the samples run to the end.
  ['speech-stream.wav', { codec: 'pcm', sampleRate: 22050, channels: 1, bitsPerSample: 16, streamed: true }, 0.382585],
  ['speech-sox-pipe.wav', { codec: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16, streamed: true }, 0.5],
  // arecord to stdout, killed after 900 bytes of samples: data size 0x80000000, RIFF size 0x80000024.
  ['speech-arecord-pipe.wav', { codec: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16, streamed: true, dataBytes: 900 }, 0.05625],
];
/** Fixtures of what CCC must never be sent, each with its code. */
const REFUSED_FIXTURES: Array<[string, string]> = [
  ['speech-layer2.mp3', 'AudioInvalid'],
  ['speech-freeformat.mp3', 'AudioInvalid'],
];

describe('inspectAudio: files made by real encoders', () => {
  test.each(FIXTURES_TABLE)('%s', (name, expected, seconds) => {
    const format = name.endsWith('.mp3') ? 'mp3' : 'wav';
    const info = ok(inspectAudio(fixture(name), format));
    expect(info).toMatchObject({ container: format, ...expected });
    expect(Math.abs(info.durationSeconds - seconds)).toBeLessThanOrEqual(0.05);
  });

  test('the fixtures stay small', () => {
    const sizes = fs.readdirSync(FIXTURES).filter((f) => /\.(mp3|wav)$/.test(f)).map((f) => fs.statSync(path.join(FIXTURES, f)).size);
    expect(sizes).toHaveLength(FIXTURES_TABLE.length + REFUSED_FIXTURES.length);
    for (const s of sizes) expect(s).toBeLessThan(30 * 1024);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(200 * 1024);
  });
});

describe('inspectAudio: what the rest of the suite sends as audio', () => {
  test.each([1, 2, 3, 10])('mp3Silence(%i) with and without ID3', (n) => {
    for (const id3 of [true, false]) {
      const info = ok(inspectAudio(mp3Silence(n, id3), 'mp3'));
      expect(info).toMatchObject({ container: 'mp3', frames: n, sampleRate: 44100, channels: 2 });
      expect(info.durationSeconds).toBeCloseTo((n * 1152) / 44100, 6);
    }
    // Padded like a real encoder's: 128 kbit/s on average.
    if (n === 10) expect(Math.abs((ok(inspectAudio(mp3Silence(n), 'mp3')) as { bitrate: number }).bitrate - 128000)).toBeLessThan(64);
  });

  test('wavTone and wav() in every layout', () => {
    expect(ok(inspectAudio(wavTone(), 'wav'))).toMatchObject({ codec: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16, frames: 1600, durationSeconds: 0.2 });
    expect(ok(inspectAudio(wavTone(300, 440, 16000), 'wav'))).toMatchObject({ sampleRate: 16000, frames: 4800 });
    const layouts = [
      { bits: 8 },
      { bits: 24, channels: 2 },
      { bits: 32 },
      { bits: 32, float: true },
      { bits: 64, float: true, rate: 96000 },
      { bits: 24, extensible: true, channels: 6, rate: 48000 },
      { bits: 32, float: true, extensible: true, channels: 8 },
    ];
    for (const l of layouts) {
      const info = ok(inspectAudio(wav({ ...l, seconds: 0.1 }), 'wav'));
      expect(info).toMatchObject({ codec: l.float ? 'float' : 'pcm', bitsPerSample: l.bits, channels: l.channels ?? 1, sampleRate: l.rate ?? 8000 });
      expect(info.durationSeconds).toBeCloseTo(0.1, 6);
    }
  });

  test('chunks with odd sizes are padded, chunk order and extra chunks do not matter', () => {
    const tone = wavTone(100);
    const fmt = tone.subarray(20, 36);
    const data = tone.subarray(44);
    const file = riff([['LIST', Buffer.from('INFOISFT\x05\x00\x00\x00sox!\x00', 'latin1')], ['fmt ', fmt], ['odd ', Buffer.from('abc')], ['data', data]]);
    const info = ok(inspectAudio(file, 'wav')) as WavInfo;
    expect(info).toMatchObject({ frames: 800, dataBytes: 1600 });
    expect(file.subarray(info.dataOffset, info.dataOffset + 1600).equals(data)).toBe(true);
    // A-law and µ-law fixtures from sox carry an odd-sized data chunk and a `fact` chunk.
    expect(ok(inspectAudio(fixture('speech-alaw.wav'), 'wav'))).toMatchObject({ dataBytes: 11301, frames: 11301 });
  });

  test('junk between an ID3v2 tag and the first frame, and zero padding after the last, are tolerated', () => {
    // CCC sees the tag at the start; padding written after a tag is common.
    const id3 = fixture('speech-id3.mp3'); // ID3v2 (132 bytes), 43 frames
    for (const junk of [Buffer.alloc(1000), Buffer.from('not audio, but after the tag')]) {
      expect(ok(inspectAudio(Buffer.concat([id3.subarray(0, 132), junk, id3.subarray(132)]), 'mp3'))).toMatchObject({ frames: 42, header: 'Info' });
    }
    expect(ok(inspectAudio(Buffer.concat([mp3Silence(10), Buffer.alloc(300)]), 'mp3'))).toMatchObject({ frames: 10 });
  });

  test('an MP3 that starts with junk and no ID3v2 tag is refused before CCC is asked (CCC would refuse it)', () => {
    const cbr = fixture('speech-cbr-info.mp3'); // frames of 288 bytes: 1000 bytes in is mid-frame
    let seed = 7;
    const random = Buffer.from(Array.from({ length: 1000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
    random[0] = 0x42; // not a sync word, so the fake CCC's sniff (how the file starts) refuses it
    const cases: Array<[Buffer, RegExp]> = [
      [cbr.subarray(1000), /^the MP3 starts with 152 bytes that are not MP3 \([0-9a-f]{8}…: cut mid-frame, or written before the audio\) before its first MPEG frame/],
      [Buffer.concat([Buffer.alloc(1000), cbr]), /^the MP3 starts with 1000 zero bytes before its first MPEG frame, and CCC refuses an MP3 that starts otherwise/],
      [Buffer.concat([random, cbr]), /^the MP3 starts with 1000 bytes that are not MP3 \(42/],
      [Buffer.concat([Buffer.alloc(100), mp3Silence(10, false)]), /^the MP3 starts with 100 zero bytes/],
    ];
    for (const [bytes, message] of cases) {
      const m = problem(inspectAudio(bytes, 'mp3'), 'AudioInvalid');
      expect(m).toMatch(message);
      expect(m).toMatch(/export it again, or strip them: `tail -c \+\d+ in.mp3 > out.mp3`$/);
      // Whole on the object too: its metadata keeps at most 512 bytes of the message, URL-encoded.
      expect(encodeURIComponent(m).length).toBeLessThanOrEqual(512);
    }
    // The command given in the message makes a file that passes.
    const m = problem(inspectAudio(Buffer.concat([Buffer.alloc(1000), cbr]), 'mp3'), 'AudioInvalid');
    const from = Number(/tail -c \+(\d+)/.exec(m)?.[1]);
    expect(ok(inspectAudio(Buffer.concat([Buffer.alloc(1000), cbr]).subarray(from - 1), 'mp3'))).toMatchObject({ frames: 42 });
    // Junk before an ID3v2 tag: only the junk is to be stripped, and then the file passes.
    const tagged = Buffer.concat([Buffer.alloc(10), fixture('speech-id3.mp3')]);
    const t = problem(inspectAudio(tagged, 'mp3'), 'AudioInvalid');
    expect(t).toMatch(/^the MP3 starts with 10 zero bytes before its ID3v2 tag, .* strip them: `tail -c \+11 in\.mp3 > out\.mp3`$/);
    expect(ok(inspectAudio(tagged.subarray(10), 'mp3'))).toMatchObject({ frames: 42 });
  });
});

describe('inspectAudio: truncated files', () => {
  test('a WAV whose data chunk is shorter than declared', () => {
    const full = wav({ rate: 8000, seconds: 10 }); // 160000 bytes of samples
    const message = problem(inspectAudio(full.subarray(0, 44 + 48000), 'wav'), 'AudioTruncated');
    expect(message).toMatch(/^data chunk declares 160000 bytes \(10 s\), the file holds 48000 \(3 s\); .*upload the complete file/);
    const alaw = fixture('speech-alaw.wav');
    expect(problem(inspectAudio(alaw.subarray(0, 5000), 'wav'), 'AudioTruncated')).toMatch(/data chunk declares 11301 bytes \(1.413 s\), the file holds 4942 \(0.618 s\)/);
  });

  test('a WAV cut after its samples, inside a later chunk, or inside its header', () => {
    const file = riff([['fmt ', wavTone().subarray(20, 36)], ['data', wavTone().subarray(44)], ['LIST', Buffer.alloc(200)]]);
    expect(ok(inspectAudio(file, 'wav'))).toMatchObject({ frames: 1600 });
    expect(problem(inspectAudio(file.subarray(0, file.length - 100), 'wav'), 'AudioTruncated')).toMatch(`the RIFF header declares ${file.length} bytes, the file holds ${file.length - 100}`);
    expect(problem(inspectAudio(wavTone().subarray(0, 30), 'wav'), 'AudioTruncated')).toMatch(/chunk "fmt " at byte 12 declares 16 bytes, the file holds 10/);
  });

  test('an MP3 cut in the middle of a frame', () => {
    const cbr = fixture('speech-cbr-info.mp3'); // 43 frames of 288 bytes, the first one the Info header
    expect(problem(inspectAudio(cbr.subarray(0, cbr.length - 100), 'mp3'), 'AudioTruncated')).toBe(
      'MPEG frame 43 at byte 12096 declares 288 bytes, the file holds 188; the upload or recording was cut short: upload the complete file again',
    );
    const vbr = fixture('speech-vbr-xing.mp3');
    expect(problem(inspectAudio(vbr.subarray(0, 5000), 'mp3'), 'AudioTruncated')).toMatch(/^MPEG frame \d+ at byte \d+ declares \d+ bytes, the file holds \d+;/);
    const two = mp3Silence(2, false).length;
    expect(problem(inspectAudio(mp3Silence(3, false).subarray(0, two + 2), 'mp3'), 'AudioTruncated')).toMatch(`ends inside an MPEG frame header at byte ${two}`);
  });

  test('an MP3 with whole frames missing, against its Xing/Info header', () => {
    const cbr = fixture('speech-cbr-info.mp3');
    expect(problem(inspectAudio(cbr.subarray(0, cbr.length - 3 * 288), 'mp3'), 'AudioTruncated')).toMatch(/^the Info header declares 42 frames, the file holds 39;/);
    // Tags before and after do not hide it.
    const id3 = fixture('speech-id3.mp3'); // ID3v2 (132 bytes), 43 frames of 216 bytes, ID3v1 (128 bytes)
    const cut = Buffer.concat([id3.subarray(0, id3.length - 128 - 5 * 216), id3.subarray(id3.length - 128)]);
    expect(problem(inspectAudio(cut, 'mp3'), 'AudioTruncated')).toMatch(/^the Info header declares 42 frames, the file holds 37;/);
  });

  test('an MP3 with whole frames missing, against its VBRI header', () => {
    const withVbri = (declared: number, held: number) => {
      const frames = mp3Silence(held + 1, false); // the first frame carries the header
      const header = Buffer.alloc(18);
      header.write('VBRI', 0, 'latin1');
      header.writeUInt16BE(1, 4);
      header.writeUInt32BE(mp3Silence(declared + 1, false).length, 10);
      header.writeUInt32BE(declared, 14);
      header.copy(frames, 36);
      return frames;
    };
    expect(ok(inspectAudio(withVbri(10, 10), 'mp3'))).toMatchObject({ header: 'VBRI', frames: 10 });
    expect(problem(inspectAudio(withVbri(10, 7), 'mp3'), 'AudioTruncated')).toMatch(/^the VBRI header declares 10 frames, the file holds 7;/);
  });

  test('an ID3v2 tag longer than the file', () => {
    const tag = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0x10, 0]); // 2048 bytes declared
    expect(problem(inspectAudio(Buffer.concat([tag, Buffer.alloc(500)]), 'mp3'), 'AudioTruncated')).toMatch(/ID3v2 tag declares 2058 bytes, the file holds 510/);
  });
});

describe('inspectAudio: empty, not audio, mismatched, invalid, too long', () => {
  test('no samples → AudioEmpty', () => {
    expect(problem(inspectAudio(wav({ seconds: 0 }), 'wav'), 'AudioEmpty')).toMatch(/no samples \(its data chunk has 0 bytes\)/);
    const stereo = wav({ channels: 2, seconds: 0 });
    const oneByteShort = riff([['fmt ', stereo.subarray(20, 36)], ['data', Buffer.alloc(3)]]);
    expect(problem(inspectAudio(oneByteShort, 'wav'), 'AudioEmpty')).toMatch(/3 bytes/);
  });

  test('a data size of 0 with samples after it (a header never filled in) is streamed, not empty', () => {
    // sox's pipe output with both sizes left as a recorder that died before fixing its header
    // leaves them: RIFF 0 or 36, data 0, the 0.5 s of samples still there.
    const pipe = fixture('speech-sox-pipe.wav');
    for (const riffSize of [0, 36]) {
      const unfilled = Buffer.from(pipe);
      unfilled.writeUInt32LE(riffSize, 4);
      unfilled.writeUInt32LE(0, 40);
      const info = ok(inspectAudio(unfilled, 'wav'));
      expect(info).toMatchObject({ streamed: true, declaredDataBytes: 0, dataOffset: 44, dataBytes: pipe.length - 44, durationSeconds: 0.5 });
      expect(conversionPlan(info, unfilled.length, 'auto')).toBe('convert');
      const copy = converted(unfilled);
      expect(copy.info.frames).toBe(4000);
      expect(copy.bytes.readUInt32LE(40)).toBe(8000);
      // With conversion off, the fix named is one that reads on past the 0 (sox would read no samples).
      expect(conversionPlan(info, unfilled.length, 'off')).toEqual({ code: 'AudioInvalid', message: expect.stringContaining('re-save it, e.g. `ffmpeg -y -i in.wav -c copy out.wav`') });
    }
    // A RIFF size that covers chunks after an empty data chunk: really empty.
    const fmt = wavTone().subarray(20, 36);
    expect(problem(inspectAudio(riff([['fmt ', fmt], ['data', Buffer.alloc(0)], ['LIST', Buffer.alloc(20)]]), 'wav'), 'AudioEmpty')).toMatch(/data chunk has 0 bytes/);
  });

  test('PNG, text, random bytes and an empty file → NotAudio', () => {
    let seed = 42;
    const random = Buffer.alloc(200_000);
    for (let i = 0; i < random.length; i++) random[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    // A single valid frame header inside random bytes is not audio either.
    const lone = Buffer.from(random);
    mp3Silence(1, false).copy(lone, 1000, 0, 4);
    for (const bytes of [PNG_BYTES, Buffer.from('not a wav at all'), random, lone, Buffer.alloc(0)]) {
      expect(problem(inspectAudio(bytes, 'mp3'), 'NotAudio')).toMatch(/not MP3 audio/);
      expect(problem(inspectAudio(bytes, 'wav'), 'NotAudio')).toMatch(/not WAV audio/);
    }
    expect(problem(inspectAudio(Buffer.concat([Buffer.from('ID3\x03\x00\x00\x00\x00\x00\x00', 'latin1'), PNG_BYTES]), 'mp3'), 'NotAudio')).toMatch(/after its ID3 tag/);
     // Each says what to do, as the MP3 one does (a trial's JPEG named .wav got no fix on its line).
    expect(problem(inspectAudio(PNG_BYTES, 'wav'), 'NotAudio')).toMatch(/it looks like a PNG image\); export it again as WAV$/);
    expect(problem(inspectAudio(PNG_BYTES, 'mp3'), 'NotAudio')).toMatch(/; export it again as MP3$/);
  });

  test('content that does not match the extension → FormatMismatch', () => {
    expect(problem(inspectAudio(fixture('speech-8bit.wav'), 'mp3'), 'FormatMismatch')).toMatch(/named \.mp3 but holds a WAV/);
    expect(problem(inspectAudio(fixture('speech-cbr-info.mp3'), 'wav'), 'FormatMismatch')).toMatch(/named \.wav but holds MPEG audio/);
    expect(problem(inspectAudio(mp3Silence(2, false), 'wav'), 'FormatMismatch')).toBeTruthy();
  });

  test('MPEG Layer II named .wav is not told to rename (it would fail again as .mp3): export it as MP3', () => {
    expect(problem(inspectAudio(fixture('speech-layer2.mp3'), 'wav'), 'AudioInvalid')).toBe(
      'the file is named .wav but holds MPEG Layer II audio (MP2), which CCC does not take (it takes MP3, i.e. Layer III, or WAV): export it again as MP3, e.g. `lame --mp2input in.wav out.mp3`',
    );
  });

  test('free-format MP3 is named as such, with a fix', () => {
    const message = problem(inspectAudio(fixture('speech-freeformat.mp3'), 'mp3'), 'AudioInvalid');
    expect(message).toMatch(/^the file is free-format MP3 \(its frames declare no standard bitrate.*\), which is not supported: export it again at a standard bitrate, e.g. `lame --mp3input -b 64 in.mp3 out.mp3`/);
  });

  test('odd fmt values and unsupported codecs → AudioInvalid', () => {
    const edit = (at: number, write: (b: Buffer) => void) => {
      const b = Buffer.from(wavTone());
      write(b.subarray(at));
      return inspectAudio(b, 'wav');
    };
    expect(problem(edit(32, (b) => b.writeUInt16LE(3)), 'AudioInvalid')).toBe('the WAV declares a block align of 3 bytes, expected 2 (1 channels × 16 bits / 8); re-save the file');
    expect(problem(edit(22, (b) => b.writeUInt16LE(0)), 'AudioInvalid')).toMatch(/declares 0 channels, expected 1 to 8/);
    expect(problem(edit(22, (b) => b.writeUInt16LE(9)), 'AudioInvalid')).toMatch(/declares 9 channels/);
    expect(problem(edit(24, (b) => b.writeUInt32LE(0)), 'AudioInvalid')).toMatch(/sample rate of 0 Hz, expected 1000 to 384000/);
    expect(problem(edit(34, (b) => b.writeUInt16LE(12)), 'AudioInvalid')).toMatch(/12-bit pcm samples, expected 8 or 16 or 24 or 32 bits/);
    expect(problem(edit(20, (b) => b.writeUInt16LE(0x11)), 'AudioInvalid')).toMatch(/holds IMA ADPCM \(format 0x0011\); only PCM, IEEE float, A-law and µ-law are supported: convert it to PCM/);
    // MPEG in a WAV wrapper: SoX cannot read it, LAME can (test/fix-commands.test.ts runs both).
    expect(problem(edit(20, (b) => b.writeUInt16LE(0x55)), 'AudioInvalid')).toBe('the WAV holds MP3 (format 0x0055): MPEG audio in a WAV wrapper, which CCC does not take as WAV: make it an MP3, e.g. `lame --mp3input in.wav out.mp3`');
    expect(problem(edit(20, (b) => b.writeUInt16LE(0x50)), 'AudioInvalid')).toMatch(/holds MPEG \(format 0x0050\): .*`lame --mp2input in\.wav out\.mp3`$/);
    // Layer I, as its fmt extension says (fwHeadLayer 1): LAME's input flag for it.
    const layer1 = Buffer.concat([Buffer.from([0x50, 0, 1, 0, 0x80, 0x3e, 0, 0, 0xa0, 0x0f, 0, 0, 1, 0, 0, 0, 22, 0, 1, 0]), Buffer.alloc(20)]);
    expect(problem(inspectAudio(riff([['fmt ', layer1], ['data', Buffer.alloc(100)]]), 'wav'), 'AudioInvalid')).toMatch(/`lame --mp1input in\.wav out\.mp3`$/);
    expect(problem(edit(0, (b) => b.write('RIFX', 'latin1')), 'AudioInvalid')).toMatch(/RIFX variant/);
    // A size never filled in (ffmpeg into a pipe) is no problem: the samples run to the end.
    expect(ok(edit(40, (b) => b.writeUInt32LE(0xffffffff)))).toMatchObject({ streamed: true, dataBytes: wavTone().length - 44 });
    expect(problem(inspectAudio(riff([['data', Buffer.alloc(100)]]), 'wav'), 'AudioInvalid')).toMatch(/no "fmt " chunk/);
    expect(problem(inspectAudio(riff([['fmt ', wavTone().subarray(20, 36)]]), 'wav'), 'AudioInvalid')).toMatch(/no "data" chunk/);
    const ext = wav({ bits: 24, extensible: true });
    ext[46] = 0x99; // the sub-format GUID's tail starts 26 bytes into the fmt chunk (at 20)
    expect(problem(inspectAudio(ext, 'wav'), 'AudioInvalid')).toMatch(/EXTENSIBLE with an unknown sub-format/);
  });

  test('an MP3 whose frame chain breaks → AudioInvalid', () => {
    const joined = Buffer.concat([fixture('speech-mpeg25.mp3'), fixture('speech-cbr-info.mp3')]);
    expect(problem(inspectAudio(joined, 'mp3'), 'AudioInvalid')).toMatch(/chain breaks at byte 4968 .* different MPEG version, layer, sample rate or channel count/);
    const garbage = Buffer.concat([mp3Silence(10, false), Buffer.from('trailing garbage that is not a frame')]);
    expect(problem(inspectAudio(garbage, 'mp3'), 'AudioInvalid')).toMatch(/bytes that are not an MPEG frame/);
  });

  test('tags taggers append (Lyrics3v2, an appended ID3v2.4 with footer, APEv2) and a stray line end after the frames are accepted', () => {
    const id3 = fixture('speech-id3.mp3'); // ID3v2, 43 frames, ID3v1 (128 bytes)
    const [audio, v1] = [id3.subarray(0, id3.length - 128), id3.subarray(id3.length - 128)];
    // Lyrics3 v2.00: LYRICSBEGIN, fields (3-letter id, 5-digit size, text), 6-digit size of all that, LYRICS200.
    const body = 'LYRICSBEGININD0000210EAL00005Hello';
    const lyrics3 = Buffer.from(`${body}${String(body.length).padStart(6, '0')}LYRICS200`, 'latin1');
    // ID3v2.4 with its footer flag: header, one TIT2 frame, footer "3DI" (syncsafe sizes).
    const frame = Buffer.from('TIT2\x00\x00\x00\x06\x00\x00\x03hello', 'latin1');
    const v24 = (id: string) => Buffer.from([...Buffer.from(id, 'latin1'), 4, 0, 0x10, 0, 0, 0, frame.length]);
    const appended = Buffer.concat([v24('ID3'), frame, v24('3DI')]);
    const ape = Buffer.alloc(32);
    ape.write('APETAGEX', 0, 'latin1');
    ape.writeUInt32LE(2000, 8);
    ape.writeUInt32LE(32, 12); // footer only, no items
    const files = [
      Buffer.concat([audio, lyrics3, v1]),
      Buffer.concat([audio, appended]),
      Buffer.concat([audio, appended, v1]),
      Buffer.concat([audio, ape, lyrics3, appended, v1]),
      Buffer.concat([audio, Buffer.from('\r\n')]),
      Buffer.concat([audio, Buffer.from('\n\n\x1a  ')]),
      Buffer.concat([audio, Buffer.from('ok!')]),
    ];
    for (const f of files) expect(ok(inspectAudio(f, 'mp3'))).toMatchObject({ frames: 42, header: 'Info' });
    // What they follow is still checked: whole frames missing before a trailer are still found.
    expect(problem(inspectAudio(Buffer.concat([audio.subarray(0, audio.length - 2 * 216), lyrics3, v1]), 'mp3'), 'AudioTruncated')).toMatch(/declares 42 frames, the file holds 40/);
    // A Lyrics3 block whose size does not lead back to LYRICSBEGIN is not a tag.
    const badSize = Buffer.from(lyrics3);
    badSize.write('000099', lyrics3.length - 15, 'latin1');
    expect(problem(inspectAudio(Buffer.concat([audio, badSize, v1]), 'mp3'), 'AudioInvalid')).toMatch(/chain breaks at byte 9420/);
  });

  test('maxSeconds → AudioTooLong with both durations', () => {
    expect(problem(inspectAudio(fixture('speech-cbr-info.mp3'), 'mp3', { maxSeconds: 1 }), 'AudioTooLong')).toBe('the audio lasts 1.413 s, longer than the configured maximum of 1 s; shorten it');
    expect(problem(inspectAudio(wavTone(2500), 'wav', { maxSeconds: 2 }), 'AudioTooLong')).toMatch(/lasts 2.5 s, longer than the configured maximum of 2 s/);
    expect(ok(inspectAudio(wavTone(2000), 'wav', { maxSeconds: 2 }))).toMatchObject({ durationSeconds: 2 });
  });
});

describe('conversionPlan', () => {
  const info = (bytes: Buffer, format: 'mp3' | 'wav' = 'wav') => ok(inspectAudio(bytes, format));
  const studio = { container: 'wav', codec: 'pcm', sampleRate: 44100, channels: 2, bitsPerSample: 16, blockAlign: 4, dataOffset: 44 } as const;
  /** What inspectAudio reports for a 44.1 kHz stereo 16-bit WAV of that many seconds, without making it. */
  const studioWav = (seconds: number): [WavInfo, number] => {
    const frames = Math.round(seconds * 44100);
    return [{ ...studio, frames, durationSeconds: frames / 44100, dataBytes: frames * 4 }, 44 + frames * 4];
  };
  const plan = (i: AudioInfo, bytes: number, mode: 'auto' | 'telephony' | 'off'): ConversionPlan => conversionPlan(i, bytes, mode);

  test('auto converts only WAVs over 5 MB; off never converts; telephony converts what is not 8 kHz mono 16-bit', () => {
    const small = info(fixture('speech-44k-stereo.wav'));
    const phone = info(wavTone(1000));
    const [big, bigBytes] = studioWav(40);
    expect(bigBytes).toBeGreaterThan(CCC_FILE_BYTES_DEFAULT);
    expect(plan(small, 26508, 'auto')).toBe('send-as-is');
    expect(plan(big, bigBytes, 'auto')).toBe('convert');
    expect(plan(small, 26508, 'telephony')).toBe('convert');
    expect(plan(phone, 16044, 'telephony')).toBe('send-as-is');
    expect(plan(info(fixture('speech-alaw.wav')), 11360, 'telephony')).toBe('convert');
    expect(plan(small, 26508, 'off')).toBe('send-as-is');
    expect(plan(big, bigBytes, 'off')).toMatchObject({ code: 'FileTooLarge', message: expect.stringMatching(/conversion is turned off: convert it to 8 kHz mono first, e.g. `sox in.wav -r 8000 -c 1 -b 16 out.wav`/) });
    expect(conversionPlan(small, 26508, 'auto', { maxFileBytes: 20000 })).toBe('convert');
  });

  test('a WAV written as a stream goes as a converted copy (its header complete); with conversion off it fails with the fix', () => {
    const streamed = info(fixture('speech-stream.wav'));
    const bytes = fixture('speech-stream.wav').length;
    expect(plan(streamed, bytes, 'auto')).toBe('convert');
    expect(plan(info(fixture('speech-sox-pipe.wav')), 8044, 'telephony')).toBe('convert');
    expect(plan(streamed, bytes, 'off')).toEqual({ code: 'AudioInvalid', message: expect.stringMatching(/written as a stream .*re-save it, e.g. `sox in.wav out.wav`, or turn conversion on \(IVR_CONVERT\)/) });
    const copy = converted(fixture('speech-stream.wav'));
    expect(Math.abs(copy.info.durationSeconds - 0.382585)).toBeLessThan(0.01);
    expect(copy.bytes.readUInt32LE(40)).toBe(copy.bytes.length - 44);
    // One already in the telephone format only gets its sizes: the object says so, not "8 kHz → 8 kHz".
    expect(converted(fixture('speech-arecord-pipe.wav')).description).toBe('8000Hz/1ch/16bit, sizes filled in (it was written as a stream)');
  });

  test('a streamed µ-law WAV whose 16-bit copy would be over the limit is told to re-save it keeping its encoding', () => {
    // The sox µ-law fixture as ffmpeg writes one into a pipe (`-c:a pcm_mulaw -f wav -`): sizes all ones.
    const streamed = info(fixture('speech-ulaw.wav'));
    if (streamed.container !== 'wav') throw new Error('expected a WAV');
    const ulaw = Buffer.from(fixture('speech-ulaw.wav').subarray(0, streamed.dataOffset + streamed.dataBytes)); // without the pad byte
    ulaw.writeUInt32LE(0xffffffff, 4);
    ulaw.writeUInt32LE(0xffffffff, streamed.dataOffset - 4);
    const piped = info(ulaw);
    expect(piped).toMatchObject({ codec: 'mulaw', streamed: true, frames: 11301 });
    // A limit between the file (11359 bytes) and its 16-bit copy (22646), as 3.2 MB against 5 MB.
    expect(conversionPlan(piped, ulaw.length, 'auto', { maxFileBytes: 20000 })).toEqual({
      code: 'FileTooLarge',
      message:
        "the WAV was written as a stream (its sizes were never filled in), which CCC may not read, and the copy with its sizes right that would go instead, 8 kHz mono 16-bit, takes 22646 bytes, its 8-bit µ-law samples taking twice the room, over CCC's 20000: re-save it with its sizes filled in and its encoding kept, e.g. `sox in.wav out.wav`, and it goes as it is; or shorten it, or encode it as MP3, e.g. `lame -m m -b 32 in.wav out.mp3`",
    });
    // What that re-save writes (the sox fixture itself) then goes as it is.
    expect(conversionPlan(streamed, 11360, 'auto', { maxFileBytes: 20000 })).toBe('send-as-is');
    expect(conversionPlan(streamed, 11360, 'telephony', { maxFileBytes: 20000 })).toBe('send-as-is');
  });

  test('MPEG Layer II (or I) named .mp3 is refused with the fix, never sent as MP3', () => {
    const [name, code] = REFUSED_FIXTURES[0];
    const mp2 = info(fixture(name), 'mp3');
    if (mp2.container !== 'mp3') throw new Error('expected an MPEG stream');
    expect(mp2.codec).toBe('mp2');
    expect(plan(mp2, 5040, 'auto')).toEqual({ code, message: 'the file is MPEG Layer II audio (MP2), not MP3 (Layer III); CCC takes MP3 or WAV: re-encode it, e.g. `lame --mp2input in.mp3 out.mp3`' });
    expect(plan({ ...mp2, codec: 'mp1' }, 5040, 'off')).toMatchObject({ code, message: expect.stringContaining('`lame --mp1input in.mp3 out.mp3`') });
  });

  test('an MP3 over the limit fails with the fix; within it, it is sent', () => {
    const mp3 = info(fixture('speech-cbr-info.mp3'), 'mp3');
    expect(plan(mp3, 12384, 'telephony')).toBe('send-as-is');
    const r = plan(mp3, CCC_FILE_BYTES_DEFAULT + 1, 'auto');
    expect(r).toEqual({ code: 'FileTooLarge', message: expect.stringMatching(/^the file is 5000001 bytes \(5.000001 MB\); CCC accepts at most 5000000 bytes \(5 MB, shown by Windows as 4.76 MB\), and MP3s are not converted: re-encode it .*`lame --mp3input -m m -b 32 in.mp3 out.mp3`/) });
  });

  test("an MP3 over the limit for its tags is told to drop them (LAME's re-encode keeps them), from its first bytes alone too", () => {
    // An ID3v2.3 tag of 5.5 MB (a cover picture) before the fixture's frames: only the tag's header is needed.
    const size = 5_500_000;
    const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, (size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
    const audio = fixture('speech-cbr-info.mp3');
    const fileBytes = 10 + size + audio.length;
    expect(leadingTagBytes(header)).toBe(10 + size);
    expect(judgeAudio(header, 'mp3', fileBytes, { convert: 'auto', maxFileBytes: CCC_FILE_BYTES_DEFAULT })).toMatchObject({ code: 'FileTooLarge', message: expect.stringContaining(`but ${10 + size} of them are tags (cover art, lyrics or other data embedded in the file), not audio: remove them and keep the audio as it is, e.g. \`ffmpeg -y -i in.mp3 -map 0:a -c:a copy -map_metadata -1 -id3v2_version 0 out.mp3\``) });
    // Tags large, the audio over the limit too: one re-encode without them.
    expect(mp3TooLarge(6_000_000, 5_000_000, 600_000)).toContain('which a re-encode with LAME keeps: re-encode it at a lower bitrate without them, e.g. `ffmpeg -y -i in.mp3 -map 0:a -map_metadata -1 -id3v2_version 0 -ac 1 -b:a 32k out.mp3`');
    // A tag declaring more than the file holds (cut off inside it): no tags to drop, no audio to keep.
    expect(mp3TooLarge(6_000_000, 5_000_000, 12_000_010)).toContain('`lame --mp3input -m m -b 32 in.mp3 out.mp3`');
    // Small tags: LAME as before.
    expect(mp3TooLarge(6_000_000, 5_000_000, 4000)).toContain('`lame --mp3input -m m -b 32 in.mp3 out.mp3`');
    // Inspected whole, the tags around the stream are counted.
    const tagged = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 100]), Buffer.alloc(100), audio]);
    expect(info(tagged, 'mp3')).toMatchObject({ tagBytes: 110 });
  });

  test('sizes just over a limit read differently from the limit in megabytes too', () => {
    const [huge] = studioWav(200);
    expect(plan(huge, MAX_CONVERT_INPUT_BYTES + 2, 'auto')).toMatchObject({
      code: 'AudioTooLargeToConvert',
      message: expect.stringMatching(/^the WAV is 12582914 bytes \(12.582914 MB\), more than the 12582912 bytes \(12.582912 MB\) that can be converted/),
    });
    // Judged on its size alone (never read): with IVR_MAX_FILE_BYTES at 5 MiB.
    const policy = { convert: 'auto' as const, maxFileBytes: 5_242_880 };
    expect(judgeAudio(Buffer.alloc(0), 'mp3', 5_242_881, policy)).toMatchObject({ code: 'FileTooLarge', message: expect.stringMatching(/^the file is 5242881 bytes \(5.242881 MB\); CCC accepts at most 5242880 bytes \(5.24288 MB, shown by Windows as 5 MB\)/) });
    // Far from the limit, one decimal as before.
    expect(plan(huge, 35_280_044, 'auto')).toMatchObject({ message: expect.stringMatching(/\(35.3 MB\), more than the 12582912 bytes \(12.6 MB\)/) });
  });

  test('too long even at 8 kHz, or too big to convert in memory', () => {
    const [long, longBytes] = studioWav(400);
    expect(plan(long, longBytes, 'auto')).toMatchObject({ code: 'FileTooLarge', message: expect.stringMatching(/its 400 s of audio take 6400044 bytes even as 8 kHz mono 16-bit WAV \(which holds at most 312 s\): shorten or split it/) });
    const [huge, hugeBytes] = studioWav(200);
    expect(hugeBytes).toBeGreaterThan(MAX_CONVERT_INPUT_BYTES);
    expect(plan(huge, hugeBytes, 'auto')).toEqual({
      code: 'AudioTooLargeToConvert',
      message: `the WAV is ${hugeBytes} bytes (35.3 MB), more than the ${MAX_CONVERT_INPUT_BYTES} bytes (12.6 MB) that can be converted within the function's memory: convert it before uploading, e.g. \`sox in.wav -r 8000 -c 1 -b 16 out.wav\``,
    });
    // An 8 kHz mono 16-bit WAV over the limit cannot shrink; 8-bit input within the limit is sent rather than doubled.
    const phone: WavInfo = { ...studio, sampleRate: 8000, channels: 1, blockAlign: 2, frames: 2_700_000, durationSeconds: 337.5, dataBytes: 5_400_000 };
    expect(plan(phone, 5_400_044, 'auto')).toMatchObject({ code: 'FileTooLarge' });
    const alaw: WavInfo = { ...phone, codec: 'alaw', bitsPerSample: 8, blockAlign: 1, dataBytes: 2_700_000 };
    expect(plan(alaw, 2_700_058, 'telephony')).toBe('send-as-is');
  });
});

describe('convertWav', () => {
  test('a 40 s 44.1 kHz stereo 16-bit WAV (7 MB) becomes a ≤ 5 MB 8 kHz mono 16-bit WAV of the same length', () => {
    const input = wav({ rate: 44100, channels: 2, seconds: 40, signal: (t, c) => sine(c ? 440 : 1000)(t) });
    expect(input.length).toBe(7_056_044);
    const before = ok(inspectAudio(input, 'wav'));
    expect(conversionPlan(before, input.length, 'auto')).toBe('convert');
    const out = converted(input);
    expect(out.bytes.length).toBeLessThanOrEqual(CCC_FILE_BYTES_DEFAULT);
    expect(out.description).toBe('44100Hz/2ch/16bit → 8000Hz/1ch/16bit');
    const after = ok(inspectAudio(out.bytes, 'wav'));
    expect(after).toEqual(out.info);
    expect(after).toMatchObject({ codec: 'pcm', sampleRate: 8000, channels: 1, bitsPerSample: 16 });
    expect(Math.abs(after.durationSeconds - 40)).toBeLessThanOrEqual(0.1);
    expect(conversionPlan(after, out.bytes.length, 'telephony')).toBe('send-as-is');
  });

  test('the low-pass keeps the telephone band and removes what would alias (above 4 kHz)', () => {
    const level = (hz: number, rate = 44100) => rms(samplesOf(converted(wav({ rate, seconds: 1, signal: sine(hz) })).bytes)) / (0.5 / Math.SQRT2);
    for (const hz of [300, 1000, 3000, 3400]) expect(Math.abs(20 * Math.log10(level(hz)))).toBeLessThan(0.1);
    for (const hz of [4400, 5000, 6000, 12000]) expect(20 * Math.log10(level(hz))).toBeLessThan(-60);
    expect(20 * Math.log10(level(6000, 48000))).toBeLessThan(-60);
    expect(20 * Math.log10(level(5000, 44056))).toBeLessThan(-60); // an odd rate: more phases than tabulated
  });

  test('every sample encoding decodes to the same signal', () => {
    const signal = sine(700, 0.6);
    const reference = samplesOf(converted(wav({ rate: 16000, bits: 16, seconds: 0.25, signal })).bytes);
    const layouts = [{ bits: 24 }, { bits: 32 }, { bits: 32, float: true }, { bits: 64, float: true }, { bits: 24, extensible: true }, { bits: 8 }];
    for (const l of layouts) {
      const out = samplesOf(converted(wav({ rate: 16000, seconds: 0.25, signal, ...l })).bytes);
      expect(out.length).toBe(reference.length);
      const worst = out.reduce((m, x, i) => Math.max(m, Math.abs(x - reference[i])), 0);
      expect(worst).toBeLessThan(l.bits === 8 ? 0.01 : 0.0002);
    }
  });

  test('channels are averaged', () => {
    const mono = rms(samplesOf(converted(wav({ rate: 8000, seconds: 0.5, signal: sine(500) })).bytes));
    const half = rms(samplesOf(converted(wav({ rate: 22050, channels: 2, seconds: 0.5, signal: (t, c) => (c ? 0 : sine(500)(t)) })).bytes));
    expect(half / mono).toBeCloseTo(0.5, 2);
    const six = converted(wav({ rate: 48000, channels: 6, bits: 24, extensible: true, seconds: 0.5, signal: sine(500) }));
    expect(six.description).toBe('48000Hz/6ch/24bit → 8000Hz/1ch/16bit');
    expect(rms(samplesOf(six.bytes)) / mono).toBeCloseTo(1, 2);
  });

  test('A-law and µ-law decode as G.711 specifies', () => {
    const g711 = (format: number, codes: number[]) => {
      const fmt = Buffer.alloc(16);
      [format, 1].forEach((v, i) => fmt.writeUInt16LE(v, 2 * i));
      fmt.writeUInt32LE(8000, 4);
      fmt.writeUInt32LE(8000, 8);
      fmt.writeUInt16LE(1, 12);
      fmt.writeUInt16LE(8, 14);
      const out = converted(riff([['fmt ', fmt], ['data', Buffer.from(codes)]]));
      return Array.from({ length: codes.length }, (_, i) => out.bytes.readInt16LE(44 + 2 * i));
    };
    expect(g711(6, [0xd5, 0x55, 0xaa, 0x2a])).toEqual([8, -8, 32256, -32256]);
    expect(g711(7, [0xff, 0x7f, 0x80, 0x00])).toEqual([0, 0, 32124, -32124]);
  });

  test.each(['speech-alaw.wav', 'speech-ulaw.wav', 'speech-float.wav', 'speech-24bit.wav', 'speech-8bit.wav', 'speech-44k-stereo.wav'])('fixture %s converts', (name) => {
    const input = ok(inspectAudio(fixture(name), 'wav'));
    const out = converted(fixture(name));
    const after = ok(inspectAudio(out.bytes, 'wav'));
    expect(after).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, codec: 'pcm' });
    expect(Math.abs(after.durationSeconds - input.durationSeconds)).toBeLessThanOrEqual(0.001);
    expect(rms(samplesOf(out.bytes), 0)).toBeGreaterThan(0.01); // speech, not silence
  });

  test('upsamples rates below 8 kHz', () => {
    const out = converted(wav({ rate: 6000, seconds: 0.5, signal: sine(1000) }));
    expect(out.info).toMatchObject({ sampleRate: 8000, frames: 4000 });
    expect(rms(samplesOf(out.bytes))).toBeCloseTo(0.5 / Math.SQRT2, 2);
  });

  test('invalid input is reported, not thrown', () => {
    expect(convertWav(PNG_BYTES)).toEqual({ ok: false, problem: expect.objectContaining({ code: 'NotAudio' }) });
    expect(convertWav(wavTone().subarray(0, 100))).toEqual({ ok: false, problem: expect.objectContaining({ code: 'AudioTruncated' }) });
  });
});

describe('lazy loading of the converter', () => {
  test('from TypeScript, loadConverter() loads ./convert', () => {
    const c = loadConverter();
    expect(c.CONVERTER_ID).toBe(CONVERTER_ID);
    expect(c.convertWav(wavTone())).toMatchObject({ ok: true });
  });

  test('the build ships the converter as its own file, and the function bundles do not contain it', () => {
    const converterFile = fs.readFileSync(path.join(PKG, CONVERTER_FILE), 'utf8');
    expect(converterFile).toContain(CONVERTER_ID);
    for (const bundle of [path.join(PKG, 'ivr_upload.js'), path.join(PKG, 'quota_report.js'), path.join(ROOT, 'dist', 'ivr-upload', 'index.js')]) {
      expect(fs.readFileSync(bundle, 'utf8')).not.toContain(CONVERTER_ID);
    }
    expect(fs.existsSync(path.join(ROOT, 'dist', 'ivr-upload', CONVERTER_FILE))).toBe(true);
  });

  test('a bundle that calls loadConverter() stays free of the converter and loads it from its own folder', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-converter-'));
    try {
      const entry = path.join(dir, 'entry.ts');
      fs.writeFileSync(entry, `import { loadConverter } from ${JSON.stringify(path.join(ROOT, 'shared', 'audio', 'load-converter'))};\nexport const convert = (b: Uint8Array) => loadConverter().convertWav(b);\n`);
      const outfile = path.join(dir, 'probe.js');
      // The options scripts/build.mjs bundles the functions with.
      await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node16', minify: true, logLevel: 'silent' });
      expect(fs.readFileSync(outfile, 'utf8')).not.toContain(CONVERTER_ID);
      const run = (script: string) => execFileSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
      const script = `const r = require('./probe.js').convert(require('fs').readFileSync(${JSON.stringify(path.join(FIXTURES, 'speech-44k-stereo.wav'))})); console.log(r.ok ? r.converted.description : r.problem.code)`;
      // Without the converter file next to it, the bundle says where it looked.
      expect(() => execFileSync(process.execPath, ['-e', script], { cwd: dir, stdio: 'pipe' })).toThrow(new RegExp(`the audio converter could not be loaded from ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${CONVERTER_FILE}`));
      fs.copyFileSync(path.join(PKG, CONVERTER_FILE), path.join(dir, CONVERTER_FILE));
      expect(run(script).trim()).toBe('44100Hz/2ch/16bit → 8000Hz/1ch/16bit');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the largest WAV the converter takes converts, in the built bundle, to a copy within CCC\'s limit', () => {
    // A 44.1 kHz stereo 16-bit WAV received as cos-nodejs-sdk-v5 getObject delivers a body (64 KB
    // chunks joined by Buffer.concat), converted. Its memory is measured by `npm run bench` (plan.ts).
    const script = `
      const path = require('path');
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = () => true; // the bundle's cold-start log
      require(${JSON.stringify(path.join(PKG, 'ivr_upload.js'))});
      process.stdout.write = write;
      const baseMB = process.resourceUsage().maxRSS / 1024;
      const dataBytes = ${MAX_CONVERT_INPUT_BYTES - 44};
      const h = Buffer.alloc(44);
      h.write('RIFF', 0); h.writeUInt32LE(36 + dataBytes, 4); h.write('WAVEfmt ', 8); h.writeUInt32LE(16, 16);
      h.writeUInt16LE(1, 20); h.writeUInt16LE(2, 22); h.writeUInt32LE(44100, 24); h.writeUInt32LE(176400, 28);
      h.writeUInt16LE(4, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(dataBytes, 40);
      const chunks = [h];
      for (let off = 0; off < dataBytes; off += 65536) {
        const c = Buffer.allocUnsafe(Math.min(65536, dataBytes - off));
        for (let i = 0, n = off / 4; i < c.length; i += 4, n++) { const v = Math.round(8000 * Math.sin(n * 0.0627)); c.writeInt16LE(v, i); c.writeInt16LE(v, i + 2); }
        chunks.push(c);
      }
      const input = Buffer.concat(chunks);
      chunks.length = 0;
      const t = Date.now();
      const r = require(${JSON.stringify(path.join(PKG, CONVERTER_FILE))}).convertWav(input);
      console.log(JSON.stringify({ ok: r.ok, inputBytes: input.length, outBytes: r.converted && r.converted.bytes.length, ms: Date.now() - t, baseMB, peakMB: process.resourceUsage().maxRSS / 1024 }));`;
    const m = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { ok: boolean; inputBytes: number; outBytes: number; ms: number; baseMB: number; peakMB: number };
        expect(m).toMatchObject({ ok: true, inputBytes: MAX_CONVERT_INPUT_BYTES });
    expect(m.outBytes).toBeLessThanOrEqual(CCC_FILE_BYTES_DEFAULT);
  });
});

describe('a file that is not audio says what it looks like', () => {
  test.each([
    ['\x89PNG\r\n\x1a\n0000', 'mp3', 'a PNG image'],
    ['hello, this is a playlist\n', 'mp3', 'a text file'],
    ['PK\x03\x04xxxx', 'wav', 'a ZIP archive or a Word/Excel document'],
    ['\x00\x00\x00\x20ftypM4A ', 'mp3', 'MP4/M4A (AAC) audio, which CCC does not take'],
    ['<!DOCTYPE html><html>', 'wav', 'an HTML or XML page, such as a download that saved an error page'],
  ] as const)('%j named .%s', (start, format, like) => {
    const r = inspectAudio(Buffer.from(start, 'latin1'), format);
    expect(r).toMatchObject({ ok: false, problem: { code: 'NotAudio', message: expect.stringContaining(`; it looks like ${like})`) } });
  });

  test('nothing recognised: no guess', () => {
    const r = inspectAudio(Buffer.from([1, 2, 3, 4, 0xfe]), 'mp3');
    expect(r).toMatchObject({ ok: false, problem: { code: 'NotAudio' } });
    expect(r.ok || r.problem.message).not.toContain('looks like');
  });
});
