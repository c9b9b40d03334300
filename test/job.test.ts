/** The job state machine and the send log's decisions: pure functions on plain data. */
import { JOB_STATES, TRANSITIONS, carriedOverJob, closedByCcc, parseJobVersion, deferralMessage, deferredUntil, inCall, isRedelivery, outcomeAt, queuedJob, sendable, settleable, transition, visibleResult, visibleStatus, type JobEvent, type JobState, type JobVersion } from '../shared/core/job';
import { callEntry, carriedRoom, chooseBatch, easedRoom, genesis, handOffMove, leaseEntry, leaseView, nextWindow, parseLogEntry, quotaOn, quotaRoom, reclaim, reopened, roomAfterMiss, SLOW_HALF_LIFE_MS, withNews, type Candidate } from '../shared/core/sendlog';
import { loadConfig } from '../shared/core/config';
import { freshEntryMs, timingFrom } from '../shared/core/timing';
import { buildReport, namesRegisteredOn, objectFindings, objectsToCheck, renderReportHtml, unansweredSlots, WECOM_MAX_BYTES, wecomMessage } from '../shared/core/report';

const T0 = Date.parse('2026-11-25T03:00:00Z');
const object = { bucket: 'b-1250000000', key: 'p/a.mp3', etag: 'e', size: 10, customName: 'a', queuedAt: T0, head: { standard: {}, meta: {} } };
const EVENTS: JobEvent[] = ['send', 'registered', 'rejected', 'retry', 'unsent', 'lost', 'defer', 'give-up', 'review', 'rerun', 'recheck'];

/** A version in `state`, reached through the table from a fresh job. */
function inState(state: JobState): JobVersion {
  const q = queuedJob('id', object, T0, 'test');
  const path: Record<JobState, JobEvent[]> = {
    queued: [],
    deferred: ['defer'],
    sending: ['send'],
    uncertain: ['send', 'lost'],
    uploaded: ['send', 'registered'],
    failed: ['send', 'rejected'],
  };
  return path[state].reduce((v, e) => transition(v, e, T0, 'test', e === 'registered' ? { upload: { fileId: 7, audioFileName: 'x', requestId: 'r', review: 'pending' } } : {}), q);
}

