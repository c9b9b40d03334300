/**
 * A CCC API server on loopback that behaves like the real one where the product depends on it:
 * TC3 signatures verified (with the 5-minute window and session tokens), `UploadIvrAudio` limited
 * to one call per second and 50 files per day by its own clock, the real error shapes, and every
 * `AudioUrl` really downloaded from COS (the fake COS) before a file is accepted.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { FakeCredential } from './credentials';
import { answerError, apiAnswer, readBody, TencentApiError, verifyTc3 } from './tc3-server';
import { recordAction } from './actions';
import { FaultQueue, LoopbackServer, type Fault } from './loopback-server';

export const CCC_HOST = 'ccc.tencentcloudapi.com';
const MAX_AUDIO_BYTES = 5 * 1024 * 1024;

export interface FakeFile {
  FileId: number;
  CustomFileName: string;
  AudioFileName: string;
  Status: number;
  SdkAppId: number;
  uploadedAt: number;
  /** When the file was registered (after CCC downloaded it), by the fake's clock; absent for files registered elsewhere. */
  registeredAt?: number;
  /** The object version CCC downloaded (bucket, key, ETag); absent for files registered elsewhere. */
  source?: { bucket: string; key: string; etag: string };
  /** The credential that made the call. */
  secretId?: string;
  /** The review's verdict when it comes (2: rejected); absent, approved. Kept, so a restarted stack rejects what it said it would. */
  verdict?: 2;
}

export interface CccFault extends Fault {
  action?: string;
  /** Answer with this Tencent error code (HTTP 200, error body). */
  code?: string;
  /** The error's message; `$AudioUrl` in it becomes the call's first signed URL (CCC quoting it). */
  message?: string;
  /** Answer with this HTTP status and a non-JSON body. */
  http?: number;
  reset?: boolean;
  /** Never answer (the client's timeout decides). */
  hang?: boolean;
  malformed?: boolean;
  /** Answer with this `Response` body (a well-formed answer the service should not give). */
  answer?: Record<string, unknown>;
  /** Register the files, then drop the connection: the caller never learns the outcome. */
  resetAfterCommit?: boolean;
  /**
   * Accept the call but answer late: the files are registered `registerAfterMs` after arrival and
   * the answer sent `answerAfterMs` after it (past the client's timeout, the answer is lost).
   */
  slow?: { registerAfterMs: number; answerAfterMs: number };
  /**
   * With `code`: answer that error at once, and still register the files this long after (a back
   * end that went on behind its gateway's error answer).
   */
  registerAfterErrorMs?: number;
}

export interface CccCall {
  action: string;
  /** Arrival time, by the fake's clock. */
  at: number;
  /** The credential that signed it. */
  secretId?: string;
  requestId: string;
  files: number;
  /** 'ok' or the error code answered. */
  result: string;
  /** The AudioUrls it was asked to download (signed: test use only). */
  audioUrls: string[];
}

export interface FakeCccOptions {
  credentials: FakeCredential[];
  /** Where `*.myqcloud.com` resolves: the fake COS. */
  cos: { host: string; port: number };
  port?: number;
  /** The clock signatures are checked against (real time: the SDKs sign with it). */
  clock?: () => number;
  /** The clock of everything else: rate windows, quota days, listing lag, timestamps. Defaults to `clock`. */
  time?: () => number;
  /** Waits in `time`'s units (slow answers); defaults to real timers. */
  sleep?: (ms: number) => Promise<void>;
  dailyQuota?: number;
  /** Offset of the quota day from UTC in minutes (unverified; China Standard Time assumed). */
  quotaUtcOffsetMinutes?: number;
  /** Persist registered files here (local stack). */
  dataFile?: string;
  /** Approve files this long after upload (local stack); tests approve explicitly. */
  autoReviewMs?: number;
}

type Json = Record<string, unknown>;

function sniff(body: Buffer): 'mp3' | 'wav' | undefined {
  if (body.length >= 12 && body.toString('latin1', 0, 4) === 'RIFF' && body.toString('latin1', 8, 12) === 'WAVE') return 'wav';
  if (body.length >= 3 && body.toString('latin1', 0, 3) === 'ID3') return 'mp3';
  if (body.length >= 2 && body[0] === 0xff && (body[1] & 0xe0) === 0xe0) return 'mp3';
  return undefined;
}

/** The object key a signed AudioUrl names (its path), or the URL itself when it cannot be parsed. */
function objectKeyOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1));
  } catch {
    return url;
  }
}

