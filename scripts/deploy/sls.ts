/**
 * `npm run deploy` / `npm run remove`: `sls deploy` / `sls remove` with the checks it lacks.
 *
 * Before calling sls: `.env` must route serverless@2 to Tencent (see .env.example), hold the deploy
 * key, and pass the same validation as `npm run deploy:api`. Without a key, sls falls back to a
 * QR-code login whose failure exits 0 (`@serverless/utils-china/sdk/login/index.js`, `Login.login()`
 * ends in `process.exit(0)` on timeout and on error), so a failed deploy would look like success.
 * After a successful `sls deploy` (one that deployed: not `--help`, `-h`, `help` or `--version`,
 * which also exit 0): sets the async retry policy through the SCF API, which the
 * multi-scf component does not do (tencent-component-toolkit `modules/scf/index.ts` `deploy()` calls
 * `updateAsyncRetry` only for functions with `asyncRunEnable`).
 */
import { spawn } from 'child_process';
import { createRequire } from 'module';
import * as path from 'path';
import { DeployConfigError, endpointOverride, loadCredentials, loadDeployEnv, loadDeploySettings, OPERATOR_VARIABLES, deployProblems, ROOT, deploySecrets, shellOverrideNote, type DeployCredentials, type DeploySettings } from '../lib/deploy-config';
import { desiredState, FUNCTION_KEYS } from '../lib/deploy-spec';
import { ensureRetryPolicies, withTransientRetries, type DeployIo } from './execute';
import { checkBucket } from './bucket';
import { redactingIo } from './run';
import { createScfApi, createScfClient, type ScfApi } from './scf';

/** Lines sls prints when it falls back to (or gives up on) the QR-code login (`@serverless/platform-client-china` `loginWithTencent`, utils-china `Login.login`). */
export const QR_LOGIN_MARKERS = ['请扫码进行登陆', '登录超时，请重试', '登陆腾讯云失败'];

/**
 * Whether `sls` will use Tencent's engine. Mirrors `isChinaUser()` in
 * `@serverless/components/src/cli/utils.js`: SERVERLESS_PLATFORM_VENDOR=tencent or
 * SLS_GEO_LOCATION=cn wins, SERVERLESS_PLATFORM_VENDOR=aws loses, else a China time zone decides.
 * `env` is what the sls process will see: the shell's variables, then `.env` for unset ones.
 */
export function routingProblem(env: Record<string, string | undefined>, timeZoneName: string): string | undefined {
  if (env.SERVERLESS_PLATFORM_VENDOR === 'tencent' || env.SLS_GEO_LOCATION === 'cn') return undefined;
  if (env.SERVERLESS_PLATFORM_VENDOR === 'aws') return 'SERVERLESS_PLATFORM_VENDOR=aws is set in your shell and overrides .env: sls would not deploy to Tencent (unset it)';
  if (timeZoneName.includes('China Standard Time')) return undefined;
  return 'SERVERLESS_PLATFORM_VENDOR=tencent is missing from .env: outside China sls would ask you to "serverless login" and deploy nothing (copy the line from .env.example)';
}

/** Runs sls with `args` and environment `env`, echoing its output; resolves with its exit code and what it printed. */
export type SlsRunner = (args: string[], io: DeployIo, env: Record<string, string | undefined>) => Promise<{ code: number; output: string }>;

