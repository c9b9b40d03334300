// One local "SCF instance": loads a built function bundle once (its cold start) and serves
// invocations sent by the local stack over IPC, as SCF would. Its stdout is the function's log.
//
// Its clock is the stack's (clock-shift.cjs): the starting offset comes in the environment, before
// the bundle loads, and `{ clockOffsetMs }` messages move it when the stack moves the quota day.
// IPC keeps order, so every invocation sent after such a message already runs on the new time.
const clock = require('./clock-shift.cjs');
clock.install(clock.offsetFromEnv(process.env));
const handler = require(process.argv[2]).main_handler;

process.on('message', async (msg) => {
  if (typeof msg.clockOffsetMs === 'number') {
    clock.setOffset(msg.clockOffsetMs);
    return;
  }
  try {
    const result = await handler(msg.event, { request_id: msg.id, function_name: process.env.SCF_FUNCTIONNAME });
    process.send({ id: msg.id, ok: true, result });
  } catch (e) {
    process.send({ id: msg.id, ok: false, error: { code: e && e.code, message: e && e.message ? e.message : String(e) } });
  }
});
process.on('disconnect', () => process.exit(0));
