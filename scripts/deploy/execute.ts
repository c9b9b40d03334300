/**
 * Carries out a plan through the SCF API: reads what exists (observe), makes the write calls in a
 * safe order, and waits for each function to be Active between operations, because SCF rejects
 * any change to a function that is still Creating or Updating.
 */
import type { TriggerInfo } from 'tencentcloud-sdk-nodejs/tencentcloud/services/scf/v20180416/scf_models';
import { NAMESPACE, type DesiredState, type FunctionSpec, type TriggerSpec } from '../lib/deploy-spec';
import { describeBuild, observeFunction, type DeployPlan, type ObservedFunction, type ObservedTrigger, type RemoveStep } from './plan';
import { BUSY_CODES, isTransientCode, ScfApiError, type ScfApi } from './scf';

/** Time and output, injected so tests run without real waiting. */
export interface DeployIo {
  out(line: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** Bounds of the wait for a function to become Active. */
export const WAIT = {
  firstDelayMs: 500,
  maxDelayMs: 8000,
  /** SCF usually needs seconds; a function still not Active after this is reported, not awaited forever. */
  timeoutMs: 5 * 60 * 1000,
  /** Tries of a write call the API refused because the function was busy. */
  busyAttempts: 3,
  /** Tries of any call answered with a transient error ({@link isTransientCode}), and the first wait between them (doubling). */
  transientAttempts: 4,
  transientFirstDelayMs: 1000,
} as const;

/**
 * `api` with every call tried again, up to WAIT.transientAttempts times with a doubling wait on
 * `io`'s clock, when Tencent answers with a transient error: without it one `InternalError` on, say,
 * the second CreateTrigger ended the deploy half done. A create whose answer was lost this way may
 * have happened: its repeat then meets the API's "already exists", which here means the earlier
 * try went through, not a clash (the plan only creates what it found missing). Only those codes:
 * other `ResourceInUse.*` (a COS bucket, a CDN) mean "in use", a real refusal.
 */
const ALREADY_EXISTS = new Set(['ResourceInUse.Function', 'ResourceInUse.FunctionName', 'ResourceInUse.Trigger', 'ResourceInUse.TriggerName']);

export function withTransientRetries(api: ScfApi, io: DeployIo): ScfApi {
  const retried =
    <A extends unknown[], R>(op: (...args: A) => Promise<R>, alreadyDone?: () => R) =>
    async (...args: A): Promise<R> => {
      let delay: number = WAIT.transientFirstDelayMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await op(...args);
        } catch (e) {
          if (alreadyDone && attempt > 1 && e instanceof ScfApiError && ALREADY_EXISTS.has(e.code)) {
            io.out(`  ${e.action} answered ${e.code} after a transient error: the earlier try went through`);
            return alreadyDone();
          }
          if (!(e instanceof ScfApiError) || !isTransientCode(e.code) || attempt >= WAIT.transientAttempts) throw e;
          io.out(`  ${e.action} answered ${e.code} (transient); trying again in ${delay / 1000} s (attempt ${attempt + 1} of ${WAIT.transientAttempts})`);
          await io.sleep(delay);
          delay *= 2;
        }
      }
    };
  return {
    getFunction: retried((name) => api.getFunction(name)),
    createFunction: retried((req) => api.createFunction(req), () => undefined),
    updateFunctionCode: retried((req) => api.updateFunctionCode(req)),
    updateFunctionConfiguration: retried((req) => api.updateFunctionConfiguration(req)),
    deleteFunction: retried((name) => api.deleteFunction(name)),
    listTriggers: retried((name) => api.listTriggers(name)),
    createTrigger: retried((req) => api.createTrigger(req), () => undefined),
    deleteTrigger: retried((req) => api.deleteTrigger(req)),
    getRetryPolicy: retried((name) => api.getRetryPolicy(name)),
    setRetryPolicy: retried((name, policy) => api.setRetryPolicy(name, policy)),
  };
}

/** What exists now, read-only: GetFunction, ListTriggers, GetFunctionEventInvokeConfig per function. */
export async function observe(api: ScfApi, desired: DesiredState): Promise<Map<string, ObservedFunction | undefined>> {
  const out = new Map<string, ObservedFunction | undefined>();
  for (const spec of desired.functions) {
    const f = await api.getFunction(spec.name);
    if (!f) {
      out.set(spec.name, undefined);
      continue;
    }
    const triggers: TriggerInfo[] = await api.listTriggers(spec.name);
    const retry = await api.getRetryPolicy(spec.name);
    out.set(spec.name, observeFunction(f, triggers, retry));
  }
  return out;
}

