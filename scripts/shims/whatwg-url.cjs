// node-fetch reads `Url.URL || whatwgUrl.URL`; Node's own URL always wins.
module.exports = { URL: require('url').URL };
