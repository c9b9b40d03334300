/**
 * Settling files whose call may or may not have registered them: the answer was lost, timed out,
 * or was an internal error. CCC is asked (by display name) and the file is adopted if CCC holds a
 * registration no other job recorded; otherwise it goes back to the queue as a new attempt. For a
 * lost answer this runs only once the call's whole lifetime has passed, so a call that CCC is still
 * working on can never be sent a second time.
 */
import { settleable, stillInCall, type JobVersion } from '../core/job';
import { CORRUPT } from '../store/ledger';
import { afterFailedAttempt, pickRegistration, type AudioFile } from '../core/outcome';
import { reviewFromCode } from '../core/metadata';
import type { ApiResult } from '../sdk/ccc';
import type { Ctx } from './context';
import { recordLegacyFileIds } from './migration';
import { move, showSettled } from './jobs';

/** A file to settle: its newest version (`sending` or `uncertain`) and the RequestId of its call's answer, if any. */
export interface Unsettled {
  version: JobVersion;
  requestId?: string;
}

/**
 * CCC allows `DescribeIvrAudioList` 20 times a second. One instance keeps its calls this far apart
 * (15 a second): calls do not arrive as evenly spaced as they leave, and other instances may ask too.
 */
export const DESCRIBE_GAP_MS = 67;
const lastDescribeAt = new WeakMap<Ctx['api'], number>();

/**
 * `ctx.api.describe`, paced (see {@link DESCRIBE_GAP_MS}, waiting on the context's clock), and asked
 * again a second later, twice at most, when CCC still refuses it for the rate limit. Callers ask
 * one at a time.
 */
export async function describePaced(ctx: Ctx, query: Parameters<Ctx['api']['describe']>[0]): ReturnType<Ctx['api']['describe']> {
  for (let attempt = 0; ; attempt++) {
    const last = lastDescribeAt.get(ctx.api);
    const wait = last === undefined ? 0 : last + DESCRIBE_GAP_MS - ctx.clock.now();
    if (wait > 0) await ctx.clock.sleep(wait);
    lastDescribeAt.set(ctx.api, ctx.clock.now());
    const res = await ctx.api.describe(query);
    if (res.ok || res.failure.code !== 'RequestLimitExceeded' || attempt >= 2) return res;
    await ctx.clock.sleep(1000);
  }
}

/** Every file CCC lists under `name` (all pages), and the RequestId of the answer that listed each (by FileId). */
async function describeName(ctx: Ctx, name: string): Promise<{ files: AudioFile[]; requestIds: Map<number, string> } | undefined> {
  const listed = await listedUnder(ctx, [name]);
  if (!listed.ok) {
    ctx.log.warn('could not ask CCC whether a file was registered; it stays unsettled for now', { customName: name, code: listed.failure.code, error: listed.failure.message, requestId: listed.failure.requestId });
    return undefined;
  }
  return listed.value;
}

/** Names asked about in one DescribeIvrAudioList query (its page size: a bound CCC documents for the answer, not the filter). */
const NAMES_PER_QUERY = 50;

/**
 * Every file CCC lists under any of `names` (up to `maxPages` pages of each query of 50 names), and
 * the RequestId of the answer that listed each (by FileId); the first failure, when CCC could not
 * be asked.
 */
export async function listedUnder(ctx: Ctx, names: string[], maxPages = 100): Promise<ApiResult<{ files: AudioFile[]; requestIds: Map<number, string> }>> {
  const files: AudioFile[] = [];
  const requestIds = new Map<number, string>();
  for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
    const customFileNames = names.slice(i, i + NAMES_PER_QUERY);
    let found = 0;
    for (let page = 0; page < maxPages; page++) {
      const res = await describePaced(ctx, { customFileNames, pageNumber: page, pageSize: 50 });
      if (!res.ok) return res;
      files.push(...res.value.files);
      for (const f of res.value.files) requestIds.set(f.fileId, res.value.requestId);
      found += res.value.files.length;
      if (found >= res.value.total || res.value.files.length === 0) break;
    }
  }
  return { ok: true, value: { files, requestIds } };
}

/**
 * The longest a give-up message quotes of the last failure's message (the object's metadata is 2 KB
 * in all). It comes last in the message: a message CCC wrote in Chinese takes 9 bytes a character
 * on the object, and a cut there must not take the instruction with it.
 */
const LAST_MESSAGE_CHARS = 160;

/**
 * Settles each file from what CCC holds. Returns the newest version of each file it could settle;
 * a file CCC could not be asked about is left as it was (and retried by the next pass).
 */
