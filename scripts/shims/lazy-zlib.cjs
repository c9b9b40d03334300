// node-fetch and cos-request require zlib at load time but only use it to inflate a compressed
// answer. Loading Node's zlib (and its binding) is deferred to the first such answer.
let zlib;
const real = () => zlib || (zlib = require('node:zlib'));
module.exports = {
  get Z_SYNC_FLUSH() { return real().Z_SYNC_FLUSH; },
  get constants() { return real().constants; },
  createGunzip: (o) => real().createGunzip(o),
  createInflate: (o) => real().createInflate(o),
  createInflateRaw: (o) => real().createInflateRaw(o),
  createBrotliDecompress: (o) => real().createBrotliDecompress(o),
};
