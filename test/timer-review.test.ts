/**
 * The timer's daily report, review refresh and announcements under the conditions a fresh-eyes
 * review found them wrong (each of these failed before its fix): deferrals released before the
 * report, a failed write midway, a missed day, a long rejection list, a call across midnight,
 * files deferred again, a rejected version already replaced.
 */
import { IvrError } from '../shared/core/errors';
import { jobId } from '../shared/core/job';
import { setLogSink } from '../shared/runtime/log';
import { rejectionMessage, renderReportHtml, wecomMessage, WECOM_MAX_BYTES } from '../shared/core/report';
import { requestedDay } from '../shared/core/event';
import { runRecovery } from '../shared/workflow/recovery';
import { wecomStandIn } from './wecom';
import { OUTBOX_LEASE_MS } from '../shared/core/outbox';
import { World } from './world';

const logs: string[] = [];
beforeAll(() => setLogSink((l) => void logs.push(typeof l === 'string' ? l : JSON.stringify(l))));

const DAY = 86_400_000;
// 11:00 at +08:00 on 2026-11-25
const ELEVEN = Date.parse('2026-11-25T03:00:00Z');
const MIDNIGHT = Date.parse('2026-11-25T16:00:00Z');

test('files deferred on a day count in that day\'s report, though the first pass after midnight has released them', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '2' });
  w.t = ELEVEN;
  await w.upload('a', 2);
  w.t += 5000;
  await w.upload('b', 3);
  w.t += 5000;
  await w.upload('c', 4);
  w.t += 5000;
  await w.upload('d', 5);
  expect([w.status('a'), w.status('b'), w.status('c'), w.status('d')]).toEqual(['uploaded', 'uploaded', 'deferred', 'deferred']);

  // The timer's first pass after the quota day ends (00:05 +08:00).
  w.t = MIDNIGHT + 5 * 60_000;
  const r = await runRecovery(w.ctx('timer-0005'), { Type: 'Timer' });
  expect(r.report?.day).toBe('2026-11-25');
  // On 2026-11-25: 2 files registered, 2 deferred (quota used up). The report of that day should say so.
  expect({ files: r.report!.report.files, backlog: r.report!.report.backlog, exhausted: r.report!.report.quota.exhausted }).toEqual({
    files: { uploaded: 2, failed: 0, deferred: 2, retrying: 0 },
    backlog: { deferred: 0, queued: 0 },
    exhausted: true,
  });
});

test('a review verdict whose write onto the object hits a COS 503 reaches the object on a later pass', async () => {
  const w = new World();
  w.t = ELEVEN;
  await w.upload('menu', 3);
  expect(w.status('menu')).toBe('uploaded');
  // CCC rejects it in review.
  w.ccc.files[0].status = 2;
  // The timer's metadata write (self-copy) fails once with a 503 past the SDK's retries.
  const write = w.objects.writeMetadata.bind(w.objects);
  let failed = false;
  w.objects.writeMetadata = async (key, etag, standard, meta) => {
    if (!failed && meta['ivr-review'] === 'rejected') {
      failed = true;
      throw new IvrError('StorageError', `COS COPY ${key} failed: HTTP503`, { transient: true });
    }
    return write(key, etag, standard, meta);
  };
  await w.recover(1); // this pass throws (swallowed by w.recover)
  expect(failed).toBe(true);
  // SCF retries / the next passes run normally.
  await w.recover(3);
  const o = w.objects.objects.get('prompts/menu.mp3')!;
  // The ledger says rejected...
  const head = await w.ledger.head(jobId('prompts-1250000000', 'prompts/menu.mp3', o.etag), 0);
  expect((head as { upload: { review: string } }).upload.review).toBe('rejected');
  // ...and so should the object.
  expect(o.meta['ivr-review']).toBe('rejected');
});