export async function settleFromCcc(ctx: Ctx, given: Unsettled[]): Promise<Map<string, JobVersion>> {
  const out = new Map<string, JobVersion>();
  // Only a job's newest version is settled. A version someone already moved on (a queue entry a
  // crash left naming an old `uncertain` version, say) would otherwise adopt by name a FileId that
  // belongs to another file, and record it for a job that already has its own.
  // A newer version still in the same call (its lost answer recorded by a write the caller did not
  // see land) is not settled: it is settled here in its place, once its call's lifetime has passed,
  // else left for later. Passed on as settled, it would close the call (see stillInCall).
  const files: Unsettled[] = [];
  for (const f of given) {
    const head = await ctx.ledger.head(f.version.id, f.version);
    if (head === undefined || head === CORRUPT || head.seq === f.version.seq) files.push(f);
    else if (!stillInCall(f.version, head)) out.set(head.id, head);
    else if (settleable(head, ctx.clock.now(), ctx.timing.skewMs)) files.push({ ...f, version: head });
  }
  const byName = new Map<string, Awaited<ReturnType<typeof describeName>>>();
  for (const f of files) {
    const name = f.version.object.customName;
    if (!byName.has(name)) byName.set(name, await describeName(ctx, name));
  }
  for (const f of files) {
    const described = byName.get(f.version.object.customName);
    if (!described) continue;
    const name = f.version.object.customName;
    let owners = await ownersOf(ctx, name, described.files);
    let found = pickRegistration(name, described.files, owners, f.version.id);
    if (found && owners.get(found.fileId) === undefined && (await recordLegacyFileIds(ctx))) {
      // A registration no job recorded: this call's, unless the previous release made it and the
      // migration that records its FileId has not run yet (a deploy's first minutes, before the
      // timer's first pass). A review found a new file of an old prompt's name adopting it then.
      owners = await ownersOf(ctx, name, described.files);
      found = pickRegistration(name, described.files, owners, f.version.id);
    }
    const v = f.version;
    let moved;
    if (found) {
      // Record the FileId first: once it is on record, no other job can ever adopt it.
      await ctx.ledger.recordFile(found.fileId, v.id);
      moved = await move(ctx, v, 'registered', { call: v.call, upload: { fileId: found.fileId, audioFileName: found.audioFileName, requestId: f.requestId ?? described.requestIds.get(found.fileId) ?? '', review: reviewFromCode(found.status) ?? 'pending' } });
      ctx.log.warn('CCC holds the file although its answer was lost: adopted', { key: v.object.key, etag: v.object.etag, fileId: found.fileId, call: v.call });
    } else {
      // Only an `uncertain` version's error is this call's: a `sending` one carries an earlier
      // attempt's (a review found it quoted, nested, for a call cut off on a later attempt).
      const thisCall = v.state === 'uncertain' ? v.lastError : undefined;
      const next = afterFailedAttempt(v, {
        maxAttempts: ctx.config.maxAttempts,
        nowMs: ctx.clock.now(),
        retryBaseMs: ctx.timing.retryBaseMs,
        giveUp: { code: 'GaveUp', message: `not registered after ${v.attempts + 1} attempts; upload the file again to retry (last: ${lastFailure(v.lastError)})` },
        // What the object shows while it waits to be sent again: the call's own error said CCC
        // would be asked, and a call cut off with its invocation recorded none (the file read
        // `retrying` with no reason at all).
        lastError: thisCall ? { code: thisCall.code, message: `${NOT_HELD} (the call: ${lastFailure(thisCall)})` } : { code: 'OutcomeUnknown', message: `${NOT_HELD} (the call: cut off before its answer was recorded)` },
      });
      moved = await move(ctx, v, next.event, { call: v.call, ...next.patch });
      if (next.event === 'retry') ctx.log.info('CCC does not hold the file: it will be sent again', { key: v.object.key, etag: v.object.etag, call: v.call, attempts: v.attempts + 1 });
    }
    const newest = moved.moved ? moved.version : moved.head;
    // Lost the race to that same `uncertain` version landing late: not settled yet, asked again later.
    if (newest && !stillInCall(v, newest)) {
      await showSettled(ctx, newest);
      out.set(v.id, newest);
    }
  }
  return out;
}

/** Who recorded each of CCC's registrations of `name` (undefined: no job did). */
async function ownersOf(ctx: Ctx, name: string, described: AudioFile[]): Promise<Map<number, string | undefined>> {
  const owners = new Map<number, string | undefined>();
  for (const d of described) if (d.customFileName === name) owners.set(d.fileId, await ctx.ledger.fileOwner(d.fileId));
  return owners;
}

/** What a file CCC does not hold shows while it waits to be sent again. */
const NOT_HELD = "CCC was asked after the call's lifetime and does not hold the file: it is sent again";

/** The last failure a give-up names: its code, and its message cut short (the operator needs it to know when to try again). */
function lastFailure(e: JobVersion['lastError']): string {
  if (!e) return 'no answer';
  const m = e.message.length > LAST_MESSAGE_CHARS ? `${e.message.slice(0, LAST_MESSAGE_CHARS - 1)}…` : e.message;
  return m ? `${e.code}: ${m}` : e.code;
}
