/**
 * A file's state as its object's metadata tells it: the only reliable signal (an invocation's
 * return value may say `queued` while another invocation later writes `uploaded`). Read leniently:
 * a status this code does not know yet is shown as it is rather than dropped.
 */
import { DEFAULT_LEDGER_PREFIX } from '../../shared/core/config';
import type { IvrError } from '../../shared/core/errors';
import { checkKey } from '../../shared/core/eligibility';
import { closedByCcc, deferredUntil } from '../../shared/core/job';
import { lineUp } from '../../shared/core/report';
import { META, USER_NAME_META } from '../../shared/core/metadata';
import { customFileName } from '../../shared/core/naming';
import { tryDecodeURIComponent } from '../../shared/core/text';
import { fixFor, REST_FIX_INLINE } from './fixes';
import { nextQuotaDay } from './time';

/** Whether a file in this state needs nothing from the operator: deferred or retrying, it goes out by itself. */
export const goesOutByItself = (state: string): boolean => state === 'deferred' || state === 'retrying';

/** Why a file was deferred by this product's count (the stack's line says more: output.ts). */
export const QUOTA_USED_UP = 'daily quota used up';

/** What the stack's line and the status add for a file deferred today ({@link mayGoToday}). */
export const STILL_TODAY_SHORT = 'or still today if today has room again';
/** {@link STILL_TODAY_SHORT} with what gives a day room again. */
export const STILL_TODAY = `${STILL_TODAY_SHORT} (a slot given back, a raised quota)`;

/** What the `x-cos-meta-ivr-*` fields say, decoded. */
export interface FileState {
  /** `queued`, `retrying`, `deferred`, `uploaded`, `failed`; undefined before the function wrote one. */
  status?: string;
  fileId?: number;
  review?: string;
  errorCode?: string;
  errorMessage?: string;
  /** When the function wrote this state (epoch ms). */
  atMs?: number;
  /** CCC got a converted copy: `44100Hz/2ch/16bit → 8000Hz/1ch/16bit`. */
  converted?: string;
  /**
   * The name CCC shows for it, worked out from the key and its `ivr-name` as the function does
   * (the `ivr-custom-name` it writes may be cut short to fit the metadata); only when the key is given.
   */
  customName?: string;
}

function decoded(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : (tryDecodeURIComponent(v) ?? v);
}

/**
 * Reads the state from user metadata (names without `x-cos-meta-`, lower-case): the functions' own
 * names (META), but not their strict `readResult`, which drops a status it does not know.
 */
export function readFileState(meta: Record<string, string>, key?: string): FileState {
  const name = key === undefined ? undefined : customFileName(key, meta[USER_NAME_META]);
  const fileId = Number(meta[META.fileId]);
  const at = Date.parse(decoded(meta[META.at]) ?? '');
  return {
    status: decoded(meta[META.status]),
    fileId: Number.isSafeInteger(fileId) && meta[META.fileId] !== undefined ? fileId : undefined,
    review: decoded(meta[META.review]),
    errorCode: decoded(meta[META.errorCode]),
    errorMessage: decoded(meta[META.errorMessage]),
    atMs: Number.isFinite(at) ? at : undefined,
    converted: decoded(meta[META.converted]),
    customName: typeof name === 'string' ? name : undefined,
  };
}

/** A registration the drop folder found cut short (its note in done/): the FileId, and the file there, now complete. */
export interface CutShort {
  fileId: number;
  /** The file in done/, relative to the drop folder: `done/x.mp3`. */
  copy: string;
}

/**
 * When a prompt of the failed file's name with another extension was registered after it failed
 * (`hold music.mp3` for `hold music.wav`, the usual fix of a WAV that holds MP3): most likely its
 * fix, which status cannot see, so it says how this entry goes. A trial had fixed it so and still
 * read "drop the fixed file into the drop folder again".
 */
function fixedAs(key: string, s: FileState, objects: ReadonlyArray<{ key: string; state: FileState }>): string {
  // Any extension of the failed file (a trial's `closing.ogg`, fixed as `closing.wav`), a prompt's of the fix.
  const stem = key.replace(/\.[^./]*$/, '');
  const fix = objects.find((o) => o.key !== key && o.key.replace(/\.(mp3|wav)$/i, '') === stem && /\.(mp3|wav)$/i.test(o.key) && o.state.status === 'uploaded' && (o.state.atMs ?? 0) >= (s.atMs ?? Infinity));
  return fix ? ` (${fix.key} was registered since${fix.state.fileId !== undefined ? `, FileId ${fix.state.fileId}` : ''}: if that is this file fixed, delete this file's copy in failed/ and it is no longer listed here)` : '';
}