export class FakeCcc extends LoopbackServer {
  private creds: Map<string, FakeCredential>;
  private faults = new FaultQueue<CccFault>();
  private failingNames = new Map<string, string>();
  /** Refusals (FailedMsg) for the next files CCC is sent, whatever their name: see {@link refuseNextFile}. */
  private refusals: string[] = [];
  /** How many of the next files registered are rejected at review: see {@link rejectNextReview}. */
  private rejections = 0;
  /** Arrival of the latest UploadIvrAudio request: CCC counts a sliding one-second window. */
  private lastUploadAt = -Infinity;
  /** Registrations a fault put off to a set time (see {@link registerAt}). */
  private putOff = new Set<{ due: number; run: () => Promise<Json> }>();
  /** Arrival times of the DescribeIvrAudioList calls of the last second (CCC allows 20 a second). */
  private describeArrivals: number[] = [];
  /**
   * Files refused with UploadFileOverflow, per quota day, by the object key their AudioUrl names:
   * a set, because the same file refused twice (a resend after a lost answer) is one file attempted.
   */
  readonly refusedForQuota = new Map<string, Set<string>>();
  /** Called when a request arrives, after its signature is checked (the fault suite kills callers here). */
  onRequest?: (call: CccCall) => void;
  private nextFileId = 1001;
  files: FakeFile[] = [];
  readonly calls: CccCall[] = [];
  clock: () => number;
  time: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Moves the quota day without touching the clock the signatures are checked against. */
  dayShiftMs = 0;

  constructor(private readonly opts: FakeCccOptions) {
    super(opts.port, (req, res) => this.handle(req, res));
    this.creds = new Map(opts.credentials.map((c) => [c.secretId, c]));
    this.clock = opts.clock ?? Date.now;
    this.time = opts.time ?? (() => this.clock());
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (opts.dataFile && fs.existsSync(opts.dataFile)) {
      this.files = JSON.parse(fs.readFileSync(opts.dataFile, 'utf8')) as FakeFile[];
      this.nextFileId = Math.max(1000, ...this.files.map((f) => f.FileId)) + 1;
      // Reviews still pending when the stack stopped come due as if it had kept running.
      for (const f of this.files) if (f.Status === 0 && f.registeredAt !== undefined) this.reviewLater(f.FileId, f.registeredAt);
    }
  }

  inject(fault: CccFault): void {
    this.faults.add(fault);
  }

  /** Accepts another credential (each process of the fault suite has its own). */
  addCredential(c: FakeCredential): void {
    this.creds.set(c.secretId, c);
  }

  /** Files registered on `day` by someone else (the console, another deployment): they count against the quota. */
  registerForeign(sdkAppId: number, count: number, name = 'foreign'): void {
    for (let i = 0; i < count; i++) {
      this.files.push({ FileId: this.nextFileId++, CustomFileName: `${name}-${i}`, AudioFileName: `${sdkAppId}_${randomUUID().slice(0, 8)}.mp3`, Status: 0, SdkAppId: sdkAppId, uploadedAt: this.time() + this.dayShiftMs });
    }
    this.persist();
  }

  /**
   * Fills the current quota day of `sdkAppId` with files registered elsewhere (the local stack's
   * `ccc quota`); returns how many it added, 0 when the day was full already.
   */
  fillDay(sdkAppId: number, name = 'console'): number {
    const room = (this.opts.dailyQuota ?? 50) - this.filesOn(this.quotaDay(), sdkAppId).length;
    if (room > 0) this.registerForeign(sdkAppId, room, name);
    return Math.max(0, room);
  }

  clearFaults(): void {
    this.faults.clear();
    this.failingNames.clear();
    this.refusals = [];
    this.rejections = 0;
  }

  /** CCC will list this file in FailedFileList with `message`; `$AudioUrl` in it becomes the signed URL it was given (CCC quoting it). */
  failFile(customFileName: string, message: string): void {
    this.failingNames.set(customFileName, message);
  }

  /** Faults not used yet that concern uploads: injected for `UploadIvrAudio` (or any action), refusals and rejections to come. */
  pendingUploadFaults(): number {
    return this.faults.count((f) => !f.action || f.action === 'UploadIvrAudio') + this.refusals.length + this.rejections;
  }

  /** The next file CCC is sent, whatever its name, is listed in FailedFileList with `message` (the local stack's `ccc refuse`). */
  refuseNextFile(message: string): void {
    this.refusals.push(message);
  }

  /** The next file registered is rejected when its review comes (the local stack's `ccc reject`). */
  rejectNextReview(): void {
    this.rejections++;
  }

