/**
 * Moving a job and showing it: the two writes every step is made of. A move is a conditional
 * write of the job's next version (the state machine decides what it is); showing writes the
 * state the machine derives onto the object's metadata.
 */
import { IvrError, objectMoved, type ErrorCode } from '../core/errors';
import { isFinal, nextSeq, transition, visibleResult, type JobEvent, type JobVersion, type TransitionPatch } from '../core/job';
import { mergeResult, rebaseResult } from '../core/metadata';
import { CORRUPT } from '../store/ledger';
import type { Ctx } from './context';

/** What {@link move} did: wrote `version`, or lost the race to `head`, the newest version (undefined if none found). */
export type Moved = { moved: true; version: JobVersion } | { moved: false; head: JobVersion | undefined };

/**
 * Applies `event` to a job whose newest version (as the caller knows it) is `current`. When
 * another instance moved the job first, returns the newest version instead.
 */
export async function move(ctx: Ctx, current: JobVersion, event: JobEvent, patch: TransitionPatch = {}): Promise<Moved> {
  const next = transition(current, event, ctx.clock.now(), ctx.owner, patch);
  if (await ctx.ledger.writeVersion(next)) {
    ctx.log.debug('job moved', { job: current.id, key: current.object.key, from: current.state, event, to: next.state, seq: next.seq });
    // A file's outcome is often settled by another invocation than its own (the lease holder, the
    // recovery pass): this line is where an operator searching the logs for it finds it.
    if (isFinal(next.state) && current.state !== next.state) {
      const shown = visibleResult(next);
      ctx.log.info('file settled', { key: next.object.key, etag: next.object.etag, status: shown.status, code: shown.status === 'uploaded' ? undefined : next.lastError?.code, fileId: shown.fileId, requestId: shown.requestId });
    }
    return { moved: true, version: next };
  }
  const head = await ctx.ledger.head(current.id, nextSeq(current));
  if (head === CORRUPT) throw new IvrError('LedgerCorrupt', `job ${current.id} (${current.object.key}) has an unreadable version after ${current.seq}`);
  return { moved: false, head };
}

/**
 * Writes a new file's version 0 as it is, when its intake left it unwritten (see
 * {@link JobVersion.unwritten}) and it is not sent at once. False when the job existed already:
 * the intake's caller then takes it on as an existing job (see {@link existingHead}).
 */
export async function materialize(ctx: Ctx, v: JobVersion): Promise<boolean> {
  // (writeVersion stores the version without its in-memory mark.)
  return ctx.ledger.writeVersion(v);
}

/**
 * The head of a job whose first version we tried to create and found taken (`ours`: the version we
 * meant). The queue entry written for ours names a version that is not ours, so it goes: the
 * existing job has entries of its own if it needs work. Unless it is that job's own entry: an entry
 * is named by its queue time, and two deliveries taken in within the same millisecond write the
 * same key (seen in the fault suite: the other delivery's file then had no entry left), as does a
 * sender that rebuilt the job from our entry.
 */
export async function existingHead(ctx: Ctx, ours: JobVersion): Promise<JobVersion | undefined | typeof CORRUPT> {
  const first = await ctx.ledger.readVersion(ours.id, 0);
  if (first === undefined || first === CORRUPT) return first;
  if (ctx.ledger.queueKey({ ...first, seq: 0 }) !== ctx.ledger.queueKey(ours)) await ctx.ledger.tidyEntries([ctx.ledger.queueKey(ours)]);
  return ctx.ledger.head(ours.id, first);
}

/**
 * Applies `event` with the patch `patchOf` gives for the job's newest version, from `current` on:
 * when another instance moved the job first, the patch is worked out again for its version (a
 * few times at most), so that neither change is lost. `patchOf` returns undefined when the newest
 * version needs nothing more (or no longer allows it). Returns the newest version.
 */
export async function moveNewest(ctx: Ctx, current: JobVersion, event: JobEvent, patchOf: (v: JobVersion) => TransitionPatch | undefined): Promise<JobVersion> {
  let v = current;
  for (let tries = 0; tries < 5; tries++) {
    const patch = patchOf(v);
    if (!patch) return v;
    const moved = await move(ctx, v, event, patch);
    if (moved.moved) return moved.version;
    if (!moved.head) return v;
    v = moved.head;
  }
  return v;
}

