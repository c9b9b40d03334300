/**
 * The deploy plan: a pure function from the desired state (deploy-spec.ts) and what the SCF API
 * reports (observe.ts) to the actions that make them equal. No I/O here, so every decision
 * (create / update / unchanged, which trigger to create or remove) is unit-tested without servers.
 */
import type { GetFunctionResponse, TriggerInfo } from 'tencentcloud-sdk-nodejs/tencentcloud/services/scf/v20180416/scf_models';
import type { DesiredState, FunctionKey, FunctionSpec, TriggerSpec } from '../lib/deploy-spec';
import type { RetryPolicy } from './scf';

/** A trigger as the API reports it, with its quirks normalised (see {@link observeTrigger}). */
export interface ObservedTrigger {
  type: string;
  name: string;
  /** TriggerDesc as returned: needed verbatim to delete a COS trigger. */
  rawDesc: string;
  enable: boolean;
  qualifier: string;
  argument: string;
  /** The trigger in spec form, when it is a COS or timer trigger whose description could be read. */
  spec?: TriggerSpec;
}

/** A function as the API reports it: the spec's plain fields, plus its status and triggers as observed. */
export interface ObservedFunction extends Omit<FunctionSpec, 'key' | 'triggers' | 'retry'> {
  status: string;
  statusReason: string;
  triggers: ObservedTrigger[];
  retry?: RetryPolicy;
}

/** What happens to one trigger. `ignore`: a trigger type this deploy does not manage, left alone. */
export interface TriggerStep {
  action: 'create' | 'delete' | 'unchanged' | 'ignore';
  /** The trigger to create (spec) or the existing one (observed). */
  spec?: TriggerSpec;
  observed?: ObservedTrigger;
  label: string;
}

/** What happens to one function. */
export interface FunctionPlan {
  key: FunctionKey;
  name: string;
  action: 'create' | 'update' | 'unchanged';
  /** Upload the package (new build, or handler changed). */
  code: boolean;
  /** Send UpdateFunctionConfiguration (memory, timeout, role, environment, description). */
  config: boolean;
  /** Human-readable reasons for an update; names only, never values. */
  changes: string[];
  retry: 'set' | 'unchanged';
  triggers: TriggerStep[];
}

/** The whole deploy. `problems` block it before any write call. */
export interface DeployPlan {
  region: string;
  functions: FunctionPlan[];
  problems: string[];
}

/** Suffix of a function description that records which build is deployed. */
export function describeBuild(description: string, codeSha: string): string {
  return `${description} Build ${codeSha.slice(0, 12)}.`;
}

/** The build recorded in a description, if any. */
export function buildOf(description: string): string | undefined {
  return / Build ([0-9a-f]{12})\.$/.exec(description)?.[1];
}

/** A trigger's one-line label, e.g. `cos cos:ObjectCreated:Put on <bucket domain> prefix prompts/`. */
export function triggerLabel(t: TriggerSpec): string {
  if (t.type === 'cos') return `cos ${t.event} on ${t.name} prefix "${t.prefix}"${t.suffix ? ` suffix "${t.suffix}"` : ''}${t.enable ? '' : ' (disabled)'}`;
  return `timer ${t.name} "${t.cron}"${t.enable ? '' : ' (disabled)'}`;
}

function sameTrigger(a: TriggerSpec, b: TriggerSpec): boolean {
  if (a.type === 'cos' && b.type === 'cos') return a.name === b.name && a.event === b.event && a.prefix === b.prefix && a.suffix === b.suffix && a.enable === b.enable && a.qualifier === b.qualifier;
  if (a.type === 'timer' && b.type === 'timer') return a.name === b.name && a.cron === b.cron && a.argument === b.argument && a.enable === b.enable && a.qualifier === b.qualifier;
  return false;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? NaN));

/**
 * Normalises a trigger as ListTriggers returns it. Quirks (tencent-component-toolkit's
 * `triggers/timer.ts` and `cos.ts` deal with the same): `Enable` is sent as OPEN/CLOSE but comes
 * back as 1/0; a timer's `TriggerDesc` is sent as the bare cron but comes back as `{"cron":"…"}`;
 * a COS trigger's `TriggerDesc` is JSON `{"event":…,"filter":{"Prefix":…,"Suffix":…}}` (maybe with
 * `bucketUrl`); `CustomArgument` may be null.
 */
