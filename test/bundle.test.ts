/**
 * The deployed artefacts themselves: each bundle (with its shims, see scripts/shims/) loaded the
 * way SCF loads it, driven against the signature-checking fakes. Proves the shims change nothing
 * the product uses, and guards the bundle size.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { mp3Silence, wavTone } from './audio';
import { cosEvent } from '../scripts/local/fakes/events';
import { BUCKET, startStack, type Stack } from './harness';
import { REPORT_FILE } from '../shared/runtime/load-report';

const PKG = path.join(__dirname, '..', 'dist', 'package');
type Handler = (event: unknown, context?: unknown) => Promise<Record<string, unknown>>;

/**
 * The quota day (UTC+08:00) by the clock the bundles run on here: the real one. The fakes run on
 * the stack's clock, which starts just after the next midnight when the real one is within 3 hours
 * of it (test/harness.ts), so asking them for "today" named a day the bundle had not reached yet
 * (the report refused it, from 21:00 to midnight in China).
 */
const bundleDay = (): string => new Date(Date.now() + 480 * 60_000).toISOString().slice(0, 10);

/** Loads a bundle fresh with the given environment, as a cold SCF instance would. */
function load(file: string, env: Record<string, string | undefined>): Handler {
  return loadFrom(PKG, file, env);
}

/** {@link load} from another folder: a deploy package with a side file left out. */
function loadFrom(dir: string, file: string, env: Record<string, string | undefined>): Handler {
  const saved = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const silenced = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    let handler: Handler | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      handler = require(path.join(dir, file)).main_handler;
    });
    return async (event, context) => {
      // The bundle logs to stdout, as on SCF; keep the test output readable.
      const quiet = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        return await handler!(event, context);
      } finally {
        quiet.mockRestore();
        process.env = { ...saved };
      }
    };
  } finally {
    silenced.mockRestore();
  }
}

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(() => stack.stop());

test('the upload bundle registers files, fails bad ones, skips copies and deduplicates, over real HTTP', async () => {
  const upload = load('ivr_upload.js', stack.env);
  stack.cos.putDirect(BUCKET, 'prompts/a b+c.mp3', mp3Silence(), { meta: { owner: 'ops' }, standard: { 'cache-control': 'no-cache' } });
  stack.cos.putDirect(BUCKET, 'prompts/menu.wav', wavTone());
  stack.cos.putDirect(BUCKET, 'prompts/fake.wav', Buffer.from('not a wav at all'));
  const first = (await upload(cosEvent(stack.event('prompts/a b+c.mp3'), stack.event('prompts/menu.wav'), stack.event('prompts/fake.wav')))) as { results: Array<{ status: string; code?: string }> };
  expect(first.results.map((r) => r.status)).toEqual(['uploaded', 'uploaded', 'failed']);
  expect(first.results[2].code).toBe('NotAudio');
  const o = stack.cos.object(BUCKET, 'prompts/a b+c.mp3')!;
  expect(o.meta).toMatchObject({ owner: 'ops', 'ivr-status': 'uploaded' });
  expect(o.standard['cache-control']).toBe('no-cache');
  const again = (await load('ivr_upload.js', stack.env)(cosEvent(stack.event('prompts/menu.wav'), stack.event('prompts/menu.wav', { eventName: 'cos:ObjectCreated:Copy' })))) as { results: Array<{ code?: string }> };
  expect(again.results.map((r) => r.code)).toEqual(['Duplicate', 'OwnCopy']);
  expect(stack.ccc.files).toHaveLength(2);
});

test('the report bundle lists the ledger, refreshes reviews and stores the report', async () => {
  await load('ivr_upload.js', stack.env)(stack.drop('prompts/x.mp3', mp3Silence()));
  stack.ccc.review(stack.ccc.files[0].FileId, 1);
  const result = (await load('quota_report.js', { ...stack.env, IVR_BUCKET: BUCKET })({ Type: 'Timer', Message: bundleDay() })) as { report: { report: { quota: { submitted: number }; review: { approved: number } } } };
  expect(result.report.report.quota.submitted).toBe(1);
  expect(result.report.report.review.approved).toBe(1);
  expect(stack.meta('prompts/x.mp3')['ivr-review']).toBe('approved');
});

