/**
 * The ledger: typed records on a {@link Store}, under one prefix of the bucket.
 *
 *   jobs/<id>/<seq>              job versions, each created once (the job state machine's chain);
 *                                past the retention, version 0 is overwritten with the head (compaction)
 *   queue/<ts>-<id>-<seq>        a job that needs a sender: the file's snapshot, for crash recovery
 *   deferred/<ts>-<id>-<seq>     a job waiting for a quota day with room
 *   send/<n>                     the send log, each entry created once (lease, calls, quota)
 *   send/tail                    a copy of the newest entry: where readers start (a hint, may lag)
 *   files/<FileId>               which job a FileId belongs to (recovery after a lost answer)
 *   reviewed/<FileId>            its review reached a final state (its creator announces a rejection)
 *   outbox/<ts>-<owner>-<what>   a webhook message owed to the operator until WeCom took it;
 *                                `<record>.<n>`: the claim of its n-th re-post window (see core/outbox.ts)
 *   reports/<day>.json, reports/index.html, reports/history.json
 *   converted/<id>-<t>.wav       converted copies CCC downloads instead of an oversized original
 *
 * `<ts>` is the time the file was queued, so a listing sorts oldest first. Listings are used
 * only to find candidate work; whether a job exists, what state it is in and who may send are
 * always read by key or decided by a create-if-absent.
 */
import { IvrError } from '../core/errors';
import { parseJobVersion, storedForm, type JobVersion } from '../core/job';
import { parseLogEntry, type LogEntry } from '../core/sendlog';
import { claimKey, parseOutboxRecord, type OutboxListed, type OutboxRecord } from '../core/outbox';
import type { Listed, Store } from './store';

/** A reference to a job found in `queue/` or `deferred/`. */
export interface EntryRef {
  key: string;
  queuedAt: number;
  id: string;
  /** The job version when the entry was written (a lower bound of the chain's head). */
  seq: number;
  lastModified: number;
}

/** What a queue entry holds: enough to rebuild the job if its intake died before writing it. */
export interface QueueEntryBody {
  v: 2;
  job: JobVersion;
}

const pad = (n: number, width: number) => String(Math.max(0, Math.floor(n))).padStart(width, '0');
const ENTRY_RE = /(\d{15})-([0-9a-f]{40})-(\d+)$/;
const JOB_KEY_RE = /jobs\/([0-9a-f]{40})\/(\d+)$/;
// `<id>.wav` as versions up to 2026-11 wrote them, `<id>-<ms in base 36>.wav` since.
const CONVERTED_KEY_RE = /converted\/([0-9a-f]{40})(?:-[0-9a-z]+)?\.wav$/;

function parseEntry(l: Listed): EntryRef | undefined {
  const m = ENTRY_RE.exec(l.key);
  return m ? { key: l.key, queuedAt: Number(m[1]), id: m[2], seq: Number(m[3]), lastModified: l.lastModified } : undefined;
}

/** A version that exists but cannot be read: it may belong to a registration, so it is never overwritten. */
export const CORRUPT = Symbol('corrupt');

/**
 * Job versions this instance created itself, kept for a warm instance's next invocations: a version
 * is created once and never rewritten, so the one we created is the one that is there. Bounded in
 * number; readers also bound it in age, because compaction rewrites version 0 and deletes the
 * versions after it weeks later.
 */
export class CreatedVersions {
  private readonly byKey = new Map<string, JobVersion>();
  constructor(private readonly limit = 256) {}

  /** Remembers a version this instance created. */
  remember(v: JobVersion): void {
    const key = `${v.id}/${v.seq}`;
    this.byKey.delete(key);
    this.byKey.set(key, v);
    if (this.byKey.size > this.limit) this.byKey.delete(this.byKey.keys().next().value as string);
  }

  /** Version `seq` of job `id`, if this instance created it. */
  get(id: string, seq: number): JobVersion | undefined {
    return this.byKey.get(`${id}/${seq}`);
  }
}

/**
 * The newest send-log entry this instance read or appended, kept for a warm instance's next
 * invocations. A hint only: it may be long out of date, so it decides nothing but whether an
 * intake shows `queued` before its hand-off reads the log (see handoff.ts).
 */
