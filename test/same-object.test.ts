/**
 * One object key over time: overwritten while its old version waits, the same bytes uploaded again
 * with new metadata, a redelivery after a refused status write, an overwrite between the intake's
 * two reads, a re-upload after a setting changed. Each scenario is one a review found breaking a
 * README promise ("exactly once", "nothing is sent for a file that fails its checks", "every other
 * user metadata is kept", "upload it again: that is the retry"); each fails without its fix.
 */
import { createHash } from 'crypto';
import { convertWav } from '../shared/audio/convert';
import { IvrError } from '../shared/core/errors';
import { jobId } from '../shared/core/job';
import { genesis, leaseEntry } from '../shared/core/sendlog';
import { quotaDay } from '../shared/core/zone';
import { setLogSink } from '../shared/runtime/log';
import { CORRUPT } from '../shared/store/ledger';
import { mp3Silence, wav } from './audio';
import { BUCKET, World } from './world';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';

/** Call windows missed (counted from the log), for the slow-COS scenarios. */
const missed = { n: 0 };
beforeAll(() => setLogSink((l) => void (JSON.stringify(l).includes('call window missed') && missed.n++)));

const DAY = 86_400_000;
const MIDNIGHT = Date.parse('2026-11-25T16:00:00Z'); // 00:00 at +08:00, the default quota offset

test('a key overwritten with new content while its old version is deferred: the new content is registered once, not also under the old job', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  // The day's one slot goes to another file.
  await w.upload('filler', 2);
  expect(w.status('filler')).toBe('uploaded');
  // a.mp3 v1 waits for the next quota day.
  await w.upload('a', 3, 'intake-a1');
  expect(w.status('a')).toBe('deferred');
  // The operator overwrites it with a new recording (new ETag); it waits too.
  w.t += 60_000;
  const v2 = w.objects.putObject('prompts/a.mp3', mp3Silence(5));
  await w.deliver('prompts/a.mp3', 'intake-a2');
  expect(w.status('a')).toBe('deferred');
  // Next quota day: the recovery pass releases what waits.
  w.t += DAY;
  await w.recover(3);
  w.t += DAY;
  await w.recover(3);
  const ofA = w.ccc.files.filter((f) => f.key === 'prompts/a.mp3');
  // What CCC downloaded for key a.mp3: each registration's content version.
  expect(ofA.map((f) => f.etag)).toEqual([v2.etag]);
  expect(w.status('a')).toBe('uploaded');
});

test('a key overwritten with a file that fails its checks while the old version is deferred: the bad content is never sent', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  await w.upload('filler', 2);
  await w.upload('a', 3, 'intake-a1');
  expect(w.status('a')).toBe('deferred');
  // Overwritten with a PNG renamed .mp3: it fails its checks at once.
  w.t += 60_000;
  w.objects.putObject('prompts/a.mp3', Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(200, 7)]));
  await w.deliver('prompts/a.mp3', 'intake-a2');
  expect(w.status('a')).toBe('failed');
  w.t += DAY;
  await w.recover(3);
  // "A file that fails is marked failed with the reason; nothing is sent and no quota is spent."
  expect(w.ccc.files.filter((f) => f.key === 'prompts/a.mp3')).toEqual([]);
  expect(w.status('a')).toBe('failed');
});

test('the same content uploaded again with other user metadata and headers: the object keeps the new ones, also after the next status write', async () => {
  const w = new World();
  w.objects.putObject('prompts/b.mp3', mp3Silence(3), { owner: 'alice' }, 'audio/mpeg');
  await w.deliver('prompts/b.mp3', 'intake-b1');
  expect(w.status('b')).toBe('uploaded');
  w.t += 600_000;
  // Identical bytes (same ETag), new metadata and content type: a plain PUT.
  w.objects.putObject('prompts/b.mp3', mp3Silence(3), { owner: 'bob', 'ticket': 'T-42' }, 'audio/mp3');
  const r = (await w.deliver('prompts/b.mp3', 'intake-b2')) as { results: Array<{ code?: string }> };
  expect(r.results[0].code).toBe('Duplicate');
  expect(w.ccc.files).toHaveLength(1);
  const o = w.objects.objects.get('prompts/b.mp3')!;
  expect(o.meta['ivr-status']).toBe('uploaded');
  // "Every other user metadata, content type and cache header on the object is kept as it was."
  expect(o.meta.owner).toBe('bob');
  expect(o.meta.ticket).toBe('T-42');
  expect(o.standard['content-type']).toBe('audio/mp3');
  // CCC approves it; the recovery pass writes the review state, with the new headers.
  w.ccc.files[0].status = 1;
  await w.recover(1);
  expect(o.meta['ivr-review']).toBe('approved');
  expect({ owner: o.meta.owner, ticket: o.meta.ticket, type: o.standard['content-type'] }).toEqual({ owner: 'bob', ticket: 'T-42', type: 'audio/mp3' });
});

