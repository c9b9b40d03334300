/**
 * The fault suite's world: the fake COS and CCC on loopback, the built bundles run one process per
 * invocation by the SCF simulator, SCF's delivery rules (duplicates, redelivery of failed
 * invocations), a clock shared by every party (each function process's set apart from it by up to
 * IVR_CLOCK_SKEW_MS), and the invariant checks that end every run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { jobId, parseJobVersion, type JobVersion } from '../../shared/core/job';
import { markdownText } from '../../shared/core/report';
import { parseLogEntry } from '../../shared/core/sendlog';
import { TEST_CREDENTIAL } from '../local/fakes/credentials';
import { cosEvent, cosEventRecord } from '../local/fakes/events';
import { FakeCcc } from '../local/fakes/fake-ccc';
import { FakeCos } from '../local/fakes/fake-cos';
import { FakeWecom } from '../local/fakes/fake-wecom';
import { ScfSim, type SimInvocation } from '../sim/scf';

export const BUCKET = 'chaos-1250000000';
export const REGION = 'ap-guangzhou';
export const SDK_APP_ID = 1400000009;
export const LEDGER = '.ivr-audio-sync/';
export const PREFIX = 'prompts/';
const PKG = path.resolve(__dirname, '..', '..', 'dist', 'package');
/** How many times WeCom may take one message (invariant 10): a lost answer, or a poster killed after the post, costs one more. */
const WEBHOOK_MAX_POSTS = 3;
/** How long an idle instance stays warm (real ms): long enough that redeliveries and later files often meet one. */
const WARM_MS = 5000;

function logTo(file: string): (line: string) => void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  return (line) => fs.appendFileSync(file, line + '\n');
}

/** Deterministic randomness for a seed (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorldOptions {
  /** Every function log line goes here (one file per run), for when a run fails. */
  logFile?: string;
  /** Shifts every party's clock (functions, fakes, signatures) so a quota day can end mid-run. */
  clockOffsetMs: number;
  listLagMs: number;
  dailyQuota: number;
  /** CCC's own daily limit on the SdkAppId, when it is not the functions' quota (default: the same). */
  cccDailyQuota?: number;
  random: () => number;
  /** Time-scaled settings: every coordination duration derives from these. */
  env?: Record<string, string>;
  /** Delay of SCF's redelivery of a failed invocation (a minute in the cloud, scaled). */
  redeliveryMs: number;
}

export interface Figures {
  [name: string]: number;
}

export class World {
  cos!: FakeCos;
  ccc!: FakeCcc;
  /** The WeCom group robot IVR_REPORT_WEBHOOK names (the timer function's only). */
  wecom!: FakeWecom;
  upload!: ScfSim;
  recovery!: ScfSim;
  readonly now: () => number;
  readonly figures: Figures = { invocations: 0, redeliveries: 0, duplicates: 0, killsRandom: 0, killsAfterWrite: 0, killsInCall: 0, cosFaults: 0, cccFaults: 0, gaveUp: 0, fullByHeldSlots: 0 };
  /** Per key: delivery chains that ended with an invocation that returned, and chains SCF gave up on (every attempt died or failed). */
  private readonly chains = new Map<string, { ok: number; gaveUp: number }>();
  /** Keys whose first invocation ended normally without the object showing a status (invariant 5). */
  readonly invisible: string[] = [];
  private readonly firstEnded = new Set<string>();
  private pending = 0;
  private idle: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly env: Record<string, string>;
  /** Called as each timer invocation starts (the fault suite arranges kills of timer processes here). */
  onTimer?: (sim: ScfSim) => void;

  constructor(readonly opts: WorldOptions) {
    this.now = () => Date.now() + opts.clockOffsetMs;
    this.env = {
      CCC_SDK_APP_ID: String(SDK_APP_ID),
      TENCENTCLOUD_REGION: REGION,
      IVR_BUCKET: BUCKET,
      IVR_AUDIO_PREFIX: PREFIX,
      IVR_DAILY_QUOTA: String(opts.dailyQuota),
      IVR_LIST_LAG_MS: String(Math.max(opts.listLagMs + 300, 300)),
      SIM_CLOCK_OFFSET_MS: String(opts.clockOffsetMs),
      ...opts.env,
    };
  }