export class SeenEntry {
  /** The newest entry seen, by entry number. */
  entry?: LogEntry;

  /** Notes an entry read or appended (an older one than already seen is ignored). */
  note(e: LogEntry | undefined): void {
    if (e && (!this.entry || e.n >= this.entry.n)) this.entry = e;
  }
}

/** Typed records under the ledger prefix of one bucket (layout in the module comment). */
export class Ledger {
  constructor(
    /** The storage the records live in (the recovery pass also uses it directly: reports, migration, pruning). */
    readonly store: Store,
    /** The ledger prefix (`IVR_LEDGER_PREFIX`), ending in `/`. */
    readonly prefix: string,
    /** Versions this instance created, shared by its invocations on this bucket. */
    readonly created: CreatedVersions = new CreatedVersions(),
    /** The newest send-log entry this instance saw, shared by its invocations on this bucket. */
    readonly seen: SeenEntry = new SeenEntry(),
  ) {}

  // ---- jobs ----

  /** Where version `seq` of job `id` is stored: `jobs/<id>/<seq>`. */
  jobKey(id: string, seq: number): string {
    return `${this.prefix}jobs/${id}/${seq}`;
  }

  /**
   * Creates a version; false when someone else created that version first. A create whose answer
   * was lost and that the SDK retried comes back as "exists": reading it back tells it was ours.
   */
  async writeVersion(written: JobVersion): Promise<boolean> {
    const v = storedForm(written);
    let ours = await this.store.create(this.jobKey(v.id, v.seq), JSON.stringify(v));
    if (!ours) {
      const there = await this.readVersion(v.id, v.seq);
      ours = there !== undefined && there !== CORRUPT && there.by === v.by && there.at === v.at;
    }
    if (ours) this.created.remember(v);
    return ours;
  }

  /** Every job version key a listing shows (candidates only: a listing may lag), with its job, seq and time. */
  async listJobVersions(): Promise<Array<{ key: string; id: string; seq: number; lastModified: number }>> {
    const out = [];
    for (const l of await this.store.list(`${this.prefix}jobs/`)) {
      const m = JOB_KEY_RE.exec(l.key);
      if (m) out.push({ key: l.key, id: m[1], seq: Number(m[2]), lastModified: l.lastModified });
    }
    return out;
  }

  /**
   * Overwrites version 0 of a settled job with its head `v` (which keeps its own seq): the chain's
   * compacted form, see the recovery pass's pruning. The only write that replaces a version.
   */
  async compactVersion(v: JobVersion): Promise<void> {
    await this.store.put(this.jobKey(v.id, 0), JSON.stringify(v));
  }

  /**
   * Version `seq` of a job: undefined when it does not exist, {@link CORRUPT} when it exists but
   * cannot be parsed. Version 0 of a compacted chain holds its head, with that head's seq.
   */
  async readVersion(id: string, seq: number): Promise<JobVersion | undefined | typeof CORRUPT> {
    const text = await this.store.get(this.jobKey(id, seq));
    if (text === undefined) return undefined;
    return parseJobVersion(text) ?? CORRUPT;
  }

  /**
   * The newest version, probing forward from `from`: a version known to exist, or a seq to start at.
   * Chains are short (a few versions), so this is a handful of reads at most.
   */
  async head(id: string, from: JobVersion | number = 0): Promise<JobVersion | undefined | typeof CORRUPT> {
    // A version never written (JobVersion.unwritten) stands for its place until someone writes it.
    let current: JobVersion | undefined | typeof CORRUPT = typeof from === 'number' ? await this.readVersion(id, from) : from.unwritten ? ((await this.readVersion(id, from.seq)) ?? from) : from;
    if (current === undefined || current === CORRUPT) return current;
    for (;;) {
      const next = await this.readVersion(id, current.seq + 1);
      if (next === undefined) return current;
      if (next === CORRUPT) return CORRUPT;
      current = next;
    }
  }

  // ---- queue and deferred entries ----

  /** Key of a job version's queue entry; its `queuedAt` comes first, so a listing sorts oldest first. */
  queueKey(job: JobVersion): string {
    return this.queueKeyOf(job.object.queuedAt, job.id, job.seq);
  }

