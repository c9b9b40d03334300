/**
 * Faults, hostile input and secrets. The fakes inject each fault; every case asserts the object's
 * final visible state (or that it stays retryable), one registration at most, the quota, and the
 * log line that says what happened.
 */
import * as http from 'http';
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import type COS from 'cos-nodejs-sdk-v5';
import { loadConfig } from '../shared/core/config';
import { IvrError } from '../shared/core/errors';
import { CosBucket } from '../shared/sdk/cos';
import { createCccClient, createIvrAudioApi } from '../shared/sdk/ccc';
import { jobId } from '../shared/core/job';
import { mp3Silence, wavTone } from './audio';
import { TEST_CREDENTIAL } from '../scripts/local/fakes/credentials';
import { cosEvent } from '../scripts/local/fakes/events';
import type { CosFault } from '../scripts/local/fakes/fake-cos';
import { BUCKET, findLeaks, REGION, startStack, type Stack } from './harness';

let stack: Stack;
afterEach(() => stack?.stop());

const upload = (env = stack.env) => createUpload(env, stack.seams);
const report = () => createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams);
const status = (key: string) => stack.meta(key)['ivr-status'];
const LEDGER = '.ivr-audio-sync/';

/** Delivers like SCF: up to three times while the invocation throws, a minute apart. */
async function deliver(event: unknown, env = stack.env) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await upload(env)(event);
    } catch (e) {
      if (attempt >= 3) throw e;
      stack.clock.advance(60_000);
    }
  }
}

