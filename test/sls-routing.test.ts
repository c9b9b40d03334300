/**
 * The `sls deploy` path: `.env.example` routes serverless@2.72.4 to Tencent from any time zone, and
 * `npm run deploy` refuses what would make sls fail quietly (no key → QR login that exits 0).
 *
 * Where serverless decides (node_modules, serverless@2.72.4):
 * - `serverless/lib/cli/triage.js` (module.exports): a serverless.yml with a top-level `component:`
 *   goes to `@serverless/components`, whatever the time zone;
 * - `@serverless/components/src/cli/index.js` (the exported CLI handler) loads `.env` with
 *   `dotenv.config()` (its own dotenv 8.6.0), then picks `commands-cn` (Tencent) when
 *   `isChinaUser()` (`src/cli/utils.js`) is true: SERVERLESS_PLATFORM_VENDOR=tencent or
 *   SLS_GEO_LOCATION=cn, else a China time zone; otherwise the Serverless Inc. commands, whose
 *   deploy asks for "serverless login".
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as os from 'os';
import * as path from 'path';
import { loadDeployEnv, loadDeploySettings, ROOT } from '../scripts/lib/deploy-config';
import { loadConfig } from '../shared/core/config';
import { readDotenv, serverlessDotenvPath } from '../scripts/lib/dotenv';
import { desiredState, functionName } from '../scripts/lib/deploy-spec';
import { routingProblem, runSls, type SlsRunner } from '../scripts/deploy/sls';
import { FakeCos } from '../scripts/local/fakes/fake-cos';
import { FakeScf } from '../scripts/local/fakes/fake-scf';
import type { FakeCredential } from '../scripts/local/fakes/credentials';
import { createScfApi, createScfClient } from '../scripts/deploy/scf';
import { zipDirectory } from '../scripts/deploy/zip';

const SLS_BIN = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
const DEPLOY_USER: FakeCredential = { secretId: 'AKIDslsWrapperFake00000000000000', secretKey: 'slsWrapperFakeSecretKey000000000', role: 'deploy' };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A project directory with serverless.yml and the given .env text. */
function project(envText: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-routing-'));
  dirs.push(dir);
  fs.copyFileSync(path.join(ROOT, 'serverless.yml'), path.join(dir, 'serverless.yml'));
  if (envText !== undefined) fs.writeFileSync(path.join(dir, '.env'), envText);
  return dir;
}

/** Runs the real serverless@2.72.4 CLI's `help` (no network, no deploy) outside any China setting. */
function slsHelp(dir: string): string {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, TZ: 'UTC', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
  const r = spawnSync(process.execPath, [SLS_BIN, 'help'], { cwd: dir, env, encoding: 'utf8', timeout: 20000 });
  return `${r.stdout}${r.stderr}`;
}

const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');