const FAILED = new Set(['CreateFailed', 'UpdateFailed', 'DeleteFailed', 'PublishFailed']);

/** Polls GetFunction with a bounded exponential backoff until the function is Active. */
export async function waitActive(api: ScfApi, name: string, io: DeployIo): Promise<void> {
  const start = io.now();
  let delay: number = WAIT.firstDelayMs;
  for (;;) {
    const f = await api.getFunction(name);
    if (!f) throw new Error(`${name} disappeared while waiting for it to become Active`);
    if (f.Status === 'Active') return;
    if (f.Status && FAILED.has(f.Status)) throw new Error(`${name} is ${f.Status}: ${f.StatusReasons?.[0]?.ErrorMessage || f.StatusDesc || 'no reason given'}; run npm run remove:api, then deploy again`);
    if (io.now() - start >= WAIT.timeoutMs) throw new Error(`${name} is still ${f.Status ?? 'not Active'} after ${Math.round(WAIT.timeoutMs / 1000)} s`);
    await io.sleep(delay);
    delay = Math.min(delay * 2, WAIT.maxDelayMs);
  }
}

/** Polls until the function no longer exists (after DeleteFunction). */
async function waitGone(api: ScfApi, name: string, io: DeployIo): Promise<void> {
  const start = io.now();
  let delay: number = WAIT.firstDelayMs;
  while (await api.getFunction(name)) {
    if (io.now() - start >= WAIT.timeoutMs) throw new Error(`${name} still exists ${Math.round(WAIT.timeoutMs / 1000)} s after DeleteFunction`);
    await io.sleep(delay);
    delay = Math.min(delay * 2, WAIT.maxDelayMs);
  }
}

/** Runs a write call; when the API says the function is busy (someone else deploying), waits and tries again. */
async function whenActive(api: ScfApi, name: string, io: DeployIo, op: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await waitActive(api, name, io);
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof ScfApiError) || !BUSY_CODES.has(e.code) || attempt >= WAIT.busyAttempts) throw e;
      io.out(`  ${name} is busy (${e.code}); waiting for it to be Active again`);
    }
  }
}

const environment = (spec: FunctionSpec) => ({ Variables: Object.entries(spec.environment).map(([Key, Value]) => ({ Key, Value })) });

/** CreateTrigger's parameters for a trigger (TriggerDesc formats: cloud.tencent.com/document/product/583/39901). */
function createTriggerRequest(fn: string, t: TriggerSpec) {
  const common = { FunctionName: fn, Namespace: NAMESPACE, TriggerName: t.name, Type: t.type, Qualifier: t.qualifier, Enable: t.enable ? 'OPEN' : 'CLOSE' };
  if (t.type === 'cos') return { ...common, TriggerDesc: JSON.stringify({ event: t.event, filter: { Prefix: t.prefix, Suffix: t.suffix } }) };
  return { ...common, TriggerDesc: t.cron, CustomArgument: t.argument };
}

/** DeleteTrigger's parameters; a COS trigger must name its event in TriggerDesc. */
function deleteTriggerRequest(fn: string, o: ObservedTrigger) {
  const desc = o.spec?.type === 'cos' ? JSON.stringify({ event: o.spec.event, filter: { Prefix: o.spec.prefix, Suffix: o.spec.suffix } }) : o.rawDesc;
  return { FunctionName: fn, Namespace: NAMESPACE, TriggerName: o.name, Type: o.type, Qualifier: o.qualifier, TriggerDesc: desc };
}

