/**
 * `npm run chaos -- --seed N` · `--seeds 1,2` · `--scenarios` · `--scenario NAME`
 *
 * The fault suite. It runs the built bundles one process per event, as SCF does, against the fake
 * COS and CCC, and kills real processes: at random moments, right after ledger writes, and in the
 * middle of CCC calls. SCF's delivery is imitated: duplicates at once and later, failed invocations
 * delivered again (twice, a scaled-down minute apart). CCC answers with internal errors, loses
 * answers after registering, registers after the client's timeout, enforces a strict sliding
 * one-second window, and refuses the quota (files registered outside this product fill the day).
 * COS answers 503 longer than the SDK retries and drops connections before and after a write
 * commits, and its listings lag by up to a second. A quota day ends mid-run. Then the recovery
 * pass runs until the ledger is clean, its own processes killed too (mid-post to the WeCom
 * stand-in among other points) while it reports the day and announces rejections; the clock moves
 * past the outbox's lease, and every invariant of the reliability issue is checked, the webhook's
 * (at least once, at most 3 times) too.
 * Exit code 1 when any is violated.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { OUTBOX_LEASE_MS } from '../../shared/core/outbox';
import type { WecomAnswer } from '../local/fakes/fake-wecom';
import { BUCKET, LEDGER, PREFIX, rng, World, type Figures } from './world';

const ROOT = path.resolve(__dirname, '..', '..');
/** Function logs of each run, for when one fails. */
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'chaos');
const DAY = 86400000;
const CST = 8 * 3600000;

/** Time-scaled settings: a call's lifetime is 2 s, a job lease 3 s, a term 10 s, a redelivery 3 s. */
const SCALED = { CCC_TIMEOUT_SECONDS: '1', IVR_JOB_LEASE_SECONDS: '3', IVR_WAIT_SECONDS: '10', IVR_RETRY_BASE_MS: '200', IVR_MAX_ATTEMPTS: '4', IVR_CLOCK_SKEW_MS: '250' };
const REDELIVERY_MS = 3000;

