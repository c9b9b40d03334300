/**
 * The drop folder's engine on real files, with the bucket and the clock injected: a test writes a
 * result onto an object's metadata itself and moves the clock, so what happens between sending a
 * file and its result (a file changed in waiting/, removed, put there by hand) is exact and
 * needs no waiting.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import { pairWithDropFolder } from '../scripts/local/client';
import { DropFolder, FOLDER_MARK, GROWTH_WATCH_MS, type DropEvent, type DropFolderDeps, type FailedCopy, type ObjectView } from '../scripts/local/drop-folder';
import { failedCopiesRecord } from '../scripts/local/failed-record';
import { STOPPED_FIX_MS } from '../scripts/local/drop-rules';
import { failureText, fixFor, PAUSED_REST_MS, readCutShortNote, readFailureNote } from '../scripts/local/fixes';
import { cutShortNotes, failureNotes } from '../scripts/local/drop-notes';
import { describeEvent } from '../scripts/local/output';
import { formatDateTime } from '../scripts/local/time';
import { Burst, burstLine } from '../scripts/local/burst';
import { checkFile, checkKey } from '../shared/core/eligibility';
import type { IvrError } from '../shared/core/errors';
import { mp3Silence } from './audio';
import { tempDirs } from './local-helpers';

const SETTLE = 1000;

/** A drop folder over an in-memory bucket, on a clock the test moves. */
async function dropFolder(opts: { onPut?: (drop: DropFolder, key: string) => void; restartOf?: { dirs: ReturnType<typeof tempDirs>; bucket: Map<string, ObjectView & { body: Buffer }>; now?: () => number; record?: { copies: FailedCopy[] } }; ownsWaiting?: boolean; beforeStore?: (key: string) => Promise<void>; deps?: Partial<DropFolderDeps> } = {}) {
  // A restart: the same folders, bucket and state folder's list of failed files, a new engine.
  const dirs = opts.restartOf?.dirs ?? tempDirs();
  const bucket = opts.restartOf?.bucket ?? new Map<string, ObjectView & { body: Buffer }>();
  const record = opts.restartOf?.record ?? { copies: [] as FailedCopy[] };
  const events: DropEvent[] = [];
  // A restart goes on from the clock the last run had reached.
  let clock = opts.restartOf?.now?.() ?? 1_800_000_000_000;
  const drop = new DropFolder({
    dropDir: dirs.drop,
    settleMs: SETTLE,
    prefix: 'prompts/',
    bucket: 'local-1250000000',
    offsetMinutes: 480,
    put: async (key, body) => {
      await opts.beforeStore?.(key);
      bucket.set(key, { body, etag: createHash('md5').update(body).digest('hex'), meta: {} });
      opts.onPut?.(drop, key);
    },
    object: (key) => bucket.get(key),
    keys: () => [...bucket.keys()].sort(),
    remove: async (key) => {
      bucket.delete(key);
    },
    emit: (e) => events.push(e),
    now: () => clock,
    ownsWaiting: opts.ownsWaiting,
    failedRecord: {
      read: () => record.copies.map((c) => ({ ...c })),
      write: (copies) => {
        record.copies = copies.map((c) => ({ ...c }));
      },
    },
    ...opts.deps,
  });
  await drop.open(); // no timer: the test scans with tick()
  return {
    dirs,
    drop,
    bucket,
    record,
    events,
    /** Scans now and again once the settle time has passed. */
    async settle() {
      await drop.tick();
      clock += SETTLE;
      await drop.tick();
    },
    /** The function's result, as it writes it onto the object's metadata, then the Copy event. */
    result(key: string, meta: Record<string, string>) {
      const o = bucket.get(key)!;
      o.meta = { ...o.meta, ...meta };
      drop.objectChanged(key);
    },
    /** A file dropped, taken, and failed by the function with `meta`, then scanned: in failed/ with its note. */
    async dropFailed(name: string, body: Buffer, meta: Record<string, string>) {
      fs.writeFileSync(path.join(dirs.drop, name), body);
      await this.settle();
      this.result(`prompts/${name}`, meta);
      await drop.tick();
    },
    of: (kind: DropEvent['kind']) => events.filter((e) => e.kind === kind),
    now: () => clock,
    advance(ms: number) {
      clock += ms;
    },
  };
}

const uploaded = (fileId: number) => ({ 'ivr-status': 'uploaded', 'ivr-file-id': String(fileId) });
const failed = (code: string) => ({ 'ivr-status': 'failed', 'ivr-error-code': code, 'ivr-error-message': encodeURIComponent('the audio stops before its end') });

test('a file replaced in waiting/ after it was sent is not called done: the old version’s result is said, the new one is sent', async () => {
  const t = await dropFolder();
  const old = mp3Silence(5);
  const renewed = mp3Silence(9);
  fs.writeFileSync(path.join(t.dirs.drop, 'ow5.mp3'), old);
  await t.settle();
  expect(t.of('sent')).toEqual([expect.objectContaining({ file: 'ow5.mp3', size: old.length })]);

  // The operator copies a new recording over the one being registered.
  fs.writeFileSync(path.join(t.drop.waitingDir, 'ow5.mp3'), renewed);
  t.result('prompts/ow5.mp3', uploaded(1001));
  expect(t.of('changed')).toEqual([{ kind: 'changed', file: 'ow5.mp3', key: 'prompts/ow5.mp3', outcome: 'uploaded', fileId: 1001 }]);
  expect(describeEvent(t.of('changed')[0]).detail).toBe('the file in waiting/ changed after it was sent: the version sent was registered with FileId 1001; the changed file is sent again once it stays unchanged');
  expect(t.of('uploaded')).toEqual([]);
  expect(fs.existsSync(path.join(t.drop.doneDir, 'ow5.mp3'))).toBe(false);
  expect(t.drop.busy).toBe(true);

  // Taken again like a new drop: once it has stayed unchanged for the settle time.
  await t.settle();
  expect(t.of('sent').map((e) => e.kind === 'sent' && e.size)).toEqual([old.length, renewed.length]);
  expect(t.bucket.get('prompts/ow5.mp3')!.body.equals(renewed)).toBe(true);
  t.result('prompts/ow5.mp3', uploaded(1002));
  expect(t.of('uploaded')).toEqual([expect.objectContaining({ fileId: 1002, movedTo: 'done/ow5.mp3' })]);
  expect(fs.readFileSync(path.join(t.drop.doneDir, 'ow5.mp3')).equals(renewed)).toBe(true);
  t.dirs.cleanup();
});

/** A copy into drop/stall.mp3 that pauses after its first half for longer than the settle time: taken cut short; `fd` goes on writing into the file wherever the stack moves it. */
async function pausedCopy() {
  const t = await dropFolder();
  const whole = mp3Silence(12);
  const half = whole.subarray(0, Math.floor(whole.length / 2));
  const fd = fs.openSync(path.join(t.dirs.drop, 'stall.mp3'), 'w');
  fs.writeSync(fd, half);
  await t.settle(); // the pause: taken cut short
  return { t, whole, half, fd };
}

test('a copy that paused longer than the settle time and went on is sent again whole, not failed as cut short', async () => {
  const { t, whole, half, fd } = await pausedCopy();
  expect(t.of('sent')).toEqual([expect.objectContaining({ size: half.length })]);

  // The copy goes on (into the file now in waiting/), and the cut version's result arrives.
  fs.writeSync(fd, whole.subarray(half.length));
  fs.closeSync(fd);
  t.result('prompts/stall.mp3', failed('AudioTruncated'));
  expect(t.of('changed')).toEqual([expect.objectContaining({ outcome: 'failed', code: 'AudioTruncated' })]);
  expect(t.of('failed')).toEqual([]);
  expect(fs.readdirSync(t.drop.failedDir)).toEqual([]);

  await t.settle();
  expect(t.of('sent').map((e) => e.kind === 'sent' && e.size)).toEqual([half.length, whole.length]);
  expect(t.bucket.get('prompts/stall.mp3')!.body.equals(whole)).toBe(true);
  t.dirs.cleanup();
});

test('a paused copy that goes on after its cut version failed and moved to failed/ is pointed out once, with how to send it', async () => {
  const { t, whole, half, fd } = await pausedCopy();
  t.result('prompts/stall.mp3', failed('AudioTruncated'));
  expect(t.of('failed')).toEqual([expect.objectContaining({ movedTo: 'failed/stall.mp3' })]);
  await t.drop.tick();
  expect(t.of('error')).toEqual([]);

  // The copy goes on, into the file the stack moved.
  fs.writeSync(fd, whole.subarray(half.length));
  fs.closeSync(fd);
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('error')).toEqual([{ kind: 'error', file: 'failed/stall.mp3', message: `grew after it failed (${half.length} → ${whole.length} bytes): a copy that paused longer than the settle time went on into it. Once the copy has finished, copy it into the drop folder itself (${path.basename(t.dirs.drop)}/stall.mp3) to send it; start the stack with a longer --settle-ms where copies pause` }]);
  // Not sent from failed/ by itself.
  expect(t.of('sent')).toHaveLength(1);
  t.dirs.cleanup();
});

/** Drops `files` (name → bytes) and has each fail its checks as not audio: their copies end in failed/. */
async function failAsNotAudio(t: Awaited<ReturnType<typeof dropFolder>>, files: Record<string, Buffer>): Promise<void> {
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(t.dirs.drop, name), body);
  await t.settle();
  for (const name of Object.keys(files)) t.result(`prompts/${name}`, failed('NotAudio'));
  await t.drop.tick();
}

test('a failed copy saved over with other bytes is not taken for a paused copy going on: the line says failed/ sends nothing, at once or long after', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'offline bad.mp3'), Buffer.alloc(29, 1));
  fs.writeFileSync(path.join(t.dirs.drop, 'empty.mp3'), Buffer.alloc(0));
  await t.settle();
  t.result('prompts/offline bad.mp3', failed('NotAudio'));
  t.result('prompts/empty.mp3', failed('EmptyFile'));
  await t.drop.tick();
  const good = mp3Silence(6);
  // Within the growth watch, as a trial did three minutes on: cp over it (the same inode, bigger).
  fs.writeFileSync(path.join(t.drop.failedDir, 'offline bad.mp3'), good);
  await t.drop.tick();
  const line = (name: string) => ({ kind: 'skipped', file: `failed/${name}`, why: `other bytes were saved over it since, but nothing in failed/ is sent (it holds the files the stack could not register): copy it into the drop folder itself (${path.basename(t.dirs.drop)}/${name}) to send it` });
  expect({ errors: t.of('error'), skipped: t.of('skipped') }).toEqual({ errors: [], skipped: [line('offline bad.mp3')] });
  // After the watch (a trial's, twenty minutes on): said too, once.
  t.advance(GROWTH_WATCH_MS + 1000);
  await t.drop.tick();
  fs.writeFileSync(path.join(t.drop.failedDir, 'empty.mp3'), good);
  await t.drop.tick();
  await t.drop.tick();
  expect({ errors: t.of('error'), skipped: t.of('skipped') }).toEqual({ errors: [], skipped: [line('offline bad.mp3'), line('empty.mp3')] });
  expect(t.of('sent')).toHaveLength(2);
  // Other bytes of the same size (a WAV of the same length): said too. A copy going on after the
  // watch (its first bytes those that failed): not said to be saved over.
  await failAsNotAudio(t, { 'same.mp3': Buffer.alloc(40, 4), 'paused.mp3': Buffer.alloc(40, 5) });
  t.advance(GROWTH_WATCH_MS + 1000);
  await t.drop.tick();
  fs.writeFileSync(path.join(t.drop.failedDir, 'same.mp3'), Buffer.alloc(40, 6));
  fs.utimesSync(path.join(t.drop.failedDir, 'same.mp3'), new Date(), new Date(Date.now() + 5000));
  fs.appendFileSync(path.join(t.drop.failedDir, 'paused.mp3'), Buffer.alloc(40, 7));
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('skipped')).toEqual([line('offline bad.mp3'), line('empty.mp3'), line('same.mp3')]);
  // Deleted, dropped again and failed again under the same path, then saved over: said again.
  fs.rmSync(path.join(t.drop.failedDir, 'offline bad.mp3'));
  await t.drop.tick();
  fs.writeFileSync(path.join(t.dirs.drop, 'offline bad.mp3'), Buffer.alloc(31, 1));
  await t.settle();
  t.result('prompts/offline bad.mp3', failed('NotAudio'));
  await t.drop.tick();
  fs.writeFileSync(path.join(t.drop.failedDir, 'offline bad.mp3'), good);
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('skipped')).toEqual([line('offline bad.mp3'), line('empty.mp3'), line('same.mp3'), line('offline bad.mp3')]);
  // Its note says so too (status and the note gave the old failure beside good audio).
  expect(fs.readFileSync(path.join(t.drop.failedDir, 'same.mp3.error.txt'), 'utf8')).toMatch(/\nSince:   other bytes were saved over this file \(seen at [^)]+\): it is no longer the file that failed, and\n         nothing in failed\/ is sent .*to send it\.\n$/);
  t.dirs.cleanup();
});

