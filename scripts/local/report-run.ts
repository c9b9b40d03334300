/**
 * Runs the quota-report bundle once (a recovery pass, which writes a day's report when one is due
 * or named) and saves the report page where a browser can open it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TIMER_TRIGGER_NAME } from '../lib/deploy-spec';
import type { FunctionInstance } from './instance';
import { dayAfter } from '../../shared/core/zone';
import { inCallText } from '../../shared/core/report';
import { goesOutByItself } from './file-state';
import { inDropFolderWords } from './fixes';

/** One run: its one-line summary and, when the function stored one, the page's path. */
export interface ReportRun {
  ok: boolean;
  /** The day reported, when the pass wrote a report. */
  day?: string;
  /** The report's line when one was written, else what the pass did. */
  summary: string;
  /** What the pass did besides reporting: `1 file registered`, `nothing to do`. */
  pass: string;
  /** Whether the pass did something an operator should hear of (sent, settled, a rejection, a report). */
  noteworthy: boolean;
  page?: string;
  /** The day reported had nothing in it: the pass's line leaves the report out. */
  emptyDay?: true;
  /** What the function returned, when it ran to its end. */
  result?: RecoveryResultShape;
}

/** A file the pass moved on (shared/workflow/recovery.ts SettledFile). */
export interface SettledFileShape {
  key: string;
  status: string;
  code?: string;
  deferredDay?: string;
}

/** What quota-report returns (shared/workflow/recovery.ts `RecoveryResult`), as much as is shown here. */
export interface RecoveryResultShape {
  sent: boolean;
  settled: number;
  registered?: number;
  /** Each settled file as its object shows it now (the function's RecoveryResult.files). */
  files?: SettledFileShape[];
  reviews?: { checked: number; changed: number; rejected: string[] };
  reportRefused?: string;
  report?: {
    day: string;
    /** Unset when the page kept a later day's report (see writeReport in shared/workflow/recovery.ts). */
    htmlKey?: string;
    report: { day: string; final: boolean; quota: { submitted: number; limit: number; closedByCcc?: true; inCall?: number }; files: Record<string, number>; failedCleared?: number; review: Record<string, number>; backlog: { deferred: number }; needsAction: Array<{ status: string }>; sameName?: { name: string; files: unknown[] }[] };
  };
}

/**
 * Invokes quota-report with a timer event (its `Message` is the day, or empty for the timer's own
 * choice) and copies the page it stored into `<dataDir>/reports/index.html`. `name` words a file
 * the pass moved on; `told` picks those the stack's terminal has told of already.
 */
export async function runReport(instance: FunctionInstance, dataDir: string, fetchObject: (key: string) => Promise<Buffer | undefined>, message = '', name?: (file: SettledFileShape) => string, told?: (file: SettledFileShape) => boolean): Promise<ReportRun> {
  const res = await instance.invoke({ Type: 'Timer', TriggerName: TIMER_TRIGGER_NAME, Time: new Date().toISOString(), Message: message });
  if (!res.ok) {
    const failed = `failed: ${res.error.code ?? ''} ${res.error.message}`.replace(/ +/g, ' ');
    return { ok: false, noteworthy: true, pass: failed, summary: `report ${failed}` };
  }
  const pass = res.result as RecoveryResultShape;
  // The pass's own list names what it moved on, files whose objects are gone included (withdrawn
  // from waiting/ before the pass): comparing the bucket before and after could name only the others.
  // Those the stack has told of already (`told`: its `withdrawn` lines, at its start or while it
  // ran) are left out, counts too: a trial read each withdrawal twice, the second time as "8 other
  // files updated".
  const already = told ? (pass.files ?? []).filter((f) => f.status !== 'uploaded' && told(f)) : [];
  const shown = already.length === 0 ? pass : { ...pass, settled: pass.settled - already.length, files: pass.files?.filter((f) => !already.includes(f)) };
  const did = passSummary(shown, name && shown.files?.filter((f) => f.status !== 'uploaded').map(name));
  const noteworthy = isNoteworthy(shown);
  if (pass.reportRefused) return { ok: false, noteworthy: true, result: pass, pass: did, summary: `report not written: ${pass.reportRefused}` };
  // A pass writes the day's report once, after the day ends, or whenever a day is named.
  if (!pass.report) return { ok: true, noteworthy, result: pass, pass: did, summary: `recovery pass: ${did}; no report due` };
  const r = pass.report;
  const html = r.htmlKey ? await fetchObject(r.htmlKey) : undefined;
  let page: string | undefined;
  if (html) {
    page = path.join(dataDir, 'reports', 'index.html');
    fs.mkdirSync(path.dirname(page), { recursive: true });
    fs.writeFileSync(page, inDropFolderWords(html.toString('utf8')));
  }
  const f = r.report.files;
  return {
    ok: true,
    noteworthy,
    pass: did,
    day: r.report.day,
    page,
    result: pass,
    // A pass with news of its own still does not tell of an empty day's report (a trial read
    // "report 2026-11-26: 0/50 files submitted" for the day before its first start).
    ...(dayHadAnything(r.report) ? {} : { emptyDay: true as const }),
    summary: `report ${r.report.day}${r.report.final ? '' : ' so far'}: ${r.report.quota.submitted}/${r.report.quota.limit} files submitted${r.report.quota.inCall ? ` (${inCallText(r.report.quota.inCall)})` : ''}${r.report.quota.closedByCcc ? ' (CCC reports the day full)' : ''}; ${f.uploaded} uploaded, ${f.failed} failed${r.report.failedCleared ? ` (${r.report.failedCleared} since deleted or replaced)` : ''}, ${f.deferred} deferred${f.retrying ? `, ${f.retrying} retrying` : ''}; review ${r.report.review.approved} approved, ${r.report.review.rejected} rejected, ${r.report.review.pending} pending; backlog ${r.report.backlog.deferred} deferred; ${actionNote(r.report.needsAction)}${sameNameNote(r.report.sameName)}`,
  };
}

