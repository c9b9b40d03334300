/**
 * Starts the fake COS and CCC on loopback and builds the environment a deployed function would
 * see pointed at them — and nothing else: no variable of the starting process leaks into it.
 * The bench uses it (scripts/bench/*); the test harness may too (it lives here, not under test/,
 * so that product scripts never import tests).
 */
import { TEST_CREDENTIAL, type FakeCredential } from './fakes/credentials';
import { FakeCcc, type FakeCccOptions } from './fakes/fake-ccc';
import { FakeCos, type FakeCosOptions } from './fakes/fake-cos';

/** The bucket every fake stack serves (created at start). */
export const FAKE_BUCKET = 'prompts-1250000000';
/** The region of {@link FAKE_BUCKET} and of the functions. */
export const FAKE_REGION = 'ap-guangzhou';
/** The CCC application the functions are configured for. */
export const FAKE_SDK_APP_ID = 1400000001;

/**
 * The function's configuration as `.env.example` deploys it (README → Configuration): the values
 * an operator gets without changing anything. Tests shorten some of them; the bench does not.
 */
export const DEPLOYED_CONFIG: Readonly<Record<string, string>> = {
  CCC_SDK_APP_ID: String(FAKE_SDK_APP_ID),
  IVR_BUCKET: FAKE_BUCKET,
  IVR_AUDIO_PREFIX: 'prompts/',
  IVR_LEDGER_PREFIX: '.ivr-audio-sync/',
  IVR_DAILY_QUOTA: '50',
  IVR_QUOTA_UTC_OFFSET: '+08:00',
  IVR_URL_EXPIRES: '600',
  IVR_MAX_BATCH: '20',
  IVR_MAX_ATTEMPTS: '4',
  IVR_RETRY_BASE_MS: '1000',
  IVR_WAIT_SECONDS: '60',
  IVR_JOB_LEASE_SECONDS: '120',
  IVR_RETENTION_DAYS: '35',
  CCC_TIMEOUT_SECONDS: '15',
  IVR_CONVERT: 'auto',
  IVR_LIST_LAG_MS: '1200',
  IVR_CLOCK_SKEW_MS: '250',
  IVR_LOG_DEBUG: '0',
};

/** SCF's own function names for the deployed functions (serverless.yml: multi-scf naming). */
const SCF_FUNCTION_NAMES: Record<string, string> = {
  'ivr-upload': 'ivr-audio-sync-prod-ivr-audio-sync-upload',
  'quota-report': 'ivr-audio-sync-prod-ivr-audio-sync-report',
};

/**
 * The whole environment of one function process on SCF, built from scratch: the platform's
 * variables (role credentials, region, app id, function name; platform reference §6), the
 * function's configuration, and the loopback endpoints of the fakes. `PATH` is set to a fixed
 * system path, as SCF sets one; it does not change what Node does.
 */
export function functionEnv(opts: { fn: 'ivr-upload' | 'quota-report'; credential?: FakeCredential; cosEndpoint: string; cccEndpoint: string; config?: Record<string, string> }): Record<string, string> {
  const cred = opts.credential ?? TEST_CREDENTIAL;
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    TENCENTCLOUD_SECRETID: cred.secretId,
    TENCENTCLOUD_SECRETKEY: cred.secretKey,
    TENCENTCLOUD_REGION: FAKE_REGION,
    TENCENTCLOUD_APPID: FAKE_BUCKET.slice(FAKE_BUCKET.lastIndexOf('-') + 1),
    SCF_FUNCTIONNAME: SCF_FUNCTION_NAMES[opts.fn],
    ...DEPLOYED_CONFIG,
    ...opts.config,
    COS_ENDPOINT: opts.cosEndpoint,
    CCC_ENDPOINT: opts.cccEndpoint,
  };
  if (cred.token !== undefined) env.TENCENTCLOUD_SESSIONTOKEN = cred.token;
  return env;
}

/** Both fakes, running. */
export interface FakeStack {
  cos: FakeCos;
  ccc: FakeCcc;
  /** The environment of a function process pointed at these fakes (see {@link functionEnv}). */
  env(fn: 'ivr-upload' | 'quota-report', config?: Record<string, string>, credential?: FakeCredential): Record<string, string>;
  /** Accepts another credential in both fakes (each simulated process signs with its own). */
  addCredential(c: FakeCredential): void;
  stop(): Promise<void>;
}

/**
 * Starts both fakes on free loopback ports with the test credential and the bucket created. The
 * fakes run on real time unless `time`/`sleep` are given.
 */
export async function startFakeStack(opts: { cos?: Partial<FakeCosOptions>; ccc?: Partial<Omit<FakeCccOptions, 'cos'>> } = {}): Promise<FakeStack> {
  const cos = await new FakeCos({ credentials: [TEST_CREDENTIAL], ...opts.cos }).start();
  let ccc: FakeCcc;
  try {
    ccc = await new FakeCcc({ credentials: [TEST_CREDENTIAL], ...opts.ccc, cos: { host: '127.0.0.1', port: cos.port } }).start();
  } catch (e) {
    await cos.stop();
    throw e;
  }
  cos.createBucket(FAKE_BUCKET);
  return {
    cos,
    ccc,
    env: (fn, config, credential) => functionEnv({ fn, config, credential, cosEndpoint: cos.endpoint, cccEndpoint: ccc.endpoint }),
    addCredential(c) {
      cos.addCredential(c);
      ccc.addCredential(c);
    },
    async stop() {
      await Promise.all([cos.stop(), ccc.stop()]);
    },
  };
}