test('a failed copy saved over while the stack was stopped is told at the next start, and its note gets the line once', async () => {
  const t = await dropFolder();
  await failAsNotAudio(t, { 'menu.mp3': Buffer.alloc(29, 1), 'paused.mp3': Buffer.alloc(40, 5) });
  t.drop.stop();
  // While stopped: a good recording copied over one failed copy; the other goes on (a copy that
  // paused): it still starts with what failed, so it is not said to be saved over.
  fs.writeFileSync(path.join(t.drop.failedDir, 'menu.mp3'), mp3Silence(6));
  fs.appendFileSync(path.join(t.drop.failedDir, 'paused.mp3'), Buffer.alloc(40, 7));
  const line = { kind: 'skipped', file: 'failed/menu.mp3', why: `other bytes were saved over it since, but nothing in failed/ is sent (it holds the files the stack could not register): copy it into the drop folder itself (${path.basename(t.dirs.drop)}/menu.mp3) to send it` };
  const again = await dropFolder({ restartOf: t });
  expect(again.of('skipped')).toEqual([line]);
  const note = path.join(t.drop.failedDir, 'menu.mp3.error.txt');
  expect(fs.readFileSync(note, 'utf8').match(/other bytes were saved over this file/g)).toHaveLength(1);
  // The object still holds what failed: it is not taken for the new bytes.
  expect(t.bucket.has('prompts/menu.mp3')).toBe(true);
  again.drop.stop();
  // The start after says it again (as of any file in failed/ it does not send), the note not twice.
  const third = await dropFolder({ restartOf: t });
  expect(third.of('skipped')).toEqual([line]);
  expect(fs.readFileSync(note, 'utf8').match(/other bytes were saved over this file/g)).toHaveLength(1);
  t.dirs.cleanup();
});

test('a paused copy that goes on after its cut version was registered (an MP3 cut between frames passes every check) is pointed out: CCC holds a prompt that ends early', async () => {
  const { t, whole, half, fd } = await pausedCopy();
  t.result('prompts/stall.mp3', uploaded(1008));
  expect(t.of('uploaded')).toEqual([expect.objectContaining({ movedTo: 'done/stall.mp3' })]);
  fs.writeSync(fd, whole.subarray(half.length));
  fs.closeSync(fd);
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('error')).toEqual([{ kind: 'error', file: 'done/stall.mp3', message: `grew after it was registered (${half.length} → ${whole.length} bytes): a copy that paused longer than the settle time went on into it, so CCC holds only the part taken (FileId 1008), a prompt that ends early. Once the copy has finished, copy it into the drop folder itself (${path.basename(t.dirs.drop)}/stall.mp3) to register it whole (a new FileId and a quota slot); start the stack with a longer --settle-ms where copies pause (note: done/stall.mp3.cut-short.txt)` }]);
  // A note beside it keeps that once the line has scrolled away; npm run status reads it back.
  const note = fs.readFileSync(path.join(t.drop.doneDir, 'stall.mp3.cut-short.txt'), 'utf8');
  expect(note).toContain(`CCC got the first ${half.length} bytes; the file here has ${whole.length}.`);
  expect(readCutShortNote(note, 'local-1250000000')).toEqual({ fileId: 1008, key: 'prompts/stall.mp3' });
  expect(cutShortNotes(t.dirs.drop)).toEqual(new Map([['prompts/stall.mp3', { fileId: 1008, copy: 'done/stall.mp3' }]]));
  // The stack's own note is not a file saved into done/ by hand.
  await t.drop.tick();
  expect(t.of('error')).toHaveLength(1);
  t.dirs.cleanup();
});

test('a file in done/ is watched for a paused copy only for a while: one changed later is the operator\'s own business', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'hello.mp3'), mp3Silence(3));
  await t.settle();
  t.result('prompts/hello.mp3', uploaded(1009));
  t.advance(GROWTH_WATCH_MS + 1);
  await t.drop.tick();
  fs.appendFileSync(path.join(t.drop.doneDir, 'hello.mp3'), mp3Silence(1));
  await t.drop.tick();
  expect(t.of('error')).toEqual([]);
  t.dirs.cleanup();
});

test("a failed file's note gives the message's example command for it: its copy in failed/ in, its own name out, in the drop folder", async () => {
  const t = await dropFolder();
  const message = 'the file is 6000000 bytes …, and MP3s are not converted: re-encode it at a lower bitrate, e.g. `lame --mp3input -m m -b 32 in.mp3 out.mp3` (4 KB per second of audio)';
  for (const body of [mp3Silence(6), mp3Silence(5)]) {
    fs.writeFileSync(path.join(t.dirs.drop, "it's big.mp3"), body);
    await t.settle();
    t.result("prompts/it's big.mp3", { 'ivr-status': 'failed', 'ivr-error-code': 'FileTooLarge', 'ivr-error-message': encodeURIComponent(message) });
  }
  const drop = t.dirs.drop.replace(/'/g, "'\\''");
  // The second failure's copy is "it's big (2).mp3": the command reads that one.
  const second = fs.readFileSync(path.join(t.drop.failedDir, "it's big (2).mp3.error.txt"), 'utf8');
  const cmd = process.platform === 'win32' ? undefined : `Command: cd ${/^[\w./-]+$/.test(t.dirs.drop) ? t.dirs.drop : `'${drop}'`} && lame --mp3input -m m -b 32 'failed/it'\\''s big (2).mp3' '.it'\\''s big.mp3' && mv '.it'\\''s big.mp3' 'it'\\''s big.mp3'\n`;
  if (cmd) expect(second).toContain(cmd);
  else expect(second).not.toContain('Command:');
  t.dirs.cleanup();
});

test("an Opus voice message's note leaves out SoX's command, which cannot read it; a Vorbis .ogg's keeps both", async () => {
  const t = await dropFolder();
  // A first Ogg page as far as the codec's identification header, after its one-entry segment table: what the note looks at.
  const ogg = (id: Buffer) => Buffer.concat([Buffer.from('OggS'), Buffer.alloc(22), Buffer.from([1, 19]), id, Buffer.alloc(200, 1)]);
  fs.writeFileSync(path.join(t.dirs.drop, 'voice.ogg'), ogg(Buffer.from('OpusHead')));
  fs.writeFileSync(path.join(t.dirs.drop, 'music.ogg'), ogg(Buffer.concat([Buffer.from([1]), Buffer.from('vorbis')])));
  await t.settle();
  for (const name of ['voice.ogg', 'music.ogg']) {
    const verdict = checkFile(`prompts/${name}`, 300) as IvrError;
    t.result(`prompts/${name}`, { 'ivr-status': 'failed', 'ivr-error-code': verdict.code, 'ivr-error-message': encodeURIComponent(verdict.message) });
  }
  const tools = (name: string) => [...fs.readFileSync(path.join(t.drop.failedDir, `${name}.error.txt`), 'utf8').matchAll(/^(?:Command:|Or:) .* && (sox|ffmpeg) /gm)].map((m) => m[1]);
  if (process.platform !== 'win32') {
    expect(tools('voice.ogg')).toEqual(['ffmpeg']);
    expect(tools('music.ogg')).toEqual(['sox', 'ffmpeg']);
  }
  t.dirs.cleanup();
});

test('the same bad bytes dropped again say that they failed before, and when this copy did (the function keeps the first result and its time)', async () => {
  const t = await dropFolder();
  const bad = mp3Silence(4);
  const result = (atMs: number) => ({ ...failed('AudioTruncated'), 'ivr-at': encodeURIComponent(new Date(atMs).toISOString()) });
  fs.writeFileSync(path.join(t.dirs.drop, 'again.mp3'), bad);
  await t.settle();
  const first = t.now();
  t.result('prompts/again.mp3', result(first));
  await t.drop.tick();
  t.advance(120_000);
  fs.writeFileSync(path.join(t.dirs.drop, 'again.mp3'), bad);
  await t.settle();
  t.result('prompts/again.mp3', result(first));
  await t.drop.tick();
  const [one, two] = t.of('failed');
  expect(one).toEqual(expect.not.objectContaining({ failedBefore: expect.anything() }));
  expect(two).toMatchObject({ failedBefore: formatDateTime(first, 480) });
  expect(describeEvent(two).detail).toContain(`(the same file failed under this name before, at ${formatDateTime(first, 480)}; nothing was sent again)`);
  const note = fs.readFileSync(path.join(t.drop.failedDir, 'again (2).mp3.error.txt'), 'utf8');
  expect(note).toMatch(new RegExp(`\\nFailed: {2}(?!${formatDateTime(first, 480).replace(/[+]/g, '\\+')})\\S+ \\S+ \\(the same file failed under this name before, at ${formatDateTime(first, 480).replace(/[+]/g, '\\+')}: that result was kept, nothing was sent again\\)\\n`));
  t.dirs.cleanup();
});

test("status takes an object's latest failure note by the time it says, not by when the file was last touched", () => {
  const dirs = tempDirs();
  const failedDir = path.join(dirs.drop, 'failed');
  fs.mkdirSync(failedDir, { recursive: true });
  const T = Date.UTC(2026, 10, 27, 4);
  const write = (name: string, atMs: number, warning?: string) => {
    fs.writeFileSync(path.join(failedDir, name), mp3Silence(1));
    fs.writeFileSync(path.join(failedDir, `${name}.error.txt`), failureText({ file: 'x.mp3', key: 'prompts/x.mp3', bucket: 'local-1250000000', code: 'AudioInvalid', atMs, offsetMinutes: 480, ...(warning ? { warning } : {}) }));
  };
  write('x (2).mp3', T + 60_000);
  write('x.mp3', T, 'the rest of a paused copy');
  // The older note touched last (marked fixed, moved, opened in an editor): still the older one.
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(failedDir, 'x.mp3.error.txt'), later, later);
  expect(failureNotes(dirs.drop)).toEqual(new Map([['prompts/x.mp3', { note: 'failed/x (2).mp3.error.txt', copy: 'failed/x (2).mp3', pausedRest: false }]]));
  dirs.cleanup();
});

test("a failed file's fix command output left hidden and unchanged for a minute is said to be one stopped half-way, again if it happens again; not while it grows, nor other hidden files", async () => {
  const t = await dropFolder();
  await t.dropFailed('queue music.mp3', mp3Silence(6), failed('AudioTruncated'));
  const part = path.join(t.dirs.drop, '.queue music.mp3');
  fs.writeFileSync(part, mp3Silence(3));
  // Not the output of a failed file's command: an operator's own hidden file, macOS's ._ file.
  fs.writeFileSync(path.join(t.dirs.drop, '.take2.wav'), Buffer.alloc(4096));
  fs.writeFileSync(path.join(t.dirs.drop, '._queue music.mp3'), Buffer.alloc(4096));
  await t.drop.tick();
  // Still being written: each change starts the minute again.
  t.advance(STOPPED_FIX_MS - 1);
  fs.appendFileSync(part, mp3Silence(1));
  await t.drop.tick();
  t.advance(STOPPED_FIX_MS - 1);
  await t.drop.tick();
  expect(t.of('skipped')).toEqual([]);
  t.advance(2);
  await t.drop.tick();
  await t.drop.tick();
  const line = { kind: 'skipped', file: '.queue music.mp3', why: "a fix command's output that was never moved into place (a command stopped before it finished): it holds only part of the recording. Delete it and run the command again; do not rename it to queue music.mp3" };
  expect(t.of('skipped')).toEqual([line]);
  // Deleted, the command run and stopped again: said again (the trial's partial registration came so).
  fs.rmSync(part);
  await t.drop.tick();
  fs.writeFileSync(part, mp3Silence(2));
  await t.drop.tick();
  t.advance(STOPPED_FIX_MS);
  await t.drop.tick();
  expect(t.of('skipped')).toEqual([line, line]);
  expect(t.of('sent').map((e) => e.kind === 'sent' && e.file)).toEqual(['queue music.mp3']);
  t.dirs.cleanup();
});

