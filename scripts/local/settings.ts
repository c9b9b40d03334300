/** What the local stack is made of and where it lives; shared by start, report and status. */
import * as path from 'path';
import { TEST_CREDENTIAL } from './fakes/credentials';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BUCKET = 'local-1250000000';
export const REGION = 'ap-guangzhou';
export const SDK_APP_ID = 1400000001;
/** Local-only credentials: the fakes accept them and nothing else does. */
export const CREDENTIAL = TEST_CREDENTIAL;

export interface LocalSettings {
  cosPort: number;
  cccPort: number;
  dataDir: string;
  dropDir: string;
  prefix: string;
  quota: number;
  json: boolean;
  reportCron: string;
  retryDelayMs: number;
  autoReviewMs: number;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i !== -1) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

export function readSettings(args: string[], env: NodeJS.ProcessEnv = process.env): LocalSettings {
  const num = (name: string, envName: string, def: number) => {
    const raw = flag(args, name) ?? env[envName];
    const n = raw === undefined ? def : Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} / ${envName} must be a whole number, got "${raw}"`);
    return n;
  };
  return {
    cosPort: num('cos-port', 'LOCAL_COS_PORT', 4600),
    cccPort: num('ccc-port', 'LOCAL_CCC_PORT', 4601),
    dataDir: path.resolve(flag(args, 'data') ?? env.LOCAL_DATA_DIR ?? path.join(ROOT, '.local')),
    dropDir: path.resolve(flag(args, 'drop') ?? env.LOCAL_DROP_DIR ?? path.join(ROOT, 'drop')),
    prefix: flag(args, 'prefix') ?? env.IVR_AUDIO_PREFIX ?? 'prompts/',
    quota: num('quota', 'IVR_DAILY_QUOTA', 50),
    json: args.includes('--json'),
    reportCron: flag(args, 'report-cron') ?? env.IVR_REPORT_CRON ?? '0 5 0 * * * *',
    retryDelayMs: num('retry-delay-ms', 'LOCAL_RETRY_DELAY_MS', 30000),
    autoReviewMs: num('auto-review-ms', 'LOCAL_AUTO_REVIEW_MS', 20000),
  };
}

/** The environment a deployed function would have, pointed at the local fakes. */
export function functionEnv(s: LocalSettings, functionName: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    SCF_FUNCTIONNAME: functionName,
    TENCENTCLOUD_SECRETID: CREDENTIAL.secretId,
    TENCENTCLOUD_SECRETKEY: CREDENTIAL.secretKey,
    TENCENTCLOUD_SESSIONTOKEN: CREDENTIAL.token,
    TENCENTCLOUD_REGION: REGION,
    CCC_SDK_APP_ID: String(SDK_APP_ID),
    CCC_ENDPOINT: `http://127.0.0.1:${s.cccPort}`,
    COS_ENDPOINT: `http://127.0.0.1:${s.cosPort}`,
    IVR_AUDIO_PREFIX: s.prefix,
    IVR_DAILY_QUOTA: String(s.quota),
    IVR_BUCKET: BUCKET,
    IVR_WAIT_SECONDS: process.env.IVR_WAIT_SECONDS ?? '30',
    IVR_REPORT_WEBHOOK: process.env.IVR_REPORT_WEBHOOK,
  };
}

export const bundlePath = (fn: string) => path.join(ROOT, 'dist', fn, 'index.js');
