/**
 * The quota-report function: the numbers, the stored JSON and page (rendered in headless Chromium),
 * review-state refresh onto objects, and a webhook that fails without losing the report.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { mp3Silence, wavTone } from './audio';
import { cosEvent } from '../scripts/local/fakes/events';
import { jobId } from '../shared/core/job';
import { BUCKET, SDK_APP_ID, startStack, type Stack } from './harness';
import { wecomStandIn } from './wecom';

const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!CHROMIUM) process.stderr.write('report.test.ts: chromium not installed, so the report page is not rendered in a browser (apt-get install chromium)\n');

let stack: Stack;
afterEach(() => stack.stop());

async function populate() {
  stack.ccc.failFile('rejected-by-ccc', 'audio duration exceeds 60 seconds');
  for (const [k, b] of [
    ['p/hello.mp3', mp3Silence(3)],
    ['p/menu.wav', wavTone()],
    ['p/rejected-by-ccc.mp3', mp3Silence(4)],
    ['p/readme.txt', Buffer.from('not audio')],
  ] as const) {
    stack.cos.putDirect(BUCKET, k, b);
  }
  await createUpload(stack.env, stack.seams)(cosEvent(stack.event('p/hello.mp3'), stack.event('p/menu.wav'), stack.event('p/rejected-by-ccc.mp3'), stack.event('p/readme.txt')));
}

/** Runs the recovery pass and returns its report (asked for a day, it always writes one). */
async function runReport(env = stack.env, message = today()) {
  const r = await createReport({ ...env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: message });
  if (!r.report) throw new Error('no report written');
  return { ...r.report, result: r };
}

const today = () => stack.ccc.quotaDay();

test('the report counts the day, refreshes review states onto objects, and stores JSON and a page', async () => {
  stack = await startStack();
  await populate();
  const hello = stack.ccc.files.find((f) => f.CustomFileName === 'hello')!;
  const menu = stack.ccc.files.find((f) => f.CustomFileName === 'menu')!;
  stack.ccc.review(hello.FileId, 1);
  stack.ccc.review(menu.FileId, 2);

  const day = today();
  const { report, jsonKey, htmlKey, webhook, result } = await runReport();
  // Today's report so far: the page, not the day's stored report, which waits for the day to end.
  expect(report.final).toBe(false);
  expect(jsonKey).toBeUndefined();
  expect(stack.cos.object(BUCKET, `.ivr-audio-sync/reports/${day}.json`)).toBeUndefined();
  expect(stack.cos.object(BUCKET, htmlKey!)!.body.toString('utf8')).toContain('This quota day has not ended');
  expect(webhook).toBeUndefined();
  // Recorded and shown at once; the rejection is announced once the FileId is marked reviewed, which
  // waits until no sender's write of the registration can still land over the verdict.
  expect(result.reviews).toMatchObject({ changed: 2, rejected: [] });
  expect(report).toMatchObject({
    day: today(),
    quota: { limit: 50, submitted: 3, remaining: 47, exhausted: false },
    files: { uploaded: 2, failed: 2, deferred: 0, retrying: 0 },
    review: { pending: 0, approved: 1, rejected: 1 },
    backlog: { deferred: 0, queued: 0 },
    errors: { UploadRejected: 1, UnsupportedExtension: 1 },
    actions: { reviewsUpdated: 2 },
  });
  // The page's reason to exist: which files need an operator, and why.
  expect(report.needsAction.map((a) => [a.key, a.status, a.code])).toEqual([
    ['p/readme.txt', 'failed', 'UnsupportedExtension'],
    ['p/rejected-by-ccc.mp3', 'failed', 'UploadRejected'],
    ['p/menu.wav', 'rejected', undefined],
  ]);
  expect(stack.meta('p/hello.mp3')['ivr-review']).toBe('approved');
  expect(stack.meta('p/menu.wav')['ivr-review']).toBe('rejected');

  // Once the day has ended, the same day named again is its final report, stored as JSON.
  stack.clock.advance(24 * 3600_000);
  const final = await runReport(stack.env, day);
  expect(final.result.reviews).toMatchObject({ changed: 0, rejected: ['p/menu.wav'] });
  expect(final.report).toMatchObject({ day, final: true, quota: report.quota, files: report.files, errors: report.errors });
  const stored = JSON.parse(stack.cos.object(BUCKET, final.jsonKey!)!.body.toString('utf8'));
  expect(stored).toMatchObject({ ...final.report, history: expect.any(Array) });
  expect(stored.history).toHaveLength(30);
  expect(stored.history[29]).toEqual({ day, submitted: 3, limit: 50 });
  const page = stack.cos.object(BUCKET, final.htmlKey!)!;
  expect(page.standard['content-type']).toBe('text/html; charset=utf-8');
  const html = page.body.toString('utf8');
  expect(html).toContain('3 / 50');
  expect(html).toContain('UnsupportedExtension');
  expect(html).toMatch(/id="needs-action"[\s\S]*p\/rejected-by-ccc\.mp3[\s\S]*audio duration exceeds 60 seconds/);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'report.html'), html);
  expect(stack.logs.some((l) => l.includes('"msg":"daily report"') && l.includes('"submitted":3'))).toBe(true);
});

