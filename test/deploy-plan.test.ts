/**
 * The deploy plan as a pure function: desired state + what the API reports → actions. No servers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { TriggerInfo } from 'tencentcloud-sdk-nodejs/tencentcloud/services/scf/v20180416/scf_models';
import { loadDeployEnv, loadDeploySettings, ROOT } from '../scripts/lib/deploy-config';
import { desiredState, type DesiredState, type FunctionSpec, type TriggerSpec } from '../scripts/lib/deploy-spec';
import { diffActions, grantedActions, recordedActions } from '../scripts/lib/policy-check';
import { zipDirectory } from '../scripts/deploy/zip';
import { zipEntries } from '../scripts/local/fakes/fake-scf';
import { describeBuild, formatPlan, observeTrigger, planDeploy, planIsEmpty, planRemove, planTriggers, type ObservedFunction, type ObservedTrigger } from '../scripts/deploy/plan';

const SHA = 'a'.repeat(64);
const values = loadDeployEnv(path.join(ROOT, '.env.example'), {}).values;
const desired: DesiredState = desiredState(loadDeploySettings({ ...values, IVR_REPORT_WEBHOOK: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEYVALUE' }));
const [upload, report] = desired.functions;

/** What ListTriggers returns for a trigger the deploy created (with the API's quirks). */
function listed(t: TriggerSpec): TriggerInfo {
  if (t.type === 'cos') return { Type: 'cos', TriggerName: t.name, TriggerDesc: JSON.stringify({ event: t.event, filter: { Prefix: t.prefix, Suffix: t.suffix } }), Enable: t.enable ? 1 : 0, Qualifier: t.qualifier, CustomArgument: '' };
  return { Type: 'timer', TriggerName: t.name, TriggerDesc: JSON.stringify({ cron: t.cron }), Enable: t.enable ? 1 : 0, Qualifier: t.qualifier, CustomArgument: t.argument };
}

/** A function exactly as the deploy left it. */
function deployed(spec: FunctionSpec, over: Partial<ObservedFunction> = {}): ObservedFunction {
  return {
    name: spec.name,
    status: 'Active',
    statusReason: '',
    handler: spec.handler,
    runtime: spec.runtime,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    role: spec.role,
    description: describeBuild(spec.description, SHA),
    environment: { ...spec.environment },
    triggers: spec.triggers.map((t) => observeTrigger(listed(t))),
    retry: { ...spec.retry },
    ...over,
  };
}

const observedOf = (...fns: ObservedFunction[]) => new Map<string, ObservedFunction | undefined>(desired.functions.map((f) => [f.name, fns.find((o) => o.name === f.name)]));

test('a fresh account: create both functions, set the retry policy, create every trigger', () => {
  const plan = planDeploy(desired, SHA, observedOf());
  expect(plan.problems).toEqual([]);
  expect(plan.functions.map((f) => [f.name, f.action, f.retry])).toEqual([
    [upload.name, 'create', 'set'],
    [report.name, 'create', 'set'],
  ]);
  expect(plan.functions[0].triggers.map((t) => [t.action, t.spec?.type === 'cos' ? t.spec.event : ''])).toEqual([
    ['create', 'cos:ObjectCreated:Put'],
    ['create', 'cos:ObjectCreated:Post'],
    ['create', 'cos:ObjectCreated:CompleteMultipartUpload'],
  ]);
  expect(plan.functions[1].triggers.map((t) => t.label)).toEqual(['timer ivr-quota-report "0 */5 * * * * *"']);
});

test('what the deploy left, read back with the API quirks (Enable 1, timer desc {"cron":…}), is unchanged', () => {
  const plan = planDeploy(desired, SHA, observedOf(deployed(upload), deployed(report)));
  expect(plan.functions.map((f) => f.action)).toEqual(['unchanged', 'unchanged']);
  expect(planIsEmpty(plan)).toBe(true);
});

