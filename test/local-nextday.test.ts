/**
 * `npm run local -- next-day` end to end: a stack with a quota of 1 defers the second of two
 * files; moving the quota day forward releases it, registers it and moves it to done/, with every
 * party on the moved clock; the offset survives a restart; without a stack, one line and exit 1;
 * stopped while the stack works, it says that the stack goes on.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeStackFile } from '../scripts/local/client';
import { startControl } from '../scripts/local/control';
import { interruptedLine } from '../scripts/local/day-move';
import { mp3Silence, wavTone } from './audio';
import { killAll, Proc, run, stackArgs, tempDirs, waitUntil } from './local-helpers';

afterEach(killAll);

const DAY_MS = 86400000;
const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

test('next-day: the deferred file is sent on the new quota day and lands in done/; the clock is kept across a restart', async () => {
  const dirs = tempDirs();
  const args = stackArgs(dirs, ['--quota', '1']);
  const stack = Proc.stack(args);
  const ready = await stack.waitFor((l) => l.type === 'ready', 'ready', 15000);
  expect(ready.clockOffsetMs).toBe(0);

  fs.writeFileSync(path.join(dirs.drop, 'first.mp3'), mp3Silence(5));
  fs.writeFileSync(path.join(dirs.drop, 'second.wav'), wavTone(300));
  const deferred = await stack.waitFor((l) => l.type === 'file' && l.state === 'deferred', 'a deferred file', 15000);
  const late = String(deferred.file);
  const early = late === 'first.mp3' ? 'second.wav' : 'first.mp3';
  await stack.fileEvent(early, 'uploaded', 10000);
  expect(fs.readdirSync(path.join(dirs.drop, 'waiting'))).toEqual([late]);

  // The operator's command, in its own process: one line, exit 0.
  const seen = stack.lines.length;
  const moved = await run(Proc.npm('local', ['next-day', '--data', dirs.data]), 15000);
  expect(moved.stderr).toBe('');
  expect(moved.code).toBe(0);
  const line = /^quota day moved: (\d{4}-\d{2}-\d{2}) → (\d{4}-\d{2}-\d{2}) \(the local clock is now .+ ahead of real time\); recovery pass: 1 file registered.*\n$/.exec(moved.stdout);
  expect(line).not.toBeNull();
  const [, from, to] = line!;
  expect(to).toBe(nextDay(from));
  // The day the file was promised is the day it was released on.
  expect(deferred.day).toBe(to);

  // The stack's terminal: the move, then the file's lines as usual, timed on the new day.
  const note = await stack.waitFor((l) => l.type === 'next-day', 'the next-day line', 5000, seen);
  expect(note).toMatchObject({ from, to });
  const uploaded = await stack.fileEvent(late, 'uploaded', 15000, seen);
  expect(uploaded.movedTo).toBe(`done/${late}`);
  expect(String(uploaded.time).slice(0, 10)).toBe(to);
  expect(String(uploaded.time)).toMatch(/^\d{4}-\d{2}-\d{2}T00:0\d:\d{2}\.\d{3}\+08:00$/);
  await stack.waitFor((l) => l.type === 'recovery', 'the recovery pass line', 10000, seen);
  expect(fs.readdirSync(path.join(dirs.drop, 'done')).sort()).toEqual(['first.mp3', 'second.wav']);
  expect(fs.readdirSync(path.join(dirs.drop, 'waiting'))).toEqual([]);

  // Just past the boundary, not a flat day: at most a day plus the margin, kept in the state folder.
  const { offsetMs } = JSON.parse(fs.readFileSync(path.join(dirs.data, 'clock.json'), 'utf8')) as { offsetMs: number };
  expect(offsetMs).toBeGreaterThan(0);
  expect(offsetMs).toBeLessThanOrEqual(DAY_MS + 5000);
  expect(note.clockOffsetMs).toBe(offsetMs);
  await stack.stop();

  // Nothing runs now: one clear line, exit 1.
  const none = await run(Proc.npm('local', ['next-day', '--data', dirs.data]), 15000);
  expect(none.code).toBe(1);
  expect(none.stdout).toBe('');
  // It names the command that starts a stack for this very state folder, with the drop folder it ran with.
  expect(none.stderr).toBe(`npm run local -- next-day: no local stack is running with state in ${dirs.data}: start it in another terminal (this command asks the running stack), \`npm start -- --data ${dirs.data} --drop ${dirs.drop}\` with the other options it ran with, or pass the --data of the one running\n`);
  expect(none.stderr.trim().split('\n')).toHaveLength(1);
  // The command is listed where an operator looks for it.
  const help = await run(Proc.npm('local', ['--help']), 15000);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^ {2}next-day {2}end the running stack's quota day now/m);

  // A restart stays on the day it reached: its clock starts where the move left it.
  const again = Proc.stack(args);
  const readyAgain = await again.waitFor((l) => l.type === 'ready', 'ready after restart', 15000);
  expect(readyAgain.clockOffsetMs).toBe(offsetMs);
  await again.stop();
  dirs.cleanup();
}, 40000);

test('next-day stopped with Ctrl-C while the stack works: one line says the stack goes on, and where to look', async () => {
  // A stand-in for the stack's control endpoint that holds the day move until the test lets it
  // go: the pass may take minutes (deferred files at 1 call/s), and an operator stops waiting.
  const dirs = tempDirs();
  let asked = 0;
  let release: (() => void) | undefined;
  const abandoned: string[] = [];
  const control = await startControl({
    'next-day': () => {
      asked += 1;
      return new Promise((resolve) => (release = () => resolve({})));
    },
    ccc: async () => ({}),
  }, (command) => abandoned.push(command));
  try {
    fs.mkdirSync(dirs.data, { recursive: true });
    writeStackFile({ dataDir: dirs.data }, { pid: process.pid, cosPort: control.port, cccPort: control.port, prefix: 'prompts/', quota: 50, quotaOffset: '+08:00', dropDir: dirs.drop, control: { port: control.port, token: control.token } });
    const waiting = Proc.npm('next-day', ['--data', dirs.data]);
    await waitUntil(() => asked === 1, 'the stack asked to move the day', 15000);
    waiting.interrupt();
    // npm, stopped by the same Ctrl-C, ends by the signal as a terminal's command does (the shell shows 130).
    expect(await waiting.exited).toEqual({ code: null, signal: 'SIGINT' });
    const { stdout, stderr } = waiting;
    expect(stderr).toBe('');
    // The stack hears that its caller hung up (its terminal says the move goes on there).
    await waitUntil(() => abandoned.length > 0, 'the stack told that next-day stopped waiting', 5000);
    expect(abandoned).toEqual(['next-day']);
    expect(stdout).toBe(`\n${interruptedLine(true, `npm run status -- --data ${dirs.data}`)}\n`);
  } finally {
    release?.();
    await control.stop();
    dirs.cleanup();
  }
}, 30000);
