/**
 * The timer function's run: settle what earlier runs left open, release deferred files into the
 * new quota day and send them, refresh review states, then report and prune.
 */
import { randomUUID } from 'crypto';
import { decideExistingJob, Ledger, quotaDay, type JobRecord } from '../store/ledger';
import { reviewFromCode } from '../core/metadata';
import { drain, enqueue, recoverUncertain, settle, type Queue } from './queue';
import { buildReport, lastDays, renderReportHtml, reportDay, wecomMessage, type DailyReport } from '../core/report';
import type { UploadDeps } from './upload';
import { postWebhook, type WebhookResult } from '../sdk/webhook';

export interface DailyResult {
  report: DailyReport;
  jsonKey: string;
  htmlKey: string;
  webhook?: WebhookResult;
}

/** A timer's `Message` may name the day to report (`2026-11-23`); anything else means the default. */
export function requestedDay(event: unknown): string | undefined {
  const msg = typeof event === 'object' && event !== null ? (event as { Message?: unknown }).Message : undefined;
  return typeof msg === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(msg.trim()) ? msg.trim() : undefined;
}

/** Jobs earlier runs could not finish: retries SCF gave up on, and calls whose answer was lost. */
async function settleLeftovers(q: Queue, jobs: Array<{ id: string; job: JobRecord }>): Promise<void> {
  for (const { id, job } of jobs) {
    const decision = decideExistingJob(job, q.deps.now(), q.deps.config.jobLeaseSeconds);
    if (job.state === 'retryable') await enqueue(q, id, { ...job, giveUpAt: job.attempts + q.deps.config.maxAttempts, result: undefined });
    else if (decision === 'uncertain') await recoverUncertain(q, id, job);
  }
}

/** Moves deferred files, oldest first, into today's quota and the send queue. */
async function releaseDeferred(q: Queue, today: string): Promise<number> {
  const { ledger, deps } = q;
  let released = 0;
  for (const { entry, id } of await ledger.listDeferred()) {
    const job = await ledger.getJob(id);
    if (!job || job.state !== 'deferred') {
      await ledger.removeDeferred(entry);
      continue;
    }
    // Entries are in deferral order: once one is from today, the rest are too.
    if (job.quotaDay !== undefined && job.quotaDay >= today) break;
    if ((await ledger.claimQuotaSlot(today, deps.config.dailyQuota, id)) === undefined) break;
    await enqueue(q, id, { ...job, quotaDay: today, giveUpAt: job.attempts + deps.config.maxAttempts, result: undefined, solo: false });
    await ledger.removeDeferred(entry);
    released++;
  }
  return released;
}

/**
 * Asks CCC for the review state of uploaded files still pending review; ≤ 50 FileIds a call.
 * Updates `jobs` in place, so the report sees the new states without reading the ledger again.
 */
async function refreshReviews(q: Queue, jobs: Array<{ id: string; job: JobRecord }>): Promise<number> {
  const waiting = jobs.filter(({ job }) => job.state === 'done' && job.result?.status === 'uploaded' && job.result.review === 'pending' && job.result.fileId !== undefined);
  let updated = 0;
  for (let i = 0; i < waiting.length; i += 50) {
    const chunk = waiting.slice(i, i + 50);
    const res = await q.deps.api.describe({ fileIds: chunk.map(({ job }) => job.result!.fileId!), pageNumber: 0, pageSize: 50 });
    if (!res.ok) {
      q.deps.log.warn('could not refresh review states', { code: res.failure.code, error: res.failure.message, requestId: res.failure.requestId });
      break;
    }
    const byId = new Map(res.value.files.map((f) => [f.fileId, f]));
    for (const entry of chunk) {
      const review = reviewFromCode(byId.get(entry.job.result!.fileId!)?.status);
      if (!review || review === 'pending') continue;
      entry.job = (await settle(q, entry.id, entry.job, { ...entry.job.result!, review, requestId: res.value.requestId })).job;
      updated++;
    }
  }
  return updated;
}

export async function runDaily(event: unknown, deps: UploadDeps, bucket: string, region: string): Promise<DailyResult> {
  const { config, log } = deps;
  const cos = deps.bucket(bucket, region);
  const q: Queue = { deps, cos, ledger: new Ledger(cos, config.ledgerPrefix), owner: randomUUID() };
  const started = deps.now();
  const today = quotaDay(started, config.quotaUtcOffsetMinutes);

  await settleLeftovers(q, await q.ledger.listJobs());
  const deferredReleased = await releaseDeferred(q, today);
  const sent = await drain(q, started + config.waitSeconds * 1000);

  const jobs = await q.ledger.listJobs();
  const reviewsUpdated = await refreshReviews(q, jobs);

  const day = requestedDay(event) ?? reportDay(deps.now(), config.quotaUtcOffsetMinutes);
  const use = await q.ledger.quotaUseByDay();
  const pruned = await q.ledger.prune(deps.now(), config.retentionDays, config.quotaUtcOffsetMinutes, jobs);
  const report = buildReport({
    day,
    nowMs: deps.now(),
    utcOffsetMinutes: config.quotaUtcOffsetMinutes,
    quotaLimit: config.dailyQuota,
    submitted: use[day]?.used ?? 0,
    exhausted: use[day]?.full ?? false,
    jobs: jobs.map((j) => j.job),
    actions: { deferredReleased, sent, reviewsUpdated, pruned },
  });
  const history = lastDays(day, 30).map((d) => ({ day: d, submitted: use[d]?.used ?? 0 }));
  const { jsonKey, htmlKey } = await q.ledger.putReport(day, JSON.stringify({ ...report, history }, null, 2), renderReportHtml(report, history));
  log.info('daily report', { bucket, jsonKey, htmlKey, report });

  let webhook: WebhookResult | undefined;
  if (config.reportWebhook) {
    webhook = await postWebhook(config.reportWebhook, wecomMessage(report), deps.sleep);
    // The report is already stored; a webhook failure is reported, never fatal.
    if (webhook.ok) log.info('report posted to webhook', { attempts: webhook.attempts });
    else log.error('report webhook failed', { code: 'WebhookFailed', attempts: webhook.attempts, error: webhook.error });
  }
  return { report, jsonKey, htmlKey, webhook };
}