export function observeTrigger(t: TriggerInfo): ObservedTrigger {
  const rawDesc = text(t.TriggerDesc);
  const enableRaw: unknown = t.Enable;
  const enable = enableRaw === 1 || enableRaw === '1' || enableRaw === 'OPEN' || enableRaw === true;
  const base = { type: text(t.Type), name: text(t.TriggerName), rawDesc, enable, qualifier: text(t.Qualifier) || '$LATEST', argument: text(t.CustomArgument) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawDesc);
  } catch {
    parsed = undefined;
  }
  const obj = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  if (base.type === 'cos' && obj && typeof obj.event === 'string') {
    const filter = typeof obj.filter === 'object' && obj.filter !== null ? (obj.filter as Record<string, unknown>) : {};
    return { ...base, spec: { type: 'cos', name: base.name, event: obj.event, prefix: text(filter.Prefix), suffix: text(filter.Suffix), enable, qualifier: base.qualifier } };
  }
  if (base.type === 'timer') {
    const cron = obj && typeof obj.cron === 'string' ? obj.cron : rawDesc;
    if (cron) return { ...base, spec: { type: 'timer', name: base.name, cron: cron.trim(), argument: base.argument, enable, qualifier: base.qualifier } };
  }
  return base;
}

/** Normalises GetFunction's answer (plus its triggers and retry policy). */
export function observeFunction(f: GetFunctionResponse, triggers: TriggerInfo[], retry: RetryPolicy | undefined): ObservedFunction {
  const environment: Record<string, string> = {};
  for (const v of f.Environment?.Variables ?? []) if (v.Key) environment[v.Key] = v.Value ?? '';
  return {
    name: text(f.FunctionName),
    status: text(f.Status),
    statusReason: text(f.StatusReasons?.[0]?.ErrorMessage) || text(f.StatusDesc),
    handler: text(f.Handler),
    runtime: text(f.Runtime),
    memorySize: num(f.MemorySize),
    timeout: num(f.Timeout),
    role: text(f.Role),
    description: text(f.Description),
    environment,
    triggers: triggers.map(observeTrigger),
    retry,
  };
}

/** A role as GetFunction may report it (a name, or possibly a `qcs::cam::…:roleName/<name>` description) reduced to its name. */
function roleName(role: string): string {
  const i = role.lastIndexOf('roleName/');
  return i >= 0 ? role.slice(i + 'roleName/'.length) : role;
}

/** Names (never values) of variables added, removed or changed. */
function envChanges(want: Record<string, string>, have: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(want).sort()) {
    if (!(k in have)) out.push(`+${k}`);
    else if (have[k] !== want[k]) out.push(`~${k}`);
  }
  for (const k of Object.keys(have).sort()) if (!(k in want)) out.push(`-${k}`);
  return out;
}

const MANAGED_TRIGGER_TYPES = new Set(['cos', 'timer']);

/** Trigger steps: keep what matches, remove what the function has but should not, create the rest. */
export function planTriggers(want: TriggerSpec[], have: ObservedTrigger[]): TriggerStep[] {
  const steps: TriggerStep[] = [];
  const matched = new Set<ObservedTrigger>();
  for (const spec of want) {
    const found = have.find((o) => !matched.has(o) && o.spec !== undefined && sameTrigger(o.spec, spec));
    if (found) {
      matched.add(found);
      steps.push({ action: 'unchanged', spec, observed: found, label: triggerLabel(spec) });
    } else {
      steps.push({ action: 'create', spec, label: triggerLabel(spec) });
    }
  }
  for (const o of have) {
    if (matched.has(o)) continue;
    if (!MANAGED_TRIGGER_TYPES.has(o.type)) steps.push({ action: 'ignore', observed: o, label: `${o.type} ${o.name} (not managed here)` });
    else steps.push({ action: 'delete', observed: o, label: o.spec ? triggerLabel(o.spec) : `${o.type} ${o.name} ${o.rawDesc}` });
  }
  return steps;
}