/** Applies a deploy plan. `zipBase64` is the deploy package; `codeSha` identifies it. */
export async function applyPlan(api: ScfApi, plan: DeployPlan, desired: DesiredState, zipBase64: string, codeSha: string, io: DeployIo): Promise<void> {
  for (const f of plan.functions) {
    const spec = desired.functions.find((s) => s.name === f.name);
    if (!spec) throw new Error(`no spec for ${f.name}`);
    const description = describeBuild(spec.description, codeSha);
    if (f.action === 'create') {
      io.out(`creating ${f.name}`);
      await api.createFunction({
        FunctionName: spec.name,
        Namespace: NAMESPACE,
        Type: 'Event',
        Code: { ZipFile: zipBase64 },
        Handler: spec.handler,
        Runtime: spec.runtime,
        MemorySize: spec.memorySize,
        Timeout: spec.timeout,
        Role: spec.role,
        Description: description,
        Environment: environment(spec),
      });
      await waitActive(api, f.name, io);
    } else if (f.action === 'update') {
      if (f.code) {
        io.out(`uploading code of ${f.name}`);
        await whenActive(api, f.name, io, () => api.updateFunctionCode({ FunctionName: spec.name, Namespace: NAMESPACE, Handler: spec.handler, ZipFile: zipBase64 }));
      }
      if (f.config) {
        io.out(`updating configuration of ${f.name}`);
        await whenActive(api, f.name, io, () =>
          api.updateFunctionConfiguration({ FunctionName: spec.name, Namespace: NAMESPACE, Description: description, MemorySize: spec.memorySize, Timeout: spec.timeout, Role: spec.role, Environment: environment(spec) }),
        );
      }
    }
    if (f.retry === 'set') {
      io.out(`setting async retry of ${f.name}: RetryNum ${spec.retry.retryNum}, MsgTTL ${spec.retry.msgTTLSeconds} s`);
      await whenActive(api, f.name, io, () => api.setRetryPolicy(spec.name, spec.retry));
    }
    // Removals first: a stale trigger can block its replacement (same timer name, same COS rule).
    for (const t of f.triggers) {
      if (t.action !== 'delete' || !t.observed) continue;
      io.out(`removing trigger ${t.label} from ${f.name}`);
      const observed = t.observed;
      await whenActive(api, f.name, io, () => api.deleteTrigger(deleteTriggerRequest(spec.name, observed)));
    }
    for (const t of f.triggers) {
      if (t.action !== 'create' || !t.spec) continue;
      io.out(`creating trigger ${t.label} on ${f.name}`);
      const triggerSpec = t.spec;
      await whenActive(api, f.name, io, () => api.createTrigger(createTriggerRequest(spec.name, triggerSpec))).catch((e: unknown) => {
        // COS keeps one notification rule per bucket and prefix: another function has it.
        if (e instanceof ScfApiError && e.code === 'InvalidParameterValue.CosNotifyRuleConflict') {
          throw new Error(`CreateTrigger failed: ${e.code}: another function already has a COS trigger on this bucket and prefix (a deployment with another STAGE?): run npm run remove:api with that STAGE in .env, or pick another IVR_AUDIO_PREFIX, then deploy again`);
        }
        throw e;
      });
    }
    await waitActive(api, f.name, io);
  }
}

/**
 * Applies a removal: managed triggers first, then the function, then waits until it is gone. A
 * function that failed is deleted as it is (it will never be Active); one already being deleted
 * (a removal interrupted) is waited for.
 */
export async function applyRemove(api: ScfApi, steps: RemoveStep[], io: DeployIo): Promise<void> {
  for (const s of steps) {
    if (s.action === 'absent') continue;
    const status = (await api.getFunction(s.name))?.Status;
    if (status === undefined) continue;
    if (status === 'Deleting') {
      io.out(`${s.name} is already being deleted; waiting for it to go`);
      await waitGone(api, s.name, io);
      continue;
    }
    const when = FAILED.has(status) ? (op: () => Promise<void>) => op() : (op: () => Promise<void>) => whenActive(api, s.name, io, op);
    for (const t of s.triggers) {
      if (t.action !== 'delete' || !t.observed) continue;
      io.out(`removing trigger ${t.label} from ${s.name}`);
      const observed = t.observed;
      await when(() => api.deleteTrigger(deleteTriggerRequest(s.name, observed)));
    }
    io.out(`deleting ${s.name}${FAILED.has(status) ? ` (${status})` : ''}`);
    await when(() => api.deleteFunction(s.name));
    await waitGone(api, s.name, io);
  }
}

/**
 * Makes the async retry policy of every deployed function equal the spec (used after `sls deploy`,
 * whose component does not set it). Returns the names of functions it changed.
 */
export async function ensureRetryPolicies(api: ScfApi, desired: DesiredState, io: DeployIo): Promise<string[]> {
  const changed: string[] = [];
  for (const spec of desired.functions) {
    if (!(await api.getFunction(spec.name))) throw new Error(`${spec.name} does not exist: the deploy did not create it`);
    const have = await api.getRetryPolicy(spec.name);
    if (have && have.retryNum === spec.retry.retryNum && have.msgTTLSeconds === spec.retry.msgTTLSeconds) {
      io.out(`async retry of ${spec.name}: RetryNum ${have.retryNum}, MsgTTL ${have.msgTTLSeconds} s (unchanged)`);
      continue;
    }
    await whenActive(api, spec.name, io, () => api.setRetryPolicy(spec.name, spec.retry));
    io.out(`async retry of ${spec.name}: set RetryNum ${spec.retry.retryNum}, MsgTTL ${spec.retry.msgTTLSeconds} s`);
    changed.push(spec.name);
  }
  return changed;
}
