/**
 * A small in-process world for scenario tests of the send protocol: the workflow on the in-memory
 * store, objects and CCC, on a clock the test owns. Two ways to write an interleaving down:
 * - sequential (the default): invocations run one after another and a sleep advances the clock at
 *   once; a test starts one invocation inside another (during a CCC call, or at a time with
 *   {@link World.at} while a sender sleeps);
 * - concurrent: every invocation started with {@link World.spawn} runs as its own promise, a sleep
 *   parks it, and {@link World.settle} moves the clock to the earliest sleeper only when every
 *   invocation is blocked, so instances really overlap and runs repeat exactly.
 */
import { loadConfig, type Env } from '../shared/core/config';
import { IvrError } from '../shared/core/errors';
import { jobId, queuedJob, type JobVersion } from '../shared/core/job';
import { timingFrom } from '../shared/core/timing';
import type { UploadResponse } from '../shared/core/outcome';
import { createLogger } from '../shared/runtime/log';
import type { ApiResult, UploadItem } from '../shared/sdk/ccc';
import { webhookPoster } from '../shared/sdk/webhook';
import { Ledger } from '../shared/store/ledger';
import { MemoryObjects } from '../shared/store/objects';
import { MemoryStore } from '../shared/store/store';
import type { Ctx } from '../shared/workflow/context';
import { runRecovery } from '../shared/workflow/recovery';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { MemoryCcc } from './memory-ccc';

export const BUCKET = 'prompts-1250000000';
const ENV: Env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key', TENCENTCLOUD_REGION: 'ap-guangzhou', IVR_BUCKET: BUCKET, IVR_RETRY_BASE_MS: '10' };

/** One UploadIvrAudio call as CCC saw it. */
export interface Call {
  at: number;
  names: string[];
  /** `ok`, or the error code CCC answered. */
  result: string;
}

/** What a scenario asserts about one object: registered once, showing `uploaded` with its own FileId. */
export interface Ending {
  registrations: number;
  status?: string;
  showsOwnFileId: boolean;
}

export class World {
  t = Date.parse('2026-11-25T03:00:00Z');
  readonly config: ReturnType<typeof loadConfig>;
  readonly timing: ReturnType<typeof timingFrom>;
  readonly store: MemoryStore;
  readonly objects = new MemoryObjects(() => this.t);
  readonly ccc = new MemoryCcc(this.objects, () => this.t);
  /** Every UploadIvrAudio call, in order. */
  readonly calls: Call[] = [];
  /** Decides a call's answer instead of the memory CCC (undefined: the memory CCC answers). It runs inside the call. */
  answer?: (items: UploadItem[], call: Call) => Promise<ApiResult<UploadResponse> | undefined>;
  /** CCC refuses the first file of the next call for its content (`message`); later calls are answered as usual. */
  refuseNextCall(message = 'audio format not supported'): void {
    let refuse = true;
    this.answer = async (items) => {
      if (!refuse) return undefined;
      refuse = false;
      return { ok: true, value: { requestId: 'req-refused', succeeded: [], failed: [{ fileName: items[0].CustomFileName, message }] } };
    };
  }
  /** How long a call takes on the world's clock. */
  callMs = 0;
  /** How late listings are: a listing misses keys written less than this ago (COS's are eventually consistent). */
  listLagMs = 0;
  /** CCC as the functions see it; a test may wrap it (faults, another invocation during a call). */
  api: Ctx['api'] = {
    upload: async (items) => {
      const call: Call = { at: this.t, names: items.map((i) => i.CustomFileName), result: 'ok' };
      this.calls.push(call);
      const custom = this.answer ? await this.answer(items, call) : undefined;
      if (this.callMs > 0) await this.sleep(this.callMs);
      const r = custom ?? (await this.ccc.upload(items));
      call.result = r.ok ? 'ok' : r.failure.code;
      return r;
    },
    describe: (q) => this.ccc.describe(q),
  };
  /** Other invocations that start while one sleeps, at the time given (see {@link at}). */
  private readonly others: Array<{ at: number; run: () => Promise<unknown> }> = [];
  /** Concurrent mode: sleeping invocations, and the invocations running. */
  private readonly timers: Array<{ at: number; seq: number; wake: () => void }> = [];
  private timerSeq = 0;
  private readonly running = new Set<Promise<unknown>>();

