/**
 * Limits across instances: many concurrent invocations (as SCF runs them) against the fake CCC,
 * which enforces 1 call/s and the daily quota by its own clock and counts every call.
 */
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { mp3Silence } from './audio';
import { BUCKET, startStack, type Stack } from './harness';

const DAY = 24 * 3600 * 1000;
let stack: Stack;
afterEach(() => stack.stop());

/** One handler per invocation: separate SDK clients, like separate SCF instances. */
async function burst(keys: string[], env = stack.env, now?: () => number) {
  const events = keys.map((k, i) => stack.drop(k, mp3Silence(2 + (i % 7), i % 2 === 0)));
  return Promise.all(events.map((e) => createUpload(env, { now })(e)));
}

test('a burst of 60 files: quota never exceeded, no rate-limit error reaches an object, the rest deferred and sent the next day', async () => {
  stack = await startStack();
  const keys = Array.from({ length: 60 }, (_, i) => `prompts/burst/file-${String(i).padStart(2, '0')}.mp3`);
  const summaries = await burst(keys);
  const statuses = summaries.map((s) => s.results[0].status);
  expect(statuses.filter((s) => s === 'uploaded')).toHaveLength(50);
  expect(statuses.filter((s) => s === 'deferred')).toHaveLength(10);
  expect(stack.ccc.files).toHaveLength(50);
  const calls = stack.ccc.uploadCalls();
  // Calls are spaced by the ledger; should the service still refuse one, it is retried, never shown.
  for (const k of keys) expect(stack.meta(k)['ivr-error-code']).not.toBe('RequestLimitExceeded');
  // Batching: 50 files never need 50 calls. (The bench prints the exact figure.)
  expect(calls.length).toBeLessThanOrEqual(10);
  for (const k of keys) expect(['uploaded', 'deferred']).toContain(stack.meta(k)['ivr-status']);
  expect(new Set(stack.ccc.files.map((f) => f.CustomFileName)).size).toBe(50);

  // The quota day rolls over: the timer function sends the deferred files, oldest first.
  stack.ccc.dayShiftMs = DAY;
  const tomorrow = () => Date.now() + DAY;
  const daily = await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, { now: tomorrow })({ Type: 'Timer', Time: new Date().toISOString(), Message: '' });
  expect(daily.report.actions.deferredReleased).toBe(10);
  expect(stack.ccc.files).toHaveLength(60);
  for (const k of keys) expect(stack.meta(k)['ivr-status']).toBe('uploaded');
  expect(new Set(stack.ccc.files.map((f) => f.CustomFileName)).size).toBe(60);
  expect(stack.ccc.filesOn(stack.ccc.quotaDay(Date.now() + DAY))).toHaveLength(10);
  expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/deferred/')).toHaveLength(0);
}, 60000);

test('a small quota is shared by racing instances and never exceeded', async () => {
  stack = await startStack({ dailyQuota: 5 }, { IVR_DAILY_QUOTA: '5' });
  const keys = Array.from({ length: 12 }, (_, i) => `p/q${i}.mp3`);
  await burst(keys);
  expect(stack.ccc.files).toHaveLength(5);
  expect(stack.cos.keys(BUCKET, `.ivr-audio-sync/quota/`)).toHaveLength(5);
  expect(keys.map((k) => stack.meta(k)['ivr-status']).filter((s) => s === 'deferred')).toHaveLength(7);
  expect(stack.ccc.uploadCalls().filter((c) => c.result !== 'ok')).toHaveLength(0);
});

test('CCC saying the quota is spent while our ledger thinks otherwise defers, and stops further calls that day', async () => {
  stack = await startStack();
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'FailedOperation.UploadFileOverflow' });
  await burst(['p/a.mp3']);
  expect(stack.meta('p/a.mp3')['ivr-status']).toBe('deferred');
  await burst(['p/b.mp3']);
  expect(stack.meta('p/b.mp3')['ivr-status']).toBe('deferred');
  expect(stack.ccc.uploadCalls()).toHaveLength(1);
});

test('an invocation killed between the call and the write-back: the redelivery registers nothing twice', async () => {
  stack = await startStack({}, { IVR_WAIT_SECONDS: '2', IVR_JOB_LEASE_SECONDS: '5' });
  const event = stack.drop('p/crash.mp3', mp3Silence());
  // As soon as CCC has answered, every ledger and metadata write fails: as if the instance died there.
  const h = createUpload(stack.env);
  const watcher = setInterval(() => {
    if (stack.ccc.uploadCalls().length > 0) {
      clearInterval(watcher);
      stack.cos.inject({ op: 'PUT', keyPrefix: '.ivr-audio-sync/jobs/', reset: true, times: 1000 });
      stack.cos.inject({ op: 'COPY', reset: true, times: 1000 });
    }
  }, 1);
  await expect(h(event)).rejects.toMatchObject({ code: 'RetryScheduled' });
  clearInterval(watcher);
  stack.cos.clearFaults();
  expect(stack.ccc.files).toHaveLength(1);
  expect(stack.meta('p/crash.mp3')['ivr-status']).toBeUndefined();

  // SCF redelivers after the lease ran out: the job is found `calling`, CCC is asked, nothing is resent.
  await new Promise((r) => setTimeout(r, 5200));
  const again = await createUpload(stack.env)(event);
  expect(again.results[0]).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
  expect(stack.ccc.files).toHaveLength(1);
  expect(stack.ccc.uploadCalls()).toHaveLength(1);
  expect(stack.meta('p/crash.mp3')['ivr-file-id']).toBe(String(stack.ccc.files[0].FileId));
}, 30000);

test('a batch failed as a whole is resent file by file, so one bad file fails alone', async () => {
  stack = await startStack();
  // The next call (a batch) fails as a whole; the solo resends succeed.
  stack.cos.putDirect(BUCKET, 'p/x1.mp3', mp3Silence(2));
  stack.cos.putDirect(BUCKET, 'p/x2.mp3', mp3Silence(3));
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InvalidParameterValue' });
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InvalidParameterValue' });
  const h = createUpload(stack.env);
  const s = await h({ Records: [stack.event('p/x1.mp3'), stack.event('p/x2.mp3')] });
  const statuses = s.results.map((r) => r.status).sort();
  // Both were in one call; after it failed, each went alone: the first solo call fails, the second succeeds.
  expect(statuses).toEqual(['failed', 'uploaded']);
  expect(stack.ccc.uploadCalls().map((c) => c.files)).toEqual([2, 1, 1]);
});
