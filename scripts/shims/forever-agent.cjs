// forever-agent: cos-request uses it only on Node 0.10 and older; on any Node the bundles run on
// it uses http(s).Agent with keepAlive instead (request.js, `options.forever`).
function unsupported() {
  throw new Error('forever-agent is not part of the ivr-audio-sync bundle (Node <= 0.10 only)');
}
module.exports = unsupported;
module.exports.SSL = unsupported;