test('observeTrigger normalises what ListTriggers returns', () => {
  expect(observeTrigger({ Type: 'timer', TriggerName: 't', TriggerDesc: '{"cron":"0 */5 * * * * *"}', Enable: 1, Qualifier: '$DEFAULT', CustomArgument: undefined }).spec).toEqual({ type: 'timer', name: 't', cron: '0 */5 * * * * *', argument: '', enable: true, qualifier: '$DEFAULT' });
  expect(observeTrigger({ Type: 'timer', TriggerName: 't', TriggerDesc: '0 5 0 * * * *', Enable: 0 }).spec).toMatchObject({ cron: '0 5 0 * * * *', enable: false, qualifier: '$LATEST' });
  const cos = observeTrigger({ Type: 'cos', TriggerName: 'b-1250000000.cos.ap-guangzhou.myqcloud.com', TriggerDesc: '{"bucketUrl":"b-1250000000.cos.ap-guangzhou.myqcloud.com","event":"cos:ObjectCreated:Put","filter":{"Prefix":"p/","Suffix":""}}', Enable: 1, Qualifier: '$DEFAULT' });
  expect(cos.spec).toEqual({ type: 'cos', name: 'b-1250000000.cos.ap-guangzhou.myqcloud.com', event: 'cos:ObjectCreated:Put', prefix: 'p/', suffix: '', enable: true, qualifier: '$DEFAULT' });
  expect(observeTrigger({ Type: 'apigw', TriggerName: 'x', TriggerDesc: '{}' }).spec).toBeUndefined();
});

test('a deleted trigger is recreated, and only it', () => {
  const have = deployed(upload);
  have.triggers = have.triggers.filter((t) => !(t.spec?.type === 'cos' && t.spec.event === 'cos:ObjectCreated:Post'));
  const plan = planDeploy(desired, SHA, observedOf(have, deployed(report)));
  expect(plan.functions[0].action).toBe('unchanged');
  expect(plan.functions[0].triggers.map((t) => t.action)).toEqual(['unchanged', 'create', 'unchanged']);
  expect(plan.functions[0].triggers[1].label).toContain('cos:ObjectCreated:Post');
});

test('stale triggers it manages are removed (a Copy trigger, an old prefix); other trigger types are left alone', () => {
  const have = deployed(upload);
  const stale = (event: string, prefix: string): ObservedTrigger => observeTrigger({ Type: 'cos', TriggerName: (upload.triggers[0] as { name: string }).name, TriggerDesc: JSON.stringify({ event, filter: { Prefix: prefix, Suffix: '' } }), Enable: 1, Qualifier: '$DEFAULT' });
  have.triggers.push(stale('cos:ObjectCreated:Copy', 'prompts/'), stale('cos:ObjectCreated:Put', 'old/'), observeTrigger({ Type: 'apigw', TriggerName: 'api', TriggerDesc: '{}', Enable: 1 }));
  const steps = planDeploy(desired, SHA, observedOf(have, deployed(report))).functions[0].triggers;
  expect(steps.filter((s) => s.action === 'delete').map((s) => s.label)).toEqual([expect.stringContaining('cos:ObjectCreated:Copy'), expect.stringContaining('prefix "old/"')]);
  expect(steps.filter((s) => s.action === 'ignore').map((s) => s.observed?.type)).toEqual(['apigw']);
  expect(steps.filter((s) => s.action === 'create')).toEqual([]);
});

test('a changed cron replaces the timer (delete, then create: never two timers of one name)', () => {
  const have = deployed(report, { triggers: [observeTrigger({ Type: 'timer', TriggerName: 'ivr-quota-report', TriggerDesc: '{"cron":"0 5 0 * * * *"}', Enable: 1, Qualifier: '$DEFAULT', CustomArgument: '' })] });
  const steps = planDeploy(desired, SHA, observedOf(deployed(upload), have)).functions[1].triggers;
  expect(steps.map((s) => [s.action, s.label])).toEqual([
    ['create', 'timer ivr-quota-report "0 */5 * * * * *"'],
    ['delete', 'timer ivr-quota-report "0 5 0 * * * *"'],
  ]);
});

test('two identical observed triggers: one is kept, the duplicate removed', () => {
  const t = upload.triggers[0];
  expect(planTriggers([t], [observeTrigger(listed(t)), observeTrigger(listed(t))]).map((s) => s.action)).toEqual(['unchanged', 'delete']);
});

test('a new build updates code and configuration (the description records the build)', () => {
  const plan = planDeploy(desired, 'b'.repeat(64), observedOf(deployed(upload), deployed(report)));
  for (const f of plan.functions) expect(f).toMatchObject({ action: 'update', code: true, config: true, changes: ['code'], retry: 'unchanged' });
  expect(plan.functions[0].triggers.every((t) => t.action === 'unchanged')).toBe(true);
});

