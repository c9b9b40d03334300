/**
 * The local stack's pure logic, without processes: option validation, drop-folder rules, the
 * error → fix table, metadata reading, column layout with Chinese names, times, lock decisions.
 */
import * as os from 'os';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { loadConfig, type Env } from '../shared/core/config';
import { commandsFor, DEFAULT_FIX, failureText, fixFor, noteForRenamedCopy, readFailureNote } from '../scripts/local/fixes';
import { SOX_TO_TELEPHONY } from '../shared/core/telephony';
import { dropOrder, fitName, freeName, isIgnoredName, NAME_MAX_BYTES, noteName, scanIntervalMs, SettleTracker, withSuffix } from '../scripts/local/drop-rules';
import { LoopbackServer } from '../scripts/local/fakes/loopback-server';
import * as http from 'http';
import { deferredDay, mayGoToday, needsAction, readFileState, withRefusal } from '../scripts/local/file-state';
import { deferralMessage } from '../shared/core/job';
import { fixFor as sharedFixFor, UPLOAD_AGAIN } from '../shared/core/fixes';
import { REJECTED_ADVICE, SAME_NAME_ADVICE } from '../shared/core/report';
import { decideLock } from '../scripts/local/lock';
import { MadeDirs } from '../scripts/local/made-dirs';
import { beforeFirstStart, beforeFirstStartLine, isFreshStateFolder, readFirstStart, recordFirstStart } from '../scripts/local/first-start';
import { parseClientOptions, parseStartOptions, suggestOption, START_OPTIONS, UsageError } from '../scripts/local/options';
import { describeEvent, fileLine, isoWithOffset, NAME_WIDTH, stoppedLine, stoppingLine } from '../scripts/local/output';
import { portMessage, portProblem, portsMessage } from '../scripts/local/ports';
import { npmRunFor, shellPath, shellWord } from '../scripts/local/shell';
import { functionEnv, type LocalSettings } from '../scripts/local/settings';
import { heldFiles } from '../scripts/local/drop-notes';
import { KEY_WIDTH, renderStatus, statusJson, type StatusRow } from '../scripts/local/status-view';
import { displayWidth, distinctKeys, padEndWidth, renderTable, truncateMiddleWidth, truncateWidth } from '../scripts/local/table';
import { formatAhead, formatClock, formatDateTime, NEXT_DAY_MARGIN_MS, nextDayShiftMs, nextQuotaDay } from '../scripts/local/time';
import { callControl, ControlRefusal, parseControlPath, startControl } from '../scripts/local/control';
import { interruptedLine, moveToNextDay, nextDayLine, type NextDayResult } from '../scripts/local/day-move';
import { actionNote, describeSettled, isNoteworthy, passLine, passSummary, runReport, type ReportRun } from '../scripts/local/report-run';
import type { FunctionInstance } from '../scripts/local/instance';
import { DEFAULT_RECOVERY_CRON } from '../scripts/lib/deploy-spec';
import { Burst, burstLine, quotaPart } from '../scripts/local/burst';

const CWD = '/home/op/work';
const start = (...argv: string[]) => parseStartOptions(argv, CWD, {}) as LocalSettings;
const startError = (...argv: string[]) => {
  try {
    parseStartOptions(argv, CWD, {});
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};
/** What the functions themselves say about a variable's value in the stack's environment. */
const functionVerdict = (variable: string, value: string): string => {
  const env: Env = { ...functionEnv({ cosPort: 1, cccPort: 2, prefix: 'prompts/', quota: 50, quotaOffset: '+08:00' }, 'ivr-upload', {}), [variable]: value };
  try {
    loadConfig(env);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${variable}=${value} accepted`);
};

describe('options', () => {
  test('defaults, and folders resolved against where the command was typed', () => {
    const s = start('--drop', 'in', '--data', '/var/ivr');
    // The timer runs the recovery pass every 5 minutes, as deployed.
    expect(s.reportCron).toBe(DEFAULT_RECOVERY_CRON);
    expect(DEFAULT_RECOVERY_CRON).toBe('0 */5 * * * * *');
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(`| \`--report-cron CRON\` | \`"${DEFAULT_RECOVERY_CRON}"\` | when the recovery pass runs`);
    expect(s).toMatchObject({ dropDir: `${CWD}/in`, dataDir: '/var/ivr', prefix: 'prompts/', quota: 50, quotaOffset: '+08:00', quotaOffsetMinutes: 480, settleMs: 1000, cosPort: 4600, cccPort: 4601, json: false });
    expect(start('--quota-offset', 'UTC', '--quota', '7', '--prefix', '', '--json')).toMatchObject({ quotaOffset: '+00:00', quotaOffsetMinutes: 0, quota: 7, prefix: '', json: true });
    expect(start('--quota-offset=-05:30').quotaOffsetMinutes).toBe(-330);
  });

  test('IVR_MAX_SECONDS reaches the functions from the shell, so a length limit can be tried on a laptop (a trial could not); a bad one is refused at start', () => {
    const input = { cosPort: 1, cccPort: 2, prefix: 'prompts/', quota: 50, quotaOffset: '+08:00' };
    expect(functionEnv(input, 'ivr-upload', { IVR_MAX_SECONDS: '60' }).IVR_MAX_SECONDS).toBe('60');
    expect(functionEnv(input, 'ivr-upload', {})).not.toHaveProperty('IVR_MAX_SECONDS', expect.anything());
    expect(() => parseStartOptions([], CWD, { IVR_MAX_SECONDS: 'a minute' })).toThrow(/IVR_MAX_SECONDS/);
  });

  test.each([
    ['quota', 'IVR_DAILY_QUOTA', '0'],
    ['quota', 'IVR_DAILY_QUOTA', '2.5'],
    ['quota', 'IVR_DAILY_QUOTA', '100001'],
    ['prefix', 'IVR_AUDIO_PREFIX', 'prompts'],
    ['prefix', 'IVR_AUDIO_PREFIX', '/prompts/'],
    ['quota-offset', 'IVR_QUOTA_UTC_OFFSET', '8'],
    ['quota-offset', 'IVR_QUOTA_UTC_OFFSET', '+15:00'],
  ])('--%s is checked by the rule for %s (%s)', (option, variable, value) => {
    const expected = functionVerdict(variable, value).split(variable).join(`--${option}`);
    expect(startError(`--${option}`, value)).toBe(`${expected} (the rule for ${variable})`);
  });

  test('a prefix that would contain the ledger is refused, as the functions refuse it', () => {
    expect(startError('--prefix', '.ivr-audio-sync/')).toMatch(/^IVR_LEDGER_PREFIX must be outside --prefix/);
  });

  test('stack-only options name their range', () => {
    expect(startError('--settle-ms', '50')).toBe('--settle-ms must be between 100 and 600000, got 50');
    expect(startError('--cos-port', 'x')).toBe('--cos-port must be an integer, got "x"');
    expect(startError('--cos-port', '5000', '--ccc-port', '5000')).toBe('--cos-port and --ccc-port must differ, both are 5000');
    expect(startError('--report-cron', '* * *')).toMatch(/^--report-cron: cron "\* \* \*" must have seven fields/);
    expect(startError('--drop', '/x', '--data', '/x/state')).toMatch(/^--data must not be inside --drop/);
    expect(startError('--drop', '/x/in', '--data', '/x')).toMatch(/^--drop must not be inside --data/);
  });

  test('unknown options get the closest valid name, or the list', () => {
    expect(startError('--qouta', '5')).toBe('unknown option --qouta: did you mean --quota?');
    expect(startError('--quota-ofset', '+08:00')).toBe('unknown option --quota-ofset: did you mean --quota-offset?');
    expect(startError('--cosport', '1')).toBe('unknown option --cosport: did you mean --cos-port?');
    expect(startError('--banana')).toMatch(/^unknown option --banana; valid options: --drop, --data, /);
    expect(startError('-q', '5')).toMatch(/^unknown option -q[:;]/);
    expect(suggestOption('dorp', START_OPTIONS.map((o) => o.name))).toBe('drop');
    expect(suggestOption('zzzzzz', START_OPTIONS.map((o) => o.name))).toBeUndefined();
  });

  test('missing values, stray arguments and values on flags', () => {
    expect(startError('--quota')).toBe('--quota needs a value, e.g. --quota 50');
    expect(startError('--quota', '')).toBe('--quota needs a value, e.g. --quota 50');
    expect(startError('--drop', '--quota', '5')).toMatch(/^--drop needs a value, e.g. --drop drop \(for a value starting with "-", write --drop=VALUE\)$/);
    expect(startError('--json=yes')).toBe('--json takes no value');
    expect(startError('5')).toBe('unexpected argument "5": options go after --, e.g. npm start -- --quota 5');
    expect(parseStartOptions(['-h'], CWD)).toBe('help');
  });

  test('status and report', () => {
    expect(parseClientOptions(['--data', 'st'], CWD, 'status')).toEqual({ dataDir: `${CWD}/st`, json: false, day: undefined });
    expect(parseClientOptions(['2024-05-01', '--json'], CWD, 'report')).toMatchObject({ day: '2024-05-01', json: true });
    expect(() => parseClientOptions(['2024-5-1'], CWD, 'report')).toThrow('the day to report must look like 2024-05-01, got "2024-5-1"');
    expect(() => parseClientOptions(['2026-13-01'], CWD, 'report')).toThrow('2026-13-01 is not a day of the calendar');
    expect(() => parseClientOptions(['2026-02-30'], CWD, 'report')).toThrow('2026-02-30 is not a day of the calendar');
    expect(parseClientOptions(['2024-02-29'], CWD, 'report')).toMatchObject({ day: '2024-02-29' });
    expect(() => parseClientOptions(['today'], CWD, 'status')).toThrow(/^unexpected argument "today"/);
    expect(() => parseClientOptions(['--jsn'], CWD, 'status')).toThrow('unknown option --jsn: did you mean --json?');
  });
});

