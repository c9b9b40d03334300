// tencentcloud-sdk-nodejs uses uuid only for `v4()` (its X-TC-TraceId); the package's index
// bundles v1..v7, parse, validate and their md5/sha1 helpers. uuid's own v4() without options
// returns crypto.randomUUID() whenever Node has it (Node >= 14.17), so this is the same call.
const { randomUUID } = require('crypto');
exports.v4 = () => randomUUID();
