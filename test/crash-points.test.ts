/**
 * Every crash point between two writes, in process: the workflow runs on the in-memory store,
 * objects and CCC, and "dies" just before or just after its n-th write, for every n (from then on
 * nothing it does reaches the ledger, as with a killed process). SCF then delivers the event
 * again, the recovery pass runs, and the invariants must hold: each object version registered
 * exactly once, shown as uploaded with its FileId, nothing left in the queue, and the day's quota
 * count equal to what CCC really received. The fault suite does the same with real processes.
 */
import { loadConfig, type Env } from '../shared/core/config';
import { IvrError } from '../shared/core/errors';
import { timingFrom } from '../shared/core/timing';
import { createLogger, setLogSink } from '../shared/runtime/log';
import { Ledger, SeenEntry } from '../shared/store/ledger';
import { MemoryObjects, type AudioObjects } from '../shared/store/objects';
import { MemoryStore } from '../shared/store/store';
import type { Ctx } from '../shared/workflow/context';
import { runRecovery } from '../shared/workflow/recovery';
import { handleCosEvent } from '../shared/workflow/upload';
import { pruneOpen } from '../shared/workflow/sender';
import { queuedJob, transition } from '../shared/core/job';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { MemoryCcc, type MemoryFault } from './memory-ccc';
import { OUTBOX_LEASE_MS } from '../shared/core/outbox';
import { wecomStandIn, type WecomStandIn } from './wecom';
import { webhookPoster } from '../shared/sdk/webhook';

const BUCKET = 'prompts-1250000000';
const ENV: Env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key', TENCENTCLOUD_REGION: 'ap-guangzhou', IVR_BUCKET: BUCKET, IVR_RETRY_BASE_MS: '10' };

class Crash extends Error {}

/** What a killed or refused invocation may end with; anything else (a TypeError: a bug) fails the test. */
function expected(e: unknown): void {
  if (!(e instanceof Crash || e instanceof IvrError)) throw e;
}

/** Where to die: just before, or just after, the n-th write (ledger or object metadata). */
interface CrashPoint {
  n: number;
  phase: 'before' | 'after';
}

class World {
  t = Date.parse('2026-11-25T03:00:00Z');
  readonly store = new MemoryStore(() => this.t);
  readonly objects = new MemoryObjects(() => this.t);
  readonly ccc = new MemoryCcc(this.objects, () => this.t);
  readonly config: ReturnType<typeof loadConfig>;
  writes = 0;
  dead = false;
  crash?: CrashPoint;
  /** A warm instance's memory of the send log, shared by its invocations; none: each one is cold. */
  seen?: SeenEntry;
  /** Metadata writes per object key. */
  readonly metaWrites = new Map<string, number>();

  constructor(env: Env = {}) {
    this.config = loadConfig({ ...ENV, ...env });
    this.store.hook = (op, _key, phase) => this.step(op === 'get' || op === 'list' ? undefined : phase);
  }

  /** Counts writes and dies at the crash point; once dead, every operation fails. */
  private step(phase: 'before' | 'after' | undefined): void {
    if (this.dead) throw new Crash('dead');
    if (!phase || !this.crash) return;
    if (phase === 'before') this.writes++;
    if (this.writes === this.crash.n && phase === this.crash.phase) {
      this.dead = true;
      throw new Crash(`killed ${phase} write ${this.crash.n}`);
    }
  }

  ctx(owner: string): Ctx {
    const objects: AudioObjects = {
      read: async (k, m) => (this.step(undefined), this.objects.read(k, m)),
      stat: async (k) => (this.step(undefined), this.objects.stat(k)),
      writeMetadata: async (k, e, s, m) => {
        this.metaWrites.set(k, (this.metaWrites.get(k) ?? 0) + 1);
        this.step('before');
        await this.objects.writeMetadata(k, e, s, m);
        this.step('after');
      },
      signedUrl: (k) => this.objects.signedUrl(k),
      putBytes: (k, b, c) => this.objects.putBytes(k, b, c),
    };
    const clock = { now: () => this.t, sleep: async (ms: number) => void (this.t += Math.max(0, ms)) };
    return { config: this.config, timing: timingFrom(this.config), ledger: new Ledger(this.store, this.config.ledgerPrefix, undefined, this.seen), objects, api: this.ccc, webhook: webhookPoster(clock.sleep), log: createLogger(), clock, owner };
  }

