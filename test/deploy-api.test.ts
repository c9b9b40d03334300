/**
 * `npm run deploy:api` / `remove:api` end to end: the official SCF SDK over HTTP against the fake
 * SCF on 127.0.0.1 (TC3 signatures verified, Creating/Updating states, the API's error codes and
 * trigger formats). Time is virtual: the deploy's sleeps advance the fake's clock.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Client } from 'tencentcloud-sdk-nodejs/tencentcloud/services/scf/v20180416/scf_client';
import type { FakeCredential } from '../scripts/local/fakes/credentials';
import { FakeCos } from '../scripts/local/fakes/fake-cos';
import { FakeScf, zipEntries, type FakeFunction } from '../scripts/local/fakes/fake-scf';
import { ROOT } from '../scripts/lib/deploy-config';
import { functionName } from '../scripts/lib/deploy-spec';
import { bucketCheckFix } from '../scripts/deploy/bucket';
import { runApiDeploy } from '../scripts/deploy/run';
import { createScfClient, ScfApiError, type ScfApi } from '../scripts/deploy/scf';
import { WAIT, withTransientRetries } from '../scripts/deploy/execute';
import { parseDotenv } from '../scripts/lib/dotenv';
import { ENV_VARIABLES } from '../shared/core/config';

/** Operator variables the env file these tests deploy with sets (.env.example plus a webhook); empty ones are left out. */
const OPERATOR_COUNT = ENV_VARIABLES.filter((v) => v.source === 'operator' && (v.name === 'IVR_REPORT_WEBHOOK' || parseDotenv(fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8'))[v.name])).length;

const DEPLOY_USER: FakeCredential = { secretId: 'AKIDdeployUserFake000000000000000', secretKey: 'deployUserFakeSecretKey000000000', role: 'deploy' };
const BUCKET = 'prompts-1250000000';
const WEBHOOK = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=webhookSecretValue123';
/** The operator's own CCC application (a deploy refuses .env.example's placeholder). */
const SDK_APP_ID = '1400000042';
const REGION = 'ap-guangzhou';
const UPLOAD = functionName('prod', 'upload');
const REPORT = functionName('prod', 'report');
const PACKAGE = path.join(ROOT, 'dist', 'package');
const BUCKET_DOMAIN = 'prompts-1250000000.cos.ap-guangzhou.myqcloud.com';

/** A clock the deploy's sleeps move forward, shared with the fake's state transitions. */
class VirtualClock {
  t = Date.now();
  readonly sleeps: number[] = [];
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

interface Account {
  scf: FakeScf;
  /** The account's COS, with the bucket of .env.example (never versioned unless a test says so). */
  cos: FakeCos;
  clock: VirtualClock;
  dir: string;
  envFile: string;
  /** Rewrites .env lines. */
  setEnv(values: Record<string, string>): void;
  run(command: 'deploy' | 'remove', opts?: { dryRun?: boolean; packageDir?: string }): Promise<{ code: number; lines: string[] }>;
  fn(name: string): FakeFunction;
  sdk(cred?: FakeCredential): Client;
}

const accounts: Account[] = [];
afterEach(async () => {
  for (const a of accounts.splice(0)) {
    await Promise.all([a.scf.stop(), a.cos.stop()]);
    fs.rmSync(a.dir, { recursive: true, force: true });
  }
});

function setLines(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [k, v] of Object.entries(values)) {
    const re = new RegExp(`^${k}=.*$`, 'm');
    out = re.test(out) ? out.replace(re, `${k}=${v}`) : `${out}\n${k}=${v}\n`;
  }
  return out;
}

async function account(transitionMs = 2500): Promise<Account> {
  const clock = new VirtualClock();
  const scf = await new FakeScf({ credentials: [DEPLOY_USER], clock: clock.now, transitionMs, roles: ['ivr-audio-sync-role'] }).start();
  const cos = await new FakeCos({ credentials: [DEPLOY_USER] }).start();
  cos.createBucket(BUCKET);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-api-'));
  const envFile = path.join(dir, '.env');
  fs.writeFileSync(
    envFile,
    setLines(fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8'), { TENCENT_SECRET_ID: DEPLOY_USER.secretId, TENCENT_SECRET_KEY: DEPLOY_USER.secretKey, CCC_SDK_APP_ID: SDK_APP_ID, IVR_REPORT_WEBHOOK: WEBHOOK, SCF_ENDPOINT: scf.endpoint, COS_ENDPOINT: cos.endpoint }),
  );
  const a: Account = {
    scf,
    cos,
    clock,
    dir,
    envFile,
    setEnv: (values) => fs.writeFileSync(envFile, setLines(fs.readFileSync(envFile, 'utf8'), values)),
    async run(command, opts = {}) {
      const lines: string[] = [];
      const code = await runApiDeploy({ command, dryRun: opts.dryRun ?? false, build: false, envFile, processEnv: {}, packageDir: opts.packageDir ?? PACKAGE, io: { out: (l) => lines.push(l), sleep: clock.sleep, now: clock.now } });
      allOutput.push(...lines);
      return { code, lines };
    },
    fn(name) {
      const f = scf.fn(REGION, name);
      if (!f) throw new Error(`${name} does not exist`);
      return f;
    },
    sdk: (cred = DEPLOY_USER) => createScfClient(cred, REGION, { protocol: 'http:', hostname: '127.0.0.1', port: scf.port }),
  };
  accounts.push(a);
  return a;
}

/** Everything any deploy printed in this file: checked for secrets at the end. */
const allOutput: string[] = [];

async function deployed(): Promise<Account> {
  const a = await account();
  expect((await a.run('deploy')).code).toBe(0);
  return a;
}

const sdkError = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
};

test('--dry-run on a fresh account prints the plan (create / set / create per trigger) and makes no write call', async () => {
  const a = await account();
  const { code, lines } = await a.run('deploy', { dryRun: true });
  expect(code).toBe(0);
  expect(lines).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/dry run: nothing will be changed/),
      `function ${UPLOAD}: create (ivr_upload.main_handler, Nodejs16.13, 128 MB, 150 s, role ivr-audio-sync-role, ${OPERATOR_COUNT} variables)`,
      `function ${REPORT}: create (quota_report.main_handler, Nodejs16.13, 128 MB, 300 s, role ivr-audio-sync-role, ${OPERATOR_COUNT} variables)`,
      '  async retry RetryNum 2, MsgTTL 21600 s: set',
      `  trigger cos cos:ObjectCreated:Put on ${BUCKET_DOMAIN} prefix "prompts/": create`,
      `  trigger cos cos:ObjectCreated:Post on ${BUCKET_DOMAIN} prefix "prompts/": create`,
      `  trigger cos cos:ObjectCreated:CompleteMultipartUpload on ${BUCKET_DOMAIN} prefix "prompts/": create`,
      '  trigger timer ivr-quota-report "0 */5 * * * * *": create',
    ]),
  );
  // It ends saying so, as every other way out does (a trial looked for a closing line).
  expect(lines[lines.length - 1]).toBe('dry run: the plan above; nothing was changed');
  expect(a.scf.calls.length).toBeGreaterThan(0);
  expect(a.scf.writeCalls()).toEqual([]);
  expect(a.scf.functions(REGION).size).toBe(0);
});