test('a daily-report pass that fails midway is finished by the next: page, history and one webhook post', async () => {
  const hook = await wecomStandIn();
  try {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    w.t = ELEVEN;
    await w.upload('a', 2);
    await w.upload('b', 3);
    // First pass after the day ends: the page write hits a COS 503 (after the SDK's retries).
    let failed = false;
    w.store.hook = (op, key, phase) => {
      if (!failed && op === 'put' && key.endsWith('reports/index.html') && phase === 'before') {
        failed = true;
        throw new IvrError('StorageError', 'COS answered 503 (injected)', { transient: true });
      }
    };
    w.t = MIDNIGHT + 5 * 60_000;
    await expect(runRecovery(w.ctx('timer-1'), { Type: 'Timer' })).rejects.toThrow('503');
    // SCF retries the timer event a minute later, then the timer keeps running every 5 minutes.
    for (let i = 0; i < 3; i++) {
      w.t += 60_000;
      await runRecovery(w.ctx(`timer-retry-${i}`), { Type: 'Timer' });
    }
    const history = JSON.parse(w.store.objects.get(`${w.prefix}reports/history.json`)?.body ?? '{}');
    const page = w.store.objects.get(`${w.prefix}reports/index.html`)?.body ?? '';
    expect({ posted: hook.bodies.length, history: history['2026-11-25'], pageShowsDay: page.includes('2026-11-25') }).toEqual({ posted: 1, history: 2, pageShowsDay: true });
  } finally {
    hook.close();
  }
});

