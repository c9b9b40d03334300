/**
 * Two prompts of ours with the same display name (`a/hello.mp3` and `b/hello.mp3`: CCC's name is
 * the base name) must never be in flight together. After a lost answer a file is settled by asking
 * CCC for its name; if the other file were sent meanwhile, the first would adopt its registration:
 * one shown `uploaded` with another file's FileId, the other registered twice. Each scenario here
 * is an interleaving a review found that let that happen; every one fails without its fix.
 */
import { inCall, jobId, queuedJob, transition, visibleResult, type JobObject, type JobVersion } from '../shared/core/job';
import { IvrError } from '../shared/core/errors';
import { mergeResult } from '../shared/core/metadata';
import { callEntry, genesis, type LogEntry } from '../shared/core/sendlog';
import { quotaDay } from '../shared/core/zone';
import { setLogSink } from '../shared/runtime/log';
import { mp3Silence, wavTone } from './audio';
import { BUCKET, REGISTERED_ONCE, World } from './world';
import { CORRUPT } from '../shared/store/ledger';
import { MemoryCcc } from './memory-ccc';
import { MemoryObjects } from '../shared/store/objects';
import { listedUnder } from '../shared/workflow/resolve';
import type { Ctx } from '../shared/workflow/context';
import type { IvrAudioApi } from '../shared/sdk/ccc';

beforeAll(() => setLogSink(() => undefined));

const A = 'prompts/a/hello.mp3';
const B = 'prompts/b/hello.mp3';

/** Puts `key` and returns its first job version, queued at `queuedAt`, as an intake writes it. */
function jobOf(w: World, key: string, seconds: number, queuedAt: number): JobVersion {
  const o = w.objects.putObject(key, mp3Silence(seconds));
  const object: JobObject = { bucket: BUCKET, key, etag: o.etag, size: o.body.length, customName: 'hello', queuedAt, head: { standard: o.standard, meta: {} } };
  return queuedJob(jobId(BUCKET, key, o.etag), object, queuedAt, 'intake');
}

/** Shows `v` on its object, as a sender does. */
const showOn = (w: World, v: JobVersion) => w.objects.writeMetadata(v.object.key, v.object.etag, v.object.head.standard, mergeResult({}, visibleResult(v)));

/** Runs `during` inside the next UploadIvrAudio call, after CCC processed it and before its answer returns. */
function duringNextUpload(w: World, during: () => Promise<unknown>): void {
  const upload = w.api.upload;
  let pending: (() => Promise<unknown>) | undefined = during;
  w.api = {
    ...w.api,
    upload: async (items) => {
      const r = await upload(items);
      const run = pending;
      pending = undefined;
      if (run) await run();
      return r;
    },
  };
}

