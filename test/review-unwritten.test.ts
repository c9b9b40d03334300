/**
 * Review of the unwritten version 0 (JobVersion.unwritten): scenarios on a virtual clock.
 */
import { setLogSink } from '../shared/runtime/log';
import { jobId } from '../shared/core/job';
import { handleCosEvent } from '../shared/workflow/upload';
import { cosEvent, cosEventRecord } from '../scripts/local/fakes/events';
import { mp3Silence } from './audio';
import { BUCKET, REGISTERED_ONCE, World } from './world';

beforeAll(() => setLogSink(() => undefined));

/** A warm instance: one Ledger (its memory of the send log) across its invocations. */
function warmInstance(w: World, owner: string) {
  const ledger = w.ledger;
  return (key: string) => {
    const c = { ...w.ctx(owner), ledger };
    const rec = cosEventRecord({ bucket: BUCKET, region: 'ap-guangzhou', key, size: w.objects.objects.get(key)?.body.length ?? 100 });
    return w.spawn(handleCosEvent(cosEvent(rec), () => c, c.log));
  };
}

test('a warm lone call that misses its window while another sender takes the lease: that sender sends the file, not the recovery pass', async () => {
  const w = new World({}, true);
  const a = warmInstance(w, 'warm-A');
  w.objects.putObject('prompts/first.mp3', mp3Silence(2));
  void a('prompts/first.mp3');
  await w.settle();
  expect(w.status('first')).toBe('uploaded');
  w.t += 60_000;

  // k on the warm instance (it saw the system idle): a lone call. COS is slow to answer the create
  // of k's `sending` version (300 ms): the call's window is missed. Meanwhile b arrives on another
  // instance and takes the lease over (a lone call promises nothing), accepting others' files.
  const o = w.objects.putObject('prompts/k.mp3', mp3Silence(3));
  const kId = jobId(BUCKET, 'prompts/k.mp3', o.etag);
  const create = w.store.create.bind(w.store);
  let slowed = false;
  w.store.create = async (key, body) => {
    const ok = await create(key, body);
    if (!slowed && key.includes(`/jobs/${kId}/`) && (JSON.parse(body) as { state: string }).state === 'sending') {
      slowed = true;
      void w.drop('b');
      await w.sleep(300);
    }
    return ok;
  };
  const k = a('prompts/k.mp3');
  await w.settle();
  expect(slowed).toBe(true);
  await k;
  // The accepting sender (b's) sends k within its term, as it did before the change: k's intake
  // answered `queued` without asking SCF to deliver again, so nobody else would until the
  // recovery pass. (Before the fix: k stayed `queued`; b's sender read k's entry, which names
  // the `sending` version 0, and parked k as in flight until that call's lifetime had passed.)
  expect({ k: w.ending('prompts/k.mp3'), b: w.ending('prompts/b.mp3') }).toEqual({ k: REGISTERED_ONCE, b: REGISTERED_ONCE });
  // Three files attempted: the missed call's slot came back once.
  let n = 1;
  while (await w.ledger.readEntryAt(n + 1)) n++;
  expect((await w.ledger.readEntryAt(n))!.quota.used).toBe(3);
});

test('the same event delivered at once to two warm instances that saw the system idle: registered once, one slot counted, nothing left queued', async () => {
  const w = new World({}, true);
  const a = warmInstance(w, 'warm-A');
  const b = warmInstance(w, 'warm-B');
  w.objects.putObject('prompts/first.mp3', mp3Silence(2));
  void a('prompts/first.mp3');
  await w.settle();
  w.objects.putObject('prompts/second.mp3', mp3Silence(2));
  void b('prompts/second.mp3');
  await w.settle();
  w.t += 60_000;
  const od = w.objects.putObject('prompts/d.mp3', mp3Silence(3));
  const dId = jobId(BUCKET, 'prompts/d.mp3', od.etag);
  const creates: Array<{ state: string; ok: boolean }> = [];
  const create = w.store.create.bind(w.store);
  w.store.create = async (key, body) => {
    const ok = await create(key, body);
    if (key.endsWith(`/jobs/${dId}/0`)) creates.push({ state: (JSON.parse(body) as { state: string }).state, ok });
    return ok;
  };
  void a('prompts/d.mp3');
  void b('prompts/d.mp3');
  await w.settle();
  expect(w.ending('prompts/d.mp3')).toEqual(REGISTERED_ONCE);
  // Both left version 0 unwritten: one created it, the other's create found the job there.
  expect(creates.map((c) => c.ok).sort()).toEqual([false, true]);
  let n = 1;
  while (await w.ledger.readEntryAt(n + 1)) n++;
  // Slots given back by the next sender's pruning at the latest: a file dropped later counts 4.
  w.t += 60_000;
  w.objects.putObject('prompts/e.mp3', mp3Silence(2));
  void a('prompts/e.mp3');
  await w.settle();
  while (await w.ledger.readEntryAt(n + 1)) n++;
  expect({ e: w.status('e'), used: (await w.ledger.readEntryAt(n))!.quota.used, queue: [...w.store.objects.keys()].filter((k) => k.includes('/queue/')) }).toEqual({ e: 'uploaded', used: 4, queue: [] });
});