test('creates both functions with handler, runtime, memory, timeout, role, environment, retry policy and triggers, waiting for Active in between', async () => {
  const a = await account();
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(0);
  expect(lines[lines.length - 1]).toBe(`deployed: ${UPLOAD}, ${REPORT}`);
  const up = a.fn(UPLOAD);
  expect(up).toMatchObject({ status: 'Active', Handler: 'ivr_upload.main_handler', Runtime: 'Nodejs16.13', MemorySize: 128, Timeout: 150, Role: 'ivr-audio-sync-role', retry: { RetryNum: 2, MsgTTL: 21600 } });
  expect(up.Description).toMatch(/^IVR audio sync upload\. .* Build [0-9a-f]{12}\.$/);
  expect(a.fn(REPORT)).toMatchObject({ Handler: 'quota_report.main_handler', Timeout: 300, retry: { RetryNum: 2, MsgTTL: 21600 } });
  // The whole package, whatever files it holds, is each function's code.
  const files = fs.readdirSync(PACKAGE).sort();
  for (const name of [UPLOAD, REPORT]) {
    expect(a.fn(name).codeFiles).toEqual(files);
    const zip = zipEntries(a.scf.zips.get(name) ?? Buffer.alloc(0));
    expect(zip?.map((e) => e.name).sort()).toEqual(files);
    for (const e of zip ?? []) expect(e.data.equals(fs.readFileSync(path.join(PACKAGE, e.name)))).toBe(true);
  }
  const env = Object.fromEntries(up.Environment.map((v) => [v.Key, v.Value]));
  expect(env).toMatchObject({ CCC_SDK_APP_ID: SDK_APP_ID, IVR_BUCKET: 'prompts-1250000000', IVR_AUDIO_PREFIX: 'prompts/', IVR_REPORT_WEBHOOK: WEBHOOK, IVR_WAIT_SECONDS: '60' });
  expect(a.fn(REPORT).Environment).toEqual(up.Environment);
  expect(up.triggers.map((t) => [t.Type, t.TriggerName, JSON.parse(t.TriggerDesc), t.Enable, t.Qualifier])).toEqual(
    ['Put', 'Post', 'CompleteMultipartUpload'].map((e) => ['cos', BUCKET_DOMAIN, { event: `cos:ObjectCreated:${e}`, filter: { Prefix: 'prompts/', Suffix: '' } }, 1, '$DEFAULT']),
  );
  expect(a.fn(REPORT).triggers.map((t) => [t.Type, t.TriggerName, t.TriggerDesc, t.Enable, t.CustomArgument])).toEqual([['timer', 'ivr-quota-report', '{"cron":"0 */5 * * * * *"}', 1, '']]);
  // Every write was accepted: the deploy waited for Active instead of running into Creating/Updating.
  expect(a.scf.writeCalls().filter((c) => c.result !== 'ok')).toEqual([]);
  expect(a.scf.writeCalls().map((c) => c.action)).toEqual(['CreateFunction', 'UpdateFunctionEventInvokeConfig', 'CreateTrigger', 'CreateTrigger', 'CreateTrigger', 'CreateFunction', 'UpdateFunctionEventInvokeConfig', 'CreateTrigger']);
  // Bounded backoff: starts small, doubles, never beyond the cap.
  expect(a.clock.sleeps[0]).toBe(WAIT.firstDelayMs);
  expect(Math.max(...a.clock.sleeps)).toBeLessThanOrEqual(WAIT.maxDelayMs);
});

test('a second run changes nothing and says so', async () => {
  const a = await deployed();
  const writes = a.scf.writeCalls().length;
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(0);
  expect(a.scf.writeCalls().length).toBe(writes);
  expect(lines).toEqual(expect.arrayContaining([`function ${UPLOAD}: unchanged`, `function ${REPORT}: unchanged`, '  async retry RetryNum 2, MsgTTL 21600 s: unchanged', 'everything is up to date']));
  expect(lines.filter((l) => l.startsWith('  trigger')).every((l) => l.endsWith(': unchanged'))).toBe(true);
});

test('repairs a deleted trigger: recreates it, leaves the others alone, never duplicates', async () => {
  const a = await deployed();
  a.scf.dropTrigger(REGION, UPLOAD, (t) => t.cos?.event === 'cos:ObjectCreated:Post');
  a.scf.dropTrigger(REGION, REPORT, () => true);
  const before = a.scf.writeCalls().length;
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(0);
  expect(lines).toEqual(expect.arrayContaining([`  trigger cos cos:ObjectCreated:Post on ${BUCKET_DOMAIN} prefix "prompts/": create`, '  trigger timer ivr-quota-report "0 */5 * * * * *": create']));
  expect(a.scf.writeCalls().slice(before).map((c) => `${c.action}:${c.result}`)).toEqual(['CreateTrigger:ok', 'CreateTrigger:ok']);
  expect(a.fn(UPLOAD).triggers.map((t) => t.cos?.event).sort()).toEqual(['cos:ObjectCreated:CompleteMultipartUpload', 'cos:ObjectCreated:Post', 'cos:ObjectCreated:Put']);
  expect(a.fn(REPORT).triggers).toHaveLength(1);
});