test.each([
  ['as written now', false],
  ['as the previous version wrote it, without the call number', true],
])('a file whose answer was lost keeps its call open, and its name reserved, until it is settled; its version %s', async (_, legacy) => {
  const w = new World();
  const t = w.t;
  const day = quotaDay(t, w.config.quotaUtcOffsetMinutes);
  // The ledger as sender S left it (every record is what the code writes, built with its helpers).
  // B was queued first; its call 1 got InternalError and CCC did not hold it: retry, backing off.
  const b0 = jobOf(w, B, 3, t - 130_000);
  const e1 = callEntry(genesis(day), { owner: 'S', now: t - 125_000, quota: { day, used: 0, full: false }, open: [], deferred: 0 }, { notBefore: t - 125_000, notAfter: t - 124_750, day }, [{ id: b0.id, seq: 1, name: 'hello', newSlot: true }], true, w.timing);
  const b1 = transition(b0, 'send', t - 125_000, 'S', { call: 1, checkAfter: t - 94_750, slot: day, newSlot: true });
  const b2 = transition(b1, 'retry', t - 124_700, 'S', { call: 1, notBefore: t - 55_000, lastError: { code: 'InternalError', message: 'db' } });
  // A was queued later and sent in call 2, whose answer was lost: `uncertain`. CCC never got it.
  // S's term then ended before the call's lifetime passed: call 2 stays open in the send log.
  const a0 = jobOf(w, A, 4, t - 100_000);
  const e2 = callEntry(e1, { owner: 'S', now: t - 60_250, quota: e1.quota, open: [], deferred: 0 }, { notBefore: t - 60_250, notAfter: t - 60_000, day }, [{ id: a0.id, seq: 1, name: 'hello', newSlot: true }], false, w.timing);
  const a1 = transition(a0, 'send', t - 60_250, 'S', { call: 2, checkAfter: t - 30_000, slot: day, newSlot: true });
  const a2 = transition(a1, 'lost', t - 60_000, 'S', { checkAfter: t - 30_000, lastError: { code: 'OutcomeUnknown', message: 'no answer from CCC' } });
  expect(a2.call).toBe(2);
  if (legacy) delete a2.call;
  expect(inCall(a2, 2, a1.seq)).toBe(true);
  for (const v of [b0, b1, b2, a0, a1, a2]) await w.ledger.writeVersion(v);
  await w.ledger.enqueue(b0);
  await w.ledger.enqueue(a0);
  await showOn(w, b2);
  await showOn(w, a2);
  for (const e of [e1, e2] as LogEntry[]) await w.store.create(`${w.prefix}send/${e.n}`, JSON.stringify(e));
  await w.store.put(`${w.prefix}send/tail`, JSON.stringify(e2));

  // SCF redelivers B's event. B's next call is answered after CCC registered it, but the answer is
  // lost; meanwhile SCF redelivers A's event on another instance.
  w.ccc.faults.push({ kind: 'lose-after-register' });
  duringNextUpload(w, () => w.deliver(A, 'a-redelivery'));
  await w.deliver(B, 'b-redelivery');
  await w.recover(3);

  expect({ a: w.ending(A), b: w.ending(B) }).toEqual({ a: REGISTERED_ONCE, b: REGISTERED_ONCE });
});

test.each([
  ['CCC registered it, but its FileId record could not be written', 'answer'],
  ['CCC registered it and its FileId was recorded, but its `uploaded` version could not be written', 'answer-move'],
  ['CCC refused the call for the rate limit, and its `unsent` version could not be written', 'rate-limited'],
] as const)('a file whose outcome could not be written keeps its call open, and its name reserved: %s', async (_, variant) => {
  const w = new World();
  // Both dropped together; the one with the smaller job id is sent first (same queuedAt).
  const keys = [A, B].map((key, i) => ({ key, id: jobId(BUCKET, key, w.objects.putObject(key, mp3Silence(3 + i)).etag) })).sort((x, y) => x.id.localeCompare(y.id));
  const first = keys[0].id;
  // One ledger write after the first call fails (COS 503 past the SDK's retries): the first file's
  // FileId record ('answer'), or its next job version (`uploaded`, or `unsent`).
  let failures = 1;
  w.store.hook = (op, key, phase) => {
    const target = variant === 'answer' ? op === 'put' && key.startsWith(`${w.prefix}files/`) : op === 'create' && key === `${w.prefix}jobs/${first}/2`;
    if (target && phase === 'before' && failures > 0) {
      failures--;
      throw new IvrError('StorageError', 'COS answered 503 (injected)', { transient: true });
    }
  };
  // DescribeIvrAudioList answers InternalError for 90 s: lost calls wait for a redelivery or a pass.
  const describeFrom = w.t + 90_000;
  const { upload, describe } = w.api;
  let uploads = 0;
  w.api = {
    // Someone else used the SdkAppId ('rate-limited'); the next call's answer is lost after CCC registered it.
    upload: async (items) => {
      uploads++;
      if (uploads === 1 && variant === 'rate-limited') w.ccc.faults.push({ kind: 'fail', failure: { kind: 'api', code: 'RequestLimitExceeded', message: 'injected' } });
      if (uploads === 2) w.ccc.faults.push({ kind: 'lose-after-register' });
      return upload(items);
    },
    describe: async (q) => (w.t < describeFrom ? { ok: false, failure: { kind: 'api', code: 'InternalError', message: 'injected' } } : describe(q)),
  };

  await w.deliver(keys.map((k) => k.key), 'first');
  // SCF redelivers the event (its invocation failed) about a minute later; then recovery passes.
  w.t += 120_000;
  await w.deliver(keys.map((k) => k.key), 'redelivery');
  await w.recover(3);

  expect({ a: w.ending(A), b: w.ending(B) }).toEqual({ a: REGISTERED_ONCE, b: REGISTERED_ONCE });
});

