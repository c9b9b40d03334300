/**
 * The one-off migration of the previous release's ledger (`jobs/<id>.json`, `pending/`, `quota/`
 * …) into job chains, queue and deferred entries and the send log. The first recovery pass after a
 * deploy runs it; so does a sender about to adopt a registration no job recorded (see
 * resolve.ts), since until it has run, an old registration of the same display name has no owner
 * on record and could be taken for the lost answer's. A marker makes every later run one read.
 */
import { asErrorCode, IvrError } from '../core/errors';
import { carriedOverJob, parseLegacyJob, queuedJob, type JobVersion, type LegacyJob } from '../core/job';
import { newsEntry, quotaOn } from '../core/sendlog';
import type { Ctx } from './context';
import { readTail, readToTail } from './read-log';

/** Keys of the previous ledger layout that have no meaning any more once its jobs are migrated. */
const LEGACY_PREFIXES = ['pending/', 'taken/', 'reruns/', 'rate/', 'quota/'];

/**
 * Reads a ledger left by the previous version once: each `jobs/<id>.json` becomes the first version
 * of a job chain (a call whose answer was never recorded becomes `uncertain`, so CCC is asked before
 * anything is resent), waiting jobs get queue or deferred entries, and today's quota use is carried
 * into the send log. Then the old keys go. A marker makes later passes skip all of it.
 */
export async function migrateLegacy(ctx: Ctx, day: string): Promise<void> {
  const { ledger } = ctx;
  if ((await ledger.store.get(markerKey(ctx))) !== undefined) return;
  const legacy = await listLegacyJobs(ctx);
  for (const l of legacy) {
    const { id } = l;
    const old = parseLegacyJob(await ledger.store.get(l.key));
    if (!old) {
      // Left where it is, not deleted: nothing here can send it, and the operator must hear of it.
      ctx.log.error('a job of the previous version could not be read, so its file is not sent: upload it again', { code: 'LedgerCorrupt', ledgerKey: l.key });
      continue;
    }
    if ((await ledger.readVersion(id, 0)) === undefined) {
      const v = legacyVersion(id, old, await legacyHead(ctx, old), ctx.owner);
      if (v.upload) {
        // Before the version, as a sender records a registration (a version without its record is
        // never revisited): the record keeps a lost answer for a later file of this display name
        // from taking this registration (pickRegistration), and lets the review refresh find a
        // review left pending; a final one is marked. Create-once: a newer upload may have taken
        // the FileId by name before this first pass; two objects then show it, said in an error.
        if (!(await ledger.recordFileOnce(v.upload.fileId, v.id))) {
          const owner = await ledger.fileOwner(v.upload.fileId);
          if (owner !== v.id) ctx.log.error('a registration of the previous version was taken by a newer upload of the same name: upload that newer file again', { fileId: v.upload.fileId, key: v.object.key, ledgerKey: `${ledger.prefix}files/${v.upload.fileId}` });
        }
        if (v.upload.review !== 'pending') await ledger.markReviewed(v.upload.fileId, v.upload.review, ctx.owner, ctx.clock.now());
      }
      // The entry first, as an intake writes it: senders find work only through entries, and a pass
      // killed between the version and its entry left a job nobody ever sent (the next pass finds
      // the version and skips the job). An entry whose version is missing is finished by a sender
      // from its snapshot; one named after the same `queuedAt` and seq is simply written again.
      if (v.state === 'queued' || v.state === 'uncertain') await ledger.enqueue(v);
      if (v.state === 'deferred') await ledger.putDeferred(v);
      await ledger.writeVersion(v);
    }
    await ledger.store.delete(l.key);
  }
  const doomed: string[] = [];
  for (const p of LEGACY_PREFIXES) for (const l of await ledger.store.list(`${ledger.prefix}${p}`)) doomed.push(l.key);
  // Old deferred entries were `<time>-<id>` (no version): their jobs were just migrated.
  for (const l of await ledger.store.list(`${ledger.prefix}deferred/`)) if (/\/\d{15}-[0-9a-f]{40}$/.test(l.key)) doomed.push(l.key);
  const usedToday = doomed.filter((k) => k.includes(`/quota/${day}/`) && !k.endsWith('/full')).length;
  const fullToday = doomed.some((k) => k.endsWith(`/quota/${day}/full`));
  if (usedToday > 0 || fullToday) await carryQuota(ctx, day, usedToday, fullToday);
  await ledger.deleteEntries(doomed);
  await ledger.store.put(markerKey(ctx), JSON.stringify({ at: new Date(ctx.clock.now()).toISOString(), jobs: legacy.length }));
  if (legacy.length > 0 || doomed.length > 0) ctx.log.info('ledger of the previous version migrated', { jobs: legacy.length, removed: doomed.length, usedToday });
}

/**
 * Records the FileId of each registration the previous release made, as {@link migrateLegacy}
 * does first, unless the migration has run: for a sender about to adopt a registration no job
 * recorded, which must not take an old prompt's of the same display name. Only records (create-
 * once, the same as the migration's): the send log and the old keys are the pass's to change.
 * True when it recorded (the caller reads the owners again). Once done or found done, an instance
 * does not ask again: the previous release writes no more records after the deploy.
 */
