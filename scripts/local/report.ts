/**
 * `npm run report`: runs the quota-report function now against the running local stack, naming
 * the day (today by default), so it always writes that day's report and page.
 */
// First: this command signs requests and runs a function instance on the stack's clock.
import { useStackClock } from './clock';
import * as path from 'path';
import { DEFAULT_QUOTA_UTC_OFFSET, parseUtcOffset } from '../../shared/core/config';
import { quotaDay } from '../../shared/core/zone';
import { runCommand } from './cli';
import { cosClient, findStack } from './client';
import { beforeFirstStart, beforeFirstStartLine, readFirstStart } from './first-start';
import { FunctionInstance } from './instance';
import { parseClientOptions, REPORT_OPTIONS, usage } from './options';
import { runReport } from './report-run';
import { BUCKET, functionEnv, REGION } from './settings';
import { zoneName } from './time';

async function main(): Promise<void> {
  const o = parseClientOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd(), 'report');
  if (o === 'help') {
    process.stdout.write(usage('npm run report', REPORT_OPTIONS, ' [YYYY-MM-DD]'));
    return;
  }
  const stack = await findStack(o.dataDir);
  // On the stack's clock (moved by next-day): its own signatures and "today" must agree with it.
  useStackClock(o.dataDir);
  const quotaOffset = stack.quotaOffset ?? DEFAULT_QUOTA_UTC_OFFSET;
  const offsetMinutes = parseUtcOffset('quotaOffset', quotaOffset);
  const env = functionEnv({ cosPort: stack.cosPort, cccPort: stack.cccPort, prefix: stack.prefix, quota: stack.quota, quotaOffset }, 'quota-report');
  // Its own instance, logging to the state folder: nothing of this run reaches the stack's terminal.
  const instance = new FunctionInstance('quota-report', env, path.join(o.dataDir, 'logs', 'quota-report.log'));
  const cos = cosClient(stack.cosPort);
  // On demand, "today so far" is what a user wants; the timer reports the day that just ended.
  const day = o.day ?? quotaDay(Date.now(), offsetMinutes);
  const r = await runReport(instance, o.dataDir, async (key) => (await cos.getObject({ Bucket: BUCKET, Region: REGION, Key: key })).Body as Buffer, day);
  await instance.stop();
  // A day before the stack first ran with this state folder is all zeros for want of anything to
  // count, not because nothing was dropped: said under the report, which is written all the same.
  const before = r.ok && r.day ? beforeFirstStart(r.day, readFirstStart(o.dataDir), offsetMinutes) : undefined;
  if (o.json) process.stdout.write(`${JSON.stringify({ ...((r.result ?? r) as object), ...(before ? { beforeFirstStart: before } : {}) })}\n`);
  else {
    // An earlier day's report takes the page (the one page shows the report written last): say so,
    // or the next person to open it reads that day's list as today's.
    const earlier = r.page && day < quotaDay(Date.now(), offsetMinutes) ? ` (it shows ${day} now; npm run report puts today's back)` : '';
    const note = before && r.day ? `${beforeFirstStartLine(r.day, before, o.dataDir)}\n` : '';
    process.stdout.write(`${r.summary}${r.ok ? ` (days in ${zoneName(offsetMinutes)})` : ''}\n${note}${r.page ? `page: ${r.page}${earlier}\n` : ''}`);
  }
  process.exit(r.ok ? 0 : 1);
}

runCommand('npm run report', main);
