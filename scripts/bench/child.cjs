// Runs inside a fresh Node process for `npm run bench` and `npm run bench:guard`, started with
// only the environment a function has on SCF (scripts/local/fake-stack.ts functionEnv).
//   node child.cjs init <bundle>                 → loads it, checks main_handler; prints {"maxRssKiB"}
//   node child.cjs invoke <bundle> <events.json> → the first event cold, then the others warm, one
//      at a time, `gapMs` apart (so each meets an idle system, the normal path); prints
//      {"coldMs","coldCpuMs","maxRssKiB","warmCpuMs":[...],"warmSysMs":[...]} (warm CPU, and the system
//      part of it: mostly the socket writes, which on loopback include the kernel's receive path)
// The function's own log lines (stdout on SCF) are dropped here: the result goes to fd 1 directly.
'use strict';
const fs = require('fs');
const [mode, bundle, eventsFile, gap] = process.argv.slice(2);
const out = (o) => fs.writeSync(1, JSON.stringify(o) + '\n');
process.stdout.write = () => true;

if (mode === 'init') {
  if (typeof require(bundle).main_handler !== 'function') process.exit(1);
  out({ maxRssKiB: process.resourceUsage().maxRSS });
} else if (mode === 'invoke') {
  (async () => {
    const events = JSON.parse(fs.readFileSync(eventsFile, 'utf8'));
    const gapMs = Number(gap || 0);
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const handler = require(bundle).main_handler;
    const first = await handler(events[0], { request_id: 'bench-cold' });
    const coldMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cc = process.cpuUsage(c0);
    const maxRssKiB = process.resourceUsage().maxRSS;
    const warmCpuMs = [];
    const warmSysMs = [];
    const results = [first];
    for (let i = 1; i < events.length; i++) {
      await new Promise((r) => setTimeout(r, gapMs));
      const c = process.cpuUsage();
      results.push(await handler(events[i], { request_id: `bench-warm-${i}` }));
      const d = process.cpuUsage(c);
      warmCpuMs.push((d.user + d.system) / 1000);
      warmSysMs.push(d.system / 1000);
    }
    const statuses = results.flatMap((r) => (r && Array.isArray(r.results) ? r.results.map((x) => x.status) : ['?']));
    out({ coldMs, coldCpuMs: (cc.user + cc.system) / 1000, maxRssKiB, warmCpuMs, warmSysMs, statuses });
  })().catch((e) => {
    process.stderr.write(String(e && e.stack) + '\n');
    process.exit(1);
  });
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
