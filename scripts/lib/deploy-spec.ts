/**
 * What a deployment consists of, independent of how it is deployed: the two functions (names,
 * handlers, limits, environment), their triggers and the async retry policy. `serverless.yml`
 * mirrors these values (YAML cannot import them; `test/deploy.test.ts` fails on any drift) and
 * `npm run deploy:api` builds its desired state from them.
 */
import type { ScfRuntime } from './runtime';

/** A validated deployment. */
export interface DeploySettings {
  region: string;
  stage: string;
  /** `<name>-<appid>`. */
  bucket: string;
  appId: string;
  audioPrefix: string;
  ledgerPrefix: string;
  role: string;
  runtime: ScfRuntime;
  memorySize: number;
  /** Seven-field cron of the recovery pass (`REPORT_CRON`). */
  recoveryCron: string;
  /** Every operator variable with a non-empty value: what both functions get. Empty ones are left out (the function's default applies). */
  functionEnv: Record<string, string>;
}

/** `app` in serverless.yml: multi-scf builds the function names from it and `name`. */
export const APP = 'ivr-audio-sync';
/** `name` (the component instance) in serverless.yml. */
export const INSTANCE = 'ivr-audio-sync';

/** The only namespace either deploy path uses (multi-scf's default). */
export const NAMESPACE = 'default';

/**
 * Trigger qualifier: the one multi-scf (tencent-component-toolkit `triggers/cos.ts`, `timer.ts`)
 * uses when none is configured. The API deploy uses the same, so each path recognises the other's
 * triggers as its own instead of deleting and re-creating them on every run.
 */
export const TRIGGER_QUALIFIER = '$DEFAULT';

/**
 * SCF's async retry policy for both functions (COS and timer invocations are asynchronous).
 * The reliability design relies on it: a failed invocation is retried twice more (crash recovery,
 * transient CCC/COS errors surface as thrown errors so SCF redelivers the event) and an event that
 * cannot even start (concurrency limit, platform error) is kept for up to 6 hours before SCF gives
 * up. These equal SCF's documented defaults (cloud.tencent.com/document/product/583/41138) but are
 * set explicitly so that a changed account default or a console edit cannot silently weaken them.
 */
export const ASYNC_RETRY = { retryNum: 2, msgTTLSeconds: 21600 } as const;

/** COS events that mean "a file was uploaded". Never `:Copy` (our own metadata write-back is a self-copy) nor `:*`. */
export const COS_EVENTS = ['cos:ObjectCreated:Put', 'cos:ObjectCreated:Post', 'cos:ObjectCreated:CompleteMultipartUpload'] as const;
/** One of {@link COS_EVENTS}. */
export type CosEvent = (typeof COS_EVENTS)[number];

/** The timer trigger's name (multi-scf requires one; the API deploy uses the same). */
export const TIMER_TRIGGER_NAME = 'ivr-quota-report';

/**
 * The recovery pass runs every 5 minutes by default: it finishes what crashed invocations left,
 * releases deferred files, refreshes review states and writes the daily report once per quota day.
 */
export const DEFAULT_RECOVERY_CRON = '0 */5 * * * * *';

/** Key in serverless.yml → what is deployed for it. */
export const FUNCTIONS = {
  upload: {
    /** Folder under functions/ (the build names the bundle after it). */
    source: 'ivr-upload',
    handler: 'ivr_upload.main_handler',
    // Waits up to IVR_WAIT_SECONDS for its file to be sent, then hands over to the queue; 150 s
    // leaves the default 60 s wait plus a full CCC call and the write-back.
    timeout: 150,
    // SCF accepts only letters, digits, spaces, commas and periods in a description (CreateFunction docs).
    description: 'IVR audio sync upload. Registers mp3 and wav prompts dropped into COS as CCC IVR audio files.',
  },
  report: {
    source: 'quota-report',
    handler: 'quota_report.main_handler',
    // A recovery pass may finish a backlog of files at one CCC call per second.
    timeout: 300,
    description: 'IVR audio sync recovery pass. Finishes interrupted uploads, releases deferred files, refreshes reviews, writes the daily report.',
  },
} as const;
/** A function's key in serverless.yml (`upload`, `report`). */
export type FunctionKey = keyof typeof FUNCTIONS;
/** Both keys, in deploy order. */
export const FUNCTION_KEYS = Object.keys(FUNCTIONS) as FunctionKey[];

/**
 * The deployed function name. multi-scf names a function `${name}-${stage}-${app}-${key}`
 * (serverless-components/tencent-multi-scf `src/formatter.ts` `formatScfName`, since its commit
 * 6065633 "change default function name rule"; documented in its `docs/configure.md`), so both
 * deploy paths manage the same two functions.
 */
export function functionName(stage: string, key: FunctionKey): string {
  return `${INSTANCE}-${stage}-${APP}-${key}`;
}

/** The prefix every function of a stage starts with (the deploy-user policy is scoped to it). */
export function functionNamePrefix(stage: string): string {
  return `${INSTANCE}-${stage}-${APP}-`;
}

/** SCF's rule for function names (CreateFunction `FunctionName`): 2–60 characters, letter first, no trailing `-`/`_`. */
export const FUNCTION_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$/;

/** The XML-API domain of a bucket: what COS triggers are named after (CreateTrigger `TriggerName`). */
export function bucketDomain(bucket: string, region: string): string {
  return `${bucket}.cos.${region}.myqcloud.com`;
}

/** A trigger as both paths describe it. */
export type TriggerSpec =
  | { type: 'cos'; name: string; event: string; prefix: string; suffix: string; enable: boolean; qualifier: string }
  | { type: 'timer'; name: string; cron: string; argument: string; enable: boolean; qualifier: string };

/** Everything a function should be. */
export interface FunctionSpec {
  key: FunctionKey;
  name: string;
  handler: string;
  runtime: string;
  memorySize: number;
  timeout: number;
  role: string;
  description: string;
  environment: Record<string, string>;
  triggers: TriggerSpec[];
  retry: { retryNum: number; msgTTLSeconds: number };
}

/** The whole deployment. */
export interface DesiredState {
  region: string;
  functions: FunctionSpec[];
}

/** The triggers of one function, as deployed by both paths. */
export function triggersFor(key: FunctionKey, s: Pick<DeploySettings, 'bucket' | 'region' | 'audioPrefix' | 'recoveryCron'>): TriggerSpec[] {
  if (key === 'upload') {
    // No suffix filter: a file of the wrong type gets a clear `failed` status instead of silence.
    return COS_EVENTS.map((event) => ({ type: 'cos', name: bucketDomain(s.bucket, s.region), event, prefix: s.audioPrefix, suffix: '', enable: true, qualifier: TRIGGER_QUALIFIER }));
  }
  return [{ type: 'timer', name: TIMER_TRIGGER_NAME, cron: s.recoveryCron, argument: '', enable: true, qualifier: TRIGGER_QUALIFIER }];
}

/** The desired state for these settings. */
export function desiredState(s: DeploySettings): DesiredState {
  return {
    region: s.region,
    functions: FUNCTION_KEYS.map((key) => ({
      key,
      name: functionName(s.stage, key),
      handler: FUNCTIONS[key].handler,
      runtime: s.runtime,
      memorySize: s.memorySize,
      timeout: FUNCTIONS[key].timeout,
      role: s.role,
      description: FUNCTIONS[key].description,
      environment: { ...s.functionEnv },
      triggers: triggersFor(key, s),
      retry: { ...ASYNC_RETRY },
    })),
  };
}
