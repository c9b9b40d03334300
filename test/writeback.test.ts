/**
 * The metadata write-back against headers the operator changes after the upload, over HTTP with
 * the real SDKs. Changing an object's headers in the COS console (or `coscli`, or any SDK) is a
 * PUT Object - Copy of the object onto itself with `Replaced`: the content and so its ETag stay
 * the same, and its `cos:ObjectCreated:Copy` event never reaches the function (the trigger does
 * not listen to copies). "Every other user metadata, content type and cache header on the object
 * is kept as it was" must hold for such a change too; so must the storage class and encryption the
 * object was uploaded with, which no copy carries over unless it names them.
 */
import COS from 'cos-nodejs-sdk-v5';
import { createHandler } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { TEST_CREDENTIAL } from '../scripts/local/fakes/credentials';
import { mp3Silence } from './audio';
import { BUCKET, REGION, startStack, type Stack } from './harness';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(() => stack.stop());

/** What the console's "edit headers" does: a self-copy that resends everything and changes what the operator changed. */
async function editHeaders(key: string, change: { standard?: Record<string, string>; meta?: Record<string, string> }): Promise<void> {
  const cos = new COS({ SecretId: TEST_CREDENTIAL.secretId, SecretKey: TEST_CREDENTIAL.secretKey, SecurityToken: TEST_CREDENTIAL.token, Ip: `127.0.0.1:${stack.cos.port}`, Protocol: 'http:', AutoSwitchHost: false });
  const head = await cos.headObject({ Bucket: BUCKET, Region: REGION, Key: key });
  const h = head.headers as Record<string, string>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) if (name.startsWith('x-cos-meta-')) headers[name] = value;
  for (const [name, value] of Object.entries(change.meta ?? {})) headers[`x-cos-meta-${name}`] = value;
  const standard: Record<string, string> = { 'content-type': h['content-type'], ...change.standard };
  await cos.putObjectCopy({
    Bucket: BUCKET,
    Region: REGION,
    Key: key,
    CopySource: `${BUCKET}.cos.${REGION}.myqcloud.com/${key}`,
    MetadataDirective: 'Replaced',
    ContentType: standard['content-type'],
    CacheControl: standard['cache-control'],
    ContentDisposition: standard['content-disposition'],
    Headers: headers,
  });
}

test('headers the operator sets in the console after the upload survive the review refresh', async () => {
  const key = 'prompts/edited.mp3';
  const etag = stack.cos.putDirect(BUCKET, key, mp3Silence(), { contentType: 'audio/mpeg', meta: { owner: 'alice' } }).etag;
  await createHandler(stack.env, stack.seams)({ Records: [stack.event(key)] }, { request_id: 'scf-req-1' });
  expect(stack.meta(key)).toMatchObject({ 'ivr-status': 'uploaded', 'ivr-review': 'pending', owner: 'alice' });

  // The operator, in the console: a cache header, a download name, a new owner and a ticket.
  await editHeaders(key, { standard: { 'cache-control': 'max-age=600', 'content-disposition': 'attachment; filename="edited.mp3"' }, meta: { owner: 'bob', ticket: encodeURIComponent('工单-42') } });
  expect(stack.cos.object(BUCKET, key)!.etag).toBe(etag); // same content, same version

  // Minutes later CCC approves the file; the timer's pass writes the verdict onto the object.
  // (Within HEADERS_FRESH_MS of the intake a write-back resends the headers as the intake read
  // them, without a HEAD: see the next test.)
  stack.clock.advance(5 * 60_000);
  stack.ccc.review(stack.ccc.files[0].FileId, 1);
  await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });

  const o = stack.cos.object(BUCKET, key)!;
  expect(o.meta['ivr-review']).toBe('approved');
  expect({ owner: o.meta.owner, ticket: o.meta.ticket, standard: o.standard }).toEqual({
    owner: 'bob',
    ticket: encodeURIComponent('工单-42'),
    standard: { 'content-type': 'audio/mpeg', 'cache-control': 'max-age=600', 'content-disposition': 'attachment; filename="edited.mp3"' },
  });
});

test('the normal path reads no headers again: a file sent and settled within seconds of its intake costs no HEAD for its write-back', async () => {
  const key = 'prompts/plain.mp3';
  stack.cos.putDirect(BUCKET, key, mp3Silence(), { contentType: 'audio/mpeg', meta: { owner: 'alice' } });
  await createHandler(stack.env, stack.seams)({ Records: [stack.event(key)] }, { request_id: 'scf-req-1' });
  expect(stack.meta(key)).toMatchObject({ 'ivr-status': 'uploaded', owner: 'alice' });
  expect(stack.cos.requests.filter((r) => r.op === 'HEAD' && r.key === key)).toHaveLength(0);
});

