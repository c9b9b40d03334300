/**
 * The recovery pass: the timer function, every few minutes. It finishes whatever a crash left
 * (orphaned queue entries, queued files nobody is sending, calls whose answer was lost, deferred
 * files once their day has room) by acting as a sender; refreshes review states; and once per
 * quota day, on the first run after the day ends, writes the daily report and prunes the ledger.
 * Its WeCom posts (the report, rejections) go through the outbox (workflow/outbox.ts): each pass
 * first posts again what earlier passes left unposted. Once per quota day too, it reads the
 * bucket's versioning and records it in the send log.
 */
import { IvrError, type ErrorCode } from '../core/errors';
import type { OutboxRecord } from '../core/outbox';
import { requestedDay } from '../core/event';
import { inFlight, isFinal, visibleStatus, type JobVersion } from '../core/job';
import { reviewFromCode, type IvrStatus, type ReviewState } from '../core/metadata';
import type { DailyReport, DayUse, ObjectNow } from '../core/report';
import { leaseView, type LogEntry, type QuotaState } from '../core/sendlog';
import { versioningAlert, versioningCheckDue, type VersioningAlert, type VersioningCheck } from '../core/versioning';
import { DAY_MS, daysBetween, formatOffset, lastDays, quotaDay, wallClock } from '../core/zone';
import { mapLimited } from '../runtime/concurrency';
import { loadReportCode } from '../runtime/load-report';
import { CORRUPT } from '../store/ledger';
import { isQuietDay, markQuietDay, putReportPage, readReportHistory, reportStored, storeReport, writeReportHistory } from '../store/reports';
import type { WebhookResult } from '../sdk/webhook';
import type { Ctx } from './context';
import { today } from './context';
import { moveNewest, show } from './jobs';
import { drainOutboxSafely, postOwed, type OutboxResult } from './outbox';
import { migrateLegacy } from './migration';
import { Sender } from './sender';
import { readTail } from './read-log';
import { describePaced, listedUnder } from './resolve';

/** A file a recovery pass moved on, as its object shows it now (see {@link RecoveryResult.files}). */
export interface SettledFile {
  key: string;
  status: IvrStatus;
  code?: ErrorCode;
  deferredDay?: string;
}

/** What one recovery pass did: the timer function's result. */
export interface RecoveryResult {
  /** Whether this pass held the send lease (false: an active sender had it). */
  sent: boolean;
  /** Files whose state this pass moved on while sending and settling (sent, settled from CCC, deferred, ...). */
  settled: number;
  /** Of those, files this pass registered (including answers it recovered by asking CCC). */
  registered: number;
  /**
   * Each of the `settled` files, as its object shows it now: so a caller can name them (the local
   * stack's line). `deferredDay` for a deferred one: the quota day it waits after.
   */
  files: SettledFile[];
  /** FileIds asked about, those found approved or rejected and recorded, and keys of files newly rejected. */
  reviews: { checked: number; changed: number; rejected: string[] };
  /**
   * The daily report this pass wrote, if any, where it is stored and how its webhook post went.
   * `jsonKey` is absent for today's report so far: only a report of a day that has ended is stored
   * as that day's report.
   */
  report?: { day: string; jsonKey?: string; htmlKey?: string; report: DailyReport; webhook?: WebhookResult };
  /** Why a day named in the timer's argument was not reported (it has not begun, or one of its calls is still going on). */
  reportRefused?: string;
  /** Ledger keys deleted or compacted; set only by a pass that found a day's report due and ready to write (unasked). */
  pruned?: number;
  /** What this pass did with webhook messages earlier passes left unposted (only with `IVR_REPORT_WEBHOOK`; absent if the outbox could not be read). */
  outbox?: OutboxResult;
  /**
   * Set while the bucket is known to have (or have had) versioning, from this pass's check or the
   * one the send log carries: nothing is sent to CCC then (every file waiting fails with it).
   */
  bucketVersioned?: VersioningAlert;
}

