/**
 * The stack's terminal: one line per file event, times in the quota day's zone with the offset,
 * the name column measured in display cells so Chinese names line up. `--json` prints the same
 * events as JSON lines.
 */
import { mb } from '../../shared/audio/plan';
import type { DropEvent } from './drop-folder';
import { RESERVED_DIRS } from './drop-rules';
import { QUOTA_USED_UP, STILL_TODAY } from './file-state';
import { distinctKeys, padEndWidth, printable } from './table';
import { wallClock } from '../../shared/core/zone';
import { closedByCcc } from '../../shared/core/job';
import { formatClock } from './time';

/** Width of the file-name column; longer names push the rest of their line right. */
export const NAME_WIDTH = 28;
const LABEL_WIDTH = 9;

/**
 * `49.4 KB`, `5.1 MB`: decimal units, as the function's messages and CCC's 5 MB limit count them,
 * so a file shown as sent at 4.9 MB is never then refused as 5.1 MB.
 */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return mb(bytes);
}

/** `2024-05-01T10:15:02.123+08:00`: ISO 8601 in the quota day's zone. */
export function isoWithOffset(ms: number, offsetMinutes: number): string {
  const iso = wallClock(ms, offsetMinutes);
  const clock = formatClock(ms, offsetMinutes);
  return `${iso}${clock.slice(8)}`;
}

const reason = (code?: string, message?: string) => [code, message].filter(Boolean).join(': ');

/**
 * The registrations CCC lists under a file's name besides its own: `another registration of this
 * file (FileId 1001)`, `prompts/menu.wav (FileId 1002)`, and those of earlier runs whose
 * file the stack cannot name, together (`an earlier registration (FileId 1003)`).
 */
function sameNameOthers(key: string, others: Array<{ key?: string; fileId?: number }>): string {
  const id = (o: { fileId?: number }) => (o.fileId !== undefined ? ` (FileId ${o.fileId})` : '');
  const keyed = others.filter((o) => o.key !== undefined);
  // This file's key among them, so a same-looking other key is marked (distinctKeys).
  const shown = distinctKeys([key, ...keyed.map((o) => o.key!)]).slice(1);
  // Not "earlier": an operator going back to an older recording drops bytes registered before the other ones.
  const named = keyed.map((o, i) => `${o.key === key ? 'another registration of this file' : shown[i]}${id(o)}`);
  const unnamed = others.filter((o) => o.key === undefined).map((o) => o.fileId);
  const earlier = unnamed.length === 0 ? [] : [unnamed.length === 1 ? `an earlier registration (FileId ${unnamed[0]})` : `earlier registrations (FileId ${unnamed.join(', ')})`];
  return [...named, ...earlier].join(', ');
}

