/**
 * The deployment's configuration, read from `.env` the way `sls deploy` reads it, validated once
 * for both deploy paths (`npm run deploy` and `npm run deploy:api`), plus the two CAM policies
 * rendered from it and `serverless.yml` as the component engine will see it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig, parseEndpoint, type Endpoint } from '../../shared/core/config';
import { urlSecrets } from '../../shared/runtime/log';
import { dateFieldsLeavingDaysOut, firesOnSomeDay, parseCron } from './cron';
import { effectiveEnv, readDotenv } from './dotenv';
import { parseRuntime, type ScfRuntime } from './runtime';
import { APP, DEFAULT_RECOVERY_CRON, FUNCTION_KEYS, FUNCTION_NAME_RE, FUNCTIONS, functionName, functionNamePrefix, type DeploySettings } from './deploy-spec';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** Every variable the functions read that the deployer sets: derived, so a new one is wired everywhere. */
export const OPERATOR_VARIABLES: readonly string[] = ENV_VARIABLES.filter((v) => v.source === 'operator').map((v) => v.name);

/**
 * `.env` variables that configure the deployment itself (not passed to the functions). `secret`
 * ones are never printed by either deploy path.
 */
export const DEPLOY_VARIABLES = [
  { name: 'TENCENT_SECRET_ID', secret: true, why: 'deploy credentials (both paths)' },
  { name: 'TENCENT_SECRET_KEY', secret: true, why: 'deploy credentials (both paths)' },
  { name: 'TENCENT_TOKEN', secret: true, why: 'session token, only with temporary deploy credentials' },
  { name: 'SERVERLESS_PLATFORM_VENDOR', secret: false, why: 'makes serverless@2 use Tencent from any time zone' },
  { name: 'REGION', secret: false, why: 'region of the bucket and the functions' },
  { name: 'STAGE', secret: false, why: 'part of the function names' },
  { name: 'SCF_ROLE', secret: false, why: 'execution role (deploy/cam-policy.json)' },
  { name: 'SCF_RUNTIME', secret: false, why: 'SCF runtime; the bundles are built for it' },
  { name: 'MEMORY_SIZE', secret: false, why: 'memory of both functions, MB' },
  { name: 'REPORT_CRON', secret: false, why: 'timer of the recovery pass and daily report' },
  { name: 'OWNER_UIN', secret: false, why: 'account ID, only to render the deploy-user policy' },
  { name: 'SCF_ENDPOINT', secret: false, why: 'connect the API deploy to another address (tests)' },
  { name: 'COS_ENDPOINT', secret: false, why: "connect the deploy's check of the bucket to another address (tests)" },
] as const;
/** The name of a deploy-level `.env` variable. */
export type DeployVariable = (typeof DEPLOY_VARIABLES)[number]['name'];

/** Every name either deploy path reads from `.env` (or the process environment). */
export const ALL_DEPLOY_NAMES: readonly string[] = [...DEPLOY_VARIABLES.map((v) => v.name), ...OPERATOR_VARIABLES];

/** Names of secrets: no output of either deploy path may contain their values. */
export const SECRET_NAMES: readonly string[] = DEPLOY_VARIABLES.filter((v) => v.secret).map((v) => v.name);

/**
 * An endpoint override of the deploy's calls from the `.env` read (`SCF_ENDPOINT`, `COS_ENDPOINT`:
 * the tests point the deploy at the fakes with them); unset or empty is the real endpoint.
 */
export function endpointOverride(values: Record<string, string | undefined>, name: 'SCF_ENDPOINT' | 'COS_ENDPOINT'): Endpoint | undefined {
  const raw = values[name]?.trim();
  return raw ? parseEndpoint(name, raw) : undefined;
}

/** Every value of `.env` a deploy's output must never show: the deploy key and the webhook's key. */
export function deploySecrets(values: Record<string, string>): string[] {
  return [...SECRET_NAMES.map((n) => values[n]), ...urlSecrets(values.IVR_REPORT_WEBHOOK)].filter((v): v is string => !!v);
}

