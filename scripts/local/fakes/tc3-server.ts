/**
 * The server side of Tencent Cloud API 3.0 signing (TC3-HMAC-SHA256), shared by the fake CCC and
 * the fake SCF: the checks a real endpoint makes, in its order, with its error codes and messages.
 */
import type * as http from 'http';
import type { FakeCredential } from './credentials';
import { parseTc3Authorization, tc3Sign } from './signatures';

/** An API 3.0 error: answered as `{ Response: { Error: { Code, Message }, RequestId } }`. */
export class TencentApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The endpoint a request must be signed for. */
export interface Tc3Endpoint {
  host: string;
  service: string;
  /** The API version the endpoint serves (`X-TC-Version`). */
  version: string;
}

/**
 * Verifies a request's signature, timestamp (±5 min of `nowMs`), scope, token and version; throws
 * the error the real endpoint answers with, or returns the credential that signed it.
 */
export function verifyTc3(req: http.IncomingMessage, body: Buffer, endpoint: Tc3Endpoint, creds: ReadonlyMap<string, FakeCredential>, nowMs: number): FakeCredential {
  const h = req.headers;
  const host = String(h.host ?? '').replace(/:\d+$/, '');
  const auth = parseTc3Authorization(String(h.authorization ?? ''));
  if (!auth) throw new TencentApiError('AuthFailure.InvalidAuthorization', 'Authorization header is missing or malformed.');
  const cred = creds.get(auth.secretId);
  if (!cred) throw new TencentApiError('AuthFailure.SecretIdNotFound', 'The SecretId is not found, please ensure that your SecretId is correct.');
  const timestamp = Number(h['x-tc-timestamp']);
  if (!Number.isInteger(timestamp) || Math.abs(timestamp - nowMs / 1000) > 300) {
    throw new TencentApiError('AuthFailure.SignatureExpire', 'Signature expired. Timestamp and server time cannot differ by more than five minutes.');
  }
  if (host !== endpoint.host || auth.service !== endpoint.service) throw new TencentApiError('AuthFailure.SignatureFailure', `The credential scope ${auth.date}/${auth.service} does not match host ${host}.`);
  if (auth.date !== new Date(timestamp * 1000).toISOString().slice(0, 10)) throw new TencentApiError('AuthFailure.SignatureFailure', 'The credential date does not match X-TC-Timestamp.');
  if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('content-type')) throw new TencentApiError('AuthFailure.SignatureFailure', 'SignedHeaders must include content-type and host.');
  const headers = auth.signedHeaders.map((n): [string, string] => [n, n === 'host' ? host : String(h[n] ?? '')]);
  const expected = tc3Sign({ secretKey: cred.secretKey, service: auth.service, timestamp, headers, payload: body }).signature;
  if (expected !== auth.signature) throw new TencentApiError('AuthFailure.SignatureFailure', 'The provided credentials could not be validated. Please check your signature is correct.');
  if (cred.token !== undefined && h['x-tc-token'] !== cred.token) throw new TencentApiError('AuthFailure.TokenFailure', 'Token verification failed.');
  if (h['x-tc-version'] !== endpoint.version) throw new TencentApiError('NoSuchVersion', 'The API version does not exist.');
  return cred;
}

/** A request's whole body. */
export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Answers as API 3.0 does: HTTP 200 with `{ Response: { ...payload, RequestId } }`, errors included. */
export function apiAnswer(res: http.ServerResponse, requestId: string): (payload: Record<string, unknown>) => void {
  return (payload) => {
    const text = JSON.stringify({ Response: { ...payload, RequestId: requestId } });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  };
}

/** Answers a thrown error as API 3.0 does (anything not a {@link TencentApiError} is an `InternalError`); returns its code. */
export function answerError(send: (payload: Record<string, unknown>) => void, e: unknown): string {
  const err = e instanceof TencentApiError ? e : new TencentApiError('InternalError', String(e));
  send({ Error: { Code: err.code, Message: err.message } });
  return err.code;
}