test('removes stale triggers it owns (a Copy trigger, an old prefix, an old cron) and creates the right ones', async () => {
  const a = await deployed();
  const client = a.sdk();
  for (const [event, prefix] of [
    ['cos:ObjectCreated:Copy', 'prompts/'],
    ['cos:ObjectCreated:Put', 'old/'],
  ]) {
    await client.CreateTrigger({ FunctionName: UPLOAD, TriggerName: BUCKET_DOMAIN, Type: 'cos', TriggerDesc: JSON.stringify({ event, filter: { Prefix: prefix, Suffix: '' } }), Enable: 'OPEN', Qualifier: '$DEFAULT' });
  }
  a.setEnv({ REPORT_CRON: '0 */10 * * * * *' });
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(0);
  expect(lines).toEqual(
    expect.arrayContaining([
      `  trigger cos cos:ObjectCreated:Copy on ${BUCKET_DOMAIN} prefix "prompts/": delete`,
      `  trigger cos cos:ObjectCreated:Put on ${BUCKET_DOMAIN} prefix "old/": delete`,
      '  trigger timer ivr-quota-report "0 */5 * * * * *": delete',
      '  trigger timer ivr-quota-report "0 */10 * * * * *": create',
    ]),
  );
  expect(a.fn(UPLOAD).triggers.map((t) => `${t.cos?.event} ${t.cos?.prefix}`).sort()).toEqual(['cos:ObjectCreated:CompleteMultipartUpload prompts/', 'cos:ObjectCreated:Post prompts/', 'cos:ObjectCreated:Put prompts/']);
  expect(a.fn(REPORT).triggers.map((t) => t.TriggerDesc)).toEqual(['{"cron":"0 */10 * * * * *"}']);
  expect(a.scf.writeCalls().filter((c) => c.result !== 'ok')).toEqual([]);
});

test('a new build updates the code and the recorded build of both functions; triggers stay', async () => {
  const a = await deployed();
  const pkg = path.join(a.dir, 'package');
  fs.cpSync(PACKAGE, pkg, { recursive: true });
  // A package may gain files (e.g. a converter): the whole package is shipped.
  fs.writeFileSync(path.join(pkg, 'audio_convert.js'), 'module.exports = {};\n');
  const oldDescription = a.fn(UPLOAD).Description;
  const before = a.scf.writeCalls().length;
  const { code, lines } = await a.run('deploy', { packageDir: pkg });
  expect(code).toBe(0);
  expect(lines).toEqual(expect.arrayContaining([`function ${UPLOAD}: update (code)`, `function ${REPORT}: update (code)`]));
  expect(a.scf.writeCalls().slice(before).map((c) => c.action)).toEqual(['UpdateFunctionCode', 'UpdateFunctionConfiguration', 'UpdateFunctionCode', 'UpdateFunctionConfiguration']);
  expect(a.fn(UPLOAD).codeFiles).toContain('audio_convert.js');
  expect(a.fn(UPLOAD).Description).not.toBe(oldDescription);
  expect(a.fn(UPLOAD).triggers).toHaveLength(3);
  expect((await a.run('deploy', { packageDir: pkg })).lines).toContain('everything is up to date');
});

test('a configuration change (memory, a variable) updates the configuration only', async () => {
  const a = await deployed();
  a.setEnv({ MEMORY_SIZE: '256', IVR_MAX_BATCH: '10' });
  const before = a.scf.writeCalls().length;
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(0);
  expect(lines).toContain(`function ${UPLOAD}: update (memory 128→256 MB, environment ~IVR_MAX_BATCH)`);
  expect(a.scf.writeCalls().slice(before).map((c) => c.action)).toEqual(['UpdateFunctionConfiguration', 'UpdateFunctionConfiguration']);
  expect(a.fn(REPORT)).toMatchObject({ MemorySize: 256 });
  expect(a.fn(REPORT).Environment).toContainEqual({ Key: 'IVR_MAX_BATCH', Value: '10' });
});

test('a function that is Updating rejects writes until Active; the deploy waits for it', async () => {
  const a = await deployed();
  a.scf.transitionMs = 20000;
  const client = a.sdk();
  await client.UpdateFunctionConfiguration({ FunctionName: UPLOAD, Timeout: 150 });
  expect(a.fn(UPLOAD).status).toBe('Updating');
  expect(await sdkError(client.UpdateFunctionCode({ FunctionName: UPLOAD, ZipFile: a.scf.zips.get(UPLOAD)?.toString('base64') }))).toBe('FailedOperation.UpdateFunctionCode');
  expect(await sdkError(client.UpdateFunctionConfiguration({ FunctionName: UPLOAD, MemorySize: 256 }))).toBe('FailedOperation.UpdateFunctionConfiguration');
  expect(await sdkError(client.CreateTrigger({ FunctionName: UPLOAD, TriggerName: 't1', Type: 'timer', TriggerDesc: '0 0 1 * * * *' }))).toBe('FailedOperation.CreateTrigger');
  expect(await sdkError(client.DeleteFunction({ FunctionName: UPLOAD }))).toBe('FailedOperation.DeleteFunction');
  a.setEnv({ MEMORY_SIZE: '256' });
  const sleepsBefore = a.clock.sleeps.length;
  const before = a.scf.writeCalls().length;
  expect((await a.run('deploy')).code).toBe(0);
  expect(a.scf.writeCalls().slice(before).filter((c) => c.result !== 'ok')).toEqual([]);
  const waited = a.clock.sleeps.slice(sleepsBefore);
  expect(waited.slice(0, 4)).toEqual([500, 1000, 2000, 4000]);
  expect(Math.max(...waited)).toBe(WAIT.maxDelayMs);
  expect(a.fn(UPLOAD).MemorySize).toBe(256);
});