/** One timer-function pass (see the module comment); `event` may name a day to report again ({@link requestedDay}). */
export async function runRecovery(ctx: Ctx, event: unknown): Promise<RecoveryResult> {
  const day = today(ctx);
  await migrateLegacy(ctx, day);
  // First, so that a pass that fails later on still posts what earlier passes owe the operator.
  const outbox = ctx.config.reportWebhook ? await drainOutboxSafely(ctx, ctx.config.reportWebhook) : undefined;
  // The send log keeps the quota figures of two days; sending may start a new day's entry, so the
  // figures as found first are kept for a report of the day before yesterday.
  const found = await readTail(ctx, day);
  const known = [found.quota, found.previousDay].filter((q): q is QuotaState => q !== undefined);
  // Before sending: a bucket found versioned stops this pass's own calls too.
  const checked = versioningCheckDue(found.bucket, day) ? await checkVersioning(ctx, day) : undefined;
  const bucketVersioned = versioningAlertOf(ctx, checked ?? found.bucket);
  const { sent, settled, registered, files } = await sendLeftovers(ctx, found, checked);
  const { outbox: rejections, ...reviews } = await refreshReviews(ctx);
  if (rejections && ctx.config.reportWebhook) {
    // A file whose marking failed may still have been marked by us (the create's answer lost): the
    // record keeps it, and a later pass announces it if so.
    const rest = rejections.unsure.length > 0 ? { ...rejections.record, files: rejections.unsure } : undefined;
    if (reviews.rejected.length > 0) await postOwed(ctx, ctx.config.reportWebhook, rejections.key, loadReportCode().rejectionMessage(reviews.rejected), 'rejection', rest);
    else if (!rest) await ctx.ledger.tidyEntries([rejections.key]); // every marker went to another pass: theirs to announce
  }

  const asked = requestedDay(event);
  const ended = quotaDay(ctx.clock.now() - DAY_MS, ctx.config.quotaUtcOffsetMinutes);
  const result: RecoveryResult = { sent, settled, registered, files, reviews, ...(outbox ? { outbox } : {}), ...(bucketVersioned ? { bucketVersioned } : {}) };
  const actions = (pruned: number): DailyReport['actions'] => ({ registered, reviewsUpdated: reviews.changed, pruned });
  // Once per quota day: the first run after it ends reports it (unless a file is still in one of
  // the day's calls: see reportWaits), and prunes (so the report says how much) after reading the
  // jobs it counts. A named day is reported on request: a day that has
  // ended is stored again; today's is a report so far, which must not take the day's own report's
  // place.
  if (asked !== undefined && asked > day) {
    result.reportRefused = `${asked} has not begun: today is ${day} (UTC${formatOffset(ctx.config.quotaUtcOffsetMinutes)})`;
    ctx.log.warn('report not written', { code: 'EventInvalid', error: result.reportRefused });
  } else if (asked !== undefined) {
    // Every job touched since that day began (its files may have been dropped just after midnight).
    const jobs = await recentJobs(ctx, Math.max(8, daysBetween(asked, day) + 2));
    // An ended day is stored as its report, in place of the timer's: not while one of its calls may
    // still be going on (see reportWaits), or the day's stored report would miss that file.
    if (asked < day && loadReportCode().reportWaits(asked, jobs, ctx.clock.now(), ctx.timing.skewMs)) {
      // Until the last such call's lifetime has passed (2 × CCC_TIMEOUT_SECONDS, up to 4 minutes):
      // a pass then settles the file from CCC before it reports.
      const until = Math.max(...jobs.filter((v) => inFlight(v.state) && v.slot === asked).map((v) => (v.checkAfter ?? 0) + ctx.timing.skewMs));
      const offset = ctx.config.quotaUtcOffsetMinutes;
      result.reportRefused = `a file sent at the end of ${asked} is still in a call whose outcome is not known yet: ask again after ${wallClock(Math.ceil(until / 1000) * 1000, offset).slice(11, 19)} (UTC${formatOffset(offset)})`;
      ctx.log.warn('report not written', { day: asked, error: result.reportRefused });
    } else {
      result.report = await writeReport(ctx, asked, actions(0), asked === day ? 'so-far' : 'replace', known, jobs, bucketVersioned);
    }
  } else {
    // Yesterday, and the day before if no pass ran all of yesterday (the timer failing, or turned
    // off for a day) and files were sent that day.
    const before = quotaDay(ctx.clock.now() - 2 * DAY_MS, ctx.config.quotaUtcOffsetMinutes);
    const due = [];
    for (const d of [before, ended]) {
      if (await reportStored(ctx.ledger, d)) continue;
      // A day before that was found quiet stays so: no pass reads every recent job again for it.
      if (d === before && (await isQuietDay(ctx.ledger, d))) continue;
      due.push(d);
    }
    const jobs = due.length > 0 ? await recentJobs(ctx, 8) : [];
    // A day whose last call is still going on (or has its answer lost) is reported by a later pass.
    const ready = due.filter((d) => !loadReportCode().reportWaits(d, jobs, ctx.clock.now(), ctx.timing.skewMs));
    if (ready.length < due.length) ctx.log.info('daily report left to a later pass: a file is still in a call of the day', { days: due.filter((d) => !ready.includes(d)) });
    if (ready.length > 0) {
      result.pruned = await pruneSafely(ctx);
      for (const d of ready) {
        if (d === before && !known.some((q) => q.day === d) && !jobs.some((v) => v.slot === d)) {
          await markQuietDay(ctx.ledger, d);
          continue;
        }
        result.report = (await writeReport(ctx, d, actions(result.pruned), 'once', known, jobs, bucketVersioned)) ?? result.report;
      }
    }
  }
  ctx.log.info('recovery pass done', { sent, settled, reviews: { checked: reviews.checked, changed: reviews.changed, rejected: reviews.rejected.length }, report: result.report?.day, pruned: result.pruned, day, bucketVersioned: bucketVersioned?.status });
  return result;
}

