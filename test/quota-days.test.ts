/**
 * The quota day under real overlap: instances that take the lease while another's call is in
 * flight, retries, whole-call refusals and midnight with listings that lag. Each scenario is one
 * a review found breaking the README's quota promises; every one fails without its fix:
 * - `UploadFileOverflow` stops every send for that day at once;
 * - a slot taken by a call that never reached CCC's processing comes back;
 * - deferred files are released oldest first when a day has room.
 */
import { IvrError, type ErrorCode } from '../shared/core/errors';
import type { UploadResponse } from '../shared/core/outcome';
import { setLogSink } from '../shared/runtime/log';
import type { ApiResult } from '../shared/sdk/ccc';
import { mp3Silence } from './audio';
import { jobId } from '../shared/core/job';
import { CORRUPT } from '../shared/store/ledger';
import { BUCKET, World } from './world';

beforeAll(() => setLogSink(() => undefined));

const refusal = (code: ErrorCode, message: string): ApiResult<UploadResponse> => ({ ok: false, failure: { kind: 'api', code, message, requestId: `r-${code}` } });
const overflow = () => refusal('FailedOperation.UploadFileOverflow', 'upload file overflow');

/** CCC refuses every call for the quota; while the first is in flight, `key` is dropped. */
function answerOverflowDropping(w: World, key: string): void {
  w.answer = async () => {
    if (w.calls.length === 1) {
      void w.drop(key);
      await w.sleep(50);
    }
    return overflow();
  };
}

/** The calls started once CCC had said the day is full, as `{ msAfter, names, result }`. */
const callsAfter = (w: World, at: number) => w.calls.filter((c) => c.at >= at).map((c) => ({ msAfter: c.at - at, names: c.names, result: c.result }));

// 11:00 China Standard Time: nowhere near a day boundary.
const ELEVEN = '2026-11-25T03:00:00Z';

test.each([
  ['on a lone call, while another instance took the lease meanwhile', 100],
  // The other instance's sender has already appended its call entry and waits for its window.
  ['after a slow answer (1.3 s), while the other sender already waits for its window', 1300],
])('UploadFileOverflow %s: no call starts after it that day', async (_, callMs) => {
  const w = new World({}, true);
  w.t = Date.parse(ELEVEN);
  w.callMs = callMs;
  // Files another tool registered filled the day: CCC refuses every call for the quota. While the
  // first call is in flight, b is dropped; its instance takes the lease (a lone call's can be taken).
  let overflowAt: number | undefined;
  w.answer = async () => {
    if (w.calls.length === 1) {
      void w.drop('b');
      await w.sleep(50);
      overflowAt = w.t + w.callMs;
    }
    return overflow();
  };
  void w.drop('a');
  await w.settle();

  expect(callsAfter(w, overflowAt!)).toEqual([]);
  expect([w.status('a'), w.status('b')]).toEqual(['deferred', 'deferred']);
});

test('the sender that takes the lease back with the news keeps the promise of the one it displaced', async () => {
  const w = new World({}, true);
  w.t = Date.parse(ELEVEN);
  w.callMs = 100;
  w.listLagMs = w.config.listLagMs;
  // The take-back's copy to send/tail fails (COS 503 past the SDK's retries): the tail still shows
  // the displaced sender's promise, and an intake relies on it.
  let tookBack = false;
  let failed = false;
  w.store.hook = (op, key, phase) => {
    if (op === 'create' && key === `${w.prefix}send/3` && phase === 'after') tookBack = true;
    if (op === 'put' && key === `${w.prefix}send/tail` && phase === 'before' && tookBack && !failed) {
      failed = true;
      throw new IvrError('StorageError', 'COS answered 503 (injected)', { transient: true });
    }
  };
  answerOverflowDropping(w, 'b');
  void w.drop('a');
  // Inside b's promise (its lease entry accepts until 2.95 s after a's call), after one gap.
  void w.spawn(w.sleep(1500).then(() => w.drop('c')));
  await w.settle();

  expect({ failed, a: w.status('a'), b: w.status('b'), c: w.status('c'), calls: w.calls.length }).toEqual({ failed: true, a: 'deferred', b: 'deferred', c: 'deferred', calls: 1 });
});