  drop(keys: string[]) {
    for (const [i, k] of keys.entries()) this.objects.putObject(k, mp3Silence(3 + i));
    return cosEvent(...keys.map((key) => cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: 100 })));
  }

  async deliver(event: unknown, owner: string): Promise<void> {
    const ctx = this.ctx(owner);
    await handleCosEvent(event, () => ctx, ctx.log).catch(expected);
  }

  async recover(owner: string): Promise<void> {
    await runRecovery(this.ctx(owner), { Type: 'Timer' }).catch(expected);
  }

  revive(): void {
    this.dead = false;
    this.crash = undefined;
  }

  /** After a crash that SCF never redelivers: the next recovery pass, once the job lease is over. */
  async recoverAfterLease(): Promise<void> {
    this.revive();
    this.t += 360_000;
    await this.recover('recovery');
  }
}

beforeAll(() => setLogSink(() => undefined));

async function scenario(keys: string[], crash: CrashPoint | undefined, faults: MemoryFault[] = [], redeliver = true): Promise<World> {
  const w = new World();
  const event = w.drop(keys);
  w.ccc.faults.push(...faults);
  w.crash = crash;
  await w.deliver(event, 'first');
  w.revive();
  // SCF delivers the event again about a minute later; the recovery pass runs every five minutes.
  w.t += 60_000;
  if (redeliver) await w.deliver(event, 'redelivery');
  w.t += 300_000;
  await w.recover('recovery');
  return w;
}

function expectInvariants(w: World, keys: string[]): void {
  for (const key of keys) {
    const o = w.objects.objects.get(key)!;
    const regs = w.ccc.files.filter((f) => f.key === key && f.etag === o.etag);
    expect({ key, registrations: regs.length }).toEqual({ key, registrations: 1 });
    expect(o.meta['ivr-status']).toBe('uploaded');
    expect(o.meta['ivr-file-id']).toBe(String(regs[0].fileId));
  }
  const left = [...w.store.objects.keys()].filter((k) => k.includes('/queue/') || k.includes('/deferred/'));
  expect(left).toEqual([]);
  const tail = JSON.parse(w.store.objects.get('.ivr-audio-sync/send/tail')!.body) as { quota: { used: number } };
  // A crash never costs a slot: the count equals what CCC received (once the recovery pass pruned).
  expect(tail.quota.used).toBe(w.ccc.files.length);
}

/** How many writes a clean run makes, so every crash point is visited. */
async function cleanWrites(keys: string[], faults: MemoryFault[] = []): Promise<number> {
  const w = new World();
  const event = w.drop(keys);
  w.ccc.faults.push(...faults);
  w.crash = { n: Number.MAX_SAFE_INTEGER, phase: 'after' };
  await w.deliver(event, 'first');
  return w.writes;
}

const points = (n: number): CrashPoint[] => Array.from({ length: n }, (_, i) => [{ n: i + 1, phase: 'before' as const }, { n: i + 1, phase: 'after' as const }]).flat();

/** Runs `run` once per crash point and applies `check` after each, naming the point that broke it. */
async function atEveryPoint(list: CrashPoint[], run: (p: CrashPoint) => Promise<World>, check: (w: World) => void | Promise<void>): Promise<void> {
  for (const p of list) {
    const w = await run(p);
    try {
      await check(w);
    } catch (e) {
      throw new Error(`crash ${p.phase} write ${p.n}: ${(e as Error).message}`);
    }
  }
}

describe('one file, killed at every write', () => {
  const keys = ['prompts/welcome.mp3'];
  test('clean run', async () => expectInvariants(await scenario(keys, undefined), keys));
  test('every crash point', async () => {
    const n = await cleanWrites(keys);
    expect(n).toBeGreaterThan(4);
    await atEveryPoint(points(n), (p) => scenario(keys, p), (w) => expectInvariants(w, keys));
  });
});

describe('one file, killed at every write, and SCF never delivers again: the recovery pass alone finishes it', () => {
  const keys = ['prompts/alone.mp3'];
  test('every crash point', async () => {
    const n = await cleanWrites(keys);
    expect(n).toBeGreaterThan(4);
    // Before the first write nothing is in the ledger: only SCF's redelivery can help then.
    await atEveryPoint(points(n).slice(1), (p) => scenario(keys, p, [], false), (w) => expectInvariants(w, keys));
  });
});

