/** What the local stack is made of and where it lives; shared by start, report and status. */
import * as path from 'path';
import { TEST_CREDENTIAL } from './fakes/credentials';

/** The repository's folder (where `npm start` runs). */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The local bucket, `<name>-<appid>` like a real one. */
export const BUCKET = 'local-1250000000';
/** The local bucket's region. */
export const REGION = 'ap-guangzhou';
/** The local CCC's application. */
export const SDK_APP_ID = 1400000001;
/** Local-only credentials: the fakes accept them and nothing else does. */
export const CREDENTIAL = TEST_CREDENTIAL;

/** `npm start`'s settings, validated (see `options.ts`). */
export interface LocalSettings {
  cosPort: number;
  cccPort: number;
  dataDir: string;
  dropDir: string;
  prefix: string;
  quota: number;
  /** The quota day's zone, `+08:00`; every time the stack shows is in it. */
  quotaOffset: string;
  quotaOffsetMinutes: number;
  /** A dropped file is taken once its size and mtime have not changed for this long. */
  settleMs: number;
  json: boolean;
  reportCron: string;
  retryDelayMs: number;
  autoReviewMs: number;
}

/** What the functions' environment is made from (raw option values before validation are fine). */
export interface FunctionEnvInput {
  cosPort: number;
  cccPort: number;
  prefix: string;
  quota: number | string;
  quotaOffset: string;
}

/**
 * The environment a deployed function would have, pointed at the local fakes. `IVR_WAIT_SECONDS`,
 * `IVR_REPORT_WEBHOOK` and `IVR_MAX_SECONDS` pass through from the user's environment.
 */
export function functionEnv(s: FunctionEnvInput, functionName: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    PATH: env.PATH,
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
    IVR_QUOTA_UTC_OFFSET: s.quotaOffset,
    IVR_BUCKET: BUCKET,
    IVR_WAIT_SECONDS: env.IVR_WAIT_SECONDS ?? '30',
    IVR_REPORT_WEBHOOK: env.IVR_REPORT_WEBHOOK,
    // A length limit is an operator's choice to try out locally (a trial could not reach AudioTooLong).
    IVR_MAX_SECONDS: env.IVR_MAX_SECONDS,
  };
}

/** The built bundle of a function. */
export const bundlePath = (fn: string): string => path.join(ROOT, 'dist', fn, 'index.js');