  /** {@link queueKey} from its parts (a call entry names a job by id and seq, with its `queuedAt`). */
  queueKeyOf(queuedAt: number, id: string, seq: number): string {
    return `${this.prefix}queue/${pad(queuedAt, 15)}-${id}-${seq}`;
  }

  /** Key of a job version's `deferred/` entry, named like its queue entry. */
  deferredKey(job: JobVersion): string {
    return `${this.prefix}deferred/${pad(job.object.queuedAt, 15)}-${job.id}-${job.seq}`;
  }

  /** Writes the entry that makes a job findable by senders and by the recovery pass. */
  async enqueue(job: JobVersion): Promise<string> {
    const key = this.queueKey(job);
    await this.store.put(key, JSON.stringify({ v: 2, job: storedForm(job) } satisfies QueueEntryBody));
    return key;
  }

  /** Writes the entry that lists a deferred job for senders (blind write, like a queue entry); returns its key. */
  async putDeferred(job: JobVersion): Promise<string> {
    const key = this.deferredKey(job);
    await this.store.put(key, JSON.stringify({ v: 2, job: storedForm(job) } satisfies QueueEntryBody));
    return key;
  }

  /** A queue or deferred entry's body; undefined when the entry is gone or holds no readable job version. */
  async readEntry(key: string): Promise<QueueEntryBody | undefined> {
    const text = await this.store.get(key);
    if (text === undefined) return undefined;
    try {
      const body = JSON.parse(text) as QueueEntryBody;
      return body?.v === 2 && parseJobVersion(JSON.stringify(body.job)) ? body : undefined;
    } catch {
      return undefined;
    }
  }

  /** Candidate work, oldest first. A late listing may miss entries: a later pass finds them. */
  async listQueue(): Promise<EntryRef[]> {
    return (await this.store.list(`${this.prefix}queue/`)).map(parseEntry).filter((e): e is EntryRef => e !== undefined);
  }

  /** Deferred jobs, oldest first; like `listQueue`, a late listing may miss entries. */
  async listDeferred(): Promise<EntryRef[]> {
    return (await this.store.list(`${this.prefix}deferred/`)).map(parseEntry).filter((e): e is EntryRef => e !== undefined);
  }

  /** Deletes ledger keys (duplicates dropped) in as few requests as the store allows. */
  deleteEntries(keys: string[]): Promise<void> {
    return this.store.deleteMany([...new Set(keys)]);
  }

  /**
   * {@link deleteEntries} where a key left behind is only litter that a sender or the recovery
   * pass removes later: a storage error is ignored, anything else (a bug) is still thrown.
   */
  async tidyEntries(keys: string[]): Promise<void> {
    try {
      await this.deleteEntries(keys);
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
    }
  }

  // ---- send log ----

  private entryKey = (n: number) => `${this.prefix}send/${n}`;
  private tailKey = () => `${this.prefix}send/tail`;

  /** The newest entry as last published: a hint that may lag a few entries behind (undefined when absent or unreadable). */
  async readTail(): Promise<LogEntry | undefined> {
    const t = await this.tail();
    return t === CORRUPT ? undefined : t;
  }

  /** As {@link readTail}, telling an unreadable `send/tail` (`CORRUPT`) from an absent one (undefined). */
  async tail(): Promise<LogEntry | undefined | typeof CORRUPT> {
    const text = await this.store.get(this.tailKey());
    if (text === undefined) return undefined;
    const e = parseLogEntry(text);
    this.seen.note(e);
    return e ?? CORRUPT;
  }

  /** Send-log entry `n`, read by key; undefined when it is absent or unreadable. */
  async readEntryAt(n: number): Promise<LogEntry | undefined> {
    const e = parseLogEntry(await this.store.get(this.entryKey(n)));
    this.seen.note(e);
    return e;
  }

  /**
   * Appends entry `e.n`. When that number is taken, returns the entry that took it (read back: a
   * create whose answer was lost may turn out to be ours), so the caller need not read it again.
   */
  async appendEntry(e: LogEntry): Promise<{ appended: true } | { appended: false; there: LogEntry | undefined }> {
    if (await this.store.create(this.entryKey(e.n), JSON.stringify(e))) {
      this.seen.note(e);
      return { appended: true };
    }
    const there = await this.readEntryAt(e.n);
    return there !== undefined && there.owner === e.owner && there.at === e.at ? { appended: true } : { appended: false, there };
  }

