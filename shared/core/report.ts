/**
 * The daily report, as pure functions: numbers from ledger records, the JSON document, the HTML
 * page with a 30-day chart, and the WeCom robot message.
 */
import { deferredSpan, inFlight, nextDrops, outcomeAt, visibleStatus, type JobVersion } from './job';
import type { ErrorCode } from './errors';
import { fixFor, UPLOAD_AGAIN } from './fixes';
import { sharedNames } from './naming';
import type { ReviewState } from './metadata';
import { parseUtcOffset } from './config';
import type { OpenCall } from './sendlog';
import type { VersioningAlert } from './versioning';
import { dayAfter, formatOffset, quotaDay, wallClock } from './zone';

/** The report of one quota day: stored as `reports/<day>.json`, rendered as HTML and a WeCom message. */
export interface DailyReport {
  day: string;
  generatedAt: string;
  /** The quota day's offset from UTC, e.g. `+08:00`. */
  utcOffset: string;
  /** False for a report of the current day so far: its figures can still change. */
  final: boolean;
  /**
   * Files submitted to CCC on `day` against the daily quota, from the send log (or the stored
   * history). `closedByCcc`: CCC answered that the day is full before this product's count filled
   * it (files registered outside this product, in the CCC console say, count there too);
   * `remaining` is then 0, whatever this product's own count leaves. `inCall`: of `submitted`, the
   * files of calls CCC has not answered yet (a report so far only); a call CCC refuses without
   * processing gives their slots back, so the count may then fall (a trial read 8/50, then 7/50).
   */
  quota: { limit: number; submitted: number; remaining: number; exhausted: boolean; closedByCcc?: true; inCall?: number };
  /**
   * Files by what became of them on `day`: uploaded (counted on the day its call took the quota
   * slot), failed or retrying (their newest version written that day), and deferred: pushed past
   * `day` by its full quota, whatever became of them since.
   */
  files: { uploaded: number; failed: number; deferred: number; retrying: number };
  /**
   * Of `files.failed`, those the operator has since dealt with: dropped again under the same key,
   * or their object deleted or holding another upload (fixed under another name, say). Counted, as
   * they failed that day, but needing nothing. Absent when none.
   */
  failedCleared?: number;
  review: Record<ReviewState, number>;
  /**
   * Files dropped by the end of `day` that were still waiting when the report was made: deferred,
   * or queued and retrying (a file dropped after the day is not the day's backlog, even in a
   * report of it made later).
   */
  backlog: { deferred: number; queued: number; oldestDeferredDay?: string };
  /** Failed and retrying files of `day`, counted by error code. */
  errors: Partial<Record<ErrorCode, number>>;
  /** Files an operator should look at: failed (with why), rejected by review, deferred, retrying. */
  needsAction: NeedsAction[];
  /** What the run that wrote the report did. */
  actions: { registered: number; reviewsUpdated: number; pruned: number };
  /** The bucket has (or had) versioning, as the recovery pass found it: nothing is sent to CCC from it until the operator moves. */
  bucketVersioned?: VersioningAlert;
  /**
   * Display names of files registered on `day` that CCC lists more than once (another file, an
   * earlier registration of the same file, a prompt registered outside this product): CCC allows
   * it, but its IVR editor lists prompts by name, so there they look alike. Told once, in the report
   * of the day a second one arose.
   */
  sameName?: SameName[];
}

/** One display name CCC lists more than once, with each registration under it, oldest first. */
export interface SameName {
  /** The name as CCC shows it. */
  name: string;
  /**
   * Each registration: its FileId, and, when it is one of this product's recent jobs, the key,
   * the quota day it was registered on, and whether a later drop of that key has replaced it.
   */
  files: Array<{ fileId: number; key?: string; day?: string; replaced?: true }>;
}

/** A WeCom robot message, as posted: what {@link wecomMessage} and {@link rejectionMessage} build and the outbox keeps. */
export interface WebhookMessage {
  msgtype: 'markdown';
  markdown: { content: string };
}

/** One file an operator should look at, with the error or review verdict that says why. */
export interface NeedsAction {
  key: string;
  status: 'failed' | 'rejected' | 'deferred' | 'retrying';
  code?: ErrorCode;
  message?: string;
  /** deferred: the quota day that was full (the file goes out the day after). */
  day?: string;
  /**
   * deferred: its place among the deferred files still waiting, in the order they go out (oldest
   * queued first), and the day it likely goes when that is later than the day after `day`: the
   * quota a day (an estimate: files registered outside this product move it). A trial could not
   * tell which of six files for a quota of three would go the next day.
   */
  line?: { place: number; of: number; likelyDay?: string };
  fileId?: number;
  /** failed: what to do, in the operator's words (shared/core/fixes.ts), when a fix is known. */
  fix?: string;
  /**
   * When its job last changed (ISO, UTC): when it failed (or failed again), was deferred (or
   * deferred again), was put back for a retry, or had its rejection recorded. As `npm run
   * status`'s UPDATED column, this is the latest change, not the first: a file deferred for days
   * shows its latest deferral.
   */
  at: string;
}

