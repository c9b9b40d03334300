/**
 * Pruning keeps what tells a delivery that its object version was handled: a settled chain older
 * than the retention shrinks to its version 0 (holding the head), and the versions between go a
 * day later. So the same bytes uploaded again, or an event delivered late, after the retention or
 * while the prune runs, are never registered a second time.
 */
import { jobId, type JobVersion } from '../shared/core/job';
import { setLogSink } from '../shared/runtime/log';
import { CORRUPT } from '../shared/store/ledger';
import { mp3Silence } from './audio';
import { BUCKET, World } from './world';

beforeAll(() => setLogSink(() => undefined));
const DAY = 86_400_000;

const chainKeys = (w: World, id: string) => [...w.store.objects.keys()].filter((k) => k.includes(`jobs/${id}/`)).sort();
const headOf = async (w: World, id: string): Promise<JobVersion> => {
  const h = await w.ledger.head(id, 0);
  if (h === undefined || h === CORRUPT) throw new Error(`no readable head for ${id}`);
  return h;
};

test('an uploaded file uploaded again unchanged after the retention is still a duplicate; its chain shrinks to one record', async () => {
  const w = new World();
  await w.upload('a', 3);
  expect(w.status('a')).toBe('uploaded');
  const id = jobId(BUCKET, 'prompts/a.mp3', w.objects.objects.get('prompts/a.mp3')!.etag);
  const settled = await headOf(w, id);
  expect(chainKeys(w, id).length).toBeGreaterThan(1);

  // IVR_RETENTION_DAYS (35) later: the first daily pass compacts the chain, the next one drops the versions between.
  w.t += 36 * DAY;
  await w.recover(1);
  expect(await headOf(w, id)).toEqual(settled);
  w.t += 2 * DAY;
  await w.recover(1);
  expect(chainKeys(w, id)).toEqual([`${w.prefix}jobs/${id}/0`]);
  expect(await headOf(w, id)).toEqual(settled);

  // A sync tool uploads the unchanged file again (same bytes, same ETag).
  const r = (await w.upload('a', mp3Silence(3), 'intake-a-sync')) as { results: Array<{ status: string; code?: string }> };
  expect(r.results[0]).toMatchObject({ status: 'uploaded', code: 'Duplicate' });
  expect(w.registrations('prompts/a.mp3')).toHaveLength(1);
  expect(w.status('a')).toBe('uploaded');
});

test('a rerun written while the prune deletes a chain survives it, and a late delivery of its event registers nothing more', async () => {
  const w = new World();
  // CCC refuses the first call's file: the job ends `failed`.
  w.answer = async (items) => (w.calls.length === 1 ? { ok: true, value: { requestId: 'r1', succeeded: [], failed: items.map((i) => ({ fileName: i.CustomFileName, message: 'rejected' })) } } : undefined);
  await w.upload('a', 3);
  expect(w.status('a')).toBe('failed');
  const key = 'prompts/a.mp3';
  const id = jobId(BUCKET, key, w.objects.objects.get(key)!.etag);

  // 36 days later the operator fixes the cause and uploads the same file again: once between the
  // compaction's read of the head and its write, and (on another try) while the versions between
  // are deleted a day later.
  w.t += 36 * DAY;
  const put = w.store.put.bind(w.store);
  let racedCompaction = false;
  w.store.put = async (k, body) => {
    if (!racedCompaction && k === `${w.prefix}jobs/${id}/0`) {
      racedCompaction = true;
      await w.upload('a', mp3Silence(3), 'intake-rerun');
    }
    return put(k, body);
  };
  await w.recover(1);
  expect(racedCompaction).toBe(true);
  expect(w.status('a')).toBe('uploaded');
  expect(w.registrations(key)).toHaveLength(1);

  w.t += 2 * DAY;
  const del = w.store.deleteMany.bind(w.store);
  let racedDelete = false;
  w.store.deleteMany = async (keys) => {
    if (!racedDelete && keys.some((k) => k.includes(`jobs/${id}/`))) {
      racedDelete = true;
      // SCF delivers the rerun's event again just then.
      await w.deliver(key, 'intake-rerun-again');
    }
    return del(keys);
  };
  await w.recover(1);
  expect(racedDelete).toBe(true);
  // SCF delivers it once more, after the delete.
  w.t += 60_000;
  await w.deliver(key, 'intake-rerun-late');
  expect(w.registrations(key)).toHaveLength(1);
  expect((await headOf(w, id)).state).toBe('uploaded');
  expect(w.status('a')).toBe('uploaded');
});

