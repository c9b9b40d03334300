/**
 * The local stack's note on a failed file (`<name>.error.txt`): the reason, and the fix
 * (shared/core/fixes.ts) as the drop folder takes a fixed file in again.
 */
import { oggCodec } from '../../shared/audio/inspect';
import { asErrorCode } from '../../shared/core/errors';
import { fixFor as sharedFix, UPLOAD_AGAIN, type AgainWords } from '../../shared/core/fixes';
import { REJECTED_ADVICE, SAME_NAME_ADVICE } from '../../shared/core/report';
import { shellPath } from './shell';
import { formatDateTime } from './time';

const AGAIN: AgainWords = { fixed: 'then drop the fixed file into the drop folder again.', same: 'then drop the same file into the drop folder again.' };

/**
 * The report page the function renders, in the drop folder's words: its fixes say how a file goes
 * into the bucket again, which here is the drop folder (a trial read "upload" on the page beside
 * "drop" everywhere else). Only the function's own phrases are replaced, wherever they stand.
 */
export function inDropFolderWords(page: string): string {
  const pairs: Array<[string, string]> = [
    [UPLOAD_AGAIN.fixed, AGAIN.fixed],
    [UPLOAD_AGAIN.same, AGAIN.same],
    [REJECTED_ADVICE, REJECTED_ADVICE.replace('upload the new recording', 'drop the new recording')],
    [SAME_NAME_ADVICE, "CCC's IVR editor lists prompts by name, so there these look alike: pick the one you mean by its FileId (the stack's line and <code>npm run status</code> show each file's). CCC has no replace, so a file dropped again under its own name leaves its earlier registration listed too. A distinct name (rename the file) helps only the files dropped after it."],
  ];
  return pairs.reduce((text, [cloud, local]) => text.split(cloud).join(local), page);
}

/** For codes without a known fix: nothing in the file is known to be wrong. */
export const DEFAULT_FIX = 'No fix is known for this code. Read the message above; if the file itself is fine, run `npm run status` and look at the function logs, then drop the file again.';

/**
 * Where the drop folder itself may be the cause: it takes a file once its size and time have not
 * changed for the settle time, so a copy that paused longer was taken cut short (or empty).
 */
const SETTLE_HINT = ' If the copy was still going on when the stack took it (a slow or paused copy, a network share), start the stack with a longer --settle-ms.';
const LOCAL_HINTS: Readonly<Record<string, string>> = { AudioTruncated: SETTLE_HINT, EmptyFile: SETTLE_HINT };

/** The fix for `code` (as read from the object: any string), for the drop folder. */
export function fixFor(code: string | undefined): string {
  const fix = sharedFix(asErrorCode(code), AGAIN);
  return fix === undefined ? DEFAULT_FIX : fix + (LOCAL_HINTS[code ?? ''] ?? '');
}

/** What `<name>.error.txt` says about a failed file. */
export interface FailureNote {
  /** The file's name as it was dropped (path relative to the drop folder). */
  file: string;
  key: string;
  bucket: string;
  code?: string;
  message?: string;
  /** When the failure was recorded. */
  atMs: number;
  offsetMinutes: number;
  /** Put before the fix, when what happened just before changes it ({@link restOfPausedCopy}). */
  warning?: string;
  /**
   * Where the message's example commands can run for this file ({@link commandsFor}): the drop
   * folder (absolute) and the failed copy in it (`failed/big (2).mp3`). Left out where no POSIX
   * shell can be assumed (Windows): the note then has the message's placeholders only.
   */
  run?: FixRun;
  /** When the same bytes failed under this name before: the function kept that result (and sent nothing again). */
  failedBeforeMs?: number;
  /** A file of this prompt in another format registered already (a fix of it most likely): its key and FileId. */
  registeredAs?: { key: string; fileId: number };
  /** Other failed copies of the same name in another format (`failed/speech.flac` beside this `speech.ogg`): their fixes may make the same file. */
  samePrompt?: string[];
}