test('a write refused because someone else made the function busy is retried after it is Active again', async () => {
  const a = await deployed();
  a.scf.inject({ action: 'UpdateFunctionConfiguration', code: 'FailedOperation.UpdateFunctionConfiguration', message: '当前函数处于Updating状态，无法进行此操作，请稍后重试。' });
  a.setEnv({ IVR_MAX_BATCH: '5' });
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(0);
  expect(lines).toContain(`  ${UPLOAD} is busy (FailedOperation.UpdateFunctionConfiguration); waiting for it to be Active again`);
  expect(a.fn(UPLOAD).Environment).toContainEqual({ Key: 'IVR_MAX_BATCH', Value: '5' });
});

describe('transient API errors (found by a review: one InternalError on a CreateTrigger ended the deploy half done)', () => {
  test('an InternalError on the second CreateTrigger is tried again after a wait on the deploy\'s clock, and the deploy completes', async () => {
    const a = await account();
    a.scf.inject({ action: 'CreateTrigger', code: 'InternalError', message: '内部错误', after: 1 });
    const { code, lines } = await a.run('deploy');
    expect(code).toBe(0);
    expect(lines).toContain(`  CreateTrigger answered InternalError (transient); trying again in 1 s (attempt 2 of ${WAIT.transientAttempts})`);
    expect(a.scf.writeCalls().map((c) => `${c.action}:${c.result}`)).toEqual([
      'CreateFunction:ok',
      'UpdateFunctionEventInvokeConfig:ok',
      'CreateTrigger:ok',
      'CreateTrigger:InternalError',
      'CreateTrigger:ok',
      'CreateTrigger:ok',
      'CreateFunction:ok',
      'UpdateFunctionEventInvokeConfig:ok',
      'CreateTrigger:ok',
    ]);
    expect(a.clock.sleeps).toContain(WAIT.transientFirstDelayMs);
    expect(a.fn(UPLOAD).triggers).toHaveLength(3);
    expect(a.fn(REPORT).triggers).toHaveLength(1);
    expect((await a.run('deploy')).lines).toContain('everything is up to date');
  });

  test('a create that happened but was answered InternalError is known by its repeat\'s "already exists", not reported as a clash', async () => {
    const a = await account();
    a.scf.inject({ action: 'CreateTrigger', code: 'InternalError', message: '内部错误', after: 1, afterCommit: true });
    const { code, lines } = await a.run('deploy');
    expect(code).toBe(0);
    expect(lines.filter((l) => l.includes('the earlier try went through'))).toHaveLength(1);
    expect(a.fn(UPLOAD).triggers).toHaveLength(3);
    expect(a.fn(REPORT).triggers).toHaveLength(1);
    expect((await a.run('deploy')).lines).toContain('everything is up to date');
  });

  test('only an "already exists" code after a transient error counts as the earlier try having gone through; "in use" is a refusal', async () => {
    const unused = () => Promise.reject(new Error('not called'));
    const api = (repeat: string): ScfApi => {
      let calls = 0;
      return {
        getFunction: unused, createFunction: unused, updateFunctionCode: unused, updateFunctionConfiguration: unused, deleteFunction: unused,
        listTriggers: unused, deleteTrigger: unused, getRetryPolicy: unused, setRetryPolicy: unused,
        createTrigger: () => Promise.reject(new ScfApiError('CreateTrigger', ++calls === 1 ? 'InternalError' : repeat, 'x')),
      };
    };
    const io = { out: () => undefined, sleep: () => Promise.resolve(), now: () => 0 };
    const create = (repeat: string) => withTransientRetries(api(repeat), io).createTrigger({ FunctionName: 'f', TriggerName: 't', Type: 'cos' });
    await expect(create('ResourceInUse.Trigger')).resolves.toBeUndefined();
    await expect(create('ResourceInUse.Cos')).rejects.toMatchObject({ code: 'ResourceInUse.Cos' });
  });

  test('RequestLimitExceeded on a read is tried again too; a transient error that persists gives up after a bounded number of tries with a doubling wait', async () => {
    const a = await account();
    a.scf.inject({ action: 'GetFunction', code: 'RequestLimitExceeded' });
    expect((await a.run('deploy', { dryRun: true })).code).toBe(0);
    a.scf.inject({ action: 'CreateFunction', code: 'InternalError.DBError', times: WAIT.transientAttempts });
    const sleepsBefore = a.clock.sleeps.length;
    const { code, lines } = await a.run('deploy');
    expect(code).toBe(1);
    expect(lines[lines.length - 1]).toMatch(/^failed: CreateFunction failed: InternalError\.DBError: /);
    expect(a.scf.writeCalls().map((c) => `${c.action}:${c.result}`)).toEqual(Array(WAIT.transientAttempts).fill('CreateFunction:InternalError.DBError'));
    expect(a.clock.sleeps.slice(sleepsBefore)).toEqual([1000, 2000, 4000].slice(0, WAIT.transientAttempts - 1));
  });

  test('a code that is not transient is not tried again', async () => {
    const a = await account();
    a.scf.inject({ action: 'CreateFunction', code: 'InvalidParameterValue.Handler' });
    expect((await a.run('deploy')).code).toBe(1);
    expect(a.scf.writeCalls().map((c) => c.action)).toEqual(['CreateFunction']);
  });
});