test('the timer\'s report of an ended day does not take the page from a later day\'s report so far', async () => {
  stack = await startStack();
  await populate();
  const day = today();
  const pageKey = (await runReport()).htmlKey!;
  const page = () => stack.cos.object(BUCKET, pageKey)!.body.toString('utf8');
  const soFar = page();
  expect(soFar).toContain(day);
  // The timer's first pass (a fresh deploy's or local stack's, hours into the day) reports the quiet day before.
  const timer = async () => (await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' })).report;
  const yesterday = await timer();
  expect(yesterday).toMatchObject({ day: stack.ccc.quotaDay(stack.clock.now() - 24 * 3600_000), htmlKey: undefined, report: { quota: { submitted: 0 } } });
  expect(stack.cos.object(BUCKET, yesterday!.jsonKey!)).toBeDefined();
  expect(page()).toBe(soFar);
  // Once today has ended, its own report takes the page.
  stack.clock.advance(24 * 3600_000);
  const final = await timer();
  expect(final).toMatchObject({ day, htmlKey: pageKey, report: { final: true, quota: { submitted: 3 } } });
  expect(page()).not.toContain('This quota day has not ended');
});

test('the page is taken by the timer\'s report of an ended day when it shows an older day asked for again (the history names the page\'s day)', async () => {
  stack = await startStack();
  await populate();
  const day = (offsetDays: number) => stack.ccc.quotaDay(stack.clock.now() - offsetDays * 24 * 3600_000);
  const pageKey = (await runReport()).htmlKey!; // today so far
  expect((await runReport(stack.env, day(2))).htmlKey).toBe(pageKey); // an older day, again
  const yesterday = (await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' })).report;
  expect(yesterday).toMatchObject({ day: day(1), htmlKey: pageKey });
  expect(JSON.parse(stack.cos.object(BUCKET, '.ivr-audio-sync/reports/history.json')!.body.toString('utf8'))).toMatchObject({ page: day(1) });
});

test('a failed file the operator deleted, or replaced without a new drop of the key, no longer needs action; it still counts as failed', async () => {
  stack = await startStack();
  await populate();
  const listed = async () => (await runReport()).report;
  const before = await listed();
  expect(before.needsAction.filter((a) => a.status === 'failed').map((a) => a.key)).toEqual(['p/readme.txt', 'p/rejected-by-ccc.mp3']);
  // Fixed under another name and the old one deleted; and the other overwritten outside the trigger's prefix rules (no event).
  stack.cos.deleteDirect(BUCKET, 'p/readme.txt');
  stack.cos.putDirect(BUCKET, 'p/rejected-by-ccc.mp3', mp3Silence(2));
  const after = await listed();
  expect(after.needsAction.filter((a) => a.status === 'failed')).toEqual([]);
  expect(after.files.failed).toBe(before.files.failed);
  // Said beside the count, so "2 failed" over an empty list does not read as two files lost (a trial's reading).
  expect(before.failedCleared).toBeUndefined();
  expect(after.failedCleared).toBe(2);
  const { htmlKey } = await runReport();
  expect(stack.cos.object(BUCKET, htmlKey!)!.body.toString('utf8')).toContain(`<tr><th>failed</th><td>${after.files.failed} (2 since deleted or replaced: nothing to do)</td></tr>`);
});

test('a deferred file the operator deleted is no longer backlog nor listed as needing action; it still counts as deferred on its day', async () => {
  stack = await startStack({}, { IVR_DAILY_QUOTA: '1' });
  for (const k of ['p/first.mp3', 'p/second.mp3']) stack.cos.putDirect(BUCKET, k, mp3Silence(3));
  await createUpload(stack.env, stack.seams)(cosEvent(stack.event('p/first.mp3')));
  await createUpload(stack.env, stack.seams)(cosEvent(stack.event('p/second.mp3')));
  expect(stack.cos.object(BUCKET, 'p/second.mp3')!.meta['ivr-status']).toBe('deferred');
  const before = (await runReport()).report;
  expect({ backlog: before.backlog.deferred, listed: before.needsAction.map((a) => a.key), deferred: before.files.deferred }).toEqual({ backlog: 1, listed: ['p/second.mp3'], deferred: 1 });
  // Withdrawn (deleted from the drop folder's waiting/): its job says `deferred` until a sender looks.
  stack.cos.deleteDirect(BUCKET, 'p/second.mp3');
  const after = (await runReport()).report;
  expect({ backlog: after.backlog.deferred, listed: after.needsAction.map((a) => a.key), deferred: after.files.deferred }).toEqual({ backlog: 0, listed: [], deferred: 1 });
});

(CHROMIUM ? test : test.skip)('the report page renders in headless Chromium (screenshot kept in test-artifacts/)', async () => {
  stack = await startStack();
  await populate();
  stack.ccc.review(stack.ccc.files.find((f) => f.CustomFileName === 'menu')!.FileId, 2);
  const { htmlKey, report } = await runReport();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'report-page.html');
  fs.writeFileSync(file, stack.cos.object(BUCKET, htmlKey!)!.body);
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${fs.mkdtempSync('/tmp/chromium-')}`];
  const dom = execFileSync(CHROMIUM!, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  expect(dom).toMatch(/id="quota-used"[^>]*>3 \/ 50</);
  expect((dom.match(/<rect class="bar/g) ?? []).length).toBe(30);
  // The files that need action are listed, with their reason.
  expect(dom).toMatch(/<table id="needs-action">[\s\S]*p\/readme\.txt[\s\S]*UnsupportedExtension/);
  expect(dom).toMatch(/p\/menu\.wav<\/td><td class="status">rejected/);
  // Each row says when its file was last updated, in the report's zone; each day with files has its count on its bar.
  const readme = report.needsAction.find((a) => a.key === 'p/readme.txt')!;
  const updated = new Date(Date.parse(readme.at) + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
  expect(dom).toContain(`p/readme.txt</td><td class="status">failed<br><span class="muted">updated ${updated}</span>`);
  expect(dom).toMatch(/<text class="count"[^>]*>3<\/text>/);
  expect((dom.match(/<text class="count"/g) ?? []).length).toBe(1);
  const png = path.join(ARTIFACTS, 'report.png');
  fs.rmSync(png, { force: true });
  execFileSync(CHROMIUM!, [...flags, '--hide-scrollbars', '--window-size=900,1400', `--screenshot=${png}`, `file://${file}`], { timeout: 60000, stdio: 'ignore' });
  expect(fs.statSync(png).size).toBeGreaterThan(10000);
}, 120000);

test('a failing webhook is retried and then succeeds with a WeCom markdown message', async () => {
  stack = await startStack();
  const hook = await wecomStandIn([[500, 'oops'], [200, '{"errcode":93000,"errmsg":"invalid webhook url"}'], [200, '{"errcode":0,"errmsg":"ok"}']]);
  const { webhook } = await runReport({ ...stack.env, IVR_REPORT_WEBHOOK: hook.url }, '');
  hook.close();
  expect(webhook).toEqual({ ok: true, attempts: 3, status: 200 });
  const body = JSON.parse(hook.bodies[2]);
  expect(body.msgtype).toBe('markdown');
  expect(body.markdown.content).toMatch(/IVR audio quota .*0\/50/);
});

test('a webhook that keeps failing is reported, never fatal, and the report is still stored', async () => {
  stack = await startStack();
  const hook = await wecomStandIn([[502, 'bad gateway']]);
  const { webhook, jsonKey } = await runReport({ ...stack.env, IVR_REPORT_WEBHOOK: hook.url }, '');
  hook.close();
  expect(webhook).toMatchObject({ ok: false, attempts: 3, status: 502 });
  expect(stack.cos.object(BUCKET, jsonKey!)).toBeDefined();
  const line = stack.logs.find((l) => l.includes('WebhookFailed'))!;
  expect(line).toBeDefined();
  expect(line).not.toContain('secret-robot-key');
});

test('a failing webhook whose address carries credentials outside its query (user info, a path token) names only its host', async () => {
  stack = await startStack();
  const hook = await wecomStandIn([[502, 'bad gateway']]);
  const url = hook.url.replace('http://', 'http://robot:s3cretPassw0rd@').replace('/send?', '/send/s3cretPathToken0123456789?');
  const { webhook, result } = await runReport({ ...stack.env, IVR_REPORT_WEBHOOK: url }, '');
  hook.close();
  expect(webhook).toMatchObject({ ok: false, attempts: 3, status: 502, error: `HTTP 502 from ${new URL(hook.url).origin}` });
  const everything = [JSON.stringify(result), ...stack.logs];
  for (const secret of ['s3cretPassw0rd', 's3cretPathToken0123456789', 'secret-robot-key']) expect(everything.filter((t) => t.includes(secret))).toEqual([]);
});

test('quota-report refuses to run without IVR_BUCKET, naming it', async () => {
  stack = await startStack();
  await expect(createReport(stack.env)({ Type: 'Timer' })).rejects.toThrow(/IVR_BUCKET is required/);
});

test('the daily report is written once per quota day, by the first pass after the day ends', async () => {
  stack = await startStack();
  await createUpload(stack.env, stack.seams)(stack.drop('p/a.mp3', mp3Silence()));
  const pass = () => createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
  const uploadDay = today();
  const first = await pass();
  // The first pass reports the day before the upload's: the last one that has ended.
  expect(first.report?.day).toBe(stack.ccc.quotaDay(stack.clock.now() - 24 * 3600_000));
  expect((await pass()).report).toBeUndefined();
  stack.clock.advance(24 * 3600_000);
  const next = await pass();
  expect(next.report?.day).toBe(uploadDay);
  expect(next.report?.report.quota.submitted).toBe(1);
});

test('today\'s report on request does not stand in for the day\'s own report, written after the day ends', async () => {
  stack = await startStack();
  const day = today();
  await createUpload(stack.env, stack.seams)(stack.drop('p/a.mp3', mp3Silence(3)));
  expect((await runReport()).report).toMatchObject({ day, final: false, files: { uploaded: 1 } });
  await createUpload(stack.env, stack.seams)(stack.drop('p/b.mp3', mp3Silence(4)));
  stack.clock.advance(24 * 3600_000);
  const pass = await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
  expect(pass.report).toMatchObject({ day, jsonKey: `.ivr-audio-sync/reports/${day}.json`, report: { final: true, files: { uploaded: 2 }, quota: { submitted: 2 } } });
  // The pass ran its retention step: nothing is old enough to prune yet.
  expect(pass.pruned).toBe(0);
});

test('a day that has not begun is not reported: the pass says why and does the rest of its work', async () => {
  stack = await startStack();
  const tomorrow = stack.ccc.quotaDay(stack.clock.now() + 24 * 3600_000);
  const pass = await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: tomorrow });
  expect(pass.report).toBeUndefined();
  expect(pass.reportRefused).toBe(`${tomorrow} has not begun: today is ${today()} (UTC+08:00)`);
  expect(stack.cos.keys(BUCKET, '.ivr-audio-sync/reports/')).toEqual([]);
  expect(stack.logs.some((l) => l.includes('"msg":"report not written"') && l.includes('"code":"EventInvalid"'))).toBe(true);
});