describe('one file on a warm instance that saw the system idle (no `queued` before the outcome), killed at every write', () => {
  const keys = ['prompts/warm.mp3'];
  /** A file through a warm instance, then the file under test through it, killed at `crash`; SCF redelivers to a cold one. */
  async function run(crash: CrashPoint | undefined, redeliver: boolean): Promise<World> {
    const w = new World();
    w.seen = new SeenEntry();
    await w.deliver(w.drop(['prompts/earlier.mp3']), 'earlier');
    w.t += 60_000;
    w.writes = 0;
    w.crash = crash;
    const event = w.drop(keys);
    await w.deliver(event, 'first');
    w.revive();
    w.seen = undefined;
    w.t += 60_000;
    if (redeliver) await w.deliver(event, 'redelivery');
    w.t += 300_000;
    await w.recover('recovery');
    return w;
  }
  const all = [...keys, 'prompts/earlier.mp3'];
  test('clean run: one metadata write for the file', async () => {
    const w = await run(undefined, true);
    expectInvariants(w, all);
    expect(w.metaWrites.get('prompts/earlier.mp3')).toBe(2); // a cold instance: `queued`, then the outcome
    expect(w.metaWrites.get('prompts/warm.mp3')).toBe(1);
  });
  test('every crash point, with and without a redelivery', async () => {
    const w = await run({ n: Number.MAX_SAFE_INTEGER, phase: 'after' }, false);
    const n = w.writes;
    expect(n).toBeGreaterThan(4);
    await atEveryPoint(points(n), (p) => run(p, true), (x) => expectInvariants(x, all));
    // Before the first write nothing is in the ledger: only SCF's redelivery can help then.
    await atEveryPoint(points(n).slice(1), (p) => run(p, false), (x) => expectInvariants(x, all));
  });
});

describe('the recovery pass itself killed at every write: the next pass finishes', () => {
  const keys = ['prompts/x.mp3', 'prompts/y.mp3'];
  /** The intake dies right after queueing; the recovery pass is then killed at write n. */
  async function run(p: CrashPoint | undefined): Promise<World> {
    const w = new World();
    const event = w.drop(keys);
    w.crash = { n: 6, phase: 'after' };
    await w.deliver(event, 'first');
    w.revive();
    w.t += 300_000;
    w.writes = 0;
    w.crash = p;
    await w.recover('recovery-1');
    w.revive();
    w.t += 300_000;
    await w.recover('recovery-2');
    return w;
  }
  test('every crash point', async () => {
    expectInvariants(await run(undefined), keys);
    await atEveryPoint(points(30), run, (w) => expectInvariants(w, keys));
  });
});

describe('a batch of three files in one event, killed at every write', () => {
  const keys = ['prompts/a.mp3', 'prompts/b.mp3', 'prompts/c.mp3'];
  test('every crash point', async () => {
    const n = await cleanWrites(keys);
    await atEveryPoint(points(n), (p) => scenario(keys, p), (w) => expectInvariants(w, keys));
  });
});

describe('an answer lost after CCC registered, killed at every write', () => {
  const keys = ['prompts/lost.mp3'];
  const lost: MemoryFault[] = [{ kind: 'lose-after-register' }];
  test('every crash point', async () => {
    const n = await cleanWrites(keys, lost);
    // Registered by the first call only: the lost answer was settled by asking CCC, never by resending.
    await atEveryPoint(points(n), (p) => scenario(keys, p, [{ kind: 'lose-after-register' }]), (w) => {
      expectInvariants(w, keys);
      expect(w.ccc.calls.filter((c) => c.files > 0)).toHaveLength(1);
    });
  });
});

describe('CCC fails the call transiently, killed at every write', () => {
  const keys = ['prompts/retry.mp3'];
  const fault = (): MemoryFault[] => [{ kind: 'fail', failure: { kind: 'api', code: 'InternalError.DBError', message: 'db' } }];
  test('every crash point', async () => {
    const n = await cleanWrites(keys, fault());
    await atEveryPoint(points(n), (p) => scenario(keys, p, fault()), (w) => expectInvariants(w, keys));
  });
});