/**
 * `2 file(s) to fix, 10 deferred or retrying (they go out by themselves)`: the report's needs-action list, split
 * as status splits it. A trial read "10 file(s) need action" for 10 deferred files beside status's
 * "Nothing to fix".
 */
export function actionNote(needsAction: Array<{ status: string }>): string {
  const waiting = needsAction.filter((a) => goesOutByItself(a.status)).length;
  const fix = needsAction.length - waiting;
  return `${fix === 0 ? 'nothing to fix' : `${fix} file(s) to fix`}${waiting > 0 ? `, ${waiting} deferred or retrying (${waiting === 1 ? 'it goes out by itself' : 'they go out by themselves'})` : ''}`;
}

/** `; names CCC lists more than once: menu (2 registrations)`: see the report page's list. */
function sameNameNote(names: { name: string; files: unknown[] }[] | undefined): string {
  return names?.length ? `; names CCC lists more than once: ${names.map((n) => `${n.name} (${n.files.length} registrations)`).join(', ')} (the page lists them)` : '';
}

/**
 * Whether the timer's pass gets a line: it settled a file, found a rejection, or wrote the report
 * of a day that had something in it. The report of a day with nothing at all (such as the day
 * before a new state folder's first pass, which the pass reports as it would any ended day) is
 * still written, to the bucket and (unless it shows a later day's report so far) the page,
 * without a line saying "0 files".
 */
export function isNoteworthy(pass: Pick<RecoveryResultShape, 'settled' | 'reviews' | 'report'>): boolean {
  if (pass.settled > 0 || (pass.reviews?.rejected.length ?? 0) > 0) return true;
  const r = pass.report?.report;
  return r !== undefined && dayHadAnything(r);
}

/** Whether a day's report has anything in it: a report of a day with nothing at all is written without a line. */
function dayHadAnything(r: NonNullable<RecoveryResultShape['report']>['report']): boolean {
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  return r.quota.submitted > 0 || sum(r.files) > 0 || sum(r.review) > 0 || r.backlog.deferred > 0 || r.needsAction.length > 0;
}

/**
 * A file the pass moved on, for its line: `menu.wav deferred to 2026-11-28` (the day it can go),
 * `hold.mp3 failed (GaveUp)`, or, for a file whose object was gone when its turn came (withdrawn
 * from waiting/, deleted, or overwritten: the new upload is a file of its own), `overflow.mp3 not sent: removed before its turn`.
 */
export function describeSettled(f: SettledFileShape, prefix: string, exists?: (key: string) => boolean): string {
  const file = f.key.startsWith(prefix) ? f.key.slice(prefix.length) : f.key;
  if (f.status === 'deferred' && f.deferredDay) return `${file} deferred to ${dayAfter(f.deferredDay)}`;
  if (f.code === 'ObjectChanged' || f.code === 'ObjectNotFound') {
    // Said of the version that was not sent, where the bucket tells which: a trial read "late
    // notice.wav not sent" just under the line that had registered its newer version.
    if (exists?.(f.key) === true) return `an earlier version of ${file} not sent: replaced by a newer one before its turn`;
    if (exists?.(f.key) === false) return `${file} not sent: removed before its turn`;
    return `${file} not sent: replaced or removed before its turn`;
  }
  return `${file} ${f.status}${f.code ? ` (${f.code})` : ''}`;
}

/**
 * `1 file registered, 2 other files updated (menu.wav deferred to 2026-11-28, hold.mp3 failed
 * (GaveUp)), 2 review states updated, rejected by review: prompts/menu.mp3`, or `nothing to do`.
 * `named`: what became of the files updated other than those registered ({@link describeSettled}).
 */
export function passSummary(pass: { settled: number; registered?: number; reviews?: { changed: number; rejected: string[] } }, named?: string[]): string {
  const parts: string[] = [];
  const registered = pass.registered ?? 0;
  const other = pass.settled - registered;
  if (registered > 0) parts.push(`${registered} file${registered === 1 ? '' : 's'} registered`);
  // Deferred to the next day, put back for a retry, or failed: named when the stack saw which.
  if (other > 0) parts.push(`${other} ${registered > 0 ? 'other ' : ''}file${other === 1 ? '' : 's'} updated${named && named.length > 0 ? ` (${named.join(', ')})` : ''}`);
  const changed = pass.reviews?.changed ?? 0;
  const rejected = pass.reviews?.rejected.length ?? 0;
  if (changed > 0) parts.push(`${changed} review state${changed === 1 ? '' : 's'} updated`);
  // Named on the pass that announces them, which is not always the one that recorded the verdict:
  // a verdict read within minutes of the upload is marked (and announced) by a later pass.
  if (rejected > 0) parts.push(`rejected by review: ${pass.reviews!.rejected.join(', ')}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing to do';
}

/** The stack's line for a recovery pass: what it did, and the report it wrote, if any. */
export function passLine(r: ReportRun): string {
  if (!r.ok) return `recovery pass ${r.pass}`;
  return `recovery pass: ${r.pass}${r.day && !r.emptyDay ? `; ${r.summary}${r.page ? `; page: ${r.page}` : ''}` : ''}`;
}