test('a quota day on which no timer pass ran is reported by the next pass, with its chart bar', async () => {
  const w = new World();
  w.t = ELEVEN; // 2026-11-25
  await w.upload('a', 2);
  await w.upload('b', 3);
  w.t = ELEVEN + DAY; // 2026-11-26: one more file
  await w.upload('c', 4);
  // The timer is back only on 2026-11-27 at 00:05.
  w.t = MIDNIGHT + DAY + 5 * 60_000;
  const r = await runRecovery(w.ctx('timer-late'), { Type: 'Timer' });
  expect(r.report?.day).toBe('2026-11-26');
  const stored = (day: string) => w.store.objects.has(`${w.prefix}reports/${day}.json`);
  const hist = Object.fromEntries(r.report!.report && (JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-26.json`)!.body).history as Array<{ day: string; submitted: number }>).map((d) => [d.day, d.submitted]));
  expect({ reported25: stored('2026-11-25'), bar25: hist['2026-11-25'], bar26: hist['2026-11-26'] }).toEqual({ reported25: true, bar25: 2, bar26: 1 });
});

test('each day keeps the quota it was reported with: after IVR_DAILY_QUOTA is lowered, an older full day is drawn and reported again against its own', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '3' });
  w.t = ELEVEN; // 2026-11-25: three files fill its quota of 3
  for (const [name, s] of [['a', 2], ['b', 3], ['c', 4]] as const) {
    w.t += 2000;
    await w.upload(name, s);
  }
  w.t = MIDNIGHT + 5 * 60_000; // 2026-11-26: the timer reports the 25th under its quota of 3
  await runRecovery(w.ctx('timer-1'), { Type: 'Timer' });
  // The operator lowers the quota to 2 during the 26th.
  Object.assign(w.config, { dailyQuota: 2 });
  w.t = ELEVEN + DAY;
  await w.upload('d', 5);
  const history = JSON.parse(w.store.objects.get(`${w.prefix}reports/history.json`)!.body) as { limits: Record<string, number> };
  expect(history.limits).toEqual({ '2026-11-25': 3 });
  // Today's report so far: the 25th's bar against its own 3 (a mark across it), today's line at 2.
  const r = await runRecovery(w.ctx('asked-today'), { Type: 'Timer', Message: '2026-11-26' });
  const page = w.store.objects.get(`${w.prefix}reports/index.html`)!.body;
  expect(r.report?.report.quota.limit).toBe(2);
  expect(page).toContain('<title>2026-11-25: 3/3 (the quota that day; 2 now)</title>');
  expect(page.match(/class="daylimit"/g)).toHaveLength(1);
  expect(page).toContain("that day's own quota, where it differed from today's 2 (IVR_DAILY_QUOTA changed since)");
  // The 25th reported again on request: 3 / 3, not 3 / 2.
  const again = await runRecovery(w.ctx('asked-25'), { Type: 'Timer', Message: '2026-11-25' });
  expect(again.report?.report.quota).toMatchObject({ limit: 3, submitted: 3, remaining: 0 });
  const stored = JSON.parse(w.store.objects.get(`${w.prefix}reports/history.json`)!.body) as { limits: Record<string, number> };
  expect(stored.limits).toEqual({ '2026-11-25': 3, '2026-11-26': 2 });
});

test('a long list of rejections is announced within WeCom\'s 4096-byte limit, the rest counted; the report page lists them all', async () => {
  const hook = await wecomStandIn();
  try {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    w.t = ELEVEN;
    // 50 prompts (one day's quota) with long Chinese names, registered during the day.
    for (let i = 0; i < 50; i++) {
      w.t += 2000;
      await w.upload(`欢迎致电客服中心-主菜单-第${i}号提示音-请按键选择业务`, 2 + (i % 5) + i / 100);
    }
    expect(w.ccc.files).toHaveLength(50);
    for (const f of w.ccc.files) f.status = 2; // CCC's review rejects them all
    await w.recover(3, 300_000);
    // Every post accepted, each naming as many keys as fit and counting the rest: every rejection
    // is announced once, by name or in a count.
    expect(hook.accepted).toEqual(hook.bodies.map((b) => JSON.parse(b).markdown.content));
    const named = hook.accepted.flatMap((text) => w.ccc.files.filter((f) => text.includes(f.key)).map((f) => f.key));
    const more = hook.accepted.reduce((n, text) => n + Number(/… and (\d+) more: see the report page/.exec(text)?.[1] ?? 0), 0);
    expect(new Set(named).size).toBe(named.length);
    expect(named.length).toBeGreaterThan(10);
    expect(named.length + more).toBe(50);
    // The day's report lists every one of them as needing action.
    w.t = MIDNIGHT + 5 * 60_000;
    const r = await runRecovery(w.ctx('timer-report'), { Type: 'Timer' });
    expect(r.report!.report.needsAction.filter((a) => a.status === 'rejected')).toHaveLength(50);
  } finally {
    hook.close();
  }
}, 30000);

test('a call made just before midnight and answered after it counts as uploaded on the day it was submitted', async () => {
  const w = new World();
  w.callMs = 3000; // CCC takes 3 s to download and register (well inside the 15 s client timeout)
  w.t = MIDNIGHT - 2000; // 23:59:58 +08:00
  await w.upload('late', 3);
  expect(w.status('late')).toBe('uploaded');
  expect(cst(w.calls[0].at)).toBe('2026-11-25');
  w.t = MIDNIGHT + 5 * 60_000;
  const r = await runRecovery(w.ctx('timer'), { Type: 'Timer' });
  expect({ submitted: r.report!.report.quota.submitted, uploaded: r.report!.report.files.uploaded }).toEqual({ submitted: 1, uploaded: 1 });
});
const cst = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);

test('"oldest deferred since" is the first day a file was deferred, though it was deferred again since', async () => {
  const w = new World({ IVR_DAILY_QUOTA: '1' });
  w.t = ELEVEN; // 2026-11-25
  await w.upload('a', 2);
  w.t += 5000;
  await w.upload('b', 3);
  w.t += 5000;
  await w.upload('c', 4);
  expect([w.status('a'), w.status('b'), w.status('c')]).toEqual(['uploaded', 'deferred', 'deferred']);
  // Next day: the timer releases b, c waits again. The report of 2026-11-26 so far:
  w.t = MIDNIGHT + 5 * 60_000;
  await runRecovery(w.ctx('timer-1'), { Type: 'Timer' });
  w.t += 3600_000;
  const r = await runRecovery(w.ctx('timer-2'), { Type: 'Timer', Message: '2026-11-26' });
  expect(w.status('c')).toBe('deferred');
  // c has been waiting since 2026-11-25 (dropped and first deferred that day).
  expect(r.report!.report.backlog).toEqual({ deferred: 1, queued: 0, oldestDeferredDay: '2026-11-25' });
});

test('no rejection is announced for a key whose current upload, a replacement, CCC approved', async () => {
  const hook = await wecomStandIn();
  try {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    w.t = ELEVEN;
    await w.upload('greeting', 3); // v1
    w.t += 600_000;
    await w.upload('greeting', 5, 'intake-greeting-v2'); // the operator already replaced it with a new recording (v2)
    expect(w.ccc.files).toHaveLength(2);
    w.ccc.files[0].status = 2; // v1 rejected
    w.ccc.files[1].status = 1; // v2 approved
    await w.recover(1, 300_000);
    const o = w.objects.objects.get('prompts/greeting.mp3')!;
    expect({ objectReview: o.meta['ivr-review'] }).toEqual({ objectReview: 'approved' });
    // The group is told to re-record prompts/greeting.mp3 although what is there now is approved.
    expect(hook.accepted.filter((c) => c.includes('rejected by CCC review'))).toEqual([]);
  } finally {
    hook.close();
  }
});

test('a timer argument naming a day that does not exist is not a day to report', () => {
  expect(requestedDay({ Message: '2026-02-30' })).toBeUndefined();
  expect(requestedDay({ Message: ' 2026-02-28 ' })).toBe('2026-02-28');
  expect(requestedDay({ Message: '2024-02-29' })).toBe('2024-02-29');
});

test('the rejection message stays within WeCom\'s limit for any number of the longest keys', () => {
  const keys = Array.from({ length: 300 }, (_, i) => `${'长'.repeat(280)}-${i}.mp3`); // 850-byte keys
  const m = rejectionMessage(keys).markdown.content;
  expect(Buffer.byteLength(m)).toBeLessThanOrEqual(WECOM_MAX_BYTES);
  const named = keys.filter((k) => m.includes(k)).length;
  expect(named).toBeGreaterThan(0);
  expect(m).toContain(`… and ${300 - named} more: see the report page`);
  expect(rejectionMessage(['a.mp3']).markdown.content).not.toContain('more');
});

test('a missed day is reported though later sends pushed its quota figures out of the send log: counted from the jobs\' slots', async () => {
  const D25 = MIDNIGHT - DAY; // 00:00 on 2026-11-25, +08:00
  const w = new World();
  w.t = D25 + 11 * 3_600_000;
  await w.upload('a', 2);
  await w.upload('b', 3);
  // No timer pass at all on 2026-11-26; one file is sent that day.
  w.t = D25 + DAY + 11 * 3_600_000;
  await w.upload('c', 4);
  // 2026-11-27: a file is dropped at 08:00, the timer is back at 09:00.
  w.t = D25 + 2 * DAY + 8 * 3_600_000;
  await w.upload('d', 2);
  w.t = D25 + 2 * DAY + 9 * 3_600_000;
  await runRecovery(w.ctx('timer-back'), { Type: 'Timer' });
  const report = (day: string) => JSON.parse(w.store.objects.get(`${w.prefix}reports/${day}.json`)?.body ?? 'null') as { quota: { submitted: number }; files: { uploaded: number } } | null;
  expect(report('2026-11-25')).toMatchObject({ quota: { submitted: 2 }, files: { uploaded: 2 } });
  expect(report('2026-11-26')).toMatchObject({ quota: { submitted: 1 }, files: { uploaded: 1 } });
});

test('a missed day\'s report counts every file of that day, also with the shortest retention (pruning comes after reading them)', async () => {
  const D25 = MIDNIGHT - DAY;
  const w = new World({ IVR_RETENTION_DAYS: '2' });
  w.t = D25 + 30 * 60_000; // 2026-11-25 00:30
  await w.upload('early', 2);
  w.t = D25 + 11 * 3_600_000;
  await w.upload('later', 3);
  // No pass on 2026-11-26; the timer is back on 2026-11-27 at 01:00.
  w.t = D25 + 2 * DAY + 3_600_000;
  const r = await runRecovery(w.ctx('timer-back'), { Type: 'Timer' });
  const rep = JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-25.json`)!.body) as { quota: { submitted: number }; files: { uploaded: number } };
  // Pruning did run: 'early' (00:30 on the 25th) is past the 2-day retention, 'later' (11:00) is not.
  expect(r.pruned).toBe(1);
  expect({ submitted: rep.quota.submitted, uploaded: rep.files.uploaded }).toEqual({ submitted: 2, uploaded: 2 });
});

