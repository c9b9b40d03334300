/**
 * The daily report's records in the ledger (`reports/`): the day's JSON, a quiet day's marker, the
 * page and the chart's history. Only the timer's recovery pass uses them, so they are functions
 * over the {@link Ledger} rather than its methods: the upload function's bundle leaves them out.
 */
import type { Ledger } from './ledger';

/** Days the chart's history keeps (it draws 30). */
export const REPORT_HISTORY_DAYS = 60;

/** `reports/history.json`: files submitted per quota day, and the day the report page shows. */
export interface ReportHistory {
  counts: Record<string, number>;
  /** The day whose report is on the page; absent in a history written before it was kept. */
  page?: string;
}

/** Reads `reports/history.json` as stored: `{ "<day>": <count>, …, "page": "<day>" }`; unreadable reads as empty (it is only a chart). */
function parseReportHistory(text: string | undefined): ReportHistory {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? '{}');
  } catch {
    return { counts: {} };
  }
  if (typeof raw !== 'object' || raw === null) return { counts: {} };
  const entries = Object.entries(raw as Record<string, unknown>);
  const counts = Object.fromEntries(entries.filter((e): e is [string, number] => typeof e[1] === 'number'));
  const page = entries.find(([k, v]) => k === 'page' && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v))?.[1] as string | undefined;
  return page ? { counts, page } : { counts };
}

/** Whether the day's own report is stored. */
export async function reportStored(ledger: Ledger, day: string): Promise<boolean> {
  return (await ledger.store.get(ledger.reportKey(day))) !== undefined;
}

/** Stores the day's report: `once` only if none is (false when another pass was first), `replace` over it. */
export async function storeReport(ledger: Ledger, day: string, json: string, how: 'once' | 'replace'): Promise<boolean> {
  if (how === 'once') return ledger.createOnce(ledger.reportKey(day), json);
  await ledger.store.put(ledger.reportKey(day), json);
  return true;
}

/** Whether the day was marked quiet (nothing to report). */
export async function isQuietDay(ledger: Ledger, day: string): Promise<boolean> {
  return (await ledger.store.get(ledger.quietDayKey(day))) !== undefined;
}

/** Marks the day quiet, so that no later pass reads every recent job again for it. */
export function markQuietDay(ledger: Ledger, day: string): Promise<void> {
  return ledger.store.put(ledger.quietDayKey(day), '{}');
}

/** Writes the report page; returns its key. */
export async function putReportPage(ledger: Ledger, html: string): Promise<string> {
  await ledger.store.put(ledger.reportPageKey(), html, 'text/html; charset=utf-8');
  return ledger.reportPageKey();
}

/** The chart's history. */
export async function readReportHistory(ledger: Ledger): Promise<ReportHistory> {
  return parseReportHistory(await ledger.store.get(ledger.historyKey()));
}

/** Writes the chart's history: its newest {@link REPORT_HISTORY_DAYS} days, and the page's day. */
export function writeReportHistory(ledger: Ledger, h: ReportHistory): Promise<void> {
  const counts = Object.fromEntries(Object.entries(h.counts).sort().slice(-REPORT_HISTORY_DAYS));
  return ledger.store.put(ledger.historyKey(), JSON.stringify({ ...counts, ...(h.page ? { page: h.page } : {}) }));
}