describe('job state machine', () => {
  const pairs = JOB_STATES.flatMap((s) => EVENTS.map((e) => [s, e] as const));
  test.each(pairs)('%s --%s-->', (state, event) => {
    const v = inState(state);
    const to = TRANSITIONS[state][event];
    if (!to) {
      expect(() => transition(v, event, T0, 'test')).toThrow(/no transition/);
      return;
    }
    const next = transition(v, event, T0 + 1, 'test2', { call: 3 });
    expect(next).toMatchObject({ state: to, seq: v.seq + 1, by: 'test2', id: v.id, object: v.object });
  });

  test('a stored version lacking a field the workflow computes with is unreadable (a hand edit), never a version that yields NaN or undefined later', () => {
    const v = inState('failed');
    expect(parseJobVersion(JSON.stringify(v))).toEqual(v);
    const without = (field: string, inObject = false): string => {
      const copy = JSON.parse(JSON.stringify(v)) as Record<string, unknown> & { object: Record<string, unknown> };
      delete (inObject ? copy.object : copy)[field];
      return JSON.stringify(copy);
    };
    // `run` + 1 on a rerun, `by` to tell our own create, the bucket and size the job's object is known by.
    for (const field of ['run', 'by', 'attempts', 'seq']) expect(parseJobVersion(without(field))).toBeUndefined();
    for (const field of ['bucket', 'size', 'key', 'etag']) expect(parseJobVersion(without(field, true))).toBeUndefined();
  });

  test('attempts count real attempts only; a re-run starts over', () => {
    const s = inState('sending');
    expect(transition(s, 'retry', T0, 't').attempts).toBe(1);
    expect(transition(s, 'unsent', T0, 't').attempts).toBe(0);
    expect(transition(s, 'lost', T0, 't').attempts).toBe(0);
    const failed = transition(transition(s, 'retry', T0, 't'), 'send', T0, 't');
    const gaveUp = transition(failed, 'give-up', T0, 't', { lastError: { code: 'GaveUp', message: 'x' } });
    expect(gaveUp.attempts).toBe(2);
    expect(transition(gaveUp, 'rerun', T0, 't')).toMatchObject({ state: 'queued', attempts: 0, run: 1 });
    expect(transition(gaveUp, 'rerun', T0, 't').lastError).toBeUndefined();
  });

  test('the quota slot follows the job: reused by a retry, given back when the call never reached CCC', () => {
    const q = inState('queued');
    const sending = transition(q, 'send', T0, 't', { slot: '2026-11-25', newSlot: true });
    expect(transition(sending, 'retry', T0, 't').slot).toBe('2026-11-25');
    expect(transition(sending, 'unsent', T0, 't').slot).toBeUndefined();
    const again = transition(transition(sending, 'retry', T0, 't'), 'send', T0, 't', { slot: '2026-11-25', newSlot: false });
    expect(transition(again, 'unsent', T0, 't').slot).toBe('2026-11-25');
  });

  test('a lost answer keeps the file in its call until it is settled', () => {
    const sending = transition(queuedJob('id', object, T0, 'test'), 'send', T0, 't', { call: 4 });
    const uncertain = transition(sending, 'lost', T0, 't', { checkAfter: T0 + 30_000 });
    expect(uncertain.call).toBe(4);
    expect(inCall(uncertain, 4, sending.seq)).toBe(true);
    expect(inCall(uncertain, 5, sending.seq)).toBe(false);
    // As the previous version wrote it: no number, but right after this call's `sending`.
    const { call: _, ...legacy } = uncertain;
    expect(inCall(legacy, 4, sending.seq)).toBe(true);
    expect(inCall(legacy, 4, sending.seq + 1)).toBe(false);
    // A later outcome belongs to whichever call it names, like any version.
    expect(inCall(transition(uncertain, 'retry', T0, 't', { call: 4 }), 4, sending.seq)).toBe(true);
  });

  test('a whole-call refusal before processing gives the slot back on record, as `unsent` does', () => {
    const sending = transition(queuedJob('id', object, T0, 'test'), 'send', T0, 't', { call: 2, slot: '2026-11-25', newSlot: true });
    expect(transition(sending, 'rejected', T0, 't', { call: 2 }).slot).toBe('2026-11-25');
    expect(transition(sending, 'rejected', T0, 't', { call: 2, unattempted: true }).slot).toBeUndefined();
    // A slot taken by an earlier call (a retry) stays: that call did reach CCC.
    const retried = transition(transition(sending, 'retry', T0, 't'), 'send', T0, 't', { call: 3, newSlot: false });
    expect(transition(retried, 'rejected', T0, 't', { call: 3, unattempted: true }).slot).toBe('2026-11-25');
  });

  test('a file counts on the day it was registered, whenever its review arrives', () => {
    const uploaded = transition(inState('sending'), 'registered', T0, 't', { upload: { fileId: 7, audioFileName: 'x', requestId: 'r', review: 'pending' } });
    expect(uploaded.upload?.registeredAt).toBe(new Date(T0).toISOString());
    // Approved 20 hours later: past midnight in +08:00, the next quota day.
    const reviewed = transition(uploaded, 'review', T0 + 20 * 3600_000, 't', { upload: { ...uploaded.upload!, review: 'approved' } });
    expect(outcomeAt(reviewed)).toBe(T0);
    const input = { nowMs: T0 + 21 * 3600_000, utcOffsetMinutes: 480, quotaLimit: 50, submitted: 1, exhausted: false, jobs: [reviewed], actions: { registered: 0, reviewsUpdated: 1, pruned: 0 }, final: true };
    expect(buildReport({ ...input, day: '2026-11-25' })).toMatchObject({ files: { uploaded: 1 }, review: { approved: 1 } });
    expect(buildReport({ ...input, day: '2026-11-26' })).toMatchObject({ files: { uploaded: 0 }, review: { approved: 0 } });
  });

  test('what the object shows for each state', () => {
    expect(JOB_STATES.map((s) => visibleStatus(inState(s)))).toEqual(['queued', 'deferred', 'queued', 'retrying', 'uploaded', 'failed']);
    const retried = transition(inState('sending'), 'retry', T0, 't', { lastError: { code: 'InternalError', message: 'x' } });
    expect(visibleStatus(retried)).toBe('retrying');
    expect(visibleResult(inState('uploaded'))).toMatchObject({ status: 'uploaded', fileId: 7, requestId: 'r', review: 'pending' });
    expect(visibleResult(inState('deferred'))).toMatchObject({ status: 'deferred', errorCode: 'QuotaExhausted' });
  });

  test('a released deferred file whose call is not made waits as queued, not retrying "the day is used up"', () => {
    const deferred = transition(queuedJob('id', object, T0, 'test'), 'defer', T0, 't', { deferredDay: '2026-11-25', lastError: { code: 'QuotaExhausted', message: 'the quota day 2026-11-25 is used up' } });
    const unsent = transition(transition(deferred, 'send', T0 + 86400_000, 't', { call: 4 }), 'unsent', T0 + 86400_000, 't');
    const shown = (v: JobVersion) => { const r = visibleResult(v); return [r.status, r.errorCode]; };
    expect(shown(unsent)).toEqual(['queued', undefined]);
    expect(shown(transition(unsent, 'send', T0 + 86400_000, 't', { call: 5 }))).toEqual(['queued', undefined]);
  });

  test('a deferred file sent and settled on the day it was deferred was not pushed past that day: the day leaves its deferred span', () => {
    const defer = (v: JobVersion, day: string) => transition(v, 'defer', T0, 't', { deferredDay: day, lastError: { code: 'QuotaExhausted', message: `the quota day ${day} is used up` } });
    const registered = (v: JobVersion) => transition(v, 'registered', T0, 't', { upload: { fileId: 1, audioFileName: 'a.mp3', requestId: 'r', review: 'pending' } });
    const once = defer(inState('queued'), '2026-11-25');
    const sameDay = transition(once, 'send', T0, 't', { call: 3, slot: '2026-11-25' });
    // Not at the send: the call may not be made after all, and the file wait for tomorrow.
    expect(sameDay.deferredDays).toEqual({ first: '2026-11-25', last: '2026-11-25' });
    expect(registered(sameDay).deferredDays).toBeUndefined();
    expect(transition(sameDay, 'rejected', T0, 't', { lastError: { code: 'InvalidParameterValue', message: 'bad' } }).deferredDays).toBeUndefined();
    // Sent on the day it was deferred on, but not made: sent the next day, it waited through its day.
    const unsent = transition(sameDay, 'unsent', T0, 't');
    expect(registered(transition(unsent, 'send', T0, 't', { call: 4, slot: '2026-11-26' })).deferredDays).toEqual({ first: '2026-11-25', last: '2026-11-25' });
    // Released on a later day, it waited through its day.
    const nextDay = transition(once, 'send', T0, 't', { call: 3, slot: '2026-11-26' });
    expect(registered(nextDay).deferredDays).toEqual({ first: '2026-11-25', last: '2026-11-25' });
    // Waited through the 25th, deferred again on the 26th and sent that same day: the 25th only.
    const twice = defer(transition(nextDay, 'unsent', T0, 't'), '2026-11-26');
    expect(twice.deferredDays).toEqual({ first: '2026-11-25', last: '2026-11-26' });
    expect(registered(transition(twice, 'send', T0, 't', { call: 5, slot: '2026-11-26' })).deferredDays).toEqual({ first: '2026-11-25', last: '2026-11-25' });
  });

  test('sendable and settleable', () => {
    const d = transition(inState('queued'), 'defer', T0, 't', { deferredDay: '2026-11-25' });
    expect(sendable(d, T0, '2026-11-25')).toBe(false);
    expect(sendable(d, T0, '2026-11-26')).toBe(true);
    // On its own day only once that day has room again (slots given back, IVR_DAILY_QUOTA raised).
    expect(sendable(d, T0, '2026-11-25', true)).toBe(true);
    expect(sendable(d, T0, '2026-11-24', true)).toBe(false);
    const backoff = transition(inState('sending'), 'retry', T0, 't', { notBefore: T0 + 1000 });
    expect(sendable(backoff, T0, '2026-11-25')).toBe(false);
    expect(sendable(backoff, T0 + 1000, '2026-11-25')).toBe(true);
    const s = transition(inState('queued'), 'send', T0, 't', { checkAfter: T0 + 30000 });
    expect(settleable(s, T0 + 29999, 0)).toBe(false);
    expect(settleable(s, T0 + 30000, 0)).toBe(true);
    // A reader whose clock may run 250 ms ahead of the sender's waits that much longer.
    expect(settleable(s, T0 + 30249, 250)).toBe(false);
    expect(settleable(s, T0 + 30250, 250)).toBe(true);
  });
});

describe('a failed job delivered again', () => {
  const uploadedAt = T0 - 60_000;
  const refused = (): JobVersion => ({ ...inState('failed'), object: { ...object, uploadedAt } });
  const ineligible = (at: number): JobVersion => ({ ...queuedJob('id', { ...object, uploadedAt }, at, 'test'), state: 'failed' });

  test('our own status on the object: a redelivery', () => {
    expect(isRedelivery(refused(), 'e', uploadedAt + 5000)).toBe(true);
    // The failed version itself, or an earlier one whose write landed last.
    expect(isRedelivery(refused(), 'e', uploadedAt + 5000, refused().at)).toBe(true);
    expect(isRedelivery(refused(), 'e', uploadedAt + 5000, new Date(T0 - 1).toISOString())).toBe(true);
  });
  test('our status of a version newer than the chain\'s newest (a rerun whose create was refused): the upload again it came from', () => {
    expect(isRedelivery(refused(), 'e', uploadedAt + 5000, new Date(T0 + 60_000).toISOString())).toBe(false);
    expect(isRedelivery(refused(), 'e', uploadedAt + 5000, new Date(T0 + 60_000).toISOString(), 250)).toBe(false);
  });
  test('our status of an earlier version dated after the newest by a writer whose clock is ahead (within the skew): a redelivery', () => {
    expect(isRedelivery(refused(), 'e', uploadedAt + 5000, new Date(T0 + 200).toISOString(), 250)).toBe(true);
  });
  test('the object as first read, none of our writes landed: a redelivery, also within the same second for a file CCC refused', () => {
    expect(isRedelivery(refused(), undefined, uploadedAt)).toBe(true);
    expect(isRedelivery(ineligible(uploadedAt + 1000), undefined, uploadedAt)).toBe(true);
  });
  test('uploaded again (new Last-Modified, no status of ours): the operator retrying', () => {
    expect(isRedelivery(refused(), undefined, uploadedAt + 2000)).toBe(false);
    expect(isRedelivery(refused(), undefined, undefined)).toBe(false);
  });
  test('a file that failed its checks uploaded again within the same second: an upload again (it is only checked)', () => {
    expect(isRedelivery(ineligible(uploadedAt + 400), undefined, uploadedAt)).toBe(false);
  });
  test('a carried-over version keeps the queued base and takes the state it carries', () => {
    const v = carriedOverJob(queuedJob('id', object, T0, 'test'), { state: 'uncertain', checkAfter: 0 }, 3);
    expect(v).toMatchObject({ state: 'uncertain', checkAfter: 0, seq: 3, attempts: 0, id: 'id' });
  });
});