test('a file that fails as the middle of a recording right after a file of its name failed cut short is said to be that copy\'s rest, and its fix not to be followed', async () => {
  const t = await dropFolder();
  await t.dropFailed('stall.mp3', mp3Silence(6), failed('AudioTruncated'));
  // `>>` after the pause: a new file of the name, holding the rest.
  t.advance(5_000);
  fs.writeFileSync(path.join(t.dirs.drop, 'stall.mp3'), mp3Silence(3));
  await t.settle();
  t.result('prompts/stall.mp3', failed('AudioInvalid'));
  const rest = t.of('failed')[1];
  const warning = rest.kind === 'failed' ? rest.warning : undefined;
  expect(warning).toMatch(/^a file of this name failed cut short \(AudioTruncated\) at .*: this one may be the rest of that copy, which paused and then went on into a new file of the name\. Do not follow the fix for its error: copy the whole original into the drop folder again \(start the stack with a longer --settle-ms where copies pause\)\.$/);
  expect(describeEvent(rest).detail).toContain(`. Warning: ${warning}`);
  // The note's fix is the warning's, not the code's (which would strip the recording's start).
  const note = fs.readFileSync(path.join(t.drop.failedDir, 'stall (2).mp3.error.txt'), 'utf8');
  expect(note).toContain(`\nWarning: ${warning}\nFix:     Copy the whole original into the drop folder again (start the stack with a longer --settle-ms where copies pause).\n`);
  expect(note).not.toContain(fixFor('AudioInvalid'));
  // npm run status reads the warning back from the note, so its fix is the warning's too.
  expect(failureNotes(t.dirs.drop)).toEqual(new Map([['prompts/stall.mp3', { note: 'failed/stall (2).mp3.error.txt', copy: 'failed/stall (2).mp3', pausedRest: true }]]));
  // The first failure had none; nor has one long after a cut-short failure.
  expect(t.of('failed')[0]).toEqual(expect.not.objectContaining({ warning: expect.anything() }));
  for (const [i, [code, wait]] of ([['AudioTruncated', 0], ['AudioInvalid', PAUSED_REST_MS + 1]] as const).entries()) {
    t.advance(wait);
    fs.writeFileSync(path.join(t.dirs.drop, 'stall.mp3'), mp3Silence(wait ? 2 : 4));
    await t.settle();
    t.result('prompts/stall.mp3', failed(code));
    // Written later than the warning's note (set here: this test writes notes faster than a file system's clock ticks).
    const later = new Date(Date.now() + (i + 1) * 60_000);
    fs.utimesSync(path.join(t.drop.failedDir, `stall (${i + 3}).mp3.error.txt`), later, later);
  }
  expect(t.of('failed').slice(2).map((e) => e.kind === 'failed' && [e.code, e.warning])).toEqual([['AudioTruncated', undefined], ['AudioInvalid', undefined]]);
  // The object's latest failure is one without the warning: status gives the code's own fix again.
  expect(failureNotes(t.dirs.drop)).toEqual(new Map([['prompts/stall.mp3', { note: 'failed/stall (4).mp3.error.txt', copy: 'failed/stall (4).mp3', pausedRest: false }]]));
  t.dirs.cleanup();
});

test('a failure after the name was registered whole is no paused copy\'s rest: no warning', async () => {
  const t = await dropFolder();
  await t.dropFailed('stall.mp3', mp3Silence(6), failed('AudioTruncated'));
  for (const [seconds, meta] of [[7, uploaded(1020)], [3, failed('FormatMismatch')]] as const) {
    t.advance(5_000);
    fs.writeFileSync(path.join(t.dirs.drop, 'stall.mp3'), mp3Silence(seconds));
    await t.settle();
    t.result('prompts/stall.mp3', meta);
  }
  expect(t.of('failed').map((e) => e.kind === 'failed' && [e.code, e.warning])).toEqual([['AudioTruncated', undefined], ['FormatMismatch', undefined]]);
  t.dirs.cleanup();
});

test('a file in done/ saved over by an editor (a new file in its place) is the operator\'s own change, not a paused copy', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'hello.mp3'), mp3Silence(3));
  await t.settle();
  t.result('prompts/hello.mp3', uploaded(1021));
  const done = path.join(t.drop.doneDir, 'hello.mp3');
  fs.writeFileSync(`${done}.new`, mp3Silence(6));
  fs.renameSync(`${done}.new`, done);
  await t.drop.tick();
  expect(t.of('error')).toEqual([]);
  t.dirs.cleanup();
});

test('a file only touched in waiting/ is the version sent: it is done as usual', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'same.mp3'), mp3Silence(5));
  await t.settle();
  const later = new Date(Date.now() + 60000);
  fs.utimesSync(path.join(t.drop.waitingDir, 'same.mp3'), later, later);
  t.result('prompts/same.mp3', uploaded(1001));
  expect(t.of('changed')).toEqual([]);
  expect(t.of('uploaded')).toEqual([expect.objectContaining({ movedTo: 'done/same.mp3' })]);
  t.dirs.cleanup();
});

test('a file put straight into waiting/ while the stack runs is taken like a drop, and counted as waiting until then', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.drop.waitingDir, 'direct.mp3'), mp3Silence(5));
  await t.drop.tick();
  // Not sent on first sight (it may still be copied), but counted: Ctrl-C says it is picked up at the next start.
  expect(t.of('sent')).toEqual([]);
  expect(t.drop.waiting).toBe(1);
  expect(t.drop.busy).toBe(true);
  await t.settle();
  expect(t.of('sent')).toEqual([expect.objectContaining({ file: 'direct.mp3', key: 'prompts/direct.mp3', resumed: false })]);
  t.result('prompts/direct.mp3', uploaded(1001));
  expect(t.of('uploaded')).toEqual([expect.objectContaining({ movedTo: 'done/direct.mp3' })]);
  expect(t.drop.waiting).toBe(0);
  t.dirs.cleanup();
});

test('a deferred file deleted from waiting/ is withdrawn: its object is deleted, so it is not sent on its day', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'later.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/later.mp3', { 'ivr-status': 'deferred' });
  expect(t.of('status')).toEqual([expect.objectContaining({ status: 'deferred' })]);

  fs.rmSync(path.join(t.drop.waitingDir, 'later.mp3'));
  await t.drop.tick();
  expect(t.of('withdrawn')).toEqual([{ kind: 'withdrawn', file: 'later.mp3', key: 'prompts/later.mp3', deleted: true }]);
  expect(describeEvent(t.of('withdrawn')[0]).detail).toBe('removed from waiting/ before it was registered: prompts/later.mp3 is deleted from the local bucket, so it is not sent');
  expect(t.bucket.has('prompts/later.mp3')).toBe(false);
  expect(t.drop.waiting).toBe(0);
  expect(fs.readdirSync(t.drop.doneDir)).toEqual([]);
  t.dirs.cleanup();
});

/** What the function says of a key it refuses (checkKey's message). */
const refusal = (key: string): string => {
  const r = checkKey(key, 'prompts/', '.ivr-audio-sync/');
  if (!r || typeof r === 'string') throw new Error(`${key} is not refused`);
  return r.message;
};

test('a name the function refuses ends in failed/ even when the refusal arrives before the upload is answered', async () => {
  // As in the stack: the COS event reaches the function while the upload's answer is still on its way.
  // Refused with the function's own message: the drop folder also finds the refusal itself
  // (withRefusal, the same checkKey), and whichever comes first must say the same.
  const t = await dropFolder({ onPut: (drop, key) => drop.refused(key, 'KeyInvalid', refusal(key)) });
  fs.writeFileSync(path.join(t.dirs.drop, 'tb1\tx.mp3'), mp3Silence(5));
  fs.writeFileSync(path.join(t.dirs.drop, 'nl1\nx.mp3'), mp3Silence(5));
  await t.settle();
  expect(t.of('sent')).toHaveLength(2);
  // In drop order, which is by modification time: the two writes may fall in one tick or two.
  expect([...t.of('failed')].sort((a, b) => a.file.localeCompare(b.file))).toEqual([
    expect.objectContaining({ file: 'nl1\nx.mp3', code: 'KeyInvalid', message: refusal('prompts/nl1\nx.mp3'), movedTo: 'failed/nl1\nx.mp3', note: 'failed/nl1\nx.mp3.error.txt' }),
    expect.objectContaining({ file: 'tb1\tx.mp3', code: 'KeyInvalid', message: refusal('prompts/tb1\tx.mp3'), movedTo: 'failed/tb1\tx.mp3', note: 'failed/tb1\tx.mp3.error.txt' }),
  ]);
  expect(fs.existsSync(path.join(t.drop.failedDir, 'tb1\tx.mp3.error.txt'))).toBe(true);
  expect(t.drop.waiting).toBe(0);
  // Not busy: the burst's summary line is printed once the stack is idle.
  expect(t.drop.busy).toBe(false);
  // Removed from failed/: cleared, and the line does not say the report counts it (no report
  // ever did: the function refused the name before any job).
  fs.rmSync(path.join(t.drop.failedDir, 'tb1\tx.mp3'));
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/tb1\tx.mp3', key: 'prompts/tb1\tx.mp3', neverCounted: true }]);
  expect(describeEvent(t.of('cleared')[0]).detail).toBe('removed by you: its object prompts/tb1\tx.mp3 is deleted from the local bucket, so status and the report no longer list it as needing action');
  t.dirs.cleanup();
});

test('a waiting file saved over while the stack was stopped is said to be replaced at the next start, not sent "again"', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'seven.mp3'), mp3Silence(5));
  fs.writeFileSync(path.join(t.dirs.drop, 'same.mp3'), mp3Silence(4));
  await t.settle();
  t.result('prompts/seven.mp3', { 'ivr-status': 'deferred' });
  t.result('prompts/same.mp3', { 'ivr-status': 'queued' });
  t.drop.stop();
  // While stopped: a new recording over one waiting file; the other is left as it was, its
  // object as if the function had never had its event (sent again, the same file).
  fs.writeFileSync(path.join(t.drop.waitingDir, 'seven.mp3'), mp3Silence(6));
  t.bucket.get('prompts/same.mp3')!.meta = {};
  const again = await dropFolder({ restartOf: t });
  expect(again.of('replaced')).toEqual([{ kind: 'replaced', file: 'seven.mp3', key: 'prompts/seven.mp3' }]);
  expect(again.of('sent').map((e) => e.kind === 'sent' && [e.file, e.resumed])).toEqual([
    ['same.mp3', true],
    ['seven.mp3', false],
  ]);
  t.dirs.cleanup();
});

test('a waiting file deleted while the stack was stopped is withdrawn at the next start; settled and present files are not', async () => {
  const t = await dropFolder();
  for (const name of ['later.mp3', 'kept.mp3', 'queued.mp3', 'done.mp3']) fs.writeFileSync(path.join(t.dirs.drop, name), mp3Silence(5));
  await t.settle();
  t.result('prompts/later.mp3', { 'ivr-status': 'deferred' });
  t.result('prompts/kept.mp3', { 'ivr-status': 'deferred' });
  t.result('prompts/queued.mp3', { 'ivr-status': 'queued' });
  t.result('prompts/done.mp3', uploaded(1001));
  t.drop.stop();

  // While stopped, the operator deletes two waiting files.
  fs.rmSync(path.join(t.drop.waitingDir, 'later.mp3'));
  fs.rmSync(path.join(t.drop.waitingDir, 'queued.mp3'));
  const again = await dropFolder({ restartOf: t });
  expect(again.of('withdrawn')).toEqual([
    { kind: 'withdrawn', file: 'later.mp3', key: 'prompts/later.mp3', deleted: true },
    { kind: 'withdrawn', file: 'queued.mp3', key: 'prompts/queued.mp3', deleted: true },
  ]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/done.mp3', 'prompts/kept.mp3']);
  expect(again.drop.waiting).toBe(1);
  t.dirs.cleanup();
});

test('started with another drop folder than the state folder\'s last one, nothing is withdrawn: its waiting/ says nothing about the bucket', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'later.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/later.mp3', { 'ivr-status': 'deferred' });
  t.drop.stop();
  fs.rmSync(path.join(t.drop.waitingDir, 'later.mp3'));
  const other = await dropFolder({ restartOf: t, ownsWaiting: false });
  expect(other.of('withdrawn')).toEqual([]);
  expect([...t.bucket.keys()]).toEqual(['prompts/later.mp3']);
  t.dirs.cleanup();
});