test('the same content uploaded again with other user metadata while the first upload is still deferred', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  await w.upload('filler', 2);
  w.objects.putObject('prompts/c.mp3', mp3Silence(3), { owner: 'alice' });
  await w.deliver('prompts/c.mp3', 'intake-c1');
  expect(w.status('c')).toBe('deferred');
  w.objects.putObject('prompts/c.mp3', mp3Silence(3), { owner: 'bob' });
  await w.deliver('prompts/c.mp3', 'intake-c2');
  w.t += DAY;
  await w.recover(3);
  const o = w.objects.objects.get('prompts/c.mp3')!;
  expect(o.meta['ivr-status']).toBe('uploaded');
  expect(o.meta.owner).toBe('bob');
});

test('CCC refuses a file, the write of `failed` onto the object hits a COS 503, SCF delivers the event again: the file is not sent again', async () => {
  const w = new World();
  w.refuseNextCall();
  const write = w.objects.writeMetadata.bind(w.objects);
  let fail503 = true;
  w.objects.writeMetadata = async (key, etag, standard, meta) => {
    if (fail503 && meta['ivr-status'] === 'failed') {
      fail503 = false;
      throw new IvrError('StorageError', `COS COPY ${key} failed: HTTP503`, { transient: true });
    }
    return write(key, etag, standard, meta);
  };
  w.objects.putObject('prompts/e.mp3', mp3Silence(3));
  const first = await w.deliver('prompts/e.mp3', 'intake-e1');
  expect(first).toBeInstanceOf(IvrError); // RetryScheduled: SCF delivers the event again
  expect(w.calls).toHaveLength(1);
  // SCF's redelivery, a minute later, on another instance. Nobody uploaded the file again.
  w.t += 60_000;
  await w.deliver('prompts/e.mp3', 'intake-e1-redelivered');
  expect(w.calls).toHaveLength(1);
  expect(w.status('e')).toBe('failed');
  expect(w.objects.objects.get('prompts/e.mp3')!.meta['ivr-error-code']).toBe('UploadRejected');
  // "failed: fix the file (or the cause) and upload it again: that is the retry" — a redelivery is not one.
  expect(w.calls).toHaveLength(1);
});

test('a big WAV overwritten between the intake\'s first read and its whole read: the old version\'s job does not register the new content', async () => {
  const w = new World();
  const key = 'prompts/big.wav';
  const v1 = wav({ rate: 44100, channels: 2, seconds: 31, signal: (t) => 0.3 * Math.sin(2 * Math.PI * 440 * t) });
  const v2 = wav({ rate: 44100, channels: 2, seconds: 31, signal: (t) => 0.3 * Math.sin(2 * Math.PI * 660 * t) });
  expect(v1.length).toBeGreaterThan(5 * 1024 * 1024);
  const read = w.objects.read.bind(w.objects);
  let swapped = false;
  w.objects.read = async (k, maxBytes) => {
    // The operator's new upload lands between the first (5 MB + 1) read and the whole-file read.
    if (k === key && !swapped && maxBytes >= v1.length) {
      swapped = true;
      w.objects.putObject(key, v2, {}, 'audio/wav');
    }
    return read(k, maxBytes);
  };
  w.objects.putObject(key, v1, {}, 'audio/wav');
  await w.deliver(key, 'intake-v1');
  expect(swapped).toBe(true);
  // The new version's own event.
  await w.deliver(key, 'intake-v2');
  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
  const v2Converted = md5((convertWav(v2) as { ok: true; converted: { bytes: Buffer } }).converted.bytes);
  // CCC got v2's audio once (for v2's own job), not also for v1's job.
  expect(w.ccc.files.filter((f) => f.etag === v2Converted)).toHaveLength(1);
});