/**
 * Reads the bucket's versioning (one request, once per quota day: see versioningCheckDue). A
 * bucket that has or had it is logged as an error with its code, what happens and what to do.
 * One that cannot be read (the role's policy lacks cos:GetBucketVersioning, COS failing) is
 * logged and left to the next pass: the check is never what stops a pass.
 */
async function checkVersioning(ctx: Ctx, day: string): Promise<VersioningCheck | undefined> {
  let check: VersioningCheck;
  try {
    check = { day, versioning: await ctx.ledger.store.versioning() };
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    ctx.log.warn("could not read the bucket's versioning; the next pass tries again", { code: e.code, error: e.message, requestId: e.requestId });
    return undefined;
  }
  const alert = versioningAlertOf(ctx, check);
  if (alert) ctx.log.error('the bucket has versioning: nothing is sent to CCC from it', { code: alert.code, status: alert.status, error: alert.message });
  else ctx.log.info('bucket versioning checked: never enabled, so create-if-absent holds', { day });
  return check;
}

/** The alert for the bucket's versioning as `check` found it, if any. */
function versioningAlertOf(ctx: Ctx, check: VersioningCheck | undefined): VersioningAlert | undefined {
  return check && versioningAlert(ctx.config.bucket ?? 'the bucket', check.versioning);
}

/**
 * Acts as a sender for everything waiting, unless an accepting sender is at work (it picks
 * everything up itself). Its entries carry `checked`, this pass's check of the bucket, if any (a
 * pass that finds an accepting sender records none: the next pass checks again).
 */