/** The order the page and the summary list files in: what needs the operator first, what resolves itself last. */
const URGENCY: Record<NeedsAction['status'], number> = { failed: 0, rejected: 1, retrying: 2, deferred: 3 };

/** Files submitted on one quota day: one bar of the report's chart. */
export interface DayUse {
  day: string;
  submitted: number;
  /** The day's quota when it was reported, if the history kept it; else the bar is drawn against today's. */
  limit?: number;
}


/** What {@link buildReport} needs; `submitted` and `exhausted` come from the send log's quota state. */
export interface ReportInput {
  day: string;
  nowMs: number;
  utcOffsetMinutes: number;
  quotaLimit: number;
  submitted: number;
  exhausted: boolean;
  /** The send log's open calls (see {@link unansweredSlots}); for a report so far. */
  openCalls?: OpenCall[];
  /** The newest version of every recent job in the ledger. */
  jobs: JobVersion[];
  actions: DailyReport['actions'];
  /** Whether `day` has ended (see {@link DailyReport.final}). */
  final: boolean;
  /** The bucket's versioning alert, when the pass writing the report knows of one. */
  bucketVersioned?: VersioningAlert;
  /**
   * What CCC lists under the names of the files registered on `day` ({@link namesRegisteredOn}),
   * to find the names it lists more than once; undefined when CCC could not be asked (the list then
   * comes from the jobs alone, so it misses registrations older than they reach back).
   */
  listedInCcc?: Array<{ fileId: number; name: string }>;
  /**
   * Failed or deferred jobs whose object the operator has since deleted or replaced (a fix under
   * another name, say): still counted as failed, or deferred, on their days, but no longer listed
   * as needing action, nor as backlog. (See {@link objectFindings}.)
   */
  withdrawn?: ReadonlySet<string>;
  /**
   * Jobs (failed, review-rejected or uploaded) whose object still holds their upload: never taken as
   * replaced by a later drop of the key (the same bytes dropped again after other ones reuse their
   * first job).
   */
  current?: ReadonlySet<string>;
  /**
   * Jobs whose object now holds another upload of the key: replaced, whichever was dropped first
   * (the same bytes dropped again after other ones reuse their first job, which then holds the key).
   */
  overwritten?: ReadonlySet<string>;
}

/** What the page says about names CCC lists more than once (HTML). */
export const SAME_NAME_ADVICE = "CCC's IVR editor lists prompts by name, so there these look alike: pick the one you mean by its FileId (the object's <code>ivr-file-id</code>). CCC has no replace, so a file dropped again under its own key leaves its earlier registration listed too. A distinct name (rename the file, or set <code>ivr-name</code>) helps only the uploads after it.";

/** What a file CCC's review rejected needs, as the report's list says it. */
export const REJECTED_ADVICE = 'rejected by CCC review: record it again and upload the new recording (under the same name or a new one; the same bytes again change nothing)';

/** What the operator should do about a job, if anything. */
export function needsAction(v: JobVersion): NeedsAction | undefined {
  const status = visibleStatus(v);
  const base = { key: v.object.key, code: v.lastError?.code, message: v.lastError?.message, at: v.at };
  if (status === 'failed') {
    const fix = fixFor(v.lastError?.code, UPLOAD_AGAIN);
    return fix ? { ...base, status: 'failed', fix } : { ...base, status: 'failed' };
  }
  if (status === 'uploaded' && v.upload?.review === 'rejected') return { key: v.object.key, status: 'rejected', fileId: v.upload.fileId, message: REJECTED_ADVICE, at: v.at };
  if (status === 'deferred') return { ...base, status: 'deferred', day: v.deferredDay };
  if (status === 'retrying') return { ...base, status: 'retrying' };
  return undefined;
}

/**
 * The quota day a job's outcome belongs to: an upload's is the day its call took the quota slot
 * (a call made just before midnight may be answered after it, and a later review refresh must
 * not move it either); anything else's is the day its newest version was written.
 */
function outcomeDay(v: JobVersion, utcOffsetMinutes: number): string {
  return v.state === 'uploaded' && v.slot ? v.slot : quotaDay(outcomeAt(v), utcOffsetMinutes);
}

/**
 * Files submitted on `day` against the quota: the send log's count while it still holds the day
 * (exact). Without it, the chart's history and the quota slots the jobs hold are both lower
 * bounds: the history may come from a report of the day so far, asked for before the day's last
 * files were sent, and a file sent again on a later day holds that day's slot. So the larger.
 */
export function submittedOn(day: string, logged: number | undefined, history: number | undefined, jobs: JobVersion[]): number {
  return logged ?? Math.max(history ?? 0, jobs.filter((v) => v.slot === day).length);
}

/**
 * Whether the report of `day` must be left to a later pass: a file is still in a call of that day
 * that may not be over, or that cannot be settled from CCC yet (a call made in the day's last
 * seconds, answered slowly or with its answer lost, seen by the pass right at midnight, which the
 * default timer makes the reporting one). Written now, the day's one report would count the file
 * neither as uploaded nor as failed, nor would any later report (its slot is that day's). Once the
 * call's lifetime has passed (plus the skew), the pass settles such a file from CCC before it
 * reports, so the wait is short; a file CCC cannot be asked about then no longer holds it up.
 */