test('the storage class and server-side encryption an object was uploaded with survive every status write (a copy resets both unless it names them)', async () => {
  const cos = new COS({ SecretId: TEST_CREDENTIAL.secretId, SecretKey: TEST_CREDENTIAL.secretKey, SecurityToken: TEST_CREDENTIAL.token, Ip: `127.0.0.1:${stack.cos.port}`, Protocol: 'http:', AutoSwitchHost: false });
  const kept = {
    'prompts/ia.mp3': { StorageClass: 'STANDARD_IA', ServerSideEncryption: 'AES256' },
    'prompts/kms.mp3': { StorageClass: 'INTELLIGENT_TIERING', ServerSideEncryption: 'cos/kms', SSEKMSKeyId: 'kms-key-7' },
    // SSE-COS with the SM4 algorithm (COS's other SSE-COS choice besides AES256).
    'prompts/sm4.mp3': { StorageClass: 'MAZ_STANDARD', ServerSideEncryption: 'SM4' },
  } as const;
  for (const [key, storage] of Object.entries(kept)) await cos.putObject({ Bucket: BUCKET, Region: REGION, Key: key, Body: mp3Silence(), ContentType: 'audio/mpeg', ...storage });
  const storageOf = (key: string) => {
    const s = stack.cos.object(BUCKET, key)!.standard;
    return { cls: s['x-cos-storage-class'], sse: s['x-cos-server-side-encryption'], kms: s['x-cos-server-side-encryption-cos-kms-key-id'] };
  };
  const expected = { 'prompts/ia.mp3': { cls: 'STANDARD_IA', sse: 'AES256', kms: undefined }, 'prompts/kms.mp3': { cls: 'INTELLIGENT_TIERING', sse: 'cos/kms', kms: 'kms-key-7' }, 'prompts/sm4.mp3': { cls: 'MAZ_STANDARD', sse: 'SM4', kms: undefined } };

  // The intake's own write-back (headers read seconds ago, resent as read).
  await createHandler(stack.env, stack.seams)({ Records: Object.keys(kept).map((k) => stack.event(k)) }, { request_id: 'scf-req-1' });
  for (const key of Object.keys(kept)) expect(stack.meta(key)['ivr-status']).toBe('uploaded');
  expect(Object.fromEntries(Object.keys(kept).map((k) => [k, storageOf(k)]))).toEqual(expected);

  // A review verdict written minutes later (headers read again first).
  stack.clock.advance(5 * 60_000);
  for (const f of stack.ccc.files) stack.ccc.review(f.FileId, 1);
  await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
  for (const key of Object.keys(kept)) expect(stack.meta(key)['ivr-review']).toBe('approved');
  expect(Object.fromEntries(Object.keys(kept).map((k) => [k, storageOf(k)]))).toEqual(expected);
});

test('the fake COS resets the storage class and encryption on a copy that does not name them, as COS does', async () => {
  const cos = new COS({ SecretId: TEST_CREDENTIAL.secretId, SecretKey: TEST_CREDENTIAL.secretKey, SecurityToken: TEST_CREDENTIAL.token, Ip: `127.0.0.1:${stack.cos.port}`, Protocol: 'http:', AutoSwitchHost: false });
  const key = 'prompts/reset.mp3';
  await cos.putObject({ Bucket: BUCKET, Region: REGION, Key: key, Body: mp3Silence(), StorageClass: 'STANDARD_IA', ServerSideEncryption: 'AES256' });
  const before = (await cos.headObject({ Bucket: BUCKET, Region: REGION, Key: key })).headers as Record<string, string>;
  expect([before['x-cos-storage-class'], before['x-cos-server-side-encryption']]).toEqual(['STANDARD_IA', 'AES256']);
  await cos.putObjectCopy({ Bucket: BUCKET, Region: REGION, Key: key, CopySource: `${BUCKET}.cos.${REGION}.myqcloud.com/${key}`, MetadataDirective: 'Replaced', Headers: { 'x-cos-meta-a': '1' } });
  const after = (await cos.headObject({ Bucket: BUCKET, Region: REGION, Key: key })).headers as Record<string, string>;
  expect([after['x-cos-storage-class'], after['x-cos-server-side-encryption']]).toEqual([undefined, undefined]);
});

test('an object uploaded in archive storage is refused with ObjectArchived and what to do, not retried', async () => {
  const key = 'prompts/archived.mp3';
  stack.cos.putDirect(BUCKET, key, mp3Silence(), { contentType: 'audio/mpeg', standard: { 'x-cos-storage-class': 'DEEP_ARCHIVE' } });
  const out = await createHandler(stack.env, stack.seams)({ Records: [stack.event(key)] }, { request_id: 'scf-req-1' });
  expect(out.results).toEqual([expect.objectContaining({ key, status: 'rejected', code: 'ObjectArchived', retry: false })]);
  expect(out.results[0].message).toMatch(/archive storage .*upload it again as STANDARD or STANDARD_IA/);
  expect(stack.ccc.uploadCalls()).toHaveLength(0);
});
