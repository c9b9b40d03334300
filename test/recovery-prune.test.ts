/**
 * The recovery pass's one-off and daily ledger work (migration, pruning) killed or raced at the
 * points an adversarial review found: each of these failed before its fix.
 */
import { IvrError } from '../shared/core/errors';
import { jobId } from '../shared/core/job';
import { genesis, leaseEntry } from '../shared/core/sendlog';
import { setLogSink } from '../shared/runtime/log';
import { CORRUPT } from '../shared/store/ledger';
import { runRecovery } from '../shared/workflow/recovery';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { readTail } from '../shared/workflow/read-log';
import { Sender } from '../shared/workflow/sender';
import { today } from '../shared/workflow/context';
import { mp3Silence, wav } from './audio';
import type { MemoryFault } from './memory-ccc';
import { BUCKET, World } from './world';

beforeAll(() => setLogSink(() => undefined));

test('a migration killed right after it wrote a waiting job\'s first version still gets the file sent, once', async () => {
  const w = new World();
  const key = 'prompts/waiting.mp3';
  const o = w.objects.putObject(key, mp3Silence(3));
  const id = jobId(BUCKET, key, o.etag);
  const at = new Date(w.t - 3600_000).toISOString();
  // A job the previous version left queued.
  await w.store.put(`${w.prefix}jobs/${id}.json`, JSON.stringify({ v: 1, state: 'queued', bucket: BUCKET, key, etag: o.etag, customName: 'waiting', updatedAt: at, attempts: 0 }));

  // The first pass dies just after creating the job's first version (SCF's timeout, an OOM).
  let killed = false;
  w.store.hook = (op, k, phase) => {
    if (!killed && op === 'create' && phase === 'after' && k === `${w.prefix}jobs/${id}/0`) {
      killed = true;
      throw new IvrError('StorageError', 'killed');
    }
  };
  await w.recover(1);
  expect(killed).toBe(true);

  // The next passes finish the migration and send what waits.
  await w.recover(3);
  expect(w.ending(key)).toEqual({ registrations: 1, status: 'uploaded', showsOwnFileId: true });
});

test('a deferred entry left behind (its object refuses our status writes) is not turned back into a job once its chain is compacted', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  await w.upload('a', 2);
  w.t += 5000;
  await w.upload('b', 3);
  expect([w.status('a'), w.status('b')]).toEqual(['uploaded', 'deferred']);
  const key = 'prompts/b.mp3';
  // From now on COS refuses every metadata write on b (a bucket policy, an object lock): each pass
  // that finds its deferred entry reads the settled job, fails to show it, and leaves the entry.
  const write = w.objects.writeMetadata.bind(w.objects);
  w.objects.writeMetadata = async (k, etag, standard, meta) => {
    if (k === key) throw new IvrError('StorageError', `COS PUT ${k} failed: AccessDenied`);
    return write(k, etag, standard, meta);
  };
  // The next quota day sends b.
  w.t += 86_400_000;
  await w.recover(2);
  expect(w.registrations(key)).toHaveLength(1);
  const deferredEntries = () => [...w.store.objects.keys()].filter((k) => k.startsWith(`${w.prefix}deferred/`));
  expect(deferredEntries()).toHaveLength(1);

  // Past the retention: the chain is compacted, and the versions between go a day later.
  w.t += 36 * 86_400_000;
  await w.recover(1);
  w.t += 2 * 86_400_000;
  await w.recover(1);
  await w.recover(3);
  w.t += 86_400_000;
  await w.recover(3);
  expect(w.registrations(key)).toHaveLength(1);
});

test("the migration carries today's quota use of the previous version into a send log last written yesterday, and keeps yesterday's count for its report", async () => {
  const w = new World();
  const day = (ms: number) => new Date(ms + 480 * 60_000).toISOString().slice(0, 10);
  const today = day(w.t);
  const yesterday = day(w.t - 86_400_000);
  const ctx = w.ctx('yesterday');
  const e = leaseEntry(genesis(yesterday), { owner: 'yesterday', now: w.t - 86_400_000, quota: { day: yesterday, used: 7, full: false }, open: [], deferred: 0 }, w.t - 86_400_000, ctx.timing);
  await w.store.create(`${w.prefix}send/1`, JSON.stringify(e));
  await w.store.put(`${w.prefix}send/tail`, JSON.stringify(e));
  // The previous version's quota markers: three files today.
  for (let i = 0; i < 3; i++) await w.store.put(`${w.prefix}quota/${today}/${i}`, '{}');
  await w.recover(1, 1000);
  const tail = (await w.ledger.readTail())!;
  expect(tail.quota).toEqual({ day: today, used: 3, full: false });
  expect(tail.previousDay).toEqual({ day: yesterday, used: 7, full: false });
});