export function reportWaits(day: string, jobs: JobVersion[], nowMs: number, skewMs: number): boolean {
  return jobs.some((v) => inFlight(v.state) && v.slot === day && nowMs < (v.checkAfter ?? 0) + skewMs);
}

/** What a key's object holds when the report pass looks: an upload (its ETag), or nothing. */
export type ObjectNow = { etag: string } | 'gone';

/**
 * The jobs whose object the report must look at (one HEAD per key, see {@link objectFindings}):
 * failed ones (fixed or deleted since?), deferred ones no later drop replaced (withdrawn?), and
 * uploaded ones that were rejected, share their key with another recent job, or have a name CCC
 * lists more than once (`listed`, else the jobs' own registrations): which upload the object holds
 * decides which registration is current. By drop order alone, an operator going back to an older
 * recording saw the current FileId called replaced; and a job older than the recent ones, reused
 * by the same bytes dropped again, is not among them, so its newer rival is looked at by itself.
 */
export function objectsToCheck(jobs: JobVersion[], listed?: ReadonlyArray<{ fileId: number; name: string }>): JobVersion[] {
  const replaced = new Set(nextDrops(jobs).keys());
  const jobsOfKey = new Map<string, number>();
  for (const v of jobs) jobsOfKey.set(v.object.key, (jobsOfKey.get(v.object.key) ?? 0) + 1);
  const registered = listed ?? jobs.flatMap((v) => (visibleStatus(v) === 'uploaded' && v.upload ? [{ fileId: v.upload.fileId, name: v.object.customName }] : []));
  const twice = new Set([...sharedNames(registered, (r) => r.fileId).keys()].map((n) => n.normalize('NFC')));
  return jobs.filter((v) => {
    const status = visibleStatus(v);
    if (status === 'failed') return true;
    if (status === 'deferred') return !replaced.has(v);
    return status === 'uploaded' && (v.upload?.review === 'rejected' || jobsOfKey.get(v.object.key)! > 1 || twice.has(v.object.customName.normalize('NFC')));
  });
}

/**
 * {@link ReportInput}'s `withdrawn`, `overwritten` and `current` from what each key's object holds
 * (`now`, by key; a key missing or undefined: COS refused, nothing is concluded).
 */
export function objectFindings(looked: JobVersion[], now: ReadonlyMap<string, ObjectNow | undefined>): Required<Pick<ReportInput, 'withdrawn' | 'overwritten' | 'current'>> {
  const withdrawn = new Set<string>();
  const overwritten = new Set<string>();
  const current = new Set<string>();
  for (const v of looked) {
    const found = now.get(v.object.key);
    if (found === undefined) continue;
    const holds = found !== 'gone' && found.etag === v.object.etag;
    if (holds) current.add(v.id);
    if (found !== 'gone' && !holds) overwritten.add(v.id);
    // Withdrawn is a waiting or failed file's (an upload's registration stays whatever the object holds).
    const status = visibleStatus(v);
    if (!holds && (status === 'failed' || status === 'deferred')) withdrawn.add(v.id);
  }
  return { withdrawn, overwritten, current };
}

/**
 * Counts the report of `i.day` from the jobs' newest versions; needs-action entries sorted by
 * status, then key. A file dropped again under the same key replaces the earlier one as what needs
 * action, but every registration counts (each is an audio file in CCC, with a quota slot), and so
 * does every failure (among those since dealt with).
 */