/** Why an object could not show its job's state (the state still stands in the ledger). */
export interface ShowNote {
  code: ErrorCode;
  message: string;
}

/** What {@link show} managed; a result it could not write still stands in the ledger. */
export interface Shown {
  written: boolean;
  /** Why the object could not show it. */
  note?: ShowNote;
}

/**
 * How long after its intake a file's headers, as the intake read them, are resent by a write-back
 * without reading them again (the normal path: queued, sent and settled within seconds). A console
 * edit of the headers within this time of the upload can be undone by our write; later ones (a
 * review refresh, a deferred file's release) are read first and kept.
 */
export const HEADERS_FRESH_MS = 60_000;

/**
 * Writes what the job's state shows onto its object version, keeping every other user metadata and
 * standard header (as last read, within {@link HEADERS_FRESH_MS}, else as they are now).
 * A version that was overwritten or deleted is left alone: the new version has a job of its own.
 */
export async function show(ctx: Ctx, v: JobVersion): Promise<Shown> {
  const o = v.object;
  try {
    let standard = o.head.standard;
    let meta = mergeResult(o.head.meta, visibleResult(v));
    // A console edit of the headers is a self-copy that keeps the ETag and raises no event we see,
    // so headers read perhaps days ago would undo it: one HEAD for those, none on the normal path
    // (nor just after a sender's HEAD before the call, which read them again).
    if (ctx.clock.now() - (o.head.readAt ?? o.queuedAt) >= HEADERS_FRESH_MS) {
      const now = await ctx.objects.stat(o.key);
      if (!now) throw objectMoved('ObjectNotFound', o.key);
      if (now.etag !== o.etag) throw objectMoved('ObjectChanged', o.key);
      standard = now.standard;
      meta = rebaseResult(now.meta, meta);
    }
    await ctx.objects.writeMetadata(o.key, o.etag, standard, meta);
    return { written: true };
  } catch (e) {
    if (e instanceof IvrError && (e.code === 'ObjectChanged' || e.code === 'ObjectNotFound' || e.code === 'MetadataTooLarge')) {
      // An upload replaced or deleted since is the operator's doing, and a new one has its own job
      // and status: nothing to act on (a trial's log alerting fired at each review refresh). Metadata
      // too large for the result is: the operator's own headers leave it no room.
      const fields = { key: o.key, etag: o.etag, code: e.code, error: e.message };
      if (e.code === 'MetadataTooLarge') ctx.log.warn('result not written onto the object', fields);
      else ctx.log.info('result not written onto the object', fields);
      return { written: false, note: { code: e.code, message: e.message } };
    }
    throw e;
  }
}

/**
 * Shows `v`, which may no longer be the newest version: another instance may move the job at any
 * time, and its own metadata write may land before ours. So after each write the job is read
 * again and a newer version is shown in turn, until a read finds none. Whoever writes a version
 * after that read shows it after our last write, so the object ends with the newest word.
 */
export async function showNewest(ctx: Ctx, v: JobVersion): Promise<{ version: JobVersion; shown: Shown }> {
  let current = v;
  for (;;) {
    const shown = await show(ctx, current);
    const head = await ctx.ledger.head(current.id, current);
    // (An unreadable next version is an operator's problem, reported by whoever reads it for work.)
    if (head === undefined || head === CORRUPT || head.seq === current.seq) return { version: current, shown };
    current = head;
  }
}

/**
 * Shows a version a sender has just settled. One that is not final may already be behind: the
 * sender's lease can lapse while its write is slow to land (a connection the SDK retries after its
 * timeout), and another sender may settle the file and show it first; so it is shown as by
 * {@link showNewest} (one read more, only off the normal path). A final version is the chain's last
 * word but for a review or a rerun, which show themselves.
 */
export async function showSettled(ctx: Ctx, v: JobVersion): Promise<{ version: JobVersion; shown: Shown }> {
  return isFinal(v.state) ? { version: v, shown: await show(ctx, v) } : showNewest(ctx, v);
}
