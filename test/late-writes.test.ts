/**
 * A metadata write can land long after it was sent (a connection the COS SDK retries after its
 * timeout, a stalled instance), after another sender has settled the file and shown its outcome.
 * The object must still end with the job's newest word.
 */
import { visibleResult } from '../shared/core/job';
import { mergeResult } from '../shared/core/metadata';
import { setLogSink } from '../shared/runtime/log';
import type { AudioObjects } from '../shared/store/objects';
import { runRecovery } from '../shared/workflow/recovery';
import { World } from './world';

beforeAll(() => setLogSink(() => undefined));

test("a sender's `queued` that lands after another sender showed `failed` is followed by the newest word", async () => {
  const w = new World();
  const key = 'prompts/g.mp3';
  // g was queued by an intake that then vanished: its queue entry and first version exist, and the
  // object shows `queued`.
  const v0 = await w.queuedByVanishedIntake('g', 3);
  const id = v0.id;
  await w.objects.writeMetadata(key, v0.object.etag, v0.object.head.standard, mergeResult({}, visibleResult(v0)));
  w.t += 60_000;

  // Sender A's call is refused for the rate limit (g is `queued` again, not an attempt); sender
  // B's call then reaches CCC, which refuses g for good.
  w.answer = async (items) =>
    w.calls.length === 1
      ? { ok: false, failure: { kind: 'api', code: 'RequestLimitExceeded', message: 'rate' } }
      : { ok: true, value: { requestId: 'req-2', succeeded: [], failed: items.map((i) => ({ fileName: i.CustomFileName, message: 'audio rejected by CCC' })) } };

  // A's write of `queued` after the refusal lands 20 s late; meanwhile its lease lapses and B, the
  // next pass, takes over, settles g and shows `failed`.
  const a = w.ctx('recovery-A');
  const objects = a.objects;
  let delayed = false;
  const slow: AudioObjects = {
    read: (k, m) => objects.read(k, m),
    stat: (k) => objects.stat(k),
    signedUrl: (k, s) => objects.signedUrl(k, s),
    putBytes: (k, b, c) => objects.putBytes(k, b, c),
    writeMetadata: async (k, e, s, m) => {
      if (!delayed && m['ivr-status'] === 'queued') {
        delayed = true;
        await w.sleep(20_000);
      }
      return objects.writeMetadata(k, e, s, m);
    },
  };
  w.at(w.t + 5_000, () => runRecovery(w.ctx('recovery-B'), { Type: 'Timer' }));
  await runRecovery({ ...a, objects: slow }, { Type: 'Timer' });
  expect(delayed).toBe(true);
  expect(w.calls.map((c) => c.result)).toEqual(['RequestLimitExceeded', 'ok']);

  const head = await w.ledger.head(id, 0);
  expect(head !== undefined && typeof head === 'object' && head.state).toBe('failed');
  // Nothing would correct it later: no queue entry is left, and a failed job is not shown again.
  await w.recover(3);
  expect(w.objects.objects.get(key)!.meta['ivr-status']).toBe('failed');
});
