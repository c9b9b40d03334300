/**
 * The webhook outbox over HTTP, with the official SDKs against the fakes and a WeCom stand-in: a
 * timer pass killed right after storing the report or marking a rejection, or WeCom down for all
 * three attempts, no longer loses the operator's message: a later pass posts it (at least once),
 * one pass per lease window, until it is given up after a day with a `WebhookFailed` error line.
 */
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { OUTBOX_LEASE_MS, OUTBOX_LIFETIME_MS, refusedThisMessage } from '../shared/core/outbox';
import type { RecoveryResult } from '../shared/workflow/recovery';
import { mp3Silence } from './audio';
import { BUCKET, startStack, type Stack } from './harness';
import { wecomStandIn, type WecomStandIn } from './wecom';

const L = '.ivr-audio-sync/';
const OUTBOX = `${L}outbox/`;

let stack: Stack;
let hook: WecomStandIn;
afterEach(async () => {
  hook.close();
  await stack.stop();
});

/** One timer pass with the webhook set; a pass that dies (an injected kill) resolves to undefined. */
async function pass(env: Record<string, string | undefined> = {}): Promise<RecoveryResult | undefined> {
  const r = await createReport({ ...stack.env, IVR_BUCKET: BUCKET, IVR_REPORT_WEBHOOK: hook.url, ...env }, stack.seams)({ Type: 'Timer', Message: '' }).catch(() => undefined);
  return r as RecoveryResult | undefined;
}

/** From the next request that matches on, every COS request fails: the instance died right after that write took effect. */
function killAfter(op: 'PUT', keyPrefix: string): void {
  stack.cos.inject({ op, keyPrefix, resetAfterCommit: true, times: 1, before: () => stack.cos.inject({ reset: true, times: 100000 }) });
}

const reportPosts = () => hook.accepted.filter((c) => c.includes('IVR audio quota'));
const rejectionPosts = () => hook.accepted.filter((c) => c.includes('rejected by CCC review'));
const ended = () => stack.ccc.quotaDay(stack.clock.now() - 24 * 3600_000);

test('a pass killed right after storing the day\'s report: a later pass posts the report, once its writer\'s lease is over', async () => {
  stack = await startStack();
  hook = await wecomStandIn();
  const day = ended();
  killAfter('PUT', `${L}reports/${day}.json`);
  expect(await pass()).toBeUndefined();
  stack.cos.clearFaults();
  expect(stack.cos.object(BUCKET, `${L}reports/${day}.json`)).toBeDefined();
  expect(hook.bodies).toEqual([]);
  // Still in the lease of the pass that wrote it (a pass may be mid-post): not posted yet.
  stack.clock.advance(OUTBOX_LEASE_MS / 2);
  expect((await pass())?.outbox).toEqual({ found: 0, posted: 0, failed: 0, gaveUp: 0, dropped: 0 });
  expect(hook.bodies).toEqual([]);
  stack.clock.advance(OUTBOX_LEASE_MS / 2 + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, posted: 1 });
  expect(reportPosts()).toHaveLength(1);
  expect(reportPosts()[0]).toContain(day);
  // Delivered: the record and its claim are gone, and nothing is posted again.
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
  stack.clock.advance(OUTBOX_LEASE_MS * 3);
  await pass();
  expect(hook.bodies).toHaveLength(1);
  expect(stack.logs.some((l) => l.includes('"msg":"report posted to webhook by a later pass"') && l.includes(day))).toBe(true);
});