test('configuration drift updates the configuration only, and names variables without their values', () => {
  const env = { ...upload.environment, IVR_MAX_BATCH: '7', STRAY: 'x' };
  delete (env as Record<string, string>).IVR_REPORT_WEBHOOK;
  const plan = planDeploy(desired, SHA, observedOf(deployed(upload, { memorySize: 256, environment: env }), deployed(report)));
  expect(plan.functions[0]).toMatchObject({ action: 'update', code: false, config: true });
  expect(plan.functions[0].changes).toEqual(['memory 256→128 MB', 'environment ~IVR_MAX_BATCH +IVR_REPORT_WEBHOOK -STRAY']);
  const printed = formatPlan(plan, desired).join('\n');
  expect(printed).not.toContain('SECRETKEYVALUE');
  expect(printed).not.toContain('qyapi');
});

test('a role reported as a CAM resource description is the same role', () => {
  const plan = planDeploy(desired, SHA, observedOf(deployed(upload, { role: `qcs::cam::uin/100000000001:roleName/${upload.role}` }), deployed(report)));
  expect(plan.functions[0].action).toBe('unchanged');
});

test('a changed handler is a code update (UpdateFunctionCode carries the handler)', () => {
  const f = planDeploy(desired, SHA, observedOf(deployed(upload, { handler: 'old.main_handler' }), deployed(report))).functions[0];
  expect(f).toMatchObject({ action: 'update', code: true, config: false, changes: ['handler'] });
});

test('a retry policy that drifted is set again', () => {
  expect(planDeploy(desired, SHA, observedOf(deployed(upload, { retry: { retryNum: 0, msgTTLSeconds: 3600 } }), deployed(report))).functions[0].retry).toBe('set');
  expect(planDeploy(desired, SHA, observedOf(deployed(upload, { retry: undefined }), deployed(report))).functions[0].retry).toBe('set');
});

test('a runtime change or a failed function is a problem that blocks the deploy', () => {
  const plan = planDeploy(desired, SHA, observedOf(deployed(upload, { runtime: 'Nodejs12.16' }), deployed(report, { status: 'CreateFailed', statusReason: 'bad zip' })));
  expect(plan.problems).toEqual([expect.stringMatching(/runs Nodejs12\.16.*cannot change a runtime in place.*remove:api/), expect.stringMatching(/report is CreateFailed \(bad zip\)/)]);
});

test('remove: managed triggers first, then the function; absent functions are skipped', () => {
  const have = deployed(upload);
  have.triggers.push(observeTrigger({ Type: 'apigw', TriggerName: 'api', TriggerDesc: '{}', Enable: 1 }));
  const steps = planRemove(desired, observedOf(have));
  expect(steps.map((s) => [s.name, s.action, s.triggers.map((t) => t.action)])).toEqual([
    [upload.name, 'delete', ['delete', 'delete', 'delete', 'ignore']],
    [report.name, 'absent', []],
  ]);
});

test('the policy check reports both directions: used but not granted, granted but never used', () => {
  expect(diffActions(['cos:GetObject', 'cos:DeleteMultipleObjects'], grantedActions({ version: '2.0', statement: [{ effect: 'allow', action: ['name/cos:GetObject', 'name/cos:HeadObject'], resource: ['*'] }] }))).toEqual({
    missing: ['cos:DeleteMultipleObjects'],
    unused: ['cos:HeadObject'],
  });
  expect(recordedActions('cos:GetObject\ncos:GetObject\n\nccc:UploadIvrAudio\n')).toEqual(['ccc:UploadIvrAudio', 'cos:GetObject']);
});

test('the package zip is deterministic, complete and readable', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-'));
  try {
    fs.writeFileSync(path.join(dir, 'b.js'), 'exports.main_handler = 1;\n'.repeat(100));
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.writeFileSync(path.join(dir, 'lib', 'a.wasm'), Buffer.from([0, 1, 2, 255]));
    const one = zipDirectory(dir);
    const two = zipDirectory(dir);
    expect(one.bytes.equals(two.bytes)).toBe(true);
    expect(one.files).toEqual(['b.js', 'lib/a.wasm']);
    const entries = zipEntries(one.bytes) ?? [];
    expect(entries.map((e) => e.name)).toEqual(['b.js', 'lib/a.wasm']);
    expect(entries[1].data).toEqual(Buffer.from([0, 1, 2, 255]));
    fs.writeFileSync(path.join(dir, 'b.js'), 'changed');
    expect(zipDirectory(dir).sha256).not.toBe(one.sha256);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