  /** Every numbered send-log entry a listing shows (not `send/tail`), with its number and time: for pruning. */
  async listLogEntries(): Promise<Array<{ key: string; n: number; lastModified: number }>> {
    return (await this.store.list(`${this.prefix}send/`)).map((l) => ({ key: l.key, n: Number(l.key.slice(l.key.lastIndexOf('/') + 1)), lastModified: l.lastModified })).filter((e) => Number.isInteger(e.n));
  }

  /** Overwrites `send/tail` with `e`: a blind write, so the hint may lag (or briefly go back when publishes race). */
  publishTail(e: LogEntry): Promise<void> {
    return this.store.put(this.tailKey(), JSON.stringify(e));
  }

  // ---- FileIds ----

  /** Records which job a FileId belongs to, before the job's own version says so. */
  recordFile(fileId: number, jobId: string): Promise<void> {
    return this.store.put(`${this.prefix}files/${fileId}`, JSON.stringify({ job: jobId }));
  }

  /** {@link recordFile} unless the FileId is on record already: false then (its owner is kept). */
  recordFileOnce(fileId: number, jobId: string): Promise<boolean> {
    return this.createOnce(`${this.prefix}files/${fileId}`, JSON.stringify({ job: jobId }));
  }

  /** The job a FileId was recorded for; undefined when none; '' when unreadable. */
  fileOwner(fileId: number): Promise<string | undefined> {
    return this.recordField(`${this.prefix}files/${fileId}`, 'job');
  }

  /** One field of a small JSON record as a string: undefined when the record is absent, '' when it (or the field) cannot be read. */
  private async recordField(key: string, field: string): Promise<string | undefined> {
    const text = await this.store.get(key);
    if (text === undefined) return undefined;
    try {
      return String((JSON.parse(text) as Record<string, unknown>)[field] ?? '');
    } catch {
      return '';
    }
  }

  /** Every FileId on record, with when its record was written (keys that are not a FileId are skipped). */
  async listFiles(): Promise<Array<{ fileId: number; lastModified: number }>> {
    return (await this.store.list(`${this.prefix}files/`)).map((l) => ({ fileId: Number(l.key.slice(l.key.lastIndexOf('/') + 1)), lastModified: l.lastModified })).filter((f) => Number.isSafeInteger(f.fileId));
  }

  /** Marks a FileId's review as final; true only for the first marker (so a rejection is announced once). */
  markReviewed(fileId: number, review: string, by: string, at: number): Promise<boolean> {
    return this.createOnce(`${this.prefix}reviewed/${fileId}`, JSON.stringify({ review, by, at: new Date(at).toISOString() }));
  }

  /**
   * Creates `key` if absent; true when this call created it. A create COS committed but whose
   * answer was lost comes back as "exists" after the SDK's retry: the key is read back, and a body
   * identical to ours means it was ours. Callers make bodies unique: the reviewed marker and the
   * day's report both name the invocation that wrote them.
   */
  async createOnce(key: string, body: string): Promise<boolean> {
    if (await this.store.create(key, body)) return true;
    return (await this.store.get(key)) === body;
  }

  /** The markers `markReviewed` wrote, with when each was written: for pruning. */
  listReviewMarkers(): Promise<Listed[]> {
    return this.store.list(`${this.prefix}reviewed/`);
  }

  /** Who created a FileId's `reviewed/` marker (its `by`); undefined when there is none, '' when unreadable. */
  reviewMarkedBy(fileId: number): Promise<string | undefined> {
    return this.recordField(`${this.prefix}reviewed/${fileId}`, 'by');
  }

  /** FileIds whose review was marked final by `markReviewed`. */
  async listReviewed(): Promise<Set<number>> {
    return new Set((await this.listReviewMarkers()).map((l) => Number(l.key.slice(l.key.lastIndexOf('/') + 1))).filter(Number.isSafeInteger));
  }

  // ---- reports ----