test('.env.example, read by the dotenv that @serverless/components loads, sets SERVERLESS_PLATFORM_VENDOR=tencent', () => {
  expect(serverlessDotenvPath()).toContain(path.join('@serverless', 'components', 'node_modules', 'dotenv'));
  const dotenvPkg = JSON.parse(fs.readFileSync(path.join(path.dirname(serverlessDotenvPath()), '..', 'package.json'), 'utf8')) as { version: string };
  expect(dotenvPkg.version).toBe('8.6.0');
  const parsed = readDotenv(path.join(ROOT, '.env.example'));
  expect(parsed.SERVERLESS_PLATFORM_VENDOR).toBe('tencent');
  // dotenv 8 keeps inline comments in values: none may sneak in.
  for (const [k, v] of Object.entries(parsed)) expect(`${k}=${v}`).not.toMatch(/\s#/);
});

test('the real serverless@2.72.4 CLI, in UTC with .env = .env.example, runs Tencent\'s commands; without the line it does not', () => {
  const routed = slsHelp(project(example));
  expect(routed).toContain('部署应用到云端');
  expect(routed).toContain('函数组件命令');
  const notRouted = slsHelp(project(example.replace(/^SERVERLESS_PLATFORM_VENDOR=tencent$/m, '')));
  expect(notRouted).toContain('Logs into the Serverless Dashboard');
  expect(notRouted).not.toContain('部署应用到云端');
});

test("the wrapper's routing check agrees with @serverless/components' isChinaUser()", () => {
  const requireFromComponents = createRequire(require.resolve('@serverless/components/package.json'));
  const utils = requireFromComponents('./src/cli/utils.js') as { isChinaUser: () => boolean };
  const tz = new Intl.DateTimeFormat('en', { timeZoneName: 'long' }).format();
  const saved = { v: process.env.SERVERLESS_PLATFORM_VENDOR, g: process.env.SLS_GEO_LOCATION };
  try {
    for (const [v, g] of [
      ['tencent', undefined],
      ['aws', undefined],
      [undefined, 'cn'],
      [undefined, 'us'],
      [undefined, undefined],
      ['aws', 'cn'],
    ] as const) {
      if (v === undefined) delete process.env.SERVERLESS_PLATFORM_VENDOR;
      else process.env.SERVERLESS_PLATFORM_VENDOR = v;
      if (g === undefined) delete process.env.SLS_GEO_LOCATION;
      else process.env.SLS_GEO_LOCATION = g;
      expect({ v, g, tencent: routingProblem({ SERVERLESS_PLATFORM_VENDOR: v, SLS_GEO_LOCATION: g }, tz) === undefined }).toEqual({ v, g, tencent: utils.isChinaUser() });
    }
  } finally {
    if (saved.v === undefined) delete process.env.SERVERLESS_PLATFORM_VENDOR;
    else process.env.SERVERLESS_PLATFORM_VENDOR = saved.v;
    if (saved.g === undefined) delete process.env.SLS_GEO_LOCATION;
    else process.env.SLS_GEO_LOCATION = saved.g;
  }
});

describe('npm run deploy (the sls wrapper)', () => {
  // The account's COS: the wrapper reads the bucket's versioning before sls runs (COS_ENDPOINT).
  let cos: FakeCos;
  /** .env.example with the deploy key, pointed at the fake COS. */
  let filled = '';
  beforeAll(async () => {
    cos = await new FakeCos({ credentials: [DEPLOY_USER] }).start();
    cos.createBucket('prompts-1250000000');
    filled = `${example
      .replace(/^TENCENT_SECRET_ID=$/m, `TENCENT_SECRET_ID=${DEPLOY_USER.secretId}`)
      .replace(/^TENCENT_SECRET_KEY=$/m, `TENCENT_SECRET_KEY=${DEPLOY_USER.secretKey}`)
      .replace(/^CCC_SDK_APP_ID=1400000000$/m, 'CCC_SDK_APP_ID=1400000042')}\nCOS_ENDPOINT=${cos.endpoint}\n`;
  });
  afterAll(() => cos.stop());
  const io = (lines: string[]) => ({ out: (l: string) => lines.push(l), sleep: async () => undefined, now: () => Date.now() });
  const neverRun: SlsRunner = () => Promise.reject(new Error('sls must not run'));

  test('refuses with one clear line, before calling sls, when the deploy key is missing', async () => {
    const lines: string[] = [];
    const code = await runSls({ command: 'deploy', args: [], envFile: path.join(project(example), '.env'), processEnv: {}, timeZoneName: 'Coordinated Universal Time', runner: neverRun, io: io(lines) });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^refused: TENCENT_SECRET_ID and TENCENT_SECRET_KEY are empty in \.env: set the deploy user's API key/)]);
  });

  test('refuses when .env would not route sls to Tencent, or the shell overrides it with aws', async () => {
    const lines: string[] = [];
    const noRouting = path.join(project(filled.replace(/^SERVERLESS_PLATFORM_VENDOR=tencent$/m, '')), '.env');
    expect(await runSls({ command: 'deploy', args: [], envFile: noRouting, processEnv: {}, timeZoneName: 'Coordinated Universal Time', runner: neverRun, io: io(lines) })).toBe(1);
    expect(await runSls({ command: 'deploy', args: [], envFile: path.join(project(filled), '.env'), processEnv: { SERVERLESS_PLATFORM_VENDOR: 'aws' }, timeZoneName: 'Coordinated Universal Time', runner: neverRun, io: io(lines) })).toBe(1);
    expect(lines).toEqual([
      expect.stringMatching(/^refused: SERVERLESS_PLATFORM_VENDOR=tencent is missing from \.env/),
      // Every variable the shell sets over the file is named first (a trial's shell REGION deployed without a word).
      "note: SERVERLESS_PLATFORM_VENDOR comes from this shell's environment, not from .env (a variable set in the shell wins, as in sls)",
      expect.stringMatching(/^refused: SERVERLESS_PLATFORM_VENDOR=aws is set in your shell/),
    ]);
    const shell: string[] = [];
    expect(await runSls({ command: 'deploy', args: [], envFile: path.join(project(filled), '.env'), processEnv: { REGION: 'ap-shanghai', STAGE: 'dev', TENCENT_SECRET_KEY: 'k' }, timeZoneName: 'UTC', runner: neverRun, io: io(shell) })).toBe(1);
    expect(shell[0]).toBe("note: TENCENT_SECRET_KEY, REGION, STAGE come from this shell's environment, not from .env (a variable set in the shell wins, as in sls)");
  });

  test('refuses --env-file, which sls would not read: it would deploy what .env says (a trial deployed .env so)', async () => {
    const lines: string[] = [];
    for (const args of [['--env-file', '.env.staging'], ['--env-file=.env.staging']]) {
      expect(await runSls({ command: 'deploy', args, envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: neverRun, io: io(lines) })).toBe(1);
    }
    expect(lines).toEqual(Array(2).fill('refused: --env-file is not read by npm run deploy: sls reads .env itself, and would deploy what .env says; use npm run deploy:api -- --env-file <file>, or copy that file\'s settings into .env'));
  });

  test('turns the QR-login fallback that exits 0 into a failure', async () => {
    const lines: string[] = [];
    const qr: SlsRunner = async (_args, o) => {
      o.out('请扫码进行登陆，或通过 sls credentials 配置全局用户授权，详情请查看 sls --help');
      o.out('登录超时，请重试');
      return { code: 0, output: '请扫码进行登陆，或通过 sls credentials 配置全局用户授权\n登录超时，请重试\n' };
    };
    expect(await runSls({ command: 'deploy', args: [], envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: qr, io: io(lines) })).toBe(1);
    expect(lines[lines.length - 1]).toMatch(/^failed: sls deploy fell back to the QR-code login and exited 0/);
  });

  test('after a successful sls deploy, sets the async retry policy the component leaves alone', async () => {
    const scf = await new FakeScf({ credentials: [DEPLOY_USER] }).start();
    try {
      const client = createScfClient(DEPLOY_USER, 'ap-guangzhou', { protocol: 'http:', hostname: '127.0.0.1', port: scf.port });
      // What `sls deploy` leaves: both functions, the retry policy at whatever the account had.
      const pkg = zipDirectory(path.join(ROOT, 'dist', 'package'));
      for (const key of ['upload', 'report'] as const) {
        await client.CreateFunction({ FunctionName: functionName('prod', key), Code: { ZipFile: pkg.bytes.toString('base64') }, Handler: key === 'upload' ? 'ivr_upload.main_handler' : 'quota_report.main_handler', Runtime: 'Nodejs16.13' });
      }
      await client.UpdateFunctionEventInvokeConfig({ FunctionName: functionName('prod', 'upload'), AsyncTriggerConfig: { RetryConfig: [{ RetryNum: 0 }], MsgTTL: 3600 } });
      const lines: string[] = [];
      const ok: SlsRunner = async (args) => ({ code: 0, output: `ran sls ${args.join(' ')}` });
      const code = await runSls({ command: 'deploy', args: [], envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: ok, api: createScfApi(client), io: io(lines) });
      expect(code).toBe(0);
      expect(lines).toEqual([
        `async retry of ${functionName('prod', 'upload')}: set RetryNum 2, MsgTTL 21600 s`,
        `async retry of ${functionName('prod', 'report')}: RetryNum 2, MsgTTL 21600 s (unchanged)`,
        'deployed; verify the first file as README → Deploy describes',
      ]);
      expect(scf.fn('ap-guangzhou', functionName('prod', 'upload'))?.retry).toEqual({ RetryNum: 2, MsgTTL: 21600 });
      for (const l of lines) expect(l).not.toContain(DEPLOY_USER.secretKey);
    } finally {
      await scf.stop();
    }
  });

  /** What the sls wrapper hands sls: its arguments and environment (sls itself is not run). */
  async function handedToSls(envText: string): Promise<{ dir: string; args: string[]; env: Record<string, string | undefined> }> {
    const dir = project(envText);
    let seen: { args: string[]; env: Record<string, string | undefined> } = { args: [], env: {} };
    const capture: SlsRunner = async (args, _io, env) => {
      seen = { args, env };
      return { code: 1, output: '' };
    };
    expect(await runSls({ command: 'deploy', args: [], envFile: path.join(dir, '.env'), processEnv: {}, timeZoneName: 'UTC', runner: capture, io: io([]) })).toBe(1);
    return { dir, ...seen };
  }

  type EngineEnv = Array<{ key: string; value?: string }>;
  type EngineYml = { inputs: { runtime: string; functions: Record<string, { memorySize: unknown; environments: EngineEnv; environment: EngineEnv }>; triggers: Array<{ type: string; parameters: { cronExpression?: string } }> } };

  /**
   * serverless.yml's inputs as @serverless/components hands them to the engine for these arguments
   * and environment, by its own code, in the order of `commands-cn/utils.js` loadTencentInstanceConfig
   * (which itself also looks up the org over the network): the file, `--inputs` merged over it with
   * ramda's mergeDeepRight, `.env` by its dotenv for what the environment lacks, `${env:…}` resolved.
   */
  function engineInputs(dir: string, args: string[], env: Record<string, string | undefined>): EngineYml {
    const engine = createRequire(path.join(ROOT, 'node_modules', '@serverless', 'components', 'package.json'));
    const utils = engine('./src/cli/utils') as { loadInstanceConfig(dir: string): Record<string, unknown>; parseCliInputs(): Record<string, unknown>; resolveVariables(o: Record<string, unknown>): Record<string, unknown> };
    const ramda = engine('ramda') as { mergeDeepRight(a: object, b: object): Record<string, unknown> };
    const dotenv = engine('dotenv') as { config(o: { path: string }): unknown };
    const saved = { env: process.env, argv: process.argv };
    process.env = { ...env } as NodeJS.ProcessEnv;
    process.argv = [process.execPath, SLS_BIN, ...args];
    try {
      dotenv.config({ path: path.join(dir, '.env') });
      const file = JSON.parse(JSON.stringify(utils.loadInstanceConfig(dir))) as Record<string, unknown>;
      file.inputs = ramda.mergeDeepRight((file.inputs as object | undefined) ?? {}, utils.parseCliInputs());
      return utils.resolveVariables(file) as EngineYml;
    } finally {
      process.env = saved.env;
      process.argv = saved.argv;
    }
  }

  /**
   * The Environment CreateFunction gets from such a list, on Tencent's side: multi-scf's
   * formatFaasInputs turns the list into `{ variables: { key: value } }` (serverless-components/
   * tencent-multi-scf src/formatter.ts) and tencent-component-toolkit's formatInputs sends each as
   * `{ Key, Value: String(val) }` (src/modules/scf/utils.ts).
   */
  const scfEnvironment = (list: EngineEnv) => Object.entries(Object.fromEntries(list.map((e) => [e.key, e.value]))).map(([Key, v]) => ({ Key, Value: String(v) }));

  test('settings left empty in .env reach the engine as the defaults the checks approved, and the functions start with them', async () => {
    const emptied = ['SCF_RUNTIME', 'MEMORY_SIZE', 'REPORT_CRON', 'IVR_LEDGER_PREFIX'].reduce((t, k) => t.replace(new RegExp(`^${k}=.*$`, 'm'), `${k}=`), filled);
    const { dir, args, env } = await handedToSls(emptied);
    const yml = engineInputs(dir, args, env);
    expect(yml.inputs.runtime).toBe('Nodejs16.13');
    expect(String(yml.inputs.functions.upload.memorySize)).toBe('128');
    expect(yml.inputs.triggers.find((t) => t.type === 'timer')?.parameters.cronExpression).toBe('0 */5 * * * * *');
    const fnEnv = Object.fromEntries(yml.inputs.functions.upload.environments.map((e) => [e.key, e.value]));
    // Left out, as deploy:api does (it was sent as ""): the function applies its default.
    expect(fnEnv).not.toHaveProperty('IVR_LEDGER_PREFIX');
    expect(loadConfig({ ...fnEnv, TENCENTCLOUD_SECRETID: 'x', TENCENTCLOUD_SECRETKEY: 'y', TENCENTCLOUD_REGION: 'ap-guangzhou' }).ledgerPrefix).toBe('.ivr-audio-sync/');
  });

  test('optional variables left empty (.env.example: IVR_REPORT_WEBHOOK, IVR_MAX_SECONDS) are not sent as "": each function gets what deploy:api sends, and the fake SCF accepts it (found by a review)', async () => {
    const scf = await new FakeScf({ credentials: [DEPLOY_USER] }).start();
    try {
      const client = createScfClient(DEPLOY_USER, 'ap-guangzhou', { protocol: 'http:', hostname: '127.0.0.1', port: scf.port });
      const zip = zipDirectory(path.join(ROOT, 'dist', 'package')).bytes.toString('base64');
      const webhook = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=slsWebhookSecret123';
      for (const [envText, expectWebhook] of [
        [filled, false],
        [filled.replace(/^IVR_REPORT_WEBHOOK=$/m, `IVR_REPORT_WEBHOOK=${webhook}`), true],
      ] as const) {
        expect(envText).toMatch(/^IVR_MAX_SECONDS=$/m);
        const { dir, args, env } = await handedToSls(envText);
        // The webhook's key never goes on sls's command line: the inputs only name the variables.
        expect(args.join(' ')).not.toContain('slsWebhookSecret123');
        const yml = engineInputs(dir, args, env);
        const settings = loadDeploySettings(loadDeployEnv(path.join(dir, '.env'), {}).values);
        for (const spec of desiredState(settings).functions) {
          const fn = yml.inputs.functions[spec.key];
          expect(fn.environment).toEqual(fn.environments);
          const sent = scfEnvironment(fn.environments);
          expect(sent.filter((v) => v.Value === '' || v.Value === 'undefined')).toEqual([]);
          expect(Object.fromEntries(sent.map((v) => [v.Key, v.Value]))).toEqual(spec.environment);
          expect(sent.some((v) => v.Key === 'IVR_REPORT_WEBHOOK' && v.Value === webhook)).toBe(expectWebhook);
          expect(sent.map((v) => v.Key)).not.toContain('IVR_MAX_SECONDS');
          const name = `${spec.name}-${expectWebhook ? 'webhook' : 'plain'}`;
          await client.CreateFunction({ FunctionName: name, Code: { ZipFile: zip }, Handler: spec.handler, Runtime: spec.runtime, Environment: { Variables: sent } });
          expect(scf.fn('ap-guangzhou', name)?.Environment).toEqual(sent);
        }
      }
    } finally {
      await scf.stop();
    }
  });

  test('the operator\'s own sls options still reach sls beside the environment --inputs, and none is read as an input', async () => {
    const ran: string[][] = [];
    const capture: SlsRunner = async (args) => {
      ran.push(args);
      return { code: 1, output: '' };
    };
    const envFile = path.join(project(filled), '.env');
    expect(await runSls({ command: 'deploy', args: ['--debug', '--profile=work'], envFile, processEnv: {}, timeZoneName: 'UTC', runner: capture, io: io([]) })).toBe(1);
    expect(ran[0].slice(0, 6)).toEqual(['deploy', '--debug', '--profile', 'work', '--inputs', expect.stringMatching(/^functions=\{/)]);
    const lines: string[] = [];
    expect(await runSls({ command: 'deploy', args: ['--note', 'a=b'], envFile, processEnv: {}, timeZoneName: 'UTC', runner: neverRun, io: io(lines) })).toBe(1);
    expect(lines).toEqual(['refused: "a=b" is not passed to sls: sls would read it as a setting of serverless.yml\'s inputs']);
  });

  test('refuses sls options that would deploy other functions than the ones .env names (and the retry policy step targets)', async () => {
    const lines: string[] = [];
    expect(await runSls({ command: 'deploy', args: ['--stage', 'dev'], envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: neverRun, io: io(lines) })).toBe(1);
    expect(await runSls({ command: 'deploy', args: ['--region=ap-shanghai'], envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: neverRun, io: io(lines) })).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^refused: --stage is not passed to sls: set STAGE in \.env instead/), expect.stringMatching(/^refused: --region is not passed to sls: set REGION in \.env instead/)]);
  });

  describe('help and version (found by a review: `npm run deploy -- --help` went on to set the retry policy of live functions)', () => {
    let scf: FakeScf;
    beforeAll(async () => {
      scf = await new FakeScf({ credentials: [DEPLOY_USER] }).start();
    });
    afterAll(() => scf.stop());
    const api = () => createScfApi(createScfClient(DEPLOY_USER, 'ap-guangzhou', { protocol: 'http:', hostname: '127.0.0.1', port: scf.port }));

    test('the real sls prints its deploy help, exits 0, and nothing follows: no SCF call', async () => {
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sls-help-home-'));
      dirs.push(home);
      const lines: string[] = [];
      const processEnv = { PATH: process.env.PATH, HOME: home, TZ: 'UTC', SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', SERVERLESS_PLATFORM_VENDOR: 'tencent' };
      const code = await runSls({ command: 'deploy', args: ['--help'], envFile: path.join(project(filled), '.env'), processEnv, timeZoneName: 'UTC', api: api(), io: io(lines) });
      expect(code).toBe(0);
      expect(lines.join('\n')).toContain('部署应用到云端');
      expect(lines[lines.length - 1]).toBe('nothing was deployed: sls only printed its help');
      expect(scf.calls).toEqual([]);
    });

    test.each([[['-h']], [['help']], [['--debug', '--help']], [['--help-components']]])('%j asks sls for its help only (`sls deploy help` would deploy)', async (args) => {
      const lines: string[] = [];
      const ran: string[][] = [];
      const help: SlsRunner = async (a) => {
        ran.push(a);
        return { code: 0, output: 'deploy                    部署应用到云端\n' };
      };
      expect(await runSls({ command: 'deploy', args, envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: help, api: api(), io: io(lines) })).toBe(0);
      expect(ran).toEqual([['deploy', '--help']]);
      // Our line first: sls's help (in Chinese, listing --stage and --login) says nothing of what the wrapper sets from .env.
      expect(lines).toEqual([expect.stringMatching(/^npm run deploy runs sls deploy with the settings in \.env .*--stage, --app, --org, --region, --inputs, --target come from \.env and are refused here/), 'nothing was deployed: sls only printed its help']);
      expect(scf.calls).toEqual([]);
    });

    test('--version and -v print versions only; help works before .env is filled in', async () => {
      for (const args of [['--version'], ['-v']]) {
        const lines: string[] = [];
        const ran: string[][] = [];
        const version: SlsRunner = async (a) => {
          ran.push(a);
          return { code: 0, output: 'Framework Core: 2.72.4\n' };
        };
        expect(await runSls({ command: 'deploy', args, envFile: path.join(project(example), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: version, api: api(), io: io(lines) })).toBe(0);
        expect(ran).toEqual([['deploy', '--version']]);
        expect(lines).toEqual(['nothing was deployed: sls only printed its version']);
      }
      expect(scf.calls).toEqual([]);
    });

    test('any other argument that is not an option is refused before sls runs (sls would ignore it and deploy)', async () => {
      const lines: string[] = [];
      expect(await runSls({ command: 'deploy', args: ['upload'], envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: neverRun, api: api(), io: io(lines) })).toBe(1);
      expect(lines).toEqual(['refused: sls deploy takes only options, not "upload" (it would deploy everything anyway): remove it']);
      expect(scf.calls).toEqual([]);
    });
  });

  test('refuses a bucket that ever had versioning before sls runs, with what to do; remove still runs sls', async () => {
    const versioned = await new FakeCos({ credentials: [DEPLOY_USER] }).start();
    try {
      versioned.setVersioning('prompts-1250000000', 'Enabled');
      versioned.setVersioning('prompts-1250000000', 'Suspended');
      const envFile = path.join(project(filled.replace(/^COS_ENDPOINT=.*$/m, `COS_ENDPOINT=${versioned.endpoint}`)), '.env');
      const lines: string[] = [];
      expect(await runSls({ command: 'deploy', args: [], envFile, processEnv: {}, timeZoneName: 'UTC', runner: neverRun, io: io(lines) })).toBe(1);
      expect(lines).toEqual([expect.stringMatching(/^refused: bucket prompts-1250000000 has versioning suspended \(so it was enabled once\): COS then ignores x-cos-forbid-overwrite.*; nothing was changed$/)]);
      expect(versioned.requests.map((r) => `${r.op} ${r.status}`)).toEqual(['GET_VERSIONING 200']);
      const removed: string[][] = [];
      const remove: SlsRunner = async (args) => (removed.push(args), { code: 0, output: '' });
      expect(await runSls({ command: 'remove', args: [], envFile, processEnv: {}, timeZoneName: 'UTC', runner: remove, io: io([]) })).toBe(0);
      expect(removed).toEqual([['remove']]);
      expect(versioned.requests).toHaveLength(1);
    } finally {
      await versioned.stop();
    }
  });

  test('passes a failing sls exit code through', async () => {
    const lines: string[] = [];
    const failing: SlsRunner = async () => ({ code: 2, output: 'Error' });
    expect(await runSls({ command: 'remove', args: [], envFile: path.join(project(filled), '.env'), processEnv: {}, timeZoneName: 'UTC', runner: failing, io: io(lines) })).toBe(2);
    expect(lines).toEqual(['failed: sls remove exited with 2']);
  });
});