describe('CCC faults', () => {
  test('an answer that never comes: CCC is asked once the call\'s lifetime has passed, then the file is sent once', async () => {
    stack = await startStack({}, { CCC_TIMEOUT_SECONDS: '1' });
    stack.ccc.inject({ action: 'UploadIvrAudio', hang: true });
    const r = await upload()(stack.drop('p/slow.mp3', mp3Silence()));
    expect(r.results[0].status).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
    const describe = stack.ccc.calls.find((c) => c.action === 'DescribeIvrAudioList')!;
    const [first, second] = stack.ccc.uploadCalls();
    // Asked only after the first call's lifetime (2 × CCC_TIMEOUT_SECONDS), and before resending.
    expect(describe.at - first.at).toBeGreaterThanOrEqual(2000);
    expect(second.at).toBeGreaterThan(describe.at);
    expect(stack.logs.some((l) => l.includes('"code":"OutcomeUnknown"') || l.includes('NetworkError'))).toBe(true);
  });

  test('a registration that lands after the client gave up is found, not registered again', async () => {
    stack = await startStack({}, { CCC_TIMEOUT_SECONDS: '1' });
    // Registered 1.5 s after arrival, answered after 3 s: the client has long given up.
    stack.ccc.inject({ action: 'UploadIvrAudio', slow: { registerAfterMs: 1500, answerAfterMs: 3000 } });
    const r = await upload()(stack.drop('p/late.mp3', mp3Silence()));
    expect(r.results[0]).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test.each(['promo token=summer', 'SignatureDoesNotMatch: 0123456789abcdef01'])('a prompt named %p whose answer was lost is found by its name, not registered again', async (name) => {
    stack = await startStack();
    stack.ccc.inject({ action: 'UploadIvrAudio', resetAfterCommit: true, times: 1 });
    const r = await deliver(stack.drop(`p/${name}.mp3`, mp3Silence()));
    // The name looks like a credential to the redaction; compared with ours, it must be as CCC sent it.
    expect(r.results[0]).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
    expect(stack.ccc.files.map((f) => f.CustomFileName)).toEqual([name]);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test('settling a 50-file call after an internal error asks CCC about each file, paced, and settles every one', async () => {
    stack = await startStack({}, { IVR_MAX_BATCH: '50' });
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError.DBError' });
    const records = Array.from({ length: 50 }, (_, i) => stack.drop(`p/many-${i}.mp3`, mp3Silence(2 + (i % 3))).Records).flat();
    // Delivered like SCF: on a loaded machine (this clock runs ten times faster than the wall clock)
    // the invocation's term can end with files still waiting, and it asks for the event again.
    const r = await deliver({ Records: records });
    // CCC holds none of them: each goes back to the queue and is sent again.
    expect(r.counts).toEqual({ uploaded: 50 });
    expect(new Set(stack.ccc.files.map((f) => f.CustomFileName)).size).toBe(50);
    expect(stack.ccc.files).toHaveLength(50);
    // (The pacing itself is asserted on a virtual clock in test/ccc-limits.test.ts: here the clock
    // runs ten times faster than the wall clock, so a few real milliseconds of network jitter look
    // like 50, and the fake may refuse a call, which is then asked again.)
    expect(stack.ccc.calls.filter((c) => c.action === 'DescribeIvrAudioList' && c.result === 'ok').length).toBe(50);
  });

  test('an InternalError whose back end registers the file a few seconds later: CCC is asked once the call\'s lifetime has passed, so the file is registered once, not sent again', async () => {
    stack = await startStack();
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError', registerAfterErrorMs: 3000 });
    const r = await deliver(stack.drop('p/late.mp3', mp3Silence()));
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
    expect(r.counts).toEqual({ uploaded: 1 });
    expect(stack.meta('p/late.mp3')['ivr-file-id']).toBe(String(stack.ccc.files[0].FileId));
  });

  test("the same, with the fake's own timer for that registration firing 40 s late (a loaded machine): the fake still registers the file when it said it would, so the product is not told a wrong \"not there\"", async () => {
    stack = await startStack();
    // Only the registration's wait is late, and later than the call's lifetime (2 × 15 s), when
    // the product asks; the fake's other waits are on time.
    const sleep = stack.ccc.sleep;
    stack.ccc.sleep = (ms) => sleep(ms === 3000 ? ms + 40_000 : ms);
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError', registerAfterErrorMs: 3000 });
    const r = await deliver(stack.drop('p/late.mp3', mp3Silence()));
    expect(r.counts).toEqual({ uploaded: 1 });
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.ccc.uploadCalls()).toHaveLength(1);
  });

  test('a RequestLimitExceeded storm (another client on the SdkAppId) is waited out, never an attempt, never shown', async () => {
    stack = await startStack({}, { IVR_MAX_ATTEMPTS: '1' });
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'RequestLimitExceeded', times: 3 });
    await upload()(stack.drop('p/a.mp3', mp3Silence()));
    expect(status('p/a.mp3')).toBe('uploaded');
    expect(stack.meta('p/a.mp3')['ivr-error-code']).toBeUndefined();
    expect(stack.ccc.uploadCalls()).toHaveLength(4);
  });

  test('a lone sender refused by CCC whose lease was taken over meanwhile leaves its file to the new holder without reading the queue', async () => {
    stack = await startStack();
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'RequestLimitExceeded', times: 1 });
    // While the lone sender puts its file into its call, another instance takes the lease over
    // (a lone entry promises nothing, so it may): it appends an accepting entry after the lone one.
    const LOG = '.ivr-audio-sync/send/';
    stack.cos.inject({
      op: 'PUT',
      keyPrefix: '.ivr-audio-sync/jobs/',
      after: 1, // the queued version goes through; the `sending` version triggers the take-over
      before: () => {
        const lone = JSON.parse(stack.cos.object(BUCKET, `${LOG}1`)!.body.toString()) as Record<string, unknown> & { n: number };
        const now = stack.clock.now();
        const { call: _call, ...rest } = lone;
        const takeover = { ...rest, n: lone.n + 1, owner: 'another-instance', at: now, kind: 'lease', acceptUntil: now + 60_000, leaseUntil: now + 65_000 };
        stack.cos.putDirect(BUCKET, `${LOG}2`, Buffer.from(JSON.stringify(takeover)), { contentType: 'application/json' });
      },
    });
    const before = stack.cos.requests.length;
    // The file is left to the new holder: the invocation returns, with the file shown queued.
    const r = await upload()(stack.drop('p/a.mp3', mp3Silence()));
    expect(r.results).toEqual([expect.objectContaining({ key: 'p/a.mp3', status: 'queued' })]);
    const after = stack.cos.requests.slice(before);
    // It read the entry after its own (and found the take-over); it listed nothing and read no other job.
    expect(after.some((r) => r.op === 'GET' && r.key === `${LOG}2`)).toBe(true);
    expect(after.filter((r) => r.op === 'LIST' || r.op === 'BUCKET')).toEqual([]);
    expect(stack.ccc.uploadCalls().map((c) => c.result)).toEqual(['RequestLimitExceeded']);
    expect(status('p/a.mp3')).toBe('queued');
    // The other instance never comes: once its lease is over, the recovery pass sends the file.
    stack.clock.advance(300_000);
    await report()({ Type: 'Timer' });
    expect(status('p/a.mp3')).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('a storm longer than the invocation leaves the file queued (not failed) for the next sender or the recovery pass', async () => {
    stack = await startStack({}, { IVR_MAX_ATTEMPTS: '2', IVR_WAIT_SECONDS: '5' });
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'RequestLimitExceeded', times: 100 });
    await expect(upload()(stack.drop('p/a.mp3', mp3Silence()))).rejects.toMatchObject({ code: 'RetryScheduled' });
    expect(status('p/a.mp3')).toBe('queued');
    stack.ccc.clearFaults();
    stack.clock.advance(300_000);
    await report()({ Type: 'Timer' });
    expect(status('p/a.mp3')).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
  });

  test('an expired session token is retried; a bad signature fails the file with its code', async () => {
    stack = await startStack({}, { IVR_MAX_ATTEMPTS: '2' });
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'AuthFailure.TokenFailure', times: 1 });
    await upload()(stack.drop('p/token.mp3', mp3Silence(3)));
    expect(status('p/token.mp3')).toBe('uploaded');
    stack.ccc.inject({ action: 'UploadIvrAudio', code: 'AuthFailure.SignatureFailure', times: 1 });
    await upload()(stack.drop('p/sig.mp3', mp3Silence(4)));
    expect(stack.meta('p/sig.mp3')).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'AuthFailure.SignatureFailure' });
  });

  test('a partial FailedFileList in a batch fails only that file', async () => {
    stack = await startStack();
    stack.ccc.failFile('two', 'unsupported sample rate');
    for (const k of ['one', 'two', 'three']) stack.cos.putDirect(BUCKET, `p/${k}.mp3`, mp3Silence(k.length + 2));
    const s = await upload()(cosEvent(stack.event('p/one.mp3'), stack.event('p/two.mp3'), stack.event('p/three.mp3')));
    expect(s.results.map((r) => r.status)).toEqual(['uploaded', 'failed', 'uploaded']);
    expect(stack.ccc.uploadCalls().filter((c) => c.result === 'ok').map((c) => c.files)).toEqual([3]);
    expect(decodeURIComponent(stack.meta('p/two.mp3')['ivr-error-message'])).toBe('unsupported sample rate');
    // The line an operator finds by searching the logs for "status":"failed", whichever invocation settled it.
    const settled = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'file settled');
    expect(settled.map((l) => [l.key, l.status, l.code]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([['p/one.mp3', 'uploaded', undefined], ['p/three.mp3', 'uploaded', undefined], ['p/two.mp3', 'failed', 'UploadRejected']]);
  });
});

test('CCC quoting the signed AudioUrl in a refusal: only its address reaches the object, the result, the ledger and the logs', async () => {
  stack = await startStack();
  stack.ccc.failFile('quoted', 'download failed: $AudioUrl');
  const r1 = await upload()(stack.drop('p/quoted.mp3', mp3Silence(3)));
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InvalidParameterValue', message: 'AudioUrl $AudioUrl is invalid', times: 1 });
  const r2 = await upload()(stack.drop('p/whole.mp3', mp3Silence(4)));
  // The fake did quote the signed URL, with its signature and session token.
  expect(stack.ccc.uploadCalls()[0].audioUrls[0]).toMatch(/q-signature=[0-9a-f]{8}.*x-cos-security-token=/);
  const quoted = decodeURIComponent(stack.meta('p/quoted.mp3')['ivr-error-message']);
  expect(quoted).toMatch(/^download failed: http:\/\/\S+\/p\/quoted\.mp3\?\[signed\]$/);
  expect(stack.meta('p/whole.mp3')['ivr-status']).toBe('failed');
  const ledger = stack.cos.keys(BUCKET).map((k) => stack.cos.object(BUCKET, k)!.body.toString('utf8'));
  const everything = [JSON.stringify(r1), JSON.stringify(r2), ...Object.values(stack.meta('p/quoted.mp3')), ...Object.values(stack.meta('p/whole.mp3')).map(decodeURIComponent), ...ledger, ...stack.logs];
  expect(findLeaks(everything)).toEqual([]);
});