test('WeCom down for all three attempts: the report is posted by a later pass; the failure is logged as WebhookFailed', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway'], [502, 'bad gateway'], [502, 'bad gateway'], [200, '{"errcode":0,"errmsg":"ok"}']]);
  const day = ended();
  const first = await pass();
  expect(first?.report).toMatchObject({ day, webhook: { ok: false, attempts: 3, status: 502 } });
  expect(stack.logs.some((l) => l.includes('"level":"warn"') && l.includes('WebhookFailed') && l.includes('a later timer pass posts it again'))).toBe(true);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toHaveLength(1);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, posted: 1, failed: 0 });
  expect(hook.bodies).toHaveLength(4);
  expect(reportPosts()).toHaveLength(1);
  expect(reportPosts()[0]).toContain(day);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test('a report WeCom never takes is posted once per lease window by one pass, and given up after a day with a WebhookFailed error line', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway']]);
  const day = ended();
  await pass();
  expect(hook.bodies).toHaveLength(3);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  // Two passes at once in the same window: one claims it and posts (3 attempts), the other leaves it.
  const [a, b] = await Promise.all([pass(), pass()]);
  expect([a?.outbox?.failed, b?.outbox?.failed].sort()).toEqual([0, 1]);
  expect(hook.bodies).toHaveLength(6);
  await pass();
  expect(hook.bodies).toHaveLength(6);
  stack.clock.advance(OUTBOX_LIFETIME_MS);
  expect((await pass())?.outbox).toMatchObject({ found: 1, gaveUp: 1, posted: 0 });
  // (The pass also reports the day that has ended since, and posts that: 3 more attempts.)
  expect(hook.bodies.filter((b) => b.includes(day))).toHaveLength(6);
  const line = stack.logs.find((l) => l.includes('report webhook given up'))!;
  expect(line).toContain('"level":"error"');
  expect(line).toContain('"code":"WebhookFailed"');
  expect(line).toContain(day);
  expect(line).not.toContain('secret-robot-key');
  // The record and every claim of it are gone (the new day's record stays: its post failed too).
  expect(stack.cos.keys(BUCKET, OUTBOX).filter((k) => k.includes(day))).toEqual([]);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toHaveLength(1);
});

test('two passes draining the same record at once: the one that finds it gone after its claim posts nothing (WeCom takes the message once)', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway'], [502, 'bad gateway'], [502, 'bad gateway'], [200, '{"errcode":0,"errmsg":"ok"}']]);
  const day = ended();
  await pass(); // the report is stored; WeCom refuses it three times: its record stays
  const [record] = stack.cos.keys(BUCKET, OUTBOX);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  // Pass B has read the record; before its claim of the window arrives, pass A drains it whole:
  // claims the window, posts, deletes the record and its claim. (Seen in the fault suite, seed
  // 201: two timer passes at once, each posting the same record in the same window.)
  let a: Promise<RecoveryResult | undefined> | undefined;
  stack.cos.inject({ op: 'PUT', keyPrefix: `${record}.1`, times: 1, before: () => (a = pass()) });
  const b = await pass();
  expect((await a)?.outbox).toMatchObject({ found: 1, posted: 1 });
  expect(b?.outbox).toMatchObject({ posted: 0 });
  expect(reportPosts()).toHaveLength(1);
  expect(reportPosts()[0]).toContain(day);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test('a pass killed between its outbox record and the report: the next pass reports the day and posts it once; the record owes nothing', async () => {
  stack = await startStack();
  hook = await wecomStandIn();
  const day = ended();
  stack.cos.inject({ op: 'PUT', keyPrefix: `${L}reports/${day}.json`, reset: true, times: 1, before: () => stack.cos.inject({ reset: true, times: 100000 }) });
  expect(await pass()).toBeUndefined();
  stack.cos.clearFaults();
  expect(stack.cos.object(BUCKET, `${L}reports/${day}.json`)).toBeUndefined();
  expect(stack.cos.keys(BUCKET, OUTBOX)).toHaveLength(1);
  expect((await pass())?.report?.day).toBe(day);
  expect(reportPosts()).toHaveLength(1);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, dropped: 1, posted: 0 });
  expect(reportPosts()).toHaveLength(1);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test('a pass killed right after marking a rejection reviewed: a later pass announces it', async () => {
  stack = await startStack();
  hook = await wecomStandIn();
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  stack.ccc.review(stack.ccc.files[0].FileId, 2);
  // Past the time a late write of the registration could still land (the verdict is marked then).
  stack.clock.advance(6 * 60_000);
  killAfter('PUT', `${L}reviewed/`);
  expect(await pass()).toBeUndefined();
  stack.cos.clearFaults();
  expect(stack.cos.keys(BUCKET, `${L}reviewed/`)).toHaveLength(1);
  expect(rejectionPosts()).toEqual([]);
  // The FileId is marked: no pass asks CCC about it again, so only the outbox can announce it.
  await pass();
  expect(rejectionPosts()).toEqual([]);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, posted: 1 });
  expect(rejectionPosts()).toHaveLength(1);
  expect(rejectionPosts()[0]).toContain('p/menu.mp3');
  stack.clock.advance(OUTBOX_LEASE_MS * 2);
  await pass();
  expect(rejectionPosts()).toHaveLength(1);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test('a rejection WeCom refused three times is announced by a later pass', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[503, 'busy'], [503, 'busy'], [503, 'busy'], [200, '{"errcode":0,"errmsg":"ok"}']]);
  // The day's report first (it is due on a new stack), so that the rejection meets WeCom down.
  await pass({ IVR_REPORT_WEBHOOK: undefined });
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  stack.ccc.review(stack.ccc.files[0].FileId, 2);
  stack.clock.advance(6 * 60_000);
  expect((await pass())?.reviews.rejected).toEqual(['p/menu.mp3']);
  expect(hook.bodies).toHaveLength(3);
  expect(stack.logs.some((l) => l.includes('rejection webhook failed') && l.includes('WebhookFailed'))).toBe(true);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, posted: 1 });
  expect(rejectionPosts()).toHaveLength(1);
  expect(rejectionPosts()[0]).toContain('p/menu.mp3');
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test('a common pass (nothing due) costs the outbox one LIST and nothing else', async () => {
  stack = await startStack();
  hook = await wecomStandIn();
  await createUpload(stack.env, stack.seams)(stack.drop('p/a.mp3', mp3Silence(3)));
  await pass();
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
  const count = async (env: Record<string, string | undefined>) => {
    stack.clock.advance(5 * 60_000);
    const before = stack.cos.requests.length;
    await pass(env);
    return stack.cos.requests.slice(before).filter((r) => r.bucket === BUCKET && !r.presigned);
  };
  await count({}); // settles what the upload left for the timer (a read of its job)
  const without = await count({ IVR_REPORT_WEBHOOK: undefined });
  const withHook = await count({});
  const where = (r: (typeof without)[number]) => (r.op === 'LIST' ? `LIST ${r.prefix}` : `${r.op} ${r.key}`);
  const outbox = (rs: typeof without) => rs.map(where).filter((w) => w.includes(OUTBOX));
  expect(outbox(withHook)).toEqual([`LIST ${OUTBOX}`]);
  expect(outbox(without)).toEqual([]);
  // Otherwise the same kinds of request (how often a sender lists the queue while it lingers
  // depends on real time, and the send log's entry number moves on): the outbox adds one LIST.
  const kinds = (rs: typeof without) => [...new Set(rs.map(where).map((w) => w.replace(/send\/\d+$/, 'send/N')))].sort();
  expect(kinds(withHook)).toEqual([...kinds(without), `LIST ${OUTBOX}`].sort());
  expect(hook.bodies).toHaveLength(1); // the day's report of the first pass, nothing since
});

