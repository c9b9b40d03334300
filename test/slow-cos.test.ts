/**
 * COS slower than a call window's slack (`IVR_CLOCK_SKEW_MS`, 250 ms by default): files dropped one
 * after another, each by a new instance, are still sent by the upload invocations themselves, each
 * once, calls a gap apart. Before, at 400 ms per request and more, calls stopped: every window
 * was spent on a read made inside it, and each newcomer took the lease over and missed its own
 * first window, so the files waited for SCF's redelivery or the recovery pass. (Measured the same
 * way: the last call 24-54 s after the first drop at 250-600 ms; 115 and 131 s at 800 and 1000 ms;
 * at 1500 ms a sender's gathering outlasts its promise and no file is sent by the invocations.)
 * On a virtual clock, with concurrent invocations.
 */
import { setLogSink } from '../shared/runtime/log';
import { CORRUPT } from '../shared/store/ledger';
import { World } from './world';

beforeAll(() => setLogSink(() => undefined));

test.each([250, 300, 400, 600])('with %i ms per COS request, ten files dropped 2 s apart are all sent by the upload invocations, each once', async (ms) => {
  const w = new World({}, true);
  w.slowCos(ms);
  const start = w.t;
  const names = Array.from({ length: 10 }, (_, i) => `f${i}`);
  names.forEach((name, i) => void w.spawn(w.sleep(i * 2000).then(() => w.drop(name))));
  await w.settle();
  // No recovery pass ran: only the upload invocations.
  expect(names.map((n) => w.status(n))).toEqual(names.map(() => 'uploaded'));
  expect(new Set(w.ccc.files.map((f) => f.key)).size).toBe(10);
  expect(w.ccc.files).toHaveLength(10);
  const starts = w.calls.map((c) => c.at);
  for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(1000);
  // Within the invocations' own term, long before the recovery pass (every 5 minutes) would.
  expect(w.t - start).toBeLessThan(120_000);
});

/** A world after a slow spell (600 ms per COS request) that sent one file and left a room in the send log; COS is fast again. */
async function afterSlowSpell(): Promise<World> {
  const w = new World({}, true);
  w.slowCos(600);
  void w.drop('slow');
  await w.settle();
  expect(w.status('slow')).toBe('uploaded');
  // (Fast again before reading: a slow read outside an invocation would wait for a settle.)
  w.slowCos(0);
  return w;
}

test('once COS is fast again, idle files a minute apart wait less and less and the third is sent at once: the room a slow spell left behind fades (by half every 30 s, and every call)', async () => {
  const w = await afterSlowSpell();
  expect((await w.ledger.readTail())?.slowMs).toBeGreaterThan(0);
  const delays: number[] = [];
  for (const name of ['a', 'b', 'c']) {
    w.t += 60_000;
    const dropped = w.t;
    const calls = w.calls.length;
    void w.drop(name);
    await w.settle();
    expect(w.status(name)).toBe('uploaded');
    delays.push(w.calls[calls].at - dropped);
  }
  expect(delays[0]).toBeLessThan(1000);
  expect(delays[1]).toBeLessThanOrEqual(delays[0] / 4);
  expect(delays[2]).toBe(0);
});

test('a slow spell recorded ten minutes ago is not believed: an idle file is sent at once', async () => {
  const w = await afterSlowSpell();
  expect((await w.ledger.readTail())?.slowMs).toBeGreaterThan(0);
  w.t += 10 * 60_000;
  const dropped = w.t;
  void w.drop('later');
  await w.settle();
  expect(w.status('later')).toBe('uploaded');
  expect(w.calls[w.calls.length - 1].at - dropped).toBe(0);
});

test('after a slow spell, UploadFileOverflow heard while another sender waits for its window still stops that call (README, Reliability 3)', async () => {
  // A slow spell leaves a room in the send log (slowMs); COS is fast again.
  const w = await afterSlowSpell();
  expect((await w.ledger.readTail())?.slowMs).toBeGreaterThan(1000);
  // Files another tool registered filled the day: CCC refuses every call for the quota. While a's
  // lone call is in flight, b is dropped; its instance takes the lease and appends its call entry,
  // whose window opens more than a second after a hears the news and appends it after b's entry.
  w.callMs = 100;
  let overflowAt: number | undefined;
  w.answer = async (items) => {
    if (items[0].CustomFileName === 'a') {
      void w.drop('b');
      await w.sleep(50);
      overflowAt = w.t + w.callMs;
    }
    return { ok: false, failure: { kind: 'api', code: 'FailedOperation.UploadFileOverflow', message: 'upload file overflow', requestId: 'r-overflow' } };
  };
  void w.drop('a');
  await w.settle();

  // b's call is not one "already starting in that moment, whose window was open": it must not be made.
  expect(w.calls.filter((c) => c.at >= overflowAt!).map((c) => ({ msAfter: c.at - overflowAt!, names: c.names }))).toEqual([]);
  expect([w.status('a'), w.status('b')]).toEqual(['deferred', 'deferred']);
});