test('a lone surrogate in CCC\'s words fails only that file, shown with the message, and no later pass throws', async () => {
  stack = await startStack();
  // Valid JSON (`"\ud800"`), but no encoder takes it: the write of the result would throw.
  stack.ccc.failFile('two', 'bad \ud800 file');
  for (const k of ['one', 'two', 'three']) stack.cos.putDirect(BUCKET, `p/${k}.mp3`, mp3Silence(k.length + 2));
  const s = await upload()(cosEvent(stack.event('p/one.mp3'), stack.event('p/two.mp3'), stack.event('p/three.mp3')));
  expect(s.results.map((r) => r.status)).toEqual(['uploaded', 'failed', 'uploaded']);
  expect(decodeURIComponent(stack.meta('p/two.mp3')['ivr-error-message'])).toBe('bad \ufffd file');
  stack.clock.advance(400_000);
  const pass = await report()({ Type: 'Timer' });
  expect(pass.reviews.checked).toBe(2);
});

test('CCC or COS words that echo a credential (a code, a RequestId, a signed query quoted as JSON) are redacted everywhere', async () => {
  stack = await startStack({}, { IVR_MAX_ATTEMPTS: '1' });
  const token = TEST_CREDENTIAL.token!;
  stack.ccc.inject({ action: 'UploadIvrAudio', code: `Weird${token}`, message: 'refused', times: 1 });
  const r1 = await upload()(stack.drop('p/code.mp3', mp3Silence(3)));
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InvalidParameterValue', message: 'AudioUrl params $AudioQueryJson are invalid', times: 1 });
  const r2 = await upload()(stack.drop('p/query.mp3', mp3Silence(4)));
  stack.cos.inject({ op: 'GET', keyPrefix: 'p/', code: `InvalidToken:${token}`, status: 400, times: 1 });
  const r3 = await upload()(stack.drop('p/cos.mp3', mp3Silence(5)));
  // The fake did quote the live signature, as JSON.
  expect(stack.ccc.uploadCalls().map((c) => c.result)).toContain('InvalidParameterValue');
  expect(stack.logs.join('\n')).toContain('"q-signature\\":\\"[REDACTED]');
  const ledger = stack.cos.keys(BUCKET).map((k) => stack.cos.object(BUCKET, k)!.body.toString('utf8'));
  const metas = ['p/code.mp3', 'p/query.mp3', 'p/cos.mp3'].flatMap((k) => Object.values(stack.meta(k)).map(decodeURIComponent));
  const everything = [JSON.stringify([r1, r2, r3]), ...metas, ...ledger, ...stack.logs];
  expect(everything.some((t) => t.includes('unrecognised error code Weird[REDACTED]'))).toBe(true);
  expect(everything.some((t) => t.includes('InvalidToken:[REDACTED]'))).toBe(true);
  expect(everything.filter((t) => t.includes(token))).toEqual([]);
  expect(findLeaks(everything)).toEqual([]);
});

test('a CCC error code that echoes the session token is redacted before anything is made of it: one of a known family, or one cut short for the message', async () => {
  stack = await startStack({}, { IVR_MAX_ATTEMPTS: '1' });
  const token = TEST_CREDENTIAL.token!;
  // A code of a known family passes asTencentCode (letters, digits and dots only) and went on as it was.
  stack.ccc.inject({ action: 'UploadIvrAudio', code: `AuthFailure.${token}`, message: 'refused', times: 1 });
  const r1 = await upload()(stack.drop('p/family.mp3', mp3Silence(3)));
  // An unknown code was cut to 60 characters before it was redacted: the token, cut short, no longer matched.
  stack.ccc.inject({ action: 'UploadIvrAudio', code: `WeirdAndRatherLongPrefix:${token}`, message: 'refused', times: 1 });
  const r2 = await upload()(stack.drop('p/cut.mp3', mp3Silence(4)));
  expect(stack.ccc.uploadCalls().map((c) => c.result)).toEqual([`AuthFailure.${token}`, `WeirdAndRatherLongPrefix:${token}`]);
  const ledger = stack.cos.keys(BUCKET).map((k) => stack.cos.object(BUCKET, k)!.body.toString('utf8'));
  const metas = ['p/family.mp3', 'p/cut.mp3'].flatMap((k) => Object.values(stack.meta(k)).map(decodeURIComponent));
  const everything = [JSON.stringify([r1, r2]), ...metas, ...ledger, ...stack.logs];
  expect(metas).toContain('failed');
  // Any 16 characters of the token in a row is a leak.
  const pieces = Array.from({ length: token.length - 15 }, (_, i) => token.slice(i, i + 16)).filter((p) => !/^0+$/.test(p));
  expect(everything.filter((t) => pieces.some((p) => t.includes(p)))).toEqual([]);
  expect(findLeaks(everything)).toEqual([]);
});