/** Failures a file holding only the end of a recording meets: its first bytes are the middle of the audio. */
const TAIL_CODES: ReadonlySet<string> = new Set(['AudioInvalid', 'NotAudio', 'FormatMismatch']);

/** Failures of a copy taken before it finished. */
const CUT_CODES: ReadonlySet<string> = new Set(['AudioTruncated', 'EmptyFile']);

/** What to do about a file that is the rest of a paused copy: send the whole recording again. */
const REST_FIX = 'Copy the whole original into the drop folder again (start the stack with a longer --settle-ms where copies pause).';

/** {@link REST_FIX} inside a sentence, after a colon. */
export const REST_FIX_INLINE = `${REST_FIX.charAt(0).toLowerCase()}${REST_FIX.slice(1)}`;

/** How long after a cut-short failure a failure of the same name is taken as its copy's rest. */
export const PAUSED_REST_MS = 10 * 60_000;

/**
 * The warning for a file that fails as if it began mid-recording (`code`) shortly after a file of
 * the same name failed cut short (`earlier`: its code and time): most likely the rest of a copy
 * that paused, then reopened the file by name to go on (`>>`, a resumed transfer). Its own fix
 * ("strip the first bytes") would register the end of a recording, so the warning says not to.
 */
export function restOfPausedCopy(code: string | undefined, atMs: number, earlier: { code?: string; atMs: number } | undefined, offsetMinutes: number): string | undefined {
  if (!earlier || !TAIL_CODES.has(code ?? '') || !CUT_CODES.has(earlier.code ?? '') || atMs - earlier.atMs > PAUSED_REST_MS) return undefined;
  return `a file of this name failed cut short (${earlier.code}) at ${formatDateTime(earlier.atMs, offsetMinutes)}: this one may be the rest of that copy, which paused and then went on into a new file of the name. Do not follow the fix for its error: ${REST_FIX_INLINE}`;
}

/** `file` with the extension `ext` (its own kept as written when it is that one already, so the key stays). */
function withExtension(file: string, ext: string): string {
  const dot = file.lastIndexOf('.');
  const stem = dot > file.lastIndexOf('/') ? file.slice(0, dot) : file;
  return file.slice(stem.length).toLowerCase() === `.${ext}` ? file : `${stem}.${ext}`;
}

/** `file` hidden (a dot before its base name): the drop folder never takes such a name. */
function hidden(file: string): string {
  const slash = file.lastIndexOf('/') + 1;
  return `${file.slice(0, slash)}.${file.slice(slash)}`;
}

/** A placeholder of the function's example commands (shared/audio, shared/core): `in.mp3`, `in.ogg`, `out.wav`, as a word of its own. */
const PLACEHOLDER = /(?<=^|\s)(in|out)\.([a-z0-9]{2,4})(?=\s|$)/g;

/**
 * Where the message's example commands run for a file: the drop folder (absolute), the failed
 * copy in it (`failed/big (2).mp3`), and the copy's first bytes, where a tool the message names
 * cannot read it (SoX and Ogg Opus).
 */
export interface FixRun {
  dropDir: string;
  copy: string;
  head?: Uint8Array;
}

/** Characters that would break a pasted line (C0 and C1 controls, DEL). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** One example command made for a file: the line to paste, and the name it writes in the drop folder. */
interface FixCommand {
  line: string;
  output: string;
}

/**
 * The example commands of a failure message (`lame … in.mp3 out.mp3`, in backticks) for this file,
 * ready to paste: run in the drop folder, reading the failed copy and writing the fixed file under
 * the name it was dropped with (its extension the command's), straight into the drop folder, which
 * takes it in like any dropped file. A trial had to work out what `in.mp3` and `out.mp3` stood for.
 * The tool writes a hidden name first, moved into place once it has finished: a tool stopped
 * half-way, or slower than the settle time, would have its part taken and sent (the extension stays,
 * since SoX picks the format by it). None when a name has a control character (it could not be
 * pasted as one line).
 */