async function sendLeftovers(ctx: Ctx, found: LogEntry, checked?: VersioningCheck): Promise<Pick<RecoveryResult, 'sent' | 'settled' | 'registered' | 'files'>> {
  let tail = found;
  for (let tries = 0; tries < 5; tries++) {
    if (leaseView(tail, ctx.clock.now(), ctx.timing).kind === 'accepting') break;
    const got = await Sender.acquire(ctx, tail, [], { recovery: true, bucket: checked });
    if (!got.sender) {
      tail = got.tail;
      continue;
    }
    await got.sender.run();
    // The sender also reads files it leaves as they were (still deferred, settled long ago): count
    // only the versions this pass wrote.
    const ours = [...got.sender.versions.values()].filter((v) => v.by === ctx.owner);
    const files = ours.map((v): SettledFile => {
      const status = visibleStatus(v);
      return { key: v.object.key, status, ...(v.lastError ? { code: v.lastError.code } : {}), ...(status === 'deferred' && v.deferredDay ? { deferredDay: v.deferredDay } : {}) };
    });
    return { sent: true, settled: ours.length, registered: ours.filter((v) => v.state === 'uploaded').length, files };
  }
  return { sent: false, settled: 0, registered: 0, files: [] };
}

/** Newest version of every job touched in the last `days` days (listing for candidates, each read by key). */
async function recentJobs(ctx: Ctx, days: number): Promise<JobVersion[]> {
  const since = ctx.clock.now() - days * DAY_MS;
  const newest = new Map<string, { seq: number; at: number }>();
  for (const l of await ctx.ledger.listJobVersions()) {
    const cur = newest.get(l.id);
    if (!cur || l.seq > cur.seq) newest.set(l.id, { seq: l.seq, at: l.lastModified });
  }
  const ids = [...newest.entries()].filter(([, n]) => n.at >= since);
  const heads = await mapLimited(ids, 16, async ([id, n]) => ctx.ledger.head(id, n.seq));
  // (A compacted chain's version 0 was written lately, its head long ago: not touched lately.)
  return heads.filter((h): h is JobVersion => h !== undefined && h !== CORRUPT && Date.parse(h.at) >= since);
}

/**
 * How long a metadata write may take to land: the COS SDK's 30 s timeout, retried (4 attempts), and
 * then some. A verdict is shown again until its registration is this old.
 */
const LATE_WRITE_MS = 5 * 60_000;

/** The outbox record a pass wrote for the rejections it announces, and those whose marking failed (maybe marked by it all the same). */
interface RejectionsOwed {
  key: string;
  record: OutboxRecord;
  unsure: Array<{ fileId: number; key: string }>;
}

/**
 * Asks CCC about files still pending review (≤ 50 FileIds a call) and records what changed. With a
 * webhook, the rejections to announce are written to the outbox (the result's `outbox`) before any
 * of them is marked reviewed: a pass killed between a marker and its post leaves the record, and a
 * later pass posts it (see workflow/outbox.ts).
 */