/**
 * A CCC api like `w.api` whose client takes `ms` of the world's clock to build, once (the SDK's
 * side file loading on a cold instance): at `prepare`, or, as createIvrAudioApi does, at the first
 * call if nothing prepared it.
 */
function slowToPrepare(w: World, ms: number): { api: World['api']; prepared: () => boolean } {
  let loaded = false;
  const build = () => void (loaded || ((loaded = true), (w.t += ms)));
  const api = w.api;
  return {
    api: {
      prepare: build,
      upload: (items) => (build(), api.upload(items)),
      describe: (q) => (build(), api.describe(q)),
    },
    prepared: () => loaded,
  };
}

/** Every call window the send log holds, in order. */
async function callWindows(w: World): Promise<Array<{ notBefore: number; notAfter: number }>> {
  const windows = [];
  for (let n = 1; ; n++) {
    const e = await w.ledger.readEntryAt(n);
    if (!e) return windows;
    if (e.call) windows.push(e.call);
  }
}

/**
 * Each call made inside the window its send-log entry promised, one entry per call (no window was
 * missed first). A lost answer is asked about a call lifetime after the window's notAfter, which
 * assumes the request left by then: nothing slow may stand between the window check and the request.
 */
async function expectCallsInTheirWindows(w: World, calls: number): Promise<void> {
  expect(w.calls).toHaveLength(calls);
  const windows = await callWindows(w);
  expect(windows).toHaveLength(calls);
  w.calls.forEach((c, i) => {
    expect(c.at).toBeGreaterThanOrEqual(windows[i].notBefore);
    expect(c.at).toBeLessThanOrEqual(windows[i].notAfter);
  });
}

test("a lone call whose instance is slow to build its CCC client (the SDK's side file, 3 s here) still starts inside the window the send log promised: the client is built before the window is worked out", async () => {
  const w = new World();
  const slow = slowToPrepare(w, 3000);
  w.api = slow.api;
  await w.upload('first', 3);
  expect(slow.prepared()).toBe(true);
  expect(w.status('first')).toBe('uploaded');
  await expectCallsInTheirWindows(w, 1);
});

test('so does the call of a sender that gathers (a file dropped by a new instance, slow to build its client, just after another call)', async () => {
  const w = new World();
  await w.upload('first', 3);
  // The next call must wait a gap after that one: no lone call, the new instance gathers.
  w.t += 200;
  const slow = slowToPrepare(w, 3000);
  w.api = slow.api;
  await w.upload('second', 3);
  expect(slow.prepared()).toBe(true);
  expect([w.status('first'), w.status('second')]).toEqual(['uploaded', 'uploaded']);
  await expectCallsInTheirWindows(w, 2);
});

test('and the call of a recovery pass, whose sender has no file of its own and builds its client only at its first call', async () => {
  const w = new World();
  await w.queuedByVanishedIntake('orphan', 3);
  const slow = slowToPrepare(w, 3000);
  w.api = slow.api;
  await w.recover(1);
  expect(slow.prepared()).toBe(true);
  expect(w.status('orphan')).toBe('uploaded');
  await expectCallsInTheirWindows(w, 1);
});

test('a call whose window is already missed when its entry is appended (that one write stalled) puts no file into it: no `sending` version only to be moved back, and the file goes in the next call', async () => {
  const w = new World();
  let stalled = false;
  w.store.hook = (op, key, phase) => {
    // The lone call's entry (send/1) takes 1 s to be written.
    if (!stalled && op === 'create' && phase === 'after' && key === `${w.prefix}send/1`) {
      stalled = true;
      w.t += 1000;
    }
  };
  await w.upload('stalled', 3);
  expect(stalled).toBe(true);
  expect(w.status('stalled')).toBe('uploaded');
  expect(w.calls).toHaveLength(1);
  // Its chain: written, put into the one call made, registered; nothing in between.
  const id = [...w.store.objects.keys()].find((k) => k.includes('/jobs/'))!.split('/').slice(-2)[0];
  const chain = [];
  for (let seq = 0; ; seq++) {
    const v = await w.ledger.readVersion(id, seq);
    if (!v || v === CORRUPT) break;
    chain.push(v.state);
  }
  expect(chain).toEqual(['queued', 'sending', 'uploaded']);
});
