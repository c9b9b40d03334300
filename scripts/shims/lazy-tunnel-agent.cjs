// tunnel-agent is kept (cos-request tunnels HTTPS through a proxy that HTTPS_PROXY/HTTP_PROXY in
// the environment names), but it requires Node's assert, net, tls and util at load: it is loaded
// at the first tunnel instead. Same four functions.
let real;
const load = () => real || (real = require('tunnel-agent/index.js'));
exports.httpOverHttp = (o) => load().httpOverHttp(o);
exports.httpsOverHttp = (o) => load().httpsOverHttp(o);
exports.httpOverHttps = (o) => load().httpOverHttps(o);
exports.httpsOverHttps = (o) => load().httpsOverHttps(o);
