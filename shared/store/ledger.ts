/**
 * The durable ledger kept in the bucket under one prefix. COS `PUT` with
 * `x-cos-forbid-overwrite: true` is an atomic create-if-absent, which gives us claims that hold
 * across any number of function instances without a database:
 *
 *   <prefix>jobs/<id>.json          one per object version: who is handling it and the result
 *   <prefix>quota/<day>/<nnnnn>     one per file submitted on that quota day
 *   <prefix>quota/<day>/full        CCC said the day's quota is spent, whatever we counted
 *   <prefix>rate/<epoch second>     one per UploadIvrAudio call: at most one call per second
 *   <prefix>pending/<time>-<id>-<n> files waiting for the next call, oldest first (n: attempt)
 *   <prefix>taken/<id>-<n>          the leader that put that pending file into its call
 *   <prefix>reruns/<id>-<n>         a failed job started again (a re-upload of the same content)
 *   <prefix>deferred/<time>-<id>    files waiting for the next quota day, oldest first
 *   <prefix>files/<FileId>          FileIds we know we registered (used to recover after a crash)
 */
import { createHash } from 'crypto';
import { mapLimited } from '../runtime/concurrency';
import type { BlobStore } from '../sdk/cos';
import type { IvrResult } from '../core/metadata';

export type JobState = 'claimed' | 'queued' | 'calling' | 'done' | 'retryable' | 'deferred';

export interface JobRecord {
  v: 1;
  state: JobState;
  bucket: string;
  key: string;
  etag: string;
  customName: string;
  updatedAt: string;
  attempts: number;
  quotaDay?: string;
  result?: IvrResult;
  /** Send alone: a call with it in a batch failed as a whole, so it must not sink others again. */
  solo?: boolean;
  /** Not before this time (ms): backoff after a transient failure. */
  notBefore?: number;
  /** Marked `retrying` once `attempts` reaches this; set whenever the job is (re)started. */
  giveUpAt?: number;
  /** How many times a failed job was started again. */
  reruns?: number;
}

export function jobId(bucket: string, key: string, etag: string): string {
  return createHash('sha1').update(`${bucket}\n${key}\n${etag}`).digest('hex');
}

/** The quota day (YYYY-MM-DD) of an instant, in the configured offset from UTC. */
export function quotaDay(nowMs: number, utcOffsetMinutes: number): string {
  return new Date(nowMs + utcOffsetMinutes * 60000).toISOString().slice(0, 10);
}

export type ExistingJobDecision = 'done' | 'failed' | 'deferred' | 'queued' | 'in-flight' | 'take-over' | 'uncertain';

/**
 * What to do when another invocation already claimed this object version. A claim younger than
 * the lease belongs to a live invocation; an old `calling` claim may or may not have reached CCC.
 * A `failed` job may be started again: an upload of the same content is how operators retry.
 */
export function decideExistingJob(job: JobRecord, nowMs: number, leaseSeconds: number): ExistingJobDecision {
  if (job.state === 'done') return job.result?.status === 'failed' ? 'failed' : 'done';
  if (job.state === 'deferred') return 'deferred';
  if (job.state === 'retryable') return 'take-over';
  if (job.state === 'queued') return 'queued';
  const age = nowMs - Date.parse(job.updatedAt);
  if (!(age >= leaseSeconds * 1000)) return 'in-flight';
  return job.state === 'calling' ? 'uncertain' : 'take-over';
}

export function parseJob(text: string | undefined): JobRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const j = JSON.parse(text) as Partial<JobRecord>;
    if (j && j.v === 1 && typeof j.state === 'string' && typeof j.key === 'string' && typeof j.etag === 'string' && typeof j.updatedAt === 'string') {
      return j as JobRecord;
    }
  } catch {
    // fall through: a corrupt record is treated as missing, and the caller re-creates it
  }
  return undefined;
}

const pad = (n: number) => String(n).padStart(5, '0');
/** Marker in a quota day's folder: CCC answered that the day's quota is spent. */
const FULL = 'full';

export class Ledger {
  constructor(
    private readonly store: BlobStore,
    readonly prefix: string,
  ) {}

  private jobKey = (id: string) => `${this.prefix}jobs/${id}.json`;

  async getJob(id: string): Promise<JobRecord | undefined> {
    return parseJob(await this.store.get(this.jobKey(id)));
  }

