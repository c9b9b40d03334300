/**
 * The webhook outbox's decisions: pure. A message the operator is owed (the day's report, the
 * announcement of review rejections) is written to the ledger as an outbox record before the
 * step that decides it is owed (the report's create-once JSON, the rejection's create-once
 * `reviewed/` marker), and deleted once WeCom took it. A record that outlives its writer (killed
 * before or after its post, or WeCom down for all three attempts) is posted again by a later
 * timer pass: one pass per lease window, for a bounded lifetime.
 */
import type { WebhookMessage } from './report';

/**
 * How long a record belongs to the pass that wrote it (it may still be posting it): longer than
 * the timer function's timeout (300 s in serverless.yml), so its writer is gone by then. A later
 * pass posts it once per window of this length after that.
 */
export const OUTBOX_LEASE_MS = 10 * 60_000;

/** How long a record is posted again before it is given up (logged as `WebhookFailed`, and deleted). */
export const OUTBOX_LIFETIME_MS = 24 * 3600_000;

/** What a pass does with a record written at `at`. */
export type OutboxStep =
  /** Still in its writer's lease: the writer may be posting it right now. */
  | { kind: 'wait' }
  /** Post it again; the pass first claims `window` (one claim per window: one poster). */
  | { kind: 'post'; window: number }
  /** Too old: log it as given up and delete it (also claimed: one log line). */
  | { kind: 'give-up'; window: number };

/**
 * The step for a record written at `at` (its writer's clock) and found at `now`. `skewMs` allows
 * for the clocks of two instances: a record is never taken from a writer that may still hold it.
 * Window 0 is the writer's; window k ≥ 1 starts `k` leases (plus the skew) after `at`.
 */
export function outboxStep(at: number, now: number, skewMs: number, leaseMs = OUTBOX_LEASE_MS, lifetimeMs = OUTBOX_LIFETIME_MS): OutboxStep {
  const age = now - at - skewMs;
  if (!(age >= leaseMs)) return { kind: 'wait' };
  const window = Math.floor(age / leaseMs);
  return age >= lifetimeMs ? { kind: 'give-up', window } : { kind: 'post', window };
}

/** A key an outbox listing showed: a record, or a claim of one of its windows (`<record>.<window>`). */
export interface OutboxListed {
  key: string;
  lastModified: number;
}

/** What a pass reads after listing the outbox: records that may be past their lease, and claims left without their record. */
export interface OutboxPlan {
  /** Records to read (a listing's time is when the record was written: younger ones are skipped unread). */
  records: string[];
  /** Claims whose record the listing no longer shows, old enough that no pass still works on them. */
  strayClaims: string[];
}

const CLAIM_RE = /^(.*)\.(\d+)$/;

/** The claim key of `window` of the record at `key`. */
export const claimKey = (key: string, window: number): string => `${key}.${window}`;

/**
 * Plans a drain from a listing. The listing only finds candidates: a record it does not show yet
 * is found by a later pass (a late listing delays a post, never loses it, since only a post or the
 * give-up deletes a record), and a record it still shows after its deletion is read by key and
 * found gone. A claim is litter once its record is gone (they are deleted together, so only a
 * failed deletion leaves one): it goes after the record's lifetime and a lease, by its own age.
 */
