/**
 * An SCF API (2018-04-16) server on loopback that behaves like the real one where a deploy
 * depends on it. Sources for shapes and behaviour:
 * - request/response shapes: tencentcloud-sdk-nodejs 4.1.313 `services/scf/v20180416/scf_models.d.ts`
 *   (CreateFunctionRequest, GetFunctionResponse, Trigger/TriggerInfo, ListTriggersResponse,
 *   AsyncTriggerConfig, …) and cloud.tencent.com/document/api/583 (same fields);
 * - error codes: the official SDKs' SCF `errors.go` (TencentCloud/tencentcloud-sdk-go
 *   `tencentcloud/scf/v20180416/errors.go`): `ResourceNotFound.Function`, `ResourceInUse.Function`,
 *   `FailedOperation.UpdateFunctionCode` ("当前函数状态无法更新代码，请在状态为正常时更新", answered
 *   while a function is Updating), `FailedOperation.UpdateFunctionConfiguration`,
 *   `FailedOperation.CreateTrigger`, `FailedOperation.DeleteFunction`, `ResourceInUse.Trigger`,
 *   `ResourceInUse.TriggerName`, `InvalidParameterValue.CosNotifyRuleConflict`, `LimitExceeded.RetryNum`, …;
 * - trigger descriptions: cloud.tencent.com/document/product/583/39901 (timer: the bare seven-field
 *   cron; COS: `{"event":"cos:ObjectCreated:…","filter":{"Prefix":"…","Suffix":"…"}}`) and
 *   CreateTrigger's `TriggerName` doc (a COS trigger is named after the bucket's XML-API domain);
 *   what ListTriggers gives back (`Enable` 1/0, timer desc as `{"cron":"…"}`) as
 *   tencent-component-toolkit's `triggers/timer.ts` describes it;
 * - async retry defaults (RetryNum 2, MsgTTL 21600 s): cloud.tencent.com/document/product/583/41138.
 * Creating, updating and deleting take `transitionMs` on the fake's clock; until then the function
 * is Creating/Updating/Deleting and every write on it is refused, as the real API does.
 */
import { randomUUID } from 'crypto';
import { unzipSync, type Unzipped } from 'fflate';
import * as http from 'http';
import { recordDeployAction } from './actions';
import type { FakeCredential } from './credentials';
import { answerError, apiAnswer, readBody, TencentApiError, verifyTc3 } from './tc3-server';
import { FaultQueue, LoopbackServer, type Fault } from './loopback-server';

/** The host the fake answers for; requests for any other host fail the signature check. */
export const SCF_HOST = 'scf.tencentcloudapi.com';

type Json = Record<string, unknown>;

/** Runtimes CreateFunction documents (scf_models.d.ts `CreateFunctionRequest.Runtime`). */
const RUNTIMES = new Set(['Python2.7', 'Python3.6', 'Python3.7', 'Python3.9', 'Python3.10', 'Nodejs6.10', 'Nodejs8.9', 'Nodejs10.15', 'Nodejs12.16', 'Nodejs14.18', 'Nodejs16.13', 'Nodejs18.15', 'Php5.6', 'Php7', 'Php7.4', 'Php8.0', 'Go1', 'Java8', 'CustomRuntime']);
/** COS event types a trigger may name (cloud.tencent.com/document/product/583/9707). */
const COS_EVENT_TYPES = new Set(['cos:ObjectCreated:*', 'cos:ObjectCreated:Put', 'cos:ObjectCreated:Post', 'cos:ObjectCreated:Copy', 'cos:ObjectCreated:CompleteMultipartUpload', 'cos:ObjectCreated:Origin', 'cos:ObjectCreated:Replication', 'cos:ObjectRemove:*', 'cos:ObjectRemove:Delete', 'cos:ObjectRemove:DeleteMarkerCreated', 'cos:ObjectRestore:Post', 'cos:ObjectRestore:Completed']);
const READ_ACTIONS = new Set(['GetFunction', 'ListTriggers', 'GetFunctionEventInvokeConfig']);
const COS_DOMAIN = /^([a-z0-9-]+-\d+)\.cos\.([a-z0-9-]+)\.myqcloud\.com$/;