/** The drop folder's latest note on an object's failure. */
export interface FailedNote {
  /** The note, relative to the drop folder: `failed/stall (2).mp3.error.txt`; none when the operator deleted it (the copy is then known from the stack's list). */
  note?: string;
  /** The failed copy beside it, when still there: `failed/stall (2).mp3`. */
  copy?: string;
  /** The note warns that the file is the rest of a paused copy (its fix is then not the code's). */
  pausedRest: boolean;
}

/** One thing an operator has to look at (or wait for), with the object it concerns. */
export interface ActionItem {
  key: string;
  kind: 'failed' | 'rejected' | 'cut-short' | 'deferred' | 'retrying';
  /** One line saying why and what happens next. */
  detail: string;
  /** failed: what to do, as `failed/<name>.error.txt` says it. */
  fix?: string;
  /** failed: the copy in the drop folder that stands for it: `failed/photo (2).mp3`. */
  file?: string;
  /** failed: the note beside that copy, when it is there. */
  note?: string;
}

/** Where the functions keep their ledger: the default of `IVR_LEDGER_PREFIX`, which the stack keeps. */
const LEDGER_PREFIX = DEFAULT_LEDGER_PREFIX;

/** Why the function refuses `key` outright (no job, nothing written, in no report); undefined when it takes it in. */
export function refusal(key: string, prefix: string): IvrError | undefined {
  const r = checkKey(key, prefix, LEDGER_PREFIX);
  return typeof r === 'object' ? r : undefined;
}

/**
 * The state of an object the function refuses outright (a key with control characters, too long,
 * not valid Unicode): it writes nothing onto such an object, in the cloud as here, so its
 * metadata alone would say "none yet" forever. It is shown as the drop folder shows it, failed
 * with the function's own code and reason, so status, its needs-action list and failed/ agree.
 */
export function withRefusal(key: string, state: FileState, prefix: string): FileState {
  if (state.status) return state;
  const refused = refusal(key, prefix);
  if (!refused) return state;
  return { ...state, status: 'failed', errorCode: refused.code, errorMessage: refused.message };
}

/**
 * The day a deferred file goes out at the earliest: as its object's message says (the function's
 * own word, from the day the job records: the report says the same), else the day after the
 * deferral was written (a message from before it named the day).
 */
export function deferredDay(s: FileState, offsetMinutes: number): string | undefined {
  if (s.status !== 'deferred') return undefined;
  return deferredUntil(s.errorMessage) ?? (s.atMs !== undefined ? nextQuotaDay(s.atMs, offsetMinutes) : undefined);
}

/**
 * Whether a deferred file's full day is the quota day of `nowMs`, filled by our own count (a day
 * CCC closed stays closed): it still goes out that day if the day has room again (a slot given
 * back, a raised quota), before the day {@link deferredDay} names.
 */
export function mayGoToday(s: FileState, nowMs: number, offsetMinutes: number): boolean {
  const day = deferredDay(s, offsetMinutes);
  return day !== undefined && !closedByCcc(s.errorMessage) && day === nextQuotaDay(nowMs, offsetMinutes);
}

/**
 * The "needs action" list, from metadata (and the drop folder's cut-short notes): failed (with the
 * reason), rejected by review, registered cut short, deferred (with the earliest day it can be
 * sent), retrying (with the last error). Files that are fine or simply in progress are not listed.
 * `quota` puts the deferred files in send order (see inSendOrder); `nowMs` (the stack's clock) lets
 * a file deferred today say it may still go today ({@link mayGoToday}).
 */