describe('COS faults', () => {
  test('a metadata write the SDK rejects with no error object is a transient StorageError, not a TypeError thrown from the catch', async () => {
    const sdk = { putObjectCopy: () => Promise.reject(undefined) } as unknown as COS;
    const err: unknown = await new CosBucket(sdk, BUCKET, REGION, 'https:').writeMetadata('p/a.mp3', 'e', {}, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IvrError);
    expect(err).toMatchObject({ code: 'StorageError', transient: true });
  });

  test.each<[string, CosFault]>([
    ['GET 503 on the object', { op: 'GET', keyPrefix: 'p/', status: 503, code: 'ServiceUnavailable', times: 20 }],
    ['GET 500 on the object', { op: 'GET', keyPrefix: 'p/', status: 500, times: 20 }],
    ['COPY 503', { op: 'COPY', status: 503, code: 'ServiceUnavailable', times: 20 }],
    ['COPY 200 with an error body', { op: 'COPY', bodyError: true, code: 'InternalError', times: 20 }],
    ['connection resets on ledger writes', { op: 'PUT', keyPrefix: LEDGER, reset: true, times: 20 }],
    ['ledger writes that commit but whose answer is lost', { op: 'PUT', keyPrefix: LEDGER, resetAfterCommit: true, times: 3 }],
  ])('%s: SCF delivers again, and the file ends uploaded, registered once', async (_l, fault) => {
    stack = await startStack();
    const event = stack.drop('p/f.mp3', mp3Silence());
    stack.cos.inject(fault);
    await deliver(event).catch(() => undefined);
    stack.cos.clearFaults();
    if (status('p/f.mp3') !== 'uploaded') await deliver(event);
    expect(status('p/f.mp3')).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(1);
  }, 60000);

  test('an object overwritten before it is read: its current version is the one registered, once', async () => {
    stack = await startStack();
    const event = stack.drop('p/v.mp3', mp3Silence(3));
    stack.cos.inject({ op: 'GET', keyPrefix: 'p/v.mp3', times: 1, before: () => stack.cos.putDirect(BUCKET, 'p/v.mp3', mp3Silence(5)) });
    const r = await upload()(event);
    expect(r.results[0]).toMatchObject({ status: 'uploaded', etag: stack.cos.object(BUCKET, 'p/v.mp3')!.etag });
    const second = await upload()(cosEvent(stack.event('p/v.mp3')));
    expect(second.results[0]).toMatchObject({ status: 'uploaded', code: 'Duplicate' });
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.meta('p/v.mp3')['ivr-etag']).toBe(stack.cos.object(BUCKET, 'p/v.mp3')!.etag);
  });

  test('an object overwritten after the call: the old result is not stamped on the new content', async () => {
    stack = await startStack();
    const event = stack.drop('p/w.mp3', mp3Silence(3));
    // The second metadata write (the final one) finds new content in place.
    stack.cos.inject({ op: 'COPY', after: 1, times: 1, before: () => stack.cos.putDirect(BUCKET, 'p/w.mp3', mp3Silence(6)) });
    await upload()(event);
    expect(status('p/w.mp3')).toBeUndefined();
    await upload()(cosEvent(stack.event('p/w.mp3')));
    expect(stack.ccc.files).toHaveLength(2); // two versions, two registrations
    expect(stack.meta('p/w.mp3')).toMatchObject({ 'ivr-status': 'uploaded', 'ivr-file-id': String(stack.ccc.files[1].FileId), 'ivr-etag': stack.cos.object(BUCKET, 'p/w.mp3')!.etag });
  });

  test('a corrupted job version is rebuilt from what CCC holds, without registering twice', async () => {
    stack = await startStack();
    const event = stack.drop('p/c.mp3', mp3Silence());
    await upload()(event);
    const id = jobId(BUCKET, 'p/c.mp3', stack.cos.object(BUCKET, 'p/c.mp3')!.etag);
    stack.cos.putDirect(BUCKET, `${LEDGER}jobs/${id}/0`, Buffer.from('{"v":2,"state":"do'));
    stack.cos.putDirect(BUCKET, `${LEDGER}jobs/${id}/1`, Buffer.from('garbage'));
    stack.cos.putDirect(BUCKET, `${LEDGER}jobs/${id}/2`, Buffer.from('garbage'));
    const again = await upload()(event);
    expect(again.results[0]).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.logs.some((l) => l.includes('LedgerCorrupt'))).toBe(true);
  });

  test("an instance's CCC client can be built ahead of its first call (prepare), once, and the call goes through it", async () => {
    stack = await startStack();
    const config = loadConfig({ ...stack.env, IVR_BUCKET: BUCKET });
    let built = 0;
    const api = createIvrAudioApi(() => {
      built++;
      return createCccClient(config);
    }, config.sdkAppId);
    expect(built).toBe(0);
    // The sender calls this before it waits for its window: loading the SDK then costs no time
    // between the window check and the request (a lost answer is asked about from the window's end).
    api.prepare!();
    expect(built).toBe(1);
    const res = await api.describe({ customFileNames: ['nothing'], pageNumber: 0, pageSize: 10 });
    expect(res.ok).toBe(true);
    api.prepare!();
    expect(built).toBe(1);
  });

  test('a DescribeIvrAudioList answer with an entry that has no FileId is refused as a whole, not read without that entry: it may be the registration a lost answer is asked about', async () => {
    stack = await startStack();
    const config = loadConfig({ ...stack.env, IVR_BUCKET: BUCKET });
    const api = createIvrAudioApi(() => createCccClient(config), config.sdkAppId);
    stack.ccc.inject({ action: 'DescribeIvrAudioList', answer: { TotalCount: 1, FileInfo: [{ CustomFileName: 'hello', AudioFileName: 'x.mp3', Status: 0 }] } });
    const res = await api.describe({ customFileNames: ['hello'], pageNumber: 0, pageSize: 10 });
    expect(res).toMatchObject({ ok: false, failure: { kind: 'invalid-response', code: 'ResponseInvalid' } });
  });

  test('a queued job whose version was damaged by hand is left alone, and the log line names its file', async () => {
    stack = await startStack();
    // The send log refuses for good: the file stays queued, its job written.
    stack.cos.inject({ op: 'PUT', keyPrefix: `${LEDGER}send/`, status: 403, code: 'AccessDenied', times: 100 });
    await upload()(stack.drop('p/damaged.mp3', mp3Silence()));
    stack.cos.clearFaults();
    const id = jobId(BUCKET, 'p/damaged.mp3', stack.cos.object(BUCKET, 'p/damaged.mp3')!.etag);
    stack.cos.putDirect(BUCKET, `${LEDGER}jobs/${id}/0`, Buffer.from('{"v":2,"state":"qu'));
    await report()({ Type: 'Timer' });
    const line = stack.logs.find((l) => l.includes('queued job has an unreadable version'));
    expect(line && JSON.parse(line)).toMatchObject({ level: 'error', code: 'LedgerCorrupt', key: 'p/damaged.mp3', job: id });
    expect(stack.ccc.files).toHaveLength(0);
  });

  test('listings a second late: a burst is still sent whole by the sender that accepted it', async () => {
    stack = await startStack({}, { IVR_LIST_LAG_MS: '1500' });
    stack.cos.listLagMs = 1000;
    const keys = Array.from({ length: 12 }, (_, i) => `p/lag${i}.mp3`);
    await Promise.all(keys.map((k, i) => upload()(stack.drop(k, mp3Silence(2 + i)))));
    for (const k of keys) expect(status(k)).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(12);
  }, 30000);
});