  /** With `autoReviewMs`, gives a file its verdict (approved, unless it was to be rejected) that long after it was registered. */
  private reviewLater(fileId: number, registeredAt: number): void {
    if (this.opts.autoReviewMs === undefined) return;
    setTimeout(() => this.review(fileId, this.files.find((f) => f.FileId === fileId)?.verdict ?? 1), Math.max(0, registeredAt + this.opts.autoReviewMs - this.time())).unref();
  }

  review(fileId: number, status: 1 | 2): void {
    const f = this.files.find((x) => x.FileId === fileId);
    if (f) f.Status = status;
    this.persist();
  }

  quotaDay(ms = this.time() + this.dayShiftMs): string {
    return new Date(ms + (this.opts.quotaUtcOffsetMinutes ?? 480) * 60000).toISOString().slice(0, 10);
  }

  /**
   * The FileIds listed for `sdkAppId` under a name that looks like `name`: either Unicode form, as
   * the report's question in both forms finds them (the local stack's same-name line).
   */
  listedAs(sdkAppId: number, name: string): number[] {
    const look = name.normalize('NFC');
    return this.files.filter((f) => f.SdkAppId === sdkAppId && f.CustomFileName.normalize('NFC') === look).map((f) => f.FileId);
  }

  filesOn(day: string, sdkAppId?: number): FakeFile[] {
    return this.files.filter((f) => this.quotaDay(f.uploadedAt) === day && (sdkAppId === undefined || f.SdkAppId === sdkAppId));
  }

  uploadCalls(): CccCall[] {
    return this.calls.filter((c) => c.action === 'UploadIvrAudio');
  }

  private persist(): void {
    if (!this.opts.dataFile) return;
    fs.writeFileSync(this.opts.dataFile + '.tmp', JSON.stringify(this.files));
    fs.renameSync(this.opts.dataFile + '.tmp', this.opts.dataFile);
  }