/** A stored trigger, as ListTriggers reports it. */
export interface FakeTrigger {
  Type: 'cos' | 'timer';
  TriggerName: string;
  /** As ListTriggers returns it: COS = the JSON sent; timer = `{"cron":"…"}`. */
  TriggerDesc: string;
  Enable: 0 | 1;
  Qualifier: string;
  CustomArgument: string;
  AddTime: string;
  ModTime: string;
  /** COS only: the event and filter, for rule conflicts and deletion. */
  cos?: { bucket: string; event: string; prefix: string; suffix: string };
}

/** A stored function. */
export interface FakeFunction {
  FunctionName: string;
  Namespace: string;
  Handler: string;
  Runtime: string;
  MemorySize: number;
  Timeout: number;
  Role: string;
  Description: string;
  Type: string;
  Environment: Array<{ Key: string; Value: string }>;
  /** A `*Failed` state is set by tests: the fake never fails a transition on its own. */
  status: 'Creating' | 'Updating' | 'Deleting' | 'Active' | 'CreateFailed' | 'UpdateFailed' | 'DeleteFailed';
  /** On the fake's clock: when the current transition ends. */
  readyAt: number;
  /** Names of the files in the deployed zip. */
  codeFiles: string[];
  codeBytes: number;
  triggers: FakeTrigger[];
  retry: { RetryNum: number; MsgTTL: number };
  AddTime: string;
  ModTime: string;
}

/** One request the fake answered. `params` never holds the zip (replaced by its size). */
export interface ScfCall {
  action: string;
  region: string;
  params: Json;
  /** 'ok' or the error code answered. */
  result: string;
  write: boolean;
}

/** A fault to inject into the next matching request. */
export interface ScfFault extends Fault {
  action?: string;
  /** Answer with this Tencent error code (HTTP 200, error body). */
  code?: string;
  message?: string;
  /** Answer with this HTTP status and a non-JSON body. */
  http?: number;
  /** Do the request first, then answer with `code`: a write that happened, answered as if it failed. */
  afterCommit?: boolean;
}

/** How the fake is set up. */
export interface FakeScfOptions {
  credentials: FakeCredential[];
  port?: number;
  /** Clock of the functions' state transitions (default Date.now). */
  clock?: () => number;
  /** Clock the 5-minute signature window is checked against (default Date.now; the SDK stamps real time). */
  signatureClock?: () => number;
  /** How long Creating/Updating/Deleting last, ms on `clock` (default 0: Active on the next read). */
  transitionMs?: number;
  /** When set, `Role` must be one of these (`ResourceNotFound.Role` otherwise). */
  roles?: string[];
}

/**
 * The entries of a zip (names as in its central directory, contents inflated), or undefined when
 * it is not a zip that can be read: the fake then refuses it as SCF does.
 */
export function zipEntries(zip: Buffer): Array<{ name: string; data: Buffer }> | undefined {
  let files: Unzipped;
  try {
    files = unzipSync(zip);
  } catch {
    return undefined;
  }
  // A package with nothing in it has no handler: treat it like any other unusable upload.
  if (Object.keys(files).length === 0) return undefined;
  return Object.entries(files).map(([name, data]) => ({ name, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) }));
}

const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/** The fake SCF API server (see the file comment for what it reproduces and where that comes from). */
export class FakeScf extends LoopbackServer {
  private readonly creds: Map<string, FakeCredential>;
  private readonly faults = new FaultQueue<ScfFault>();
  /** region → function name → function. */
  readonly regions = new Map<string, Map<string, FakeFunction>>();
  readonly calls: ScfCall[] = [];
  /** The last zip each function received (name → bytes). */
  readonly zips = new Map<string, Buffer>();
  clock: () => number;
  transitionMs: number;

  constructor(private readonly opts: FakeScfOptions) {
    super(opts.port, (req, res) => this.handle(req, res));
    this.creds = new Map(opts.credentials.map((c) => [c.secretId, c]));
    this.clock = opts.clock ?? Date.now;
    this.transitionMs = opts.transitionMs ?? 0;
  }

  /** Queues a fault for the next matching request(s). */
  inject(fault: ScfFault): void {
    this.faults.add(fault);
  }

