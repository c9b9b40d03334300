/** `npm run status`: every object under the prefix with its state, then what needs action. */
// First: this command signs its requests on the stack's clock.
import { useStackClock } from './clock';
import { runCommand } from './cli';
import { findStack, cosClient, type StackFile } from './client';
import { readFileState, withRefusal } from './file-state';
import { cutShortNotes, failureNotes, heldFiles } from './drop-notes';
import { failedCopiesRecord } from './failed-record';
import * as fs from 'fs';
import * as path from 'path';
import { parseClientOptions, STATUS_OPTIONS, usage } from './options';
import { BUCKET, functionEnv, REGION } from './settings';
import { renderStatus, statusJson, type CccHoldings, type CccNotShown, type NotShownWhy, type StatusRow } from './status-view';
import { DEFAULT_LEDGER_PREFIX, DEFAULT_QUOTA_UTC_OFFSET, parseUtcOffset } from '../../shared/core/config';
import { parseJobVersion } from '../../shared/core/job';
import { IvrError } from '../../shared/core/errors';
import { reviewFromCode, userMetadataFromHeaders } from '../../shared/core/metadata';
import type { AudioFile } from '../../shared/core/outcome';
import { CORRUPT } from '../../shared/store/ledger';
import type { IvrAudioApi } from '../../shared/sdk/ccc';
import { createRuntime } from '../../shared/wiring/scf';
import type { Ctx } from '../../shared/workflow/context';

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'status');
  if (o === 'help') {
    process.stdout.write(usage('npm run status', STATUS_OPTIONS));
    return;
  }
  const stack = await findStack(o.dataDir);
  // The local COS checks signatures against the stack's clock, which next-day may have moved.
  useStackClock(o.dataDir);
  const offsetMinutes = parseUtcOffset('quotaOffset', stack.quotaOffset ?? DEFAULT_QUOTA_UTC_OFFSET);
  const cos = cosClient(stack.cosPort);
  const cutShort = cutShortNotes(stack.dropDir);
  const failed = failureNotes(stack.dropDir);
  // A copy whose note the operator deleted is still on the stack's list of failed files (a trial
  // deleted a note and status stopped naming the file, though it was still there): named while the
  // file there has the failed one's size (not a fix saved under its name). A note whose own copy
  // is gone keeps its warning, but is not this copy's note.
  for (const c of failedCopiesRecord(o.dataDir, stack.dropDir, stack.prefix).read()) {
    if (failed.get(c.key)?.copy) continue;
    if (fileSize(path.join(stack.dropDir, ...c.file.split('/'))) === c.size) failed.set(c.key, { copy: c.file, pausedRest: failed.get(c.key)?.pausedRest ?? false });
  }
  const rows: StatusRow[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await cos.getBucket({ Bucket: BUCKET, Region: REGION, Prefix: stack.prefix, Marker: marker, MaxKeys: 1000 });
    for (const obj of page.Contents ?? []) {
      const head = await cos.headObject({ Bucket: BUCKET, Region: REGION, Key: obj.Key });
      const cut = cutShort.get(obj.Key);
      const note = failed.get(obj.Key);
      rows.push({ key: obj.Key, size: Number(obj.Size), state: withRefusal(obj.Key, readFileState(userMetadataFromHeaders(head.headers as Record<string, string>), obj.Key), stack.prefix), ...(cut ? { cutShort: cut } : {}), ...(note ? { failedNote: note } : {}) });
    }
    if (page.IsTruncated !== 'true' || !page.Contents?.length) break;
    marker = page.NextMarker || page.Contents[page.Contents.length - 1].Key;
  }
  // Where each deferred file stands in line: the queue time its `deferred/` entry holds.
  const deferred = rows.filter((r) => r.state.status === 'deferred');
  if (deferred.length > 0) {
    const queuedAt = await deferredQueueTimes(cos);
    for (const r of deferred) r.queuedAt = queuedAt.get(r.key);
  }
  const held = heldFiles(stack.dropDir);
  const extras = { quota: stack.quota, held, nowMs: Date.now(), ccc: await cccHoldings(stack, rows) };
  if (o.json) process.stdout.write(`${JSON.stringify(statusJson(rows, stack.prefix, offsetMinutes, stack.quotaOffset, extras))}\n`);
  else process.stdout.write(`${renderStatus(rows, stack.prefix, BUCKET, offsetMinutes, extras).join('\n')}\n`);
}