describe('platform: killed at each step of the walk (real HTTP), then SCF redelivers and the recovery pass runs', () => {
  const steps: Array<[string, CosFault]> = [
    ['writing the queue entry', { op: 'PUT', keyPrefix: `${LEDGER}queue/` }],
    ['showing queued', { op: 'COPY' }],
    ['creating the job', { op: 'PUT', keyPrefix: `${LEDGER}jobs/` }],
    ['taking the send lease', { op: 'PUT', keyPrefix: `${LEDGER}send/` }],
    ['writing the sending version', { op: 'PUT', keyPrefix: `${LEDGER}jobs/`, after: 1 }],
    ['recording the FileId', { op: 'PUT', keyPrefix: `${LEDGER}files/` }],
    ['recording the outcome', { op: 'PUT', keyPrefix: `${LEDGER}jobs/`, after: 2 }],
    ['showing the outcome', { op: 'COPY', after: 1 }],
  ];
  /**
   * Runs `event` through `invocation` until the write `at` commits, then fails every request (the
   * instance is gone); SCF delivers it again a minute later and the recovery pass runs. The file
   * must end uploaded, registered once (`registered` files in all), with nothing left queued.
   */
  async function killedThenFinished(at: CosFault, event: unknown, invocation: (e: unknown) => Promise<unknown>, registered: number): Promise<void> {
    let killed = false;
    stack.cos.inject({
      ...at,
      resetAfterCommit: true,
      times: 1,
      before: () => {
        killed = true;
        stack.cos.inject({ reset: true, times: 100000 });
      },
    });
    await invocation(event).catch(() => undefined);
    // The kill really happened at that step (the targeted write was reached), and every request after it failed.
    expect(killed).toBe(true);
    expect(stack.cos.requests.filter((r) => r.status === 0 || r.status >= 500).length).toBeGreaterThan(0);
    stack.cos.clearFaults();
    stack.clock.advance(60_000);
    await deliver(event).catch(() => undefined);
    stack.clock.advance(300_000);
    await report()({ Type: 'Timer' });
    expect(status('p/k.mp3')).toBe('uploaded');
    expect(stack.ccc.files).toHaveLength(registered);
    expect(stack.cos.keys(BUCKET, `${LEDGER}queue/`)).toHaveLength(0);
  }

  test.each(steps)('killed after %s: ends uploaded, registered once, nothing left queued', async (_step, at) => {
    stack = await startStack();
    await killedThenFinished(at, stack.drop('p/k.mp3', mp3Silence()), upload(), 1);
  }, 60000);

  // A warm instance that saw the system idle sends its next file at once: the job's version 0 is
  // its `sending` version (see JobVersion.unwritten), written after the call entry.
  const warmSteps: Array<[string, CosFault]> = [
    ['writing the queue entry', { op: 'PUT', keyPrefix: `${LEDGER}queue/` }],
    ['appending its call', { op: 'PUT', keyPrefix: `${LEDGER}send/` }],
    ['creating the job as sending', { op: 'PUT', keyPrefix: `${LEDGER}jobs/` }],
    ['recording the FileId', { op: 'PUT', keyPrefix: `${LEDGER}files/` }],
    ['recording the outcome', { op: 'PUT', keyPrefix: `${LEDGER}jobs/`, after: 1 }],
    ['showing the outcome', { op: 'COPY' }],
  ];
  test.each(warmSteps)('a warm instance killed after %s: ends uploaded, registered once, nothing left queued', async (_step, at) => {
    stack = await startStack();
    const warm = upload();
    await warm(stack.drop('p/first.mp3', mp3Silence(2)));
    stack.clock.advance(60_000);
    await killedThenFinished(at, stack.drop('p/k.mp3', mp3Silence()), warm, 2);
  }, 60000);

  test.each([
    ['COS 3 minutes ahead', 180_000, 0],
    ['COS 3 minutes behind', -180_000, 0],
    ['CCC 3 minutes ahead', 0, 180_000],
    ['CCC 3 minutes behind', 0, -180_000],
    // Beyond COS's signature window: refused once, then the COS SDK signs on COS's time, from its Date header.
    ['COS a day ahead', 86_400_000, 0],
    ['COS a day behind', -86_400_000, 0],
  ])('clock skew (%s) is tolerated', async (_l, cosSkew, cccSkew) => {
    stack = await startStack();
    stack.cos.clock = () => Date.now() + cosSkew;
    stack.ccc.clock = () => Date.now() + cccSkew;
    // The COS SDK says so on the console when it re-signs on COS's time (kept out of the test log, and checked).
    const said = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await upload()(stack.drop('p/s.mp3', mp3Silence()));
      expect(status('p/s.mp3')).toBe('uploaded');
      expect(said.mock.calls.map((c) => String(c[0]))).toEqual(Math.abs(cosSkew) > 15 * 60_000 ? ['error: Local time is too skewed.'] : []);
    } finally {
      said.mockRestore();
    }
  });

  test('clock skew beyond five minutes at CCC fails the file, after its attempts, with SignatureExpire', async () => {
    stack = await startStack({}, { IVR_MAX_ATTEMPTS: '1' });
    stack.ccc.clock = () => Date.now() + 400_000;
    await upload()(stack.drop('p/s.mp3', mp3Silence()));
    expect(stack.meta('p/s.mp3')).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'AuthFailure.SignatureExpire' });
  });

  test('the quota day rolls over during a burst: never more than the quota on either day, the new day\'s slot used, no refusal', async () => {
    stack = await startStack({ dailyQuota: 1 }, { IVR_DAILY_QUOTA: '1' });
    // 23:59:59 China Standard Time, for the function and for CCC alike.
    const cst = stack.clock.now() + 8 * 3600_000;
    stack.clock.advance(86_400_000 - (cst % 86_400_000) - 1000);
    const drops = ['p/d1.mp3', 'p/d2.mp3', 'p/d3.mp3'].map((k, i) => stack.drop(k, mp3Silence(3 + i)));
    await Promise.all(drops.map((e) => upload()(e).catch(() => undefined)));
    stack.clock.advance(300_000);
    await report()({ Type: 'Timer' });
    const byDay = new Map<string, number>();
    for (const f of stack.ccc.files) byDay.set(stack.ccc.quotaDay(f.uploadedAt), (byDay.get(stack.ccc.quotaDay(f.uploadedAt)) ?? 0) + 1);
    for (const n of byDay.values()) expect(n).toBeLessThanOrEqual(1);
    // Whether one goes out before midnight depends on how fast the burst starts; the new day's
    // slot is used either way (by the recovery pass at the latest), and every file not registered
    // waits for a later day, none refused or lost.
    expect(byDay.get(stack.ccc.quotaDay(stack.clock.now()))).toBe(1);
    const statuses = ['p/d1.mp3', 'p/d2.mp3', 'p/d3.mp3'].map(status);
    expect(statuses.filter((s) => s === 'uploaded')).toHaveLength(stack.ccc.files.length);
    expect(statuses.filter((s) => s !== 'uploaded')).toEqual(Array(3 - stack.ccc.files.length).fill('deferred'));
    expect(stack.ccc.refusedForQuota.size).toBe(0);
  });
});