test('with WeCom down, a pass spends one post (three attempts) on what earlier passes left, not one per record', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway']]);
  await pass(); // the ended day's report: refused three times, its record stays
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  stack.ccc.review(stack.ccc.files[0].FileId, 2);
  stack.clock.advance(6 * 60_000);
  await pass(); // the rejection: refused three times, its record stays
  expect(stack.cos.keys(BUCKET, OUTBOX)).toHaveLength(2);
  expect(hook.bodies).toHaveLength(6);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, failed: 1 });
  expect(hook.bodies).toHaveLength(9);
  // WeCom is back: the next window's pass posts both.
  hook.close();
  hook = await wecomStandIn();
  stack.clock.advance(OUTBOX_LEASE_MS);
  expect((await pass())?.outbox).toMatchObject({ found: 2, posted: 2 });
  expect(reportPosts()).toHaveLength(1);
  expect(rejectionPosts()).toHaveLength(1);
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test('a message WeCom answers and refuses for good does not hold back the next one: it is posted by the same pass, the refused one stays for its day', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway']]);
  await pass(); // the ended day's report: WeCom down, its record stays
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  stack.ccc.review(stack.ccc.files[0].FileId, 2);
  stack.clock.advance(6 * 60_000);
  await pass(); // the rejection: WeCom still down, its record stays
  expect(stack.cos.keys(BUCKET, OUTBOX)).toHaveLength(2);
  // WeCom is back, and refuses the (older) report message itself, as it answers a message it will never take.
  hook.close();
  hook = await wecomStandIn((content) => (content.includes('IVR audio quota') ? [200, '{"errcode":40008,"errmsg":"invalid message type"}'] : undefined));
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 2, failed: 1, posted: 1 });
  expect(rejectionPosts()).toHaveLength(1);
  expect(reportPosts()).toHaveLength(0);
  // The report's record (and its window's claim) stays, retried each window until its day is over.
  expect(stack.cos.keys(BUCKET, OUTBOX).filter((k) => !/\.\d+$/.test(k))).toEqual([expect.stringContaining(`-report-${ended()}`)]);
});