/** The queue time of each deferred object, by key, from the ledger's `deferred/` entries (the newest entry of a key wins). */
async function deferredQueueTimes(cos: ReturnType<typeof cosClient>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let marker: string | undefined;
  for (;;) {
    const page = await cos.getBucket({ Bucket: BUCKET, Region: REGION, Prefix: `${DEFAULT_LEDGER_PREFIX}deferred/`, Marker: marker, MaxKeys: 1000 });
    for (const e of page.Contents ?? []) {
      const body = (await cos.getObject({ Bucket: BUCKET, Region: REGION, Key: e.Key })).Body.toString('utf8');
      let job: ReturnType<typeof parseJobVersion>;
      try {
        job = parseJobVersion(JSON.stringify((JSON.parse(body) as { job?: unknown }).job));
      } catch {
        continue; // unreadable: that file's place in line is not said
      }
      if (job?.state === 'deferred') out.set(job.object.key, job.object.queuedAt);
    }
    if (page.IsTruncated !== 'true' || !page.Contents?.length) break;
    marker = page.NextMarker || page.Contents[page.Contents.length - 1].Key;
  }
  return out;
}

/**
 * What the local CCC holds, asked as the functions ask it (the official SDK, through the product's
 * own adapter, ledger and bucket): every registration it lists, and for each that no object shows,
 * what the ledger's FileId record and the object say it is (see {@link NotShownWhy}).
 */
async function cccHoldings(stack: StackFile, rows: StatusRow[]): Promise<CccHoldings> {
  const made = createRuntime(functionEnv(stack, 'ivr-status', {}), 'ivr-status');
  if (!made.ok) return { unavailable: made.error.message };
  const ctx = made.runtime.context(BUCKET, REGION);
  if (ctx instanceof IvrError) return { unavailable: ctx.message };
  const files: AudioFile[] = [];
  for (let page = 0; ; page++) {
    const answer = await describeOnce(made.runtime.api, page);
    if (!answer.ok) return { unavailable: `${answer.failure.code}: ${answer.failure.message}` };
    files.push(...answer.value.files);
    if (answer.value.files.length === 0 || files.length >= answer.value.total) break;
  }
  const shown = new Set(rows.flatMap((r) => (r.state.fileId !== undefined ? [r.state.fileId] : [])));
  const held = new Set(files.map((f) => f.fileId));
  const byName = new Map(rows.flatMap((r) => (r.state.customName !== undefined ? [[r.state.customName.normalize('NFC'), r.key] as const] : [])));
  const notShown: CccNotShown[] = [];
  try {
    for (const f of files.filter((x) => !shown.has(x.fileId)).sort((x, y) => x.fileId - y.fileId)) {
      const review = reviewFromCode(f.status);
      notShown.push({ fileId: f.fileId, name: f.customFileName, ...(review ? { review } : {}), what: await whatIs(ctx, f.fileId, byName.get(f.customFileName.normalize('NFC'))) });
    }
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    return { unavailable: `the ledger or the bucket could not be read: ${e.code}: ${e.message}` };
  }
  return { total: files.length, notShown, missing: [...shown].filter((id) => !held.has(id)).sort((x, y) => x - y) };
}

/** One page of what CCC lists, asked again once after a second when the stack's own calls used up CCC's 20 a second. */
async function describeOnce(api: IvrAudioApi, page: number): ReturnType<IvrAudioApi['describe']> {
  const ask = () => api.describe({ pageNumber: page, pageSize: 50 });
  const first = await ask();
  if (first.ok || first.failure.code !== 'RequestLimitExceeded') return first;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return ask();
}

/** What a registration no object shows is, from its FileId record in the ledger and the object it names. */
async function whatIs(ctx: Ctx, fileId: number, sameNameAs: string | undefined): Promise<NotShownWhy> {
  const job = await ctx.ledger.fileOwner(fileId);
  const first = job ? await ctx.ledger.readVersion(job, 0) : undefined;
  if (!first || first === CORRUPT) return { kind: 'unknown', ...(sameNameAs ? { sameNameAs } : {}) };
  const key = first.object.key;
  const now = await ctx.objects.stat(key);
  return { kind: now === undefined ? 'gone' : now.etag === first.object.etag ? 'unshown' : 'replaced', key };
}

/** A file's size, or undefined when it is not there. */
function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

runCommand('npm run status', main);