describe('drop folder rules', () => {
  test.each(['a.mp3.part', 'a.PART', 'a.tmp', 'a.crdownload', '~$a.wav', '~a.mp3', '.a.mp3', '.DS_Store', '.a.wav.swp', 'a.swp', 'a.mp3~', 'Thumbs.db', 'desktop.ini', 'a.download', 'a.partial'])('%s is never taken', (name) => {
    expect(isIgnoredName(name)).toBe(true);
  });
  test.each(['welcome.mp3', 'Main Menu.WAV', '欢迎词.wav', 'a.tmp.mp3', 'part.mp3', 'notes.txt'])('%s is taken', (name) => {
    expect(isIgnoredName(name)).toBe(false);
  });

  test('a file is ready once unchanged for the settle interval; any change starts the wait again', () => {
    const t = new SettleTracker(1000);
    const f = (size: number, mtimeMs = 5) => ({ rel: 'a.mp3', size, mtimeMs });
    expect(t.observe([f(10)], 0)).toEqual([]); // first sight is never ready, even with an old mtime
    expect(t.observe([f(10)], 999)).toEqual([]);
    expect(t.observe([f(20, 6)], 1500)).toEqual([]); // still being written
    expect(t.observe([f(20, 6)], 2400)).toEqual([]);
    expect(t.observe([f(20, 7)], 2600)).toEqual([]); // touched: mtime alone counts
    expect(t.observe([f(20, 7)], 3600)).toEqual([f(20, 7)]);
    expect(t.settling).toBe(0); // taken: forgotten
    expect(t.observe([f(20, 7)], 3700)).toEqual([]); // seen again (the caller could not move it): waits again
  });

  test('files that vanish are forgotten; ready files come in drop order, oldest first', () => {
    const t = new SettleTracker(100);
    const scan = [
      { rel: 'b.mp3', size: 1, mtimeMs: 300 },
      { rel: 'z.mp3', size: 1, mtimeMs: 100 },
      { rel: 'a.mp3', size: 1, mtimeMs: 300 },
      { rel: 'gone.mp3', size: 1, mtimeMs: 50 },
    ];
    t.observe(scan, 0);
    expect(t.observe(scan.slice(0, 3), 50)).toEqual([]);
    expect(t.settling).toBe(3);
    expect(t.observe(scan.slice(0, 3), 100).map((o) => o.rel)).toEqual(['z.mp3', 'a.mp3', 'b.mp3']);
    expect([...scan].sort(dropOrder)[0].rel).toBe('gone.mp3');
  });

  test('name clashes get " (2)", " (3)" … before the extension, never an overwrite', () => {
    expect(withSuffix('welcome.mp3', 1)).toBe('welcome.mp3');
    expect(withSuffix('welcome.mp3', 2)).toBe('welcome (2).mp3');
    expect(withSuffix('menus/main menu.wav', 3)).toBe('menus/main menu (3).wav');
    expect(withSuffix('a.b.mp3', 2)).toBe('a.b (2).mp3');
    expect(withSuffix('README', 2)).toBe('README (2)');
    expect(withSuffix('v1.2/prompt', 2)).toBe('v1.2/prompt (2)');
    const taken = new Set(['welcome.mp3', 'welcome (2).mp3']);
    expect(freeName('welcome.mp3', (c) => taken.has(c))).toBe('welcome (3).mp3');
    expect(freeName('new.mp3', (c) => taken.has(c))).toBe('new.mp3');
  });

  test('names and notes always fit in a file name: the stem gives way, the clash number and extension stay', () => {
    const bytes = (s: string) => Buffer.byteLength(s);
    const long = `${'b'.repeat(246)}.mp3`; // 250 bytes
    expect(withSuffix(long, 1)).toBe(long);
    expect(noteName(long, 1)).toMatch(/^b+…\.mp3\.error\.txt$/);
    expect(bytes(noteName(long, 1))).toBeLessThanOrEqual(NAME_MAX_BYTES);
    const longer = `${'b'.repeat(250)}.mp3`; // 254 bytes: " (2)" would make 258
    expect(withSuffix(`dir/${longer}`, 2)).toMatch(/^dir\/b+… \(2\)\.mp3$/);
    expect(bytes(withSuffix(`dir/${longer}`, 2).slice(4))).toBeLessThanOrEqual(NAME_MAX_BYTES);
    const chinese = `${'长'.repeat(80)}.mp3`; // 244 bytes
    expect(noteName(chinese, 1)).toBe(`${chinese}.error.txt`);
    const second = noteName(chinese, 2);
    expect(second).toMatch(/^长+… \(2\)\.mp3\.error\.txt$/);
    expect(bytes(second)).toBeLessThanOrEqual(NAME_MAX_BYTES);
    expect(noteName(chinese, 3)).not.toBe(second);
    // Cut between characters only: no broken UTF-8, no lone surrogate.
    expect(fitName(`${'😀'.repeat(70)}.wav`, ' (2)', 10)).toMatch(/^(😀)+… \(2\)\.wav$/);
    expect(noteName('photo.mp3', 2)).toBe('photo (2).mp3.error.txt');
  });

  test('a fake server whose handler throws after answering does not take its process down', async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => rejections.push(e);
    process.on('unhandledRejection', onRejection);
    const server = await new LoopbackServer(0, async (_req, res) => {
      res.writeHead(200).end('ok');
      throw new Error('a listener failed after the answer');
    }).start();
    try {
      const status = await new Promise<number>((resolve, reject) => http.get(`${server.endpoint}/`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject));
      expect(status).toBe(200);
      await new Promise((r) => setImmediate(r));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await server.stop();
    }
  });

  test('scans often enough to see the settle interval several times, never busily', () => {
    expect(scanIntervalMs(1000)).toBe(250);
    expect(scanIntervalMs(100)).toBe(50);
    expect(scanIntervalMs(600000)).toBe(500);
  });
});

describe('error → fix', () => {
  // Codes where something in the file must change, and codes where nothing is known to be wrong with it.
  const FILE_CODES = ['UnsupportedExtension', 'EmptyFile', 'FileTooLarge', 'NotAudio', 'FormatMismatch', 'IvrNameInvalid', 'UploadRejected', 'AudioTruncated', 'AudioInvalid', 'AudioEmpty', 'AudioTooLong', 'AudioTooLargeToConvert', 'ConversionFailed', 'KeyInvalid'];
  const SAME_CODES = ['HttpError', 'ResponseInvalid', 'GaveUp', 'AuthFailure.UnauthorizedOperation', 'InvalidParameterValue.InstanceNotExist', 'UnauthorizedOperation', 'ResourceNotFound'];
  const CODES = [...FILE_CODES, ...SAME_CODES, 'KeyOutsidePrefix'];
  test('every code an operator can meet has its own fix, ending with how the file goes in again; others get the default', () => {
    for (const code of FILE_CODES) expect(fixFor(code)).toMatch(/, then drop the fixed file into the drop folder again\.( If CCC keeps refusing it, .*| If the copy was still going on when the stack took it .*)?$/);
    // A file cut short or empty may be the drop folder's doing: a copy that paused longer than the settle time.
    for (const code of ['AudioTruncated', 'EmptyFile']) expect(fixFor(code)).toMatch(/ If the copy was still going on when the stack took it \(a slow or paused copy, a network share\), start the stack with a longer --settle-ms\.$/);
    expect(fixFor('NotAudio')).not.toMatch(/--settle-ms/);
    // Nothing to fix in the file: never "the fixed file", and no sentence left without its verb.
    for (const code of SAME_CODES) expect(fixFor(code)).toMatch(/(, then|\. Otherwise|\. When that has passed,) drop the same file into the drop folder again\.$/);
    for (const code of CODES) expect(fixFor(code)).not.toMatch(/, then \w+ the \w+ file .*, then|Once that has passed, then|or drop the fixed file/);
    // (CCC's refusals of the request share one text, as do HttpError and ResponseInvalid.)
    expect(new Set(CODES.map(fixFor)).size).toBe(CODES.length - 3);
    expect(fixFor('InternalError')).toBe(DEFAULT_FIX);
    expect(fixFor(undefined)).toBe(DEFAULT_FIX);
  });

  test('the note says what failed, why, how to fix it, and when (with the offset)', () => {
    const text = failureText({ file: '欢迎词.mp3', key: 'prompts/欢迎词.mp3', bucket: 'b-1', code: 'FileTooLarge', message: 'the file is 6000000 bytes', atMs: Date.UTC(2024, 4, 1, 2, 15, 2), offsetMinutes: 480 });
    expect(text).toContain('欢迎词.mp3 could not be registered');
    expect(text).toContain('Error:   FileTooLarge\nMessage: the file is 6000000 bytes\nFix:     CCC accepts files up to 5 MB (the message gives the limit set here).');
    expect(text).toContain('Failed:  2024-05-01 10:15:02+08:00');
  });

  test("the message's example commands come for this file: its copy in failed/ in, its dropped name out, in the drop folder", () => {
    const run = { dropDir: '/home/op/drop', copy: 'failed/big (2).mp3' };
    const big = 'the file is 6000000 bytes …: re-encode it at a lower bitrate, e.g. `lame --mp3input -m m -b 32 in.mp3 out.mp3` (4 KB per second of audio)';
    // Written under a hidden name (never taken) and moved into place once done: a tool stopped half-way sends nothing.
    expect(commandsFor(big, 'big.mp3', run)).toEqual(["cd /home/op/drop && lame --mp3input -m m -b 32 'failed/big (2).mp3' .big.mp3 && mv .big.mp3 big.mp3"]);
    // The output keeps the dropped name's folder and, when the command's extension is its own, its spelling (the same key).
    expect(commandsFor(`convert it before uploading, e.g. ${SOX_TO_TELEPHONY}`, 'menus/Main.WAV', { dropDir: '/d', copy: 'failed/menus/Main.WAV' })).toEqual(['cd /d && mkdir -p menus && sox failed/menus/Main.WAV -r 8000 -c 1 -b 16 menus/.Main.WAV && mv menus/.Main.WAV menus/Main.WAV']);
    // A WAV holding MP2 becomes an MP3 of the same stem; each example of a message comes, once.
    const two = 're-save it, e.g. `ffmpeg -y -i in.wav -c copy out.wav`, and it goes as it is; or encode it as MP3, e.g. `lame -m m -b 32 in.wav out.mp3`, or `lame -m m -b 32 in.wav out.mp3`';
    expect(commandsFor(two, 'a.wav', { dropDir: '/d', copy: 'failed/a.wav' })).toEqual(['cd /d && ffmpeg -y -i failed/a.wav -c copy .a.wav && mv .a.wav a.wav', 'cd /d && lame -m m -b 32 failed/a.wav .a.mp3 && mv .a.mp3 a.mp3']);
    // A name that starts with a dash is not an option; text without a command, or with no file in it, gives none.
    expect(commandsFor(big, '-x.mp3', { dropDir: '/d', copy: 'failed/-x.mp3' })).toEqual(['cd /d && lame --mp3input -m m -b 32 failed/-x.mp3 .-x.mp3 && mv .-x.mp3 ./-x.mp3']);
    // zsh (macOS) reads a word starting with = as a command's path; C1 controls break a line as C0 ones do.
    expect(commandsFor(big, '=intro.mp3', { dropDir: '/d', copy: 'failed/=intro.mp3' })).toEqual(["cd /d && lame --mp3input -m m -b 32 failed/=intro.mp3 .=intro.mp3 && mv .=intro.mp3 '=intro.mp3'"]);
    expect(commandsFor(big, 'a\u0085b.mp3', { dropDir: '/d', copy: 'failed/a\u0085b.mp3' })).toEqual([]);
    expect(commandsFor('not audio; see `npm run status`', 'a.mp3', run)).toEqual([]);
    expect(commandsFor(undefined, 'a.mp3', run)).toEqual([]);
    // A name that would break the line: none (the message's placeholders stay).
    expect(commandsFor(big, 'a\nb.mp3', { dropDir: '/d', copy: 'failed/a\nb.mp3' })).toEqual([]);
  });

  test('every example command the audio checks print becomes one for the file, and a shell runs it on names that need quoting', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-cmd-'));
    try {
      // The function's messages: every command on a file in backticks in shared/audio (comments name tools alone) names its input and output by placeholder.
      const sources = fs.readdirSync(path.join(__dirname, '../shared/audio')).map((f) => fs.readFileSync(path.join(__dirname, '../shared/audio', f), 'utf8')).join('\n');
      const examples = [...sources.matchAll(/\\?`((?:lame|sox|ffmpeg|tail)\b[^`\\]*)\\?`/g)].map((m) => m[1]).filter((c) => /\.(mp3|wav)\b/.test(c));
      expect(examples.length).toBeGreaterThanOrEqual(12);
      for (const cmd of examples) {
        const [made] = commandsFor(`e.g. \`${cmd}\``, "it's $HOME `x`.mp3", { dropDir: dir, copy: "failed/it's $HOME `x`.mp3" });
        expect(made).toBeDefined();
        expect(made).not.toMatch(/(^|\s)(in|out)\.(mp3|wav)(\s|$)/);
      }
      // tail is everywhere: the pasted command reads the failed copy and writes the fixed file into the drop folder.
      const name = "it's $HOME `x` (2).mp3";
      fs.mkdirSync(path.join(dir, 'failed'));
      fs.writeFileSync(path.join(dir, 'failed', name), Buffer.from('\0\0\0ID3rest'));
      const [tail] = commandsFor('strip them: `tail -c +4 in.mp3 > out.mp3`', "it's $HOME `x`.mp3", { dropDir: dir, copy: `failed/${name}` });
      const r = spawnSync('sh', ['-c', tail], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(fs.readFileSync(path.join(dir, "it's $HOME `x`.mp3"), 'utf8')).toBe('ID3rest');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the note gives the commands after the fix, not where a warning replaces the fix', () => {
    const base = { file: 'big.mp3', key: 'prompts/big.mp3', bucket: 'b-1', code: 'FileTooLarge', message: 'too big: e.g. `lame --mp3input -m m -b 32 in.mp3 out.mp3`', atMs: 0, offsetMinutes: 480, run: { dropDir: '/d', copy: 'failed/big.mp3' } };
    expect(failureText(base)).toContain("\nCommand: cd /d && lame --mp3input -m m -b 32 failed/big.mp3 .big.mp3 && mv .big.mp3 big.mp3\n         (the message's example, for this file: the fixed file goes straight into the drop folder, which takes it in)\n\n");
    expect(failureText({ ...base, warning: 'the rest of a paused copy' })).not.toContain('Command:');
    // A command that makes an MP3 of a WAV writes a new name: the failed one stays listed until deleted, and the note says so.
    const wav = failureText({ ...base, file: 'hold music.wav', key: 'prompts/hold music.wav', code: 'AudioInvalid', message: 'e.g. `lame --mp2input in.wav out.mp3`', run: { dropDir: '/d', copy: 'failed/hold music.wav' } });
    // Renamed within failed/, the copy takes its note along: the commands and the advice name the new path.
    const moved = noteForRenamedCopy(wav, 'failed/hold music.wav', 'failed/hold-later.wav');
    expect(moved).toContain("Command: cd /d && lame --mp2input failed/hold-later.wav '.hold music.mp3' && mv '.hold music.mp3' 'hold music.mp3'\n");
    expect(moved).toContain('until you delete failed/hold-later.wav;');
    expect(readFailureNote(moved, 'b-1')).toEqual({ file: 'hold music.wav', key: 'prompts/hold music.wav' });
    expect(wav).toContain("Command: cd /d && lame --mp2input 'failed/hold music.wav' '.hold music.mp3' && mv '.hold music.mp3' 'hold music.mp3'\n         (the message's example, for this file: the fixed file goes straight into the drop folder, which takes it in)\n         (hold music.mp3 is a new name: hold music.wav stays listed as failed until you delete failed/hold music.wav; do that once hold music.mp3 is registered)\n");
    expect(readFailureNote(failureText(base), 'b-1')).toEqual({ file: 'big.mp3', key: 'prompts/big.mp3' });
    // The same prompt failed in another format too (a trial's speech.flac and speech.ogg both made speech.wav).
    const ogg = { ...base, file: 'speech.ogg', key: 'prompts/speech.ogg', code: 'UnsupportedExtension', message: 'e.g. `sox in.ogg out.wav`', run: { dropDir: '/d', copy: 'failed/speech.ogg' } };
    expect(failureText({ ...ogg, samePrompt: ['failed/speech.flac'] })).toContain('\n         (failed/speech.flac is this prompt in another format, whose note gives a fix too: run the command of one of them only, or CCC registers the name twice)\n');
    expect(failureText(ogg)).not.toContain('another format');
  });

  test('a note gives back the name and key it was written with, also when a message or a name breaks a line', () => {
    const note = (file: string, key: string, message: string) => failureText({ file, key, bucket: 'b-1', code: 'NotAudio', message, atMs: 0, offsetMinutes: 480 });
    expect(readFailureNote(note('欢迎词.mp3', 'prompts/欢迎词.mp3', 'not audio'), 'b-1')).toEqual({ file: '欢迎词.mp3', key: 'prompts/欢迎词.mp3' });
    // A message that forges an Object line above the real one, and a key with a line break in it.
    const forged = note('nl\nx.mp3', 'prompts/nl\nx.mp3', 'bad\nObject:  prompts/other.mp3 in bucket b-1\nFailed:  x');
    expect(readFailureNote(forged, 'b-1')).toEqual({ file: 'nl\nx.mp3', key: 'prompts/nl\nx.mp3' });
    // Names that carry the note's own markers (only names the function refuses can): still read right.
    const tricky = 'x\nObject:  y.mp3';
    expect(readFailureNote(note(tricky, `prompts/${tricky}`, 'm'), 'b-1')).toEqual({ file: tricky, key: `prompts/${tricky}` });
    const first = 'a could not be registered as an IVR prompt.\nb.mp3';
    expect(readFailureNote(note(first, `prompts/${first}`, 'm'), 'b-1')).toEqual({ file: first, key: `prompts/${first}` });
    // Another bucket's note, or not a note at all: nothing.
    expect(readFailureNote(note('a.mp3', 'prompts/a.mp3', 'm'), 'b-2')).toBeUndefined();
    expect(readFailureNote('hello', 'b-1')).toBeUndefined();
  });
});

