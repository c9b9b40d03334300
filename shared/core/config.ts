/**
 * The one place where environment variables are read. Everything is validated at cold start;
 * a bad value fails with a message naming the variable, so an operator can fix the right thing.
 */
import { IvrError } from './errors';

/** Where the ledger lives in the bucket unless `IVR_LEDGER_PREFIX` says otherwise. */
export const DEFAULT_LEDGER_PREFIX = '.ivr-audio-sync/';

/** Environment variables, as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

/**
 * `auto`: convert only WAVs over CCC's size limit; `telephony`: also any WAV not already 8 kHz mono
 * 16-bit PCM (unless only the original fits the limit); `off`: never.
 */
export type ConvertMode = 'auto' | 'telephony' | 'off';

/** A loopback (or other) address to connect to while keeping the real Host header and scope. */
export interface Endpoint {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
}

/** Tencent Cloud API keys: in SCF the function role's temporary ones, with their session token. */
export interface Credentials {
  secretId: string;
  secretKey: string;
  sessionToken?: string;
}

/** The validated settings; {@link loadConfig} shows each one's variable, default and range. */
export interface Config {
  /** The CCC application (`CCC_SDK_APP_ID`) the audio files are registered in. */
  sdkAppId: number;
  credentials: Credentials;
  /** The function's own region; the COS event's region wins when it has one. */
  region?: string;
  /** Lifetime of the signed URLs CCC downloads files from, in seconds. */
  urlExpiresSeconds: number;
  /** Local stack only: where CCC requests connect (the Host header and signature stay real). */
  cccEndpoint?: Endpoint;
  /** Local stack only: where COS requests connect (the Host header and signature stay real). */
  cosEndpoint?: Endpoint;
  /** Client timeout of one CCC request, in seconds; a call's lifetime is twice this. */
  cccTimeoutSeconds: number;
  /** Only keys under this prefix are processed ('' = the whole bucket). */
  audioPrefix: string;
  /** Where the ledger lives in the bucket; never processed as audio. */
  ledgerPrefix: string;
  /** Files that may be submitted to CCC per quota day. */
  dailyQuota: number;
  /** Offset of the quota day's time zone from UTC, in minutes (China Standard Time: 480). */
  quotaUtcOffsetMinutes: number;
  /** Calls a file may be part of (answers that did not register it) before it is marked failed. */
  maxAttempts: number;
  /** Backoff base for files whose call failed transiently, in ms (see `backoffMs`). */
  retryBaseMs: number;
  /** Files sent in one UploadIvrAudio call at most. */
  maxBatch: number;
  /** How long an intake may take between its first ledger write and its job record; older orphans are recovered by others. */
  jobLeaseSeconds: number;
  /** The longest one invocation keeps sending other instances' files before handing over. */
  waitSeconds: number;
  /** WeCom robot URL for the daily report and review rejections (unset: reports are only stored). */
  reportWebhook?: string;
  /** `<name>-<appid>`: the bucket the timer function reports on (the upload function gets it from events). */
  bucket?: string;
  /** Settled ledger entries older than this are pruned (a job chain is compacted into its version 0, kept). */
  retentionDays: number;
  /** How late a COS listing may show a new or deleted object; senders linger this long before exiting. */
  listLagMs: number;
  /** Margin for clock differences between instances and CCC, and for network jitter. */
  clockSkewMs: number;
  /** Which WAVs are converted to 8 kHz mono before CCC gets them: `auto` only those over 5 MB. */
  convert: ConvertMode;
  /** Longest accepted audio, seconds (unset: no limit of ours). */
  maxSeconds?: number;
  /** CCC's size limit as this deployment reads it, bytes (`IVR_MAX_FILE_BYTES`). */
  maxFileBytes: number;
}

/**
 * CCC's documented size limit, "5 MB", read as 10^6 bytes: whether Tencent means 10^6 or 2^20 is
 * unverified, and a file CCC refuses for its size may still take a quota slot. `IVR_MAX_FILE_BYTES`
 * sets it (up to 5 MiB).
 */
export const CCC_FILE_BYTES_DEFAULT = 5_000_000;

/**
 * Every environment variable the functions read, and who provides it: `platform` variables are set
 * by SCF itself (the role's credentials, the region), `operator` ones come from the deployer's
 * `.env` through both deploy paths, and `local` ones only make sense against the local fakes.
 * Deploy checks compare this list with `serverless.yml` and the API deploy.
 */