/** The real runner: `node node_modules/serverless/bin/serverless.js <args>` in the repository. */
export const runServerless: SlsRunner = (args, io, env) =>
  new Promise((resolve, reject) => {
    const bin = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
    const child = spawn(process.execPath, [bin, ...args], { cwd: ROOT, env, stdio: ['inherit', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const onData = (c: Buffer) => {
      const s = c.toString();
      output += s;
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) io.out(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (pending) io.out(pending);
      resolve({ code: code ?? 1, output });
    });
  });

/** Options of one wrapped sls run. */
export interface SlsOptions {
  command: 'deploy' | 'remove';
  /** Extra arguments passed to sls (e.g. --debug). */
  args: string[];
  envFile?: string;
  processEnv?: Record<string, string | undefined>;
  /** The local time zone's long name (default from Intl, as sls computes it). */
  timeZoneName?: string;
  runner?: SlsRunner;
  /** For tests: the SCF API used after the deploy (default: the SDK client from .env). */
  api?: ScfApi;
  io: DeployIo;
}

/**
 * sls options that would make it deploy something other than what `.env` describes, while the
 * retry-policy step after it (and every check before it) goes by `.env`.
 */
const REFUSED_OPTIONS = ['--stage', '--app', '--org', '--region', '--inputs', '--target'];

/**
 * What serverless.yml reads from the environment, as the checks resolved it: a setting left empty
 * in `.env` means its default to the checks, but sls would hand the engine "" (it substitutes
 * `${env:X}` as it is). sls loads `.env` only for variables not already set, so these win.
 */
export function slsEnvironment(settings: DeploySettings, values: Record<string, string>): Record<string, string> {
  const resolved: Record<string, string> = { SCF_RUNTIME: settings.runtime, MEMORY_SIZE: String(settings.memorySize), REPORT_CRON: settings.recoveryCron };
  return Object.fromEntries(Object.entries(resolved).filter(([k]) => (values[k] ?? '').trim() === ''));
}

/** sls's arguments as @serverless/components reads them (`src/cli/index.js`: its own minimist). */
type ParsedArgs = { _: Array<string | number> } & Record<string, unknown>;

function parseSlsArgs(argv: string[]): ParsedArgs {
  const requireFromComponents = createRequire(require.resolve('@serverless/components/package.json'));
  return (requireFromComponents('minimist') as (args: string[]) => ParsedArgs)(argv);
}

/**
 * What `sls <command> <args>` will do, decided the way serverless@2.72.4 decides it, so that the
 * steps after a deploy run only after one: `--version`/`-v` print versions (`serverless/lib/cli/triage.js`
 * hands them to the framework; @serverless/components also checks `version`/`v`); `--help`, `-h` or
 * `--help-components` print help (src/cli/index.js). A positional argument after the command is
 * ignored by sls, which deploys anyway: `help` is taken as the help the operator asked for (sls
 * would have deployed), anything else is refused.
 */
export type SlsInvocation = { kind: 'run' } | { kind: 'info'; args: string[]; what: string } | { kind: 'refused'; problem: string };

export function slsInvocation(command: 'deploy' | 'remove', args: string[]): SlsInvocation {
  const parsed = parseSlsArgs([command, ...args]);
  if (args.includes('--version') || args.includes('-v') || parsed.version || parsed.v) return { kind: 'info', args: [command, '--version'], what: 'its version' };
  const positionals = parsed._.slice(1).map(String);
  if (parsed.help || parsed.h || parsed['help-components'] || positionals.includes('help')) return { kind: 'info', args: [command, '--help'], what: 'its help' };
  if (positionals.length > 0) return { kind: 'refused', problem: `sls ${command} takes only options, not "${positionals.join(' ')}" (it would ${command} everything anyway): remove ${positionals.length > 1 ? 'them' : 'it'}` };
  return { kind: 'run' };
}

/**
 * `--inputs` that narrow each function's environment list to the variables `.env` gives a value,
 * as deploy:api does. serverless.yml lists every operator variable, and for one left empty the
 * engine would send "" (@serverless/components resolves `${env:X}` to it; multi-scf turns the list
 * into an object and tencent-component-toolkit sends every entry as `Value: String(val)`), which the
 * SCF API documents as invalid (the fake SCF refuses it). @serverless/components merges
 * `--inputs key=<json>` over serverless.yml's inputs with ramda's mergeDeepRight
 * (`commands-cn/utils.js` loadTencentInstanceConfig), which replaces a list whole, then resolves
 * `${env:…}` in the result: the values stay references, so no secret (the webhook's key) is put on
 * a command line. Both `environments` and `environment` (serverless.yml sets both) are replaced.
 */
export function slsEnvironmentInputs(settings: DeploySettings): string[] {
  const list = OPERATOR_VARIABLES.filter((name) => name in settings.functionEnv).map((key) => ({ key, value: `\${env:${key}}` }));
  const functions = Object.fromEntries(FUNCTION_KEYS.map((key) => [key, { environments: list, environment: list }]));
  return ['--inputs', `functions=${JSON.stringify(functions)}`];
}

/**
 * The operator's sls arguments, made safe to pass next to `--inputs`: with it, sls reads every
 * argument holding "=" as one more input (`parseCliInputs`). `--name=value` becomes `--name value`,
 * which sls's minimist reads the same; any other "=" is refused.
 */
function argsBesideInputs(args: string[]): string[] {
  const out = args.flatMap((a) => {
    const m = /^(--?[^=]+)=(.*)$/.exec(a);
    return m ? [m[1], m[2]] : [a];
  });
  const bad = out.filter((a) => a.includes('='));
  if (bad.length) throw new DeployConfigError(bad.map((a) => `"${a}" is not passed to sls: sls would read it as a setting of serverless.yml's inputs`));
  return out;
}

/**
 * Everything checked before sls runs, on `.env` as loaded (file, and the shell on top); throws
 * DeployConfigError with one line per problem.
 */
function preflight(loaded: { values: Record<string, string>; fileValues: Record<string, string> }, processEnv: Record<string, string | undefined>, timeZoneName: string): { settings: DeploySettings; credentials: DeployCredentials; values: Record<string, string> } {
  const { values, fileValues } = loaded;
  const slsEnv: Record<string, string | undefined> = { ...fileValues, ...processEnv };
  const routing = routingProblem(slsEnv, timeZoneName);
  if (routing) throw new DeployConfigError([routing]);
  const credentials = loadCredentials(values);
  return { settings: loadDeploySettings(values), credentials, values };
}

/** Runs the wrapped `sls deploy`/`sls remove`. Never throws; returns the exit code. */
export async function runSls(opts: SlsOptions): Promise<number> {
  const processEnv = opts.processEnv ?? process.env;
  const envFile = opts.envFile ?? path.join(ROOT, '.env');
  const timeZoneName = opts.timeZoneName ?? new Intl.DateTimeFormat('en', { timeZoneName: 'long' }).format();
  let io = opts.io;
  try {
    // sls reads .env itself: with another file's settings checked here, it would deploy .env's.
    if (opts.args.some((a) => a.split('=')[0] === '--env-file')) {
      throw new DeployConfigError([`--env-file is not read by npm run ${opts.command}: sls reads .env itself, and would ${opts.command} what .env says; use npm run ${opts.command}:api -- --env-file <file>, or copy that file's settings into .env`]);
    }
    const refused = opts.args.filter((a) => REFUSED_OPTIONS.includes(a.split('=')[0]));
    if (refused.length > 0) throw new DeployConfigError(refused.map((a) => `${a.split('=')[0]} is not passed to sls: set ${a.startsWith('--stage') ? 'STAGE' : a.startsWith('--region') ? 'REGION' : 'it'} in .env instead, so that sls and the retry-policy step after it deploy the same functions`));
    const invocation = slsInvocation(opts.command, opts.args);
    if (invocation.kind === 'refused') throw new DeployConfigError([invocation.problem]);
    if (invocation.kind === 'info') {
      // Nothing is deployed, so nothing in .env needs to be right yet, and nothing follows.
      if (invocation.what === 'its help') {
        io.out(`npm run ${opts.command} runs sls ${opts.command} with the settings in .env (README → Deploy); ${REFUSED_OPTIONS.join(', ')} come from .env and are refused here. sls's own help follows:`);
      }
      const { code } = await (opts.runner ?? runServerless)(invocation.args, io, processEnv);
      if (code === 0) io.out(`nothing was ${opts.command === 'deploy' ? 'deployed' : 'removed'}: sls only printed ${invocation.what}`);
      return code;
    }
    const loaded = loadDeployEnv(envFile, processEnv);
    // Before any refusal: a shell variable may be why (an empty SERVERLESS_PLATFORM_VENDOR in it read as "missing from .env").
    const note = shellOverrideNote(loaded.fileValues, processEnv, envFile);
    if (note) io.out(note);
    const { settings, credentials, values } = preflight(loaded, processEnv, timeZoneName);
    const deployOnly = opts.command === 'deploy' ? deployProblems(values) : [];
    if (deployOnly.length > 0) throw new DeployConfigError(deployOnly);
    io = redactingIo(opts.io, deploySecrets(values));
    // As deploy:api does, before sls builds or changes anything: a bucket that ever had versioning is refused.
    if (opts.command === 'deploy') await checkBucket(credentials, settings, values);
    const env = { ...processEnv, ...slsEnvironment(settings, values) };
    const args = opts.command === 'deploy' ? [opts.command, ...argsBesideInputs(opts.args), ...slsEnvironmentInputs(settings)] : [opts.command, ...opts.args];
    const { code, output } = await (opts.runner ?? runServerless)(args, io, env);
    if (code !== 0) {
      io.out(`failed: sls ${opts.command} exited with ${code}`);
      return code;
    }
    if (QR_LOGIN_MARKERS.some((m) => output.includes(m))) {
      io.out(`failed: sls ${opts.command} fell back to the QR-code login and exited 0 without deploying; check TENCENT_SECRET_ID/TENCENT_SECRET_KEY in .env`);
      return 1;
    }
    if (opts.command === 'remove') return 0;
    const api = withTransientRetries(opts.api ?? createScfApi(createScfClient(credentials, settings.region, endpointOverride(values, 'SCF_ENDPOINT'))), io);
    await ensureRetryPolicies(api, desiredState(settings), io);
    io.out('deployed; verify the first file as README → Deploy describes');
    return 0;
  } catch (e) {
    if (e instanceof DeployConfigError) for (const p of e.problems) io.out(`refused: ${p}`);
    else io.out(`failed: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  // package.json ends the script with `--` (see scripts/deploy/api.ts): not an argument for sls.
  const [command, ...given] = process.argv.slice(2);
  const args = given[0] === '--' ? given.slice(1) : given;
  if (command !== 'deploy' && command !== 'remove') {
    process.stderr.write('usage: tsx scripts/deploy/sls.ts deploy|remove [sls arguments]\n');
    process.exit(2);
  }
  void runSls({
    command,
    args,
    io: { out: (l) => process.stdout.write(l + '\n'), sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: () => Date.now() },
  }).then((code) => {
    process.exitCode = code;
  });
}