/** `.env` names of an earlier layout, now the same as the function variables they feed. */
const RENAMED: Record<string, string> = {
  BUCKET: 'IVR_BUCKET',
  AUDIO_PREFIX: 'IVR_AUDIO_PREFIX',
  LEDGER_PREFIX: 'IVR_LEDGER_PREFIX',
  DAILY_QUOTA: 'IVR_DAILY_QUOTA',
  QUOTA_UTC_OFFSET: 'IVR_QUOTA_UTC_OFFSET',
  URL_EXPIRES: 'IVR_URL_EXPIRES',
  REPORT_WEBHOOK: 'IVR_REPORT_WEBHOOK',
};

export type { DeploySettings } from './deploy-spec';

/** Deploy credentials; never printed. */
export interface DeployCredentials {
  secretId: string;
  secretKey: string;
  token?: string;
}

/** One or more problems with `.env`, one line each, each naming the variable to fix. */
export class DeployConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** The `.env` values (file, then process environment on top) of every name a deploy reads. */
export function loadDeployEnv(file: string, processEnv: Record<string, string | undefined> = process.env): { values: Record<string, string>; fileValues: Record<string, string> } {
  if (!fs.existsSync(file)) {
    throw new DeployConfigError([path.resolve(file) === path.join(ROOT, '.env') ? '.env not found: cp .env.example .env and fill it in (README → Deploy)' : `${file} not found: check the path given with --env-file (relative to the folder you run the command in)`]);
  }
  // Windows PowerShell's `>` writes UTF-16, which dotenv reads as no variables at all: every check
  // after would blame an empty key.
  if (fs.readFileSync(file).includes(0)) throw new DeployConfigError([`${path.basename(file)} is saved as UTF-16 (as Windows PowerShell's > writes it): save it as UTF-8`]);
  const fileValues = readDotenv(file);
  return { values: effectiveEnv(fileValues, processEnv, [...ALL_DEPLOY_NAMES, ...Object.keys(RENAMED)]), fileValues };
}

/**
 * A note naming the deploy's variables this shell sets to something else than the file does (or sets
 * where the file has none): the shell wins in both deploy paths, as in sls, and a trial deployed to
 * its shell's REGION without a word. Names only: the values may be secrets. Undefined when none.
 */
export function shellOverrideNote(fileValues: Record<string, string>, processEnv: Record<string, string | undefined>, file: string): string | undefined {
  // An old layout's name only counts when its new name is not in the file (the new one is read then).
  const names = [...ALL_DEPLOY_NAMES, ...Object.keys(RENAMED).filter((old) => fileValues[RENAMED[old]] === undefined)].filter((n) => processEnv[n] !== undefined && processEnv[n] !== fileValues[n]);
  if (names.length === 0) return undefined;
  return `note: ${names.join(', ')} ${names.length === 1 ? 'comes' : 'come'} from this shell's environment, not from ${path.basename(file)} (a variable set in the shell wins, as in sls)`;
}

/** .env.example's placeholders: a policy for them grants nothing on the operator's own bucket or CCC app. */
export const PLACEHOLDERS: Readonly<Record<string, string>> = { IVR_BUCKET: 'prompts-1250000000', CCC_SDK_APP_ID: '1400000000' };

/**
 * What only a deploy refuses (a removal needs none of it, and the functions themselves go on as
 * before with such a value): .env.example's SdkAppId, which looks like a real one, so the functions
 * would send every file to an application that is not the operator's (the bucket's placeholder
 * fails at the bucket check anyway; `npm run policy` only warns: it shows .env.example's policy on
 * purpose); a webhook with whitespace in it (dotenv, as sls reads .env, keeps a comment after the
 * value, and the first post would fail a day later; a secret, never quoted); and an IVR_LOG_DEBUG
 * the functions would read as off (only "1" turns it on: a trial's "true" was quietly off).
 */