  private takeFault(action: string): CccFault | undefined {
    return this.faults.take((f) => !f.action || f.action === action);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const requestId = randomUUID();
    const action = String(req.headers['x-tc-action'] ?? '');
    const call: CccCall = { action, at: this.time(), requestId, files: 0, result: 'ok', audioUrls: [] };
    const send = apiAnswer(res, requestId);
    try {
      const list = (JSON.parse(body.toString('utf8') || '{}') as { AudioList?: unknown }).AudioList;
      call.files = Array.isArray(list) ? list.length : 0;
      if (Array.isArray(list)) call.audioUrls = list.map((i: { AudioUrl?: unknown }) => String(i?.AudioUrl ?? ''));
    } catch {
      // counted as 0 files; the request is refused below
    }
    try {
      call.secretId = this.authenticate(req, body);
      recordAction(`ccc:${action}`);
      this.onRequest?.(call);
      // Registrations put off to a time now past are in CCC's state by now, whatever this
      // process's timers say: a Describe must find them, and an upload's quota count them.
      await this.settleDue();
      const fault = this.takeFault(action);
      if (fault?.hang) {
        call.result = 'hang';
        return;
      }
      if (fault?.reset) {
        call.result = 'reset';
        req.socket.destroy();
        return;
      }
      if (fault?.http) {
        call.result = `HTTP${fault.http}`;
        res.writeHead(fault.http, { 'Content-Type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
        return;
      }
      if (fault?.answer) {
        call.result = 'answer';
        send(fault.answer);
        return;
      }
      if (fault?.malformed) {
        call.result = 'malformed';
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"Response":{"RequestId":');
        return;
      }
      if (fault?.code && fault.registerAfterErrorMs !== undefined && action === 'UploadIvrAudio') {
        const params = JSON.parse(body.toString('utf8')) as Json;
        const arrived = this.time();
        this.checkRate();
        const secretId = call.secretId;
        // What the back end refuses then (the day's quota, a bad URL) it simply does not register.
        this.registerAt(arrived + fault.registerAfterErrorMs, params, secretId, arrived).catch(() => undefined);
      }
      if (fault?.code) throw new TencentApiError(fault.code, quotingUrl(fault.message ?? `injected ${fault.code}`, body));
      let params: Json;
      try {
        params = JSON.parse(body.toString('utf8')) as Json;
      } catch {
        throw new TencentApiError('InvalidParameter', 'The request body is not valid JSON.');
      }
      if (action === 'UploadIvrAudio') {
        if (fault?.slow) {
          call.result = 'slow';
          const arrived = this.time();
          this.checkRate();
          const result = await this.registerAt(arrived + fault.slow.registerAfterMs, params, call.secretId, arrived);
          const rest = arrived + fault.slow.answerAfterMs - this.time();
          if (rest > 0) await this.sleep(rest);
          if (!res.destroyed && !res.socket?.destroyed) send(result);
          return;
        }
        const result = await this.upload(params, call.secretId);
        if (fault?.resetAfterCommit) {
          call.result = 'reset-after-commit';
          req.socket.destroy();
          return;
        }
        send(result);
      } else if (action === 'DescribeIvrAudioList') {
        this.checkDescribeRate();
        send(this.describe(params));
      } else {
        throw new TencentApiError('InvalidAction', `The action ${action} is not supported by this fake.`);
      }
    } catch (e) {
      call.result = answerError(send, e);
    } finally {
      this.calls.push(call);
    }
  }

  private authenticate(req: http.IncomingMessage, body: Buffer): string {
    return verifyTc3(req, body, { host: CCC_HOST, service: 'ccc', version: '2020-02-10' }, this.creds, this.clock()).secretId;
  }

  /** A strict sliding window: two calls whose arrivals are less than 1000 ms apart, the second is refused. */
  private checkRate(): void {
    const now = this.time();
    const tooSoon = now - this.lastUploadAt < 1000;
    this.lastUploadAt = now;
    if (tooSoon) throw new TencentApiError('RequestLimitExceeded', 'Your current request times equals to `1` in a second, which exceeds the frequency limit `1` for a second. Please reduce the frequency of calls.');
  }

  /** DescribeIvrAudioList: at most 20 calls in any 1000 ms. */
  private checkDescribeRate(): void {
    const now = this.time();
    this.describeArrivals = this.describeArrivals.filter((t) => now - t < 1000);
    if (this.describeArrivals.length >= 20) throw new TencentApiError('RequestLimitExceeded', 'Your current request times equals to `21` in a second, which exceeds the frequency limit `20` for a second. Please reduce the frequency of calls.');
    this.describeArrivals.push(now);
  }

  /** Runs every put-off registration whose time has come (see {@link registerAt}). */
  private async settleDue(): Promise<void> {
    for (const r of [...this.putOff]) if (r.due <= this.time()) await r.run().catch(() => undefined);
  }

  /**
   * Registers a call's files at `due` (the fake's clock), as a back end that went on with the call
   * would, however late this process's own timers fire: any request from `due` on (a Describe,
   * the next upload's quota count) runs the registration (its downloads included) and waits for
   * it first. On a loaded machine the timer ran hundreds of ms late, and the fault suite's margin
   * between a slow registration and the call's lifetime is 500 ms: the product was then told "not
   * there" about a file this fake meant to have registered already.
   */
  private registerAt(due: number, params: Json, secretId: string | undefined, arrived: number): Promise<Json> {
    let done: Promise<Json> | undefined;
    const r = { due, run: () => (done ??= this.upload(params, secretId, arrived, false)) };
    this.putOff.add(r);
    return this.sleep(Math.max(0, due - this.time()))
      .then(r.run)
      .finally(() => this.putOff.delete(r));
  }

  private async upload(p: Json, secretId?: string, arrived = this.time(), checkRate = true): Promise<Json> {
    if (checkRate) this.checkRate();
    const sdkAppId = p.SdkAppId;
    const list = p.AudioList;
    if (typeof sdkAppId !== 'number' || !Number.isInteger(sdkAppId) || sdkAppId <= 0) throw new TencentApiError('InvalidParameterValue', 'SdkAppId is invalid.');
    if (!Array.isArray(list) || list.length === 0) throw new TencentApiError('InvalidParameterValue', 'AudioList must not be empty.');
    for (const item of list as Json[]) {
      if (typeof item?.CustomFileName !== 'string' || item.CustomFileName === '') throw new TencentApiError('InvalidParameterValue', 'CustomFileName must not be empty.');
      if (typeof item?.AudioUrl !== 'string' || item.AudioUrl === '') throw new TencentApiError('InvalidParameterValue', 'AudioUrl must not be empty.');
    }
    const day = this.quotaDay(arrived + this.dayShiftMs);
    const today = this.filesOn(day, sdkAppId).length;
    if (today + list.length > (this.opts.dailyQuota ?? 50)) {
      const refused = this.refusedForQuota.get(day) ?? new Set<string>();
      for (const item of list as Array<{ AudioUrl: string }>) refused.add(objectKeyOf(item.AudioUrl));
      this.refusedForQuota.set(day, refused);
      throw new TencentApiError('FailedOperation.UploadFileOverflow', 'Upload file overflow: at most 50 files can be uploaded per day.');
    }
    const success: Json[] = [];
    const failed: Json[] = [];
    for (const item of list as Array<{ CustomFileName: string; AudioUrl: string }>) {
      const refusal = this.failingNames.get(item.CustomFileName) ?? this.refusals.shift();
      const fetched = refusal !== undefined ? { problem: refusal.split('$AudioUrl').join(item.AudioUrl) } : await this.download(item.AudioUrl);
      const problem = fetched.problem;
      if (problem) {
        failed.push({ FileName: item.CustomFileName, FailedMsg: problem });
        continue;
      }
      const ext = /\.wav(\?|$)/i.test(new URL(item.AudioUrl).pathname) ? 'wav' : 'mp3';
      const file: FakeFile = { FileId: this.nextFileId++, CustomFileName: item.CustomFileName, AudioFileName: `${sdkAppId}_${randomUUID().slice(0, 8)}.${ext}`, Status: 0, SdkAppId: sdkAppId, uploadedAt: arrived + this.dayShiftMs, registeredAt: this.time(), source: fetched.source, secretId };
      if (this.rejections > 0) {
        this.rejections--;
        file.verdict = 2;
      }
      this.files.push(file);
      this.reviewLater(file.FileId, file.registeredAt ?? this.time());
      const { FileId, CustomFileName, AudioFileName, Status } = file;
      success.push({ FileId, CustomFileName, AudioFileName, Status });
    }
    this.persist();
    return { SuccessFileList: success, FailedFileList: failed };
  }

  /** Downloads an AudioUrl the way the service would; COS hosts resolve to the fake COS. */
  private download(url: string): Promise<{ problem?: string; body?: Buffer; source?: FakeFile['source'] }> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return Promise.resolve({ problem: 'AudioUrl is not a valid URL' });
    }
    if (!/\.cos\.[a-z0-9-]+\.myqcloud\.com$/.test(u.hostname)) return Promise.resolve({ problem: `download failed: cannot resolve ${u.hostname}` });
    return new Promise((resolve) => {
      const req = http.request(
        { host: this.opts.cos.host, port: this.opts.cos.port, method: 'GET', path: u.pathname + u.search, headers: { Host: u.hostname }, timeout: 10000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks);
            if (res.statusCode !== 200) {
              const code = /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8'))?.[1] ?? '';
              return resolve({ problem: `download failed: HTTP ${res.statusCode} ${code}`.trim() });
            }
            if (body.length > MAX_AUDIO_BYTES) return resolve({ problem: 'file size exceeds 5MB' });
            if (!sniff(body)) return resolve({ problem: 'file format is not mp3 or wav' });
            const bucket = u.hostname.split('.')[0];
            resolve({ body, source: { bucket, key: decodeURIComponent(u.pathname.slice(1)), etag: String(res.headers.etag ?? '').replace(/"/g, '') } });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve({ problem: `download failed: ${e.message}` }));
      req.end();
    });
  }

  private describe(p: Json): Json {
    const size = p.PageSize;
    const page = p.PageNumber;
    if (typeof size !== 'number' || size < 1 || size > 50) throw new TencentApiError('InvalidParameterValue', 'PageSize must be between 1 and 50.');
    if (typeof page !== 'number' || page < 0) throw new TencentApiError('InvalidParameterValue', 'PageNumber must be >= 0.');
    const ids = Array.isArray(p.FileId) ? (p.FileId as number[]) : undefined;
    const names = Array.isArray(p.CustomFileName) ? (p.CustomFileName as string[]) : undefined;
    const audio = Array.isArray(p.AudioFileName) ? (p.AudioFileName as string[]) : undefined;
    const matching = this.files.filter(
      (f) => f.SdkAppId === p.SdkAppId && (!ids || ids.includes(f.FileId)) && (!names || names.includes(f.CustomFileName)) && (!audio || audio.includes(f.AudioFileName)),
    );
    const FileInfo = matching.slice(page * size, page * size + size).map(({ FileId, CustomFileName, AudioFileName, Status }) => ({ FileId, CustomFileName, AudioFileName, Status }));
    return { TotalCount: matching.length, FileInfo };
  }
}

/**
 * `message` as a CCC error quoting the request `body`'s first AudioUrl would read: `$AudioUrl`
 * becomes the URL, `$AudioQueryJson` its query as a JSON object (`{"q-signature":"…",…}`).
 */
function quotingUrl(message: string, body: Buffer): string {
  if (!message.includes('$AudioUrl') && !message.includes('$AudioQueryJson')) return message;
  try {
    const url = (JSON.parse(body.toString('utf8')) as { AudioList?: Array<{ AudioUrl?: string }> }).AudioList?.[0]?.AudioUrl ?? '';
    const query = JSON.stringify(Object.fromEntries(new URL(url).searchParams));
    return message.split('$AudioUrl').join(url).split('$AudioQueryJson').join(query);
  } catch {
    return message;
  }
}