  async start(): Promise<void> {
    const clock = this.now;
    this.cos = await new FakeCos({ credentials: [TEST_CREDENTIAL], clock, time: clock, listLagMs: this.opts.listLagMs, random: this.opts.random }).start();
    this.ccc = await new FakeCcc({ credentials: [TEST_CREDENTIAL], cos: { host: '127.0.0.1', port: this.cos.port }, clock, time: clock, dailyQuota: this.opts.cccDailyQuota ?? this.opts.dailyQuota }).start();
    this.wecom = await new FakeWecom().start();
    this.cos.createBucket(BUCKET);
    const env = { ...this.env, CCC_ENDPOINT: this.ccc.endpoint, COS_ENDPOINT: this.cos.endpoint };
    const register = (c: { secretId: string; secretKey: string; token?: string }) => {
      this.cos.addCredential(c);
      this.ccc.addCredential(c);
    };
    const log = this.opts.logFile ? logTo(this.opts.logFile) : undefined;
    // Instances stay warm for a while, as on SCF: what a process keeps between invocations (the
    // versions it created, the send-log entry it saw last) is then under fault too.
    const warm = { keepWarmMs: WARM_MS };
    // Each process on a clock of its own, as many as IVR_CLOCK_SKEW_MS apart (the functions' margin
    // for it); the fakes keep the world's. A review found the suite had never run them apart.
    const spreadMs = Number(this.env.IVR_CLOCK_SKEW_MS ?? 0);
    const clockSpread = spreadMs > 0 ? { spreadMs, random: rng(Math.floor(this.opts.random() * 4294967296)) } : undefined;
    this.upload = new ScfSim({ bundle: path.join(PKG, 'ivr_upload.js'), env: { ...env, SCF_FUNCTIONNAME: 'ivr-upload' }, register, log, warm, clockSpread });
    this.recovery = new ScfSim({ bundle: path.join(PKG, 'quota_report.js'), env: { ...env, SCF_FUNCTIONNAME: 'quota-report', IVR_REPORT_WEBHOOK: this.wecom.url }, register, log, warm, tag: 'tmr', clockSpread });
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.upload.stopIdle();
    this.recovery.stopIdle();
    await Promise.all([this.cos.stop(), this.ccc.stop(), this.wecom.stop()]);
  }

  /**
   * A redeploy with IVR_DAILY_QUOTA `n`: new processes take it, busy ones finish on the old one (as
   * on SCF), and the checks hold the day to it from now on.
   */
  redeployQuota(n: number): void {
    this.opts.dailyQuota = n;
    this.env.IVR_DAILY_QUOTA = String(n);
    for (const sim of [this.upload, this.recovery]) sim.setEnv({ IVR_DAILY_QUOTA: this.env.IVR_DAILY_QUOTA });
  }

  /**
   * Moves every party's clock `ms` ahead (the fakes at once, the function instances from their
   * next process: warm ones are ended), as if that much time had passed with nothing running.
   */
  advance(ms: number): void {
    this.opts.clockOffsetMs += ms;
    this.env.SIM_CLOCK_OFFSET_MS = String(this.opts.clockOffsetMs);
    for (const sim of [this.upload, this.recovery]) sim.setEnv({ SIM_CLOCK_OFFSET_MS: this.env.SIM_CLOCK_OFFSET_MS });
  }