async function refreshReviews(ctx: Ctx): Promise<RecoveryResult['reviews'] & { outbox?: RejectionsOwed }> {
  const out: RecoveryResult['reviews'] = { checked: 0, changed: 0, rejected: [] };
  const since = ctx.clock.now() - ctx.config.retentionDays * DAY_MS;
  const reviewed = await ctx.ledger.listReviewed();
  const pending = (await ctx.ledger.listFiles()).filter((f) => f.lastModified >= since && !reviewed.has(f.fileId)).map((f) => f.fileId);
  const final: Array<{ fileId: number; review: ReviewState; key: string; current: boolean }> = [];
  for (let i = 0; i < pending.length; i += 50) {
    const chunk = pending.slice(i, i + 50);
    const res = await describePaced(ctx, { fileIds: chunk, pageNumber: 0, pageSize: 50 });
    if (!res.ok) {
      ctx.log.warn('could not refresh review states', { code: res.failure.code, error: res.failure.message, requestId: res.failure.requestId });
      break;
    }
    out.checked += chunk.length;
    for (const f of res.value.files) {
      const review = reviewFromCode(f.status);
      if (!review || review === 'pending') continue;
      // One file's failed write must not stop the others, nor the daily report after them: it is
      // not marked reviewed, so the next pass asks about it again and finishes it.
      try {
        const recorded = await recordReview(ctx, f.fileId, review, res.value.requestId);
        if (recorded === undefined) continue;
        if (recorded.changed) out.changed++;
        // Not marked (so shown again by the next pass) while a sender's write of the registration
        // could still be on its way: landing late, it would show the review before this one.
        if (ctx.clock.now() - recorded.registeredAt < LATE_WRITE_MS) continue;
        final.push({ fileId: f.fileId, review, key: recorded.key, current: recorded.current });
      } catch (e) {
        if (!(e instanceof IvrError)) throw e;
        ctx.log.warn('review state not recorded; the next pass tries again', { fileId: f.fileId, review, code: e.code, error: e.message });
      }
    }
  }
  // A rejection is announced by the pass that marks it, and only while the key still holds this
  // upload: a file since replaced or deleted needs nothing from the operator.
  const announce = (f: (typeof final)[number]) => f.review === 'rejected' && f.current;
  let outbox: RejectionsOwed | undefined;
  let unannounced = false;
  if (ctx.config.reportWebhook && final.some(announce)) {
    const record: OutboxRecord = { v: 1, kind: 'rejections', owner: ctx.owner, at: ctx.clock.now(), files: final.filter(announce).map((f) => ({ fileId: f.fileId, key: f.key })) };
    try {
      outbox = { key: await ctx.ledger.putOutbox(record), record, unsure: [] };
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
      // Left unmarked, these are asked about and announced again by the next pass.
      unannounced = true;
      ctx.log.warn('rejections not announced; the next pass tries again', { code: e.code, error: e.message });
    }
  }
  for (const f of final) {
    if (unannounced && announce(f)) continue;
    try {
      if ((await ctx.ledger.markReviewed(f.fileId, f.review, ctx.owner, ctx.clock.now())) && announce(f)) out.rejected.push(f.key);
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
      if (outbox && announce(f)) outbox.unsure.push({ fileId: f.fileId, key: f.key });
      ctx.log.warn('review state not recorded; the next pass tries again', { fileId: f.fileId, review: f.review, code: e.code, error: e.message });
    }
  }
  return { ...out, outbox };
}

/**
 * Moves the job that owns a FileId to its new review state and shows it on the object. Returns its
 * key, whether this call changed the job (false: an earlier pass recorded it but failed or died
 * before marking the FileId reviewed, and is finished here) and whether the key still holds this
 * upload; undefined when no uploaded job owns the FileId.
 */
async function recordReview(ctx: Ctx, fileId: number, review: ReviewState, requestId: string): Promise<{ key: string; changed: boolean; current: boolean; registeredAt: number } | undefined> {
  const jobIdOf = await ctx.ledger.fileOwner(fileId);
  if (!jobIdOf) return undefined;
  const head = await ctx.ledger.head(jobIdOf, 0);
  if (!head || head === CORRUPT || head.state !== 'uploaded' || !head.upload || head.upload.fileId !== fileId) return undefined;
  // Recorded, but perhaps never shown: the object is written again (its write is idempotent).
  const registeredAt = Date.parse(head.upload.registeredAt ?? head.at) || 0;
  if (head.upload.review === review) return { key: head.object.key, changed: false, current: (await show(ctx, head)).written, registeredAt };
  // The upload's RequestId stays in `requestId`; the refresh brings its own. Another writer (an
  // upload of the same bytes with new headers) may move the job first: the verdict then goes on
  // its version, never lost, since the FileId is not asked about again once marked reviewed.
  const newest = await moveNewest(ctx, head, 'review', (v) =>
    v.state === 'uploaded' && v.upload?.fileId === fileId && v.upload.review !== review ? { upload: { ...v.upload, review, reviewedAt: new Date(ctx.clock.now()).toISOString(), reviewRequestId: requestId } } : undefined,
  );
  const shown = await show(ctx, newest);
  ctx.log.info('review state changed', { key: head.object.key, fileId, review });
  return { key: head.object.key, changed: true, current: shown.written, registeredAt };
}

/**
 * How a report is stored: `once`, the day's own report, created only if no run stored it first
 * (so it and its webhook post happen once); `replace`, an ended day reported again on request;
 * `so-far`, today's report on request: the page only, never `reports/<day>.json`.
 */
type ReportWrite = 'once' | 'replace' | 'so-far';

