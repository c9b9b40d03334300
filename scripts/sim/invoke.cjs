// One SCF invocation in a process of its own, as the fault suite and the bench run them:
//   node invoke.cjs <bundle>   (the event arrives on stdin as JSON)
// The function's log lines go to stderr; the outcome is the last line on stdout:
//   {"ok":true,"result":…} or {"ok":false,"error":{"code","message"}}, with "cpuMs": the process's
//   CPU time (user + system) from its start, for the bench's cost figures, and on Linux
//   "runqWaitMs": how long its main thread was ready to run but waited for a core
//   (/proc/self/schedstat), so the bench can tell the work from the queueing on a small machine.
// A clock offset for the whole process (`SIM_CLOCK_OFFSET_MS`) lets the fault suite move every
// party to just before a quota-day boundary: the fakes run on the same offset.
const offset = Number(process.env.SIM_CLOCK_OFFSET_MS || 0);
if (offset) {
  const RealDate = Date;
  const shifted = class extends RealDate {
    constructor(...args) {
      super(...(args.length ? args : [RealDate.now() + offset]));
    }
    static now() {
      return RealDate.now() + offset;
    }
  };
  global.Date = shifted;
}
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', async () => {
  let out;
  try {
    const handler = require(process.argv[2]).main_handler;
    out = { ok: true, result: await handler(JSON.parse(input), { request_id: `sim-${process.pid}` }) };
  } catch (e) {
    out = { ok: false, error: { code: e && e.code, message: e && e.message ? e.message : String(e) } };
  }
  const cpu = process.cpuUsage();
  write(JSON.stringify({ ...out, cpuMs: (cpu.user + cpu.system) / 1000, ...runqueueWait() }) + '\n', () => process.exit(0));
});

/** `{ runqWaitMs }` from the main thread's scheduler statistics, or nothing where there are none. */
function runqueueWait() {
  try {
    const fields = require('fs').readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/);
    const waitNs = Number(fields[1]);
    return Number.isFinite(waitNs) ? { runqWaitMs: waitNs / 1e6 } : {};
  } catch {
    return {};
  }
}