test('a WAV refused as too large with IVR_CONVERT=off, conversion turned on as the message says, the same file uploaded again: CCC gets the converted copy', async () => {
  const w = new World({ IVR_CONVERT: 'off' });
  const key = 'prompts/studio.wav';
  const big = wav({ rate: 44100, channels: 2, seconds: 31, signal: (t) => 0.3 * Math.sin(2 * Math.PI * 440 * t) });
  w.objects.putObject(key, big, {}, 'audio/wav');
  await w.deliver(key, 'intake-1');
  const meta = w.objects.objects.get(key)!.meta;
  expect(meta['ivr-status']).toBe('failed');
  expect(meta['ivr-error-code']).toBe('FileTooLarge');
  expect(decodeURIComponent(meta['ivr-error-message'])).toMatch(/turn conversion on \(IVR_CONVERT\)/);
  // The operator turns conversion on (a new deployment: new instances) and uploads the same file again.
  (w.config as { convert: string }).convert = 'auto';
  w.t += 600_000;
  w.objects.putObject(key, big, {}, 'audio/wav');
  await w.deliver(key, 'intake-2');
  expect(w.calls).toHaveLength(1);
  // What CCC was given to download: the 8 kHz copy, not the 10 MB original.
  expect(w.ccc.files).toHaveLength(1);
  expect(w.ccc.files[0].key).toMatch(/converted\//);
  expect(decodeURIComponent(w.objects.objects.get(key)!.meta['ivr-converted'])).toBe('44100Hz/2ch/16bit → 8000Hz/1ch/16bit');
});

test('a replaced version does not take the day\'s last slot from the next-oldest waiting file', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  await w.upload('filler', 2);
  expect(w.status('filler')).toBe('uploaded');
  await w.upload('a', 3, 'intake-a1');
  w.t += 30_000;
  await w.upload('b', 4);
  expect([w.status('a'), w.status('b')]).toEqual(['deferred', 'deferred']);
  // a.mp3 is overwritten with new content; its new version waits too.
  w.t += 30_000;
  await w.upload('a', 5, 'intake-a2');
  expect(w.status('a')).toBe('deferred');
  // Next quota day, one slot. Of the files that can be sent (b, a v2), b is the oldest:
  // README "files over the quota wait (deferred) and go out automatically, oldest first, on the
  // next quota day".
  w.t += DAY;
  await w.recover(3);
  const day2 = w.ccc.files.filter((f) => f.at > w.t - DAY / 2).map((f) => f.customFileName);
  const bMsg = decodeURIComponent(w.objects.objects.get('prompts/b.mp3')!.meta['ivr-error-message'] ?? '');
  expect({ day2, b: w.status('b'), bMsg }).toEqual({ day2: ['b'], b: 'uploaded', bMsg: '' });
  expect(w.status('b')).toBe('uploaded');
  expect(w.status('a')).toBe('deferred');
});

test('a deferred file deleted before the next quota day does not cost the file after it a day', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  await w.upload('filler', 2);
  await w.upload('a', 3);
  w.t += 30_000;
  await w.upload('b', 4);
  expect([w.status('a'), w.status('b')]).toEqual(['deferred', 'deferred']);
  // The operator deletes a.mp3 (it is no longer wanted).
  w.objects.objects.delete('prompts/a.mp3');
  w.t += DAY;
  await w.recover(3);
  // The new quota day has one slot and one file to send.
  expect(w.ccc.files.filter((f) => f.at > w.t - DAY / 2).map((f) => f.customFileName)).toEqual(['b']);
  expect(w.status('b')).toBe('uploaded');
});