test('the fake answers like the real API: unknown function, duplicate and misnamed triggers, rule conflicts, bad descriptions', async () => {
  const a = await deployed();
  const client = a.sdk();
  expect(await sdkError(client.GetFunction({ FunctionName: 'no-such-function' }))).toBe('ResourceNotFound.Function');
  expect(await sdkError(client.CreateFunction({ FunctionName: UPLOAD, Code: { ZipFile: a.scf.zips.get(UPLOAD)?.toString('base64') }, Handler: 'ivr_upload.main_handler', Runtime: 'Nodejs16.13' }))).toBe('ResourceInUse.Function');
  const put = JSON.stringify({ event: 'cos:ObjectCreated:Put', filter: { Prefix: 'prompts/', Suffix: '' } });
  expect(await sdkError(client.CreateTrigger({ FunctionName: UPLOAD, TriggerName: BUCKET_DOMAIN, Type: 'cos', TriggerDesc: put, Qualifier: '$DEFAULT' }))).toBe('ResourceInUse.Trigger');
  expect(await sdkError(client.CreateTrigger({ FunctionName: UPLOAD, TriggerName: 'prompts-1250000000', Type: 'cos', TriggerDesc: put }))).toBe('InvalidParameterValue.TriggerName');
  expect(await sdkError(client.CreateTrigger({ FunctionName: UPLOAD, TriggerName: 'prompts-1250000000.cos.ap-shanghai.myqcloud.com', Type: 'cos', TriggerDesc: put }))).toBe('InvalidParameterValue.TriggerName');
  expect(await sdkError(client.CreateTrigger({ FunctionName: REPORT, TriggerName: BUCKET_DOMAIN, Type: 'cos', TriggerDesc: put }))).toBe('InvalidParameterValue.CosNotifyRuleConflict');
  expect(await sdkError(client.CreateTrigger({ FunctionName: REPORT, TriggerName: 'ivr-quota-report', Type: 'timer', TriggerDesc: '0 0 1 * * * *' }))).toBe('ResourceInUse.TriggerName');
  expect(await sdkError(client.CreateTrigger({ FunctionName: REPORT, TriggerName: 'daily', Type: 'timer', TriggerDesc: '0 0 1 * *' }))).toBe('InvalidParameterValue.TriggerDesc');
  expect(await sdkError(client.DeleteTrigger({ FunctionName: UPLOAD, TriggerName: BUCKET_DOMAIN, Type: 'cos' }))).toBe('InvalidParameterValue.TriggerDesc');
  expect(await sdkError(client.UpdateFunctionConfiguration({ FunctionName: UPLOAD, Description: 'mp3/wav prompts' }))).toBe('InvalidParameterValue.Description');
  expect(await sdkError(client.UpdateFunctionConfiguration({ FunctionName: UPLOAD, Environment: { Variables: [{ Key: 'SCF_X', Value: '1' }] } }))).toBe('InvalidParameterValue.EnvironmentSystemProtect');
  expect(await sdkError(client.UpdateFunctionConfiguration({ FunctionName: UPLOAD, Environment: { Variables: [{ Key: 'A', Value: '' }] } }))).toBe('InvalidParameterValue.Environment');
  expect(await sdkError(client.UpdateFunctionEventInvokeConfig({ FunctionName: UPLOAD, AsyncTriggerConfig: { RetryConfig: [{ RetryNum: 5 }], MsgTTL: 21600 } }))).toBe('LimitExceeded.RetryNum');
  expect(await sdkError(client.UpdateFunctionCode({ FunctionName: UPLOAD, ZipFile: Buffer.from('not a zip').toString('base64') }))).toBe('InvalidParameterValue.ZipFile');
});

test('TC3 signatures are verified, and SCF_ENDPOINT keeps the real Host header and the scf scope', async () => {
  const a = await account();
  expect(await sdkError(a.sdk({ ...DEPLOY_USER, secretKey: 'wrong-key-wrong-key-wrong-key-00' }).GetFunction({ FunctionName: UPLOAD }))).toBe('AuthFailure.SignatureFailure');
  expect(await sdkError(a.sdk({ secretId: 'AKIDunknown', secretKey: 'x' }).GetFunction({ FunctionName: UPLOAD }))).toBe('AuthFailure.SecretIdNotFound');
  // The fake only accepts Host scf.tencentcloudapi.com with scope …/scf/tc3_request: a plain answer proves both.
  expect(await sdkError(a.sdk().GetFunction({ FunctionName: UPLOAD }))).toBe('ResourceNotFound.Function');
});

test('remove:api deletes triggers, then the functions, and waits until they are gone; a second run finds nothing', async () => {
  const a = await deployed();
  const before = a.scf.writeCalls().length;
  const { code, lines } = await a.run('remove');
  expect(code).toBe(0);
  expect(lines[lines.length - 1]).toBe('removed; the bucket, its objects and the ledger stay');
  expect(a.scf.writeCalls().slice(before).map((c) => c.action)).toEqual(['DeleteTrigger', 'DeleteTrigger', 'DeleteTrigger', 'DeleteFunction', 'DeleteTrigger', 'DeleteFunction']);
  expect(a.scf.functions(REGION).size).toBe(0);
  const again = await a.run('remove');
  expect(again.lines).toEqual(expect.arrayContaining([`function ${UPLOAD}: absent (nothing to remove)`, 'nothing to remove']));
  expect(a.scf.writeCalls().length).toBe(before + 6);
});

test('remove:api --dry-run lists what it would delete and deletes nothing', async () => {
  const a = await deployed();
  const before = a.scf.writeCalls().length;
  const { lines } = await a.run('remove', { dryRun: true });
  expect(lines).toEqual(expect.arrayContaining([`function ${UPLOAD}: delete`, `  trigger cos cos:ObjectCreated:Put on ${BUCKET_DOMAIN} prefix "prompts/": delete`]));
  expect(lines[lines.length - 1]).toBe('dry run: the plan above; nothing was changed');
  expect(a.scf.writeCalls().length).toBe(before);
});