test('a state folder remembers the drop folders and prefixes it ran with; once two, a missing waiting file proves nothing', () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-pairing-'));
  try {
    expect(pairWithDropFolder(data, '/x/drop', 'prompts/')).toEqual({ same: false, previous: undefined });
    expect(pairWithDropFolder(data, '/x/drop', 'prompts/')).toEqual({ same: true, previous: { dropDir: '/x/drop', prefix: 'prompts/' } });
    expect(pairWithDropFolder(data, '/x/drop-quota', 'prompts/')).toMatchObject({ same: false, previous: { dropDir: '/x/drop' } });
    // Used with two drop folders, it never withdraws again: a waiting object may be either's.
    expect(pairWithDropFolder(data, '/x/drop-quota', 'prompts/')).toMatchObject({ same: false, previous: { dropDir: '/x/drop-quota' } });
    expect(pairWithDropFolder(data, '/x/drop-quota', 'other/')).toMatchObject({ same: false, previous: { dropDir: '/x/drop-quota', prefix: 'prompts/' } });
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('a file overwritten in waiting/ while it is deferred replaces the version waiting at once, as in the cloud; the old one is never sent', async () => {
  const t = await dropFolder();
  const old = mp3Silence(5);
  const renewed = mp3Silence(9);
  fs.writeFileSync(path.join(t.dirs.drop, 'late.mp3'), old);
  await t.settle();
  t.result('prompts/late.mp3', { 'ivr-status': 'deferred' });

  // The operator copies a new recording over the deferred one: once it has settled, it goes over the object.
  fs.writeFileSync(path.join(t.drop.waitingDir, 'late.mp3'), renewed);
  await t.drop.tick();
  expect(t.of('replaced')).toEqual([]);
  expect(t.drop.busy).toBe(true);
  await t.settle();
  expect(t.of('replaced')).toEqual([{ kind: 'replaced', file: 'late.mp3', key: 'prompts/late.mp3' }]);
  expect(describeEvent(t.of('replaced')[0])).toEqual({ state: 'replaced', detail: 'the file in waiting/ changed while it waited: the new version replaces the one waiting, which is never sent, and is handled on its own' });
  expect(t.of('sent').map((e) => e.kind === 'sent' && e.size)).toEqual([old.length, renewed.length]);
  expect(t.bucket.get('prompts/late.mp3')!.body.equals(renewed)).toBe(true);

  // The new version's own result moves it on; the result-time check finds nothing changed.
  t.result('prompts/late.mp3', uploaded(1001));
  expect(t.of('changed')).toEqual([]);
  expect(t.of('uploaded')).toEqual([expect.objectContaining({ fileId: 1001, movedTo: 'done/late.mp3' })]);
  expect(fs.readFileSync(path.join(t.drop.doneDir, 'late.mp3')).equals(renewed)).toBe(true);
  t.dirs.cleanup();
});

test('the waiting version\'s result arriving while its replacement is still being uploaded does not move the new file on', async () => {
  let hold: Promise<void> | undefined;
  let release: () => void = () => undefined;
  const t = await dropFolder({ beforeStore: () => hold ?? Promise.resolve() });
  const renewed = mp3Silence(9);
  fs.writeFileSync(path.join(t.dirs.drop, 'race.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/race.mp3', { 'ivr-status': 'queued' });
  fs.writeFileSync(path.join(t.drop.waitingDir, 'race.mp3'), renewed);
  hold = new Promise<void>((r) => (release = r));
  const replacing = t.settle(); // the replacement's upload starts, and waits
  await new Promise<void>((r) => setImmediate(r));
  // Meanwhile the version waiting is registered: its result is on the old content.
  t.result('prompts/race.mp3', uploaded(1001));
  expect(t.of('uploaded')).toEqual([]);
  release();
  await replacing;
  expect(t.bucket.get('prompts/race.mp3')!.body.equals(renewed)).toBe(true);
  // The new version's own result moves it on, with its own FileId.
  t.result('prompts/race.mp3', uploaded(1002));
  expect(t.of('uploaded')).toEqual([expect.objectContaining({ fileId: 1002, movedTo: 'done/race.mp3' })]);
  t.dirs.cleanup();
});

test('a link, or a name that is not UTF-8, is not taken, and the operator is told once why', async () => {
  const t = await dropFolder();
  const real = path.join(t.dirs.drop, '..', 'elsewhere.mp3');
  fs.writeFileSync(real, mp3Silence(5));
  fs.symlinkSync(real, path.join(t.dirs.drop, 'link.mp3'));
  // 你好.mp3 in GBK, as a zip made on a Chinese Windows unpacks it here.
  fs.writeFileSync(Buffer.concat([Buffer.from(`${t.dirs.drop}/`), Buffer.from([0xc4, 0xe3, 0xba, 0xc3]), Buffer.from('.mp3')]), mp3Silence(5));
  await t.settle();
  await t.settle();
  const skipped = t.of('skipped').map((e) => (e.kind === 'skipped' ? [e.file, e.why] : []));
  expect(skipped).toHaveLength(2);
  expect(skipped).toEqual(
    expect.arrayContaining([
      ['link.mp3', 'it is a link: copy the file itself into the drop folder'],
      [expect.stringMatching(/^\ufffd+\.mp3$/), 'its name is not valid UTF-8 (e.g. GBK from a Windows zip): rename it, then it is taken'],
    ]),
  );
  expect(describeEvent(t.of('skipped')[0]).state).toBe('not taken');
  expect(t.of('error')).toEqual([]);
  expect(t.of('sent')).toEqual([]);
  fs.rmSync(real);
  t.dirs.cleanup();
});

test('a file deleted from waiting/ while it waits to be sent again is withdrawn, and its name is free for the next one', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'b.mp3'), mp3Silence(5));
  await t.settle();
  // A new recording copied over it, then the version sent fails: it waits to be sent again...
  fs.writeFileSync(path.join(t.drop.waitingDir, 'b.mp3'), mp3Silence(9));
  t.result('prompts/b.mp3', { 'ivr-status': 'failed', 'ivr-error-code': 'AudioTruncated' });
  expect(t.of('changed')).toHaveLength(1);
  // ...and the operator deletes it.
  fs.rmSync(path.join(t.drop.waitingDir, 'b.mp3'));
  await t.settle();
  expect(t.of('error')).toEqual([]);
  expect(t.of('withdrawn')).toEqual([{ kind: 'withdrawn', file: 'b.mp3', key: 'prompts/b.mp3', deleted: false }]);
  // A new b.mp3 put straight into waiting/ is taken.
  fs.writeFileSync(path.join(t.drop.waitingDir, 'b.mp3'), mp3Silence(7));
  await t.settle();
  await t.settle();
  expect(t.of('sent')).toHaveLength(2);
  expect(t.drop.waiting).toBe(1);
  t.dirs.cleanup();
});

test('a waiting file only touched is not uploaded again', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'touched.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/touched.mp3', { 'ivr-status': 'deferred' });
  const later = new Date(Date.now() + 60000);
  fs.utimesSync(path.join(t.drop.waitingDir, 'touched.mp3'), later, later);
  await t.settle();
  await t.settle();
  expect(t.of('replaced')).toEqual([]);
  expect(t.of('sent')).toHaveLength(1);
  expect(t.drop.busy).toBe(false);
  t.dirs.cleanup();
});

test('the same file dropped again after it was registered says it was already registered', async () => {
  const t = await dropFolder();
  const body = mp3Silence(5);
  fs.writeFileSync(path.join(t.dirs.drop, 'welcome.mp3'), body);
  await t.settle();
  const registeredAt = new Date(t.now()).toISOString();
  t.result('prompts/welcome.mp3', { ...uploaded(1001), 'ivr-at': encodeURIComponent(registeredAt) });
  expect(t.of('uploaded')).toEqual([expect.not.objectContaining({ alreadyRegistered: true })]);

  // Dropped again later: the function writes the first registration back, with its time.
  t.advance(60000);
  fs.writeFileSync(path.join(t.dirs.drop, 'welcome.mp3'), body);
  await t.settle();
  t.result('prompts/welcome.mp3', { ...uploaded(1001), 'ivr-at': encodeURIComponent(registeredAt) });
  const again = t.of('uploaded')[1];
  expect(again).toEqual(expect.objectContaining({ fileId: 1001, movedTo: 'done/welcome (2).mp3', alreadyRegistered: true }));
  expect(describeEvent(again).detail).toBe('FileId 1001 (already registered: the same file was uploaded before under this name; nothing new was sent to CCC) → done/welcome (2).mp3');
  t.dirs.cleanup();
});

test('a registration under a display name CCC already lists from this run (menu.mp3 after menu.wav, or a new recording of hello.mp3) says so on its line', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'menu.wav'), mp3Silence(2));
  fs.writeFileSync(path.join(t.dirs.drop, 'menu.mp3'), mp3Silence(3));
  fs.writeFileSync(path.join(t.dirs.drop, 'hello.mp3'), mp3Silence(4));
  await t.settle();
  t.result('prompts/menu.wav', uploaded(1001));
  t.result('prompts/hello.mp3', uploaded(1002));
  t.result('prompts/menu.mp3', uploaded(1003));
  const [wav, hello, mp3] = t.of('uploaded');
  expect([wav, hello]).toEqual([expect.not.objectContaining({ sameName: expect.anything() }), expect.not.objectContaining({ sameName: expect.anything() })]);
  expect(describeEvent(mp3).detail).toBe('FileId 1003 (CCC also lists prompts/menu.wav (FileId 1001) as "menu": in CCC\'s IVR editor, pick the one you mean by its FileId) → done/menu.mp3');
  // The same key registered again (a new recording under its name): CCC has no replace, so it
  // lists the earlier registration under the name too, as the report says.
  t.advance(60000);
  fs.writeFileSync(path.join(t.dirs.drop, 'hello.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/hello.mp3', uploaded(1004));
  expect(describeEvent(t.of('uploaded')[3]).detail).toBe('FileId 1004 (CCC also lists another registration of this file (FileId 1002) as "hello": in CCC\'s IVR editor, pick the one you mean by its FileId) → done/hello (2).mp3');
  t.dirs.cleanup();
});

test('a registration under a name CCC lists from an earlier run says so too: named by the object that holds it, or as an earlier registration', async () => {
  // The local CCC's list (a trial's p02.wav, registered two days and a restart before, got no line).
  const listed = new Map<string, number[]>([['menu', [1001]], ['p02', [1002, 1050]]]);
  const t = await dropFolder({ deps: { listedInCcc: (name) => [...(listed.get(name) ?? [])] } });
  // menu.wav's registration of the earlier run is still what its object holds; p02's earlier ones are not.
  t.bucket.set('prompts/menu.wav', { body: mp3Silence(2), etag: createHash('md5').update(mp3Silence(2)).digest('hex'), meta: uploaded(1001) });
  fs.writeFileSync(path.join(t.dirs.drop, 'menu.mp3'), mp3Silence(3));
  fs.writeFileSync(path.join(t.dirs.drop, 'p02.wav'), mp3Silence(4));
  fs.writeFileSync(path.join(t.dirs.drop, 'alone.mp3'), mp3Silence(5));
  await t.settle();
  listed.set('menu', [1001, 1136]);
  t.result('prompts/menu.mp3', uploaded(1136));
  listed.set('p02', [1002, 1050, 1137]);
  t.result('prompts/p02.wav', uploaded(1137));
  listed.set('alone', [1138]);
  t.result('prompts/alone.mp3', uploaded(1138));
  const [menu, p02, alone] = t.of('uploaded');
  expect(describeEvent(menu).detail).toBe('FileId 1136 (CCC also lists prompts/menu.wav (FileId 1001) as "menu": in CCC\'s IVR editor, pick the one you mean by its FileId) → done/menu.mp3');
  expect(describeEvent(p02).detail).toBe('FileId 1137 (CCC also lists earlier registrations (FileId 1002, 1050) as "p02": in CCC\'s IVR editor, pick the one you mean by its FileId) → done/p02.wav');
  expect(alone).toEqual(expect.not.objectContaining({ sameName: expect.anything() }));
  // Recorded again in this run: its registration of a minute ago is named as this file's.
  const twice = { kind: 'uploaded' as const, file: 'p02.wav', key: 'prompts/p02.wav', fileId: 1139, sameName: { name: 'p02', others: [{ fileId: 1002 }, { fileId: 1050 }, { key: 'prompts/p02.wav', fileId: 1137 }] } };
  expect(describeEvent(twice).detail).toBe('FileId 1139 (CCC also lists another registration of this file (FileId 1137), earlier registrations (FileId 1002, 1050) as "p02": in CCC\'s IVR editor, pick the one you mean by its FileId)');
  t.dirs.cleanup();
});