test('a failed file dropped again, fixed, under the same name no longer needs action; its registration counts, and its failure, as dealt with', async () => {
  stack = await startStack();
  await createUpload(stack.env, stack.seams)(stack.drop('p/fixed.mp3', Buffer.from('not audio at all')));
  expect(stack.meta('p/fixed.mp3')['ivr-status']).toBe('failed');
  expect((await runReport()).report.needsAction.map((a) => a.key)).toEqual(['p/fixed.mp3']);
  stack.clock.advance(60_000);
  await createUpload(stack.env, stack.seams)(stack.drop('p/fixed.mp3', mp3Silence(3)));
  expect(stack.meta('p/fixed.mp3')['ivr-status']).toBe('uploaded');
  const { report } = await runReport();
  // Changed on purpose: the failure stays in the day's counts, among those since dealt with (it
  // used to vanish, and two trials read the day's failures shrinking as they were fixed).
  expect(report).toMatchObject({ needsAction: [], files: { uploaded: 1, failed: 1 }, failedCleared: 1, errors: { NotAudio: 1 } });
});

test('bad bytes dropped again after other bad bytes of the key still need action: their failure is the one the object shows', async () => {
  stack = await startStack();
  const upload = createUpload(stack.env, stack.seams);
  const [x, y] = [Buffer.from('not audio at all'), Buffer.from('not audio either, and other bytes')];
  for (const body of [x, y, x]) {
    await upload(stack.drop('p/x.mp3', body));
    stack.clock.advance(60_000);
  }
  expect(stack.meta('p/x.mp3')['ivr-status']).toBe('failed');
  const { report } = await runReport();
  // Two failures that day (x's job is the same both times), one dealt with (y's, replaced by x); x's still needs action.
  expect(report).toMatchObject({ needsAction: [expect.objectContaining({ key: 'p/x.mp3', status: 'failed' })], files: { failed: 2 }, failedCleared: 1, errors: { NotAudio: 2 } });
});