/** A COS record as a test spoils it: any field may be set to a wrong type or removed. */
type Spoilable = { cos: { cosObject: Record<string, unknown>; cosBucket?: Record<string, unknown> }; event: Record<string, unknown> };

describe('hostile and bad input', () => {
  beforeEach(async () => {
    stack = await startStack();
  });

  test.each([
    ['key is a number', (r: Spoilable) => (r.cos.cosObject.key = 42)],
    ['bucket is missing', (r: Spoilable) => delete r.cos.cosBucket],
    ['event name is missing', (r: Spoilable) => delete r.event.eventName],
    ['appid is not numeric', (r: Spoilable) => (r.cos.cosBucket!.appid = 'abc')],
    ['key outside the bucket path', (r: Spoilable) => { r.cos.cosObject.key = '/999/other/x.mp3'; delete r.cos.cosObject.url; }],
  ])('a record whose %s is rejected with EventInvalid, the others still run', async (_l, spoil) => {
    stack.cos.putDirect(BUCKET, 'p/ok.mp3', mp3Silence());
    const bad = stack.event('p/ok.mp3');
    spoil(bad as unknown as Spoilable);
    const s = await upload()({ Records: [bad, stack.event('p/ok.mp3')] });
    expect(s.results.map((r) => r.status)).toEqual(['rejected', 'uploaded']);
    expect(s.results[0].code).toBe('EventInvalid');
  });

  test.each([
    ['control characters', 'p/bell\u0007.mp3', 'KeyInvalid'],
    ['a very long key', `p/${'x'.repeat(900)}.mp3`, 'KeyInvalid'],
    ['../ segments', 'p/../../etc/passwd.mp3', 'KeyInvalid'],
  ])('a key with %s is refused without an API call', async (_l, key, code) => {
    const s = await upload()(cosEvent(stack.event(key)));
    expect(s.results[0]).toMatchObject({ status: 'rejected', code });
    expect(stack.ccc.calls).toHaveLength(0);
    expect(stack.logs.some((l) => l.includes(code))).toBe(true);
  });

  test('invalid percent-encoding in the key is taken literally', async () => {
    stack.cos.putDirect(BUCKET, 'p/bad%zz.mp3', mp3Silence());
    const rec = stack.event('p/bad%zz.mp3');
    delete (rec.cos.cosObject as { url?: string }).url;
    const s = await upload()(cosEvent(rec));
    expect(s.results[0]).toMatchObject({ status: 'uploaded', key: 'p/bad%zz.mp3' });
  });

  test('metadata already near the 2 KB limit: the result still fits, trimmed', async () => {
    stack.cos.putDirect(BUCKET, 'p/m.mp3', mp3Silence(), { meta: { notes: 'n'.repeat(1850) } });
    await upload()(cosEvent(stack.event('p/m.mp3')));
    const meta = stack.meta('p/m.mp3');
    expect(meta).toMatchObject({ notes: 'n'.repeat(1850), 'ivr-status': 'uploaded', 'ivr-file-id': String(stack.ccc.files[0].FileId) });
  });

  test('metadata with no room left: the file is still registered, the ledger keeps the result, the log says why', async () => {
    stack.cos.putDirect(BUCKET, 'p/full.mp3', mp3Silence(), { meta: { notes: 'n'.repeat(2020) } });
    const s = await upload()(cosEvent(stack.event('p/full.mp3')));
    expect(s.results[0]).toMatchObject({ status: 'uploaded', fileId: stack.ccc.files[0].FileId });
    expect(s.results[0].message).toMatch(/2 KB/);
    expect(stack.meta('p/full.mp3')['ivr-status']).toBeUndefined();
  });

  test.each([
    ['huge', 'x'.repeat(600)],
    ['newlines', 'a\nb'],
    ['a spoofed field inside', 'x\r\nx-cos-meta-ivr-status: uploaded'],
  ])('an ivr-name that is %s is refused with IvrNameInvalid', async (_l, name) => {
    await upload()(stack.drop('p/n.mp3', mp3Silence(), { 'ivr-name': encodeURIComponent(name) }));
    expect(stack.meta('p/n.mp3')).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'IvrNameInvalid' });
    expect(stack.ccc.calls).toHaveLength(0);
  });

  test('spoofed status fields are replaced by the real result', async () => {
    await upload()(stack.drop('p/s.wav', Buffer.from('RIFF....WAVX'), { 'ivr-status': 'uploaded', 'ivr-file-id': '7', 'ivr-error-code': 'none' }));
    expect(stack.meta('p/s.wav')).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'NotAudio' });
    expect(stack.meta('p/s.wav')['ivr-file-id']).toBeUndefined();
    void wavTone;
  });
});