/**
 * Two files deferred behind a full day (quota 2), then `a.mp3` overwritten; COS refuses the ledger
 * write that records a's old version as replaced (`failing` decides each time, HTTP 503 after the
 * SDK's retries). Returns the counts of refusals and HEADs, and when b was sent.
 */
async function replacedWriteRefused(failing: (refusals: number, w: World) => boolean) {
  const w = new World({ IVR_DAILY_QUOTA: '2' });
  for (const [name, seconds] of [['f1', 2], ['f2', 2], ['a', 3], ['b', 4]] as const) {
    w.objects.putObject(`prompts/${name}.mp3`, mp3Silence(seconds));
    await w.deliver(`prompts/${name}.mp3`, `intake-${name}`);
  }
  expect([w.status('a'), w.status('b')]).toEqual(['deferred', 'deferred']);
  w.objects.putObject('prompts/a.mp3', mp3Silence(6));
  const counts = { refusals: 0, heads: 0, bSentAt: undefined as number | undefined };
  const create = w.store.create.bind(w.store);
  w.store.create = async (key, body) => {
    if (body.includes('"ObjectChanged"') && failing(counts.refusals, w)) {
      counts.refusals++;
      throw new IvrError('StorageError', `COS PUT ${key} failed: HTTP503`, { transient: true });
    }
    return create(key, body);
  };
  const stat = w.objects.stat.bind(w.objects);
  w.objects.stat = async (k) => (counts.heads++, stat(k));
  const upload = w.api.upload;
  w.api.upload = async (items) => {
    if (counts.bSentAt === undefined && items.some((i) => i.CustomFileName === 'b')) counts.bSentAt = w.t;
    return upload(items);
  };
  w.t += DAY;
  const passAt = w.t + 400_000;
  await w.recover(1);
  return { w, counts, passAt };
}

test('COS refusing the write that records a replaced file: no loop of listings and HEADs, and the other file of the batch goes out', async () => {
  const { counts, passAt } = await replacedWriteRefused((n) => n < 300);
  // Looked at again a gap later, not at once: a few HEADs and write attempts in the pass, not hundreds.
  expect({ heads: counts.heads < 10, refusals: counts.refusals < 10 }).toEqual({ heads: true, refusals: true });
  expect(counts.bSentAt! - passAt).toBeLessThan(5_000);
});

test('COS refusing that write for good: the pass does not spin on it, and the other file of the batch goes out', async () => {
  const { w, counts } = await replacedWriteRefused((_, world) => {
    world.t += 50; // each refusal takes a while
    return true;
  });
  expect({ refusals: counts.refusals > 100, b: w.status('b') }).toEqual({ refusals: false, b: 'uploaded' });
});

test('CCC refuses a file within its upload\'s second on a warm idle instance that dies before the `failed` write lands: the redelivery does not send it again', async () => {
  const w = new World();
  const warm = w.ctx('warm-instance');
  const deliverWarm = (key: string) =>
    handleCosEvent(cosEvent(cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: w.objects.objects.get(key)!.body.length })), () => warm, warm.log).catch((e: unknown) => e);
  // The instance is warm and has seen the system idle.
  w.objects.putObject('prompts/first.mp3', mp3Silence(2));
  await deliverWarm('prompts/first.mp3');
  expect(w.status('first')).toBe('uploaded');
  w.t += 30_000;
  // CCC refuses e.mp3 (its answer 300 ms after the upload); the instance is killed as it writes `failed` onto the object.
  w.answer = async (items) =>
    items[0].CustomFileName === 'e' ? { ok: true, value: { requestId: 'req-refused', succeeded: [], failed: [{ fileName: 'e', message: 'audio format not supported' }] } } : undefined;
  w.callMs = 300;
  const write = w.objects.writeMetadata.bind(w.objects);
  const writes: string[] = [];
  let kill = true;
  w.objects.writeMetadata = async (key, etag, standard, meta) => {
    if (key === 'prompts/e.mp3') writes.push(meta['ivr-status']);
    if (kill && key === 'prompts/e.mp3' && meta['ivr-status'] === 'failed') {
      kill = false;
      throw new Error('instance killed (timeout)');
    }
    return write(key, etag, standard, meta);
  };
  w.t += 100;
  w.objects.putObject('prompts/e.mp3', mp3Silence(3));
  const first = await deliverWarm('prompts/e.mp3');
  expect(first).toBeInstanceOf(Error); // SCF will deliver the event again
  expect(writes).toEqual(['failed']); // the idle path showed no `queued`; the one write did not land
  const eCalls = () => w.calls.filter((c) => c.names.includes('e')).length;
  expect(eCalls()).toBe(1);
  // SCF's redelivery a minute later on another instance. Nobody uploaded e.mp3 again.
  w.t += 60_000;
  await w.deliver('prompts/e.mp3', 'intake-e-redelivered');
  expect(eCalls()).toBe(1);
  expect(w.status('e')).toBe('failed');
});

