/**
 * `npm start` end to end, as an operator uses it: the real entry on free ports with temporary
 * folders, real files copied into the drop folder, outcomes read from the folders, the bucket and
 * the other commands, then Ctrl-C.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { cosClient } from '../scripts/local/client';
import { fixFor } from '../scripts/local/fixes';
import { FunctionInstance } from '../scripts/local/instance';
import { displayWidth } from '../scripts/local/table';
import { mp3Silence, PNG_BYTES, wavTone } from './audio';
import { findLeaks } from './harness';
import { alive, killAll, Proc, run, stackArgs, tempDirs, waitUntil } from './local-helpers';

afterEach(killAll);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BUCKET = { Bucket: 'local-1250000000', Region: 'ap-guangzhou' };

test('npm start: prompts registered into done/, a bad file into failed/ with its reason, no overwrites, quiet report, clean Ctrl-C', async () => {
  const dirs = tempDirs();
  const args = stackArgs(dirs);
  const stack = new Proc('npm', ['start', '--silent', '--', '--json', ...args]);
  const ready = await stack.waitFor((l) => l.type === 'ready', 'the ready line', 30000);
  expect(ready.dropDir).toBe(dirs.drop);
  const drop = (rel: string, body: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(dirs.drop, rel)), { recursive: true });
    fs.writeFileSync(path.join(dirs.drop, rel), body);
  };

  const welcome = mp3Silence(8);
  drop('welcome.mp3', welcome);
  drop('menus/main menu.wav', wavTone(300));
  drop('欢迎词.wav', wavTone(200));
  drop('photo.mp3', PNG_BYTES);
  const uploaded = await stack.fileEvent('welcome.mp3', 'uploaded');
  await stack.fileEvent('menus/main menu.wav', 'uploaded');
  await stack.fileEvent('欢迎词.wav', 'uploaded');
  const failed = await stack.fileEvent('photo.mp3', 'failed');
  expect(failed).toMatchObject({ code: 'NotAudio', movedTo: 'failed/photo.mp3', note: 'failed/photo.mp3.error.txt' });
  expect(uploaded).toMatchObject({ fileId: expect.any(Number), movedTo: 'done/welcome.mp3' });

  // Where the files went: done/ keeps subfolders; failed/ has the reason and the fix beside it.
  expect(fs.existsSync(path.join(dirs.drop, 'done', 'menus', 'main menu.wav'))).toBe(true);
  expect(fs.existsSync(path.join(dirs.drop, 'done', '欢迎词.wav'))).toBe(true);
  const note = fs.readFileSync(path.join(dirs.drop, 'failed', 'photo.mp3.error.txt'), 'utf8');
  expect(note).toContain('Error:   NotAudio');
  expect(note).toContain(`Fix:     ${fixFor('NotAudio')}`);
  expect(note).toMatch(/Failed: {2}\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+08:00/);
  expect(fs.readdirSync(path.join(dirs.drop, 'waiting'))).toEqual([]);
  expect(fs.readdirSync(dirs.drop).filter((n) => !n.startsWith('.')).sort()).toEqual(['done', 'failed', 'menus', 'waiting']);

  const cos = cosClient(ready.cosPort as number);
  const head = await cos.headObject({ ...BUCKET, Key: 'prompts/welcome.mp3' });
  expect(head.headers!['x-cos-meta-ivr-status']).toBe('uploaded');
  expect(head.headers!['x-cos-meta-ivr-file-id']).toBe(String(uploaded.fileId));
  const firstBurst = await stack.waitFor((l) => l.type === 'burst', 'a summary once the burst settled');
  // The quota as the functions count it agrees with CCC's count here: 3 files, all registered.
  expect(firstBurst).toMatchObject({ handled: 4, sent: 4, uploaded: 3, failed: 1, quotaUsedToday: 3, quotaSubmittedToday: 3 });

  // The same names again: a new version of welcome.mp3, and the same bad photo. Nothing earlier is
  // overwritten; the new ones get " (2)".
  const seen = stack.lines.length;
  drop('welcome.mp3', mp3Silence(9));
  drop('photo.mp3', PNG_BYTES);
  await stack.fileEvent('photo.mp3', 'failed', 10000, seen).then((l) => expect(l).toMatchObject({ movedTo: 'failed/photo (2).mp3', note: 'failed/photo (2).mp3.error.txt' }));
  await stack.fileEvent('welcome.mp3', 'uploaded', 10000, seen).then((l) => expect(l.movedTo).toBe('done/welcome (2).mp3'));
  expect(sha(fs.readFileSync(path.join(dirs.drop, 'done', 'welcome.mp3')))).toBe(sha(welcome));
  expect(fs.readdirSync(path.join(dirs.drop, 'failed')).sort()).toEqual(['photo (2).mp3', 'photo (2).mp3.error.txt', 'photo.mp3', 'photo.mp3.error.txt']);
  await stack.waitFor((l) => l.type === 'burst', 'the second summary', 10000, seen);

  // npm run status: a table whose columns line up with a Chinese name, then what needs action.
  const status = await run(Proc.npm('status', ['--data', dirs.data]));
  expect(status.code).toBe(0);
  const rows = status.stdout.split('\n').filter((l) => l.startsWith('prompts/'));
  const keys = ['prompts/menus/main menu.wav', 'prompts/photo.mp3', 'prompts/welcome.mp3', 'prompts/欢迎词.wav'];
  expect(rows.map((r) => keys.find((k) => r.startsWith(`${k} `)))).toEqual(keys);
  const statusColumn = rows.map((r, i) => displayWidth(keys[i]) + (r.slice(keys[i].length).length - r.slice(keys[i].length).trimStart().length));
  expect(new Set(statusColumn).size).toBe(1);
  expect(displayWidth('prompts/欢迎词.wav')).toBe('prompts/欢迎词.wav'.length + 3); // 3 wide characters
  expect(status.stdout).toMatch(/UPDATED \(UTC\+08:00\)/);
  expect(status.stdout).toMatch(/Needs action \(1\):\n {2}prompts\/photo\.mp3 {2}failed: NotAudio: /);
  // The latest failed copy of the key (the same bad photo was dropped twice).
  expect(status.stdout).toContain('\n    the file:   failed/photo (2).mp3 in the drop folder, its note beside it\n');

  // npm run report prints in its own terminal only, and says where the page is.
  const before = stack.lines.length;
  const report = await run(Proc.npm('report', ['--data', dirs.data]));
  expect(report.code).toBe(0);
  // Today's, so far: the day's own report is still written after midnight.
  expect(report.stdout).toMatch(/^report \d{4}-\d{2}-\d{2} so far: \d+\/50 files submitted; /);
  const page = /^page: (.+)$/m.exec(report.stdout)?.[1];
  expect(page && fs.existsSync(page)).toBe(true);
  // Everything the report run caused in the stack has happened once a file dropped after it is done.
  drop('after-report.wav', wavTone(100));
  await stack.fileEvent('after-report.wav', 'uploaded');
  expect(stack.lines.slice(before).filter((l) => l.file !== 'after-report.wav')).toEqual([]);
  // A day that has not begun: one line saying why, exit 1.
  const future = await run(Proc.npm('report', ['--data', dirs.data, '2099-01-01']));
  expect(future.code).toBe(1);
  expect(future.stdout).toMatch(/^report not written: 2099-01-01 has not begun: today is \d{4}-\d{2}-\d{2} \(UTC\+08:00\)\n$/);
  // An earlier day takes the page: the line says so, and how to put today's back.
  const today = /^report (\d{4}-\d{2}-\d{2}) so far/.exec(report.stdout)![1];
  const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const earlier = await run(Proc.npm('report', ['--data', dirs.data, yesterday]));
  expect(earlier.stdout).toMatch(new RegExp(`\npage: .+ \\(it shows ${yesterday} now; npm run report puts today's back\\)\n$`));
  // This state folder was new: its first start is recorded, and a day before it says why it is all
  // zeros, under the report (written all the same), in --json too. Today's does not.
  expect(report.stdout).not.toContain('had not run yet');
  const { atMs } = JSON.parse(fs.readFileSync(path.join(dirs.data, 'first-start.json'), 'utf8')) as { atMs: number };
  const firstDay = new Date(atMs + 480 * 60000).toISOString().slice(0, 10);
  const firstStart = `${firstDay} ${new Date(atMs + 480 * 60000).toISOString().slice(11, 19)}+08:00`;
  const noteOn = (day: string) => `the local stack had not run yet on ${day}: it first ran with the state folder ${dirs.data} on ${firstStart}, so this report has nothing to count`;
  // Yesterday is before the first start unless the stack started just before midnight.
  expect(earlier.stdout.split('\n')[1]).toEqual(yesterday < firstDay ? noteOn(yesterday) : expect.stringMatching(/^page: /));
  expect(earlier.stdout).toMatch(new RegExp(`^report ${yesterday}: 0/50 files submitted; 0 uploaded, 0 failed, 0 deferred; `));
  const dayBefore = new Date(Date.parse(`${firstDay}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const beforeJson = await run(Proc.npm('report', ['--json', '--data', dirs.data, dayBefore]));
  expect(beforeJson.code).toBe(0);
  const parsed = JSON.parse(beforeJson.stdout) as { report?: { day: string; report: { quota: { submitted: number } } }; beforeFirstStart?: unknown };
  expect(parsed.report).toMatchObject({ day: dayBefore, report: { quota: { submitted: 0 } } });
  expect(parsed.beforeFirstStart).toEqual({ firstStartDay: firstDay, firstStart });

  const statusJson = JSON.parse((await run(Proc.npm('status', ['--json', '--data', dirs.data]))).stdout);
  expect(statusJson.objects.map((o: { key: string; status: string }) => `${o.key}=${o.status}`).sort()).toEqual([
    'prompts/after-report.wav=uploaded',
    'prompts/menus/main menu.wav=uploaded',
    'prompts/photo.mp3=failed',
    'prompts/welcome.mp3=uploaded',
    'prompts/欢迎词.wav=uploaded',
  ]);
  // The report did write onto the objects (review refreshed: the local CCC approves after 500 ms),
  // so the quiet stack above is not for lack of events.
  expect(statusJson.objects.find((o: { key: string }) => o.key === 'prompts/menus/main menu.wav').review).toBe('approved');
  // Asked as the functions ask it (the official SDK against the local CCC): every registration is
  // one an object shows, but for welcome.mp3's first version (dropped again with new content above).
  const welcomeNow = statusJson.objects.find((o: { key: string }) => o.key === 'prompts/welcome.mp3').fileId;
  expect(statusJson.ccc).toEqual({ total: 5, notShown: [{ fileId: uploaded.fileId, name: 'welcome', review: 'approved', what: { kind: 'replaced', key: 'prompts/welcome.mp3' } }], missing: [] });
  expect(welcomeNow).not.toBe(uploaded.fileId);

  // Ctrl-C: npm dies of the SIGINT as in a terminal; the stack behind it shuts down in order.
  await stack.stop();
  await stack.waitFor((l) => l.type === 'stopped', 'the stopped line');
  for (const pid of ready.pids as number[]) expect(alive(pid)).toBe(false);
  expect(fs.existsSync(path.join(dirs.data, 'stack.json'))).toBe(false);
  expect(fs.existsSync(path.join(dirs.drop, '.ivr-audio-sync.lock'))).toBe(false);
  // Everything the bundles logged: JSON lines, and not one secret, token, signature or signed URL.
  const logs = path.join(dirs.data, 'logs');
  const logLines = fs.readdirSync(logs).flatMap((f) => fs.readFileSync(path.join(logs, f), 'utf8').split('\n').filter(Boolean));
  expect(logLines.length).toBeGreaterThan(5);
  expect(findLeaks(logLines)).toEqual([]);
  expect(findLeaks([stack.stdout, stack.stderr, status.stdout, report.stdout])).toEqual([]);
  dirs.cleanup();
  // Six npm commands run one after another (the stack, status twice, report three times): on a
  // 2-core machine running the other local suites beside it, this took 41 s once. The limit only
  // stops a hang; nothing here is timed.
}, 90000);

test('Ctrl-C reaches the function instances too: an event for one that already exited is an invocation error, not a crash of the stack', async () => {
  const dirs = tempDirs();
  const instance = new FunctionInstance('ivr-upload', { PATH: process.env.PATH }, path.join(dirs.data, 'logs', 'ivr-upload.log'));
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  // jest's own handler would fail the test with a bare "Channel closed": count it instead.
  const jestHandlers = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', onUncaught);
  try {
    // As in a terminal: the instance dies of the SIGINT before the stack has stopped sending it events.
    process.kill(instance.pid!, 'SIGINT');
    await waitUntil(() => !alive(instance.pid!), 'the instance to exit');
    const r = await instance.invoke({ Records: [] });
    expect(r).toEqual({ ok: false, error: { code: 'InstanceExited', message: 'ivr-upload exited' } });
    instance.setClockOffset(1000);
    await new Promise((r) => setImmediate(r));
    expect(uncaught).toEqual([]);
    await instance.stop();
  } finally {
    process.off('uncaughtException', onUncaught);
    for (const h of jestHandlers) process.on('uncaughtException', h);
    dirs.cleanup();
  }
});