function fixCommands(message: string | undefined, dropped: string, run: FixRun): FixCommand[] {
  if (!message || CONTROL.test(dropped + run.copy + run.dropDir)) return [];
  const out = new Map<string, FixCommand>();
  // A trial pasted the first command of an Opus voice message's note: SoX's, which fails on it.
  const soxCannot = run.head !== undefined && oggCodec(run.head) === 'opus';
  for (const [, cmd] of message.matchAll(/`([^`]+)`/g)) {
    if (soxCannot && /^sox\s/.test(cmd)) continue;
    const roles = [...cmd.matchAll(PLACEHOLDER)].map((m) => m[1]);
    if (!roles.includes('in') || !roles.includes('out')) continue;
    let output = dropped;
    const forFile = cmd.replace(PLACEHOLDER, (_m, role: string, ext: string) => {
      if (role === 'in') return shellPath(run.copy);
      output = withExtension(dropped, ext);
      return shellPath(hidden(output));
    });
    // A dropped subfolder may be gone by now (only done/ and failed/ keep it): made again first.
    const folder = dropped.includes('/') ? `mkdir -p ${shellPath(dropped.slice(0, dropped.lastIndexOf('/')))} && ` : '';
    const line = `cd ${shellPath(run.dropDir)} && ${folder}${forFile} && mv ${shellPath(hidden(output))} ${shellPath(output)}`;
    out.set(line, { line, output });
  }
  return [...out.values()];
}

/** The lines of {@link fixCommands}: what the note gives to paste. */
export function commandsFor(message: string | undefined, dropped: string, run: FixRun): string[] {
  return fixCommands(message, dropped, run).map((c) => c.line);
}

/** The note's first line after the file's name, and the lines around the object's key: {@link readFailureNote} finds them. */
const FIRST_LINE_END = ' could not be registered as an IVR prompt.\n';
const OBJECT_LINE = '\nObject:  ';
const FAILED_LINE = '\nFailed:  ';

/**
 * A note {@link failureText} wrote, for its failed copy renamed from `from` to `to` within failed/
 * (paths relative to the drop folder): its commands and its advice to delete the copy name the new
 * path. A review found the moved note still pointing at a file that was no longer there.
 */
export function noteForRenamedCopy(text: string, from: string, to: string): string {
  return text
    .split('\n')
    .map((line) => (line.startsWith('Command: ') || line.startsWith('Or:      ') ? line.replace(` ${shellPath(from)} `, ` ${shellPath(to)} `) : line.replace(`until you delete ${from};`, `until you delete ${to};`)))
    .join('\n');
}

/** The message's example commands for this file, with what running one does. */
function commandLines(n: FailureNote): string[] {
  const commands = n.run ? fixCommands(n.message, n.file, n.run) : [];
  if (commands.length === 0) return [];
  // A trial pasted `lame … 'hold music.mp3'` for `hold music.wav`: registered, but status kept the
  // .wav as failed, and nothing said why. Said of the name that differs, not of every command.
  const renamed = [...new Set(commands.map((c) => c.output).filter((o) => o !== n.file))];
  return [
    ...commands.map((c, i) => `${i === 0 ? 'Command:' : 'Or:     '} ${c.line}`),
    `         (the message's example${commands.length > 1 ? 's' : ''}, for this file: the fixed file goes straight into the drop folder, which takes it in)`,
    ...renamed.map((o) => `         (${o} is a new name: ${n.file} stays listed as failed until you delete ${n.run?.copy}; do that once ${o} is registered)`),
    // A trial ran the commands of speech.flac's note and speech.ogg's: both made speech.wav, and the
    // second registered the name again (a quota slot, and a registration left behind in CCC).
    // The same with two fixes that keep their extensions (speech.mp3 and speech.wav, both too large).
    // A trial dropped a recording again after its fix had registered, and ran the command again.
    ...(n.registeredAs ? [`         (${n.registeredAs.key} is registered already, FileId ${n.registeredAs.fileId}: if that is this recording fixed, do not run this: CCC would register the name again)`] : []),
    ...(n.samePrompt?.length ? [`         (${n.samePrompt.join(' and ')} ${n.samePrompt.length > 1 ? 'are' : 'is'} this prompt in another format, whose note gives a fix too: run the command of one of them only, or CCC registers the name twice)`] : []),
  ];
}