describe('configuration: every variable missing, empty, malformed or out of range', () => {
  const good = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key' };
  const cases: Array<[string, string | undefined]> = [
    ['CCC_SDK_APP_ID', undefined], ['CCC_SDK_APP_ID', ''], ['CCC_SDK_APP_ID', '1.5'], ['CCC_SDK_APP_ID', '-3'], ['CCC_SDK_APP_ID', '99999999999999999999'],
    ['TENCENTCLOUD_SECRETID', undefined], ['TENCENTCLOUD_SECRETID', '  '], ['TENCENTCLOUD_SECRETKEY', undefined],
    ['IVR_URL_EXPIRES', 'soon'], ['IVR_URL_EXPIRES', '59'], ['IVR_URL_EXPIRES', '86401'],
    ['CCC_ENDPOINT', 'ftp://127.0.0.1:1'], ['COS_ENDPOINT', 'http://'], ['CCC_TIMEOUT_SECONDS', '0'],
    ['IVR_AUDIO_PREFIX', 'no-slash'], ['IVR_LEDGER_PREFIX', '/abs/'], ['IVR_LEDGER_PREFIX', 'prompts-'],
    ['IVR_DAILY_QUOTA', '0'], ['IVR_DAILY_QUOTA', 'fifty'], ['IVR_QUOTA_UTC_OFFSET', '+8'], ['IVR_QUOTA_UTC_OFFSET', '+15:00'],
    ['IVR_MAX_ATTEMPTS', '11'], ['IVR_RETRY_BASE_MS', '-1'], ['IVR_MAX_BATCH', '51'], ['IVR_JOB_LEASE_SECONDS', '1'],
    ['IVR_WAIT_SECONDS', '0'], ['IVR_RETENTION_DAYS', '1'], ['IVR_REPORT_WEBHOOK', 'not a url'], ['IVR_BUCKET', 'prompts'],
  ];
  test.each(cases)('%s=%p is refused with a message naming it', (name, value) => {
    expect(() => loadConfig({ ...good, [name]: value })).toThrow(expect.objectContaining({ code: 'ConfigInvalid', message: expect.stringContaining(name) }));
  });

  test('an optional variable set empty means its default (sls deploys a setting left empty in .env as "")', () => {
    const empty = loadConfig({ ...good, IVR_LEDGER_PREFIX: '', IVR_AUDIO_PREFIX: '', IVR_DAILY_QUOTA: ' ', IVR_CONVERT: '', IVR_REPORT_WEBHOOK: '' });
    const unset = loadConfig(good);
    expect(empty).toEqual(unset);
    expect(empty.ledgerPrefix).toBe('.ivr-audio-sync/');
  });
});

