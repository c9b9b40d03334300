/**
 * Bucket versioning, which takes away the ledger's one atomic operation: COS ignores
 * `x-cos-forbid-overwrite` on a bucket that ever had versioning enabled, suspended since or not
 * (platform.md §3, §8). Here: the fake COS shows and switches versioning as COS does, over the
 * official SDK, and stops honouring forbid-overwrite once it was ever enabled.
 */
import COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FakeCredential } from '../scripts/local/fakes/credentials';
import { FakeCos } from '../scripts/local/fakes/fake-cos';
import { IvrError } from '../shared/core/errors';
import { fixFor } from '../shared/core/fixes';
import { createIfAbsentHolds, versioningAlert, versioningCheckDue, versioningFromStatus } from '../shared/core/versioning';
import { CosBucket, createCosClient } from '../shared/sdk/cos';
import { MemoryStore } from '../shared/store/store';

const BUCKET = 'prompts-1250000000';
const REGION = 'ap-guangzhou';
/** The account owner switching versioning on in the console: no policy of ours is involved. */
const OPERATOR: FakeCredential = { secretId: 'AKIDversioningOperator0000000000', secretKey: 'versioningOperatorSecretKey00000', role: 'operator' };

const sdk = (cos: FakeCos, cred: FakeCredential = OPERATOR) => new COS({ SecretId: cred.secretId, SecretKey: cred.secretKey, SecurityToken: cred.token, Ip: `127.0.0.1:${cos.port}`, Protocol: 'http:', AutoSwitchHost: false });

/** Two PUTs of one key with `x-cos-forbid-overwrite: true`: whether the second was refused, and what the key holds after. */
async function createTwice(client: COS, key: string): Promise<{ second: number; body: string }> {
  const put = (body: string) => client.putObject({ Bucket: BUCKET, Region: REGION, Key: key, Body: Buffer.from(body), Headers: { 'x-cos-forbid-overwrite': 'true' } });
  await put('first');
  let second = 200;
  try {
    await put('second');
  } catch (e) {
    second = (e as { statusCode?: number }).statusCode ?? -1;
  }
  const got = await client.getObject({ Bucket: BUCKET, Region: REGION, Key: key });
  return { second, body: String(got.Body) };
}

