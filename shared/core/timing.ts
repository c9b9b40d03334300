/**
 * The send protocol's durations, derived in one place from the configuration, so that tests and
 * the fault suite can scale them together by changing a few settings. Fixed durations that no
 * setting scales live with their decision instead: the outbox's lease and lifetime
 * (core/outbox.ts), the slow-COS room (core/sendlog.ts), and the workflow's own waits
 * (RECHECK_AFTER_MS in sender.ts, HEADERS_FRESH_MS in jobs.ts, LATE_WRITE_MS in recovery.ts).
 */
import type { Config } from './config';

/** CCC allows one `UploadIvrAudio` call per second; we assume it counts a sliding 1000 ms window. */
export const CCC_UPLOAD_INTERVAL_MS = 1000;

/**
 * How much later one call's request may reach CCC than another's, each having started within its
 * window (the request built and signed, a core busy, the network). The gap leaves this much more
 * than a second plus the skew allowance: a fault run on a loaded 2-core machine, its processes'
 * clocks spread over the whole allowance, had two calls reach CCC 962 ms apart without it.
 */
export const SEND_JITTER_MS = 100;

/** Listing, reading new jobs and appending take well under this on COS. */
const GATHER_LEAD_MS = 300;

/** Durations of the send protocol, all in milliseconds. */
export interface Timing {
  /** Minimum distance between the starts of two UploadIvrAudio calls, from any instances. */
  callGapMs: number;
  /** How late after its window opens a call may still start; later, it is abandoned unsent. */
  windowSlackMs: number;
  /** Clock-difference allowance when one instance reads a time another one wrote. */
  skewMs: number;
  /** How late a listing may be; a sender keeps listing this long after it stops accepting work. */
  listLagMs: number;
  /**
   * A listed queue entry younger than this is left for the next listing (its job is likely still
   * being written). Never as long as a file left to a holder at the end of its promise can be at
   * the holder's last listing: `listLagMs` less the skew (see {@link freshEntryMs}).
   */
  freshEntryMs: number;
  /** How long before its window a sender gathers the batch (lists the queue, reads new jobs, appends). */
  gatherLeadMs: number;
  /** How long after its latest call a sender still promises to pick up newly queued files. */
  acceptMs: number;
  /** A call's full lifetime: the client timeout plus as much again for CCC to finish what it started. */
  callLifetimeMs: number;
  /** Client timeout of one CCC request. */
  requestTimeoutMs: number;
  /** After this, an orphaned queue entry (its intake vanished) is finished by someone else. */
  jobLeaseMs: number;
  /** Longest stretch one invocation keeps sending before it hands over to the next one. */
  maxTermMs: number;
  /** Backoff base for files whose call failed transiently. */
  retryBaseMs: number;
}

/** How young a listed entry is left for the next listing (150 ms, the time an intake takes to write its job). */
const FRESH_ENTRY_MS = 150;

/**
 * The age under which a listed queue entry is left for the next listing. A file left to a holder
 * accepting until `acceptUntil` was queued before it (on its writer's clock, up to `skewMs` ahead);
 * the holder's last listing is at `acceptUntil + listLagMs`, so there the entry is at least
 * `listLagMs - skewMs` old. Skipping a younger one at that listing would leave it to the recovery
 * pass; so the threshold never exceeds that age (0 when the skew allowance is the larger).
 */
export function freshEntryMs(listLagMs: number, skewMs: number): number {
  return Math.min(FRESH_ENTRY_MS, Math.max(0, listLagMs - skewMs));
}

/** Derives every duration from the configuration (settings in seconds become milliseconds). */
export function timingFrom(config: Config): Timing {
  const skewMs = config.clockSkewMs;
  const callGapMs = CCC_UPLOAD_INTERVAL_MS + skewMs + SEND_JITTER_MS;
  return {
    callGapMs,
    windowSlackMs: Math.max(skewMs, 50),
    skewMs,
    listLagMs: config.listLagMs,
    freshEntryMs: freshEntryMs(config.listLagMs, skewMs),
    gatherLeadMs: GATHER_LEAD_MS,
    // One gap: a sender that keeps calling every gap never lets its promise lapse between calls.
    acceptMs: callGapMs,
    callLifetimeMs: 2 * config.cccTimeoutSeconds * 1000,
    requestTimeoutMs: config.cccTimeoutSeconds * 1000,
    jobLeaseMs: config.jobLeaseSeconds * 1000,
    maxTermMs: config.waitSeconds * 1000,
    retryBaseMs: config.retryBaseMs,
  };
}