test('a job the previous version left `calling` reserves its name until CCC was asked about it', async () => {
  const w = new World();
  // DescribeIvrAudioList fails once (a transient CCC error), then works.
  let describeFailures = 1;
  const { describe } = w.api;
  w.api = { ...w.api, describe: async (q) => (describeFailures-- > 0 ? { ok: false, failure: { kind: 'api', code: 'InternalError', message: 'injected' } } : describe(q)) };
  // The previous version's ledger: A was in a call whose outcome it never recorded (CCC holds nothing).
  const a = w.objects.putObject(A, mp3Silence(3));
  const updatedAt = new Date(w.t - 3600_000).toISOString();
  await w.store.put(`${w.prefix}jobs/${jobId(BUCKET, A, a.etag)}.json`, JSON.stringify({ v: 1, state: 'calling', bucket: BUCKET, key: A, etag: a.etag, customName: 'hello', updatedAt, attempts: 0 }));
  // The new version is deployed; B was just dropped and queued; its call's answer will be lost.
  const b0 = jobOf(w, B, 4, w.t - 1000);
  await w.ledger.enqueue(b0);
  await w.ledger.writeVersion(b0);
  w.ccc.faults.push({ kind: 'lose-after-register' });

  await w.recover(4, 300_000);

  expect({ a: w.ending(A), b: w.ending(B) }).toEqual({ a: REGISTERED_ONCE, b: REGISTERED_ONCE });
});

test('an earlier call whose file cannot be settled yet (its check is due later than the call\'s lifetime says: the timeout was lowered between deploys) keeps its name reserved', async () => {
  const w = new World();
  const t = w.t;
  const day = quotaDay(t, w.config.quotaUtcOffsetMinutes);
  // A was sent in call 1 by a sender of the previous deploy, whose longer CCC timeout put A's
  // check 10 minutes after the call; the answer was lost and CCC never got A.
  const a0 = jobOf(w, A, 3, t - 200_000);
  const e1 = callEntry(genesis(day), { owner: 'S', now: t - 150_250, quota: { day, used: 0, full: false }, open: [], deferred: 0 }, { notBefore: t - 150_250, notAfter: t - 150_000, day }, [{ id: a0.id, seq: 1, name: 'hello', newSlot: true }], false, w.timing);
  const a1 = transition(a0, 'send', t - 150_250, 'S', { call: 1, checkAfter: t + 450_000, slot: day, newSlot: true });
  const a2 = transition(a1, 'lost', t - 150_000, 'S', { checkAfter: t + 450_000, lastError: { code: 'OutcomeUnknown', message: 'no answer from CCC' } });
  for (const v of [a0, a1, a2]) await w.ledger.writeVersion(v);
  await w.ledger.enqueue(a0);
  await showOn(w, a2);
  await w.store.create(`${w.prefix}send/${e1.n}`, JSON.stringify(e1));
  await w.store.put(`${w.prefix}send/tail`, JSON.stringify(e1));
  // Each call records whether A was still unsettled when a file of its name went out.
  const { upload } = w.api;
  const overlaps: string[] = [];
  w.api = {
    ...w.api,
    upload: async (items) => {
      const head = await w.ledger.head(a0.id, 0);
      if (items.some((i) => i.CustomFileName === 'hello') && head !== CORRUPT && head?.state === 'uncertain') overlaps.push(items.map((i) => i.CustomFileName).join(','));
      return upload(items);
    },
  };

  // B, of the same display name, is dropped now: its sender finds call 1 past its lifetime.
  const b = w.objects.putObject(B, mp3Silence(4));
  expect(b.etag).toBeDefined();
  await w.deliver(B, 'intake-b');
  await w.recover(4, 300_000);

  expect({ overlaps, a: w.ending(A), b: w.ending(B) }).toEqual({ overlaps: [], a: REGISTERED_ONCE, b: REGISTERED_ONCE });
});

