/**
 * "Every eligible object shows a status as soon as its first invocation returns", and the status it
 * ends with is its job's newest, for a file its warm instance meant to send at once without
 * showing `queued` first (see shared/workflow/handoff.ts). In process, with metadata writes that
 * another sender overtakes or that COS refuses once.
 */
import { loadConfig, type Env } from '../shared/core/config';
import { IvrError } from '../shared/core/errors';
import { parseJobVersion, transition, type JobVersion } from '../shared/core/job';
import { callEntry, leaseEntry } from '../shared/core/sendlog';
import { timingFrom } from '../shared/core/timing';
import { createLogger, setLogSink } from '../shared/runtime/log';
import { Ledger, SeenEntry } from '../shared/store/ledger';
import { MemoryObjects, type AudioObjects } from '../shared/store/objects';
import { MemoryStore } from '../shared/store/store';
import type { Ctx } from '../shared/workflow/context';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { MemoryCcc } from './memory-ccc';
import { webhookPoster } from '../shared/sdk/webhook';

const BUCKET = 'prompts-1250000000';
const ENV: Env = { CCC_SDK_APP_ID: '1400000001', TENCENTCLOUD_SECRETID: 'id', TENCENTCLOUD_SECRETKEY: 'key', TENCENTCLOUD_REGION: 'ap-guangzhou', IVR_BUCKET: BUCKET, IVR_RETRY_BASE_MS: '10' };
beforeAll(() => setLogSink(() => undefined));

/** Metadata writes go through `hook` when set: it decides when (and whether) the write commits. */
type MetaHook = (key: string, meta: Record<string, string>, commit: () => Promise<void>) => Promise<void>;

class World {
  t = Date.parse('2026-11-25T03:00:00Z');
  readonly store = new MemoryStore(() => this.t);
  readonly objects = new MemoryObjects(() => this.t);
  readonly ccc = new MemoryCcc(this.objects, () => this.t);
  readonly config = loadConfig(ENV);
  /** One warm instance's memory of the send log. */
  readonly seen = new SeenEntry();
  hook?: MetaHook;

  ctx(owner: string): Ctx {
    const objects: AudioObjects = {
      read: (k, m) => this.objects.read(k, m),
      stat: (k) => this.objects.stat(k),
      writeMetadata: async (k, e, s, m) => {
        const commit = () => this.objects.writeMetadata(k, e, s, m);
        return this.hook ? this.hook(k, m, commit) : commit();
      },
      signedUrl: (k) => this.objects.signedUrl(k),
      putBytes: (k, b, c) => this.objects.putBytes(k, b, c),
    };
    const clock = { now: () => this.t, sleep: async (ms: number) => void (this.t += Math.max(0, ms)) };
    return { config: this.config, timing: timingFrom(this.config), ledger: new Ledger(this.store, this.config.ledgerPrefix, undefined, this.seen), objects, api: this.ccc, webhook: webhookPoster(clock.sleep), log: createLogger(), clock, owner };
  }

  async deliver(key: string, i: number) {
    this.objects.putObject(key, mp3Silence(3 + i));
    const ctx = this.ctx(`inv-${i}`);
    return handleCosEvent(cosEvent(cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: 100 })), () => ctx, ctx.log);
  }

  /** A warm instance that sent a file, a minute ago: it last saw the system idle. */
  static async warm(): Promise<World> {
    const w = new World();
    await w.deliver('prompts/earlier.mp3', 0);
    w.t += 60_000;
    return w;
  }

  status = (key: string) => this.objects.objects.get(key)!.meta['ivr-status'];

  async head(key: string): Promise<JobVersion> {
    const versions: JobVersion[] = [];
    for (const l of await this.store.list(`${this.config.ledgerPrefix}jobs/`)) {
      const v = parseJobVersion((await this.store.get(l.key))!);
      if (v?.object.key === key) versions.push(v);
    }
    return versions.sort((a, b) => b.seq - a.seq)[0];
  }
}

test('a deferral whose metadata write COS refuses once still ends shown: the hand-off shows it', async () => {
  const w = await World.warm();
  w.ccc.faults.push({ kind: 'fail', failure: { kind: 'api', code: 'FailedOperation.UploadFileOverflow', message: 'daily limit reached' } });
  let refused = false;
  w.hook = async (key, meta, commit) => {
    if (key === 'prompts/x.mp3' && meta['ivr-status'] === 'deferred' && !refused) {
      refused = true;
      throw new IvrError('StorageError', 'COS answered 503', { transient: true });
    }
    return commit();
  };
  const r = await w.deliver('prompts/x.mp3', 1);
  expect(refused).toBe(true);
  expect(r.results[0]).toMatchObject({ status: 'deferred' });
  expect(w.status('prompts/x.mp3')).toBe('deferred');
});