/** Runs `during` (another invocation) once, just before the first job version whose body matches is written. Returns whether it ran. */
function beforeJobWrite(w: World, matches: (body: string) => boolean, during: () => Promise<unknown>): () => boolean {
  const create = w.store.create.bind(w.store);
  let ran = false;
  w.store.create = async (k, body) => {
    if (!ran && /\/jobs\//.test(k) && matches(body)) {
      ran = true;
      await during();
    }
    return create(k, body);
  };
  return () => ran;
}

test('new headers recorded by an upload of the same bytes, racing a review refresh: CCC\'s verdict is not lost', async () => {
  const w = new World();
  const key = 'prompts/b.mp3';
  w.objects.putObject(key, mp3Silence(3), { owner: 'alice' });
  await w.deliver(key, 'intake-b1');
  expect(w.status('b')).toBe('uploaded');
  // CCC approves the file.
  w.ccc.files[0].status = 1;
  // While the recovery pass records the approval (between its read of the job and its write of
  // the next version), the operator uploads the same bytes again with new metadata; its event runs.
  const raced = beforeJobWrite(w, (body) => body.includes('"approved"'), async () => {
    w.objects.putObject(key, mp3Silence(3), { owner: 'bob' });
    await w.deliver(key, 'intake-b2');
  });
  await w.recover(1);
  expect(raced()).toBe(true);
  // The FileId is marked reviewed now: later passes do not ask CCC again, so it must be on record.
  await w.recover(3);
  const etag = w.objects.objects.get(key)!.etag;
  const head = await w.ledger.head(jobId(BUCKET, key, etag), 0);
  if (!head || head === CORRUPT) throw new Error('no job');
  expect({ job: head.upload?.review, object: w.objects.objects.get(key)!.meta['ivr-review'] }).toEqual({ job: 'approved', object: 'approved' });
});

test('a review refresh landing between the intake\'s read of an uploaded job and its write of the new headers: both are kept', async () => {
  const w = new World();
  const key = 'prompts/b.mp3';
  w.objects.putObject(key, mp3Silence(3), { owner: 'alice' }, 'audio/mpeg');
  await w.deliver(key, 'intake-b1');
  expect(w.status('b')).toBe('uploaded');
  w.ccc.files[0].status = 1;
  // The operator uploads the same bytes again with new metadata; just before its intake writes the
  // job's 'review' version with them, the recovery pass records CCC's approval.
  const raced = beforeJobWrite(w, (body) => body.includes('"bob"') && body.includes('"uploaded"'), () => w.recover(1));
  w.t += 60_000;
  w.objects.putObject(key, mp3Silence(3), { owner: 'bob' }, 'audio/mp3');
  await w.deliver(key, 'intake-b2');
  expect(raced()).toBe(true);
  const o = w.objects.objects.get(key)!;
  expect({ review: o.meta['ivr-review'], owner: o.meta.owner, type: o.standard['content-type'] }).toEqual({ review: 'approved', owner: 'bob', type: 'audio/mp3' });
});