test('the same file dropped again after CCC rejected it at review says it is rejected, not just uploaded', async () => {
  const t = await dropFolder();
  const body = mp3Silence(5);
  fs.writeFileSync(path.join(t.dirs.drop, 'hold.mp3'), body);
  await t.settle();
  const registeredAt = new Date(t.now()).toISOString();
  t.result('prompts/hold.mp3', { ...uploaded(1007), 'ivr-at': encodeURIComponent(registeredAt) });
  t.advance(60000);
  fs.writeFileSync(path.join(t.dirs.drop, 'hold.mp3'), body);
  await t.settle();
  t.result('prompts/hold.mp3', { ...uploaded(1007), 'ivr-at': encodeURIComponent(registeredAt), 'ivr-review': 'rejected' });
  const again = t.of('uploaded')[1];
  expect(again).toEqual(expect.objectContaining({ fileId: 1007, alreadyRegistered: true, rejected: true }));
  expect(describeEvent(again).detail).toBe('FileId 1007, rejected at review: the same file was registered before under this name and CCC rejected it; nothing new was sent. Record it again and drop the new recording → done/hold (2).mp3');
  t.dirs.cleanup();
});

test('a new file with the name of one deferred in waiting/ says it waits for that one\'s quota day, and how to send it in its place', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'late.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/late.mp3', { 'ivr-status': 'deferred', 'ivr-error-code': 'QuotaExhausted', 'ivr-at': encodeURIComponent(new Date(t.now()).toISOString()) });
  const day = t.of('status').map((e) => e.kind === 'status' && e.day)[0];
  expect(day).toMatch(/^\d{4}-\d{2}-\d{2}$/);

  // The operator drops a new recording under the same name, meaning to replace the deferred one.
  fs.writeFileSync(path.join(t.dirs.drop, 'late.mp3'), mp3Silence(9));
  await t.settle();
  const said = t.of('waiting');
  expect(said).toHaveLength(1);
  const { detail } = describeEvent(said[0]);
  // Not "once that one is done" alone: that one is done on its quota day, and the operator is told so.
  expect(detail).toContain(`deferred in waiting/ (sent on ${day} at the earliest)`);
  expect(detail).toContain('copy it over waiting/late.mp3');
  expect(fs.existsSync(path.join(t.dirs.drop, 'late.mp3'))).toBe(true);
  // Counted as held, for the stop line (with the one in waiting/: two files pending, not one).
  expect([t.drop.waiting, t.drop.held]).toEqual([1, 1]);
  fs.rmSync(path.join(t.dirs.drop, 'late.mp3'));
  expect(t.drop.held).toBe(0);
  t.dirs.cleanup();
});

test('a new file with the name of one still being registered says how to send it in its place', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'busy.mp3'), mp3Silence(5));
  await t.settle();
  fs.writeFileSync(path.join(t.dirs.drop, 'busy.mp3'), mp3Silence(9));
  await t.settle();
  const { detail } = describeEvent(t.of('waiting')[0]);
  expect(detail).toBe('a file with the same name is still in waiting/; this one is taken once that one is done (to send this one in its place, copy it over waiting/busy.mp3)');
  t.dirs.cleanup();
});

test('a file resumed after an interrupted run that stays queued past its turn is said to be recovering, with when it goes on, and does not keep the stack busy', async () => {
  const t = await dropFolder();
  for (const name of ['cut.mp3', 'fine.mp3']) fs.writeFileSync(path.join(t.dirs.drop, name), mp3Silence(5));
  await t.settle();
  // The intake of cut.mp3 wrote `queued`, then Ctrl-C cut its invocation off; fine.mp3 is queued with its job.
  const queuedAt = t.now();
  const queued = { 'ivr-status': 'queued', 'ivr-at': encodeURIComponent(new Date(queuedAt).toISOString()) };
  t.result('prompts/cut.mp3', queued);
  t.result('prompts/fine.mp3', queued);
  t.drop.stop();
  t.advance(10_000); // restarted 10 s later

  const passes: number[] = [];
  const again = await dropFolder({ restartOf: t, deps: { leaseMs: 120_000, turnMs: 15_000, nextPassAt: (ms) => (passes.push(ms), Math.ceil(ms / 300_000) * 300_000) } });
  expect(again.of('status')).toEqual([expect.objectContaining({ file: 'cut.mp3', status: 'queued' }), expect.objectContaining({ file: 'fine.mp3', status: 'queued' })]);
  expect(again.of('status').every((e) => e.kind === 'status' && !e.recovering)).toBe(true);
  expect(again.drop.busy).toBe(true); // its turn may come any second

  // fine.mp3 is sent by the recovery pass at start; cut.mp3 stays queued past its turn.
  again.result('prompts/fine.mp3', uploaded(1002));
  again.advance(15_000);
  await again.drop.tick();
  const lapse = queuedAt + 120_000;
  const recovering = again.of('status').filter((e) => e.kind === 'status' && e.recovering);
  expect(recovering).toEqual([expect.objectContaining({ file: 'cut.mp3', status: 'queued', recovering: expect.objectContaining({ leaseSeconds: 120, afterMs: lapse }) })]);
  expect(passes).toEqual([lapse]);
  const by = Math.ceil(lapse / 300_000) * 300_000;
  const clock = (ms: number) => new Date(ms + 480 * 60000).toISOString().slice(11, 19) + '+08:00';
  expect(describeEvent(recovering[0])).toEqual({
    state: 'queued',
    detail: `being recovered after the interruption: the invocation taking it in (or its call to CCC) was cut off, so it goes on once that invocation's job lease (120 s, IVR_JOB_LEASE_SECONDS) has lapsed, after ${clock(lapse)}, by the recovery pass at ${clock(by)} at the latest; nothing to do`,
  });
  // It waits minutes for a lease: the summary of the files handled meanwhile is not held back.
  expect(again.drop.busy).toBe(false);
  await again.drop.tick();
  expect(again.of('status')).toHaveLength(3); // said once

  // The lease lapses; another invocation finishes its intake and sends it.
  again.advance(120_000);
  again.result('prompts/cut.mp3', uploaded(1003));
  expect(again.of('uploaded')).toEqual([expect.objectContaining({ file: 'fine.mp3' }), expect.objectContaining({ file: 'cut.mp3', fileId: 1003, movedTo: 'done/cut.mp3' })]);
  t.dirs.cleanup();
});

test('a file sent again at restart (its first event was cut off too) that stays queued past its turn is said to be recovering, and does not keep the stack busy', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'cut.mp3'), mp3Silence(5));
  await t.settle();
  // Ctrl-C before the object showed anything: the restart sends it again. Its job was in a call
  // the stop cut off, so the new delivery leaves it `queued` until CCC is asked about that call.
  t.drop.stop();
  t.advance(10_000);
  const again = await dropFolder({ restartOf: t, deps: { leaseMs: 120_000, turnMs: 15_000, nextPassAt: (ms) => Math.ceil(ms / 300_000) * 300_000 } });
  expect(again.of('sent')).toEqual([expect.objectContaining({ file: 'cut.mp3', resumed: true })]);
  again.result('prompts/cut.mp3', { 'ivr-status': 'queued', 'ivr-at': encodeURIComponent(new Date(again.now()).toISOString()) });
  await again.drop.tick();
  expect(again.drop.busy).toBe(true);
  again.advance(15_000);
  await again.drop.tick();
  expect(again.of('status').filter((e) => e.kind === 'status' && e.recovering)).toEqual([expect.objectContaining({ file: 'cut.mp3', status: 'queued' })]);
  expect(again.drop.busy).toBe(false);
  t.dirs.cleanup();
});

test('a file resumed as `retrying` says that, after the restart, a recovery pass retries it', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'lost.mp3'), mp3Silence(5));
  await t.settle();
  // Its call's answer was lost; Ctrl-C then stopped the run that would have asked CCC after 30 s.
  t.result('prompts/lost.mp3', { 'ivr-status': 'retrying', 'ivr-error-code': 'OutcomeUnknown', 'ivr-error-message': encodeURIComponent('no answer from CCC (socket hang up); CCC is asked whether it registered the file before anything is sent again, no sooner than 30 s from now') });
  await t.drop.tick();
  expect(t.of('status').every((e) => e.kind === 'status' && e.retriedBy === undefined)).toBe(true);
  t.drop.stop();
  t.advance(10_000);
  const again = await dropFolder({ restartOf: t, deps: { nextPassAt: (ms) => Math.ceil(ms / 300_000) * 300_000 } });
  const [said] = again.of('status');
  const by = new Date(Math.ceil(again.now() / 300_000) * 300_000 + 480 * 60000).toISOString().slice(11, 19) + '+08:00';
  expect(said).toMatchObject({ file: 'lost.mp3', status: 'retrying', resumed: true, retriedBy: by });
  expect(describeEvent(said).detail).toBe(`OutcomeUnknown: no answer from CCC (socket hang up); CCC is asked whether it registered the file before anything is sent again, no sooner than 30 s from now; retried automatically: after the restart, by a recovery pass once it is due (the next pass at ${by})`);
  t.dirs.cleanup();
});

test('a file this run sent that stays queued is never said to be recovering', async () => {
  const t = await dropFolder({ deps: { leaseMs: 120_000, turnMs: 15_000 } });
  fs.writeFileSync(path.join(t.dirs.drop, 'slow.mp3'), mp3Silence(5));
  await t.settle();
  t.result('prompts/slow.mp3', { 'ivr-status': 'queued' });
  t.advance(60_000);
  await t.drop.tick();
  expect(t.of('status')).toEqual([expect.objectContaining({ status: 'queued' })]);
  expect(t.of('status').every((e) => e.kind === 'status' && !e.recovering)).toBe(true);
  expect(t.drop.busy).toBe(true);
  t.dirs.cleanup();
});

test('a failed file removed from failed/ has its object deleted while it still holds that upload, and its note with it; a fix uploaded under its name stays, with a line saying so; a note removed alone changes nothing', async () => {
  const t = await dropFolder();
  for (const [name, seconds] of [['gone.mp3', 5], ['fixed.mp3', 6], ['noted.mp3', 7], ['later.mp3', 8]] as const) fs.writeFileSync(path.join(t.dirs.drop, name), mp3Silence(seconds));
  await t.settle();
  for (const key of ['gone', 'fixed', 'noted', 'later']) t.result(`prompts/${key}.mp3`, failed('AudioTruncated'));
  await t.drop.tick();
  expect(t.of('failed').map((e) => (e as { movedTo?: string }).movedTo).sort()).toEqual(['failed/fixed.mp3', 'failed/gone.mp3', 'failed/later.mp3', 'failed/noted.mp3']);

  // gone.mp3: removed, with its note. fixed.mp3: a fix dropped under its name, then the failed copy
  // removed. noted.mp3: only its note removed.
  fs.rmSync(path.join(t.drop.failedDir, 'gone.mp3'));
  fs.rmSync(path.join(t.drop.failedDir, 'gone.mp3.error.txt'));
  fs.writeFileSync(path.join(t.dirs.drop, 'fixed.mp3'), mp3Silence(9));
  await t.settle();
  expect(t.of('sent').filter((e) => e.file === 'fixed.mp3')).toHaveLength(2);
  fs.rmSync(path.join(t.drop.failedDir, 'fixed.mp3'));
  fs.rmSync(path.join(t.drop.failedDir, 'noted.mp3.error.txt'));
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/gone.mp3', key: 'prompts/gone.mp3' }]);
  expect(describeEvent(t.of('cleared')[0]).detail).toBe('removed by you: its object prompts/gone.mp3 is deleted from the local bucket, so status and the report no longer list it as needing action (the report still counts it as failed on its day, as since deleted or replaced)');
  // The fix's object stays, and a line says why (before, nothing was said).
  expect(t.of('removed')).toEqual([{ kind: 'removed', file: 'failed/fixed.mp3', key: 'prompts/fixed.mp3', objectStays: 'a file of its name is on its way to it' }]);
  expect(describeEvent(t.of('removed')[0]).detail).toBe('removed by you (the stack removed its note with it); its object prompts/fixed.mp3 stays, as a file of its name is on its way to it');
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/fixed.mp3', 'prompts/later.mp3', 'prompts/noted.mp3']);
  expect(t.bucket.get('prompts/fixed.mp3')!.body).toEqual(mp3Silence(9));
  t.drop.stop();

  // After a restart, a failed file is known from its note: removing it deletes its object too.
  const again = await dropFolder({ restartOf: t });
  fs.rmSync(path.join(t.drop.failedDir, 'later.mp3'));
  await again.drop.tick();
  expect(again.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/later.mp3', key: 'prompts/later.mp3' }]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/fixed.mp3', 'prompts/noted.mp3']);
  // A removed file's note goes with it (it said the file stays as a record), its object cleared or
  // not: this expectation changed. A note left beside nothing once its file was fixed under the same
  // name read to a trial as a failure still standing.
  expect(fs.existsSync(path.join(t.drop.failedDir, 'later.mp3.error.txt'))).toBe(false);
  expect(fs.existsSync(path.join(t.drop.failedDir, 'fixed.mp3.error.txt'))).toBe(false);
  t.dirs.cleanup();
});

