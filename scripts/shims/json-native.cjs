// tencentcloud-sdk-nodejs serialises request bodies with json-bigint (+ bignumber.js, 24 KB)
// only to write BigInt values as JSON numbers. The CCC requests this product makes hold strings
// and safe integers; JSON.stringify writes the same JSON for them, and both the body and its
// TC3 payload hash come from this one function, so the signature still matches the body sent.
// Responses are parsed by node-fetch's res.json() (native JSON.parse), not by json-bigint.
// A BigInt would make JSON.stringify throw: loud, never a wrong request.
module.exports = function jsonNative() {
  return { stringify: (value, replacer, space) => JSON.stringify(value, replacer, space), parse: (text, reviver) => JSON.parse(text, reviver) };
};
module.exports.stringify = module.exports().stringify;
module.exports.parse = module.exports().parse;
