/**
 * The stack's one summary line after a burst of files, as plain counting: outcomes since the
 * stack was last idle, so the line adds up to the file lines printed just above it (the lines of
 * deferred files only said again at a restart, `still deferred from before the restart`, aside:
 * nothing happened to them).
 */
import type { DropEvent } from './drop-folder';

/** Outcomes counted since the stack was last idle, and how many files were dropped meanwhile. */
export interface BurstCounts {
  sent: number;
  uploaded: number;
  failed: number;
  deferred: number;
  deferredDay?: string;
  /**
   * Outcomes that came while a recovery pass whose line was printed ran: a trial read "5 files
   * handled" and the pass's "5 files registered" as ten files. Left out when no pass line was printed.
   */
  duringPass?: number;
}

/** A summary to print: the counts and their total. */
export type BurstSummary = BurstCounts & { handled: number };

const empty = (): BurstCounts => ({ sent: 0, uploaded: 0, failed: 0, deferred: 0 });

/** Counts drop-folder events until the stack is idle again. */
export class Burst {
  private counts = empty();
  private passOutcomes = 0;
  private passShown = false;

  /** Counts one event of the drop folder; `duringPass`: a recovery pass was running when it came. */
  count(e: DropEvent, duringPass = false): void {
    if (e.kind === 'sent') this.counts.sent++;
    if (e.kind === 'uploaded') this.counts.uploaded++;
    if (e.kind === 'failed') this.counts.failed++;
    // A deferred file only said again at start (as the last run left it) was not handled in this run.
    const deferred = e.kind === 'status' && e.status === 'deferred' && !e.resumed;
    if (deferred) {
      this.counts.deferred++;
      this.counts.deferredDay = e.day ?? this.counts.deferredDay;
    }
    if (duringPass && (e.kind === 'uploaded' || e.kind === 'failed' || deferred)) this.passOutcomes++;
  }

  /** Call when a recovery pass's line is printed: the summary then says which outcomes came during it. */
  passPrinted(): void {
    this.passShown = true;
  }

  /**
   * Call when the stack is idle: returns the burst to summarise, if it had two outcomes or more (a
   * single file's own line says it all), and starts counting again either way, so a file never
   * rolls into a later burst's figures.
   */
  settle(): BurstSummary | undefined {
    const c = this.counts;
    const handled = c.uploaded + c.failed + c.deferred;
    const duringPass = this.passShown && this.passOutcomes > 0 ? this.passOutcomes : undefined;
    this.passOutcomes = 0;
    this.passShown = false;
    if (handled === 0) return undefined;
    this.counts = empty();
    return handled < 2 ? undefined : { ...c, handled, ...(duringPass ? { duringPass } : {}) };
  }
}

/**
 * `3 files handled: 2 uploaded, 1 failed, 1 deferred to 2026-11-27` (without the quota part), and
 * `; 2 of them during the recovery pass above` where a printed pass line counts some of the same files.
 */
export function burstLine(b: BurstSummary): string {
  const deferred = b.deferred > 0 ? `, ${b.deferred} deferred${b.deferredDay ? ` to ${b.deferredDay}` : ''}` : '';
  const pass = b.duringPass ? `; ${b.duringPass >= b.handled ? 'all' : b.duringPass} of them during the recovery pass above` : '';
  return `${b.handled} files handled: ${b.uploaded} uploaded, ${b.failed} failed${deferred}${pass}`;
}