export const ENV_VARIABLES = [
  { name: 'TENCENTCLOUD_SECRETID', source: 'platform' },
  { name: 'TENCENTCLOUD_SECRETKEY', source: 'platform' },
  { name: 'TENCENTCLOUD_SESSIONTOKEN', source: 'platform' },
  { name: 'TENCENTCLOUD_REGION', source: 'platform' },
  { name: 'CCC_SDK_APP_ID', source: 'operator' },
  { name: 'IVR_BUCKET', source: 'operator' },
  { name: 'IVR_AUDIO_PREFIX', source: 'operator' },
  { name: 'IVR_LEDGER_PREFIX', source: 'operator' },
  { name: 'IVR_DAILY_QUOTA', source: 'operator' },
  { name: 'IVR_QUOTA_UTC_OFFSET', source: 'operator' },
  { name: 'IVR_URL_EXPIRES', source: 'operator' },
  { name: 'IVR_MAX_BATCH', source: 'operator' },
  { name: 'IVR_MAX_ATTEMPTS', source: 'operator' },
  { name: 'IVR_RETRY_BASE_MS', source: 'operator' },
  { name: 'IVR_WAIT_SECONDS', source: 'operator' },
  { name: 'IVR_JOB_LEASE_SECONDS', source: 'operator' },
  { name: 'IVR_RETENTION_DAYS', source: 'operator' },
  { name: 'IVR_REPORT_WEBHOOK', source: 'operator' },
  { name: 'CCC_TIMEOUT_SECONDS', source: 'operator' },
  { name: 'IVR_CONVERT', source: 'operator' },
  { name: 'IVR_MAX_SECONDS', source: 'operator' },
  { name: 'IVR_MAX_FILE_BYTES', source: 'operator' },
  { name: 'IVR_LIST_LAG_MS', source: 'operator' },
  { name: 'IVR_CLOCK_SKEW_MS', source: 'operator' },
  { name: 'IVR_LOG_DEBUG', source: 'operator' },
  { name: 'CCC_ENDPOINT', source: 'local' },
  { name: 'COS_ENDPOINT', source: 'local' },
] as const satisfies ReadonlyArray<{ name: string; source: 'platform' | 'operator' | 'local' }>;