describe('send log', () => {
  const config = loadConfig({ CCC_SDK_APP_ID: '1', TENCENTCLOUD_SECRETID: 'a', TENCENTCLOUD_SECRETKEY: 'b' });
  const t = timingFrom(config);
  const day = '2026-11-25';
  const changes = (now: number, quota = { day, used: 0, full: false }) => ({ owner: 'me', now, quota, open: [], deferred: 0 });

  test('a listed entry is left for the next listing only while younger than a file left to the holder can be at its last listing', () => {
    // Defaults (1200 ms lag, 250 ms skew): the usual 150 ms.
    expect(t.freshEntryMs).toBe(150);
    // A file queued just before acceptUntil (its clock up to the skew ahead) is listLag - skew old
    // at the holder's last listing, acceptUntil + listLag.
    expect(freshEntryMs(300, 250)).toBe(50);
    expect(freshEntryMs(200, 1000)).toBe(0);
  });

  test('the room a slow COS needs is carried by every entry, fades by half every 30 s, and a record that is not a duration is dropped', () => {
    const slow = leaseEntry(genesis(day), { ...changes(T0), slowMs: 2000 }, T0 + 2000, t);
    expect(slow.slowMs).toBe(2000);
    // Carried over, faded to its time, by an entry that says nothing of it (its fresh `at` must
    // not restart the fading); dropped by one that says 0.
    expect(leaseEntry(slow, changes(T0), T0 + 2000, t).slowMs).toBe(2000);
    const later = leaseEntry(slow, changes(T0 + SLOW_HALF_LIFE_MS), T0 + SLOW_HALF_LIFE_MS + 2000, t);
    expect(later.slowMs).toBe(1000);
    expect(carriedRoom(later, T0 + 2 * SLOW_HALF_LIFE_MS)).toBe(500);
    expect(leaseEntry(slow, { ...changes(T0 + 100), slowMs: 0 }, T0 + 2000, t)).not.toHaveProperty('slowMs');
    expect(carriedRoom(slow, T0)).toBe(2000);
    expect(carriedRoom(slow, T0 + SLOW_HALF_LIFE_MS)).toBe(1000);
    expect(carriedRoom(slow, T0 + 5 * SLOW_HALF_LIFE_MS)).toBe(0); // 62 ms: no room
    expect([easedRoom(2000), easedRoom(150), roomAfterMiss(0), roomAfterMiss(4000), roomAfterMiss(9000)]).toEqual([1000, 0, 250, 8000, 10000]);
    expect(parseLogEntry(JSON.stringify({ ...slow, slowMs: 'x' }))).not.toHaveProperty('slowMs');
    expect(parseLogEntry(JSON.stringify({ ...slow, slowMs: -5 }))).not.toHaveProperty('slowMs');
    expect(parseLogEntry(JSON.stringify(slow))?.slowMs).toBe(2000);
  });

  test('an entry is read back as written, lease and call; one that lacks a field a sender computes with is unreadable, not a value that throws in every sender later', () => {
    const lease = leaseEntry(genesis(day), changes(T0), T0 + 2000, t);
    const call = callEntry(lease, changes(T0 + 10), { notBefore: T0 + 1300, notAfter: T0 + 1550, day }, [{ id: 'a'.repeat(40), seq: 1, name: 'a', newSlot: true }], true, t);
    for (const e of [genesis(day), lease, call]) expect(parseLogEntry(JSON.stringify(e))).toEqual(e);
    const broken: Array<Record<string, unknown>> = [
      { ...call, open: [{}] },
      { ...call, open: [{ ...call.open[0], jobs: [{ id: 'a' }] }] },
      { ...call, call: undefined },
      { ...call, call: { ...call.call, notAfter: 'soon' } },
      { ...call, quota: { day } },
      { ...call, previousDay: { day, used: '3', full: false } },
      { ...call, acceptUntil: null },
      { ...call, owner: 7 },
      { ...call, deferred: undefined },
      { ...call, bucket: { day, versioning: 'Maybe' } },
    ];
    for (const e of broken) expect(parseLogEntry(JSON.stringify(e))).toBeUndefined();
  });

  test('a lease is accepting, then closing for a listing lag, then free', () => {
    const e = leaseEntry(genesis(day), changes(T0), T0 + 2000, t);
    expect(leaseView(e, T0, t).kind).toBe('accepting');
    expect(leaseView(e, T0 + 2000, t).kind).toBe('closing');
    expect(leaseView(e, e.leaseUntil + t.skewMs, t).kind).toBe('free');
  });

  test('an intake leaves its files to an accepting holder, defers them on a day the log knows is full, else sends them itself (at once when a call may start now)', () => {
    const accepting = leaseEntry(genesis(day), changes(T0), T0 + 2000, t);
    expect(handOffMove(accepting, T0, day, t, 50, 480)).toBe('leave');
    // Closing: the lease is taken, but by a sender that gathers (the holder may have promised files just before).
    expect(handOffMove(accepting, T0 + 2000, day, t, 50, 480)).toBe('send');
    expect(handOffMove(genesis(day), T0, day, t, 50, 480)).toBe('send-now');
    // A call just made: the next one waits a gap.
    const call = callEntry(genesis(day), changes(T0), { notBefore: T0, notAfter: T0 + 250, day }, [{ id: 'a', seq: 1, name: 'a', newSlot: true }], false, t);
    expect(handOffMove(call, T0 + 300, day, t, 50, 480)).toBe('send');
    expect(handOffMove(call, T0 + 250 + t.callGapMs, day, t, 50, 480)).toBe('send-now');
    // Deferred files wait: they go first, with a sender that gathers.
    expect(handOffMove({ ...genesis(day), deferred: 2 }, T0, day, t, 50, 480)).toBe('send');
    // Full by CCC's word, or by closed calls: defer, even with a holder accepting.
    expect(handOffMove(leaseEntry(genesis(day), changes(T0, { day, used: 3, full: true }), T0 + 2000, t), T0, day, t, 50, 480)).toBe('defer');
    expect(handOffMove(leaseEntry(genesis(day), { ...changes(T0, { day, used: 50, full: false }), dailyQuota: 50 }, T0 + 2000, t), T0, day, t, 50, 480)).toBe('defer');
    // Full by our count on an entry that does not mark the day filled (an earlier release's, or an
    // appender whose quota was higher during a redeploy): to a sender, whose entry marks it and
    // whose deferral is counted, so no lone call passes the file once the day has room again.
    const unmarked = leaseEntry(genesis(day), changes(T0, { day, used: 50, full: false }), T0 + 2000, t);
    expect(unmarked.quota.filled).toBeUndefined();
    expect(handOffMove(unmarked, T0, day, t, 50, 480)).toBe('leave');
    // (Free: it takes the lease to send at once, as with a call still open below; the sender finds no room.)
    expect(handOffMove(unmarked, unmarked.leaseUntil + t.skewMs, day, t, 50, 480)).toBe('send-now');
    // All slots used but a call still open: it may give slots back, which only a sender can tell.
    const open = { ...leaseEntry(genesis(day), changes(T0, { day, used: 50, full: false }), T0, t), open: [{ n: 1, day, notBefore: T0, notAfter: T0 + 250, jobs: [] }] };
    // (Once the entry's holder has stopped listing: until then a newcomer gathers, see above.)
    expect(handOffMove(open, open.leaseUntil + t.skewMs, day, t, 50, 480)).toBe('send-now');
    // Yesterday's full day does not hold today back. Not a lone call, though: the new day's first
    // batch comes from a listing (files deferred to today go first), as Sender.acquire decides, so
    // the intake shows `queued` before the sender gathers.
    const yesterday = leaseEntry(genesis('2026-11-24'), changes(T0, { day: '2026-11-24', used: 50, full: true }), T0, t);
    expect(handOffMove(yesterday, yesterday.leaseUntil + t.skewMs, day, t, 50, 480)).toBe('send');
    const today = leaseEntry(genesis(day), changes(T0), T0, t);
    expect(handOffMove(today, today.leaseUntil + t.skewMs, day, t, 50, 480)).toBe('send-now');
  });

  test('calls are a gap apart, counting from the latest window end, and never straddle a quota day', () => {
    const first = callEntry(genesis(day), changes(T0), nextWindow(genesis(day), T0, t, 480), [{ id: 'a', seq: 1, name: 'a', newSlot: true }], false, t);
    expect(first.call!.notBefore).toBe(T0);
    const w = nextWindow(first, T0 + 10, t, 480);
    expect(w.notBefore - first.call!.notAfter).toBe(t.callGapMs);
    expect(t.callGapMs).toBeGreaterThanOrEqual(1000 + t.skewMs);
    // 23:59:59.9 China Standard Time: the window moves past midnight, plus the skew allowance and
    // the time for a listing a listing lag after midnight to choose the batch (files deferred just
    // before midnight go first).
    const late = Date.parse('2026-11-25T15:59:59.900Z');
    const midnight = Date.parse('2026-11-25T16:00:00Z');
    const moved = nextWindow(genesis(day), late, t, 480);
    expect(moved.day).toBe('2026-11-26');
    expect(moved.notBefore).toBe(midnight + t.skewMs + t.listLagMs + t.gatherLeadMs);
    expect(nextWindow(genesis(day), midnight + 100, t, 480).notBefore).toBe(moved.notBefore);
    expect(nextWindow(genesis(day), midnight + 5000, t, 480).notBefore).toBe(midnight + 5000);
  });

  test('a lone call accepts nobody and holds the lease only until its window ends', () => {
    const e = callEntry(genesis(day), changes(T0), { notBefore: T0, notAfter: T0 + 250, day }, [{ id: 'a', seq: 1, name: 'a', newSlot: true }], false, t);
    expect(leaseView(e, T0, t).kind).toBe('closing');
    expect(e.leaseUntil).toBe(T0 + 250);
    expect(e.quota.used).toBe(1);
    expect(e.open).toEqual([{ n: 1, notAfter: T0 + 250, day, jobs: [{ id: 'a', seq: 1, name: 'a', newSlot: true }] }]);
  });

  test('a day whose count reached the quota is marked filled: once it has room again, files dropped later do not go in a lone call ahead of those deferred meanwhile', () => {
    const one = (n: number) => [{ id: `f${n}`, seq: 0, name: `f${n}`, newSlot: true }];
    const first = callEntry(genesis(day), { ...changes(T0), dailyQuota: 2 }, { notBefore: T0, notAfter: T0 + 250, day }, one(1), false, t);
    expect(first.quota).toEqual({ day, used: 1, full: false });
    const second = callEntry(first, { ...changes(T0 + 2000, first.quota), dailyQuota: 2 }, { notBefore: T0 + 2000, notAfter: T0 + 2250, day }, one(2), false, t);
    expect(second.quota).toEqual({ day, used: 2, full: false, filled: true });
    const later = second.leaseUntil + t.skewMs + t.callGapMs;
    // Both calls answered: an intake now defers its file without a sender (the deferred count stays 0)...
    const answered = { ...second, open: [] };
    expect(handOffMove(answered, later, day, t, 2, 480)).toBe('defer');
    // ...and once the quota is raised (or a slot comes back), the next file gathers, so the one deferred goes first.
    expect(handOffMove(answered, later, day, t, 3, 480)).toBe('send');
    expect(handOffMove({ ...answered, quota: { day, used: 2, full: false } }, later, day, t, 3, 480)).toBe('send-now');
    // The mark holds through later entries (a slot given back included) and ends with the day.
    const back = leaseEntry(second, { ...changes(later, reclaim(second.quota, new Map([[day, 1]]))), dailyQuota: 2 }, later, t);
    expect(back.quota).toEqual({ day, used: 1, full: false, filled: true });
    expect(quotaOn(back, '2026-11-26').quota).toEqual({ day: '2026-11-26', used: 0, full: false });
    expect(withNews({ ...back, quota: { day, used: 1, full: false } }, { quota: back.quota, open: [], mine: new Set(), deferred: 0 }).quota.filled).toBe(true);
    // Room again on the filled day: senders list deferred/ before each call (an intake's deferral is not in the count).
    expect([reopened(back.quota, day, 2), reopened(second.quota, day, 2), reopened(back.quota, '2026-11-26', 2), reopened(first.quota, day, 2)]).toEqual([true, false, false, false]);
    // A stored entry reads back with its mark, and a mark of another shape is not a log entry.
    expect(parseLogEntry(JSON.stringify(back))?.quota.filled).toBe(true);
    expect(parseLogEntry(JSON.stringify({ ...back, quota: { ...back.quota, filled: 'yes' } }))).toBeUndefined();
  });

  test('a call takes quota only for files without a slot today', () => {
    const e = callEntry(genesis(day), changes(T0, { day, used: 3, full: false }), { notBefore: T0, notAfter: T0 + 250, day }, [
      { id: 'a', seq: 1, name: 'a', newSlot: true },
      { id: 'b', seq: 3, name: 'b', newSlot: false },
    ], true, t);
    expect(e.quota.used).toBe(4);
  });

  test('a new quota day starts at zero and keeps the old one for the report; a lagging clock never goes back', () => {
    const e = callEntry(genesis(day), changes(T0, { day, used: 50, full: true }), { notBefore: T0, notAfter: T0 + 1, day }, [], false, t);
    expect(quotaOn(e, '2026-11-26')).toEqual({ quota: { day: '2026-11-26', used: 0, full: false }, previousDay: { day, used: 50, full: true } });
    expect(quotaOn(e, '2026-11-24').quota.day).toBe(day);
    expect(quotaRoom({ day, used: 48, full: false }, 50)).toBe(2);
    expect(quotaRoom({ day, used: 1, full: true }, 50)).toBe(0);
    expect(reclaim({ day, used: 5, full: false }, new Map([[day, 2], ['2026-11-24', 9]]))).toEqual({ day, used: 3, full: false });
  });

  test('news for an entry someone appended first: their view, our calls as we know them, our day full', () => {
    const theirs = { ...leaseEntry(genesis(day), changes(T0, { day, used: 3, full: false }), T0, t), open: [{ n: 1, notAfter: 0, day, jobs: [] }, { n: 2, notAfter: 0, day, jobs: [] }], deferred: 1 };
    const ours = { quota: { day, used: 2, full: true }, open: [{ n: 2, notAfter: 5, day, jobs: [{ id: 'a', seq: 1, name: 'a', newSlot: true }] }], mine: new Set([2, 4]), deferred: 0 };
    expect(withNews(theirs, ours)).toEqual({ quota: { day, used: 3, full: true }, previousDay: undefined, open: [{ n: 1, notAfter: 0, day, jobs: [] }, ours.open[0]], deferred: 1 });
    // Their entry is already on the next day: the news goes to the day it is about.
    const next = { ...theirs, quota: { day: '2026-11-26', used: 0, full: false }, previousDay: { day, used: 3, full: false } };
    expect(withNews(next, ours)).toMatchObject({ quota: { day: '2026-11-26', used: 0, full: false }, previousDay: { day, used: 3, full: true } });
  });

  test('batches: oldest first, within the room and the batch size, one file per name, none whose name is in an open call', () => {
    const c = (id: string, name: string, queuedAt: number, slot?: string): Candidate => ({ id, seq: 0, name, queuedAt, slot });
    const cands = [c('e', 'e', 5), c('a', 'a', 1), c('b', 'x', 2), c('c', 'x', 3), c('d', 'busy', 4), c('f', 'f', 6, day)];
    const open = [{ n: 1, notAfter: 0, day, jobs: [{ id: 'z', seq: 1, name: 'busy', newSlot: true }] }];
    const r = chooseBatch(cands, open, { room: 2, full: false, maxBatch: 20, day });
    expect(r.batch.map((x) => x.id)).toEqual(['a', 'b', 'f']); // f already holds today's slot
    expect(r.defer.map((x) => x.id)).toEqual(['e']);
    expect(r.waiting.map((x) => x.id).sort()).toEqual(['c', 'd']);
    expect(chooseBatch(cands, [], { room: 10, full: false, maxBatch: 2, day }).batch.map((x) => x.id)).toEqual(['a', 'b']);
    // CCC said the day is full: even a file that holds one of its slots waits for the next day.
    const full = chooseBatch(cands, open, { room: 0, full: true, maxBatch: 20, day });
    expect({ batch: full.batch.map((x) => x.id), defer: full.defer.map((x) => x.id) }).toEqual({ batch: [], defer: ['a', 'b', 'c', 'e', 'f'] });
    // A name in flight outside any open call (a migrated `calling` job) is reserved too.
    expect(chooseBatch(cands, open, { room: 2, full: false, maxBatch: 20, day, reserved: new Set(['a']) }).batch.map((x) => x.id)).toEqual(['b', 'e', 'f']);
  });
});