export function buildReport(i: ReportInput): DailyReport {
  const inCall = i.final ? 0 : Math.min(i.submitted, unansweredSlots(i.day, i.openCalls ?? [], i.jobs));
  const nextDrop = nextDrops(i.jobs);
  const replaced = new Set(nextDrop.keys());
  // Settled files: what the object holds now decides when the pass looked; else the order of drops.
  const replacedNow = (v: JobVersion) => !i.current?.has(v.id) && (replaced.has(v) || i.overwritten?.has(v.id) === true);
  const files = { uploaded: 0, failed: 0, deferred: 0, retrying: 0 };
  let failedCleared = 0;
  const review: Record<ReviewState, number> = { pending: 0, approved: 0, rejected: 0 };
  const errors: Partial<Record<ErrorCode, number>> = {};
  const backlog: DailyReport['backlog'] = { deferred: 0, queued: 0 };
  const action: NeedsAction[] = [];
  /** Deferred files listed, with their queue time: where each stands in line. */
  const queuedAt = new Map<NeedsAction, number>();
  for (const v of i.jobs) {
    // A version replaced or deleted before it was sent is no file of the report: the new upload is
    // (or the delete was the operator's choice). One still waiting behind a newer drop of its key
    // (deferred, or queued outside any call) ends so as soon as a sender looks at it.
    // So is a deferred one whose object is gone or holds another upload (withdrawn: deleted from
    // the drop folder's waiting/, or in the bucket), which the job says only once a sender looks.
    const withdrawnWaiting = v.state === 'deferred' && i.withdrawn?.has(v.id) === true;
    if ((v.state === 'failed' && v.lastError?.code === 'ObjectChanged') || (replaced.has(v) && (v.state === 'deferred' || v.state === 'queued')) || withdrawnWaiting) {
      // Deferred before it was withdrawn or replaced: the days' full quota pushed it on all the
      // same (a trial's asking again for a day took 8 withdrawn files off it), up to the day the
      // next drop of its key took its place (which counts from then on).
      const waited = deferredSpan(v);
      const next = nextDrop.get(v);
      if (waited && waited.first <= i.day && i.day <= waited.last && (next === undefined || i.day < quotaDay(next, i.utcOffsetMinutes))) files.deferred++;
      continue;
    }
    const status = visibleStatus(v);
    const waited = deferredSpan(v);
    // The files dropped by the end of the day, as they are now: a report of an earlier day asked
    // for later (or written by a first pass after midnight, hours into the next day) neither
    // lists nor counts files dropped after it (a file of the day deferred again or retried since
    // midnight still is).
    const ofTheDay = quotaDay(v.object.queuedAt, i.utcOffsetMinutes) <= i.day;
    if (status === 'deferred' && ofTheDay) {
      backlog.deferred++;
      const since = waited?.first;
      if (since && (!backlog.oldestDeferredDay || since < backlog.oldestDeferredDay)) backlog.oldestDeferredDay = since;
    }
    // A file the day's full quota pushed on counts as deferred that day even once it has gone out:
    // the report of a day is written after midnight, when its deferred files are already leaving.
    if (waited && waited.first <= i.day && i.day <= waited.last) files.deferred++;
    if ((status === 'queued' || status === 'retrying') && ofTheDay) backlog.queued++;
    // Files in a call are still work in progress, replaced or not; a replaced failure or rejection
    // is settled by the new drop, unless its bytes were dropped again since (the object shows it).
    const settledByNewDrop = (status === 'uploaded' || status === 'failed') && replacedNow(v);
    const a = ofTheDay ? needsAction(v) : undefined;
    if (a && !settledByNewDrop && !(a.status === 'failed' && i.withdrawn?.has(v.id))) action.push(a);
    if (a?.status === 'deferred') queuedAt.set(a, v.object.queuedAt);
    if (outcomeDay(v, i.utcOffsetMinutes) !== i.day) continue;
    if (status !== 'queued' && status !== 'deferred') files[status]++;
    // A failure fixed since still failed that day (two trials read a day's failures vanish from
    // its report as they were fixed): counted, and said to need nothing.
    if (status === 'failed' && (settledByNewDrop || i.withdrawn?.has(v.id))) failedCleared++;
    if (status === 'uploaded') review[v.upload?.review ?? 'pending']++;
    if ((status === 'failed' || status === 'retrying') && v.lastError) errors[v.lastError.code] = (errors[v.lastError.code] ?? 0) + 1;
  }
  const sameName = sameNames(i, replacedNow);
  return {
    day: i.day,
    generatedAt: new Date(i.nowMs).toISOString(),
    utcOffset: formatOffset(i.utcOffsetMinutes),
    final: i.final,
    quota: { limit: i.quotaLimit, submitted: i.submitted, remaining: i.exhausted ? 0 : Math.max(0, i.quotaLimit - i.submitted), exhausted: i.exhausted || i.submitted >= i.quotaLimit, ...(i.exhausted && i.submitted < i.quotaLimit ? { closedByCcc: true as const } : {}), ...(inCall ? { inCall } : {}) },
    files,
    ...(failedCleared ? { failedCleared } : {}),
    review,
    backlog,
    errors,
    needsAction: placeInLine(action, queuedAt, i.quotaLimit).sort((a, b) => URGENCY[a.status] - URGENCY[b.status] || (a.line?.place ?? 0) - (b.line?.place ?? 0) || a.key.localeCompare(b.key)),
    actions: i.actions,
    ...(i.bucketVersioned ? { bucketVersioned: i.bucketVersioned } : {}),
    ...(sameName.length ? { sameName } : {}),
  };
}

/**
 * Deferred files in the order the senders release them (oldest queued first, `quota` a day from
 * each one's earliest day), each with its place and, when later than its earliest day, the day it
 * likely goes. Shared by the report and the local `npm run status`.
 */
export function lineUp<T>(files: Array<{ file: T; queuedAt: number; earliestDay: string; key: string }>, quota: number): Array<{ file: T; line: NonNullable<NeedsAction['line']> }> {
  const line = [...files].sort((a, b) => a.queuedAt - b.queuedAt || a.key.localeCompare(b.key));
  let day = '';
  let used = 0;
  return line.map((f, n) => {
    if (f.earliestDay > day) [day, used] = [f.earliestDay, 0];
    if (used >= quota) [day, used] = [dayAfter(day), 0];
    used++;
    return { file: f.file, line: { place: n + 1, of: line.length, ...(day > f.earliestDay ? { likelyDay: day } : {}) } };
  });
}

