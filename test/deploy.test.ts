/**
 * Offline checks of what both deploy paths would deploy, so a broken deploy is caught before a user
 * runs it: serverless.yml against the multi-scf input shape and against deploy-spec.ts (the API
 * deploy's source), environment wiring from config.ts's ENV_VARIABLES, runtime, triggers, the
 * deploy package and the two CAM policies' structure. (Whether the policies match real usage is
 * checked after the whole run: test/setup/actions-teardown.ts.)
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig } from '../shared/core/config';
import { cronMatches, parseCron } from '../scripts/lib/cron';
import {
  DEPLOY_VARIABLES,
  DeployConfigError,
  deployProblems,
  envReferences,
  loadDeployEnv,
  loadDeploySettings,
  loadServerlessYml,
  OPERATOR_VARIABLES,
  renderDeployUserPolicy,
  renderPolicy,
  ROOT,
  type CamPolicy,
} from '../scripts/lib/deploy-config';
import { APP, ASYNC_RETRY, COS_EVENTS, DEFAULT_RECOVERY_CRON, desiredState, FUNCTION_KEYS, FUNCTIONS, functionName, INSTANCE, triggersFor, type FunctionKey, type TriggerSpec } from '../scripts/lib/deploy-spec';
import { DEFAULT_RUNTIME, esbuildTarget, parseRuntime, SCF_RUNTIMES } from '../scripts/lib/runtime';
import { grantedActions } from '../scripts/lib/policy-check';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

const EXAMPLE = path.join(ROOT, '.env.example');
const example = loadDeployEnv(EXAMPLE, {}).values;
const settings = loadDeploySettings(example);

/** What loadDeploySettings refuses `values` for, one line per problem ([] when it takes them). */
function settingsProblems(values: Record<string, string>): string[] {
  try {
    loadDeploySettings(values);
    return [];
  } catch (e) {
    return e instanceof DeployConfigError ? e.problems : [String(e)];
  }
}
const yml = obj(loadServerlessYml(example));
const rawYml = obj(parse(fs.readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8')) as unknown);
const inputs = obj(yml.inputs);
const functions = obj(inputs.functions);
const triggers = arr(inputs.triggers).map(obj);
const pkgDir = path.join(ROOT, str(obj(inputs.src).dist));

/** The runtimes the multi-scf schema allows (serverless-components/tencent-multi-scf serverless.component.yml, 0.3.14). */
const MULTI_SCF_SCHEMA_RUNTIMES = ['Python2.7', 'Python3.6', 'Python3.7', 'Nodejs6.10', 'Nodejs8.9', 'Nodejs10.15', 'Nodejs12.16', 'Nodejs14.18', 'Nodejs16.13', 'Php5', 'Php7', 'Php7.4', 'Php8.0', 'Go1', 'Java8', 'Java11', 'CustomRuntime'];

/** `.env.example` with every operator variable set to a non-empty valid value. */
function everyOperatorVariableSet(): Record<string, string> {
  const v = { ...example };
  const probes: Record<string, string> = { IVR_REPORT_WEBHOOK: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', IVR_LOG_DEBUG: '1', IVR_MAX_SECONDS: '600' };
  for (const name of OPERATOR_VARIABLES) if (!v[name]) v[name] = probes[name] ?? `probe-${name}`;
  return v;
}

describe('serverless.yml (the sls deploy path)', () => {
  test('is a multi-scf component file with the names deploy-spec.ts uses, and serverless is pinned at 2.72.4', () => {
    expect(yml).toMatchObject({ app: APP, name: INSTANCE, component: 'multi-scf', stage: example.STAGE });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Obj };
    expect(pkg.devDependencies.serverless).toBe('2.72.4');
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    expect(lock.packages['node_modules/serverless'].version).toBe('2.72.4');
    expect(inputs.src).toEqual({ hook: 'npm run build', dist: './dist/package' });
    expect(inputs.region).toBe(settings.region);
    expect(Object.keys(functions).sort()).toEqual([...FUNCTION_KEYS].sort());
  });

  test('every ${env:…} it uses is a deploy or function variable listed in .env.example; secrets are empty there; .env stays out of git', () => {
    const known = new Set<string>([...DEPLOY_VARIABLES.map((v) => v.name), ...OPERATOR_VARIABLES]);
    const refs = envReferences(fs.readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'));
    expect(refs.filter((n) => !known.has(n))).toEqual([]);
    expect(refs.filter((n) => !(n in example))).toEqual([]);
    expect(example.TENCENT_SECRET_ID).toBe('');
    expect(example.TENCENT_SECRET_KEY).toBe('');
    expect(fs.readFileSync(path.join(ROOT, '.gitignore'), 'utf8').split('\n')).toContain('.env');
    // So is another stage's file, which holds a deploy key as well (a trial's .env.staging was not).
    const ignored = spawnSync('git', ['check-ignore', '--no-index', '.env', '.env.staging', '.env.example'], { cwd: ROOT, encoding: 'utf8' });
    expect(ignored.stdout.split('\n').filter(Boolean)).toEqual(['.env', '.env.staging']);
  });

  describe.each(FUNCTION_KEYS)('function %s', (key: FunctionKey) => {
    const fn = obj(functions[key]);
    const rawFn = obj(obj(obj(rawYml.inputs).functions)[key]);

    test('handler, limits, role and description are those of deploy-spec.ts', () => {
      expect(fn.handler).toBe(FUNCTIONS[key].handler);
      expect(fn.timeout).toBe(FUNCTIONS[key].timeout);
      expect(Number(fn.memorySize)).toBe(settings.memorySize);
      expect(fn.role).toBe(settings.role);
      expect(fn.description).toBe(FUNCTIONS[key].description);
      // SCF accepts letters, digits, spaces, commas and periods in a description (CreateFunction).
      expect(String(fn.description)).toMatch(/^[A-Za-z0-9 ,.]{1,1000}$/);
    });

    test('its handler resolves to a bundle in the package that exports main_handler', () => {
      const handler = str(fn.handler);
      const [file, exported] = [handler.slice(0, handler.lastIndexOf('.')), handler.slice(handler.lastIndexOf('.') + 1)];
      const bundle = path.join(pkgDir, `${file}.js`);
      expect(fs.existsSync(bundle)).toBe(true);
      expect(exported).toBe('main_handler');
      // Loading it runs its cold start, which logs (to stdout, as on SCF) that no config is set here.
      const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const loaded = require(bundle) as { main_handler?: unknown };
      quiet.mockRestore();
      expect(typeof loaded.main_handler).toBe('function');
    });

    test('passes every operator variable of ENV_VARIABLES, each from the .env variable of the same name', () => {
      const entries = arr(rawFn.environments).map(obj);
      expect(rawFn.environment).toEqual(rawFn.environments);
      const passed = entries.map((e) => str(e.key));
      // Named in the failure: a variable config.ts reads that serverless.yml does not pass, or one it passes that nobody reads.
      expect({ notPassedByServerlessYml: OPERATOR_VARIABLES.filter((n) => !passed.includes(n)), passedButNotInEnvVariables: passed.filter((n) => !OPERATOR_VARIABLES.includes(n)) }).toEqual({ notPassedByServerlessYml: [], passedButNotInEnvVariables: [] });
      for (const e of entries) expect(`${str(e.key)}=${str(e.value)}`).toBe(`${str(e.key)}=\${env:${str(e.key)}}`);
      for (const name of passed) expect(name).not.toMatch(/^(SCF_|QCLOUD_|TENCENTCLOUD_)/);
    });

    test('the environment it gets is valid for the function', () => {
      const env: Record<string, string> = {};
      for (const e of arr(fn.environments).map(obj)) env[str(e.key)] = str(e.value);
      const config = loadConfig({ ...env, TENCENTCLOUD_SECRETID: 'x', TENCENTCLOUD_SECRETKEY: 'y', TENCENTCLOUD_REGION: settings.region });
      expect(config.bucket).toBe(settings.bucket);
      expect(config.audioPrefix).toBe(settings.audioPrefix);
      if (key === 'upload') expect(fn.timeout).toBeGreaterThanOrEqual(config.waitSeconds + 30);
    });
  });

  test('the upload function keeps at least 150 s and the recovery pass 300 s', () => {
    expect(FUNCTIONS.upload.timeout).toBeGreaterThanOrEqual(150);
    expect(FUNCTIONS.report.timeout).toBe(300);
  });

  test('its triggers are exactly those the API deploy creates: Put, Post and CompleteMultipartUpload on the audio prefix, and the timer', () => {
    const fromYml = (t: Obj): { fn: string; spec: TriggerSpec } => {
      const p = obj(t.parameters);
      if (t.type === 'cos') {
        const filter = obj(p.filter);
        return { fn: str(t.function), spec: { type: 'cos', name: str(p.bucket), event: str(p.events), prefix: str(filter.prefix), suffix: str(filter.suffix), enable: p.enable === true, qualifier: str(p.qualifier) || '$DEFAULT' } };
      }
      return { fn: str(t.function), spec: { type: 'timer', name: str(p.name), cron: str(p.cronExpression), argument: str(p.argument), enable: p.enable === true, qualifier: str(p.qualifier) || '$DEFAULT' } };
    };
    const got = triggers.map(fromYml);
    for (const key of FUNCTION_KEYS) expect(got.filter((g) => g.fn === key).map((g) => g.spec)).toEqual(triggersFor(key, settings));
    const events = got.filter((g) => g.spec.type === 'cos').map((g) => (g.spec.type === 'cos' ? g.spec.event : ''));
    expect(events.sort()).toEqual([...COS_EVENTS].sort());
    for (const e of events) expect(e).not.toMatch(/Copy|\*/);
    // One trigger per event (the COS `events` field takes one type), each bound once.
    expect(new Set(events).size).toBe(events.length);
    // The ledger lives outside the trigger's prefix, or every ledger write would invoke the function.
    expect(settings.ledgerPrefix.startsWith(settings.audioPrefix)).toBe(false);
  });

  test('the recovery pass runs every 5 minutes by default and REPORT_CRON stays configurable', () => {
    expect(example.REPORT_CRON).toBe(DEFAULT_RECOVERY_CRON);
    const cron = parseCron(DEFAULT_RECOVERY_CRON);
    const day = Date.parse('2026-01-01T00:00:00Z');
    let hits = 0;
    for (let s = 0; s < 86400; s++) if (cronMatches(cron, day + s * 1000, 0)) hits++;
    expect(hits).toBe(288);
    expect(loadDeploySettings({ ...example, REPORT_CRON: '0 5 0 * * * *' }).recoveryCron).toBe('0 5 0 * * * *');
    expect(() => loadDeploySettings({ ...example, REPORT_CRON: '0 5 0 * * *' })).toThrow(/REPORT_CRON.*seven fields/);
    expect(() => loadDeploySettings({ ...example, REPORT_CRON: '0 0 0 31 2 * *' })).toThrow(/never fires in a day/);
  });
});

test('one line per mistake: a missing required line is not also "required but not set"; IVR_LOG_DEBUG takes 0 or 1 only (a trial\'s "true" meant off)', () => {
  const problems = settingsProblems;
  const { CCC_SDK_APP_ID: _dropped, ...withoutApp } = example;
  expect(problems(withoutApp)).toEqual(['CCC_SDK_APP_ID is missing from .env: copy its line from .env.example (empty = the function\'s default)']);
  // A deploy's own checks (a removal, and the functions themselves, go on with such values).
  expect(problems({ ...example, IVR_LOG_DEBUG: 'true' })).toEqual([]);
  expect(deployProblems({ ...example, CCC_SDK_APP_ID: '1400000042', IVR_LOG_DEBUG: 'true' })).toEqual(['IVR_LOG_DEBUG must be 0 or 1 (1 also logs debug lines); got "true"']);
  expect(deployProblems({ ...example, CCC_SDK_APP_ID: '1400000042', IVR_LOG_DEBUG: '1' })).toEqual([]);
  expect(() => loadConfig({ ...example, TENCENTCLOUD_SECRETID: 'i', TENCENTCLOUD_SECRETKEY: 'k', IVR_REPORT_WEBHOOK: 'https://h/send?key=k # ops' })).not.toThrow();
});

describe('REPORT_CRON fires on every day (found by a review: one sample day, a Monday the 5th, let weekly and monthly crons through)', () => {
  const refusal = (cron: string): string[] => {
    try {
      loadDeploySettings({ ...example, REPORT_CRON: cron });
      return [];
    } catch (e) {
      return e instanceof DeployConfigError ? e.problems : [String(e)];
    }
  };
  /** The first day of 2028 (a leap year, so 29 February too) on which the cron does not fire at all, by the matcher itself. */
  const firstMissedDay = (cron: string): string | undefined => {
    const c = parseCron(cron);
    // The earliest time of day the second, minute and hour fields allow: the day fires iff it fires then.
    const first = (i: number) => {
      const f = c[i];
      return f === '*' ? 0 : Math.min(...f);
    };
    const atTime = ((first(2) * 60 + first(1)) * 60 + first(0)) * 1000;
    for (let t = Date.UTC(2028, 0, 1); t < Date.UTC(2029, 0, 1); t += 86400000) if (!cronMatches(c, t + atTime, 0)) return new Date(t).toISOString().slice(0, 10);
    return undefined;
  };
  const need = 'the daily report and the recovery pass need at least one run on every day (keep the day, month, weekday and year fields "*")';

  test.each([
    ['0 0 1 * * 1 *', 'weekday "1" field leaves'],
    ['0 0 1 5 * * *', 'day "5" field leaves'],
    ['0 0 1 * 1-11 * *', 'month "1-11" field leaves'],
    ['0 0 1 1-28 * 1-5 *', 'day "1-28" and weekday "1-5" fields leave'],
  ])('%s is refused, naming the field that leaves days out', (cron, fields) => {
    expect(firstMissedDay(cron)).toBeDefined();
    expect(refusal(cron)).toEqual([`REPORT_CRON "${cron}" does not fire on every day (its ${fields} days out): ${need}`]);
  });

  test.each(['0 0 1 * * * *', DEFAULT_RECOVERY_CRON, '0 30 23 1-31 1-12 0-6 *', '0 0 1 ? * ? *'])('%s fires on every day and is accepted', (cron) => {
    expect(firstMissedDay(cron)).toBeUndefined();
    expect(refusal(cron)).toEqual([]);
  });
});

describe('configuration wiring (both deploy paths)', () => {
  test('every operator variable config.ts reads is in .env.example and reaches both functions through the API deploy', () => {
    expect(OPERATOR_VARIABLES.filter((n) => !(n in example))).toEqual([]);
    const desired = desiredState(loadDeploySettings(everyOperatorVariableSet()));
    for (const f of desired.functions) {
      const names = Object.keys(f.environment);
      expect({ fn: f.name, notPassedByApiDeploy: OPERATOR_VARIABLES.filter((n) => !names.includes(n)), extra: names.filter((n) => !OPERATOR_VARIABLES.includes(n)) }).toEqual({ fn: f.name, notPassedByApiDeploy: [], extra: [] });
    }
  });

  test('platform and local variables are never passed to the functions', () => {
    const others = ENV_VARIABLES.filter((v) => v.source !== 'operator').map((v) => v.name);
    const desired = desiredState(loadDeploySettings(everyOperatorVariableSet()));
    for (const f of desired.functions) expect(Object.keys(f.environment).filter((n) => (others as string[]).includes(n))).toEqual([]);
  });

  test("every tuning value in .env.example is the function's own default (so the example never silently overrides one)", () => {
    const deploymentSpecific = new Set(['CCC_SDK_APP_ID', 'IVR_BUCKET', 'IVR_AUDIO_PREFIX']);
    const base = { CCC_SDK_APP_ID: example.CCC_SDK_APP_ID, TENCENTCLOUD_SECRETID: 'x', TENCENTCLOUD_SECRETKEY: 'y' };
    const defaults = loadConfig(base);
    for (const name of OPERATOR_VARIABLES) {
      if (deploymentSpecific.has(name) || !example[name]) continue;
      expect({ name, config: loadConfig({ ...base, [name]: example[name] }) }).toEqual({ name, config: defaults });
    }
  });

  test('an empty value is left out by the API deploy, so the function uses its default', () => {
    expect(example.IVR_REPORT_WEBHOOK).toBe('');
    expect(settings.functionEnv).not.toHaveProperty('IVR_REPORT_WEBHOOK');
  });

  test('a bad .env is refused with one line per problem, each naming the variable', () => {
    const problems = settingsProblems;
    const { IVR_MAX_BATCH: _dropped, ...withoutBatch } = example;
    void _dropped;
    expect(problems(withoutBatch)).toEqual([expect.stringMatching(/^IVR_MAX_BATCH is missing from \.env/)]);
    expect(problems({ ...example, BUCKET: 'old-1250000000', IVR_BUCKET: undefined as unknown as string })).toEqual(expect.arrayContaining([expect.stringMatching(/^BUCKET in \.env is now called IVR_BUCKET/)]));
    expect(problems({ ...example, IVR_WAIT_SECONDS: '140' })).toEqual([expect.stringMatching(/^IVR_WAIT_SECONDS must be at most 120/)]);
    // A call started at the end of the wait must end, and its answer be recorded, before SCF's timeout.
    expect(problems({ ...example, IVR_WAIT_SECONDS: '120', CCC_TIMEOUT_SECONDS: '120' })).toEqual([expect.stringMatching(/^IVR_WAIT_SECONDS must be at most 15 with CCC_TIMEOUT_SECONDS=120: /)]);
    expect(problems({ ...example, IVR_WAIT_SECONDS: '105', CCC_TIMEOUT_SECONDS: '30' })).toEqual([]);
    expect(problems({ ...example, IVR_AUDIO_PREFIX: '' })).toEqual([expect.stringMatching(/^IVR_AUDIO_PREFIX must not be empty/)]);
    expect(problems({ ...example, MEMORY_SIZE: '200' })).toEqual([expect.stringMatching(/^MEMORY_SIZE/)]);
    expect(problems({ ...example, IVR_MAX_BATCH: '500' })).toEqual([expect.stringMatching(/^IVR_MAX_BATCH must be between 1 and 50/)]);
    expect(problems({ ...example, IVR_LEDGER_PREFIX: 'prompts/ledger/' })).toEqual([expect.stringMatching(/^IVR_LEDGER_PREFIX must be outside IVR_AUDIO_PREFIX/)]);
    // The other way round: every upload would be skipped as a ledger record, with no error anywhere.
    expect(problems({ ...example, IVR_AUDIO_PREFIX: '.ivr-audio-sync/prompts/' })).toEqual([expect.stringMatching(/^IVR_AUDIO_PREFIX must be outside IVR_LEDGER_PREFIX/)]);
    // The deploy's own bucket check and the functions' (loadConfig) word the same problem alike: once.
    for (const bucket of ['prompts', 'Prompts-1250000000']) expect(problems({ ...example, IVR_BUCKET: bucket })).toEqual([`IVR_BUCKET must be the full bucket name <name>-<appid>, e.g. prompts-1250000000; got "${bucket}"`]);
  });
});

describe('runtime', () => {
  test('defaults to Nodejs16.13 and accepts only runtimes the multi-scf schema documents', () => {
    expect(DEFAULT_RUNTIME).toBe('Nodejs16.13');
    expect(parseRuntime('')).toBe('Nodejs16.13');
    for (const r of Object.keys(SCF_RUNTIMES)) expect(MULTI_SCF_SCHEMA_RUNTIMES).toContain(r);
    expect(() => parseRuntime('Nodejs18.15')).toThrow(/SCF_RUNTIME must be one of Nodejs16\.13.*schema/);
    expect(() => parseRuntime('Nodejs20.15')).toThrow(/SCF_RUNTIME/);
    expect(() => parseRuntime('Nodejs12.16')).toThrow(/randomUUID/);
    expect(settings.runtime).toBe(example.SCF_RUNTIME);
  });

  test('the bundles are built for the runtime: scripts/build.mjs takes its target from runtime.ts', () => {
    expect(esbuildTarget('Nodejs16.13')).toBe('node16.13');
    const build = fs.readFileSync(path.join(ROOT, 'scripts', 'build.mjs'), 'utf8');
    expect(build).toMatch(/esbuildTarget\(runtime\)/);
    expect(build).toMatch(/parseRuntime\(process\.env\.SCF_RUNTIME\)/);
    expect(build).not.toMatch(/target:\s*['"]node/);
  });
});

describe('function names', () => {
  test("follow multi-scf's <name>-<stage>-<app>-<key> rule and are what the README states", () => {
    expect(functionName('prod', 'upload')).toBe('ivr-audio-sync-prod-ivr-audio-sync-upload');
    expect(functionName('prod', 'report')).toBe('ivr-audio-sync-prod-ivr-audio-sync-report');
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const deploy = readme.slice(readme.indexOf('## Deploy'), readme.indexOf('\n## ', readme.indexOf('## Deploy') + 1));
    expect(deploy).toContain('ivr-audio-sync-<STAGE>-ivr-audio-sync-upload');
    expect(deploy).toContain('ivr-audio-sync-<STAGE>-ivr-audio-sync-report');
    expect(deploy).toContain('deploy/deploy-user-policy.json');
    expect(deploy).toContain('deploy/cam-policy.json');
  });
});

test('the deploy package holds both handler bundles and the lazily loaded side files (audio converter, CCC client, proxied COS transport, report code), no node_modules and no SDK left unbundled', () => {
  const files = fs.readdirSync(pkgDir).sort();
  expect(files).toEqual([...FUNCTION_KEYS.map((key) => `${FUNCTIONS[key].handler.split('.')[0]}.js`), 'audio_convert.js', 'ccc_client.js', 'cos_request.js', 'report_render.js'].sort());
  const sizes = files.map((f) => `${f} ${(fs.statSync(path.join(pkgDir, f)).size / 1024).toFixed(0)} KB`);
  process.stdout.write(`deploy package: ${sizes.join(', ')}\n`);
  for (const f of files.filter((n) => n.endsWith('.js'))) expect(fs.readFileSync(path.join(pkgDir, f), 'utf8')).not.toMatch(/require\(["'](tencentcloud-sdk-nodejs|cos-nodejs-sdk-v5)/);
});

describe('CAM policies (structure; real usage is checked after the whole run)', () => {
  const policy: CamPolicy = renderPolicy(settings);
  const resourcesOf = (p: CamPolicy, action: string) => p.statement.filter((s) => s.action.includes(`name/${action}`)).flatMap((s) => s.resource);

  test('the execution role writes only under the audio and ledger prefixes and copies only under the audio prefix', () => {
    const audio = `qcs::cos:${settings.region}:uid/${settings.appId}:${settings.bucket}/${settings.audioPrefix}*`;
    const ledger = `qcs::cos:${settings.region}:uid/${settings.appId}:${settings.bucket}/${settings.ledgerPrefix}*`;
    for (const s of policy.statement) for (const r of s.resource) expect(r).not.toContain('${');
    expect(resourcesOf(policy, 'cos:PutObjectCopy')).toEqual([audio]);
    expect(resourcesOf(policy, 'cos:PutObject')).toEqual([ledger]);
    expect(resourcesOf(policy, 'cos:DeleteObject')).toEqual([ledger]);
    for (const a of ['cos:HeadObject', 'cos:GetObject']) expect(resourcesOf(policy, a).sort()).toEqual([audio, ledger].sort());
    expect(resourcesOf(policy, 'cos:GetBucket')).toEqual([`qcs::cos:${settings.region}:uid/${settings.appId}:${settings.bucket}/*`]);
    // The recovery pass's daily check of the bucket's versioning.
    expect(resourcesOf(policy, 'cos:GetBucketVersioning')).toEqual([`qcs::cos:${settings.region}:uid/${settings.appId}:${settings.bucket}/*`]);
    expect(grantedActions(policy)).toEqual(expect.arrayContaining(['cos:PutObjectCopy', 'ccc:UploadIvrAudio']));
  });

  test('the deploy user manages only these functions, passes only the execution role, and binds triggers on and reads the versioning of only the bucket', () => {
    const user = renderDeployUserPolicy(settings, '100000000001');
    const fnResource = `qcs::scf:${settings.region}:uin/100000000001:namespace/default/function/ivr-audio-sync-${settings.stage}-ivr-audio-sync-*`;
    for (const a of grantedActions(user, 'scf')) expect(resourcesOf(user, a)).toEqual([fnResource]);
    for (const key of FUNCTION_KEYS) expect(functionName(settings.stage, key).startsWith(fnResource.slice(fnResource.lastIndexOf('/') + 1, -1))).toBe(true);
    expect(resourcesOf(user, 'cam:PassRole')).toEqual([`qcs::cam::uin/100000000001:roleName/${settings.role}`]);
    expect(resourcesOf(user, 'cos:PutBucketNotification')).toEqual([`qcs::cos:${settings.region}:uid/${settings.appId}:${settings.bucket}/*`]);
    // The bucket check before a deploy (scripts/deploy/bucket.ts) reads the bucket's versioning.
    expect(resourcesOf(user, 'cos:GetBucketVersioning')).toEqual([`qcs::cos:${settings.region}:uid/${settings.appId}:${settings.bucket}/*`]);
    expect(user.statement.flatMap((s) => s.resource)).not.toContain('*');
    const withSls = renderDeployUserPolicy(settings, '100000000001', { sls: true });
    expect(resourcesOf(withSls, 'cam:PassRole')).toEqual([`qcs::cam::uin/100000000001:roleName/${settings.role}`, 'qcs::cam::uin/100000000001:roleName/SLS_QcsRole']);
    // The sls CLI calls Tencent's engine in ap-guangzhou whatever the functions' region, and the
    // engine's upload and cache actions take no resource (Tencent lists only the instance actions
    // as resource-level): scoped to the app, those calls were refused.
    expect(resourcesOf(withSls, 'sls:*')).toEqual([...new Set(['qcs::sls:ap-guangzhou::appname/ivr-audio-sync/*', `qcs::sls:${settings.region}::appname/ivr-audio-sync/*`])]);
    for (const a of ['GetUploadUrls', 'GetCacheFileUrls', 'GetPackage', 'ListPackages']) expect(resourcesOf(withSls, `sls:${a}`)).toEqual(['*']);
    const elsewhere = renderDeployUserPolicy({ ...settings, region: 'ap-singapore' }, '100000000001', { sls: true });
    expect(resourcesOf(elsewhere, 'sls:*')).toEqual(['qcs::sls:ap-guangzhou::appname/ivr-audio-sync/*', 'qcs::sls:ap-singapore::appname/ivr-audio-sync/*']);
    expect(() => renderDeployUserPolicy(settings, '')).toThrow(/OWNER_UIN/);
  });

  test('the async retry policy the reliability design relies on', () => {
    expect(ASYNC_RETRY).toEqual({ retryNum: 2, msgTTLSeconds: 21600 });
  });
});

test('npm run policy refuses an option it does not know (a typo must not print the execution role\'s policy instead), and has --help', () => {
  const run = (...args: string[]) => spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'scripts', 'policy.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  const typo = run('--deploy-usr');
  expect({ status: typo.status, stdout: typo.stdout, stderr: typo.stderr }).toEqual({ status: 2, stdout: '', stderr: 'policy: unknown option --deploy-usr: did you mean --deploy-user?\n' });
  const help = run('--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^usage: npm run policy .*\n[\s\S]*--deploy-user/);
  expect(run('--sls').status).toBe(2);
  // Another stage's settings, as deploy:api takes them (a trial could only swap .env), behind `--` as package.json passes them.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-'));
  try {
    fs.writeFileSync(path.join(dir, '.env.staging'), fs.readFileSync(EXAMPLE, 'utf8').replace(/^IVR_BUCKET=.*$/m, 'IVR_BUCKET=staging-1250000000'));
    const staging = run('--', '--env-file', path.join(dir, '.env.staging'));
    expect({ status: staging.status, stderr: staging.stderr }).toEqual({ status: 0, stderr: 'policy: CCC_SDK_APP_ID in .env.staging still has its .env.example placeholder: set it to your own before pasting this policy\n' });
    expect(staging.stdout).toContain('staging-1250000000');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30000);

test('a .env saved as UTF-16 (Windows PowerShell\'s >) is refused as such, not read as empty keys', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'env16-'));
  try {
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(fs.readFileSync(EXAMPLE, 'utf8'), 'utf16le')]));
    expect(() => loadDeployEnv(file, {})).toThrow(new DeployConfigError([".env is saved as UTF-16 (as Windows PowerShell's > writes it): save it as UTF-8"]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('npm run deploy:api -- --env-file takes the path from the folder it is run in, and a missing one is refused by the deploy, not by Node', () => {
  // Node 20 reads --env-file even after the script's name, and exited 9 with "node: .env.staging:
  // not found" before the deploy could say anything (a trial); package.json's scripts end in `--`.
  const dir = path.join(ROOT, 'functions');
  const npm = (...args: string[]) => spawnSync('npm', ['run', '--silent', 'deploy:api', '--', ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: os.tmpdir() } });
  const missing = npm('--dry-run', '--no-build', '--env-file', 'nowhere.env');
  expect({ status: missing.status, stdout: missing.stdout }).toEqual({ status: 1, stdout: `refused: ${path.join(dir, 'nowhere.env')} not found: check the path given with --env-file (relative to the folder you run the command in)\n` });
  expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts).toMatchObject({ deploy: expect.stringMatching(/ --$/), remove: expect.stringMatching(/ --$/), 'deploy:api': expect.stringMatching(/ --$/), 'remove:api': expect.stringMatching(/ --$/), policy: expect.stringMatching(/ --$/) });
}, 60000);

test('npm run deploy:api refuses an option it does not know, naming the closest, and has --help', () => {
  const run = (...args: string[]) => spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [path.join(ROOT, 'scripts', 'deploy', 'api.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  const typo = run('deploy', '--dryrun');
  expect({ status: typo.status, stdout: typo.stdout, stderr: typo.stderr }).toEqual({ status: 2, stdout: '', stderr: 'npm run deploy:api: unknown option --dryrun: did you mean --dry-run?\n' });
  const help = run('remove', '--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^usage: npm run remove:api .*\n[\s\S]*--dry-run/);
}, 30000);