test('refuses before any call: no deploy key, .env.example\'s SdkAppId, a comment after a key or the webhook; and a runtime SCF cannot change in place', async () => {
  const a = await account();
  a.setEnv({ TENCENT_SECRET_ID: '' });
  const noKey = await a.run('deploy');
  expect(noKey).toEqual({ code: 1, lines: [expect.stringMatching(/^refused: TENCENT_SECRET_ID is empty in \.env/)] });
  expect(a.scf.calls).toEqual([]);
  a.setEnv({ TENCENT_SECRET_ID: DEPLOY_USER.secretId });
  // .env.example's SdkAppId looks like a real one: the functions would send every file to an
  // application that is not the operator's (a trial's dry run went through). A removal needs none.
  a.setEnv({ CCC_SDK_APP_ID: '1400000000' });
  expect(await a.run('deploy', { dryRun: true })).toEqual({ code: 1, lines: [expect.stringMatching(/^refused: CCC_SDK_APP_ID is still \.env\.example's placeholder 1400000000: set your CCC application's SdkAppId/)] });
  // A comment after a key or the webhook on its line (dotenv, as sls reads .env, keeps it in the
  // value): the key failed at COS with the SDK's own words, the webhook only at the first post.
  a.setEnv({ CCC_SDK_APP_ID: SDK_APP_ID, TENCENT_SECRET_KEY: `${DEPLOY_USER.secretKey} # deploy key`, IVR_REPORT_WEBHOOK: `${WEBHOOK} # ops group` });
  const commented = await a.run('deploy', { dryRun: true });
  expect(commented.code).toBe(1);
  expect(commented.lines).toEqual([expect.stringMatching(/^refused: TENCENT_SECRET_KEY has a space or line break in it: a key has none; a comment must go on a line of its own/)]);
  a.setEnv({ TENCENT_SECRET_KEY: DEPLOY_USER.secretKey });
  const hookComment = await a.run('deploy', { dryRun: true });
  expect(hookComment.lines).toEqual([expect.stringMatching(/^refused: IVR_REPORT_WEBHOOK has a space in it: .*a comment must go on a line of its own/)]);
  expect(hookComment.lines.join('\n')).not.toContain('webhookSecretValue123');
  expect(commented.lines.join('\n')).not.toContain(DEPLOY_USER.secretKey);
  a.setEnv({ IVR_REPORT_WEBHOOK: WEBHOOK });
  expect(a.scf.calls).toEqual([]);
  a.setEnv({ CCC_SDK_APP_ID: '1400000000', IVR_LOG_DEBUG: 'true', IVR_REPORT_WEBHOOK: `${WEBHOOK} # ops group` });
  expect((await a.run('remove', { dryRun: true })).code).toBe(0);
  a.setEnv({ IVR_LOG_DEBUG: '0', IVR_REPORT_WEBHOOK: WEBHOOK });
  a.setEnv({ CCC_SDK_APP_ID: SDK_APP_ID });
  expect((await a.run('deploy')).code).toBe(0);
  a.fn(UPLOAD).Runtime = 'Nodejs12.16';
  const before = a.scf.writeCalls().length;
  const mismatch = await a.run('deploy');
  expect(mismatch.code).toBe(1);
  expect(mismatch.lines).toEqual(expect.arrayContaining([expect.stringMatching(/^problem: .*runs Nodejs12\.16/), 'refused: fix the problems above first (nothing was changed)']));
  expect(a.scf.writeCalls().length).toBe(before);
});