test('a deferred file\'s message names the full day and the first day it can go out, which deferredUntil reads back', () => {
  for (const cause of [{ quota: 1 }, { quota: 50 }, {}, { cccCode: 'FailedOperation.UploadFileOverflow' as const }]) expect(deferredUntil(deferralMessage('2026-12-31', cause))).toBe('2027-01-01');
  expect(deferredUntil('some other message')).toBeUndefined();
  expect(deferralMessage('2026-11-26', { quota: 1 })).toBe('the daily quota of 1 file for 2026-11-26 is used up; the file is sent automatically from 2026-11-27, after any deferred before it, or on 2026-11-26 itself if that day has room again (a slot given back, or IVR_DAILY_QUOTA raised)');
  expect(deferralMessage('2026-12-31', { quota: 50 })).toMatch(/^the daily quota of 50 files for 2026-12-31 is used up; the file is sent automatically from 2027-01-01, /);
  // Cut to fit the object's metadata, it still names the day.
  expect(deferredUntil(`${deferralMessage('2026-11-26', { quota: 50 }).slice(0, 110)}…`)).toBe('2026-11-27');
  // The earlier releases' wording, still on objects deferred before this one.
  expect(deferredUntil('the daily quota of 50 files for 2026-11-26 is used up; the file is sent automatically from 2026-11-27 at the earliest, after any deferred before it')).toBe('2026-11-27');
  expect(deferralMessage('2026-11-26', { cccCode: 'FailedOperation.UploadFileOverflow' })).toMatch(/^CCC reports the daily upload limit for 2026-11-26 reached \(FailedOperation.UploadFileOverflow\); /);
  // Which said CCC closed the day: this release's words, and an older release's (no day in them).
  expect(closedByCcc(deferralMessage('2026-11-26', { cccCode: 'FailedOperation.UploadFileOverflow' }))).toBe(true);
  expect(closedByCcc('CCC reports the daily upload limit reached (FailedOperation.UploadFileOverflow); the file is sent automatically on a later quota day')).toBe(true);
  expect(closedByCcc(deferralMessage('2026-11-26', { quota: 50 }))).toBe(false);
  expect(closedByCcc(undefined)).toBe(false);
});