test('a rejected recording dropped again after another one of the key still needs action: its rejection is what the object shows', async () => {
  stack = await startStack();
  const upload = createUpload(stack.env, stack.seams);
  const [x, y] = [mp3Silence(3), mp3Silence(4)];
  await upload(stack.drop('p/x.mp3', x));
  stack.ccc.review(Number(stack.meta('p/x.mp3')['ivr-file-id']), 2);
  stack.clock.advance(60_000);
  await upload(stack.drop('p/x.mp3', y));
  stack.clock.advance(60_000);
  // The rejected bytes again: the function keeps their registration (nothing is sent twice).
  await upload(stack.drop('p/x.mp3', x));
  expect(stack.ccc.files).toHaveLength(2);
  const { report } = await runReport();
  expect(stack.meta('p/x.mp3')).toMatchObject({ 'ivr-status': 'uploaded', 'ivr-review': 'rejected' });
  expect(report.needsAction.map((a) => [a.key, a.status])).toEqual([['p/x.mp3', 'rejected']]);
});

test('a recording dropped again after another one of the key is the current one in the list of names CCC lists twice: the other is the one replaced', async () => {
  stack = await startStack();
  const upload = createUpload(stack.env, stack.seams);
  const [a, b] = [mp3Silence(3), mp3Silence(4)];
  // A trial's operator went back to the old recording: A, then B, then A again.
  for (const body of [a, b, a]) {
    await upload(stack.drop('p/rev.mp3', body));
    stack.clock.advance(60_000);
  }
  expect(stack.ccc.files).toHaveLength(2);
  const [idA, idB] = stack.ccc.files.map((f) => f.FileId);
  expect(Number(stack.meta('p/rev.mp3')['ivr-file-id'])).toBe(idA);
  const { report, htmlKey } = await runReport();
  // It marked A "(replaced by a later drop)" (by drop order) and left B looking current: an
  // operator picking "the one you mean by its FileId" would have put B in the IVR flow.
  expect(report.sameName).toEqual([{ name: 'rev', files: [{ fileId: idA, key: 'p/rev.mp3', day: today() }, { fileId: idB, key: 'p/rev.mp3', day: today(), replaced: true }] }]);
  expect(stack.cos.object(BUCKET, htmlKey!)!.body.toString('utf8')).toContain(`<td>${idB}</td><td class="key">p/rev.mp3 <span class="muted">(replaced by a later drop)</span>`);
});