/**
 * Pages of CCC's answer the report reads per 50 names: 500 registrations, far more than a day's
 * names share, and a bound on how long a slow CCC can hold the day's report up.
 */
const REPORT_NAME_PAGES = 10;

/**
 * What CCC lists under the display names of a day's registrations, for the report's names CCC lists
 * more than once; undefined, logged, when CCC cannot be asked (the report then goes by the jobs).
 */
async function listedInCcc(ctx: Ctx, names: string[]): Promise<Array<{ fileId: number; name: string }> | undefined> {
  if (names.length === 0) return [];
  const res = await listedUnder(ctx, names, REPORT_NAME_PAGES);
  if (res.ok) return res.value.files.map((f) => ({ fileId: f.fileId, name: f.customFileName }));
  ctx.log.warn("could not ask CCC which of the day's names it lists more than once; the report goes by this product's records", { code: res.failure.code, error: res.failure.message, requestId: res.failure.requestId });
  return undefined;
}

/**
 * Builds the report of `day` from `jobs` (the newest version of every recent job) and the day's
 * quota figures: the send log's (or those `known` from earlier in the pass), else the larger of
 * the chart's history and the quota slots the jobs took that day (the send log keeps two days'
 * figures; see submittedOn).
 * Stores it as `how` says and posts the summary.
 */
async function writeReport(ctx: Ctx, day: string, actions: DailyReport['actions'], how: ReportWrite, known: QuotaState[], jobs: JobVersion[], bucketVersioned?: VersioningAlert): Promise<RecoveryResult['report']> {
  const tail = await readTail(ctx, today(ctx));
  const quota = [tail.quota, tail.previousDay, ...known].find((q) => q?.day === day);
  const { counts: history, limits, page: shownDay } = await readReportHistory(ctx.ledger);
  const { buildReport, namesRegisteredOn, objectFindings, objectsToCheck, renderReportHtml, submittedOn, wecomMessage } = loadReportCode();
  const submitted = submittedOn(day, quota?.used, history[day], jobs);
  // A day reported again on request keeps the quota its report had (after IVR_DAILY_QUOTA was
  // lowered it read `4 / 2 files submitted`); a first report, of today or of the day just ended,
  // has the setting the functions apply now.
  const limit = how === 'replace' && limits[day] !== undefined ? limits[day] : ctx.config.dailyQuota;
  history[day] = submitted;
  const listed = await listedInCcc(ctx, namesRegisteredOn(day, jobs, ctx.config.quotaUtcOffsetMinutes));
  const looked = objectsToCheck(jobs, listed);
  const report = buildReport({
    ...objectFindings(looked, await objectsNow(ctx, looked)),
    listedInCcc: listed,
    day,
    nowMs: ctx.clock.now(),
    utcOffsetMinutes: ctx.config.quotaUtcOffsetMinutes,
    quotaLimit: limit,
    submitted,
    exhausted: quota?.full ?? false,
    openCalls: tail.open,
    jobs,
    actions,
    final: how !== 'so-far',
    bucketVersioned,
  });
  // Kept per day: a later change of IVR_DAILY_QUOTA does not redraw the days before it against the new one.
  limits[day] = limit;
  const days: DayUse[] = lastDays(day, 30).map((d) => ({ day: d, submitted: history[d] ?? 0, ...(limits[d] !== undefined ? { limit: limits[d] } : {}) }));
  const jsonKey = how === 'so-far' ? undefined : ctx.ledger.reportKey(day);
  // `writtenBy` makes the body this pass's own, so `createOnce` can tell a create of ours whose
  // answer was lost from another pass's report of the same day built in the same millisecond.
  const json = JSON.stringify({ ...report, history: days, writtenBy: ctx.owner }, null, 2);
  // The page and the chart's history first, the day's JSON last: its existence is what tells
  // later passes the day is reported, so a pass that fails before it is finished by the next one
  // (SCF's retry, or the next timer), and the webhook is posted by whoever stored it.
  // The page shows the newest day reported: the timer's report of an ended day does not take it
  // from a later day's report so far that an operator asked for (the ended day's report stays in
  // the bucket, and on the chart). So a pass that reports a quiet yesterday hours into today, as a
  // fresh deploy's or local stack's first pass does, leaves today's page as it was. The history
  // names the day the page shows (a history from before it did: its newest day, the same but for
  // an older day reported again on request since).
  const pageShowsLater = how === 'once' && (shownDay !== undefined ? shownDay > day : Object.keys(history).some((d) => d > day));
  const htmlKey = pageShowsLater ? undefined : await putReportPage(ctx.ledger, renderReportHtml(report, days));
  await writeReportHistory(ctx.ledger, { counts: history, limits, page: htmlKey ? day : shownDay });
  const message = wecomMessage(report, htmlKey ? `${htmlKey} in the bucket (its newest report)` : `${jsonKey!} in the bucket`);
  // A stored report's post is owed until WeCom takes it: its outbox record goes in before the JSON
  // (a pass killed between the two leaves a record that owes nothing, since the JSON does not name
  // its writer, and the day is still due), and is deleted after the post (see workflow/outbox.ts).
  // Today's report so far is not stored as the day's: its post, on request, is made once.
  const outboxKey = jsonKey !== undefined && ctx.config.reportWebhook ? await ctx.ledger.putOutbox({ v: 1, kind: 'report', owner: ctx.owner, at: ctx.clock.now(), day, message }) : undefined;
  if (how !== 'so-far' && !(await storeReport(ctx.ledger, day, json, how))) {
    // Another run reported it first, and owes its post.
    if (outboxKey) await ctx.ledger.tidyEntries([outboxKey]);
    return undefined;
  }
  ctx.log.info('daily report', { jsonKey, htmlKey, report: { ...report, needsAction: report.needsAction.length } });
  let webhook: WebhookResult | undefined;
  if (ctx.config.reportWebhook) {
    // The report is already stored; a webhook failure is reported, never fatal (and posted again later).
    if (outboxKey) webhook = await postOwed(ctx, ctx.config.reportWebhook, outboxKey, message, 'report');
    else {
      webhook = await ctx.webhook(ctx.config.reportWebhook, message);
      if (webhook.ok) ctx.log.info('report posted to webhook', { attempts: webhook.attempts });
      else ctx.log.error('report webhook failed', { code: 'WebhookFailed', attempts: webhook.attempts, error: webhook.error });
    }
  }
  return { day, jsonKey, htmlKey, report, webhook };
}