/** The state word (`sent`, `deferred`, `uploaded` …) and the rest of the line for an event. */
export function describeEvent(e: DropEvent): { state: string; detail: string } {
  switch (e.kind) {
    case 'sent':
      return { state: 'sent', detail: `${formatSize(e.size)} → ${e.key}${e.resumed ? ' (again, after a restart)' : ''}` };
    case 'waiting':
      return { state: 'waiting', detail: e.reason };
    case 'status':
      if (e.status === 'deferred') {
        // CCC closing the day is not our count running out: files registered elsewhere count there too.
        // A burst's files past the quota are deferred as soon as the files before them hold every
        // slot, before those are registered: a trial read "used up" after one upload line.
        const why = closedByCcc(e.message) ? 'CCC says the day is full (FailedOperation.UploadFileOverflow; files registered outside this product count too)' : `${QUOTA_USED_UP} (files sent before it hold every slot of the day)`;
        return { state: 'deferred', detail: `${e.resumed ? 'still deferred from before the restart: ' : ''}${why}; sent automatically${e.day ? ` on ${e.day} at the earliest` : ' on a later quota day'}${e.today ? `, ${STILL_TODAY}` : ''}` };
      }
      if (e.status === 'retrying') return { state: 'retrying', detail: `${reason(e.code, e.message) || 'temporary error'}; retried automatically${e.retriedBy ? `: after the restart, by a recovery pass once it is due (the next pass at ${e.retriedBy})` : ''}` };
      if (e.status === 'queued' && e.recovering) {
        const r = e.recovering;
        return { state: 'queued', detail: `being recovered after the interruption: the invocation taking it in (or its call to CCC) was cut off, so it goes on once that invocation's job lease (${r.leaseSeconds} s, IVR_JOB_LEASE_SECONDS) has lapsed, after ${r.after}${r.by ? `, by the recovery pass at ${r.by} at the latest` : ''}; nothing to do` };
      }
      if (e.status === 'queued') return { state: 'queued', detail: 'waiting for its turn (CCC takes 1 call/s; a call carries several files)' };
      return { state: e.status, detail: reason(e.code, e.message) };
    case 'uploaded':
      // Dropped again after CCC's review rejected it: "uploaded" alone would read as fixed.
      if (e.rejected) return { state: 'uploaded', detail: `FileId ${e.fileId ?? '?'}, rejected at review: the same file was registered before under this name and CCC rejected it; nothing new was sent. Record it again and drop the new recording${e.movedTo ? ` → ${e.movedTo}` : ''}` };
      return { state: 'uploaded', detail: `FileId ${e.fileId ?? '?'}${e.alreadyRegistered ? ' (already registered: the same file was uploaded before under this name; nothing new was sent to CCC)' : ''}${e.converted ? ` (sent as a converted copy: ${e.converted})` : ''}${e.sameName ? ` (CCC also lists ${sameNameOthers(e.key, e.sameName.others)} as "${e.sameName.name}": in CCC's IVR editor, pick the one you mean by its FileId)` : ''}${e.movedTo ? ` → ${e.movedTo}` : ''}` };
    case 'failed':
      return { state: 'failed', detail: `${reason(e.code, e.message) || 'no reason recorded'}${e.failedBefore ? ` (the same file failed under this name before, at ${e.failedBefore}; nothing was sent again)` : ''}${e.warning ? `. Warning: ${e.warning}` : ''}${e.movedTo ? ` → ${e.movedTo}` : ''}${e.note ? ` (how to fix: ${e.note})` : ''}` };
    case 'changed': {
      const outcome = e.outcome === 'uploaded' ? `was registered with FileId ${e.fileId ?? '?'}` : `failed (${reason(e.code, e.message) || 'no reason recorded'})`;
      return { state: 'changed', detail: `the file in waiting/ changed after it was sent: the version sent ${outcome}; the changed file is sent again once it stays unchanged` };
    }
    case 'replaced':
      return { state: 'replaced', detail: 'the file in waiting/ changed while it waited: the new version replaces the one waiting, which is never sent, and is handled on its own' };
    case 'withdrawn':
      return { state: 'withdrawn', detail: e.deleted ? `removed from waiting/ before it was registered: ${e.key} is deleted from the local bucket, so it is not sent` : 'removed from waiting/ before it was sent: nothing is sent' };
    case 'cleared':
      return { state: 'cleared', detail: `removed by you: its object ${e.key} is deleted from the local bucket, so status and the report no longer list it as needing action${e.neverCounted ? '' : ' (the report still counts it as failed on its day, as since deleted or replaced)'}` };
    case 'removed':
      return { state: 'removed', detail: `removed by you (the stack removed its note with it); its object ${e.key} stays, as ${e.objectStays}` };
    case 'skipped':
      return { state: 'not taken', detail: e.why };
    case 'error':
      return { state: 'error', detail: e.message };
  }
}

/** One terminal line: `10:15:02+08:00  welcome.mp3    uploaded   FileId 1001 → done/welcome.mp3`. */
export function fileLine(ms: number, offsetMinutes: number, file: string, state: string, detail: string): string {
  return `${formatClock(ms, offsetMinutes)}  ${padEndWidth(printable(file), NAME_WIDTH)}  ${state.padEnd(LABEL_WIDTH)}  ${printable(detail)}`.trimEnd();
}

/** Writes the stack's lines, human or JSON. */
export class Output {
  constructor(
    private readonly json: boolean,
    private readonly offsetMinutes: number,
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {}

  /** A file event. */
  file(e: DropEvent, now = Date.now()): void {
    const { state, detail } = describeEvent(e);
    if (this.json) this.write(JSON.stringify({ type: 'file', time: isoWithOffset(now, this.offsetMinutes), state, ...e }));
    else this.write(fileLine(now, this.offsetMinutes, e.file, state, detail));
  }

  /** Anything else worth one line (a report, a burst settling, stopping). */
  note(type: string, fields: Record<string, unknown>, human: string, now = Date.now()): void {
    if (this.json) this.write(JSON.stringify({ type, time: isoWithOffset(now, this.offsetMinutes), ...fields }));
    else this.write(`${formatClock(now, this.offsetMinutes)}  ${human}`);
  }

  /** The start-up banner (human) or the `ready` line (JSON). */
  banner(lines: string[], fields: Record<string, unknown>): void {
    if (this.json) this.write(JSON.stringify({ type: 'ready', ...fields }));
    else this.write(lines.join('\n'));
  }
}

/**
 * The last line of a stop: what waits for the next start. `held`: files held in the drop folder
 * behind a waiting file of the same name (a trial counted four pending files where it said three).
 */
export function stoppedLine(waiting: number, held: number): string {
  if (waiting === 0) return 'stopped; the local bucket is kept for next time';
  const also = held > 0 ? `, as ${held === 1 ? 'is the file' : `are the ${held} files`} held in the drop folder behind one of the same name` : '';
  return `stopped; the local bucket is kept for next time, and the ${waiting} file(s) in ${RESERVED_DIRS.waiting}/ are picked up again at the next start${also}`;
}

/**
 * The stopping line. `running`: invocations sent and not answered when the signal came; `cutOff`:
 * their function processes have exited meanwhile (a Ctrl-C in the terminal reaches them too), so
 * none of them will finish: saying "letting them finish" would be untrue. `unusedFaults`: faults
 * asked of the local CCC and not used, which the stop forgets.
 */
export function stoppingLine(signal: string, running: { uploads: number; passes: number }, cutOff: boolean, unusedFaults = 0): string {
  // Faults asked of the local CCC live in its memory only: say they go, or the next start looks broken.
  const faults = unusedFaults > 0 ? `; ${unusedFaults} CCC fault(s) asked for (npm run local -- ccc) and not used are forgotten` : '';
  const total = running.uploads + running.passes;
  if (total === 0) return `stopping (${signal})${faults}…`;
  if (!cutOff) return `stopping (${signal}): letting ${total} invocation(s) finish${faults}…`;
  // A trial's Ctrl-C during next-day cut off only the recovery pass, with every file registered
  // already: "their files are picked up" said nothing true, and the day's report came minutes
  // after the next start with nothing to say why.
  const what = [
    ...(running.uploads > 0 ? [`${running.uploads} upload invocation(s), whose files are picked up at the next start`] : []),
    ...(running.passes > 0 ? ['the recovery pass, whose work (a day\'s report it was writing too) the next pass does (at the next start, or the timer\'s first after it)'] : []),
  ];
  return `stopping (${signal}): the function processes were stopped too, cutting off ${what.join(', and ')}${faults}`;
}