export function deployProblems(values: Record<string, string>): string[] {
  const problems: string[] = [];
  if ((values.CCC_SDK_APP_ID ?? '').trim() === PLACEHOLDERS.CCC_SDK_APP_ID) {
    problems.push(`CCC_SDK_APP_ID is still .env.example's placeholder ${PLACEHOLDERS.CCC_SDK_APP_ID}: set your CCC application's SdkAppId (CCC console → the application's settings)`);
  }
  if (/\s/.test((values.IVR_REPORT_WEBHOOK ?? '').trim())) problems.push('IVR_REPORT_WEBHOOK has a space in it: a URL has none; a comment must go on a line of its own in .env');
  const debug = (values.IVR_LOG_DEBUG ?? '').trim();
  if (debug !== '' && debug !== '0' && debug !== '1') problems.push(`IVR_LOG_DEBUG must be 0 or 1 (1 also logs debug lines); got "${debug.slice(0, 20)}"`);
  return problems;
}

/** The deploy credentials, or a problem naming the empty variable. */
export function loadCredentials(values: Record<string, string>): DeployCredentials {
  const empty = ['TENCENT_SECRET_ID', 'TENCENT_SECRET_KEY'].filter((name) => !(values[name] ?? '').trim());
  if (empty.length) {
    // One line: without a key sls falls back to a QR-code login that exits 0 even when it fails.
    throw new DeployConfigError([`${empty.join(' and ')} ${empty.length > 1 ? 'are' : 'is'} empty in .env: set the deploy user's API key (README → Deploy)`]);
  }
  // dotenv, as sls reads .env, keeps a comment after the value; a key pasted with a line break in it
  // failed at COS with a header error blamed on the connection. Named, never quoted: they are secrets.
  const spaced = ['TENCENT_SECRET_ID', 'TENCENT_SECRET_KEY', 'TENCENT_TOKEN'].filter((name) => /\s/.test((values[name] ?? '').trim()));
  if (spaced.length) throw new DeployConfigError(spaced.map((name) => `${name} has a space or line break in it: a key has none; a comment must go on a line of its own in .env`));
  const token = (values.TENCENT_TOKEN ?? '').trim();
  return { secretId: values.TENCENT_SECRET_ID.trim(), secretKey: values.TENCENT_SECRET_KEY.trim(), token: token || undefined };
}

const MEMORY_OK = (n: number) => n === 64 || (n >= 128 && n <= 3072 && n % 128 === 0);

/**
 * Why a seven-field cron would miss some day from now on, or undefined when it fires on every day:
 * the daily report and the recovery pass need a run on every quota day.
 */
function dailyCronProblem(cron: string): string | undefined {
  const parsed = parseCron(cron);
  const need = 'the daily report and the recovery pass need at least one run on every day (keep the day, month, weekday and year fields "*")';
  if (!firesOnSomeDay(parsed)) return `REPORT_CRON "${cron}" never fires in a day: ${need}`;
  const fields = cron.trim().split(/\s+/);
  const out = dateFieldsLeavingDaysOut(parsed, new Date().getUTCFullYear()).map((f) => `${f.name} "${fields[f.index]}"`);
  if (out.length) return `REPORT_CRON "${cron}" does not fire on every day (its ${out.join(' and ')} ${out.length > 1 ? 'fields leave' : 'field leaves'} days out): ${need}`;
  return undefined;
}

/**
 * Validates `.env` for a deployment. Every problem is reported at once, one line each, naming the
 * variable; the functions' own validation (`loadConfig`) runs on exactly what they will receive.
 */