test('two messages WeCom refuses for good do not hold a third back for their day (REPORT_CRON every 10 minutes: one pass per window)', async () => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway']]);
  await pass(); // A: the ended day's report (WeCom down: its record stays)
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  stack.ccc.review(stack.ccc.files[0].FileId, 2);
  stack.clock.advance(OUTBOX_LEASE_MS);
  await pass(); // B: menu.mp3's rejection
  await createUpload(stack.env, stack.seams)(stack.drop('p/hold.mp3', mp3Silence(4)));
  stack.ccc.review(stack.ccc.files[1].FileId, 2);
  stack.clock.advance(OUTBOX_LEASE_MS);
  await pass(); // C: hold.mp3's rejection
  expect(stack.cos.keys(BUCKET, OUTBOX).filter((k) => !/\.\d+$/.test(k))).toHaveLength(3);
  // WeCom is back, and refuses A and B for good (as it answers a message it will never take); C it would take.
  hook.close();
  const refused: [number, string] = [200, '{"errcode":40008,"errmsg":"invalid message type"}'];
  hook = await wecomStandIn((content) => (content.includes('IVR audio quota') || content.includes('menu.mp3') ? refused : undefined));
  // Six passes, one per window (an hour): hold.mp3's rejection must have gone out by then, not a day late.
  for (let i = 0; i < 6; i++) {
    stack.clock.advance(OUTBOX_LEASE_MS);
    await pass();
  }
  expect(hook.accepted.filter((c) => c.includes('hold.mp3'))).toHaveLength(1);
});

test.each([
  ['over its rate limit', '{"errcode":45009,"errmsg":"api freq out of limit"}'],
  ['busy', '{"errcode":-1,"errmsg":"system busy"}'],
  ['without this robot (a wrong key)', '{"errcode":93000,"errmsg":"invalid webhook url"}'],
])('WeCom %s refuses every message: one post per pass, as when it is down', async (_what, answer) => {
  stack = await startStack();
  hook = await wecomStandIn([[502, 'bad gateway']]);
  await pass();
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  stack.ccc.review(stack.ccc.files[0].FileId, 2);
  stack.clock.advance(6 * 60_000);
  await pass();
  hook.close();
  hook = await wecomStandIn([[200, answer]]);
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, failed: 1, posted: 0 });
  expect(hook.bodies).toHaveLength(3);
});

test('a rejection marker whose create COS committed but never confirmed (every attempt cut off) is still announced, by a later pass', async () => {
  stack = await startStack();
  hook = await wecomStandIn();
  await pass(); // the ended day's report, out of the way
  await createUpload(stack.env, stack.seams)(stack.drop('p/menu.mp3', mp3Silence(3)));
  await createUpload(stack.env, stack.seams)(stack.drop('p/intro.mp3', mp3Silence(4)));
  for (const f of stack.ccc.files) stack.ccc.review(f.FileId, 2);
  stack.clock.advance(6 * 60_000);
  // The first marker's create takes effect, but every answer to it (and the SDK's retries) is lost.
  const first = `${L}reviewed/${stack.ccc.files[0].FileId}`;
  stack.cos.inject({ op: 'PUT', keyPrefix: first, resetAfterCommit: true, times: 10 });
  const r = await pass();
  stack.cos.clearFaults();
  expect(stack.cos.object(BUCKET, first)).toBeDefined();
  // The other file is announced at once; the unconfirmed one is not (nor asked about again: it is marked).
  expect(r?.reviews.rejected).toEqual(['p/intro.mp3']);
  expect(rejectionPosts()).toHaveLength(1);
  expect(rejectionPosts()[0]).not.toContain('p/menu.mp3');
  stack.clock.advance(OUTBOX_LEASE_MS + 5000);
  expect((await pass())?.outbox).toMatchObject({ found: 1, posted: 1 });
  expect(rejectionPosts()).toHaveLength(2);
  // Only what was still owed: the unconfirmed file, not the one announced already.
  expect(rejectionPosts()[1]).toContain('p/menu.mp3');
  expect(rejectionPosts()[1]).not.toContain('p/intro.mp3');
  expect(stack.cos.keys(BUCKET, OUTBOX)).toEqual([]);
});

test("WeCom's refusal of one message lets the drain try the next; busy, over its rate limit or no such robot refuses every message and stops it; no answer is not a refusal", () => {
  expect([40008, 44004].map(refusedThisMessage)).toEqual([true, true]);
  expect([-1, 45009, 93000, undefined].map(refusedThisMessage)).toEqual([false, false, false, false]);
});
