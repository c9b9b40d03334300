/**
 * A call left open by an earlier sender whose answer was lost (its file `uncertain`, CCC not yet
 * asked) keeps its display name reserved until a later sender settles that file from CCC. Closing
 * it early let a file with the same name be sent, and the uncertain file, settled by name, adopted
 * that file's registration: one file shown uploaded with another's FileId, the other registered
 * twice. (Found in review: an `uncertain` version carried no call number, so the later sender
 * counted no files to settle and closed the call.)
 */
import { loadConfig, type Env } from '../shared/core/config';
import { inCall, jobId, queuedJob, transition, visibleResult, type JobObject, type JobVersion } from '../shared/core/job';
import { callEntry, genesis, quotaDay, type LogEntry } from '../shared/core/sendlog';
import { timingFrom } from '../shared/core/timing';
import { mergeResult } from '../shared/core/metadata';
import { createLogger, setLogSink } from '../shared/runtime/log';
import { Ledger } from '../shared/store/ledger';
import { MemoryObjects } from '../shared/store/objects';
import { MemoryStore } from '../shared/store/store';
import type { Ctx } from '../shared/workflow/context';
import { handleCosEvent } from '../shared/workflow/upload';
import { runRecovery } from '../shared/workflow/recovery';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { MemoryCcc } from './memory-ccc';

const BUCKET = 'prompts-1250000000';
const ENV: Env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key', TENCENTCLOUD_REGION: 'ap-guangzhou', IVR_BUCKET: BUCKET, IVR_RETRY_BASE_MS: '10' };
beforeAll(() => setLogSink(() => undefined));