export function loadDeploySettings(values: Record<string, string>): DeploySettings {
  const problems: string[] = [];
  const get = (name: string) => (values[name] ?? '').trim();
  for (const [old, now] of Object.entries(RENAMED)) {
    if (values[old] !== undefined && values[now] === undefined) problems.push(`${old} in .env is now called ${now} (the name the functions read): rename it`);
  }
  for (const name of OPERATOR_VARIABLES) {
    // sls deploy turns a missing ${env:NAME} into the text "undefined" in the function's environment.
    if (values[name] === undefined) problems.push(`${name} is missing from .env: copy its line from .env.example (empty = the function's default)`);
  }
  const region = get('REGION');
  if (!/^[a-z]{2}-[a-z]+(-[a-z0-9]+)*$/.test(region)) problems.push(`REGION must be a Tencent Cloud region such as ap-guangzhou; got "${region.slice(0, 40)}"`);
  const stage = get('STAGE');
  if (!/^[A-Za-z0-9-]{1,20}$/.test(stage)) problems.push(`STAGE must be 1-20 letters, digits or "-"; got "${stage.slice(0, 40)}"`);
  else for (const key of FUNCTION_KEYS) if (!FUNCTION_NAME_RE.test(functionName(stage, key))) problems.push(`STAGE "${stage}" makes an invalid function name ${functionName(stage, key)}`);
  const bucket = get('IVR_BUCKET');
  const appId = /^[a-z0-9][a-z0-9-]*-(\d{5,})$/.exec(bucket)?.[1] ?? '';
  if (!appId) problems.push(`IVR_BUCKET must be the full bucket name <name>-<appid>, e.g. prompts-1250000000; got "${bucket.slice(0, 60)}"`);
  const role = get('SCF_ROLE');
  if (!/^[\w+=,.@-]{1,64}$/.test(role)) problems.push(`SCF_ROLE must be the execution role's name; got "${role.slice(0, 64)}"`);
  let runtime: ScfRuntime = parseRuntime(undefined);
  try {
    runtime = parseRuntime(values.SCF_RUNTIME);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const memRaw = get('MEMORY_SIZE') || '128';
  const memorySize = Number(memRaw);
  if (!/^\d+$/.test(memRaw) || !MEMORY_OK(memorySize)) problems.push(`MEMORY_SIZE must be 64, or 128-3072 in steps of 128 (MB); got "${memRaw.slice(0, 10)}"`);
  const recoveryCron = get('REPORT_CRON') || DEFAULT_RECOVERY_CRON;
  try {
    const cronProblem = dailyCronProblem(recoveryCron);
    if (cronProblem) problems.push(cronProblem);
  } catch (e) {
    problems.push(`REPORT_CRON: ${(e as Error).message}`);
  }
  const functionEnv: Record<string, string> = {};
  for (const name of OPERATOR_VARIABLES) {
    const v = get(name);
    if (v !== '') functionEnv[name] = v;
  }
  const audioPrefix = functionEnv.IVR_AUDIO_PREFIX ?? '';
  if (audioPrefix === '') problems.push('IVR_AUDIO_PREFIX must not be empty: the COS trigger filters on it, and the whole bucket would include the ledger');
  // The functions' own validation, on exactly the environment they will get (plus what SCF adds).
  let ledgerPrefix = '';
  try {
    const config = loadConfig({ ...functionEnv, TENCENTCLOUD_SECRETID: 'deploy-check', TENCENTCLOUD_SECRETKEY: 'deploy-check', TENCENTCLOUD_REGION: region });
    ledgerPrefix = config.ledgerPrefix;
    // A sender may start a CCC call at the end of its term and wait CCC_TIMEOUT_SECONDS for the
    // answer, then record it (15 s of room): SCF must not end the invocation inside the call.
    const after = Math.max(30, config.cccTimeoutSeconds + 15);
    if (config.waitSeconds + after > FUNCTIONS.upload.timeout) {
      problems.push(
        `IVR_WAIT_SECONDS must be at most ${FUNCTIONS.upload.timeout - after}${after > 30 ? ` with CCC_TIMEOUT_SECONDS=${config.cccTimeoutSeconds}` : ''}: the upload function's timeout is ${FUNCTIONS.upload.timeout} s, and a call started at the end of the wait may take CCC_TIMEOUT_SECONDS (+15 s to record its answer)`,
      );
    }
  } catch (e) {
    // Some checks above are the functions' own, word for word (IVR_BUCKET): say each problem once;
    // a variable said missing above is not also "required but not set" (a trial read both).
    const message = (e as Error).message;
    const missing = OPERATOR_VARIABLES.filter((name) => values[name] === undefined);
    if (!problems.includes(message) && !missing.some((name) => message.startsWith(`${name} `))) problems.push(message);
  }
  if (problems.length) throw new DeployConfigError(problems);
  return { region, stage, bucket, appId, audioPrefix, ledgerPrefix, role, runtime, memorySize, recoveryCron, functionEnv };
}

// ---- serverless.yml as the component engine sees it ----

/** Names `${env:NAME}` refers to in a text. */
export function envReferences(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{env:([A-Za-z0-9_]+)\}/g)].map((m) => m[1]))];
}

