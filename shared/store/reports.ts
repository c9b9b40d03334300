/**
 * The daily report's records in the ledger (`reports/`): the day's JSON, a quiet day's marker, the
 * page and the chart's history. Only the timer's recovery pass uses them, so they are functions
 * over the {@link Ledger} rather than its methods: the upload function's bundle leaves them out.
 */
import { isDay } from '../core/zone';
import type { Ledger } from './ledger';

/** Days the chart's history keeps (it draws 30). */
export const REPORT_HISTORY_DAYS = 60;

/** `reports/history.json`: files submitted per quota day, each day's quota, and the day the report page shows. */
export interface ReportHistory {
  counts: Record<string, number>;
  /**
   * The daily quota each day was reported with (`IVR_DAILY_QUOTA` then), so the chart draws a past
   * day against its own quota after the setting changed; days reported before it was kept have none.
   */
  limits: Record<string, number>;
  /** The day whose report is on the page; absent in a history written before it was kept. */
  page?: string;
}

const dayNumbers = (o: object) => Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => isDay(e[0]) && typeof e[1] === 'number' && Number.isFinite(e[1])));

/**
 * Reads `reports/history.json` as stored: `{ "<day>": <count>, …, "limits": { "<day>": <quota>, … },
 * "page": "<day>" }` (the counts at the top level, as the first releases wrote them, which still
 * read it); unreadable reads as empty (it is only a chart).
 */
function parseReportHistory(text: string | undefined): ReportHistory {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? '{}');
  } catch {
    return { counts: {}, limits: {} };
  }
  if (typeof raw !== 'object' || raw === null) return { counts: {}, limits: {} };
  const r = raw as Record<string, unknown>;
  const counts = dayNumbers(r);
  const limits = typeof r.limits === 'object' && r.limits !== null ? dayNumbers(r.limits) : {};
  const page = typeof r.page === 'string' && isDay(r.page) ? r.page : undefined;
  return page ? { counts, limits, page } : { counts, limits };
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

/** Writes the chart's history: its newest {@link REPORT_HISTORY_DAYS} days, their quotas, and the page's day. */
export function writeReportHistory(ledger: Ledger, h: ReportHistory): Promise<void> {
  const counts = Object.fromEntries(Object.entries(h.counts).sort().slice(-REPORT_HISTORY_DAYS));
  const limits = Object.fromEntries(Object.entries(h.limits).filter(([d]) => d in counts));
  return ledger.store.put(ledger.historyKey(), JSON.stringify({ ...counts, limits, ...(h.page ? { page: h.page } : {}) }));
}