/** The clock offset that puts the end of the current quota day (UTC+8) `ms` from now. */
function midnightIn(ms: number): number {
  const toMidnight = DAY - ((Date.now() + CST) % DAY);
  return toMidnight - ms;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the timer's webhook posts: faults, and the passes after the clock moves on ----

/** How WeCom refuses a post now and then: busy, over its rate, or a gateway in the way. */
const WECOM_FAILURES: WecomAnswer[] = [
  [200, '{"errcode":-1,"errmsg":"system busy"}'],
  [200, '{"errcode":45009,"errmsg":"api freq out of limit"}'],
  [502, '<html><body>502 Bad Gateway</body></html>'],
];

/**
 * Faults on the timer passes from now on: a process killed at a random moment, right after one of
 * its outbox, report or review-marker writes (or deletions), or while it posts to WeCom, before
 * or after WeCom took the message (the poster cannot tell); WeCom refusing posts. Returns what
 * ends them.
 */
function armTimerFaults(w: World, r: () => number): () => void {
  const f = w.figures;
  [f.timerKillsRandom, f.timerKillsAfterWrite, f.timerKillsInPost, f.webhookFaults] = [0, 0, 0, 0];
  w.onTimer = (sim) => {
    if (r() >= 0.15) return;
    const process = sim.lastStarted;
    setTimeout(() => {
      if (sim.kill(process)) f.timerKillsRandom++;
    }, 50 + r() * 1500);
  };
  // (Only timer processes run now: the intake has settled.) A pass marks many files reviewed, one
  // write each: each is a rarer kill point, or hardly a pass would get past them.
  w.cos.onCommitted = (info) => {
    const part = /^\.ivr-audio-sync\/(outbox|reports|reviewed)\//.exec(info.key)?.[1];
    if (!part || r() >= (part === 'reviewed' ? 0.03 : 0.15)) return;
    if (w.recovery.kill(info.secretId)) f.timerKillsAfterWrite++;
  };
  w.wecom.answer = () => {
    if (r() >= 0.15) return undefined;
    f.webhookFaults++;
    return WECOM_FAILURES[Math.floor(r() * WECOM_FAILURES.length)];
  };
  w.wecom.onPost = () => {
    const x = r();
    if (x >= 0.25) return undefined;
    const busy = w.recovery.busy();
    if (busy.length > 0 && w.recovery.kill(busy[Math.floor(r() * busy.length)])) f.timerKillsInPost++;
    return x < 0.1 ? 'drop' : 'take-and-drop';
  };
  return () => {
    w.onTimer = undefined;
    w.cos.onCommitted = undefined;
    w.wecom.answer = undefined;
    w.wecom.onPost = undefined;
  };
}

/** CCC's review of our files: about a quarter rejected, most of the rest approved, some left pending. */
function reviewFiles(w: World, r: () => number): void {
  for (const f of w.ccc.files) {
    if (!f.source || f.Status !== 0) continue;
    const x = r();
    if (x < 0.25) w.ccc.review(f.FileId, 2);
    else if (x < 0.9) w.ccc.review(f.FileId, 1);
  }
}

/**
 * After the recovery passes: the clock moves on in steps, past the 5 minutes a verdict waits for a
 * late write of its registration (so rejections are announced), then past the outbox's lease each
 * time (so what a killed or refused post left is posted again), with two timer passes at once at
 * each step (one running long into the next). The faults end (`disarm`) before the last step, so
 * what is owed must have been posted by the end. Returns the passes run.
 */
async function webhookSteps(w: World, steps: number[], disarm: () => void): Promise<number> {
  let passes = 0;
  for (const [i, ms] of steps.entries()) {
    if (i === steps.length - 1) disarm();
    w.advance(ms);
    await Promise.all([w.recover(), w.recover()]);
    passes += 2;
  }
  return passes;
}

/** Past the verdicts' late-write wait, then two leases (every record left is past its lease at the last, fault-free step). */
const WEBHOOK_STEPS = [6 * 60_000, OUTBOX_LEASE_MS + 60_000, OUTBOX_LEASE_MS + 60_000];

// ---- audio: small real files (a frame-exact MP3, a PCM WAV), and some that must fail ----

function mp3(frames: number, salt: number): Buffer {
  // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417/418-byte frames, padding as an encoder sets it.
  const out: Buffer[] = [];
  let rest = 0;
  for (let i = 0; i < frames; i++) {
    rest += 144 * 128000 - 417 * 44100;
    const pad = rest >= 44100 ? 1 : 0;
    if (pad) rest -= 44100;
    const f = Buffer.alloc(417 + pad);
    f.set([0xff, 0xfb, pad ? 0x92 : 0x90, 0x64]);
    f.writeUInt32BE(salt >>> 0, 8);
    out.push(f);
  }
  return Buffer.concat(out);
}

function wav(ms: number, salt: number): Buffer {
  const samples = Math.floor(8 * ms);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((i * (salt % 50 + 10)) / 100) * 6000), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

// ---- runs ----

interface RunResult {
  name: string;
  violations: string[];
  figures: Figures;
  ms: number;
}

/** Runs the recovery pass until nothing is queued or open (or 8 passes), a lease apart, once the quota day has ended. */
async function recoverUntilClean(w: World, afterMidnight: boolean): Promise<number> {
  if (afterMidnight) {
    const wait = midnightWait(w);
    if (wait < DAY / 2) await sleep(wait);
  }
  let passes = 0;
  for (; passes < 8; ) {
    await sleep(3500);
    await w.recover();
    passes++;
    if (w.ledger('queue/').length === 0 && w.ledger('jobs/').length > 0) {
      // One more pass settles what the last one released (deferred files of a day now open).
      await sleep(3500);
      await w.recover();
      passes++;
      if (w.ledger('queue/').length === 0) break;
    }
  }
  return passes;
}

async function seeded(seed: number): Promise<RunResult> {
  const started = Date.now();
  const r = rng(seed);
  const w = new World({ clockOffsetMs: midnightIn(14000), listLagMs: 1000, dailyQuota: 50, random: r, redeliveryMs: REDELIVERY_MS, env: SCALED, logFile: path.join(ARTIFACTS, `seed-${seed}.log`) });
  await w.start();
  const keys: string[] = [];
  const eligible = new Set<string>();
  // Kills right after ledger writes, and in the middle of CCC calls.
  const sims = () => [w.upload, w.recovery];
  w.cos.onCommitted = (info) => {
    if (!info.key.startsWith(LEDGER) || !info.secretId.startsWith('AKIDsim') || r() >= 0.02) return;
    if (w.upload.kill(info.secretId)) w.figures.killsAfterWrite++;
  };
  w.ccc.onRequest = (call) => {
    // Either function's sender: the upload function's processes (AKIDsim…) and the timer's (AKIDtmr…).
    if (call.action !== 'UploadIvrAudio' || !/^AKID(sim|tmr)/.test(call.secretId ?? '') || r() >= 0.06) return;
    if (sims().some((s) => s.kill(call.secretId!))) w.figures.killsInCall++;
  };
  // Faults, injected at random while the files arrive.
  const cosFaults = [
    () => w.cos.inject({ op: 'PUT', keyPrefix: LEDGER, status: 503, code: 'ServiceUnavailable', times: 6 }),
    () => w.cos.inject({ op: 'GET', keyPrefix: PREFIX, status: 503, code: 'ServiceUnavailable', times: 6 }),
    () => w.cos.inject({ op: 'COPY', status: 503, code: 'ServiceUnavailable', times: 6 }),
    () => w.cos.inject({ op: 'PUT', keyPrefix: LEDGER, reset: true, times: 1 }),
    () => w.cos.inject({ op: 'PUT', keyPrefix: LEDGER, resetAfterCommit: true, times: 1 }),
    () => w.cos.inject({ op: 'COPY', resetAfterCommit: true, times: 1 }),
  ];
  const cccFaults = [
    () => w.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError.DBError' }),
    // An internal error whose back end still registers the files a second later (within the call's
    // lifetime, 2 × CCC_TIMEOUT_SECONDS, as the slow registration below).
    () => w.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError', registerAfterErrorMs: 1000 }),
    () => w.ccc.inject({ action: 'UploadIvrAudio', resetAfterCommit: true }),
    () => w.ccc.inject({ action: 'UploadIvrAudio', slow: { registerAfterMs: 1500, answerAfterMs: 3000 } }),
    () => w.ccc.inject({ action: 'UploadIvrAudio', http: 502 }),
    () => w.ccc.inject({ action: 'DescribeIvrAudioList', code: 'InternalError' }),
  ];
  for (let t = 0; t < 10000; t += 250) {
    w.later(t, () => {
      if (r() < 0.12) {
        cosFaults[Math.floor(r() * cosFaults.length)]();
        w.figures.cosFaults++;
      }
      if (r() < 0.08) {
        cccFaults[Math.floor(r() * cccFaults.length)]();
        w.figures.cccFaults++;
      }
    });
  }
  // Three files registered elsewhere on this SdkAppId: CCC's count fills before ours.
  w.later(1000, () => w.ccc.registerForeign(1400000009, 3));
  // 72 files in about six seconds, four of them bad.
  for (let i = 0; i < 72; i++) {
    const key = `${PREFIX}s${seed}/f${String(i).padStart(2, '0')}.${i % 5 === 0 ? 'wav' : 'mp3'}`;
    let body = i % 5 === 0 ? wav(300 + i * 7, seed * 100 + i) : mp3(8 + (i % 9), seed * 1000 + i);
    let ok = true;
    if (i === 17) [body, ok] = [PNG, false];
    if (i === 33) [body, ok] = [body.subarray(0, body.length - 200), false];
    if (i === 51) [body, ok] = [Buffer.alloc(0), false];
    keys.push(key);
    if (ok) eligible.add(key);
    w.later(r() * 6000, () => {
      w.put(key, body);
      const killer = r() < 0.08 ? 50 + r() * 1500 : undefined;
      w.deliver(key, (_inv, sim) => {
        if (killer === undefined) return;
        const process = sim.lastStarted;
        setTimeout(() => {
          if (sim.kill(process)) w.figures.killsRandom++;
        }, killer);
      });
      if (r() < 0.08) {
        w.figures.duplicates++;
        w.deliver(key);
      }
      if (r() < 0.08) {
        w.figures.duplicates++;
        w.later(1000 + r() * 4000, () => w.deliver(key));
      }
    });
  }
  await w.settled();
  w.cos.clearFaults();
  w.ccc.clearFaults();
  w.cos.onCommitted = undefined;
  w.ccc.onRequest = undefined;
  // The timer's turn: its passes report the day that ended, announce rejections, under faults.
  reviewFiles(w, r);
  const disarm = armTimerFaults(w, r);
  w.figures.recoveryPasses = await recoverUntilClean(w, true);
  reviewFiles(w, r);
  w.figures.recoveryPasses += await webhookSteps(w, WEBHOOK_STEPS, disarm);
  const violations = w.check(keys, eligible);
  if (violations.length) dumpLedger(w, `seed-${seed}`);
  collect(w, keys);
  await w.stop();
  return { name: `seed ${seed}`, violations, figures: w.figures, ms: Date.now() - started };
}

/** The ledger and the objects' metadata as they ended, next to the logs, for a failed run. */
function dumpLedger(w: World, name: string): void {
  const out: Record<string, unknown> = {};
  for (const k of w.cos.keys(BUCKET)) {
    const o = w.cos.object(BUCKET, k)!;
    out[k] = k.startsWith(LEDGER) ? o.body.toString('utf8').slice(0, 4000) : o.meta;
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, `${name}-ledger.json`), JSON.stringify(out, null, 1));
}