test('after UploadFileOverflow, a retry of a file that already holds a slot of the day is not sent that day', async () => {
  const w = new World({ IVR_RETRY_BASE_MS: '3000' }, true);
  w.t = Date.parse(ELEVEN);
  w.callMs = 100;
  let overflowAt: number | undefined;
  w.answer = async () => {
    // j's call: CCC's internal error, CCC holds nothing: j backs off, keeping its slot of the day.
    if (w.calls.length === 1) return refusal('InternalError.DBError', 'db');
    // Every later call: the day is spent (another tool's files).
    overflowAt ??= w.t + w.callMs;
    return overflow();
  };
  void w.drop('j');
  void w.spawn(w.sleep(200).then(() => w.drop('k')));
  await w.settle();

  expect(callsAfter(w, overflowAt!)).toEqual([]);
  expect([w.status('j'), w.status('k')]).toEqual(['deferred', 'deferred']);
});

test('a file refused by a whole-call permanent error gives its slot back on record: the next file is sent, not deferred', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' }, true);
  w.t = Date.parse(ELEVEN);
  w.answer = async () => (w.calls.length === 1 ? refusal('InvalidParameterValue', 'bad AudioUrl') : undefined);
  void w.drop('bad');
  await w.settle();
  expect(w.status('bad')).toBe('failed');

  // A minute later another file; nothing was registered or refused for the quota today.
  w.t += 60_000;
  void w.drop('good');
  await w.settle();

  const tail = JSON.parse(w.store.objects.get(`${w.prefix}send/tail`)!.body) as { quota: unknown };
  expect({ good: w.status('good'), registered: w.ccc.files.length, quota: tail.quota }).toEqual({ good: 'uploaded', registered: 1, quota: { day: '2026-11-25', used: 1, full: false, filled: true } });
});

test('a file deferred a moment before midnight is released before a file queued after midnight, with listings that lag', async () => {
  // Quota 2; listings as late as IVR_LIST_LAG_MS allows.
  const w = new World({ IVR_DAILY_QUOTA: '2' }, true);
  w.t = Date.parse('2026-11-25T04:00:00Z');
  w.listLagMs = w.config.listLagMs;
  const at = (iso: string) => (w.t = Math.max(w.t, Date.parse(iso)));

  // Noon: the day fills (two files in one event); 12:01: c is deferred.
  for (const [k, s] of [['prompts/a1.mp3', 3], ['prompts/a2.mp3', 4]] as const) w.objects.putObject(k, mp3Silence(s));
  void w.spawn(w.deliver(['prompts/a1.mp3', 'prompts/a2.mp3'], 'intake-a'));
  await w.settle();
  at('2026-11-25T04:01:00Z');
  void w.drop('c', 5);
  await w.settle();
  // 23:59:59.5: x is deferred at once by its intake (the send log says the day is full).
  at('2026-11-25T15:59:59.500Z');
  void w.drop('x', 6);
  await w.settle();
  expect([w.status('a1'), w.status('a2'), w.status('c'), w.status('x')]).toEqual(['uploaded', 'uploaded', 'deferred', 'deferred']);
  // 00:00:00.4: y is dropped; its instance is the new day's first sender. A pass five minutes later.
  at('2026-11-25T16:00:00.400Z');
  void w.drop('y', 7);
  await w.settle();
  at('2026-11-25T16:00:00Z');
  await w.recover(1, 300_000);

  // Oldest first: the two deferred files take the new day's two slots; y, queued last, waits.
  const newDay = w.ccc.files.filter((f) => f.at >= Date.parse('2026-11-25T16:00:00Z')).map((f) => f.key);
  expect({ newDay: newDay.sort(), x: w.status('x'), y: w.status('y') }).toEqual({ newDay: ['prompts/c.mp3', 'prompts/x.mp3'], x: 'uploaded', y: 'deferred' });
});

