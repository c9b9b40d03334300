/**
 * The stack's one summary line after a burst of files, as plain counting: outcomes since the
 * stack was last idle, so the line adds up to the file lines printed just above it (the lines of
 * deferred files only said again at a restart, `still deferred from before the restart`, or
 * deferred again to a later day, aside: nothing happened to them).
 */
import type { DropEvent } from './drop-folder';
import { STILL_TODAY_SHORT } from './file-state';

/** Outcomes counted since the stack was last idle, and how many files were dropped meanwhile. */
export interface BurstCounts {
  sent: number;
  uploaded: number;
  /** Of `uploaded`, copies of a version registered before: nothing new was sent to CCC. */
  already?: number;
  failed: number;
  deferred: number;
  deferredDay?: string;
  /** Of `deferred`, files whose line said they may still go today (their full day is today's, our own count filled it). */
  deferredToday?: number;
  /**
   * Files that waited already and were deferred again to a later day (a full day again): not
   * handled, but said after the counts, or a trial read `3 uploaded` under a pass line that had
   * just put three more off to the next day.
   */
  deferredAgain?: number;
  deferredAgainDay?: string;
  /**
   * Outcomes of files a recovery pass whose line was printed settled: a trial read "5 files
   * handled" and the pass's "5 files registered" as ten files. Left out when there are none.
   */
  byPass?: number;
  /** How many printed pass lines those are (2 or more: "the recovery passes above"). */
  passes?: number;
}

/** A summary to print: the counts and their total. */
export type BurstSummary = BurstCounts & { handled: number };

const empty = (): BurstCounts => ({ sent: 0, uploaded: 0, failed: 0, deferred: 0 });

/** Counts drop-folder events until the stack is idle again. */
export class Burst {
  private counts = empty();
  /** The object key of each outcome counted. */
  private outcomes: string[] = [];
  /** Keys the printed recovery passes settled since the last summary, each with the pass's number. */
  private byPass = new Map<string, number>();
  private passesPrinted = 0;
  /** Keys deferred already (in this run, or said so at its start), across summaries. */
  private deferredBefore = new Set<string>();

  /** Counts one event of the drop folder. */
  count(e: DropEvent): void {
    if (e.kind === 'sent') this.counts.sent++;
    if (e.kind === 'uploaded') this.counts.uploaded++;
    // A trial's exact re-drop read `2 uploaded` when one was sent: said apart.
    if (e.kind === 'uploaded' && e.alreadyRegistered) this.counts.already = (this.counts.already ?? 0) + 1;
    if (e.kind === 'failed') this.counts.failed++;
    // A new version (sent, or copied over the one waiting) is a new file: its deferral counts.
    if (e.kind === 'uploaded' || e.kind === 'failed' || e.kind === 'withdrawn' || e.kind === 'replaced' || (e.kind === 'sent' && !e.resumed)) this.deferredBefore.delete(e.key);
    // Deferred again to a later day (a day full again), or only said again at start as the last
    // run left it: nothing happened to the file (a trial's summaries counted 9 files "handled"
    // at each next-day, when one was registered).
    const isDeferral = e.kind === 'status' && e.status === 'deferred';
    const deferred = isDeferral && !e.resumed && !this.deferredBefore.has(e.key);
    if (isDeferral && !e.resumed && !deferred) {
      this.counts.deferredAgain = (this.counts.deferredAgain ?? 0) + 1;
      this.counts.deferredAgainDay = e.day ?? this.counts.deferredAgainDay;
    }
    if (isDeferral) this.deferredBefore.add(e.key);
    if (deferred) {
      this.counts.deferred++;
      this.counts.deferredDay = e.day ?? this.counts.deferredDay;
      if (e.today) this.counts.deferredToday = (this.counts.deferredToday ?? 0) + 1;
    }
    if (e.kind === 'uploaded' || e.kind === 'failed' || deferred) this.outcomes.push(e.key);
  }