test('a record of the previous version that cannot be read is left where it is and named in an error line, not migrated into a version no reader accepts', async () => {
  const w = new World();
  const key = 'prompts/unnamed.mp3';
  const o = w.objects.putObject(key, mp3Silence(3));
  const id = jobId(BUCKET, key, o.etag);
  const record = `${w.prefix}jobs/${id}.json`;
  // No customName: a migrated version would lack the name CCC shows.
  await w.store.put(record, JSON.stringify({ v: 1, state: 'queued', bucket: BUCKET, key, etag: o.etag, updatedAt: new Date(w.t).toISOString(), attempts: 0 }));
  const lines = await recoverLogged(w);
  expect(await w.store.get(record)).toBeDefined();
  expect(await w.ledger.readVersion(id, 0)).toBeUndefined();
  expect(lines.filter((l) => l.includes('"LedgerCorrupt"') && l.includes(record))).toHaveLength(1);
});

test("an unreadable send/tail, once the log's first entries are pruned, does not start the log again with the day's quota unused: the newest entry listed is read forward", async () => {
  const w = new World({ IVR_DAILY_QUOTA: '2' });
  await w.upload('a', 2);
  w.t += 5000;
  await w.upload('b', 2);
  expect([w.status('a'), w.status('b')]).toEqual(['uploaded', 'uploaded']);
  // As pruning leaves a long log: its first entry gone. Then the tail is damaged.
  await w.store.delete(`${w.prefix}send/1`);
  await w.store.put(`${w.prefix}send/tail`, '{"v":2,"n":');
  w.t += 5000;
  await w.upload('c', 2);
  expect(w.status('c')).toBe('deferred');
  expect(w.calls).toHaveLength(2);
  expect(await w.store.get(`${w.prefix}send/1`)).toBeUndefined();
});

test("the migration's quota count is carried even when the published tail lags behind the log (its append collides): it is appended on the newest entry", async () => {
  const w = new World();
  const day = (ms: number) => new Date(ms + 480 * 60_000).toISOString().slice(0, 10);
  const today = day(w.t);
  const ctx = w.ctx('other');
  const changes = (now: number) => ({ owner: 'other', now, quota: { day: today, used: 0, full: false }, open: [], deferred: 0 });
  const e1 = leaseEntry(genesis(today), changes(w.t - 60_000), w.t - 60_000, ctx.timing);
  const e2 = leaseEntry(e1, changes(w.t - 30_000), w.t - 30_000, ctx.timing);
  await w.store.create(`${w.prefix}send/1`, JSON.stringify(e1));
  await w.store.create(`${w.prefix}send/2`, JSON.stringify(e2));
  // The tail was published at entry 1 only.
  await w.store.put(`${w.prefix}send/tail`, JSON.stringify(e1));
  for (let i = 0; i < 3; i++) await w.store.put(`${w.prefix}quota/${today}/${i}`, '{}');
  await w.recover(1, 1000);
  const e3 = await w.ledger.readEntryAt(3);
  expect(e3?.quota).toEqual({ day: today, used: 3, full: false });
  expect((await w.ledger.readTail())?.quota.used).toBe(3);
});

/** One recovery pass of `w`, with the log lines it wrote. */
async function recoverLogged(w: World): Promise<string[]> {
  const lines: string[] = [];
  setLogSink((l) => lines.push(l));
  try {
    await w.recover(1);
  } finally {
    setLogSink(() => undefined);
  }
  return lines;
}

/** A prompt the previous version registered: its `done` record, and CCC's registration of it. */
async function registeredByPreviousVersion(w: World, name: string, fileId: number, review: 'pending' | 'approved'): Promise<{ key: string; id: string }> {
  const key = `prompts/${name}.mp3`;
  const o = w.objects.putObject(key, mp3Silence(2));
  const id = jobId(BUCKET, key, o.etag);
  const at = new Date(w.t - 40 * 86_400_000).toISOString();
  await w.store.put(`${w.prefix}jobs/${id}.json`, JSON.stringify({ v: 1, state: 'done', bucket: BUCKET, key, etag: o.etag, customName: name, updatedAt: at, attempts: 1, result: { status: 'uploaded', fileId, audioFileName: `${name}.mp3`, requestId: 'r', review } }));
  w.ccc.files.push({ fileId, customFileName: name, audioFileName: `${name}.mp3`, status: review === 'approved' ? 1 : 0, key, etag: o.etag, at: w.t - 40 * 86_400_000 });
  return { key, id };
}