test('a report of an earlier day asked for later lists only what needed action by then, and its page gives times in the quota day\'s zone', async () => {
  const w = new World();
  w.t = ELEVEN; // 2026-11-25 11:00 +08:00
  await w.upload('a', 2);
  w.t = ELEVEN + DAY; // the next day a file fails its checks
  w.objects.putObject('prompts/notes.mp3', Buffer.from('not audio at all'), {}, 'audio/mpeg');
  await w.deliver('prompts/notes.mp3', 'intake-notes');
  const r = await runRecovery(w.ctx('asked'), { Type: 'Timer', Message: '2026-11-25' });
  expect(r.report!.report.needsAction).toEqual([]);
  const page = w.store.objects.get(`${w.prefix}reports/index.html`)!.body;
  // 11:00 on 2026-11-26 at +08:00, not the UTC ISO string.
  expect(page).toMatch(/Generated 2026-11-26 11:00:\d\d \(UTC\+08:00\)\./);
  expect(page).not.toMatch(/Generated \d{4}-\d{2}-\d{2}T/);
  // Today's report still lists it.
  const today = await runRecovery(w.ctx('today'), { Type: 'Timer', Message: '2026-11-26' });
  expect(today.report!.report.needsAction.map((a) => a.key)).toEqual(['prompts/notes.mp3']);
});