function planFunction(spec: FunctionSpec, codeSha: string, have: ObservedFunction | undefined, problems: string[]): FunctionPlan {
  const description = describeBuild(spec.description, codeSha);
  if (!have) {
    return { key: spec.key, name: spec.name, action: 'create', code: true, config: false, changes: [], retry: 'set', triggers: spec.triggers.map((t) => ({ action: 'create', spec: t, label: triggerLabel(t) })) };
  }
  if (have.status === 'Deleting') {
    problems.push(`${spec.name} is being deleted (a removal still in progress): run npm run remove:api to wait for it, then deploy again`);
  } else if (have.status?.endsWith('Failed')) {
    problems.push(`${spec.name} is ${have.status}${have.statusReason ? ` (${have.statusReason})` : ''}: run npm run remove:api (it deletes a failed function too), then deploy again`);
  }
  if (have.runtime && have.runtime !== spec.runtime) {
    problems.push(`${spec.name} runs ${have.runtime}, SCF_RUNTIME asks for ${spec.runtime}: SCF cannot change a runtime in place (UpdateFunctionConfiguration), so run npm run remove:api, then deploy:api`);
  }
  const changes: string[] = [];
  const codeChanged = buildOf(have.description) !== codeSha.slice(0, 12);
  if (codeChanged) changes.push('code');
  if (have.handler !== spec.handler) changes.push('handler');
  if (have.memorySize !== spec.memorySize) changes.push(`memory ${have.memorySize}→${spec.memorySize} MB`);
  if (have.timeout !== spec.timeout) changes.push(`timeout ${have.timeout}→${spec.timeout} s`);
  if (roleName(have.role) !== spec.role) changes.push(`role ${have.role || '(none)'}→${spec.role}`);
  const env = envChanges(spec.environment, have.environment);
  if (env.length) changes.push(`environment ${env.join(' ')}`);
  if (!codeChanged && have.description !== description) changes.push('description');
  const code = codeChanged || have.handler !== spec.handler;
  const config = changes.some((c) => c !== 'handler');
  const retry = have.retry && have.retry.retryNum === spec.retry.retryNum && have.retry.msgTTLSeconds === spec.retry.msgTTLSeconds ? 'unchanged' : 'set';
  return { key: spec.key, name: spec.name, action: changes.length ? 'update' : 'unchanged', code, config, changes, retry, triggers: planTriggers(spec.triggers, have.triggers) };
}

/** The plan that turns `observed` (function name → what exists) into `desired`. */
export function planDeploy(desired: DesiredState, codeSha: string, observed: ReadonlyMap<string, ObservedFunction | undefined>): DeployPlan {
  const problems: string[] = [];
  const functions = desired.functions.map((spec) => planFunction(spec, codeSha, observed.get(spec.name), problems));
  return { region: desired.region, functions, problems };
}

/** What `remove:api` does to one function. */
export interface RemoveStep {
  name: string;
  action: 'delete' | 'absent';
  /** Managed triggers removed first, so no COS bucket rule outlives its function. */
  triggers: TriggerStep[];
}

/** The plan that removes both functions and their triggers. */
export function planRemove(desired: DesiredState, observed: ReadonlyMap<string, ObservedFunction | undefined>): RemoveStep[] {
  return desired.functions.map((spec) => {
    const have = observed.get(spec.name);
    if (!have) return { name: spec.name, action: 'absent', triggers: [] };
    const triggers: TriggerStep[] = have.triggers.map((o) =>
      MANAGED_TRIGGER_TYPES.has(o.type)
        ? { action: 'delete', observed: o, label: o.spec ? triggerLabel(o.spec) : `${o.type} ${o.name}` }
        : { action: 'ignore', observed: o, label: `${o.type} ${o.name} (deleted with the function)` },
    );
    return { name: spec.name, action: 'delete', triggers };
  });
}

/** Whether the plan changes anything. */
export function planIsEmpty(plan: DeployPlan): boolean {
  return plan.functions.every((f) => f.action === 'unchanged' && f.retry === 'unchanged' && f.triggers.every((t) => t.action === 'unchanged' || t.action === 'ignore'));
}

/** The plan as printed: one line per function, retry policy and trigger. Names only, never values. */
export function formatPlan(plan: DeployPlan, desired: DesiredState): string[] {
  const lines: string[] = [];
  for (const f of plan.functions) {
    const spec = desired.functions.find((s) => s.name === f.name);
    const what = spec ? ` (${spec.handler}, ${spec.runtime}, ${spec.memorySize} MB, ${spec.timeout} s, role ${spec.role}, ${Object.keys(spec.environment).length} variables)` : '';
    lines.push(`function ${f.name}: ${f.action}${f.action === 'create' ? what : ''}${f.changes.length ? ` (${f.changes.join(', ')})` : ''}`);
    if (spec) lines.push(`  async retry RetryNum ${spec.retry.retryNum}, MsgTTL ${spec.retry.msgTTLSeconds} s: ${f.retry === 'set' ? 'set' : 'unchanged'}`);
    for (const t of f.triggers) lines.push(`  trigger ${t.label}: ${t.action === 'ignore' ? 'left alone' : t.action}`);
  }
  for (const p of plan.problems) lines.push(`problem: ${p}`);
  return lines;
}

/** The removal as printed. */
export function formatRemove(steps: RemoveStep[]): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    lines.push(`function ${s.name}: ${s.action === 'absent' ? 'absent (nothing to remove)' : 'delete'}`);
    for (const t of s.triggers) lines.push(`  trigger ${t.label}: ${t.action === 'ignore' ? 'left alone' : 'delete'}`);
  }
  return lines;
}