  /** Functions of a region (state transitions applied). */
  functions(region: string): Map<string, FakeFunction> {
    let m = this.regions.get(region);
    if (!m) this.regions.set(region, (m = new Map()));
    for (const [name, f] of m) {
      if (f.status !== 'Active' && this.clock() >= f.readyAt) {
        if (f.status === 'Deleting') m.delete(name);
        else f.status = 'Active';
      }
    }
    return m;
  }

  /** A function by name (state transitions applied). */
  fn(region: string, name: string): FakeFunction | undefined {
    return this.functions(region).get(name);
  }

  /** Calls that change something. */
  writeCalls(): ScfCall[] {
    return this.calls.filter((c) => c.write);
  }

  /** Removes a trigger behind the deploy's back (as a console user might). */
  dropTrigger(region: string, fnName: string, match: (t: FakeTrigger) => boolean): void {
    const f = this.fn(region, fnName);
    if (f) f.triggers = f.triggers.filter((t) => !match(t));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const requestId = randomUUID();
    const action = String(req.headers['x-tc-action'] ?? '');
    const region = String(req.headers['x-tc-region'] ?? '');
    const call: ScfCall = { action, region, params: {}, result: 'ok', write: !READ_ACTIONS.has(action) };
    const send = apiAnswer(res, requestId);
    try {
      this.authenticate(req, body);
      let params: Json;
      try {
        params = JSON.parse(body.toString('utf8') || '{}') as Json;
      } catch {
        throw new TencentApiError('InvalidParameter.Payload', 'The request body is not valid JSON.');
      }
      call.params = this.loggable(params);
      recordDeployAction(`scf:${action}`);
      const fault = this.faults.take((f) => !f.action || f.action === action);
      if (fault?.http) {
        call.result = `HTTP${fault.http}`;
        res.writeHead(fault.http, { 'Content-Type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
        return;
      }
      if (fault?.code && !fault.afterCommit) throw new TencentApiError(fault.code, fault.message ?? `injected ${fault.code}`);
      if (!region) throw new TencentApiError('MissingParameter', 'The request is missing a required parameter `Region`.');
      if (params.Namespace !== undefined && params.Namespace !== 'default') throw new TencentApiError('ResourceNotFound.Namespace', `Namespace ${String(params.Namespace)} does not exist.`);
      const answer = this.route(action, region, params);
      if (fault?.code) throw new TencentApiError(fault.code, fault.message ?? `injected ${fault.code}`);
      send(answer);
    } catch (e) {
      call.result = answerError(send, e);
    } finally {
      this.calls.push(call);
    }
  }

  /** The request as logged: zips replaced by their size. */
  private loggable(params: Json): Json {
    const out: Json = { ...params };
    if (typeof out.ZipFile === 'string') out.ZipFile = `<${out.ZipFile.length} base64 chars>`;
    const code = out.Code;
    if (typeof code === 'object' && code !== null && typeof (code as Json).ZipFile === 'string') out.Code = { ...(code as Json), ZipFile: `<${String((code as Json).ZipFile).length} base64 chars>` };
    return out;
  }

  private authenticate(req: http.IncomingMessage, body: Buffer): void {
    verifyTc3(req, body, { host: SCF_HOST, service: 'scf', version: '2018-04-16' }, this.creds, (this.opts.signatureClock ?? Date.now)());
  }

  private route(action: string, region: string, p: Json): Json {
    switch (action) {
      case 'GetFunction':
        return this.getFunction(region, p);
      case 'CreateFunction':
        return this.createFunction(region, p);
      case 'UpdateFunctionCode':
        return this.updateCode(region, p);
      case 'UpdateFunctionConfiguration':
        return this.updateConfiguration(region, p);
      case 'DeleteFunction':
        return this.deleteFunction(region, p);
      case 'ListTriggers':
        return this.listTriggers(region, p);
      case 'CreateTrigger':
        return this.createTrigger(region, p);
      case 'DeleteTrigger':
        return this.deleteTrigger(region, p);
      case 'GetFunctionEventInvokeConfig': {
        const f = this.existing(region, p);
        return { AsyncTriggerConfig: { RetryConfig: [{ RetryNum: f.retry.RetryNum }], MsgTTL: f.retry.MsgTTL } };
      }
      case 'UpdateFunctionEventInvokeConfig':
        return this.updateRetry(region, p);
      default:
        throw new TencentApiError('InvalidAction', `The action ${action} is not supported by this fake.`);
    }
  }

  private existing(region: string, p: Json): FakeFunction {
    const name = p.FunctionName;
    if (typeof name !== 'string' || name === '') throw new TencentApiError('MissingParameter', 'FunctionName is required.');
    const f = this.fn(region, name);
    if (!f) throw new TencentApiError('ResourceNotFound.Function', `未找到指定的Function，请创建后再试。(${name})`);
    return f;
  }

  /** Writes need an Active function; `code` is what the real API answers otherwise. */
  private active(region: string, p: Json, code: string): FakeFunction {
    const f = this.existing(region, p);
    if (f.status !== 'Active') throw new TencentApiError(code, `当前函数处于${f.status}状态，无法进行此操作，请稍后重试。`);
    return f;
  }

  private transition(f: FakeFunction, status: 'Creating' | 'Updating' | 'Deleting'): void {
    f.status = status;
    f.readyAt = this.clock() + this.transitionMs;
    f.ModTime = stamp(this.clock());
  }

  private getFunction(region: string, p: Json): Json {
    const f = this.existing(region, p);
    return {
      FunctionName: f.FunctionName,
      Namespace: f.Namespace,
      Handler: f.Handler,
      Runtime: f.Runtime,
      MemorySize: f.MemorySize,
      Timeout: f.Timeout,
      Role: f.Role,
      Description: f.Description,
      Type: f.Type,
      Environment: { Variables: f.Environment.map((v) => ({ ...v })) },
      Status: f.status,
      StatusDesc: '',
      StatusReasons: [],
      CodeSize: f.codeBytes,
      CodeResult: 'success',
      CodeError: '',
      ErrNo: 0,
      FunctionVersion: '$LATEST',
      Qualifier: '$LATEST',
      Triggers: f.triggers.map((t) => this.triggerOut(t)),
      AddTime: f.AddTime,
      ModTime: f.ModTime,
      AsyncRunEnable: 'FALSE',
      TraceEnable: 'FALSE',
      InstallDependency: 'FALSE',
    };
  }

  private triggerOut(t: FakeTrigger): Json {
    const { cos: _cos, ...out } = t;
    void _cos;
    return { ...out, AvailableStatus: 'Available' };
  }

  private validateConfig(p: Json, creating: boolean): void {
    if (p.MemorySize !== undefined) {
      const m = p.MemorySize;
      if (typeof m !== 'number' || !(m === 64 || (m >= 128 && m <= 3072 && m % 128 === 0))) throw new TencentApiError('InvalidParameterValue.MemorySize', 'MemorySize must be 64, or 128-3072 in steps of 128.');
    }
    if (p.Timeout !== undefined && (typeof p.Timeout !== 'number' || p.Timeout < 1 || p.Timeout > 900)) throw new TencentApiError('LimitExceeded.Timeout', 'Timeout must be 1-900 seconds.');
    if (p.Description !== undefined) {
      // "最大支持 1000 个英文字母、数字、空格、逗号、换行符和英文句号，支持中文" (CreateFunction Description).
      if (typeof p.Description !== 'string' || p.Description.length > 1000 || !/^[A-Za-z0-9 ,.\n\u4e00-\u9fff，。]*$/.test(p.Description)) throw new TencentApiError('InvalidParameterValue.Description', 'Description may contain letters, digits, spaces, commas, newlines and periods only.');
    }
    if (p.Role !== undefined && this.opts.roles && !this.opts.roles.includes(String(p.Role))) throw new TencentApiError('ResourceNotFound.Role', `角色不存在: ${String(p.Role)}`);
    if (p.Environment !== undefined) {
      const vars = (p.Environment as { Variables?: unknown }).Variables;
      if (!Array.isArray(vars)) throw new TencentApiError('InvalidParameterValue.Environment', 'Environment.Variables must be an array.');
      let size = 0;
      for (const v of vars as Array<{ Key?: unknown; Value?: unknown }>) {
        // Variable: "变量的名称，不可为空字符" / "变量的值，不可为空字符" (scf_models.d.ts).
        if (typeof v.Key !== 'string' || v.Key === '' || typeof v.Value !== 'string' || v.Value === '') throw new TencentApiError('InvalidParameterValue.Environment', 'Environment variable keys and values must not be empty.');
        if (/^(SCF_|QCLOUD_|TENCENTCLOUD_)/.test(v.Key)) throw new TencentApiError('InvalidParameterValue.EnvironmentSystemProtect', `不支持修改函数系统环境变量和运行环境变量: ${v.Key}`);
        size += v.Key.length + v.Value.length;
      }
      if (size > 4096) throw new TencentApiError('InvalidParameterValue.EnvironmentExceededLimit', '环境变量大小超限，请保持在 4KB 以内。');
    }
    if (creating || p.Runtime !== undefined) {
      if (typeof p.Runtime !== 'string' || !RUNTIMES.has(p.Runtime)) throw new TencentApiError('InvalidParameterValue.Runtime', `Runtime ${String(p.Runtime)} is not supported.`);
    }
  }

  private unzip(b64: unknown): { files: string[]; bytes: Buffer } {
    if (typeof b64 !== 'string' || b64 === '') throw new TencentApiError('MissingParameter.Code', 'Code没有传入。');
    const bytes = Buffer.from(b64, 'base64');
    const entries = zipEntries(bytes);
    if (!entries) throw new TencentApiError('InvalidParameterValue.ZipFile', '检测到不是标准的zip文件，请重新压缩后再试。');
    return { files: entries.map((e) => e.name).sort(), bytes };
  }

  private validateHandler(h: unknown): string {
    // "文件名称.方法名称", each starting and ending with a letter, 2-60 characters (CreateFunction Handler).
    if (typeof h !== 'string' || !/^[A-Za-z][\w-]*[A-Za-z0-9]\.[A-Za-z][\w-]*[A-Za-z0-9]$/.test(h) || h.length > 60) throw new TencentApiError('InvalidParameterValue.Handler', `Handler ${String(h)} is invalid.`);
    return h;
  }

  private createFunction(region: string, p: Json): Json {
    const name = p.FunctionName;
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$/.test(name)) throw new TencentApiError('InvalidParameterValue.FunctionName', 'FunctionName取值与规范不符。');
    const fns = this.functions(region);
    if (fns.has(name)) throw new TencentApiError('ResourceInUse.Function', `函数已存在: ${name}`);
    this.validateConfig(p, true);
    const handler = this.validateHandler(p.Handler);
    const zip = this.unzip((p.Code as { ZipFile?: unknown } | undefined)?.ZipFile);
    const now = this.clock();
    const f: FakeFunction = {
      FunctionName: name,
      Namespace: 'default',
      Handler: handler,
      Runtime: String(p.Runtime),
      MemorySize: typeof p.MemorySize === 'number' ? p.MemorySize : 128,
      Timeout: typeof p.Timeout === 'number' ? p.Timeout : 3,
      Role: typeof p.Role === 'string' ? p.Role : '',
      Description: typeof p.Description === 'string' ? p.Description : '',
      Type: typeof p.Type === 'string' ? p.Type : 'Event',
      Environment: ((p.Environment as { Variables?: Array<{ Key: string; Value: string }> } | undefined)?.Variables ?? []).map((v) => ({ Key: v.Key, Value: v.Value })),
      status: 'Creating',
      readyAt: now + this.transitionMs,
      codeFiles: zip.files,
      codeBytes: zip.bytes.length,
      triggers: [],
      retry: { RetryNum: 2, MsgTTL: 21600 },
      AddTime: stamp(now),
      ModTime: stamp(now),
    };
    fns.set(name, f);
    this.zips.set(name, zip.bytes);
    return {};
  }

  private updateCode(region: string, p: Json): Json {
    const f = this.active(region, p, 'FailedOperation.UpdateFunctionCode');
    const zip = this.unzip(p.ZipFile ?? (p.Code as { ZipFile?: unknown } | undefined)?.ZipFile);
    if (p.Handler !== undefined) f.Handler = this.validateHandler(p.Handler);
    f.codeFiles = zip.files;
    f.codeBytes = zip.bytes.length;
    this.zips.set(f.FunctionName, zip.bytes);
    this.transition(f, 'Updating');
    return {};
  }

  private updateConfiguration(region: string, p: Json): Json {
    const f = this.active(region, p, 'FailedOperation.UpdateFunctionConfiguration');
    // "函数运行环境，创建时指定，目前不支持修改" (UpdateFunctionConfigurationRequest.Runtime).
    if (p.Runtime !== undefined && p.Runtime !== f.Runtime) throw new TencentApiError('InvalidParameterValue.Runtime', '函数运行环境创建时指定，目前不支持修改。');
    this.validateConfig({ ...p, Runtime: undefined }, false);
    if (typeof p.MemorySize === 'number') f.MemorySize = p.MemorySize;
    if (typeof p.Timeout === 'number') f.Timeout = p.Timeout;
    if (typeof p.Role === 'string') f.Role = p.Role;
    if (typeof p.Description === 'string') f.Description = p.Description;
    if (p.Environment !== undefined) f.Environment = ((p.Environment as { Variables: Array<{ Key: string; Value: string }> }).Variables ?? []).map((v) => ({ Key: v.Key, Value: v.Value }));
    this.transition(f, 'Updating');
    return {};
  }

  /** Like `active`, but a function that failed may be deleted too (as the console offers). */
  private deletable(region: string, p: Json, code: string): FakeFunction {
    const f = this.existing(region, p);
    return f.status.endsWith('Failed') ? f : this.active(region, p, code);
  }

  private deleteFunction(region: string, p: Json): Json {
    const f = this.deletable(region, p, 'FailedOperation.DeleteFunction');
    f.triggers = [];
    this.transition(f, 'Deleting');
    if (this.transitionMs === 0) this.functions(region);
    return {};
  }

  private listTriggers(region: string, p: Json): Json {
    const f = this.existing(region, p);
    const offset = typeof p.Offset === 'number' ? p.Offset : 0;
    const limit = typeof p.Limit === 'number' ? p.Limit : 20;
    if (limit < 1 || limit > 100) throw new TencentApiError('InvalidParameterValue.Limit', 'Limit must be 1-100.');
    return { TotalCount: f.triggers.length, Triggers: f.triggers.slice(offset, offset + limit).map((t) => this.triggerOut(t)) };
  }

  private parseCosDesc(desc: unknown): { event: string; prefix: string; suffix: string } {
    let d: Json;
    try {
      d = JSON.parse(String(desc)) as Json;
    } catch {
      throw new TencentApiError('InvalidParameterValue.TriggerDesc', 'TriggerDesc of a COS trigger must be JSON {"event":…,"filter":{…}}.');
    }
    if (typeof d.event !== 'string' || !COS_EVENT_TYPES.has(d.event)) throw new TencentApiError('InvalidParameterValue.TriggerDesc', `Unknown COS event ${String(d.event)}.`);
    const filter = (typeof d.filter === 'object' && d.filter !== null ? d.filter : {}) as Json;
    return { event: d.event, prefix: typeof filter.Prefix === 'string' ? filter.Prefix : '', suffix: typeof filter.Suffix === 'string' ? filter.Suffix : '' };
  }

  private createTrigger(region: string, p: Json): Json {
    const f = this.active(region, p, 'FailedOperation.CreateTrigger');
    const type = p.Type;
    const name = typeof p.TriggerName === 'string' ? p.TriggerName : '';
    if (type !== 'cos' && type !== 'timer') throw new TencentApiError('InvalidParameterValue.Type', `Trigger type ${String(type)} is not supported by this fake.`);
    if (p.Enable !== undefined && p.Enable !== 'OPEN' && p.Enable !== 'CLOSE') throw new TencentApiError('InvalidParameterValue.Enable', 'Enable must be OPEN or CLOSE.');
    const qualifier = p.Qualifier === undefined ? '$LATEST' : String(p.Qualifier);
    if (qualifier !== '$LATEST' && qualifier !== '$DEFAULT') throw new TencentApiError('InvalidParameterValue.Qualifier', `Qualifier ${qualifier} does not exist.`);
    const now = stamp(this.clock());
    const base = { TriggerName: name, Enable: (p.Enable === 'CLOSE' ? 0 : 1) as 0 | 1, Qualifier: qualifier, AddTime: now, ModTime: now };
    let t: FakeTrigger;
    if (type === 'cos') {
      const m = COS_DOMAIN.exec(name);
      if (!m || m[2] !== region) throw new TencentApiError('InvalidParameterValue.TriggerName', `A COS trigger is named after the bucket's XML-API domain in the function's region (<bucket>-<appid>.cos.${region}.myqcloud.com); got ${name}.`);
      const cos = { bucket: m[1], ...this.parseCosDesc(p.TriggerDesc) };
      if (f.triggers.some((x) => x.cos && x.TriggerName === name && x.cos.event === cos.event && x.cos.prefix === cos.prefix && x.cos.suffix === cos.suffix)) throw new TencentApiError('ResourceInUse.Trigger', `TriggerName已存在: ${name} ${cos.event}`);
      for (const [otherName, other] of this.functions(region)) {
        if (otherName === f.FunctionName) continue;
        if (other.triggers.some((x) => x.cos && x.cos.bucket === cos.bucket && x.cos.event === cos.event && x.cos.prefix === cos.prefix && x.cos.suffix === cos.suffix)) throw new TencentApiError('InvalidParameterValue.CosNotifyRuleConflict', 'COS通知规则冲突。');
      }
      if (f.triggers.filter((x) => x.Type === 'cos').length >= 10) throw new TencentApiError('LimitExceeded.Trigger', '触发器数量超出最大限制。');
      t = { ...base, Type: 'cos', TriggerDesc: String(p.TriggerDesc), CustomArgument: '', cos };
    } else {
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(name)) throw new TencentApiError('InvalidParameterValue.TriggerName', `Timer trigger name ${name} is invalid.`);
      const cron = String(p.TriggerDesc ?? '').trim();
      if (cron.split(/\s+/).length !== 7) throw new TencentApiError('InvalidParameterValue.TriggerDesc', 'A timer TriggerDesc is a seven-field cron expression (sec min hour day month weekday year).');
      if (f.triggers.some((x) => x.Type === 'timer' && x.TriggerName === name)) throw new TencentApiError('ResourceInUse.TriggerName', `TriggerName已存在: ${name}`);
      t = { ...base, Type: 'timer', TriggerDesc: JSON.stringify({ cron }), CustomArgument: typeof p.CustomArgument === 'string' ? p.CustomArgument : '' };
    }
    f.triggers.push(t);
    return { TriggerInfo: { ...this.triggerOut(t), Description: '' } };
  }