export function planOutbox(listed: OutboxListed[], now: number, leaseMs = OUTBOX_LEASE_MS, lifetimeMs = OUTBOX_LIFETIME_MS): OutboxPlan {
  const recordKeys = new Set(listed.filter((l) => !CLAIM_RE.test(l.key)).map((l) => l.key));
  // Least lately tried first (a record's newest claim: when a pass last took a window of it; never
  // tried, oldest key first): a pass stops after a failed post or a second refusal, so records
  // WeCom refuses for good, tried first by every pass, would hold the rest back for their day.
  const lastTried = new Map<string, number>();
  for (const l of listed) {
    const m = CLAIM_RE.exec(l.key);
    if (m !== null && recordKeys.has(m[1])) lastTried.set(m[1], Math.max(lastTried.get(m[1]) ?? 0, l.lastModified));
  }
  const records = listed
    .filter((l) => recordKeys.has(l.key) && now - l.lastModified >= leaseMs)
    .map((l) => l.key)
    .sort((a, b) => (lastTried.get(a) ?? 0) - (lastTried.get(b) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
  const strayClaims = listed
    .filter((l) => {
      const m = CLAIM_RE.exec(l.key);
      return m !== null && !recordKeys.has(m[1]) && now - l.lastModified >= lifetimeMs + leaseMs;
    })
    .map((l) => l.key);
  return { records, strayClaims };
}

/**
 * The keys a rejection record still owes an announcement for: those whose `reviewed/` marker was
 * created by the record's writer (`markedBy`: the marker's writer per FileId, undefined when there
 * is no marker). A file without a marker is not owed: its writer died before marking it, so the
 * FileId is asked about again and announced by the pass that marks it; one marked by another pass
 * is that pass's to announce.
 */
export function owedRejections(files: Array<{ fileId: number; key: string }>, markedBy: ReadonlyMap<number, string | undefined>, owner: string): string[] {
  return files.filter((f) => markedBy.get(f.fileId) === owner).map((f) => f.key);
}

/**
 * WeCom's errcodes that refuse every message, not the one posted: -1 (system busy), 45009 (the
 * robot over its rate limit, 20 messages a minute), 93000 (no such robot: the webhook URL's key).
 */
export const WECOM_REFUSES_ALL: ReadonlySet<number> = new Set([-1, 45009, 93000]);

/**
 * Whether WeCom answered and refused this message in particular (its `errcode`, when it answered
 * one): then the next owed message may still go; a refusal of every message stops the drain.
 */
export const refusedThisMessage = (errcode: number | undefined): boolean => errcode !== undefined && !WECOM_REFUSES_ALL.has(errcode);

/**
 * A webhook message owed to the operator (see core/outbox.ts), written before the step that
 * decides it is owed and deleted once posted. `owner` is the pass that wrote it, `at` when (its
 * clock). It is owed only while that decision stands as its writer's: the report's JSON names the
 * writer (`writtenBy`), each rejection's `reviewed/` marker names it (`by`).
 */
export type OutboxRecord =
  | { v: 1; kind: 'report'; owner: string; at: number; day: string; message: WebhookMessage }
  | { v: 1; kind: 'rejections'; owner: string; at: number; files: Array<{ fileId: number; key: string }> };

/** Parses an outbox record's body; undefined when it is not one (damaged, or from a later version). */
export function parseOutboxRecord(text: string): OutboxRecord | undefined {
  let r: Partial<Record<string, unknown>>;
  try {
    r = JSON.parse(text) as Partial<Record<string, unknown>>;
  } catch {
    return undefined;
  }
  if (r === null || typeof r !== 'object' || r.v !== 1 || typeof r.owner !== 'string' || typeof r.at !== 'number' || !Number.isFinite(r.at)) return undefined;
  if (r.kind === 'report') {
    const m = r.message as Partial<WebhookMessage> | undefined;
    if (typeof r.day !== 'string' || m?.msgtype !== 'markdown' || typeof m.markdown?.content !== 'string') return undefined;
    return { v: 1, kind: 'report', owner: r.owner, at: r.at, day: r.day, message: { msgtype: 'markdown', markdown: { content: m.markdown.content } } };
  }
  if (r.kind === 'rejections' && Array.isArray(r.files)) {
    const files = (r.files as Array<Partial<Record<string, unknown>>>).filter((f): f is { fileId: number; key: string } => f !== null && typeof f === 'object' && Number.isSafeInteger(f.fileId) && typeof f.key === 'string');
    if (files.length !== r.files.length) return undefined;
    return { v: 1, kind: 'rejections', owner: r.owner, at: r.at, files: files.map((f) => ({ fileId: f.fileId, key: f.key })) };
  }
  return undefined;
}
