/**
 * The recovery pass's one-off and daily ledger work (migration, pruning) killed or raced at the
 * points an adversarial review found: each of these failed before its fix.
 */
import { IvrError } from '../shared/core/errors';
import { jobId } from '../shared/core/job';
import { setLogSink } from '../shared/runtime/log';
import { mp3Silence } from './audio';
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
