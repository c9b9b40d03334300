/**
 * Quota slots and deferrals around the edges: midnight, calls refused before CCC processed them,
 * another sender's call still open. Files attempted per day never exceed the quota, a slot a call
 * never used comes back (also in the ended day's report), and deferred files go first on the next
 * day. On a virtual clock, with concurrent invocations.
 */
import { IvrError, type ErrorCode } from '../shared/core/errors';
import type { UploadResponse } from '../shared/core/outcome';
import { setLogSink } from '../shared/runtime/log';
import type { ApiResult } from '../shared/sdk/ccc';
import { runRecovery } from '../shared/workflow/recovery';
import { World } from './world';

beforeAll(() => setLogSink(() => undefined));
afterEach(() => jest.restoreAllMocks());

const refusal = (code: ErrorCode, message: string): ApiResult<UploadResponse> => ({ ok: false, failure: { kind: 'api', code, message, requestId: `r-${code}` } });

test('a file deferred before midnight goes first on the new day, also when the sender that holds the lease over midnight gathers the first call', async () => {
  jest.spyOn(Math, 'random').mockReturnValue(0.5);
  // Quota 1; r's retry backs off 0.75 × 40 s = 30 s, keeping its sender (accepting) over midnight.
  const w = new World({ IVR_DAILY_QUOTA: '1', IVR_RETRY_BASE_MS: '40000' }, true);
  w.listLagMs = w.config.listLagMs;
  w.t = Date.parse('2026-11-25T15:59:40Z'); // 23:59:40 CST
  // r's call: CCC's internal error, CCC holds nothing: r retries later, keeping its slot of the 25th.
  w.answer = async () => (w.calls.length === 1 ? refusal('InternalError.DBError', 'db') : undefined);
  void w.drop('r');
  // 23:59:50: x; the day is full (r's slot) and no call is open: x's intake defers it at once.
  void w.spawn(w.sleep(10_000).then(() => w.drop('x')));
  // 00:00:00: the timer's recovery pass.
  void w.spawn(w.sleep(20_000).then(() => runRecovery(w.ctx('recovery-0000'), { Type: 'Timer' })));
  // 00:00:00.1 on the 26th: z is dropped.
  void w.spawn(w.sleep(20_100).then(() => w.drop("z")));
  await w.settle();
  const day26 = w.ccc.files.filter((f) => f.at >= Date.parse('2026-11-25T16:00:00Z')).map((f) => f.key);
  // x was dropped (and deferred) on the 25th, z on the 26th: x goes first on the 26th.
  expect({ day26, x: w.status('x'), z: w.status('z') }).toEqual({ day26: ['prompts/x.mp3'], x: 'uploaded', z: 'deferred' });
});

test('a slot given back only after midnight is taken off the ended day too: its report counts only what CCC got', async () => {
  const w = new World({}, true);
  w.t = Date.parse('2026-11-25T15:59:55Z'); // 23:59:55 CST
  // The lone sender dies right after appending its call entry, before the file's `sending` version.
  let killed = false;
  w.store.hook = (op, key, phase) => {
    if (!killed && op === 'create' && phase === 'before' && /\/jobs\/[0-9a-f]+\/1$/.test(key)) {
      killed = true;
      throw new IvrError('StorageError', 'killed (injected)', { transient: true });
    }
  };
  void w.drop('late');
  await w.settle();
  expect({ killed, calls: w.calls.length }).toEqual({ killed: true, calls: 0 });
  // SCF delivers the event again a minute later (00:00:55 on the 26th): sent then.
  w.t += 60_000;
  void w.spawn(w.deliver('prompts/late.mp3', 'redelivery'));
  await w.settle();
  // The timer's pass after midnight reports the 25th.
  await w.recover(1, 240_000);
  const report = JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-25.json`)!.body) as { quota: { submitted: number; exhausted: boolean } };
  const cccOn25 = w.ccc.files.filter((f) => f.at < Date.parse('2026-11-25T16:00:00Z')).length;
  expect({ status: w.status('late'), cccOn25, reported: report.quota.submitted }).toEqual({ status: 'uploaded', cccOn25: 0, reported: 0 });
});

test('a file is not deferred while another sender\'s call that may give the last slot back is open: it gets the slot when that call is refused as a whole', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' }, true);
  w.t = Date.parse('2026-11-25T03:00:00Z');
  w.callMs = 1300; // CCC answers after 1.3 s (its timeout is 15 s)
  w.answer = async () => (w.calls.length === 1 ? refusal('InvalidParameterValue', 'bad AudioUrl') : undefined);
  void w.drop('a');
  // b while a's call is in flight: its sender takes the lease over (a lone call promises nothing).
  void w.spawn(w.sleep(100).then(() => w.drop('b')));
  await w.settle();
  const after = { a: w.status('a'), b: w.status('b'), registered: w.ccc.files.length };
  // A file dropped a minute later that day.
  w.t += 60_000;
  void w.drop('c');
  await w.settle();
  // a never reached CCC's processing (its slot came back): b, dropped first, should have had the day's slot.
  expect({ after, b: w.status('b'), c: w.status('c'), registered: w.ccc.files.map((f) => f.key) }).toEqual({ after: { a: 'failed', b: 'uploaded', registered: 1 }, b: 'uploaded', c: 'deferred', registered: ['prompts/b.mp3'] });
});

test('a call refused for its credentials (before processing) gives its slot back: a file later that day is sent', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1', IVR_MAX_ATTEMPTS: '1' }, true);
  w.t = Date.parse('2026-11-25T03:00:00Z');
  w.answer = async () => (w.calls.length === 1 ? refusal('AuthFailure.TokenFailure', 'token expired') : undefined);
  void w.drop('a');
  await w.settle();
  w.t += 600_000;
  void w.drop('b');
  await w.settle();
  expect({ a: w.status('a'), calls: w.calls.map((c) => c.result), registered: w.ccc.files.length, b: w.status('b') }).toEqual({ a: 'failed', calls: ['AuthFailure.TokenFailure', 'ok'], registered: 1, b: 'uploaded' });
});

test('a file the accepting sender defers just before midnight goes first on the new day, also when that sender\'s lease ends in the listing lag after midnight', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '2' }, true);
  w.listLagMs = w.config.listLagMs;
  const midnight = Date.parse('2026-11-25T16:00:00Z'); // 00:00 on the 26th (UTC+08:00)
  w.t = midnight - 4_000;
  const at = (fromMidnight: number, name: string) => void w.spawn(w.sleep(fromMidnight + 4_000).then(() => w.drop(name)));
  void w.drop('o'); // alone: a lone call (the 25th: 1 of 2)
  at(-3_900, 'p'); // an accepting sender; its call fills the 25th (2 of 2)
  at(-2_300, 'b'); // left to it; deferred (the 25th is full)
  at(-2_000, 'c'); // left to it; for the 26th
  await w.settle();
  const day26 = w.ccc.files.filter((f) => f.at >= midnight).map((f) => f.key);
  // b was deferred on the 25th: it goes first on the 26th.
  expect({ day26, b: w.status('b') }).toEqual({ day26: ['prompts/b.mp3', 'prompts/c.mp3'], b: 'uploaded' });
});