/**
 * What each key of `jobs` holds now (see `objectsToCheck` in core/report.ts): one HEAD per key, eight
 * at a time; a HEAD COS refuses is logged and leaves its key unknown (the report then goes by the
 * order of drops, as without a look).
 */
async function objectsNow(ctx: Ctx, jobs: JobVersion[]): Promise<Map<string, ObjectNow | undefined>> {
  const keys = [...new Set(jobs.map((v) => v.object.key))];
  const found = await mapLimited(keys, 8, async (key): Promise<ObjectNow | undefined> => {
    try {
      const obj = await ctx.objects.stat(key);
      return obj === undefined ? 'gone' : { etag: obj.etag };
    } catch (e) {
      if (!(e instanceof IvrError)) throw e;
      ctx.log.warn('could not read an object for the report; it goes by the order of drops for it', { key, code: e.code, error: e.message });
      return undefined;
    }
  });
  return new Map(keys.map((k, i) => [k, found[i]]));
}

/**
 * {@link prune}, but never at the cost of the day's report: a prune COS refuses (a role without
 * `DeleteObject` on the ledger, whose batch deletes now fail as they should) is logged as an error
 * and counted as 0, the report is written anyway, and the next day's pass prunes again.
 */
async function pruneSafely(ctx: Ctx): Promise<number> {
  try {
    return await prune(ctx);
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    ctx.log.error('ledger not pruned; the report is written anyway, and the next quota day tries again', { code: e.code, error: e.message });
    return 0;
  }
}