describe('state from metadata', () => {
  test('decodes the fields and keeps statuses it does not know yet', () => {
    const s = readFileState({ 'ivr-status': 'failed', 'ivr-error-code': 'NotAudio', 'ivr-error-message': encodeURIComponent('不是音频: 100%'), 'ivr-at': encodeURIComponent('2024-05-01T02:15:02.000Z'), 'ivr-file-id': '12' });
    expect(s).toEqual({ status: 'failed', errorCode: 'NotAudio', errorMessage: '不是音频: 100%', atMs: Date.UTC(2024, 4, 1, 2, 15, 2), fileId: 12, review: undefined });
    expect(readFileState({ 'ivr-status': 'queued' }).status).toBe('queued');
    expect(readFileState({}).status).toBeUndefined();
    expect(readFileState({ 'ivr-error-message': '%E4%BD' }).errorMessage).toBe('%E4%BD'); // bad encoding shown raw
  });

  test('needs action: failed with reason, rejected by review, deferred with its day, retrying; not the fine ones', () => {
    const at = Date.UTC(2024, 4, 1, 17, 0, 0); // 01:00 on 2 May in UTC+08:00
    const items = needsAction(
      [
        { key: 'ok.mp3', state: { status: 'uploaded', review: 'approved', fileId: 1 } },
        { key: 'wip.mp3', state: { status: 'queued' } },
        { key: 'bad.mp3', state: { status: 'failed', errorCode: 'NotAudio', errorMessage: 'not audio' } },
        { key: 'no.mp3', state: { status: 'uploaded', review: 'rejected', fileId: 7 } },
        { key: 'later.mp3', state: { status: 'deferred', atMs: at } },
        { key: 'closed.mp3', state: { status: 'deferred', atMs: at, errorCode: 'QuotaExhausted', errorMessage: deferralMessage('2024-05-02', { cccCode: 'FailedOperation.UploadFileOverflow' }) } },
        { key: 'flaky.mp3', state: { status: 'retrying', errorCode: 'InternalError', errorMessage: 'db' } },
      ],
      480,
    );
    expect(items).toEqual([
      { key: 'bad.mp3', kind: 'failed', detail: 'failed: NotAudio: not audio', fix: fixFor('NotAudio') },
      { key: 'no.mp3', kind: 'rejected', detail: 'rejected by review (FileId 7): record it again and drop the new recording (the same file again changes nothing)' },
      { key: 'later.mp3', kind: 'deferred', detail: 'deferred: daily quota used up; sent automatically on 2024-05-03 at the earliest' },
      // A day CCC closed reads as the stack's line reads it, not as our count used up.
      { key: 'closed.mp3', kind: 'deferred', detail: 'deferred: CCC says the day is full (FailedOperation.UploadFileOverflow); sent automatically on 2024-05-03 at the earliest' },
      { key: 'flaky.mp3', kind: 'retrying', detail: 'retrying: InternalError: db; retried automatically' },
    ]);
  });

  test('deferred files are listed in send order (oldest queued first) with their place in line and the day they likely go, at the quota a day', () => {
    // A trial's six files for a quota of three, listed by name, each "on 2026-12-01 at the earliest".
    const at = Date.UTC(2026, 10, 30, 4, 0, 0); // deferred on 2026-11-30 (+08:00)
    const deferred = (key: string, queuedAt?: number) => ({ key, state: { status: 'deferred', atMs: at }, ...(queuedAt !== undefined ? { queuedAt } : {}) });
    const items = needsAction(
      [
        deferred('eight.mp3', 6),
        { key: 'bad.mp3', state: { status: 'failed', errorCode: 'NotAudio', errorMessage: 'not audio' } },
        deferred('five.mp3', 2),
        deferred('late.mp3', 5),
        deferred('menu-a.mp3', 4),
        deferred('nine.mp3', 1),
        deferred('seven.mp3', 3),
        deferred('unknown.mp3'),
      ],
      480,
      3,
    );
    const earliest = 'deferred: daily quota used up; sent automatically on 2026-12-01 at the earliest';
    // The file to fix first (a trial read it last, under the deferred ones); then the deferred ones
    // in send order where the first of them stood (eight.mp3's place); the others keep theirs.
    expect(items.map((i) => [i.key, i.detail])).toEqual([
      ['bad.mp3', 'failed: NotAudio: not audio'],
      ['nine.mp3', `${earliest} (in line: 1 of 6)`],
      ['five.mp3', `${earliest} (in line: 2 of 6)`],
      ['seven.mp3', `${earliest} (in line: 3 of 6)`],
      ['menu-a.mp3', `${earliest} (in line: 4 of 6, so likely on 2026-12-02 at 3 files a day)`],
      ['late.mp3', `${earliest} (in line: 5 of 6, so likely on 2026-12-02 at 3 files a day)`],
      ['eight.mp3', `${earliest} (in line: 6 of 6, so likely on 2026-12-02 at 3 files a day)`],
      // Its queue time not known (its entry unreadable): said as before, where it stood.
      ['unknown.mp3', earliest],
    ]);
    // Without the quota (the report's list), nothing is added.
    expect(needsAction([deferred('a.mp3', 1)], 480)[0].detail).toBe(earliest);
  });

  test("a deferred file's earliest day is the one its message names (the job's day), not the day after its write", () => {
    // Deferred for 2024-05-02 by a write just after that day ended (a call made before midnight, its
    // UploadFileOverflow answer after it): it goes out on 2024-05-03, not the day after the write.
    const atMs = Date.parse('2024-05-02T16:00:01Z'); // 2024-05-03 00:00:01 +08:00
    const errorMessage = deferralMessage('2024-05-02', { cccCode: 'FailedOperation.UploadFileOverflow' });
    expect(deferredDay({ status: 'deferred', atMs, errorMessage }, 480)).toBe('2024-05-03');
    expect(deferredDay({ status: 'deferred', atMs }, 480)).toBe('2024-05-04'); // no message: the day after the write
    expect(deferredDay({ status: 'queued', atMs, errorMessage }, 480)).toBeUndefined();
  });

  test('a file deferred today by our own count may still go today; one deferred yesterday, or on a day CCC closed, may not', () => {
    const noon = Date.parse('2024-05-02T04:00:00Z'); // 12:00 +08:00
    const own = { status: 'deferred', atMs: noon, errorMessage: deferralMessage('2024-05-02', { quota: 1 }) };
    expect(mayGoToday(own, noon + 3600_000, 480)).toBe(true);
    expect(mayGoToday(own, noon + 86400_000, 480)).toBe(false);
    expect(mayGoToday({ ...own, errorMessage: deferralMessage('2024-05-02', { cccCode: 'FailedOperation.UploadFileOverflow' }) }, noon, 480)).toBe(false);
    // The status's needs-action line says the same while the day is today (a status of the past, or one without a clock, does not).
    const row = { key: 'p/a.mp3', state: own };
    expect(needsAction([row], 480, undefined, noon + 60_000)[0].detail).toBe('deferred: daily quota used up; sent automatically on 2024-05-03 at the earliest, or still today if today has room again (a slot given back, a raised quota)');
    expect(needsAction([row], 480, undefined, noon + 86400_000)[0].detail).toBe('deferred: daily quota used up; sent automatically on 2024-05-03 at the earliest');
    expect(needsAction([row], 480)[0].detail).toBe('deferred: daily quota used up; sent automatically on 2024-05-03 at the earliest');
    expect(describeEvent({ kind: 'status', file: 'a.mp3', key: 'p/a.mp3', status: 'deferred', day: '2024-05-03', today: true, resumed: true }).detail).toBe(
      'still deferred from before the restart: daily quota used up (files sent before it hold every slot of the day); sent automatically on 2024-05-03 at the earliest, or still today if today has room again (a slot given back, a raised quota)',
    );
  });
});