export function needsAction(objects: Array<{ key: string; state: FileState; cutShort?: CutShort; failedNote?: FailedNote; queuedAt?: number }>, offsetMinutes: number, quota?: number, nowMs?: number): ActionItem[] {
  const items: ActionItem[] = [];
  const reason = (s: FileState) => [s.errorCode, s.errorMessage].filter(Boolean).join(': ') || 'no reason recorded';
  for (const { key, state: s, cutShort, failedNote } of objects) {
    const where = failedNote?.copy ? { file: failedNote.copy, ...(failedNote.note ? { note: failedNote.note } : {}) } : {};
    // The object still shows the registration the drop folder found cut short (a later one ends it).
    if (s.status === 'uploaded' && cutShort && s.fileId === cutShort.fileId) items.push({ key, kind: 'cut-short', detail: `registered cut short: FileId ${cutShort.fileId} holds only the start of the recording (a copy went on after the stack took it)`, fix: `copy ${cutShort.copy} (now complete) into the drop folder itself to register it whole (a new FileId and a quota slot), and use that FileId in your IVR flow` });
    // Its note warns that the file is the rest of a paused copy: the code's fix would register the end of a recording.
    else if (s.status === 'failed' && failedNote?.pausedRest) items.push({ key, kind: 'failed', detail: `failed: ${reason(s)}. Warning: this may be the rest of a copy that paused (${failedNote.note ?? 'its note'} says why)`, fix: `do not follow the message: ${REST_FIX_INLINE}`, ...where });
    else if (s.status === 'failed') items.push({ key, kind: 'failed', detail: `failed: ${reason(s)}`, fix: fixFor(s.errorCode) + fixedAs(key, s, objects), ...where });
    else if (s.review === 'rejected') items.push({ key, kind: 'rejected', detail: `rejected by review${s.fileId !== undefined ? ` (FileId ${s.fileId})` : ''}: record it again and drop the new recording (the same file again changes nothing)` });
    else if (s.status === 'deferred') {
      const day = deferredDay(s, offsetMinutes);
      // Worded as the stack's line (output.ts), without its note on a burst's timing: a day CCC
      // closed is not our count used up.
      const why = closedByCcc(s.errorMessage) ? 'CCC says the day is full (FailedOperation.UploadFileOverflow)' : QUOTA_USED_UP;
      const today = nowMs !== undefined && mayGoToday(s, nowMs, offsetMinutes) ? `, ${STILL_TODAY}` : '';
      items.push({ key, kind: 'deferred', detail: `deferred: ${why}; sent automatically${day ? ` on ${day} at the earliest` : ' on a later quota day'}${today}` });
    } else if (s.status === 'retrying') items.push({ key, kind: 'retrying', detail: `retrying: ${reason(s)}; retried automatically` });
  }
  const ordered = quota === undefined ? items : inSendOrder(items, objects, quota, offsetMinutes);
  // What to fix first, as the report page lists it; then what goes out by itself (a trial read the
  // one file to fix last, under deferred ones sorted by name).
  return [...ordered.filter((i) => !goesOutByItself(i.kind)), ...ordered.filter((i) => goesOutByItself(i.kind))];
}

/**
 * The deferred files in the order they go out (oldest queued first, as the functions send them),
 * each with its place in line and, when that is later than its earliest day, the day it likely
 * goes: `quota` files a day. A trial read "on 2026-12-01 at the earliest" on six files for a quota
 * of three, listed by name, and could not tell which prompts would be live the next day. Files
 * whose queue time is not known (no `deferred/` entry read) keep their place and say nothing more.
 */
function inSendOrder(items: ActionItem[], objects: Array<{ key: string; state: FileState; queuedAt?: number }>, quota: number, offsetMinutes: number): ActionItem[] {
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const waiting = items.flatMap((item) => {
    const o = byKey.get(item.key);
    const earliestDay = o && deferredDay(o.state, offsetMinutes);
    return item.kind === 'deferred' && o?.queuedAt !== undefined && earliestDay !== undefined ? [{ file: item, queuedAt: o.queuedAt, earliestDay, key: item.key }] : [];
  });
  if (waiting.length === 0) return items;
  const placed = lineUp(waiting, quota).map(({ file, line }) => ({ ...file, detail: `${file.detail} (in line: ${line.place} of ${line.of}${line.likelyDay ? `, so likely on ${line.likelyDay} at ${quota} file${quota === 1 ? '' : 's'} a day` : ''})` }));
  // In send order, where the first of them stood.
  const inLine = new Set(waiting.map((w) => w.file));
  const first = items.findIndex((i) => inLine.has(i));
  const rest = items.filter((i) => !inLine.has(i));
  return [...rest.slice(0, first), ...placed, ...rest.slice(first)];
}