  /** `env` adds to the base settings; `concurrent` chooses how invocations overlap (see the module comment). */
  constructor(
    env: Env = {},
    private readonly concurrent = false,
  ) {
    this.config = loadConfig({ ...ENV, ...env });
    this.timing = timingFrom(this.config);
    this.store = new MemoryStore(() => this.t);
    const list = this.store.list.bind(this.store);
    this.store.list = async (prefix, limit) => (await list(prefix, limit)).filter((l) => l.lastModified <= this.t - this.listLagMs);
  }

  /**
   * Makes every COS request (ledger and objects) take `ms` on the world's clock, half before it
   * takes effect and half after: a slow COS (0: fast again).
   */
  slowCos(ms: number): void {
    const first = this.cosLatencyMs === undefined;
    this.cosLatencyMs = ms;
    if (!first) return;
    const slow = <T extends object>(target: T, methods: Array<keyof T>) => {
      for (const m of methods) {
        const orig = (target[m] as (...a: unknown[]) => Promise<unknown>).bind(target);
        (target as Record<keyof T, unknown>)[m] = async (...a: unknown[]) => {
          const half = (this.cosLatencyMs ?? 0) / 2;
          if (half > 0) await this.sleep(half);
          const r = await orig(...a);
          if (half > 0) await this.sleep(half);
          return r;
        };
      }
    };
    slow(this.store, ['get', 'create', 'put', 'delete', 'deleteMany', 'list', 'versioning']);
    slow(this.objects, ['read', 'stat', 'writeMetadata', 'putBytes']);
  }
  private cosLatencyMs?: number;

  /** The ledger prefix. */
  get prefix(): string {
    return this.config.ledgerPrefix;
  }

  /** Runs `run` as another invocation when the clock reaches `at` (while some invocation sleeps). */
  at(at: number, run: () => Promise<unknown>): void {
    this.others.push({ at, run });
  }

  /** Sleeps on the world's clock: parked until {@link settle} wakes it (concurrent), or at once, running on the way what {@link at} scheduled. */
  readonly sleep = async (ms: number): Promise<void> => {
    if (this.concurrent) return new Promise((wake) => this.timers.push({ at: this.t + Math.max(0, ms), seq: this.timerSeq++, wake }));
    const end = this.t + Math.max(0, ms);
    for (;;) {
      const next = this.others.filter((o) => o.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.others.splice(this.others.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      await next.run();
    }
    this.t = Math.max(this.t, end);
  };

  /** One invocation's context. */
  ctx(owner: string): Ctx {
    return { config: this.config, timing: this.timing, ledger: new Ledger(this.store, this.prefix), objects: this.objects, api: this.api, webhook: webhookPoster(this.sleep), log: createLogger(), clock: { now: () => this.t, sleep: this.sleep }, owner };
  }

  /** The ledger, for setting up what an earlier version or a killed instance left. */
  get ledger(): Ledger {
    return new Ledger(this.store, this.prefix);
  }

  /** Delivers the COS event of `keys` (objects already put) to one invocation; its error, if any, is returned, not thrown. */
  deliver(keys: string | string[], owner: string): Promise<unknown> {
    const c = this.ctx(owner);
    const records = [keys].flat().map((key) => cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: this.objects.objects.get(key)?.body.length ?? 100 }));
    return handleCosEvent(cosEvent(...records), () => c, c.log).catch((e: unknown) => e);
  }