test('on the day a stack is installed, the quiet day before yesterday is looked at once, not by every pass', async () => {
  const w = new World();
  w.t = MIDNIGHT + 3_600_000; // 01:00 on the first day
  const lists: string[] = [];
  const list = w.store.list.bind(w.store);
  w.store.list = (prefix, limit) => {
    lists.push(prefix);
    return list(prefix, limit);
  };
  const first = await runRecovery(w.ctx('timer-1'), { Type: 'Timer' });
  // The first pass ran its prune step (on a new stack, nothing to prune).
  expect(first.pruned).toBe(0);
  expect(lists.some((p) => p.endsWith('jobs/'))).toBe(true);
  lists.length = 0;
  w.t += 300_000;
  const second = await runRecovery(w.ctx('timer-2'), { Type: 'Timer' });
  // Nothing is due: no jobs listed for a report, no prune.
  expect(second.pruned).toBeUndefined();
  expect(second.report).toBeUndefined();
  expect(lists.filter((p) => p.endsWith('jobs/'))).toEqual([]);
});

test('a sender\'s write of the registration that lands after the timer showed the review is followed by the review again', async () => {
  const w = new World({}, true);
  const write = w.objects.writeMetadata.bind(w.objects);
  let slowed = false;
  w.objects.writeMetadata = async (key, etag, standard, meta) => {
    if (!slowed && meta['ivr-status'] === 'uploaded') {
      slowed = true;
      // CCC approves the file, and the timer's pass runs while this write is slow (an SDK retry).
      for (const f of w.ccc.files) f.status = 1;
      void w.spawn(runRecovery(w.ctx('recovery'), { Type: 'Timer' }));
      await w.sleep(10_000);
    }
    return write(key, etag, standard, meta);
  };
  void w.drop('a');
  await w.settle();
  expect(slowed).toBe(true);
  await w.recover(2);
  const meta = w.objects.objects.get('prompts/a.mp3')!.meta;
  expect({ status: meta['ivr-status'], review: meta['ivr-review'] }).toEqual({ status: 'uploaded', review: 'approved' });
});

/** COS commits a create but its answer is lost; the SDK's retry then finds the key: create() says false. */
function loseCreateAnswer(w: World, match: (key: string) => boolean): () => number {
  let n = 0;
  const create = w.store.create.bind(w.store);
  w.store.create = async (k, body) => {
    const ok = await create(k, body);
    if (ok && match(k)) {
      n++;
      return false;
    }
    return ok;
  };
  return () => n;
}