/**
 * When the failure a note {@link failureText} wrote for `bucket` was recorded (its `Failed:` line):
 * which of an object's notes is its latest, however often a note was touched since (marked fixed,
 * moved with its copy, opened in an editor).
 */
export function failedAtOf(text: string, bucket: string): number | undefined {
  const at = text.lastIndexOf(` in bucket ${bucket}${FAILED_LINE}`);
  const m = at < 0 ? null : /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)([+-]\d\d:\d\d)/.exec(text.slice(at + ` in bucket ${bucket}${FAILED_LINE}`.length));
  return m ? Date.parse(`${m[1]}T${m[2]}${m[3]}`) : undefined;
}

/** Whether a note {@link failureText} wrote warns that its file is the rest of a paused copy (its fix then is {@link REST_FIX}). */
export function warnsPausedRest(text: string): boolean {
  return text.includes('\nWarning: ') && text.includes(`\nFix:     ${REST_FIX}\n`);
}

/** The text of `<name>.error.txt`: reason, fix, and where the file was registered. */
export function failureText(n: FailureNote): string {
  return [
    `${n.file}${FIRST_LINE_END.trimEnd()}`,
    '',
    `Error:   ${n.code ?? '(no code)'}`,
    `Message: ${n.message ?? '(no message)'}`,
    // With a warning, the code's own fix is the wrong one (see restOfPausedCopy): not repeated.
    ...(n.warning ? [`Warning: ${n.warning}`, `Fix:     ${REST_FIX}`] : [`Fix:     ${fixFor(n.code)}`, ...commandLines(n)]),
    '',
    `${OBJECT_LINE.slice(1)}${n.key} in bucket ${n.bucket}`,
    `${FAILED_LINE.slice(1)}${formatDateTime(n.atMs, n.offsetMinutes)}${n.failedBeforeMs !== undefined ? ` (the same file failed under this name before, at ${formatDateTime(n.failedBeforeMs, n.offsetMinutes)}: that result was kept, nothing was sent again)` : ''}`,
    '',
    'This file stays here as a record: you do not need to remove it before dropping the fixed one.',
    'Once you have dealt with it (fixed it under another name, say), delete it from failed/ (while the',
    'stack runs, or while it is stopped: then when it starts): this note goes with it, and its object is',
    'deleted from the local bucket too, so the report stops listing it as needing action (not while a',
    'file of its name waits to be sent, the object holds a later upload, or another failed copy of it is',
    'here: a line says which).',
    '',
  ].join('\n');
}

/**
 * The dropped file's name and its object's key, read back from a note {@link failureText} wrote
 * for `bucket` (the drop folder finds a failed file's object this way after a restart). The key is
 * the text between an `Object:` line's start and ` in bucket <bucket>` before `Failed:`, and ends
 * with the file's name (a key is the prefix and that name): of the places that fit, the last, so a
 * message printed above cannot stand in for it.
 */
export function readFailureNote(text: string, bucket: string): { file: string; key: string } | undefined {
  const tail = ` in bucket ${bucket}${FAILED_LINE}`;
  for (let first = text.indexOf(FIRST_LINE_END); first >= 0; first = text.indexOf(FIRST_LINE_END, first + 1)) {
    const file = text.slice(0, first);
    for (let start = text.lastIndexOf(OBJECT_LINE); start > first; start = text.lastIndexOf(OBJECT_LINE, start - 1)) {
      const end = text.indexOf(tail, start + OBJECT_LINE.length);
      const key = end < 0 ? '' : text.slice(start + OBJECT_LINE.length, end);
      if (end >= 0 && key.endsWith(file)) return { file, key };
    }
  }
  return undefined;
}

/** What a failed copy's note gets once its name is registered (appended: the note stays the record of the failure). */
export function fixedSinceText(fileId: number, atMs: number, offsetMinutes: number, movedTo: string | undefined): string {
  return [
    `Since:   dealt with: this name was dropped again and registered at ${formatDateTime(atMs, offsetMinutes)} as FileId ${fileId}${movedTo ? ` (now ${movedTo})` : ''}.`,
    '         Delete this file once you no longer need it, and this note goes with it.',
    '',
  ].join('\n');
}