describe('names with control characters', () => {
  test('status shows a key the function refuses outright as failed, with its reason, in needs action too', () => {
    const tab = withRefusal('prompts/tab\there.mp3', {}, 'prompts/');
    expect(tab).toEqual({ status: 'failed', errorCode: 'KeyInvalid', errorMessage: 'object key contains a control character (a tab) after "prompts/tab"' });
    // A key the function takes has no state until it writes one; a state it wrote is kept.
    expect(withRefusal('prompts/new.mp3', {}, 'prompts/')).toEqual({});
    expect(withRefusal('prompts/tab\there.mp3', { status: 'queued' }, 'prompts/')).toEqual({ status: 'queued' });
    const rows: StatusRow[] = [{ key: 'prompts/line\nbreak.mp3', size: 1, state: withRefusal('prompts/line\nbreak.mp3', {}, 'prompts/') }];
    const lines = renderStatus(rows, 'prompts/', 'b', 480);
    // One row, the newline written as an escape: the table does not break across lines.
    expect(lines.filter((l) => l.startsWith('prompts/'))).toHaveLength(1);
    expect(lines[3]).toMatch(/^prompts\/line\\nbreak\.mp3 +failed +- +- +- +KeyInvalid: object key contains a control character \(a line…$/);
    // (Cut to the table's width there; whole under Needs action.)
    expect(lines.slice(-3)).toEqual(['Needs action (1):', '  prompts/line\\nbreak.mp3  failed: KeyInvalid: object key contains a control character (a line break) after "prompts/line"', `    what to do: ${fixFor('KeyInvalid')}`]);
    expect(lines.join('\n')).not.toContain('(none yet)');
  });

  test('the stack’s line escapes them too, so each file stays one line', () => {
    const line = fileLine(Date.UTC(2024, 4, 1, 2, 15, 2), 480, 'tab\there\n.mp3', 'failed', 'KeyInvalid → failed/tab\there\n.mp3');
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('tab\\there\\n.mp3');
    expect(line).not.toMatch(/\t/);
  });
});

describe('columns with Chinese names', () => {
  /** The display column at which `cell` starts in `line`. */
  const columnOf = (line: string, cell: string) => displayWidth(line.slice(0, line.indexOf(cell)));

  test('widths count wide characters twice', () => {
    expect(displayWidth('欢迎词.mp3')).toBe(10);
    expect(displayWidth('welcome.mp3')).toBe(11);
    expect(padEndWidth('欢迎词', 8)).toBe('欢迎词  ');
    expect(truncateWidth('主菜单提示音很长的名字', 9)).toBe('主菜单提…');
    expect(displayWidth(truncateWidth('主菜单提示音很长的名字', 9))).toBeLessThanOrEqual(9);
  });

  test('a table lines up with Chinese and Latin names (and would not with plain padEnd)', () => {
    const lines = renderTable([{ header: 'KEY' }, { header: 'STATUS' }, { header: 'FILEID' }], [
      ['prompts/欢迎词.mp3', 'uploaded', '1001'],
      ['prompts/main-menu.wav', 'failed', '1002'],
      ['prompts/主菜单/按键说明.wav', 'deferred', '1003'],
    ]);
    const statusCols = [columnOf(lines[0], 'STATUS'), columnOf(lines[1], 'uploaded'), columnOf(lines[2], 'failed'), columnOf(lines[3], 'deferred')];
    expect(new Set(statusCols).size).toBe(1);
    expect(new Set([columnOf(lines[0], 'FILEID'), columnOf(lines[1], '1001'), columnOf(lines[2], '1002'), columnOf(lines[3], '1003')]).size).toBe(1);
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
    // The same table laid out by string length would be misaligned: the test can tell.
    expect(lines[1].indexOf('uploaded')).not.toBe(lines[2].indexOf('failed'));
  });

  test('the stack’s lines line up too', () => {
    const t = Date.UTC(2024, 4, 1, 2, 15, 2);
    const a = fileLine(t, 480, '欢迎词.mp3', 'uploaded', 'FileId 1');
    const b = fileLine(t, 480, 'main-menu.wav', 'failed', 'NotAudio');
    expect(a.startsWith('10:15:02+08:00  欢迎词.mp3 ')).toBe(true);
    expect(columnOf(a, 'uploaded')).toBe(columnOf(b, 'failed'));
    expect(columnOf(a, 'uploaded')).toBe('10:15:02+08:00  '.length + NAME_WIDTH + 2);
  });

  test('npm run status: table, zone in the header, needs-action section', () => {
    const rows: StatusRow[] = [
      { key: 'prompts/欢迎词.mp3', size: 10, state: { status: 'uploaded', fileId: 1001, review: 'pending', atMs: Date.UTC(2024, 4, 1, 2, 15, 2) } },
      { key: 'prompts/photo.mp3', size: 10, state: { status: 'failed', errorCode: 'NotAudio', errorMessage: 'x'.repeat(100) } },
      { key: 'prompts/new.wav', size: 10, state: {} },
    ];
    const lines = renderStatus(rows, 'prompts/', 'local-1250000000', 480);
    expect(lines[0]).toBe('3 object(s) under prompts/ in local-1250000000');
    expect(lines[2]).toMatch(/^KEY +STATUS +FILEID +REVIEW +UPDATED \(UTC\+08:00\) +ERROR \/ NOTE$/);
    expect(lines[3]).toMatch(/^prompts\/欢迎词\.mp3 +uploaded +1001 +pending +2024-05-01 10:15:02\+08:00$/);
    expect(columnOf(lines[3], 'uploaded')).toBe(columnOf(lines[4], 'failed'));
    expect(lines[5]).toMatch(/^prompts\/new\.wav +\(none yet\) +- +- +-$/);
    // A pending review is what the last pass read: said under the table (a trial took it for stale).
    expect(lines[6]).toBe("(REVIEW is what the last recovery pass read from CCC: the stack's timer refreshes it every few minutes; `npm run report` runs a pass now.)");
    // A failed file's row is followed by what to do, as its note in failed/ says.
    expect(lines.slice(-3)).toEqual(['Needs action (1):', `  prompts/photo.mp3  failed: NotAudio: ${'x'.repeat(100)}`, `    what to do: ${fixFor('NotAudio')}`]);
    expect(renderStatus([], 'prompts/', 'b', 480)).toEqual(['no objects under prompts/ in b yet: copy an .mp3 or .wav into the drop folder']);
    // A file CCC got as a converted copy says so, in the table and on its terminal line.
    const big: StatusRow = { key: 'prompts/big.wav', size: 10, state: { status: 'uploaded', fileId: 1004, converted: '44100Hz/2ch/16bit → 8000Hz/1ch/16bit' } };
    expect(renderStatus([big], 'prompts/', 'b', 480)[3]).toMatch(/uploaded +1004 .* sent converted: 44100Hz\/2ch\/16bit → 8000Hz\/1ch\/16bit$/);
    expect(describeEvent({ kind: 'uploaded', file: 'big.wav', key: 'prompts/big.wav', fileId: 1004, movedTo: 'done/big.wav', converted: '44100Hz/2ch/16bit → 8000Hz/1ch/16bit' }).detail).toBe('FileId 1004 (sent as a converted copy: 44100Hz/2ch/16bit → 8000Hz/1ch/16bit) → done/big.wav');
    expect(statusJson(rows, 'prompts/', 480, '+08:00').objects[0]).toMatchObject({ key: 'prompts/欢迎词.mp3', status: 'uploaded', at: '2024-05-01 10:15:02+08:00' });
  });

  test('npm run status: what the local CCC holds, and each registration no object shows, with what it is', () => {
    const rows: StatusRow[] = [
      { key: 'prompts/menu.mp3', size: 10, state: { status: 'uploaded', fileId: 1002 } },
      { key: 'prompts/hello.mp3', size: 10, state: { status: 'uploaded', fileId: 1001 } },
    ];
    // Everything CCC lists is shown by an object: said in one line (a trial had to read the local
    // CCC's state file to see that nothing was registered twice).
    const all = renderStatus(rows, 'prompts/', 'b', 480, { ccc: { total: 2, notShown: [], missing: [] } });
    expect(all.slice(-2)).toEqual(['', 'The local CCC holds 2 registrations: the FileIds the objects above show, each once.']);
    const ccc = {
      total: 6,
      notShown: [
        { fileId: 1000, name: 'menu', review: 'approved' as const, what: { kind: 'replaced' as const, key: 'prompts/menu.mp3' } },
        { fileId: 1003, name: 'gone', what: { kind: 'gone' as const, key: 'prompts/gone.mp3' } },
        { fileId: 1004, name: 'hello', what: { kind: 'unshown' as const, key: 'prompts/hello.mp3' } },
        { fileId: 7, name: 'console-0', review: 'pending' as const, what: { kind: 'unknown' as const } },
        { fileId: 8, name: 'menu', what: { kind: 'unknown' as const, sameNameAs: 'prompts/menu.mp3' } },
      ],
      missing: [999],
    };
    // Registrations of no file of the stack come last, in one line (a trial's `ccc quota` made 41,
    // listed above its own dropped-again file's).
    expect(renderStatus(rows, 'prompts/', 'b', 480, { ccc }).slice(-8)).toEqual([
      '',
      'The local CCC holds 6 registrations; 5 of them no object above shows:',
      '  FileId 1000  menu   approved  an upload of prompts/menu.mp3 the object no longer holds (CCC has no replace: a file dropped again leaves its other registrations listed)',
      '  FileId 1003  gone   -         registered for prompts/gone.mp3, which is no longer in the bucket',
      '  FileId 1004  hello  -         registered for prompts/hello.mp3 as it is now, whose object shows another FileId or none: its status may still be on its way; if it stays so, that upload was registered twice',
      "  FileId 8     menu   -         no record of it in the stack's ledger, under the name of prompts/menu.mp3: registered outside the stack (`npm run local -- ccc quota`) or under a state folder since cleared; else prompts/menu.mp3 was registered twice",
      '  and 1 not registered by this stack (`npm run local -- ccc quota`, or a state folder since cleared): FileId 7',
      'The objects above show a FileId the local CCC does not hold (999): its state was reset or removed since.',
    ]);
    const foreign = Array.from({ length: 41 }, (_, i) => ({ fileId: 1009 + i, name: `console-${i}`, what: { kind: 'unknown' as const } }));
    expect(renderStatus(rows, 'prompts/', 'b', 480, { ccc: { total: 43, notShown: foreign, missing: [] } }).slice(-2)).toEqual([
      'The local CCC holds 43 registrations; 41 of them no object above shows:',
      '  41 not registered by this stack (`npm run local -- ccc quota`, or a state folder since cleared): FileId 1009, 1010, 1011, 1012, 1013, … (36 more)',
    ]);
    expect(statusJson(rows, 'prompts/', 480, '+08:00', { ccc }).ccc).toEqual(ccc);
    expect(renderStatus(rows, 'prompts/', 'b', 480, { ccc: { total: 0, notShown: [], missing: [1001, 1002] } }).slice(-3)).toEqual(['', 'The local CCC holds no registrations.', 'The objects above show 2 FileIds the local CCC does not hold (1001, 1002): its state was reset or removed since.']);
    expect(renderStatus(rows, 'prompts/', 'b', 480, { ccc: { unavailable: 'InternalError: boom' } }).slice(-2)).toEqual(['', 'The local CCC could not be asked what it holds (InternalError: boom).']);
    expect(renderStatus(rows, 'prompts/', 'b', 480).join('\n')).not.toMatch(/local CCC/);
  });

  test('npm run status: a file held in the drop folder behind one of its name in waiting/ is named, though it is no object yet', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-held-'));
    try {
      for (const rel of ['waiting/menu.mp3', 'waiting/sub/b.wav', 'waiting/alone.mp3', 'menu.mp3', 'sub/b.wav', 'other.mp3', 'waiting/.part.mp3', '.part.mp3']) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), 'x');
      }
      // A folder of the name in the drop folder is not a held file.
      fs.mkdirSync(path.join(dir, 'alone.mp3'));
      const held = heldFiles(dir);
      expect(held).toEqual(['menu.mp3', 'sub/b.wav']);
      const rows: StatusRow[] = [{ key: 'prompts/menu.mp3', size: 1, state: { status: 'deferred' } }];
      const lines = renderStatus(rows, 'prompts/', 'b', 480, { held });
      expect(lines.slice(4, 8)).toEqual(['', 'Held in the drop folder (not sent yet): these 2 files wait until the file of the same name in waiting/ is done, then each is sent as a new file:', '  menu.mp3', '  sub/b.wav']);
      expect(statusJson(rows, 'prompts/', 480, '+08:00', { held }).held).toEqual(held);
      expect(renderStatus(rows, 'prompts/', 'b', 480).join('\n')).not.toMatch(/Held/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('npm run status: a registration the drop folder found cut short needs action until a later one replaces it', () => {
    const rows: StatusRow[] = [
      { key: 'prompts/x.mp3', size: 10, state: { status: 'uploaded', fileId: 1001 }, cutShort: { fileId: 1001, copy: 'done/x.mp3' } },
      // Registered whole since: the note names an older FileId.
      { key: 'prompts/y.mp3', size: 10, state: { status: 'uploaded', fileId: 1003 }, cutShort: { fileId: 1002, copy: 'done/y.mp3' } },
    ];
    const lines = renderStatus(rows, 'prompts/', 'b', 480);
    expect(lines.slice(-3)).toEqual([
      'Needs action (1):',
      '  prompts/x.mp3  registered cut short: FileId 1001 holds only the start of the recording (a copy went on after the stack took it)',
      '    what to do: copy done/x.mp3 (now complete) into the drop folder itself to register it whole (a new FileId and a quota slot), and use that FileId in your IVR flow',
    ]);
  });

  test("npm run status: a failure the drop folder's note calls the rest of a paused copy gets the warning's fix, not the code's", () => {
    const message = 'the MP3 starts with 31 bytes that are not MP3 before its first frame …: export it again, or strip them: `tail -c +32 in.mp3 > out.mp3`';
    const rows: StatusRow[] = [{ key: 'prompts/stall.mp3', size: 10, state: { status: 'failed', errorCode: 'AudioInvalid', errorMessage: message }, failedNote: { note: 'failed/stall (2).mp3.error.txt', copy: 'failed/stall (2).mp3', pausedRest: true } }];
    expect(renderStatus(rows, 'prompts/', 'b', 480).slice(-4)).toEqual([
      'Needs action (1):',
      `  prompts/stall.mp3  failed: AudioInvalid: ${message}. Warning: this may be the rest of a copy that paused (failed/stall (2).mp3.error.txt says why)`,
      '    what to do: do not follow the message: copy the whole original into the drop folder again (start the stack with a longer --settle-ms where copies pause).',
      // The file the operator sees, not only the key (a trial found keys everywhere).
      '    the file:   failed/stall (2).mp3 in the drop folder, its note beside it',
    ]);
    // Registered since (the object is no longer failed): nothing to warn about.
    expect(renderStatus([{ ...rows[0], state: { status: 'uploaded', fileId: 1001 } }], 'prompts/', 'b', 480).slice(-1)).toEqual(['Needs action: nothing.']);
  });

  test("npm run status: the failed copy's line escapes a tab as the key does, and says whether its note is beside it", () => {
    const row = (failedNote: StatusRow['failedNote']): StatusRow => ({ key: 'prompts/tab\tname.mp3', size: 10, state: { status: 'failed', errorCode: 'NotAudio', errorMessage: 'x' }, failedNote });
    expect(renderStatus([row({ copy: 'failed/tab\tname.mp3', note: 'failed/tab\tname.mp3.error.txt', pausedRest: false })], 'prompts/', 'b', 480).at(-1)).toBe('    the file:   failed/tab\\tname.mp3 in the drop folder, its note beside it');
    // Its note deleted: the copy is still named (from the stack's list), without the note.
    expect(renderStatus([row({ copy: 'failed/tab\tname.mp3', pausedRest: false })], 'prompts/', 'b', 480).at(-1)).toBe('    the file:   failed/tab\\tname.mp3 in the drop folder');
  });

  test('npm run status: a failed file whose other-extension namesake was registered after it is said to be fixed so, if it is', () => {
    const failedAt = Date.UTC(2026, 10, 27, 12);
    const wav: StatusRow = { key: 'prompts/hold music.wav', size: 10, state: { status: 'failed', errorCode: 'AudioInvalid', errorMessage: 'MPEG in a WAV', atMs: failedAt } };
    const mp3 = (atMs: number): StatusRow => ({ key: 'prompts/hold music.mp3', size: 10, state: { status: 'uploaded', fileId: 1004, atMs } });
    const fix = (rows: StatusRow[]) => needsAction(rows, 480).find((a) => a.key === wav.key)?.fix;
    expect(fix([wav, mp3(failedAt + 60_000)])).toBe(`${fixFor('AudioInvalid')} (prompts/hold music.mp3 was registered since, FileId 1004: if that is this file fixed, delete this file's copy in failed/ and it is no longer listed here)`);
    // Registered before the failure, or in another folder: not its fix.
    expect(fix([wav, mp3(failedAt - 60_000)])).toBe(fixFor('AudioInvalid'));
    expect(fix([wav, { ...mp3(failedAt + 60_000), key: 'prompts/other/hold music.mp3' }])).toBe(fixFor('AudioInvalid'));
    // A file of another kind fixed as a prompt (a trial's closing.ogg, converted to closing.wav).
    const ogg: StatusRow = { key: 'prompts/closing.ogg', size: 10, state: { status: 'failed', errorCode: 'UnsupportedExtension', errorMessage: 'not .mp3 or .wav', atMs: failedAt } };
    const closing: StatusRow = { key: 'prompts/closing.wav', size: 10, state: { status: 'uploaded', fileId: 1054, atMs: failedAt + 1 } };
    expect(needsAction([ogg, closing], 480)[0].fix).toContain('(prompts/closing.wav was registered since, FileId 1054: if that is this file fixed');
  });

  test('npm run status: different files registered under one CCC name are pointed out, with their FileIds', () => {
    const rows: StatusRow[] = [
      { key: 'prompts/menu.wav', size: 10, state: { status: 'uploaded', fileId: 1001, customName: 'menu' } },
      { key: 'prompts/menu.mp3', size: 10, state: { status: 'uploaded', fileId: 1002, customName: 'menu' } },
      // Not registered (yet): no clash in CCC.
      { key: 'prompts/other/hello.mp3', size: 10, state: { status: 'uploaded', fileId: 1003, customName: 'hello' } },
      { key: 'prompts/hello.mp3', size: 10, state: { status: 'queued', customName: 'hello' } },
    ];
    expect(renderStatus(rows, 'prompts/', 'b', 480).slice(-2)).toEqual([
      "Same name in CCC (different files, each registered; CCC's IVR editor lists them alike: pick the one you mean by its FileId):",
      '  menu: prompts/menu.wav (FileId 1001), prompts/menu.mp3 (FileId 1002)',
    ]);
    expect(statusJson(rows, 'prompts/', 480, '+08:00').sameName).toEqual([{ name: 'menu', files: [{ key: 'prompts/menu.wav', fileId: 1001 }, { key: 'prompts/menu.mp3', fileId: 1002 }] }]);
    // The name is worked out as the function does, from the key and its ivr-name: the ivr-custom-name
    // it writes may be cut short to fit the metadata (two long names could then read alike).
    expect(readFileState({ 'ivr-custom-name': 'cut…' }, 'prompts/欢迎词.mp3').customName).toBe('欢迎词');
    expect(readFileState({ 'ivr-name': encodeURIComponent('主菜单') }, 'prompts/menu.mp3').customName).toBe('主菜单');
    expect(readFileState({ 'ivr-custom-name': 'menu' }).customName).toBeUndefined();
  });

  test('npm run status: deferred and retrying files in needs action are counted apart from the ones to fix', () => {
    const at = Date.UTC(2024, 4, 1, 2, 15, 2);
    const rows: StatusRow[] = [
      { key: 'prompts/photo.mp3', size: 10, state: { status: 'failed', errorCode: 'NotAudio', errorMessage: 'not audio' } },
      ...['p1', 'p2', 'p3'].map((n): StatusRow => ({ key: `prompts/${n}.wav`, size: 10, state: { status: 'deferred', errorCode: 'QuotaExhausted', atMs: at } })),
      { key: 'prompts/r.wav', size: 10, state: { status: 'retrying', errorCode: 'OutcomeUnknown' } },
    ];
    const lines = renderStatus(rows, 'prompts/', 'local-1250000000', 480);
    // After 60 drops an operator read "Needs action (18)" for 1 file to fix and 17 that go out by themselves.
    expect(lines.slice(-7)[0]).toBe('Needs action (5): 1 to fix; 4 deferred or retrying go out by themselves:');
    const none = renderStatus(rows.slice(1), 'prompts/', 'local-1250000000', 480);
    expect(none.slice(-5)[0]).toBe('Nothing to fix; waiting (4): 4 deferred or retrying go out by themselves:');
    expect(renderStatus(rows.slice(4), 'prompts/', 'local-1250000000', 480).slice(-2)[0]).toBe('Nothing to fix; waiting (1): 1 deferred or retrying goes out by itself:');
  });
});

describe('times in the quota day’s zone', () => {
  const t = Date.UTC(2024, 4, 1, 17, 15, 2, 345); // 01:15:02 on 2 May in UTC+08:00
  test('clock, date-time and ISO with the offset shown', () => {
    expect(formatClock(t, 480)).toBe('01:15:02+08:00');
    expect(formatClock(t, -330)).toBe('11:45:02-05:30');
    expect(formatClock(t, 0)).toBe('17:15:02+00:00');
    expect(formatDateTime(t, 480)).toBe('2024-05-02 01:15:02+08:00');
    expect(isoWithOffset(t, 480)).toBe('2024-05-02T01:15:02.345+08:00');
    expect(nextQuotaDay(t, 480)).toBe('2024-05-03');
    expect(nextQuotaDay(t, 0)).toBe('2024-05-02');
  });

  test('event lines say what happens next', () => {
    expect(describeEvent({ kind: 'status', file: 'a.mp3', key: 'p/a.mp3', status: 'deferred', day: '2024-05-03' }).detail).toBe('daily quota used up (files sent before it hold every slot of the day); sent automatically on 2024-05-03 at the earliest');
    expect(describeEvent({ kind: 'failed', file: 'a.mp3', key: 'p/a.mp3', code: 'NotAudio', message: 'no', movedTo: 'failed/a.mp3', note: 'failed/a.mp3.error.txt' }).detail).toBe('NotAudio: no → failed/a.mp3 (how to fix: failed/a.mp3.error.txt)');
    expect(describeEvent({ kind: 'sent', file: 'a.mp3', key: 'p/a.mp3', size: 49356, resumed: false }).detail).toBe('49.4 KB → p/a.mp3');
    // In the units of the function's own messages: a file over CCC's 5 MB reads as over it on both lines.
    expect(describeEvent({ kind: 'sent', file: 'a.mp3', key: 'p/a.mp3', size: 5120417, resumed: false }).detail).toBe('5.1 MB → p/a.mp3');
  });
});

describe('lock and ports', () => {
  const me = { pid: 100, host: 'laptop' };
  const lock = (pid: number, host = 'laptop') => JSON.stringify({ pid, host, startedAt: 'x' });
  test('free, held by a live stack, stale when its process is gone', () => {
    expect(decideLock(undefined, me, () => true)).toEqual({ kind: 'free' });
    expect(decideLock(lock(42), me, (pid) => pid === 42)).toMatchObject({ kind: 'held', by: { pid: 42 } });
    expect(decideLock(lock(42), me, () => false)).toMatchObject({ kind: 'stale', previous: { pid: 42 } });
    expect(decideLock(lock(100), me, () => true)).toMatchObject({ kind: 'stale' }); // our own PID: a leftover
    expect(decideLock('{"half', me, () => true)).toEqual({ kind: 'stale' });
    expect(decideLock(lock(42, 'other-host'), me, () => false)).toMatchObject({ kind: 'held' }); // cannot check another host
  });

  test('a failed start takes away only the folders it created that are still empty, deepest first', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-made-'));
    try {
      fs.mkdirSync(path.join(root, 'was-there'));
      const made = new MadeDirs();
      made.make(path.join(root, 'new', 'drop', 'failed'));
      made.make(path.join(root, 'was-there')); // existed: never removed, empty or not
      made.make(path.join(root, 'was-there', 'state'));
      made.make(path.join(root, 'kept', 'drop'));
      // Something put a file into a folder the start created: that folder and its parents stay.
      fs.writeFileSync(path.join(root, 'kept', 'drop', 'welcome.mp3'), 'x');
      expect(made.removeEmpty().sort()).toEqual([path.join(root, 'new'), path.join(root, 'new', 'drop'), path.join(root, 'new', 'drop', 'failed'), path.join(root, 'was-there', 'state')].sort());
      expect(fs.readdirSync(root).sort()).toEqual(['kept', 'was-there']);
      expect(fs.readdirSync(path.join(root, 'was-there'))).toEqual([]);
      expect(fs.readdirSync(path.join(root, 'kept', 'drop'))).toEqual(['welcome.mp3']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('a busy port is named with the option to change it', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    expect(await portProblem(port)).toBe('EADDRINUSE');
    server.close();
    expect(await portProblem(0)).toBeUndefined();
    expect(portMessage(4600, '--cos-port', 'EADDRINUSE')).toBe('port 4600 is already in use (another local stack or program is listening on it); choose another with --cos-port <port>, e.g. --cos-port 4610, or --cos-port 0 for any free port');
    // Both taken (another stack running): both named at once, so the next try starts.
    expect(portsMessage([{ port: 4600, option: '--cos-port', code: 'EADDRINUSE' }, { port: 4601, option: '--ccc-port', code: 'EADDRINUSE' }])).toBe('ports 4600 and 4601 are already in use (another local stack or program is listening on them); choose others with --cos-port <port> --ccc-port <port>, e.g. --cos-port 4610 --ccc-port 4611, or 0 for any free port');
  });
});

describe('first start of a state folder', () => {
  test('recorded only for a folder nothing ran with yet, once; a report of an earlier day says why it is empty', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-first-'));
    try {
      const data = path.join(root, 'state');
      expect(isFreshStateFolder(data)).toBe(true); // missing
      fs.mkdirSync(data);
      expect(isFreshStateFolder(data)).toBe(true); // empty
      expect(readFirstStart(data)).toBeUndefined();
      const at = Date.parse('2026-11-25T17:30:00Z'); // 01:30 on 2026-11-26 in UTC+08:00
      recordFirstStart(data, at);
      recordFirstStart(data, at + 86_400_000); // a later start keeps the first
      expect(readFirstStart(data)).toBe(at);
      expect(isFreshStateFolder(data)).toBe(false);
      // Days in the quota day's zone: 2026-11-25 is before the first start at +08:00, not at UTC.
      expect(beforeFirstStart('2026-11-25', at, 480)).toEqual({ firstStartDay: '2026-11-26', firstStart: '2026-11-26 01:30:00+08:00' });
      expect(beforeFirstStart('2026-11-25', at, 0)).toBeUndefined();
      expect(beforeFirstStart('2026-11-26', at, 480)).toBeUndefined();
      // A state folder from before the record: nothing is claimed.
      expect(beforeFirstStart('2026-11-25', undefined, 480)).toBeUndefined();
      expect(beforeFirstStartLine('2026-11-25', beforeFirstStart('2026-11-25', at, 480)!, data)).toBe(`the local stack had not run yet on 2026-11-25: it first ran with the state folder ${data} on 2026-11-26 01:30:00+08:00, so this report has nothing to count`);
      fs.writeFileSync(path.join(data, 'first-start.json'), '{"half');
      expect(readFirstStart(data)).toBeUndefined();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('next-day', () => {
  const at = (iso: string) => Date.parse(iso);
  const dayOf = (ms: number, offsetMinutes: number) => new Date(ms + offsetMinutes * 60000).toISOString().slice(0, 10);

  test('moves to just past the next quota-day boundary in the quota zone, never a flat day', () => {
    // 23:59:59+08:00 → one second to the boundary, plus the margin.
    expect(nextDayShiftMs(at('2026-11-26T15:59:59Z'), 480)).toBe(1000 + NEXT_DAY_MARGIN_MS);
    // Exactly at midnight the next day is a whole day away.
    expect(nextDayShiftMs(at('2026-11-26T16:00:00Z'), 480)).toBe(86400000 + NEXT_DAY_MARGIN_MS);
    // 10:30+08:00 is 02:30 UTC: 13 h 30 min to go.
    expect(nextDayShiftMs(at('2026-11-26T02:30:00Z'), 480)).toBe((13 * 60 + 30) * 60000 + NEXT_DAY_MARGIN_MS);
    for (const offset of [480, 0, -330, 840]) {
      for (const iso of ['2026-11-26T00:00:00Z', '2026-11-26T09:17:03.250Z', '2026-12-31T23:59:59.999Z']) {
        const now = at(iso);
        const moved = now + nextDayShiftMs(now, offset);
        expect(dayOf(moved, offset)).toBe(nextQuotaDay(now, offset));
        expect(dayOf(moved - NEXT_DAY_MARGIN_MS - 1, offset)).toBe(dayOf(now, offset));
      }
    }
  });

  test('offsets read as an operator reads them', () => {
    expect(formatAhead(40000)).toBe('40 s');
    expect(formatAhead((13 * 60 + 30) * 60000 + 5000)).toBe('13 h 30 min');
    expect(formatAhead(86400000 + 2 * 3600000 + 5000)).toBe('1 d 2 h');
  });

  /** A stack's clock and instances, recording what happens in which order. */
  function fakeStack(busyFor: number) {
    const steps: string[] = [];
    let real = at('2026-11-26T02:30:00Z');
    let offset = 0;
    let busyChecks = 0;
    const pass: ReportRun = { ok: true, noteworthy: true, pass: '1 file registered', summary: 'report 2026-11-26: …', day: '2026-11-26', page: '/x/reports/index.html' };
    return {
      steps,
      deps: {
        clock: {
          now: () => real + offset,
          realNow: () => (real += 50),
          offset: () => offset,
          persist: (ms: number) => steps.push(`persist ${ms}`),
          apply: (ms: number) => {
            steps.push(`apply ${ms}`);
            offset = ms;
          },
        },
        offsetMinutes: 480,
        busy: () => (busyChecks++ < busyFor ? 1 : 0),
        instances: [{ setClockOffset: (ms: number) => steps.push(`instance ${ms}`) }],
        moved: (from: string, to: string) => steps.push(`moved ${from} ${to}`),
        refused: (message: string) => steps.push(`refused: ${message}`),
        recoveryPass: async () => {
          steps.push(`pass at ${dayOf(real + offset, 480)}`);
          return pass;
        },
        idleTimeoutMs: 1000,
      },
    };
  }

  test('waits for running invocations, stores the offset before applying it, tells every instance, then runs the pass', async () => {
    const { steps, deps } = fakeStack(3);
    const r = await moveToNextDay(deps);
    const shift = (13 * 60 + 30) * 60000 + NEXT_DAY_MARGIN_MS - 4 * 50; // real time went on while it waited
    expect(r).toMatchObject({ from: '2026-11-26', to: '2026-11-27', pass: { ok: true, pass: '1 file registered', day: '2026-11-26' } });
    expect(r.offsetMs).toBe(shift);
    expect(steps).toEqual([`persist ${r.offsetMs}`, `apply ${r.offsetMs}`, `instance ${r.offsetMs}`, 'moved 2026-11-26 2026-11-27', 'pass at 2026-11-27']);
    expect(nextDayLine(r)).toBe(`quota day moved: 2026-11-26 → 2026-11-27 (the local clock is now 13 h 30 min ahead of real time); recovery pass: 1 file registered; report 2026-11-26 written: /x/reports/index.html`);
  });

  test('refuses, moving nothing, while invocations keep running', async () => {
    const { steps, deps } = fakeStack(Infinity);
    await expect(moveToNextDay(deps)).rejects.toThrow(ControlRefusal);
    await expect(moveToNextDay(deps)).rejects.toThrow(/still busy \(1 invocation\(s\) running\); try again when its terminal is quiet/);
    // Said in the stack's terminal too, for a next-day that stopped waiting: nothing moved.
    expect(steps).toEqual(Array(2).fill('refused: the stack is still busy (1 invocation(s) running); try again when its terminal is quiet'));
  });

  test('what a pass did, in one line', () => {
    expect(passSummary({ settled: 0, reviews: { changed: 0, rejected: [] } })).toBe('nothing to do');
    expect(passSummary({ settled: 2, registered: 2, reviews: { changed: 3, rejected: ['p/a.mp3'] } })).toBe('2 files registered, 3 review states updated, rejected by review: p/a.mp3');
    // A rejection marked by a later pass than the one that recorded it: named all the same.
    expect(passSummary({ settled: 0, reviews: { changed: 0, rejected: ['p/a.mp3', 'p/b.wav'] } })).toBe('rejected by review: p/a.mp3, p/b.wav');
    expect(passSummary({ settled: 3, registered: 1 })).toBe('1 file registered, 2 other files updated');
    expect(passSummary({ settled: 1, registered: 0 })).toBe('1 file updated');
    const failed: ReportRun = { ok: false, noteworthy: true, pass: 'failed: InstanceExited quota-report exited', summary: 'report failed: InstanceExited quota-report exited' };
    expect(passLine(failed)).toBe('recovery pass failed: InstanceExited quota-report exited');
    const quiet: NextDayResult = { from: '2026-11-26', to: '2026-11-27', offsetMs: 60000, pass: { ok: true, pass: 'nothing to do', summary: '' } };
    expect(nextDayLine(quiet)).toBe('quota day moved: 2026-11-26 → 2026-11-27 (the local clock is now 1 min ahead of real time); recovery pass: nothing to do');
    // Stopped before the request was out: nothing was asked, and it says so rather than "goes on".
    expect(interruptedLine(false, 'npm run status')).toBe('next-day: stopped before the stack was asked: the quota day has not moved.');
    expect(interruptedLine(true, 'npm run status')).toMatch(/^next-day: stopped waiting, but the stack goes on with the day move .*; npm run status shows where they stand\.$/);
  });

  test('a pass that updated files other than those it registered says which and what became of them, gone ones too', async () => {
    // The pass defers one file, gives up on another, registers a third, and finds a fourth's object
    // gone (withdrawn from waiting/ before the pass: nothing in the bucket to compare).
    const files = [
      { key: 'p/menu.wav', status: 'deferred', code: 'QuotaExhausted', deferredDay: '2026-11-27' },
      { key: 'p/hold.mp3', status: 'failed', code: 'GaveUp' },
      { key: 'p/new.mp3', status: 'uploaded' },
      { key: 'p/overflow.mp3', status: 'failed', code: 'ObjectChanged' },
    ];
    const instance = { invoke: async () => ({ ok: true as const, result: { sent: true, settled: 4, registered: 1, files, reviews: { checked: 0, changed: 0, rejected: [] } } }) } as unknown as FunctionInstance;
    const r = await runReport(instance, os.tmpdir(), async () => undefined, '', (f) => describeSettled(f, 'p/'));
    expect(passLine(r)).toBe('recovery pass: 1 file registered, 3 other files updated (menu.wav deferred to 2026-11-28, hold.mp3 failed (GaveUp), overflow.mp3 not sent: replaced or removed before its turn)');
    // Where the bucket says which (the stack's line): the version not sent, or the file removed.
    const overflow = files[3];
    expect(describeSettled(overflow, 'p/', () => true)).toBe('an earlier version of overflow.mp3 not sent: replaced by a newer one before its turn');
    expect(describeSettled(overflow, 'p/', () => false)).toBe('overflow.mp3 not sent: removed before its turn');
    expect(passSummary({ settled: 1, registered: 0 }, ['menu.wav retrying (InternalError)'])).toBe('1 file updated (menu.wav retrying (InternalError))');
    // A withdrawal the stack's terminal said at its start is not said again, nor counted: a trial
    // read it twice, the second time as one more file updated.
    const told = await runReport(instance, os.tmpdir(), async () => undefined, '', (f) => describeSettled(f, 'p/'), (f) => f.key === 'p/overflow.mp3');
    expect(passLine(told)).toBe('recovery pass: 1 file registered, 2 other files updated (menu.wav deferred to 2026-11-28, hold.mp3 failed (GaveUp))');
    const onlyTold = { invoke: async () => ({ ok: true as const, result: { sent: false, settled: 1, registered: 0, files: [overflow], reviews: { checked: 0, changed: 0, rejected: [] } } }) } as unknown as FunctionInstance;
    expect(await runReport(onlyTold, os.tmpdir(), async () => undefined, '', (f) => describeSettled(f, 'p/'), () => true)).toMatchObject({ noteworthy: false, pass: 'nothing to do' });
  });

  test("the report's summary line counts the day's retrying files (a trial's 3/3 submitted read as counted nowhere while an answer was lost)", async () => {
    const report = { day: '2026-11-30', final: false, quota: { submitted: 3, limit: 3 }, files: { uploaded: 0, failed: 0, deferred: 1, retrying: 3 }, review: { approved: 0, rejected: 0, pending: 0 }, backlog: { deferred: 1 }, needsAction: [{ status: 'retrying' }] };
    const instance = { invoke: async () => ({ ok: true as const, result: { sent: true, settled: 0, registered: 0, files: [], reviews: { checked: 0, changed: 0, rejected: [] }, report: { day: '2026-11-30', report } } }) } as unknown as FunctionInstance;
    expect((await runReport(instance, os.tmpdir(), async () => undefined)).summary).toContain('3/3 files submitted; 0 uploaded, 0 failed, 1 deferred, 3 retrying; review');
  });

  test('the report page copied into the state folder says how a file goes in again here: drop, not upload', async () => {
    const fix = sharedFixFor('NotAudio', UPLOAD_AGAIN)!;
    const page = `<td>${fix}</td><td>${REJECTED_ADVICE}</td><p>${SAME_NAME_ADVICE}</p><p>uploaded 3</p>`;
    const report = { day: '2026-11-26', final: true, quota: { submitted: 1, limit: 50 }, files: { uploaded: 1, failed: 1, deferred: 0 }, review: { approved: 0, rejected: 1, pending: 0 }, backlog: { deferred: 0 }, needsAction: [{}] };
    const instance = { invoke: async () => ({ ok: true as const, result: { sent: false, settled: 0, reviews: { checked: 0, changed: 0, rejected: [] }, report: { day: '2026-11-26', htmlKey: 'k', report } } }) } as unknown as FunctionInstance;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-page-'));
    const r = await runReport(instance, dir, async () => Buffer.from(page));
    const written = fs.readFileSync(r.page!, 'utf8');
    expect(written).toContain('then drop the fixed file into the drop folder again.');
    expect(written).toContain('record it again and drop the new recording');
    expect(written).not.toMatch(/upload the (fixed|new)|ivr-file-id|ivr-name|own key/);
    expect(written).toContain('a file dropped again under its own name leaves its earlier registration listed too');
    // The figures' own words stay.
    expect(written).toContain('<p>uploaded 3</p>');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a timer pass gets a line only when it did something: not for the report of a day with nothing in it', () => {
    const report = (submitted: number, uploaded: number, needsAction: Array<{ key: string; status: string }> = []) => ({
      day: '2026-11-26',
      htmlKey: 'x',
      report: { day: '2026-11-26', final: true, quota: { submitted, limit: 1 }, files: { uploaded, failed: 0, deferred: 0 }, review: { approved: 0, rejected: 0, pending: 0 }, backlog: { deferred: 0 }, needsAction },
    });
    // A fresh state folder's first pass reports the day before it existed: nothing to tell.
    expect(isNoteworthy({ settled: 0, reviews: { checked: 0, changed: 0, rejected: [] }, report: report(0, 0) })).toBe(false);
    expect(isNoteworthy({ settled: 0, report: report(1, 1) })).toBe(true);
    expect(isNoteworthy({ settled: 0, report: report(0, 0, [{ key: 'p/a.mp3', status: 'failed' }]) })).toBe(true);
    expect(isNoteworthy({ settled: 1 })).toBe(true);
    expect(isNoteworthy({ settled: 0, reviews: { checked: 1, changed: 1, rejected: ['p/a.mp3'] } })).toBe(true);
    expect(isNoteworthy({ settled: 0 })).toBe(false);
  });

  test("a pass with news of its own leaves an empty day's report out of its line (a trial's restart showed the day before the first start as 0/50)", async () => {
    const empty = { day: '2026-11-26', htmlKey: 'k', report: { day: '2026-11-26', final: true, quota: { submitted: 0, limit: 50 }, files: { uploaded: 0, failed: 0, deferred: 0 }, review: { approved: 0, rejected: 0, pending: 0 }, backlog: { deferred: 0 }, needsAction: [] } };
    const files = [{ key: 'p/a.mp3', status: 'uploaded' }];
    const instance = (report: typeof empty) => ({ invoke: async () => ({ ok: true as const, result: { sent: true, settled: 1, registered: 1, files, report } }) }) as unknown as FunctionInstance;
    const quiet = await runReport(instance(empty), os.tmpdir(), async () => undefined);
    expect(passLine(quiet)).toBe('recovery pass: 1 file registered');
    const busy = { ...empty, report: { ...empty.report, quota: { submitted: 1, limit: 50 }, files: { uploaded: 1, failed: 0, deferred: 0 } } };
    expect(passLine(await runReport(instance(busy), os.tmpdir(), async () => undefined))).toMatch(/^recovery pass: 1 file registered; report 2026-11-26: 1\/50 files submitted; /);
  });

  test("the report's line splits what needs action as status does: files to fix, and files that go out by themselves", () => {
    const of = (...statuses: string[]) => statuses.map((status) => ({ status }));
    expect(actionNote([])).toBe('nothing to fix');
    // A trial's 10 deferred files read as "10 file(s) need action" beside status's "Nothing to fix".
    expect(actionNote(of(...Array<string>(10).fill('deferred')))).toBe('nothing to fix, 10 deferred or retrying (they go out by themselves)');
    expect(actionNote(of('failed', 'rejected', 'retrying'))).toBe('2 file(s) to fix, 1 deferred or retrying (it goes out by itself)');
  });

  test('the control endpoint answers only with the token, passes an argument and refusals on', async () => {
    let calls = 0;
    const args: Array<string | undefined> = [];
    const server = await startControl({
      'next-day': async () => {
        if (++calls > 1) throw new ControlRefusal('busy');
        return { moved: true };
      },
      ccc: async (what) => {
        args.push(what);
        return { what };
      },
    });
    try {
      expect(await callControl({ port: server.port, token: 'guess' }, 'next-day')).toEqual({ ok: false, message: 'not allowed' });
      expect(await callControl({ port: server.port, token: 'guess' }, 'ccc', 'lost')).toEqual({ ok: false, message: 'not allowed' });
      expect(calls).toBe(0);
      expect(args).toEqual([]);
      expect(await callControl(server, 'next-day')).toEqual({ ok: true, moved: true });
      expect(await callControl(server, 'next-day')).toEqual({ ok: false, message: 'busy' });
      // The argument arrives as typed, whatever it holds.
      expect(await callControl(server, 'ccc', 'lost')).toEqual({ ok: true, what: 'lost' });
      expect(await callControl(server, 'ccc', 'a/b c%')).toEqual({ ok: true, what: 'a/b c%' });
      // A command is exactly its path: no missing or extra argument, no more segments, no query.
      expect(await callControl(server, 'ccc')).toEqual({ ok: false, message: 'unknown command POST /ccc' });
      expect(await callControl(server, 'next-day', 'x')).toEqual({ ok: false, message: 'unknown command POST /next-day/x' });
      expect(args).toEqual(['lost', 'a/b c%']);
      expect(calls).toBe(2);
    } finally {
      await server.stop();
    }
    await expect(callControl(server, 'next-day')).rejects.toThrow(/the stack stopped answering/);
  });

  test('a control path names one command, with an argument exactly when it takes one', () => {
    expect(parseControlPath('/next-day')).toEqual({ command: 'next-day' });
    expect(parseControlPath('/ccc/lost')).toEqual({ command: 'ccc', argument: 'lost' });
    expect(parseControlPath('/ccc/a%2Fb')).toEqual({ command: 'ccc', argument: 'a/b' });
    for (const bad of ['/ccc', '/ccc/', '/ccc/reject/extra', '/next-day/x', '/next-day?x=1', '/ccc/lost?x', '/ccc/%E4%BD', 'next-day', '/', '/toString', '/__proto__/x']) expect([bad, parseControlPath(bad)]).toEqual([bad, undefined]);
  });

  test('the clock shim moves now() and new Date() only, and every date still is a Date', () => {
    const shim = path.join(__dirname, '..', 'scripts', 'local', 'clock-shift.cjs');
    const script = `
      const c = require(${JSON.stringify(shim)});
      const real = new Date();
      c.install(c.offsetFromEnv(process.env));
      // The shifted reading less real time read just before and just after it: the offset lies in
      // between (a millisecond may tick between two readings).
      const around = (read) => { const before = c.realNow(); const v = read(); const after = c.realNow(); return [v - after, v - before]; };
      const a = around(() => Date.now());
      c.setOffset(86400000);
      const out = {
        fromEnv: a,
        now: around(() => Date.now()),
        ctor: around(() => new Date().getTime()),
        fixed: new Date(0).toISOString(),
        parse: Date.parse('2026-11-27T00:00:00Z'),
        utc: Date.UTC(2026, 10, 27),
        instance: new Date() instanceof Date && real instanceof Date && require('fs').statSync('.').mtime instanceof Date,
        called: typeof Date(),
        offset: c.offset(),
      };
      console.log(JSON.stringify(out));`;
    const res = spawnSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, IVR_LOCAL_CLOCK_OFFSET_MS: '5000' }, encoding: 'utf8' });
    expect(res.stderr).toBe('');
    const out = JSON.parse(res.stdout) as Record<string, number | string | boolean | [number, number]>;
    // Exactly the offset, between two real readings around it (read against one reading after it,
    // a millisecond ticking in between once gave 4999 in CI).
    const within = (range: unknown, offset: number) => Array.isArray(range) && range[0] <= offset && offset <= range[1];
    expect([out.fromEnv, within(out.fromEnv, 5000)]).toEqual([out.fromEnv, true]);
    expect([out.now, within(out.now, 86400000)]).toEqual([out.now, true]);
    expect([out.ctor, within(out.ctor, 86400000)]).toEqual([out.ctor, true]);
    expect(out).toMatchObject({ fixed: '1970-01-01T00:00:00.000Z', parse: Date.parse('2026-11-27T00:00:00Z'), utc: Date.UTC(2026, 10, 27), instance: true, called: 'string', offset: 86400000 });
  });
});

describe('shell words in printed commands', () => {
  // What a pasted command hands the program: the shell itself reads each word back.
  const readBack = (word: string) => spawnSync('sh', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' }).stdout;

  test.each(['plain/path.mp3', 'with space.wav', 'a $HOME b', 'it\'s', '"quoted"', 'back\\slash', '欢迎 语音.mp3', 'x=1', '*.mp3', '~/drop'])('%s reads back as itself', (word) => {
    expect(readBack(shellWord(word))).toBe(word);
  });

  test('a leading = is quoted (zsh reads =cmd as a path), a leading - becomes a path, not an option', () => {
    expect(shellWord('=ls')).toBe("'=ls'");
    expect(shellPath('-rf')).toBe('./-rf');
    expect(readBack(shellPath('-n x'))).toBe('./-n x');
    expect(shellPath('/abs/-x')).toBe('/abs/-x');
  });

  test('npm run for a state folder: none for the default one, `--data` after the script’s own `--`', () => {
    const root = path.resolve(__dirname, '..');
    expect(npmRunFor(path.join(root, '.local'), 'status')).toBe('npm run status');
    expect(npmRunFor('/tmp/my data', 'status')).toBe("npm run status -- --data '/tmp/my data'");
    expect(npmRunFor('/tmp/d', 'local -- next-day')).toBe('npm run local -- next-day --data /tmp/d');
    expect(npmRunFor('/tmp/d', 'report', 'd')).toBe('npm run report -- --data d');
  });
});

describe('stopped line', () => {
  test('it counts the files held in the drop folder behind a waiting one of their name with those in waiting/', () => {
    expect(stoppedLine(0, 0)).toBe('stopped; the local bucket is kept for next time');
    expect(stoppedLine(3, 0)).toBe('stopped; the local bucket is kept for next time, and the 3 file(s) in waiting/ are picked up again at the next start');
    expect(stoppedLine(3, 1)).toBe('stopped; the local bucket is kept for next time, and the 3 file(s) in waiting/ are picked up again at the next start, as is the file held in the drop folder behind one of the same name');
    expect(stoppedLine(3, 2)).toMatch(/, as are the 2 files held in the drop folder behind one of the same name$/);
  });
});

describe('stopping line', () => {
  test('it says invocations are let finish only when their function processes still run', () => {
    expect(stoppingLine('SIGTERM', { uploads: 7, passes: 0 }, false)).toBe('stopping (SIGTERM): letting 7 invocation(s) finish…');
    // Ctrl-C in the terminal killed the function processes too: nothing will finish.
    expect(stoppingLine('SIGINT', { uploads: 7, passes: 0 }, true)).toBe('stopping (SIGINT): the function processes were stopped too, cutting off 7 upload invocation(s), whose files are picked up at the next start');
    // A Ctrl-C during next-day (a trial's): only the pass was cut off, its files all registered.
    expect(stoppingLine('SIGINT', { uploads: 0, passes: 1 }, true)).toBe("stopping (SIGINT): the function processes were stopped too, cutting off the recovery pass, whose work (a day's report it was writing too) the next pass does (at the next start, or the timer's first after it)");
    expect(stoppingLine('SIGINT', { uploads: 2, passes: 1 }, true)).toMatch(/cutting off 2 upload invocation\(s\), whose files are picked up at the next start, and the recovery pass, whose work/);
    expect(stoppingLine('SIGINT', { uploads: 0, passes: 0 }, false)).toBe('stopping (SIGINT)…');
    expect(stoppingLine('SIGINT', { uploads: 0, passes: 0 }, false, 2)).toBe('stopping (SIGINT); 2 CCC fault(s) asked for (npm run local -- ccc) and not used are forgotten…');
  });
});

describe('burst summary', () => {
  const up = (file: string) => ({ kind: 'uploaded' as const, file, key: `prompts/${file}` });

  test('the line adds up to the outcomes since the stack was last idle', () => {
    const b = new Burst();
    b.count({ kind: 'sent', file: 'a.mp3', key: 'prompts/a.mp3', size: 1, resumed: false });
    b.count(up('a.mp3'));
    // One file: its own line is the summary; its count must not roll into the next burst.
    expect(b.settle()).toBeUndefined();
    b.count(up('b.mp3'));
    b.count({ kind: 'failed', file: 'c.mp3', key: 'prompts/c.mp3', code: 'NotAudio' });
    b.count({ kind: 'status', file: 'd.mp3', key: 'prompts/d.mp3', status: 'deferred', day: '2026-11-27' });
    const s = b.settle()!;
    expect(s).toMatchObject({ handled: 3, uploaded: 1, failed: 1, deferred: 1 });
    expect(burstLine(s)).toBe('3 files handled: 1 uploaded, 1 failed, 1 deferred to 2026-11-27');
    // Files a recovery pass released count too, though nothing was dropped.
    b.count(up('e.mp3'));
    b.count(up('f.mp3'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 2 uploaded, 0 failed');
    expect(b.settle()).toBeUndefined();
  });

  test('deferred files whose full day is today say, like their own lines, that they may still go today', () => {
    const b = new Burst();
    const deferred = (file: string, today?: true) => ({ kind: 'status' as const, file, key: `prompts/${file}`, status: 'deferred' as const, day: '2026-11-28', ...(today ? { today } : {}) });
    b.count(up('a.mp3'));
    b.count(deferred('b.mp3', true));
    b.count(deferred('c.mp3', true));
    // Each file's line above said "on 2026-11-28 at the earliest, or still today if …": the summary
    // must not read as a promise that nothing goes before that day.
    expect(burstLine(b.settle()!)).toBe('3 files handled: 1 uploaded, 0 failed, 2 deferred to 2026-11-28 at the earliest, or still today if today has room again');
    // A day CCC closed (no `today` on the line) stays as before.
    b.count(deferred('d.mp3'));
    b.count(deferred('e.mp3'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 0 uploaded, 0 failed, 2 deferred to 2026-11-28');
  });

  test('a file deferred again to a later day is not handled again: only the outcomes that happened count, and the files deferred again are said apart', () => {
    const b = new Burst();
    const deferred = (file: string, day: string) => ({ kind: 'status' as const, file, key: `prompts/${file}`, status: 'deferred' as const, day });
    b.count(deferred('a.mp3', '2026-11-28'));
    b.count(deferred('b.mp3', '2026-11-28'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 0 uploaded, 0 failed, 2 deferred to 2026-11-28');
    // next-day at quota 1: a.mp3 goes, b.mp3 waits for the next day again; a new file is deferred.
    b.count(up('a.mp3'));
    b.count(deferred('b.mp3', '2026-11-29'));
    b.count(deferred('c.mp3', '2026-11-29'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 1 uploaded, 0 failed, 1 deferred to 2026-11-29; 1 more waiting from before deferred again to 2026-11-29');
    // Deferred again after it went (the same name dropped anew) counts as a new deferral.
    b.count(deferred('a.mp3', '2026-11-30'));
    b.count(up('b.mp3'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 1 uploaded, 0 failed, 1 deferred to 2026-11-30');
    // So does a new recording copied over a deferred one in waiting/ (a review found it uncounted).
    b.count({ kind: 'replaced', file: 'c.mp3', key: 'prompts/c.mp3' });
    b.count(deferred('c.mp3', '2026-11-30'));
    b.count(deferred('d.mp3', '2026-11-30'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 0 uploaded, 0 failed, 2 deferred to 2026-11-30');
  });

  test('outcomes of files a printed recovery pass settled are said to be among the pass\'s, not more files', () => {
    const b = new Burst();
    // A restart mid-burst: the pass at start registers what was left and defers one; a file
    // dropped meanwhile goes by ivr-upload, whatever the time it lands.
    b.count(up('a.mp3'));
    b.count(up('b.mp3'));
    b.count({ kind: 'status', file: 'c.mp3', key: 'prompts/c.mp3', status: 'deferred', day: '2026-11-27' });
    b.count(up('d.mp3'));
    b.passPrinted(['prompts/a.mp3', 'prompts/b.mp3', 'prompts/c.mp3']);
    expect(burstLine(b.settle()!)).toBe('4 files handled: 3 uploaded, 0 failed, 1 deferred to 2026-11-27; 3 of them by the recovery pass above');
    b.count(up('e.mp3'));
    b.count(up('f.mp3'));
    b.passPrinted(['prompts/e.mp3', 'prompts/f.mp3']);
    expect(burstLine(b.settle()!)).toBe('2 files handled: 2 uploaded, 0 failed; all of them by the recovery pass above');
    // A new file of the same name, held in the drop folder while the deferred one waited, goes
    // once the pass has sent that one: one outcome of the key is the pass's, the other is not (a
    // trial read "all of them by the recovery pass above").
    b.count(up('g.mp3'));
    b.passPrinted(['prompts/g.mp3']);
    b.count(up('g.mp3'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 2 uploaded, 0 failed; 1 of them by the recovery pass above');
    // The same bytes dropped again: its line says already registered, and so does the summary.
    b.count(up('s.mp3'));
    b.count({ kind: 'uploaded', file: 't.mp3', key: 'prompts/t.mp3', fileId: 1001, alreadyRegistered: true });
    expect(burstLine(b.settle()!)).toBe('2 files handled: 2 uploaded (1 already registered before: nothing new sent), 0 failed');
    expect(quotaPart(48, 48, 50)).toBe('registered in CCC today 48/50');
    expect(quotaPart(48, undefined, 50)).toBe('registered in CCC today 48/50');
    expect(quotaPart(50, 40, 50)).toBe('registered in CCC today 50/50 (the functions submitted 40; CCC counts files registered by other means too)');
    expect(quotaPart(48, 50, 50)).toBe('quota today 50/50 files submitted, 48 registered in CCC (a file CCC refused counts too, and so do the files of a call CCC answered with an error, whose answer was lost, or that a stop cut off)');
    // Two pass lines (the pass at start, then a timer pass minutes later): not "the pass above".
    for (const f of ['p.mp3', 'q.mp3', 'r.mp3']) b.count(up(f));
    b.passPrinted(['prompts/p.mp3', 'prompts/q.mp3']);
    b.passPrinted(['prompts/r.mp3']);
    expect(burstLine(b.settle()!)).toBe('3 files handled: 3 uploaded, 0 failed; all of them by the recovery passes above (2)');
    // A pass that printed nothing (a quiet timer pass) or settled none of them is not named.
    b.count(up('g.mp3'));
    b.count(up('h.mp3'));
    b.passPrinted([]);
    expect(burstLine(b.settle()!)).toBe('2 files handled: 2 uploaded, 0 failed');
    // Nor does a printed pass carry over to a later burst.
    b.count(up('i.mp3'));
    b.passPrinted(['prompts/j.mp3']);
    expect(b.settle()).toBeUndefined();
    b.count(up('j.mp3'));
    b.count(up('k.mp3'));
    expect(burstLine(b.settle()!)).toBe('2 files handled: 2 uploaded, 0 failed');
  });
});

describe('long keys in status', () => {
  test('a key of ~980 bytes is cut in its middle in the table, so rows stay readable; --json keeps it whole', () => {
    const key = `prompts/${'长'.repeat(300)}-${'x'.repeat(60)}/menu-end.mp3`;
    expect(Buffer.byteLength(key)).toBeGreaterThan(960);
    const rows: StatusRow[] = [{ key, size: 1, state: { status: 'deferred', atMs: Date.UTC(2024, 4, 1) } }, { key: 'prompts/short.mp3', size: 1, state: { status: 'uploaded', fileId: 7 } }];
    const lines = renderStatus(rows, 'prompts/', 'b', 480);
    const row = lines.find((l) => l.startsWith('prompts/长'))!;
    expect(row).toMatch(/^prompts\/长+…[长x-]*x\/menu-end\.mp3 +deferred /);
    expect(displayWidth(row.split('  ')[0])).toBeLessThanOrEqual(KEY_WIDTH);
    expect(Math.max(...lines.map(displayWidth))).toBeLessThan(KEY_WIDTH + 120);
    expect(lines.find((l) => l.startsWith('  prompts/长'))).toMatch(/^  prompts\/长+…[长x-]*x\/menu-end\.mp3  deferred: /);
    expect(statusJson(rows, 'prompts/', 480, '+08:00').objects[0].key).toBe(key);
  });

  test('the middle cut fits the width in display cells, keeping both ends', () => {
    expect(truncateMiddleWidth('abcdefghij', 10)).toBe('abcdefghij');
    expect(truncateMiddleWidth('abcdefghij', 5)).toBe('ab…ij');
    const cut = truncateMiddleWidth('中文中文中文中文', 8);
    expect(displayWidth(cut)).toBeLessThanOrEqual(8);
    expect(cut).toMatch(/^中.*….*文$/);
  });
});

test('keys that look the same but are written with other code points (NFC, NFD) are told apart wherever they are listed together', () => {
  const nfc = 'prompts/caf\u00e9.mp3';
  const nfd = 'prompts/cafe\u0301.mp3';
  expect(distinctKeys([nfc, nfd, 'prompts/menu.mp3'])).toEqual([
    `${nfc} (written composed, Unicode NFC: another name here looks the same)`,
    `${nfd} (written decomposed, Unicode NFD: another name here looks the same)`,
    'prompts/menu.mp3',
  ]);
  expect(distinctKeys([nfc, 'prompts/menu.mp3'])).toEqual([nfc, 'prompts/menu.mp3']);
  // The uploaded line of the NFD file names the NFC one, marked.
  expect(describeEvent({ kind: 'uploaded', file: 'cafe\u0301.mp3', key: nfd, fileId: 1055, sameName: { name: 'café', others: [{ key: nfc, fileId: 1054 }] } }).detail).toContain(`CCC also lists ${nfc} (written composed, Unicode NFC: another name here looks the same) (FileId 1054) as "café"`);
});
