// Modules that are required by the SDKs' code but only reached on paths this product never takes
// (scripts/shims/README.md lists which and why). Using one throws, loudly.
function unsupported() {
  throw new Error('this SDK feature is not part of the ivr-audio-sync bundle (see scripts/shims/README.md)');
}
module.exports = unsupported;
module.exports.SSEResponseModel = unsupported;
module.exports.validate = unsupported;
module.exports.default = unsupported;
