/** `npm run report`: runs the quota-report function now against the running local stack. */
import * as path from 'path';
import { quotaDay } from '../../shared/core/sendlog';
import { cosClient, findStack } from './client';
import { FunctionInstance } from './instance';
import { runReport } from './report-run';
import { BUCKET, functionEnv, readSettings, REGION } from './settings';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const s = readSettings(args);
  const stack = await findStack(s);
  const ports = { ...s, cosPort: stack.cosPort, cccPort: stack.cccPort, prefix: stack.prefix, quota: stack.quota };
  const instance = new FunctionInstance('quota-report', functionEnv(ports, 'quota-report'), path.join(s.dataDir, 'logs', 'quota-report.log'));
  const cos = cosClient(stack.cosPort);
  // On demand, "today so far" is what a user wants; the timer reports the day that just ended.
  const day = args.find((a) => /^\d{4}-\d{2}-\d{2}$/.test(a)) ?? quotaDay(Date.now(), 480);
  const r = await runReport(instance, s.dataDir, async (key) => (await cos.getObject({ Bucket: BUCKET, Region: REGION, Key: key })).Body as Buffer, day);
  await instance.stop();
  if (s.json) process.stdout.write(JSON.stringify(r.result ?? r) + '\n');
  else process.stdout.write(`${r.summary}\n${r.page ? `open file://${r.page}\n` : ''}`);
  process.exit(r.ok ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`npm run report: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