/**
 * Deletes what is no longer needed: send-log entries far behind the tail, review markers and
 * converted copies; and compacts settled job chains older than the retention (see
 * {@link compactJobs}). FileId records are kept: recovery after a lost answer relies on them.
 */
async function prune(ctx: Ctx): Promise<number> {
  const { ledger } = ctx;
  const now = ctx.clock.now();
  const cutoff = now - ctx.config.retentionDays * DAY_MS;
  const jobs = await compactJobs(ctx, cutoff);
  const doomed = jobs.doomed;
  const tail = await ledger.readTail();
  for (const e of await ledger.listLogEntries()) {
    // Far behind the tail and old: no reader ever starts there (the tail hint only lags a little).
    if (tail && e.n < tail.n - 1000 && e.lastModified < cutoff) doomed.push(e.key);
  }
  for (const l of await ledger.listReviewMarkers()) if (l.lastModified < cutoff) doomed.push(l.key);
  // A converted copy is what CCC downloads: it goes only once its job is settled (a file deferred
  // for days still needs it), or a day after an intake that never wrote its job.
  for (const c of await ledger.listConverted()) {
    if (c.lastModified >= now - DAY_MS) continue;
    const head = await ledger.head(c.id);
    if (head === undefined || (head !== CORRUPT && isFinal(head.state))) doomed.push(c.key);
  }
  await ledger.deleteEntries(doomed);
  return doomed.length + jobs.compacted;
}

/**
 * A settled chain older than the retention shrinks to its version 0, never to nothing: a job's
 * versions are what tells a delivery of that object version (late, or the same bytes uploaded
 * again) that it was handled, so deleting them all would let it be registered again. So version
 * 0 is overwritten with the head's content (its own seq inside, so readers walking from 0 go on
 * from the head: a rerun written meanwhile after it is found), and the versions between are
 * deleted a day later (a reader that read the old version 0 just before has long finished its
 * walk by then). Returns the keys to delete now, and how many chains it compacted.
 */
async function compactJobs(ctx: Ctx, cutoff: number): Promise<{ doomed: string[]; compacted: number }> {
  const { ledger } = ctx;
  const now = ctx.clock.now();
  const byJob = new Map<string, { rest: Array<{ key: string; seq: number }>; first?: { lastModified: number }; newestSeq: number; newestAt: number; oldestRestAt: number }>();
  for (const { key, id, seq, lastModified } of await ledger.listJobVersions()) {
    const j = byJob.get(id) ?? { rest: [], newestSeq: -1, newestAt: 0, oldestRestAt: Infinity };
    if (seq === 0) j.first = { lastModified };
    else {
      j.rest.push({ key, seq });
      j.oldestRestAt = Math.min(j.oldestRestAt, lastModified);
    }
    if (seq > j.newestSeq) Object.assign(j, { newestSeq: seq, newestAt: lastModified });
    byJob.set(id, j);
  }
  const doomed: string[] = [];
  let compacted = 0;
  for (const [id, j] of byJob) {
    if (!j.first || j.rest.length === 0) continue;
    // Version 0 is read only where there is something to do: a chain old enough to compact, or one
    // already compacted (its version 0 was written after a later version: compaction rewrote it).
    if (j.newestAt >= cutoff && j.first.lastModified <= j.oldestRestAt) continue;
    const first = await ledger.readVersion(id, 0);
    if (first === undefined || first === CORRUPT) continue;
    if (first.seq > 0) {
      // Compacted: the versions it covers go once a reader's walk across them is long over.
      if (j.first.lastModified < now - DAY_MS) doomed.push(...j.rest.filter((r) => r.seq <= first.seq).map((r) => r.key));
      // Versions written since (a rerun, a review) are compacted in turn once settled and old.
      if (j.newestSeq <= first.seq) continue;
    }
    if (j.newestAt >= cutoff) continue;
    const head = await ledger.head(id, j.newestSeq);
    if (head && head !== CORRUPT && isFinal(head.state)) {
      await ledger.compactVersion(head);
      compacted++;
    }
  }
  return { doomed, compacted };
}