describe('the quota day full: a deferral killed at every write', () => {
  const keys = ['prompts/first.mp3', 'prompts/second.mp3'];
  const entries = (w: World) => [...w.store.objects.keys()].filter((k) => k.includes('/queue/') || k.includes('/deferred/'));
  async function run(p: CrashPoint | undefined): Promise<World> {
    const w = new World({ IVR_DAILY_QUOTA: '1' });
    const event = w.drop(keys);
    w.crash = p;
    await w.deliver(event, 'first');
    w.revive();
    w.t += 60_000;
    await w.deliver(event, 'redelivery');
    w.t += 300_000;
    await w.recover('recovery');
    return w;
  }
  /** While one file waits for the next day, its deferred entry is all the ledger holds for it. */
  function expectDeferred(w: World): void {
    const statuses = keys.map((k) => w.objects.objects.get(k)!.meta['ivr-status']).sort();
    expect(statuses).toEqual(['deferred', 'uploaded']);
    expect(w.ccc.files).toHaveLength(1);
    expect(entries(w)).toEqual([expect.stringContaining('/deferred/')]);
  }
  /** The next quota day: the recovery pass sends it, once, and nothing is left. */
  async function expectNextDay(w: World): Promise<void> {
    w.t += 24 * 3600_000;
    await w.recover('next-day');
    for (const key of keys) {
      const o = w.objects.objects.get(key)!;
      expect({ key, registrations: w.ccc.files.filter((f) => f.key === key && f.etag === o.etag).length, status: o.meta['ivr-status'] }).toEqual({ key, registrations: 1, status: 'uploaded' });
    }
    expect(entries(w)).toEqual([]);
  }
  test('clean run', async () => {
    const w = await run(undefined);
    expectDeferred(w);
    await expectNextDay(w);
  });
  test('every crash point', async () => {
    const n = (await run({ n: Number.MAX_SAFE_INTEGER, phase: 'after' })).writes;
    await atEveryPoint(points(n), run, async (w) => {
      expectDeferred(w);
      await expectNextDay(w);
    });
  });
  test('the deferral killed at every write, and SCF never delivers again: the recovery pass alone finishes it', async () => {
    /** The first file is registered by an event of its own; the second's event, which defers it, dies at `p`. */
    async function alone(p: CrashPoint): Promise<World> {
      const w = new World({ IVR_DAILY_QUOTA: '1' });
      await w.deliver(w.drop([keys[0]]), 'first');
      const event = w.drop([keys[1]]);
      w.writes = 0;
      w.crash = p;
      await w.deliver(event, 'second');
      await w.recoverAfterLease();
      return w;
    }
    const n = (await alone({ n: Number.MAX_SAFE_INTEGER, phase: 'after' })).writes;
    // Before the first write nothing is in the ledger: only SCF's redelivery can help then.
    await atEveryPoint(points(n).slice(1), alone, async (w) => {
      expectDeferred(w);
      await expectNextDay(w);
    });
  });
});

describe('pruning a call whose window closed: a slot comes back exactly when the call never sent the file', () => {
  const w = new World();
  const ctx = w.ctx('pruner');
  const object = { bucket: BUCKET, key: 'prompts/p.mp3', etag: 'e', size: 10, customName: 'p', queuedAt: w.t, head: { standard: {}, meta: {} } };
  const upload = { fileId: 1, audioFileName: 'x', requestId: 'r', review: 'pending' as const };
  /** A job queued, then put in call `inCall` (slot of `day`), then registered. */
  async function jobSentIn(id: string, inCall: number, day: string): Promise<void> {
    const q = queuedJob(id, { ...object, key: `prompts/${id}.mp3` }, w.t, 'a');
    const sending = transition(q, 'send', w.t, 'a', { call: inCall, slot: day, newSlot: true });
    for (const v of [q, sending, transition(sending, 'registered', w.t, 'a', { upload })]) await ctx.ledger.writeVersion(v);
  }
  const call = (n: number, id: string) => ({ n, notAfter: w.t - 60_000, day: '2026-11-27', jobs: [{ id, seq: 1, name: id, newSlot: true }] });

  test('the file was in this call: its slot stays', async () => {
    await jobSentIn('a'.repeat(40), 13, '2026-11-27');
    const r = await pruneOpen(ctx, [call(13, 'a'.repeat(40))], w.t);
    expect(r).toEqual({ open: [], unattempted: new Map() });
  });

  test('another call had already taken the version this call named: the file was never in it, its new slot comes back', async () => {
    // The sender of call 13 read the job before call 11's sender moved it: its `sending` version
    // (seq 1) belongs to call 11, so call 13 never sent it.
    await jobSentIn('b'.repeat(40), 11, '2026-11-26');
    const r = await pruneOpen(ctx, [call(13, 'b'.repeat(40))], w.t);
    expect(r).toEqual({ open: [], unattempted: new Map([['2026-11-27', 1]]) });
  });
});