test('a review that comes for a registration whose object now holds a newer upload is recorded, and the object left alone without a warning: nothing is wrong', async () => {
  stack = await startStack();
  const upload = createUpload(stack.env, stack.seams);
  await upload(stack.drop('p/welcome.mp3', mp3Silence(3)));
  const first = Number(stack.meta('p/welcome.mp3')['ivr-file-id']);
  stack.clock.advance(60_000);
  await upload(stack.drop('p/welcome.mp3', mp3Silence(4)));
  stack.ccc.review(first, 1);
  await runReport();
  const lines = stack.logs.filter((l) => l.includes('result not written onto the object'));
  // A trial's log alerting would have fired at every pass: the operator replaced the file, and the
  // new upload has its own status.
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.every((l) => l.includes('"level":"info"') && l.includes('ObjectChanged'))).toBe(true);
});

test('two files with one display name (menu.wav, menu.mp3) are both registered, and the report names the clash with every FileId CCC lists under it', async () => {
  stack = await startStack();
  // Registered in the CCC console, outside this product: CCC lists it under the same name.
  stack.ccc.registerForeign(SDK_APP_ID, 1, 'menu');
  const foreign = stack.ccc.files[stack.ccc.files.length - 1];
  foreign.CustomFileName = 'menu';
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.wav', wavTone()));
  stack.clock.advance(2_000);
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  const ids = ['p/menu.wav', 'p/menu.mp3'].map((k) => Number(stack.meta(k)['ivr-file-id']));
  expect(stack.ccc.files.filter((f) => f.CustomFileName === 'menu').map((f) => f.FileId).sort()).toEqual([foreign.FileId, ...ids].sort());
  const { report, htmlKey } = await runReport();
  expect(report.sameName).toEqual([{ name: 'menu', files: [{ fileId: foreign.FileId }, { fileId: ids[0], key: 'p/menu.wav', day: today() }, { fileId: ids[1], key: 'p/menu.mp3', day: today() }] }]);
  expect(stack.cos.object(BUCKET, htmlKey!)!.body.toString('utf8')).toContain('id="same-name"');
});

