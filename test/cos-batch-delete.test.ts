/**
 * DELETE Multiple Objects as COS answers it, over HTTP with the real SDK. COS checks
 * `cos:DeleteObject` object by object, also inside a batch: a key the role may not delete is not
 * deleted, and the answer is still HTTP 200, with that key listed as an `<Error>` (Quiet mode
 * leaves out only the keys that were deleted: cloud.tencent.com/document/api/436/8289). A lone
 * DELETE of the same key is a 403. Both must read as a failed delete, not as a done one.
 */
import COS from 'cos-nodejs-sdk-v5';
import { createHandler } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { IvrError } from '../shared/core/errors';
import { CosBucket } from '../shared/sdk/cos';
import { TEST_CREDENTIAL } from '../scripts/local/fakes/credentials';
import { cosEvent } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { BUCKET, REGION, startStack, type Stack } from './harness';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(() => stack.stop());

function bucket(): CosBucket {
  const cos = new COS({ SecretId: TEST_CREDENTIAL.secretId, SecretKey: TEST_CREDENTIAL.secretKey, SecurityToken: TEST_CREDENTIAL.token, Ip: `127.0.0.1:${stack.cos.port}`, Protocol: 'http:', AutoSwitchHost: false });
  return new CosBucket(cos, BUCKET, REGION, 'http:');
}

test('a batch delete COS answers 200 with keys it refused is a failed delete, as a lone DELETE of such a key is; the other keys are deleted', async () => {
  for (const k of ['ledger/a', 'ledger/b', 'ledger/locked-c', 'ledger/locked-d']) stack.cos.putDirect(BUCKET, k, Buffer.from('{}'));
  stack.cos.deleteDenied = (_b, key) => key.includes('/locked-');
  const b = bucket();

  const batch = await b.deleteMany(['ledger/a', 'ledger/locked-c', 'ledger/b', 'ledger/locked-d', 'ledger/never-there']).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(batch).toBeInstanceOf(IvrError);
  expect((batch as IvrError).code).toBe('StorageError');
  expect((batch as IvrError).message).toContain('AccessDenied');
  expect((batch as IvrError).message).toContain('2 of 5');
  expect((batch as IvrError).transient).toBe(false);
  // What COS did delete is gone; a key that was not there counts as deleted, as for a lone DELETE.
  expect(stack.cos.keys(BUCKET, 'ledger/')).toEqual(['ledger/locked-c', 'ledger/locked-d']);
  expect(stack.cos.requests.filter((r) => r.op === 'DELETE_MULTI').map((r) => r.status)).toEqual([200]);

  const lone = await b.deleteMany(['ledger/locked-c']).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((lone as IvrError).code).toBe('StorageError');
  expect((lone as IvrError).message).toContain('AccessDenied');
});

test('settled queue entries the role may not delete are reported by the sender whether it deleted one or two of them', async () => {
  // A role without cos:DeleteObject on the ledger's queue: each lone DELETE is a 403, and a batch
  // an HTTP 200 listing every key as refused.
  stack.cos.deleteDenied = (_b, key) => key.includes('/queue/');
  stack.cos.putDirect(BUCKET, 'prompts/one.mp3', mp3Silence(2), { contentType: 'audio/mpeg' });
  stack.cos.putDirect(BUCKET, 'prompts/two.mp3', mp3Silence(3), { contentType: 'audio/mpeg' });
  const res = (await createHandler(stack.env, stack.seams)(cosEvent(stack.event('prompts/one.mp3'), stack.event('prompts/two.mp3')), { request_id: 'scf-req-1' })) as { results: Array<{ status: string }> };
  expect(res.results.map((r) => r.status)).toEqual(['uploaded', 'uploaded']);
  expect(stack.cos.requests.filter((r) => r.op === 'DELETE_MULTI').map((r) => r.status)).toEqual([200]);
  // Both entries are still there, and the sender says so instead of counting them deleted.
  expect(stack.cos.keys(BUCKET).filter((k) => k.includes('/queue/'))).toHaveLength(2);
  const warned = stack.logs.filter((l) => l.includes('could not delete settled queue entries'));
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain('"count":2');
});

test('a ledger the role may not prune still gets its daily report: the refused prune is an error line, not a failed pass', async () => {
  // A review marker past the retention: the day's first pass after midnight deletes it.
  stack.cos.putDirect(BUCKET, '.ivr-audio-sync/reviewed/4242', Buffer.from('{"review":"approved"}'));
  stack.cos.deleteDenied = (_b, key) => key.includes('/reviewed/');
  stack.clock.advance(36 * 24 * 3600_000);
  const pass = (await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' })) as { report?: { day: string; report: { actions: { pruned: number } } } };
  expect(pass.report?.report.actions.pruned).toBe(0);
  expect(stack.cos.keys(BUCKET, `.ivr-audio-sync/reports/${pass.report!.day}.json`)).toHaveLength(1);
  expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/reviewed/')).toEqual(['.ivr-audio-sync/reviewed/4242']);
  const errors = stack.logs.filter((l) => l.includes('ledger not pruned'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/"level":"error".*"code":"StorageError".*AccessDenied/);
});