test('the report bundle carries no report code: it loads report_render.js from its own folder only for a pass that reports, and says where it looked when that file is missing', async () => {
  // The page's title, only in the report code.
  const marker = 'IVR audio sync: quota report for';
  expect(fs.readFileSync(path.join(PKG, 'quota_report.js'), 'utf8')).not.toContain(marker);
  expect(fs.readFileSync(path.join(PKG, REPORT_FILE), 'utf8')).toContain(marker);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-report-code-'));
  try {
    for (const f of ['quota_report.js', REPORT_FILE]) fs.copyFileSync(path.join(PKG, f), path.join(dir, f));
    await load('ivr_upload.js', stack.env)(stack.drop('prompts/x.mp3', mp3Silence()));
    const env = { ...stack.env, IVR_BUCKET: BUCKET };
    // The first pass reports the quota day before; the next ones have no report due until today ends.
    expect(await loadFrom(dir, 'quota_report.js', env)({ Type: 'Timer' })).toMatchObject({ report: { day: expect.any(String) } });
    fs.rmSync(path.join(dir, REPORT_FILE));
    // A new instance: jest's module registry would otherwise keep the file already required.
    jest.resetModules();
    const pass = await loadFrom(dir, 'quota_report.js', env)({ Type: 'Timer' });
    expect(pass.report).toBeUndefined();
    await expect(loadFrom(dir, 'quota_report.js', env)({ Type: 'Timer', Message: bundleDay() })).rejects.toThrow(`the report code could not be loaded from ${path.join(dir, REPORT_FILE)}`);
    fs.copyFileSync(path.join(PKG, REPORT_FILE), path.join(dir, REPORT_FILE));
    const reported = (await loadFrom(dir, 'quota_report.js', env)({ Type: 'Timer', Message: bundleDay() })) as { report: { report: { quota: { submitted: number } } } };
    expect(reported.report.report.quota.submitted).toBe(1);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('through the shims, every SDK request the upload bundle makes is signed and accepted: ranged GET, create-if-absent, copy with metadata, batch and single delete, signed URLs, TC3', async () => {
  stack.cos.putDirect(BUCKET, 'prompts/menus/欢迎 (1).mp3', mp3Silence(40), { meta: { owner: 'ops' }, standard: { 'cache-control': 'max-age=60', 'content-disposition': 'inline' } });
  stack.cos.putDirect(BUCKET, 'prompts/empty.mp3', Buffer.alloc(0));
  stack.cos.putDirect(BUCKET, 'prompts/menus/second.mp3', mp3Silence(2));
  const upload = load('ivr_upload.js', stack.env);
  const res = (await upload(cosEvent(stack.event('prompts/menus/欢迎 (1).mp3'), stack.event('prompts/empty.mp3'), stack.event('prompts/menus/second.mp3')))) as { results: Array<{ status: string; code?: string }> };
  expect(res.results.map((r) => r.status)).toEqual(['uploaded', 'failed', 'uploaded']);
  const log = stack.cos.requests;
  // Nothing was refused: a shim that broke signing, a header or a body would show as 4xx here.
  expect(log.filter((r) => r.status >= 400 && r.status !== 404 && r.status !== 409 && r.status !== 416)).toEqual([]);
  const ok = (op: string, pred: (r: (typeof log)[number]) => boolean = () => true) => log.some((r) => r.op === op && r.status < 300 && pred(r));
  expect(ok('GET', (r) => r.key === 'prompts/menus/欢迎 (1).mp3' && !r.presigned)).toBe(true); // the ranged read
  expect(log.some((r) => r.op === 'GET' && r.key === 'prompts/empty.mp3' && r.status === 416)).toBe(true); // empty: no byte 0…
  expect(ok('HEAD', (r) => r.key === 'prompts/empty.mp3')).toBe(true); // …so a HEAD
  expect(ok('GET', (r) => r.presigned === true && r.key === 'prompts/menus/欢迎 (1).mp3')).toBe(true); // CCC fetched the signed URL
  expect(ok('PUT', (r) => r.key.includes('/jobs/'))).toBe(true); // create-if-absent
  expect(ok('COPY', (r) => r.key === 'prompts/menus/欢迎 (1).mp3')).toBe(true);
  expect(ok('DELETE_MULTI')).toBe(true); // the two files' queue entries at once: the fake checks Content-MD5 against the XML body
  expect(ok('DELETE', (r) => r.key.includes('/queue/'))).toBe(true); // the failed file's entry alone: a plain DELETE
  expect(stack.ccc.uploadCalls().map((c) => c.result)).toEqual(['ok']);
  // Copy with metadata kept every user and standard header next to the result.
  const o = stack.cos.object(BUCKET, 'prompts/menus/欢迎 (1).mp3')!;
  expect(o.meta).toMatchObject({ owner: 'ops', 'ivr-status': 'uploaded' });
  expect(o.standard).toMatchObject({ 'cache-control': 'max-age=60', 'content-disposition': 'inline', 'content-type': 'application/octet-stream' });
  expect(stack.meta('prompts/empty.mp3')['ivr-status']).toBe('failed');
});

test('an http_proxy in the environment never reaches the shimmed proxy agent: the CCC client has its own agent', async () => {
  // NO_PROXY keeps cos-request (which honours these variables itself) on the loopback fake COS.
  const upload = load('ivr_upload.js', { ...stack.env, http_proxy: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1' });
  const res = (await upload(stack.drop('prompts/proxy.mp3', mp3Silence()))) as { results: Array<{ status: string }> };
  expect(res.results.map((r) => r.status)).toEqual(['uploaded']);
  expect(stack.ccc.uploadCalls().map((c) => c.result)).toEqual(['ok']);
});

test('with HTTP_PROXY set, COS requests go through the proxy (the real cos-request, loaded for it), and still verify', async () => {
  // A forwarding proxy on loopback: request sends it absolute URLs, as to any HTTP proxy.
  const forwarded: string[] = [];
  const proxy = http.createServer((req, res) => {
    const target = new URL(req.url ?? '/');
    forwarded.push(`${req.method} ${target.pathname}`);
    const out = http.request({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const upload = load('ivr_upload.js', { ...stack.env, HTTP_PROXY: url, http_proxy: url, NO_PROXY: undefined, no_proxy: undefined });
    const res = (await upload(stack.drop('prompts/via-proxy.mp3', mp3Silence()))) as { results: Array<{ status: string }> };
    expect(res.results.map((r) => r.status)).toEqual(['uploaded']);
    expect(forwarded).toEqual(expect.arrayContaining(['GET /prompts/via-proxy.mp3', 'PUT /prompts/via-proxy.mp3']));
  } finally {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
  }
});

test('bundle size guard: each function bundle stays within its 400 KB budget', () => {
  for (const f of ['ivr_upload.js', 'quota_report.js']) {
    const bytes = fs.statSync(path.join(PKG, f)).size;
    expect({ f, bytes }).toEqual({ f, bytes: expect.any(Number) });
    expect(bytes).toBeLessThanOrEqual(400 * 1024);
  }
});

test('the bundles keep every COS SDK method the COS adapter calls (the others are dropped at build time)', () => {
  const options = fs.readFileSync(path.join(__dirname, '..', 'scripts', 'lib', 'bundle-options.mjs'), 'utf8');
  const kept = JSON.parse(/export const COS_METHODS = (\[[^\]]*\])/.exec(options)![1].replace(/'/g, '"')) as string[];
  const adapter = fs.readFileSync(path.join(__dirname, '..', 'shared', 'sdk', 'cos.ts'), 'utf8');
  const called = [...new Set([...adapter.matchAll(/\.cos\.(\w+)\(/g)].map((m) => m[1]))];
  expect(called.length).toBeGreaterThan(5);
  expect(called.filter((m) => !kept.includes(m))).toEqual([]);
});