/** stall.mp3 dropped twice, with different bytes, failing both times: failed/stall.mp3 and failed/stall (2).mp3 stand for one object. */
async function twoFailedCopies() {
  const t = await dropFolder();
  for (const seconds of [5, 6]) {
    fs.writeFileSync(path.join(t.dirs.drop, 'stall.mp3'), mp3Silence(seconds));
    await t.settle();
    t.result('prompts/stall.mp3', failed('AudioTruncated'));
    await t.drop.tick();
  }
  return t;
}

test('two failed copies of one name removed together after a fix was registered under it: each goes with its note, and neither is said to stand for the other', async () => {
  const t = await twoFailedCopies();
  fs.writeFileSync(path.join(t.dirs.drop, 'stall.mp3'), mp3Silence(9));
  await t.settle();
  t.result('prompts/stall.mp3', uploaded(1010));
  for (const name of ['stall.mp3', 'stall (2).mp3']) fs.rmSync(path.join(t.drop.failedDir, name));
  await t.drop.tick();
  expect(t.of('removed').map((e) => e.kind === 'removed' && [e.file, e.objectStays])).toEqual([
    ['failed/stall.mp3', 'it holds a later upload of that name'],
    ['failed/stall (2).mp3', 'it holds a later upload of that name'],
  ]);
  expect(fs.readdirSync(t.drop.failedDir)).toEqual([]);
  expect(t.bucket.get('prompts/stall.mp3')!.body).toEqual(mp3Silence(9));
  t.dirs.cleanup();
});

test('a stop while clearing removed failed files leaves the ones not handled yet to the next start', async () => {
  let t: Awaited<ReturnType<typeof dropFolder>> | undefined;
  t = await dropFolder({
    deps: {
      remove: async (key) => {
        t!.drop.stop(); // Ctrl-C while the first object is being deleted
        t!.bucket.delete(key);
      },
    },
  });
  for (const name of ['a1.mp3', 'a2.mp3']) fs.writeFileSync(path.join(t.dirs.drop, name), mp3Silence(name === 'a1.mp3' ? 3 : 4));
  await t.settle();
  for (const key of ['a1', 'a2']) t.result(`prompts/${key}.mp3`, failed('AudioTruncated'));
  await t.drop.tick();
  for (const name of ['a1.mp3', 'a2.mp3']) fs.rmSync(path.join(t.drop.failedDir, name));
  await t.drop.tick();
  expect(t.of('cleared').map((e) => e.file)).toEqual(['failed/a1.mp3']);
  expect(t.record.copies.map((c) => c.file)).toEqual(['failed/a2.mp3']);
  const again = await dropFolder({ restartOf: t });
  expect(again.of('cleared').map((e) => e.file)).toEqual(['failed/a2.mp3']);
  expect([...t.bucket.keys()]).toEqual([]);
  t.dirs.cleanup();
});

test('a failed copy removed after a fix was registered under its name says the object holds that fix, even while another failed copy is still there', async () => {
  const t = await twoFailedCopies();
  fs.writeFileSync(path.join(t.dirs.drop, 'stall.mp3'), mp3Silence(9));
  await t.settle();
  t.result('prompts/stall.mp3', uploaded(1011));
  // Both failed copies' notes say it is dealt with now (a trial found six notes saying only "could not be registered").
  for (const note of ['stall.mp3.error.txt', 'stall (2).mp3.error.txt']) {
    const text = fs.readFileSync(path.join(t.drop.failedDir, note), 'utf8');
    expect(text).toMatch(/\nSince: {3}dealt with: this name was dropped again and registered at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+08:00 as FileId 1011 \(now done\/stall\.mp3\)\.\n {9}Delete this file once you no longer need it, and this note goes with it\.\n$/);
    expect(readFailureNote(text, 'local-1250000000')).toEqual({ file: 'stall.mp3', key: 'prompts/stall.mp3' });
  }
  fs.rmSync(path.join(t.drop.failedDir, 'stall.mp3'));
  await t.drop.tick();
  // Not "failed/stall (2).mp3 still stands for it": deleting that one would not delete the object either.
  expect(t.of('removed').map((e) => e.kind === 'removed' && e.objectStays)).toEqual(['it holds a later upload of that name']);
  t.dirs.cleanup();
});

test('a failed copy renamed in the scan that finds another copy of its object removed still keeps that object', async () => {
  const t = await twoFailedCopies();
  fs.renameSync(path.join(t.drop.failedDir, 'stall.mp3'), path.join(t.drop.failedDir, 'keepA.mp3'));
  await t.drop.tick();
  fs.rmSync(path.join(t.drop.failedDir, 'stall (2).mp3'));
  fs.renameSync(path.join(t.drop.failedDir, 'keepA.mp3'), path.join(t.drop.failedDir, 'keepA2.mp3'));
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([]);
  expect(t.of('removed')).toEqual([{ kind: 'removed', file: 'failed/stall (2).mp3', key: 'prompts/stall.mp3', objectStays: 'failed/keepA2.mp3 still stands for it' }]);
  expect([...t.bucket.keys()]).toEqual(['prompts/stall.mp3']);
  t.dirs.cleanup();
});

test('a failed copy renamed within failed/ is told from a file of the same bytes saved there by hand: its note goes with the renamed one', async () => {
  const t = await dropFolder();
  const bytes = mp3Silence(5);
  // As in a trial: the operator saved a recording into failed/ by hand, then dropped the same bytes
  // under another name, which failed, and renamed its failed copy as the message said.
  fs.writeFileSync(path.join(t.drop.failedDir, 'mine.mp3'), bytes);
  await t.drop.tick();
  fs.writeFileSync(path.join(t.dirs.drop, 'rev.mp3'), bytes);
  await t.settle();
  t.result('prompts/rev.mp3', failed('AudioTruncated'));
  await t.drop.tick();
  const told = t.of('skipped').length;
  fs.renameSync(path.join(t.drop.failedDir, 'rev.mp3'), path.join(t.drop.failedDir, 'rev-renamed.mp3'));
  await t.drop.tick();
  await t.drop.tick();
  expect(fs.readdirSync(t.drop.failedDir).sort()).toEqual(['mine.mp3', 'rev-renamed.mp3', 'rev-renamed.mp3.error.txt']);
  // Still the stack's own copy: no line tells the operator it is not taken.
  expect(t.of('skipped').slice(told)).toEqual([]);
  // Removed, it clears its object; the file saved by hand never stood for it.
  fs.rmSync(path.join(t.drop.failedDir, 'rev-renamed.mp3'));
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/rev-renamed.mp3', key: 'prompts/rev.mp3' }]);
  // Renamed to another extension, as FormatMismatch's fix says, but in failed/: said once, with what to do.
  fs.writeFileSync(path.join(t.dirs.drop, 'x1.wav'), mp3Silence(6));
  await t.settle();
  t.result('prompts/x1.wav', failed('FormatMismatch'));
  await t.drop.tick();
  fs.renameSync(path.join(t.drop.failedDir, 'x1.wav'), path.join(t.drop.failedDir, 'x1.mp3'));
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('skipped').slice(told)).toEqual([{ kind: 'skipped', file: 'failed/x1.mp3', why: `renamed in failed/, but nothing in failed/ is sent (it holds the files the stack could not register): copy it into the drop folder itself (${path.basename(t.dirs.drop)}/x1.mp3) to send it` }]);

  // Renamed to its real extension, one CCC does not take: the line points at the note's command.
  fs.writeFileSync(path.join(t.dirs.drop, 'jingle.mp3'), Buffer.alloc(30, 8));
  await t.settle();
  t.result('prompts/jingle.mp3', { 'ivr-status': 'failed', 'ivr-error-code': 'NotAudio', 'ivr-error-message': encodeURIComponent('it looks like MP4/M4A (AAC) audio; convert it, e.g. `ffmpeg -y -i in.m4a out.wav`') });
  await t.drop.tick();
  fs.renameSync(path.join(t.drop.failedDir, 'jingle.mp3'), path.join(t.drop.failedDir, 'jingle.m4a'));
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('skipped').slice(told + 1)).toEqual([{ kind: 'skipped', file: 'failed/jingle.m4a', why: 'renamed in failed/, but .m4a is not a format CCC takes: run the command in its note (failed/jingle.m4a.error.txt), which makes a file CCC takes in the drop folder' }]);

  // The same while the stack is stopped: the list kept for the next start has the copy's inode.
  fs.writeFileSync(path.join(t.dirs.drop, 'rev2.mp3'), bytes);
  await t.settle();
  t.result('prompts/rev2.mp3', failed('AudioTruncated'));
  await t.drop.tick();
  t.drop.stop();
  fs.renameSync(path.join(t.drop.failedDir, 'rev2.mp3'), path.join(t.drop.failedDir, 'zz-renamed.mp3'));
  const again = await dropFolder({ restartOf: t });
  await again.drop.tick();
  expect(fs.readdirSync(t.drop.failedDir).filter((n) => n.startsWith('mine') || n.startsWith('zz'))).toEqual(['mine.mp3', 'zz-renamed.mp3', 'zz-renamed.mp3.error.txt']);
  expect(again.of('skipped').filter((e) => e.kind === 'skipped' && e.file.includes('zz'))).toEqual([]);
  fs.rmSync(path.join(t.drop.failedDir, 'zz-renamed.mp3'));
  await again.drop.tick();
  expect(again.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/zz-renamed.mp3', key: 'prompts/rev2.mp3' }]);
  t.dirs.cleanup();
});