export async function recordLegacyFileIds(ctx: Ctx): Promise<boolean> {
  const { store, prefix } = ctx.ledger;
  const done = recordedIn.get(store) ?? new Set<string>();
  recordedIn.set(store, done);
  if (done.has(prefix)) return false;
  if ((await store.get(markerKey(ctx))) !== undefined) {
    done.add(prefix);
    return false;
  }
  for (const l of await listLegacyJobs(ctx)) {
    const fileId = legacyFileId(parseLegacyJob(await store.get(l.key)));
    if (fileId !== undefined) await ctx.ledger.recordFileOnce(fileId, l.id);
  }
  done.add(prefix);
  return true;
}

/** Stores (by ledger prefix) whose old FileIds this instance has recorded or found migrated. */
const recordedIn = new WeakMap<object, Set<string>>();

/** Written once the migration has run: every later run is this one read. */
const markerKey = (ctx: Ctx) => `${ctx.ledger.prefix}migrated/v2`;

/**
 * The previous release's job records, `jobs/<id>.json`. A listing is enough here: they were all
 * written before this release was deployed, and this release never writes one.
 */
async function listLegacyJobs(ctx: Ctx): Promise<Array<{ key: string; id: string }>> {
  return (await ctx.ledger.store.list(`${ctx.ledger.prefix}jobs/`)).filter((l) => /jobs\/[0-9a-f]{40}\.json$/.test(l.key)).map((l) => ({ key: l.key, id: l.key.slice(l.key.lastIndexOf('/') + 1, -'.json'.length) }));
}

/** The FileId CCC gave an old job's file, when the previous release recorded one. */
function legacyFileId(old: LegacyJob | undefined): number | undefined {
  return old?.state === 'done' && old.result?.status === 'uploaded' ? old.result.fileId : undefined;
}

/**
 * The headers a job of the previous version keeps resending: its object's, while it still holds
 * the job's upload; none when it holds another, is gone, or cannot be read for good (moved to
 * archive storage by a lifecycle rule, refused): one such object must not stop the migration and,
 * since the migration comes first, every recovery pass after it.
 */
async function legacyHead(ctx: Ctx, old: LegacyJob): Promise<JobVersion['object']['head']> {
  try {
    const obj = await ctx.objects.read(old.key, 1);
    return obj && obj.etag === old.etag ? { standard: obj.standard, meta: obj.meta } : { standard: {}, meta: {} };
  } catch (e) {
    if (!(e instanceof IvrError) || e.transient) throw e;
    ctx.log.warn('the object of a job of the previous version could not be read: migrated without its headers', { code: e.code, error: e.message, key: old.key });
    return { standard: {}, meta: {} };
  }
}

function legacyVersion(id: string, old: LegacyJob, head: JobVersion['object']['head'], by: string): JobVersion {
  const at = Date.parse(old.updatedAt) || 0;
  const object = { bucket: old.bucket, key: old.key, etag: old.etag, size: 0, customName: old.customName, queuedAt: at, head };
  const base: JobVersion = { ...queuedJob(id, object, at, by), attempts: old.attempts ?? 0 };
  const r = old.result;
  const fileId = legacyFileId(old);
  if (fileId !== undefined) {
    return carriedOverJob(base, { state: 'uploaded', upload: { fileId, audioFileName: r?.audioFileName ?? '', requestId: r?.requestId ?? '', review: r?.review ?? 'pending' } });
  }
  if (old.state === 'done') return carriedOverJob(base, { state: 'failed', lastError: { code: asErrorCode(r?.errorCode) ?? 'Unexpected', message: r?.errorMessage ?? 'failed under the previous version' } });
  if (old.state === 'deferred') return carriedOverJob(base, { state: 'deferred', deferredDay: old.quotaDay });
  // A call may have been made: CCC is asked before anything is resent.
  if (old.state === 'calling') return carriedOverJob(base, { state: 'uncertain', checkAfter: 0 });
  return base;
}

/** Carries the previous version's count of today's quota into the send log. */
async function carryQuota(ctx: Ctx, day: string, used: number, full: boolean): Promise<void> {
  let tail = await readTail(ctx, day);
  // Appended on the newest entry, however many others append meanwhile: the old markers that hold
  // the count are deleted right after, so a count not carried now is lost for good.
  for (let tries = 0; tries < 20; tries++) {
    // As every appender rolls the day: the tail's own day, if it was yesterday, becomes previousDay.
    const { quota, previousDay } = quotaOn(tail, day);
    if (quota.day !== day || (quota.used >= used && (quota.full || !full))) return;
    const now = ctx.clock.now();
    const entry = newsEntry(tail, { owner: ctx.owner, now, quota: { ...quota, used: Math.max(quota.used, used), full: quota.full || full }, previousDay, open: tail.open, deferred: tail.deferred }, ctx.timing);
    const appended = await ctx.ledger.appendEntry(entry);
    if (appended.appended) return ctx.ledger.publishTail(entry);
    tail = await readToTail(ctx, appended.there ?? entry.n);
  }
  throw new IvrError('StorageError', 'could not append the previous version\'s quota count to the send log after 20 tries', { transient: true });
}