/** CCC refuses the first call's file (the job ends `failed`), registers every later one. */
const refuseFirst = (w: World) => {
  w.answer = async (items) => (w.calls.length === 1 ? { ok: true, value: { requestId: 'r1', succeeded: [], failed: items.map((i) => ({ fileName: i.CustomFileName, message: 'rejected' })) } } : undefined);
};

/** The retention passes: compaction, then the versions between deleted two days later. */
async function compact(w: World): Promise<void> {
  w.t += 36 * DAY;
  await w.recover(1);
  w.t += 2 * DAY;
  await w.recover(1);
}

/** Two more files, the second dropped while the first one's call is a moment old: its sender gathers and lists the queue. */
async function gatheringSender(w: World): Promise<void> {
  w.t += 20_000;
  await w.upload('b', 2);
  w.t += 500;
  await w.upload('c', 2);
}

test('a compacted failed job rerun by an upload again: a sender that later gathers never shows the old `failed` over `uploaded`', async () => {
  const w = new World();
  refuseFirst(w);
  await w.upload('a', 3);
  expect(w.status('a')).toBe('failed');
  const key = 'prompts/a.mp3';
  const id = jobId(BUCKET, key, w.objects.objects.get(key)!.etag);
  await compact(w);
  // The operator uploads the same bytes again: their way to retry. Its intake loses the create of
  // version 0 (the compacted chain holds it): the queue entry it wrote first must not lead a sender
  // to the old head.
  w.t += 10 * 60_000;
  await w.upload('a', mp3Silence(3), 'intake-rerun');
  expect(w.status('a')).toBe('uploaded');
  await gatheringSender(w);
  await w.recover(3);
  expect((await headOf(w, id)).state).toBe('uploaded');
  expect(w.registrations(key)).toHaveLength(1);
  expect(w.status('a')).toBe('uploaded');
});

test('a compacted uploaded job uploaded again with new metadata keeps the new metadata', async () => {
  const w = new World();
  await w.upload('a', 3, 'intake-a', { team: 'old' }, 'audio/mpeg');
  const key = 'prompts/a.mp3';
  await compact(w);
  w.t += 10 * 60_000;
  await w.upload('a', mp3Silence(3), 'intake-again', { team: 'new' }, 'audio/mp3');
  await gatheringSender(w);
  await w.recover(3);
  const o = w.objects.objects.get(key)!;
  expect(w.registrations(key)).toHaveLength(1);
  expect(o.meta.team).toBe('new');
  expect(o.standard['content-type']).toBe('audio/mp3');
  expect(o.meta['ivr-status']).toBe('uploaded');
});

test('a chain that moves on after its compaction (a rerun) is compacted again once settled and old', async () => {
  const w = new World();
  refuseFirst(w);
  await w.upload('a', 3);
  const key = 'prompts/a.mp3';
  const id = jobId(BUCKET, key, w.objects.objects.get(key)!.etag);
  await compact(w);
  w.t += 10 * 60_000;
  await w.upload('a', mp3Silence(3), 'intake-rerun');
  const rerun = await headOf(w, id);
  expect(rerun.state).toBe('uploaded');
  expect(chainKeys(w, id).length).toBeGreaterThan(1);
  await compact(w);
  expect(chainKeys(w, id)).toEqual([`${w.prefix}jobs/${id}/0`]);
  expect(await headOf(w, id)).toEqual(rerun);
});