  /** True when this invocation now owns the job. */
  claimJob(id: string, job: JobRecord): Promise<boolean> {
    return this.store.putIfAbsent(this.jobKey(id), JSON.stringify(job));
  }

  saveJob(id: string, job: JobRecord): Promise<void> {
    return this.store.put(this.jobKey(id), JSON.stringify(job));
  }

  /** Slots taken on a quota day, and whether CCC said the day is spent; one listing. */
  async quotaState(day: string): Promise<{ used: number; full: boolean }> {
    const keys = await this.store.list(`${this.prefix}quota/${day}/`);
    const full = keys.some((k) => k.endsWith(`/${FULL}`));
    return { used: keys.length - (full ? 1 : 0), full };
  }

  /** Files submitted per quota day, from one listing of the quota slots. */
  async quotaUseByDay(): Promise<Record<string, { used: number; full: boolean }>> {
    const use: Record<string, { used: number; full: boolean }> = {};
    for (const k of await this.store.list(`${this.prefix}quota/`)) {
      const [day, name] = k.slice(this.prefix.length + 'quota/'.length).split('/');
      const u = (use[day] ??= { used: 0, full: false });
      if (name === FULL) u.full = true;
      else u.used++;
    }
    return use;
  }

  markQuotaFull(day: string): Promise<void> {
    return this.store.put(`${this.prefix}quota/${day}/${FULL}`, JSON.stringify({ at: new Date().toISOString() }));
  }

  /** Claims one of the day's `quota` slots; undefined when all are taken or CCC said the day is spent. */
  async claimQuotaSlot(day: string, quota: number, owner: string): Promise<number | undefined> {
    const state = await this.quotaState(day);
    if (state.full) return undefined;
    for (let slot = state.used; slot < quota; slot++) {
      if (await this.store.putIfAbsent(`${this.prefix}quota/${day}/${pad(slot)}`, JSON.stringify({ owner }))) return slot;
    }
    return undefined;
  }

  /**
   * Claims the next second in which this instance may call UploadIvrAudio, or undefined when
   * another instance has it. Seconds are claimed in the bucket, so any number of instances make
   * at most one call per second between them.
   */
  async tryRateSlot(nowMs: number, owner: string): Promise<number | undefined> {
    // Always the next second: the wait until it starts lets a burst gather into one call.
    const second = Math.floor(nowMs / 1000) + 1;
    return (await this.store.putIfAbsent(`${this.prefix}rate/${second}`, JSON.stringify({ owner }))) ? second : undefined;
  }

  /** Claims the first free second from `from` on, however many instances compete. */
  async claimRateSlotFrom(from: number, owner: string): Promise<number> {
    for (let second = from; ; second++) {
      if (await this.store.putIfAbsent(`${this.prefix}rate/${second}`, JSON.stringify({ owner }))) return second;
    }
  }

  async addPending(id: string, sinceMs: number, attempt: number): Promise<void> {
    await this.store.put(`${this.prefix}pending/${String(sinceMs).padStart(15, '0')}-${id}-${attempt}`, JSON.stringify({ id }));
  }

  /** Oldest first; `attempt` is the job's attempt count when the entry was written. */
  async listPending(limit: number): Promise<Array<{ entry: string; id: string; attempt: number }>> {
    const keys = (await this.store.list(`${this.prefix}pending/`, limit)).sort();
    return keys.map((entry) => ({ entry, id: entry.slice(entry.lastIndexOf('/') + 17, entry.lastIndexOf('-')), attempt: Number(entry.slice(entry.lastIndexOf('-') + 1)) }));
  }

  /**
   * True when this leader now owns that pending entry for its call. The claim is per job and
   * attempt, not per entry, so two entries for the same job can never both be sent.
   */
  takePending(entry: string, owner: string): Promise<boolean> {
    return this.store.putIfAbsent(this.takenKey(entry), JSON.stringify({ owner }));
  }

  private takenKey(entry: string): string {
    return `${this.prefix}taken/${entry.slice(entry.lastIndexOf('/') + 17)}`;
  }

  /** The `taken/` claim stays behind: pruning sweeps claims whose entry is gone. */
  removePending(entry: string): Promise<void> {
    return this.store.delete(entry);
  }

