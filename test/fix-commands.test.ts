/**
 * The fixes the audio checks print are commands an operator pastes (the local stack's notes give
 * them for the file, ready to run). Here each one runs for real: a file that fails a check, its
 * message's command as the note gives it, run by a shell with the real LAME, SoX and FFmpeg, and
 * the output judged again with the same settings. A trial pasted a `sox` command that SoX refuses
 * (MP3 in a WAV wrapper); this is what catches the next one.
 *
 * Needs `lame` and `sox`, and `ffmpeg` for its commands and the files only it makes (`.ci/run`
 * installs all three on a fresh machine); without them those cases are skipped, with a line saying so.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bytesNeeded, judgeAudio, type AudioPolicy } from '../shared/audio/check';
import { oggCodec, type AudioFormat } from '../shared/audio/inspect';
import { checkFile } from '../shared/core/eligibility';
import { IvrError } from '../shared/core/errors';
import { commandsFor } from '../scripts/local/fixes';
import { riff } from './audio';

const FIXTURES = path.join(__dirname, 'fixtures', 'audio');
const fixture = (name: string): Buffer => fs.readFileSync(path.join(FIXTURES, name));
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const TOOLS = has('lame') && has('sox');
if (!TOOLS) process.stderr.write('fix-commands.test.ts: lame or sox not installed, so the pasted fix commands are not run (apt-get install lame sox)\n');
const FFMPEG = TOOLS && has('ffmpeg');
if (TOOLS && !FFMPEG) process.stderr.write('fix-commands.test.ts: ffmpeg not installed, so its commands, and the files only it makes, are left out (apt-get install ffmpeg)\n');

/** The function's verdict on a whole file, reading what it would read. */
function judge(bytes: Buffer, format: AudioFormat, policy: AudioPolicy) {
  const need = bytesNeeded(bytes.length, format, policy);
  return judgeAudio(need >= bytes.length ? bytes : bytes.subarray(0, Math.min(bytes.length, 4096)), format, bytes.length, policy);
}

/** A WAV wrapper (format `tag`) around MPEG frames, as some recorders and converters write it. */
function mpegInWav(tag: number, mpeg: Buffer): Buffer {
  const fmt = Buffer.alloc(30);
  fmt.writeUInt16LE(tag, 0);
  fmt.writeUInt16LE(1, 2);
  fmt.writeUInt32LE(16000, 4);
  fmt.writeUInt32LE(4000, 8);
  fmt.writeUInt16LE(1, 12);
  fmt.writeUInt16LE(12, 16);
  return riff([['fmt ', fmt], ['data', mpeg]]);
}

/**
 * A WAV SoX writes in `encoding` from a fixture, to a file or (`pipe`) as a stream whose sizes are
 * never filled in: files the tools make here, since what they hold is what CCC does not take.
 */
