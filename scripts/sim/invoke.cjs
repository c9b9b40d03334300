// One SCF instance in a process of its own, as the fault suite and the bench run them:
//   node invoke.cjs <bundle>   (the event arrives on stdin as JSON)
// With SIM_WARM=1 the process is a warm instance: it takes one event per line of stdin, one after
// the other, until stdin ends (the module and everything it keeps between invocations stay loaded).
// The function's log lines go to stderr; each outcome is one line on stdout:
//   {"ok":true,"result":…} or {"ok":false,"error":{"code","message"}}, with "cpuMs": the CPU time
//   (user + system) of that invocation (from the process's start for the first), for the bench's
//   cost figures, and on Linux "runqWaitMs": how long the main thread was ready to run but waited
//   for a core (/proc/self/schedstat), so the bench can tell the work from the queueing on a small
//   machine.
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
process.stdin.setEncoding('utf8');

let cpuBefore;
let waitBefore = 0;
let served = 0;
/** Runs one invocation and writes its outcome line. */
async function invoke(input) {
  let out;
  try {
    const handler = require(process.argv[2]).main_handler;
    out = { ok: true, result: await handler(JSON.parse(input), { request_id: `sim-${process.pid}-${++served}` }) };
  } catch (e) {
    out = { ok: false, error: { code: e && e.code, message: e && e.message ? e.message : String(e) } };
  }
  const cpu = process.cpuUsage(cpuBefore);
  cpuBefore = process.cpuUsage();
  const wait = runqueueWaitMs();
  const figures = { cpuMs: (cpu.user + cpu.system) / 1000, ...(wait === undefined ? {} : { runqWaitMs: wait - waitBefore }) };
  waitBefore = wait ?? 0;
  await new Promise((resolve) => write(JSON.stringify({ ...out, ...figures }) + '\n', resolve));
}

if (process.env.SIM_WARM === '1') {
  let buffered = '';
  let chain = Promise.resolve();
  process.stdin.on('data', (c) => {
    const lines = (buffered + c).split('\n');
    buffered = lines.pop();
    for (const line of lines) if (line.trim()) chain = chain.then(() => invoke(line));
  });
  process.stdin.on('end', () => chain.then(() => process.exit(0)));
} else {
  let input = '';
  process.stdin.on('data', (c) => (input += c));
  process.stdin.on('end', () => invoke(input).then(() => process.exit(0)));
}

/** The main thread's time waiting for a core so far (ms), or undefined where there is no such figure. */
function runqueueWaitMs() {
  try {
    const fields = require('fs').readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/);
    const waitNs = Number(fields[1]);
    return Number.isFinite(waitNs) ? waitNs / 1e6 : undefined;
  } catch {
    return undefined;
  }
}