test('a reviewed marker whose create answer was lost is known as ours: the rejection is still announced once', async () => {
  const hook = await wecomStandIn();
  try {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    w.t = ELEVEN;
    await w.upload('menu', 3);
    w.ccc.files[0].status = 2; // CCC rejects it
    const lost = loseCreateAnswer(w, (k) => k.includes('/reviewed/'));
    await w.recover(4, 300_000);
    expect(lost()).toBe(1);
    expect(w.objects.objects.get('prompts/menu.mp3')!.meta['ivr-review']).toBe('rejected');
    expect(hook.accepted.filter((c) => c.includes('prompts/menu.mp3'))).toHaveLength(1);
  } finally {
    hook.close();
  }
}, 30000);

test('a day\'s report whose create answer was lost is known as ours: the day is reported and posted once', async () => {
  const hook = await wecomStandIn();
  try {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    w.t = ELEVEN;
    await w.upload('a', 3);
    const lost = loseCreateAnswer(w, (k) => k.endsWith('reports/2026-11-25.json'));
    w.t = MIDNIGHT + 5 * 60_000;
    const r = await runRecovery(w.ctx('timer-0005'), { Type: 'Timer' });
    for (let i = 0; i < 3; i++) {
      w.t += 5 * 60_000;
      await runRecovery(w.ctx(`timer-${i}`), { Type: 'Timer' });
    }
    expect(lost()).toBe(1);
    expect({ reported: r.report?.day, posts: hook.bodies.length }).toEqual({ reported: '2026-11-25', posts: 1 });
    // Known as ours by the body, which names its writer: another pass's report of the day, built in
    // the same millisecond, differs from it.
    expect(JSON.parse((await w.store.get(`${w.prefix}reports/2026-11-25.json`))!)).toMatchObject({ day: '2026-11-25', writtenBy: 'timer-0005' });
  } finally {
    hook.close();
  }
}, 30000);

