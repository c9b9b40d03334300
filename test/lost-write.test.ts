/**
 * A call stays open, and its files' display names reserved, until every file of it is settled. A
 * sender's write of `uncertain` after a lost answer can land at COS and still report an error (the
 * SDK gave up on the answer): the sender then holds the file as `sending`, and settling the call
 * finds the `uncertain` version in its place, in the same call, not settled. The call must stay
 * open until that version is settled from CCC: closed, it frees the display name while CCC holds
 * an unrecorded registration of the file, and a file of the same name sent meanwhile, whose own
 * answer is lost, adopts that registration.
 */
import { IvrError } from '../shared/core/errors';
import type { UploadResponse } from '../shared/core/outcome';
import type { ApiResult } from '../shared/sdk/ccc';
import { jobId, queuedJob, transition, type JobVersion } from '../shared/core/job';
import { setLogSink } from '../shared/runtime/log';
import { settleFromCcc } from '../shared/workflow/resolve';
import { mp3Silence } from './audio';
import { BUCKET, REGISTERED_ONCE, World } from './world';

beforeAll(() => setLogSink(() => undefined));

const A = 'prompts/a/hello.mp3';
const B = 'prompts/b/hello.mp3';

test('a file whose `uncertain` write landed but reported an error keeps its call open, and its name reserved, until it is settled', async () => {
  // Backoffs long enough that B's retry comes due after A was sent (10-20 s), well within one term.
  const w = new World({ IVR_RETRY_BASE_MS: '20000', IVR_WAIT_SECONDS: '300' });
  const keyOf = (url: string) => decodeURIComponent(/^memory:\/\/objects\/([^?]+)/.exec(url)![1]);
  const sent = { [A]: 0, [B]: 0 };
  w.answer = async (items) => {
    const key = keyOf(items[0].AudioUrl);
    const n = ++sent[key as keyof typeof sent];
    // B's first call: CCC answers InternalError, holds nothing: B backs off.
    if (key === B && n === 1) return { ok: false, failure: { kind: 'api', code: 'InternalError', message: 'db (injected)' } };
    // A's first call: CCC registers A, the answer is lost.
    if (key === A && n === 1) w.ccc.faults.push({ kind: 'lose-after-register' });
    // B's second call: the connection drops before CCC gets it; the answer is lost.
    if (key === B && n === 2) return { ok: false, failure: { kind: 'network', code: 'NetworkError', message: 'socket hang up (injected)' } };
    return undefined;
  };
  w.objects.putObject(B, mp3Silence(3));
  w.objects.putObject(A, mp3Silence(4));
  const aId = jobId(BUCKET, A, w.objects.objects.get(A)!.etag);
  // A's `uncertain` version (seq 2, after `queued` and `sending`) is created at COS, but the
  // sender gets an error back (COS's answer lost past the SDK's retries).
  let committedThenFailed = false;
  w.store.hook = (op, key, phase) => {
    if (op === 'create' && key === `${w.prefix}jobs/${aId}/2` && phase === 'after' && !committedThenFailed) {
      committedThenFailed = true;
      throw new IvrError('StorageError', 'COS answered 503 after the write took effect (injected)', { transient: true });
    }
  };

  // B is dropped first; A two seconds later, while B's sender waits out B's backoff.
  w.at(w.t + 2000, () => w.deliver(A, 'intake-a'));
  await w.deliver(B, 'intake-b');
  await w.recover(3);

  expect(committedThenFailed).toBe(true);
  expect({ a: w.ending(A), b: w.ending(B) }).toEqual({ a: REGISTERED_ONCE, b: REGISTERED_ONCE });
});

/**
 * The same version seen by someone else settling the call (the next sender, after the call's
 * lifetime): it read the job's `sending` version, and the `uncertain` one lands after that read,
 * before settleFromCcc reads the job again (a), or just before its own outcome is created (b).
 */
