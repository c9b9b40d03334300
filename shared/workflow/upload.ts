/**
 * The upload function's walk through one COS event, top-down: parse the records, take each one in
 * (checks, job, queue entry, status on the object), then make sure a sender sends what was queued
 * (this invocation, or the one holding the lease). Throws only after every record was handled,
 * and only so that SCF delivers the event again for what could not be finished.
 */
import { IvrError } from '../core/errors';
import { parseCosEvent, type ObjectEvent } from '../core/event';
import { visibleStatus } from '../core/job';
import { MAX_BODY_BYTES_IN_FLIGHT } from '../audio/plan';
import { byteBudget, mapLimited } from '../runtime/concurrency';
import { collectGarbage } from '../runtime/memory';
import type { Ctx } from './context';
import { handOff } from './handoff';
import { intake, outcomeOf, type PendingJob, type RecordOutcome } from './intake';

/** The upload function's result: every record's outcome, and how many ended in each status. */
export interface UploadSummary {
  /** Records in the event, rejected ones included. */
  records: number;
  counts: Partial<Record<RecordOutcome['status'], number>>;
  results: RecordOutcome[];
}

/** Builds the context for one bucket (the event names the bucket and region). */
export type ContextFor = (bucket: string, region: string | undefined) => Ctx | IvrError;

const RECORD_CONCURRENCY = 8;

/**
 * Handles one COS trigger event (see the module comment). An event without records is returned as
 * one rejected record. Throws `RetryScheduled` (transient) after every record was handled if any
 * still needs a redelivery.
 */
export async function handleCosEvent(event: unknown, contextFor: ContextFor, log: Ctx['log']): Promise<UploadSummary> {
  let parsed;
  try {
    parsed = parseCosEvent(event);
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    log.error('event rejected', { code: e.code, error: e.message });
    return summarise([{ index: -1, status: 'rejected', code: e.code, message: e.message }]);
  }

  const results: RecordOutcome[] = new Array(parsed.length);
  const pendingByBucket = new Map<string, { ctx: Ctx; jobs: PendingJob[] }>();
  const admit = byteBudget(MAX_BODY_BYTES_IN_FLIGHT, collectGarbage);
  await mapLimited(parsed, RECORD_CONCURRENCY, async (rec, i) => {
    if (!rec.ok) {
      log.error('record rejected', { record: rec.index, code: rec.error.code, error: rec.error.message });
      results[i] = { index: rec.index, key: rec.key, status: 'rejected', code: rec.error.code, message: rec.error.message };
      return;
    }
    const ctx = contextFor(rec.event.bucket, rec.event.region);
    if (ctx instanceof IvrError) {
      results[i] = { index: rec.event.index, key: rec.event.key, status: 'rejected', code: ctx.code, message: ctx.message };
      return;
    }
    try {
      // An event that does not state the size is read as if it were as large as the budget.
      const r = await admit(rec.event.size ?? MAX_BODY_BYTES_IN_FLIGHT, () => intake(ctx, rec.event));
      results[i] = r.outcome;
      if (r.pending) {
        const group = pendingByBucket.get(rec.event.bucket) ?? { ctx, jobs: [] };
        group.jobs.push(r.pending);
        pendingByBucket.set(rec.event.bucket, group);
      }
    } catch (e) {
      results[i] = failedRecord(rec.event, e, log);
    }
  });

  for (const { ctx, jobs } of pendingByBucket.values()) await handOffBucket(ctx, jobs, results, log);

  for (const r of results) {
    // An uploaded file whose object could not show it (its metadata is full) is worth a warning too.
    const level = r.status === 'failed' || r.status === 'rejected' || (r.status === 'uploaded' && r.code) ? 'warn' : r.retry ? 'error' : 'info';
    log[level]('record done', { ...r });
  }
  const summary = summarise(results);
  const retry = results.filter((r) => r.retry);
  if (retry.length > 0) {
    // SCF delivers the event again; the ledger turns the records already handled into no-ops.
    throw new IvrError('RetryScheduled', `${retry.length} of ${results.length} record(s) are not finished and will be retried: ${retry.map((r) => `${r.key} (${r.code ?? r.status})`).join(', ')}`, { transient: true });
  }
  return summary;
}

/**
 * Sees one bucket's queued files to a sender (see handoff.ts) and writes their outcomes into
 * `results`. A file whose job turned out to exist before its intake (the same bytes uploaded
 * again, a duplicate delivery: see JobVersion.unwritten) is taken on by its intake as an existing
 * job; if that leaves it waiting (a failed file started over, say), it is handed off once more.
 */
async function handOffBucket(ctx: Ctx, jobs: PendingJob[], results: RecordOutcome[], log: Ctx['log']): Promise<void> {
  const at = (j: PendingJob) => results.findIndex((r) => r?.index === j.index);
  const again: PendingJob[] = [];
  try {
    const unshown = new Set(jobs.filter((j) => !j.shown).map((j) => j.version.id));
    const done = await handOff(ctx, jobs.map((j) => j.version), { unshown });
    for (const j of jobs) {
      if (done.existed.has(j.version.id) && j.existed) {
        try {
          const r = await j.existed();
          results[at(j)] = r.outcome;
          if (r.pending) again.push(r.pending);
        } catch (e) {
          results[at(j)] = failedRecord({ index: j.index, key: j.version.object.key }, e, log);
        }
        continue;
      }
      const v = done.versions.get(j.version.id) ?? j.version;
      const outcome = outcomeOf(j.index, v, j.note ?? done.notes.get(j.version.id));
      // Our own file still unsettled after we held the lease (a lost answer, a storm of refusals):
      // SCF's redelivery, a minute later, finishes it.
      const unsettled = done.sent && !['uploaded', 'failed', 'deferred'].includes(visibleStatus(v));
      // Its object could not show it (COS refused the write): the redelivery shows it.
      results[at(j)] = unsettled || done.notShown.has(j.version.id) ? { ...outcome, retry: true } : outcome;
    }
  } catch (e) {
    for (const j of jobs) {
      const failed = failedRecord({ index: j.index, key: j.version.object.key }, e, log);
      // A file its intake left unshown shows nothing yet: SCF must deliver it again, whatever the error.
      results[at(j)] = { ...failed, etag: j.version.object.etag, status: 'queued', retry: failed.retry || !j.shown };
    }
  }
  // Versions written by the intake's existing-job path: none is unwritten, so this ends here.
  if (again.length > 0) await handOffBucket(ctx, again, results, log);
}

/** An error that escaped a record: a transient one is retried by SCF; a bug is reported as such. */
function failedRecord(ev: Pick<ObjectEvent, 'index' | 'key'>, e: unknown, log: Ctx['log']): RecordOutcome {
  if (e instanceof IvrError) {
    const retry = e.transient || e.code === 'LedgerCorrupt';
    // Not retried (COS refused for good, e.g. AccessDenied): the record is not taken in, and says so.
    return { index: ev.index, key: ev.key, status: retry ? 'retrying' : 'rejected', code: e.code, message: e.message, requestId: e.requestId, retry };
  }
  log.error('unexpected error while handling a record', { key: ev.key, code: 'Unexpected', error: e instanceof Error ? e.stack ?? e.message : String(e) });
  return { index: ev.index, key: ev.key, status: 'retrying', code: 'Unexpected', message: e instanceof Error ? e.message : String(e), retry: true };
}

function summarise(results: RecordOutcome[]): UploadSummary {
  const counts: UploadSummary['counts'] = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return { records: results.length, counts, results };
}