describe('secrets and access', () => {
  test('the leak detector catches what it must', () => {
    expect(findLeaks([`{"e":"${TEST_CREDENTIAL.secretKey}"}`])).toHaveLength(1);
    expect(findLeaks(['http://b-1.cos.ap-gz.myqcloud.com/a.mp3?q-sign-algorithm=sha1&q-ak=AKID&q-signature=0123456789abcdef'])).toHaveLength(1);
    expect(findLeaks(['http://b-1.cos.ap-gz.myqcloud.com/a.mp3?[signed]'])).toHaveLength(0);
  });

  test('a secret pasted into the wrong variable is not quoted back in the error SCF shows', async () => {
    stack = await startStack();
    const env = { ...stack.env, CCC_SDK_APP_ID: TEST_CREDENTIAL.secretKey };
    const thrown = await upload(env)(stack.drop('p/s.mp3', mp3Silence())).then(() => undefined, (e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'ConfigInvalid', message: expect.stringMatching(/^CCC_SDK_APP_ID must be an integer/) });
    expect(String((thrown as Error).message)).not.toContain(TEST_CREDENTIAL.secretKey);
  });

  test('a signed AudioUrl works within its lifetime and is refused when replayed after it', async () => {
    stack = await startStack({}, { IVR_URL_EXPIRES: '60' });
    await upload()(stack.drop('p/u.mp3', mp3Silence()));
    const url = stack.ccc.uploadCalls()[0].audioUrls[0];
    expect(url).toContain('q-signature=');
    const get = () => new Promise<number>((resolve) => {
      const u = new URL(url);
      http.get({ host: '127.0.0.1', port: stack.cos.port, path: u.pathname + u.search, headers: { Host: u.host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
    });
    expect(await get()).toBe(200);
    const real = stack.cos.clock;
    stack.cos.clock = () => real() + 61_000;
    expect(await get()).toBe(403);
    stack.cos.clock = real;
    void REGION;
  });
});

describe("the role's temporary credentials", () => {
  const rotated = { ...TEST_CREDENTIAL, token: 'rotatedSessionToken0000000000000000000000000000' };

  test('a warm instance that finds new credentials in its environment signs with them (the services refuse the old token)', async () => {
    stack = await startStack();
    const env = { ...stack.env };
    const warm = upload(env);
    expect((await warm(stack.drop('p/before.mp3', mp3Silence()))).results[0].status).toBe('uploaded');
    // Rotation: both services now take only the new token, and SCF puts it in the environment.
    stack.cos.addCredential(rotated);
    stack.ccc.addCredential(rotated);
    env.TENCENTCLOUD_SESSIONTOKEN = rotated.token;
    expect((await warm(stack.drop('p/after.mp3', mp3Silence(3)))).results[0].status).toBe('uploaded');
    expect(status('p/after.mp3')).toBe('uploaded');
    expect(stack.ccc.files.map((f) => f.CustomFileName).sort()).toEqual(['after', 'before']);
  });

  test('credentials COS refuses are not the file\'s fault: SCF delivers again, and a delivery with good ones registers it', async () => {
    stack = await startStack();
    stack.cos.addCredential(rotated);
    stack.ccc.addCredential(rotated);
    const event = stack.drop('p/stale.mp3', mp3Silence());
    // An instance still holding the old token: every COS request is refused (InvalidAccessKeyId).
    const stale = await upload({ ...stack.env }).call(null, event).then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    );
    expect(stale).toMatchObject({ code: 'RetryScheduled' });
    expect(stale?.message).toContain('p/stale.mp3 (StorageError)');
    // SCF's next delivery lands on an instance with the current credentials.
    const fresh = await upload({ ...stack.env, TENCENTCLOUD_SESSIONTOKEN: rotated.token })(event);
    expect(fresh.results[0]).toMatchObject({ key: 'p/stale.mp3', status: 'uploaded' });
    expect(stack.ccc.files).toHaveLength(1);
  });
});

describe('bad input found by a robustness review', () => {
  const upload = () => createUpload(stack.env, stack.seams);
  const good = () => stack.drop('p/good.mp3', mp3Silence()).Records[0];
  const lines = () => stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  /** A record's fields these tests edit. */
  type Rec = { cos: { cosBucket: { name: string; appid: string }; cosObject: { key: string; url?: string } } };
  const editable = (r: unknown): Rec => JSON.parse(JSON.stringify(r)) as Rec;

  test('a record for another bucket than IVR_BUCKET is rejected WrongBucket, not registered through a second ledger', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/', IVR_BUCKET: BUCKET });
    stack.cos.putDirect('other-1250000000', 'p/o.mp3', mp3Silence(), { contentType: 'audio/mpeg' });
    const r = editable(stack.event('p/o.mp3'));
    r.cos.cosBucket.name = 'other';
    r.cos.cosObject.key = '/1250000000/other/p/o.mp3';
    r.cos.cosObject.url = r.cos.cosObject.url?.replace('prompts-', 'other-');
    const res = await upload()({ Records: [r, good()] });
    expect(res.results[1].status).toBe('uploaded');
    expect(res.results[0]).toMatchObject({ status: 'rejected', code: 'WrongBucket', message: expect.stringContaining('other-1250000000') });
    expect(stack.ccc.files).toHaveLength(1);
    expect(stack.cos.keys('other-1250000000', '.ivr-audio-sync/')).toEqual([]);
  });

  test('a record whose appid does not match is rejected WrongBucket, not "the object no longer exists"', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/', IVR_BUCKET: BUCKET });
    const r = editable(good());
    r.cos.cosBucket.appid = '1259999999';
    r.cos.cosObject.key = '/1259999999/prompts/p/good.mp3';
    const res = await upload()({ Records: [r] });
    expect(res.results[0]).toMatchObject({ status: 'rejected', code: 'WrongBucket' });
  });

  test('a permanent COS error (403) is reported as rejected, not "retrying" when nothing will retry it', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/' });
    stack.cos.putDirect(BUCKET, 'p/deny.mp3', mp3Silence(), { contentType: 'audio/mpeg' });
    stack.cos.inject({ op: 'GET', keyPrefix: 'p/deny', status: 403, code: 'AccessDenied', times: 10 });
    const res = await upload()(cosEvent(stack.event('p/deny.mp3'), good()));
    expect(res.results[1].status).toBe('uploaded');
    expect(res.results[0]).toMatchObject({ status: 'rejected', code: 'StorageError', retry: false, message: expect.stringContaining('AccessDenied') });
    const done = lines().find((l) => l.msg === 'record done' && l.key === 'p/deny.mp3')!;
    expect(done.level).toBe('warn');
  });

  test('a key that is not valid Unicode (lone surrogate) is rejected KeyInvalid, not retried by SCF', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/' });
    const r = editable(good());
    r.cos.cosObject.key = '/1250000000/prompts/p/x\ud800.mp3';
    delete r.cos.cosObject.url;
    const res = await upload()({ Records: [r, good()] });
    expect(res.results[0]).toMatchObject({ status: 'rejected', code: 'KeyInvalid' });
  });

  test('the other (raw) reading of a key is held to the prefix rule too', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/' });
    stack.cos.putDirect(BUCKET, 'p%2Fx.mp3', mp3Silence(), { contentType: 'audio/mpeg' });
    const r = editable(stack.event('p%2Fx.mp3'));
    delete r.cos.cosObject.url; // read as p/x.mp3 (within p/, no such object), then as p%2Fx.mp3 (outside p/)
    const res = await upload()({ Records: [r, good()] });
    expect(res.results[0].status).toBe('rejected');
    expect(stack.meta('p%2Fx.mp3')['ivr-status']).toBeUndefined();
  });

  test('every record of an event is taken, however many (none is refused for the count alone)', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/' });
    const last = good();
    const filler = Array.from({ length: 1005 }, (_, i) => stack.event(`p/missing${i}.mp3`));
    const res = await upload()({ Records: [...filler, last] });
    expect(res.results[1005]).toMatchObject({ key: 'p/good.mp3', status: 'uploaded' });
    expect(res.results.filter((r) => r.status === 'rejected' && r.code === 'ObjectNotFound')).toHaveLength(1005);
  }, 60000);

  test('a raw UTF-8 (not URL-encoded) x-cos-meta-ivr-name is refused as not URL-encoded, not registered garbled', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/' });
    const raw = (t: string) => Buffer.from(t, 'utf8').toString('latin1'); // what an HTTP client reads back for raw UTF-8 bytes
    stack.cos.putDirect(BUCKET, 'p/r1.mp3', mp3Silence(), { contentType: 'audio/mpeg', meta: { 'ivr-name': raw('你好') } });
    stack.cos.putDirect(BUCKET, 'p/r2.mp3', mp3Silence(), { contentType: 'audio/mpeg', meta: { 'ivr-name': raw('欢迎') } });
    const res = await upload()(cosEvent(stack.event('p/r1.mp3'), stack.event('p/r2.mp3')));
    expect(res.results[0]).toMatchObject({ status: 'failed', code: 'IvrNameInvalid' });
    expect(res.results[1].message).toMatch(/URL-encoded/);
    expect(res.results[1].message).not.toMatch(/control characters/);
  });

  test('an object whose metadata cannot hold the status: MetadataTooLarge in the result and a warn "record done" line', async () => {
    stack = await startStack({}, { IVR_AUDIO_PREFIX: 'p/' });
    stack.cos.putDirect(BUCKET, 'p/full.mp3', mp3Silence(), { contentType: 'audio/mpeg', meta: { big: 'x'.repeat(2048 - 'x-cos-meta-big'.length - 10) } });
    const res = await upload()(cosEvent(stack.event('p/full.mp3')));
    expect(res.results[0].code).toBe('MetadataTooLarge');
    const done = lines().find((l) => l.msg === 'record done' && l.key === 'p/full.mp3')!;
    expect(done.level).toBe('warn');
  });
});