test('a failed file\'s object stays while another copy stands for it or its name is dropped again; a rename in failed/ moves it; the same bytes under a new name are a fix', async () => {
  const t = await dropFolder();
  const bad = mp3Silence(5);
  const long = mp3Silence(8);
  fs.writeFileSync(path.join(t.dirs.drop, 'dup.mp3'), bad);
  fs.writeFileSync(path.join(t.dirs.drop, 'moved.mp3'), mp3Silence(6));
  fs.writeFileSync(path.join(t.dirs.drop, 'renamed.mp3'), mp3Silence(7));
  fs.writeFileSync(path.join(t.dirs.drop, 'a-name-too-long.mp3'), long);
  await t.settle();
  for (const key of ['dup', 'moved', 'renamed', 'a-name-too-long']) t.result(`prompts/${key}.mp3`, failed('AudioTruncated'));
  await t.drop.tick();
  // The same bad bytes dropped again fail again: a second copy, for the same object.
  fs.writeFileSync(path.join(t.dirs.drop, 'dup.mp3'), bad);
  await t.settle();
  t.result('prompts/dup.mp3', failed('AudioTruncated'));
  await t.drop.tick();
  expect(fs.readdirSync(t.drop.failedDir).filter((n) => n.startsWith('dup'))).toEqual(['dup (2).mp3', 'dup (2).mp3.error.txt', 'dup.mp3', 'dup.mp3.error.txt']);

  fs.rmSync(path.join(t.drop.failedDir, 'dup.mp3'));
  fs.renameSync(path.join(t.drop.failedDir, 'renamed.mp3'), path.join(t.drop.failedDir, 'renamed-look-at-later.mp3'));
  fs.renameSync(path.join(t.drop.failedDir, 'moved.mp3'), path.join(t.dirs.drop, 'moved.mp3'));
  // The fix under another name: the same bytes, a shorter name.
  fs.renameSync(path.join(t.drop.failedDir, 'a-name-too-long.mp3'), path.join(t.dirs.drop, 'short.mp3'));
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/a-name-too-long.mp3', key: 'prompts/a-name-too-long.mp3' }]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/dup.mp3', 'prompts/moved.mp3', 'prompts/renamed.mp3']);
  // The renamed copy's note went with it (a trial renamed one, moved it out, and its note stayed
  // behind), and the copy is still the stack's: no line tells the operator to send it.
  expect(fs.readdirSync(t.drop.failedDir).filter((n) => n.startsWith('renamed'))).toEqual(['renamed-look-at-later.mp3', 'renamed-look-at-later.mp3.error.txt']);
  await t.drop.tick();
  expect(t.of('skipped')).toEqual([]);
  // The one moved back is simply sent again, the fix too.
  await t.settle();
  expect(t.of('sent').filter((e) => e.file === 'moved.mp3')).toHaveLength(2);
  expect(t.of('sent').filter((e) => e.file === 'short.mp3')).toHaveLength(1);

  // The last copy of the duplicate goes, and the renamed one: now their objects do.
  fs.rmSync(path.join(t.drop.failedDir, 'dup (2).mp3'));
  fs.rmSync(path.join(t.drop.failedDir, 'renamed-look-at-later.mp3'));
  await t.drop.tick();
  expect(t.of('cleared').slice(1)).toEqual([
    { kind: 'cleared', file: 'failed/dup (2).mp3', key: 'prompts/dup.mp3' },
    { kind: 'cleared', file: 'failed/renamed-look-at-later.mp3', key: 'prompts/renamed.mp3' },
  ]);
  expect(fs.readdirSync(t.drop.failedDir).filter((n) => n.startsWith('renamed'))).toEqual([]);
  t.dirs.cleanup();
});

test('a refused key\'s failed file, and a long name found again at a restart, have their objects deleted when removed from failed/', async () => {
  const t = await dropFolder({ onPut: (drop, key) => key.includes('\t') && drop.refused(key, 'KeyInvalid', refusal(key)) });
  const long = `${'长'.repeat(82)}.mp3`; // 250 bytes: its note's name is shortened
  fs.writeFileSync(path.join(t.dirs.drop, 'tab\there.mp3'), mp3Silence(5));
  fs.writeFileSync(path.join(t.dirs.drop, long), mp3Silence(6));
  await t.settle();
  t.result(`prompts/${long}`, failed('IvrNameInvalid'));
  await t.drop.tick();
  expect(fs.readdirSync(t.drop.failedDir).sort()).toEqual([long, `${'长'.repeat(79)}….mp3.error.txt`, 'tab\there.mp3', 'tab\there.mp3.error.txt'].sort());
  // The refused key has no status on its object; it failed all the same.
  fs.rmSync(path.join(t.drop.failedDir, 'tab\there.mp3'));
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/tab\there.mp3', key: 'prompts/tab\there.mp3', neverCounted: true }]);
  t.drop.stop();

  const again = await dropFolder({ restartOf: t });
  fs.rmSync(path.join(t.drop.failedDir, long));
  await again.drop.tick();
  expect(again.of('cleared')).toEqual([{ kind: 'cleared', file: `failed/${long}`, key: `prompts/${long}` }]);
  expect([...t.bucket.keys()]).toEqual([]);
  t.dirs.cleanup();
});

