/**
 * An accepting sender promises to pick up files queued by others until `acceptUntil`, and keeps
 * listing the queue for `IVR_LIST_LAG_MS` after that (a listing may miss a new entry that long).
 * An intake that saw the promise returns as soon as its file is queued. The sender must keep that
 * promise even when its term ends first and its last call could no longer accept others: else a
 * file queued late in the promise, still missing from listings, waits for the recovery pass.
 */
import { setLogSink } from '../shared/runtime/log';
import { runRecovery } from '../shared/workflow/recovery';
import { Sender } from '../shared/workflow/sender';
import { readTail } from '../shared/workflow/read-log';
import { today } from '../shared/workflow/context';
import { CORRUPT } from '../shared/store/ledger';
import { mp3Silence } from './audio';
import { World } from './world';

beforeAll(() => setLogSink(() => undefined));

test('a sender whose term ends inside its promise still lists until the promise ends, and sends a file queued late in it', async () => {
  // A short term (3 s), so that the sender's term ends inside its promise.
  const w = new World({ IVR_WAIT_SECONDS: '3' });
  // Listings miss what was written in the last IVR_LIST_LAG_MS, as COS's may.
  w.listLagMs = w.config.listLagMs;
  const drop = (name: string, seconds: number) => {
    w.objects.putObject(`prompts/${name}.mp3`, mp3Silence(seconds));
    return w.deliver(`prompts/${name}.mp3`, `intake-${name}`);
  };
  const status = (name: string) => w.objects.objects.get(`prompts/${name}.mp3`)?.meta['ivr-status'];

  // a: into an idle system, sent at once by its own invocation.
  await drop('a', 2);
  expect(status('a')).toBe('uploaded');
  // b, a moment later: a call is less than a gap ago, so its invocation takes the lease as an
  // accepting sender and calls a gap after a's call. During that call, d is queued and left to it.
  w.t += 100;
  const { upload } = w.api;
  let dDropped = false;
  w.api = {
    ...w.api,
    upload: async (items) => {
      if (!dDropped) {
        dDropped = true;
        await drop('d', 3);
      }
      return upload(items);
    },
  };
  // c is queued late in the promise b's call made (before `acceptUntil` less the skew), when b's
  // term has nearly ended: b's next call, for d, can no longer promise anything.
  w.at(w.t + 2200, () => drop('c', 4));
  await drop('b', 5);

  expect({ b: status('b'), d: status('d'), c: status('c') }).toEqual({ b: 'uploaded', d: 'uploaded', c: 'uploaded' });
  expect(w.ccc.files).toHaveLength(4);
});

test('a newcomer that finds the holder closing still gathers: a file left to the holder just before is sent, not left to the recovery pass', async () => {
  const w = new World();
  const drop = (name: string) => {
    w.objects.putObject(`prompts/${name}.mp3`, mp3Silence(name.length + 2));
    return w.deliver(`prompts/${name}.mp3`, `intake-${name}`);
  };
  const t0 = w.t;
  // The recovery pass takes an accepting lease (nothing queued yet) that promises until
  // acceptUntil; readers take it as accepting until acceptUntil less the skew allowance.
  const lease = w.timing.callGapMs;
  // c sees the holder accepting and leaves its file to it; bb, 10 ms later, sees it closing and
  // is alone and on time. A lone call would never list the queue, and the holder's next append
  // would collide with it: c would wait minutes for the next pass.
  w.at(t0 + lease - w.timing.skewMs - 5, () => drop('c'));
  w.at(t0 + lease - w.timing.skewMs + 5, () => drop('bb'));
  await runRecovery(w.ctx('recovery-A'), { Type: 'Timer' });
  expect(w.status('c')).toBe('uploaded');
  expect(w.status('bb')).toBe('uploaded');
  expect(w.calls.filter((c) => c.result === 'ok').flatMap((c) => c.names).sort()).toEqual(['bb', 'c']);
});

test('a sender whose last call promises nothing still holds its earlier promise: a lone newcomer cannot take the lease from under a file left to it', async () => {
  // Listings lag 2.5 s (an operator setting, and COS keeps to it here); the sender's term is 1 s,
  // so its first call, made after its term, can promise nothing more than its lease entry did.
  const w = new World({ IVR_WAIT_SECONDS: '1', IVR_LIST_LAG_MS: '2500' }, true);
  w.listLagMs = w.config.listLagMs;
  const dropAt = (name: string, at: number) =>
    w.spawn(
      (async () => {
        await w.sleep(at - w.t);
        w.objects.putObject(`prompts/${name}.mp3`, mp3Silence(name.length + 2));
        return w.deliver(`prompts/${name}.mp3`, `intake-${name}`);
      })(),
    );
  const t0 = w.t;
  // a: into an idle system, a lone call at once.
  dropAt('a', t0);
  // b, a moment later: a call is less than a gap ago, so b takes an accepting lease that promises
  // to pick up others' files until its window plus a gap; its own call then promises nothing.
  dropAt('bb', t0 + 100);
  // c sees that accepting lease (before b's call entry is published) and leaves its file to b;
  // b's listings will not show it for 2.5 s.
  dropAt('ccc', t0 + 1100);
  // d comes once b's call entry (which promised nothing) has lapsed and a gap has passed since b's
  // call: alone and on time, it would make a lone call and never list the queue, and b, which
  // finds c only later, collides with it and leaves c to nobody.
  dropAt('dddd', t0 + 3000);
  await w.settle();

  expect({ a: w.status('a'), bb: w.status('bb'), dddd: w.status('dddd'), ccc: w.status('ccc') }).toEqual({ a: 'uploaded', bb: 'uploaded', dddd: 'uploaded', ccc: 'uploaded' });
  // Calls stay a gap apart.
  const ok = w.calls.map((c) => c.at);
  for (let i = 1; i < ok.length; i++) expect(ok[i] - ok[i - 1]).toBeGreaterThanOrEqual(1000);
});

