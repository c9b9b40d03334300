/**
 * The ivr-upload handler end to end: the real SDKs over HTTP against the signature-checking fakes.
 */
import COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as path from 'path';
import * as http from 'http';
import { createHandler } from '../functions/ivr-upload/handler';
import type { UploadSummary } from '../shared/workflow/upload';
import type { LogEntry } from '../shared/core/sendlog';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { mp3Silence, PNG_BYTES, wav, wavTone } from './audio';
import { TEST_CREDENTIAL } from '../scripts/local/fakes/credentials';
import { cosEvent } from '../scripts/local/fakes/events';
import { BUCKET, REGION, startStack, type Stack } from './harness';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(() => stack.stop());

const handler = () => createHandler(stack.env, stack.seams);
const run = (event: unknown) => handler()(event, { request_id: 'scf-req-1' });
const only = (s: UploadSummary) => {
  expect(s.results).toHaveLength(1);
  return s.results[0];
};

describe('success', () => {
  test('a dropped mp3 is registered and the object carries the result', async () => {
    const r = only(await run(stack.drop('prompts/welcome.mp3', mp3Silence())));
    const file = stack.ccc.files[0];
    expect(r).toMatchObject({ status: 'uploaded', key: 'prompts/welcome.mp3', fileId: file.FileId });
    const meta = stack.meta('prompts/welcome.mp3');
    expect(meta).toMatchObject({
      'ivr-status': 'uploaded',
      'ivr-file-id': String(file.FileId),
      'ivr-audio-file-name': file.AudioFileName,
      'ivr-custom-name': 'welcome',
      'ivr-review': 'pending',
      'ivr-etag': stack.cos.object(BUCKET, 'prompts/welcome.mp3')!.etag,
    });
    expect(meta['ivr-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(decodeURIComponent(meta['ivr-at']))).not.toBeNaN();
    expect(file.CustomFileName).toBe('welcome');
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  const copies = (key: string) => stack.cos.requests.filter((r) => r.op === 'COPY' && r.key === key).length;

  test('a cold instance shows `queued` first; a warm one that saw the system idle sends the next file straight to its outcome (one metadata write, so one copy event)', async () => {
    // On time (see 'a warm instance does not read back…'): a missed window shows the file `queued` after all.
    stack.clock.freeze();
    const warm = handler();
    only(await warm(stack.drop('prompts/first.mp3', mp3Silence()), { request_id: 'scf-req-1' }));
    expect(copies('prompts/first.mp3')).toBe(2);
    stack.clock.advance(60_000);
    only(await warm(stack.drop('prompts/idle.mp3', mp3Silence()), { request_id: 'scf-req-2' }));
    expect(copies('prompts/idle.mp3')).toBe(1);
    expect(stack.meta('prompts/idle.mp3')['ivr-status']).toBe('uploaded');
  });

  /** Another instance's sender holding the lease and accepting others' files for the next 10 s. */
  const acceptingSender = () => {
    const now = stack.clock.now();
    const n = stack.cos.keys(BUCKET, '.ivr-audio-sync/send/').filter((k) => /\/\d+$/.test(k)).length + 1;
    const entry = JSON.stringify({ v: 2, n, owner: 'other-instance', at: now, kind: 'lease', acceptUntil: now + 10_000, leaseUntil: now + 12_000, quota: { day: stack.ccc.quotaDay(), used: 0, full: false }, open: [], deferred: 0 });
    for (const k of [`send/${n}`, 'send/tail']) stack.cos.putDirect(BUCKET, `.ivr-audio-sync/${k}`, Buffer.from(entry), { contentType: 'application/json' });
  };
  const sendByRecovery = async () => {
    stack.clock.advance(60_000);
    await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
  };

  test('a file left to an accepting sender shows `queued` at once, before its job exists', async () => {
    acceptingSender();
    const r = only(await run(stack.drop('prompts/left.mp3', mp3Silence())));
    expect(r).toMatchObject({ status: 'queued' });
    expect(stack.meta('prompts/left.mp3')['ivr-status']).toBe('queued');
    const copy = stack.cos.requests.findIndex((q) => q.op === 'COPY' && q.key === 'prompts/left.mp3');
    const job = stack.cos.requests.findIndex((q) => q.op === 'PUT' && q.key.includes('/jobs/'));
    expect(copy).toBeGreaterThanOrEqual(0);
    expect(copy).toBeLessThan(job);
    expect(stack.ccc.uploadCalls()).toHaveLength(0);
    await sendByRecovery();
    expect(stack.meta('prompts/left.mp3')['ivr-status']).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('the same bytes uploaded again once registered, while another sender accepts files: writing its job finds the job there, so it is a duplicate, never queued for that sender', async () => {
    const body = mp3Silence();
    const warm = handler();
    const first = only(await warm(stack.drop('prompts/again.mp3', body), { request_id: 'scf-req-1' }));
    // The warm instance saw the system idle (version 0 left unwritten), but another sender has
    // taken the lease since: the hand-off writes version 0 as `queued` to leave the file to it.
    stack.clock.advance(60_000);
    acceptingSender();
    const before = stack.cos.requests.length;
    const again = only(await warm(stack.drop('prompts/again.mp3', body), { request_id: 'scf-req-2' }));
    expect(again).toMatchObject({ status: 'uploaded', code: 'Duplicate', fileId: first.fileId });
    expect(stack.meta('prompts/again.mp3')['ivr-status']).toBe('uploaded');
    // Version 0 written as `queued` after the hand-off read the send log (the file was to wait for
    // that sender) was refused: the job existed.
    const after = stack.cos.requests.slice(before);
    const refused = after.findIndex((r) => r.op === 'PUT' && r.status === 409 && /\/jobs\/[0-9a-f]+\/0$/.test(r.key));
    const tailRead = after.findIndex((r) => r.op === 'GET' && r.key.includes('/send/'));
    expect(after.filter((r) => r.op === 'PUT' && r.status === 409 && r.key.includes('/jobs/'))).toHaveLength(1);
    expect(tailRead).toBeGreaterThanOrEqual(0);
    expect(refused).toBeGreaterThan(tailRead);
    // Its queue entry went with it: nothing is left for the accepting sender to read.
    expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/queue/')).toHaveLength(0);
    await sendByRecovery();
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test('a file a warm instance meant to send, whose lease another instance took first, is shown `queued` late and ends with the newest word', async () => {
    const warm = handler();
    only(await warm(stack.drop('prompts/first.mp3', mp3Silence()), { request_id: 'scf-req-1' }));
    stack.clock.advance(60_000);
    // The instance saw the system idle; another sender takes the lease while the file is taken in.
    stack.cos.inject({ op: 'PUT', keyPrefix: '.ivr-audio-sync/queue/', times: 1, before: acceptingSender });
    const r = only(await warm(stack.drop('prompts/late.mp3', mp3Silence()), { request_id: 'scf-req-2' }));
    expect(r).toMatchObject({ status: 'queued' });
    expect(stack.meta('prompts/late.mp3')['ivr-status']).toBe('queued');
    expect(copies('prompts/late.mp3')).toBe(1);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
    await sendByRecovery();
    expect(stack.meta('prompts/late.mp3')['ivr-status']).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(2);
  });

  test('the next sender learns from the outcome alone that the previous call sent its file (one read per file of that call, not two)', async () => {
    // On time (see 'a warm instance does not read back…'): a missed window reads the job once more.
    stack.clock.freeze();
    only(await run(stack.drop('prompts/first.mp3', mp3Silence())));
    const before = stack.cos.requests.length;
    // The previous call's window must be over before its files are read at all.
    stack.clock.advance(60_000);
    only(await run(stack.drop('prompts/second.mp3', mp3Silence())));
    const reads = stack.cos.requests.slice(before).filter((r) => r.op === 'GET' && r.key.includes('/jobs/'));
    expect(reads.map((r) => r.key.replace(/^.*\/jobs\/[0-9a-f]+\//, 'jobs/<first>/'))).toEqual(['jobs/<first>/2']);
  });

  test('a warm instance does not read back the outcome it wrote itself for the previous call', async () => {
    // The requests of the on-time path. A lone call that starts later than its window allows puts
    // its file back (`unsent`), and showing that reads the job once more (a 404 of its next
    // version): at ten-fold speed a loaded machine's 5 ms stall was enough for that. Frozen, the
    // stalls cost no stack time.
    stack.clock.freeze();
    const warm = handler();
    only(await warm(stack.drop('prompts/first.mp3', mp3Silence()), { request_id: 'scf-req-1' }));
    const before = stack.cos.requests.length;
    stack.clock.advance(60_000);
    only(await warm(stack.drop('prompts/second.mp3', mp3Silence()), { request_id: 'scf-req-2' }));
    expect(stack.cos.requests.slice(before).filter((r) => r.op === 'GET' && r.key.includes('/jobs/'))).toEqual([]);
    expect(stack.ccc.files).toHaveLength(2);
  });

  test('a wav with an uploader-chosen name (URL-encoded UTF-8) uses that name', async () => {
    only(await run(stack.drop('prompts/greeting.WAV', wavTone(), { 'ivr-name': encodeURIComponent('欢迎 语音') })));
    expect(stack.ccc.files[0].CustomFileName).toBe('欢迎 语音');
    expect(decodeURIComponent(stack.meta('prompts/greeting.WAV')['ivr-custom-name'])).toBe('欢迎 语音');
  });

  test('the self-copy keeps content type, cache headers and every other user metadata', async () => {
    stack.cos.putDirect(BUCKET, 'prompts/keep.mp3', mp3Silence(), {
      contentType: 'audio/mpeg',
      standard: { 'cache-control': 'max-age=60', 'content-disposition': 'attachment; filename="keep.mp3"', 'content-encoding': 'identity', expires: 'Wed, 21 Oct 2099 07:28:00 GMT' },
      meta: { owner: 'ops-team', 'campaign-id': '42' },
    });
    only(await run(cosEvent(stack.event('prompts/keep.mp3'))));
    const o = stack.cos.object(BUCKET, 'prompts/keep.mp3')!;
    expect(o.standard).toEqual({
      'content-type': 'audio/mpeg',
      'cache-control': 'max-age=60',
      'content-disposition': 'attachment; filename="keep.mp3"',
      'content-encoding': 'identity',
      expires: 'Wed, 21 Oct 2099 07:28:00 GMT',
    });
    expect(o.meta).toMatchObject({ owner: 'ops-team', 'campaign-id': '42', 'ivr-status': 'uploaded' });
  });

  test.each([
    ['spaces', 'prompts/after hours/closed now.mp3', 'closed now'],
    ['plus', 'prompts/a+b.mp3', 'a+b'],
    ['percent', 'prompts/100%.mp3', '100%'],
    ['percent sequence', 'prompts/a%20b.mp3', 'a%20b'],
    ['chinese', 'prompts/欢迎/请稍候.mp3', '请稍候'],
    ['deep path', 'a/b/c/d/e/f/g/deep.mp3', 'deep'],
  ])('odd key (%s) is recovered from the event', async (_label, key, name) => {
    for (const encodeKeyField of [false, true]) {
      stack.cos.putDirect(BUCKET, key, mp3Silence(3 + (encodeKeyField ? 1 : 0)));
      const r = only(await run(cosEvent(stack.event(key, { encodeKeyField }))));
      expect(r).toMatchObject({ status: 'uploaded', key });
      expect(stack.meta(key)['ivr-status']).toBe('uploaded');
    }
    expect(stack.ccc.files.map((f) => f.CustomFileName)).toEqual([name, name]);
  });
});

describe('ineligible objects fail with a specific code and cost no API call', () => {
  const big = Buffer.concat([mp3Silence(1), Buffer.alloc(5 * 1024 * 1024 + 1 - mp3Silence(1).length)]);
  test.each([
    ['prompts/notes.txt', 'UnsupportedExtension', Buffer.from('hello'), {}],
    ['prompts/empty.mp3', 'EmptyFile', Buffer.alloc(0), {}],
    ['prompts/huge.mp3', 'FileTooLarge', big, {}],
    ['prompts/picture.mp3', 'NotAudio', PNG_BYTES, {}],
    ['prompts/truncated.wav', 'NotAudio', Buffer.from('RIFF'), {}],
    ['prompts/really-wav.mp3', 'FormatMismatch', wavTone(), {}],
    ['prompts/named.mp3', 'IvrNameInvalid', mp3Silence(), { 'ivr-name': '%E0%A4%A' }],
    ['prompts/named2.mp3', 'IvrNameInvalid', mp3Silence(), { 'ivr-name': encodeURIComponent('line\nbreak') }],
    ['prompts/named3.mp3', 'IvrNameInvalid', mp3Silence(), { 'ivr-name': encodeURIComponent('x'.repeat(65)) }],
  ])('%s → %s', async (key, code, body, meta) => {
    const r = only(await run(stack.drop(key, body, meta)));
    expect(r).toMatchObject({ status: 'failed', code });
    expect(stack.meta(key)).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': code });
    expect(decodeURIComponent(stack.meta(key)['ivr-error-message']).length).toBeGreaterThan(10);
    expect(stack.ccc.calls).toHaveLength(0);
    expect(stack.logs.some((l) => l.includes(`"code":"${code}"`))).toBe(true);
  });
});

describe('no loops, no doubles', () => {
  test('the Copy event from our own write-back is skipped without an API call', async () => {
    await run(stack.drop('prompts/a.mp3', mp3Silence()));
    const r = only(await run(cosEvent(stack.event('prompts/a.mp3', { eventName: 'cos:ObjectCreated:Copy' }))));
    expect(r).toMatchObject({ status: 'skipped', code: 'OwnCopy' });
    expect(stack.ccc.calls).toHaveLength(1);
  });

  test('a redelivered event registers nothing twice', async () => {
    const event = stack.drop('prompts/a.mp3', mp3Silence());
    await run(event);
    const again = only(await run(event));
    expect(again).toMatchObject({ status: 'uploaded', code: 'Duplicate', fileId: stack.ccc.files[0].FileId });
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('the same bytes uploaded again once registered: the create of its job finds the job there, so the file is a duplicate, shown again, with no second call', async () => {
    const body = mp3Silence();
    const warm = handler();
    const first = only(await warm(stack.drop('prompts/again.mp3', body), { request_id: 'scf-req-1' }));
    // An upload wipes our metadata: nothing on the object says the job exists. The warm instance
    // saw the system idle, so it means to send the file at once, its job's version 0 unwritten.
    stack.clock.advance(60_000);
    const before = stack.cos.requests.length;
    const again = only(await warm(stack.drop('prompts/again.mp3', body), { request_id: 'scf-req-2' }));
    expect(again).toMatchObject({ status: 'uploaded', code: 'Duplicate', fileId: first.fileId });
    expect(stack.meta('prompts/again.mp3')['ivr-status']).toBe('uploaded');
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
    // The hand-off went to send it at once (its call entry first), and its create of version 0
    // (as `sending`) was refused.
    const after = stack.cos.requests.slice(before);
    const refused = after.findIndex((r) => r.op === 'PUT' && r.status === 409 && /\/jobs\/[0-9a-f]+\/0$/.test(r.key));
    const callEntry = after.findIndex((r) => r.op === 'PUT' && /\/send\/\d+$/.test(r.key));
    expect(after.filter((r) => r.op === 'PUT' && r.status === 409 && r.key.includes('/jobs/'))).toHaveLength(1);
    expect(callEntry).toBeGreaterThanOrEqual(0);
    expect(refused).toBeGreaterThan(callEntry);
  });

  test('the same event delivered three times at once registers once', async () => {
    const event = stack.drop('prompts/a.mp3', mp3Silence());
    const h = handler();
    const results = await Promise.all([h(event), h(event), h(event)]);
    expect(stack.ccc.files).toHaveLength(1);
    // One delivery sends it; the others find it taken and leave it to that one (it shows `queued` to them).
    const statuses = results.map((s) => s.results[0].status);
    expect(statuses).toContain('uploaded');
    for (const st of statuses) expect(['queued', 'uploaded']).toContain(st);
    expect(stack.meta('prompts/a.mp3')['ivr-status']).toBe('uploaded');
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test('a new version of the same key is registered again', async () => {
    await run(stack.drop('prompts/a.mp3', mp3Silence(3)));
    await run(stack.drop('prompts/a.mp3', mp3Silence(4)));
    expect(stack.ccc.files).toHaveLength(2);
  });

  test('a spoofed status on an upload does not stop the registration', async () => {
    const body = mp3Silence();
    const etag = require('crypto').createHash('md5').update(body).digest('hex') as string;
    await run(stack.drop('prompts/spoof.mp3', body, { 'ivr-status': 'uploaded', 'ivr-etag': etag, 'ivr-file-id': '1' }));
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.meta('prompts/spoof.mp3')['ivr-file-id']).toBe(String(stack.ccc.files[0].FileId));
  });

  test('re-uploading the same content after a failure retries it (once, however often it is delivered)', async () => {
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'AuthFailure.UnauthorizedOperation' });
    const body = mp3Silence();
    await run(stack.drop('prompts/retry.mp3', body));
    expect(stack.meta('prompts/retry.mp3')['ivr-status']).toBe('failed');
    // The operator fixes the role (a minute later) and uploads the very same file again; SCF even
    // delivers it twice. (Within the same second as the first upload it would look like a
    // redelivery: Last-Modified has whole seconds; see intake.ts.)
    stack.clock.advance(60_000);
    const event = stack.drop('prompts/retry.mp3', body);
    const h = handler();
    const [a, b] = await Promise.all([h(event), h(event)]);
    expect([a.results[0].status, b.results[0].status]).toContain('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.meta('prompts/retry.mp3')['ivr-status']).toBe('uploaded');
    // Once uploaded, a further upload of the same content is a duplicate, not a second registration.
    await run(stack.drop('prompts/retry.mp3', body));
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('a bad ivr-name fixed on re-upload of the same content is used', async () => {
    const body = mp3Silence();
    await run(stack.drop('prompts/n.mp3', body, { 'ivr-name': '%ZZ' }));
    expect(stack.meta('prompts/n.mp3')['ivr-error-code']).toBe('IvrNameInvalid');
    await run(stack.drop('prompts/n.mp3', body, { 'ivr-name': encodeURIComponent('Main menu') }));
    expect(stack.ccc.files.map((f) => f.CustomFileName)).toEqual(['Main menu']);
  });

  test('ledger objects and other event types are ignored', async () => {
    stack.cos.putDirect(BUCKET, '.ivr-audio-sync/jobs/x.json', Buffer.from('{}'));
    stack.cos.putDirect(BUCKET, 'prompts/a.mp3', mp3Silence());
    const s = await run(cosEvent(stack.event('.ivr-audio-sync/jobs/x.json'), stack.event('prompts/a.mp3', { eventName: 'cos:ObjectRemoved:Delete' })));
    expect(s.results.map((r) => r.code)).toEqual(['LedgerObject', 'UnsupportedEvent']);
    expect(stack.ccc.calls).toHaveLength(0);
  });

  test('a folder made in the COS console (an empty object whose key ends in /) is skipped: nothing is written onto it', async () => {
    stack.cos.putDirect(BUCKET, 'prompts/menus/', Buffer.alloc(0));
    const s = await run(cosEvent(stack.event('prompts/menus/')));
    expect(s.results.map((r) => [r.status, r.code])).toEqual([['skipped', 'FolderMarker']]);
    expect(stack.meta('prompts/menus/')).toEqual({});
    expect(stack.ccc.calls).toHaveLength(0);
  });
});

describe('events', () => {
  test('one bad record never fails the others', async () => {
    stack.cos.putDirect(BUCKET, 'prompts/ok.mp3', mp3Silence());
    const s = await run({ Records: [{ nonsense: true }, stack.event('prompts/ok.mp3'), { cos: {}, event: {} }] });
    expect(s.results.map((r) => r.status)).toEqual(['rejected', 'uploaded', 'rejected']);
    expect(s.results[0].code).toBe('EventInvalid');
  });

  test.each([[undefined], [{}], [{ Records: [] }], ['text'], [{ Records: 'x' }]])('a malformed event (%p) is rejected with a clear result', async (event) => {
    const s = await run(event);
    expect(s.results[0]).toMatchObject({ status: 'rejected', code: 'EventInvalid' });
  });

  test('an object deleted before processing is reported, not retried', async () => {
    const event = stack.drop('prompts/gone.mp3', mp3Silence());
    stack.cos.deleteDirect(BUCKET, 'prompts/gone.mp3');
    expect(only(await run(event))).toMatchObject({ status: 'rejected', code: 'ObjectNotFound' });
  });

  test('keys outside IVR_AUDIO_PREFIX and unsafe keys are refused', async () => {
    stack.env.IVR_AUDIO_PREFIX = 'prompts/';
    stack.cos.putDirect(BUCKET, 'other/a.mp3', mp3Silence());
    stack.cos.putDirect(BUCKET, 'prompts/../a.mp3', mp3Silence());
    const s = await run(cosEvent(stack.event('other/a.mp3'), stack.event('prompts/../a.mp3')));
    expect(s.results.map((r) => r.code)).toEqual(['KeyOutsidePrefix', 'KeyInvalid']);
    expect(stack.ccc.calls).toHaveLength(0);
  });
});

describe('API errors keep their Tencent code', () => {
  test('a FailedFileList entry fails that file with FailedMsg', async () => {
    stack.ccc.failFile('bad', 'audio duration exceeds the limit');
    const r = only(await run(stack.drop('prompts/bad.mp3', mp3Silence())));
    expect(r).toMatchObject({ status: 'failed', code: 'UploadRejected', message: 'audio duration exceeds the limit' });
    expect(decodeURIComponent(stack.meta('prompts/bad.mp3')['ivr-error-message'])).toBe('audio duration exceeds the limit');
  });

  test.each(['InvalidParameterValue', 'AuthFailure.SecretIdNotFound', 'AuthFailure.UnauthorizedOperation'])('%s fails the file at once', async (code) => {
    stack.ccc.inject({ code, times: 5 });
    const r = only(await run(stack.drop('prompts/a.mp3', mp3Silence())));
    expect(r).toMatchObject({ status: 'failed', code });
    expect(stack.meta('prompts/a.mp3')['ivr-error-code']).toBe(code);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test('FailedOperation.UploadFileOverflow defers the file instead of failing it', async () => {
    stack.ccc.inject({ code: 'FailedOperation.UploadFileOverflow' });
    const r = only(await run(stack.drop('prompts/a.mp3', mp3Silence())));
    expect(r).toMatchObject({ status: 'deferred' });
    expect(stack.meta('prompts/a.mp3')['ivr-status']).toBe('deferred');
    expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/deferred/')).toHaveLength(1);
  });

  test.each([
    ['RequestLimitExceeded', { code: 'RequestLimitExceeded' }, 0],
    // No answer, or an internal error (which does not say what CCC did): CCC is asked only after
    // the call's lifetime (2 × CCC_TIMEOUT_SECONDS) has passed.
    ['InternalError.DBError', { code: 'InternalError.DBError' }, 2],
    ['InternalError', { code: 'InternalError' }, 2],
    ['HTTP 502', { http: 502 }, 2],
    ['connection reset', { reset: true }, 2],
    ['malformed JSON', { malformed: true }, 2],
  ])('a transient %s is retried inside the invocation and recovers', async (_l, fault, lifetimes) => {
    stack.env.CCC_TIMEOUT_SECONDS = '5';
    stack.ccc.inject({ action: 'UploadIvrAudio', times: 2, ...fault });
    const started = stack.clock.now();
    const r = only(await run(stack.drop('prompts/a.mp3', mp3Silence())));
    expect(r.status).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.ccc.uploadCalls()).toHaveLength(3);
    // Before each resend after a lost answer, CCC was asked, and only after the lost call's lifetime.
    const describes = stack.ccc.calls.filter((c) => c.action === 'DescribeIvrAudioList');
    expect(describes.length).toBe(lifetimes);
    const uploads = stack.ccc.uploadCalls();
    // The lifetime runs from the latest moment each call may have started, as its send-log entry
    // records it (`notAfter`): CCC's own arrival time trails that by however long the request took
    // to arrive, which on a loaded machine, at this stack's speed, was once 290 ms of stack time.
    const notAfter = new Map<number, number>();
    for (const key of stack.cos.keys(BUCKET, '.ivr-audio-sync/send/').filter((k) => /\/\d+$/.test(k))) {
      for (const c of (JSON.parse(stack.cos.object(BUCKET, key)!.body.toString('utf8')) as LogEntry).open) notAfter.set(c.n, c.notAfter);
    }
    // The call CCC got as upload i: the last entry whose latest start is at most a request timeout
    // (5 s) before its arrival. A call entry whose window was missed (the machine too slow to send
    // in it) comes before it and reached CCC never; the next call's is after the question, 10 s on.
    const lostCall = (arrival: number) => Math.max(...[...notAfter.values()].filter((at) => at <= arrival + 5000));
    for (let i = 0; i < lifetimes; i++) {
      expect(describes[i].at).toBeGreaterThanOrEqual(lostCall(uploads[i].at) + 10_000);
      expect(uploads[i + 1].at).toBeGreaterThanOrEqual(describes[i].at);
    }
    expect(stack.clock.now() - started).toBeGreaterThanOrEqual(lifetimes * 10_000);
  });

  test('a transient error that never passes: the file fails after IVR_MAX_ATTEMPTS calls, and a re-upload retries it once', async () => {
    // Each internal error is asked about after the call's lifetime: short here, so the four attempts fit in one invocation.
    stack.env.CCC_TIMEOUT_SECONDS = '5';
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError.DBError', times: 100 });
    const body = mp3Silence();
    const r = only(await run(stack.drop('prompts/a.mp3', body)));
    expect(r).toMatchObject({ status: 'failed', code: 'GaveUp' });
    // The last failure's message too, not its code alone: it says what to wait for.
    expect(r.message).toMatch(/^not registered after 4 attempts; upload the file again to retry \(last: InternalError\.DBError: \S.*\)$/);
    expect(stack.meta('prompts/a.mp3')).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'GaveUp' });
    expect(stack.ccc.uploadCalls()).toHaveLength(4);
    stack.ccc.clearFaults();
    expect(only(await run(stack.drop('prompts/a.mp3', body)))).toMatchObject({ status: 'uploaded' });
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('an answer lost after CCC registered the file is recovered, not registered twice', async () => {
    stack.ccc.inject({ action: 'UploadIvrAudio', resetAfterCommit: true });
    const r = only(await run(stack.drop('prompts/lost.mp3', mp3Silence())));
    expect(r).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
    // The request id on the object is one Tencent support can look up: the answer that found it.
    const describes = stack.ccc.calls.filter((c) => c.action === 'DescribeIvrAudioList');
    expect(describes).toHaveLength(1);
    expect(stack.meta('prompts/lost.mp3')['ivr-request-id']).toBe(describes[0].requestId);
  });
});

describe('the signed AudioUrl', () => {
  test('CCC really downloads it: an expired URL fails the file as it would for real', async () => {
    stack.env.IVR_URL_EXPIRES = '60';
    const real = stack.cos.clock;
    const h = handler();
    const event = stack.drop('prompts/late.mp3', mp3Silence());
    // COS sees every request two minutes "later": the 60 s URL has expired when CCC fetches it,
    // while the SDK's own requests (signed for 15 minutes) stay valid.
    stack.cos.clock = () => real() + 120_000;
    const r = only(await h(event));
    stack.cos.clock = real;
    expect(r).toMatchObject({ status: 'failed', code: 'UploadRejected' });
    expect(r.message).toMatch(/403 AccessDenied/);
  });

  test('the fake COS refuses unsigned and mis-signed requests', async () => {
    const bad = new COS({ SecretId: TEST_CREDENTIAL.secretId, SecretKey: 'wrong-key-000000000000', SecurityToken: TEST_CREDENTIAL.token, Ip: `127.0.0.1:${stack.cos.port}`, Protocol: 'http:', AutoSwitchHost: false });
    stack.cos.putDirect(BUCKET, 'x.mp3', mp3Silence());
    await expect(bad.headObject({ Bucket: BUCKET, Region: REGION, Key: 'x.mp3' })).rejects.toMatchObject({ statusCode: 403 });
    const status = await new Promise<number | undefined>((resolve) => {
      http.get({ host: '127.0.0.1', port: stack.cos.port, path: '/x.mp3', headers: { Host: `${BUCKET}.cos.${REGION}.myqcloud.com` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
    });
    expect(status).toBe(403);
  });
});

describe('configuration', () => {
  test.each([
    ['CCC_SDK_APP_ID', undefined, /CCC_SDK_APP_ID is required/],
    ['CCC_SDK_APP_ID', 'abc', /CCC_SDK_APP_ID must be an integer/],
    ['CCC_SDK_APP_ID', '0', /CCC_SDK_APP_ID must be between/],
    ['TENCENTCLOUD_SECRETID', undefined, /TENCENTCLOUD_SECRETID is required/],
    ['IVR_URL_EXPIRES', '5', /IVR_URL_EXPIRES must be between 60/],
    ['CCC_ENDPOINT', 'not a url', /CCC_ENDPOINT must be a URL/],
    ['IVR_QUOTA_UTC_OFFSET', '8', /IVR_QUOTA_UTC_OFFSET must look like/],
  ])('%s=%p refuses every invocation with a message naming the variable', async (name, value, message) => {
    const env = { ...stack.env, [name]: value };
    const h = createHandler(env, stack.seams);
    await expect(h(stack.drop('prompts/a.mp3', mp3Silence()))).rejects.toMatchObject({ code: 'ConfigInvalid', message: expect.stringMatching(message) });
    expect(stack.logs.some((l) => l.includes('ConfigInvalid') && l.includes(name))).toBe(true);
    expect(stack.ccc.calls).toHaveLength(0);
  });

  test("IVR_LOG_DEBUG is read from the handler's environment, like every other setting, not the process's", async () => {
    const saved = process.env.IVR_LOG_DEBUG;
    const debugLines = () => stack.logs.filter((l) => (JSON.parse(l) as { level: string }).level === 'debug');
    try {
      process.env.IVR_LOG_DEBUG = '1';
      await createHandler({ ...stack.env, IVR_LOG_DEBUG: '0' }, stack.seams)(stack.drop('prompts/quiet.mp3', mp3Silence()));
      expect(debugLines()).toEqual([]);
      delete process.env.IVR_LOG_DEBUG;
      await createHandler({ ...stack.env, IVR_LOG_DEBUG: '1' }, stack.seams)(stack.drop('prompts/verbose.mp3', mp3Silence()));
      expect(debugLines().some((l) => l.includes('"msg":"job moved"') && l.includes('prompts/verbose.mp3'))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.IVR_LOG_DEBUG;
      else process.env.IVR_LOG_DEBUG = saved;
    }
  });
});

describe('audio that CCC accepts (whole-file checks before any quota is spent)', () => {
  test.each([
    ['an mp3 cut mid-frame', 'prompts/cut.mp3', () => mp3Silence(20).subarray(0, mp3Silence(20).length - 200)],
    ['a WAV whose data chunk is cut short', 'prompts/cut.wav', () => wav({ seconds: 2 }).subarray(0, 12000)],
  ])('%s fails with AudioTruncated, no CCC call, no quota', async (_l, key, body) => {
    const r = only(await run(stack.drop(key, body())));
    expect(r).toMatchObject({ status: 'failed', code: 'AudioTruncated' });
    expect(r.message).toMatch(/\d+ bytes.*\d+|frame/);
    expect(stack.meta(key)).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'AudioTruncated' });
    expect(stack.ccc.calls).toHaveLength(0);
  });

  test('a 40 s 44.1 kHz stereo WAV (over 5 MB) is registered as an 8 kHz mono copy; the original is untouched', async () => {
    const studio = wav({ rate: 44100, channels: 2, seconds: 40, signal: (t, c) => 0.3 * Math.sin(2 * Math.PI * (c ? 330 : 440) * t) });
    expect(studio.length).toBeGreaterThan(5 * 1024 * 1024);
    const r = only(await run(stack.drop('prompts/studio.wav', studio, { owner: 'ops' })));
    expect(r.status).toBe('uploaded');
    const o = stack.cos.object(BUCKET, 'prompts/studio.wav')!;
    expect(o.body.equals(studio)).toBe(true);
    expect(decodeURIComponent(o.meta['ivr-converted'])).toBe('44100Hz/2ch/16bit → 8000Hz/1ch/16bit');
    expect(o.meta.owner).toBe('ops');
    // CCC downloaded the converted copy: 8 kHz mono, 40 s, within 5 MB.
    const url = new URL(stack.ccc.uploadCalls()[0].audioUrls[0]);
    const copy = stack.cos.object(BUCKET, decodeURIComponent(url.pathname.slice(1)))!;
    expect(copy.key.startsWith('.ivr-audio-sync/converted/')).toBe(true);
    expect(copy.body.length).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(copy.body.readUInt32LE(24)).toBe(8000);
    expect(copy.body.readUInt16LE(22)).toBe(1);
    expect(Math.abs((copy.body.length - 44) / 16000 - 40)).toBeLessThan(0.1);
  });

  test('a WAV written as a stream (espeak-ng --stdout) is registered as a copy with its sizes right; an MP2 named .mp3 fails, never sent', async () => {
    const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', 'audio', name));
    const r = only(await run(stack.drop('prompts/tts.wav', fixture('speech-stream.wav'))));
    expect(r.status).toBe('uploaded');
    const url = new URL(stack.ccc.uploadCalls()[0].audioUrls[0]);
    const copy = stack.cos.object(BUCKET, decodeURIComponent(url.pathname.slice(1)))!;
    expect(copy.key.startsWith('.ivr-audio-sync/converted/')).toBe(true);
    expect(copy.body.readUInt32LE(4)).toBe(copy.body.length - 8);
    expect(copy.body.readUInt32LE(40)).toBe(copy.body.length - 44);
    const mp2 = only(await run(stack.drop('prompts/layer2.mp3', fixture('speech-layer2.mp3'))));
    expect(mp2).toMatchObject({ status: 'failed', code: 'AudioInvalid', message: expect.stringContaining('MPEG Layer II') });
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test('a duplicate delivery of a converted WAV is answered from the ledger: not converted again', async () => {
    const studio = wav({ rate: 44100, channels: 2, seconds: 40, signal: (t) => 0.3 * Math.sin(2 * Math.PI * 440 * t) });
    const event = stack.drop('prompts/twice.wav', studio);
    expect(only(await run(event)).status).toBe('uploaded');
    const conversions = () => stack.logs.filter((l) => l.includes('"file converted for CCC"')).length;
    expect(conversions()).toBe(1);
    const second = only(await run(event));
    expect(second).toMatchObject({ status: 'uploaded', code: 'Duplicate', fileId: stack.ccc.files[0].FileId });
    expect(conversions()).toBe(1);
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('IVR_MAX_SECONDS fails a longer file clearly', async () => {
    stack.env.IVR_MAX_SECONDS = '1';
    const r = only(await run(stack.drop('prompts/long.wav', wav({ seconds: 2 }))));
    expect(r).toMatchObject({ status: 'failed', code: 'AudioTooLong' });
    expect(stack.ccc.calls).toHaveLength(0);
  });

  test('the same bytes uploaded again after CCC rejected them at review: a Duplicate that says so, not a fix', async () => {
    const event = stack.drop('prompts/rejected.mp3', mp3Silence());
    await run(event);
    stack.ccc.review(stack.ccc.files[0].FileId, 2);
    await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
    expect(stack.meta('prompts/rejected.mp3')['ivr-review']).toBe('rejected');
    const again = only(await run(stack.drop('prompts/rejected.mp3', mp3Silence())));
    expect(again).toMatchObject({ status: 'uploaded', code: 'Duplicate', message: 'this object version was already registered; CCC rejected it at review: record it again and upload the new recording' });
    expect(stack.ccc.files).toHaveLength(1);
  });

  test("after a review refresh the object still carries the upload's RequestId, and the review its own", async () => {
    await run(stack.drop('prompts/keep-id.mp3', mp3Silence()));
    const uploadRequestId = stack.meta('prompts/keep-id.mp3')['ivr-request-id'];
    expect(uploadRequestId).toBe(stack.ccc.uploadCalls()[0].requestId);
    stack.ccc.review(stack.ccc.files[0].FileId, 1);
    await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
    const meta = stack.meta('prompts/keep-id.mp3');
    expect(meta).toMatchObject({ 'ivr-review': 'approved', 'ivr-request-id': uploadRequestId });
    const reviewCalls = stack.ccc.calls.filter((c) => c.action === 'DescribeIvrAudioList' && c.result === 'ok');
    expect(reviewCalls).toHaveLength(1);
    expect(meta['ivr-review-request-id']).toBe(reviewCalls[0].requestId);
    expect(meta['ivr-review-request-id']).not.toBe(uploadRequestId);
    expect(Date.parse(decodeURIComponent(meta['ivr-reviewed-at']))).not.toBeNaN();
  });
});
