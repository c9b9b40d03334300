// tencentcloud-sdk-nodejs builds an https-proxy-agent (with agent-base, debug, ms,
// supports-color and Node's tty/os/assert) only when the client has no agent and http_proxy is
// set. shared/sdk/ccc.ts always passes an agent, so this is never constructed.
function HttpsProxyAgent() {
  throw new Error('proxies are not supported by the ivr-audio-sync bundle: the CCC client always has its own agent');
}
module.exports = HttpsProxyAgent;
module.exports.default = HttpsProxyAgent;
module.exports.HttpsProxyAgent = HttpsProxyAgent;
