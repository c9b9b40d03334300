// request's httpSignature / aws / oauth options: the SDKs never pass them.
function unsupported() {
  throw new Error('this request signing scheme is not part of the ivr-audio-sync bundle');
}
module.exports = { signRequest: unsupported, sign: unsupported, hmacsign: unsupported, rsasign: unsupported, plaintext: unsupported };
