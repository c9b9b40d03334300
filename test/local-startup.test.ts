/**
 * `npm start` refuses to start with one clear line: a bad or unknown option (exit 2), a busy
 * port, a drop folder another stack holds (exit 1). A lock left by a dead stack is taken over.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { alive, killAll, Proc, run, stackArgs, tempDirs, waitUntil } from './local-helpers';

afterEach(killAll);

/** Exactly one non-empty line on stderr, nothing that looks like a stack trace, nothing on stdout. */
function expectOneLine(r: { stdout: string; stderr: string }): string {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout.trim()).toBe('');
  return lines[0];
}

test('a bad option exits at once with one line naming it, by the same rules as the functions (exit 2)', async () => {
  const dirs = tempDirs();
  const base = ['--drop', dirs.drop, '--data', dirs.data];
  const cases: Array<[string[], RegExp]> = [
    [['--quota', '0'], /^npm start: --quota must be between 1 and 100000, got 0 \(the rule for IVR_DAILY_QUOTA\)$/],
    [['--prefix', 'prompts'], /^npm start: --prefix must end with "\/", got "prompts" \(the rule for IVR_AUDIO_PREFIX\)$/],
    [['--quota-offset', '8'], /^npm start: --quota-offset must look like \+08:00, got "8"/],
    [['--settle-ms', '5'], /^npm start: --settle-ms must be between 100 and 600000, got 5$/],
    [['--report-cron', '0 5 0 * *'], /^npm start: --report-cron: cron "0 5 0 \* \*" must have seven fields/],
    [['--qouta', '5'], /^npm start: unknown option --qouta: did you mean --quota\?$/],
    [['--setle-ms', '500'], /^npm start: unknown option --setle-ms: did you mean --settle-ms\?$/],
    [['--quota'], /^npm start: --quota needs a value, e.g. --quota 50$/],
  ];
  const results = await Promise.all(cases.map(([args]) => run(Proc.stack([...base, ...args], false))));
  results.forEach((r, i) => {
    expect(r.code).toBe(2);
    expect(expectOneLine(r)).toMatch(cases[i][1]);
  });
  // Refused before anything was started or created.
  expect(fs.existsSync(dirs.data)).toBe(false);
  dirs.cleanup();
});

test('through npm start itself: one line, exit 2', async () => {
  const r = await run(new Proc('npm', ['start', '--silent', '--', '--quota', '0']));
  expect(r.code).toBe(2);
  expect(expectOneLine(r)).toBe('npm start: --quota must be between 1 and 100000, got 0 (the rule for IVR_DAILY_QUOTA)');
});

test('a busy port is one line naming the port and the option to choose another; the folders the start created go again', async () => {
  const dirs = tempDirs();
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as net.AddressInfo).port;
  // The drop folder two levels down, both new; the state folder's parent there before, and empty.
  const drop = path.join(dirs.root, 'new', 'drop');
  const existing = path.join(dirs.root, 'existing');
  fs.mkdirSync(existing);
  const r = await run(Proc.stack(['--drop', drop, '--data', path.join(existing, 'state'), '--cos-port', '0', '--ccc-port', String(port)], false));
  busy.close();
  expect(r.code).toBe(1);
  expect(expectOneLine(r)).toMatch(new RegExp(`^npm start: port ${port} is already in use .*choose another with --ccc-port <port>`));
  // Its locks were released on the way out, so the next try can start, and the empty folders it
  // made for it are gone; the one that was there before stays.
  expect(fs.existsSync(path.join(drop, '.ivr-audio-sync.lock'))).toBe(false);
  expect(fs.readdirSync(dirs.root)).toEqual(['existing']);
  expect(fs.readdirSync(existing)).toEqual([]);
  dirs.cleanup();
});

test('a second stack on the same drop folder is refused; a dead stack’s lock is taken over', async () => {
  const dirs = tempDirs();
  const first = Proc.stack(stackArgs(dirs));
  const ready = await first.waitFor((l) => l.type === 'ready', 'the first stack to be ready', 15000);
  const firstPid = (ready.pids as number[])[0];

  // Same drop folder, everything else different: the lock decides.
  const second = await run(Proc.stack(stackArgs({ drop: dirs.drop, data: path.join(dirs.root, 'other-state') }), false));
  expect(second.code).toBe(1);
  expect(expectOneLine(second)).toBe(`npm start: another local stack (PID ${firstPid}) is already using the drop folder ${dirs.drop}; stop it first (Ctrl-C in its terminal) or choose another folder with --drop`);
  // Same state folder, a new drop folder: refused too, and the drop folder it had made is gone,
  // while the first stack's folders, which it found there, are untouched.
  const third = await run(Proc.stack(stackArgs({ drop: path.join(dirs.root, 'other-drop'), data: dirs.data }), false));
  expect(third.code).toBe(1);
  expect(expectOneLine(third)).toBe(`npm start: another local stack (PID ${firstPid}) is already using the state folder ${dirs.data}; stop it first (Ctrl-C in its terminal) or choose another folder with --data`);
  expect(fs.readdirSync(dirs.root).sort()).toEqual(['drop', 'state']);
  expect(fs.readdirSync(dirs.drop).sort()).toEqual(['.ivr-audio-sync.id', '.ivr-audio-sync.lock', 'done', 'failed', 'waiting']);
  await first.stop();
  expect(fs.existsSync(path.join(dirs.drop, '.ivr-audio-sync.lock'))).toBe(false);

  // A stack killed with -9 leaves its lock behind; its PID is dead, so the lock is stale.
  const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
  expect(alive(deadPid)).toBe(false);
  const lock = path.join(dirs.drop, '.ivr-audio-sync.lock');
  fs.writeFileSync(lock, JSON.stringify({ pid: deadPid, host: os.hostname(), startedAt: '2024-05-01T00:00:00Z' }));
  const fourth = Proc.stack(stackArgs(dirs));
  const again = await fourth.waitFor((l) => l.type === 'ready', 'the fourth stack to be ready', 15000);
  expect(again.tookOverFrom).toBe(deadPid);
  expect(JSON.parse(fs.readFileSync(lock, 'utf8')).pid).toBe((again.pids as number[])[0]);
  await fourth.stop();
  dirs.cleanup();
}, 40000);

test('--help lists the options and exits 0', async () => {
  const r = await run(Proc.stack(['--help'], false));
  expect(r.code).toBe(0);
  for (const o of ['--drop', '--quota', '--quota-offset', '--settle-ms', '--prefix']) expect(r.stdout).toContain(o);
});

test('started with its own --data, the banner gives the status, report and next-day commands with it', async () => {
  const dirs = tempDirs();
  const stack = Proc.stack(stackArgs(dirs), false);
  await waitUntil(() => stack.stdout.includes('Ready.'), () => `Ready; stdout: ${stack.stdout}; stderr: ${stack.stderr}`, 15000);
  // Typed as the banner said, `npm run status` looked in .local and answered that no stack runs.
  expect(stack.stdout).toContain(`npm run report -- --data ${dirs.data}`);
  expect(stack.stdout).toContain(`npm run local -- next-day --data ${dirs.data}`);
  expect(stack.stdout).toContain(`npm run status -- --data ${dirs.data}`);
  await stack.stop();
  dirs.cleanup();
}, 30000);
