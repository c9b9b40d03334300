/**
 * The drop folder, as an operator uses it: copy prompts in; each complete file is uploaded in drop
 * order, waits in `waiting/` while it is being registered (or waits for the next quota day), then
 * lands in `done/` or, with `<name>.error.txt` beside it, in `failed/`. Nothing is overwritten.
 *
 * A file's outcome is read from its object's metadata only (see `file-state.ts`); the caller says
 * when an object may have changed (`objectChanged`), and every scan re-reads the files in flight
 * as well, so a missed notification only delays a move.
 */
import { createHash, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { CUT_SHORT_SUFFIX, ERROR_SUFFIX, freeName, isIgnoredName, NAME_MAX_BYTES, noteName, RESERVED_DIRS, scanIntervalMs, SettleTracker, STOPPED_FIX_MS, withSuffix, type Observation } from './drop-rules';
import { deferredDay, mayGoToday, readFileState, refusal, withRefusal } from './file-state';
import { sharedNames } from '../../shared/core/naming';
import { cutShortText, failureText, fixedSinceText, NAMESAKE_SINCE, namesakeSinceText, SAVED_OVER_SINCE, savedOverSinceText, noteForRenamedCopy, restOfPausedCopy, readFailureNote, samePromptSinceText } from './fixes';
import { formatClock, formatDateTime } from './time';

/** The hex MD5 of a file's bytes: the ETag COS gives a simple upload of them. */
const md5 = (body: Buffer): string => createHash('md5').update(body).digest('hex');

/** The MD5 of a file's bytes, or '' when it cannot be read. */
function md5OfFile(full: string): string {
  try {
    return md5(fs.readFileSync(full));
  } catch {
    return '';
  }
}

/** A key without its extension: the files of one prompt in different formats share it. */
const stemOf = (key: string): string => key.replace(/\.[^./]*$/, '');

/** What is said of a file in done/ or failed/ that other bytes were saved over (`notSent`: why it is not sent, and what to do). */
const savedOver = (notSent: string): string => `other bytes were saved over it since, but ${notSent}`;

/**
 * A file's size, time and inode (a file renamed keeps its inode, a copy does not), or undefined
 * when it cannot be read.
 */
function statOf(full: string): fs.Stats | undefined {
  try {
    return fs.statSync(full);
  } catch {
    return undefined;
  }
}

/**
 * The MD5 of a file's first `n` bytes: whether a file that changed still starts as it did. '' when
 * it holds fewer; undefined when it cannot be read (nothing can be said of it then).
 */
function md5OfStart(full: string, n: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(full, 'r');
    const b = Buffer.alloc(n);
    return fs.readSync(fd, b, 0, n, 0) === n ? md5(b) : '';
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A file's size, or -1 when it cannot be read. */
const sizeOf = (full: string): number => statOf(full)?.size ?? -1;

/**
 * The files under `dir`, as `/`-separated paths relative to `base`, names the drop folder never
 * takes left out (a folder that cannot be read has none): what done/ and failed/ hold.
 */
export function filesUnder(dir: string, base: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (isIgnoredName(e.name)) continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(path.relative(base, full).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out;
}


/** What the drop folder needs to see of an object. */
export interface ObjectView {
  etag: string;
  meta: Record<string, string>;
}

/** Everything the drop folder does, one event per file step; the stack prints one line each. */
export type DropEvent =
  | { kind: 'sent'; file: string; key: string; size: number; resumed: boolean }
  | { kind: 'waiting'; file: string; key: string; reason: string }
  /**
   * `recovering`: a file resumed after a restart that is still `queued` past its normal turn (its
   * invocation was likely cut off by the stop): it goes on once the job lease of that invocation
   * has lapsed (`after`), by the recovery pass at `by` at the latest (times as shown, in the quota
   * day's zone).
   */
  | { kind: 'status'; file: string; key: string; status: string; code?: string; message?: string; day?: string; /** Deferred, its full day today's: it still goes today if the day has room again ({@link mayGoToday}). */ today?: true; /** Said again at start, as the last run left it: nothing happened to it in this run. */ resumed?: true; /** Resumed `retrying`: when the next recovery pass runs (the run that would have retried it is gone; a pass retries it once it is due). */ retriedBy?: string; recovering?: { leaseSeconds: number; afterMs: number; after: string; byMs?: number; by?: string } }
  /**
   * `alreadyRegistered`: this upload was a copy of a version registered before (the function's
   * `Duplicate`); `rejected`: CCC's review rejected that registration (dropping it again changes nothing).
   */
  | { kind: 'uploaded'; file: string; key: string; fileId?: number; movedTo?: string; converted?: string; alreadyRegistered?: true; rejected?: true; sameName?: { name: string; others: Array<{ key?: string; fileId?: number }> } }
  | { kind: 'failed'; file: string; key: string; code?: string; message?: string; movedTo?: string; note?: string; /** What happened just before changes the fix (see restOfPausedCopy). */ warning?: string; /** When the same bytes failed under this name before (their result was kept: nothing was sent again). */ failedBefore?: string }
  /** The file in `waiting/` is no longer the version sent: that version's outcome, and the file is sent again. */
  | { kind: 'changed'; file: string; key: string; outcome: 'uploaded' | 'failed'; fileId?: number; code?: string; message?: string }
  /** Changed in `waiting/` while it waited: uploaded over its object, which replaces the version waiting (never sent). */
  | { kind: 'replaced'; file: string; key: string }
  /** Removed from `waiting/` before its result: its object was deleted, so it is not registered. */
  | { kind: 'withdrawn'; file: string; key: string; deleted: boolean }
  /** A failed file removed from `failed/` (`file`: its path there): its object, still the upload that failed, was deleted. */
  | { kind: 'cleared'; file: string; key: string; /** Refused by name: no report counted it. */ neverCounted?: true }
  /** A failed file removed from `failed/` whose object stays (`objectStays` says why); its note went with it. */
  | { kind: 'removed'; file: string; key: string; objectStays: string }
  /** A file in the drop folder that is not taken, and why (a link, a name not UTF-8, a file saved into done/ or failed/): nothing went wrong. */
  | { kind: 'skipped'; file: string; why: string }
  | { kind: 'error'; file: string; message: string };

/** How the drop folder reaches the bucket and reports. */
export interface DropFolderDeps {
  dropDir: string;
  settleMs: number;
  prefix: string;
  bucket: string;
  offsetMinutes: number;
  /** Uploads as an operator's client would (a signed PUT). */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** The object as stored now, or undefined. */
  object(key: string): ObjectView | undefined;
  /** Creates a folder and its missing parents (default: `mkdir -p`); the stack remembers what it created. */
  makeDir?(dir: string): void;
  /** Deletes an object as an operator's client would (a signed DELETE). */
  remove(key: string): Promise<void>;
  /** The keys of the objects under the prefix, as stored now. */
  keys(): string[];
  /**
   * Whether this drop folder (and prefix) is the only one the bucket's objects were sent from, so
   * that a file missing at start from its `waiting/`, or from its `failed/` (with `failedRecord`),
   * was removed by the operator (see main.ts). Default true.
   */
  ownsWaiting?: boolean;
  /**
   * Where the failed files the drop folder knows (in `failed/`, each with the object it stands
   * for) are kept between runs, kept up to date as they change: one on the list that is missing
   * at start was removed while the stack was stopped. Without it, such a file is not noticed.
   */
  failedRecord?: FailedCopiesRecord;
  /**
   * The FileIds CCC lists under a display name that looks like `name` (the stack reads its local
   * CCC): registrations of earlier runs too. Without it, only this run's are known.
   */
  listedInCcc?: (name: string) => number[];
  emit(event: DropEvent): void;
  now(): number;
  /**
   * A clock for how long a file has sat unchanged, which must not jump when the stack's clock is
   * moved to the next day (a file half copied would look settled at once). Defaults to `now`.
   */
  elapsed?(): number;
  /**
   * The functions' job lease (`IVR_JOB_LEASE_SECONDS`, in ms): a file whose invocation vanished
   * with the stop stays `queued` until it lapses. Without it, no recovering line is given.
   */
  leaseMs?: number;
  /** How long a file resumed as `queued` may wait for its turn before its line says it is being recovered. Default 15 s. */
  turnMs?: number;
  /** When the recovery pass next runs at or after `ms` (the stack's timer), if known. */
  nextPassAt?(ms: number): number | undefined;
}

/** A directory's device and inode: another directory at the same path (a mount point) has others. */
function folderIdentity(dir: string): string | undefined {
  try {
    const st = fs.statSync(dir, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** The first `n` bytes of a file (fewer when it is shorter; none when it cannot be read). */
function headOf(file: string, n: number): Buffer {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const b = Buffer.alloc(n);
      return b.subarray(0, fs.readSync(fd, b, 0, n, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return Buffer.alloc(0);
  }
}

/** The drop folder's own mark: a random id in a hidden file, which travels with the folder (a share's, a USB drive's). */
export const FOLDER_MARK = '.ivr-audio-sync.id';

/**
 * The drop folder's mark ({@link FOLDER_MARK}): what a listed failed copy's folder is told by. Not
 * its device and inode: a share or drive mounted again may get another device number, and its
 * failed copies would then never be judged again (a review showed it). Undefined when there is
 * none, or what is there is not one (an empty file, edited, a folder of that name).
 */
function readMark(dir: string): string | undefined {
  try {
    const id = fs.readFileSync(path.join(dir, FOLDER_MARK), 'utf8').trim();
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the mark whole (a temporary file renamed over any unusable one); false when it cannot. */
function writeMark(dir: string, id: string): boolean {
  const file = path.join(dir, FOLDER_MARK);
  try {
    fs.writeFileSync(`${file}.tmp`, `${id}\n`);
    fs.renameSync(`${file}.tmp`, file);
    return true;
  } catch {
    fs.rmSync(`${file}.tmp`, { force: true });
    return false;
  }
}

/** How long a file moved to done/ or failed/ is watched for a paused copy going on into it (while the stack runs). */
export const GROWTH_WATCH_MS = 10 * 60_000;

/** A failed file the drop folder tracks in failed/ (by its path there): see {@link FailedCopy}. */
type TrackedCopy = Pick<FailedCopy, 'key' | 'md5' | 'size' | 'ino'>;

/** A failed file the drop folder knows, as {@link FailedCopiesRecord} keeps it. */
export interface FailedCopy {
  /** Its path relative to the drop folder: `failed/photo (2).mp3`. */
  file: string;
  /** The object it stands for. */
  key: string;
  /** The MD5 of what failed (the object's ETag while it still holds that upload). */
  md5: string;
  size: number;
  /** Its inode when last seen: a rename within failed/ is told from another file of the same bytes by it. */
  ino?: number;
  /**
   * The drop folder it was in ({@link readMark}): only a start in that very folder judges it.
   * Unset in lists of earlier versions; {@link UNJUDGED} when a start that could not judge failed/
   * carried such an entry on.
   */
  folder?: string;
}

/**
 * The folder of a listed failed copy whose drop folder is not known: never judged (it stays listed
 * as failed, the safe side), since an empty mount point would take it for removed.
 */
const UNJUDGED = 'unjudged';

/** The failed files of the last run, kept where a restart finds them (the state folder). */
export interface FailedCopiesRecord {
  /** The list last written; empty when there is none (or it cannot be read: nothing is then cleared at start). */
  read(): FailedCopy[];
  write(copies: FailedCopy[]): void;
}

interface InFlight {
  /** Path relative to `waiting/` (and to the drop folder when it was dropped). */
  file: string;
  md5: string;
  /** Still to be uploaded (the first attempt failed). */
  unsent: boolean;
  /** Last status/code reported, so each change is one line. */
  reported?: string;
  status?: string;
  /** When this run last uploaded the file (the stack's clock), undefined for one resumed as it was. */
  sentAtMs?: number;
  /** Size and time of the file as it was read to be sent: a result is for that version only. */
  sent?: FileStamp;
  /**
   * Set when the file changed after it was sent: it is sent again once it has been unchanged for
   * the settle time, as a new drop would be (the copy over it may still be going on).
   */
  resettle?: FileStamp & { since: number };
  /** Set while the file differs from the version sent and has no result yet: settling before it replaces that version. */
  changing?: FileStamp & { since: number };
  /**
   * When this run resumed the file as the last run left it, on the stack's clock: sent again or
   * not (its first upload's event may have been cut off too, and its job with it). Cleared when a
   * new version of it is sent.
   */
  resumedAtMs?: number;
  /** Said to be recovering after the interruption: it waits for a lease, so it does not keep the stack busy. */
  recovering?: boolean;
}

interface FileStamp {
  size: number;
  mtimeMs: number;
}

const CONTENT_TYPES: Record<string, string> = { '.mp3': 'audio/mpeg', '.wav': 'audio/wav' };
const toRel = (p: string) => p.split(path.sep).join('/');
const fromRel = (rel: string) => rel.split('/').join(path.sep);

/** The drop folder's engine; `start()` polls it, tests may call `tick()` directly. */
export class DropFolder {
  private readonly tracker: SettleTracker;
  /** Files put straight into `waiting/` while the stack runs: taken like drops once settled. */
  private readonly waitingTracker: SettleTracker;
  /** Files left in `waiting/` because they could not be moved on: never taken as new drops. */
  private readonly stuck = new Set<string>();
  private readonly inFlight = new Map<string, InFlight>();
  /** The registrations this run saw, with their display names: a second one under a name gets a line saying so. */
  private registered: Array<{ name: string; key: string; fileId?: number }> = [];
  private readonly toldWaiting = new Set<string>();
  /**
   * Files in done/ and failed/ that are the stack's own (it moved them there, or wrote the note) or
   * were there when it started (paths relative to the drop folder): any other file that appears
   * there was saved there by the operator, and is never sent.
   */
  private readonly placed = new Set<string>();
  /**
   * The failed files the stack put in failed/ (this run, or found there with their note at start),
   * by path relative to the drop folder: the object each stands for, and the MD5 of what failed.
   */
  private readonly failedCopies = new Map<string, TrackedCopy>();
  /** Set once a failure to write the failed files' record has been said, so it is said once. */
  private toldRecordError = false;
  /** Listed failed files this start does not judge, kept on the list as they are ({@link open}). */
  private carriedRecord: FailedCopy[] = [];
  /** Entries the drop folder cannot take (a link, a name that is not UTF-8), each told once. */
  private readonly toldSkipped = new Set<string>();
  /** The drop folder opened ({@link folderIdentity}): failed/ is judged only while it is still that one. */
  private folderId: string | undefined;
  /**
   * The drop folder's mark ({@link readMark}): the folder of the failed copies this run lists. Where
   * none can be kept, its device and inode, prefixed, which only this very folder matches.
   */
  private mark: string | undefined;
  /** Fix commands' hidden outputs seen in the drop folder, with their size and time and since when neither has changed. */
  private readonly fixOutputs = new Map<string, { size: number; mtimeMs: number; since: number }>();
  /** Those said to be left by a command stopped half-way, while they stay. */
  private readonly toldFixOutputs = new Set<string>();
  /** Those the scan in progress saw. */
  private readonly fixSeen = new Set<string>();
  /** The last failure of each key in this run: a failure right after a cut-short one may be its copy's rest. */
  private readonly lastFailure = new Map<string, { code?: string; atMs: number }>();
  /**
   * Files just moved to done/ or failed/, with their size and inode then, watched until `until`
   * ({@link tellGrown}); `fileId` for done/. A copy going on writes into the same inode.
   */
  /** The size and time each failed copy had when last looked at ({@link tellSavedIntoResults}). */
  private readonly failedStamps = new Map<string, { size: number; mtimeMs: number }>();
  private readonly growthWatch = new Map<string, { size: number; ino: number; md5: string; key: string; until: number; fileId?: number }>();
  private timer?: NodeJS.Timeout;
  /** True while the files a previous run left in `waiting/` are looked at again at start. */
  private resuming = false;
  private ticking = false;
  private stopped = false;
  readonly waitingDir: string;
  readonly doneDir: string;
  readonly failedDir: string;

  constructor(private readonly deps: DropFolderDeps) {
    this.tracker = new SettleTracker(deps.settleMs);
    this.waitingTracker = new SettleTracker(deps.settleMs);
    this.waitingDir = path.join(deps.dropDir, RESERVED_DIRS.waiting);
    this.doneDir = path.join(deps.dropDir, RESERVED_DIRS.done);
    this.failedDir = path.join(deps.dropDir, RESERVED_DIRS.failed);
  }

  /**
   * Creates the folders, picks up what a previous run left in `waiting/`, and clears the failed
   * files removed from `failed/` while the stack was stopped (tests then call `tick()`).
   */
  async open(): Promise<void> {
    // Looked at before it is created: a drop folder missing its result folders at start (a share
    // not mounted, its empty mount point left) says nothing about the files the last run left in
    // failed/; failed/ deleted beside a done/ that is there says they are gone.
    const failedWasThere = this.failedJudgeable();
    const makeDir = this.deps.makeDir ?? ((dir: string) => void fs.mkdirSync(dir, { recursive: true }));
    for (const dir of [this.deps.dropDir, this.waitingDir, this.doneDir, this.failedDir]) makeDir(dir);
    this.folderId = folderIdentity(this.deps.dropDir);
    // Made now when missing, before anything is listed under it: a start that cannot keep one
    // must not list copies under no folder, which any folder would judge.
    const found = readMark(this.deps.dropDir);
    const mark = found ?? randomUUID();
    this.mark = found !== undefined || writeMark(this.deps.dropDir, mark) ? mark : `dev:${this.folderId ?? UNJUDGED}`;
    this.notePlacedAtStart();
    // Entries of another folder (the share's, read in its empty mount point) are kept for a start in
    // that folder to judge: dropped, the files deleted from failed/ meanwhile would stay listed as
    // failed for good; judged here, a second start in the mount point (whose failed/ the first one
    // made) would take every one of them for deleted.
    const listed = this.deps.ownsWaiting === false ? [] : (this.deps.failedRecord?.read() ?? []);
    const here = (c: FailedCopy) => c.folder === undefined || c.folder === this.mark;
    this.carriedRecord = listed.filter((c) => !here(c));
    const savedOver = failedWasThere ? this.savedOverWhileStopped(listed.filter(here)) : [];
    if (failedWasThere) this.noteRecordedCopies(listed.filter(here));
    else this.carriedRecord.push(...listed.filter(here).map((c) => ({ ...c, folder: c.folder ?? UNJUDGED })));
    await this.resume();
    // After resume: the files in waiting/ are known, so a fix of a failed file's name waiting
    // there keeps its object, as during a run.
    await this.clearRemovedFailures();
    for (const rel of savedOver) if (this.failedCopies.has(rel)) this.tellSavedOver(rel, this.failedCopies.get(rel)!.key);
    this.recordFailedCopies();
  }

  /**
   * Failed copies the last run recorded that other bytes were saved over while the stack was
   * stopped: their notes made them the stack's own again with what is there now, so a good
   * recording copied over a failed one meanwhile stood for its object with no line said, and its
   * note and `status` kept the old failure. They stand for what failed again (the record's MD5), to
   * be told at once. A copy that went on (it still starts with what failed) is not one of them.
   */
  private savedOverWhileStopped(listed: FailedCopy[]): string[] {
    const rels: string[] = [];
    for (const c of listed) {
      const now = this.failedCopies.get(c.file);
      if (!now || now.key !== c.key || now.md5 === c.md5) continue;
      const start = md5OfStart(path.join(this.deps.dropDir, fromRel(c.file)), c.size);
      if (start === undefined || (start === c.md5 && c.size > 0)) continue;
      this.failedCopies.set(c.file, { ...now, md5: c.md5, size: c.size });
      rels.push(c.file);
    }
    return rels;
  }

  /** Opens the drop folder, then scans periodically. */
  async start(): Promise<void> {
    await this.open();
    // A scan that throws (it should not: each file's step is guarded) must not end the stack either.
    this.timer = setInterval(() => void this.tick().catch((e: unknown) => this.deps.emit({ kind: 'error', file: '', message: `scan failed: ${e instanceof Error ? e.message : String(e)}` })), scanIntervalMs(this.deps.settleMs));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** True while files are settling or being registered (deferred files wait for a day: not busy). */
  get busy(): boolean {
    if (this.tracker.settling > 0 || this.waitingTracker.settling > 0) return true;
    // A file recovering after an interruption waits minutes for a lease: it must not hold back the
    // summary of the files handled meanwhile (which then merged it with a later batch).
    return [...this.inFlight.values()].some((f) => f.unsent || f.changing || (f.status !== 'deferred' && !f.recovering));
  }

  /** Files in `waiting/`, also those put there by hand and not yet taken: all are taken at the next start. */
  get waiting(): number {
    return this.scan(this.waitingDir, false).length;
  }

  /** Files held in the drop folder itself because one of their name is in waiting/ (each told once, `waiting`). */
  get held(): number {
    return [...this.toldWaiting].filter((rel) => fs.existsSync(path.join(this.deps.dropDir, fromRel(rel))) && fs.existsSync(this.inWaiting(rel))).length;
  }

  /** The object `key` may have new metadata (a COS Copy event). */
  objectChanged(key: string): void {
    const f = this.inFlight.get(key);
    if (f) this.guard(f.file, () => this.check(key));
  }

  /**
   * The function refused the object outright and will never write a result onto it (a key it
   * cannot handle): the file fails here with the function's reason.
   */
  refused(key: string, code: string | undefined, message: string | undefined): void {
    const f = this.inFlight.get(key);
    if (!f || f.unsent) return;
    this.guard(f.file, () => (this.changedSinceSent(f) ? this.sendAgain(key, f, 'failed', undefined, code, message) : this.finishFailed(key, f, code, message)));
  }

  /** One scan: take the files that are complete, in drop order, then look at the files in flight. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const ready = this.tracker.observe(this.scanAll(), this.elapsedNow());
      for (const o of ready) {
        if (this.stopped) break;
        await this.take(o);
      }
      for (const [key, f] of this.inFlight) {
        if (f.unsent && !this.stopped && this.settledAgain(f)) await this.send(key, f, false);
      }
      for (const [key, f] of [...this.inFlight]) {
        if (this.stopped || f.unsent || !this.replacedWhileWaiting(f)) continue;
        this.deps.emit({ kind: 'replaced', file: f.file, key });
        await this.send(key, f, false);
      }
      for (const [key, f] of [...this.inFlight]) this.guard(f.file, () => this.check(key));
      await this.withdrawRemoved();
      await this.clearRemovedFailures();
      await this.takeFromWaiting();
      this.tellSavedIntoResults();
      this.tellGrown();
    } finally {
      this.ticking = false;
    }
  }

  /**
   * One scan of the drop folder; what it tracks of fix commands' hidden outputs ends with those no
   * longer there (deleted, or moved into place), so a command stopped again is said again.
   */
  private scanAll(): Observation[] {
    this.fixSeen.clear();
    const found = this.scan(this.deps.dropDir, true);
    for (const full of [...this.fixOutputs.keys()]) if (!this.fixSeen.has(full)) this.fixOutputs.delete(full);
    for (const full of [...this.toldFixOutputs]) if (!this.fixSeen.has(full)) this.toldFixOutputs.delete(full);
    return found;
  }

  private scan(dir: string, top: boolean): Observation[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    const out: Observation[] = [];
    for (const e of entries) {
      if (isIgnoredName(e.name)) {
        if (e.isFile() && this.isFixOutput(toRel(path.relative(this.deps.dropDir, path.join(dir, e.name))))) this.watchFixOutput(path.join(dir, e.name));
        continue;
      }
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (top && (Object.values(RESERVED_DIRS) as string[]).includes(e.name)) continue;
        out.push(...this.scan(full, false));
      } else if (e.isFile()) {
        try {
          const st = fs.statSync(full);
          out.push({ rel: toRel(path.relative(this.deps.dropDir, full)), size: st.size, mtimeMs: st.mtimeMs });
        } catch {
          // Gone between readdir and stat; or a name that is not UTF-8, which readdir decoded with
          // U+FFFD, so no path reaches it (a zip made on a Chinese Windows, unpacked here).
          if (e.name.includes('\ufffd')) this.skip(full, 'its name is not valid UTF-8 (e.g. GBK from a Windows zip): rename it, then it is taken');
        }
      } else if (e.isSymbolicLink()) {
        this.skip(full, 'it is a link: copy the file itself into the drop folder');
      }
    }
    return out;
  }

  /**
   * Whether `rel` is the hidden name a pasted fix command writes for one of the failed files
   * (`.big.mp3` for `big.wav`, see fixes.ts): only those, so an operator's own hidden file, or a
   * macOS `._` file beside an ordinary one, is not taken for one.
   */
  private isFixOutput(rel: string): boolean {
    const slash = rel.lastIndexOf('/') + 1;
    const name = rel.slice(slash);
    if (!/^\..+\.(mp3|wav)$/i.test(name)) return false;
    const stem = `${rel.slice(0, slash)}${name.slice(1)}`.replace(/\.(mp3|wav)$/i, '');
    return [...this.failedCopies.values()].some((c) => c.key.startsWith(this.deps.prefix) && c.key.slice(this.deps.prefix.length).replace(/\.[^./]*$/, '') === stem);
  }

  /**
   * Says of a fix command's hidden output that has stayed unchanged for a minute (on the elapsed
   * clock, which next-day does not move): the command was stopped before it finished, and the file
   * holds part of a recording. Once while it stays. A trial found one, renamed it, and had 46 s of a
   * 150 s prompt registered.
   */
  private watchFixOutput(full: string): void {
    this.fixSeen.add(full);
    if (this.toldFixOutputs.has(full)) return;
    let st: fs.Stats;
    try {
      st = fs.statSync(full);
    } catch {
      return;
    }
    const seen = this.fixOutputs.get(full);
    if (!seen || seen.size !== st.size || seen.mtimeMs !== st.mtimeMs) {
      this.fixOutputs.set(full, { size: st.size, mtimeMs: st.mtimeMs, since: this.elapsedNow() });
      return;
    }
    if (this.elapsedNow() - seen.since < STOPPED_FIX_MS) return;
    this.fixOutputs.delete(full);
    this.toldFixOutputs.add(full);
    const shown = path.basename(full).slice(1);
    this.deps.emit({ kind: 'skipped', file: toRel(path.relative(this.deps.dropDir, full)), why: `a fix command's output that was never moved into place (a command stopped before it finished): it holds only part of the recording. Delete it and run the command again; do not rename it to ${shown}` });
  }

  /** The files under done/ or failed/ (paths relative to the drop folder), ignored names left out. */
  private resultFiles(): string[] {
    return [...filesUnder(this.doneDir, this.deps.dropDir), ...filesUnder(this.failedDir, this.deps.dropDir)];
  }

  /**
   * What done/ and failed/ hold at start is taken as the stack's, with one exception that holds
   * across restarts: a file in failed/ without its `<name>.error.txt` was not put there by the
   * stack (it writes the note with every file it moves there), e.g. a fix saved beside the failed
   * file while the stack was stopped. A name too long for the plain note name is given the benefit.
   */
  private notePlacedAtStart(): void {
    const failed = `${RESERVED_DIRS.failed}/`;
    for (const rel of this.resultFiles()) {
      const own = !rel.startsWith(failed) || rel.endsWith(ERROR_SUFFIX) || Buffer.byteLength(path.posix.basename(rel)) + Buffer.byteLength(ERROR_SUFFIX) > NAME_MAX_BYTES || fs.existsSync(path.join(this.deps.dropDir, fromRel(rel + ERROR_SUFFIX)));
      if (own) this.placed.add(rel);
    }
    this.noteFailedCopies();
  }

  /**
   * Remembers which object each failed file found at start stands for, from the notes in failed/:
   * a note names the file as it was dropped and its key, and the failed copy beside it is the
   * name the stack gave it (with its clash number; shortened, for a long name, as the note is).
   */
  private noteFailedCopies(): void {
    const failed = `${RESERVED_DIRS.failed}/`;
    for (const rel of this.resultFiles()) {
      if (!rel.startsWith(failed) || !rel.endsWith(ERROR_SUFFIX)) continue;
      let note: ReturnType<typeof readFailureNote>;
      try {
        note = readFailureNote(fs.readFileSync(path.join(this.deps.dropDir, fromRel(rel)), 'utf8'), this.deps.bucket);
      } catch {
        continue;
      }
      if (!note) continue;
      const inFailed = rel.slice(failed.length);
      // The first of a name, or the clash number its note's own name carries.
      const clash = Number(/ \((\d+)\)(\.[^./]*)?\.error\.txt$/.exec(inFailed)?.[1] ?? 1);
      const n = [1, clash].find((k) => noteName(note.file, k) === inFailed);
      if (n === undefined) continue;
      const copy = `${failed}${withSuffix(note.file, n)}`;
      const full = path.join(this.deps.dropDir, fromRel(copy));
      const hash = md5OfFile(full);
      if (hash) this.failedCopies.set(copy, { key: note.key, md5: hash, size: sizeOf(full), ino: statOf(full)?.ino });
    }
  }

  /**
   * The failed files the last run knew that its notes do not give back. Those missing from
   * failed/ now were removed while the stack was stopped (the record drops a file removed while
   * it runs at the next scan): they are tracked again, so the start clears them by the rules of a
   * removal while the stack runs ({@link clearRemovedFailures}: renamed within failed/, a fix of
   * the same name, another copy). A note whose file is gone is not enough without the record: the
   * file may have been removed while the stack ran and its object left alone then on purpose, and
   * a note gives no MD5 to tell a rename, or the upload that failed, by. Those still there, the
   * same bytes, whose note alone was removed, stay the stack's own, as during a run.
   */
  private noteRecordedCopies(listed: FailedCopy[]): void {
    const failed = `${RESERVED_DIRS.failed}/`;
    for (const c of listed) {
      if (!c.file.startsWith(failed) || this.failedCopies.has(c.file)) continue;
      const full = path.join(this.deps.dropDir, fromRel(c.file));
      const removed = this.removedByOperator(c.file);
      if (!removed && (sizeOf(full) !== c.size || md5OfFile(full) !== c.md5)) continue; // another file now
      this.failedCopies.set(c.file, { key: c.key, md5: c.md5, size: c.size, ino: removed ? c.ino : statOf(full)?.ino });
      if (!removed) this.placed.add(c.file);
    }
  }

  /** Keeps the failed files known now for the next start; a failure to is said once, and the stack goes on. */
  private recordFailedCopies(): void {
    if (!this.deps.failedRecord) return;
    try {
      const known = [...this.failedCopies].map(([file, c]) => ({ file, ...c, folder: this.mark ?? UNJUDGED }));
      // A carried entry whose path is listed here now stays only as another folder's, other bytes
      // (the same path and bytes is this copy, listed again under a mark made anew).
      const kept = this.carriedRecord.filter((c) => {
        const listed = this.failedCopies.get(c.file);
        return !listed || (c.folder !== this.mark && listed.md5 !== c.md5);
      });
      this.deps.failedRecord.write([...known, ...kept]);
    } catch (e) {
      if (this.toldRecordError) return;
      this.toldRecordError = true;
      this.deps.emit({ kind: 'error', file: '', message: `the list of failed files could not be kept for the next start (${e instanceof Error ? e.message : String(e)}): one removed from ${RESERVED_DIRS.failed}/ while the stack is stopped may not be noticed` });
    }
  }

  /**
   * Failed files the operator removed from failed/: their objects are deleted from the local
   * bucket while they still hold the upload that failed, so `status` and the report stop listing
   * them as needing action (a fix dropped under another name, say), as deleting the object does in
   * the cloud. Left alone: an object uploaded again since, or about to be (its name is in the drop
   * folder or in waiting/), and one another failed copy of the same key still stands for. A copy
   * renamed within failed/ still stands for its object: the entry moves to its new name.
   */
  private async clearRemovedFailures(): Promise<void> {
    const removed = [...this.failedCopies].filter(([rel]) => this.removedByOperator(rel));
    if (removed.length === 0) return;
    try {
      await this.clearEach(removed);
    } finally {
      // Each removed file is off the list now, cleared or left alone: the next start must not
      // take it for one removed while the stack was stopped.
      this.recordFailedCopies();
    }
  }

  /** {@link clearRemovedFailures} for the files found removed, apart so the list is kept however it ends. */
  private async clearEach(removed: Array<[string, TrackedCopy]>): Promise<void> {
    // failed/'s files that no entry stands for, by size: where a renamed copy would be (one walk
    // for all the copies removed since the last scan, and a hash only for a size that matches).
    const untracked = new Map<number, string[]>();
    for (const rel of this.resultFiles()) {
      if (!rel.startsWith(`${RESERVED_DIRS.failed}/`) || rel.endsWith(ERROR_SUFFIX) || this.failedCopies.has(rel)) continue;
      const size = sizeOf(path.join(this.deps.dropDir, fromRel(rel)));
      untracked.set(size, [...(untracked.get(size) ?? []), rel]);
    }
    // Renames first: a copy renamed in the scan that finds another removed must still stand for
    // its object when that removal is judged.
    const gone: Array<[string, TrackedCopy]> = [];
    for (const [rel, c] of removed) {
      // The file renamed is the one with its inode, not any file of the same bytes: a trial's
      // earlier copy of the same recording, saved into failed/ by hand, took the note of the one
      // renamed, and then stood for its object once that was deleted. By bytes only for an entry
      // listed by an earlier version, which kept no inode.
      const renamed = (untracked.get(c.size) ?? []).find((r) => {
        const full = path.join(this.deps.dropDir, fromRel(r));
        return !this.failedCopies.has(r) && (c.ino === undefined || statOf(full)?.ino === c.ino) && md5OfFile(full) === c.md5;
      });
      if (!renamed) {
        gone.push([rel, c]);
        continue;
      }
      this.failedCopies.delete(rel);
      this.failedStamps.delete(rel);
      this.failedCopies.set(renamed, c);
      // Still the stack's own failed copy, not a file saved into failed/ (whose line would say to send it).
      this.placed.add(renamed);
      // Its note goes with it (a trial renamed a copy, then moved it out: the note was left behind).
      this.moveOwnNote(rel, renamed, c.key);
      // A new extension is a fix followed where the copy sits (a trial renamed `x.wav` to `x.mp3`
      // in failed/, as FormatMismatch says, and waited): said once, as for a file saved there.
      const ext = path.posix.extname(renamed).toLowerCase();
      if (path.posix.extname(rel).toLowerCase() !== ext) {
        // To an extension CCC does not take (a trial's M4A named .mp3, renamed .m4a): copying it
        // into the drop folder only fails it again; its note's command converts it.
        const note = `${renamed}${ERROR_SUFFIX}`;
        // Only the stack's note of this copy (one of the operator's own may have that name).
        const text = this.ownNote(renamed, c.key)?.text ?? '';
        const how = text.includes('\nCommand: ') ? `run the command in its note (${note}), which makes a file CCC takes in the drop folder` : text ? `its note (${note}) says how to make a file CCC takes` : 'export the recording as MP3 or WAV into the drop folder';
        const why = ext === '.mp3' || ext === '.wav' ? this.notSentFrom(renamed) : `${ext || 'a name without an extension'} is not a format CCC takes: ${how}`;
        this.skip(path.join(this.deps.dropDir, fromRel(renamed)), `renamed in ${RESERVED_DIRS.failed}/, but ${why}`);
      }
    }
    // Two copies of one object removed together (a fix dropped, then both failed copies deleted)
    // must not each stay for the other; each leaves the list only once handled, so a stop half-way
    // leaves the rest for the next start.
    const removing = new Set(gone.map(([rel]) => rel));
    for (const [rel, c] of gone) {
      if (this.stopped) return;
      this.failedCopies.delete(rel);
      this.failedStamps.delete(rel);
      // The operator is done with this copy: its note goes with it, whatever becomes of the object.
      this.removeOwnNote(rel, c.key);
      const stays = this.whyObjectStays(c, removing);
      if (stays) {
        this.deps.emit({ kind: 'removed', file: rel, key: c.key, objectStays: stays });
        continue;
      }
      try {
        await this.deps.remove(c.key);
        // A name the function refused never had a job, so no report ever counted it.
        this.deps.emit({ kind: 'cleared', file: rel, key: c.key, ...(refusal(c.key, this.deps.prefix) ? { neverCounted: true as const } : {}) });
      } catch (e) {
        this.deps.emit({ kind: 'error', file: rel, message: `removed from ${RESERVED_DIRS.failed}/, but its object ${c.key} could not be deleted, so the report still lists it: ${e instanceof Error ? e.message : String(e)}` });
      }
    }
  }

  /**
   * Why a removed failed copy's object is not deleted, in the words of its line; undefined when it
   * is. `removing`: the copies removed in the same scan, which stand for nothing any more.
   */
  private whyObjectStays(c: { key: string; md5: string }, removing: ReadonlySet<string>): string | undefined {
    // What the object holds now first: another failed copy matters only while it still holds the failure.
    if (this.inFlight.has(c.key) || this.droppedAgain(c.key)) return 'a file of its name is on its way to it';
    const obj = this.deps.object(c.key);
    if (!obj) return 'it is gone from the bucket already';
    if (obj.etag.replace(/"/g, '') !== c.md5) return 'it holds a later upload of that name';
    // A key the function refused outright carries no status: it failed all the same.
    if (withRefusal(c.key, readFileState(obj.meta), this.deps.prefix).status !== 'failed') return 'it holds a later result';
    const other = [...this.failedCopies].find(([rel, o]) => o.key === c.key && !removing.has(rel))?.[0];
    if (other) return `${other} still stands for it`;
    return undefined;
  }

  /**
   * The note the stack wrote beside a failed file the operator removed: it said "this file stays
   * here as a record", which is no longer so. Only the note of that name whose key is the cleared one
   * goes (a long name's shortened note, or one edited by hand, stays: the operator may delete it).
   */
  private removeOwnNote(rel: string, key: string): void {
    const note = this.ownNote(rel, key);
    try {
      if (note) fs.unlinkSync(note.file);
    } catch {
      // It cannot be removed: left as it is.
    }
  }

  /** The stack's note of a failed copy renamed within failed/, renamed to stay beside it (when that name is free). */
  private moveOwnNote(from: string, to: string, key: string): void {
    const note = this.ownNote(from, key);
    const target = path.join(this.deps.dropDir, fromRel(to + ERROR_SUFFIX));
    if (!note || fs.existsSync(target)) return;
    try {
      this.placed.add(to + ERROR_SUFFIX);
      // Written under the new name first, so a stop half-way leaves a note, never none.
      fs.writeFileSync(target, noteForRenamedCopy(note.text, from, to));
      fs.unlinkSync(note.file);
    } catch {
      // It cannot be moved: left as it is.
    }
  }

  /**
   * The note the stack wrote beside the file `rel` (relative to the drop folder) for `key`: where
   * it is and what it says. Undefined when there is none under that name (a long name's is
   * shortened), it cannot be read, or it is not the stack's note of that object (one of the
   * operator's own, or edited past reading): such a note is never changed.
   */
  private ownNote(rel: string, key: string): { file: string; text: string } | undefined {
    const file = path.join(this.deps.dropDir, fromRel(rel + ERROR_SUFFIX));
    try {
      const text = fs.readFileSync(file, 'utf8');
      return readFailureNote(text, this.deps.bucket)?.key === key ? { file, text } : undefined;
    } catch {
      return undefined;
    }
  }

  /** Adds `text` at the end of a note {@link ownNote} found; one that cannot be written is left as it is. */
  private appendToNote(note: { file: string } | undefined, text: string): void {
    try {
      if (note) fs.appendFileSync(note.file, text);
    } catch {
      // Not writable: the terminal's line says it anyway.
    }
  }

  /**
   * Whether a file under failed/ is gone for sure: not there, in a failed/ that is (a share that
   * dropped out, leaving an empty mount point, proves nothing).
   */
  private removedByOperator(rel: string): boolean {
    try {
      fs.lstatSync(path.join(this.deps.dropDir, fromRel(rel)));
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' && this.failedJudgeable();
    }
  }

  /**
   * Whether a file missing from failed/ can be taken as removed. Not once the drop folder is
   * another directory than the one opened (a share that dropped out leaves its mount point, in
   * which a late result may have made done/ or failed/ again). Then: failed/ is there (a link to
   * nowhere proves nothing), or it is plainly gone beside a done/ that is there (the operator
   * deleted failed/ itself: a trial did, and its failures stayed listed for good). A share not
   * mounted at start leaves neither.
   */
  private failedJudgeable(): boolean {
    if (this.folderId !== undefined && folderIdentity(this.deps.dropDir) !== this.folderId) return false;
    try {
      fs.lstatSync(this.failedDir);
      return fs.existsSync(this.failedDir);
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(this.doneDir);
    }
  }

  /** Whether a file of this key's name waits in the drop folder or in waiting/: its upload replaces the object anyway. */
  private droppedAgain(key: string): boolean {
    if (!key.startsWith(this.deps.prefix)) return false;
    const name = fromRel(key.slice(this.deps.prefix.length));
    return fs.existsSync(path.join(this.deps.dropDir, name)) || fs.existsSync(path.join(this.waitingDir, name));
  }

  /**
   * Files saved into done/ or failed/ by hand (a failed file fixed where it sits, `lame …
   * drop/failed/hold_fixed.mp3`) are never sent: said once, with what to do, as for a link.
   */
  private tellSavedIntoResults(): void {
    // A failed copy saved over (a trial's, three and twenty minutes on): the line said it grew, or
    // nothing, and `status` kept its old failure beside what was by then good audio. Told by its
    // first bytes, looked at when its size or time changes: a copy going on still starts with what
    // failed (tellGrown's), other bytes of any size do not.
    for (const [rel, c] of this.failedCopies) {
      const full = path.join(this.deps.dropDir, fromRel(rel));
      const st = statOf(full);
      const seen = st && { size: st.size, mtimeMs: st.mtimeMs };
      const last = this.failedStamps.get(rel);
      if (!seen) continue;
      this.failedStamps.set(rel, seen);
      // First looked at: as tracked (its MD5 was read from it, or checked, when it was).
      if (!last || (seen.size === last.size && seen.mtimeMs === last.mtimeMs)) continue;
      // An empty failed copy starts every file: one that fills while watched is tellGrown's (a
      // copy that stalled before its first byte), one that fills later was saved over.
      if (c.size === 0 && this.growthWatch.has(rel)) continue;
      const start = md5OfStart(full, c.size);
      if (start === undefined) this.failedStamps.delete(rel);
      else if (start !== c.md5 || c.size === 0) this.tellSavedOver(rel, c.key);
    }
    for (const rel of this.resultFiles()) {
      if (this.placed.has(rel) || (rel.startsWith(`${RESERVED_DIRS.failed}/`) && rel.endsWith(ERROR_SUFFIX))) continue;
      this.skip(path.join(this.deps.dropDir, fromRel(rel)), this.notSentFrom(rel));
    }
  }

  /**
   * Says once that other bytes were saved over a file in done/ or failed/ (`rel`, standing for
   * `key`), and adds it to its note: `status` and the note still gave the failure of the bytes
   * that were there before (the second trial's good recording copied over a failed PNG).
   */
  private tellSavedOver(rel: string, key: string): void {
    const full = path.join(this.deps.dropDir, fromRel(rel));
    if (this.toldSkipped.has(full)) return;
    this.skip(full, savedOver(this.notSentFrom(rel)));
    // Once per note: a start tells again of a copy saved over before it (see savedOverWhileStopped).
    const note = this.ownNote(rel, key);
    if (note && !note.text.includes(SAVED_OVER_SINCE)) this.appendToNote(note, savedOverSinceText(this.deps.now(), this.deps.offsetMinutes, this.notSentFrom(rel)));
  }

  /** Why a file in done/ or failed/ (`rel`) is not sent, and what to do to send it. */
  private notSentFrom(rel: string): string {
    const dir = rel.slice(0, rel.indexOf('/'));
    return `nothing in ${dir}/ is sent (it holds the files the stack ${dir === RESERVED_DIRS.done ? 'registered' : 'could not register'}): copy it into the drop folder itself (${path.basename(this.deps.dropDir)}/${path.posix.basename(rel)}) to send it`;
  }

  /**
   * Says once of a file that grew in done/ or failed/ after it was moved there: a copy that paused
   * longer than the settle time was taken cut short and went on into the file the stack had moved
   * (a move keeps the file the copy writes to). In failed/ the complete recording would sit beside
   * a note calling it cut off; in done/ it is worse: an MP3 cut between two frames passes every
   * check (only a Xing or Info header tells its length), so CCC holds a prompt that ends early.
   * Nothing in either folder is sent, so without this line nothing would say so. Watched for
   * {@link GROWTH_WATCH_MS} after the move: a copy that pauses is back within that.
   */
  private tellGrown(): void {
    const now = this.deps.now();
    for (const [rel, w] of this.growthWatch) {
      if (now > w.until) {
        this.growthWatch.delete(rel);
        continue;
      }
      const seen = statOf(path.join(this.deps.dropDir, fromRel(rel)));
      // Another file by now (an editor saves a new one over it): the operator's own, not a copy going on.
      if (!seen || seen.ino !== w.ino) {
        this.growthWatch.delete(rel);
        continue;
      }
      const size = seen.size;
      if (size <= w.size) continue;
      const start = md5OfStart(path.join(this.deps.dropDir, fromRel(rel)), w.size);
      if (start === undefined) continue;
      this.growthWatch.delete(rel);
      // Saved over with other bytes (a trial copied a good recording onto its failed copy): not a
      // copy going on, which only adds to what was taken.
      if (start !== w.md5) {
        this.tellSavedOver(rel, w.key);
        continue;
      }
      const again = `copy it into the drop folder itself (${path.basename(this.deps.dropDir)}/${path.posix.basename(rel)})`;
      // A note beside it keeps what the line says once it has scrolled away; `npm run status` reads it.
      const note = w.fileId === undefined ? undefined : this.writeCutShortNote(rel, w.key, w.fileId, w.size, size);
      this.deps.emit({
        kind: 'error',
        file: rel,
        message:
          w.fileId === undefined
            ? `grew after it failed (${w.size} → ${size} bytes): a copy that paused longer than the settle time went on into it. Once the copy has finished, ${again} to send it; start the stack with a longer --settle-ms where copies pause`
            : `grew after it was registered (${w.size} → ${size} bytes): a copy that paused longer than the settle time went on into it, so CCC holds only the part taken (FileId ${w.fileId}), a prompt that ends early. Once the copy has finished, ${again} to register it whole (a new FileId and a quota slot); start the stack with a longer --settle-ms where copies pause${note ? ` (note: ${note})` : ''}`,
      });
    }
  }

  /** Watches a file just moved to done/ or failed/ for a paused copy going on into it ({@link tellGrown}). */
  private watchGrowth(rel: string, key: string, md5: string, fileId?: number): void {
    const st = statOf(path.join(this.deps.dropDir, fromRel(rel)));
    if (st) this.growthWatch.set(rel, { size: st.size, ino: st.ino, md5, key, until: this.deps.now() + GROWTH_WATCH_MS, ...(fileId !== undefined ? { fileId } : {}) });
  }

  /** Writes `<file>.cut-short.txt` beside a file in done/ registered cut short; its path, or undefined when it cannot be written. */
  private writeCutShortNote(rel: string, key: string, fileId: number, takenBytes: number, nowBytes: number): string | undefined {
    const note = `${rel}${CUT_SHORT_SUFFIX}`;
    try {
      this.placed.add(note);
      fs.writeFileSync(path.join(this.deps.dropDir, fromRel(note)), cutShortText({ copy: rel, key, bucket: this.deps.bucket, fileId, takenBytes, nowBytes }));
      return note;
    } catch {
      return undefined;
    }
  }

  /** Says once that an entry of the drop folder is not taken, and why: otherwise it would sit there unexplained. */
  private skip(full: string, why: string): void {
    if (this.toldSkipped.has(full)) return;
    this.toldSkipped.add(full);
    // Not an error (a trial read "error" beside a file it had saved into failed/ itself): its own label.
    this.deps.emit({ kind: 'skipped', file: toRel(path.relative(this.deps.dropDir, full)), why });
  }

  private async take(o: Observation): Promise<void> {
    const key = this.deps.prefix + o.rel;
    const target = this.inWaiting(o.rel);
    if (this.inFlight.has(key) || fs.existsSync(target)) {
      // Uploading it now would replace the object whose registration is still pending.
      if (!this.toldWaiting.has(o.rel)) {
        this.toldWaiting.add(o.rel);
        this.deps.emit({ kind: 'waiting', file: o.rel, key, reason: this.sameNameWaiting(key, o.rel) });
      }
      return;
    }
    this.toldWaiting.delete(o.rel);
    try {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.renameSync(path.join(this.deps.dropDir, fromRel(o.rel)), target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.emit({ kind: 'error', file: o.rel, message: `could not be moved to ${RESERVED_DIRS.waiting}/: ${(e as Error).message}` });
      return;
    }
    const f: InFlight = { file: o.rel, md5: '', unsent: true };
    this.inFlight.set(key, f);
    await this.send(key, f, false);
  }

  /**
   * Why a new file stays in the drop folder while one of its name is in waiting/. Meant as a
   * replacement more often than not: the line says how to make it one, and, for a deferred file,
   * that "once that one is done" is its quota day.
   */
  private sameNameWaiting(key: string, rel: string): string {
    const instead = `(to send this one in its place, copy it over ${RESERVED_DIRS.waiting}/${rel})`;
    const obj = this.inFlight.get(key)?.status === 'deferred' ? this.deps.object(key) : undefined;
    const s = obj ? readFileState(obj.meta) : undefined;
    const day = s && deferredDay(s, this.deps.offsetMinutes);
    if (day) return `a file with the same name is deferred in ${RESERVED_DIRS.waiting}/ (sent on ${day} at the earliest); this one is taken once that one is sent ${instead}`;
    return `a file with the same name is still in ${RESERVED_DIRS.waiting}/; this one is taken once that one is done ${instead}`;
  }

  private async send(key: string, f: InFlight, resumed: boolean): Promise<void> {
    let body: Buffer;
    try {
      // Stamped before reading: a write that lands during the read changes the file's time, so it
      // is caught as a change after sending, never taken for the version sent.
      f.sent = this.stamp(f.file);
      body = fs.readFileSync(this.inWaiting(f.file));
    } catch (e) {
      this.inFlight.delete(key);
      // Deleted by the operator before it could be sent (again): withdrawn, as withdrawRemoved
      // says of such a file; its name stays free for the next one put there.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && f.unsent) {
        this.deps.emit({ kind: 'withdrawn', file: f.file, key, deleted: false });
        return;
      }
      this.stuck.add(f.file);
      this.deps.emit({ kind: 'error', file: f.file, message: `could not be read from ${RESERVED_DIRS.waiting}/: ${(e as Error).message}` });
      return;
    }
    f.md5 = md5(body);
    const sentAtMs = this.deps.now();
    try {
      await this.deps.put(key, body, CONTENT_TYPES[path.extname(f.file).toLowerCase()] ?? 'application/octet-stream');
    } catch (e) {
      if (f.reported !== 'upload-error') this.deps.emit({ kind: 'error', file: f.file, message: `upload failed, tried again at the next scan: ${e instanceof Error ? e.message : JSON.stringify(e)}` });
      f.reported = 'upload-error';
      return;
    }
    f.unsent = false;
    f.sentAtMs = sentAtMs;
    if (!resumed) f.resumedAtMs = undefined;
    f.reported = undefined;
    f.status = undefined;
    f.resettle = undefined;
    f.changing = undefined;
    this.deps.emit({ kind: 'sent', file: f.file, key, size: body.length, resumed });
  }

  /**
   * Files the operator removed from `waiting/` before their result: their objects are deleted
   * from the local bucket, so the function finds nothing to send, as in the cloud when an object
   * is deleted before it is registered (a deferred file would otherwise still take a slot on its day).
   */
  private async withdrawRemoved(): Promise<void> {
    for (const [key, f] of [...this.inFlight]) {
      if (this.stopped) return;
      if (fs.existsSync(this.inWaiting(f.file))) continue;
      this.inFlight.delete(key);
      if (f.unsent) {
        // Not uploaded, or waiting to be sent again after its earlier version's result: the object
        // holds nothing pending, so it stays.
        this.deps.emit({ kind: 'withdrawn', file: f.file, key, deleted: false });
        continue;
      }
      await this.withdraw(key, f.file);
    }
  }

  /** Deletes the object of a file removed from `waiting/`, so the function never sends it. */
  private async withdraw(key: string, file: string): Promise<void> {
    try {
      await this.deps.remove(key);
      this.deps.emit({ kind: 'withdrawn', file, key, deleted: true });
    } catch (e) {
      this.deps.emit({ kind: 'error', file, message: `removed from ${RESERVED_DIRS.waiting}/, but its object ${key} could not be deleted, so it may still be registered: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  /**
   * Files removed from `waiting/` while the stack was stopped: their objects still wait (queued,
   * retrying, deferred), and the recovery pass would register them, a deferred one taking its
   * day's slot, with no line and no file in any folder. They are withdrawn as a file removed while
   * the stack runs is. Settled objects (uploaded, failed) and ones with no status are left alone.
   */
  private async withdrawRemovedWhileStopped(): Promise<void> {
    for (const key of this.deps.keys()) {
      if (!key.startsWith(this.deps.prefix) || this.inFlight.has(key)) continue;
      const file = key.slice(this.deps.prefix.length);
      const status = readFileState(this.deps.object(key)?.meta ?? {}).status;
      if (status !== 'queued' && status !== 'retrying' && status !== 'deferred') continue;
      if (fs.existsSync(this.inWaiting(file))) continue; // there, but unreadable: said above
      await this.withdraw(key, file);
    }
  }

  /**
   * Files the operator put straight into `waiting/` while the stack runs: taken as drops are, once
   * unchanged for the settle time, rather than left there until the next start.
   */
  private async takeFromWaiting(): Promise<void> {
    const known = new Set([...this.inFlight.values()].map((f) => f.file));
    const seen = this.scan(this.waitingDir, false)
      .map((o) => ({ ...o, rel: toRel(path.relative(this.waitingDir, path.join(this.deps.dropDir, fromRel(o.rel)))) }))
      .filter((o) => !known.has(o.rel) && !this.stuck.has(o.rel));
    for (const o of this.waitingTracker.observe(seen, this.elapsedNow())) {
      const key = this.deps.prefix + o.rel;
      if (this.stopped || this.inFlight.has(key)) continue;
      const f: InFlight = { file: o.rel, md5: '', unsent: true };
      this.inFlight.set(key, f);
      await this.send(key, f, false);
    }
  }

  /** Files a previous run left in `waiting/`: kept if the bucket has them, uploaded again if not. */
  private async resume(): Promise<void> {
    this.resuming = true;
    try {
      await this.resumeWaiting();
    } finally {
      this.resuming = false;
    }
    if (this.deps.ownsWaiting !== false) await this.withdrawRemovedWhileStopped();
  }

  private async resumeWaiting(): Promise<void> {
    const files = this.scan(this.waitingDir, false)
      .map((o) => ({ ...o, rel: toRel(path.relative(this.waitingDir, path.join(this.deps.dropDir, fromRel(o.rel)))) }))
      .sort((a, b) => a.mtimeMs - b.mtimeMs || (a.rel < b.rel ? -1 : 1));
    for (const o of files) {
      const key = this.deps.prefix + o.rel;
      let md5: string;
      try {
        md5 = this.md5Of(o.rel);
      } catch (e) {
        this.deps.emit({ kind: 'error', file: o.rel, message: `could not be read from ${RESERVED_DIRS.waiting}/: ${(e as Error).message}` });
        continue;
      }
      const obj = this.deps.object(key);
      // An object with no status yet may never have reached the function (the stack stopped, or
      // was killed, with its event in flight): it is uploaded again, as SCF would deliver again.
      // The ledger turns a second delivery of a file already taken in into nothing new.
      const f: InFlight = { file: o.rel, md5, unsent: obj?.etag.replace(/"/g, '') !== md5 || !readFileState(obj.meta).status, sent: { size: o.size, mtimeMs: o.mtimeMs } };
      f.resumedAtMs = this.deps.now();
      this.inFlight.set(key, f);
      // Other bytes than the object waiting for its turn: saved over it while the stack was stopped.
      // Said as during a run (a trial read `sent … (again, after a restart)`, as if the same file).
      const status = obj && readFileState(obj.meta).status;
      const replaced = f.unsent && status !== undefined && status !== 'uploaded' && status !== 'failed';
      if (replaced) this.deps.emit({ kind: 'replaced', file: f.file, key });
      if (f.unsent) await this.send(key, f, !replaced);
      else this.guard(f.file, () => this.check(key));
    }
  }

  private check(key: string): void {
    const f = this.inFlight.get(key);
    const obj = f && !f.unsent ? this.deps.object(key) : undefined;
    if (!f || !obj) return;
    // A key the function refuses outright gets no status written, and its refusal can come back
    // before the upload's own answer, while the file is not yet marked sent (`refused` then has
    // nothing to act on): the key itself says it failed, on every scan, so such a file never
    // stays in waiting/ (nor keeps the stack busy, which held back the burst's summary line).
    const s = withRefusal(key, readFileState(obj.meta, key), this.deps.prefix);
    if (!s.status) return;
    // A result on another content than the file in waiting/ (a replacement still being uploaded
    // over a version whose result just came) is that version's, not this file's: its own follows.
    if ((s.status === 'uploaded' || s.status === 'failed') && obj.etag.replace(/"/g, '') !== f.md5) return;
    f.status = s.status;
    if ((s.status === 'uploaded' || s.status === 'failed') && this.changedSinceSent(f)) return this.sendAgain(key, f, s.status, s.fileId, s.errorCode, s.errorMessage);
    // The function answers a copy of a version it registered before with that registration, whose
    // time (`ivr-at` keeps it) is then older than this upload: the line says so, or the same file
    // dropped twice reads as registered twice.
    if (s.status === 'uploaded') return this.finishUploaded(key, f, s.fileId, s.converted, f.sentAtMs !== undefined && s.atMs !== undefined && s.atMs < f.sentAtMs, s.review === 'rejected', s.customName);
    if (s.status === 'failed') {
      // The same bytes failed before under this name: the function kept that result and its time
      // (a trial read the earlier time on the new copy's note and took it for a stale status).
      const before = f.sentAtMs !== undefined && s.atMs !== undefined && s.atMs < f.sentAtMs ? s.atMs : undefined;
      return this.finishFailed(key, f, s.errorCode, s.errorMessage, before === undefined ? s.atMs : this.deps.now(), before);
    }
    if (s.status !== 'queued') f.recovering = undefined;
    else if (f.recovering) return; // said, with when it goes on
    else if (this.stillQueuedAfterRestart(f)) return this.sayRecovering(key, f, s.atMs);
    const day = deferredDay(s, this.deps.offsetMinutes);
    // A file deferred again (its day went by full) gets a line with its new day.
    const said = `${s.status}|${s.errorCode ?? ''}|${day ?? ''}`;
    if (said === f.reported) return;
    f.reported = said;
    // Retried after a restart by a recovery pass, whatever its message says of when (a trial's
    // lost answer, "asked after 30 s", waited 100 s). A lone new file's sender does not look for
    // others' work: only a sender gathering several files, or the pass, does.
    const byMs = this.resuming && s.status === 'retrying' ? this.deps.nextPassAt?.(this.deps.now()) : undefined;
    this.deps.emit({ kind: 'status', file: f.file, key, status: s.status, code: s.errorCode, message: s.errorMessage, day, ...(mayGoToday(s, this.deps.now(), this.deps.offsetMinutes) ? { today: true as const } : {}), ...(this.resuming ? { resumed: true as const } : {}), ...(byMs !== undefined ? { retriedBy: formatClock(byMs, this.deps.offsetMinutes) } : {}) });
  }

  /**
   * True for a file this run resumed as the last run left it (sent again at start or not) that is
   * still `queued` past its normal turn: the invocation that was taking it in, or its call to CCC,
   * was most likely cut off by the stop; a job whose intake vanished waits for its lease to lapse
   * before another invocation finishes it, and a call for its lifetime before CCC is asked. (A
   * trial's file of a cut-off call, sent again at start, sat `queued` with no such line for 3 min.)
   */
  private stillQueuedAfterRestart(f: InFlight): boolean {
    if (f.resumedAtMs === undefined || this.deps.leaseMs === undefined) return false;
    return this.deps.now() - f.resumedAtMs >= (this.deps.turnMs ?? 15_000);
  }

  /** The line for a file recovering after the interruption: why it waits, and roughly until when. */
  private sayRecovering(key: string, f: InFlight, queuedAtMs: number | undefined): void {
    const leaseMs = this.deps.leaseMs!;
    const now = this.deps.now();
    // The lease runs from the intake, which wrote `queued` (its `ivr-at`); lapsed already, the next pass finishes it.
    const afterMs = Math.max(now, (queuedAtMs ?? f.resumedAtMs!) + leaseMs);
    const byMs = this.deps.nextPassAt?.(afterMs);
    f.recovering = true;
    f.reported = 'queued|recovering';
    const at = (ms: number) => formatClock(ms, this.deps.offsetMinutes);
    this.deps.emit({ kind: 'status', file: f.file, key, status: 'queued', recovering: { leaseSeconds: Math.round(leaseMs / 1000), afterMs, after: at(afterMs), ...(byMs !== undefined ? { byMs, by: at(byMs) } : {}) } });
  }

  /** Where a file (path relative to `waiting/`) is on disk. */
  private inWaiting(file: string): string {
    return path.join(this.waitingDir, fromRel(file));
  }

  /** The MD5 of a file in `waiting/`, as COS gives it for a simple upload (its ETag); throws when unreadable. */
  private md5Of(file: string): string {
    return md5(fs.readFileSync(this.inWaiting(file)));
  }

  /** The size and time of a file in `waiting/`, or undefined when it is not there. */
  private stamp(file: string): FileStamp | undefined {
    try {
      const st = fs.statSync(this.inWaiting(file));
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the file in `waiting/` is no longer the version that was sent: an operator copied a
   * new recording over it, or a copy that had paused for longer than the settle time went on. Its
   * size or time differ and so does its content (a file only touched is the same file).
   */
  private changedSinceSent(f: InFlight): boolean {
    const now = this.stamp(f.file);
    if (!now || !f.sent || (now.size === f.sent.size && now.mtimeMs === f.sent.mtimeMs)) return false;
    let md5: string;
    try {
      md5 = this.md5Of(f.file);
    } catch {
      return false;
    }
    if (md5 === f.md5) f.sent = now;
    return md5 !== f.md5;
  }

  /**
   * A result arrived for a version of the file that is no longer the one in `waiting/`: it is
   * said what became of the version sent, and the file stays in `waiting/` to be sent again once
   * it has settled, so the new content is what ends in done/ or failed/, with its own result.
   */
  private sendAgain(key: string, f: InFlight, outcome: 'uploaded' | 'failed', fileId: number | undefined, code: string | undefined, message: string | undefined): void {
    f.unsent = true;
    f.status = undefined;
    f.reported = undefined;
    const now = this.stamp(f.file);
    f.resettle = { size: now?.size ?? -1, mtimeMs: now?.mtimeMs ?? -1, since: this.elapsedNow() };
    this.deps.emit({ kind: 'changed', file: f.file, key, outcome, ...(fileId !== undefined ? { fileId } : {}), ...(code ? { code } : {}), ...(message ? { message } : {}) });
  }

  /**
   * True when a file sent and still without a result (queued, retrying, deferred) has changed in
   * `waiting/` and stayed unchanged for the settle time since, with other content: it is to be
   * uploaded over its object now, as uploading over a waiting object does in the cloud (the version
   * waiting ends ObjectChanged, never sent). Waiting for the result instead let the old version be
   * registered, on a deferred file's day taking the slot, before the new one was even sent.
   */
  private replacedWhileWaiting(f: InFlight): boolean {
    const now = this.stamp(f.file);
    if (!now || !f.sent || (now.size === f.sent.size && now.mtimeMs === f.sent.mtimeMs)) {
      f.changing = undefined;
      return false;
    }
    if (!f.changing || f.changing.size !== now.size || f.changing.mtimeMs !== now.mtimeMs) {
      f.changing = { ...now, since: this.elapsedNow() };
      return false;
    }
    if (this.elapsedNow() - f.changing.since < this.deps.settleMs) return false;
    f.changing = undefined;
    return this.changedSinceSent(f); // only touched: the version sent, stamped anew
  }

  /** True when the file may be sent now: it is not settling after a change, or has settled. */
  private settledAgain(f: InFlight): boolean {
    if (!f.resettle) return true;
    const now = this.stamp(f.file);
    if (!now) return true; // gone: sending says so
    if (now.size !== f.resettle.size || now.mtimeMs !== f.resettle.mtimeMs) {
      f.resettle = { ...now, since: this.elapsedNow() };
      return false;
    }
    return this.elapsedNow() - f.resettle.since >= this.deps.settleMs;
  }

  private elapsedNow(): number {
    return this.deps.elapsed ? this.deps.elapsed() : this.deps.now();
  }

  /**
   * Moves a file out of `waiting/` into `dir` under a name not yet used there (`taken` may add
   * names that must be free too). Undefined when the file is gone (removed by hand meanwhile);
   * throws when it could not be moved.
   */
  private moveOut(f: InFlight, dir: string, taken: (candidate: string, n: number) => boolean = () => false): string | undefined {
    const rel = freeName(f.file, (c, n) => fs.existsSync(path.join(dir, fromRel(c))) || taken(c, n));
    const from = this.inWaiting(f.file);
    const to = path.join(dir, fromRel(rel));
    this.placed.add(toRel(path.relative(this.deps.dropDir, to)));
    try {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.renameSync(from, to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(from)) return undefined;
      throw e;
    }
    this.pruneEmptyDirs(path.dirname(from));
    return rel;
  }

  /**
   * Runs one file's step; anything it throws (a name the file system refuses, a full disk, a
   * permission) becomes that file's error line. One file's problem must never stop the scan, nor
   * escape into the local COS's request handler that delivered the event (it then tried to answer
   * a request it had already answered, and the stack died with "Cannot write headers after they
   * are sent").
   */
  private guard(file: string, step: () => void): void {
    try {
      step();
    } catch (e) {
      this.deps.emit({ kind: 'error', file, message: `${e instanceof Error ? e.message : String(e)}; the stack goes on with the other files` });
    }
  }

  private pruneEmptyDirs(dir: string): void {
    while (dir.startsWith(this.waitingDir + path.sep)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        return; // not empty
      }
      dir = path.dirname(dir);
    }
  }

  private finishUploaded(key: string, f: InFlight, fileId: number | undefined, converted: string | undefined, alreadyRegistered = false, rejected = false, customName?: string): void {
    // Registered: a later failure of the name is no paused copy's rest.
    this.lastFailure.delete(key);
    const sameName = customName === undefined ? undefined : this.noteName(customName, key, fileId);
    const extra = { ...(converted ? { converted } : {}), ...(alreadyRegistered ? { alreadyRegistered: true as const } : {}), ...(alreadyRegistered && rejected ? { rejected: true as const } : {}), ...(sameName ? { sameName } : {}) };
    this.inFlight.delete(key);
    let rel: string | undefined;
    try {
      rel = this.moveOut(f, this.doneDir);
    } catch (e) {
      this.stuck.add(f.file);
      this.deps.emit({ kind: 'uploaded', file: f.file, key, fileId, ...extra });
      this.deps.emit({ kind: 'error', file: f.file, message: `registered, but could not be moved to ${RESERVED_DIRS.done}/ (${(e as Error).message}); it stays in ${RESERVED_DIRS.waiting}/ and is looked at again at the next start` });
      return;
    }
    if (rel && fileId !== undefined && !alreadyRegistered) this.watchGrowth(`${RESERVED_DIRS.done}/${rel}`, key, f.md5, fileId);
    // Once, at the registration itself: not for the same file dropped again (its notes were marked
    // then, with that time), nor when CCC had rejected it at review (the name needs a new recording).
    if (fileId !== undefined && !alreadyRegistered) this.markFixed(key, fileId, rel && `${RESERVED_DIRS.done}/${rel}`);
    this.deps.emit({ kind: 'uploaded', file: f.file, key, fileId, movedTo: rel && `${RESERVED_DIRS.done}/${rel}`, ...extra });
  }

  /**
   * A registered object of the same prompt in another format (`speech.wav` for `speech.flac`): its
   * key and FileId, as the bucket shows it. Not one CCC rejected at review: that name needs a new
   * recording, whatever this file is.
   */
  private registeredNamesake(key: string): { key: string; fileId: number } | undefined {
    for (const ext of ['.wav', '.mp3', '.WAV', '.MP3']) {
      const other = `${stemOf(key)}${ext}`;
      const obj = other === key ? undefined : this.deps.object(other);
      const s = obj && readFileState(obj.meta);
      if (s?.status === 'uploaded' && s.fileId !== undefined && s.review !== 'rejected') return { key: other, fileId: s.fileId };
    }
    return undefined;
  }

  /**
   * Appends to the notes of the failed copies `others` (of the same prompt in another format) that
   * `copy` failed since: a note written before it could not name it (a review found the first of
   * two notes silent about the second).
   */
  private markSamePrompt(others: string[], copy: string): void {
    for (const rel of others) {
      const key = this.failedCopies.get(rel)?.key;
      const note = key === undefined ? undefined : this.ownNote(rel, key);
      if (note?.text.includes('\nCommand: ')) this.appendToNote(note, samePromptSinceText(copy));
    }
  }

  /**
   * Adds to the notes of the name's failed copies that it is registered now: a trial, every file
   * fixed, still read six notes in failed/ saying "could not be registered", with nothing to say
   * they were dealt with. The copy and its note stay (the operator's record) until deleted.
   */
  private markFixed(key: string, fileId: number, movedTo: string | undefined): void {
    const since = fixedSinceText(fileId, this.deps.now(), this.deps.offsetMinutes, movedTo);
    for (const [rel, c] of this.failedCopies) {
      // Its own name's copies, and those of the same prompt in another format (`speech.ogg` when `speech.wav` registers).
      if (c.key !== key && stemOf(c.key) !== stemOf(key)) continue;
      const note = this.ownNote(rel, c.key);
      if (!note) continue;
      if (c.key === key) this.appendToNote(note, since);
      // A namesake's registration once per note: a review found one block per later version.
      else if (!note.text.includes(NAMESAKE_SINCE)) this.appendToNote(note, namesakeSinceText(key, fileId, this.deps.now(), this.deps.offsetMinutes, note.text.includes('\nCommand: ')));
    }
  }

  /**
   * Records a registration under its display name; the other registrations CCC lists under it, if
   * any: another file's, or an earlier one of this file (CCC has no replace, so it lists both),
   * named by key where this run saw it. The rule the report uses ({@link sharedNames}, by FileId).
   * CCC's own list where the stack can read it: a trial's p02.wav, first registered two days and a
   * restart earlier, got no line, while the report named the clash.
   */
  private noteName(name: string, key: string, fileId: number | undefined): { name: string; others: Array<{ key?: string; fileId?: number }> } | undefined {
    this.registered = [...this.registered.filter((r) => r.fileId !== fileId || r.key !== key), { name, key, fileId }];
    const listed = this.deps.listedInCcc?.(name);
    if (listed) {
      const keyOf = new Map(this.registered.filter((r) => r.fileId !== undefined).map((r) => [r.fileId, r.key]));
      const others = [...new Set(listed)].filter((id) => id !== fileId).sort((a, b) => a - b);
      // Registered in an earlier run: named by the object that holds it still, if one does.
      if (others.some((id) => !keyOf.has(id))) {
        for (const k of this.deps.keys()) {
          const held = this.deps.object(k);
          const id = held && readFileState(held.meta).fileId;
          if (id !== undefined && !keyOf.has(id)) keyOf.set(id, k);
        }
      }
      return others.length === 0 ? undefined : { name, others: others.map((id) => ({ ...(keyOf.has(id) ? { key: keyOf.get(id) } : {}), fileId: id })) };
    }
    const group = [...sharedNames(this.registered, (r) => r.fileId ?? r.key).values()].find((g) => g.some((r) => r.key === key && r.fileId === fileId));
    return group && { name, others: group.filter((r) => !(r.key === key && r.fileId === fileId)).map(({ key: k, fileId: id }) => ({ key: k, fileId: id })) };
  }

  private finishFailed(key: string, f: InFlight, code: string | undefined, message: string | undefined, atMs = this.deps.now(), failedBeforeMs?: number): void {
    this.inFlight.delete(key);
    const warning = restOfPausedCopy(code, atMs, this.lastFailure.get(key), this.deps.offsetMinutes);
    this.lastFailure.set(key, { code, atMs });
    let rel: string | undefined;
    let n = 1;
    try {
      // The note's name must be free too, so a clash suffixes both together.
      rel = this.moveOut(f, this.failedDir, (_c, i) => {
        n = i;
        return fs.existsSync(path.join(this.failedDir, fromRel(noteName(f.file, i))));
      });
    } catch (e) {
      this.stuck.add(f.file);
      this.deps.emit({ kind: 'failed', file: f.file, key, code, message });
      this.deps.emit({ kind: 'error', file: f.file, message: `could not be moved to ${RESERVED_DIRS.failed}/ (${(e as Error).message}); it stays in ${RESERVED_DIRS.waiting}/ and is looked at again at the next start` });
      return;
    }
    let note: string | undefined;
    let noteError: string | undefined;
    if (rel) {
      const noteRel = noteName(f.file, n);
      // The message's example commands are given for this file where a POSIX shell runs them.
      const run = process.platform === 'win32' ? {} : { run: { dropDir: this.deps.dropDir, copy: `${RESERVED_DIRS.failed}/${rel}`, head: headOf(path.join(this.failedDir, fromRel(rel)), 64) } };
      const registeredAs = this.registeredNamesake(key);
      // With the prompt registered already, the other copies' fixes are not to run either: no line
      // saying to run one of them (a review found it right under "do not run this").
      const samePrompt = registeredAs ? [] : [...this.failedCopies].filter(([, c]) => c.key !== key && stemOf(c.key) === stemOf(key)).map(([copy]) => copy);
      const text = failureText({ file: f.file, key, bucket: this.deps.bucket, code, message, atMs, offsetMinutes: this.deps.offsetMinutes, ...(warning ? { warning } : {}), ...(failedBeforeMs !== undefined ? { failedBeforeMs } : {}), ...(samePrompt.length ? { samePrompt } : {}), ...(registeredAs ? { registeredAs } : {}), ...run });
      try {
        this.placed.add(`${RESERVED_DIRS.failed}/${noteRel}`);
        fs.writeFileSync(path.join(this.failedDir, fromRel(noteRel)), text);
        note = `${RESERVED_DIRS.failed}/${noteRel}`;
      } catch (e) {
        noteError = (e as Error).message;
      }
      this.markSamePrompt(samePrompt, `${RESERVED_DIRS.failed}/${rel}`);
    }
    if (rel) {
      const full = path.join(this.failedDir, fromRel(rel));
      this.failedCopies.set(`${RESERVED_DIRS.failed}/${rel}`, { key, md5: f.md5, size: sizeOf(full), ino: statOf(full)?.ino });
      // A new copy where an earlier one was (deleted since): what is said of a path is said of it anew.
      this.toldSkipped.delete(full);
      this.recordFailedCopies();
      this.watchGrowth(`${RESERVED_DIRS.failed}/${rel}`, key, f.md5);
    }
    this.deps.emit({ kind: 'failed', file: f.file, key, code, message, movedTo: rel && `${RESERVED_DIRS.failed}/${rel}`, note, ...(warning ? { warning } : {}), ...(failedBeforeMs !== undefined ? { failedBefore: formatDateTime(failedBeforeMs, this.deps.offsetMinutes) } : {}) });
    if (noteError) this.deps.emit({ kind: 'error', file: f.file, message: `its note (<name>.error.txt) could not be written (${noteError}); the reason is on the line above` });
  }
}
