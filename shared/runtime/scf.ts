/**
 * Per-instance wiring shared by the functions: configuration, SDK clients and the logger are built
 * once at cold start and reused by every invocation the instance serves.
 */
import { createCccClient, createIvrAudioApi, type IvrAudioApi } from '../sdk/ccc';
import { loadConfig, type Config, type Env } from '../core/config';
import { CosBucket, createCosClient } from '../sdk/cos';
import { toIvrError, type IvrError } from '../core/errors';
import { createLogger, registerSecret, type Logger } from './log';

export interface Runtime {
  config: Config;
  api: IvrAudioApi;
  log: Logger;
  bucket(name: string, region: string): CosBucket;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type RuntimeOrError = { ok: true; runtime: Runtime } | { ok: false; error: IvrError; log: Logger };

/** Test seams: a clock to simulate a quota-day change. Production passes nothing. */
export interface Seams {
  now?: () => number;
}

export function createRuntime(env: Env, functionName: string, seams: Seams = {}): RuntimeOrError {
  const log = createLogger({ fn: functionName });
  // Registered before validation so that even a config error message cannot echo them.
  registerSecret(env.TENCENTCLOUD_SECRETKEY);
  registerSecret(env.TENCENTCLOUD_SESSIONTOKEN);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (e) {
    const error = toIvrError(e, 'ConfigInvalid');
    log.error('configuration invalid', { code: error.code, error: error.message });
    return { ok: false, error, log };
  }
  const cos = createCosClient(config);
  const protocol = config.cosEndpoint?.protocol ?? 'https:';
  const buckets = new Map<string, CosBucket>();
  return {
    ok: true,
    runtime: {
      config,
      api: createIvrAudioApi(createCccClient(config), config.sdkAppId),
      log,
      bucket(name, region) {
        const id = `${name}@${region}`;
        let b = buckets.get(id);
        if (!b) buckets.set(id, (b = new CosBucket(cos, name, region, protocol)));
        return b;
      },
      now: seams.now ?? (() => Date.now()),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    },
  };
}

/** SCF's context, as much of it as we use. */
export interface ScfContext {
  request_id?: string;
  function_name?: string;
}

/**
 * An SCF handler whose runtime is built once per instance at cold start. With bad configuration
 * every invocation is refused by throwing, not returning: SCF then retries the event, so nothing is
 * lost once the variable is fixed.
 */
export function scfHandler<R>(env: Env, functionName: string, seams: Seams, run: (runtime: Runtime, event: unknown) => Promise<R>) {
  const init = createRuntime(env, functionName, seams);
  return async (event: unknown, context?: ScfContext): Promise<R> => {
    if (!init.ok) {
      init.log.error('invocation refused: configuration invalid', { scfRequestId: context?.request_id, code: init.error.code, error: init.error.message });
      throw init.error;
    }
    return run({ ...init.runtime, log: init.runtime.log.child({ scfRequestId: context?.request_id }) }, event);
  };
}