/** Replaces `${env:NAME}` from `env`; a name that is not set is an error (sls would insert "undefined"). */
export function substitute(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{env:([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    if (!(name in env)) throw new Error(`serverless.yml uses \${env:${name}} but it is not set`);
    return env[name];
  });
}

/**
 * serverless.yml with `${env:…}` filled in from `env`, for checking it against the spec with every
 * value set. (The engine resolves after parsing, so an empty value reaches it as ""; the sls
 * wrapper's test runs the engine's own resolver for that.)
 */
export function loadServerlessYml(env: Record<string, string>, file = path.join(ROOT, 'serverless.yml')): unknown {
  return parse(substitute(fs.readFileSync(file, 'utf8'), env)) as unknown;
}

// ---- CAM policies ----

/** A CAM policy document (version 2.0). */
export interface CamPolicy {
  version: string;
  statement: Array<{ effect: string; action: string[]; resource: string[] }>;
}

function renderTemplate(file: string, vars: Record<string, string>): CamPolicy {
  const text = fs.readFileSync(file, 'utf8').replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined || v === '') throw new DeployConfigError([`${path.relative(ROOT, file)} needs ${name}: set it in .env`]);
    return v;
  });
  const policy = JSON.parse(text) as CamPolicy;
  // A resource written once per region the tool may call (the sls API is always ap-guangzhou): once each.
  return { ...policy, statement: policy.statement.map((st) => ({ ...st, resource: [...new Set(st.resource)] })) };
}

/** The execution role's policy (deploy/cam-policy.json) for these settings. */
export function renderPolicy(s: Pick<DeploySettings, 'region' | 'appId' | 'bucket' | 'audioPrefix' | 'ledgerPrefix'>): CamPolicy {
  return renderTemplate(path.join(ROOT, 'deploy', 'cam-policy.json'), {
    REGION: s.region,
    APPID: s.appId,
    IVR_BUCKET: s.bucket,
    IVR_AUDIO_PREFIX: s.audioPrefix,
    IVR_LEDGER_PREFIX: s.ledgerPrefix,
  });
}

/**
 * The deploy user's policy (deploy/deploy-user-policy.json). `OWNER_UIN` is the account ID that
 * SCF and CAM resource names carry. With `sls`, the extra statement `sls deploy` needs
 * (deploy/deploy-user-sls-policy.json) is appended.
 */
export function renderDeployUserPolicy(s: Pick<DeploySettings, 'region' | 'appId' | 'bucket' | 'stage' | 'role'>, ownerUin: string, opts: { sls?: boolean } = {}): CamPolicy {
  if (!/^\d{5,}$/.test(ownerUin)) throw new DeployConfigError([`OWNER_UIN must be your account ID (digits, Account Center → Account Info); got "${ownerUin.slice(0, 20)}"`]);
  const vars = { REGION: s.region, APPID: s.appId, IVR_BUCKET: s.bucket, OWNER_UIN: ownerUin, SCF_ROLE: s.role, FUNCTION_PREFIX: functionNamePrefix(s.stage), APP };
  const policy = renderTemplate(path.join(ROOT, 'deploy', 'deploy-user-policy.json'), vars);
  if (opts.sls) policy.statement.push(...renderTemplate(path.join(ROOT, 'deploy', 'deploy-user-sls-policy.json'), vars).statement);
  return policy;
}
