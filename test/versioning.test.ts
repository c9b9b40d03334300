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