test('a metadata write COS keeps refusing: the function asks SCF to deliver again rather than return with the object blank', async () => {
  const w = await World.warm();
  w.hook = async (key, _meta, commit) => {
    if (key === 'prompts/x.mp3') throw new IvrError('StorageError', 'COS answered 503', { transient: true });
    return commit();
  };
  await expect(w.deliver('prompts/x.mp3', 1)).rejects.toMatchObject({ code: 'RetryScheduled' });
  expect(w.objects.objects.get('prompts/x.mp3')!.meta['ivr-status']).toBeUndefined();
  expect(w.ccc.files.filter((f) => f.key === 'prompts/x.mp3')).toHaveLength(1); // registered once all the same
});

test("a late `queued` that another sender's outcome overtakes twice: the object still ends with the newest word", async () => {
  const w = await World.warm();
  // Another instance holds an accepting lease the warm instance does not know of.
  const ctx = w.ctx('other');
  const tail = (await ctx.ledger.readTail())!;
  const remembered = w.seen.entry;
  const other = leaseEntry(tail, { owner: 'other', now: w.t, quota: tail.quota, open: [], deferred: 0 }, w.t + 5000, ctx.timing);
  await w.store.create(`${w.config.ledgerPrefix}send/${other.n}`, JSON.stringify(other));
  await w.store.put(`${w.config.ledgerPrefix}send/tail`, JSON.stringify(other));
  w.seen.entry = remembered;
  const key = 'prompts/late.mp3';
  let writes = 0;
  w.hook = async (k, meta, commit) => {
    if (k !== key) return commit();
    writes++;
    const head = await w.head(key);
    if (writes === 1) {
      // Our late `queued` lands; the other sender then puts the file in its call (not shown).
      await commit();
      await ctx.ledger.writeVersion(transition(head, 'send', w.t, 'other', { call: 9, checkAfter: w.t + 60_000, slot: '2026-11-25', newSlot: true }));
      return;
    }
    if (writes === 2) {
      // We show what we read (`sending`, shown as queued) slowly: the other sender registers the
      // file and shows `uploaded` first, and our stale write lands after it.
      const done = transition(head, 'registered', w.t, 'other', { call: 9, upload: { fileId: 4242, audioFileName: 'late.mp3', requestId: 'r-1', review: 'pending' } });
      await ctx.ledger.writeVersion(done);
      await w.objects.writeMetadata(key, done.object.etag, done.object.head.standard, { ...meta, 'ivr-status': 'uploaded' });
      return commit();
    }
    return commit();
  };
  const r = await w.deliver(key, 2);
  expect(writes).toBe(3);
  expect((await w.head(key)).state).toBe('uploaded');
  expect(w.status(key)).toBe('uploaded');
  expect(r.results[0]).toMatchObject({ status: 'uploaded', fileId: 4242 });
});

test('a file its warm instance meant to send at once, but whose call must wait a gap after another instance’s, shows `queued` before it waits', async () => {
  const w = await World.warm();
  // Another instance made a lone call just now (the warm instance does not know): ours waits a gap.
  const ctx = w.ctx('other');
  const tail = (await ctx.ledger.readTail())!;
  const remembered = w.seen.entry;
  const call = callEntry(tail, { owner: 'other', now: w.t, quota: tail.quota, open: [], deferred: 0 }, { notBefore: w.t, notAfter: w.t + 250, day: tail.quota.day }, [], false, ctx.timing);
  await w.store.create(`${w.config.ledgerPrefix}send/${call.n}`, JSON.stringify(call));
  await w.store.put(`${w.config.ledgerPrefix}send/tail`, JSON.stringify(call));
  w.seen.entry = remembered;
  const shown: Array<[string, number]> = [];
  w.hook = async (k, meta, commit) => {
    if (k === 'prompts/wait.mp3') shown.push([meta['ivr-status'], w.ccc.calls.length]);
    return commit();
  };
  const callsBefore = w.ccc.calls.length;
  const r = await w.deliver('prompts/wait.mp3', 3);
  expect(r.results[0]).toMatchObject({ status: 'uploaded' });
  expect(shown).toEqual([
    ['queued', callsBefore],
    ['uploaded', callsBefore + 1],
  ]);
});