/** Every ledger and object request of `w` takes `ms` on its clock (concurrent mode). Counts HEADs, and notes when the queue was listed. */
function slowCos(w: World, ms: number): { heads: number; queueListings: number[] } {
  const counter = { heads: 0, queueListings: [] as number[] };
  const store = w.store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['get', 'create', 'put', 'delete', 'deleteMany', 'list']) {
    const f = store[m].bind(w.store);
    store[m] = async (...a: unknown[]) => {
      if (m === 'list' && String(a[0]).includes('queue/')) counter.queueListings.push(w.t);
      await w.sleep(ms);
      return f(...a);
    };
  }
  const objects = w.objects as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['read', 'stat', 'writeMetadata']) {
    const f = objects[m].bind(w.objects);
    objects[m] = async (...a: unknown[]) => (m === 'stat' && counter.heads++, await w.sleep(ms), f(...a));
  }
  return counter;
}

test.each([50, 60, 80, 150])('with COS at %i ms a request, a day-old backlog of 20 deferred files goes out in one pass, each object checked once per call attempt', async (ms) => {
  const w = new World({ IVR_DAILY_QUOTA: '1' }, true);
  void w.drop('filler', 2);
  await w.settle();
  for (let i = 0; i < 20; i++) {
    w.t += 1000;
    void w.drop(`f${i}`);
    await w.settle();
  }
  expect(w.status('f0')).toBe('deferred');
  (w.config as { dailyQuota: number }).dailyQuota = 50;
  const counter = slowCos(w, ms);
  missed.n = 0;
  w.t += DAY;
  await w.recover(1);
  // Each object once per call attempt: a missed window is a new attempt, which checks again (the
  // key may have been overwritten meanwhile); never once per listing. Its write-backs (queued
  // again after a miss, uploaded at the end) resend what that HEAD read, without another.
  expect({ sent: w.ccc.files.filter((f) => f.at > w.t - DAY / 2).length, heads: counter.heads }).toEqual({ sent: 20, heads: 20 * (1 + missed.n) });
});

/** The first `sending` version written after `from` stalls `ms` (a COS 503 the SDK retried); `during` runs first. */
function stallOnce(w: World, from: number, ms: number, during?: () => Promise<unknown>): () => boolean {
  let stalled = false;
  const create = w.store.create.bind(w.store);
  w.store.create = async (k, body) => {
    if (!stalled && w.t > from && /\/jobs\//.test(k) && body.includes('"sending"')) {
      stalled = true;
      if (during) await during();
      await w.sleep(ms);
    }
    return create(k, body);
  };
  return () => stalled;
}

test('a deferred file checked, its call window missed, the key overwritten before the next attempt: the new content is registered once', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  await w.upload('filler', 2);
  await w.upload('a', 3, 'intake-a1');
  expect(w.status('a')).toBe('deferred');
  w.t += DAY;
  // The next day's recovery pass HEADs a (still v1), appends its call and writes a's `sending`
  // version; COS stalls 3 s on that write, so the window is missed. Meanwhile the operator
  // overwrites a.mp3 with a new recording, whose event runs.
  const stalled = stallOnce(w, 0, 3000, async () => {
    w.objects.putObject('prompts/a.mp3', mp3Silence(5));
    await w.deliver('prompts/a.mp3', 'intake-a2');
  });
  await w.recover(3);
  expect(stalled()).toBe(true);
  w.t += DAY;
  await w.recover(3);
  const v2 = w.objects.objects.get('prompts/a.mp3')!.etag;
  // CCC downloads the key: every registration of a.mp3 is of v2's content. It must be one.
  expect(w.ccc.files.filter((f) => f.key === 'prompts/a.mp3').map((f) => f.etag)).toEqual([v2]);
});

test('after a missed window, the room a sender leaves before its calls does not make it list the queue back to back before midnight', async () => {
  const w = new World({ IVR_MAX_BATCH: '1' }, true);
  const lists = slowCos(w, 100).queueListings;
  stallOnce(w, MIDNIGHT - 20_000, 3000);
  w.t = MIDNIGHT - 30_000;
  for (let i = 0; i < 30; i++) void w.drop(`f${i}`);
  await w.settle();
  // About two listings per call, one call per 1.35 s gap at most.
  expect(lists.filter((t) => t >= MIDNIGHT - 3000 && t < MIDNIGHT).length).toBeLessThanOrEqual(8);
});

