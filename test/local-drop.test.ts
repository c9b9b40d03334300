/**
 * The drop folder with real files: a slow copy is registered whole, temporary and hidden names are
 * never taken, files are sent in drop order so the quota's deferral falls on the latest drops.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cosClient } from '../scripts/local/client';
import { mp3Silence, PNG_BYTES, wavTone } from './audio';
import { killAll, Proc, stackArgs, tempDirs } from './local-helpers';

afterEach(killAll);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BUCKET = { Bucket: 'local-1250000000', Region: 'ap-guangzhou' };

// A copy written slowly in chunks (pauses shorter than the settle time) is sent once, whole: that
// decision is tested on the drop folder's injected clock in local-dropfolder.test.ts, not here with
// real pauses. Here: the real stack takes a WAV whole, and never temp or hidden names.
test('a dropped WAV is registered whole; temp and hidden names are never taken', async () => {
  const dirs = tempDirs();
  const stack = Proc.stack(stackArgs(dirs));
  const ready = await stack.waitFor((l) => l.type === 'ready', 'ready', 15000);

  const ignored = ['take.mp3.part', '.hidden.mp3', '~$draft.wav', 'export.tmp', 'song.mp3.crdownload', '.prompt.wav.swp', 'prompt.wav.swp'];
  for (const name of ignored) fs.writeFileSync(path.join(dirs.drop, name), mp3Silence(4));
  fs.mkdirSync(path.join(dirs.drop, '.cache'));
  fs.writeFileSync(path.join(dirs.drop, '.cache', 'inside-hidden.mp3'), mp3Silence(4));

  const whole = wavTone(3000); // 48 KB
  fs.writeFileSync(path.join(dirs.drop, 'slow.wav'), whole);
  // A browser finishing a download renames its .part file: from then on it is an ordinary drop.
  fs.renameSync(path.join(dirs.drop, 'take.mp3.part'), path.join(dirs.drop, 'take.mp3'));

  const sent = await stack.fileEvent('slow.wav', 'sent', 10000);
  expect(sent.size).toBe(whole.length);
  await stack.fileEvent('slow.wav', 'uploaded', 10000);
  await stack.fileEvent('take.mp3', 'uploaded', 10000);
  expect(sha(fs.readFileSync(path.join(dirs.drop, 'done', 'slow.wav')))).toBe(sha(whole));
  const cos = cosClient(ready.cosPort as number);
  const obj = await cos.getObject({ ...BUCKET, Key: 'prompts/slow.wav' });
  expect(sha(obj.Body as Buffer)).toBe(sha(whole));
  expect(obj.headers!['x-cos-meta-ivr-status']).toBe('uploaded');
  // The file was taken once, whole: one `sent` line for it, never a second, shorter one.
  expect(stack.lines.filter((l) => l.file === 'slow.wav' && l.state === 'sent')).toHaveLength(1);

  // Several scans have passed the settle time since the ignored files were written.
  const keys = ((await cos.getBucket({ ...BUCKET, Prefix: '' })).Contents ?? []).map((c) => c.Key).filter((k) => !k.startsWith('.ivr-audio-sync/'));
  expect(keys.sort()).toEqual(['prompts/slow.wav', 'prompts/take.mp3']);
  for (const name of ignored.filter((n) => n !== 'take.mp3.part')) expect(fs.existsSync(path.join(dirs.drop, name))).toBe(true);
  expect(fs.existsSync(path.join(dirs.drop, '.cache', 'inside-hidden.mp3'))).toBe(true);
  expect(stack.lines.filter((l) => l.type === 'file').map((l) => l.file)).not.toContain('.hidden.mp3');
  await stack.stop();
  dirs.cleanup();
}, 30000);

test('files are sent oldest first; the file the quota defers waits in waiting/, also across a restart', async () => {
  const dirs = tempDirs();
  const stack = Proc.stack(stackArgs(dirs, ['--quota', '2']));
  await stack.waitFor((l) => l.type === 'ready', 'ready', 15000);

  // Prepared in a hidden folder with their drop times, then moved in at once, as one batch:
  // alphabetical order (alpha, mid, zeta) differs from drop order (zeta, alpha, mid).
  const staging = path.join(dirs.drop, '.staging');
  fs.mkdirSync(staging);
  const t0 = Date.now() / 1000 - 60;
  ['zeta.mp3', 'alpha.mp3', 'mid.mp3'].forEach((name, i) => {
    fs.writeFileSync(path.join(staging, name), mp3Silence(5 + i));
    fs.utimesSync(path.join(staging, name), t0 + i * 10, t0 + i * 10);
  });
  fs.renameSync(staging, path.join(dirs.drop, 'batch'));

  await stack.fileEvent('batch/mid.mp3', 'sent');
  const sentOrder = stack.lines.filter((l) => l.state === 'sent').map((l) => l.file);
  expect(sentOrder).toEqual(['batch/zeta.mp3', 'batch/alpha.mp3', 'batch/mid.mp3']);

  // Which file the quota defers is the core's decision: the files queued last, by the time their
  // intakes queued them. The three uploads above are taken in by concurrent instances within
  // milliseconds, so that order need not be the upload order; the drop folder's part is the order
  // it uploads them in (above). Exactly one waits, whichever it is.
  const deferred = await stack.waitFor((l) => l.type === 'file' && l.state === 'deferred', 'a deferred file', 15000);
  const late = String(deferred.file);
  const others = ['batch/zeta.mp3', 'batch/alpha.mp3', 'batch/mid.mp3'].filter((f) => f !== late);
  for (const f of others) await stack.fileEvent(f, 'uploaded', 15000);
  // Deferred until the next quota day (UTC+08:00 by default), visible in waiting/ meanwhile.
  const tomorrow = new Date(Date.now() + 8 * 3600000 + 86400000).toISOString().slice(0, 10);
  expect(deferred.day).toBe(tomorrow);
  expect(fs.existsSync(path.join(dirs.drop, 'waiting', late))).toBe(true);
  expect(fs.readdirSync(path.join(dirs.drop, 'done', 'batch')).sort()).toEqual(others.map((f) => f.slice('batch/'.length)).sort());

  // A restart keeps it waiting: it is not uploaded a second time, and its state is said again.
  await stack.stop();
  // The three outcomes got their summary, once: when the stack went idle, or else at the stop.
  expect(stack.lines.filter((l) => l.type === 'burst').map((l) => l.handled)).toEqual([3]);
  const again = Proc.stack(stackArgs(dirs, ['--quota', '2']));
  await again.waitFor((l) => l.type === 'ready', 'ready after restart', 15000);
  await again.fileEvent(late, 'deferred');
  expect(fs.existsSync(path.join(dirs.drop, 'waiting', late))).toBe(true);
  expect(again.lines.filter((l) => l.state === 'sent')).toEqual([]);
  await again.stop();
  dirs.cleanup();
}, 40000);

test('files left waiting by the last run are said after the banner and its Ready line, not above it', async () => {
  const dirs = tempDirs();
  // A file in waiting/ at start, as the last run left it (or as put there by hand).
  fs.mkdirSync(path.join(dirs.drop, 'waiting'), { recursive: true });
  fs.writeFileSync(path.join(dirs.drop, 'waiting', 'left.wav'), wavTone(300));
  const stack = Proc.stack(stackArgs(dirs));
  await stack.fileEvent('left.wav', 'uploaded', 15000);
  const ready = stack.lines.findIndex((l) => l.type === 'ready');
  const first = stack.lines.findIndex((l) => l.type === 'file' && l.file === 'left.wav');
  expect(ready).toBeGreaterThanOrEqual(0);
  // Above the banner, the lines of many waiting files pushed where the drop folder is and Ready off the screen.
  expect(first).toBeGreaterThan(ready);
  await stack.stop();
  dirs.cleanup();
}, 30000);

test('a failed file deleted from failed/ while the stack was stopped has its object deleted at the next start', async () => {
  const dirs = tempDirs();
  const stack = Proc.stack(stackArgs(dirs));
  await stack.waitFor((l) => l.type === 'ready', 'ready', 15000);
  fs.writeFileSync(path.join(dirs.drop, 'photo.mp3'), PNG_BYTES);
  fs.writeFileSync(path.join(dirs.drop, 'kept.mp3'), Buffer.concat([PNG_BYTES, Buffer.from('x')]));
  await stack.fileEvent('photo.mp3', 'failed', 15000);
  await stack.fileEvent('kept.mp3', 'failed', 15000);
  await stack.stop();

  // The operator deals with photo.mp3 while the stack is stopped: the file and its note go.
  fs.rmSync(path.join(dirs.drop, 'failed', 'photo.mp3'));
  fs.rmSync(path.join(dirs.drop, 'failed', 'photo.mp3.error.txt'));
  const again = Proc.stack(stackArgs(dirs));
  const ready = await again.waitFor((l) => l.type === 'ready', 'ready after restart', 15000);
  const cleared = await again.fileEvent('failed/photo.mp3', 'cleared', 10000);
  expect(cleared.key).toBe('prompts/photo.mp3');
  const cos = cosClient(ready.cosPort as number);
  const keys = ((await cos.getBucket({ ...BUCKET, Prefix: 'prompts/' })).Contents ?? []).map((c) => c.Key);
  expect(keys).toEqual(['prompts/kept.mp3']);
  expect(again.lines.filter((l) => l.state === 'cleared')).toHaveLength(1);
  await again.stop();
  dirs.cleanup();
}, 40000);