describe('settling a `sending` version whose `uncertain` version of the same call lands late', () => {
  /** A's chain up to its `uncertain` version (not written), with CCC holding A's registration. */
  function setUp(w: World): { a1: JobVersion; a2: JobVersion } {
    const o = w.objects.putObject(A, mp3Silence(3));
    const t = w.t;
    const a0 = queuedJob(jobId(BUCKET, A, o.etag), { bucket: BUCKET, key: A, etag: o.etag, size: o.body.length, customName: 'hello', queuedAt: t - 60_000, head: { standard: o.standard, meta: {} } }, t - 60_000, 'intake');
    const checkAfter = t - 1000;
    const a1 = transition(a0, 'send', t - 31_000, 'S', { call: 7, checkAfter, slot: '2026-11-25', newSlot: true });
    const a2 = transition(a1, 'lost', t - 31_000, 'S', { checkAfter, lastError: { code: 'OutcomeUnknown', message: 'no answer from CCC' } });
    w.ccc.files.push({ fileId: 1500, customFileName: 'hello', audioFileName: 'f1500.mp3', status: 0, key: A, etag: o.etag, at: t - 31_000 });
    return { a1, a2 };
  }

  test('(a) landed before the job is read again: that version is settled from CCC, not passed on as settled', async () => {
    const w = new World();
    const { a1, a2 } = setUp(w);
    for (const v of [a1, a2]) await w.ledger.writeVersion(v);
    const settled = await settleFromCcc(w.ctx('S2'), [{ version: a1 }]);
    const v = settled.get(a1.id);
    expect(v && { state: v.state, fileId: v.upload?.fileId, call: v.call }).toEqual({ state: 'uploaded', fileId: 1500, call: 7 });
    expect(await w.ledger.fileOwner(1500)).toBe(a1.id);
  });

  test('(b) landed just before the outcome is created: the file is not settled yet, and is settled when asked again', async () => {
    const w = new World();
    const { a1, a2 } = setUp(w);
    await w.ledger.writeVersion(a1);
    // S's `uncertain` lands at COS just before S2 creates the version after `sending`.
    const late = `${w.prefix}jobs/${a1.id}/${a2.seq}`;
    w.store.hook = (op, key, phase) => {
      if (op === 'create' && key === late && phase === 'before' && !w.store.objects.has(late)) w.store.objects.set(late, { body: JSON.stringify(a2), at: w.t });
    };
    const first = await settleFromCcc(w.ctx('S2'), [{ version: a1 }]);
    expect(first.has(a1.id)).toBe(false);
    const again = await settleFromCcc(w.ctx('S2'), [{ version: a1 }]);
    const v = again.get(a1.id);
    expect(v && { state: v.state, fileId: v.upload?.fileId }).toEqual({ state: 'uploaded', fileId: 1500 });
  });
});

const NETWORK_LOST: ApiResult<UploadResponse> = { ok: false, failure: { kind: 'network', code: 'NetworkError', message: 'socket hang up (injected)' } };

/**
 * Puts `key` and delivers it: its calls are answered with `answers` in turn (then as CCC does),
 * and the invocation dies at its first job write after call `cutAt` (CCC never got that call).
 */
async function cutOffAfterCall(w: World, key: string, answers: Array<ApiResult<UploadResponse>>, cutAt: number): Promise<void> {
  w.objects.putObject(key, mp3Silence(3));
  const id = jobId(BUCKET, key, w.objects.objects.get(key)!.etag);
  let calls = 0;
  w.answer = async () => answers[calls++];
  let killed = false;
  w.store.hook = (op, k, phase) => {
    if (!killed && calls === cutAt && op === 'create' && phase === 'before' && k.startsWith(`${w.prefix}jobs/${id}/`)) {
      killed = true;
      throw new IvrError('StorageError', 'killed (injected)');
    }
  };
  await w.deliver(key, 'intake-cut');
  expect(killed).toBe(true);
}

/** The messages the object showed while `retrying`. */
const retryingMessages = (w: World, key: string) => w.objects.writes.filter((x) => x.key === key && x.meta['ivr-status'] === 'retrying').map((x) => [x.meta['ivr-error-code'], decodeURIComponent(x.meta['ivr-error-message'] ?? '')]);

const CUT_OFF = "CCC was asked after the call's lifetime and does not hold the file: it is sent again (the call: cut off before its answer was recorded)";

test('a file whose call was cut off with its invocation (no answer recorded) shows why it is sent again once CCC was asked, not a bare `retrying`', async () => {
  const w = new World();
  await cutOffAfterCall(w, 'prompts/cut.mp3', [NETWORK_LOST], 1);
  await w.recover(2);
  expect(w.ending('prompts/cut.mp3')).toEqual(REGISTERED_ONCE);
  expect(retryingMessages(w, 'prompts/cut.mp3')).toEqual([['OutcomeUnknown', CUT_OFF]]);
});

test("a call cut off on a later attempt is described as cut off, not with the earlier attempt's error (which its `sending` version still carries)", async () => {
  const w = new World();
  // First call: CCC answers InternalError, holds nothing: asked, then retried. Second: cut off.
  await cutOffAfterCall(w, 'prompts/cut2.mp3', [{ ok: false, failure: { kind: 'api', code: 'InternalError', message: 'db (injected)' } }, NETWORK_LOST], 2);
  await w.recover(3);
  expect(w.ending('prompts/cut2.mp3')).toEqual(REGISTERED_ONCE);
  const retrying = retryingMessages(w, 'prompts/cut2.mp3').map(([, m]) => m);
  expect(retrying[retrying.length - 1]).toBe(CUT_OFF);
  expect(retrying.every((m) => m.split('CCC was asked').length <= 2)).toBe(true);
});
