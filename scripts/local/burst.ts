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
}

/** A summary to print: the counts and their total. */
export type BurstSummary = BurstCounts & { handled: number };

const empty = (): BurstCounts => ({ sent: 0, uploaded: 0, failed: 0, deferred: 0 });

/** Counts drop-folder events until the stack is idle again. */
export class Burst {
  private counts = empty();

  /** Counts one event of the drop folder. */
  count(e: DropEvent): void {
    if (e.kind === 'sent') this.counts.sent++;
    if (e.kind === 'uploaded') this.counts.uploaded++;
    if (e.kind === 'failed') this.counts.failed++;
    // A deferred file only said again at start (as the last run left it) was not handled in this run.
    if (e.kind === 'status' && e.status === 'deferred' && !e.resumed) {
      this.counts.deferred++;
      this.counts.deferredDay = e.day ?? this.counts.deferredDay;
    }
  }

  /**
   * Call when the stack is idle: returns the burst to summarise, if it had two outcomes or more (a
   * single file's own line says it all), and starts counting again either way, so a file never
   * rolls into a later burst's figures.
   */
  settle(): BurstSummary | undefined {
    const c = this.counts;
    const handled = c.uploaded + c.failed + c.deferred;
    if (handled === 0) return undefined;
    this.counts = empty();
    return handled < 2 ? undefined : { ...c, handled };
  }
}

/** `3 files handled: 2 uploaded, 1 failed, 1 deferred to 2026-11-27` (without the quota part). */
export function burstLine(b: BurstSummary): string {
  const deferred = b.deferred > 0 ? `, ${b.deferred} deferred${b.deferredDay ? ` to ${b.deferredDay}` : ''}` : '';
  return `${b.handled} files handled: ${b.uploaded} uploaded, ${b.failed} failed${deferred}`;
}
