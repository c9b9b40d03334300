// Runs inside a fresh Node process for `npm run bench`.
//   node child.cjs init <bundle>                → loads it, prints nothing (timed from outside)
//   node child.cjs invoke <bundle> <events.json> → one cold invocation per event, then warm ones;
//      prints {"coldMs","maxRssKiB","warmCpuMs":[...]} on stdout (function logs go to stderr)
const [mode, bundle, eventsFile] = process.argv.slice(2);
if (mode === 'init') {
  if (typeof require(bundle).main_handler !== 'function') process.exit(1);
  process.exit(0);
}
process.stdout.write = ((write) => (chunk, ...rest) => (String(chunk).startsWith('{"level"') ? process.stderr.write(chunk, ...rest) : write.call(process.stdout, chunk, ...rest)))(process.stdout.write);
(async () => {
  const events = JSON.parse(require('fs').readFileSync(eventsFile, 'utf8'));
  const t0 = process.hrtime.bigint();
  const handler = require(bundle).main_handler;
  await handler(events[0]);
  const coldMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const maxRssKiB = process.resourceUsage().maxRSS;
  const warmCpuMs = [];
  for (const e of events.slice(1)) {
    const c0 = process.cpuUsage();
    await handler(e);
    const c = process.cpuUsage(c0);
    warmCpuMs.push((c.user + c.system) / 1000);
  }
  process.stdout.write(JSON.stringify({ coldMs, maxRssKiB, warmCpuMs }) + '\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack) + '\n');
  process.exit(1);
});