function soxWav(encoding: string, pipe = false): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-sox-'));
  try {
    const out = path.join(dir, 'out.wav');
    // Through raw samples, so the writing sox knows no length (given a WAV, it fills the sizes in even into a pipe).
    const script = pipe ? `sox -D "$0" -b 16 -e signed -t raw - | sox -t raw -r 8000 -e signed -b 16 -c 1 - -e ${encoding} -t wav - | cat > "$1"` : `sox -D "$0" -e ${encoding} "$1"`;
    const r = spawnSync('sh', ['-c', script, path.join(FIXTURES, 'speech-24bit.wav'), out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sox -e ${encoding}: ${r.stderr}`);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A recording `tool` writes from a fixture as a file of extension `ext` (a format CCC does not take). */
function made(tool: 'sox' | 'ffmpeg', ext: string, codec?: string): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-made-'));
  try {
    const src = path.join(FIXTURES, 'speech-24bit.wav');
    const out = path.join(dir, `out.${ext}`);
    const args = tool === 'sox' ? ['-D', src, out] : ['-hide_banner', '-loglevel', 'error', '-i', src, ...(codec ? ['-c:a', codec] : []), out];
    const r = spawnSync(tool, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${tool} to .${ext}: ${r.stderr}`);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const soxAs = (ext: string) => made('sox', ext);

/** An MP3 fixture with a picture of noise (`side` pixels square, a PNG FFmpeg makes) embedded as cover art, as FFmpeg tags one. */
function withCoverArt(mp3: string, side: number): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-art-'));
  try {
    const png = path.join(dir, 'art.png');
    const out = path.join(dir, 'out.mp3');
    const script = `ffmpeg -v error -f lavfi -i "nullsrc=s=${side}x${side},geq=r='random(1)*255':g='random(2)*255':b='random(3)*255'" -frames:v 1 "$1" && ffmpeg -v error -i "$0" -i "$1" -map 0 -map 1 -c copy -id3v2_version 3 "$2"`;
    const r = spawnSync('sh', ['-c', script, path.join(FIXTURES, mp3), png, out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cover art: ${r.stderr}`);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const SMALL: AudioPolicy = { convert: 'auto', maxFileBytes: 5_000_000 };

/** Files that fail a check whose message gives a command: name, bytes, the settings, the code expected. */
const CASES: Array<{ what: string; dropped: string; bytes: () => Buffer; policy: AudioPolicy; code: string }> = [
  { what: 'an MP3 over the size limit', dropped: "Main Menu's long.mp3", bytes: () => fixture('speech-cbr-info.mp3'), policy: { convert: 'auto', maxFileBytes: 9000 }, code: 'FileTooLarge' },
  { what: 'a WAV too large for its 8 kHz copy to fit', dropped: 'menus/hold music.wav', bytes: () => fixture('speech-24bit.wav'), policy: { convert: 'auto', maxFileBytes: 10_000 }, code: 'FileTooLarge' },
  { what: 'a WAV over the limit with conversion off', dropped: 'big.wav', bytes: () => fixture('speech-float.wav'), policy: { convert: 'off', maxFileBytes: 20_000 }, code: 'FileTooLarge' },
  { what: 'an MP3 with bytes before its first frame', dropped: '-loud promo.mp3', bytes: () => Buffer.concat([Buffer.alloc(3), fixture('speech-notag.mp3')]), policy: SMALL, code: 'AudioInvalid' },
  { what: 'a free-format MP3', dropped: 'free.mp3', bytes: () => fixture('speech-freeformat.mp3'), policy: SMALL, code: 'AudioInvalid' },
  { what: 'MPEG Layer II named .mp3', dropped: 'layer2.mp3', bytes: () => fixture('speech-layer2.mp3'), policy: SMALL, code: 'AudioInvalid' },
  { what: 'MPEG Layer II named .wav', dropped: 'layer2.wav', bytes: () => fixture('speech-layer2.mp3'), policy: SMALL, code: 'AudioInvalid' },
  { what: 'a WAV holding MP3 (format 0x0055)', dropped: 'IVR greeting (mp3 inside).wav', bytes: () => mpegInWav(0x55, fixture('speech-notag.mp3')), policy: SMALL, code: 'AudioInvalid' },
  { what: 'a WAV in IMA ADPCM', dropped: 'adpcm.wav', bytes: () => soxWav('ima-adpcm'), policy: SMALL, code: 'AudioInvalid' },
  { what: 'a WAV in MS ADPCM', dropped: 'ms adpcm.wav', bytes: () => soxWav('ms-adpcm'), policy: SMALL, code: 'AudioInvalid' },
  { what: 'a WAV written as a stream, conversion off', dropped: 'stream.wav', bytes: () => fixture('speech-stream.wav'), policy: { convert: 'off', maxFileBytes: 5_000_000 }, code: 'AudioInvalid' },
  { what: 'a WAV arecord wrote to a pipe, conversion off', dropped: 'arecord.wav', bytes: () => fixture('speech-arecord-pipe.wav'), policy: { convert: 'off', maxFileBytes: 5_000_000 }, code: 'AudioInvalid' },
  { what: 'a WAV written as a stream whose copy would not fit', dropped: 'stream big.wav', bytes: () => soxWav('a-law', true), policy: { convert: 'auto', maxFileBytes: 10_000 }, code: 'FileTooLarge' },
  { what: 'a WAV holding MPEG Layer II (format 0x0050)', dropped: 'mp2 inside.wav', bytes: () => mpegInWav(0x50, fixture('speech-layer2.mp3')), policy: SMALL, code: 'AudioInvalid' },
  // Not .mp3 or .wav: the name's check fails first, and its message converts what SoX reads.
  { what: 'an Ogg Vorbis recording', dropped: 'closing.ogg', bytes: () => soxAs('ogg'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'a FLAC recording', dropped: 'menus/Opening Hours.FLAC', bytes: () => soxAs('flac'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'an AIFF recording', dropped: "it's me.aiff", bytes: () => soxAs('aiff'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'an AIFF recording named .aif', dropped: 'short.aif', bytes: () => soxAs('aif'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'an AIFF-C recording', dropped: 'c.aifc', bytes: () => soxAs('aifc'), policy: SMALL, code: 'UnsupportedExtension' },
];

/** Files only FFmpeg makes here: formats SoX does not read, whose messages give an `ffmpeg` command. */
const FFMPEG_CASES: typeof CASES = [
  // A chat app's voice message: Opus in Ogg, named .ogg, on which the message's sox command fails (the ffmpeg one runs).
  { what: 'an Ogg Opus voice message', dropped: 'voice message.ogg', bytes: () => made('ffmpeg', 'ogg', 'libopus'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'an Opus file', dropped: 'greeting.opus', bytes: () => made('ffmpeg', 'opus', 'libopus'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'an AAC recording in M4A', dropped: 'phone memo.m4a', bytes: () => made('ffmpeg', 'm4a', 'aac'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'raw AAC', dropped: 'raw.aac', bytes: () => made('ffmpeg', 'aac', 'aac'), policy: SMALL, code: 'UnsupportedExtension' },
  { what: 'a WMA recording', dropped: 'old.wma', bytes: () => made('ffmpeg', 'wma', 'wmav2'), policy: SMALL, code: 'UnsupportedExtension' },
  // Audio CCC does not take under an .mp3 or .wav name: a trial's notes gave no command for these.
  { what: 'an M4A named .mp3', dropped: 'memo.mp3', bytes: () => made('ffmpeg', 'm4a', 'aac'), policy: SMALL, code: 'NotAudio' },
  { what: 'an Ogg Opus voice message named .wav', dropped: 'voice.wav', bytes: () => made('ffmpeg', 'ogg', 'libopus'), policy: SMALL, code: 'NotAudio' },
  { what: 'a FLAC recording named .mp3', dropped: 'take 2.mp3', bytes: () => soxAs('flac'), policy: SMALL, code: 'NotAudio' },
  { what: 'a WMA recording named .wav', dropped: 'old.wav', bytes: () => made('ffmpeg', 'wma', 'wmav2'), policy: SMALL, code: 'NotAudio' },
  // A trial's MP3 was over the limit for its cover art: LAME's re-encode kept the tag and failed again.
  { what: 'an MP3 over the limit for its cover art alone', dropped: 'with art.mp3', bytes: () => withCoverArt('speech-cbr-info.mp3', 120), policy: { convert: 'auto', maxFileBytes: 13_000 }, code: 'FileTooLarge' },
  { what: 'an MP3 over the limit for its audio and large cover art', dropped: 'art and audio.mp3', bytes: () => withCoverArt('speech-cbr-info.mp3', 120), policy: { convert: 'auto', maxFileBytes: 9000 }, code: 'FileTooLarge' },
  { what: 'a WebM recording (a browser recorder)', dropped: 'browser.webm', bytes: () => made('ffmpeg', 'webm', 'libopus'), policy: SMALL, code: 'UnsupportedExtension' },
];

/** The function's verdict on a dropped file: its name's checks, then its audio's. */
function verdictOn(dropped: string, body: Buffer, policy: AudioPolicy) {
  const named = checkFile(dropped, body.length);
  return named instanceof IvrError ? named : judge(body, named.format, policy);
}

/** A name without its extension. */
const stem = (name: string) => name.replace(/\.[^./]+$/, '');

/** Runs every command a failing file's note gives, each from a drop folder holding only the failed copy, and judges what it makes. */
function commandsFixIt({ dropped, bytes, policy, code }: (typeof CASES)[number]): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-fix-'));
  try {
    const body = bytes();
    const verdict = verdictOn(dropped, body, policy);
    expect(verdict).toBeInstanceOf(IvrError);
    const failure = verdict as IvrError;
    expect(failure.code).toBe(code);
    const copy = `failed/${dropped}`;
    fs.mkdirSync(path.dirname(path.join(dir, copy)), { recursive: true });
    fs.writeFileSync(path.join(dir, copy), body);
    // As the stack writes the note: with the copy's first bytes, so a tool that cannot read it is left out.
    const commands = commandsFor(failure.message, dropped, { dropDir: dir, copy, head: body.subarray(0, 64) });
    expect(commands.length).toBeGreaterThan(0);
    if (dropped.endsWith('.ogg')) {
      // SoX reads Ogg Vorbis, not Ogg Opus (a trial pasted the first command of an Opus voice message's note: SoX's).
      const codec = dropped === 'voice message.ogg' ? 'opus' : 'vorbis';
      expect(oggCodec(body)).toBe(codec);
      expect(commands.map((c) => / && (sox|ffmpeg) /.exec(c)?.[1])).toEqual(codec === 'opus' ? ['ffmpeg'] : ['sox', 'ffmpeg']);
    }
    for (const command of commands) {
      if (/ && ffmpeg /.test(command) && !FFMPEG) continue;
      // Each command on its own, from a drop folder holding only the failed copy.
      for (const f of fs.readdirSync(dir)) if (f !== 'failed') fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      const run = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
      expect({ command, status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ command, status: 0, stderr: '' });
      // One file made, under the name it was dropped with (its extension the command's), in the drop folder itself.
      const made = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('failed') && fs.statSync(path.join(dir, f)).isFile());
      expect(made.map(stem)).toEqual([stem(dropped)]);
      const name = made[0];
      const again = verdictOn(name, fs.readFileSync(path.join(dir, name)), policy);
      expect(again instanceof IvrError ? `${again.code}: ${again.message}` : 'passes').toBe('passes');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('the fix commands an operator pastes', () => {
  const title = '$what: the command reads the failed copy and writes a file that passes';
  (TOOLS ? test.each(CASES) : test.skip.each(CASES))(title, commandsFixIt);
  (FFMPEG ? test.each(FFMPEG_CASES) : test.skip.each(FFMPEG_CASES))(title, commandsFixIt);
});