test('one 12 s COS stall does not slow the rest of the term, nor push a call past the term', async () => {
  const w = new World({ IVR_MAX_BATCH: '1' }, true);
  const t0 = w.t;
  stallOnce(w, t0 + 5000, 12_000);
  for (let i = 0; i < 60; i++) void w.drop(`f${i}`);
  await w.settle();
  const starts = w.calls.map((c) => c.at - t0);
  // IVR_WAIT_SECONDS (60 s): the senders started at t0 keep calling a gap apart until then.

  expect({ calls: starts.length >= 30, lastCallWithinTerm: Math.max(...starts) <= 60_000 + w.timing.callGapMs }).toEqual({ calls: true, lastCallWithinTerm: true });
});

test('two deliveries of one upload taken in within the same millisecond: the one that loses the job keeps the queue entry they share', async () => {
  const w = new World();
  const key = 'prompts/dup.mp3';
  // The first delivery has queued the file (entry, then job) and left it to an accepting holder
  // (another instance, whose lease then runs out without it ever listing: it died).
  const first = await w.queuedByVanishedIntake('dup', 3, 'intake-first');
  const tail = genesis(quotaDay(w.t, w.config.quotaUtcOffsetMinutes));
  const holder = leaseEntry(tail, { owner: 'holder', now: w.t, quota: tail.quota, open: [], deferred: 0 }, w.t + 5000, w.timing);
  await w.store.create(`${w.prefix}send/${holder.n}`, JSON.stringify(holder));
  await w.store.put(`${w.prefix}send/tail`, JSON.stringify(holder));
  // The duplicate, in the same millisecond: its queue entry has the same name as the first's.
  await w.deliver(key, 'intake-duplicate');
  expect(w.status('dup')).toBe('queued');
  expect([...w.store.objects.keys()].filter((k) => k.includes('/queue/'))).toEqual([w.ledger.queueKey(first)]);
  // The holder never sends it; the recovery pass finds the entry and does.
  await w.recover(2);
  expect(w.status('dup')).toBe('uploaded');
  expect(w.registrations(key)).toHaveLength(1);
});

test('a retried file taken up from its queue entry by another sender, its key overwritten meanwhile: the check that finds it replaced keeps it out of the call', async () => {
  // A retry's backoff (30 to 60 s) longer than a sender's term, so that another sender takes the file up later.
  const w = new World({ IVR_RETRY_BASE_MS: '60000', IVR_WAIT_SECONDS: '5' });
  // x.mp3's call is refused for the role's token (not processed): x is queued again as a retry
  // after a backoff. Its chain moves on (sending, then queued); its queue entry still names version 0.
  w.answer = async () => (w.calls.length === 1 ? { ok: false, failure: { kind: 'api', code: 'AuthFailure.TokenFailure', message: 'token expired' } } : undefined);
  const v1 = w.objects.putObject('prompts/x.mp3', mp3Silence(3));
  await w.deliver('prompts/x.mp3', 'intake-x1');
  expect(w.status('x')).toBe('retrying');
  // Seeing 'retrying', the operator uploads a new recording over it (new ETag): its own job registers it.
  w.t += 300_000;
  const v2 = w.objects.putObject('prompts/x.mp3', mp3Silence(5));
  await w.deliver('prompts/x.mp3', 'intake-x2');
  expect(w.status('x')).toBe('uploaded');
  // Half a second later another file arrives: too soon after that call to go out alone, so its
  // intake takes the lease as a sender that lists the queue, and takes x's old version up from its
  // entry, which names version 0. Its check finds the key overwritten, and the write recording it
  // as replaced collides with the versions written since.
  w.t += 500;
  await w.upload('z', 2);
  expect(w.status('z')).toBe('uploaded');
  // README: "a replaced one is not sent". What CCC downloaded for key x.mp3: v2 once, for v2's own job.
  expect(w.ccc.files.filter((f) => f.key === 'prompts/x.mp3').map((f) => f.etag)).toEqual([v2.etag]);
  const old = await w.ledger.head(jobId(BUCKET, 'prompts/x.mp3', v1.etag), 0);
  expect(old !== undefined && old !== CORRUPT && [old.state, old.lastError?.code]).toEqual(['failed', 'ObjectChanged']);
});
