/**
 * The drop folder's rules as pure functions: which names are never taken, when a file counts as
 * complete, in which order files are sent, and how a name clash is resolved without overwriting.
 */

/** Top-level folders of the drop folder that the stack owns; files inside them are never taken. */
export const RESERVED_DIRS = { waiting: 'waiting', done: 'done', failed: 'failed' } as const;

/** Beside a failed file: `<name>.error.txt`. */
export const ERROR_SUFFIX = '.error.txt';

/** The lock file's name inside the drop folder (hidden, so it is never taken either). */
export const LOCK_NAME = '.ivr-audio-sync.lock';

/**
 * Names that belong to a copy still in progress or to an editor or OS, never to a finished prompt:
 * browsers' partial downloads, editors' temp/lock/swap files, hidden files, OS thumbnails.
 */
const IGNORED: RegExp[] = [/^\./, /^~/, /\.part$/i, /\.partial$/i, /\.tmp$/i, /\.temp$/i, /\.crdownload$/i, /\.download$/i, /\.swp$/i, /\.swx$/i, /~$/, /^thumbs\.db$/i, /^desktop\.ini$/i];

/** True for a file or folder name the drop folder must never take (checked for every path segment). */
export function isIgnoredName(name: string): boolean {
  return IGNORED.some((re) => re.test(name));
}

/** A file as seen by one scan of the drop folder. */
export interface Observation {
  /** Path relative to the drop folder, `/`-separated. */
  rel: string;
  size: number;
  mtimeMs: number;
}

interface Watch {
  size: number;
  mtimeMs: number;
  /** When this size and mtime were first seen. */
  since: number;
}

/**
 * Decides when a file is complete: its size and mtime have not changed for `settleMs`, as seen by
 * successive scans. A file seen for the first time is never ready at once, even if its mtime is
 * old (a copy that preserves times, `cp -p`, starts with an old mtime).
 */
export class SettleTracker {
  private watches = new Map<string, Watch>();

  constructor(private readonly settleMs: number) {}

  /**
   * Feeds one complete scan; returns the files that are ready, in drop order. Files no longer
   * present are forgotten, and ready files are forgotten too (the caller takes them).
   */
  observe(scan: Observation[], now: number): Observation[] {
    const present = new Set(scan.map((o) => o.rel));
    for (const rel of [...this.watches.keys()]) if (!present.has(rel)) this.watches.delete(rel);
    const ready: Observation[] = [];
    for (const o of scan) {
      const w = this.watches.get(o.rel);
      if (!w || w.size !== o.size || w.mtimeMs !== o.mtimeMs) {
        this.watches.set(o.rel, { size: o.size, mtimeMs: o.mtimeMs, since: now });
        continue;
      }
      if (now - w.since >= this.settleMs) ready.push(o);
    }
    for (const o of ready) this.watches.delete(o.rel);
    return ready.sort(dropOrder);
  }

  /** Files seen but not yet complete. */
  get settling(): number {
    return this.watches.size;
  }
}

/** Drop order: oldest mtime first, then by name, so quota deferral falls on the latest drops. */
export function dropOrder(a: { rel: string; mtimeMs: number }, b: { rel: string; mtimeMs: number }): number {
  return a.mtimeMs - b.mtimeMs || (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0);
}

/** `menus/main menu.wav`, 2 → `menus/main menu (2).wav`; the first candidate is the name itself. */
export function withSuffix(rel: string, n: number): string {
  if (n <= 1) return rel;
  const slash = rel.lastIndexOf('/');
  const dir = rel.slice(0, slash + 1);
  const base = rel.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? `${dir}${base.slice(0, dot)} (${n})${base.slice(dot)}` : `${dir}${base} (${n})`;
}

/**
 * The first of `rel`, `rel (2)`, `rel (3)` … for which `taken` is false: a file that arrives in
 * done/ or failed/ never replaces an earlier one with the same name.
 */
export function freeName(rel: string, taken: (candidate: string) => boolean): string {
  for (let n = 1; ; n++) {
    const candidate = withSuffix(rel, n);
    if (!taken(candidate)) return candidate;
  }
}

/** How often to scan: often enough to see a settle interval several times, never busily. */
export function scanIntervalMs(settleMs: number): number {
  return Math.min(500, Math.max(50, Math.floor(settleMs / 4)));
}