  /** Call when a recovery pass's line is printed, with the keys it settled: the summary says which of its outcomes those are. */
  passPrinted(keys: Iterable<string>): void {
    const pass = ++this.passesPrinted;
    for (const k of keys) this.byPass.set(k, pass);
  }

  /**
   * Call when the stack is idle: returns the burst to summarise, if it had two outcomes or more (a
   * single file's own line says it all), and starts counting again either way, so a file never
   * rolls into a later burst's figures.
   */
  settle(): BurstSummary | undefined {
    const c = this.counts;
    const handled = c.uploaded + c.failed + c.deferred;
    // A pass settled one outcome of its key: a new file of the same name held while that one
    // waited, and sent after it, is not the pass's too.
    const marks = new Map(this.byPass);
    const passOf = this.outcomes.flatMap((k) => {
      const pass = marks.get(k);
      marks.delete(k);
      return pass === undefined ? [] : [pass];
    });
    const byPass = passOf.length;
    const passes = new Set(passOf).size;
    this.outcomes = [];
    this.byPass.clear();
    if (handled === 0) return undefined;
    this.counts = empty();
    return handled < 2 ? undefined : { ...c, handled, ...(byPass > 0 ? { byPass, ...(passes > 1 ? { passes } : {}) } : {}) };
  }
}

/**
 * `3 files handled: 2 uploaded, 1 failed, 1 deferred to 2026-11-27` (without the quota part), and
 * `; 2 of them by the recovery pass above` where a printed pass line counts some of the same files.
 */
export function burstLine(b: BurstSummary): string {
  // As their own lines say it, when it is true of every one of them (a day CCC closed stays closed).
  const today = b.deferredDay && b.deferredToday === b.deferred ? ` at the earliest, ${STILL_TODAY_SHORT}` : '';
  const deferred = b.deferred > 0 ? `, ${b.deferred} deferred${b.deferredDay ? ` to ${b.deferredDay}${today}` : ''}` : '';
  // A trial read "all of them by the recovery pass above" under a pass line of 1 file: the other 9
  // were the pass's at start, printed minutes before.
  const pass = b.byPass ? `; ${b.byPass >= b.handled ? 'all' : b.byPass} of them by the recovery ${b.passes ? `passes above (${b.passes})` : 'pass above'}` : '';
  const already = b.already ? ` (${b.already === b.uploaded ? (b.uploaded === 1 ? '' : 'all ') : `${b.already} `}already registered before: nothing new sent)` : '';
  const again = b.deferredAgain ? `; ${b.deferredAgain} more waiting from before deferred again${b.deferredAgainDay ? ` to ${b.deferredAgainDay}` : ''}` : '';
  return `${b.handled} files handled: ${b.uploaded} uploaded${already}, ${b.failed} failed${deferred}${pass}${again}`;
}

/**
 * The quota part of the summary. `registered`: what CCC lists today; `submitted`: what the
 * functions count against the quota (the send log), which also holds files CCC refused (a trial's
 * UploadRejected) and files of calls CCC answered with an error, whose answer was lost or that a
 * stop cut off: a trial read `registered in CCC today 48/50` beside a file deferred for a full
 * quota. Said apart only when the two differ.
 */
export function quotaPart(registered: number, submitted: number | undefined, quota: number): string {
  // More in CCC than the functions sent (`ccc quota` registers others' files): a trial read 50/50
  // here beside a report's `40/50 files submitted`.
  if (submitted !== undefined && submitted < registered) return `registered in CCC today ${registered}/${quota} (the functions submitted ${submitted}; CCC counts files registered by other means too)`;
  if (submitted === undefined || submitted === registered) return `registered in CCC today ${registered}/${quota}`;
  return `quota today ${submitted}/${quota} files submitted, ${registered} registered in CCC (a file CCC refused counts too, and so do the files of a call CCC answered with an error, whose answer was lost, or that a stop cut off)`;
}