  /** Key of the stored JSON report of a quota day (YYYY-MM-DD). */
  reportKey = (day: string) => `${this.prefix}reports/${day}.json`;
  /** Marks a day that needs no report of its own (nothing was sent; before the stack existed, say). */
  quietDayKey = (day: string) => `${this.prefix}reports/${day}.quiet`;
  /** Key of the HTML page, which shows the latest report written. */
  reportPageKey = () => `${this.prefix}reports/index.html`;
  /** Key of the per-day submitted counts (last 60 days) the report's chart is drawn from. */
  historyKey = () => `${this.prefix}reports/history.json`;

  /** Who stored the day's JSON report (its `writtenBy`); undefined when there is none, '' when unreadable. */
  reportWrittenBy(day: string): Promise<string | undefined> {
    return this.recordField(this.reportKey(day), 'writtenBy');
  }

  // ---- webhook outbox ----

  /** Key of an outbox record: its time first (a listing sorts oldest first), then its writer and what it is for. */
  private outboxKey(r: OutboxRecord): string {
    const what = r.kind === 'report' ? `report-${r.day}` : 'rejections';
    return `${this.prefix}outbox/${pad(r.at, 15)}-${r.owner.replace(/[^A-Za-z0-9_-]/g, '_')}-${what}`;
  }

  /**
   * Writes an outbox record; returns its key. The key names its writer, so no other pass writes
   * it: create-if-absent only keeps a retried create (its answer lost) from being refused as a
   * conflict with itself.
   */
  async putOutbox(r: OutboxRecord): Promise<string> {
    const key = this.outboxKey(r);
    if (!(await this.createOnce(key, JSON.stringify(r)))) throw new IvrError('LedgerCorrupt', `outbox record ${key} exists with another body`);
    return key;
  }

  /** Replaces this pass's own record with what it still owes (blind write: no other pass writes its key). */
  rewriteOutbox(key: string, r: OutboxRecord): Promise<void> {
    return this.store.put(key, JSON.stringify(r));
  }

  /** Every outbox key a listing shows, records and claims (candidates only: a listing may lag). */
  listOutbox(): Promise<OutboxListed[]> {
    return this.store.list(`${this.prefix}outbox/`);
  }

  /** An outbox record: undefined when it is gone, {@link CORRUPT} when it cannot be read. */
  async readOutbox(key: string): Promise<OutboxRecord | undefined | typeof CORRUPT> {
    const text = await this.store.get(key);
    if (text === undefined) return undefined;
    return parseOutboxRecord(text) ?? CORRUPT;
  }

  /** Claims re-post window `window` of a record: true for exactly one pass (create-if-absent). */
  claimOutbox(key: string, window: number, by: string, at: number): Promise<boolean> {
    return this.createOnce(claimKey(key, window), JSON.stringify({ by, at: new Date(at).toISOString() }));
  }

  /**
   * Deletes a record, then the claims of its windows up to `window`: the record first, so that a
   * pass that wins a claim once it is deleted finds the record gone when it reads it again (see
   * drainOutbox). A claim left by a failed deletion is litter, swept later (planOutbox).
   */
  async finishOutbox(key: string, window: number): Promise<void> {
    await this.deleteEntries([key]);
    if (window > 0) await this.deleteEntries(Array.from({ length: window }, (_, i) => claimKey(key, i + 1)));
  }

  /**
   * Key of a converted copy CCC downloads for job `id` instead of the original, made at `at` (ms).
   * A key of its own per conversion: the daily prune deletes a settled job's copies a day old, and
   * one key per job let a re-upload of the same bytes (the same job, run again) write its copy
   * where the prune had just judged the old one, which then deleted the new one before CCC read it.
   */
  convertedKey = (id: string, at: number) => `${this.prefix}converted/${id}-${at.toString(36)}.wav`;

  /** Every converted copy a listing shows, with the job it was made for (keys that name none are skipped). */
  async listConverted(): Promise<Array<{ key: string; id: string; lastModified: number }>> {
    const out = [];
    for (const l of await this.store.list(`${this.prefix}converted/`)) {
      const id = CONVERTED_KEY_RE.exec(l.key)?.[1];
      if (id) out.push({ key: l.key, id, lastModified: l.lastModified });
    }
    return out;
  }
}