  /** Sequential mode: puts `prompts/<name>.mp3` (`content` seconds of silence, or bytes) and delivers its event. */
  upload(name: string, content: number | Buffer, owner = `intake-${name}`, meta: Record<string, string> = {}, contentType = 'audio/mpeg'): Promise<unknown> {
    const key = `prompts/${name}.mp3`;
    this.objects.putObject(key, typeof content === 'number' ? mp3Silence(content) : content, meta, contentType);
    return this.deliver(key, owner);
  }

  /** Concurrent mode: starts an invocation; its error, if any, is its result. */
  spawn<T>(p: Promise<T>): Promise<T | unknown> {
    const q = p.catch((e: unknown) => e);
    this.running.add(q);
    void q.finally(() => this.running.delete(q));
    return q;
  }

  /** Concurrent mode: puts `prompts/<name>.mp3` and starts its invocation (a cold instance). */
  drop(name: string, seconds = 3): Promise<unknown> {
    const key = `prompts/${name}.mp3`;
    this.objects.putObject(key, mp3Silence(seconds));
    return this.spawn(this.deliver(key, `intake-${name}`));
  }

  /** Concurrent mode: runs until every invocation has returned, moving the clock to each sleeper when all are blocked. */
  async settle(): Promise<void> {
    for (let guard = 0; guard < 1_000_000; guard++) {
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
      if (this.running.size === 0) return;
      if (this.timers.length === 0) throw new Error('deadlock: invocations blocked with nobody sleeping');
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
    throw new Error('the scenario did not end');
  }

  /** The `ivr-status` of `prompts/<name>.mp3`. */
  status(name: string): string | undefined {
    return this.objects.objects.get(`prompts/${name}.mp3`)?.meta['ivr-status'];
  }

  /** `passes` recovery passes, `everyMs` apart (the first one after that wait too). */
  async recover(passes: number, everyMs = 400_000): Promise<void> {
    for (let i = 0; i < passes; i++) {
      this.t += everyMs;
      // A pass may end in an IvrError (a fault a test injected); anything else is a bug.
      const pass = runRecovery(this.ctx(`recovery-${i}`), { Type: 'Timer' }).catch((e: unknown) => {
        if (!(e instanceof IvrError)) throw e;
      });
      if (this.concurrent) {
        void this.spawn(pass);
        await this.settle();
      } else {
        await pass;
      }
    }
  }

  /**
   * What an intake leaves when it queues `prompts/<name>.mp3` (`seconds` of silence) and then
   * vanishes: the object, its queue entry and the job's first version (the object shows nothing).
   */
  async queuedByVanishedIntake(name: string, seconds: number, owner = `intake-${name}`): Promise<JobVersion> {
    const key = `prompts/${name}.mp3`;
    const o = this.objects.putObject(key, mp3Silence(seconds));
    const v = queuedJob(jobId(BUCKET, key, o.etag), { bucket: BUCKET, key, etag: o.etag, size: o.body.length, customName: name, queuedAt: this.t, uploadedAt: o.lastModified, head: { standard: { ...o.standard }, meta: {} } }, this.t, owner);
    await this.ledger.enqueue(v);
    await this.ledger.writeVersion(v);
    return v;
  }

  /** CCC's registrations of the object version now at `key`. */
  registrations(key: string): MemoryCcc['files'] {
    const etag = this.objects.objects.get(key)?.etag;
    return this.ccc.files.filter((f) => f.key === key && f.etag === etag);
  }

  /** How the object at `key` ended. */
  ending(key: string): Ending {
    const own = this.registrations(key);
    const meta = this.objects.objects.get(key)!.meta;
    return { registrations: own.length, status: meta['ivr-status'], showsOwnFileId: own.some((f) => String(f.fileId) === meta['ivr-file-id']) };
  }
}

/** The ending every object should have: registered once, uploaded, with its own FileId. */
export const REGISTERED_ONCE: Ending = { registrations: 1, status: 'uploaded', showsOwnFileId: true };
