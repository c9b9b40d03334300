/**
 * Findings of an adversarial review of the event path: a failed file uploaded again (the retry
 * README promises), each a test that failed before its fix.
 */
import { createHandler } from '../functions/ivr-upload/handler';
import type { UploadSummary } from '../shared/workflow/upload';
import { mp3Silence } from './audio';
import { startStack, type Stack } from './harness';
import { IvrError } from '../shared/core/errors';
import { jobId, queuedJob, transition } from '../shared/core/job';
import { show } from '../shared/workflow/jobs';
import { BUCKET, REGISTERED_ONCE, World } from './world';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(() => stack.stop());

const run = (event: unknown) => createHandler(stack.env, stack.seams)(event, { request_id: 'scf-req-1' }) as Promise<UploadSummary>;

test('a failed file uploaded again with a new problem of its own shows that problem, not the old failure it no longer has', async () => {
  // CCC refuses the first upload: the role lacks the permission.
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'AuthFailure.UnauthorizedOperation' });
  const body = mp3Silence();
  await run(stack.drop('prompts/menu.mp3', body));
  expect(stack.meta('prompts/menu.mp3')['ivr-error-code']).toBe('AuthFailure.UnauthorizedOperation');
  // The operator fixes the role and uploads the same recording again, now naming it in the header,
  // but mistyped (not valid URL encoding): the name check refuses it before any call.
  stack.clock.advance(60_000);
  const event = stack.drop('prompts/menu.mp3', body, { 'ivr-name': '%ZZMain' });
  const r = await run(event);
  expect(stack.ccc.files).toHaveLength(0);
  // What the object, the result say: the name is the problem now, not the role.
  expect(r.results[0]).toMatchObject({ status: 'failed', code: 'IvrNameInvalid' });
  expect(stack.meta('prompts/menu.mp3')['ivr-error-code']).toBe('IvrNameInvalid');
  expect(stack.logs.some((l) => l.includes('"msg":"file failed its checks"') && l.includes('"key":"prompts/menu.mp3"') && l.includes('IvrNameInvalid'))).toBe(true);
  // SCF delivering that upload's event again changes nothing.
  const again = await run(event);
  expect(again.results[0]).toMatchObject({ status: 'failed', code: 'IvrNameInvalid' });
  // Fixed and uploaded again: the retry it always was, registered once.
  stack.clock.advance(60_000);
  await run(stack.drop('prompts/menu.mp3', body, { 'ivr-name': encodeURIComponent('Main menu') }));
  expect(stack.ccc.files.map((f) => f.CustomFileName)).toEqual(['Main menu']);
  expect(stack.meta('prompts/menu.mp3')['ivr-status']).toBe('uploaded');
});

test('an upload again of a failed file, its rerun version refused by a COS 503 after the object showed `queued`: SCF\'s redelivery still retries it, not taken for a redelivery of the first upload', async () => {
  const w = new World();
  w.refuseNextCall();
  w.objects.putObject('prompts/r.mp3', mp3Silence(3));
  await w.deliver('prompts/r.mp3', 'intake-r1');
  expect(w.status('r')).toBe('failed');
  expect(w.calls).toHaveLength(1);
  // The operator uploads the same recording again (the retry README promises); the intake shows
  // `queued` for the rerun, then COS answers 503 to the create of its version (past the SDK's retries).
  w.t += 60_000;
  w.objects.putObject('prompts/r.mp3', mp3Silence(3));
  const id = jobId(BUCKET, 'prompts/r.mp3', w.objects.objects.get('prompts/r.mp3')!.etag);
  let fail = true;
  w.store.hook = (op, key, phase) => {
    if (fail && op === 'create' && phase === 'before' && key.includes(`jobs/${id}/`)) {
      fail = false;
      throw new IvrError('StorageError', `COS PUT ${key} failed: HTTP503`, { transient: true });
    }
  };
  expect(await w.deliver('prompts/r.mp3', 'intake-r2')).toBeInstanceOf(IvrError);
  expect(w.status('r')).toBe('queued');
  // SCF delivers that event again a minute later: it is the operator's retry, and stays one.
  w.t += 60_000;
  const again = (await w.deliver('prompts/r.mp3', 'intake-r2-redelivered')) as UploadSummary;
  expect(again.results[0].status).not.toBe('failed');
  expect(w.ending('prompts/r.mp3')).toEqual(REGISTERED_ONCE);
});

test('SCF delivering an upload again whose `failed` result a sender with a clock a little behind wrote (within IVR_CLOCK_SKEW_MS), while the object still shows the intake\'s `queued`: a redelivery, not a second call', async () => {
  const w = new World();
  const key = 'prompts/s.mp3';
  const o = w.objects.putObject(key, mp3Silence(3));
  const id = jobId(BUCKET, key, o.etag);
  // The intake (its clock 200 ms ahead of the sender's) queued the file and showed `queued`; the
  // sender made the call, CCC refused the file, and the sender recorded `failed` 100 ms (by its
  // own clock) after the time the intake wrote. Its write onto the object did not land (a COS 503).
  const t0 = w.t;
  const queued = queuedJob(id, { bucket: BUCKET, key, etag: o.etag, size: o.body.length, customName: 's', queuedAt: t0 + 200, uploadedAt: o.lastModified, head: { standard: { ...o.standard }, meta: {} } }, t0 + 200, 'intake-s');
  const sending = transition(queued, 'send', t0 + 50, 'sender', { call: 1, checkAfter: t0 + 30_050, slot: '2026-11-25', newSlot: true });
  const failed = transition(sending, 'rejected', t0 + 100, 'sender', { call: 1, lastError: { code: 'UploadRejected', message: 'audio format not supported', requestId: 'req-1' } });
  for (const v of [queued, sending, failed]) expect(await w.ledger.writeVersion(v)).toBe(true);
  await show(w.ctx('intake-s'), queued);
  expect(w.status('s')).toBe('queued');
  // SCF delivers the upload's event again (the intake's invocation had failed): it is that upload,
  // not the operator's retry, and the file CCC refused is not sent a second time.
  w.t = t0 + 3000;
  const again = (await w.deliver(key, 'intake-s-redelivered')) as UploadSummary;
  expect(w.calls).toHaveLength(0);
  expect(again.results[0]).toMatchObject({ status: 'failed', code: 'UploadRejected' });
  expect(w.status('s')).toBe('failed');
});