test('a day reported again on request more than a week later counts all its files', async () => {
  const w = new World();
  w.t = Date.parse('2026-11-25T02:00:00Z'); // 10:00 +08:00
  await w.upload('morning', 3);
  w.t = Date.parse('2026-11-25T08:00:00Z'); // 16:00 +08:00
  await w.upload('afternoon', 4);
  w.t = MIDNIGHT + 5 * 60_000;
  const own = await runRecovery(w.ctx('timer-0005'), { Type: 'Timer' });
  expect(own.report!.report.files.uploaded).toBe(2);
  w.t = Date.parse('2026-12-03T05:00:00Z'); // 13:00 on 2026-12-03
  const again = await runRecovery(w.ctx('timer-asked'), { Type: 'Timer', Message: '2026-11-25' });
  expect(again.report!.report.files.uploaded).toBe(2);
  expect(JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-25.json`)!.body).files.uploaded).toBe(2);
});

test('a hand-edited job version missing a field the report computes with is unreadable, not a pass that throws before the report', async () => {
  const w = new World();
  w.t = ELEVEN;
  await w.upload('a', 3);
  const id = 'f'.repeat(40);
  await w.store.put(`${w.prefix}jobs/${id}/0`, JSON.stringify({ v: 2, id, seq: 0, state: 'failed', at: new Date(w.t).toISOString(), by: 'x', object: { bucket: 'b', key: 'prompts/x.mp3', etag: '"e"', size: 1, customName: 'x', head: { standard: {}, meta: {} } }, attempts: 0, run: 0, lastError: { code: 'EmptyFile', message: 'm' } }));
  w.t = MIDNIGHT + 5 * 60_000;
  const r = await runRecovery(w.ctx('timer-0005'), { Type: 'Timer' });
  expect(r.report?.day).toBe('2026-11-25');
  expect(r.report!.report.files.uploaded).toBe(1);
});

// The deployed timer fires at 00:00:00 (`0 */5 * * * * *`): that pass is the first after the day
// ends, and a call of the day made in its last seconds may not have been answered yet.
describe('the pass at midnight and a call of the ended day still going on', () => {
  async function reportAfterMidnightPass(setUp: (w: World) => void): Promise<{ midnightReport?: string; stored: { quota: { submitted: number }; files: Record<string, number>; needsAction: unknown[] } }> {
    const w = new World({}, true);
    setUp(w);
    w.t = MIDNIGHT - 5000; // 23:59:55 +08:00: the file's call is made at once
    void w.drop('late');
    let midnight: Awaited<ReturnType<typeof runRecovery>> | undefined;
    void w.spawn(
      (async () => {
        await w.sleep(5000);
        midnight = await runRecovery(w.ctx('timer-0000'), { Type: 'Timer' });
      })(),
    );
    await w.settle();
    expect(cst(w.calls[0].at)).toBe('2026-11-25');
    expect(w.status('late')).toBe('uploaded');
    await w.recover(1, 5 * 60_000); // 00:05
    return { midnightReport: midnight?.report?.day, stored: JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-25.json`)!.body) };
  }

  test('a report of the ended day asked for by name while its last call is going on is refused, not stored without that file', async () => {
    const w = new World({}, true);
    w.callMs = 10_000;
    w.t = MIDNIGHT - 5000;
    void w.drop('late');
    let asked: Awaited<ReturnType<typeof runRecovery>> | undefined;
    void w.spawn(
      (async () => {
        await w.sleep(5000);
        asked = await runRecovery(w.ctx('asked-0000'), { Type: 'Timer', Message: '2026-11-25' });
      })(),
    );
    await w.settle();
    expect(asked?.report).toBeUndefined();
    expect(asked?.reportRefused).toMatch(/still in a call/);
    await w.recover(1, 5 * 60_000); // 00:05: the timer reports the day, with the file
    expect(JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-25.json`)!.body).files.uploaded).toBe(1);
  });

  test('the refusal of an ended day\'s report says when to ask again, and asked then the report is written (CCC_TIMEOUT_SECONDS 120: a lost answer holds the file 4 minutes, not "a minute")', async () => {
    const w = new World({ CCC_TIMEOUT_SECONDS: '120', IVR_WAIT_SECONDS: '10' });
    w.t = MIDNIGHT - 5000;
    // CCC registers the file; its answer is lost: the file is settled from CCC once the call's lifetime has passed.
    w.ccc.faults.push({ kind: 'lose-after-register' });
    await w.upload('late', 3);
    expect(w.status('late')).toBe('retrying');
    const ask = (now: number, owner: string) => {
      w.t = now;
      return runRecovery(w.ctx(owner), { Type: 'Timer', Message: '2026-11-25' });
    };
    const first = await ask(MIDNIGHT, 'asked-0000');
    expect(first.report).toBeUndefined();
    expect(first.reportRefused).toMatch(/still in a call/);
    const when = /ask again after (\d\d):(\d\d):(\d\d) \(UTC\+08:00\)/.exec(first.reportRefused ?? '');
    expect(when).not.toBeNull();
    // 00:mm:ss on 2026-11-26 in UTC+08:00; asked again a minute later, it is still refused.
    const at = MIDNIGHT + (Number(when![1]) * 3600 + Number(when![2]) * 60 + Number(when![3])) * 1000;
    expect((await ask(MIDNIGHT + 60_000, 'asked-0001')).reportRefused).toMatch(/still in a call/);
    const then = await ask(at, 'asked-then');
    expect(then.reportRefused).toBeUndefined();
    expect(then.report?.report.files.uploaded).toBe(1);
  });

  test('a call CCC takes 10 s to answer (within the client timeout) is counted as uploaded in the day\'s report', async () => {
    const { stored } = await reportAfterMidnightPass((w) => (w.callMs = 10_000));
    expect({ submitted: stored.quota.submitted, files: stored.files, needsAction: stored.needsAction }).toEqual({ submitted: 1, files: { uploaded: 1, failed: 0, deferred: 0, retrying: 0 }, needsAction: [] });
  });

  test('a call whose answer was lost is settled from CCC before the day is reported: uploaded, not retrying', async () => {
    const { midnightReport, stored } = await reportAfterMidnightPass((w) => w.ccc.faults.push({ kind: 'lose-after-register' }));
    expect(midnightReport).toBeUndefined();
    expect({ submitted: stored.quota.submitted, files: stored.files, needsAction: stored.needsAction }).toEqual({ submitted: 1, files: { uploaded: 1, failed: 0, deferred: 0, retrying: 0 }, needsAction: [] });
  });
});

test('a missed day asked for so far earlier that day is reported with all its files submitted, not the count when it was asked', async () => {
  const D25 = MIDNIGHT - DAY; // 00:00 on 2026-11-25, +08:00
  const w = new World();
  w.t = D25 + 11 * 3_600_000;
  await w.upload('a', 2);
  await w.upload('b', 3);
  // The operator asks for the day so far at noon: the chart's history gets 2 for 2026-11-25.
  w.t = D25 + 12 * 3_600_000;
  const soFar = await runRecovery(w.ctx('asked'), { Type: 'Timer', Message: '2026-11-25' });
  expect(soFar.report!.report.quota.submitted).toBe(2);
  w.t = D25 + 13 * 3_600_000;
  await w.upload('c', 4);
  // No timer pass on 2026-11-26 (one file sent); on 2026-11-27 a file goes at 08:00, the timer is back at 09:00.
  w.t = D25 + DAY + 11 * 3_600_000;
  await w.upload('d', 2);
  w.t = D25 + 2 * DAY + 8 * 3_600_000;
  await w.upload('e', 3);
  w.t = D25 + 2 * DAY + 9 * 3_600_000;
  await runRecovery(w.ctx('timer-back'), { Type: 'Timer' });
  const rep = JSON.parse(w.store.objects.get(`${w.prefix}reports/2026-11-25.json`)!.body) as { quota: { submitted: number }; files: { uploaded: number }; history: Array<{ day: string; submitted: number }> };
  expect({ submitted: rep.quota.submitted, uploaded: rep.files.uploaded, bar: rep.history.find((d) => d.day === '2026-11-25')?.submitted }).toEqual({ submitted: 3, uploaded: 3, bar: 3 });
});

test('a rejection asked about again because the listing does not show its marker yet is not announced twice, and leaves no outbox record', async () => {
  const hook = await wecomStandIn();
  try {
    const w = new World({ IVR_REPORT_WEBHOOK: hook.url });
    w.t = ELEVEN;
    await w.upload('menu', 3);
    w.ccc.files[0].status = 2;
    await w.recover(1, 400_000);
    const announced = () => hook.accepted.filter((c) => c.includes('rejected by CCC review'));
    expect(announced()).toHaveLength(1);
    // The next pass's listing lags: it does not show the reviewed/ marker yet, so CCC is asked again.
    const list = w.store.list.bind(w.store);
    w.store.list = async (prefix, limit) => (prefix.endsWith('/reviewed/') ? [] : list(prefix, limit));
    const describe = w.api.describe;
    let asked = 0;
    w.api.describe = async (q) => {
      if (q.fileIds?.includes(w.ccc.files[0].fileId)) asked++;
      return describe(q);
    };
    await w.recover(1, 300_000);
    expect(asked).toBe(1);
    expect([...w.store.objects.keys()].filter((k) => k.includes('/outbox/'))).toEqual([]);
    w.store.list = list;
    await w.recover(2, OUTBOX_LEASE_MS + 60_000);
    expect(announced()).toHaveLength(1);
  } finally {
    hook.close();
  }
});

test("a report asked for during a call says how many of the day's submitted files are in it (their slots come back if CCC refuses the call)", async () => {
  const w = new World();
  w.t = ELEVEN;
  let inCall!: () => void;
  const calling = new Promise<void>((r) => (inCall = r));
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  w.answer = async () => {
    inCall();
    await answered;
    return undefined;
  };
  const upload = w.upload('a', 2);
  await calling;
  const during = await runRecovery(w.ctx('asked-during'), { Type: 'Timer', Message: '2026-11-25' });
  expect(during.report?.report.quota).toMatchObject({ submitted: 1, inCall: 1 });
  expect(wecomMessage(during.report!.report).markdown.content).toContain('1/50</font> files submitted (1 of them in a call CCC has not answered yet: its slot comes back if CCC refuses the call)');
  expect(renderReportHtml(during.report!.report, [])).toContain('files submitted to CCC (1 of them in a call CCC has not answered yet');
  answer();
  await upload;
  const after = await runRecovery(w.ctx('asked-after'), { Type: 'Timer', Message: '2026-11-25' });
  expect(after.report?.report.quota.submitted).toBe(1);
  expect(after.report?.report.quota.inCall).toBeUndefined();
});