describe('the daily report\'s needs-action list: the files dropped by the end of the day, as they are now', () => {
  const D26_2000 = Date.parse('2026-11-26T12:00:00Z'); // 2026-11-26 20:00 +08:00
  const D27_0005 = Date.parse('2026-11-26T16:00:05Z'); // 2026-11-27 00:00:05 +08:00
  const reportObject = { bucket: 'b-1250000000', key: 'p/third.mp3', etag: 'e', size: 10, customName: 'third', queuedAt: D26_2000, head: { standard: {}, meta: {} } };
  const reportInput = { utcOffsetMinutes: 480, quotaLimit: 1, submitted: 1, exhausted: true, actions: { registered: 1, reviewsUpdated: 0, pruned: 0 }, final: true };

  test('a file of the day deferred again after midnight, by the pass that then writes the day\'s report, is in its needs-action list', () => {
    const deferred = transition(queuedJob('id', reportObject, D26_2000, 't'), 'defer', D26_2000, 't', { deferredDay: '2026-11-26' });
    const again = transition(deferred, 'defer', D27_0005, 't', { deferredDay: '2026-11-27' });
    const r = buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_0005 + 2000, jobs: [again] });
    expect(r.backlog).toMatchObject({ deferred: 1, oldestDeferredDay: '2026-11-26' });
    expect(r.needsAction.map((a) => a.key)).toEqual(['p/third.mp3']);
  });

  test("a deferred file withdrawn later still counts as deferred on the days the quota pushed it on; one replaced by a new drop is the new drop's", () => {
    const D28_1000 = Date.parse('2026-11-28T02:00:00Z');
    const deferred = transition(queuedJob('id', reportObject, D26_2000, 't'), 'defer', D26_2000, 't', { deferredDay: '2026-11-26' });
    const again = transition(deferred, 'defer', D27_0005, 't', { deferredDay: '2026-11-27' });
    const withdrawn = transition(again, 'replaced', D28_1000, 't', { lastError: { code: 'ObjectChanged', message: 'gone' } });
    for (const day of ['2026-11-26', '2026-11-27']) expect(buildReport({ ...reportInput, day, nowMs: D28_1000 + 1000, jobs: [withdrawn] }).files.deferred).toBe(1);
    expect(buildReport({ ...reportInput, day: '2026-11-28', nowMs: D28_1000 + 1000, jobs: [withdrawn] }).files.deferred).toBe(0);
    // Dropped again under its key on the 28th: from that day the new drop is the file of the report
    // (one deferral that day, not two); before it, the old one still counts.
    const newDrop = transition(queuedJob('new', { ...reportObject, etag: 'f', queuedAt: D28_1000 }, D28_1000, 't'), 'defer', D28_1000, 't', { deferredDay: '2026-11-28' });
    const replacedLate = transition(again, 'defer', D28_1000, 't', { deferredDay: '2026-11-28' });
    const deferredOn = (day: string, jobs: JobVersion[]) => buildReport({ ...reportInput, day, nowMs: D28_1000 + 1000, jobs }).files.deferred;
    expect(['2026-11-26', '2026-11-27', '2026-11-28'].map((day) => deferredOn(day, [replacedLate, newDrop]))).toEqual([1, 1, 1]);
    expect(['2026-11-26', '2026-11-27', '2026-11-28'].map((day) => deferredOn(day, [withdrawn, newDrop]))).toEqual([1, 1, 1]);
    // A third drop later changes no earlier day: each version counts up to the drop right after it
    // (a review found the 27th counted twice once a drop of the 29th came).
    const D29_1000 = D28_1000 + 24 * 3600_000;
    const third = queuedJob('third', { ...reportObject, etag: 'g', queuedAt: D29_1000 }, D29_1000, 't');
    const days = ['2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29'];
    const laterDeferred = transition(newDrop, 'defer', D29_1000 - 1000, 't', { deferredDay: '2026-11-29' });
    expect(days.map((day) => buildReport({ ...reportInput, day, nowMs: D29_1000 + 1000, jobs: [replacedLate, laterDeferred] }).files.deferred)).toEqual([1, 1, 1, 1]);
    expect(days.map((day) => buildReport({ ...reportInput, day, nowMs: D29_1000 + 1000, jobs: [replacedLate, laterDeferred, third] }).files.deferred)).toEqual([1, 1, 1, 0]);
  });

  test('files dropped after the day are not its backlog, even in a report of it written hours later', () => {
    const D27_1700 = Date.parse('2026-11-27T09:00:00Z'); // 2026-11-27 17:00 +08:00
    const ofTheDay = transition(queuedJob('a', reportObject, D26_2000, 't'), 'defer', D26_2000, 't', { deferredDay: '2026-11-26' });
    const later = transition(queuedJob('b', { ...reportObject, key: 'p/later.mp3', queuedAt: D27_1700 }, D27_1700, 't'), 'defer', D27_1700, 't', { deferredDay: '2026-11-27' });
    const laterQueued = queuedJob('c', { ...reportObject, key: 'p/later-queued.mp3', queuedAt: D27_1700 }, D27_1700, 't');
    const r = buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_1700 + 60_000, jobs: [ofTheDay, later, laterQueued] });
    expect(r.backlog).toEqual({ deferred: 1, queued: 0, oldestDeferredDay: '2026-11-26' });
    expect(r.needsAction.map((a) => a.key)).toEqual(['p/third.mp3']);
    // The next day's report counts them all.
    expect(buildReport({ ...reportInput, day: '2026-11-27', nowMs: D27_1700 + 60_000, jobs: [ofTheDay, later, laterQueued] }).backlog).toEqual({ deferred: 2, queued: 1, oldestDeferredDay: '2026-11-26' });
  });

  test('a report so far counts as in a call only the new slots of files still `sending` in it, not the files of answered calls the send log keeps open', () => {
    const call = (n: number, day: string, jobs: Array<[string, number, boolean]>) => ({ n, notAfter: D26_2000, day, jobs: jobs.map(([id, seq, newSlot]) => ({ id, seq, name: id, newSlot })) });
    const sending = (id: string) => transition(queuedJob(id, { ...reportObject, key: `p/${id}.mp3` }, D26_2000, 't'), 'send', D26_2000, 't', { call: 7, slot: '2026-11-26', newSlot: true });
    const answered = transition(sending('done'), 'registered', D26_2000 + 500, 't', { call: 7, upload: { fileId: 1, audioFileName: 'f', requestId: 'r', review: 'pending' } });
    const jobs = [sending('a'), sending('b'), sending('again'), answered, sending('yesterday')];
    const open = [call(7, '2026-11-26', [['a', 1, true], ['b', 1, true], ['again', 1, false], ['done', 1, true]]), call(6, '2026-11-25', [['yesterday', 1, true]])];
    expect(unansweredSlots('2026-11-26', open, jobs)).toBe(2);
    const input = { ...reportInput, quotaLimit: 50, submitted: 4, exhausted: false, day: '2026-11-26', nowMs: D26_2000 + 1000, jobs, openCalls: open };
    expect(buildReport({ ...input, final: false }).quota.inCall).toBe(2);
    expect(buildReport(input).quota.inCall).toBeUndefined();
  });

  test('a retrying file whose retry was written after midnight is in the day\'s final report', () => {
    const sending = transition(queuedJob('id', reportObject, D26_2000, 't'), 'send', D26_2000, 't', { call: 1, slot: '2026-11-26', newSlot: true });
    const retry1 = transition(sending, 'retry', D26_2000, 't', { call: 1, lastError: { code: 'InternalError', message: 'x' } });
    const sending2 = transition(retry1, 'send', D27_0005, 't', { call: 2 });
    const retry2 = transition(sending2, 'retry', D27_0005, 't', { call: 2, lastError: { code: 'InternalError', message: 'x' } });
    const r = buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_0005 + 2000, jobs: [retry2] });
    expect(r.needsAction.map((a) => a.key)).toEqual(['p/third.mp3']);
  });

  test('the deferred files are listed in the order they go out, with their place in line and the day they likely go at the quota a day', () => {
    // Six files for a quota of three (a trial's), queued b, e, a, f, c, d: listed by name before.
    const deferredAt = (key: string, queuedAt: number) =>
      transition(queuedJob(key, { ...reportObject, key, queuedAt }, D26_2000, 't'), 'defer', D26_2000, 't', { deferredDay: '2026-11-26', lastError: { code: 'QuotaExhausted', message: 'full' } });
    const jobs = ['b', 'e', 'a', 'f', 'c', 'd'].map((n, i) => deferredAt(`p/${n}.mp3`, D26_2000 - 6000 + i * 1000));
    const r = buildReport({ ...reportInput, quotaLimit: 3, day: '2026-11-26', nowMs: D27_0005, jobs });
    expect(r.needsAction.map((a) => [a.key, a.line])).toEqual([
      ['p/b.mp3', { place: 1, of: 6 }],
      ['p/e.mp3', { place: 2, of: 6 }],
      ['p/a.mp3', { place: 3, of: 6 }],
      ['p/f.mp3', { place: 4, of: 6, likelyDay: '2026-11-28' }],
      ['p/c.mp3', { place: 5, of: 6, likelyDay: '2026-11-28' }],
      ['p/d.mp3', { place: 6, of: 6, likelyDay: '2026-11-28' }],
    ]);
    expect(renderReportHtml(r, [])).toContain('deferred (day 2026-11-26 full)<br><span class="line">in line: 4 of 6, likely goes on 2026-11-28</span>');
  });

  test('what needs the operator comes first, with what to do; the summary names those files and is safe as markdown', () => {
    const job = (key: string) => queuedJob(key, { ...reportObject, key }, D26_2000, 't');
    const deferred = transition(job('p/a-deferred.mp3'), 'defer', D26_2000, 't', { deferredDay: '2026-11-26', lastError: { code: 'QuotaExhausted', message: 'full' } });
    const failed = transition(job('p/z-<@all>[x](http://e).mp3'), 'replaced', D26_2000, 't', { lastError: { code: 'EmptyFile', message: 'the file is empty (0 bytes)' } });
    const rejected = transition(transition(job('p/m-rejected.mp3'), 'send', D26_2000, 't', { call: 1 }), 'registered', D26_2000, 't', { upload: { fileId: 1007, audioFileName: 'x', requestId: 'r', review: 'rejected' } });
    const r = buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_0005, jobs: [deferred, failed, rejected] });
    expect(r.needsAction.map((a) => [a.status, a.key])).toEqual([['failed', 'p/z-<@all>[x](http://e).mp3'], ['rejected', 'p/m-rejected.mp3'], ['deferred', 'p/a-deferred.mp3']]);
    expect(r.needsAction[0].fix).toBe('The file is empty (0 bytes), usually a copy or download that did not finish. Copy the original file again from where it came from, then upload the fixed file again.');
    const page = renderReportHtml(r, []);
    expect(page).toContain('3 files need action (1 failed, 1 rejected, 1 deferred): fix the 2 failed or rejected first; the deferred and retrying go out by themselves.</p>');
    // Said only where the list mixes the two (a trial could not parse the old sentence under one failed file).
    expect(renderReportHtml({ ...r, needsAction: r.needsAction.slice(0, 1) }, [])).toContain('>1 file needs action (1 failed).</p>');
    expect(renderReportHtml({ ...r, needsAction: r.needsAction.slice(2) }, [])).toContain('>1 file still to go out (1 deferred): nothing to fix, it goes out by itself.</p>');
    // What to fix comes first, above the chart and the counts; a time says its zone.
    expect(page.indexOf('id="needs-action"')).toBeLessThan(page.indexOf('id="quota-chart"'));
    expect(page).toMatch(/Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(UTC\+08:00\)/);
    // What the pass did, in words an operator knows (a trial met "pruned ledger entries"): one is one.
    expect(page).toContain('The pass that wrote this report registered 1 file and updated 0 review states.</p>');
    expect(renderReportHtml({ ...r, actions: { registered: 2, reviewsUpdated: 1, pruned: 14 } }, [])).toContain('registered 2 files and updated 1 review state, and removed 14 old records of its own that it no longer needed (IVR_RETENTION_DAYS).</p>');
    expect(page).toContain('<strong>What to do:</strong> The file is empty');
    expect(page).toContain('rejected (FileId 1007)');
    const text = wecomMessage(r, '.ivr-audio-sync/reports/index.html in the bucket').markdown.content;
    expect(text).toContain('**3 files need action (1 failed, 1 rejected, 1 deferred)**\n> p/z-‹@all›［x］(http://e).mp3: failed (EmptyFile)\n> p/m-rejected.mp3: rejected\nEvery file, why and what to do: .ivr-audio-sync/reports/index.html in the bucket');
    expect(text).not.toMatch(/<@|\[x\]/);
    // Within WeCom's 4096 bytes however long the keys (up to 850 bytes, brackets written as 3-byte look-alikes).
    const longKeys = Array.from({ length: 7 }, (_, i) => transition(job(`p/${i}${'[语]'.repeat(140)}.mp3`), 'replaced', D26_2000, 't', { lastError: { code: 'EmptyFile', message: 'empty' } }));
    const long = wecomMessage(buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_0005, jobs: longKeys }), 'page').markdown.content;
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(WECOM_MAX_BYTES);
    expect(long).toMatch(/> p\/0‹?［语］.*….*\.mp3: failed \(EmptyFile\)\n(> .*\n){4}> … and 2 more\nEvery file/);
    // A version replaced (or deleted) before it was sent is no file of the report: it needs nothing
    // and failed at nothing (the operator replaced or withdrew it).
    const replaced = transition(job('p/replaced.mp3'), 'replaced', D26_2000, 't', { lastError: { code: 'ObjectChanged', message: 'overwritten' } });
    const withReplaced = buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_0005, jobs: [replaced] });
    expect({ needsAction: withReplaced.needsAction, errors: withReplaced.errors, failed: withReplaced.files.failed }).toEqual({ needsAction: [], errors: {}, failed: 0 });
    // A deferred version overwritten by a newer drop of its key, before a sender marked it replaced:
    // one file waits, not two.
    const older = transition(queuedJob('old', { ...reportObject, key: 'p/y.wav', queuedAt: D26_2000 }, D26_2000, 't'), 'defer', D26_2000, 't', { deferredDay: '2026-11-26' });
    const newer = transition(queuedJob('new', { ...reportObject, key: 'p/y.wav', queuedAt: D26_2000 + 60_000 }, D26_2000 + 60_000, 't'), 'defer', D26_2000 + 60_000, 't', { deferredDay: '2026-11-26' });
    const both = buildReport({ ...reportInput, day: '2026-11-26', nowMs: D27_0005, jobs: [older, newer] });
    expect({ deferred: both.files.deferred, backlog: both.backlog.deferred, needsAction: both.needsAction.length }).toEqual({ deferred: 1, backlog: 1, needsAction: 1 });
  });
});

