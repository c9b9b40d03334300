// One local "SCF instance": loads a built function bundle once (its cold start) and serves
// invocations sent by the local stack over IPC, as SCF would. Its stdout is the function's log.
const handler = require(process.argv[2]).main_handler;

process.on('message', async (msg) => {
  try {
    const result = await handler(msg.event, { request_id: msg.id, function_name: process.env.SCF_FUNCTIONNAME });
    process.send({ id: msg.id, ok: true, result });
  } catch (e) {
    process.send({ id: msg.id, ok: false, error: { code: e && e.code, message: e && e.message ? e.message : String(e) } });
  }
});
process.on('disconnect', () => process.exit(0));
