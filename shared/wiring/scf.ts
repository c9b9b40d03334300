/**
 * Per-instance wiring shared by the functions: configuration, SDK clients and the logger are built
 * at cold start (and again when the role's credentials change) and reused by every invocation the
 * instance serves; each invocation gets its own workflow context (its own owner id for the ledger,
 * its own log fields).
 */
import { randomUUID } from 'crypto';
import { debugLogging, loadConfig, secretValues, type Config, type Env } from '../core/config';
import { IvrError } from '../core/errors';
import { timingFrom } from '../core/timing';
import { createCccClient, createIvrAudioApi, type IvrAudioApi } from '../sdk/ccc';
import { CosBucket, createCosClient } from '../sdk/cos';
import { webhookPoster } from '../sdk/webhook';
import { CreatedVersions, Ledger, SeenEntry } from '../store/ledger';
import type { Clock, Ctx } from '../workflow/context';
import { createLogger, redact, redactDeep, redactError, registerSecret, urlSecrets, type Logger } from '../runtime/log';

/** What an instance builds at cold start (again on new role credentials) and shares with every invocation it serves. */
export interface Runtime {
  config: Config;
  api: IvrAudioApi;
  log: Logger;
  clock: Clock;
  /** The adapter for one bucket (cached per instance). */
  bucket(name: string, region: string): CosBucket;
  /** A workflow context for one bucket and one invocation; an error when the region is unknown. */
  context(bucket: string, region: string | undefined, owner?: string): Ctx | IvrError;
}

/** The runtime, or the configuration error that prevents it, with a logger to report it on. */
export type RuntimeOrError = { ok: true; runtime: Runtime } | { ok: false; error: IvrError; log: Logger };

/** Test seams: a clock (to reach a lease's end or a new quota day without waiting). Production passes nothing. */
export interface Seams {
  clock?: Partial<Clock>;
}

const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) };

/**
 * Builds the instance's runtime from `env`. An invalid configuration is logged and returned as an
 * error; anything else thrown (a bug) propagates. The CCC client is built at its first call.
 */
export function createRuntime(env: Env, functionName: string, seams: Seams = {}): RuntimeOrError {
  const log = createLogger({ fn: functionName }, { debug: debugLogging(env) });
  // Registered before validation so that even a config error message cannot echo them.
  // The SecretId too: not a credential by itself, but it names the role's key, and no line needs it.
  const secrets = secretValues(env);
  for (const value of secrets.credentials) registerSecret(value);
  for (const part of urlSecrets(secrets.webhook)) registerSecret(part);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    log.error('configuration invalid', { code: e.code, error: e.message });
    return { ok: false, error: e, log };
  }
  const cos = createCosClient(config);
  const protocol = config.cosEndpoint?.protocol ?? 'https:';
  const buckets = new Map<string, CosBucket>();
  // What this instance created, and the newest send-log entry it saw, survive its invocations
  // (see CreatedVersions, SeenEntry), per bucket.
  const created = new Map<string, CreatedVersions>();
  const seen = new Map<string, SeenEntry>();
  // Built when an instance is about to call CCC: most upload invocations only queue their file (see ccc.ts).
  const api = createIvrAudioApi(() => createCccClient(config), config.sdkAppId);
  const clock: Clock = { ...realClock, ...seams.clock };
  const webhook = webhookPoster(clock.sleep);
  const timing = timingFrom(config);
  const bucket = (name: string, region: string) => {
    const id = `${name}@${region}`;
    let b = buckets.get(id);
    if (!b) buckets.set(id, (b = new CosBucket(cos, name, region, protocol)));
    return b;
  };
  return {
    ok: true,
    runtime: {
      config,
      api,
      log,
      clock,
      bucket,
      context(name, eventRegion, owner = randomUUID()) {
        const region = eventRegion ?? config.region;
        if (!region) return new IvrError('EventInvalid', 'the event names no ap-* region and TENCENTCLOUD_REGION is not set');
        // A trigger on another bucket would start a second ledger and send log there, with its own
        // count of CCC's one quota, that the timer never looks at.
        if (config.bucket && name !== config.bucket) return new IvrError('WrongBucket', `the event is for bucket ${name}, but this function serves ${config.bucket} (IVR_BUCKET): the COS trigger points at the wrong bucket`);
        const b = bucket(name, region);
        const id = `${name}@${region}`;
        if (!created.has(id)) created.set(id, new CreatedVersions());
        if (!seen.has(id)) seen.set(id, new SeenEntry());
        return { config, timing, ledger: new Ledger(b, config.ledgerPrefix, created.get(id), seen.get(id)), objects: b, api, webhook, log, clock, owner };
      },
    },
  };
}

/** SCF's context, as much of it as we use. */
export interface ScfContext {
  request_id?: string;
  function_name?: string;
}

/**
 * An SCF handler whose runtime is built once per instance at cold start, and again when the role's
 * credentials change. With bad configuration every invocation is refused by throwing, not
 * returning: SCF then retries the event, so nothing is lost once the variable is fixed.
 */
export function scfHandler<R>(env: Env, functionName: string, seams: Seams, run: (runtime: Runtime, event: unknown) => Promise<R>) {
  let credentials = roleCredentials(env);
  let init = createRuntime(env, functionName, seams);
  return async (event: unknown, context?: ScfContext): Promise<R> => {
    // The role's credentials are temporary: a warm instance may find new ones in its environment.
    // Clients signed with the old ones would be refused (a COS 403 that no retry of ours cures), so
    // the runtime is built again with the new ones (and forgets what it remembered: a cold start).
    if (roleCredentials(env) !== credentials) {
      credentials = roleCredentials(env);
      const fresh = createRuntime(env, functionName, seams);
      (fresh.ok ? fresh.runtime.log : fresh.log).info('role credentials changed: clients built again');
      init = fresh;
    }
    const current = init;
    if (!current.ok) {
      current.log.error('invocation refused: configuration invalid', { scfRequestId: context?.request_id, code: current.error.code, error: current.error.message });
      // SCF shows the thrown message as it is: redacted like the log line (a secret pasted into
      // the wrong variable is quoted back by the check). The original is not kept as `cause`,
      // which SCF would print with it.
      throw new IvrError(current.error.code, redact(current.error.message), { transient: current.error.transient, requestId: current.error.requestId });
    }
    const { runtime } = current;
    const log = runtime.log.child({ scfRequestId: context?.request_id });
    // SCF shows and logs what a handler returns or throws as it is: both are redacted as a log line is.
    try {
      return redactDeep(await run({ ...runtime, log, context: (b, r, o) => withLog(runtime.context(b, r, o), log) }, event));
    } catch (e) {
      throw redactError(e);
    }
  };
}

/** The role credentials in `env`, as one string to compare (never logged). */
const roleCredentials = (env: Env): string => secretValues(env).credentials.join('\n');

const withLog = (ctx: Ctx | IvrError, log: Logger): Ctx | IvrError => (ctx instanceof IvrError ? ctx : { ...ctx, log });
