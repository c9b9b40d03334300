/**
 * The drop folder's rules as pure functions: which names are never taken, when a file counts as
 * complete, in which order files are sent, and how a name clash is resolved without overwriting.
 */

/** Top-level folders of the drop folder that the stack owns; files inside them are never taken. */
export const RESERVED_DIRS = { waiting: 'waiting', done: 'done', failed: 'failed' } as const;

/** Beside a failed file: `<name>.error.txt`. */
export const ERROR_SUFFIX = '.error.txt';

/** The note the stack leaves beside a file in done/ that was registered cut short (a paused copy went on into it). */
export const CUT_SHORT_SUFFIX = '.cut-short.txt';

/** The lock file's name inside the drop folder (hidden, so it is never taken either). */
export const LOCK_NAME = '.ivr-audio-sync.lock';

/**
 * Names that belong to a copy still in progress or to an editor or OS, never to a finished prompt:
 * browsers' partial downloads, editors' temp/lock/swap files, hidden files, OS thumbnails.
 */
const IGNORED: RegExp[] = [/^\./, /^~/, /\.part$/i, /\.partial$/i, /\.tmp$/i, /\.temp$/i, /\.crdownload$/i, /\.download$/i, /\.swp$/i, /\.swx$/i, /~$/, /^thumbs\.db$/i, /^desktop\.ini$/i];

/** How long a fix command's hidden output may stay unchanged before it is taken for one stopped half-way. */
export const STOPPED_FIX_MS = 60_000;

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

/**
 * The longest file name (one path segment) most file systems store, in bytes: ext4, APFS, NTFS
 * (in UTF-16 units, which never exceed the UTF-8 bytes). A name longer than this cannot be created.
 */
export const NAME_MAX_BYTES = 255;

/** An extension longer than this is part of the name, not a type (`a.very long sentence`). */
const MAX_EXT_BYTES = 16;

/**
 * `base` (one path segment) with `suffix` before its extension, shortened so that it and `reserve`
 * more bytes fit in {@link NAME_MAX_BYTES}: the end of the stem gives way to `…`, the suffix and
 * the extension stay, so `(2)` and `.mp3` are never cut off. Cuts between characters, never
 * inside one.
 */
export function fitName(base: string, suffix = '', reserve = 0): string {
  const dot = base.lastIndexOf('.');
  const hasExt = dot > 0 && Buffer.byteLength(base.slice(dot)) <= MAX_EXT_BYTES;
  const stem = hasExt ? base.slice(0, dot) : base;
  const ext = hasExt ? base.slice(dot) : '';
  const fits = (s: string) => Buffer.byteLength(s) + reserve <= NAME_MAX_BYTES;
  if (fits(stem + suffix + ext)) return stem + suffix + ext;
  const chars = Array.from(stem);
  while (chars.length > 0 && !fits(chars.join('') + '…' + suffix + ext)) chars.pop();
  return chars.join('') + '…' + suffix + ext;
}

/**
 * `menus/main menu.wav`, 2 → `menus/main menu (2).wav`; the first candidate is the name itself.
 * With `reserve`, the last segment leaves that many bytes free (for a `.error.txt` after it).
 */
export function withSuffix(rel: string, n: number, reserve = 0): string {
  const slash = rel.lastIndexOf('/');
  return rel.slice(0, slash + 1) + fitName(rel.slice(slash + 1), n <= 1 ? '' : ` (${n})`, reserve);
}

/**
 * The first of `rel`, `rel (2)`, `rel (3)` … for which `taken` is false: a file that arrives in
 * done/ or failed/ never replaces an earlier one with the same name. `taken` gets the clash
 * number too, for names derived from it (the failed file's note).
 */
export function freeName(rel: string, taken: (candidate: string, n: number) => boolean): string {
  for (let n = 1; ; n++) {
    const candidate = withSuffix(rel, n);
    if (!taken(candidate, n)) return candidate;
  }
}

/**
 * The note beside failed file number `n` of `rel` (see {@link freeName}): `<name>.error.txt`, or,
 * when that would be too long a name, the name shortened with `…` before its extension (the
 * clash number kept), so the note can always be written and still sorts beside its file.
 */
export function noteName(rel: string, n: number): string {
  return withSuffix(rel, n, Buffer.byteLength(ERROR_SUFFIX)) + ERROR_SUFFIX;
}

/** How often to scan: often enough to see a settle interval several times, never busily. */
export function scanIntervalMs(settleMs: number): number {
  return Math.min(500, Math.max(50, Math.floor(settleMs / 4)));
}