describe('a file that fails its checks, killed at every write, and SCF never delivers again', () => {
  const keys = ['prompts/cut.mp3'];
  async function run(p: CrashPoint): Promise<World> {
    const w = new World();
    w.objects.putObject(keys[0], mp3Silence(20).subarray(0, mp3Silence(20).length - 200));
    const event = cosEvent(cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key: keys[0], size: 100 }));
    w.crash = p;
    await w.deliver(event, 'first');
    await w.recoverAfterLease();
    return w;
  }
  test('the recovery pass shows the failure, and nothing is left in the queue', async () => {
    const n = (await run({ n: Number.MAX_SAFE_INTEGER, phase: 'after' })).writes;
    expect(n).toBeGreaterThan(1);
    // Before the first write nothing is in the ledger: only SCF's redelivery can help then.
    await atEveryPoint(points(n).slice(1), run, (w) => {
      expect(w.objects.objects.get(keys[0])!.meta).toMatchObject({ 'ivr-status': 'failed', 'ivr-error-code': 'AudioTruncated' });
      expect([...w.store.objects.keys()].filter((k) => k.includes('/queue/'))).toEqual([]);
      expect(w.ccc.calls).toEqual([]);
    });
  });
});

describe('the timer pass that reports a day and announces a rejection, killed at every write', () => {
  // The world starts at 11:00 +08:00 on 2026-11-25; that quota day ends at 16:00Z.
  const NEXT_DAY = Date.parse('2026-11-25T16:05:00Z');
  let hook: WecomStandIn;
  beforeAll(async () => void (hook = await wecomStandIn()));
  afterAll(() => hook.close());

  /** The day's report and a rejection are both due in the pass killed at `p`; three passes follow, a lease apart. */
  async function run(p: CrashPoint | undefined): Promise<{ w: World; posts: string[] }> {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    await w.deliver(w.drop(['prompts/menu.mp3']), 'first');
    w.ccc.files[0].status = 2; // CCC's review rejects it
    w.t = NEXT_DAY;
    const from = hook.bodies.length;
    w.writes = 0;
    w.crash = p;
    await w.recover('timer-1');
    w.revive();
    for (let i = 2; i <= 4; i++) {
      w.t += OUTBOX_LEASE_MS + 60_000;
      await w.recover(`timer-${i}`);
    }
    return { w, posts: hook.bodies.slice(from).map((b) => (JSON.parse(b) as { markdown: { content: string } }).markdown.content) };
  }

  function expectDelivered({ w, posts }: { w: World; posts: string[] }): void {
    const reports = posts.filter((c) => c.includes('IVR audio quota 2026-11-25'));
    const rejections = posts.filter((c) => c.includes('rejected by CCC review') && c.includes('prompts/menu.mp3'));
    // At least once; twice only when the pass died between a post and its record's deletion.
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(reports.length).toBeLessThanOrEqual(2);
    expect(rejections.length).toBeGreaterThanOrEqual(1);
    expect(rejections.length).toBeLessThanOrEqual(2);
    expect([...w.store.objects.keys()].filter((k) => k.includes('/outbox/'))).toEqual([]);
  }

  test('clean run: each posted once', async () => {
    const r = await run(undefined);
    expectDelivered(r);
    expect(r.posts).toHaveLength(2);
  });

  test('every crash point: the report and the rejection still reach WeCom', async () => {
    const n = (await run({ n: Number.MAX_SAFE_INTEGER, phase: 'after' })).w.writes;
    expect(n).toBeGreaterThan(8);
    await atEveryPoint(points(n), async (p) => {
      const r = await run(p);
      expectDelivered(r);
      return r.w;
    }, () => undefined);
  });
});