test('files deferred after CCC closed the day (files registered outside the product) say CCC did, not that our quota of 50 is used up', async () => {
  const w = new World({}, true);
  w.t = Date.parse(ELEVEN);
  w.callMs = 100;
  // Another tool's files filled the day: CCC refuses our first call for the quota. While it is in
  // flight, b is dropped and its sender takes the lease over (a's was a lone call's).
  answerOverflowDropping(w, 'b');
  void w.drop('a');
  await w.settle();
  // A minute later c: the send log says the day is closed, so its intake defers it on the spot.
  w.t += 60_000;
  void w.drop('c');
  await w.settle();

  const message = (name: string) => decodeURIComponent(w.objects.objects.get(`prompts/${name}.mp3`)!.meta['ivr-error-message'] ?? '');
  const tail = JSON.parse(w.store.objects.get(`${w.prefix}send/tail`)!.body) as { quota: { used: number; full: boolean } };
  expect({ statuses: [w.status('a'), w.status('b'), w.status('c')], quota: tail.quota }).toEqual({ statuses: ['deferred', 'deferred', 'deferred'], quota: { day: '2026-11-25', used: 1, full: true } });
  for (const name of ['a', 'b', 'c']) expect([name, message(name)]).toEqual([name, expect.stringMatching(/^CCC reports the daily upload limit for 2026-11-25 reached \(FailedOperation\.UploadFileOverflow\); /)]);
});

test('a file deferred because our own count filled the day says the daily quota is used up', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' }, true);
  w.t = Date.parse(ELEVEN);
  void w.drop('a');
  await w.settle();
  w.t += 60_000;
  void w.drop('b');
  await w.settle();
  const message = decodeURIComponent(w.objects.objects.get('prompts/b.mp3')!.meta['ivr-error-message'] ?? '');
  expect([w.status('a'), w.status('b'), message]).toEqual(['uploaded', 'deferred', expect.stringMatching(/^the daily quota of 1 file for 2026-11-25 is used up; /)]);
});

/** The states of every stored version of `name`'s job, oldest first. */
function chain(w: World, name: string): string[] {
  const key = `prompts/${name}.mp3`;
  const dir = `${w.prefix}jobs/${jobId(BUCKET, key, w.objects.objects.get(key)!.etag)}/`;
  return [...w.store.objects.entries()]
    .filter(([k]) => k.startsWith(dir))
    .sort(([a], [b]) => Number(a.slice(dir.length)) - Number(b.slice(dir.length)))
    .map(([, o]) => (JSON.parse(o.body) as { state: string }).state);
}

