// Runs inside a fresh Node process for `npm run bench` and `npm run bench:guard`, started with
// only the environment a function has on SCF (scripts/local/fake-stack.ts functionEnv).
//   node child.cjs init <bundle>                 → loads it, checks main_handler; prints {"maxRssKiB"}
//   node child.cjs invoke <bundle> <events.json> → the first event cold, then the others warm, one
//      at a time, `gapMs` apart (so each meets an idle system, the normal path); prints
//      {"coldMs","coldCpuMs","maxRssKiB","warmCpuMs":[...],"warmSysMs":[...]} (warm CPU, and the system
//      part of it: mostly the socket writes, which on loopback include the kernel's receive path)
//   node child.cjs builtins <bundle>             → the public Node core modules loading it pulls in
//   node child.cjs breakdown <bundle> <a,b,c> [cache]
//      → in-process: require those core modules, then read, compile (vm.Script, with a V8 code
//        cache file when given) and run the bundle; prints {"coreMs","readMs","compileMs","runMs",
//        "cacheRejected"} — where a cold load's time goes
//   node child.cjs cache-make <bundle> <file>     → runs the bundle, then writes its V8 code cache
//   node child.cjs bare <port> <plan.json>       → the warm path's floor: per "file", the same HTTP
//      requests (method, body size) a warm file makes, with Node's http alone (keep-alive, no SDK,
//      no signing), `gapMs` apart like the warm files; prints {"cpuMs":[...],"sysMs":[...]}
// The function's own log lines (stdout on SCF) are dropped here: the result goes to fd 1 directly.
'use strict';
const fs = require('fs');
const [mode, bundle, eventsFile, gap] = process.argv.slice(2);
const out = (o) => fs.writeSync(1, JSON.stringify(o) + '\n');
process.stdout.write = () => true;

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Loads a CommonJS file the way Node's loader does, in timed steps. */
function loadSteps(file, cachedData) {
  const vm = require('vm');
  const path = require('path');
  const Module = require('module');
  let t = process.hrtime.bigint();
  const src = fs.readFileSync(file, 'utf8');
  const readMs = ms(t);
  t = process.hrtime.bigint();
  const script = new vm.Script(Module.wrap(src), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const compileMs = ms(t);
  t = process.hrtime.bigint();
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext().call(m.exports, m.exports, (id) => m.require(id), m, file, path.dirname(file));
  const runMs = ms(t);
  if (typeof m.exports.main_handler !== 'function') throw new Error(`${file} has no main_handler`);
  return { script, readMs, compileMs, runMs };
}

if (mode === 'builtins') {
  const before = new Set(process.moduleLoadList);
  require(bundle);
  const names = process.moduleLoadList.filter((x) => !before.has(x) && x.startsWith('NativeModule ')).map((x) => x.slice(13)).filter((x) => !x.startsWith('internal/') && !x.startsWith('_'));
  out({ builtins: names });
} else if (mode === 'breakdown') {
  const t = process.hrtime.bigint();
  for (const name of (eventsFile || '').split(',').filter(Boolean)) require(name);
  const coreMs = ms(t);
  const cache = gap ? fs.readFileSync(gap) : undefined;
  const r = loadSteps(bundle, cache);
  out({ coreMs, readMs: r.readMs, compileMs: r.compileMs, runMs: r.runMs, cacheRejected: cache ? r.script.cachedDataRejected : undefined });
} else if (mode === 'cache-make') {
  const r = loadSteps(bundle);
  fs.writeFileSync(eventsFile, r.script.createCachedData());
  out({ bytes: fs.statSync(eventsFile).size });
} else if (mode === 'init') {
  if (typeof require(bundle).main_handler !== 'function') process.exit(1);
  out({ maxRssKiB: process.resourceUsage().maxRSS });
} else if (mode === 'bare') {
  (async () => {
    const http = require('http');
    const port = Number(bundle);
    const plan = JSON.parse(fs.readFileSync(eventsFile, 'utf8'));
    const agent = new http.Agent({ keepAlive: true });
    // Headers of a COS request's size (a signature and a session token), so the bytes written match.
    const headers = { authorization: 'x'.repeat(plan.authBytes), 'x-cos-security-token': 'y'.repeat(plan.tokenBytes) };
    const one = (r) =>
      new Promise((resolve, reject) => {
        const body = r.bytes > 0 ? Buffer.alloc(r.bytes, 1) : undefined;
        const req = http.request({ host: '127.0.0.1', port, method: r.method, path: `/floor/${r.method}/${r.answer}`, agent, headers: { ...headers, 'content-length': body ? body.length : 0 } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.end(body);
      });
    const cpuMs = [];
    const sysMs = [];
    for (let f = 0; f < plan.files; f++) {
      await new Promise((r) => setTimeout(r, plan.gapMs));
      const c = process.cpuUsage();
      for (const r of plan.requests) await one(r);
      const d = process.cpuUsage(c);
      cpuMs.push((d.user + d.system) / 1000);
      sysMs.push(d.system / 1000);
    }
    agent.destroy();
    out({ cpuMs, sysMs });
  })().catch((e) => {
    process.stderr.write(String(e && e.stack) + '\n');
    process.exit(1);
  });
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