  /** One re-run of a failed job at a time, however many deliveries ask for it. */
  claimRerun(id: string, rerun: number): Promise<boolean> {
    return this.store.putIfAbsent(`${this.prefix}reruns/${id}-${rerun}`, '{}');
  }

  async enqueueDeferred(id: string, atMs: number): Promise<void> {
    await this.store.put(`${this.prefix}deferred/${String(atMs).padStart(15, '0')}-${id}`, JSON.stringify({ id }));
  }

  /** Oldest first: the keys sort by the time the file was deferred. */
  async listDeferred(limit = 1000): Promise<Array<{ entry: string; id: string }>> {
    const keys = await this.store.list(`${this.prefix}deferred/`, limit);
    return keys.sort().map((entry) => ({ entry, id: entry.slice(entry.lastIndexOf('-') + 1) }));
  }

  removeDeferred(entry: string): Promise<void> {
    return this.store.delete(entry);
  }

  /** Every job record (the report reads them all; pruning keeps the number bounded). */
  async listJobs(concurrency = 16): Promise<Array<{ id: string; job: JobRecord }>> {
    const keys = await this.store.list(`${this.prefix}jobs/`);
    const jobs = await mapLimited(keys, concurrency, async (key) => ({ id: key.slice(key.lastIndexOf('/') + 1, -'.json'.length), job: parseJob(await this.store.get(key)) }));
    return jobs.filter((j): j is { id: string; job: JobRecord } => j.job !== undefined);
  }

  /**
   * Deletes what is no longer needed: rate seconds older than an hour, claims whose entry or job is
   * gone, quota days and settled jobs older than `retentionDays`. FileIds are kept: crash recovery
   * relies on them.
   */
  async prune(nowMs: number, retentionDays: number, utcOffsetMinutes: number, jobs: Array<{ id: string; job: JobRecord }>): Promise<number> {
    const doomed: string[] = [];
    const hourAgo = Math.floor(nowMs / 1000) - 3600;
    for (const k of await this.store.list(`${this.prefix}rate/`)) if (Number(k.slice(k.lastIndexOf('/') + 1)) < hourAgo) doomed.push(k);
    const pending = new Set((await this.store.list(`${this.prefix}pending/`)).map((k) => this.takenKey(k)));
    for (const k of await this.store.list(`${this.prefix}taken/`)) if (!pending.has(k)) doomed.push(k);
    const oldestDay = quotaDay(nowMs - retentionDays * 86400000, utcOffsetMinutes);
    for (const k of await this.store.list(`${this.prefix}quota/`)) if (k.slice(this.prefix.length + 'quota/'.length, this.prefix.length + 'quota/'.length + 10) < oldestDay) doomed.push(k);
    const cutoff = nowMs - retentionDays * 86400000;
    const kept = new Set<string>();
    for (const { id, job } of jobs) {
      if (job.state === 'done' && Date.parse(job.updatedAt) < cutoff) doomed.push(this.jobKey(id));
      else kept.add(id);
    }
    // A re-run claim means nothing once its job is gone.
    for (const k of await this.store.list(`${this.prefix}reruns/`)) {
      const name = k.slice(k.lastIndexOf('/') + 1);
      if (!kept.has(name.slice(0, name.lastIndexOf('-')))) doomed.push(k);
    }
    for (const k of doomed) await this.store.delete(k);
    return doomed.length;
  }

  async putReport(day: string, json: string, html: string): Promise<{ jsonKey: string; htmlKey: string }> {
    const jsonKey = `${this.prefix}reports/${day}.json`;
    const htmlKey = `${this.prefix}reports/index.html`;
    await this.store.put(jsonKey, json, 'application/json');
    await this.store.put(htmlKey, html, 'text/html; charset=utf-8');
    return { jsonKey, htmlKey };
  }

  recordFile(fileId: number, id: string): Promise<void> {
    return this.store.put(`${this.prefix}files/${fileId}`, JSON.stringify({ job: id }));
  }

  /** The job a FileId was recorded for, if any. */
  async fileOwner(fileId: number): Promise<string | undefined> {
    const text = await this.store.get(`${this.prefix}files/${fileId}`);
    if (text === undefined) return undefined;
    try {
      return String((JSON.parse(text) as { job?: unknown }).job ?? '');
    } catch {
      return '';
    }
  }
}
