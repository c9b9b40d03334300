/**
 * The durable ledger kept in the bucket under one prefix. COS `PUT` with
 * `x-cos-forbid-overwrite: true` is an atomic create-if-absent, which gives us claims that hold
 * across any number of function instances without a database:
 *
 *   <prefix>jobs/<id>.json          one per object version: who is handling it and the result
 *   <prefix>quota/<day>/<nnnnn>     one per file submitted on that quota day
 *   <prefix>quota-full/<day>        CCC said the day's quota is spent, whatever we counted
 *   <prefix>rate/<epoch second>     one per UploadIvrAudio call: at most one call per second
 *   <prefix>deferred/<time>-<id>    files waiting for the next quota day, oldest first
 *   <prefix>files/<FileId>          FileIds we know we registered (used to recover after a crash)
 */
import { createHash } from 'crypto';
import type { BlobStore } from './cos';
import { IvrError } from './errors';
import type { IvrResult } from './metadata';

export type JobState = 'claimed' | 'calling' | 'done' | 'retryable' | 'deferred';

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
}

export function jobId(bucket: string, key: string, etag: string): string {
  return createHash('sha1').update(`${bucket}\n${key}\n${etag}`).digest('hex');
}

/** The quota day (YYYY-MM-DD) of an instant, in the configured offset from UTC. */
export function quotaDay(nowMs: number, utcOffsetMinutes: number): string {
  return new Date(nowMs + utcOffsetMinutes * 60000).toISOString().slice(0, 10);
}

export type ExistingJobDecision = 'done' | 'deferred' | 'in-flight' | 'take-over' | 'uncertain';

/**
 * What to do when another invocation already claimed this object version. A claim younger than
 * the lease belongs to a live invocation; an old `calling` claim may or may not have reached CCC.
 */
export function decideExistingJob(job: JobRecord, nowMs: number, leaseSeconds: number): ExistingJobDecision {
  if (job.state === 'done') return 'done';
  if (job.state === 'deferred') return 'deferred';
  if (job.state === 'retryable') return 'take-over';
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

  async quotaUsed(day: string): Promise<number> {
    return (await this.store.list(`${this.prefix}quota/${day}/`)).length;
  }

  async quotaMarkedFull(day: string): Promise<boolean> {
    return (await this.store.get(`${this.prefix}quota-full/${day}`)) !== undefined;
  }

  markQuotaFull(day: string): Promise<void> {
    return this.store.put(`${this.prefix}quota-full/${day}`, JSON.stringify({ at: new Date().toISOString() }));
  }

  /** Claims one of the day's `quota` slots; undefined when all are taken. */
  async claimQuotaSlot(day: string, quota: number, owner: string): Promise<number | undefined> {
    if (await this.quotaMarkedFull(day)) return undefined;
    for (let slot = await this.quotaUsed(day); slot < quota; slot++) {
      if (await this.store.putIfAbsent(`${this.prefix}quota/${day}/${pad(slot)}`, JSON.stringify({ owner }))) return slot;
    }
    return undefined;
  }

  /**
   * Waits for a second of our own to call UploadIvrAudio in. Seconds are claimed in the bucket, so
   * concurrent instances queue up one per second instead of tripping the service's limit.
   */
  async awaitRateSlot(now: () => number, sleep: (ms: number) => Promise<void>, owner: string): Promise<number> {
    const start = now();
    // Late in a second there is no time left to send; start with the next one.
    let second = Math.floor(start / 1000) + (start % 1000 > 700 ? 1 : 0);
    for (let tries = 0; tries < 900; tries++, second++) {
      if (await this.store.putIfAbsent(`${this.prefix}rate/${second}`, JSON.stringify({ owner }))) {
        const wait = second * 1000 - now();
        if (wait > 0) await sleep(wait + 5);
        return second;
      }
      second = Math.max(second, Math.floor(now() / 1000));
    }
    throw new IvrError('RequestLimitExceeded', 'no free UploadIvrAudio second in the next 15 minutes', { transient: true });
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

  recordFile(fileId: number, id: string): Promise<void> {
    return this.store.put(`${this.prefix}files/${fileId}`, JSON.stringify({ job: id }));
  }

  async knowsFile(fileId: number): Promise<boolean> {
    return (await this.store.get(`${this.prefix}files/${fileId}`)) !== undefined;
  }
}