test('an object of the previous version that cannot be read for good (moved to archive storage) is migrated without its headers, and every later pass still does its work', async () => {
  const w = new World();
  const old = await registeredByPreviousVersion(w, 'old', 77, 'approved');
  const read = w.objects.read.bind(w.objects);
  w.objects.read = async (k, n) => {
    if (k === old.key) throw new IvrError('ObjectArchived', `the object ${k} is in archive storage`);
    return read(k, n);
  };
  // A file of this version whose intake vanished after writing its job: only a recovery pass sends it.
  await w.queuedByVanishedIntake('fresh', 3);
  const errors: string[] = [];
  for (let i = 0; i < 3; i++) {
    w.t += 400_000;
    await runRecovery(w.ctx(`recovery-${i}`), { Type: 'Timer' }).catch((e: unknown) => errors.push(e instanceof IvrError ? e.code : String(e)));
  }
  expect({ errors, fresh: w.ending('prompts/fresh.mp3') }).toEqual({ errors: [], fresh: { registrations: 1, status: 'uploaded', showsOwnFileId: true } });
  const migrated = await w.ledger.readVersion(old.id, 0);
  expect(migrated !== CORRUPT && migrated?.upload?.fileId).toBe(77);
});

test("a registration the previous version made is on record as its job's: a lost answer for a new file of the same display name does not take it for its own", async () => {
  const w = new World();
  const old = await registeredByPreviousVersion(w, 'greeting', 77, 'approved');
  await w.recover(1);
  expect(await w.ledger.fileOwner(77)).toBe(old.id);

  // The operator drops a new recording of the prompt under the same name; its call's answer is
  // lost before CCC registered anything.
  let lose = true;
  w.answer = async () => {
    if (!lose) return undefined;
    lose = false;
    return { ok: false, failure: { kind: 'network', code: 'NetworkError', message: 'socket hang up' } };
  };
  w.objects.putObject(old.key, mp3Silence(4));
  await w.deliver(old.key, 'intake-new');
  await w.recover(4);
  expect(w.ending(old.key)).toEqual({ registrations: 1, status: 'uploaded', showsOwnFileId: true });
});

test('a review the previous version left pending is refreshed after the migration', async () => {
  const w = new World();
  const old = await registeredByPreviousVersion(w, 'hold', 78, 'pending');
  await w.recover(1);
  w.ccc.files.find((f) => f.fileId === 78)!.status = 1;
  await w.recover(2);
  expect(w.objects.objects.get(old.key)!.meta['ivr-review']).toBe('approved');
});

test("a converted copy the daily prune dooms is not the one a re-upload of the same bytes just made: the rerun's copy is its own", async () => {
  const w = new World();
  const key = 'prompts/studio.wav';
  const studio = wav({ rate: 44100, channels: 2, seconds: 40, signal: (t, c) => 0.3 * Math.sin(2 * Math.PI * (c ? 330 : 440) * t) });
  // Sent as an 8 kHz copy; CCC refuses it: the job is final (failed), its copy kept for a day.
  w.refuseNextCall();
  w.objects.putObject(key, studio, {}, 'audio/wav');
  await w.deliver(key, 'intake-1');
  expect(w.objects.objects.get(key)!.meta['ivr-status']).toBe('failed');
  // In COS the copies and the ledger share the bucket; here the ledger's listing and deletes of
  // `converted/` reach the objects.
  const isCopy = (k: string) => k.startsWith(`${w.prefix}converted/`);
  const copies = () => [...w.objects.objects.keys()].filter(isCopy);
  expect(copies()).toHaveLength(1);
  const list = w.store.list.bind(w.store);
  w.store.list = async (prefix, limit) => (isCopy(prefix) ? copies().map((k) => ({ key: k, lastModified: w.objects.objects.get(k)!.lastModified })) : list(prefix, limit));
  // Two days on, the first pass of the day prunes. Between its check of the job (failed: the copy
  // may go) and its delete, the operator uploads the same bytes again (a rerun of the same job).
  const deleteMany = w.store.deleteMany.bind(w.store);
  let rerun = false;
  w.store.deleteMany = async (keys) => {
    if (!rerun && keys.some(isCopy)) {
      rerun = true;
      // Its calls meet CCC errors for as long as its intake runs: the rerun waits to be sent
      // again, by a later pass, after the delete.
      w.ccc.faults.push(...Array.from({ length: 50 }, (): MemoryFault => ({ kind: 'fail', failure: { kind: 'api', code: 'InternalError', message: 'injected' } })));
      w.objects.putObject(key, studio, {}, 'audio/wav');
      await w.deliver(key, 'intake-2');
      w.ccc.faults.length = 0;
    }
    for (const k of keys.filter(isCopy)) w.objects.objects.delete(k);
    return deleteMany(keys.filter((k) => !isCopy(k)));
  };
  w.t += 2 * 86_400_000;
  await w.recover(3);
  expect(rerun).toBe(true);
  // Registered once, from a copy CCC could read (the memory CCC names a file by the key it read).
  const meta = w.objects.objects.get(key)!.meta;
  expect({ status: meta['ivr-status'], registered: w.ccc.files.map((f) => ({ fileId: String(f.fileId), copy: isCopy(f.key) })) }).toEqual({ status: 'uploaded', registered: [{ fileId: meta['ivr-file-id'], copy: true }] });
});