describe('the bucket, checked before anything is built or changed (COS ignores x-cos-forbid-overwrite once versioning was ever enabled)', () => {
  test.each(['Enabled', 'Suspended'] as const)('versioning %s: deploy and its dry run are refused with what to do, after one GET Bucket versioning and no SCF call', async (status) => {
    const a = await account();
    if (status === 'Suspended') a.cos.setVersioning(BUCKET, 'Enabled');
    a.cos.setVersioning(BUCKET, status);
    const built: string[] = [];
    for (const dryRun of [true, false]) {
      const lines: string[] = [];
      const code = await runApiDeploy({ command: 'deploy', dryRun, envFile: a.envFile, processEnv: {}, packageDir: PACKAGE, buildPackage: async () => void built.push('built'), io: { out: (l) => lines.push(l), sleep: a.clock.sleep, now: a.clock.now } });
      allOutput.push(...lines);
      expect({ code, lines }).toEqual({
        code: 1,
        lines: [
          expect.stringMatching(/^ivr-audio-sync deploy:api, region ap-guangzhou/),
          expect.stringMatching(new RegExp(`^refused: bucket ${BUCKET} has versioning ${status === 'Enabled' ? 'enabled' : 'suspended \\(so it was enabled once\\)'}: COS then ignores x-cos-forbid-overwrite.*registered in CCC twice.*create a bucket that never had it, set IVR_BUCKET to it, deploy again.*; nothing was changed$`)),
        ],
      });
    }
    expect(built).toEqual([]);
    expect(a.scf.calls).toEqual([]);
    expect(a.cos.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['GET_VERSIONING 200', 'GET_VERSIONING 200']);
  });

  test('a bucket that never had versioning is deployed to (the other tests), and remove:api never asks: a versioned bucket\'s functions can still be removed', async () => {
    const a = await deployed();
    expect(a.cos.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['GET_VERSIONING 200']);
    a.cos.setVersioning(BUCKET, 'Enabled');
    const { code } = await a.run('remove');
    expect(code).toBe(0);
    expect(a.scf.functions(REGION).size).toBe(0);
    expect(a.cos.requests).toHaveLength(1);
  });

  test('a bucket that does not exist, or a deploy key that may not read its versioning, fails the deploy before any SCF call, saying what to check', async () => {
    const a = await account();
    a.setEnv({ IVR_BUCKET: 'typo-1250000000' });
    const missing = await a.run('deploy', { dryRun: true });
    expect(missing.code).toBe(1);
    expect(missing.lines.pop()).toMatch(/^failed: COS GET Bucket versioning of typo-1250000000 \(ap-guangzhou\) failed: NoSuchBucket .*; nothing was changed\. There is no bucket typo-1250000000 in ap-guangzhou: check IVR_BUCKET and REGION in \.env/);
    a.setEnv({ IVR_BUCKET: BUCKET });
    a.cos.inject({ op: 'GET_VERSIONING', status: 403, code: 'AccessDenied' });
    const denied = await a.run('deploy');
    expect(denied.code).toBe(1);
    expect(denied.lines.pop()).toMatch(/^failed: COS GET Bucket versioning of prompts-1250000000 \(ap-guangzhou\) failed: AccessDenied .*must grant cos:GetBucketVersioning .*\(npm run policy -- --deploy-user prints the whole policy/);
    expect(a.scf.calls).toEqual([]);
  });

  test('each way the check can fail names what to fix, and COS\'s RequestId when it answered; no secret of a temporary key is printed', async () => {
    const temporary: FakeCredential = { secretId: 'AKIDtemporaryDeployKey0000000000', secretKey: 'temporaryDeploySecretKey00000000', token: 'temporaryDeploySessionToken000000000000000', role: 'deploy' };
    const a = await account();
    const cos = await new FakeCos({ credentials: [temporary] }).start();
    try {
      cos.createBucket(BUCKET);
      a.setEnv({ TENCENT_SECRET_ID: temporary.secretId, TENCENT_SECRET_KEY: temporary.secretKey, TENCENT_TOKEN: temporary.token!, COS_ENDPOINT: cos.endpoint });
      const failure = async (): Promise<string> => {
        const { code, lines } = await a.run('deploy', { dryRun: true });
        expect(code).toBe(1);
        for (const l of lines) for (const secret of [temporary.secretKey, temporary.token!, 'q-signature', '[REDACTED]']) expect(l).not.toContain(secret);
        return lines[lines.length - 1];
      };
      const requestId = / \(RequestId [\w-]+\); nothing was changed\. /;

      a.setEnv({ TENCENT_SECRET_KEY: 'aWrongSecretKeyOfTheRightLength0' });
      const wrongKey = await failure();
      expect(wrongKey).toMatch(/^failed: COS GET Bucket versioning of prompts-1250000000 \(ap-guangzhou\) failed: SignatureDoesNotMatch /);
      expect(wrongKey).toMatch(requestId);
      expect(wrongKey).toMatch(/\. COS refused the deploy key: check TENCENT_SECRET_ID, TENCENT_SECRET_KEY and TENCENT_TOKEN in \.env/);
      expect(wrongKey).not.toContain('GetBucketVersioning');

      a.setEnv({ TENCENT_SECRET_KEY: temporary.secretKey, TENCENT_TOKEN: 'anExpiredSessionToken0000000000000000000000' });
      expect(await failure()).toMatch(/failed: InvalidAccessKeyId .*COS refused the deploy key/);

      a.setEnv({ TENCENT_TOKEN: temporary.token!, IVR_BUCKET: 'typo-1250000000' });
      const missing = await failure();
      expect(missing).toMatch(requestId);
      expect(missing).toMatch(/failed: NoSuchBucket .*; nothing was changed\. There is no bucket typo-1250000000 in ap-guangzhou: check IVR_BUCKET and REGION in \.env \(the bucket must be in REGION, where the functions and their COS trigger go\)$/);

      a.setEnv({ IVR_BUCKET: BUCKET });
      cos.inject({ op: 'GET_VERSIONING', status: 403, code: 'AccessDenied' });
      const denied = await failure();
      expect(denied).toMatch(requestId);
      expect(denied).toMatch(/failed: AccessDenied .*\. The deploy user may not read the bucket's versioning: its CAM policy must grant cos:GetBucketVersioning on qcs::cos:ap-guangzhou:uid\/1250000000:prompts-1250000000\/\* \(npm run policy -- --deploy-user prints the whole policy, with --sls for npm run deploy; a policy from before this check lacks it\)/);

      cos.inject({ op: 'GET_VERSIONING', reset: true, times: 10 });
      const unreachable = await failure();
      expect(unreachable).toMatch(/; nothing was changed\. Could not reach prompts-1250000000\.cos\.ap-guangzhou\.myqcloud\.com \(at 127\.0\.0\.1:\d+\): check REGION in \.env \(ap-guangzhou: .*\) and this machine's connection to COS$/);
      expect(unreachable).not.toContain('GetBucketVersioning');
      expect(a.scf.calls).toEqual([]);
    } finally {
      await cos.stop();
    }
  });

  test('a proxy in the shell (HTTPS_PROXY, HTTP_PROXY) is not used: the check connects directly, as every SCF call of the deploy does', async () => {
    // A stale proxy variable (a proxy tool's, no longer running) broke the check while the SCF
    // calls, which never use one (scripts/deploy/scf.ts), went through: the deploy failed on it.
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(502).end();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const names = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    try {
      for (const n of names) delete process.env[n];
      Object.assign(process.env, { HTTPS_PROXY: url, https_proxy: url, HTTP_PROXY: url, http_proxy: url });
      const a = await account();
      const { code, lines } = await a.run('deploy', { dryRun: true });
      expect({ code, last: lines.slice(-2) }).toEqual({ code: 0, last: [expect.stringMatching(/^ {2}trigger timer/), 'dry run: the plan above; nothing was changed'] });
      expect(a.cos.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['GET_VERSIONING 200']);
      expect(seen).toEqual([]);
    } finally {
      for (const n of names) if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });
});

test('--dry-run refuses a REPORT_CRON that does not fire on every day (a weekly one), before any call', async () => {
  const a = await account();
  a.setEnv({ REPORT_CRON: '0 0 1 * * 1 *' });
  const { code, lines } = await a.run('deploy', { dryRun: true });
  expect({ code, lines }).toEqual({ code: 1, lines: [expect.stringMatching(/^refused: REPORT_CRON "0 0 1 \* \* 1 \*" does not fire on every day \(its weekday "1" field leaves days out\)/)] });
  expect(a.scf.calls).toEqual([]);
});

test('an API failure is reported with its code and the deploy exits 1 (here: an execution role that does not exist)', async () => {
  const a = await account();
  a.setEnv({ SCF_ROLE: 'no-such-role' });
  const { code, lines } = await a.run('deploy');
  expect(code).toBe(1);
  expect(lines[lines.length - 1]).toMatch(/^failed: CreateFunction failed: ResourceNotFound\.Role: 角色不存在: no-such-role \(RequestId [0-9a-f-]+\)$/);
  a.scf.inject({ action: 'GetFunction', http: 502 });
  expect((await a.run('deploy')).lines.pop()).toMatch(/^failed: GetFunction failed: HttpError: HTTP 502/);
});

test('npm run deploy:api -- --dry-run, as a process: prints the plan, writes nothing, prints no secret', async () => {
  const a = await account();
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, [path.join(ROOT, 'scripts', 'deploy', 'api.ts'), 'deploy', '--dry-run', '--no-build', '--env-file', a.envFile], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: a.dir } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(0);
  expect(out).toContain(`function ${UPLOAD}: create`);
  expect(out).toContain('  trigger timer ivr-quota-report "0 */5 * * * * *": create');
  expect(a.scf.writeCalls()).toEqual([]);
  allOutput.push(...out.split('\n'));
});

afterAll(() => {
  // Every line any deploy printed in this file (dry runs, creates, updates, failures, removals).
  expect(allOutput.length).toBeGreaterThan(100);
  const leaks = allOutput.filter((l) => [DEPLOY_USER.secretKey, DEPLOY_USER.secretId, 'webhookSecretValue123', WEBHOOK].some((s) => l.includes(s)));
  expect(leaks).toEqual([]);
  // Not even redacted: the deploy never tries to print a secret in the first place.
  expect(allOutput.filter((l) => l.includes('[REDACTED]'))).toEqual([]);
});

describe('functions not Active (found by a review of the API deploy path)', () => {
  /** Leaves `name` in `status` for good, as a failed or interrupted operation does. */
  function leave(a: Account, name: string, status: FakeFunction['status']): void {
    const f = a.fn(name);
    f.status = status;
    f.readyAt = Number.POSITIVE_INFINITY;
  }

  test('a CreateFailed function: deploy refuses and points to remove:api, which deletes it; then deploy creates it', async () => {
    const a = await deployed();
    leave(a, UPLOAD, 'CreateFailed');
    const dep = await a.run('deploy');
    expect(dep.code).toBe(1);
    expect(dep.lines).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`${UPLOAD} is CreateFailed: run npm run remove:api \\(it deletes a failed function too\\), then deploy again`))]));
    const rm = await a.run('remove');
    expect(rm.code).toBe(0);
    expect(rm.lines).toContain(`deleting ${UPLOAD} (CreateFailed)`);
    expect(a.scf.fn(REGION, UPLOAD)).toBeUndefined();
    expect((await a.run('deploy')).code).toBe(0);
    expect(a.fn(UPLOAD).status).toBe('Active');
  });

  test('an UpdateFailed function is never reported up to date', async () => {
    const a = await deployed();
    leave(a, UPLOAD, 'UpdateFailed');
    const r = await a.run('deploy');
    expect(r.code).toBe(1);
    expect(r.lines).not.toContain('everything is up to date');
    expect(r.lines).toEqual(expect.arrayContaining([expect.stringMatching(/is UpdateFailed: run npm run remove:api/)]));
  });

  test('a removal interrupted while a function is Deleting: deploy says so, remove:api waits for it and succeeds', async () => {
    const a = await deployed();
    const client = a.sdk();
    await client.DeleteTrigger({ FunctionName: REPORT, TriggerName: 'ivr-quota-report', Type: 'timer', Qualifier: '$DEFAULT' });
    a.scf.transitionMs = 10000;
    await client.DeleteFunction({ FunctionName: REPORT }); // remove:api stopped right after this call
    expect(a.fn(REPORT).status).toBe('Deleting');
    const dep = await a.run('deploy');
    expect(dep.code).toBe(1);
    expect(dep.lines).toEqual(expect.arrayContaining([expect.stringMatching(/is being deleted \(a removal still in progress\): run npm run remove:api to wait for it/)]));
    const rm = await a.run('remove');
    expect(rm.code).toBe(0);
    expect(rm.lines).not.toEqual(expect.arrayContaining([expect.stringMatching(/disappeared|failed/)]));
    expect(a.scf.fn(REGION, REPORT)).toBeUndefined();
  });

  test('another STAGE on the same bucket and prefix: the rule conflict says what to do', async () => {
    const a = await deployed();
    a.setEnv({ STAGE: 'staging' });
    const r = await a.run('deploy');
    expect(r.code).toBe(1);
    expect(r.lines[r.lines.length - 1]).toMatch(/CosNotifyRuleConflict: another function already has a COS trigger on this bucket and prefix \(a deployment with another STAGE\?\): run npm run remove:api with that STAGE in \.env, or pick another IVR_AUDIO_PREFIX/);
  });
});