test("a sender given the invocation's own end (an invocation that takes the lease a second time) stops by then, not a whole IVR_WAIT_SECONDS after it started", async () => {
  const w = new World({ IVR_WAIT_SECONDS: '60' });
  // Another client keeps CCC's rate limit spent: every call is refused, and the sender stays to try again.
  w.answer = async () => ({ ok: false, failure: { kind: 'api', code: 'RequestLimitExceeded', message: 'another client' } });
  await w.queuedByVanishedIntake('a', 2);
  const ctx = w.ctx('second');
  const own = (await w.ledger.head((await w.ledger.listQueue())[0].id))!;
  if (own === CORRUPT) throw new Error('unreadable');
  const start = w.t;
  const got = await Sender.acquire(ctx, await readTail(ctx, today(ctx)), [own], { termEnd: start + 5000 });
  await got.sender!.run();
  // Its term ends at 5 s; what it promised others (a gap) and a listing lag may follow, not 55 s more.
  expect(w.t - start).toBeLessThan(5000 + w.timing.callGapMs + w.timing.listLagMs + 2000);
  expect(w.calls.length).toBeGreaterThan(0);
});

test("the hand-off gives every sender it starts the invocation's own end, its first as much as a later one", async () => {
  const w = new World({ IVR_WAIT_SECONDS: '60' });
  const acquire = jest.spyOn(Sender, 'acquire');
  try {
    const start = w.t;
    await w.upload('a', 2);
    expect(acquire).toHaveBeenCalled();
    for (const call of acquire.mock.calls) expect(call[3]).toEqual({ termEnd: start + 60_000 });
  } finally {
    acquire.mockRestore();
  }
});

test('a failed file uploaded again (the same bytes) while the sender that failed it still accepts is sent, not left queued for good', async () => {
  // The sender keeps the jobs it saw final, to delete their entries unread. The upload again is a
  // new run of the same job (its ETag is the same): its entry, of a later seq, was deleted with
  // them, and nothing listed the job again (a review found it).
  const w = new World();
  const body = mp3Silence(3);
  // x: a lone call into an idle system; a, 100 ms later, finds a call less than a gap ago, and its
  // invocation becomes an accepting sender.
  await w.upload('x', 2);
  w.t += 100;
  let refused = false;
  w.answer = async (items) => {
    if (refused || !items.some((i) => i.CustomFileName === 'a')) return undefined;
    refused = true;
    // The operator uploads the same bytes again 0.3 s after CCC refused them (its role fixed, say).
    w.at(w.t + 300, () => w.upload('a', body, 'intake-a-again'));
    return { ok: true, value: { requestId: 'req-refused', succeeded: [], failed: [{ fileName: 'a', message: 'audio format not supported' }] } };
  };
  await w.upload('a', body, 'intake-a');
  // Sent by that sender, which promised to pick up what was left to it: no recovery pass needed.
  expect({ status: w.status('a'), queue: (await w.ledger.listQueue()).length, calls: w.calls.map((c) => `${c.names.join(',')}:${c.result}`) }).toEqual({
    status: 'uploaded',
    queue: 0,
    calls: ['x:ok', 'a:ok', 'a:ok'],
  });
});

test('with listings lagging less than the skew allowance, a file left to the holder at the end of its promise is still read at its last listing', async () => {
  // IVR_LIST_LAG_MS below the age under which a listed entry is left for the next listing (its
  // job is likely being written): the holder's last listing, at its lease's end, comes less than
  // that after a file left to it at the last moment. Skipping it there left it to the recovery pass.
  const w = new World({ IVR_LIST_LAG_MS: '100', IVR_CLOCK_SKEW_MS: '0' });
  w.listLagMs = w.config.listLagMs;
  const t0 = w.t;
  w.at(t0 + w.timing.callGapMs - 5, () => {
    w.objects.putObject('prompts/late.mp3', mp3Silence(3));
    return w.deliver('prompts/late.mp3', 'intake-late');
  });
  // The recovery pass holds an accepting lease (nothing queued yet) until acceptUntil.
  await runRecovery(w.ctx('recovery-A'), { Type: 'Timer' });
  expect(w.status('late')).toBe('uploaded');
  expect(w.ccc.files).toHaveLength(1);
});