test('a newer upload of the same name whose answer is lost before the migration ran does not take a registration of the previous version', async () => {
  const w = new World();
  const old = await registeredByPreviousVersion(w, 'greeting', 77, 'approved');
  // Deployed; before the first timer pass, a new recording of the prompt is dropped under another
  // key with the same display name, and its call's answer is lost (CCC got nothing).
  let lose = true;
  w.answer = async () => {
    if (!lose) return undefined;
    lose = false;
    return { ok: false, failure: { kind: 'network', code: 'NetworkError', message: 'socket hang up' } };
  };
  const key = 'prompts/new/greeting.mp3';
  w.objects.putObject(key, mp3Silence(4));
  await w.deliver(key, 'intake-new');
  // Its sender, settling it by name, found FileId 77 with no owner on record: the old job's, which
  // it recorded before judging (before this, the new file took it, and a pass only said so).
  expect(await w.ledger.fileOwner(77)).toBe(old.id);
  const lines = await recoverLogged(w);
  expect(await w.ledger.fileOwner(77)).toBe(old.id);
  expect(lines.filter((l) => l.includes('taken by a newer upload'))).toEqual([]);
  const meta = w.objects.objects.get(key)!.meta;
  const registered = w.ccc.files.filter((f) => f.customFileName === 'greeting').map((f) => f.fileId);
  expect({ status: meta['ivr-status'], fileId: Number(meta['ivr-file-id']), registered: registered.length }).toEqual({ status: 'uploaded', fileId: registered.find((id) => id !== 77), registered: 2 });
});

test("a `sending` write that lands after its call's window, its sender killed just after: the slot the pruner gave back is not used again by the file (a fault run put 51 files into a 50-file day)", async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  const aKey = 'prompts/a.mp3';
  // a's `sending` write is slow: the window closes while it is under way, and a newcomer prunes
  // the call meanwhile (it found no `sending` version: the slot comes back) and dies after its
  // entry. Then the write lands, and a's sender is killed before it can move the file back.
  const create = w.store.create.bind(w.store);
  let late = false;
  w.store.create = async (key, body) => {
    if (late || !key.startsWith(`${w.prefix}jobs/`) || !body.includes('"state":"sending"') || !body.includes(aKey)) return create(key, body);
    late = true;
    w.t += 2000;
    const c = w.ctx('newcomer');
    const got = await Sender.acquire(c, await readTail(c, today(c)), []);
    expect(got.sender).toBeDefined();
    await create(key, body);
    throw new IvrError('StorageError', 'killed');
  };
  await w.upload('a', 2);
  expect(late).toBe(true);
  // b is dropped. a, dropped first and never in a call, takes the day's one slot (b's sender lists
  // the queue: the day had been filled, so no lone call may pass a file waiting since); b waits.
  // Had a been sent on the slot given back as if it still held it, b would have gone with it: two
  // files on a day of one.
  w.t += 5000;
  await w.upload('b', 3);
  await w.recover(3);
  expect({ calls: w.calls.map((c) => c.names.join(',')), a: w.status('a'), b: w.status('b') }).toEqual({ calls: ['a'], a: 'uploaded', b: 'deferred' });
});

test('the same on a warm instance, whose `sending` version is the job\'s first: the pruner fences it from the queue entry', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '2' });
  // One instance for x and then a: warm for a, it leaves a's version 0 to the call.
  const warm = w.ctx('warm');
  const deliver = (name: string, seconds: number) => {
    const key = `prompts/${name}.mp3`;
    w.objects.putObject(key, mp3Silence(seconds));
    return handleCosEvent(cosEvent(cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: w.objects.objects.get(key)!.body.length })), () => warm, warm.log).catch((e: unknown) => e);
  };
  await deliver('x', 2);
  w.t += 5000;
  const create = w.store.create.bind(w.store);
  let late: string | undefined;
  w.store.create = async (key, body) => {
    if (late || !key.startsWith(`${w.prefix}jobs/`) || !body.includes('"state":"sending"') || !body.includes('prompts/a.mp3')) return create(key, body);
    late = key;
    w.t += 2000;
    const c = w.ctx('newcomer');
    await Sender.acquire(c, await readTail(c, today(c)), []);
    await create(key, body);
    throw new IvrError('StorageError', 'killed');
  };
  await deliver('a', 3);
  expect(late).toMatch(/\/0$/);
  w.t += 5000;
  await w.upload('b', 3);
  await w.recover(3);
  expect({ calls: w.calls.map((c) => c.names.join(',')), a: w.status('a'), b: w.status('b') }).toEqual({ calls: ['x', 'a'], a: 'uploaded', b: 'deferred' });
});
