/**
 * The metadata write-back against headers the operator changes after the upload, over HTTP with
 * the real SDKs. Changing an object's headers in the COS console (or `coscli`, or any SDK) is a
 * PUT Object - Copy of the object onto itself with `Replaced`: the content and so its ETag stay
 * the same, and its `cos:ObjectCreated:Copy` event never reaches the function (the trigger does
 * not listen to copies). "Every other user metadata, content type and cache header on the object
 * is kept as it was" must hold for such a change too.
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