test('a failed file removed from failed/ while the stack was stopped is cleared at the next start, by the rules of a removal while it runs', async () => {
  const t = await dropFolder();
  const names = ['gone', 'file-only', 'note-only', 'fixed', 'dup', 'renamed', 'kept'];
  names.forEach((n, i) => fs.writeFileSync(path.join(t.dirs.drop, `${n}.mp3`), mp3Silence(5 + i)));
  await t.settle();
  for (const n of names) t.result(`prompts/${n}.mp3`, failed('AudioTruncated'));
  await t.drop.tick();
  // The same bad bytes of dup.mp3 again: a second copy in failed/, for the same object.
  await t.dropFailed('dup.mp3', mp3Silence(9), failed('AudioTruncated'));
  expect(t.of('failed')).toHaveLength(8);
  // The list kept for the next start has every failed file, with its object.
  expect(t.record.copies.map((c) => `${c.file}=${c.key}`).sort()).toEqual(['dup (2)', ...names].map((n) => `failed/${n}.mp3=prompts/${n.replace(' (2)', '')}.mp3`).sort());
  t.drop.stop();

  // While stopped: gone.mp3 removed with its note, file-only.mp3 without it; note-only.mp3 keeps
  // its file; fixed.mp3 removed, and a fix of its name dropped; one copy of dup.mp3 removed;
  // renamed.mp3 renamed within failed/. And a note whose file was never there (copied in by hand).
  const failedDir = t.drop.failedDir;
  fs.rmSync(path.join(failedDir, 'gone.mp3'));
  fs.rmSync(path.join(failedDir, 'gone.mp3.error.txt'));
  fs.rmSync(path.join(failedDir, 'file-only.mp3'));
  fs.rmSync(path.join(failedDir, 'note-only.mp3.error.txt'));
  fs.rmSync(path.join(failedDir, 'fixed.mp3'));
  fs.writeFileSync(path.join(t.dirs.drop, 'fixed.mp3'), mp3Silence(20));
  fs.rmSync(path.join(failedDir, 'dup.mp3'));
  fs.renameSync(path.join(failedDir, 'renamed.mp3'), path.join(failedDir, 'renamed-look-at-later.mp3'));
  t.bucket.set('prompts/ghost.mp3', { body: mp3Silence(3), etag: createHash('md5').update(mp3Silence(3)).digest('hex'), meta: failed('AudioTruncated') });
  fs.writeFileSync(path.join(failedDir, 'ghost.mp3.error.txt'), failureText({ file: 'ghost.mp3', key: 'prompts/ghost.mp3', bucket: 'local-1250000000', code: 'AudioTruncated', atMs: t.now(), offsetMinutes: 480 }));

  const again = await dropFolder({ restartOf: t });
  // At start, before any scan: the two removed outright are cleared, nothing else.
  expect(again.of('cleared')).toEqual([
    { kind: 'cleared', file: 'failed/gone.mp3', key: 'prompts/gone.mp3' },
    { kind: 'cleared', file: 'failed/file-only.mp3', key: 'prompts/file-only.mp3' },
  ]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/dup.mp3', 'prompts/fixed.mp3', 'prompts/ghost.mp3', 'prompts/kept.mp3', 'prompts/note-only.mp3', 'prompts/renamed.mp3']);
  // The list now has what is in failed/, the renamed copy under its new name.
  expect(t.record.copies.map((c) => c.file).sort()).toEqual(['failed/dup (2).mp3', 'failed/kept.mp3', 'failed/note-only.mp3', 'failed/renamed-look-at-later.mp3']);
  // The fix is sent as usual; note-only.mp3, on the list with the same bytes, is still the
  // stack's own failed file, not one said to be saved there by hand.
  await again.settle();
  expect(again.of('sent').map((e) => e.file)).toEqual(['fixed.mp3']);
  // The copy renamed while stopped is still the stack's, its note renamed with it (this said "not
  // taken … copy it into the drop folder itself" of a file known to be bad, until a review).
  expect(again.of('skipped')).toEqual([]);
  expect(fs.readdirSync(failedDir).filter((n) => n.startsWith('renamed'))).toEqual(['renamed-look-at-later.mp3', 'renamed-look-at-later.mp3.error.txt']);

  // Removed while this run goes on, the renamed copy still clears its object, and so do the last
  // copy of dup.mp3 and note-only.mp3; a second restart finds nothing more to clear.
  fs.rmSync(path.join(failedDir, 'renamed-look-at-later.mp3'));
  fs.rmSync(path.join(failedDir, 'dup (2).mp3'));
  fs.rmSync(path.join(failedDir, 'note-only.mp3'));
  await again.drop.tick();
  expect(again.of('cleared').slice(2)).toEqual([
    { kind: 'cleared', file: 'failed/dup (2).mp3', key: 'prompts/dup.mp3' },
    { kind: 'cleared', file: 'failed/note-only.mp3', key: 'prompts/note-only.mp3' },
    { kind: 'cleared', file: 'failed/renamed-look-at-later.mp3', key: 'prompts/renamed.mp3' },
  ]);
  again.drop.stop();
  const third = await dropFolder({ restartOf: t });
  expect(third.of('cleared')).toEqual([]);
  t.dirs.cleanup();
});

/** A stack run that left a.mp3 and b.mp3 failed in failed/ (with the list of them), then stopped. */
async function stoppedWithTwoFailed() {
  const t = await dropFolder();
  for (const n of ['a', 'b']) fs.writeFileSync(path.join(t.dirs.drop, `${n}.mp3`), mp3Silence(n === 'a' ? 5 : 6));
  await t.settle();
  for (const n of ['a', 'b']) t.result(`prompts/${n}.mp3`, failed('AudioTruncated'));
  await t.drop.tick();
  t.drop.stop();
  return t;
}

test('at start nothing is cleared from failed/ when the state folder ran with another drop folder, or failed/ itself is missing', async () => {
  const t = await stoppedWithTwoFailed();

  fs.rmSync(path.join(t.drop.failedDir, 'a.mp3'));
  const other = await dropFolder({ restartOf: t, ownsWaiting: false });
  expect(other.of('cleared')).toEqual([]);
  other.drop.stop();

  // The drop folder's result folders all gone (a share not mounted leaves an empty mount point):
  // that proves nothing.
  const kept = structuredClone(t.record);
  const aside = `${t.dirs.drop}-aside`;
  fs.renameSync(t.dirs.drop, aside);
  fs.mkdirSync(t.dirs.drop);
  const unmounted = await dropFolder({ restartOf: t });
  expect(unmounted.of('cleared')).toEqual([]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/a.mp3', 'prompts/b.mp3']);
  // Its list is kept for a start that can judge failed/ (this run used to rewrite it empty, and
  // a file deleted from failed/ meanwhile then stayed listed as failed for good).
  expect(t.record).toEqual(kept);
  unmounted.drop.stop();
  // Started again, still unmounted: the first start made failed/ in the mount point, but the list
  // is of the share's folder, so nothing is taken as deleted (a review found both objects cleared).
  const again = await dropFolder({ restartOf: t });
  expect(again.of('cleared')).toEqual([]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/a.mp3', 'prompts/b.mp3']);
  expect(t.record).toEqual(kept);
  again.drop.stop();
  // A list of an earlier version names no folder: carried by an unmounted start, it is marked so
  // that no later start judges it (it stays listed as failed, the safe side).
  t.record.copies = kept.copies.map(({ folder: _folder, ...c }) => c);
  fs.rmSync(t.dirs.drop, { recursive: true });
  fs.mkdirSync(t.dirs.drop);
  (await dropFolder({ restartOf: t })).drop.stop();
  expect(t.record.copies.map((c) => c.folder)).toEqual(kept.copies.map(() => 'unjudged'));
  const legacy = await dropFolder({ restartOf: t });
  expect(legacy.of('cleared')).toEqual([]);
  legacy.drop.stop();
  t.record.copies = structuredClone(kept.copies);
  fs.rmSync(t.dirs.drop, { recursive: true });
  fs.renameSync(aside, t.dirs.drop);

  // failed/ itself deleted, done/ still there: its files are gone, and cleared as if each was
  // deleted (a trial deleted failed/ and its failures stayed listed for good).
  fs.rmSync(t.drop.failedDir, { recursive: true });
  const deleted = await dropFolder({ restartOf: t });
  // (a.mp3 left the list when the run with another drop folder rewrote it: only b.mp3 is on it.)
  expect(deleted.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/b.mp3', key: 'prompts/b.mp3' }]);
  expect([...t.bucket.keys()]).toEqual(['prompts/a.mp3']);
  t.dirs.cleanup();
});

test('a drop folder mounted again (another device number, the same folder) still has its failed copies judged at start, by the mark it keeps', async () => {
  const t = await stoppedWithTwoFailed();
  // The same folder under a new inode, as a share or drive mounted again may come back with
  // another device number (a review found every copy then listed as failed for good).
  const copy = `${t.dirs.drop}-copy`;
  fs.cpSync(t.dirs.drop, copy, { recursive: true });
  fs.rmSync(t.dirs.drop, { recursive: true });
  fs.renameSync(copy, t.dirs.drop);
  fs.rmSync(path.join(t.dirs.drop, 'failed', 'b.mp3'));
  const again = await dropFolder({ restartOf: t });
  expect(again.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/b.mp3', key: 'prompts/b.mp3' }]);
  expect([...t.bucket.keys()]).toEqual(['prompts/a.mp3']);
  again.drop.stop();
  // A mark left unusable (empty after a crash, edited) is made anew, whole, before anything is
  // listed under it: never a list with no folder, which any folder would judge (a review's case).
  const markFile = path.join(t.dirs.drop, FOLDER_MARK);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  for (const bad of ['', 'unjudged']) {
    fs.writeFileSync(markFile, bad);
    (await dropFolder({ restartOf: t })).drop.stop();
    const mark = fs.readFileSync(markFile, 'utf8').trim();
    expect(mark).toMatch(uuid);
    expect(t.record.copies.map((c) => c.folder)).toEqual([mark]);
  }
  t.dirs.cleanup();
});

test('a drop folder that drops out while the stack runs (a share unmounted), or a failed/ that is a link to nowhere, clears nothing', async () => {
  const t = await dropFolder();
  await t.dropFailed('memo.mp3', mp3Silence(5), failed('AudioTruncated'));
  fs.writeFileSync(path.join(t.dirs.drop, 'other.mp3'), mp3Silence(6));
  await t.settle();
  // The share goes; its empty mount point stays. A result arriving then makes done/ there again.
  const aside = `${t.dirs.drop}-aside`;
  fs.renameSync(t.dirs.drop, aside);
  fs.mkdirSync(t.dirs.drop);
  t.result('prompts/other.mp3', uploaded(1001));
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/memo.mp3', 'prompts/other.mp3']);
  // Back, with failed/ a link to a volume that is offline: nothing either.
  fs.rmSync(t.dirs.drop, { recursive: true });
  fs.renameSync(aside, t.dirs.drop);
  fs.renameSync(t.drop.failedDir, `${t.dirs.drop}-failed-volume`);
  fs.symlinkSync(path.join(os.tmpdir(), 'ivr-no-such-volume', 'failed'), t.drop.failedDir);
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([]);
  expect([...t.bucket.keys()].sort()).toEqual(['prompts/memo.mp3', 'prompts/other.mp3']);
  fs.rmSync(`${t.dirs.drop}-failed-volume`, { recursive: true });
  t.dirs.cleanup();
});

test('failed/ deleted while the stack runs: its files are cleared as if deleted one by one', async () => {
  const t = await dropFolder();
  await t.dropFailed('memo.mp3', mp3Silence(5), failed('AudioTruncated'));
  fs.rmSync(t.drop.failedDir, { recursive: true });
  await t.drop.tick();
  expect(t.of('cleared')).toEqual([{ kind: 'cleared', file: 'failed/memo.mp3', key: 'prompts/memo.mp3' }]);
  expect([...t.bucket.keys()]).toEqual([]);
  t.dirs.cleanup();
});

test('the state folder keeps the list of failed files for its drop folder and prefix only', () => {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-failed-record-'));
  try {
    const copy: FailedCopy = { file: 'failed/a.mp3', key: 'prompts/a.mp3', md5: 'ab', size: 3 };
    expect(failedCopiesRecord(data, '/x/drop', 'prompts/').read()).toEqual([]);
    failedCopiesRecord(data, '/x/drop', 'prompts/').write([copy]);
    expect(failedCopiesRecord(data, '/x/drop', 'prompts/').read()).toEqual([copy]);
    expect(failedCopiesRecord(data, '/x/drop-quota', 'prompts/').read()).toEqual([]);
    expect(failedCopiesRecord(data, '/x/drop', 'other/').read()).toEqual([]);
    fs.writeFileSync(path.join(data, 'failed-copies.json'), '{"half');
    expect(failedCopiesRecord(data, '/x/drop', 'prompts/').read()).toEqual([]);
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('a file saved into failed/ or done/ by hand is said not to be taken, with what to do; the files the stack put there are not, also after a restart', async () => {
  const t = await dropFolder();
  fs.writeFileSync(path.join(t.dirs.drop, 'hold.mp3'), mp3Silence(5));
  fs.writeFileSync(path.join(t.dirs.drop, 'welcome.mp3'), mp3Silence(6));
  await t.settle();
  t.result('prompts/hold.mp3', failed('AudioTruncated'));
  t.result('prompts/welcome.mp3', uploaded(1001));
  await t.drop.tick();
  expect(t.of('error')).toEqual([]);

  // The operator fixes the failed file where it sits, and saves a copy into done/ too.
  fs.writeFileSync(path.join(t.drop.failedDir, 'hold_fixed.mp3'), mp3Silence(7));
  fs.writeFileSync(path.join(t.drop.doneDir, 'extra.mp3'), mp3Silence(7));
  await t.drop.tick();
  await t.drop.tick();
  expect(t.of('skipped')).toEqual([
    { kind: 'skipped', file: 'done/extra.mp3', why: 'nothing in done/ is sent (it holds the files the stack registered): copy it into the drop folder itself (drop/extra.mp3) to send it' },
    { kind: 'skipped', file: 'failed/hold_fixed.mp3', why: 'nothing in failed/ is sent (it holds the files the stack could not register): copy it into the drop folder itself (drop/hold_fixed.mp3) to send it' },
  ]);
  expect(t.of('sent')).toHaveLength(2);
  t.drop.stop();

  // Restarted: the stack's own failed/hold.mp3 (its note beside it) and done/welcome.mp3 are not
  // flagged; a fix saved into failed/ while it was stopped is (it has no note), also hold_fixed.mp3 again.
  fs.writeFileSync(path.join(t.drop.failedDir, 'hold_v2.mp3'), mp3Silence(8));
  const again = await dropFolder({ restartOf: t });
  await again.drop.tick();
  expect(again.of('skipped').map((e) => e.file).sort()).toEqual(['failed/hold_fixed.mp3', 'failed/hold_v2.mp3']);
  t.dirs.cleanup();
});

test('deferred files only said again at a restart are not counted as handled in the summary; one deferred in this run is', async () => {
  const t = await dropFolder();
  for (const name of ['d1.mp3', 'd2.mp3', 'd3.mp3']) fs.writeFileSync(path.join(t.dirs.drop, name), mp3Silence(5));
  await t.settle();
  for (const name of ['d1.mp3', 'd2.mp3', 'd3.mp3']) t.result(`prompts/${name}`, { 'ivr-status': 'deferred' });
  t.drop.stop();

  const again = await dropFolder({ restartOf: t });
  const burst = new Burst();
  again.events.forEach((e) => burst.count(e));
  expect(again.of('status')).toEqual(['d1.mp3', 'd2.mp3', 'd3.mp3'].map((file) => expect.objectContaining({ file, status: 'deferred', resumed: true })));
  expect(describeEvent(again.of('status')[0]).detail).toBe('still deferred from before the restart: daily quota used up (files sent before it hold every slot of the day); sent automatically on a later quota day');
  expect(burst.settle()).toBeUndefined();

  // Files handled in this run are counted as before.
  const from = again.events.length;
  for (const name of ['n1.mp3', 'n2.mp3']) fs.writeFileSync(path.join(again.dirs.drop, name), mp3Silence(6));
  await again.settle();
  again.result('prompts/n1.mp3', uploaded(1001));
  again.result('prompts/n2.mp3', { 'ivr-status': 'deferred' });
  again.events.slice(from).forEach((e) => burst.count(e));
  expect(again.of('status').slice(3)).toEqual([expect.not.objectContaining({ resumed: true })]);
  expect(burstLine(burst.settle()!)).toBe('2 files handled: 1 uploaded, 0 failed, 1 deferred');
  t.dirs.cleanup();
});

test('a file copied slowly in chunks, each pause shorter than the settle time, is sent once, whole', async () => {
  const t = await dropFolder();
  const whole = mp3Silence(12);
  const chunks = 6;
  const fd = fs.openSync(path.join(t.dirs.drop, 'slow.mp3'), 'w');
  for (let i = 0; i < chunks; i++) {
    fs.writeSync(fd, whole.subarray(Math.floor((i * whole.length) / chunks), Math.floor(((i + 1) * whole.length) / chunks)));
    // A scan sees each chunk; the pause before the next one is shorter than the settle time.
    await t.drop.tick();
    t.advance(SETTLE * 0.6);
    await t.drop.tick();
  }
  fs.closeSync(fd);
  expect(t.of('sent')).toEqual([]);
  await t.settle();
  expect(t.of('sent')).toEqual([expect.objectContaining({ file: 'slow.mp3', size: whole.length })]);
  expect(t.bucket.get('prompts/slow.mp3')!.body.equals(whole)).toBe(true);
  t.dirs.cleanup();
});

test("a failed file's note names a failed copy of the same prompt in another format, whose fix makes the same file", async () => {
  const t = await dropFolder();
  const sox = (ext: string) => ({ 'ivr-status': 'failed', 'ivr-error-code': 'UnsupportedExtension', 'ivr-error-message': encodeURIComponent(`.${ext} is not taken; convert it, e.g. \`sox in.${ext} out.wav\``) });
  fs.writeFileSync(path.join(t.dirs.drop, 'speech.flac'), Buffer.alloc(40, 2));
  await t.settle();
  t.result('prompts/speech.flac', sox('flac'));
  await t.drop.tick();
  fs.writeFileSync(path.join(t.dirs.drop, 'speech.ogg'), Buffer.alloc(40, 3));
  await t.settle();
  t.result('prompts/speech.ogg', sox('ogg'));
  await t.drop.tick();
  const note = (name: string) => fs.readFileSync(path.join(t.drop.failedDir, `${name}.error.txt`), 'utf8');
  expect(note('speech.ogg')).toContain('(failed/speech.flac is this prompt in another format, whose note gives a fix too: run the command of one of them only, or CCC registers the name twice)');
  // And the earlier note names the later copy.
  expect(note('speech.flac')).toMatch(/\nAlso:    failed\/speech\.ogg failed since: this prompt in another format, whose note gives a fix too\. Run the command of one of them only, or CCC registers the name twice\.\n$/);
  expect(readFailureNote(note('speech.flac'), 'local-1250000000')).toEqual({ file: 'speech.flac', key: 'prompts/speech.flac' });
  // One fix registers: both notes say so, and not to run their commands (a trial ran the second
  // after the first had registered, and CCC listed the name twice).
  fs.writeFileSync(path.join(t.dirs.drop, 'speech.wav'), mp3Silence(4));
  await t.settle();
  t.result('prompts/speech.wav', uploaded(1008));
  await t.drop.tick();
  for (const name of ['speech.flac', 'speech.ogg']) expect(note(name)).toContain('\nSince:   prompts/speech.wav, this prompt in another format, was registered at ');
  expect(note('speech.ogg')).toContain('as FileId 1008.\n         If that is this recording fixed, there is nothing left to do: do not run the command above');
  // Dropped again later (other bytes), it fails again: its new note says the namesake is registered.
  fs.writeFileSync(path.join(t.dirs.drop, 'speech.flac'), Buffer.alloc(41, 2));
  await t.settle();
  t.result('prompts/speech.flac', sox('flac'));
  await t.drop.tick();
  expect(note('speech (2).flac')).toContain('(prompts/speech.wav is registered already, FileId 1008: if that is this recording fixed, do not run this: CCC would register the name again)');
  // With the prompt registered, no line says to run one of the other copies' commands, in the new
  // note or the old ones; and a namesake's registration is said once per note (a review found an
  // Also: line under the Since: one, and one block per later version).
  expect(note('speech (2).flac')).not.toContain('is this prompt in another format');
  expect(note('speech.ogg')).not.toContain('Also:');
  fs.writeFileSync(path.join(t.dirs.drop, 'speech.wav'), mp3Silence(5));
  await t.settle();
  t.result('prompts/speech.wav', uploaded(1009));
  await t.drop.tick();
  expect(note('speech.ogg').split('this prompt in another format, was registered at')).toHaveLength(2);
  t.dirs.cleanup();
});