  private deleteTrigger(region: string, p: Json): Json {
    const f = this.deletable(region, p, 'FailedOperation.DeleteTrigger');
    const name = String(p.TriggerName ?? '');
    let i: number;
    if (p.Type === 'cos') {
      // "如果删除的触发器类型为 COS 触发器，该字段为必填值" (DeleteTriggerRequest.TriggerDesc).
      if (p.TriggerDesc === undefined) throw new TencentApiError('InvalidParameterValue.TriggerDesc', 'TriggerDesc is required to delete a COS trigger.');
      const d = this.parseCosDesc(p.TriggerDesc);
      i = f.triggers.findIndex((x) => x.cos && x.TriggerName === name && x.cos.event === d.event && x.cos.prefix === d.prefix && x.cos.suffix === d.suffix);
    } else {
      i = f.triggers.findIndex((x) => x.Type === p.Type && x.TriggerName === name);
    }
    if (i < 0) throw new TencentApiError('ResourceNotFound.Trigger', `触发器不存在: ${name}`);
    f.triggers.splice(i, 1);
    return {};
  }

  private updateRetry(region: string, p: Json): Json {
    const f = this.active(region, p, 'FailedOperation.FunctionStatusError');
    const cfg = p.AsyncTriggerConfig as { RetryConfig?: Array<{ RetryNum?: unknown }>; MsgTTL?: unknown } | undefined;
    const retryNum = cfg?.RetryConfig?.[0]?.RetryNum;
    if (typeof retryNum !== 'number' || typeof cfg?.MsgTTL !== 'number') throw new TencentApiError('InvalidParameterValue.AsyncTriggerConfig', '函数异步重试配置参数无效。');
    if (retryNum < 0 || retryNum > 2) throw new TencentApiError('LimitExceeded.RetryNum', '函数异步重试配置异步重试次数超过限制。');
    if (cfg.MsgTTL < 60 || cfg.MsgTTL > 21600) throw new TencentApiError('LimitExceeded.MsgTTL', '函数异步重试配置消息保留时间超过限制。');
    f.retry = { RetryNum: retryNum, MsgTTL: cfg.MsgTTL };
    return {};
  }
}