test.each([
  ['as written now', false],
  ['as the previous version wrote it, without the call number', true],
])('an uncertain file keeps its call open (and its name reserved) until it is settled; its version %s', async (_, legacy) => {
  let t = Date.parse('2026-11-25T03:00:00Z');
  const store = new MemoryStore(() => t);
  const objects = new MemoryObjects();
  const ccc = new MemoryCcc(objects, () => t);
  const config = loadConfig(ENV);
  const timing = timingFrom(config);
  /** Runs inside the CCC call of the next upload, before its answer is returned (another invocation running meanwhile). */
  let duringNextUpload: (() => Promise<void>) | undefined;
  const api: Ctx['api'] = {
    upload: async (items) => {
      const r = await ccc.upload(items);
      const during = duringNextUpload;
      duringNextUpload = undefined;
      if (during) await during();
      return r;
    },
    describe: (q) => ccc.describe(q),
  };
  const ctx = (owner: string): Ctx => ({
    config,
    timing,
    ledger: new Ledger(store, config.ledgerPrefix),
    objects,
    api,
    log: createLogger(),
    clock: { now: () => t, sleep: async (ms: number) => void (t += Math.max(0, ms)) },
    owner,
  });
  const deliver = (key: string, owner: string) => {
    const c = ctx(owner);
    return handleCosEvent(cosEvent(cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: 100 })), () => c, c.log).catch((e) => e);
  };
  const day = quotaDay(t, config.quotaUtcOffsetMinutes);
  const ledger = ctx('setup').ledger;
  const P = config.ledgerPrefix;

  // Two different prompts with the same display name `hello` (the base name of their keys).
  const K = 'prompts/b/hello.mp3';
  const J = 'prompts/a/hello.mp3';
  const jobOf = (key: string, queuedAt: number): JobVersion => {
    const o = objects.putObject(key, mp3Silence(key === K ? 3 : 4));
    const object: JobObject = { bucket: BUCKET, key, etag: o.etag, size: o.body.length, customName: 'hello', queuedAt, head: { standard: o.standard, meta: {} } };
    return queuedJob(jobId(BUCKET, key, o.etag), object, queuedAt, 'intake');
  };
  const showOn = (v: JobVersion) => objects.writeMetadata(v.object.key, v.object.etag, v.object.head.standard, mergeResult({}, visibleResult(v)));

  // The ledger as sender A left it (every record is what the code writes, built with its helpers):
  // K was queued first; its call 1 got InternalError and CCC did not hold it: retry, backing off.
  const k0 = jobOf(K, t - 130_000);
  const e1 = callEntry(genesis(day), { owner: 'A', now: t - 125_000, quota: { day, used: 0, full: false }, open: [], deferred: 0 }, { notBefore: t - 125_000, notAfter: t - 124_750, day }, [{ id: k0.id, seq: 1, name: 'hello', newSlot: true }], true, timing);
  const k1 = transition(k0, 'send', t - 125_000, 'A', { call: 1, checkAfter: t - 94_750, slot: day, newSlot: true });
  const k2 = transition(k1, 'retry', t - 124_700, 'A', { call: 1, notBefore: t - 55_000, lastError: { code: 'InternalError', message: 'db' } });
  // J was queued later and sent (K still backing off) in call 2, whose answer was lost: `uncertain`.
  // CCC never got it (the connection failed). A's term then ended (or A was killed) before the
  // call's lifetime passed, so A never settled it: call 2 stays open in the send log.
  const j0 = jobOf(J, t - 100_000);
  const e2 = callEntry(e1, { owner: 'A', now: t - 60_250, quota: e1.quota, open: [], deferred: 0 }, { notBefore: t - 60_250, notAfter: t - 60_000, day }, [{ id: j0.id, seq: 1, name: 'hello', newSlot: true }], false, timing);
  const j1 = transition(j0, 'send', t - 60_250, 'A', { call: 2, checkAfter: t - 30_000, slot: day, newSlot: true });
  const j2 = transition(j1, 'lost', t - 60_000, 'A', { checkAfter: t - 30_000, lastError: { code: 'OutcomeUnknown', message: 'no answer from CCC' } });

  expect(j2.call).toBe(2);
  if (legacy) delete j2.call;
  expect(inCall(j2, 2, j1.seq)).toBe(true);

  for (const v of [k0, k1, k2, j0, j1, j2]) await ledger.writeVersion(v);
  await ledger.enqueue(k0);
  await ledger.enqueue(j0);
  await showOn(k2);
  await showOn(j2);
  for (const e of [e1, e2] as LogEntry[]) await store.create(`${P}send/${e.n}`, JSON.stringify(e));
  await store.put(`${P}send/tail`, JSON.stringify(e2));
  expect(e2.open.map((c) => c.n)).toEqual([2]);

  // SCF redelivers K's event (its invocation ended unsettled). While K's call is in flight (its
  // answer will be lost, CCC registers it), SCF redelivers J's event too, on another instance.
  ccc.faults.push({ kind: 'lose-after-register' });
  const jRedelivery: Array<unknown> = [];
  duringNextUpload = async () => void jRedelivery.push(await deliver(J, 'j-redelivery'));
  await deliver(K, 'k-redelivery');
  // Then everything settles: recovery passes.
  for (let i = 0; i < 3; i++) {
    t += 400_000;
    await runRecovery(ctx(`recovery-${i}`), { Type: 'Timer' }).catch(() => undefined);
  }

  const regsOf = (key: string) => ccc.files.filter((f) => f.key === key && f.etag === objects.objects.get(key)!.etag);
  const report = {
    // Invariant 2: each object version registered at most once.
    kRegistrations: regsOf(K).length,
    // Invariant 1: J ends uploaded only if CCC holds J.
    jRegistrations: regsOf(J).length,
    jStatus: objects.objects.get(J)!.meta['ivr-status'],
    jFileIdIsKs: regsOf(K).some((f) => String(f.fileId) === objects.objects.get(J)!.meta['ivr-file-id']),
  };
  expect(report).toEqual({ kRegistrations: 1, jRegistrations: 1, jStatus: 'uploaded', jFileIdIsKs: false });
});
