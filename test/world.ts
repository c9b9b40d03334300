/**
 * A small in-process world for scenario tests of the send protocol: the workflow on the in-memory
 * store, objects and CCC, on a clock the test owns. Invocations run one after another unless a
 * test starts one inside another (during a CCC call, or while a sender sleeps), which is how an
 * interleaving of instances is written down.
 */
import { loadConfig, type Env } from '../shared/core/config';
import { timingFrom } from '../shared/core/timing';
import { createLogger } from '../shared/runtime/log';
import { Ledger } from '../shared/store/ledger';
import { MemoryObjects } from '../shared/store/objects';
import { MemoryStore } from '../shared/store/store';
import type { Ctx } from '../shared/workflow/context';
import { runRecovery } from '../shared/workflow/recovery';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { MemoryCcc } from './memory-ccc';

export const BUCKET = 'prompts-1250000000';
const ENV: Env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key', TENCENTCLOUD_REGION: 'ap-guangzhou', IVR_BUCKET: BUCKET, IVR_RETRY_BASE_MS: '10' };

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
  readonly objects = new MemoryObjects();
  readonly ccc = new MemoryCcc(this.objects, () => this.t);
  /** CCC as the functions see it; a test may wrap it (faults, another invocation during a call). */
  api: Ctx['api'] = { upload: (items) => this.ccc.upload(items), describe: (q) => this.ccc.describe(q) };
  /** Other invocations that start while one sleeps, at the time given (see {@link at}). */
  private readonly others: Array<{ at: number; run: () => Promise<unknown> }> = [];

  /** `env` adds to the base settings; `store` makes the store (a lagging one, say) on this world's clock. */
  constructor(env: Env = {}, store: (now: () => number) => MemoryStore = (now) => new MemoryStore(now)) {
    this.config = loadConfig({ ...ENV, ...env });
    this.timing = timingFrom(this.config);
    this.store = store(() => this.t);
  }

  /** The ledger prefix. */
  get prefix(): string {
    return this.config.ledgerPrefix;
  }

  /** Runs `run` as another invocation when the clock reaches `at` (while some invocation sleeps). */
  at(at: number, run: () => Promise<unknown>): void {
    this.others.push({ at, run });
  }

  /** Sleeps on the world's clock, running on the way the invocations scheduled with {@link at}. */
  readonly sleep = async (ms: number): Promise<void> => {
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
    return { config: this.config, timing: this.timing, ledger: new Ledger(this.store, this.prefix), objects: this.objects, api: this.api, log: createLogger(), clock: { now: () => this.t, sleep: this.sleep }, owner };
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

  /** `passes` recovery passes, `everyMs` apart (the first one after that wait too). */
  async recover(passes: number, everyMs = 400_000): Promise<void> {
    for (let i = 0; i < passes; i++) {
      this.t += everyMs;
      await runRecovery(this.ctx(`recovery-${i}`), { Type: 'Timer' }).catch(() => undefined);
    }
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