/**
 * What a failed copy's note gets when the same prompt in another format (`key`, a fix of it most
 * likely) is registered: a trial ran the second of two notes' commands after the first had
 * registered, and CCC listed the name twice.
 */
export function namesakeSinceText(key: string, fileId: number, atMs: number, offsetMinutes: number, hasCommand: boolean): string {
  return [
    `Since:   ${key}${NAMESAKE_SINCE}${formatDateTime(atMs, offsetMinutes)} as FileId ${fileId}.`,
    `         If that is this recording fixed, there is nothing left to do${hasCommand ? ': do not run the command above (CCC would register the name again)' : ''}.`,
    '         Delete this file once you no longer need it, and this note goes with it.',
    '',
  ].join('\n');
}

/** What {@link namesakeSinceText}'s line says: a note that has one gets no second. */
export const NAMESAKE_SINCE = ', this prompt in another format, was registered at ';

/** What {@link savedOverSinceText}'s line says: a note that has one gets no second. */
export const SAVED_OVER_SINCE = 'other bytes were saved over this file';

/** What a failed copy's note gets when other bytes are saved over the copy (`notSent`: why they are not sent, and what to do). */
export function savedOverSinceText(atMs: number, offsetMinutes: number, notSent: string): string {
  return `Since:   ${SAVED_OVER_SINCE} (seen at ${formatDateTime(atMs, offsetMinutes)}): it is no longer the file that failed, and\n         ${notSent}.\n`;
}

/** What an earlier failed copy's note gets when the same prompt fails later in another format (`copy`: the later one's path in failed/). */
export function samePromptSinceText(copy: string): string {
  return `Also:    ${copy} failed since: this prompt in another format, whose note gives a fix too. Run the command of one of them only, or CCC registers the name twice.\n`;
}

/** What `<name>.cut-short.txt` in done/ says: the file was registered cut short, and how to register it whole. */
export interface CutShortNote {
  /** The file in done/, relative to the drop folder: `done/x.mp3`. */
  copy: string;
  key: string;
  bucket: string;
  fileId: number;
  takenBytes: number;
  nowBytes: number;
}

const CUT_FILEID_LINE = 'FileId:  ';
const CUT_OBJECT_LINE = 'Object:  ';

/** The text of `<name>.cut-short.txt`; {@link readCutShortNote} reads back its FileId and key. */
export function cutShortText(n: CutShortNote): string {
  return [
    `${n.copy} was registered in CCC cut short.`,
    '',
    `${CUT_FILEID_LINE}${n.fileId}`,
    `CCC got the first ${n.takenBytes} bytes; the file here has ${n.nowBytes}.`,
    '',
    'The copy into the drop folder paused longer than the settle time, so the stack took what had been',
    'copied so far and CCC registered it; the copy then went on into this file, which is now complete.',
    `Copy ${n.copy} into the drop folder itself to register it whole (a new FileId and a quota slot), and`,
    `use the new FileId in your IVR flow, not ${n.fileId}. Start the stack with a longer --settle-ms where copies pause.`,
    '',
    `${CUT_OBJECT_LINE}${n.key} in bucket ${n.bucket}`,
    '',
  ].join('\n');
}

/** The FileId and key a note {@link cutShortText} wrote for `bucket` names; undefined when it is not one. */
export function readCutShortNote(text: string, bucket: string): { fileId: number; key: string } | undefined {
  const id = new RegExp(`^${CUT_FILEID_LINE}(\\d+)$`, 'm').exec(text);
  const start = text.lastIndexOf(`\n${CUT_OBJECT_LINE}`);
  const end = text.lastIndexOf(` in bucket ${bucket}\n`);
  if (!id || start < 0 || end <= start) return undefined;
  return { fileId: Number(id[1]), key: text.slice(start + 1 + CUT_OBJECT_LINE.length, end) };
}