test('names CCC lists more than once are listed in the report of the day the second arose: another file, a replaced registration, one the jobs do not reach', () => {
  const D25 = Date.parse('2026-11-25T04:00:00Z'); // 2026-11-25 12:00 +08:00
  const D26 = Date.parse('2026-11-26T04:00:00Z');
  const D27 = Date.parse('2026-11-27T04:00:00Z');
  const input = { utcOffsetMinutes: 480, quotaLimit: 50, submitted: 3, exhausted: false, actions: { registered: 0, reviewsUpdated: 0, pruned: 0 }, final: true, nowMs: Date.parse('2026-11-28T04:00:00Z') };
  const registered = (id: string, key: string, name: string, at: number, fileId: number) => {
    const q = queuedJob(id, { bucket: 'b-1250000000', key, etag: id, size: 10, customName: name, queuedAt: at, head: { standard: {}, meta: {} } }, at, 't');
    const day = new Date(at + 8 * 3600_000).toISOString().slice(0, 10);
    return transition(transition(q, 'send', at, 't', { call: 1, slot: day, newSlot: true }), 'registered', at, 't', { upload: { fileId, audioFileName: 'x', requestId: 'r', review: 'pending' } });
  };
  const wav = registered('1', 'p/menu.wav', 'menu', D25, 101);
  const mp3 = registered('2', 'p/menu.mp3', 'menu', D26, 102);
  // The same key dropped again under another display name: CCC still lists the old registration
  // as "hello", beside a new file named hello.
  const greetOld = registered('3', 'p/greet.mp3', 'hello', D25, 103);
  const greetNew = registered('4', 'p/greet.mp3', 'greet', D26, 104);
  const hello = registered('5', 'p/hello.mp3', 'hello', D26, 105);
  // Registered the next day: not the clash of the 26th, whenever its report is made.
  const late = registered('6', 'p/late/menu.mp3', 'menu', D27, 106);
  const jobs = [mp3, wav, greetOld, greetNew, hello, late];
  const r26 = buildReport({ ...input, day: '2026-11-26', jobs });
  expect(r26.sameName).toEqual([
    { name: 'hello', files: [{ fileId: 103, key: 'p/greet.mp3', day: '2026-11-25', replaced: true }, { fileId: 105, key: 'p/hello.mp3', day: '2026-11-26' }] },
    { name: 'menu', files: [{ fileId: 101, key: 'p/menu.wav', day: '2026-11-25' }, { fileId: 102, key: 'p/menu.mp3', day: '2026-11-26' }] },
  ]);
  // Told once: on the 25th each name had one registration, whatever came after.
  expect(buildReport({ ...input, day: '2026-11-25', jobs }).sameName).toBeUndefined();
  // CCC's list adds what the jobs do not reach (older, or registered outside this product); a name
  // written otherwise in Unicode (NFD) is the same name to the eye.
  const withCcc = buildReport({ ...input, day: '2026-11-26', jobs: [mp3], listedInCcc: [{ fileId: 102, name: 'menu' }, { fileId: 7, name: 'menu' }, { fileId: 8, name: 'other' }] });
  expect(withCcc.sameName).toEqual([{ name: 'menu', files: [{ fileId: 7 }, { fileId: 102, key: 'p/menu.mp3', day: '2026-11-26' }] }]);
  const nfd = registered('7', 'p/m.mp3', 'Mene\u0301', D26, 110);
  expect(buildReport({ ...input, day: '2026-11-26', jobs: [nfd], listedInCcc: [{ fileId: 110, name: 'Mene\u0301' }, { fileId: 9, name: 'Men\u00e9' }] }).sameName?.[0].files.map((f) => f.fileId)).toEqual([9, 110]);
  expect(namesRegisteredOn('2026-11-26', jobs, 480)).toEqual(['greet', 'hello', 'menu']);
  // CCC matches a name filter exactly: it is asked for both forms.
  expect(namesRegisteredOn('2026-11-26', [nfd], 480)).toEqual(['Mene\u0301', 'Men\u00e9'].sort());
  // Once CCC answered, its list is what it holds: ours it no longer lists are no clash.
  expect(buildReport({ ...input, day: '2026-11-26', jobs, listedInCcc: [{ fileId: 102, name: 'menu' }] }).sameName).toBeUndefined();

  // Which registration is current is what the object holds when the pass looks, not the order of
  // drops. A trial went back to an older recording (A, then B, then A again: A's job is reused):
  // B is the one replaced. With A's job older than the recent ones, B is looked at by itself.
  const a = registered('a', 'p/rev.mp3', 'rev', D25, 201);
  const b = { ...registered('b', 'p/rev.mp3', 'rev', D26, 202) };
  const rejectedB = { ...b, upload: { ...b.upload!, review: 'rejected' as const } };
  const holdsA = new Map([['p/rev.mp3', { etag: 'a' }]]);
  const inWindow = buildReport({ ...input, day: '2026-11-26', jobs: [a, b], ...objectFindings(objectsToCheck([a, b]), holdsA) });
  expect(inWindow.sameName).toEqual([{ name: 'rev', files: [{ fileId: 201, key: 'p/rev.mp3', day: '2026-11-25' }, { fileId: 202, key: 'p/rev.mp3', day: '2026-11-26', replaced: true }] }]);
  const listed = [{ fileId: 201, name: 'rev' }, { fileId: 202, name: 'rev' }];
  expect(objectsToCheck([rejectedB], listed)).toEqual([rejectedB]);
  const aged = buildReport({ ...input, day: '2026-11-26', jobs: [rejectedB], listedInCcc: listed, ...objectFindings([rejectedB], holdsA) });
  // B's rejection needs nothing now: the key holds A again.
  expect({ action: aged.needsAction, same: aged.sameName }).toEqual({ action: [], same: [{ name: 'rev', files: [{ fileId: 201 }, { fileId: 202, key: 'p/rev.mp3', day: '2026-11-26', replaced: true }] }] });
  // A key COS would not answer for is judged by the order of drops, as without a look.
  expect(buildReport({ ...input, day: '2026-11-26', jobs: [a, b], ...objectFindings([a, b], new Map([['p/rev.mp3', undefined]])) }).sameName?.[0].files.map((f) => f.replaced)).toEqual([true, undefined]);

  const page = renderReportHtml(r26, []);
  expect(page).toContain('<h2>Names CCC lists more than once</h2>');
  expect(page).toContain('<td rowspan="2">menu</td><td>101</td><td class="key">p/menu.wav</td>');
  expect(page).toContain('p/greet.mp3 <span class="muted">(replaced by a later drop)</span>');
  expect(renderReportHtml(withCcc, [])).toContain("<td>7</td><td class=\"key\"><span class=\"muted\">not in this product's recent records");
  const text = wecomMessage(r26, 'page').markdown.content;
  expect(text).toContain('> names CCC lists more than once: hello ×2, menu ×2');
  // The summary says where the list is, even with nothing else to act on.
  expect(r26.needsAction).toEqual([]);
  expect(text).toContain('Every file, why and what to do: page');
});