function collect(w: World, keys: string[]): void {
  const f = w.figures;
  f.files = keys.length;
  f.registered = w.ccc.files.filter((x) => x.source).length;
  f.calls = w.ccc.uploadCalls().length;
  f.callsRefusedRate = w.ccc.uploadCalls().filter((c) => c.result === 'RequestLimitExceeded').length;
  f.callsRefusedQuota = w.ccc.uploadCalls().filter((c) => c.result === 'FailedOperation.UploadFileOverflow').length;
  f.uploaded = keys.filter((k) => w.cos.object(BUCKET, k)?.meta['ivr-status'] === 'uploaded').length;
  f.failed = keys.filter((k) => w.cos.object(BUCKET, k)?.meta['ivr-status'] === 'failed').length;
  f.deferred = keys.filter((k) => w.cos.object(BUCKET, k)?.meta['ivr-status'] === 'deferred').length;
  f.cosRequests = w.cos.requests.length;
  f.processes = new Set([...w.upload.done, ...w.recovery.done].map((i) => i.pid)).size;
}

/** A small deterministic run around one fault. */
async function scenario(
  name: string,
  body: (w: World) => Promise<{ keys: string[]; eligible?: string[] }>,
  opts: Partial<{ dailyQuota: number; cccDailyQuota: number; midnightMs: number; after: (w: World) => Promise<string[]> }> = {},
): Promise<RunResult> {
  const started = Date.now();
  const w = new World({ clockOffsetMs: opts.midnightMs === undefined ? midnightIn(-6 * 3600000) : midnightIn(opts.midnightMs), listLagMs: 1000, dailyQuota: opts.dailyQuota ?? 50, cccDailyQuota: opts.cccDailyQuota, random: rng(7), redeliveryMs: REDELIVERY_MS, env: SCALED, logFile: path.join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-')}.log`) });
  await w.start();
  const { keys, eligible } = await body(w);
  await w.settled();
  w.cos.clearFaults();
  w.ccc.clearFaults();
  w.cos.onCommitted = undefined;
  w.ccc.onRequest = undefined;
  w.figures.recoveryPasses = await recoverUntilClean(w, opts.midnightMs !== undefined);
  const expected = opts.after ? await opts.after(w) : [];
  const violations = [...w.check(keys, new Set(eligible ?? keys)), ...expected];
  collect(w, keys);
  await w.stop();
  return { name, violations, figures: w.figures, ms: Date.now() - started };
}

const SCENARIOS: Record<string, () => Promise<RunResult>> = {
  'claimer killed before queueing': () =>
    scenario('claimer killed before queueing', async (w) => {
      // The intake dies right after its first ledger write; SCF delivers again.
      let armed = true;
      w.cos.onCommitted = (i) => {
        if (armed && i.key.includes('/queue/') && w.upload.kill(i.secretId)) [armed, w.figures.killsAfterWrite] = [false, 1];
      };
      w.put(`${PREFIX}a.mp3`, mp3(10, 1));
      w.deliver(`${PREFIX}a.mp3`);
      return { keys: [`${PREFIX}a.mp3`] };
    }),
  'claimer killed before queueing, never redelivered': () =>
    scenario('claimer killed before queueing, never redelivered', async (w) => {
      // Only the recovery pass can finish it (after the job lease).
      let armed = true;
      w.cos.onCommitted = (i) => {
        if (armed && i.key.includes('/jobs/') && w.upload.kill(i.secretId)) [armed, w.figures.killsAfterWrite] = [false, 1];
      };
      w.put(`${PREFIX}b.mp3`, mp3(10, 2));
      w.figures.invocations++;
      await w.upload.invoke(w.event(`${PREFIX}b.mp3`));
      return { keys: [`${PREFIX}b.mp3`] };
    }),
  'write-back of deferred failing': () =>
    scenario(
      'write-back of deferred failing',
      async (w) => {
        // Quota 1: the second file is deferred, and every write of its `deferred` status fails.
        w.put(`${PREFIX}first.mp3`, mp3(10, 3));
        w.deliver(`${PREFIX}first.mp3`);
        await w.settled();
        w.put(`${PREFIX}second.mp3`, mp3(10, 4));
        w.cos.inject({ op: 'COPY', keyPrefix: `${PREFIX}second`, after: 1, status: 503, code: 'ServiceUnavailable', times: 16 });
        w.deliver(`${PREFIX}second.mp3`);
        await w.settled();
        // The quota day ends; the recovery pass must still release and send it.
        await sleep(Math.max(0, midnightWait(w)));
        return { keys: [`${PREFIX}first.mp3`, `${PREFIX}second.mp3`] };
      },
      { dailyQuota: 1, midnightMs: 9000 },
    ),
  'quota raised during the day': () => {
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `${PREFIX}raise/${n}.mp3`);
    const status = (w: World) => keys.map((k) => w.cos.object(BUCKET, k)?.meta['ivr-status'] ?? 'none').join(',');
    return scenario(
      'quota raised during the day',
      async (w) => {
        // Quota 2 (CCC's own limit is 50): a and b take the day; c, d and e are deferred.
        for (const [i, k] of keys.slice(0, 5).entries()) {
          w.put(k, mp3(8 + i, 200 + i));
          w.deliver(k);
          await w.settled();
        }
        // Redeployed with quota 4, then f is dropped. The instance that next appends to the send
        // log dies right after, and the first call made after the raise dies in it: c and d, the
        // oldest deferred files, must still take the day's two new slots, once each; e and f wait.
        w.redeployQuota(4);
        const kill = (id: string) => w.upload.kill(id) || w.recovery.kill(id);
        let leases = 0;
        w.cos.onCommitted = (i) => {
          if (/\/send\/\d+$/.test(i.key) && ++leases === 1 && kill(i.secretId)) w.figures.killsAfterWrite++;
        };
        let calls = 0;
        w.ccc.onRequest = (c) => {
          if (c.action === 'UploadIvrAudio' && ++calls === 1 && kill(c.secretId!)) w.figures.killsInCall++;
        };
        w.put(keys[5], mp3(13, 205));
        w.deliver(keys[5]);
        return { keys };
      },
      {
        dailyQuota: 2,
        cccDailyQuota: 50,
        after: async (w) => {
          const want = 'uploaded,uploaded,uploaded,uploaded,deferred,deferred';
          return [
            ...(status(w) === want ? [] : [`a–f ended ${status(w)}, expected ${want} (the oldest deferred first, the same day)`]),
            ...(w.figures.killsAfterWrite === 1 && w.figures.killsInCall === 1 ? [] : [`expected a kill after a send-log append and one in a call, got ${w.figures.killsAfterWrite} and ${w.figures.killsInCall}`]),
          ];
        },
      },
    );
  },
  'slow registration': () =>
    scenario('slow registration', async (w) => {
      // CCC registers after the client gave up and answers later still: adopted, never sent twice.
      w.ccc.inject({ action: 'UploadIvrAudio', slow: { registerAfterMs: 1500, answerAfterMs: 3000 } });
      w.put(`${PREFIX}slow.mp3`, mp3(10, 5));
      w.deliver(`${PREFIX}slow.mp3`);
      return { keys: [`${PREFIX}slow.mp3`] };
    }),
  'lost answer': () =>
    scenario('lost answer', async (w) => {
      w.ccc.inject({ action: 'UploadIvrAudio', resetAfterCommit: true });
      w.put(`${PREFIX}lost.mp3`, mp3(10, 6));
      w.deliver(`${PREFIX}lost.mp3`);
      return { keys: [`${PREFIX}lost.mp3`] };
    }),
  'sender killed holding the lease': () =>
    scenario('sender killed holding the lease', async (w) => {
      // A burst; the instance that takes the accepting lease dies right after taking it, and the
      // one making the next call dies in the middle of it.
      let leases = 0;
      w.cos.onCommitted = (i) => {
        if (/\/send\/\d+$/.test(i.key) && ++leases === 2 && w.upload.kill(i.secretId)) w.figures.killsAfterWrite++;
      };
      let calls = 0;
      w.ccc.onRequest = (c) => {
        if (c.action === 'UploadIvrAudio' && ++calls === 2 && w.upload.kill(c.secretId!)) w.figures.killsInCall++;
      };
      const keys = Array.from({ length: 8 }, (_, i) => `${PREFIX}burst/k${i}.mp3`);
      for (const [i, k] of keys.entries()) {
        w.put(k, mp3(8 + i, 100 + i));
        w.deliver(k);
      }
      return { keys };
    }),
  'timer killed once WeCom took its posts': () => {
    // The pass that reports the day that ended dies after WeCom took the report, before its
    // answer; so does the pass that announces a rejection. A lease later each is posted again,
    // once (the group sees it twice: at least once, never more than that), and the outbox is empty.
    const key = `${PREFIX}rejected.mp3`;
    const killPoster = (w: World) => () => {
      const busy = w.recovery.busy();
      if (busy.length === 1 && w.recovery.kill(busy[0])) w.figures.killsInPost = (w.figures.killsInPost ?? 0) + 1;
      return 'take-and-drop' as const;
    };
    return scenario(
      'timer killed once WeCom took its posts',
      async (w) => {
        w.put(key, mp3(10, 7));
        w.deliver(key);
        w.wecom.onPost = killPoster(w);
        return { keys: [key] };
      },
      {
        after: async (w) => {
          const file = w.ccc.files.find((f) => f.source?.key === key);
          if (file) w.ccc.review(file.FileId, 2);
          w.advance(6 * 60_000); // past the verdict's late-write wait: the pass announces it
          await w.recover();
          w.wecom.onPost = undefined;
          w.advance(OUTBOX_LEASE_MS + 60_000); // past both records' lease: each posted again
          await w.recover();
          const taken = w.wecom.accepted;
          const reports = taken.filter((c) => c.startsWith('**IVR audio quota ')).length;
          const rejections = taken.filter((c) => c.includes(key)).length;
          return [
            ...(w.figures.killsInPost === 2 ? [] : [`expected 2 posters killed, got ${w.figures.killsInPost ?? 0}`]),
            ...(reports === 2 ? [] : [`the report was taken ${reports} times, expected 2`]),
            ...(rejections === 2 ? [] : [`the rejection was taken ${rejections} times, expected 2`]),
          ];
        },
      },
    );
  },
};

/** How long until the world's quota day ends (its clock is shifted). */
function midnightWait(w: World): number {
  return DAY - ((w.now() + CST) % DAY) + 500;
}

function print(r: RunResult): void {
  const status = r.violations.length === 0 ? 'ok' : `${r.violations.length} VIOLATION(S)`;
  process.stdout.write(`\n${r.name}: ${status} in ${(r.ms / 1000).toFixed(1)} s\n`);
  process.stdout.write(`  ${Object.entries(r.figures).map(([k, v]) => `${k} ${v}`).join(' · ')}\n`);
  for (const v of r.violations.slice(0, 20)) process.stdout.write(`  ✗ ${v}\n`);
  if (r.violations.length) process.stdout.write(`  function logs: ${path.relative(process.cwd(), ARTIFACTS)}/\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, seeds: { type: 'string' }, scenarios: { type: 'boolean' }, scenario: { type: 'string' } }, strict: true });
  if (!fs.existsSync(path.join(ROOT, 'dist', 'package', 'ivr_upload.js'))) throw new Error('dist/package is missing: run npm run build first');
  const runs: Array<() => Promise<RunResult>> = [];
  if (values.scenarios) runs.push(...Object.values(SCENARIOS));
  if (values.scenario) {
    const s = SCENARIOS[values.scenario];
    if (!s) throw new Error(`no scenario "${values.scenario}"; there are: ${Object.keys(SCENARIOS).join(', ')}`);
    runs.push(s);
  }
  const seeds = [...(values.seed ? [values.seed] : []), ...(values.seeds ? values.seeds.split(',') : [])].map(Number);
  for (const s of seeds) {
    if (!Number.isInteger(s)) throw new Error('--seed takes a whole number');
    runs.push(() => seeded(s));
  }
  if (runs.length === 0) runs.push(() => seeded(1));
  let bad = 0;
  for (const run of runs) {
    const r = await run();
    print(r);
    if (r.violations.length) bad++;
  }
  process.stdout.write(`\n${runs.length - bad} of ${runs.length} run(s) kept every invariant\n`);
  process.exit(bad ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`chaos: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
