/**
 * Loads the daily report's code (shared/core/report.ts: the figures, the page, the WeCom
 * messages, the fix texts they quote, and whether a day's report must wait) only when a pass
 * finds a day's report due (or is asked for one) or names a rejected file. The timer runs every
 * few minutes but reports once per quota day, so most of its cold starts never compile it.
 *
 * scripts/build.mjs bundles report.ts on its own as `report_render.js`, next to every function
 * bundle and in the deploy package; run from TypeScript (jest, tsx) this requires the module itself.
 */
import { join } from 'path';
import type * as ReportModule from '../core/report';
import { sideFileLoader } from './side-file';

/** The report code's API, as both the bundled file and the TypeScript module export it. */
export type ReportCode = Pick<typeof ReportModule, 'buildReport' | 'renderReportHtml' | 'wecomMessage' | 'rejectionMessage' | 'reportWaits' | 'submittedOn' | 'namesRegisteredOn' | 'objectsToCheck' | 'objectFindings'>;

/** File name of the bundled report code, next to the function bundles (kept in step with scripts/build.mjs). */
export const REPORT_FILE = 'report_render.js';

/** The report code, loaded on first use and cached; throws naming the path it looked for if it is missing. */
export const loadReportCode: () => ReportCode = sideFileLoader(REPORT_FILE, join(__dirname, '..', 'core', 'report'), 'the report code', isReportCode, 'buildReport');

function isReportCode(mod: unknown): mod is ReportCode {
  const m = mod as Partial<Record<keyof ReportCode, unknown>> | null;
  return typeof m === 'object' && m !== null && typeof m.buildReport === 'function' && typeof m.renderReportHtml === 'function' && typeof m.wecomMessage === 'function' && typeof m.rejectionMessage === 'function' && typeof m.reportWaits === 'function' && typeof m.submittedOn === 'function' && typeof m.namesRegisteredOn === 'function' && typeof m.objectsToCheck === 'function' && typeof m.objectFindings === 'function';
}
