/**
 * The quota-report function: the numbers, the stored JSON and page (rendered in headless Chromium),
 * review-state refresh onto objects, and a webhook that fails without losing the report.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { createHandler as createUpload } from '../functions/ivr-upload/handler';
import { createHandler as createReport } from '../functions/quota-report/handler';
import { mp3Silence, wavTone } from './audio';
import { cosEvent } from '../scripts/local/fakes/events';
import { BUCKET, startStack, type Stack } from './harness';

const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

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
  await createUpload(stack.env)(cosEvent(stack.event('p/hello.mp3'), stack.event('p/menu.wav'), stack.event('p/rejected-by-ccc.mp3'), stack.event('p/readme.txt')));
}

const today = () => stack.ccc.quotaDay();

test('the report counts the day, refreshes review states onto objects, and stores JSON and a page', async () => {
  stack = await startStack();
  await populate();
  const hello = stack.ccc.files.find((f) => f.CustomFileName === 'hello')!;
  const menu = stack.ccc.files.find((f) => f.CustomFileName === 'menu')!;
  stack.ccc.review(hello.FileId, 1);
  stack.ccc.review(menu.FileId, 2);

  const { report, jsonKey, htmlKey, webhook } = await createReport({ ...stack.env, IVR_BUCKET: BUCKET })({ Type: 'Timer', Message: today() });
  expect(webhook).toBeUndefined();
  expect(report).toMatchObject({
    day: today(),
    quota: { limit: 50, submitted: 3, remaining: 47, exhausted: false },
    files: { uploaded: 2, failed: 2, deferred: 0, retrying: 0 },
    review: { pending: 0, approved: 1, rejected: 1 },
    backlog: { deferred: 0, queued: 0 },
    errors: { UploadRejected: 1, UnsupportedExtension: 1 },
    actions: { reviewsUpdated: 2 },
  });
  expect(stack.meta('p/hello.mp3')['ivr-review']).toBe('approved');
  expect(stack.meta('p/menu.wav')['ivr-review']).toBe('rejected');

  const stored = JSON.parse(stack.cos.object(BUCKET, jsonKey)!.body.toString('utf8'));
  expect(stored).toMatchObject({ ...report, history: expect.any(Array) });
  expect(stored.history).toHaveLength(30);
  expect(stored.history[29]).toEqual({ day: today(), submitted: 3 });
  const page = stack.cos.object(BUCKET, htmlKey)!;
  expect(page.standard['content-type']).toBe('text/html; charset=utf-8');
  const html = page.body.toString('utf8');
  expect(html).toContain('3 / 50');
  expect(html).toContain('UnsupportedExtension');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, 'report.html'), html);
  expect(stack.logs.some((l) => l.includes('"msg":"daily report"') && l.includes('"submitted":3'))).toBe(true);
});

(CHROMIUM ? test : test.skip)('the report page renders in headless Chromium (screenshot kept in test-artifacts/)', async () => {
  stack = await startStack();
  await populate();
  const { htmlKey } = await createReport({ ...stack.env, IVR_BUCKET: BUCKET })({ Type: 'Timer', Message: today() });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'report-page.html');
  fs.writeFileSync(file, stack.cos.object(BUCKET, htmlKey)!.body);
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${fs.mkdtempSync('/tmp/chromium-')}`];
  const dom = execFileSync(CHROMIUM!, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'ignore'] });
  expect(dom).toMatch(/id="quota-used"[^>]*>3 \/ 50</);
  expect((dom.match(/<rect class="bar/g) ?? []).length).toBe(30);
  const png = path.join(ARTIFACTS, 'report.png');
  fs.rmSync(png, { force: true });
  execFileSync(CHROMIUM!, [...flags, '--hide-scrollbars', '--window-size=900,1400', `--screenshot=${png}`, `file://${file}`], { timeout: 60000, stdio: 'ignore' });
  expect(fs.statSync(png).size).toBeGreaterThan(10000);
}, 120000);

function webhookServer(answers: Array<[number, string]>) {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      const [status, text] = answers[Math.min(bodies.length - 1, answers.length - 1)];
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
    });
  });
  return new Promise<{ url: string; bodies: string[]; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cgi-bin/webhook/send?key=secret-robot-key`, bodies, close: () => server.close() })),
  );
}

test('a failing webhook is retried and then succeeds with a WeCom markdown message', async () => {
  stack = await startStack();
  const hook = await webhookServer([[500, 'oops'], [200, '{"errcode":93000,"errmsg":"invalid webhook url"}'], [200, '{"errcode":0,"errmsg":"ok"}']]);
  const { webhook } = await createReport({ ...stack.env, IVR_BUCKET: BUCKET, IVR_REPORT_WEBHOOK: hook.url })({ Type: 'Timer' });
  hook.close();
  expect(webhook).toEqual({ ok: true, attempts: 3, status: 200 });
  const body = JSON.parse(hook.bodies[2]);
  expect(body.msgtype).toBe('markdown');
  expect(body.markdown.content).toMatch(/IVR audio quota .*0\/50/);
});

test('a webhook that keeps failing is reported, never fatal, and the report is still stored', async () => {
  stack = await startStack();
  const hook = await webhookServer([[502, 'bad gateway']]);
  const { webhook, jsonKey } = await createReport({ ...stack.env, IVR_BUCKET: BUCKET, IVR_REPORT_WEBHOOK: hook.url })({ Type: 'Timer' });
  hook.close();
  expect(webhook).toMatchObject({ ok: false, attempts: 3, status: 502 });
  expect(stack.cos.object(BUCKET, jsonKey)).toBeDefined();
  const line = stack.logs.find((l) => l.includes('WebhookFailed'))!;
  expect(line).toBeDefined();
  expect(line).not.toContain('secret-robot-key');
});

test('quota-report refuses to run without IVR_BUCKET, naming it', async () => {
  stack = await startStack();
  await expect(createReport(stack.env)({ Type: 'Timer' })).rejects.toThrow(/IVR_BUCKET is required/);
});

test('retries SCF gave up on are sent by the daily run', async () => {
  stack = await startStack({}, { IVR_MAX_ATTEMPTS: '1' });
  stack.ccc.inject({ action: 'UploadIvrAudio', code: 'InternalError', times: 1 });
  await expect(createUpload(stack.env)(stack.drop('p/late.mp3', mp3Silence()))).rejects.toMatchObject({ code: 'RetryScheduled' });
  expect(stack.meta('p/late.mp3')['ivr-status']).toBe('retrying');
  const { report } = await createReport({ ...stack.env, IVR_BUCKET: BUCKET })({ Type: 'Timer', Message: today() });
  expect(report.actions.sent).toBe(1);
  expect(stack.meta('p/late.mp3')['ivr-status']).toBe('uploaded');
  expect(stack.ccc.files).toHaveLength(1);
});

test('old ledger entries are pruned; recent ones and FileIds are kept', async () => {
  stack = await startStack();
  await createUpload(stack.env)(stack.drop('p/keep.mp3', mp3Silence()));
  const L = '.ivr-audio-sync/';
  const old = new Date(Date.now() - 40 * 86400000);
  const oldDay = old.toISOString().slice(0, 10);
  const oldJob = { v: 1, state: 'done', bucket: BUCKET, key: 'p/old.mp3', etag: 'e', customName: 'old', updatedAt: old.toISOString(), attempts: 1 };
  const put = (k: string, body: unknown = {}) => stack.cos.putDirect(BUCKET, L + k, Buffer.from(JSON.stringify(body)));
  put(`jobs/${'a'.repeat(40)}.json`, oldJob);
  put(`reruns/${'a'.repeat(40)}-1`);
  put(`quota/${oldDay}/00000`);
  put(`quota/${oldDay}/full`);
  put(`rate/${Math.floor(Date.now() / 1000) - 7200}`);
  put(`taken/${'b'.repeat(40)}-0`);
  put('files/999');
  const before = stack.cos.keys(BUCKET, L);
  const { report } = await createReport({ ...stack.env, IVR_BUCKET: BUCKET })({ Type: 'Timer' });
  const after = new Set(stack.cos.keys(BUCKET, L));
  const gone = before.filter((k) => !after.has(k));
  const expected = [`jobs/${'a'.repeat(40)}.json`, `reruns/${'a'.repeat(40)}-1`, `quota/${oldDay}/00000`, `quota/${oldDay}/full`, `rate/${Math.floor(Date.now() / 1000) - 7200}`, `taken/${'b'.repeat(40)}-0`].map((k) => L + k);
  expect(gone).toEqual(expect.arrayContaining(expected));
  // Anything else removed is a claim whose pending entry is gone (like the one of the upload above).
  for (const k of gone.filter((g) => !expected.includes(g))) expect(k.startsWith(`${L}taken/`)).toBe(true);
  expect(report.actions.pruned).toBeGreaterThanOrEqual(6);
  expect(after.has(`${L}files/999`)).toBe(true);
  expect(stack.meta('p/keep.mp3')['ivr-status']).toBe('uploaded');
  expect([...after].some((k) => k.startsWith(`${L}jobs/`))).toBe(true);
});