test('files deferred today go out that same day once the day has room again (IVR_DAILY_QUOTA raised), oldest first', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' }, true);
  w.t = Date.parse(ELEVEN);
  for (const name of ['a', 'b', 'c']) {
    void w.drop(name);
    await w.settle();
    w.t += 60_000;
  }
  const statuses = (...names: string[]) => names.map((n) => w.status(n));
  expect(statuses('a', 'b', 'c')).toEqual(['uploaded', 'deferred', 'deferred']);

  // The operator raises the quota to 2 (a redeploy): the next file's sender sends b, the oldest
  // deferred file, and d, dropped last, waits in its place.
  Object.assign(w.config, { dailyQuota: 2 });
  void w.drop('d');
  await w.settle();
  expect(statuses('a', 'b', 'c', 'd')).toEqual(['uploaded', 'uploaded', 'deferred', 'deferred']);

  // Raised to 3: the next recovery pass, five minutes later and still on the same day, sends c,
  // the older of the two; raised to 4, the pass after it sends d.
  Object.assign(w.config, { dailyQuota: 3 });
  await w.recover(1, 300_000);
  expect(statuses('a', 'b', 'c', 'd')).toEqual(['uploaded', 'uploaded', 'uploaded', 'deferred']);
  Object.assign(w.config, { dailyQuota: 4 });
  await w.recover(1, 300_000);
  expect(statuses('a', 'b', 'c', 'd')).toEqual(['uploaded', 'uploaded', 'uploaded', 'uploaded']);
  expect(w.ccc.files.map((f) => f.key)).toEqual(['prompts/a.mp3', 'prompts/b.mp3', 'prompts/c.mp3', 'prompts/d.mp3']);
  expect(w.calls.every((c) => c.result === 'ok')).toBe(true);
  // Deferred once each: a sender that sent another file meanwhile left them as they were.
  expect(chain(w, 'c').filter((s) => s === 'deferred')).toHaveLength(1);
  expect(chain(w, 'd').filter((s) => s === 'deferred')).toHaveLength(1);
  // None of them was pushed past the day after all: the day's report does not count them as deferred.
  for (const name of ['b', 'c', 'd']) {
    const key = `prompts/${name}.mp3`;
    const head = await w.ledger.head(jobId(BUCKET, key, w.objects.objects.get(key)!.etag));
    expect([name, head !== CORRUPT && head?.state, head !== CORRUPT && head?.deferredDays]).toEqual([name, 'uploaded', undefined]);
  }
});

test("a slot given back by a call refused as a whole goes to the file its sender had just deferred, the same day", async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' }, true);
  w.t = Date.parse(ELEVEN);
  // One event with both files: the one slot goes to bad, good is deferred; CCC refuses bad's call
  // as a whole (never processed), so its slot comes back.
  w.answer = async () => (w.calls.length === 1 ? refusal('InvalidParameterValue', 'bad AudioUrl') : undefined);
  for (const [name, seconds] of [['bad', 2], ['good', 3]] as const) w.objects.putObject(`prompts/${name}.mp3`, mp3Silence(seconds));
  void w.spawn(w.deliver(['prompts/bad.mp3', 'prompts/good.mp3'], 'intake-both'));
  await w.settle();
  expect({ bad: w.status('bad'), good: w.status('good'), calls: w.calls.map((c) => c.names.join(',')), goodChain: chain(w, 'good') }).toEqual({ bad: 'failed', good: 'uploaded', calls: ['bad', 'good'], goodChain: expect.arrayContaining(['deferred', 'uploaded']) });
});

test('during a redeploy that raises IVR_DAILY_QUOTA, a file an instance with the old quota deferred still goes before files dropped after it', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '3' }, true);
  w.t = Date.parse(ELEVEN);
  // New instances (quota 3) send a and b: the day is not full by their count.
  for (const name of ['a', 'b']) {
    void w.drop(name);
    await w.settle();
    w.t += 60_000;
  }
  // A recovery pass closes their calls: the send log's tail shows 2 used, no call open.
  await w.recover(1, 300_000);
  const tail = () => JSON.parse(w.store.objects.get(`${w.prefix}send/tail`)!.body) as { quota: unknown; open: unknown[] };
  expect({ quota: tail().quota, open: tail().open }).toEqual({ quota: { day: '2026-11-25', used: 2, full: false }, open: [] });
  // An old instance (quota 2) takes c in: full by its count, though nobody marked the day filled.
  Object.assign(w.config, { dailyQuota: 2 });
  void w.drop('c');
  await w.settle();
  expect(w.status('c')).toBe('deferred');
  w.t += 60_000;
  // A new instance takes d in: c, dropped first, takes the day's third slot; d waits.
  Object.assign(w.config, { dailyQuota: 3 });
  void w.drop('d');
  await w.settle();
  expect({ c: w.status('c'), d: w.status('d'), calls: w.calls.map((x) => x.names.join(',')) }).toEqual({ c: 'uploaded', d: 'deferred', calls: ['a', 'b', 'c'] });
});