test('when CCC cannot be asked about the day\'s names, the report lists the clashes its own records show and says why in a warning', async () => {
  stack = await startStack();
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.wav', wavTone()));
  stack.clock.advance(2_000);
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  // The pass's review refresh asks first (one call for both FileIds); the report's question fails.
  stack.ccc.inject({ action: 'DescribeIvrAudioList', code: 'InternalError', message: 'internal error', after: 1 });
  const { report } = await runReport();
  expect(report.sameName?.map((n) => [n.name, n.files.length])).toEqual([['menu', 2]]);
  expect(stack.logs.some((l) => l.includes("could not ask CCC which of the day's names it lists more than once"))).toBe(true);
});

test('a file whose intake died after queueing it is sent by the recovery pass', async () => {
  stack = await startStack();
  const event = stack.drop('p/late.mp3', mp3Silence());
  // The intake dies right after creating the job (before it could look for a sender).
  stack.cos.inject({ op: 'PUT', keyPrefix: '.ivr-audio-sync/jobs/', resetAfterCommit: true, times: 1, before: () => stack.cos.inject({ reset: true, times: 100000 }) });
  await createUpload(stack.env, stack.seams)(event).catch(() => undefined);
  stack.cos.clearFaults();
  expect(stack.meta('p/late.mp3')['ivr-status']).toBe('queued');
  stack.clock.advance(300_000);
  const r = await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
  expect(r.sent).toBe(true);
  expect(stack.meta('p/late.mp3')['ivr-status']).toBe('uploaded');
  expect(stack.ccc.files).toHaveLength(1);
});

