// tunnel-agent: cos-request tunnels through an HTTP proxy only when the COS SDK is given `Proxy`
// (never, in shared/sdk/cos.ts). forever-agent: cos-request uses it only on Node 0.10 and older;
// on any Node the bundles run on it uses http(s).Agent with keepAlive instead.
function unsupported() {
  throw new Error('proxy tunnels and forever-agent are not supported by the ivr-audio-sync bundle');
}
module.exports = unsupported;
module.exports.SSL = unsupported;
module.exports.httpOverHttp = unsupported;
module.exports.httpsOverHttp = unsupported;
module.exports.httpOverHttps = unsupported;
module.exports.httpsOverHttps = unsupported;
