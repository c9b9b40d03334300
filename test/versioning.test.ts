/**
 * Bucket versioning, which takes away the ledger's one atomic operation: COS ignores
 * `x-cos-forbid-overwrite` on a bucket that ever had versioning enabled, suspended since or not
 * (platform.md §3, §8). Here: the pure decisions; the fake COS, which shows and switches
 * versioning as COS does over the official SDK and stops honouring forbid-overwrite once it was
 * ever enabled; the recovery pass's daily check and the senders' refusal, in memory and over
 * HTTP; and that the normal path pays no request for it. (The deploy's check is in
 * deploy-api.test.ts and sls-routing.test.ts.)
 */
import COS from 'cos-nodejs-sdk-v5';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { FakeCredential } from '../scripts/local/fakes/credentials';
import { FakeCos } from '../scripts/local/fakes/fake-cos';
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import type { Env } from '../shared/core/config';
import { IvrError } from '../shared/core/errors';
import { fixFor, UPLOAD_AGAIN } from '../shared/core/fixes';
import { buildReport, renderReportHtml, wecomMessage } from '../shared/core/report';
import { nextQuotaDayStart, quotaDay } from '../shared/core/zone';
import { setLogSink } from '../shared/runtime/log';
import type { RecoveryResult } from '../shared/workflow/recovery';
import { runRecovery } from '../shared/workflow/recovery';
import type { UploadSummary } from '../shared/workflow/upload';
import { mp3Silence } from './audio';
import { startStack, type Stack } from './harness';
import { wecomStandIn } from './wecom';
import { World } from './world';
import { createIfAbsentHolds, versioningAlert, versioningCheckDue, versioningFromStatus, type VersioningCheck } from '../shared/core/versioning';
import { genesis, leaseEntry, type LogEntry } from '../shared/core/sendlog';
import type { Timing } from '../shared/core/timing';
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
    expect(fixFor('BucketVersioned', UPLOAD_AGAIN)).toMatch(/never had versioning, set IVR_BUCKET to it and deploy again/);
  });

  test('the recovery pass checks once per quota day: when no check of today is known', () => {
    expect(versioningCheckDue(undefined, '2026-11-26')).toBe(true);
    expect(versioningCheckDue({ day: '2026-11-25', versioning: 'Never' }, '2026-11-26')).toBe(true);
    expect(versioningCheckDue({ day: '2026-11-26', versioning: 'Never' }, '2026-11-26')).toBe(false);
    expect(versioningCheckDue({ day: '2026-11-26', versioning: 'Enabled' }, '2026-11-26')).toBe(false);
  });

  test('an entry never lets a check made earlier erase a newer or a versioned one: two recovery passes that both found the check due append one after the other', () => {
    const t = { listLagMs: 1000 } as Timing;
    const at = (prev: LogEntry, owner: string, bucket?: VersioningCheck) => leaseEntry(prev, { owner, now: prev.at + 1000, quota: prev.quota, open: [], deferred: 0, bucket }, prev.at + 2000, t);
    const g = genesis('2026-11-26');
    // Pass A read Never, then the operator enabled versioning, pass B read Enabled and appended first.
    const b = at(g, 'B', { day: '2026-11-26', versioning: 'Enabled' });
    expect(at(b, 'A', { day: '2026-11-26', versioning: 'Never' }).bucket).toEqual({ day: '2026-11-26', versioning: 'Enabled' });
    // A sender started yesterday carries yesterday's check: today's stays.
    const today = at(g, 'B', { day: '2026-11-26', versioning: 'Never' });
    expect(at(today, 'A', { day: '2026-11-25', versioning: 'Never' }).bucket).toEqual({ day: '2026-11-26', versioning: 'Never' });
    // Versioning never goes back: a check that says Never after one that found it keeps it.
    const found = at(g, 'B', { day: '2026-11-25', versioning: 'Suspended' });
    expect(at(found, 'A', { day: '2026-11-26', versioning: 'Never' }).bucket).toEqual({ day: '2026-11-26', versioning: 'Suspended' });
    // The usual cases are unchanged: a newer check replaces an older one; none carries the last.
    expect(at(today, 'C', { day: '2026-11-27', versioning: 'Never' }).bucket).toEqual({ day: '2026-11-27', versioning: 'Never' });
    expect(at(today, 'C', { day: '2026-11-27', versioning: 'Enabled' }).bucket).toEqual({ day: '2026-11-27', versioning: 'Enabled' });
    expect(at(b, 'C').bucket).toEqual(b.bucket);
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

/** Log lines written while `run` runs (the workflow's JSON lines), parsed. */
async function logsOf<T>(run: () => Promise<T>): Promise<{ value: T; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const previous = setLogSink((l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  try {
    return { value: await run(), lines };
  } finally {
    setLogSink(previous);
  }
}

describe('the recovery pass checks once per quota day, and a sender that knows makes no call (in memory)', () => {
  const pass = (w: World, owner: string) => runRecovery(w.ctx(owner), { Type: 'Timer' });
  const checks = (w: World) => w.store.ops.filter((o) => o.op === 'versioning').length;

  test('one GET Bucket versioning per quota day, recorded in the send log, which every later entry carries', async () => {
    const w = new World();
    const first = await pass(w, 'r1');
    expect(first.bucketVersioned).toBeUndefined();
    expect(checks(w)).toBe(1);
    const day = quotaDay(w.t, 480);
    expect((await w.ledger.readTail())?.bucket).toEqual({ day, versioning: 'Never' });
    w.t += 300_000;
    await pass(w, 'r2');
    await w.upload('a', 3);
    expect(w.status('a')).toBe('uploaded');
    expect(checks(w)).toBe(1);
    expect((await w.ledger.readTail())?.bucket).toEqual({ day, versioning: 'Never' });
    w.t = nextQuotaDayStart(w.t, 480) + 60_000;
    await pass(w, 'r3');
    expect(checks(w)).toBe(2);
    expect((await w.ledger.readTail())?.bucket).toEqual({ day: quotaDay(w.t, 480), versioning: 'Never' });
  });

  test('a check that cannot be made (the role may not read it) is logged and made again by the next pass; the pass goes on', async () => {
    const w = new World();
    const versioning = w.store.versioning.bind(w.store);
    w.store.versioning = async () => {
      throw new IvrError('StorageError', 'COS GET Bucket versioning of prompts-1250000000 (ap-guangzhou) failed: AccessDenied (Access Denied.)');
    };
    const { value, lines } = await logsOf(() => pass(w, 'r1'));
    expect(value.sent).toBe(true);
    expect(value.bucketVersioned).toBeUndefined();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', code: 'StorageError', msg: "could not read the bucket's versioning; the next pass tries again" }));
    expect((await w.ledger.readTail())?.bucket).toBeUndefined();
    w.store.versioning = versioning;
    w.t += 300_000;
    await pass(w, 'r2');
    expect((await w.ledger.readTail())?.bucket?.versioning).toBe('Never');
  });

  test('versioning found: the pass says so (error log with its code, result, report), and from then on no call is made: a deferred file and a new one fail BucketVersioned, their slots given back', async () => {
    const w = new World({ IVR_DAILY_QUOTA: '1' });
    await pass(w, 'r0');
    await w.upload('sent', 3);
    await w.upload('waits', 3);
    expect([w.status('sent'), w.status('waits')]).toEqual(['uploaded', 'deferred']);
    expect(w.calls).toHaveLength(1);
    // The operator turns versioning on (a safety habit); the next quota day's first pass finds it.
    w.store.bucketVersioning = 'Enabled';
    w.t = nextQuotaDayStart(w.t, 480) + 60_000;
    const { value: found, lines } = await logsOf(() => pass(w, 'r1'));
    const alert = { code: 'BucketVersioned', status: 'Enabled', message: expect.stringMatching(/^bucket prompts-1250000000 has versioning enabled: COS then ignores x-cos-forbid-overwrite/) };
    expect(found.bucketVersioned).toEqual(alert);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', code: 'BucketVersioned', status: 'Enabled', msg: 'the bucket has versioning: nothing is sent to CCC from it' }));
    expect(found.report?.report.bucketVersioned).toEqual(alert);
    // The deferred file went into the new day's first call: refused before it was made.
    expect(w.calls).toHaveLength(1);
    const waits = w.objects.objects.get('prompts/waits.mp3')!.meta;
    expect(waits).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'BucketVersioned' });
    expect(decodeURIComponent(waits['ivr-error-message'])).toMatch(/^not sent to CCC: bucket prompts-1250000000 has versioning enabled/);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', code: 'BucketVersioned', msg: 'no call made: the bucket has versioning, so its files fail unsent', files: 1 }));
    // A new drop learns it from the send-log tail its intake reads anyway.
    const opsBefore = w.store.ops.length;
    await w.upload('new', 3);
    expect(w.store.ops.slice(opsBefore).filter((o) => o.op === 'versioning')).toEqual([]);
    expect(w.status('new')).toBe('failed');
    expect(w.objects.objects.get('prompts/new.mp3')!.meta['ivr-error-code']).toBe('BucketVersioned');
    expect(w.calls).toHaveLength(1);
    // Later passes say it again without asking COS again; the slots the refused calls took come
    // back as for any call refused as a whole (the next sender finds their files failed unsent).
    w.t += 300_000;
    expect((await pass(w, 'r2')).bucketVersioned).toEqual(alert);
    expect(checks(w)).toBe(2);
    expect((await w.ledger.readTail())?.quota).toMatchObject({ day: quotaDay(w.t, 480), used: 0 });
    expect(w.ccc.files).toHaveLength(1);
  });

  test.each(['Enabled', 'Suspended'] as const)('the report page and the WeCom summary lead with it (%s)', (status) => {
    const alert = versioningAlert(BUCKET, status)!;
    const report = buildReport({ day: '2026-11-26', nowMs: Date.parse('2026-11-26T16:00:05Z'), utcOffsetMinutes: 480, quotaLimit: 50, submitted: 0, exhausted: false, jobs: [], actions: { registered: 0, reviewsUpdated: 0, pruned: 0 }, final: true, bucketVersioned: alert });
    expect(report.bucketVersioned).toEqual(alert);
    const html = renderReportHtml(report, []);
    expect(html).toContain(`<p id="bucket-versioned" class="alert"><strong>BucketVersioned: nothing is sent to CCC.</strong> bucket ${BUCKET} has versioning ${status === 'Enabled' ? 'enabled' : 'suspended (so it was enabled once)'}`);
    const lines = wecomMessage(report, 'page').markdown.content.split('\n');
    expect(lines[1]).toMatch(/^<font color="warning">\*\*BucketVersioned: nothing is sent to CCC\.\*\*<\/font> bucket prompts-1250000000 has versioning/);
    const without = buildReport({ day: '2026-11-26', nowMs: 0, utcOffsetMinutes: 480, quotaLimit: 50, submitted: 0, exhausted: false, jobs: [], actions: { registered: 0, reviewsUpdated: 0, pruned: 0 }, final: true });
    expect('bucketVersioned' in without).toBe(false);
    expect(renderReportHtml(without, [])).not.toContain('bucket-versioned');
    expect(wecomMessage(without).markdown.content).not.toContain('BucketVersioned');
  });
});

describe('the functions over HTTP against the fake COS (official SDKs, signatures checked)', () => {
  let stack: Stack;
  beforeEach(async () => {
    stack = await startStack();
    stack.cos.addCredential(OPERATOR);
  });
  afterEach(() => stack.stop());

  const upload = () => createUpload(stack.env, stack.seams);
  const timer = (env: Env = {}) => createReport({ ...stack.env, IVR_BUCKET: BUCKET, ...env }, stack.seams);
  /** COS requests of the functions (CCC's own downloads of signed URLs are CCC's). */
  const own = (from = 0) => stack.cos.requests.slice(from).filter((r) => !r.presigned);

  test('an operator turns versioning on in the console: the timer finds it, logs it, puts it in its result, the report and the WeCom post; the next drop fails BucketVersioned without a CCC call', async () => {
    const robot = await wecomStandIn();
    try {
      await sdk(stack.cos).putBucketVersioning({ Bucket: BUCKET, Region: REGION, VersioningConfiguration: { Status: 'Enabled' } });
      const pass = (await timer({ IVR_REPORT_WEBHOOK: robot.url })({ Type: 'Timer', Message: '' })) as RecoveryResult;
      expect(pass.bucketVersioned).toMatchObject({ code: 'BucketVersioned', status: 'Enabled' });
      // The first pass reports the day before (empty here): with the alert, and so does its post.
      expect(pass.report?.report.bucketVersioned).toEqual(pass.bucketVersioned);
      expect(robot.accepted).toHaveLength(1);
      expect(robot.accepted[0].split('\n')[1]).toMatch(/^<font color="warning">\*\*BucketVersioned: nothing is sent to CCC\.\*\*<\/font> bucket prompts-1250000000 has versioning enabled/);
      const errors = stack.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'error' && l.code === 'BucketVersioned');
      expect(errors).toEqual([expect.objectContaining({ fn: 'quota-report', status: 'Enabled', msg: 'the bucket has versioning: nothing is sent to CCC from it' })]);
      expect(own().filter((r) => r.op === 'GET_VERSIONING').map((r) => r.status)).toEqual([200]);

      stack.clock.advance(60_000);
      const before = stack.cos.requests.length;
      const res = (await upload()(stack.drop('prompts/welcome.mp3', mp3Silence()), { request_id: 'scf-req-1' })) as UploadSummary;
      expect(res.results).toEqual([expect.objectContaining({ key: 'prompts/welcome.mp3', status: 'failed', code: 'BucketVersioned' })]);
      expect(stack.meta('prompts/welcome.mp3')).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'BucketVersioned' });
      expect(stack.ccc.uploadCalls()).toEqual([]);
      // The upload function learnt it from the send log: it never asked COS itself.
      expect(own(before).filter((r) => r.op === 'GET_VERSIONING')).toEqual([]);
    } finally {
      robot.close();
    }
  });

  /** The COS requests (operation, and the ledger folder or the object) of one file dropped alone into an idle system, on a cold instance. */
  async function fileAlone(on: Stack): Promise<string[]> {
    const before = on.cos.requests.length;
    const res = (await createUpload(on.env, on.seams)(on.drop('prompts/alone.mp3', mp3Silence()), { request_id: 'scf-req-alone' })) as UploadSummary;
    expect(res.results).toEqual([expect.objectContaining({ status: 'uploaded' })]);
    const what = (key: string) => (key.startsWith('.ivr-audio-sync/') ? key.slice('.ivr-audio-sync/'.length).split('/')[0] : 'object');
    return on.cos.requests.slice(before).filter((r) => !r.presigned).map((r) => `${r.op} ${what(r.key)}`);
  }

  test("the normal path costs no extra COS request: a file alone on a cold instance makes the same 12 requests with the day's check on record as on a fresh bucket", async () => {
    const fresh = await fileAlone(stack);
    expect(fresh).toHaveLength(12);
    const other = await startStack();
    try {
      const pass = (await createReport({ ...other.env, IVR_BUCKET: BUCKET }, other.seams)({ Type: 'Timer', Message: '' })) as RecoveryResult;
      expect(pass.bucketVersioned).toBeUndefined();
      expect(other.cos.requests.filter((r) => r.op === 'GET_VERSIONING')).toHaveLength(1);
      // Past the pass's lease: the system is idle again.
      other.clock.advance(60_000);
      expect(await fileAlone(other)).toEqual(fresh);
    } finally {
      await other.stop();
    }
  });
});