  /** A timer counted as pending work, so `settled()` waits for it. */
  later(ms: number, fn: () => Promise<unknown> | void): void {
    this.pending++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      Promise.resolve(fn()).finally(() => this.done());
    }, ms);
    this.timers.add(t);
  }

  private done(): void {
    if (--this.pending === 0) for (const f of this.idle.splice(0)) f();
  }

  /** Resolves once no invocation and no scheduled delivery is left. */
  settled(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }

  /** Uploads an object as an operator would (no event: deliveries are scheduled separately). */
  put(key: string, body: Buffer): void {
    this.cos.putDirect(BUCKET, key, body, { contentType: key.endsWith('.wav') ? 'audio/wav' : 'audio/mpeg', meta: { owner: 'ops' } });
  }

  event(key: string) {
    return cosEvent(cosEventRecord({ bucket: BUCKET, region: REGION, key, size: this.cos.object(BUCKET, key)?.body.length ?? 0 }));
  }

  /**
   * Delivers an event as SCF does: when the invocation fails (it threw, or was killed), it is
   * delivered again after `redeliveryMs`, twice at most. `onStart` may arrange a kill.
   */
  deliver(key: string, onStart?: (inv: Promise<SimInvocation>, sim: ScfSim) => void, attempt = 1): void {
    this.pending++;
    this.figures.invocations++;
    const p = this.upload.invoke(this.event(key));
    onStart?.(p, this.upload);
    void p.then((inv) => {
      // Visible as soon as the first invocation that returned ends (one that died, or failed
      // because COS refused the very write, leaves it to SCF's redelivery).
      if (inv.ok && !this.firstEnded.has(key) && key.startsWith(PREFIX)) {
        this.firstEnded.add(key);
        if (!this.cos.object(BUCKET, key)?.meta['ivr-status']) this.invisible.push(key);
      }
      const chain = this.chains.get(key) ?? { ok: 0, gaveUp: 0 };
      if (inv.ok && !inv.killed) chain.ok++;
      else if (attempt >= 3) chain.gaveUp++;
      this.chains.set(key, chain);
      if ((inv.killed || !inv.ok) && attempt < 3) {
        this.figures.redeliveries++;
        this.later(this.opts.redeliveryMs, () => this.deliver(key, onStart, attempt + 1));
      }
      this.done();
    });
  }

  /** Runs the recovery pass once (one process, like a timer invocation). */
  async recover(message = ''): Promise<SimInvocation> {
    const p = this.recovery.invoke({ Type: 'Timer', TriggerName: 'ivr-quota-report', Time: new Date(this.now()).toISOString(), Message: message });
    this.onTimer?.(this.recovery);
    return p;
  }

  /**
   * Object keys by the quota day of a slot they hold: a `sending` version took a new slot of that
   * day, and the version after it did not give it back (a call that never reached CCC's
   * processing drops the slot; see `transition`).
   */
  private heldSlots(): Map<string, Set<string>> {
    const versions = new Map<string, JobVersion>();
    for (const k of this.ledger('jobs/')) {
      const v = parseJobVersion(this.cos.object(BUCKET, k)?.body.toString('utf8'));
      if (v) versions.set(`${v.id}/${v.seq}`, v);
    }
    const held = new Map<string, Set<string>>();
    for (const v of versions.values()) {
      if (v.state !== 'sending' || !v.newSlot || !v.slot) continue;
      const after = versions.get(`${v.id}/${v.seq + 1}`);
      if (after && !after.slot) continue;
      held.set(v.slot, new Set([...(held.get(v.slot) ?? []), v.object.key]));
    }
    return held;
  }

  /** Keys of ledger entries under a part of the ledger. */
  ledger(part: string): string[] {
    return this.cos.keys(BUCKET, LEDGER + part);
  }

  /**
   * Checks every invariant of the reliability issue on the final state; returns the violations
   * (empty when all hold).
   */
  check(keys: string[], eligible: Set<string>): string[] {
    const v: string[] = [];
    const gap = 1000;
    // 2. Exactly once per object version, and the object shows that registration.
    const bySource = new Map<string, number[]>();
    for (const f of this.ccc.files) if (f.source) bySource.set(`${f.source.key}@${f.source.etag}`, [...(bySource.get(`${f.source.key}@${f.source.etag}`) ?? []), f.FileId]);
    for (const [src, ids] of bySource) if (ids.length > 1) v.push(`registered ${ids.length} times: ${src} (${ids.join(', ')})`);
    const fullDays = new Set<string>();
    const held = this.heldSlots();
    for (const day of new Set([...this.ccc.files.map((f) => this.ccc.quotaDay(f.uploadedAt)), ...held.keys()])) {
      // 3. Quota: files we attempted on a day (registered, or refused for quota) never exceed the
      // quota. Files, not attempts: a file refused, then resent and registered, counts once.
      const ours = new Set(this.ccc.files.filter((f) => f.source && this.ccc.quotaDay(f.uploadedAt) === day).map((f) => f.source!.key));
      const all = this.ccc.filesOn(day).length;
      const refused = this.ccc.refusedForQuota.get(day) ?? new Set<string>();
      const attempted = new Set([...ours, ...refused]).size;
      if (attempted > this.opts.dailyQuota) v.push(`quota: ${attempted} files attempted on ${day} (${ours.size} registered, ${refused.size} refused for the quota) > ${this.opts.dailyQuota}`);
      // 1's "full" counts quota as the product must (README, Quota): a file put into a call of the
      // day whose outcome CCC could not tell keeps its slot even if CCC never registered it (a
      // call it may have processed and refused). CCC's own count alone called a day with such a
      // file unfilled, and the files deferred for it "deferred while the day has room" (seed 2 in
      // CI: 49 registered and one that gave up after four lost answers). The slots are read from
      // the files' versions, not from the send log's count: a count that kept a slot given back
      // still shows here.
      const taken = new Set([...ours, ...refused, ...(held.get(day) ?? [])]);
      if (all - ours.size + taken.size >= this.opts.dailyQuota || refused.size > 0) fullDays.add(day);
      if (all < this.opts.dailyQuota && refused.size === 0 && fullDays.has(day)) this.figures.fullByHeldSlots++;
    }
    if (process.env.CHAOS_DEBUG) process.stderr.write(`today ${this.ccc.quotaDay()} full ${[...fullDays].join(',')} files by day ${JSON.stringify(Object.fromEntries([...new Set(this.ccc.files.map((f) => this.ccc.quotaDay(f.uploadedAt)))].map((d) => [d, this.ccc.filesOn(d).length])))}\n`);
    for (const key of keys) {
      const o = this.cos.object(BUCKET, key);
      if (!o) continue;
      const meta = o.meta;
      const status = meta['ivr-status'];
      // The one documented gap: SCF gave up on every delivery of the event, and each died (or COS
      // refused) before the first ledger write, so nothing in the bucket says the file exists.
      // Counted, not a violation; anything in the ledger about it must still be finished.
      const chain = this.chains.get(key);
      const id = jobId(BUCKET, key, o.etag);
      if (!status && chain && chain.ok === 0 && chain.gaveUp > 0 && this.ledger(`jobs/${id}/`).length === 0 && !this.ledger('queue/').some((k) => k.includes(id))) {
        this.figures.gaveUp++;
        continue;
      }
      // 1. Nothing lost: every object ends uploaded, failed with a reason, or deferred on a full day.
      if (!eligible.has(key)) {
        if (status !== 'failed' || !meta['ivr-error-code']) v.push(`ineligible ${key} shows ${status ?? 'nothing'} (${meta['ivr-error-code'] ?? ''})`);
        continue;
      }
      const regs = bySource.get(`${key}@${o.etag}`) ?? [];
      if (status === 'uploaded') {
        if (regs.length !== 1 || meta['ivr-file-id'] !== String(regs[0])) v.push(`${key} shows FileId ${meta['ivr-file-id']} but CCC holds ${regs.join(',') || 'none'}`);
      } else if (status === 'deferred') {
        if (regs.length > 0) v.push(`${key} shows deferred but CCC registered it (${regs.join(',')})`);
        const day = this.ccc.quotaDay();
        if (!fullDays.has(day)) v.push(`${key} is deferred while today (${day}) still has room`);
      } else if (status === 'failed') {
        if (!meta['ivr-error-code']) v.push(`${key} failed without a reason`);
        if (regs.length > 0) v.push(`${key} shows failed but CCC registered it`);
      } else {
        v.push(`${key} ends ${status ?? 'without a status'}${regs.length ? ` (CCC holds ${regs.join(',')})` : ''}`);
      }
    }
    // 4. Rate: the starts of any two calls are at least a second apart; no refusal for the rate.
    const calls = this.ccc.uploadCalls();
    const at = calls.map((c) => c.at).sort((a, b) => a - b);
    for (let i = 1; i < at.length; i++) if (at[i] - at[i - 1] < gap) v.push(`two UploadIvrAudio calls ${at[i] - at[i - 1]} ms apart`);
    const refused = calls.filter((c) => c.result === 'RequestLimitExceeded').length;
    if (refused > 0) v.push(`${refused} call(s) refused with RequestLimitExceeded`);
    // 5. Visible as soon as the first invocation ended.
    for (const k of this.invisible) v.push(`${k} had no status when its first invocation ended`);
    // 7. The recovery passes finished everything: nothing left queued, no call left open.
    const queued = this.ledger('queue/');
    if (queued.length > 0) v.push(`${queued.length} queue entr(ies) left: ${queued.slice(0, 3).join(', ')}`);
    const tail = parseLogEntry(this.cos.object(BUCKET, `${LEDGER}send/tail`)?.body.toString('utf8'));
    if (tail && tail.open.length > 0) v.push(`send log still has ${tail.open.length} open call(s)`);
    // 6. One sender: the send log's calls are totally ordered and a gap apart.
    const entries = this.ledger('send/').filter((k) => /send\/\d+$/.test(k)).map((k) => parseLogEntry(this.cos.object(BUCKET, k)?.body.toString('utf8'))).filter((e) => e?.call).sort((a, b) => a!.n - b!.n);
    for (let i = 1; i < entries.length; i++) if (entries[i]!.call!.notBefore < entries[i - 1]!.call!.notAfter + gap) v.push(`send-log calls ${entries[i - 1]!.n} and ${entries[i]!.n} are less than a gap apart`);
    v.push(...this.checkWebhook());
    return v;
  }

  /**
   * The webhook's invariants, on what the WeCom stand-in took (what the group saw):
   * 8. every daily report stored in the ledger was posted at least once;
   * 9. every file CCC's review rejected, whose key still holds that upload, was announced at least once;
   * 10. no message was taken more than WEBHOOK_MAX_POSTS times (the outbox re-posts after a lost answer, not forever);
   * 11. no outbox record is left once the passes are done.
   */
  private checkWebhook(): string[] {
    const v: string[] = [];
    const taken = this.wecom.accepted;
    const counts: Array<[string, number]> = [];
    const days = this.ledger('reports/').map((k) => /reports\/(\d{4}-\d{2}-\d{2})\.json$/.exec(k)?.[1]).filter((d): d is string => d !== undefined);
    for (const day of days) {
      const n = taken.filter((c) => c.startsWith(`**IVR audio quota ${day}**`)).length;
      counts.push([`report ${day}`, n]);
      if (n === 0) v.push(`the report of ${day} is stored but was never posted`);
    }
    const rejected = this.ccc.files.filter((f) => f.source && f.Status === 2 && this.cos.object(BUCKET, f.source.key)?.etag === f.source.etag);
    for (const f of rejected) {
      const line = `> ${markdownText(f.source!.key)}`;
      const n = taken.filter((c) => c.startsWith('**IVR audio rejected by CCC review**') && c.split('\n').includes(line)).length;
      counts.push([`rejection of ${f.source!.key} (FileId ${f.FileId})`, n]);
      if (n === 0) v.push(`${f.source!.key} (FileId ${f.FileId}) was rejected in review but never announced`);
    }
    for (const [what, n] of counts) if (n > WEBHOOK_MAX_POSTS) v.push(`${what} posted ${n} times (at most ${WEBHOOK_MAX_POSTS})`);
    // (A claim may stay: a pass killed between deleting a record and deleting its claims leaves
    // it, as litter swept a day later. A record left is a message still owed.)
    const outbox = this.ledger('outbox/');
    const left = outbox.filter((k) => !/\.\d+$/.test(k));
    if (left.length > 0) v.push(`${left.length} outbox record(s) left: ${left.slice(0, 3).join(', ')}`);
    const f = this.figures;
    f.reports = days.length;
    f.rejected = rejected.length;
    f.webhookPosts = this.wecom.posts.length;
    f.webhookTaken = taken.length;
    f.maxPostsPerMessage = Math.max(0, ...counts.map(([, n]) => n));
    f.messagesPostedTwice = counts.filter(([, n]) => n > 1).length;
    f.outboxClaimsLeft = outbox.length - left.length;
    if (process.env.CHAOS_DEBUG) process.stderr.write(`webhook posts per message: ${JSON.stringify(Object.fromEntries(counts))}\n`);
    return v;
  }

  /** FileId recorded for a key's current version, via its job (for reports). */
  jobIdOf(key: string): string | undefined {
    const o = this.cos.object(BUCKET, key);
    return o ? jobId(BUCKET, key, o.etag) : undefined;
  }
}