test('the report page shows a command in a message or fix as code, escaped, without its backticks', () => {
  const D = Date.parse('2026-11-26T12:00:00Z');
  const object = { bucket: 'b-1250000000', key: 'p/big.wav', etag: 'e', size: 10, customName: 'big', queuedAt: D, head: { standard: {}, meta: {} } };
  const failed = transition(queuedJob('id', object, D, 't'), 'replaced', D, 't', { lastError: { code: 'AudioTooLargeToConvert', message: 'convert it first: `sox in.wav -r 8000 <b>x</b>.wav`' } });
  const page = renderReportHtml(buildReport({ day: '2026-11-26', nowMs: D, utcOffsetMinutes: 480, quotaLimit: 50, submitted: 0, exhausted: false, jobs: [failed], actions: { registered: 0, reviewsUpdated: 0, pruned: 0 }, final: false }), []);
  expect(page).toContain('convert it first: <code>sox in.wav -r 8000 &lt;b&gt;x&lt;/b&gt;.wav</code>');
  expect(page).not.toMatch(/`sox/);
});

test('a day CCC closed before our count filled it says so on the page and in the summary; one we filled says quota used up', () => {
  const D = Date.parse('2026-11-26T12:00:00Z');
  const input = { day: '2026-11-26', nowMs: D, utcOffsetMinutes: 480, quotaLimit: 50, jobs: [], actions: { registered: 0, reviewsUpdated: 0, pruned: 0 }, final: true };
  const closed = buildReport({ ...input, submitted: 7, exhausted: true });
  // Nothing is left on a day CCC closed, whatever our own count leaves (a trial read 43 next to
  // `exhausted` as a contradiction).
  expect(closed.quota).toEqual({ limit: 50, submitted: 7, remaining: 0, exhausted: true, closedByCcc: true });
  expect(renderReportHtml(closed, [])).toContain('7 / 50</span> files submitted to CCC — <strong>CCC reports the day full</strong> (FailedOperation.UploadFileOverflow): files registered outside this product, in the CCC console say, count there too</p>');
  expect(wecomMessage(closed).markdown.content).toContain('7/50</font> files submitted; CCC reports the day full (files registered outside this product count there too)');
  for (const filled of [buildReport({ ...input, submitted: 50, exhausted: true }), buildReport({ ...input, submitted: 50, exhausted: false })]) {
    expect(filled.quota.closedByCcc).toBeUndefined();
    expect(renderReportHtml(filled, [])).toContain('50 / 50</span> files submitted to CCC — <strong>quota used up</strong></p>');
    expect(wecomMessage(filled).markdown.content).not.toContain('CCC reports the day full');
  }
});
