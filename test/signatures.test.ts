import { cosSign, parseTc3Authorization, tc3Sign } from '../scripts/local/fakes/signatures';

// Tencent's published vectors (../shared/reference/platform.md §5). The fakes verify every request
// with these functions, so they are proven here first.
describe('TC3-HMAC-SHA256 against the published vector', () => {
  const parts = tc3Sign({
    secretKey: 'Gu5t9xGARNpq86cd98joQYCN3EXAMPLE',
    service: 'cvm',
    timestamp: 1551113065,
    headers: [
      ['content-type', 'application/json; charset=utf-8'],
      ['host', 'cvm.tencentcloudapi.com'],
    ],
    payload: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
  });
  it('hashes the payload', () => expect(parts.payloadHash).toBe('35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064'));
  it('hashes the canonical request', () => expect(parts.canonicalRequestHash).toBe('5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031'));
  it('uses the UTC date', () => expect(parts.date).toBe('2019-02-25'));
  it('signs', () => expect(parts.signature).toBe('72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168'));
  it('parses the Authorization header it signs', () => {
    const auth = parseTc3Authorization(`TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${parts.signature}`);
    expect(auth).toEqual({ secretId: 'AKIDEXAMPLE', date: '2019-02-25', service: 'cvm', signedHeaders: ['content-type', 'host'], signature: parts.signature });
  });
});

describe('COS q-sign against the published vector', () => {
  const parts = cosSign({
    secretKey: 'BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz',
    keyTime: '1557989151;1557996351',
    method: 'PUT',
    path: '/exampleobject(腾讯云)',
    params: {},
    headers: {
      'Content-Length': '13',
      'Content-MD5': 'mQ/fVh815F3k6TAUm8m0eg==',
      'Content-Type': 'text/plain',
      Date: 'Thu, 16 May 2019 06:45:51 GMT',
      Host: 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com',
      'x-cos-acl': 'private',
      'x-cos-grant-read': 'uin="100000000011"',
    },
  });
  it('derives the SignKey', () => expect(parts.signKey).toBe('eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f'));
  it('hashes the HttpString', () => expect(parts.httpStringSha1).toBe('8b2751e77f43a0995d6e9eb9477f4b685cca4172'));
  it('signs', () => expect(parts.signature).toBe('3b8851a11a569213c17ba8fa7dcf2abec6935172'));
});
