/**
 * Tencent's two signature schemes, computed the way the services check them. The fakes use these
 * to verify every request; `test/signatures.test.ts` proves them against the published vectors
 * before anything relies on them.
 */
import { createHash, createHmac } from 'crypto';

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac256 = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

// ---- TC3-HMAC-SHA256 (CCC API) ----

export interface Tc3Input {
  secretKey: string;
  service: string;
  timestamp: number;
  /** Canonical headers as `name:value` lines, in SignedHeaders order. */
  headers: Array<[string, string]>;
  payload: string | Buffer;
  method?: string;
  path?: string;
  query?: string;
}

export interface Tc3Parts {
  payloadHash: string;
  canonicalRequest: string;
  canonicalRequestHash: string;
  date: string;
  stringToSign: string;
  signature: string;
}

export function tc3Sign(i: Tc3Input): Tc3Parts {
  const payloadHash = sha256hex(i.payload);
  const canonicalHeaders = i.headers.map(([n, v]) => `${n}:${v}\n`).join('');
  const signedHeaders = i.headers.map(([n]) => n).join(';');
  const canonicalRequest = [i.method ?? 'POST', i.path ?? '/', i.query ?? '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const canonicalRequestHash = sha256hex(canonicalRequest);
  const date = new Date(i.timestamp * 1000).toISOString().slice(0, 10);
  const stringToSign = ['TC3-HMAC-SHA256', String(i.timestamp), `${date}/${i.service}/tc3_request`, canonicalRequestHash].join('\n');
  const kDate = hmac256('TC3' + i.secretKey, date);
  const kService = hmac256(kDate, i.service);
  const kSigning = hmac256(kService, 'tc3_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  return { payloadHash, canonicalRequest, canonicalRequestHash, date, stringToSign, signature };
}

export interface Tc3Authorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export function parseTc3Authorization(header: string): Tc3Authorization | undefined {
  const m = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(header);
  if (!m) return undefined;
  return { secretId: m[1], date: m[2], service: m[3], signedHeaders: m[4].split(';'), signature: m[5] };
}

// ---- COS q-sign (XML API and signed URLs) ----

/** encodeURIComponent plus the characters it leaves alone but COS encodes. */
export function cosEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface CosSignInput {
  secretKey: string;
  keyTime: string;
  method: string;
  /** Decoded path, e.g. `/exampleobject(腾讯云)`. */
  path: string;
  /** Listed parameters only, names as sent. */
  params: Record<string, string>;
  headers: Record<string, string>;
}

export interface CosSignParts {
  signKey: string;
  httpString: string;
  httpStringSha1: string;
  stringToSign: string;
  signature: string;
}

function canonicalPairs(obj: Record<string, string>): string {
  return Object.keys(obj)
    .map((k) => [cosEncode(k).toLowerCase(), cosEncode(obj[k] ?? '')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export function cosSign(i: CosSignInput): CosSignParts {
  const signKey = createHmac('sha1', i.secretKey).update(i.keyTime).digest('hex');
  const httpString = `${i.method.toLowerCase()}\n${i.path}\n${canonicalPairs(i.params)}\n${canonicalPairs(i.headers)}\n`;
  const httpStringSha1 = createHash('sha1').update(httpString, 'utf8').digest('hex');
  const stringToSign = `sha1\n${i.keyTime}\n${httpStringSha1}\n`;
  const signature = createHmac('sha1', signKey).update(stringToSign).digest('hex');
  return { signKey, httpString, httpStringSha1, stringToSign, signature };
}

export interface CosAuthorization {
  secretId: string;
  signTime: [number, number];
  keyTime: string;
  headerList: string[];
  paramList: string[];
  signature: string;
}

/** Parses the q-sign fields from an Authorization header or a signed URL's query. */
export function parseCosAuthorization(fields: Record<string, string | undefined>): CosAuthorization | undefined {
  if (fields['q-sign-algorithm'] !== 'sha1') return undefined;
  const ak = fields['q-ak'];
  const signTime = fields['q-sign-time'];
  const keyTime = fields['q-key-time'];
  const sig = fields['q-signature'];
  if (!ak || !signTime || !keyTime || !sig) return undefined;
  const m = /^(\d+);(\d+)$/.exec(signTime);
  if (!m) return undefined;
  const list = (v: string | undefined) => (v ? v.split(';').filter(Boolean) : []);
  return {
    secretId: ak,
    signTime: [Number(m[1]), Number(m[2])],
    keyTime,
    headerList: list(fields['q-header-list']),
    paramList: list(fields['q-url-param-list']),
    signature: sig,
  };
}