test('a ledger left by the previous version is migrated: done jobs kept, waiting ones sent, a lost call asked about first', async () => {
  stack = await startStack();
  const L = '.ivr-audio-sync/';
  const put = (k: string, body: unknown = {}) => stack.cos.putDirect(BUCKET, L + k, Buffer.from(JSON.stringify(body)));
  const drop = (key: string, n: number) => {
    const o = stack.cos.putDirect(BUCKET, key, mp3Silence(n), { contentType: 'audio/mpeg', meta: { owner: 'ops' } });
    return { bucket: BUCKET, key, etag: o.etag, id: jobId(BUCKET, key, o.etag) };
  };
  const at = new Date(stack.clock.now() - 3600_000).toISOString();
  const done = drop('p/done.mp3', 3);
  const waiting = drop('p/waiting.mp3', 4);
  const calling = drop('p/calling.mp3', 5);
  // The lost call did register its file: CCC holds it, nobody recorded it.
  stack.ccc.files.push({ FileId: 5000, CustomFileName: 'calling', AudioFileName: 'x.mp3', Status: 0, SdkAppId: 1400000001, uploadedAt: stack.clock.now() });
  put(`jobs/${done.id}.json`, { v: 1, state: 'done', bucket: BUCKET, key: done.key, etag: done.etag, customName: 'done', updatedAt: at, attempts: 1, result: { status: 'uploaded', etag: done.etag, at, fileId: 4000, audioFileName: 'd.mp3', review: 'approved', requestId: 'r' } });
  put(`jobs/${waiting.id}.json`, { v: 1, state: 'queued', bucket: BUCKET, key: waiting.key, etag: waiting.etag, customName: 'waiting', updatedAt: at, attempts: 0 });
  put(`jobs/${calling.id}.json`, { v: 1, state: 'calling', bucket: BUCKET, key: calling.key, etag: calling.etag, customName: 'calling', updatedAt: at, attempts: 1 });
  put(`pending/000001795600000-${waiting.id}-0`, { id: waiting.id });
  put(`taken/${'b'.repeat(40)}-0`);
  put(`rate/${Math.floor(Date.now() / 1000) - 7200}`);
  put(`quota/${today()}/00000`);
  put(`quota/${today()}/00001`);
  put('files/4000', { job: done.id });

  await createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams)({ Type: 'Timer', Message: '' });
  const keys = stack.cos.keys(BUCKET, L);
  expect(keys.filter((k) => /\.json$/.test(k) && k.includes('/jobs/'))).toEqual([]);
  expect(keys.filter((k) => /\/(pending|taken|rate|quota)\//.test(k))).toEqual([]);
  expect(keys).toContain(`${L}files/4000`);
  // The waiting file was sent once; the lost call's file was adopted, not sent again; the done one left alone.
  expect(stack.ccc.uploadCalls()).toHaveLength(1);
  expect(stack.meta('p/waiting.mp3')).toMatchObject({ 'ivr-status': 'uploaded', owner: 'ops' });
  expect(stack.meta('p/calling.mp3')).toMatchObject({ 'ivr-status': 'uploaded', 'ivr-file-id': '5000' });
  expect(stack.cos.object(BUCKET, 'p/calling.mp3')!.standard['content-type']).toBe('audio/mpeg');
  expect(keys).toContain(`${L}jobs/${done.id}/0`);
  // Today's two slots of the old ledger still count, plus the one just sent.
  const tail = JSON.parse(stack.cos.object(BUCKET, `${L}send/tail`)!.body.toString('utf8')) as { quota: { used: number } };
  expect(tail.quota.used).toBe(3);
});

test('settled jobs older than the retention shrink to one record (a day after their compaction); FileIds are kept', async () => {
  stack = await startStack();
  await createUpload(stack.env, stack.seams)(stack.drop('p/old.mp3', mp3Silence(3)));
  stack.clock.advance(40 * 86400000);
  await createUpload(stack.env, stack.seams)(stack.drop('p/keep.mp3', mp3Silence(4)));
  const L = '.ivr-audio-sync/';
  const oldId = jobId(BUCKET, 'p/old.mp3', stack.cos.object(BUCKET, 'p/old.mp3')!.etag);
  const keepId = jobId(BUCKET, 'p/keep.mp3', stack.cos.object(BUCKET, 'p/keep.mp3')!.etag);
  const oldChain = stack.cos.keys(BUCKET, `${L}jobs/${oldId}/`);
  const keepChain = stack.cos.keys(BUCKET, `${L}jobs/${keepId}/`);
  expect(oldChain.length).toBeGreaterThan(1);
  const timer = createReport({ ...stack.env, IVR_BUCKET: BUCKET }, stack.seams);
  // The first daily pass compacts the old chain (version 0 now holds its head)...
  const r = await timer({ Type: 'Timer', Message: '' });
  expect(r.pruned).toBe(1);
  expect(stack.cos.keys(BUCKET, `${L}jobs/${oldId}/`)).toEqual(oldChain);
  // ...and the next day's drops the versions between.
  stack.clock.advance(86400000 + 60_000);
  expect((await timer({ Type: 'Timer', Message: '' })).pruned).toBe(oldChain.length - 1);
  expect(stack.cos.keys(BUCKET, `${L}jobs/${oldId}/`)).toEqual([`${L}jobs/${oldId}/0`]);
  expect(JSON.parse(stack.cos.object(BUCKET, `${L}jobs/${oldId}/0`)!.body.toString('utf8'))).toMatchObject({ state: 'uploaded', seq: oldChain.length - 1 });
  const keys = stack.cos.keys(BUCKET, L);
  expect(stack.cos.keys(BUCKET, `${L}jobs/${keepId}/`)).toEqual(keepChain);
  expect(keys.filter((k) => k.startsWith(`${L}files/`))).toHaveLength(2);
  expect(stack.meta('p/old.mp3')['ivr-status']).toBe('uploaded');
});
