/**
 * The webhook outbox (decisions in core/outbox.ts): the timer pass writes a record before the step
 * that makes a message owed, posts, and deletes the record once WeCom took the message; each later
 * pass posts again what a pass left (killed, or WeCom down), past the record's lease, until the
 * record's lifetime ends. At least once: a pass killed between a post and the record's deletion
 * makes the next one post the message again.
 */
import { IvrError } from '../core/errors';
import { claimKey, outboxStep, owedRejections, planOutbox, refusedThisMessage, type OutboxRecord } from '../core/outbox';
import type { WebhookMessage } from '../core/report';
import { loadReportCode } from '../runtime/load-report';
import type { WebhookResult } from '../sdk/webhook';
import { CORRUPT } from '../store/ledger';
import type { Ctx } from './context';

/** What a pass did with the records earlier passes left. */
export interface OutboxResult {
  /** Records read (past their writer's lease). */
  found: number;
  /** Messages posted again, and WeCom took them. */
  posted: number;
  /** Messages posted again that WeCom refused or did not answer: the record stays for a later pass. */
  failed: number;
  /** Records past their lifetime, given up (logged as `WebhookFailed`) and deleted. */
  gaveUp: number;
  /** Records that owed nothing any more (their writer died before deciding, or lost the decision), deleted unposted. */
  dropped: number;
}

/**
 * Posts a message whose outbox record is at `key` (written by this pass) and deletes the record
 * once WeCom took it, or replaces it with `rest`, what it still owes. A failure leaves the record
 * for a later pass; a failed deletion too (the message is then posted twice).
 */
export async function postOwed(ctx: Ctx, url: string, key: string, message: WebhookMessage, what: string, rest?: OutboxRecord): Promise<WebhookResult> {
  const res = await ctx.webhook(url, message);
  if (res.ok) {
    if (!rest) await ctx.ledger.tidyEntries([key]);
    else {
      try {
        await ctx.ledger.rewriteOutbox(key, rest);
      } catch (e) {
        if (!(e instanceof IvrError)) throw e;
        ctx.log.warn('outbox record not narrowed: a later pass posts all of it again', { outbox: key, code: e.code, error: e.message });
      }
    }
    ctx.log.info(`${what} posted to webhook`, { attempts: res.attempts });
  } else {
    ctx.log.warn(`${what} webhook failed; a later timer pass posts it again`, { code: 'WebhookFailed', attempts: res.attempts, error: res.error, outbox: key });
  }
  return res;
}

/**
 * Posts again what earlier passes left in the outbox. The listing decides nothing: a record it
 * does not show yet is found by a later pass (only a post or the give-up deletes one), so a late
 * listing delays a message, never loses it; every record is read by key, and one re-post window is
 * claimed with a create-if-absent before anything is posted, and the record read again under the
 * claim, so two passes never post it in the same window (one that read it before the other
 * finished it finds it gone). Costs one LIST when nothing is left (the common pass). WeCom down
 * stops the pass at the first failed post; one message it answers and refuses does not.
 */
export async function drainOutbox(ctx: Ctx, url: string): Promise<OutboxResult> {
  const out: OutboxResult = { found: 0, posted: 0, failed: 0, gaveUp: 0, dropped: 0 };
  const now = ctx.clock.now();
  const plan = planOutbox(await ctx.ledger.listOutbox(), now);
  let refusedOne = false;
  if (plan.strayClaims.length > 0) await ctx.ledger.tidyEntries(plan.strayClaims);
  for (const key of plan.records) {
    const record = await ctx.ledger.readOutbox(key);
    if (record === undefined) continue; // deleted since the listing was made
    out.found++;
    if (record === CORRUPT) {
      // Nothing to post from it; its lease and lifetime count from the listing's time.
      ctx.log.error('outbox record unreadable: deleted, its message is lost', { code: 'WebhookFailed', outbox: key });
      await ctx.ledger.tidyEntries([key]);
      out.dropped++;
      continue;
    }
    const step = outboxStep(record.at, ctx.clock.now(), ctx.timing.skewMs);
    if (step.kind === 'wait') continue;
    if (!(await ctx.ledger.claimOutbox(key, step.window, ctx.owner, ctx.clock.now()))) continue; // another pass has this window
    // Read again under the claim: a pass that finished the record since this one read it deleted
    // the record before its claim (finishOutbox), so a claim won after that finds the record gone.
    if ((await ctx.ledger.readOutbox(key)) === undefined) {
      await ctx.ledger.tidyEntries([claimKey(key, step.window)]);
      continue;
    }
    const message = await owedMessage(ctx, record);
    const what = record.kind === 'report' ? 'report' : 'rejection';
    const about = record.kind === 'report' ? { day: record.day } : { files: record.files.map((f) => f.key) };
    if (message === undefined) {
      await ctx.ledger.finishOutbox(key, step.window);
      out.dropped++;
      continue;
    }
    if (step.kind === 'give-up') {
      ctx.log.error(`${what} webhook given up: not posted since ${new Date(record.at).toISOString()}`, { code: 'WebhookFailed', ...about, windows: step.window });
      await ctx.ledger.finishOutbox(key, step.window);
      out.gaveUp++;
      continue;
    }
    const res = await ctx.webhook(url, message);
    if (res.ok) {
      ctx.log.info(`${what} posted to webhook by a later pass`, { ...about, attempts: res.attempts, writtenAt: new Date(record.at).toISOString() });
      await ctx.ledger.finishOutbox(key, step.window);
      out.posted++;
    } else {
      ctx.log.warn(`${what} webhook failed again; a later timer pass posts it again`, { code: 'WebhookFailed', ...about, attempts: res.attempts, error: res.error, window: step.window });
      out.failed++;
      // WeCom is down (or refusing everything): the rest wait for the next pass rather than spend
      // this one's time on three attempts each. A first refusal of this one message by a WeCom
      // that answered does not hold the others back for the day it is retried: the next is tried.
      if (refusedOne || !refusedThisMessage(res.errcode)) break;
      refusedOne = true;
    }
  }
  return out;
}

/** The message a record still owes, if any: only while the decision it was written for stands as its writer's. */
async function owedMessage(ctx: Ctx, record: OutboxRecord): Promise<WebhookMessage | undefined> {
  if (record.kind === 'report') return (await ctx.ledger.reportWrittenBy(record.day)) === record.owner ? record.message : undefined;
  const markedBy = new Map<number, string | undefined>();
  for (const f of record.files) markedBy.set(f.fileId, await ctx.ledger.reviewMarkedBy(f.fileId));
  const keys = owedRejections(record.files, markedBy, record.owner);
  return keys.length > 0 ? loadReportCode().rejectionMessage(keys) : undefined;
}

/** {@link drainOutbox}, where a storage failure only postpones it to the next pass (logged), so it never stops the pass's own work. */
export async function drainOutboxSafely(ctx: Ctx, url: string): Promise<OutboxResult | undefined> {
  try {
    return await drainOutbox(ctx, url);
  } catch (e) {
    if (!(e instanceof IvrError)) throw e;
    ctx.log.warn('webhook outbox not drained; the next pass tries again', { code: e.code, error: e.message });
    return undefined;
  }
}