test('a leftover queue entry naming an old `uncertain` version does not make a settled job adopt another registration', async () => {
  const w = new World();
  // As the migration and a recovery pass left it: A was `calling` under the previous version,
  // migrated to `uncertain` (seq 0, with a queue entry naming seq 0); a pass found it in CCC
  // (FileId 900) and adopted it, and was killed before it deleted the queue entry.
  const a = w.objects.putObject(A, mp3Silence(3));
  const at = w.t - 3600_000;
  const a0: JobVersion = { v: 2, id: jobId(BUCKET, A, a.etag), seq: 0, state: 'uncertain', at: new Date(at).toISOString(), by: 'migration', object: { bucket: BUCKET, key: A, etag: a.etag, size: a.body.length, customName: 'hello', queuedAt: at, head: { standard: a.standard, meta: {} } }, attempts: 0, run: 0, checkAfter: 0 };
  w.ccc.files.push({ fileId: 900, customFileName: 'hello', audioFileName: 'f900.mp3', status: 0, key: A, etag: a.etag, at });
  await w.ledger.writeVersion(a0);
  await w.ledger.enqueue(a0);
  await w.store.put(`${w.prefix}migrated/v2`, '{}');
  await w.ledger.recordFile(900, a0.id);
  await w.ledger.writeVersion(transition(a0, 'registered', at + 1000, 'recovery', { upload: { fileId: 900, audioFileName: 'f900.mp3', requestId: 'recovered', review: 'pending' } }));
  // Later B is dropped; its (lone) call's answer is lost; SCF redelivers it; then recovery passes.
  w.objects.putObject(B, mp3Silence(4));
  w.ccc.faults.push({ kind: 'lose-after-register' });
  await w.deliver(B, 'intake-b');
  w.t += 60_000;
  await w.deliver(B, 'intake-b-again');
  await w.recover(3, 300_000);

  const bId = jobId(BUCKET, B, w.objects.objects.get(B)!.etag);
  expect(w.ending(B)).toEqual(REGISTERED_ONCE);
  expect(await w.ledger.fileOwner(w.registrations(B)[0].fileId)).toBe(bId);
  expect(await w.ledger.fileOwner(900)).toBe(a0.id);
});

test('refusals of converted files in one call are matched by the file name CCC downloaded (the copy\'s), each to its own file', async () => {
  const w = new World({ IVR_CONVERT: 'telephony' });
  // CCC names a failure by the URL's file name, and lists them in the other order.
  w.answer = async (items) => ({ ok: true, value: { requestId: 'r', succeeded: [], failed: [...items].reverse().map((i) => ({ fileName: decodeURIComponent(new URL(i.AudioUrl).pathname).split('/').pop()!, message: `refused ${i.CustomFileName}` })) } });
  w.objects.putObject('prompts/first.wav', wavTone(1000, 440, 16000), {}, 'audio/wav');
  w.objects.putObject('prompts/second.wav', wavTone(1000, 660, 16000), {}, 'audio/wav');
  await w.deliver(['prompts/first.wav', 'prompts/second.wav'], 'intake-both');
  expect(w.calls).toHaveLength(1);
  const message = (k: string) => decodeURIComponent(w.objects.objects.get(k)!.meta['ivr-error-message'] ?? '');
  expect([message('prompts/first.wav'), message('prompts/second.wav')]).toEqual(['refused first', 'refused second']);
});

test('CCC is asked about a day\'s names 50 at a time, every page of each answer, up to the pages the caller allows', async () => {
  let now = Date.parse('2026-11-26T04:00:00Z');
  const ccc = new MemoryCcc(new MemoryObjects(), () => now);
  const names = Array.from({ length: 60 }, (_, i) => `n${i}`);
  for (const [i, name] of [...names, ...names].entries()) ccc.files.push({ fileId: 5000 + i, customFileName: name, audioFileName: 'x', status: 0, key: `p/${i}.mp3`, etag: 'e', at: now });
  const asked: Array<{ names: number; page: number }> = [];
  const api: IvrAudioApi = { upload: (items) => ccc.upload(items), describe: (q) => (asked.push({ names: q.customFileNames?.length ?? 0, page: q.pageNumber }), ccc.describe(q)) };
  const ctx = { api, clock: { now: () => now, sleep: async (ms: number) => void (now += ms) } } as unknown as Ctx;
  const all = await listedUnder(ctx, names);
  expect(all.ok && all.value.files.length).toBe(120);
  // The first 50 names hold 100 registrations: two pages; the last 10 hold 20: one.
  expect(asked).toEqual([{ names: 50, page: 0 }, { names: 50, page: 1 }, { names: 10, page: 0 }]);
  const capped = await listedUnder(ctx, names, 1);
  expect(capped.ok && capped.value.files.length).toBe(70);
});