test('the bucket check that got no answer names the host, and a proxy variable of the shell by its name only (it may hold a password)', () => {
  const s = { bucket: 'prompts-1250000000', region: 'ap-guangzhou', appId: '1250000000' };
  // REGION first: a misspelt one (ap-guangzhuo) passes its shape check and only fails here (a trial).
  expect(bucketCheckFix({ code: '', answered: false, signatureExpired: false }, s, undefined, {})).toBe("could not reach prompts-1250000000.cos.ap-guangzhou.myqcloud.com: check REGION in .env (ap-guangzhou: a Tencent Cloud region, spelt as in the COS console) and this machine's connection to COS");
  const withProxy = bucketCheckFix({ code: '', answered: false, signatureExpired: false }, s, undefined, { HTTPS_PROXY: 'http://alice:hunter2@proxy.corp:3128' });
  expect(withProxy).toContain('HTTPS_PROXY is set in this shell, and the deploy does not use a proxy');
  expect(withProxy).not.toMatch(/alice|hunter2|proxy\.corp/);
  // A signature COS calls expired is a clock behind COS's (too far off for the SDK to correct), not a policy.
  expect(bucketCheckFix({ code: 'AccessDenied', answered: true, signatureExpired: true }, s, undefined, {})).toBe("COS says this machine's clock is off: set it right (automatic time) and deploy again");
});

test('a deploy machine whose clock is a day off still passes the bucket check: the COS SDK signs on COS\'s time from its Date header', async () => {
  for (const skew of [86_400_000, -86_400_000]) {
    const a = await account();
    a.cos.clock = () => Date.now() + skew;
    // The COS SDK says so on the console when it re-signs on COS's time (kept out of the test log, and checked).
    const said = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const r = await a.run('deploy', { dryRun: true });
      expect(r.lines.join('\n')).not.toMatch(/clock|AccessDenied|RequestTimeTooSkewed/);
      expect(r.code).toBe(0);
      expect(said.mock.calls.map((c) => String(c[0]))).toEqual(['error: Local time is too skewed.']);
    } finally {
      said.mockRestore();
    }
  }
});