function fail(name: string, problem: string): never {
  throw new IvrError('ConfigInvalid', `${name} ${problem}`);
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function required(env: Env, name: string): string {
  const v = str(env, name);
  if (v === undefined) fail(name, 'is required but not set');
  return v;
}

/** An integer variable within `[min, max]`, or `def` when unset (`def` undefined: required). Throws `ConfigInvalid`. */
export function intVar(env: Env, name: string, def: number | undefined, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) {
    if (def === undefined) fail(name, 'is required but not set');
    return def;
  }
  if (!/^-?\d+$/.test(raw)) fail(name, `must be an integer, got "${raw.slice(0, 40)}"`);
  const n = Number(raw);
  if (n < min || n > max) fail(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** An endpoint override such as `http://127.0.0.1:4600` (no path, no query); throws `ConfigInvalid` naming `name`. */
export function parseEndpoint(name: string, raw: string): Endpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(name, `must be a URL such as http://127.0.0.1:4600, got "${raw.slice(0, 80)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(name, `must use http or https, got ${url.protocol}`);
  if (url.pathname !== '/' || url.search) fail(name, 'must be scheme://host:port with no path');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port };
}

function optionalEndpoint(env: Env, name: string): Endpoint | undefined {
  const raw = str(env, name);
  return raw === undefined ? undefined : parseEndpoint(name, raw);
}

function prefixVar(env: Env, name: string, def: string): string {
  // Empty means the default, as for every variable (sls deploys a setting left empty as "").
  const raw = str(env, name) ?? def;
  if (raw.startsWith('/')) fail(name, 'must not start with "/" (COS keys have no leading slash)');
  if (/[\u0000-\u001f\u007f]/.test(raw)) fail(name, 'must not contain control characters');
  if (raw !== '' && !raw.endsWith('/')) fail(name, `must end with "/", got "${raw}"`);
  return raw;
}

/** "+08:00", "-05:30", "UTC" or "Z". */
export function parseUtcOffset(name: string, raw: string): number {
  if (raw === 'UTC' || raw === 'Z') return 0;
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(raw);
  if (!m) fail(name, `must look like +08:00, got "${raw}"`);
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (Number(m[2]) > 14 || Number(m[3]) > 59) fail(name, `is out of range: "${raw}"`);
  return m[1] === '-' ? -minutes : minutes;
}

function webhookVar(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail(name, 'must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(name, 'must be an http(s) URL');
  return raw;
}

function bucketVar(env: Env, name: string): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  if (!/^[a-z0-9][a-z0-9-]*-\d{5,}$/.test(raw)) fail(name, `must be the full bucket name <name>-<appid>, e.g. prompts-1250000000; got "${raw.slice(0, 60)}"`);
  return raw;
}

function convertVar(env: Env, name: string): ConvertMode {
  const raw = str(env, name) ?? 'auto';
  if (raw !== 'auto' && raw !== 'telephony' && raw !== 'off') fail(name, `must be auto, telephony or off, got "${raw.slice(0, 20)}"`);
  return raw;
}

/**
 * The values in `env` that are secret, raw as SCF passes them (the role's credentials, the webhook
 * URL whose query holds its key): the wiring registers them for redaction before anything else
 * reads the environment, so that even a configuration error cannot echo them.
 */
export function secretValues(env: Env): { credentials: Array<string | undefined>; webhook: string | undefined } {
  return { credentials: [env.TENCENTCLOUD_SECRETID, env.TENCENTCLOUD_SECRETKEY, env.TENCENTCLOUD_SESSIONTOKEN], webhook: env.IVR_REPORT_WEBHOOK };
}

/**
 * Whether debug lines are logged (`IVR_LOG_DEBUG=1`). Read apart from {@link loadConfig}: the
 * logger that reports an invalid configuration exists before the configuration is validated.
 */
export function debugLogging(env: Env): boolean {
  return str(env, 'IVR_LOG_DEBUG') === '1';
}

/** For functions that need a variable the upload function does not. */
export function requireSetting<T>(value: T | undefined, name: string, why: string): T {
  if (value === undefined) fail(name, `is required ${why}`);
  return value;
}

/** CCC's daily upload limit, the default of `IVR_DAILY_QUOTA` (the local stack's `--quota` too). */
export const DEFAULT_DAILY_QUOTA = 50;
/** China Standard Time, where CCC's quota day runs: the default of `IVR_QUOTA_UTC_OFFSET` (and `--quota-offset`). */
export const DEFAULT_QUOTA_UTC_OFFSET = '+08:00';

/** Reads and validates every setting; throws `ConfigInvalid` naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const sdkAppId = intVar(env, 'CCC_SDK_APP_ID', undefined, 1, 2 ** 53 - 1);
  const credentials: Credentials = {
    secretId: required(env, 'TENCENTCLOUD_SECRETID'),
    secretKey: required(env, 'TENCENTCLOUD_SECRETKEY'),
    sessionToken: str(env, 'TENCENTCLOUD_SESSIONTOKEN'),
  };
  const audioPrefix = prefixVar(env, 'IVR_AUDIO_PREFIX', '');
  const ledgerPrefix = prefixVar(env, 'IVR_LEDGER_PREFIX', DEFAULT_LEDGER_PREFIX);
  if (ledgerPrefix === '') fail('IVR_LEDGER_PREFIX', 'must not be empty');
  if (audioPrefix !== '' && ledgerPrefix.startsWith(audioPrefix)) {
    fail('IVR_LEDGER_PREFIX', `must be outside IVR_AUDIO_PREFIX ("${audioPrefix}") or the trigger would fire on it`);
  }
  // The other way round, every upload would be taken for a ledger record and skipped, silently.
  if (audioPrefix.startsWith(ledgerPrefix)) fail('IVR_AUDIO_PREFIX', `must be outside IVR_LEDGER_PREFIX ("${ledgerPrefix}"): files there are taken for the function's own records and never registered`);
  return {
    sdkAppId,
    credentials,
    region: str(env, 'TENCENTCLOUD_REGION'),
    // CCC fetches the file shortly after the call; a few minutes covers its download with margin,
    // a day would leave a usable link lying around in logs of the service.
    urlExpiresSeconds: intVar(env, 'IVR_URL_EXPIRES', 600, 60, 86400),
    cccEndpoint: optionalEndpoint(env, 'CCC_ENDPOINT'),
    cosEndpoint: optionalEndpoint(env, 'COS_ENDPOINT'),
    cccTimeoutSeconds: intVar(env, 'CCC_TIMEOUT_SECONDS', 15, 1, 120),
    audioPrefix,
    ledgerPrefix,
    dailyQuota: intVar(env, 'IVR_DAILY_QUOTA', DEFAULT_DAILY_QUOTA, 1, 100000),
    quotaUtcOffsetMinutes: parseUtcOffset('IVR_QUOTA_UTC_OFFSET', str(env, 'IVR_QUOTA_UTC_OFFSET') ?? DEFAULT_QUOTA_UTC_OFFSET),
    maxAttempts: intVar(env, 'IVR_MAX_ATTEMPTS', 4, 1, 10),
    retryBaseMs: intVar(env, 'IVR_RETRY_BASE_MS', 1000, 0, 60000),
    maxBatch: intVar(env, 'IVR_MAX_BATCH', 20, 1, 50),
    jobLeaseSeconds: intVar(env, 'IVR_JOB_LEASE_SECONDS', 120, 2, 3600),
    waitSeconds: intVar(env, 'IVR_WAIT_SECONDS', 60, 1, 800),
    reportWebhook: webhookVar(env, 'IVR_REPORT_WEBHOOK'),
    bucket: bucketVar(env, 'IVR_BUCKET'),
    retentionDays: intVar(env, 'IVR_RETENTION_DAYS', 35, 2, 3650),
    listLagMs: intVar(env, 'IVR_LIST_LAG_MS', 1200, 0, 60000),
    clockSkewMs: intVar(env, 'IVR_CLOCK_SKEW_MS', 250, 0, 10000),
    convert: convertVar(env, 'IVR_CONVERT'),
    maxSeconds: str(env, 'IVR_MAX_SECONDS') === undefined ? undefined : intVar(env, 'IVR_MAX_SECONDS', undefined, 1, 86400),
    // Between the two readings of CCC's "5 MB" and well below: more would be refused by CCC after
    // taking a quota slot, and the function's memory budget is sized for it (audio/plan.ts).
    maxFileBytes: intVar(env, 'IVR_MAX_FILE_BYTES', CCC_FILE_BYTES_DEFAULT, 100_000, 5 * 1024 * 1024),
  };
}