describe('the decisions (shared/core/versioning.ts)', () => {
  test('GET Bucket versioning read: no Status is never versioned; Enabled and Suspended as they are; anything else is not understood (never "not versioned")', () => {
    expect([undefined, null, ''].map(versioningFromStatus)).toEqual(['Never', 'Never', 'Never']);
    expect(versioningFromStatus('Enabled')).toBe('Enabled');
    expect(versioningFromStatus('Suspended')).toBe('Suspended');
    expect(['Disabled', 'enabled', 1, {}].map(versioningFromStatus)).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('create-if-absent holds only on a bucket that never had versioning: a suspended one had it', () => {
    expect(createIfAbsentHolds('Never')).toBe(true);
    expect(createIfAbsentHolds('Enabled')).toBe(false);
    expect(createIfAbsentHolds('Suspended')).toBe(false);
  });

  test('the alert names the bucket, the state, what goes wrong and what to do; none for a bucket that never had versioning', () => {
    expect(versioningAlert(BUCKET, 'Never')).toBeUndefined();
    const on = versioningAlert(BUCKET, 'Enabled')!;
    expect(on).toMatchObject({ code: 'BucketVersioned', status: 'Enabled' });
    expect(on.message).toMatch(new RegExp(`^bucket ${BUCKET} has versioning enabled: COS then ignores x-cos-forbid-overwrite`));
    expect(on.message).toMatch(/registered in CCC twice.*cannot be switched off.*set IVR_BUCKET to it, deploy again/);
    expect(versioningAlert(BUCKET, 'Suspended')!.message).toMatch(/versioning suspended \(so it was enabled once\)/);
    expect(fixFor('BucketVersioned', 'then upload it again.')).toMatch(/never had versioning, set IVR_BUCKET to it and deploy again/);
  });

  test('the recovery pass checks once per quota day: when no check of today is known', () => {
    expect(versioningCheckDue(undefined, '2026-11-26')).toBe(true);
    expect(versioningCheckDue({ day: '2026-11-25', versioning: 'Never' }, '2026-11-26')).toBe(true);
    expect(versioningCheckDue({ day: '2026-11-26', versioning: 'Never' }, '2026-11-26')).toBe(false);
    expect(versioningCheckDue({ day: '2026-11-26', versioning: 'Enabled' }, '2026-11-26')).toBe(false);
  });

  test('the in-memory store answers as a test sets it, and then overwrites on create, as COS does', async () => {
    const store = new MemoryStore();
    expect(await store.versioning()).toBe('Never');
    expect(await store.create('k', 'a')).toBe(true);
    expect(await store.create('k', 'b')).toBe(false);
    store.bucketVersioning = 'Suspended';
    expect(await store.versioning()).toBe('Suspended');
    expect(await store.create('k', 'c')).toBe(true);
    expect(await store.get('k')).toBe('c');
    expect(store.ops.filter((o) => o.op === 'versioning')).toHaveLength(2);
  });
});

describe('the fake COS: GET/PUT Bucket versioning, and forbid-overwrite once versioning was ever enabled', () => {
  let cos: FakeCos;
  beforeEach(async () => {
    cos = await new FakeCos({ credentials: [OPERATOR] }).start();
    cos.createBucket(BUCKET);
  });
  afterEach(() => cos.stop());

  test('a bucket that never had versioning shows a configuration without Status, and forbid-overwrite holds', async () => {
    const client = sdk(cos);
    const got = await client.getBucketVersioning({ Bucket: BUCKET, Region: REGION });
    expect(got.statusCode).toBe(200);
    expect(got.VersioningConfiguration).toEqual({});
    expect(cos.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['GET_VERSIONING 200']);
    expect(await createTwice(client, '.ivr-audio-sync/send/1')).toEqual({ second: 409, body: 'first' });
  });

  test.each(['Enabled', 'Suspended'] as const)('once enabled, then %s: GET shows it, and forbid-overwrite is ignored (the second create overwrites)', async (then) => {
    const client = sdk(cos);
    await client.putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: { Status: 'Enabled' } });
    if (then === 'Suspended') await client.putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: { Status: 'Suspended' } });
    expect((await client.getBucketVersioning({ Bucket: BUCKET, Region: REGION })).VersioningConfiguration).toEqual({ Status: then });
    expect(await createTwice(client, '.ivr-audio-sync/send/1')).toEqual({ second: 200, body: 'second' });
    expect(cos.requests.filter((r) => r.op === 'PUT_VERSIONING' || r.op === 'GET_VERSIONING').map((r) => `${r.op} ${r.status}`)).toEqual([
      'PUT_VERSIONING 200',
      ...(then === 'Suspended' ? ['PUT_VERSIONING 200'] : []),
      'GET_VERSIONING 200',
    ]);
  });

  test('a status other than Enabled or Suspended is refused as COS does (MalformedXML), and changes nothing', async () => {
    const client = sdk(cos);
    const bad = { Status: 'Disabled' } as unknown as COS.VersioningConfiguration;
    await expect(client.putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: bad })).rejects.toMatchObject({ statusCode: 400, code: 'MalformedXML' });
    expect(cos.versioningOf(BUCKET)).toBeUndefined();
  });

  test('the request is signed like any other (a wrong key is refused), and an unknown bucket is NoSuchBucket', async () => {
    const forged = sdk(cos, { ...OPERATOR, secretKey: 'not-the-key-00000000000000000000' });
    await expect(forged.getBucketVersioning({ Bucket: BUCKET, Region: REGION })).rejects.toMatchObject({ statusCode: 403, code: 'SignatureDoesNotMatch' });
    await expect(sdk(cos).getBucketVersioning({ Bucket: 'other-1250000000', Region: REGION })).rejects.toMatchObject({ statusCode: 404, code: 'NoSuchBucket' });
  });

  test('the COS adapter reads it in one request with the official SDK; no bucket, or a refusal, is a StorageError naming COS\'s code', async () => {
    const bucket = (name: string, cred: FakeCredential = OPERATOR) => new CosBucket(createCosClient({ credentials: { secretId: cred.secretId, secretKey: cred.secretKey }, cosEndpoint: { protocol: 'http:', hostname: '127.0.0.1', port: cos.port } }), name, REGION, 'http:');
    expect(await bucket(BUCKET).versioning()).toBe('Never');
    cos.setVersioning(BUCKET, 'Enabled');
    expect(await bucket(BUCKET).versioning()).toBe('Enabled');
    cos.setVersioning(BUCKET, 'Suspended');
    expect(await bucket(BUCKET).versioning()).toBe('Suspended');
    expect(cos.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['GET_VERSIONING 200', 'GET_VERSIONING 200', 'GET_VERSIONING 200']);
    const missing = await bucket('other-1250000000').versioning().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(IvrError);
    expect(missing).toMatchObject({ code: 'StorageError', message: expect.stringMatching(/^COS GET Bucket versioning of other-1250000000 \(ap-guangzhou\) failed: NoSuchBucket/) });
    cos.inject({ op: 'GET_VERSIONING', status: 403, code: 'AccessDenied' });
    await expect(bucket(BUCKET).versioning()).rejects.toMatchObject({ code: 'StorageError', message: expect.stringContaining('failed: AccessDenied') });
  });

  test('the local stack keeps it across a restart: a bucket that had versioning stays one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-cos-versioning-'));
    try {
      const first = await new FakeCos({ credentials: [OPERATOR], dataDir: dir }).start();
      first.putDirect(BUCKET, 'prompts/a.mp3', Buffer.from('a'));
      await sdk(first).putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: { Status: 'Suspended' } });
      await sdk(first).putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: { Status: 'Enabled' } });
      await sdk(first).putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: { Status: 'Suspended' } });
      await first.stop();
      const again = await new FakeCos({ credentials: [OPERATOR], dataDir: dir }).start();
      try {
        expect(again.keys(BUCKET)).toEqual(['prompts/a.mp3']);
        expect(again.versioningOf(BUCKET)).toBe('Suspended');
        expect(await createTwice(sdk(again), '.ivr-audio-sync/send/1')).toEqual({ second: 200, body: 'second' });
      } finally {
        await again.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