/** Gives the deferred files among `action` their {@link NeedsAction.line} ({@link lineUp}: each goes the day after the day it was deferred on, at the earliest). */
function placeInLine(action: NeedsAction[], queuedAt: ReadonlyMap<NeedsAction, number>, quota: number): NeedsAction[] {
  const waiting = action.filter((a) => a.status === 'deferred' && a.day !== undefined && queuedAt.has(a));
  for (const { file, line } of lineUp(waiting.map((a) => ({ file: a, queuedAt: queuedAt.get(a)!, earliestDay: dayAfter(a.day!), key: a.key })), quota)) file.line = line;
  return action;
}

/** This product's registrations among `jobs`, by FileId: its key, quota day and whether a newer drop of the key replaced it. */
function registrations(jobs: JobVersion[], replaced: (v: JobVersion) => boolean, utcOffsetMinutes: number): Map<number, { name: string; key: string; day: string; replaced: boolean }> {
  const out = new Map<number, { name: string; key: string; day: string; replaced: boolean }>();
  for (const v of jobs) if (visibleStatus(v) === 'uploaded' && v.upload) out.set(v.upload.fileId, { name: v.object.customName, key: v.object.key, day: outcomeDay(v, utcOffsetMinutes), replaced: replaced(v) });
  return out;
}

/**
 * The display names of the files registered on `day`, each in both Unicode forms (CCC matches a
 * name filter exactly, and a name typed on Windows and one saved on an older Mac look alike but
 * differ): what the pass writing its report asks CCC about ({@link ReportInput.listedInCcc}).
 */
export function namesRegisteredOn(day: string, jobs: JobVersion[], utcOffsetMinutes: number): string[] {
  const names = [...registrations(jobs, () => false, utcOffsetMinutes).values()].filter((r) => r.day === day).map((r) => r.name);
  return [...new Set(names.flatMap((n) => [n, n.normalize('NFC'), n.normalize('NFD')]))].sort();
}

/**
 * The names CCC lists more than once among those of files registered on `day`, from CCC's list
 * when there is one (what CCC holds now), else from the jobs. A registration of ours made after
 * `day` is left out (a report of an earlier day asked for later); one CCC lists that is not among
 * the jobs (older than they reach back, or made outside this product, possibly after `day`: CCC
 * gives no time) is counted, without a key or day, and listed first.
 */
