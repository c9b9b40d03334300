/** Runs the quota-report bundle once and saves its page where a browser can open it. */
import * as fs from 'fs';
import * as path from 'path';
import type { FunctionInstance } from './instance';

/** One report run: its one-line summary and, when the function stored one, the page's path. */
export interface ReportRun {
  ok: boolean;
  day?: string;
  summary: string;
  page?: string;
  result?: unknown;
}

/** What quota-report returns (shared/workflow/recovery.ts `RecoveryResult`), as much as is shown here. */
interface RecoveryResultShape {
  sent: boolean;
  settled: number;
  report?: {
    day: string;
    htmlKey: string;
    report: { day: string; quota: { submitted: number; limit: number }; files: Record<string, number>; review: Record<string, number>; backlog: { deferred: number }; needsAction: unknown[] };
  };
}

/**
 * Invokes quota-report with a timer event (its `Message` is the day, or empty for the timer's own
 * choice) and copies the page it stored into `<dataDir>/reports/index.html`.
 */
export async function runReport(instance: FunctionInstance, dataDir: string, fetchObject: (key: string) => Promise<Buffer | undefined>, message = ''): Promise<ReportRun> {
  const res = await instance.invoke({ Type: 'Timer', TriggerName: 'daily-report', Time: new Date().toISOString(), Message: message });
  if (!res.ok) return { ok: false, summary: `report failed: ${res.error.code ?? ''} ${res.error.message}`.trim() };
  const pass = res.result as RecoveryResultShape;
  // A pass writes the day's report once, after the day ends, or whenever a day is named.
  if (!pass.report) return { ok: true, result: pass, summary: `recovery pass: ${pass.sent ? `sent or settled ${pass.settled} file(s)` : 'nothing waiting'}; no report due` };
  const r = pass.report;
  const html = await fetchObject(r.htmlKey);
  let page: string | undefined;
  if (html) {
    page = path.join(dataDir, 'reports', 'index.html');
    fs.mkdirSync(path.dirname(page), { recursive: true });
    fs.writeFileSync(page, html);
  }
  const f = r.report.files;
  return {
    ok: true,
    day: r.report.day,
    page,
    result: pass,
    summary: `report ${r.report.day}: ${r.report.quota.submitted}/${r.report.quota.limit} files submitted; ${f.uploaded} uploaded, ${f.failed} failed, ${f.deferred} deferred; review ${r.report.review.approved} approved, ${r.report.review.rejected} rejected, ${r.report.review.pending} pending; backlog ${r.report.backlog.deferred} deferred; ${r.report.needsAction.length} file(s) need action`,
  };
}
