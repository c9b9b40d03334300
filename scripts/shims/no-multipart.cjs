// form-data and combined-stream (with asynckit, delayed-stream, es-set-tostringtag,
// get-intrinsic, ...) build multipart bodies: tencentcloud-sdk-nodejs only for actions called
// with `multipart: true`, cos-request only for its `formData`/`multipart` options. This product
// sends JSON to CCC and plain bodies to COS, so neither is ever constructed.
function unsupported() {
  throw new Error('multipart bodies are not supported by the ivr-audio-sync bundle');
}
module.exports = unsupported;
module.exports.create = unsupported;
module.exports.default = unsupported;
