/**
 * Reading the send log (`send/<n>`, see core/sendlog.ts): from the published tail, a hint, forward
 * entry by entry by key, never from a listing alone. Senders, recovery passes and the migration
 * of the previous version's ledger all start here.
 */
import { IvrError } from '../core/errors';
import { genesis, type LogEntry } from '../core/sendlog';
import { CORRUPT } from '../store/ledger';
import type { Ctx } from './context';

/** Reads forward from entry `from` (already read, or its number) to the newest entry, each by key. */
export async function readToTail(ctx: Ctx, from: LogEntry | number): Promise<LogEntry> {
  let tail = typeof from === 'number' ? await ctx.ledger.readEntryAt(from) : from;
  if (!tail) throw new IvrError('LedgerCorrupt', `send-log entry ${String(from)} exists but cannot be read; remove it only if no sender is running`, { transient: true });
  for (;;) {
    const next = await ctx.ledger.readEntryAt(tail.n + 1);
    if (!next) return tail;
    tail = next;
  }
}

/** The newest entry as far as the published tail knows, or the state before the first one. */
export async function readTail(ctx: Ctx, today: string): Promise<LogEntry> {
  const tail = await ctx.ledger.tail();
  if (tail !== CORRUPT) return tail ?? genesis(today);
  // The tail is only a hint, but starting from nothing would start the log again at entry 1 (its
  // first entries may be pruned) with no quota used, no call spacing and no open calls: start from
  // the newest entry a listing shows instead, read forward by key. The next append publishes a
  // readable tail again.
  const newest = Math.max(0, ...(await ctx.ledger.listLogEntries()).map((e) => e.n));
  ctx.log.warn('send/tail cannot be read; reading the send log from the newest entry listed', { code: 'LedgerCorrupt', entry: newest });
  if (newest === 0) throw new IvrError('LedgerCorrupt', 'send/tail cannot be read and no send-log entry is listed: nothing is sent until one is (remove send/tail only if the send log is empty)', { transient: true });
  return readToTail(ctx, newest);
}