function sameNames(i: ReportInput, replaced: (v: JobVersion) => boolean): SameName[] {
  const ours = registrations(i.jobs, replaced, i.utcOffsetMinutes);
  const dayNames = new Set([...ours.values()].filter((r) => r.day === i.day).map((r) => r.name.normalize('NFC')));
  const listed = new Map<number, string>(i.listedInCcc ? i.listedInCcc.map((f) => [f.fileId, f.name]) : [...ours].map(([fileId, r]) => [fileId, r.name]));
  const entries = [...listed]
    .filter(([fileId, name]) => dayNames.has(name.normalize('NFC')) && !((ours.get(fileId)?.day ?? '') > i.day))
    .map(([fileId, name]) => ({ name, fileId }));
  return [...sharedNames(entries, (e) => e.fileId)]
    .map(([name, group]) => ({
      name,
      files: group
        .map(({ fileId }): SameName['files'][number] => {
          const r = ours.get(fileId);
          return r ? { fileId, key: r.key, day: r.day, ...(r.replaced ? { replaced: true as const } : {}) } : { fileId };
        })
        .sort((a, b) => (a.day ?? '').localeCompare(b.day ?? '') || a.fileId - b.fileId),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function chart(history: DayUse[], limit: number): string {
  const w = 720;
  const h = 220;
  const pad = 30;
  // Room right of the plot for the quota line's label, which sits at the line's end: above the
  // line it would collide with the count of a bar at the quota.
  const right = 64;
  const max = Math.max(limit, ...history.map((d) => Math.max(d.submitted, d.limit ?? 0)), 1);
  const bw = (w - pad - right) / Math.max(history.length, 1);
  const y = (v: number) => h - pad - ((h - pad * 2) * v) / max;
  const bars = history
    .map((d, i) => {
      const x = pad + i * bw + 2;
      // A day reported under another quota is full against its own, and says which it was (a trial
      // lowered the quota and read `4/2` on an older day's bar with nothing to explain it).
      const own = d.limit ?? limit;
      const over = d.submitted >= own;
      const title = `${d.day}: ${d.submitted}/${own}${own !== limit ? ` (the quota that day; ${limit} now)` : ''}`;
      return `<rect class="bar${over ? ' full' : ''}" x="${x.toFixed(1)}" y="${y(d.submitted).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${(h - pad - y(d.submitted)).toFixed(1)}"><title>${title}</title></rect>` +
        // Its own quota, as a short mark across its slot where it differs from the line's.
        (own !== limit ? `<line class="daylimit" x1="${x.toFixed(1)}" x2="${(x + bw - 4).toFixed(1)}" y1="${y(own).toFixed(1)}" y2="${y(own).toFixed(1)}"/>` : '') +
        // Its count above it, so the page gives the figure without a pointer (a printout, a phone).
        (d.submitted > 0 ? `<text class="count" x="${(x + (bw - 4) / 2).toFixed(1)}" y="${(y(d.submitted) - 3).toFixed(1)}" text-anchor="middle">${d.submitted}</text>` : '') +
        (i % 5 === 4 || i === history.length - 1 ? `<text x="${(x + bw / 2).toFixed(1)}" y="${h - 10}" text-anchor="middle">${d.day.slice(5)}</text>` : '');
    })
    .join('');
  return `<svg id="quota-chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="Files submitted per day, last ${history.length} days">
<line class="limit" x1="${pad}" x2="${w - right}" y1="${y(limit).toFixed(1)}" y2="${y(limit).toFixed(1)}"/><text x="${w - right + 4}" y="${(y(limit) + 4).toFixed(1)}">quota ${limit}</text>${bars}</svg>`;
}

/** An ISO time as a wall-clock time in the report's zone (`+08:00`): `2026-11-26 20:07:38`. */
function zoned(iso: string, utcOffset: string): string {
  const minutes = parseUtcOffset('utcOffset', utcOffset);
  const t = Date.parse(iso);
  return Number.isFinite(t) ? wallClock(t, minutes).slice(0, 19).replace('T', ' ') : iso;
}

const row = (label: string, value: string | number) => `<tr><th>${esc(label)}</th><td>${esc(String(value))}</td></tr>`;

/** Escaped text whose `command` spans (the fix texts and messages quote sox and lame that way) show as code. */
const withCode = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

/** The report as a self-contained HTML page, with `history` (oldest first) drawn as a bar chart against the quota. */
export function renderReportHtml(r: DailyReport, history: DayUse[]): string {
  const errors = Object.entries(r.errors)
    .map(([code, n]) => [code, n ?? 0] as const)
    .sort((a, b) => b[1] - a[1]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>IVR audio quota: ${esc(r.day)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:780px;color:#1f2933;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.big{font-size:2.4rem;font-weight:600}.muted{color:#616e7c}
table{border-collapse:collapse;min-width:320px}th,td{text-align:left;padding:.3rem 1rem .3rem 0;border-bottom:1px solid #e4e7eb}td.key{overflow-wrap:anywhere;min-width:14em}td.status{white-space:nowrap}code{background:#f0f4f8;padding:0 .2em;border-radius:3px}
svg{width:100%;height:auto;font-size:11px;fill:#52606d}.bar{fill:#2680c2}.bar.full{fill:#d64545}.limit{stroke:#d64545;stroke-dasharray:4 3}.daylimit{stroke:#d64545;stroke-width:2}.count{font-size:9px}
.alert{border:2px solid #d64545;background:#fff5f5;padding:.6rem 1rem}
</style></head><body>
<h1>IVR audio sync: quota report for ${esc(r.day)}${r.final ? '' : ' so far'} <span class="muted">(UTC${esc(r.utcOffset)})</span></h1>
${r.final ? '' : `<p id="so-far">This quota day has not ended: the figures are those at ${esc(zoned(r.generatedAt, r.utcOffset))}. The day's own report is written by the first recovery pass after it ends.</p>
`}${r.bucketVersioned ? `<p id="bucket-versioned" class="alert"><strong>${esc(r.bucketVersioned.code)}: nothing is sent to CCC.</strong> ${esc(r.bucketVersioned.message)}.</p>
` : ''}
<p><span class="big" id="quota-used">${r.quota.submitted} / ${r.quota.limit}</span> files submitted to CCC${r.quota.inCall ? ` (${inCallText(r.quota.inCall)})` : ''}${r.quota.closedByCcc ? ` — <strong>CCC reports the day full</strong> (FailedOperation.UploadFileOverflow): files registered outside this product, in the CCC console say, count there too` : r.quota.exhausted ? ' — <strong>quota used up</strong>' : ` — ${r.quota.remaining} left`}</p>
<h2>Files that need action</h2>
${r.needsAction.length ? `<p id="needs-action-counts">${esc(actionCounts(r.needsAction))}${esc(actionOrder(r.needsAction))}</p>
<table id="needs-action"><tr><th>file</th><th>status</th><th>why, and what to do</th></tr>${r.needsAction.map((a) => `<tr class="${a.status}"><td class="key">${esc(a.key)}</td><td class="status">${esc(a.status)}${a.day ? ` (day ${esc(a.day)} full)` : ''}${a.fileId !== undefined ? ` (FileId ${a.fileId})` : ''}${a.line ? `<br><span class="line">in line: ${a.line.place} of ${a.line.of}${a.line.likelyDay ? `, likely goes on ${esc(a.line.likelyDay)}` : ''}</span>` : ''}<br><span class="muted">updated ${esc(zoned(a.at, r.utcOffset).slice(0, 16))}</span></td><td>${withCode([a.code, a.message].filter(Boolean).join(': '))}${a.fix ? `<br><strong>What to do:</strong> ${withCode(a.fix)}` : ''}</td></tr>`).join('')}</table>` : '<p id="needs-action">None: every file is uploaded or on its way.</p>'}
${r.sameName ? `<h2>Names CCC lists more than once</h2>
<p>${SAME_NAME_ADVICE}</p>
<table id="same-name"><tr><th>name in CCC</th><th>FileId</th><th>file</th><th>registered</th></tr>${r.sameName.flatMap((n) => n.files.map((f, i) => `<tr>${i === 0 ? `<td rowspan="${n.files.length}">${esc(n.name)}</td>` : ''}<td>${f.fileId}</td><td class="key">${f.key !== undefined ? `${esc(f.key)}${f.replaced ? ' <span class="muted">(replaced by a later drop)</span>' : ''}` : '<span class="muted">not in this product\'s recent records: registered earlier, or outside this product</span>'}</td><td>${esc(f.day ?? '')}</td></tr>`)).join('')}</table>
` : ''}<h2>Last ${history.length} days</h2>
${chart(history, r.quota.limit)}
${history.some((d) => d.limit !== undefined && d.limit !== r.quota.limit) ? `<p class="muted">A short red mark across a bar is that day's own quota, where it differed from today's ${r.quota.limit} (IVR_DAILY_QUOTA changed since).</p>
` : ''}<h2>What became of files on ${esc(r.day)}</h2>
<table id="files">${row('uploaded', r.files.uploaded)}${row('failed', r.files.failed + (r.failedCleared ? ` (${r.failedCleared} since deleted or replaced: nothing to do)` : ''))}${row('deferred (quota)', r.files.deferred)}${row('retrying', r.files.retrying)}</table>
<h2>Review state of uploaded files</h2>
<table id="review">${row('pending review', r.review.pending)}${row('approved', r.review.approved)}${row('rejected', r.review.rejected)}</table>
<h2>Backlog</h2>
<table id="backlog">${row('deferred, waiting for quota', r.backlog.deferred)}${row('queued for the next call', r.backlog.queued)}${r.backlog.oldestDeferredDay ? row('oldest deferred since', r.backlog.oldestDeferredDay) : ''}</table>
<h2>Errors by code</h2>
${errors.length ? `<table id="errors">${errors.map(([c, n]) => row(c, n)).join('')}</table>` : '<p id="errors">None.</p>'}
<p class="muted">Generated ${esc(zoned(r.generatedAt, r.utcOffset))} (UTC${esc(r.utcOffset)}). ${passActions(r.actions)}</p>
</body></html>
`;
}

/** `n` and its noun, singular for one: "1 file", "3 review states". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * What the pass that wrote the report did, in the operator's words: "pruned ledger entries" meant
 * nothing to a trial's operator; they are the product's own old records, which it no longer needs.
 */
function passActions(a: DailyReport['actions']): string {
  const removed = a.pruned ? `, and removed ${count(a.pruned, 'old record')} of its own that it no longer needed (IVR_RETENTION_DAYS)` : '';
  return `The pass that wrote this report registered ${count(a.registered, 'file')} and updated ${count(a.reviewsUpdated, 'review state')}${removed}.`;
}

/**
 * What the counts ask of the operator, when the list mixes files to fix with files that go out by
 * themselves (a trial could not parse "the ones to fix first, deferred and retrying files go out
 * by themselves" under a list of one failed file).
 */
function actionOrder(items: NeedsAction[]): string {
  const fix = items.filter((a) => a.status === 'failed' || a.status === 'rejected').length;
  const auto = items.length - fix;
  if (auto === 0) return '.';
  if (fix === 0) return items.length === 1 ? ': nothing to fix, it goes out by itself.' : ': nothing to fix, they go out by themselves.';
  return `: fix the ${fix === 1 ? 'one' : fix} failed or rejected first; the deferred and retrying go out by themselves.`;
}

/**
 * "3 files need action (1 failed, 2 deferred)", in the page's order; "1 file still to go out (1
 * deferred)" when none is to fix (a trial read "needs action … nothing to fix" as a contradiction).
 */
function actionCounts(items: NeedsAction[]): string {
  const by = new Map<string, number>();
  for (const a of items) by.set(a.status, (by.get(a.status) ?? 0) + 1);
  const toFix = items.some((a) => a.status === 'failed' || a.status === 'rejected');
  const what = toFix ? `need${items.length === 1 ? 's' : ''} action` : 'still to go out';
  return `${items.length} file${items.length === 1 ? '' : 's'} ${what} (${[...by].map(([s, n]) => `${n} ${s}`).join(', ')})`;
}

/**
 * Text from a file name or a code, safe inside WeCom markdown: `<@all>` would mention everyone and
 * `[x](url)` make a link, so their brackets become look-alikes; a line break would end the quote.
 */
export function markdownText(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/</g, '‹').replace(/>/g, '›').replace(/\[/g, '［').replace(/\]/g, '］').replace(/`/g, "'");
}

/** Files named in the summary at most; the page lists them all. */
const SUMMARY_FILES = 5;

/** A key cut in its middle to 120 characters at most (folder start and file name kept), for the summary. */
function shortName(key: string): string {
  const chars = [...key];
  return chars.length <= 120 ? key : `${chars.slice(0, 40).join('')}…${chars.slice(-79).join('')}`;
}

/**
 * Quota slots of `day` taken by calls CCC has not answered yet: files a call took a new slot for
 * whose newest version is still that call's `sending` one. The send log keeps a call open until a
 * later sender finds every file settled, long after its answer (a first version of this count read
 * every answered call of a quiet day as still in flight), so the jobs decide.
 */
export function unansweredSlots(day: string, open: OpenCall[], jobs: JobVersion[]): number {
  const newest = new Map(jobs.map((v) => [v.id, v]));
  let n = 0;
  for (const c of open) {
    if (c.day !== day) continue;
    for (const j of c.jobs) {
      const v = newest.get(j.id);
      if (j.newSlot && v?.state === 'sending' && v.seq === j.seq) n++;
    }
  }
  return n;
}

/** What a report so far says of the files in calls CCC has not answered yet ({@link DailyReport.quota}). */
export function inCallText(n: number): string {
  return `${n} of them in a call CCC has not answered yet: ${n === 1 ? 'its slot comes' : 'their slots come'} back if CCC refuses the call`;
}

/** A WeCom group robot message (`msgtype: markdown`); `page` says where the report page is. */
export function wecomMessage(r: DailyReport, page?: string): WebhookMessage {
  const errors = Object.entries(r.errors).map(([c, n]) => `${markdownText(c)} ×${n}`).join(', ');
  const lines = [
    `**IVR audio quota ${r.day}${r.final ? '' : ' (so far)'}**: <font color="${r.quota.exhausted ? 'warning' : 'info'}">${r.quota.submitted}/${r.quota.limit}</font> files submitted${r.quota.inCall ? ` (${inCallText(r.quota.inCall)})` : ''}${r.quota.closedByCcc ? '; CCC reports the day full (files registered outside this product count there too)' : ''}`,
    `> uploaded ${r.files.uploaded}, failed ${r.files.failed}${r.failedCleared ? ` (${r.failedCleared} since deleted or replaced)` : ''}, deferred ${r.files.deferred}, retrying ${r.files.retrying}`,
    `> review: ${r.review.approved} approved, ${r.review.rejected} rejected, ${r.review.pending} pending`,
    `> backlog: ${r.backlog.deferred} deferred, ${r.backlog.queued} queued`,
  ];
  // First after the title: until the operator moves to another bucket, nothing else here changes.
  if (r.bucketVersioned) lines.splice(1, 0, `<font color="warning">**${markdownText(r.bucketVersioned.code)}: nothing is sent to CCC.**</font> ${markdownText(r.bucketVersioned.message)}.`);
  if (errors) lines.push(`> errors: ${errors}`);
  if (r.sameName) lines.push(`> names CCC lists more than once: ${r.sameName.slice(0, SUMMARY_FILES).map((n) => `${markdownText(shortName(n.name))} ×${n.files.length}`).join(', ')}${r.sameName.length > SUMMARY_FILES ? `, and ${r.sameName.length - SUMMARY_FILES} more` : ''}`);
  // The files an operator must fix (failed, rejected), first few by name: the rest wait by themselves.
  const toFix = r.needsAction.filter((a) => a.status === 'failed' || a.status === 'rejected');
  if (r.needsAction.length > 0) lines.push(`**${actionCounts(r.needsAction)}**`);
  const tail = page && (r.needsAction.length > 0 || r.sameName) ? [`Every file, why and what to do: ${markdownText(page)}`] : [];
  const more = (n: number) => `> … and ${n} more`;
  // Within WeCom's limit (a longer message is refused, and would be again every day): names are cut
  // to a readable length, and those that do not fit are counted instead.
  const named = toFix.slice(0, SUMMARY_FILES).map((a) => `> ${markdownText(shortName(a.key))}: ${a.status}${a.code ? ` (${markdownText(a.code)})` : ''}`);
  let shown = 0;
  while (shown < named.length && Buffer.byteLength([...lines, ...named.slice(0, shown + 1), more(toFix.length), ...tail].join('\n')) <= WECOM_MAX_BYTES) shown++;
  lines.push(...named.slice(0, shown));
  if (toFix.length > shown) lines.push(more(toFix.length - shown));
  lines.push(...tail);
  return { msgtype: 'markdown', markdown: { content: lines.join('\n') } };
}

/** WeCom's limit on a markdown message's content, in bytes (UTF-8). */
export const WECOM_MAX_BYTES = 4096;

/**
 * The WeCom message naming files CCC's review rejected, within {@link WECOM_MAX_BYTES}: keys that
 * do not fit are counted instead ("and 12 more"), and the report page lists them all.
 */
export function rejectionMessage(keys: string[]): WebhookMessage {
  const head = '**IVR audio rejected by CCC review**';
  const foot = 'Record them again and upload the new recordings (under the same names or new ones; the same bytes again change nothing).';
  const more = (n: number) => `> … and ${n} more: see the report page`;
  const bytes = (lines: string[]) => Buffer.byteLength(lines.join('\n'));
  const lines = [head];
  for (let i = 0; i < keys.length; i++) {
    const rest = keys.length - i - 1;
    const next = [...lines, `> ${markdownText(keys[i])}`];
    if (bytes([...next, ...(rest > 0 ? [more(rest)] : []), foot]) > WECOM_MAX_BYTES) {
      lines.push(more(keys.length - i));
      break;
    }
    lines.push(`> ${markdownText(keys[i])}`);
  }
  return { msgtype: 'markdown', markdown: { content: [...lines, foot].join('\n') } };
}
